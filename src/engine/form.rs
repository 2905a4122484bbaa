//! Percent-encoded forms and query strings (`a=1&b=x%40y.com`) and request
//! targets (`/users/ann%40example.com?query`), scanned decoded, with
//! findings mapped back to the encoded bytes.
//!
//! Each value is scanned under its field name (`$.name`), which serves as
//! context and as the path for `json_paths` scopes. Forms are scanned whole:
//! the flow layer buffers them (they are small) within its limits.

use super::redact::apply;
use super::scan::{method, redact_whole, scan_whole, Finding, ScanOptions};
use super::Engine;

/// A finding in a form, with offsets into the encoded bytes.
pub type FormFinding = Finding;

/// Scans a form; `sink` gets each finding (encoded offsets) and the decoded value.
pub fn scan_form(engine: &Engine, form: &[u8], options: &ScanOptions, sink: &mut dyn FnMut(Finding, &[u8])) {
    for field in fields(form) {
        let opts = field.options(options);
        scan_whole(engine, &field.value.bytes, &opts, &mut |f, v| sink(field.value.to_encoded(f), v));
    }
}

/// Redacts a form: each redacted value is re-encoded in place.
pub fn redact_form(
    engine: &Engine,
    form: &[u8],
    options: &ScanOptions,
    sink: &mut dyn FnMut(Finding, &[u8]),
) -> Vec<u8> {
    let mut out = Vec::with_capacity(form.len());
    let mut copied = 0;
    for field in fields(form) {
        let opts = field.options(options);
        let mut found = false;
        let redacted = redact_whole(engine, &field.value.bytes, &opts, &mut |f, v| {
            found = true;
            sink(field.value.to_encoded(f), v)
        });
        if found && redacted != field.value.bytes {
            out.extend_from_slice(&form[copied..field.value_at]);
            encode(&redacted, &mut out);
            copied = field.value_end;
        }
    }
    out.extend_from_slice(&form[copied..]);
    out
}

/// The request target (`/path?query`) with the findings of
/// `options.redact` replaced, and every finding handed to `sink` with
/// offsets into `target`. The path is scanned decoded (`encodeURIComponent`
/// writes an email in a path as `ann%40example.com`), `+` staying a plus.
/// Replacements are percent-encoded, so they stay inside their path segment
/// or query field.
pub fn redact_url(
    engine: &Engine,
    target: &[u8],
    options: &ScanOptions,
    sink: &mut dyn FnMut(Finding, &[u8]),
) -> Vec<u8> {
    let path_len = target.iter().position(|&b| b == b'?').unwrap_or(target.len());
    let mut out = redact_escaped(engine, &target[..path_len], options, Escape::Replacements, sink);
    if let Some(query) = target.get(path_len + 1..) {
        out.push(b'?');
        let shift = path_len as u64 + 1;
        out.extend(redact_form(engine, query, options, &mut |f, v| sink(f.shifted(shift), v)));
    }
    out
}

/// Whether replacements are percent-encoded where they go.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Escape {
    Replacements,
    Nothing,
}

/// `text` scanned with its `%XX` escapes decoded (`+` stays a plus), the
/// findings of `options.redact` replaced (written as `escape` says), and
/// every finding handed to `sink` with offsets into `text` and its decoded
/// value.
pub fn redact_escaped(
    engine: &Engine,
    text: &[u8],
    options: &ScanOptions,
    escape: Escape,
    sink: &mut dyn FnMut(Finding, &[u8]),
) -> Vec<u8> {
    let decoded = Decoded::of(text, 0, Plus::Literal);
    let mut out = Vec::with_capacity(text.len());
    let mut copied = 0;
    scan_whole(engine, &decoded.bytes, options, &mut |f, v| {
        let f = decoded.to_encoded(f);
        if options.redact.contains(f.detector) {
            out.extend_from_slice(&text[copied..f.start as usize]);
            let mut replacement = Vec::new();
            apply(method(engine, options, f.detector), engine.hash_key(), v, &mut replacement);
            match escape {
                Escape::Replacements => encode(&replacement, &mut out),
                Escape::Nothing => out.extend_from_slice(&replacement),
            }
            copied = f.end as usize;
        }
        sink(f, v);
    });
    out.extend_from_slice(&text[copied..]);
    out
}

