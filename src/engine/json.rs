//! A streaming JSON structure tracker: fed bytes in order, it knows the key
//! path (`$.user.cards[2].number`) of the value at the current position.
//!
//! It does not build values and never fails the scan: on malformed input it
//! gives up (`path` returns `None`) and the scanner goes on as plain text.
//! Memory is bounded by [`MAX_DEPTH`] frames of at most [`MAX_KEY`] bytes.

use std::fmt::Write;

/// Deeper documents are scanned as text.
pub const MAX_DEPTH: usize = 64;
/// Longer keys are truncated in paths.
pub const MAX_KEY: usize = 128;

/// UTF-8's byte order mark.
pub const BOM: [u8; 3] = [0xef, 0xbb, 0xbf];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Before a value (document start, after `:` or `,` in an array, after `[`).
    Value,
    /// Inside an object key.
    KeyStr,
    /// Inside a string value.
    ValueStr,
    /// Just after a backslash in a key.
    KeyEscape,
    /// Just after a backslash in a string value.
    ValueEscape,
    /// Inside a number, `true`, `false` or `null`.
    Scalar,
    /// After a value: expecting `,`, `}`, `]` or the end.
    AfterValue,
    /// After `{` or `,` in an object: expecting a key or `}`.
    Key,
    /// After a key: expecting `:`.
    Colon,
    /// Not JSON (any more).
    Failed,
}

#[derive(Debug, Clone)]
enum Frame {
    Object { key: Vec<u8>, has_key: bool },
    Array { index: usize },
}

#[derive(Debug, Clone)]
pub struct JsonTracker {
    state: State,
    stack: Vec<Frame>,
    /// Bytes consumed so far.
    pos: u64,
    /// Offset of the first byte inside the current string.
    string_start: u64,
    /// Key buffers of closed objects, reused by the next ones opened.
    spare: Vec<Vec<u8>>,
}

impl Default for JsonTracker {
    fn default() -> Self {
        JsonTracker { state: State::Value, stack: Vec::new(), pos: 0, string_start: 0, spare: Vec::new() }
    }
}

/// Where a redacted value stands in a JSON document, which its replacement
/// must fit for the document to stay valid JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    /// Not JSON, or between tokens: any bytes fit.
    Text,
    /// Inside a string, a key's too: no quote, backslash or control byte of its own.
    String,
    /// Where a number or literal starts or runs: a replacement that is not
    /// a number is written as a string.
    Scalar,
}

impl Slot {
    /// Makes the replacement written at `out[at..]` fit this slot: a
    /// partial mask of `a\nb` would leave `\*`, a masked card number
    /// `************1111` where a number stood. Where the length must stay
    /// (`same_length`), a number's mask cannot be quoted and stays as it is.
    pub fn fit(self, out: &mut Vec<u8>, at: usize, same_length: bool) {
        if self == Slot::Text {
            return;
        }
        let replacement = &mut out[at..];
        let number = replacement.iter().all(u8::is_ascii_digit) && !replacement.starts_with(b"0");
        for b in replacement.iter_mut().filter(|b| matches!(b, b'"' | b'\\' | 0..=0x1f)) {
            *b = b'*';
        }
        if self == Slot::Scalar && !number && !same_length && !replacement.is_empty() {
            out.insert(at, b'"');
            out.push(b'"');
        }
    }
}

/// Where the current value sits, for context that must not leak across values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueExtent {
    /// Inside a string value that began at this offset.
    String(u64),
    /// A number or literal: no text around it belongs to it.
    Scalar,
    /// Not JSON: any text may be context.
    Unknown,
}

