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
//! The memo is a direct-mapped table: a fixed number of slots, each holding
//! the last clean value that hashed there. Memory is bounded, every lookup
//! is O(1), and a flood of unique values (request ids, attackers) only
//! evicts entries, which costs the scan it would have cost anyway. For the
//! same reason the hash need not resist planned collisions, as SipHash
//! does at several times the cost: [`WordHasher`] mixes 8-byte words with a
//! random seed.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::Mutex;

use crate::engine::bytes::{self, short_word};
use crate::engine::DetectorSet;

/// Slots in the table (a power of two).
const SLOTS: usize = 256;
/// Longer values are not remembered (they rarely repeat, and would make
/// the table large).
const MAX_VALUE: usize = 256;

#[derive(Debug)]
pub struct CleanValues {
    seed: u64,
    slots: Mutex<Vec<Option<Entry>>>,
}

#[derive(Debug, PartialEq, Eq)]
struct Entry {
    name: Box<[u8]>,
    value: Box<[u8]>,
    detectors: DetectorSet,
}

impl Entry {
    fn is(&self, name: &[u8], value: &[u8], detectors: &DetectorSet) -> bool {
        bytes::eq(&self.name, name) && bytes::eq(&self.value, value) && self.detectors == *detectors
    }
}

impl Default for CleanValues {
    fn default() -> CleanValues {
        let seed = RandomState::new().build_hasher().finish();
        CleanValues { seed, slots: Mutex::new((0..SLOTS).map(|_| None).collect()) }
    }
}

impl CleanValues {
    /// Whether `value` under `name`, scanned by `detectors`, was found clean.
    pub fn contains(&self, name: &[u8], value: &[u8], detectors: &DetectorSet) -> bool {
        let slot = self.slot(name, value, detectors);
        // A poisoned lock (a panic elsewhere) only turns the memo off.
        self.slots.lock().is_ok_and(|slots| slots[slot].as_ref().is_some_and(|e| e.is(name, value, detectors)))
    }

    /// Remembers that `value` under `name`, scanned by `detectors`, is clean.
    pub fn insert(&self, name: &[u8], value: &[u8], detectors: &DetectorSet) {
        if value.len() > MAX_VALUE {
            return;
        }
        let slot = self.slot(name, value, detectors);
        if let Ok(mut slots) = self.slots.lock() {
            let entry = Entry { name: name.into(), value: value.into(), detectors: detectors.clone() };
            slots[slot] = Some(entry);
        }
    }

    fn slot(&self, name: &[u8], value: &[u8], detectors: &DetectorSet) -> usize {
        let mut hasher = WordHasher(self.seed);
        (name, value, detectors).hash(&mut hasher);
        // The top bits: every input bit reaches them through the multiply.
        (hasher.finish() >> (64 - SLOTS.trailing_zeros())) as usize
    }
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
        let mut words = bytes.chunks_exact(8);
        for word in &mut words {
            // Eight bytes each: the conversion cannot fail.
            if let Ok(word) = <[u8; 8]>::try_from(word) {
                self.add(u64::from_le_bytes(word));
            }
        }
        let rest = words.remainder();
        if !rest.is_empty() {
            self.add(short_word(rest));
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
    use super::{CleanValues, MAX_VALUE, SLOTS};
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
        for i in 0..SLOTS * 8 {
            memo.insert(b"x-id", i.to_string().as_bytes(), &all);
        }
        let kept = (0..SLOTS * 8).filter(|i| memo.contains(b"x-id", i.to_string().as_bytes(), &all)).count();
        assert!(kept <= SLOTS && kept > SLOTS / 2, "{kept} of {} values kept", SLOTS * 8);
        assert!(memo.contains(b"x-id", (SLOTS * 8 - 1).to_string().as_bytes(), &all), "the last one is");
    }
}
