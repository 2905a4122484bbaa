//! Header values (and URLs, under the name `:path`) already scanned and
//! found clean, so the same value under the same name is not scanned again.
//!
//! Most header values repeat from one request to the next (content types,
//! user agents, a session's cookies), and a scan of a short value costs far
//! more than its bytes: the automata's tables, cold in a busy proxy, are
//! touched again for every header. A clean result depends only on the policy
//! (one memo per [`super::Inspector`]), the header name (context words), the
//! value and the detectors that apply; all but the policy are the key, and
//! are compared in full, so a hash collision only costs a scan.
//!
//! The memo is a set-associative table, as a CPU cache is: a value hashes
//! to one set of [`WAYS`] slots, and a full set forgets the entry used least
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
use crate::engine::DetectorSet;

/// Sets in the table (a power of two).
const SETS: usize = 256;
/// Slots in a set.
const WAYS: usize = 2;
/// Longer values are not remembered (they rarely repeat, and would make
/// the table large).
const MAX_VALUE: usize = 256;

#[derive(Debug)]
pub struct CleanValues {
    seed: u64,
    sets: Mutex<Vec<Set>>,
}

#[derive(Debug, Default)]
struct Set {
    ways: [Option<Entry>; WAYS],
    /// The way found or filled last.
    recent: usize,
}

#[derive(Debug, PartialEq, Eq)]
struct Entry {
    /// The key's hash, compared first: most entries of a set differ in it.
    hash: u64,
    name: Box<[u8]>,
    value: Box<[u8]>,
    detectors: DetectorSet,
}

impl Entry {
    fn is(&self, hash: u64, name: &[u8], value: &[u8], detectors: &DetectorSet) -> bool {
        self.hash == hash
            && bytes::eq(&self.name, name)
            && bytes::eq(&self.value, value)
            && self.detectors == *detectors
    }
}

impl Default for CleanValues {
    fn default() -> CleanValues {
        let seed = RandomState::new().build_hasher().finish();
        CleanValues { seed, sets: Mutex::new((0..SETS).map(|_| Set::default()).collect()) }
    }
}

impl CleanValues {
    /// Whether `value` under `name`, scanned by `detectors`, was found clean.
    pub fn contains(&self, name: &[u8], value: &[u8], detectors: &DetectorSet) -> bool {
        let hash = self.hash(name, value, detectors);
        // A poisoned lock (a panic elsewhere) only turns the memo off.
        let Ok(mut sets) = self.sets.lock() else { return false };
        let set = &mut sets[set_of(hash)];
        let found = set.ways.iter().position(|e| e.as_ref().is_some_and(|e| e.is(hash, name, value, detectors)));
        if let Some(way) = found {
            set.recent = way;
        }
        found.is_some()
    }

    /// Remembers that `value` under `name`, scanned by `detectors`, is clean.
    pub fn insert(&self, name: &[u8], value: &[u8], detectors: &DetectorSet) {
        if value.len() > MAX_VALUE {
            return;
        }
        let hash = self.hash(name, value, detectors);
        let Ok(mut sets) = self.sets.lock() else { return };
        let set = &mut sets[set_of(hash)];
        // An empty way, else the one used least recently.
        let way = set.ways.iter().position(Option::is_none).unwrap_or((set.recent + 1) % WAYS);
        set.ways[way] = Some(Entry { hash, name: name.into(), value: value.into(), detectors: detectors.clone() });
        set.recent = way;
    }

    fn hash(&self, name: &[u8], value: &[u8], detectors: &DetectorSet) -> u64 {
        let mut hasher = WordHasher(self.seed);
        (name, value, detectors).hash(&mut hasher);
        hasher.finish()
    }
}

/// The set of a hash: its top bits, which every input bit reaches through
/// the multiply.
fn set_of(hash: u64) -> usize {
    (hash >> (64 - SETS.trailing_zeros())) as usize
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
    use super::{set_of, CleanValues, MAX_VALUE, SETS, WAYS};
    use crate::engine::{DetectorSet, Engine};

    fn sets() -> (DetectorSet, DetectorSet) {
        let engine = Engine::from_policy_text("").unwrap();
        let all = DetectorSet::all(&engine);
        let none = DetectorSet::of(engine.detectors().iter().map(|_| false));
        (all, none)
    }

    #[test]
    fn a_value_is_clean_only_under_the_same_name_and_detectors() {
        let (all, none) = sets();
        let memo = CleanValues::default();
        assert!(!memo.contains(b"accept", b"*/*", &all));
        memo.insert(b"accept", b"*/*", &all);
        assert!(memo.contains(b"accept", b"*/*", &all));
        assert!(!memo.contains(b"accept", b"*/* ", &all));
        assert!(!memo.contains(b"x-accept", b"*/*", &all));
        assert!(!memo.contains(b"accept", b"*/*", &none));
    }

    #[test]
    fn long_values_are_not_kept_and_many_values_stay_bounded() {
        let (all, _) = sets();
        let memo = CleanValues::default();
        let long = vec![b'a'; MAX_VALUE + 1];
        memo.insert(b"cookie", &long, &all);
        assert!(!memo.contains(b"cookie", &long, &all));
        let (slots, many) = (SETS * WAYS, SETS * WAYS * 8);
        for i in 0..many {
            memo.insert(b"x-id", i.to_string().as_bytes(), &all);
        }
        let kept = (0..many).filter(|i| memo.contains(b"x-id", i.to_string().as_bytes(), &all)).count();
        assert!(kept <= slots && kept > slots / 2, "{kept} of {many} values kept");
        assert!(memo.contains(b"x-id", (many - 1).to_string().as_bytes(), &all), "the last one is");
    }

    #[test]
    fn values_of_one_set_are_kept_together_and_the_least_recent_goes_first() {
        let (all, _) = sets();
        let memo = CleanValues::default();
        // Two more values that hash to the same set as the first.
        let set = |v: &[u8]| set_of(memo.hash(b"accept", v, &all));
        let first = b"value 0".to_vec();
        let same: Vec<Vec<u8>> = (1..)
            .map(|i: u32| format!("value {i}").into_bytes())
            .filter(|v| set(v) == set(&first))
            .take(WAYS)
            .collect();
        let (a, b, c) = (&first, &same[0], &same[1]);
        memo.insert(b"accept", a, &all);
        memo.insert(b"accept", b, &all);
        for _ in 0..3 {
            assert!(memo.contains(b"accept", a, &all) && memo.contains(b"accept", b, &all), "both are kept");
        }
        // `a` was used last: `c` takes the place of `b`.
        assert!(memo.contains(b"accept", a, &all));
        memo.insert(b"accept", c, &all);
        assert!(memo.contains(b"accept", a, &all) && memo.contains(b"accept", c, &all));
        assert!(!memo.contains(b"accept", b, &all));
    }
}
