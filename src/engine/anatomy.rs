//! What a pattern looks like from the outside: the bytes a match can start
//! with, whether it starts and ends at a word boundary, and the bytes each
//! of its first positions can hold. The compiler uses this to split patterns into
//! families that a single lazy DFA can run without its states multiplying.
//! Also whether the bytes of its `value` group alone tell where the group
//! starts, so that no capture needs to run.

use regex_syntax::hir::{self, Class, Hir, HirKind, Look};

/// A set of bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ByteSet([u64; 4]);

impl ByteSet {
    pub fn insert_range(&mut self, lo: u8, hi: u8) {
        for b in lo..=hi {
            self.0[usize::from(b / 64)] |= 1 << (b % 64);
        }
    }

    pub fn contains(&self, b: u8) -> bool {
        self.0[usize::from(b / 64)] & (1 << (b % 64)) != 0
    }

    pub fn union(&mut self, other: &ByteSet) {
        for (a, b) in self.0.iter_mut().zip(other.0) {
            *a |= b;
        }
    }

    pub fn intersection(mut self, other: &ByteSet) -> ByteSet {
        for (a, b) in self.0.iter_mut().zip(other.0) {
            *a &= b;
        }
        self
    }

    pub fn is_subset(&self, other: &ByteSet) -> bool {
        self.0.iter().zip(other.0).all(|(a, b)| a & !b == 0)
    }

    pub fn is_empty(&self) -> bool {
        self.0 == [0; 4]
    }

    /// A regex class matching exactly these bytes, e.g. `[\x30-\x39]`.
    pub fn to_class(self) -> String {
        let mut class = String::from("[");
        for b in 0..=255u8 {
            if self.contains(b) {
                class.push_str(&format!("\\x{b:02X}"));
            }
        }
        class.push(']');
        class
    }
}

#[derive(Debug, Clone)]
pub struct Anatomy {
    /// Bytes a match can begin with.
    pub first: ByteSet,
    /// The pattern begins with a word-boundary assertion.
    pub at_boundary: bool,
    /// Every match ends at an ASCII word boundary (`\b`).
    pub ends_at_boundary: bool,
}

pub fn analyze(hir: &Hir) -> Anatomy {
    let (first, _) = edge_bytes(hir, Edge::First);
    Anatomy { first, at_boundary: starts_with_boundary(hir), ends_at_boundary: ends_with_ascii_boundary(hir) }
}

/// The first steps of a pattern's matches, read off its NFA with
/// look-around assertions taken as true (so a necessary condition).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Steps {
    /// The bytes each of the first `k` positions can hold (fewer when every
    /// match is shorter).
    pub classes: Vec<ByteSet>,
    /// `ends[i]`: a match can end after `i` bytes (`classes.len() + 1` entries).
    pub ends: Vec<bool>,
}

/// The first `k` steps of `pattern`'s matches; with `reverse`, of its
/// matches read backwards (so `classes[0]` holds the bytes a match can end with).
pub fn steps(pattern: &str, config: regex_automata::util::syntax::Config, k: usize, reverse: bool) -> Steps {
    use regex_automata::nfa::thompson::{self, State, NFA};
    let mut steps = Steps { classes: Vec::new(), ends: Vec::new() };
    // A reverse NFA cannot have capture states; forward ones need none here either.
    let nfa_config = thompson::Config::new().reverse(reverse).which_captures(thompson::WhichCaptures::None);
    let compiled = NFA::compiler().syntax(config).configure(nfa_config).build(pattern);
    let Ok(nfa) = compiled else { return steps };
    let closure = |seeds: Vec<regex_automata::util::primitives::StateID>| {
        let mut seen = std::collections::BTreeSet::new();
        let mut stack = seeds;
        while let Some(id) = stack.pop() {
            if !seen.insert(id) {
                continue;
            }
            match nfa.state(id) {
                State::Union { alternates } => stack.extend(alternates.iter().copied()),
                State::BinaryUnion { alt1, alt2 } => stack.extend([*alt1, *alt2]),
                State::Capture { next, .. } | State::Look { next, .. } => stack.push(*next),
                _ => {}
            }
        }
        seen
    };
    let mut current = closure(vec![nfa.start_anchored()]);
    for _ in 0..k {
        steps.ends.push(current.iter().any(|&id| matches!(nfa.state(id), State::Match { .. })));
        let mut set = ByteSet::default();
        let mut next = Vec::new();
        for &id in &current {
            let ranges: Vec<(u8, u8, _)> = match nfa.state(id) {
                State::ByteRange { trans } => vec![(trans.start, trans.end, trans.next)],
                State::Sparse(sparse) => sparse.transitions.iter().map(|t| (t.start, t.end, t.next)).collect(),
                State::Dense(dense) => (0..=255u8)
                    .zip(dense.transitions.iter())
                    .filter(|(_, next)| next.as_usize() != 0)
                    .map(|(b, &next)| (b, b, next))
                    .collect(),
                _ => Vec::new(),
            };
            for (lo, hi, to) in ranges {
                set.insert_range(lo, hi);
                next.push(to);
            }
        }
        if set.is_empty() {
            return steps;
        }
        steps.classes.push(set);
        current = closure(next);
    }
    steps.ends.push(current.iter().any(|&id| matches!(nfa.state(id), State::Match { .. })));
    steps
}

