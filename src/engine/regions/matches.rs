//! The patterns each match state of the region walk's DFA reports, learned
//! as the walk meets them.
//!
//! A long token reports a match end at nearly every byte, and the DFA's
//! state changes at most of them (counted repetitions, partial matches of
//! other patterns inside the token) while the patterns that match stay the
//! same. [`MatchSets`] gives each state met the index of its set of
//! patterns, one index per distinct set, so the walk tells that its matches
//! go on by comparing two numbers, not by listing each state's patterns.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use regex_automata::hybrid::dfa::{Cache, DFA};
use regex_automata::hybrid::LazyStateID;

/// The match sets of one DFA cache's states.
#[derive(Debug, Default)]
pub(super) struct MatchSets {
    /// Per match state met, its set's index in `sets`.
    of_state: HashMap<LazyStateID, usize, BuildHasherDefault<IdHasher>>,
    /// Each distinct set of patterns once.
    sets: Vec<Box<[usize]>>,
    index: HashMap<Box<[usize]>, usize>,
    /// The cache's clear count the states were met under: a clear
    /// renumbers them.
    clears: usize,
}

impl MatchSets {
    /// Forgets every state when the cache was cleared since they were met.
    pub(super) fn sync(&mut self, cache: &Cache) {
        if self.clears != cache.clear_count() {
            *self = MatchSets { clears: cache.clear_count(), ..MatchSets::default() };
        }
    }

    /// The index of the set the match state `state` reports.
    pub(super) fn of(&mut self, dfa: &DFA, cache: &Cache, state: LazyStateID) -> usize {
        if let Some(&set) = self.of_state.get(&state) {
            return set;
        }
        let patterns: Box<[usize]> =
            (0..dfa.match_len(cache, state)).map(|i| dfa.match_pattern(cache, state, i).as_usize()).collect();
        let set = match self.index.get(&patterns) {
            Some(&set) => set,
            None => {
                self.sets.push(patterns.clone());
                self.index.insert(patterns, self.sets.len() - 1);
                self.sets.len() - 1
            }
        };
        self.of_state.insert(state, set);
        set
    }

    /// The patterns of a set.
    pub(super) fn patterns(&self, set: usize) -> &[usize] {
        &self.sets[set]
    }
}

/// Hashes a state id by one multiplication: the ids are the walk's own, not
/// chosen by the traffic, and a long token's walk looks one up at nearly
/// every byte.
#[derive(Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u32(u32::from(b));
        }
    }

    fn write_u32(&mut self, id: u32) {
        self.0 = (self.0 ^ u64::from(id)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }

    fn finish(&self) -> u64 {
        // The product's high bits depend on every bit of the id; the table
        // indexes by the low ones.
        self.0.rotate_left(32)
    }
}