impl JsonTracker {
    /// Consumes the next bytes of the document. Runs of string and scalar
    /// bytes are skipped in tight loops: this walk covers every byte before
    /// a finding, so it must cost little more than reading them.
    pub fn advance(&mut self, bytes: &[u8]) {
        let base = self.pos;
        self.pos += bytes.len() as u64;
        let mut i = 0;
        while i < bytes.len() {
            match self.state {
                State::KeyStr | State::ValueStr => {
                    let key = self.state == State::KeyStr;
                    let end = string_end(bytes, i);
                    if key {
                        self.push_key_bytes(&bytes[i..end]);
                    }
                    i = end;
                    if let Some(&b) = bytes.get(i) {
                        self.state = match (b, key) {
                            (b'"', true) => State::Colon,
                            (b'"', false) => State::AfterValue,
                            (_, true) => State::KeyEscape,
                            (_, false) => State::ValueEscape,
                        };
                        i += 1;
                    }
                }
                State::Scalar => {
                    i = scalar_end(bytes, i);
                    if let Some(&b) = bytes.get(i) {
                        self.state = self.after_value(b);
                        i += 1;
                        // A top-level scalar, then at once a string: the next value.
                        if self.state == State::ValueStr {
                            self.string_start = base + i as u64;
                        }
                    }
                }
                State::Failed => return,
                State::Value | State::AfterValue | State::Colon if is_space(bytes[i]) => i = skip_space(bytes, i + 1),
                // A byte order mark, which RFC 8259 lets a parser ignore
                // (.NET and PowerShell write one), before the document.
                State::Value if self.stack.is_empty() && BOM.get((base + i as u64) as usize) == Some(&bytes[i]) => {
                    i += 1
                }
                State::Key => match self.members(bytes, i, base) {
                    // Nothing for the fast path here: `}`, or not JSON.
                    at if at == i => {
                        self.step(bytes[i]);
                        i += 1;
                    }
                    at => i = at,
                },
                before => {
                    self.step(bytes[i]);
                    i += 1;
                    // A string value begins (after a top-level value, too).
                    if matches!(before, State::Value | State::AfterValue) && self.state == State::ValueStr {
                        self.string_start = base + i as u64;
                    }
                }
            }
        }
    }

    /// Reads an object's members from `i` (in state `Key`) while they are
    /// the common kind, `"key": value,` with a plain key and a scalar or
    /// plain string value, and returns where it stopped: at the end of the
    /// bytes, or at anything else (an escape, a nested value, the object's
    /// end unless another object follows in its array, a fault), in the
    /// state the byte-by-byte walk continues from.
    /// Each place in the grammar has a branch of its own here, which the CPU
    /// predicts, where one dispatch per token mostly it does not. Only the
    /// last key read is copied into the frame, on the way out.
    fn members(&mut self, bytes: &[u8], i: usize, base: u64) -> usize {
        let mut key = None;
        let at = self.members_from(bytes, i, base, &mut key);
        if let Some((start, end)) = key {
            self.start_key();
            self.push_key_bytes(&bytes[start..end]);
        }
        at
    }

    /// [`Self::members`]' walk; `key` is the span of the last key read. The
    /// state is set where the walk stops (it is `Key` between members).
    fn members_from(&mut self, bytes: &[u8], mut i: usize, base: u64, key: &mut Option<(usize, usize)>) -> usize {
        loop {
            i = skip_space(bytes, i);
            if bytes.get(i) != Some(&b'"') {
                return i;
            }
            let end = string_end(bytes, i + 1);
            *key = Some((i + 1, end));
            if bytes.get(end) != Some(&b'"') {
                self.state = State::KeyStr;
                return end;
            }
            i = skip_space(bytes, end + 1);
            if bytes.get(i) != Some(&b':') {
                self.state = State::Colon;
                return i;
            }
            i = skip_space(bytes, i + 1);
            match bytes.get(i) {
                Some(b'"') => {
                    i += 1;
                    self.string_start = base + i as u64;
                    i = string_end(bytes, i);
                    if bytes.get(i) != Some(&b'"') {
                        self.state = State::ValueStr;
                        return i;
                    }
                    i += 1;
                }
                Some(&b) if starts_scalar(b) => {
                    i = scalar_end(bytes, i + 1);
                    if i == bytes.len() {
                        self.state = State::Scalar;
                        return i;
                    }
                }
                _ => {
                    self.state = State::Value;
                    return i;
                }
            }
            i = skip_space(bytes, i);
            let next = match bytes.get(i) {
                Some(b',') => Some(i + 1),
                // The key read belonged to the object closed.
                Some(b'}') => self.next_in_array(bytes, i).inspect(|_| *key = None),
                _ => None,
            };
            let Some(next) = next else {
                self.state = State::AfterValue;
                return i;
            };
            i = next;
        }
    }