fn class_bytes(class: &Class) -> ByteSet {
    let mut set = ByteSet::default();
    match class {
        Class::Bytes(c) => c.ranges().iter().for_each(|r| set.insert_range(r.start(), r.end())),
        Class::Unicode(c) => {
            for r in c.ranges() {
                let (lo, hi) = (u32::from(r.start()), u32::from(r.end()));
                if lo < 0x80 {
                    set.insert_range(lo as u8, hi.min(0x7f) as u8);
                }
                if hi >= 0x80 {
                    set.insert_range(0x80, 0xff);
                }
            }
        }
    }
    set
}

/// The bytes a match holds past a lead of at most one byte: `(lead, set)`,
/// where every byte of a match but its first `lead` is in `set`. A pattern
/// that opens with a byte of context, as the email rule's
/// `(?:^|[^A-Za-z0-9._%+\-])` does, has that byte as its lead, so the set
/// leaves out all the context allows.
pub fn held_past_lead(hir: &Hir) -> (usize, ByteSet) {
    match hir.kind() {
        HirKind::Concat(items) if items.len() > 1 && items[0].properties().maximum_len() == Some(1) => {
            let mut set = ByteSet::default();
            items[1..].iter().for_each(|item| set.union(&held_bytes(item)));
            (1, set)
        }
        _ => (0, held_bytes(hir)),
    }
}

/// Every byte a match can hold, anywhere in it.
fn held_bytes(hir: &Hir) -> ByteSet {
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => ByteSet::default(),
        HirKind::Literal(lit) => {
            let mut set = ByteSet::default();
            lit.0.iter().for_each(|&b| set.insert_range(b, b));
            set
        }
        HirKind::Class(c) => class_bytes(c),
        HirKind::Repetition(r) => held_bytes(&r.sub),
        HirKind::Capture(c) => held_bytes(&c.sub),
        HirKind::Concat(items) | HirKind::Alternation(items) => {
            let mut set = ByteSet::default();
            items.iter().for_each(|item| set.union(&held_bytes(item)));
            set
        }
    }
}

/// The bytes a pattern's `value` group can hold, where they alone tell
/// where the group starts in a match: the group ends the pattern (but for
/// zero-width assertions), and no byte it can hold can end what comes
/// before it (`bearer`'s `\s{1,4}` before its token). Then in any match the
/// group is the longest run of such bytes that ends the match, whichever
/// way the pattern reads it: the byte before the run, if the match has it,
/// ends the part before the group. `None` where that does not hold.
pub fn value_bytes(hir: &Hir) -> Option<ByteSet> {
    let (before, value, _) = value_at_end(hir)?;
    let held = held_bytes(value);
    let (last, _) = edge_bytes_of(before, Edge::Last);
    last.intersection(&held).is_empty().then_some(held)
}

/// The bytes of an optional one-byte lead before a pattern's `value`
/// group, where a match's first byte alone tells whether the lead took
/// it: the group ends the pattern (but for zero-width assertions), what
/// comes before it is at most one byte, and the group, never empty, cannot
/// begin with a byte the lead can be (the email rule's
/// `(?:^|[^A-Za-z0-9._%+\-])`). Then the group starts after the match's
/// first byte if that is one of these, and at it if not.
pub fn value_lead(hir: &Hir) -> Option<ByteSet> {
    let (before, value, _) = value_at_end(hir)?;
    if longest(before)? > 1 {
        return None;
    }
    let mut lead = ByteSet::default();
    before.iter().for_each(|item| lead.union(&held_bytes(item)));
    let (first, empty) = edge_bytes(value, Edge::First);
    (!empty && first.intersection(&lead).is_empty()).then_some(lead)
}

