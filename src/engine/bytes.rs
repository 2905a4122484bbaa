//! Byte strings compared eight bytes at a time.
//!
//! The texts compared on every request (header names and values, content
//! types) are short, and in Wasm the standard library's comparisons cost
//! more than their bytes: slice equality calls a `memcmp` that goes byte by
//! byte, and the case-insensitive comparison's word loop has more set-up
//! than these texts have words. Here a text is read as 8-byte words, the
//! last overlapping the one before it, and a text shorter than a word as
//! one word.

/// Whether `a` and `b` are equal.
pub(crate) fn eq(a: &[u8], b: &[u8]) -> bool {
    eq_words(a, b, |word| word)
}

/// Whether `a` and `b` are equal but for ASCII case.
pub(crate) fn eq_ignore_case(a: &[u8], b: &[u8]) -> bool {
    eq_words(a, b, lowercase)
}

/// Whether `text` starts with `part`, ignoring ASCII case.
pub(crate) fn starts_with_ignore_case(text: &[u8], part: &[u8]) -> bool {
    text.get(..part.len()).is_some_and(|head| eq_ignore_case(head, part))
}

/// Whether `text` ends with `part`, ignoring ASCII case.
pub(crate) fn ends_with_ignore_case(text: &[u8], part: &[u8]) -> bool {
    text.len().checked_sub(part.len()).is_some_and(|at| eq_ignore_case(&text[at..], part))
}

/// Whether `a` and `b` have the same length and the same words once `fold`
/// is applied to each.
fn eq_words(a: &[u8], b: &[u8], fold: impl Fn(u64) -> u64) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let same = |x: u64, y: u64| fold(x) == fold(y);
    match a.len().checked_sub(8) {
        None => same(short_word(a), short_word(b)),
        Some(last) => {
            (0..last).step_by(8).all(|at| same(word(a, at), word(b, at))) && same(word(a, last), word(b, last))
        }
    }
}

/// The eight bytes of `text` from `at`, little-endian.
pub(crate) fn word(text: &[u8], at: usize) -> u64 {
    let mut bytes = [0; 8];
    bytes.copy_from_slice(&text[at..at + 8]);
    u64::from_le_bytes(bytes)
}

/// Up to eight bytes as one little-endian word, the rest zero, without a
/// copy (a call in Wasm).
pub(crate) fn short_word(bytes: &[u8]) -> u64 {
    bytes.iter().rev().fold(0, |word, &b| word << 8 | u64::from(b))
}

/// Eight bytes with ASCII capitals lowered: a byte's top bit marks it
/// when adding 0x3f takes it past 0x7f (from `A`) and adding 0x25 does not
/// (up to `Z`); bytes over 0x7f are left as they are.
fn lowercase(word: u64) -> u64 {
    const ONES: u64 = u64::from_le_bytes([1; 8]);
    let ascii = word & (0x7f * ONES);
    let capitals = (ascii + 0x3f * ONES) & !(ascii + 0x25 * ONES) & !word & (0x80 * ONES);
    word | (capitals >> 2)
}

#[cfg(test)]
mod tests {
    use crate::engine::xorshift;

    /// Pairs of random texts, equal or nearly so: bytes around the capitals'
    /// edges (`@`, `A`, `Z`, `[`, their lowercase and non-ASCII twins) and
    /// any byte, and a copy with some bytes flipped in case or changed.
    fn pairs(seed: u64) -> impl Iterator<Item = (Vec<u8>, Vec<u8>)> {
        let mut next = xorshift(seed);
        let edges = b"@AZ[`az{\xc0\xc1\xda\xdb";
        std::iter::repeat_with(move || {
            let len = (next() % 20) as usize;
            let a: Vec<u8> = (0..len)
                .map(|_| match next() % 3 {
                    0 => (next() % 256) as u8,
                    _ => edges[(next() % edges.len() as u64) as usize],
                })
                .collect();
            let b = a
                .iter()
                .map(|&x| match next() % 8 {
                    0 => x ^ 0x20,
                    1 => (next() % 256) as u8,
                    _ => x,
                })
                .collect();
            (a, b)
        })
    }

    #[test]
    fn comparisons_agree_with_the_standard_library() {
        for (a, b) in pairs(0xca5e_f01d).take(20_000) {
            assert_eq!(super::eq_ignore_case(&a, &b), a.eq_ignore_ascii_case(&b), "{a:?} and {b:?}");
            assert!(super::eq_ignore_case(&a, &a.to_ascii_uppercase()));
            assert_eq!(super::eq(&a, &b), a == b, "{a:?} and {b:?}");
            assert!(super::eq(&a, &a.clone()));
            let cut = &b[..b.len() / 2];
            assert_eq!(super::eq(&a, cut), a == cut, "{a:?} and {cut:?}");
            assert_eq!(
                super::starts_with_ignore_case(&a, cut),
                a.to_ascii_lowercase().starts_with(&cut.to_ascii_lowercase())
            );
        }
    }
}
