//! Where the main family's matches can be, found faster than one search.
//!
//! A lazy DFA walk is bound by the latency of one table lookup per byte:
//! each step needs the state the step before produced. Walking several
//! stretches of a haystack at once, one lookup of each in flight, keeps the
//! CPU busy while the others wait. So [`RegionFinder`] cuts the haystack into
//! groups of [`STREAMS`] stretches of one length and walks an unanchored
//! `MatchKind::All` lazy DFA of the family's patterns over a group's
//! stretches in step. That DFA reports every
//! position where some pattern's match ends, and which patterns end there;
//! each pattern's longest match, and the bytes its matches can hold, bound
//! where the match starts (see [`Reach`]). The leftmost-first search then
//! runs only over those regions.
//!
//! A stretch's walk starts fresh, so it misses matches that began in the
//! stretch before. The walk of the stretch before therefore goes on past its
//! end, beside a second walk from the fresh start, until the two are in the
//! same state: from there on they agree, and the later stretch's own walk
//! is exact. On clean traffic that takes a few bytes.
//!
//! Every match of every pattern ends where the DFA reports one, so every
//! match lies inside a region, and a leftmost-first search over the regions
//! finds exactly what a search over the whole haystack finds (see
//! `State::search` in `scan.rs`). The DFA's patterns assert less about a
//! text's edges (see [`anatomy::widen_edges`]), so the same holds of a
//! record cut from the haystack at line endings and searched alone, over
//! the regions within it: the records of a stream share one walk (see
//! `RecordScan` in `scan.rs`).

use std::ops::Range;
use std::panic::{RefUnwindSafe, UnwindSafe};

use regex_automata::hybrid::dfa::{Cache, DFA};
use regex_automata::hybrid::LazyStateID;
use regex_automata::nfa::thompson;
use regex_automata::util::pool::Pool;
use regex_automata::util::start;
use regex_automata::util::syntax;
use regex_automata::MatchKind;

use super::anatomy::{self, ByteSet};
use matches::MatchSets;

mod matches;

/// Stretches walked side by side: measured best on x86-64 (1.1 GB/s against
/// 0.4 GB/s for one walk over clean JSON).
const STREAMS: usize = 6;
/// Below this many bytes per stretch (about 200 bytes in all), one search
/// is as fast: measured on slices of clean JSON.
const MIN_STRETCH: usize = 32;
/// Steps of the fast walk per turn of its loop: with 4, V8 ran 10% fewer
/// instructions per clean exchange than with 1 (114k against 127k); 2 and
/// 3 did slightly worse than 4, and 5 or more worse than 1 (V8 ran out of
/// registers).
const UNROLL: usize = 4;
/// Computing a transition costs about a microsecond, a thousand bytes'
/// walk. Input that keeps the DFA computing new ones (digit-heavy text
/// makes the numeric patterns' states multiply) is better searched whole,
/// so a walk may compute `MIN_BUDGET` of them, and one more per
/// `BYTES_PER_TRANSITION` bytes; a warm cache walks clean traffic with
/// none. What a walk computed stays cached for the next.
const MIN_BUDGET: usize = 128;
const BYTES_PER_TRANSITION: usize = 2048;
/// A streak of more than `LONG_STREAK` match ends one after another, and
/// more than the haystack's `1 / LONG_STREAK_SHARE`, makes the walk give
/// up: a token reports a match end at every byte. The walk steps through
/// such a streak at about 200 instructions a byte, natively, and the
/// search over its region reads those bytes again; one search over the
/// whole haystack reads a clean byte for about 3 instructions more than
/// the walk. Past a 64th of the haystack, the streak has cost the walk
/// more than the whole search would. The floor keeps a short haystack's
/// walk going over a short token (an API key). An exchange with an
/// 838-byte bearer header took 470k instructions natively with the walk,
/// and 291k with this; a JSON body of 12 JWTs (8.5 KB) 2.84M and 1.33M.
const LONG_STREAK: usize = 32;
const LONG_STREAK_SHARE: usize = 64;

type TablesFn = Box<dyn Fn() -> Tables + Send + Sync + UnwindSafe + RefUnwindSafe>;

