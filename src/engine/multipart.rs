//! `multipart/form-data` bodies (RFC 7578): each text part is scanned under
//! its field name (`$.name`), as form fields are; file parts whose content
//! type is not text are left alone.
//!
//! Parts are found by their boundary delimiters. A body that does not parse
//! (no delimiter where one must be) is reported as such, and the caller
//! scans it as plain text instead.

use memchr::memmem;

use super::scan::{redact_whole, ScanOptions, Sink};
use super::Engine;

/// A part's body, and what it is.
struct Part {
    name: String,
    body: std::ops::Range<usize>,
    text: bool,
    json: bool,
}

/// Scans and redacts the text parts (`options.redact` says which findings
/// are rewritten); findings carry offsets into `body`. `None` if the body is
/// not multipart with this boundary.
pub fn redact_multipart(
    engine: &Engine,
    body: &[u8],
    boundary: &[u8],
    options: &ScanOptions,
    sink: &mut Sink,
) -> Option<Vec<u8>> {
    let parts = parts(body, boundary)?;
    let mut out = Vec::with_capacity(body.len());
    let mut copied = 0;
    for part in parts.iter().filter(|p| p.text) {
        let opts = part_options(part, options);
        let at = part.body.start as u64;
        let redacted = redact_whole(engine, &body[part.body.clone()], &opts, &mut |f, v| sink(f.shifted(at), v));
        out.extend_from_slice(&body[copied..part.body.start]);
        out.extend_from_slice(&redacted);
        copied = part.body.end;
    }
    out.extend_from_slice(&body[copied..]);
    Some(out)
}

/// The `boundary` parameter of a `multipart/*` content type.
pub fn boundary(content_type: &[u8]) -> Option<Vec<u8>> {
    content_type.split(|&b| b == b';').skip(1).find_map(|param| {
        let param = param.trim_ascii();
        let eq = param.iter().position(|&b| b == b'=')?;
        let (key, value) = (param[..eq].trim_ascii(), param[eq + 1..].trim_ascii());
        let value = value.strip_prefix(b"\"").and_then(|v| v.strip_suffix(b"\"")).unwrap_or(value);
        (key.eq_ignore_ascii_case(b"boundary") && !value.is_empty()).then(|| value.to_vec())
    })
}

fn part_options(part: &Part, base: &ScanOptions) -> ScanOptions {
    ScanOptions { json: part.json, field: Some(part.name.clone()), ..base.clone() }
}

fn parts(body: &[u8], boundary: &[u8]) -> Option<Vec<Part>> {
    let delimiter = [b"\r\n--".as_slice(), boundary].concat();
    // The first delimiter may open the body without the line break before it.
    let first = if body.starts_with(&delimiter[2..]) { 0 } else { memmem::find(body, &delimiter)? + 2 };
    let finder = memmem::Finder::new(&delimiter);
    let mut at = first + delimiter.len() - 2;
    let mut parts = Vec::new();
    loop {
        if body[at..].starts_with(b"--") {
            return Some(parts); // The close delimiter.
        }
        let head_start = at + memchr::memchr(b'\n', &body[at..])? + 1;
        let head_len = memmem::find(&body[head_start..], b"\r\n\r\n")
            .map(|i| (i, 4))
            .or_else(|| body[head_start..].starts_with(b"\r\n").then_some((0, 2)))?;
        let head = &body[head_start..head_start + head_len.0];
        let start = head_start + head_len.0 + head_len.1;
        let end = start + finder.find(&body[start..])?;
        parts.push(part(head, start..end));
        at = end + delimiter.len();
    }
}

