//! Wildcard patterns for scopes: `*` matches any run of characters.
//!
//! Used for header names, content types, hosts, paths and JSON key paths
//! (`*.card_number` matches the key at any depth, `$.users[*].ssn` any index).

use super::bytes::{ends_with_ignore_case, eq_ignore_case, starts_with_ignore_case};

/// A compiled wildcard pattern, compared ASCII case-insensitively.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Glob {
    parts: Vec<Vec<u8>>,
    anchored_start: bool,
    anchored_end: bool,
}

impl Glob {
    pub fn new(pattern: &str) -> Glob {
        let lower = pattern.to_ascii_lowercase();
        let parts = lower.split('*').filter(|p| !p.is_empty()).map(|p| p.as_bytes().to_vec()).collect();
        Glob { parts, anchored_start: !lower.starts_with('*'), anchored_end: !lower.ends_with('*') }
    }

    /// The lowercase text of a pattern without wildcards.
    fn plain(&self) -> Option<&[u8]> {
        match (self.parts.as_slice(), self.anchored_start, self.anchored_end) {
            ([part], true, true) => Some(part),
            _ => None,
        }
    }

    pub fn matches(&self, text: &[u8]) -> bool {
        // One literal part: the common shapes, compared where they must lie.
        match (self.parts.as_slice(), self.anchored_start, self.anchored_end) {
            ([part], true, true) => eq_ignore_case(text, part),
            ([part], true, false) => starts_with_ignore_case(text, part),
            ([part], false, true) => ends_with_ignore_case(text, part),
            _ => self.matches_parts(text),
        }
    }

    fn matches_parts(&self, text: &[u8]) -> bool {
        let mut rest = text;
        let last = self.parts.len().wrapping_sub(1);
        for (i, part) in self.parts.iter().enumerate() {
            let at = if i == 0 && self.anchored_start {
                starts_with_ignore_case(rest, part).then_some(0)
            } else if i == last && self.anchored_end {
                ends_with_ignore_case(rest, part).then(|| rest.len() - part.len())
            } else {
                rest.windows(part.len()).position(|w| eq_ignore_case(w, part))
            };
            match at {
                Some(at) => rest = &rest[at + part.len()..],
                None => return false,
            }
        }
        // A pattern with no literal parts ("" or "*") matches "" only, or anything.
        !self.parts.is_empty() || !self.anchored_start || text.is_empty()
    }
}

/// Several globs, matched as one. Plain names, most header and host globs,
/// are kept by length: a name is compared only with those of its length,
/// where a list of globs compared it with each (`http.skip_headers` holds a
/// dozen, asked about every header). A 64-bit filter of the names' lengths
/// and end bytes rules most other texts out before any comparison.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GlobSet {
    /// Lowercase plain names, sorted by length.
    names: Vec<Vec<u8>>,
    /// The [`filter_bit`] of every name.
    filter: u64,
    /// Patterns with wildcards.
    wild: Vec<Glob>,
}

impl GlobSet {
    pub fn new<S: AsRef<str>>(patterns: &[S]) -> GlobSet {
        let (mut names, mut wild) = (Vec::new(), Vec::new());
        for glob in patterns.iter().map(|p| Glob::new(p.as_ref())) {
            match glob.plain() {
                Some(name) => names.push(name.to_vec()),
                None => wild.push(glob),
            }
        }
        names.sort_by_key(Vec::len);
        let filter = names.iter().fold(0, |filter, name| filter | filter_bit(name));
        GlobSet { names, filter, wild }
    }

    pub fn matches(&self, text: &[u8]) -> bool {
        self.matches_name(text) || self.wild.iter().any(|g| g.matches(text))
    }

    fn matches_name(&self, text: &[u8]) -> bool {
        if self.filter & filter_bit(text) == 0 {
            return false;
        }
        let same_length = &self.names[self.names.partition_point(|n| n.len() < text.len())..];
        same_length.iter().take_while(|n| n.len() == text.len()).any(|n| eq_ignore_case(text, n))
    }
}

