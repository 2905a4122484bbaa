//! Two bytes a step for the region walk.
//!
//! A step of the lazy DFA costs a handful of instructions per byte (the
//! byte, its class, the transition), and the walk takes one per byte of
//! every body. [`Pairs`] holds the transitions on two bytes at once
//! between the DFA's ordinary states (not matches, not ones still to be
//! computed), so a step of the walk costs about what one byte's did. Its
//! rows are filled as the walk learns them: an entry is known only once two
//! ordinary transitions were taken from that state on a pair of that class,
//! so walking by pairs passes exactly the states the walk byte by byte would,
//! and skips only states where it would have had nothing to record.
//!
//! Rows are dense, one entry per pair of classes, so they are large, and
//! a table holds few of them; traffic that visits more states than that
//! retires the table (see [`Pairs::retired`]) and is walked byte by byte.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use regex_automata::hybrid::dfa::{Cache, DFA};
use regex_automata::hybrid::LazyStateID;

/// The most memory the rows of one table may take, taken as rows are
/// learned. Each row holds one state's transitions on every pair of byte
/// classes: 34 KB for the default rules' 93 classes, so 4 MiB holds 121
/// rows: the [`MISSING`] one and 120 states. The Envoy benchmark's clean body visits 58, and with a table
/// of 30 rows the walk retired (see [`Pairs::retired`]).
pub(super) const MAX_BYTES: usize = 4 << 20;
/// Fewer rows than this would leave most walks stopping at states without
/// one: their walk goes byte by byte instead.
const MIN_ROWS: usize = 8;
/// Rows allocated at a time: growing by one would copy the table each time,
/// and doubling would reserve up to twice what is used.
const GROWTH: usize = 8;

/// The class of every pair of bytes, read as a little-endian `u16`: the
/// first byte's class times the number of classes, plus the second's.
#[derive(Debug)]
pub(super) struct PairClasses {
    classes: Box<[u16]>,
    /// Pair classes: entries in a row.
    width: usize,
    rows: usize,
}

impl PairClasses {
    /// `None` where too few rows would fit in `max_bytes`.
    pub(super) fn new(dfa: &DFA, max_bytes: usize) -> Option<PairClasses> {
        let classes = dfa.byte_classes();
        // The alphabet's last class is the end of input, never a byte; with
        // at most 256 classes, a pair's class fits in a `u16`.
        let n = classes.alphabet_len() - 1;
        let width = n * n;
        let rows = max_bytes / (width * std::mem::size_of::<Row>());
        if rows < MIN_ROWS {
            return None;
        }
        let classes = (0..=u16::MAX)
            .map(|pair| {
                let [first, second] = pair.to_le_bytes();
                (usize::from(classes.get(first)) * n + usize::from(classes.get(second))) as u16
            })
            .collect();
        Some(PairClasses { classes, width, rows })
    }

    /// Entries in a row.
    #[cfg(test)]
    pub(super) fn width(&self) -> usize {
        self.width
    }

    /// The pair class of the bytes `pair` (little-endian).
    #[inline(always)]
    pub(super) fn get(&self, pair: u16) -> usize {
        // SAFETY: the table has an entry for every `u16`.
        usize::from(unsafe { *self.classes.get_unchecked(usize::from(pair)) })
    }
}

/// A row of [`Pairs`], as the offset of its first entry.
pub(super) type Row = u32;
/// An entry not learned, and the row it leads to: the table's first row,
/// whose entries all lead back to it. A walk that meets one stays there,
/// in bounds, so a walk may take several steps before it checks.
pub(super) const MISSING: Row = 0;

/// Whether any of `rows` is [`MISSING`]: row offsets stay below `1 << 31`,
/// so only a zero wraps to a set top bit when one is subtracted.
#[inline(always)]
pub(super) fn any_missing(rows: &[Row]) -> bool {
    rows.iter().fold(0, |any, &row| any | row.wrapping_sub(1)) >> 31 != 0
}

