//! Wildcard patterns for scopes: `*` matches any run of characters.
//!
//! Used for header names, content types, hosts, paths and JSON key paths
//! (`*.card_number` matches the key at any depth, `$.users[*].ssn` any index).

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

    pub fn matches(&self, text: &[u8]) -> bool {
        if let ([part], true, true) = (self.parts.as_slice(), self.anchored_start, self.anchored_end) {
            return text.eq_ignore_ascii_case(part); // A plain name: most header and host globs.
        }
        let mut rest = text;
        let last = self.parts.len().wrapping_sub(1);
        for (i, part) in self.parts.iter().enumerate() {
            let at = if i == 0 && self.anchored_start {
                starts_with(rest, part).then_some(0)
            } else if i == last && self.anchored_end {
                (rest.len() >= part.len() && starts_with(&rest[rest.len() - part.len()..], part))
                    .then(|| rest.len() - part.len())
            } else {
                rest.windows(part.len()).position(|w| w.eq_ignore_ascii_case(part))
            };
            match at {
                Some(at) => rest = &rest[at + part.len()..],
                None => return false,
            }
            if i == 0 && self.anchored_start && i == last && self.anchored_end && !rest.is_empty() {
                return false;
            }
        }
        // A pattern with no literal parts ("" or "*") matches "" only, or anything.
        !self.parts.is_empty() || !self.anchored_start || text.is_empty()
    }
}

/// Whether `text` starts with the lowercase `part`, ignoring ASCII case.
fn starts_with(text: &[u8], part: &[u8]) -> bool {
    text.get(..part.len()).is_some_and(|head| head.eq_ignore_ascii_case(part))
}

/// Any of several globs; an absent list matches everything.
pub fn any_matches(globs: &Option<Vec<Glob>>, text: &[u8]) -> bool {
    globs.as_ref().is_none_or(|gs| gs.iter().any(|g| g.matches(text)))
}

#[cfg(test)]
mod tests {
    use super::Glob;

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
}