fn part(head: &[u8], body: std::ops::Range<usize>) -> Part {
    let (mut name, mut filename, mut content_type) = (String::new(), false, Vec::new());
    for line in head.split(|&b| b == b'\n') {
        let line = line.trim_ascii();
        let Some(colon) = line.iter().position(|&b| b == b':') else { continue };
        let (key, value) = (line[..colon].trim_ascii(), line[colon + 1..].trim_ascii());
        if key.eq_ignore_ascii_case(b"content-type") {
            content_type = value.to_ascii_lowercase();
        } else if key.eq_ignore_ascii_case(b"content-disposition") {
            for param in value.split(|&b| b == b';').map(<[u8]>::trim_ascii) {
                if let Some(v) = param.strip_prefix(b"name=") {
                    name =
                        String::from_utf8_lossy(v.strip_prefix(b"\"").and_then(|v| v.strip_suffix(b"\"")).unwrap_or(v))
                            .into_owned();
                }
                filename |= param.starts_with(b"filename");
            }
        }
    }
    let essence = content_type.split(|&b| b == b';').next().unwrap_or_default().trim_ascii();
    let json = essence == b"application/json" || essence.ends_with(b"+json");
    let texty = essence.starts_with(b"text/") || essence.ends_with(b"xml") || json;
    Part { name, body, text: texty || (content_type.is_empty() && !filename), json }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::DetectorSet;

    const BODY: &[u8] = b"--XyZ\r\n\
Content-Disposition: form-data; name=\"card\"\r\n\r\n\
4111 1111 1111 1111\r\n\
--XyZ\r\n\
Content-Disposition: form-data; name=\"avatar\"; filename=\"a.png\"\r\n\
Content-Type: image/png\r\n\r\n\
\x89PNG 5500 0000 0000 0004\r\n\
--XyZ\r\n\
Content-Disposition: form-data; name=\"notes\"; filename=\"n.txt\"\r\n\
Content-Type: text/plain\r\n\r\n\
mail ann@example.com\r\n\
--XyZ--\r\n";

    fn engine() -> Engine {
        Engine::from_policy_text("").unwrap()
    }

    #[test]
    fn text_fields_and_text_files_are_scanned_binary_files_are_not() {
        let e = engine();
        let mut found = Vec::new();
        redact_multipart(&e, BODY, b"XyZ", &ScanOptions::text(&e), &mut |f, v| {
            assert_eq!(&BODY[f.start as usize..f.end as usize], v, "offsets are into the body");
            found.push((e.detector(f.detector).id.clone(), f.path.unwrap_or_default()));
        })
        .unwrap();
        assert_eq!(found, [("credit-card".into(), "$.card".into()), ("email".into(), "$.notes".into())]);
    }

    #[test]
    fn redaction_rewrites_only_the_parts_and_keeps_the_delimiters() {
        let e = engine();
        let opts = ScanOptions { redact: DetectorSet::all(&e), ..ScanOptions::text(&e) };
        let out = redact_multipart(&e, BODY, b"XyZ", &opts, &mut |_, _| {}).unwrap();
        let text = String::from_utf8_lossy(&out);
        assert!(!text.contains("4111 1111") && !text.contains("ann@"), "{text}");
        assert!(text.contains("5500 0000 0000 0004"), "the binary file is left alone");
        assert_eq!(text.matches("--XyZ").count(), 4);
    }

    #[test]
    fn boundaries_are_read_from_the_content_type() {
        assert_eq!(boundary(b"multipart/form-data; boundary=XyZ").as_deref(), Some(&b"XyZ"[..]));
        assert_eq!(boundary(b"multipart/form-data; charset=utf-8; Boundary=\"a b\"").as_deref(), Some(&b"a b"[..]));
        assert_eq!(boundary(b"multipart/form-data"), None);
    }

    #[test]
    fn broken_bodies_are_refused_not_misread() {
        let e = engine();
        for bad in [&b"no delimiter at all"[..], b"--XyZ\r\nContent-Disposition: x\r\n\r\nunterminated", b"--XyZ"] {
            assert!(redact_multipart(&e, bad, b"XyZ", &ScanOptions::text(&e), &mut |_, _| {}).is_none(), "{bad:?}");
        }
    }
}