struct Field {
    name: String,
    value: Decoded,
    value_at: usize,
    value_end: usize,
}

impl Field {
    fn options(&self, base: &ScanOptions) -> ScanOptions {
        ScanOptions { json: false, field: Some(self.name.clone()), ..base.clone() }
    }
}

/// What `+` means: a space in forms and query strings, itself in a path.
#[derive(Clone, Copy, PartialEq)]
enum Plus {
    Space,
    Literal,
}

/// Percent-decoded bytes, and where each came from.
struct Decoded {
    bytes: Vec<u8>,
    /// The encoded offset of each decoded byte, and one past the end.
    map: Vec<usize>,
}

impl Decoded {
    /// Decodes `%XX` (and `+`, as `plus` says) in `encoded`, which starts at
    /// `offset`; a malformed escape stays as it is.
    fn of(encoded: &[u8], offset: usize, plus: Plus) -> Decoded {
        let mut bytes = Vec::with_capacity(encoded.len());
        let mut map = Vec::with_capacity(encoded.len() + 1);
        let mut i = 0;
        while i < encoded.len() {
            map.push(offset + i);
            let hex = |b: u8| (b as char).to_digit(16);
            match (encoded[i], encoded.get(i + 1).copied().and_then(hex), encoded.get(i + 2).copied().and_then(hex)) {
                (b'%', Some(h), Some(l)) => {
                    bytes.push((h * 16 + l) as u8);
                    i += 3;
                }
                (b'+', _, _) if plus == Plus::Space => {
                    bytes.push(b' ');
                    i += 1;
                }
                (b, _, _) => {
                    bytes.push(b);
                    i += 1;
                }
            }
        }
        map.push(offset + encoded.len());
        Decoded { bytes, map }
    }

    /// `f`, found in the decoded bytes, with offsets into the encoded ones.
    fn to_encoded(&self, mut f: Finding) -> Finding {
        let end = self.map.last().copied().unwrap_or_default();
        let at = |i: u64| self.map.get(i as usize).copied().unwrap_or(end) as u64;
        f.start = at(f.start);
        f.end = at(f.end);
        f
    }
}

fn fields(form: &[u8]) -> impl Iterator<Item = Field> + '_ {
    let mut at = 0;
    form.split(|&b| b == b'&').filter_map(move |pair| {
        let start = at;
        at += pair.len() + 1;
        let eq = pair.iter().position(|&b| b == b'=')?;
        let value = Decoded::of(&pair[eq + 1..], start + eq + 1, Plus::Space);
        (!value.bytes.is_empty()).then(|| Field {
            name: String::from_utf8_lossy(&Decoded::of(&pair[..eq], 0, Plus::Space).bytes).into_owned(),
            value,
            value_at: start + eq + 1,
            value_end: start + pair.len(),
        })
    })
}

