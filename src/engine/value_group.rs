//! A pattern's `value` group, captured over a match already found.
//!
//! Captures come from the pattern alone, not the family (a capture search
//! over the whole family needs tens of MiB of PikeVM state). A counted
//! repetition with a large bound (`bearer`'s `{16,4096}`) still makes an
//! NFA of thousands of states, more than the bounded backtracker takes for
//! any but short matches, so the PikeVM ran it: about 300k instructions for
//! a 424-byte bearer token. Over a match no longer than a repetition's
//! bound, that bound cannot bind, so there the pattern may as well repeat
//! without one: with its large bounds lifted, its NFA has tens of states,
//! and the backtracker runs it. Longer matches go to the pattern as written.
//!
//! Where the bytes the group can hold tell where it starts (see
//! [`value_bytes`](super::anatomy::value_bytes)), no capture runs at all:
//! the one-pass DFA that captured `bearer`'s value took about 100
//! instructions a byte of the token, a look back over it takes a few.
//! Where a match's first bytes tell it (see
//! [`value_start_reach`](super::anatomy::value_start_reach)), the capture
//! runs over those only: the backtracker spent about 170 instructions a
//! byte on the generic secret's value of up to 256 bytes, and clearing its
//! visited set for each capture half as much again. Where an optional
//! lead of one byte comes before the group (see
//! [`value_lead`](super::anatomy::value_lead)), the match's first byte
//! tells: the email rule's capture cleared a visited set of thousands of
//! states for a 20-byte address.

use regex_automata::meta;
use regex_automata::util::captures::Captures;
use regex_automata::{Anchored, Input};
use regex_syntax::hir::Hir;

use super::anatomy::{value_bytes, value_lead, value_start_reach, ByteSet};

#[derive(Debug)]
pub(super) struct ValueGroup {
    /// How the group's start is found in a match.
    start: Start,
}

/// How a `value` group's start is found in a match: the first way the
/// pattern allows. Only the last two capture, so only they compile the
/// pattern for it: `bearer`'s `{16,4096}` as written is thousands of states.
#[derive(Debug)]
enum Start {
    /// After the run of these bytes that ends the match ([`value_bytes`]).
    Run(Box<[bool; 256]>),
    /// After the match's first byte if it is one of these ([`value_lead`]).
    Lead(Box<[bool; 256]>),
    /// By a capture over the match's first bytes ([`value_start_reach`]).
    Reach(usize, GroupRegex),
    /// By a capture over the whole match.
    Capture(GroupRegex),
}

/// A pattern compiled to capture its `value` group.
#[derive(Debug)]
pub(super) struct GroupRegex {
    /// The pattern as written.
    exact: meta::Regex,
    /// The pattern with its large bounds lifted (see
    /// [`lift_bounds`](super::anatomy::lift_bounds)), and the longest match
    /// it stands in for (the smallest bound it lifted).
    lifted: Option<(meta::Regex, usize)>,
}

impl GroupRegex {
    /// Compiles a pattern with `build`, and the pattern with its bounds
    /// lifted, if any were, with the smallest of them (as
    /// [`lift_bounds`](super::anatomy::lift_bounds) gives them).
    pub(super) fn new<E>(
        exact: &Hir,
        lifted: Option<(&Hir, usize)>,
        build: impl Fn(&Hir) -> Result<meta::Regex, E>,
    ) -> Result<GroupRegex, E> {
        let lifted = match lifted {
            Some((hir, upto)) => Some((build(hir)?, upto)),
            None => None,
        };
        Ok(GroupRegex { exact: build(exact)?, lifted })
    }

    /// The span of the `value` group as the pattern's captures give it, over
    /// the match `start..end` of `haystack` up to `until`, or the whole of
    /// that if the group did not take part.
    fn captured(&self, haystack: &[u8], start: usize, end: usize, until: usize) -> (usize, usize) {
        let regex = match &self.lifted {
            Some((lifted, upto)) if end - start <= *upto => lifted,
            _ => &self.exact,
        };
        let mut caps: Captures = regex.create_captures();
        regex.search_captures(&Input::new(haystack).range(start..until).anchored(Anchored::Yes), &mut caps);
        caps.get_group_by_name("value").map_or((start, until), |s| (s.start, s.end))
    }
}