    /// At an object's `}` (`i`): if another object follows it in the same
    /// array (`}, {`, the rows of most API answers), starts that one in the
    /// frame of the one closed and returns where its members begin.
    fn next_in_array(&mut self, bytes: &[u8], i: usize) -> Option<usize> {
        let comma = skip_space(bytes, i + 1);
        let open = skip_space(bytes, comma + 1);
        if bytes.get(comma) != Some(&b',') || bytes.get(open) != Some(&b'{') {
            return None;
        }
        let [.., Frame::Array { index }, Frame::Object { key, has_key }] = self.stack.as_mut_slice() else {
            return None;
        };
        *index += 1;
        key.clear();
        *has_key = false;
        Some(open + 1)
    }

    /// The extent of the value at the current position.
    pub fn extent(&self) -> ValueExtent {
        match self.state {
            State::ValueStr | State::ValueEscape => ValueExtent::String(self.string_start),
            State::Failed => ValueExtent::Unknown,
            _ => ValueExtent::Scalar,
        }
    }

    /// What a rewrite at the current position must fit.
    pub fn slot(&self) -> Slot {
        match self.state {
            State::KeyStr | State::KeyEscape | State::ValueStr | State::ValueEscape => Slot::String,
            State::Value | State::Scalar => Slot::Scalar,
            State::Key | State::Colon | State::AfterValue | State::Failed => Slot::Text,
        }
    }

    /// The key path of the value at the current position, or `None` when the
    /// document is not (or no longer) JSON.
    pub fn path(&self) -> Option<String> {
        if self.state == State::Failed {
            return None;
        }
        let in_key = matches!(self.state, State::Key | State::KeyStr | State::KeyEscape | State::Colon);
        // One allocation for most paths.
        let mut path = String::with_capacity(64);
        path.push('$');
        let last = self.stack.len().saturating_sub(1);
        for (i, frame) in self.stack.iter().enumerate() {
            match frame {
                Frame::Object { key, has_key: true } if !(i == last && in_key) => {
                    path.push('.');
                    path.push_str(&String::from_utf8_lossy(key));
                }
                Frame::Array { index } => {
                    let _ = write!(path, "[{index}]");
                }
                Frame::Object { .. } => {}
            }
        }
        Some(path)
    }

    /// The innermost object key the current value sits under.
    pub fn last_key(&self) -> Option<&[u8]> {
        if self.state == State::Failed {
            return None;
        }
        self.stack.iter().rev().find_map(|f| match f {
            Frame::Object { key, has_key: true } => Some(key.as_slice()),
            _ => None,
        })
    }

    pub fn failed(&self) -> bool {
        self.state == State::Failed
    }

    /// One byte outside a string's plain run, by state first: a match on
    /// the byte within the state keeps this a jump or two.
    #[inline]
    fn step(&mut self, b: u8) {
        self.state = match self.state {
            State::Failed => State::Failed,
            State::KeyStr | State::KeyEscape => {
                self.push_key_bytes(&[b]);
                State::KeyStr
            }
            State::ValueStr | State::ValueEscape => State::ValueStr,
            State::Scalar if is_scalar(b) => State::Scalar,
            State::Scalar | State::AfterValue => self.after_value(b),
            state if is_space(b) => state,
            State::Value => self.value(b),
            State::Key => match b {
                b'"' => {
                    self.start_key();
                    State::KeyStr
                }
                b'}' => self.close(),
                _ => State::Failed,
            },
            State::Colon if b == b':' => State::Value,
            State::Colon => State::Failed,
        };
    }

    #[inline]
    fn after_value(&mut self, b: u8) -> State {
        match (self.stack.last_mut(), b) {
            (_, b) if is_space(b) => State::AfterValue,
            (Some(Frame::Object { .. }), b',') => State::Key,
            (Some(Frame::Object { .. }), b'}') => self.close(),
            (Some(Frame::Array { index }), b',') => {
                *index += 1;
                State::Value
            }
            (Some(Frame::Array { .. }), b']') => self.close(),
            // A top-level value ended and another follows: JSON lines, or
            // JSON text sequences (RFC 7464), which put RS before each.
            (None, 0x1e) => State::Value,
            (None, b) => self.value(b),
            _ => State::Failed,
        }
    }

