//! Protocol Buffers messages read without a schema (the payload of gRPC
//! frames), as `protoc --decode_raw` reads them.
//!
//! Only length-delimited fields can hold sensitive text. Each one is read as
//! the first of these that fits:
//!
//! 1. a well-formed message that is not text: walked, up to [`MAX_DEPTH`] levels;
//! 2. anything else: a `string` or `bytes` field, scanned as it is. Text
//!    (UTF-8 without control characters) that also parses as a message is
//!    scanned as text but redacted only with same-length methods, so either
//!    reading of it stays valid.
//!
//! A value stands under its field-number path (`$.2.1` is field 1 of the
//! message in field 2), which `json_paths` scopes can select. Redaction
//! rewrites a value and re-encodes the length prefixes of every enclosing
//! field, so the output is a valid message of the same shape.

use super::scan::{redact_whole, scan_whole, ScanOptions, Sink};
use super::Engine;

/// Nesting beyond this is scanned as bytes: bounds the work on crafted input.
/// The outermost message (a gRPC payload) is read the same way.
pub const MAX_DEPTH: usize = 16;

/// Scans a message; findings carry offsets into `message`.
pub fn scan_protobuf(engine: &Engine, message: &[u8], options: &ScanOptions, sink: &mut Sink) {
    walk(message, 0, "", 0, &mut |value| {
        scan_whole(engine, value.bytes, &value.options(options), &mut |f, v| sink(f.shifted(value.at as u64), v));
        None
    });
}

/// Redacts a message: every rewritten value gets new length prefixes.
pub fn redact_protobuf(engine: &Engine, message: &[u8], options: &ScanOptions, sink: &mut Sink) -> Vec<u8> {
    let rewritten = walk(message, 0, "", 0, &mut |value| {
        let mut found = false;
        let out = redact_whole(engine, value.bytes, &value.options(options), &mut |f, v| {
            found = true;
            sink(f.shifted(value.at as u64), v)
        });
        (found && out != value.bytes).then_some(out)
    });
    rewritten.unwrap_or_else(|| message.to_vec())
}

/// A string or bytes value.
struct Value<'m> {
    bytes: &'m [u8],
    /// Offset in the outermost message.
    at: usize,
    /// Field numbers from the outermost message, dot-separated.
    path: &'m str,
    /// Its length must not change: it may be a message too.
    same_length: bool,
}

impl Value<'_> {
    fn options(&self, base: &ScanOptions) -> ScanOptions {
        ScanOptions {
            json: false,
            field: (!self.path.is_empty()).then(|| self.path.to_string()),
            same_length: base.same_length || self.same_length,
            ..base.clone()
        }
    }
}

/// Called on each value; returns its replacement if it changes.
type Leaf<'a> = dyn FnMut(Value) -> Option<Vec<u8>> + 'a;

/// Walks `message` (at offset `at` in the outermost one), or hands it to
/// `leaf` if it is text or not a message. Returns the rewritten bytes if any
/// value changed.
fn walk(message: &[u8], at: usize, path: &str, depth: usize, leaf: &mut Leaf) -> Option<Vec<u8>> {
    let fields = match parse(message) {
        Some(fields) if depth < MAX_DEPTH && !is_text(message) => fields,
        parsed => return leaf(Value { bytes: message, at, path, same_length: parsed.is_some() }),
    };
    let mut out: Option<Vec<u8>> = None;
    let mut copied = 0;
    for field in fields {
        let path = if path.is_empty() { field.number.to_string() } else { format!("{path}.{}", field.number) };
        let value = &message[field.value.clone()];
        if let Some(new) = walk(value, at + field.value.start, &path, depth + 1, leaf) {
            let out = out.get_or_insert_with(|| Vec::with_capacity(message.len()));
            out.extend_from_slice(&message[copied..field.key_end]);
            put_varint(out, new.len() as u64);
            out.extend_from_slice(&new);
            copied = field.value.end;
        }
    }
    out.map(|mut out| {
        out.extend_from_slice(&message[copied..]);
        out
    })
}

/// A length-delimited field.
#[derive(Debug)]
struct Field {
    number: u64,
    /// Where the key ends and the length prefix begins.
    key_end: usize,
    value: std::ops::Range<usize>,
}

/// The length-delimited fields of a well-formed message; `None` if the
/// bytes are not one (or are empty).
fn parse(message: &[u8]) -> Option<Vec<Field>> {
    if message.is_empty() {
        return None;
    }
    let mut fields = Vec::new();
    let mut groups = 0usize;
    let mut i = 0;
    while i < message.len() {
        let key = varint(message, &mut i)?;
        let (number, wire) = (key >> 3, key & 7);
        if number == 0 || number > (1 << 29) - 1 {
            return None;
        }
        match wire {
            0 => {
                varint(message, &mut i)?;
            }
            1 => i = i.checked_add(8).filter(|&e| e <= message.len())?,
            5 => i = i.checked_add(4).filter(|&e| e <= message.len())?,
            2 => {
                let key_end = i;
                let len = usize::try_from(varint(message, &mut i)?).ok()?;
                let end = i.checked_add(len).filter(|&e| e <= message.len())?;
                if len > 0 {
                    fields.push(Field { number, key_end, value: i..end });
                }
                i = end;
            }
            // Groups (deprecated) nest by start and end markers.
            3 => groups += 1,
            4 => groups = groups.checked_sub(1)?,
            _ => return None,
        }
    }
    (groups == 0).then_some(fields)
}