impl ValueGroup {
    /// The group of a pattern (which has a `value` group); `capture`
    /// compiles the pattern to capture it, called only where its start
    /// takes a capture.
    pub(super) fn new<E>(hir: &Hir, capture: impl FnOnce() -> Result<GroupRegex, E>) -> Result<ValueGroup, E> {
        let table = |set: ByteSet| Box::new(std::array::from_fn(|b| set.contains(b as u8)));
        let start = match (value_bytes(hir), value_lead(hir), value_start_reach(hir)) {
            (Some(run), _, _) => Start::Run(table(run)),
            (None, Some(lead), _) => Start::Lead(table(lead)),
            (None, None, Some(reach)) => Start::Reach(reach, capture()?),
            (None, None, None) => Start::Capture(capture()?),
        };
        Ok(ValueGroup { start })
    }

    /// The span of the `value` group in the match `start..end` of
    /// `haystack`, or the whole match if the group did not take part.
    pub(super) fn span(&self, haystack: &[u8], start: usize, end: usize) -> (usize, usize) {
        match &self.start {
            Start::Run(held) => {
                (end - haystack[start..end].iter().rev().take_while(|&&b| held[usize::from(b)]).count(), end)
            }
            // The group is never empty: the match has a first byte.
            Start::Lead(lead) => (start + usize::from(lead[usize::from(haystack[start])]), end),
            Start::Reach(reach, regex) if end - start > *reach => {
                (regex.captured(haystack, start, end, start + reach).0, end)
            }
            Start::Reach(_, regex) | Start::Capture(regex) => regex.captured(haystack, start, end, end),
        }
    }

