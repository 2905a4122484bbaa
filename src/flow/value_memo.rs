//! Header values (and URLs, under the name `:path`) already scanned, so the
//! same value under the same name is not scanned again: those found clean,
//! and header values found to hold something, with what they hold.
//!
//! Most header values repeat from one request to the next (content types,
//! user agents, a session's cookies), and a scan of a short value costs far
//! more than its bytes: the automata's tables, cold in a busy proxy, are
//! touched again for every header. So do credentials: a service calls with
//! the same bearer token for as long as the token lives, and a token costs a
//! scan several times a clean exchange's. A scan's result depends only on the
//! policy (one memo per [`super::Inspector`]), the header name (context
//! words), the value and the detectors that apply, and for what it rewrites,
//! the detectors that redact; all but the policy are the key, and are
//! compared in full, so a hash collision only costs a scan.
//!
//! A memo is a set-associative table, as a CPU cache is: a value hashes to
//! one set of [`WAYS`] slots, and a full set forgets the entry used least
//! recently. Memory is bounded, every lookup is O(1), and a flood of unique
//! values (request ids, attackers) only evicts entries, which costs the
//! scan it would have cost anyway. Two values of the same set, both in every
//! request, are both kept; in a direct-mapped table they would evict each
//! other on every request, and with a few dozen values repeating some pair
//! always shares a slot. For the same reason the hash need not resist
//! planned collisions, as SipHash does at several times the cost:
//! [`WordHasher`] mixes 8-byte words with a random seed.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::Mutex;

use crate::engine::bytes::{self, short_word, word};
use crate::engine::{DetectorSet, Finding};

/// Slots in a set.
const WAYS: usize = 2;

/// A memo of scanned values, each with what its scan gave (`T`).
#[derive(Debug)]
pub struct ValueMemo<T> {
    seed: u64,
    /// Longer values are not remembered.
    max_value: usize,
    /// A power of two of them.
    sets: Mutex<Vec<Set<T>>>,
}

/// What a scan found in a header value: the findings (offsets within the
/// value) with the values they found (decoded, where the header value held
/// escapes), and the value as redacted under `redact`, if that changed it.
#[derive(Debug)]
pub struct Found {
    pub findings: Vec<(Finding, Vec<u8>)>,
    pub redacted: Option<Vec<u8>>,
    pub redact: DetectorSet,
}

#[derive(Debug)]
struct Set<T> {
    ways: [Option<Entry<T>>; WAYS],
    /// The way found or filled last.
    recent: usize,
}

#[derive(Debug)]
struct Entry<T> {
    /// The key's hash, compared first: most entries of a set differ in it.
    hash: u64,
    name: Box<[u8]>,
    value: Box<[u8]>,
    detectors: DetectorSet,
    result: T,
}

impl<T> Entry<T> {
    fn is(&self, hash: u64, name: &[u8], value: &[u8], detectors: &DetectorSet) -> bool {
        self.hash == hash
            && bytes::eq(&self.name, name)
            && bytes::eq(&self.value, value)
            && self.detectors == *detectors
    }
}

impl<T: Clone> ValueMemo<T> {
    /// A memo of `sets` sets (rounded up to a power of two) of values up to
    /// `max_value` bytes.
    pub fn new(sets: usize, max_value: usize) -> ValueMemo<T> {
        let seed = RandomState::new().build_hasher().finish();
        let sets = (0..sets.next_power_of_two()).map(|_| Set { ways: [const { None }; WAYS], recent: 0 }).collect();
        ValueMemo { seed, max_value, sets: Mutex::new(sets) }
    }

    /// What the scan of `value` under `name` by `detectors` gave, if remembered.
    pub fn get(&self, name: &[u8], value: &[u8], detectors: &DetectorSet) -> Option<T> {
        let hash = self.hash(name, value, detectors);
        // A poisoned lock (a panic elsewhere) only turns the memo off.
        let Ok(mut sets) = self.sets.lock() else { return None };
        let at = set_of(hash, sets.len());
        let set = &mut sets[at];
        let way = set.ways.iter().position(|e| e.as_ref().is_some_and(|e| e.is(hash, name, value, detectors)))?;
        set.recent = way;
        set.ways[way].as_ref().map(|e| e.result.clone())
    }

    /// Remembers what the scan of `value` under `name` by `detectors` gave.
    pub fn insert(&self, name: &[u8], value: &[u8], detectors: &DetectorSet, result: T) {
        if value.len() > self.max_value {
            return;
        }
        let hash = self.hash(name, value, detectors);
        let Ok(mut sets) = self.sets.lock() else { return };
        let at = set_of(hash, sets.len());
        let set = &mut sets[at];
        // The way that holds this key (for another result, say under other
        // redactions), else an empty one, else the one used least recently.
        let holds = |e: &Option<Entry<T>>| e.as_ref().is_some_and(|e| e.is(hash, name, value, detectors));
        let way = (set.ways.iter().position(holds))
            .or_else(|| set.ways.iter().position(Option::is_none))
            .unwrap_or((set.recent + 1) % WAYS);
        let (name, value, detectors) = (name.into(), value.into(), detectors.clone());
        set.ways[way] = Some(Entry { hash, name, value, detectors, result });
        set.recent = way;
    }

    fn hash(&self, name: &[u8], value: &[u8], detectors: &DetectorSet) -> u64 {
        let mut hasher = WordHasher(self.seed);
        (name, value, detectors).hash(&mut hasher);
        hasher.finish()
    }
}