/// Reads a base-128 varint at `*i`, advancing it.
fn varint(bytes: &[u8], i: &mut usize) -> Option<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *bytes.get(*i)?;
        *i += 1;
        value |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// Text, as a `string` field holds it: UTF-8 with no control characters
/// other than whitespace.
fn is_text(bytes: &[u8]) -> bool {
    std::str::from_utf8(bytes).is_ok_and(|s| s.chars().all(|c| !c.is_control() || matches!(c, '\t' | '\n' | '\r')))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::DetectorSet;

    /// Encodes field `number` as length-delimited `value`.
    fn ld(number: u64, value: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        put_varint(&mut out, number << 3 | 2);
        put_varint(&mut out, value.len() as u64);
        out.extend_from_slice(value);
        out
    }

    fn engine() -> Engine {
        Engine::from_policy_text("").unwrap()
    }

    fn found(e: &Engine, message: &[u8]) -> Vec<(String, String, Vec<u8>)> {
        let mut found = Vec::new();
        scan_protobuf(e, message, &ScanOptions::text(e), &mut |f, v| {
            let at = message[f.start as usize..f.end as usize].to_vec();
            assert_eq!(at, v, "offsets point at the value");
            found.push((e.detector(f.detector).id.clone(), f.path.unwrap_or_default(), at));
        });
        found
    }

    #[test]
    fn strings_in_nested_messages_are_found_with_their_field_path() {
        let e = engine();
        // message { 1: 150 (varint), 2: { 1: "ann@example.com", 3: fixed64 }, 4: "4111 1111 1111 1111" }
        let mut inner = ld(1, b"ann@example.com");
        inner.extend_from_slice(&[3 << 3 | 1, 1, 2, 3, 4, 5, 6, 7, 8]);
        let mut msg = vec![1 << 3, 0x96, 0x01];
        msg.extend(ld(2, &inner));
        msg.extend(ld(4, b"4111 1111 1111 1111"));
        let found = found(&e, &msg);
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!((found[0].0.as_str(), found[0].1.as_str()), ("email", "$.2.1"));
        assert_eq!((found[1].0.as_str(), found[1].1.as_str()), ("credit-card", "$.4"));
    }

    #[test]
    fn redaction_re_encodes_every_enclosing_length() {
        let e = engine();
        let msg = ld(1, &[ld(2, b"x"), ld(7, b"key AKIAZ3QX7HPLW4NRTY2B here")].concat());
        let opts = ScanOptions { redact: DetectorSet::all(&e), ..ScanOptions::text(&e) };
        let out = redact_protobuf(&e, &msg, &opts, &mut |_, _| {});
        let fields = parse(&out).expect("still a message");
        let inner = parse(&out[fields[0].value.clone()]).expect("inner still a message");
        let value = &out[fields[0].value.clone()][inner[1].value.clone()];
        assert!(!value.windows(4).any(|w| w == b"AKIA"), "{}", String::from_utf8_lossy(value));
        assert!(value.starts_with(b"key ") && value.ends_with(b" here"));
    }

    #[test]
    fn clean_messages_come_back_unchanged() {
        let e = engine();
        let msg = ld(1, &[ld(2, b"hello"), vec![3 << 3, 42]].concat());
        let opts = ScanOptions { redact: DetectorSet::all(&e), ..ScanOptions::text(&e) };
        assert_eq!(redact_protobuf(&e, &msg, &opts, &mut |_, _| {}), msg);
    }

    #[test]
    fn text_that_happens_to_parse_as_a_message_is_scanned_as_text() {
        let e = engine();
        let key = b"-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\n-----END PRIVATE KEY-----";
        assert!(parse(key).is_some(), "the premise: a PEM key parses as a message");
        assert_eq!(found(&e, key).len(), 1);
        assert_eq!(found(&e, &ld(3, key)).len(), 1);
    }

    #[test]
    fn bytes_that_are_not_a_message_are_scanned_as_they_are() {
        let e = engine();
        let msg = ld(5, b"\x00\xffcard 4111-1111-1111-1111\x01");
        assert_eq!(found(&e, &msg).len(), 1);
        // Not a message at all: the whole payload is one value.
        assert_eq!(found(&e, b"\xff\xff 4111 1111 1111 1111").len(), 1);
    }

    #[test]
    fn malformed_and_hostile_input_does_not_panic() {
        let e = engine();
        let deep = (0..200).fold(b"4111 1111 1111 1111".to_vec(), |m, _| ld(1, &m));
        assert_eq!(found(&e, &deep).len(), 1);
        for bad in [&b"\x0a\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"[..], b"\x0a\x05ab", b"\x0b", b"\x0c", b"\x00"]
        {
            assert!(parse(bad).is_none(), "{bad:?}");
            found(&e, bad);
        }
    }
}