    /// The pattern as written, where its start takes a capture (for tests
    /// of its size).
    #[cfg(test)]
    pub(super) fn exact(&self) -> Option<&meta::Regex> {
        match &self.start {
            Start::Reach(_, regex) | Start::Capture(regex) => Some(&regex.exact),
            Start::Run(_) | Start::Lead(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::anatomy::lift_bounds;
    use regex_automata::util::syntax;

    /// A pattern's group, and the pattern compiled to capture it (which the
    /// group compiles only where its start takes a capture).
    fn group(source: &str) -> (ValueGroup, GroupRegex) {
        let hir = syntax::parse_with(source, &syntax::Config::new().unicode(false).utf8(false)).unwrap();
        let (lifted, upto) = lift_bounds(&hir);
        let lifted = upto.map(|u| (&lifted, u as usize));
        let config = meta::Config::new().hybrid(false).dfa(false);
        let build =
            |hir: &Hir| meta::Regex::builder().configure(config.clone()).build_from_hir(hir).map_err(|e| e.to_string());
        let capture = || GroupRegex::new(&hir, lifted, build);
        (ValueGroup::new(&hir, capture).unwrap(), capture().unwrap())
    }

    #[test]
    fn large_bounds_are_lifted_and_small_ones_kept() {
        let (_, bearer) = group(r"\b(?i:bearer)\s{1,4}(?P<value>[A-Za-z0-9\-._~+/]{16,4096}={0,2})");
        let (lifted, upto) = bearer.lifted.as_ref().unwrap();
        assert_eq!(*upto, 4096);
        assert!(
            lifted.memory_usage() * 10 < bearer.exact.memory_usage(),
            "{} against {} bytes",
            lifted.memory_usage(),
            bearer.exact.memory_usage()
        );
        assert!(group(r"(?P<value>[a-z]{1,64})@x").1.lifted.is_none(), "nothing above the threshold");
        assert!(group(r"(?P<value>[a-z]{1,256})@x").1.lifted.is_none(), "256 is kept");
        let (_, two) = group(r"(?P<value>a{1,300}b{2,500})");
        assert_eq!(two.lifted.as_ref().unwrap().1, 300, "the smallest bound lifted");
    }

    #[test]
    fn value_starts_found_without_a_whole_capture_agree_with_the_captures() {
        // Each pattern, and how its value's start is found: by the run of
        // its bytes, by a lead byte, by a capture over the first bytes (how
        // many), or by a whole capture.
        let patterns = [
            // The built-in bearer and basic rules: `\s` before a token.
            (r"\b(?i:bearer)\s{1,4}(?P<value>[A-Za-z0-9\-._~+/]{16,4096}={0,2})", "run"),
            (r"\b(?i:basic)\s{1,4}(?P<value>[A-Za-z0-9+/]{6,400}={0,2})", "run"),
            (r#"(?:k:|key:\s)\s{0,2}"?(?P<value>[a-z0-9_]{2,10}[!?]?)\b"#, "run"),
            (r"(?:^|[^a-z])(?P<value>[a-z]{2,5})", "run"),
            // The generic secret's `[:=]` ends its key and may begin its value.
            (r#"(?i:token)["']?\s{0,3}[:=]\s{0,3}["']?(?P<value>[^\s"'&,;<>{}\[\]]{8,256})"#, "reach 22"),
            (r"(?:k=|key:)\s{0,2}(?P<value>[a-z=:]{2,10})", "reach 8"),
            // The built-in email rule: its lead may be `@`, which its value holds.
            (
                r"(?:^|[^A-Za-z0-9._%+\-])(?P<value>[A-Za-z0-9._%+\-]{1,64}@[A-Za-z0-9\-]{1,63}\.[A-Za-z]{2,24})\b",
                "lead",
            ),
            // Its like; then with a lead the value may begin with (`:`), and
            // with more than assertions after the value.
            (r"(?:^|[^a-z0-9])(?P<value>[a-z0-9][a-z0-9:]{1,7}@[a-z]{1,5})\b", "lead"),
            (r"(?:^|[^a-z0-9.])(?P<value>[a-z0-9.:]{2,8}@[a-z]{1,5})\b", "capture"),
            (r"(?:^|[^0-9.])(?P<value>(?:\d{1,3}\.){3}\d{1,3})(?:\.?[^0-9.]|\.?$)", "capture"),
        ];
        let mut next = crate::engine::xorshift(7);
        let words: [&[u8]; 21] = [
            b"Bearer",
            b"basic",
            b"key:",
            b"k:",
            b"k=",
            b"token",
            b" ",
            b"  ",
            b"\"",
            b"=",
            b":",
            b"abc",
            b"Q9",
            b"_",
            b"!",
            b".",
            b"eyJhbGciOi0123",
            b"~+/",
            b"a@b.co",
            b"@",
            b"10.0.0.1",
        ];
        for (source, way) in patterns {
            let (g, regex) = group(source);
            let (found, reach) = match g.start {
                Start::Run(_) => ("run".to_string(), None),
                Start::Lead(_) => ("lead".to_string(), None),
                Start::Reach(n, _) => (format!("reach {n}"), Some(n)),
                Start::Capture(_) => ("capture".to_string(), None),
            };
            assert_eq!(g.exact().is_some(), reach.is_some() || way == "capture", "{source}: compiled only to capture");
            assert_eq!(found, way, "{source}");
            let mut past_reach = 0;
            for _ in 0..3000 {
                let lead: &[u8] = [b"Bearer ".as_slice(), b"basic  ", b""][(next() % 3) as usize];
                let rest = (0..next() % 24).flat_map(|_| words[(next() % 21) as usize]);
                let text: Vec<u8> = lead.iter().chain(rest).copied().collect();
                for m in regex.exact.find_iter(&text) {
                    past_reach += usize::from(reach.is_some_and(|r| m.len() > r));
                    let captured = regex.captured(&text, m.start(), m.end(), m.end());
                    assert_eq!(g.span(&text, m.start(), m.end()), captured, "{source} over {:?}", text.escape_ascii());
                }
            }
            assert!(reach.is_none() || past_reach > 50, "{source}: {past_reach} matches past the reach");
        }
    }

    #[test]
    fn the_lifted_pattern_captures_what_the_exact_one_does() {
        // `a{1,270}` then an optional `a`: over a match of up to 270 bytes
        // the bound cannot bind, and both read it alike.
        let (g, regex) = group(r"x(?P<value>a{1,270})(a?)y");
        let exact = |text: &[u8]| {
            let mut caps = regex.exact.create_captures();
            regex.exact.search_captures(&Input::new(text).anchored(Anchored::Yes), &mut caps);
            caps.get_group_by_name("value").map(|s| (s.start, s.end))
        };
        for n in 1..=269 {
            let text = [b"x".as_slice(), &vec![b'a'; n], b"y"].concat();
            assert_eq!(Some(g.span(&text, 0, text.len())), exact(&text), "{n} a's");
        }
        // Past the bound the pattern as written decides: 271 a's leave one for `a?`.
        let text = [b"x".as_slice(), &[b'a'; 271], b"y"].concat();
        assert_eq!(g.span(&text, 0, text.len()), (1, 271));
    }
}