/// What comes before a pattern's `value` group, the group, and what
/// follows it, where the group ends the pattern but for zero-width
/// assertions.
fn value_at_end(hir: &Hir) -> Option<(&[Hir], &Hir, &[Hir])> {
    let HirKind::Concat(items) = hir.kind() else { return None };
    let is_value = |item: &Hir| matches!(item.kind(), HirKind::Capture(c) if c.name.as_deref() == Some("value"));
    let at = items.iter().position(is_value)?;
    let after = &items[at + 1..];
    let zero_width = after.iter().all(|item| matches!(item.kind(), HirKind::Look(_)));
    zero_width.then(|| (&items[..at], &items[at], after))
}

/// The longest match of `items` one after another, if bounded.
fn longest(items: &[Hir]) -> Option<usize> {
    items.iter().try_fold(0usize, |sum, item| sum.checked_add(item.properties().maximum_len()?))
}

/// Which end of a match [`edge_bytes`] looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Edge {
    First,
    Last,
}

/// How many of a match's first bytes tell where its `value` group starts,
/// where that is fewer than the whole match: the group is a greedy
/// repetition of one class that ends the pattern, after a part of bounded
/// length. A capture over that many bytes of a longer match then starts
/// the group where one over the whole match does: it makes the same
/// choices before the group (any choice it preferred that fit in fewer
/// bytes would fit in the whole match too), and the group may stop
/// wherever its bytes run out, once it has its fewest. The generic
/// secret's value (`{8,256}` after at most 46 bytes) is captured over a
/// match's first 54 bytes, not up to 302.
pub fn value_start_reach(hir: &Hir) -> Option<usize> {
    let (before, value, after) = value_at_end(hir)?;
    let HirKind::Capture(capture) = value.kind() else { return None };
    let HirKind::Repetition(repeated) = capture.sub.kind() else { return None };
    let one_class = matches!(repeated.sub.kind(), HirKind::Class(_));
    // An assertion after the group could fail where the capture is cut.
    if !after.is_empty() || !repeated.greedy || !one_class {
        return None;
    }
    longest(before)?.checked_add(repeated.min as usize)
}

/// The bytes a match of `items` one after another can begin (or end) with,
/// and whether it can be empty.
fn edge_bytes_of(items: &[Hir], edge: Edge) -> (ByteSet, bool) {
    let mut set = ByteSet::default();
    for i in 0..items.len() {
        let item = &items[if edge == Edge::First { i } else { items.len() - 1 - i }];
        let (s, nullable) = edge_bytes(item, edge);
        set.union(&s);
        if !nullable {
            return (set, false);
        }
    }
    (set, true)
}

/// The bytes a match can begin (or end) with, and whether `hir` can match
/// empty.
fn edge_bytes(hir: &Hir, edge: Edge) -> (ByteSet, bool) {
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => (ByteSet::default(), true),
        HirKind::Literal(lit) => {
            let mut set = ByteSet::default();
            match if edge == Edge::First { lit.0.first() } else { lit.0.last() } {
                Some(&b) => set.insert_range(b, b),
                None => return (set, true),
            }
            (set, false)
        }
        HirKind::Class(c) => (class_bytes(c), false),
        HirKind::Repetition(r) if r.max == Some(0) => (ByteSet::default(), true),
        HirKind::Repetition(r) => {
            let (set, nullable) = edge_bytes(&r.sub, edge);
            (set, nullable || r.min == 0)
        }
        HirKind::Capture(c) => edge_bytes(&c.sub, edge),
        HirKind::Concat(items) => edge_bytes_of(items, edge),
        HirKind::Alternation(items) => {
            let mut set = ByteSet::default();
            let mut nullable = false;
            for item in items {
                let (s, n) = edge_bytes(item, edge);
                set.union(&s);
                nullable |= n;
            }
            (set, nullable)
        }
    }
}

fn starts_with_boundary(hir: &Hir) -> bool {
    let word =
        |l: &Look| matches!(l, Look::WordAscii | Look::WordUnicode | Look::WordStartAscii | Look::WordStartUnicode);
    match hir.kind() {
        HirKind::Look(l) => word(l),
        HirKind::Concat(items) => items.first().is_some_and(starts_with_boundary),
        HirKind::Capture(c) => starts_with_boundary(&c.sub),
        HirKind::Alternation(items) => !items.is_empty() && items.iter().all(starts_with_boundary),
        _ => false,
    }
}

fn ends_with_ascii_boundary(hir: &Hir) -> bool {
    match hir.kind() {
        HirKind::Look(l) => matches!(l, Look::WordAscii | Look::WordEndAscii),
        HirKind::Concat(items) => items.last().is_some_and(ends_with_ascii_boundary),
        HirKind::Capture(c) => ends_with_ascii_boundary(&c.sub),
        HirKind::Alternation(items) => !items.is_empty() && items.iter().all(ends_with_ascii_boundary),
        _ => false,
    }
}