/// What a walk learns and keeps for the next: the lazy DFA's transitions,
/// and the patterns its match states report.
#[derive(Debug)]
struct Tables {
    cache: Cache,
    sets: MatchSets,
}

/// Finds the regions of a haystack that hold every match of a set of
/// patterns.
#[derive(Debug)]
pub struct RegionFinder {
    dfa: DFA,
    /// Per pattern, how far back from its end a match can start.
    reach: Vec<Reach>,
    tables: Pool<Tables, TablesFn>,
}

/// How far back from its end a pattern's match can start.
#[derive(Debug)]
struct Reach {
    /// The pattern's longest match.
    longest: usize,
    /// Bytes at the start of a match that `bytes` need not hold.
    lead: usize,
    /// Every byte its matches can hold past the lead.
    bytes: ByteSet,
}

impl Reach {
    /// Where a match ending at `end` starts at the earliest: `longest` bytes
    /// back, or `lead` bytes before the run of bytes that `bytes` holds up
    /// to `end`. An email's region then starts at the quote or space before
    /// it, not hundreds of bytes back, and the search over it is that much
    /// shorter.
    ///
    /// `last` is the end this pattern's region was last found for, and the
    /// run found there: where the bytes since then are held too, the run
    /// goes on, and is not looked for again. A long token reports a match
    /// end at nearly every byte; looking back from each would cost the
    /// square of its length.
    fn start(&self, haystack: &[u8], end: usize, last: &mut Option<(usize, usize)>) -> usize {
        let floor = end.saturating_sub(self.longest);
        let held = |b: &u8| self.bytes.contains(*b);
        let run = match *last {
            Some((before, run)) if (floor..=end).contains(&before) && haystack[before..end].iter().all(held) => run,
            _ => haystack[floor..end].iter().rposition(|b| !held(b)).map_or(floor, |i| floor + i + 1),
        };
        *last = Some((end, run));
        run.saturating_sub(self.lead).max(floor)
    }
}

/// Why a walk stopped early: the whole haystack is then one region.
struct GiveUp;

impl RegionFinder {
    /// Compiles `patterns` (already checked: each has a bounded length).
    /// `None` where the lazy DFA cannot be built; searches then cover everything.
    ///
    /// The DFA runs the patterns with their large repetition bounds lifted
    /// (see [`anatomy::lift_bounds`]): it then reports every match end the
    /// patterns have and a few more, and keeps to a few states over a long
    /// token, where the bounds made it compute a new one at nearly every
    /// byte. The regions still reach back only as far as the patterns as
    /// written match.
    pub fn new(patterns: &[&str], syntax: syntax::Config, nfa_limit: usize) -> Option<RegionFinder> {
        let hirs = patterns.iter().map(|p| syntax::parse_with(p, &syntax).ok()).collect::<Option<Vec<_>>>()?;
        let reach = hirs
            .iter()
            .map(|hir| {
                let (lead, bytes) = anatomy::held_past_lead(hir);
                Some(Reach { longest: hir.properties().maximum_len()?, lead, bytes })
            })
            .collect::<Option<Vec<Reach>>>()?;
        let lifted: Vec<_> = hirs.iter().map(|hir| anatomy::widen_edges(&anatomy::lift_bounds(hir).0)).collect();
        let nfa = thompson::Compiler::new()
            .configure(thompson::Config::new().nfa_size_limit(Some(nfa_limit)))
            .build_many_from_hir(&lifted)
            .ok()?;
        let dfa = DFA::builder()
            .configure(DFA::config().match_kind(MatchKind::All).unicode_word_boundary(true))
            .build_from_nfa(nfa)
            .ok()?;
        let for_pool = dfa.clone();
        let tables: Pool<Tables, TablesFn> =
            Pool::new(Box::new(move || Tables { cache: for_pool.create_cache(), sets: MatchSets::default() }));
        Some(RegionFinder { dfa, reach, tables })
    }