    /// The first byte of a value.
    #[inline]
    fn value(&mut self, b: u8) -> State {
        match b {
            b'"' => State::ValueStr,
            b'{' => {
                let key = self.spare.pop().unwrap_or_default();
                self.open(Frame::Object { key, has_key: false }, State::Key)
            }
            b'[' => self.open(Frame::Array { index: 0 }, State::Value),
            b']' if self.in_empty_array() => self.close(),
            b if starts_scalar(b) => State::Scalar,
            _ => State::Failed,
        }
    }

    fn open(&mut self, frame: Frame, next: State) -> State {
        if self.stack.len() >= MAX_DEPTH {
            return State::Failed;
        }
        self.stack.push(frame);
        next
    }

    /// Starts over, for a new text, keeping the key buffers for its objects.
    pub fn reset(&mut self) {
        while self.stack.last().is_some() {
            self.close();
        }
        (self.state, self.pos, self.string_start) = (State::Value, 0, 0);
    }

    fn close(&mut self) -> State {
        if let Some(Frame::Object { mut key, .. }) = self.stack.pop() {
            key.clear();
            self.spare.push(key);
        }
        State::AfterValue
    }

    fn in_empty_array(&self) -> bool {
        matches!(self.stack.last(), Some(Frame::Array { index: 0 }))
    }

    /// A key begins in the innermost object.
    fn start_key(&mut self) {
        if let Some(Frame::Object { key, has_key }) = self.stack.last_mut() {
            key.clear();
            *has_key = true;
        }
    }

    fn push_key_bytes(&mut self, bytes: &[u8]) {
        if let Some(Frame::Object { key, .. }) = self.stack.last_mut() {
            let room = MAX_KEY.saturating_sub(key.len());
            key.extend_from_slice(&bytes[..bytes.len().min(room)]);
        }
    }
}

const SPACE: u8 = 1;
const SCALAR: u8 = 2;
const SCALAR_START: u8 = 4;

/// Each byte's classes, one lookup where a chain of comparisons would be.
static CLASSES: [u8; 256] = {
    let mut classes = [0; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        if matches!(c, b' ' | b'\t' | b'\r' | b'\n') {
            classes[b] |= SPACE;
        }
        // Bytes of a number or of `true`, `false` and `null`.
        if matches!(c, b'0'..=b'9' | b'a'..=b'z' | b'.' | b'+' | b'-' | b'E') {
            classes[b] |= SCALAR;
        }
        // The first byte of one.
        if matches!(c, b'-' | b'0'..=b'9' | b't' | b'f' | b'n') {
            classes[b] |= SCALAR_START;
        }
        b += 1;
    }
    classes
};

fn is_space(b: u8) -> bool {
    CLASSES[usize::from(b)] & SPACE != 0
}

fn starts_scalar(b: u8) -> bool {
    CLASSES[usize::from(b)] & SCALAR_START != 0
}

fn is_scalar(b: u8) -> bool {
    CLASSES[usize::from(b)] & SCALAR != 0
}

/// Where the number or literal that goes on at `i` ends.
fn scalar_end(bytes: &[u8], mut i: usize) -> usize {
    while bytes.get(i).is_some_and(|&b| is_scalar(b)) {
        i += 1;
    }
    i
}

/// Where the white space from `i` ends.
fn skip_space(bytes: &[u8], mut i: usize) -> usize {
    while bytes.get(i).is_some_and(|&b| is_space(b)) {
        i += 1;
    }
    i
}