/// One of 64 bits, from a text's length and first and last bytes, ASCII
/// case ignored: texts equal but for case have the same bit.
fn filter_bit(text: &[u8]) -> u64 {
    let byte = |b: Option<&u8>| usize::from(b.map_or(0, u8::to_ascii_lowercase));
    let mix = text.len().wrapping_mul(31) ^ byte(text.first()).wrapping_mul(7) ^ byte(text.last());
    1 << (mix % 64)
}

/// Whether an optional set matches; an absent one matches everything.
pub fn any_matches(globs: &Option<GlobSet>, text: &[u8]) -> bool {
    globs.as_ref().is_none_or(|g| g.matches(text))
}

#[cfg(test)]
mod tests {
    use super::{Glob, GlobSet};
    use crate::engine::xorshift;

    fn m(p: &str, t: &str) -> bool {
        Glob::new(p).matches(t.as_bytes())
    }

    #[test]
    fn literal_patterns_match_whole_text_case_insensitively() {
        assert!(m("authorization", "Authorization"));
        assert!(!m("authorization", "x-authorization"));
        assert!(!m("auth", "authorization"));
    }

    #[test]
    fn a_set_matches_what_any_of_its_globs_does() {
        let patterns = ["content-length", "date", "x-b3-*", "b3", "x-request-id", "*-id", ""];
        let set = GlobSet::new(&patterns);
        for text in ["Content-Length", "date", "x-b3-traceid", "b3", "x-request-id", "trace-id", "", "dates", "x-b3"] {
            let any = patterns.iter().any(|p| m(p, text));
            assert_eq!(set.matches(text.as_bytes()), any, "{text:?}");
        }
        assert!(!GlobSet::new::<&str>(&[]).matches(b"date"));
    }

    #[test]
    fn wildcards_match_runs() {
        assert!(m("x-*", "x-api-key"));
        assert!(m("*.card_number", "$.payment.card_number"));
        assert!(!m("*.card_number", "$.payment.card_number_hint"));
        assert!(m("$.users[*].ssn", "$.users[12].ssn"));
        assert!(m("application/*json*", "application/vnd.api+json; charset=utf-8"));
        assert!(m("*", "anything"));
        assert!(m("a*a", "aa"));
        assert!(!m("a*a", "a"));
        assert!(!m("", "x"));
        assert!(m("X-*-Id", "x-b3-TRACEID-id"), "case is ignored at the start, in the middle and at the end");
        assert!(m("*json*", "Application/JSON"));
        assert!(!m("*-id", "x-b3-idx"));
    }

    #[test]
    fn globs_and_sets_agree_with_a_regex_on_random_patterns_and_texts() {
        let mut next = xorshift(0x5eed_610b);
        let mut word = |alphabet: &[u8], max: u64| -> String {
            let len = next() % (max + 1);
            (0..len).map(|_| char::from(alphabet[(next() % alphabet.len() as u64) as usize])).collect()
        };
        for _ in 0..300 {
            let patterns: Vec<String> = (0..4).map(|_| word(b"ab-*", 6)).collect();
            let regexes: Vec<regex_automata::meta::Regex> = patterns
                .iter()
                .map(|p| {
                    let body: Vec<String> = p.split('*').map(regex_syntax::escape).collect();
                    regex_automata::meta::Regex::new(&format!("(?is)^{}$", body.join(".*"))).unwrap()
                })
                .collect();
            let set = GlobSet::new(&patterns);
            for _ in 0..30 {
                let text = word(b"aAbB-c", 8);
                for (p, r) in patterns.iter().zip(&regexes) {
                    assert_eq!(m(p, &text), r.is_match(text.as_bytes()), "{p:?} on {text:?}");
                }
                let any = regexes.iter().any(|r| r.is_match(text.as_bytes()));
                assert_eq!(set.matches(text.as_bytes()), any, "{patterns:?} on {text:?}");
            }
        }
    }
}