/// Repetition bounds above this are lifted by [`lift_bounds`]. With 64, the
/// generic secret's `{8,256}` was lifted too: over a JWT assigned to a key
/// its lifted match ran past 256 bytes, and the patterns as written searched
/// again (a 683-byte JSON JWT took 25 µs to scan natively, 19 µs before).
pub const LIFT_ABOVE: u32 = 256;

/// `hir` with every repetition bound above [`LIFT_ABOVE`] lifted, and the
/// smallest bound lifted (`None` if none was). The lifted pattern matches
/// all the pattern does and more; over a match no longer than the smallest
/// bound lifted, no repetition can reach its bound, and the two match alike. A bound of
/// thousands (`{16,4096}`) makes an NFA of thousands of states, and a DFA
/// that meets a long match makes a new state at nearly every byte of it.
pub fn lift_bounds(hir: &Hir) -> (Hir, Option<u32>) {
    let mut smallest = None;
    let lifted = lift_into(hir, &mut smallest);
    (lifted, smallest)
}

fn lift_into(hir: &Hir, smallest: &mut Option<u32>) -> Hir {
    let all = |items: &[Hir], smallest: &mut Option<u32>| items.iter().map(|h| lift_into(h, smallest)).collect();
    match hir.kind() {
        HirKind::Repetition(r) => {
            // Only where each turn takes a byte: a match then takes at least
            // as many turns as it has bytes.
            let nonempty = r.sub.properties().minimum_len().is_some_and(|n| n > 0);
            let max = match r.max {
                Some(max) if max > LIFT_ABOVE && nonempty => {
                    *smallest = Some(smallest.map_or(max, |s: u32| s.min(max)));
                    None
                }
                max => max,
            };
            let sub = Box::new(lift_into(&r.sub, smallest));
            Hir::repetition(hir::Repetition { min: r.min, max, greedy: r.greedy, sub })
        }
        HirKind::Capture(c) => {
            let sub = Box::new(lift_into(&c.sub, smallest));
            Hir::capture(hir::Capture { index: c.index, name: c.name.clone(), sub })
        }
        HirKind::Concat(items) => Hir::concat(all(items, smallest)),
        HirKind::Alternation(items) => Hir::alternation(all(items, smallest)),
        _ => hir.clone(),
    }
}