/// Where the string content from `i` reaches its closing quote or next
/// escape (or the end of the bytes). Most strings are short: a word of eight
/// bytes at a time finds their end sooner than a byte loop or a SIMD search.
fn string_end(bytes: &[u8], mut i: usize) -> usize {
    for _ in 0..2 {
        let Some(word) = bytes.get(i..).and_then(<[u8]>::first_chunk::<8>) else { break };
        let word = u64::from_le_bytes(*word);
        let found = zero_bytes(word ^ QUOTES) | zero_bytes(word ^ BACKSLASHES);
        if found != 0 {
            return i + (found.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    let rest = bytes.get(i..).unwrap_or_default();
    i + memchr::memchr2(b'"', b'\\', rest).unwrap_or(rest.len())
}

const ONES: u64 = u64::from_le_bytes([1; 8]);
const QUOTES: u64 = ONES * b'"' as u64;
const BACKSLASHES: u64 = ONES * b'\\' as u64;

/// The high bit of the first zero byte of `x` is set, and no lower bit is
/// (bytes above a zero may be flagged too, by the borrow).
fn zero_bytes(x: u64) -> u64 {
    x.wrapping_sub(ONES) & !x & (ONES << 7)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The path just before the first occurrence of `needle`.
    fn path_at(doc: &str, needle: &str) -> Option<String> {
        let at = doc.find(needle).unwrap();
        let mut t = JsonTracker::default();
        t.advance(&doc.as_bytes()[..at]);
        t.path()
    }

    #[test]
    fn paths_of_strings_numbers_and_array_items() {
        let doc =
            r#"{"user": {"name": "Ann", "ssn": "531-21-7351", "cards": [{"n": 4111}, {"n": "5500"}]}, "z": true}"#;
        assert_eq!(path_at(doc, "Ann").unwrap(), "$.user.name");
        assert_eq!(path_at(doc, "531").unwrap(), "$.user.ssn");
        assert_eq!(path_at(doc, "4111").unwrap(), "$.user.cards[0].n");
        assert_eq!(path_at(doc, "5500").unwrap(), "$.user.cards[1].n");
        assert_eq!(path_at(doc, "true").unwrap(), "$.z");
    }

    #[test]
    fn a_byte_order_mark_before_the_document_is_skipped_however_it_arrives() {
        let doc = "\u{feff}{\"user\": {\"ssn\": \"531-21-7351\"}}";
        assert_eq!(path_at(doc, "531").unwrap(), "$.user.ssn");
        let at = doc.find("531").unwrap();
        for cut in 1..4 {
            let mut t = JsonTracker::default();
            t.advance(&doc.as_bytes()[..cut]);
            t.advance(&doc.as_bytes()[cut..at]);
            assert_eq!(t.path().as_deref(), Some("$.user.ssn"), "cut after {cut} bytes");
        }
        assert!(path_at("{\"a\": \"\u{feff}x\"}", "x").is_some(), "inside a string it is text");
        let mut t = JsonTracker::default();
        t.advance("{\"a\": 1}\u{feff}".as_bytes());
        assert!(t.failed(), "only before the document");
    }

    #[test]
    fn a_replacement_is_made_to_fit_where_its_value_stood() {
        let fit = |slot: Slot, replacement: &str, same_length: bool| {
            let mut out = b"[".to_vec();
            out.extend_from_slice(replacement.as_bytes());
            slot.fit(&mut out, 1, same_length);
            String::from_utf8(out).unwrap()
        };
        assert_eq!(fit(Slot::Scalar, "************1111", false), r#"["************1111""#);
        assert_eq!(fit(Slot::Scalar, "************1111", true), "[************1111", "the length must stay");
        assert_eq!(fit(Slot::Scalar, "4000000000000000", false), "[4000000000000000", "still a number");
        assert_eq!(fit(Slot::Scalar, "0123", false), r#"["0123""#, "not a JSON number");
        assert_eq!(fit(Slot::Scalar, r#"a "card""#, false), r#"["a *card*""#);
        // A partial mask of a PEM key's `\n` escapes keeps their backslashes.
        assert_eq!(fit(Slot::String, r"-----\*****\n", false), "[-----*******n");
        assert_eq!(fit(Slot::Text, r#"a "card""#, false), r#"[a "card""#);
        let slot_at = |doc: &str| {
            let mut t = JsonTracker::default();
            t.advance(doc.as_bytes());
            t.slot()
        };
        assert_eq!(slot_at(r#"{"card": "#), Slot::Scalar);
        assert_eq!(slot_at(r#"{"card": "41"#), Slot::String);
        assert_eq!(slot_at(r#"{"ann@"#), Slot::String, "a key is a string too");
        assert_eq!(slot_at(r#"{"a": 1 "#), Slot::Text);
        assert_eq!(slot_at("card: "), Slot::Text, "not JSON");
    }

    #[test]
    fn inside_a_key_the_path_is_the_parent() {
        assert_eq!(path_at(r#"{"a": {"value": 1}}"#, "value").unwrap(), "$.a");
    }

    #[test]
    fn escapes_do_not_end_strings() {
        let doc = r#"{"k\"ey": "va\"l", "next": "x"}"#;
        assert_eq!(path_at(doc, "x\"").unwrap(), "$.next");
        assert_eq!(path_at(doc, "va").unwrap(), "$.k\"ey", "escaped quotes are kept, backslashes dropped");
    }

    #[test]
    fn a_string_value_extends_back_past_its_escapes() {
        let doc = r#"{"a": "x\"y \\ z 4111"}"#;
        let mut t = JsonTracker::default();
        t.advance(&doc.as_bytes()[..doc.find("4111").unwrap()]);
        assert_eq!(t.extent(), ValueExtent::String(doc.find('x').unwrap() as u64));
    }

    #[test]
    fn long_strings_and_scalars_across_chunks() {
        let long = "k".repeat(100);
        let doc = format!(r#"{{"{long}": [123456789, "{long}\"", true], "b": -1.5e+10}}"#);
        let end = doc.find("-1.5").unwrap();
        let mut whole = JsonTracker::default();
        whole.advance(&doc.as_bytes()[..end]);
        assert_eq!(whole.path().unwrap(), "$.b");
        for split in 0..end {
            let mut t = JsonTracker::default();
            t.advance(&doc.as_bytes()[..split]);
            t.advance(&doc.as_bytes()[split..end]);
            assert_eq!(t.path(), whole.path(), "split {split}");
        }
    }

    #[test]
    fn top_level_array_and_empty_containers() {
        assert_eq!(path_at(r#"[[], {}, "x"]"#, "x").unwrap(), "$[2]");
    }

    #[test]
    fn top_level_values_may_follow_each_other() {
        let lines = "{\"a\": 1}\n{\"card\": \"x1\"}\n[2, \"x2\"]\n7 \"x3\"\u{1e}{\"k\": \"x4\"}";
        assert_eq!(path_at(lines, "x1").unwrap(), "$.card");
        assert_eq!(path_at(lines, "x2").unwrap(), "$[1]");
        assert_eq!(path_at(lines, "x3").unwrap(), "$", "a top-level string");
        assert_eq!(path_at(lines, "x4").unwrap(), "$.k", "after RS");
        for needle in ["x1", "x3"] {
            let at = lines.find(needle).unwrap();
            let mut t = JsonTracker::default();
            t.advance(&lines.as_bytes()[..at]);
            assert_eq!(t.extent(), ValueExtent::String(at as u64), "{needle}: the string begins at its first byte");
        }
    }

    #[test]
    fn malformed_json_gives_up() {
        let mut t = JsonTracker::default();
        t.advance(b"{\"a\": 1 2}");
        assert!(t.failed());
        let mut t = JsonTracker::default();
        t.advance(b"{\"a\": 1}}");
        assert!(t.failed(), "a close with nothing open");
        assert_eq!(t.path(), None);
        let mut t = JsonTracker::default();
        t.advance(b"plain text");
        assert!(t.failed());
    }

    #[test]
    fn any_chunking_gives_the_same_state() {
        let doc = br#"{"a": [1, {"b\\": "x y"}], "c": "d"}"#;
        let mut whole = JsonTracker::default();
        whole.advance(doc);
        for split in 0..doc.len() {
            let mut t = JsonTracker::default();
            t.advance(&doc[..split]);
            t.advance(&doc[split..]);
            assert_eq!(t.path(), whole.path(), "split {split}");
            assert_eq!(t.state, whole.state);
        }
    }

    /// Random documents: nested values, escapes in keys and strings, white
    /// space between tokens, and now and then a stray byte.
    fn document(next: &mut impl FnMut() -> u64, depth: usize, out: &mut Vec<u8>) {
        const SPACE: &[&[u8]] = &[b"", b"", b" ", b"\n  "];
        const STRINGS: &[&[u8]] = &[b"id", b"a\\\"b", b"\\", b"", b"caf\xc3\xa9", b"x y", b"card_number"];
        const SCALARS: &[&[u8]] = &[b"0", b"-12.5e+3", b"true", b"false", b"null", b"100234"];
        let pick =
            |next: &mut dyn FnMut() -> u64, items: &[&'static [u8]]| items[(next() % items.len() as u64) as usize];
        let string = |next: &mut dyn FnMut() -> u64, out: &mut Vec<u8>| {
            out.push(b'"');
            out.extend_from_slice(pick(next, STRINGS));
            out.push(b'"');
        };
        out.extend_from_slice(pick(next, SPACE));
        match next() % if depth == 0 { 2 } else { 5 } {
            0 => string(next, out),
            1 => out.extend_from_slice(pick(next, SCALARS)),
            kind => {
                let object = kind < 4;
                let (open, close) = if object { (b'{', b'}') } else { (b'[', b']') };
                out.push(open);
                for i in 0..next() % 6 {
                    if i > 0 {
                        out.extend_from_slice(pick(next, SPACE));
                        out.push(b',');
                    }
                    if object {
                        out.extend_from_slice(pick(next, SPACE));
                        string(next, out);
                        out.extend_from_slice(pick(next, SPACE));
                        out.push(b':');
                    }
                    document(next, depth - 1, out);
                }
                out.extend_from_slice(pick(next, SPACE));
                out.push(close);
            }
        }
        if next() % 150 == 0 {
            out.push(b"x}],:\"\\"[(next() % 7) as usize]);
        }
    }

    /// The member-by-member fast path must leave the tracker as the byte
    /// walk does, wherever a chunk ends: each prefix fed whole is compared
    /// with the same bytes fed one at a time.
    #[test]
    fn the_fast_path_agrees_with_the_byte_walk_at_every_offset() {
        let mut next = crate::engine::xorshift(0x9e37_79b9_7f4a_7c15);
        let mut failed = 0;
        for _ in 0..60 {
            let mut doc = Vec::new();
            document(&mut next, 4, &mut doc);
            let mut bytewise = JsonTracker::default();
            for end in 0..=doc.len() {
                let mut whole = JsonTracker::default();
                whole.advance(&doc[..end]);
                let at = String::from_utf8_lossy(&doc[..end]);
                assert_eq!(whole.path(), bytewise.path(), "after {at:?}");
                assert_eq!(whole.extent(), bytewise.extent(), "after {at:?}");
                assert_eq!(whole.last_key(), bytewise.last_key(), "after {at:?}");
                assert_eq!(whole.state, bytewise.state, "after {at:?}");
                if let Some(&b) = doc.get(end) {
                    bytewise.advance(&[b]);
                }
            }
            failed += usize::from(bytewise.failed());
        }
        assert!((1..30).contains(&failed), "{failed} of 60 documents were malformed: both kinds must be tried");
    }

    #[test]
    fn a_string_ends_at_the_first_quote_or_backslash() {
        let mut next = crate::engine::xorshift(0x51ed_270b_2740_1f2d);
        for _ in 0..20_000 {
            let len = (next() % 40) as usize;
            // Mostly bytes next to the two (`!`, `#`, `[`, `]`, their high-bit twins).
            let bytes: Vec<u8> = (0..len)
                .map(|_| b"ab!#[]\xa2\xdc\"\\"[(next() % if next() % 8 == 0 { 10 } else { 8 }) as usize])
                .collect();
            let expected = bytes.iter().position(|&b| b == b'"' || b == b'\\').unwrap_or(len);
            assert_eq!(string_end(&bytes, 0), expected, "{bytes:?}");
        }
    }

    #[test]
    fn depth_is_bounded() {
        let mut t = JsonTracker::default();
        t.advance(&[b'['; MAX_DEPTH + 1]);
        assert!(t.failed());
    }
}