/// Percent-encodes all but unreserved characters and `*` (the mask).
fn encode(bytes: &[u8], out: &mut Vec<u8>) {
    for &b in bytes {
        if b.is_ascii_alphanumeric() || b"-._~*".contains(&b) {
            out.push(b);
        } else {
            out.extend_from_slice(format!("%{b:02X}").as_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::DetectorSet;

    fn engine() -> Engine {
        Engine::from_policy_text("").unwrap()
    }

    #[test]
    fn decoded_values_are_scanned_and_mapped_back() {
        let e = engine();
        let form = b"name=Ann&email=ann%40example.com&x=1";
        let mut found = Vec::new();
        scan_form(&e, form, &ScanOptions::text(&e), &mut |f, v| found.push((f, v.to_vec())));
        assert_eq!(found.len(), 1);
        let (f, value) = &found[0];
        assert_eq!(e.detector(f.detector).id, "email");
        assert_eq!(value, b"ann@example.com");
        assert_eq!(&form[f.start as usize..f.end as usize], b"ann%40example.com");
        assert_eq!(f.path.as_deref(), Some("$.email"));
    }

    #[test]
    fn field_name_is_context() {
        let e = engine();
        let mut found = Vec::new();
        scan_form(&e, b"ssn=531217351", &ScanOptions::text(&e), &mut |f, _| found.push(f));
        assert_eq!(found.len(), 1, "a bare 9-digit SSN needs context, here the field name");
        scan_form(&e, b"order=531217351", &ScanOptions::text(&e), &mut |f, _| found.push(f));
        assert_eq!(found.len(), 1);
    }

    /// `url` redacted under `policy`, and each finding's detector, encoded
    /// span and decoded value.
    fn redacted_url(policy: &str, url: &[u8]) -> (String, Vec<(String, String, String)>) {
        let e = Engine::from_policy_text(policy).unwrap();
        let opts =
            ScanOptions { redact: DetectorSet::acting(&e, crate::policy::ActionKind::Redact), ..ScanOptions::text(&e) };
        let mut found = Vec::new();
        let out = redact_url(&e, url, &opts, &mut |f, v| {
            let span = String::from_utf8_lossy(&url[f.start as usize..f.end as usize]).into_owned();
            found.push((e.detector(f.detector).id.clone(), span, String::from_utf8_lossy(v).into_owned()));
        });
        (String::from_utf8(out).unwrap(), found)
    }

    fn finding(detector: &str, span: &str, value: &str) -> (String, String, String) {
        (detector.into(), span.into(), value.into())
    }

    #[test]
    fn urls_are_redacted_in_the_path_and_the_query_with_encoded_replacements() {
        let policy = "categories:\n  pci: {action: redact, redact: {method: replace, text: '[card/number]'}}";
        let (out, found) =
            redacted_url(policy, b"/v1/cards/4111111111111111/x?card=4111+1111+1111+1111&mail=ann%40example.com");
        assert_eq!(
            out, "/v1/cards/%5Bcard%2Fnumber%5D/x?card=%5Bcard%2Fnumber%5D&mail=ann%40example.com",
            "replacements cannot add a segment or a field; monitored values stay"
        );
        assert_eq!(
            found,
            vec![
                finding("credit-card", "4111111111111111", "4111111111111111"),
                finding("credit-card", "4111+1111+1111+1111", "4111 1111 1111 1111"),
                finding("email", "ann%40example.com", "ann@example.com"),
            ],
            "offsets are into the whole target"
        );
        let (out, found) = redacted_url(policy, b"/v1/orders?page=2");
        assert_eq!((out.as_str(), found.len()), ("/v1/orders?page=2", 0), "nothing found, nothing changed");
        assert_eq!(redacted_url(policy, b"/a?").0, "/a?", "an empty query stays");
    }

    #[test]
    fn a_path_is_scanned_decoded_with_plus_signs_kept() {
        let (out, found) = redacted_url(
            "categories:\n  pci: {action: redact}",
            b"/users/ann%40example.com/cards/4111%201111%201111%201111/a+b",
        );
        assert_eq!(
            found,
            vec![
                finding("email", "ann%40example.com", "ann@example.com"),
                finding("credit-card", "4111%201111%201111%201111", "4111 1111 1111 1111"),
            ]
        );
        assert_eq!(
            out, "/users/ann%40example.com/cards/****%20****%20****%201111/a+b",
            "the encoded value is replaced; what is not redacted stays as sent"
        );
    }

    #[test]
    fn redaction_rewrites_only_the_encoded_value() {
        let e = engine();
        let opts = ScanOptions { redact: DetectorSet::all(&e), ..ScanOptions::text(&e) };
        let out = redact_form(&e, b"a=1&card=4111+1111+1111+1111&b=%zz", &opts, &mut |_, _| {});
        assert_eq!(out, b"a=1&card=****%20****%20****%201111&b=%zz");
    }

    #[test]
    fn malformed_escapes_survive() {
        assert_eq!(Decoded::of(b"%4g%", 0, Plus::Space).bytes, b"%4g%");
    }
}