/// `hir` widened to match, in any text, wherever it matches a piece of that
/// text searched alone, if the piece starts at the text's start or after a
/// line ending (`\n` or `\r`) and ends at the text's end or with a line
/// ending: the records of a stream (see `RecordScan` in `scan.rs`).
///
/// Only the assertions about a text's edges can tell a piece from the text
/// around it. Before the piece is a line ending, which no word assertion
/// tells from the text's start, so an assertion of a start (`^`, `(?m:^)`)
/// may also take that byte. After it is the next piece, where the piece
/// ends in a line ending: what asserts an end, no word boundary (`\B`) or
/// no word after (`\b{end-half}`) holds alone and may fail there, so it is
/// dropped. The rest hold in both alike, or more often in the text.
pub fn widen_edges(hir: &Hir) -> Hir {
    let all = |items: &[Hir]| items.iter().map(widen_edges).collect();
    match hir.kind() {
        HirKind::Look(look) => match look {
            Look::Start | Look::StartLF | Look::StartCRLF => {
                let line_end = hir::ClassBytes::new([
                    hir::ClassBytesRange::new(b'\n', b'\n'),
                    hir::ClassBytesRange::new(b'\r', b'\r'),
                ]);
                Hir::alternation(vec![hir.clone(), Hir::class(Class::Bytes(line_end))])
            }
            Look::End
            | Look::EndLF
            | Look::EndCRLF
            | Look::WordAsciiNegate
            | Look::WordUnicodeNegate
            | Look::WordEndHalfAscii
            | Look::WordEndHalfUnicode => Hir::empty(),
            _ => hir.clone(),
        },
        HirKind::Repetition(r) => {
            let sub = Box::new(widen_edges(&r.sub));
            Hir::repetition(hir::Repetition { sub, ..r.clone() })
        }
        HirKind::Capture(c) => {
            let sub = Box::new(widen_edges(&c.sub));
            Hir::capture(hir::Capture { index: c.index, name: c.name.clone(), sub })
        }
        HirKind::Concat(items) => Hir::concat(all(items)),
        HirKind::Alternation(items) => Hir::alternation(all(items)),
        _ => hir.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use regex_automata::util::syntax;

    fn anatomy(p: &str) -> Anatomy {
        analyze(&syntax::parse_with(p, &syntax::Config::new().unicode(false).utf8(false)).unwrap())
    }

    #[test]
    fn digit_led_boundary_pattern() {
        let a = anatomy(r"\b\d{3}-\d{2}-\d{4}\b");
        assert!(a.at_boundary);
        assert!((b'0'..=b'9').all(|b| a.first.contains(b)));
        assert!(!a.first.contains(b'-'));
    }

    #[test]
    fn optional_prefixes_widen_the_first_set() {
        let a = anatomy(r"(?:\(\d{1,4}\) ?)?\d{2,4}");
        assert!(a.first.contains(b'(') && a.first.contains(b'7'));
        assert!(!a.at_boundary);
    }

    #[test]
    fn steps_follow_the_pattern_both_ways() {
        let cfg = syntax::Config::new().unicode(false).utf8(false);
        let s = steps(r"\b\d{3}-\d{2}", cfg, 4, false);
        assert_eq!(s.classes.len(), 4);
        assert!(s.classes[2].contains(b'7') && !s.classes[2].contains(b'-'));
        assert!(s.classes[3].contains(b'-') && !s.classes[3].contains(b'7'));
        assert_eq!(s.ends, [false; 5]);
        let s = steps(r"\d{1,2}x", cfg, 3, false);
        assert!(s.classes[1].contains(b'x') && s.classes[1].contains(b'5'));
        assert_eq!(s.ends, [false, false, true, true], "`5x` ends after 2 bytes, `55x` after 3");
        let s = steps(r"\d{1,2}x", cfg, 5, false);
        assert_eq!(s.classes.len(), 3, "no match is longer");
        let last = steps(r"\b\d{4}-\d{1,2}\b", cfg, 1, true);
        assert!(last.classes[0].contains(b'7') && !last.classes[0].contains(b'-'), "matches end with a digit");
    }

    #[test]
    fn ascii_word_boundaries_at_the_end() {
        assert!(anatomy(r"\b\d{3}(?:-\d{2}|\d{3})\b").ends_at_boundary);
        assert!(!anatomy(r"\d{3}(?:-\d{2}\b|x)").ends_at_boundary);
        assert!(!anatomy(r"(?u:\b\d\b)").ends_at_boundary, "a Unicode boundary is not an ASCII one");
    }

    #[test]
    fn held_bytes_are_every_byte_of_every_match_past_its_lead() {
        let cfg = syntax::Config::new().unicode(false).utf8(false);
        let held = |p: &str| held_past_lead(&syntax::parse_with(p, &cfg).unwrap());
        let (lead, email) = held(r"\b[a-z0-9._%+-]{1,64}@(?:[a-z0-9-]{1,63}\.){1,8}[a-z]{2,63}\b");
        assert_eq!(lead, 0, "an assertion holds no byte");
        assert!(b"grace.hopper+1@example.com".iter().all(|&b| email.contains(b)));
        assert!(!email.contains(b'"') && !email.contains(b' ') && !email.contains(b'A'));
        let (lead, context) = held(r"(?:^|[^a-z@])[a-z]+@[a-z]+\.com");
        assert_eq!(lead, 1, "one byte of context opens the match");
        assert!(!context.contains(b'"') && context.contains(b'@') && context.contains(b'.'));
        let (lead, token) = held(r"ghp_[0-9a-z]{36}");
        assert_eq!(lead, 0, "the literal is longer than a byte");
        assert!(token.contains(b'g') && token.contains(b'_') && !token.contains(b'G') && !token.contains(b'-'));
        let (lead, token) = held(r"(?i)ghp_[0-9a-z]{36}");
        assert_eq!(lead, 1, "`(?i)` makes the literal a class per byte: the first is the lead");
        assert!(token.contains(b'H') && token.contains(b'_') && !token.contains(b'-'));
        let (_, unicode) = held_past_lead(&syntax::parse_with(r"\w+", &syntax::Config::new()).unwrap());
        assert!(unicode.contains(b'x') && (0x80..=0xff).all(|b| unicode.contains(b)), "multi-byte letters");
    }

    #[test]
    fn case_insensitive_literals() {
        let a = anatomy(r"(?i)bearer");
        assert!(a.first.contains(b'b') && a.first.contains(b'B'));
        assert_eq!(a.to_class_roundtrip(), ());
    }

    impl Anatomy {
        fn to_class_roundtrip(&self) {
            let class = self.first.to_class();
            let back = anatomy(&class);
            assert_eq!(back.first, self.first);
        }
    }
}