    /// Sorted, disjoint ranges of `haystack[from..]` that together hold every
    /// match starting at or after `from`. The end of `haystack` is taken as
    /// the end of the text, as a search over it would. They also hold every
    /// match of a record of `haystack[from..]` searched alone, where each
    /// record but the last ends with a line ending (`\n` or `\r`).
    pub fn find(&self, haystack: &[u8], from: usize) -> Vec<Range<usize>> {
        let whole = || std::iter::once(from..haystack.len()).collect();
        if haystack.len() - from < STREAMS * MIN_STRETCH {
            return whole();
        }
        let mut tables = self.tables.get();
        match Walk::new(self, &mut tables, haystack, from).run(from) {
            Ok(regions) => merge(regions),
            Err(GiveUp) => whole(),
        }
    }
}

/// One interleaved walk over a haystack.
struct Walk<'a> {
    finder: &'a RegionFinder,
    cache: &'a mut Cache,
    sets: &'a mut MatchSets,
    haystack: &'a [u8],
    clears: usize,
    /// Transitions still to compute before the walk gives up.
    budget: usize,
    /// A longer streak of match ends makes the walk give up (see [`LONG_STREAK`]).
    longest_streak: usize,
    /// Per walk of a group, its latest streak: match ends one after another.
    streaks: [Range<usize>; STREAMS],
    /// Ranges that hold the matches ending where the DFA reported some.
    regions: Vec<Range<usize>>,
    /// Per walk of a group, its latest region, still growing.
    open: [Option<Open>; STREAMS],
    /// Per pattern, the last match end recorded and where the run of bytes
    /// its matches hold began (see [`Reach::start`]); empty until a match.
    runs: Vec<Option<(usize, usize)>>,
}

/// A walk's latest region, and the patterns it was last recorded for. A
/// long token reports a match end at nearly every byte, mostly of the same
/// patterns. A pattern's match ending one byte later cannot start earlier
/// (see [`Reach::start`]: its run of held bytes goes on or starts anew, and
/// its longest match reaches one byte less far back), so while the
/// patterns stay the same the region grows by that byte, and no pattern's
/// reach is looked up: the union of the regions is the same.
struct Open {
    region: Range<usize>,
    /// The [`MatchSets`] index of the patterns it was last recorded for.
    set: usize,
}

/// [`STREAMS`] stretches of `len` bytes, walked side by side.
struct Group {
    len: usize,
    /// Each stretch's fresh start state.
    starts: [LazyStateID; STREAMS],
    /// The state each stretch's walk ends in.
    ends: [LazyStateID; STREAMS],
}