/// The two-byte transitions of one DFA cache, learned as it is walked.
#[derive(Debug, Default)]
pub(super) struct Pairs {
    /// `entries[row + class]`: the row two bytes on, or [`MISSING`]. Empty,
    /// or the [`MISSING`] row and then one row per state.
    entries: Vec<Row>,
    /// The state of each row after the [`MISSING`] one, by row number.
    states: Vec<LazyStateID>,
    rows: HashMap<LazyStateID, Row, BuildHasherDefault<IdHasher>>,
    /// The cache's clear count the rows were learned under: a clear
    /// renumbers its states.
    clears: usize,
    retired: bool,
}

impl Pairs {
    /// Forgets every row when the cache was cleared since they were learned.
    pub(super) fn sync(&mut self, cache: &Cache) {
        if self.clears != cache.clear_count() {
            self.entries.clear();
            self.states.clear();
            self.rows.clear();
            self.clears = cache.clear_count();
            self.retired = false;
        }
    }

    /// The rows' entries.
    #[inline(always)]
    pub(super) fn entries(&self) -> &[Row] {
        &self.entries
    }

    /// The row of `state`, made if there is room; `None` when `state` is not
    /// an ordinary one, or when there is no room, which retires the table.
    pub(super) fn row(&mut self, classes: &PairClasses, state: LazyStateID) -> Option<Row> {
        if state.is_tagged() {
            return None;
        }
        if let Some(&row) = self.rows.get(&state) {
            return Some(row);
        }
        // Rows in use, the `MISSING` one (made with the first) included.
        let used = self.states.len() + 1;
        if used >= classes.rows {
            self.retired = true;
            return None;
        }
        if self.entries.len() == self.entries.capacity() {
            self.entries.reserve_exact(GROWTH.min(classes.rows - used) * classes.width);
        }
        if self.entries.is_empty() {
            self.entries.resize(classes.width, MISSING);
        }
        // At most a quarter of `PairClasses::new`'s `max_bytes` entries (4
        // MiB in use): an offset stays below `1 << 31`, as `any_missing` needs.
        let row = self.entries.len() as Row;
        self.entries.resize(self.entries.len() + classes.width, MISSING);
        self.states.push(state);
        self.rows.insert(state, row);
        Some(row)
    }

    /// The state of a row.
    pub(super) fn state(&self, classes: &PairClasses, row: Row) -> LazyStateID {
        self.states[row as usize / classes.width - 1]
    }

    /// The entry of row `from` for the bytes `pair`, if learned.
    pub(super) fn entry(&self, classes: &PairClasses, from: Row, pair: u16) -> Option<Row> {
        Some(self.entries[from as usize + classes.get(pair)]).filter(|&row| row != MISSING)
    }

    /// Learns that row `from` goes on to `to` on the bytes `pair`, through
    /// ordinary states only (the caller checked), and returns the row of
    /// `to`, if it has one.
    pub(super) fn learn(&mut self, classes: &PairClasses, from: Row, pair: u16, to: LazyStateID) -> Option<Row> {
        let to = self.row(classes, to)?;
        self.entries[from as usize + classes.get(pair)] = to;
        Some(to)
    }

    /// Whether the table retired: traffic visited more states than it holds
    /// rows for, so walks would keep stopping at states it cannot learn,
    /// each stop costing more than many pairs save. Walks then go byte by
    /// byte, as without it, until the cache is cleared.
    pub(super) fn retired(&self) -> bool {
        self.retired
    }

    /// Two ordinary transitions from `state` on the bytes `pair`, as far as
    /// `cache` knows them: `None` if either is unknown or special.
    pub(super) fn two_steps(dfa: &DFA, cache: &Cache, state: LazyStateID, pair: u16) -> Option<LazyStateID> {
        let [first, second] = pair.to_le_bytes();
        if state.is_tagged() {
            return None;
        }
        let mid = dfa.next_state_untagged(cache, state, first);
        if mid.is_tagged() {
            return None;
        }
        let to = dfa.next_state_untagged(cache, mid, second);
        (!to.is_tagged()).then_some(to)
    }

    /// Entries learned so far.
    #[cfg(test)]
    pub(super) fn learned(&self) -> usize {
        self.entries.iter().filter(|&&e| e != MISSING).count()
    }
}

/// Hashes a state id by one multiplication: the ids are the walk's own, not
/// chosen by the traffic, and each stop of a walk looks up a dozen.
#[derive(Default)]
pub(super) struct IdHasher(u64);

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
