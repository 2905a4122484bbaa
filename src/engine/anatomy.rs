//! What a pattern looks like from the outside: the bytes a match can start
//! with, whether it starts at a word boundary, its shortest match, and the
//! bytes each of its first positions can hold. The compiler uses this to split patterns into
//! families that a single lazy DFA can run without its states multiplying.

use regex_syntax::hir::{Class, Hir, HirKind, Look};

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
    pub min_len: usize,
}

pub fn analyze(hir: &Hir) -> Anatomy {
    let (first, _) = first_bytes(hir);
    Anatomy { first, at_boundary: starts_with_boundary(hir), min_len: hir.properties().minimum_len().unwrap_or(0) }
}

/// The bytes each of a match's first `k` positions can hold (fewer when
/// every match is shorter): an over-approximation that treats look-around
/// assertions as always true, so it is a necessary condition for a match.
pub fn position_classes(pattern: &str, config: regex_automata::util::syntax::Config, k: usize) -> Vec<ByteSet> {
    use regex_automata::nfa::thompson::{State, NFA};
    let Ok(nfa) = NFA::compiler().syntax(config).build(pattern) else { return Vec::new() };
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
    let mut classes = Vec::with_capacity(k);
    for _ in 0..k {
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
            break;
        }
        classes.push(set);
        current = closure(next);
    }
    classes
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

/// The bytes a match can begin with, and whether `hir` can match empty.
fn first_bytes(hir: &Hir) -> (ByteSet, bool) {
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => (ByteSet::default(), true),
        HirKind::Literal(lit) => {
            let mut set = ByteSet::default();
            match lit.0.first() {
                Some(&b) => set.insert_range(b, b),
                None => return (set, true),
            }
            (set, false)
        }
        HirKind::Class(c) => (class_bytes(c), false),
        HirKind::Repetition(r) => {
            let (set, nullable) = first_bytes(&r.sub);
            (set, nullable || r.min == 0)
        }
        HirKind::Capture(c) => first_bytes(&c.sub),
        HirKind::Concat(items) => {
            let mut set = ByteSet::default();
            for item in items {
                let (s, nullable) = first_bytes(item);
                set.union(&s);
                if !nullable {
                    return (set, false);
                }
            }
            (set, true)
        }
        HirKind::Alternation(items) => {
            let mut set = ByteSet::default();
            let mut nullable = false;
            for item in items {
                let (s, n) = first_bytes(item);
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
        assert_eq!(a.min_len, 11);
    }

    #[test]
    fn optional_prefixes_widen_the_first_set() {
        let a = anatomy(r"(?:\(\d{1,4}\) ?)?\d{2,4}");
        assert!(a.first.contains(b'(') && a.first.contains(b'7'));
        assert!(!a.at_boundary);
    }

    #[test]
    fn position_classes_follow_the_pattern() {
        let cfg = syntax::Config::new().unicode(false).utf8(false);
        let c = position_classes(r"\b\d{3}-\d{2}", cfg, 4);
        assert_eq!(c.len(), 4);
        assert!(c[2].contains(b'7') && !c[2].contains(b'-'));
        assert!(c[3].contains(b'-') && !c[3].contains(b'7'));
        let c = position_classes(r"\d{1,2}x", cfg, 3);
        assert!(c[1].contains(b'x') && c[1].contains(b'5'));
        assert_eq!(c.len(), 3);
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