impl<'a> Walk<'a> {
    fn new(finder: &'a RegionFinder, tables: &'a mut Tables, haystack: &'a [u8], from: usize) -> Walk<'a> {
        let Tables { cache, sets } = tables;
        sets.sync(cache);
        let clears = cache.clear_count();
        let budget = MIN_BUDGET + (haystack.len() - from) / BYTES_PER_TRANSITION;
        let longest_streak = LONG_STREAK.max((haystack.len() - from) / LONG_STREAK_SHARE);
        Walk {
            finder,
            cache,
            sets,
            haystack,
            clears,
            budget,
            longest_streak,
            streaks: [const { 0..0 }; STREAMS],
            regions: Vec::new(),
            open: [const { None }; STREAMS],
            runs: Vec::new(),
        }
    }

    /// Cuts the haystack into groups of stretches, each as long as fits,
    /// and walks them; each stretch's walk goes on past its end until it
    /// agrees with the next one's. What is left, shorter than a group, is
    /// the last stretch's walk going on.
    fn run(mut self, from: usize) -> Result<Vec<Range<usize>>, GiveUp> {
        let mut at = from;
        let mut before: Option<LazyStateID> = None;
        while let Some(group) = self.next_group(at)? {
            for (k, (&start, &end)) in group.starts.iter().zip(&group.ends).enumerate() {
                if let Some(state) = before {
                    // The walk that ended in `state` goes on, in its own place
                    // (the first's, the group before's last walk, shares it
                    // with this group's last: their regions meet in `merge`).
                    let lane = (k + STREAMS - 1) % STREAMS;
                    if !self.catch_up(lane, state, start, at + k * group.len)? {
                        return Ok(self.regions());
                    }
                }
                before = Some(end);
            }
            at += STREAMS * group.len;
        }
        // `find` leaves at least one group's length. The tail is walked as
        // the first of a group of one: its open region and streak start
        // afresh, and its regions and the last walk's meet in `merge`.
        let state = self.tail(before.ok_or(GiveUp)?, at)?;
        self.finish(0, state)?;
        Ok(self.regions())
    }

    /// Every region recorded, the open ones included.
    fn regions(mut self) -> Vec<Range<usize>> {
        self.regions.extend(self.open.into_iter().flatten().map(|open| open.region));
        self.regions
    }

    /// Walks the group at `at` with the longest stretches that fit, or
    /// none when not even the shortest do. Each length is a constant, so
    /// the walks' bytes lie at fixed distances from one index: with a
    /// length known only at run time, V8 held six offsets beside the six
    /// states, ran out of registers and moved states to and from the stack
    /// (75 instructions per step of the six walks, against 62, before
    /// `UNROLL`). Steps of 64 bytes leave little for the slower one-walk
    /// tail.
    fn next_group(&mut self, at: usize) -> Result<Option<Group>, GiveUp> {
        let group = match (self.haystack.len() - at) / STREAMS {
            1024.. => self.group::<1024>(at),
            960.. => self.group::<960>(at),
            896.. => self.group::<896>(at),
            832.. => self.group::<832>(at),
            768.. => self.group::<768>(at),
            704.. => self.group::<704>(at),
            640.. => self.group::<640>(at),
            576.. => self.group::<576>(at),
            512.. => self.group::<512>(at),
            448.. => self.group::<448>(at),
            384.. => self.group::<384>(at),
            320.. => self.group::<320>(at),
            256.. => self.group::<256>(at),
            192.. => self.group::<192>(at),
            128.. => self.group::<128>(at),
            64.. => self.group::<64>(at),
            MIN_STRETCH.. => self.group::<MIN_STRETCH>(at),
            _ => return Ok(None),
        };
        group.map(Some)
    }

    /// Walks [`STREAMS`] stretches of `S` bytes from `at` in step.
    fn group<const S: usize>(&mut self, at: usize) -> Result<Group, GiveUp> {
        let mut starts = [LazyStateID::default(); STREAMS];
        for (k, start) in starts.iter_mut().enumerate() {
            // A stretch's start state depends on the byte before it (word
            // boundaries): an unanchored search's start from there.
            let before = (at + k * S).checked_sub(1).map(|i| self.haystack[i]);
            let config = start::Config::new().look_behind(before);
            *start = self.finder.dfa.start_state(self.cache, &config).map_err(|_| GiveUp)?;
        }
        if self.cache.clear_count() != self.clears {
            return Err(GiveUp);
        }
        let mut ends = starts;
        self.lanes::<STREAMS, S>(at, &mut ends, S)?;
        Ok(Group { len: S, starts, ends })
    }

    /// The rest of the haystack from `at`, walked on from `state`.
    fn tail(&mut self, state: LazyStateID, at: usize) -> Result<LazyStateID, GiveUp> {
        let mut states = [state];
        self.lanes::<1, 0>(at, &mut states, self.haystack.len() - at)?;
        Ok(states[0])
    }

    /// Walks `LANES` walks `end` bytes each, walk `k` from `at + k * S`, in
    /// step: by [`Walk::fast`] while it can, and by the slow step, for every
    /// walk at once, where one of them enters a tagged state (a match, or
    /// one not yet computed) or is in one.
    fn lanes<const LANES: usize, const S: usize>(
        &mut self,
        at: usize,
        states: &mut [LazyStateID; LANES],
        end: usize,
    ) -> Result<(), GiveUp> {
        let block = self.haystack.get(at..at + (LANES - 1) * S + end).ok_or(GiveUp)?;
        let mut i = 0;
        while i < end {
            i = self.fast::<LANES, S>(block, states, i, end);
            if i < end {
                self.step_all::<LANES, S>(at, states, i)?;
                i += 1;
            }
        }
        Ok(())
    }

    /// The slow step of every walk.
    fn step_all<const LANES: usize, const S: usize>(
        &mut self,
        at: usize,
        states: &mut [LazyStateID; LANES],
        i: usize,
    ) -> Result<(), GiveUp> {
        for (k, state) in states.iter_mut().enumerate() {
            *state = self.step(k, *state, at + k * S + i)?;
        }
        Ok(())
    }

    /// Steps every walk from `i` to `end` by transitions already computed,
    /// until one would enter a tagged state; returns where that is. Walk
    /// `k` reads `block[k * S + i]`. Nothing here mutates the cache, so its
    /// tables stay in registers. Not inlined: V8 allocates registers per
    /// function, and inlined into the search it spilled the walks' states.
    #[inline(never)]
    fn fast<const LANES: usize, const S: usize>(
        &self,
        block: &[u8],
        states: &mut [LazyStateID; LANES],
        mut i: usize,
        end: usize,
    ) -> usize {
        if states.iter().any(|s| s.is_tagged()) || block.len() < (LANES - 1) * S + end {
            return i;
        }
        let mut now = *states;
        // One step of every walk from untagged states.
        let step = |now: &[LazyStateID; LANES], i: usize| -> [LazyStateID; LANES] {
            // SAFETY: `k * S + i < (LANES - 1) * S + end <= block.len()`
            // (callers keep `i < end`; the length is checked above); every
            // state is untagged (checked above and after each step) and
            // comes from this walk, which gives up whenever the cache is cleared.
            std::array::from_fn(|k| unsafe { self.cached(now[k], *block.get_unchecked(k * S + i)) })
        };
        let tagged = |states: &[LazyStateID; LANES]| states.iter().any(|s| s.is_tagged());
        // `UNROLL` steps per turn of the loop: V8 checks for interrupts and
        // moves the states between registers once per turn, not per byte. A
        // turn that meets a tagged state is taken again below, step by step:
        // the states a step starts from need not outlive it, so V8 keeps
        // fewer of them on the stack.
        'turns: while i + UNROLL <= end {
            let start = now;
            for u in 0..UNROLL {
                now = step(&now, i + u);
                if tagged(&now) {
                    now = start;
                    break 'turns;
                }
            }
            i += UNROLL;
        }
        while i < end {
            let next = step(&now, i);
            if tagged(&next) {
                break;
            }
            (now, i) = (next, i + 1);
        }
        *states = now;
        i
    }