/// The set of a hash among `sets` (a power of two): its top bits, which
/// every input bit reaches through the multiply. One set takes no bits (a
/// shift by 64 would overflow).
fn set_of(hash: u64, sets: usize) -> usize {
    hash.checked_shr(64 - sets.trailing_zeros()).unwrap_or(0) as usize
}

/// FxHash's step (rotate, xor, multiply) over 8-byte words, from a seed.
struct WordHasher(u64);

impl WordHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl Hasher for WordHasher {
    fn write(&mut self, bytes: &[u8]) {
        let whole = bytes.len() - bytes.len() % 8;
        for at in (0..whole).step_by(8) {
            self.add(word(bytes, at));
        }
        if whole < bytes.len() {
            self.add(short_word(&bytes[whole..]));
        }
    }

    fn write_u64(&mut self, word: u64) {
        self.add(word);
    }

    fn write_usize(&mut self, word: usize) {
        self.add(word as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::{set_of, ValueMemo, WAYS};
    use crate::engine::{DetectorSet, Engine};

    const SETS: usize = 256;
    const MAX_VALUE: usize = 256;

    fn sets() -> (DetectorSet, DetectorSet) {
        let engine = Engine::from_policy_text("").unwrap();
        let all = DetectorSet::all(&engine);
        let none = DetectorSet::of(engine.detectors().iter().map(|_| false));
        (all, none)
    }

    fn memo() -> ValueMemo<()> {
        ValueMemo::new(SETS, MAX_VALUE)
    }

    #[test]
    fn a_value_is_known_only_under_the_same_name_and_detectors() {
        let (all, none) = sets();
        let memo = memo();
        assert!(memo.get(b"accept", b"*/*", &all).is_none());
        memo.insert(b"accept", b"*/*", &all, ());
        assert!(memo.get(b"accept", b"*/*", &all).is_some());
        assert!(memo.get(b"accept", b"*/* ", &all).is_none());
        assert!(memo.get(b"x-accept", b"*/*", &all).is_none());
        assert!(memo.get(b"accept", b"*/*", &none).is_none());
    }

    #[test]
    fn each_value_gives_back_its_own_result() {
        let (all, _) = sets();
        let memo = ValueMemo::new(4, 64);
        memo.insert(b"authorization", b"Bearer a", &all, "a");
        memo.insert(b"authorization", b"Bearer b", &all, "b");
        assert_eq!(memo.get(b"authorization", b"Bearer a", &all), Some("a"));
        assert_eq!(memo.get(b"authorization", b"Bearer b", &all), Some("b"));
        memo.insert(b"authorization", b"Bearer a", &all, "a again");
        assert_eq!(memo.get(b"authorization", b"Bearer a", &all), Some("a again"), "an insert replaces");
    }

    #[test]
    fn a_memo_of_one_set_holds_two_values() {
        let (all, _) = sets();
        for sets in [0, 1] {
            let memo = ValueMemo::new(sets, 64);
            for v in [&b"a"[..], b"b", b"c"] {
                memo.insert(b"accept", v, &all, ());
            }
            let kept: Vec<bool> =
                [&b"a"[..], b"b", b"c"].iter().map(|v| memo.get(b"accept", v, &all).is_some()).collect();
            assert_eq!(kept, [false, true, true], "{sets} sets");
        }
    }

    #[test]
    fn long_values_are_not_kept_and_many_values_stay_bounded() {
        let (all, _) = sets();
        let memo = memo();
        let long = vec![b'a'; MAX_VALUE + 1];
        memo.insert(b"cookie", &long, &all, ());
        assert!(memo.get(b"cookie", &long, &all).is_none());
        let (slots, many) = (SETS * WAYS, SETS * WAYS * 8);
        for i in 0..many {
            memo.insert(b"x-id", i.to_string().as_bytes(), &all, ());
        }
        let kept = (0..many).filter(|i| memo.get(b"x-id", i.to_string().as_bytes(), &all).is_some()).count();
        assert!(kept <= slots && kept > slots / 2, "{kept} of {many} values kept");
        assert!(memo.get(b"x-id", (many - 1).to_string().as_bytes(), &all).is_some(), "the last one is");
    }

    #[test]
    fn values_of_one_set_are_kept_together_and_the_least_recent_goes_first() {
        let (all, _) = sets();
        let memo = memo();
        let known = |v: &[u8]| memo.get(b"accept", v, &all).is_some();
        // Two more values that hash to the same set as the first.
        let set = |v: &[u8]| set_of(memo.hash(b"accept", v, &all), SETS);
        let first = b"value 0".to_vec();
        let same: Vec<Vec<u8>> = (1..)
            .map(|i: u32| format!("value {i}").into_bytes())
            .filter(|v| set(v) == set(&first))
            .take(WAYS)
            .collect();
        let (a, b, c) = (&first, &same[0], &same[1]);
        memo.insert(b"accept", a, &all, ());
        memo.insert(b"accept", b, &all, ());
        for _ in 0..3 {
            assert!(known(a) && known(b), "both are kept");
        }
        // `a` was used last: `c` takes the place of `b`.
        assert!(known(a));
        memo.insert(b"accept", c, &all, ());
        assert!(known(a) && known(c));
        assert!(!known(b));
    }
}
