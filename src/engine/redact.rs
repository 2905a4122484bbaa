//! Redaction methods and keyed-hash previews.
//!
//! Every method is a pure function of the value (and the hash key), which is
//! what makes redacted streams identical however they were chunked.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::policy::RedactSpec;

/// The HMAC-SHA256 key behind `hash` redaction and finding fingerprints,
/// held as the MAC already keyed: each use clones it instead of hashing the
/// key again.
#[derive(Clone)]
pub struct HashKey(Hmac<Sha256>);

impl std::fmt::Debug for HashKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HashKey(..)")
    }
}

impl HashKey {
    pub fn new(key: &[u8]) -> HashKey {
        // HMAC accepts keys of any length, so this cannot fail.
        HashKey(<Hmac<Sha256> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!()))
    }

    /// A key nobody else knows: fingerprints then correlate only within
    /// this process (one VM, one worker).
    pub fn random() -> HashKey {
        use std::hash::{BuildHasher, Hasher};
        let mut key = Vec::with_capacity(32);
        for i in 0..4u64 {
            let mut h = std::collections::hash_map::RandomState::new().build_hasher();
            h.write_u64(i);
            key.extend_from_slice(&h.finish().to_le_bytes());
        }
        HashKey::new(&key)
    }

    /// Hex HMAC-SHA256 of `value`.
    pub fn hex(&self, value: &[u8]) -> String {
        self.hex_prefix(value, 32)
    }

    /// The first `bytes` bytes of the HMAC-SHA256 of `value`, in hex.
    fn hex_prefix(&self, value: &[u8], bytes: usize) -> String {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut mac = self.0.clone();
        mac.update(value);
        let digest = mac.finalize().into_bytes();
        let mut hex = String::with_capacity(2 * bytes);
        for &b in digest.iter().take(bytes) {
            hex.push(char::from(DIGITS[usize::from(b >> 4)]));
            hex.push(char::from(DIGITS[usize::from(b & 15)]));
        }
        hex
    }

    /// A short fingerprint for logs and reports: equal values give equal
    /// fingerprints, and the value cannot be recovered from it.
    pub fn fingerprint(&self, value: &[u8]) -> String {
        self.hex_prefix(value, 6)
    }
}

/// Whether the method keeps the byte length of the value.
pub fn is_same_length(spec: &RedactSpec) -> bool {
    match spec {
        RedactSpec::Mask { .. } | RedactSpec::Partial { .. } => true,
        RedactSpec::Hash { same_length, .. } => *same_length,
        RedactSpec::Replace { .. } => false,
    }
}

/// The replacement for `value`.
pub fn apply(spec: &RedactSpec, key: &HashKey, value: &[u8], out: &mut Vec<u8>) {
    match spec {
        RedactSpec::Mask { char } => out.extend(std::iter::repeat_n(ascii(*char), value.len())),
        RedactSpec::Partial { keep, char } => partial(value, *keep, ascii(*char), out),
        RedactSpec::Hash { length, same_length: false } => {
            let hex = key.hex(value);
            out.extend_from_slice(&hex.as_bytes()[..(*length).min(hex.len())]);
        }
        RedactSpec::Hash { same_length: true, .. } => {
            let hex = key.hex(value);
            out.extend(hex.bytes().cycle().take(value.len()));
        }
        RedactSpec::Replace { text } => out.extend_from_slice(text.as_bytes()),
    }
}

/// The policy refuses non-ASCII mask characters; this keeps lengths exact
/// even if one slipped through.
fn ascii(c: char) -> u8 {
    if c.is_ascii() {
        c as u8
    } else {
        b'*'
    }
}

/// Masks all but the last `keep` alphanumerics; other bytes (separators)
/// stay, so `4111 1111 1111 1111` becomes `**** **** **** 1111`. At most
/// half of a value's alphanumerics stay, so a value no longer than `keep`
/// (a short code, a policy's `keep: 100`) is never passed, or shown as a
/// preview, in clear.
fn partial(value: &[u8], keep: usize, mask: u8, out: &mut Vec<u8>) {
    let alnum = value.iter().filter(|b| b.is_ascii_alphanumeric()).count();
    let keep = keep.min(alnum / 2);
    let mut seen = 0;
    for &b in value {
        if b.is_ascii_alphanumeric() {
            seen += 1;
            out.push(if seen > alnum.saturating_sub(keep) { b } else { mask });
        } else if b.is_ascii() {
            out.push(b);
        } else {
            out.push(mask);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_is_hmac_sha256_and_the_keyed_state_is_reused_safely() {
        // RFC 4231, test case 2.
        let key = HashKey::new(b"Jefe");
        let expected = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
        assert_eq!(key.hex(b"what do ya want for nothing?"), expected);
        assert_eq!(key.hex(b"what do ya want for nothing?"), expected, "the same on a second use");
        assert_eq!(key.fingerprint(b"what do ya want for nothing?"), &expected[..12]);
    }

    fn run(spec: RedactSpec, value: &str) -> String {
        let mut out = Vec::new();
        apply(&spec, &HashKey::new(b"k"), value.as_bytes(), &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn mask_and_partial_keep_length_and_shape() {
        assert_eq!(run(RedactSpec::Mask { char: '#' }, "abc"), "###");
        assert_eq!(run(RedactSpec::Partial { keep: 4, char: '*' }, "4111 1111 1111 1234"), "**** **** **** 1234");
        assert_eq!(run(RedactSpec::Partial { keep: 4, char: '*' }, "12"), "*2", "at most half stays");
        assert_eq!(run(RedactSpec::Partial { keep: 100, char: '*' }, "ann@example.com"), "***@****ple.com");
        assert_eq!(run(RedactSpec::Partial { keep: 4, char: '*' }, "4111111111111111"), "************1111");
        assert_eq!(run(RedactSpec::Mask { char: '*' }, "é").len(), "é".len());
    }

    #[test]
    fn hash_is_keyed_deterministic_and_truncated() {
        let a = run(RedactSpec::Hash { length: 16, same_length: false }, "value");
        assert_eq!(a.len(), 16);
        assert_eq!(a, run(RedactSpec::Hash { length: 16, same_length: false }, "value"));
        assert_ne!(a, run(RedactSpec::Hash { length: 16, same_length: false }, "secreT"));
        let mut other = Vec::new();
        apply(&RedactSpec::Hash { length: 16, same_length: false }, &HashKey::new(b"k2"), b"value", &mut other);
        assert_ne!(a.as_bytes(), other.as_slice());
        assert_eq!(run(RedactSpec::Hash { length: 16, same_length: true }, "x".repeat(100).as_str()).len(), 100);
    }

    #[test]
    fn replace_uses_the_text() {
        assert_eq!(run(RedactSpec::Replace { text: "[card]".into() }, "4111"), "[card]");
    }

    #[test]
    fn fingerprints_hide_the_value() {
        let k = HashKey::new(b"key");
        let f = k.fingerprint(b"4111111111111111");
        assert_eq!(f.len(), 12);
        assert!(!f.contains("4111"));
        assert_eq!(f, k.fingerprint(b"4111111111111111"));
    }
}