    /// The transition from `state` on `byte` as far as the cache knows it:
    /// tagged when it is unknown, a match, or any other special state.
    ///
    /// # Safety
    ///
    /// `state` is untagged, and was produced by this walk's DFA and cache
    /// (as `next_state_untagged_unchecked` requires). This is the inner
    /// loop of regex-automata's own lazy DFA search.
    #[inline(always)]
    unsafe fn cached(&self, state: LazyStateID, byte: u8) -> LazyStateID {
        unsafe { self.finder.dfa.next_state_untagged_unchecked(self.cache, state, byte) }
    }

    /// The slow step: computes a missing transition (within the budget),
    /// and records a match.
    fn step(&mut self, lane: usize, state: LazyStateID, at: usize) -> Result<LazyStateID, GiveUp> {
        let byte = self.haystack[at];
        if !state.is_tagged() && self.finder.dfa.next_state_untagged(self.cache, state, byte).is_unknown() {
            self.budget = self.budget.checked_sub(1).ok_or(GiveUp)?;
        }
        let next = self.advance(state, at)?;
        self.record(lane, next, at)?;
        Ok(next)
    }

    /// The transition on the byte at `at`, computed if missing. Gives up
    /// when that cleared the cache (every other walk's state is then stale)
    /// or when the DFA must quit (a Unicode word boundary next to a
    /// non-ASCII byte).
    fn advance(&mut self, state: LazyStateID, at: usize) -> Result<LazyStateID, GiveUp> {
        let next = self.finder.dfa.next_state(self.cache, state, self.haystack[at]).map_err(|_| GiveUp)?;
        if self.cache.clear_count() != self.clears || next.is_quit() {
            return Err(GiveUp);
        }
        Ok(next)
    }

    /// Ends a walk at the end of the haystack: a match ending there shows
    /// only on the end-of-input transition.
    fn finish(&mut self, lane: usize, state: LazyStateID) -> Result<(), GiveUp> {
        let eoi = self.finder.dfa.next_eoi_state(self.cache, state).map_err(|_| GiveUp)?;
        self.record(lane, eoi, self.haystack.len())?;
        Ok(())
    }

    /// With a match state entered on reading the byte at `at` (matches are
    /// reported one byte late), records the region around those matches.
    /// `lane` is the walk's place in its group.
    /// Gives up where the streak of match ends grew too long (see [`LONG_STREAK`]).
    fn record(&mut self, lane: usize, state: LazyStateID, at: usize) -> Result<(), GiveUp> {
        if !state.is_match() {
            return Ok(());
        }
        let streak = &mut self.streaks[lane];
        *streak = if streak.end == at { streak.start..at + 1 } else { at..at + 1 };
        if streak.len() > self.longest_streak {
            return Err(GiveUp);
        }
        let set = self.sets.of(&self.finder.dfa, self.cache, state);
        match &mut self.open[lane] {
            Some(open) if open.set == set && open.region.end + 1 == at => open.region.end = at,
            _ => self.reach_back(lane, set, at),
        }
        Ok(())
    }

    /// Records the region of the matches of `set` ending at `at`, as far
    /// back as each can start, as the walk's open one: the region open
    /// grows to hold it where the two meet, else is put aside.
    fn reach_back(&mut self, lane: usize, set: usize, at: usize) {
        let reach = &self.finder.reach;
        self.runs.resize(reach.len(), None);
        let runs = &mut self.runs;
        let start = self
            .sets
            .patterns(set)
            .iter()
            .fold(at, |start, &pid| start.min(reach[pid].start(self.haystack, at, &mut runs[pid])));
        let region = match self.open[lane].take() {
            Some(open) if open.region.start <= start && start <= open.region.end && open.region.end <= at => {
                open.region.start..at
            }
            Some(open) => {
                self.regions.push(open.region);
                start..at
            }
            None => start..at,
        };
        self.open[lane] = Some(Open { region, set });
    }

    /// Continues a stretch's walk from `state` past its end at `at`, beside
    /// the next stretch's own walk from `next`, until both are in one
    /// state: from there on the next stretch's walk is exact. Returns false
    /// when the walk ran to the end of the haystack, leaving nothing for
    /// later stretches to do.
    fn catch_up(
        &mut self,
        lane: usize,
        mut state: LazyStateID,
        mut next: LazyStateID,
        mut at: usize,
    ) -> Result<bool, GiveUp> {
        while state != next {
            if at == self.haystack.len() {
                self.finish(lane, state)?;
                return Ok(false);
            }
            // Most steps take transitions already computed, as in `fast`.
            let byte = self.haystack[at];
            // SAFETY: each state is untagged where `cached` is called, and
            // comes from this walk.
            let known = |s: LazyStateID| (!s.is_tagged()).then(|| unsafe { self.cached(s, byte) });
            let pair = match (known(state), known(next)) {
                (Some(s), Some(n)) if !s.is_tagged() && !n.is_tagged() => [s, n],
                _ => [self.step(lane, state, at)?, self.advance(next, at)?],
            };
            at += 1;
            [state, next] = pair;
        }
        Ok(true)
    }
}

/// Sorts and merges overlapping or touching ranges.
fn merge(mut ranges: Vec<Range<usize>>) -> Vec<Range<usize>> {
    ranges.sort_unstable_by_key(|r| r.start);
    let mut merged: Vec<Range<usize>> = Vec::with_capacity(ranges.len());
    for r in ranges {
        match merged.last_mut() {
            Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
            _ => merged.push(r),
        }
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::RegionFinder;
    use crate::engine::{xorshift, Engine, ScanOptions};
    use regex_automata::util::syntax;

    const SENSITIVE: &[&str] = &[
        "4532 2766 4457 7020",
        "4532-2766-4457-7020",
        "531-21-7351",
        "021000021",
        "DE89 3704 0044 0532 0130 00",
        "GB82WEST12345698765432",
        "grace.hopper@example.com",
        "ghp_aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5",
        "AKIAZ7QRSTUVWXY23456",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJlX2hlcmU",
        "postgres://admin:hunter2secret@db.example.com:5432/app",
        "Authorization: Bearer abcdefghijklmnop1234567890",
        "password=Sup3rS3cretValue!",
        "\"api_key\": \"xyz12345678abcdef\"",
        "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLE1",
        "sk_live_abcdefghijklmnop1234",
        "xoxb-1234567890-abcdefghij",
        "-----BEGIN RSA PRIVATE KEY-----\nMIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4WGeKLs1Pt8Qu\n-----END RSA PRIVATE KEY-----",
        "192.168.10.20",
        "fe80::1ff:fe23:4567:890a",
        "+1 415 555 0134",
        "(415) 555-0134",
        "date of birth 1984-03-09",
        "born 15 Jan 2024",
    ];
    const FILLER: &[&str] = &[
        "ssn",
        "2025-06-14T09:12:44Z",
        "\"id\": 100234, \"amount\": 123.45",
        "66141024-b104-4166-a5df-964105946170",
        "status shipped order",
        "\": \"",
        ", ",
        " ",
        "\n",
        "{",
        "}",
        "é",
        "\u{0}\u{7f}",
    ];

    /// A record of clean API traffic.
    const CLEAN_RECORD: &str =
        "{\"id\": 100234, \"created_at\": \"2025-06-14T09:12:44Z\", \"status\": \"shipped\", \"amount\": 19.99},\n";

    /// Random pieces, one in ten sensitive and one in four cut short, run
    /// together: `len` bytes or a little more.
    fn text(next: &mut impl FnMut() -> u64, len: usize) -> Vec<u8> {
        let mut out = Vec::new();
        while out.len() < len {
            let pieces = if next() % 10 == 0 { SENSITIVE } else { FILLER };
            let piece = pieces[(next() % pieces.len() as u64) as usize].as_bytes();
            let cut = if next() % 4 == 0 { (next() as usize) % piece.len() + 1 } else { piece.len() };
            out.extend_from_slice(&piece[..cut]);
        }
        out
    }

    #[test]
    fn searching_only_the_regions_finds_what_one_whole_search_finds() {
        let engine = Engine::from_policy_text("").unwrap();
        let mut whole = Engine::from_policy_text("").unwrap();
        whole.regions = None;
        let finder = engine.regions.as_ref().expect("the default policy's patterns build a lazy DFA");
        let mut next = xorshift(0x2545_f491_4f6c_dd1d);
        let mut narrowed = 0;
        for round in 0..300 {
            // Up to 5 KiB, and now and then up to 16 KiB: several groups of stretches.
            let len = if round % 25 == 0 { 7000 + round * 31 } else { 300 + round * 17 };
            let text = text(&mut next, len);
            for options in [ScanOptions::text(&engine), ScanOptions::json(&engine)] {
                let expected = whole.scan(&text, &options);
                // Twice: on a cold cache the first walk may give up.
                assert_eq!(engine.scan(&text, &options), expected, "{:?}", String::from_utf8_lossy(&text));
                assert_eq!(engine.scan(&text, &options), expected, "{:?}", String::from_utf8_lossy(&text));
            }
            let covered: usize = finder.find(&text, 0).iter().map(|r| r.len()).sum();
            narrowed += usize::from(covered < text.len());
        }
        // About half: where sensitive values are close together, the regions
        // before their ends (up to each pattern's longest match, over bytes
        // its matches can hold) cover all.
        assert!(narrowed >= 100, "the regions were all of the text in {} of 300 inputs", 300 - narrowed);
    }

    /// A new state costs about a microsecond and counts against the walk's
    /// budget: clean traffic walks on what the cache holds.
    #[test]
    fn a_warm_cache_walks_clean_traffic_without_adding_a_state() {
        let engine = Engine::from_policy_text("").unwrap();
        let finder = engine.regions.as_ref().unwrap();
        let clean = CLEAN_RECORD.repeat(100).into_bytes();
        finder.find(&clean, 0); // Computes the states this traffic visits.
        let cached = finder.tables.get().cache.memory_usage();
        assert_eq!(finder.find(&clean, 0), Vec::<std::ops::Range<usize>>::new());
        assert_eq!(finder.tables.get().cache.memory_usage(), cached, "a warm walk added a state");
    }

    #[test]
    fn a_match_across_the_stretches_is_found_wherever_it_lies() {
        let engine = Engine::from_policy_text("").unwrap();
        let value = "grace.hopper@example.com";
        // Six stretches of 192 bytes, six of 32, and a tail of 156.
        let len = 1500;
        for at in 0..len - value.len() {
            let mut text = vec![b' '; len];
            text[at..at + value.len()].copy_from_slice(value.as_bytes());
            let found = engine.scan(&text, &ScanOptions::text(&engine));
            assert_eq!(found.len(), 1, "at {at}");
            assert_eq!((found[0].start, found[0].end), (at as u64, (at + value.len()) as u64));
        }
    }

    #[test]
    fn a_region_reaches_back_only_over_bytes_a_match_can_hold() {
        let engine = Engine::from_policy_text("").unwrap();
        let finder = engine.regions.as_ref().unwrap();
        let email = "grace.hopper@example.com";
        let text = format!("{}\"contact\": \"{email}\"{}", CLEAN_RECORD.repeat(20), CLEAN_RECORD.repeat(20));
        let at = text.find(email).unwrap();
        // Warms the cache.
        finder.find(text.as_bytes(), 0);
        // The email rule's longest match is hundreds of bytes, but the quote
        // before the address is only the byte of context its pattern opens with.
        assert_eq!(finder.find(text.as_bytes(), 0), vec![at - 1..at + email.len()]);
    }

    #[test]
    fn a_match_that_needs_the_byte_before_a_stretch_is_found() {
        // `\B` holds between two letters only: wherever `xyz` starts a
        // stretch, the match needs the `a` before it.
        let finder = RegionFinder::new(&[r"\Bxyz"], syntax::Config::new(), 1 << 20).unwrap();
        let len = 1500;
        for at in 1..len - 3 {
            let mut text = vec![b'a'; len];
            text[at..at + 3].copy_from_slice(b"xyz");
            let regions = finder.find(&text, 0);
            assert!(regions.iter().any(|r| r.start <= at && at + 3 <= r.end), "at {at}: {regions:?}");
        }
    }

    #[test]
    fn a_long_token_gives_up_the_walk_unless_the_haystack_is_far_longer() {
        let engine = Engine::from_policy_text("").unwrap();
        let finder = engine.regions.as_ref().unwrap();
        let mut next = xorshift(11);
        let token: String = (0..600)
            .map(|_| char::from(b"abcdefghijklmnopqrstuvwxyzABCDEF0123456789-_"[(next() % 44) as usize]))
            .collect();
        let header = format!("Bearer eyJhbGciOiJSUzI1NiJ9.eyJ{token}.{token}");
        let body = |records| {
            format!("{}{{\"token\": \"{header}\"}}{}", CLEAN_RECORD.repeat(records), CLEAN_RECORD.repeat(records))
        };
        for _ in 0..2 {
            // Warm, then measured: a cold cache may give up on its own.
            assert_eq!(finder.find(header.as_bytes(), 0), vec![0..header.len()]);
            let small = body(20);
            assert_eq!(finder.find(small.as_bytes(), 0), vec![0..small.len()]);
        }
        // In a haystack over 64 times as long, the walk goes on past it.
        let large = body(900);
        finder.find(large.as_bytes(), 0);
        let regions = finder.find(large.as_bytes(), 0);
        let at = large.find("Bearer").unwrap();
        assert_eq!(regions.len(), 1, "{regions:?}");
        assert!(regions[0].start <= at && at + header.len() <= regions[0].end && regions[0].len() < header.len() + 16);
    }

    #[test]
    fn clean_traffic_leaves_little_to_search_and_digit_floods_give_up() {
        let engine = Engine::from_policy_text("").unwrap();
        let finder = engine.regions.as_ref().unwrap();
        let clean = CLEAN_RECORD.repeat(200).into_bytes();
        finder.find(&clean, 0); // Warms the cache.
        assert_eq!(finder.find(&clean, 0), Vec::<std::ops::Range<usize>>::new());
        let mut next = xorshift(7);
        let digits: Vec<u8> = (0..1 << 16).map(|_| b"0123456789 -."[(next() % 13) as usize]).collect();
        assert_eq!(finder.find(&digits, 0), vec![0..digits.len()], "new states on every few bytes");
    }
}
