//! The streaming scanner: chunks in, findings (and optionally the redacted
//! stream) out.
//!
//! # How chunking stays invisible
//!
//! Every pattern has a bounded maximum match length, so whether a match
//! starts at offset `s` depends only on the bytes `s-1 ..= s + max_len`
//! (one byte back for `\b`), plus the context window on either side. With
//! `W` = [`Engine::window`] covering all of that, a search over the retained
//! bytes decides every match that starts more than `W` bytes before the end
//! of what has arrived; later starts are tentative and searched again once
//! more bytes (or the end of the stream) arrive. Accepted findings and the
//! redacted output are therefore the same as for one whole-buffer scan.
//!
//! Memory per stream: the retained tail plus the chunk being fed. A stream
//! being redacted is searched once `2 W` bytes are pending, so it retains at
//! most about `3 W` bytes and its output lags by no more. A stream only
//! scanned waits for [`SCAN_BATCH`] bytes (or `2 W`, if more): each search
//! walks `W` bytes again and, as it drops bytes, runs the JSON key-path walk
//! over them, so a body that fits a batch is walked once and, if it is
//! clean, never by the key-path walk.

use std::ops::Range;
use std::sync::Arc;

use regex_automata::{Anchored, Input, Match, PatternID, PatternSet};

use super::json::{Slot, ValueExtent};
use super::redact::{apply, is_same_length};
use super::scope::DetectorSet;
use super::validate::{entropy, inside_uuid, validate};
use super::{Engine, Family, JsonTracker};
use crate::policy::{ActionKind, RedactSpec};

/// The pending bytes a stream only scanned (not redacted) waits for before a
/// search. Natively, an exchange with a clean 16 KiB JSON body each way, fed
/// whole, took 32.6 µs when a search came once `2 W` bytes were pending (the
/// default policy's `W` is 6350 bytes) and 16.6 µs with this; with 4 KiB
/// bodies, a policy without the credential detectors (`W` 764) took 9.1 µs
/// against 4.5 µs with this. Past a batch, each search walks at most `W`
/// bytes again, a tenth of a batch.
pub const SCAN_BATCH: usize = 64 * 1024;

/// One finding. Offsets are absolute byte offsets in the stream.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// Index into [`Engine::detectors`].
    pub detector: usize,
    pub start: u64,
    pub end: u64,
    pub score: f32,
    /// The JSON key path (`$.user.ssn`) or the field name (`$.password`) of
    /// the value, when known.
    pub path: Option<String>,
}

impl Finding {
    /// The finding moved `by` bytes later: from a value's offsets to its container's.
    pub fn shifted(mut self, by: u64) -> Finding {
        self.start += by;
        self.end += by;
        self
    }
}

/// How a stream is scanned.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    /// The detectors that may report.
    pub detectors: DetectorSet,
    /// Track JSON key paths (falls back to text on malformed JSON).
    pub json: bool,
    /// The name the whole value stands under (a header or form field name):
    /// its path, and a place for context words.
    pub field: Option<String>,
    /// The detectors whose findings [`Scanner::feed_redact`] rewrites.
    /// Default: those whose action is `redact`.
    pub redact: DetectorSet,
    /// Use a same-length method (mask) wherever a detector's method would
    /// change the length.
    pub same_length: bool,
}

impl ScanOptions {
    /// Every detector, plain text.
    pub fn text(engine: &Engine) -> ScanOptions {
        ScanOptions::with(DetectorSet::all(engine), DetectorSet::acting(engine, ActionKind::Redact))
    }

    /// Plain text with these detectors, rewriting those in `redact`.
    pub fn with(detectors: DetectorSet, redact: DetectorSet) -> ScanOptions {
        ScanOptions { detectors, json: false, field: None, redact, same_length: false }
    }

    /// Every detector, JSON key paths tracked.
    pub fn json(engine: &Engine) -> ScanOptions {
        ScanOptions { json: true, ..ScanOptions::text(engine) }
    }
}

/// Receives each finding with the matched value (which the receiver must
/// never print in clear).
pub type Sink<'a> = dyn FnMut(Finding, &[u8]) + 'a;

/// A stream being scanned. Feed chunks in order, then call `finish`.
#[derive(Debug)]
pub struct Scanner {
    engine: Arc<Engine>,
    options: ScanOptions,
    state: State,
}

impl Scanner {
    pub fn new(engine: Arc<Engine>, options: ScanOptions) -> Scanner {
        let state = State::new(&options);
        Scanner { engine, options, state }
    }

    /// Scans the next chunk; findings come out in stream order.
    pub fn feed(&mut self, chunk: &[u8], sink: &mut Sink) {
        self.state.feed(&self.engine, &self.options, chunk, false, None, sink);
    }

    /// As [`Scanner::feed`], keeping `chunk` itself where nothing is
    /// retained from before: a chunk shorter than the window waits for more,
    /// and would be copied.
    pub fn feed_owned(&mut self, chunk: Vec<u8>, sink: &mut Sink) {
        if self.state.buf.is_empty() {
            self.state.buf = chunk;
            self.feed(&[], sink);
        } else {
            self.feed(&chunk, sink);
        }
    }

    /// Scans the next chunk and appends the redacted bytes that are final.
    pub fn feed_redact(&mut self, chunk: &[u8], out: &mut Vec<u8>, sink: &mut Sink) {
        self.state.feed(&self.engine, &self.options, chunk, false, Some(out), sink);
    }

    /// Ends the stream.
    pub fn finish(&mut self, sink: &mut Sink) {
        self.state.feed(&self.engine, &self.options, &[], true, None, sink);
    }

    /// Ends the stream, appending the rest of the redacted bytes.
    pub fn finish_redact(&mut self, out: &mut Vec<u8>, sink: &mut Sink) {
        self.state.feed(&self.engine, &self.options, &[], true, Some(out), sink);
    }

    /// Bytes fed so far.
    pub fn offset(&self) -> u64 {
        self.state.base + self.state.buf.len() as u64
    }

    /// Bytes held right now (the retained tail and any pending input).
    pub fn retained(&self) -> usize {
        self.state.buf.len()
    }

    pub fn options(&self) -> &ScanOptions {
        &self.options
    }
}

pub(super) fn scan_whole(engine: &Engine, bytes: &[u8], options: &ScanOptions, sink: &mut Sink) {
    let mut state = State::new(options);
    state.feed(engine, options, bytes, true, None, sink);
}

pub(super) fn redact_whole(engine: &Engine, bytes: &[u8], options: &ScanOptions, sink: &mut Sink) -> Vec<u8> {
    let mut state = State::new(options);
    let mut out = Vec::with_capacity(bytes.len());
    state.feed(engine, options, bytes, true, Some(&mut out), sink);
    out
}

/// A text cut into records (the lines of JSON lines, the events of a
/// server-sent stream), each scanned as a text of its own, as
/// [`redact_whole`] would scan it alone: a record's context words and key
/// paths are its own. The regions that can hold a match are found once,
/// over the whole text: a short record would otherwise be searched whole,
/// at several times the cost of the region walk over its bytes. One
/// record's buffers serve the next.
#[derive(Debug)]
pub struct RecordScan<'t> {
    engine: &'t Engine,
    text: &'t [u8],
    options: &'t ScanOptions,
    /// Sorted and disjoint.
    regions: Vec<Range<usize>>,
    state: State,
    out: Vec<u8>,
}

impl<'t> RecordScan<'t> {
    /// Finds the regions of `text`, whose records but the last each end
    /// with a line ending (`\n` or `\r`).
    pub fn new(engine: &'t Engine, text: &'t [u8], options: &'t ScanOptions) -> RecordScan<'t> {
        let regions = regions(engine, text, 0);
        RecordScan { engine, text, options, regions, state: State::new(options), out: Vec::new() }
    }

    /// Scans the record `text[record]` on its own, its findings' offsets
    /// within it; returns its bytes redacted, if a finding was.
    pub fn redact(&mut self, record: Range<usize>, sink: &mut Sink) -> Option<&[u8]> {
        let first = self.regions.partition_point(|r| r.end <= record.start);
        let (start, end) = (record.start, record.end);
        let within = self.regions[first..]
            .iter()
            .take_while(|r| r.start < end)
            .map(|r| r.start.max(start) - start..r.end.min(end) - start);
        let state = &mut self.state;
        state.reset();
        state.buf.extend_from_slice(&self.text[record]);
        let len = state.buf.len();
        state.search_regions(self.engine, self.options, within, len, true, sink);
        if state.redactions.is_empty() {
            return None;
        }
        self.out.clear();
        state.emit(self.engine, self.options, &mut self.out);
        Some(&self.out)
    }
}

/// The regions of `text[from..]` that can hold a match: all of it where the
/// engine has no region finder.
fn regions(engine: &Engine, text: &[u8], from: usize) -> Vec<Range<usize>> {
    match &engine.regions {
        Some(finder) => finder.find(text, from),
        None => std::iter::once(from..text.len()).collect(),
    }
}

/// A finding to rewrite.
#[derive(Debug)]
struct Redaction {
    start: u64,
    end: u64,
    detector: usize,
    slot: Slot,
}

/// The per-stream state, apart from the engine it runs.
#[derive(Debug)]
struct State {
    /// Retained bytes; `buf[0]` is stream offset `base`.
    buf: Vec<u8>,
    base: u64,
    /// Where the next search starts: nothing before it is pending.
    next: u64,
    /// Output written up to here (redaction).
    emitted: u64,
    /// Accepted findings to rewrite, not yet written.
    redactions: Vec<Redaction>,
    json: Option<JsonTracker>,
    json_pos: u64,
}

impl State {
    fn new(options: &ScanOptions) -> State {
        State {
            buf: Vec::new(),
            base: 0,
            next: 0,
            emitted: 0,
            redactions: Vec::new(),
            json: options.json.then(JsonTracker::default),
            json_pos: 0,
        }
    }

    /// Starts over, for a new text, keeping the buffers.
    fn reset(&mut self) {
        self.buf.clear();
        (self.base, self.next, self.emitted, self.json_pos) = (0, 0, 0, 0);
        self.redactions.clear();
        if let Some(json) = &mut self.json {
            json.reset();
        }
    }

    fn feed(
        &mut self,
        engine: &Engine,
        options: &ScanOptions,
        chunk: &[u8],
        eof: bool,
        out: Option<&mut Vec<u8>>,
        sink: &mut Sink,
    ) {
        let window = engine.window as u64;
        let redacting = out.is_some();
        let batch = if redacting { 2 * window } else { (2 * window).max(SCAN_BATCH as u64) };
        reserve(&mut self.buf, chunk.len(), (batch + 2 * window) as usize);
        self.buf.extend_from_slice(chunk);
        let end = self.base + self.buf.len() as u64;
        if !eof && end - self.next < batch {
            return; // Wait for more: what is searched again is at most half of a search.
        }
        let limit = if eof { end } else { end - window };
        self.search(engine, options, limit, redacting, sink);
        if let Some(out) = out {
            self.emit(engine, options, out);
        }
        // At the end nothing is dropped, so the JSON tracker is never run
        // past the last finding.
        if !eof {
            self.compact(engine, redacting);
        }
    }

    /// Finds every match starting before `limit`. Only the regions that can
    /// hold a match are searched: each holds every match that ends in it, so
    /// the leftmost-first search over them finds what one over the whole
    /// text would.
    fn search(&mut self, engine: &Engine, options: &ScanOptions, limit: u64, redacting: bool, sink: &mut Sink) {
        let lim = (limit - self.base) as usize;
        let at = (self.next - self.base) as usize;
        let regions = if at < lim { regions(engine, &self.buf, at) } else { Vec::new() };
        self.search_regions(engine, options, regions, lim, redacting, sink);
    }

    /// Searches `regions` (sorted and disjoint, together holding every match
    /// from `next` on) for matches starting before `lim`.
    fn search_regions(
        &mut self,
        engine: &Engine,
        options: &ScanOptions,
        regions: impl IntoIterator<Item = Range<usize>>,
        lim: usize,
        redacting: bool,
        sink: &mut Sink,
    ) {
        let mut at = (self.next - self.base) as usize;
        for region in regions {
            // Past `lim`, matches may run beyond the bytes at hand: the next search starts there.
            if region.start >= lim {
                break;
            }
            at = self.search_region(engine, options, at.max(region.start)..region.end, lim, redacting, sink);
        }
        self.next = self.base + at.max(lim) as u64;
    }

    /// Searches `span` for matches starting before `lim`; returns where the
    /// next search starts.
    fn search_region(
        &mut self,
        engine: &Engine,
        options: &ScanOptions,
        span: Range<usize>,
        lim: usize,
        redacting: bool,
        sink: &mut Sink,
    ) -> usize {
        let (mut at, end) = (span.start, span.end);
        while at < end.min(lim) {
            let input = Input::new(&self.buf).span(at..end);
            let Some(m) = engine.main.find(&input) else { break };
            if m.start() >= lim {
                break;
            }
            at = match self.candidate(engine, &engine.main, options, m.start(), m.pattern(), m.end()) {
                Some((finding, match_end)) => {
                    if redacting && options.redact.contains(finding.detector) {
                        let slot = self.json.as_ref().map_or(Slot::Text, JsonTracker::slot);
                        let (start, end, detector) = (finding.start, finding.end, finding.detector);
                        self.redactions.push(Redaction { start, end, detector, slot });
                    }
                    let (vs, ve) = ((finding.start - self.base) as usize, (finding.end - self.base) as usize);
                    sink(finding, &self.buf[vs..ve]);
                    match_end.max(m.start() + 1)
                }
                None => m.start() + 1,
            };
        }
        at
    }

    /// Accepts the match of `pid` at `start`, or failing that, any other
    /// pattern of the family matching at `start`. Returns the finding and
    /// the end of the match, which the next search starts from.
    fn candidate(
        &mut self,
        engine: &Engine,
        family: &Family,
        options: &ScanOptions,
        start: usize,
        pid: PatternID,
        end: usize,
    ) -> Option<(Finding, usize)> {
        let (finding, pid, end) = match self.try_pattern(engine, family, options, start, pid, end) {
            Some((f, end)) => (f, pid, end),
            // The trigger has the lowest priority: when it won, nothing else matched here.
            None if family.trigger == Some(pid) => return None,
            None => self.first_accepted(engine, family, options, start, self.buf.len(), |p| p != pid)?,
        };
        // A value group's content may be something more specific: a JWT
        // assigned to `token`, a card number in a `secret` field.
        let (vs, ve) = ((finding.start - self.base) as usize, (finding.end - self.base) as usize);
        let has_group = family.values[pid.as_usize()].is_some();
        if has_group && vs > start {
            if let Some(specific) = self.specific(engine, family, options, vs, ve, pid) {
                return Some((specific, end));
            }
        }
        Some((finding, end))
    }

    /// A finding of higher priority than `pid`'s (or of the trigger) that
    /// is the whole of, or starts, the value `vs..ve` of a match of `pid`.
    /// The leftmost-first search anchored at `vs` names the first pattern
    /// matching there: mostly it is the answer (a JWT), or there is none,
    /// and the other patterns matching there are looked for only when it
    /// is not accepted. A long token is then read once more, not twice.
    fn specific(
        &mut self,
        engine: &Engine,
        family: &Family,
        options: &ScanOptions,
        vs: usize,
        ve: usize,
        pid: PatternID,
    ) -> Option<Finding> {
        let keep = |p: PatternID| p < pid || Some(p) == family.trigger;
        let first = family.find(&Input::new(&self.buf).range(vs..ve).anchored(Anchored::Yes))?;
        let found = keep(first.pattern())
            .then(|| self.try_pattern(engine, family, options, vs, first.pattern(), first.end()))
            .flatten();
        match found {
            Some((finding, _)) => Some(finding),
            None => self
                .first_accepted(engine, family, options, vs, ve, |p| keep(p) && p != first.pattern())
                .map(|(f, _, _)| f),
        }
    }

    /// The match of `pid` anchored at `start` (ending at `end`), checked; the
    /// trigger stands for every numeric pattern anchored there.
    fn try_pattern(
        &mut self,
        engine: &Engine,
        family: &Family,
        options: &ScanOptions,
        start: usize,
        pid: PatternID,
        end: usize,
    ) -> Option<(Finding, usize)> {
        if family.trigger != Some(pid) {
            return self.accept(engine, family, options, start, end, pid).map(|f| (f, end));
        }
        let numeric = engine.numeric.as_ref()?;
        let input = Input::new(&self.buf).range(start..).anchored(Anchored::Yes);
        let m = numeric.regex.search(&input)?;
        self.candidate(engine, numeric, options, start, m.pattern(), m.end())
    }

    /// The first pattern of `family`, in priority order and among those
    /// `keep` allows, whose match anchored at `at` (ending by `until`) is
    /// accepted: the finding, the pattern and the match end.
    fn first_accepted(
        &mut self,
        engine: &Engine,
        family: &Family,
        options: &ScanOptions,
        at: usize,
        until: usize,
        keep: impl Fn(PatternID) -> bool,
    ) -> Option<(Finding, PatternID, usize)> {
        let mut patset = PatternSet::new(family.regex_all.pattern_len());
        let anchored = Input::new(&self.buf).range(at..until).anchored(Anchored::Yes);
        family.regex_all.which_overlapping_matches(&anchored, &mut patset);
        patset.iter().filter(|&p| keep(p)).find_map(|p| {
            let input = Input::new(&self.buf).range(at..until).anchored(Anchored::Pattern(p));
            let m = family.find(&input)?;
            self.try_pattern(engine, family, options, at, p, m.end()).map(|(f, end)| (f, p, end))
        })
    }

    /// Applies the detector's checks to the match `start..end` of `pid`.
    fn accept(
        &mut self,
        engine: &Engine,
        family: &Family,
        options: &ScanOptions,
        start: usize,
        end: usize,
        pid: PatternID,
    ) -> Option<Finding> {
        let info = family.info[pid.as_usize()]?;
        if !options.detectors.contains(info.detector) {
            return None;
        }
        let d = &engine.detectors[info.detector];
        let (vs, mut ve) = self.value_span(family, start, end, pid);
        if let Some(kind) = d.validator {
            ve = vs + validate(kind, &self.buf[vs..ve])?;
            if inside_uuid(&self.buf, vs, ve) {
                return None;
            }
        }
        let value = &self.buf[vs..ve];
        if d.min_entropy.is_some_and(|min| entropy(value) < min)
            || engine.allow.contains(value)
            || d.allow.contains(value)
        {
            return None;
        }
        let path = self.path_at(self.base + vs as u64, options);
        if !d.scope.allows_json_path(path.as_deref()) {
            return None;
        }
        let mut score = info.score;
        if score < d.min_score && self.has_context(engine, info.detector, vs, ve, options) {
            score += d.context_boost;
        }
        (score >= d.min_score).then(|| Finding {
            detector: info.detector,
            start: self.base + vs as u64,
            end: self.base + ve as u64,
            score: score.min(1.0),
            path,
        })
    }

    /// The span of the pattern's `value` group, or the whole match.
    fn value_span(&self, family: &Family, start: usize, end: usize, pid: PatternID) -> (usize, usize) {
        match &family.values[pid.as_usize()] {
            Some(group) => group.span(&self.buf, start, end),
            None => (start, end),
        }
    }

    /// Whether a context word of the detector is near the value or in the
    /// key it stands under. Inside JSON, "near" stays within the value's own
    /// string, so a sibling key does not lend its meaning.
    fn has_context(&self, engine: &Engine, detector: usize, vs: usize, ve: usize, options: &ScanOptions) -> bool {
        let d = &engine.detectors[detector];
        let Some(ac) = engine.context.as_ref().filter(|_| !d.context_words.is_empty()) else {
            return false;
        };
        let mut lo = vs.saturating_sub(d.context_window);
        let mut hi = (ve + d.context_window).min(self.buf.len());
        match self.json.as_ref().map(JsonTracker::extent) {
            Some(ValueExtent::String(start)) => {
                lo = lo.max(start.saturating_sub(self.base) as usize);
                hi = ve + string_end(&self.buf[ve..hi]);
            }
            Some(ValueExtent::Scalar) => (lo, hi) = (vs, vs),
            Some(ValueExtent::Unknown) | None => {}
        }
        let key = self.json.as_ref().and_then(|j| j.last_key()).or(options.field.as_deref().map(str::as_bytes));
        has_word(ac, &d.context_words, &self.buf[lo..hi]) || key.is_some_and(|k| has_word(ac, &d.context_words, k))
    }

    /// The key path at stream offset `at` (monotone: calls only move forward).
    fn path_at(&mut self, at: u64, options: &ScanOptions) -> Option<String> {
        match &mut self.json {
            Some(json) => {
                json.advance(&self.buf[(self.json_pos - self.base) as usize..(at - self.base) as usize]);
                self.json_pos = at;
                json.path().or_else(|| options.field.as_ref().map(|f| format!("$.{f}")))
            }
            None => options.field.as_ref().map(|f| format!("$.{f}")),
        }
    }

    /// Writes the bytes before `next`, with accepted redactions applied.
    fn emit(&mut self, engine: &Engine, options: &ScanOptions, out: &mut Vec<u8>) {
        for Redaction { start, end, detector, slot } in self.redactions.drain(..) {
            out.extend_from_slice(&self.buf[(self.emitted - self.base) as usize..(start - self.base) as usize]);
            let value = &self.buf[(start - self.base) as usize..(end - self.base) as usize];
            let at = out.len();
            apply(method(engine, options, detector), &engine.hash_key, value, out);
            slot.fit(out, at, options.same_length);
            self.emitted = end;
        }
        let upto = self.next.max(self.emitted);
        out.extend_from_slice(&self.buf[(self.emitted - self.base) as usize..(upto - self.base) as usize]);
        self.emitted = upto;
    }

    /// Drops bytes no later search, context check or output needs.
    fn compact(&mut self, engine: &Engine, redacting: bool) {
        let mut keep_from = self.next.saturating_sub(engine.lookbehind as u64).max(self.base);
        if redacting {
            keep_from = keep_from.min(self.emitted);
        }
        if let Some(json) = &mut self.json {
            if keep_from > self.json_pos {
                json.advance(&self.buf[(self.json_pos - self.base) as usize..(keep_from - self.base) as usize]);
                self.json_pos = keep_from;
            }
        }
        self.buf.drain(..(keep_from - self.base) as usize);
        self.base = keep_from;
    }
}

/// Makes room for `more` bytes, doubling as a `Vec` does but not past
/// `bound`, about the most a stream holds before a search (a batch and the
/// bytes kept from the search before): a buffer doubled past a batch would
/// keep nearly twice the memory its stream needs for as long as it lives.
fn reserve(buf: &mut Vec<u8>, more: usize, bound: usize) {
    let needed = buf.len() + more;
    if needed > buf.capacity() {
        buf.reserve_exact(needed.max((2 * buf.capacity()).min(bound)) - buf.len());
    }
}

impl Family {
    /// The leftmost-first match in `input`, as `regex` finds it. The lifted
    /// patterns find it first, keeping to a few DFA states over a long token:
    /// every match of the patterns as written is one of theirs, so theirs
    /// starts no later; and where it is no longer than its pattern's smallest
    /// bound lifted, no bound could bind, so it is the patterns' own. Else
    /// the patterns as written search on from where it starts.
    fn find(&self, input: &Input) -> Option<Match> {
        let Some((lifted, upto)) = &self.lifted else { return self.regex.search(input) };
        let m = lifted.search(input)?;
        if m.len() <= upto[m.pattern().as_usize()] {
            return Some(m);
        }
        self.regex.search(&input.clone().span(m.start()..input.end()))
    }
}

/// Whether `text` holds one of `words` at the start of a word (so `tin`
/// does not hit inside `routing`; camelCase humps count as word starts).
fn has_word(ac: &aho_corasick::AhoCorasick, words: &[u32], text: &[u8]) -> bool {
    ac.find_overlapping_iter(text).any(|m| {
        let at_start = m.start() == 0 || {
            let (prev, first) = (text[m.start() - 1], text[m.start()]);
            !prev.is_ascii_alphanumeric() || (prev.is_ascii_lowercase() && first.is_ascii_uppercase())
        };
        at_start && words.binary_search(&m.pattern().as_u32()).is_ok()
    })
}

/// Length of `rest` up to the first unescaped quote.
fn string_end(rest: &[u8]) -> usize {
    let mut i = 0;
    while let Some(q) = memchr::memchr(b'"', &rest[i..]) {
        if q + i == 0 || rest[q + i - 1] != b'\\' {
            return q + i;
        }
        i += q + 1;
    }
    rest.len()
}

/// The detector's redaction method, or a mask where a same-length one is needed.
pub(super) fn method<'e>(engine: &'e Engine, options: &ScanOptions, detector: usize) -> &'e RedactSpec {
    const MASK: RedactSpec = RedactSpec::Mask { char: '*' };
    let spec = &engine.detectors[detector].redact;
    if options.same_length && !is_same_length(spec) {
        &MASK
    } else {
        spec
    }
}

#[cfg(test)]
mod tests {
    use crate::engine::{xorshift, Engine, RecordScan, ScanOptions, SCAN_BATCH};

    /// Random runs of token bytes after the prefixes of the rules with large
    /// repetition bounds, shorter and longer than those bounds, amid text.
    fn tokens(next: &mut impl FnMut() -> u64) -> Vec<u8> {
        const PREFIXES: &[&str] = &[
            "Bearer ",
            "Authorization: bearer ",
            "password=",
            "\"api_key\": \"",
            "eyJhbGciOiJIUzI1NiJ9.eyJ",
            " ",
            "\n",
        ];
        // Base64url: no byte of it ends a bearer token or a JWT's segment.
        const BYTES: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_";
        let mut out = Vec::new();
        let run = |out: &mut Vec<u8>, next: &mut dyn FnMut() -> u64| {
            let len = [8, 60, 250, 300, 700, 3_100, 4_200][(next() % 7) as usize] + (next() % 9) as usize;
            out.extend((0..len).map(|_| BYTES[(next() % BYTES.len() as u64) as usize]));
        };
        while out.len() < 24_000 {
            out.extend_from_slice(PREFIXES[(next() % PREFIXES.len() as u64) as usize].as_bytes());
            run(&mut out, next);
            // A JWT's next segments, now and then.
            while next() % 2 == 0 {
                out.push(b'.');
                run(&mut out, next);
            }
            if next() % 3 == 0 {
                out.extend_from_slice(b"\", ");
            }
        }
        out
    }

    #[test]
    fn the_lifted_first_pass_finds_what_the_patterns_as_written_find() {
        let engine = Engine::from_policy_text("").unwrap();
        assert!(engine.main.lifted.is_some(), "the default rules have bounds above the threshold");
        let mut exact = Engine::from_policy_text("").unwrap();
        exact.main.lifted = None;
        let mut next = xorshift(0x5eed_1ea5_70ce_2026);
        for _ in 0..12 {
            let text = tokens(&mut next);
            for options in [ScanOptions::text(&engine), ScanOptions::json(&engine)] {
                let expected = exact.scan(&text, &options);
                assert!(!expected.is_empty());
                assert_eq!(engine.scan(&text, &options), expected, "{:?}", String::from_utf8_lossy(&text));
            }
        }
    }

    /// Records cut from a text at line endings, scanned over the regions
    /// found once for the whole text, give what each searched whole alone
    /// gives, with patterns asserting a text's start or end, or a word
    /// boundary's absence, where the records meet.
    #[test]
    fn records_scanned_over_one_walk_find_what_each_searched_alone_finds() {
        const POLICY: &str = r#"
detectors:
  - {id: at-start, category: internal, patterns: ['^XS-\d{4}']}
  - {id: at-line-start, category: internal, patterns: ['(?m)^XL-\d{4}']}
  - {id: at-end, category: internal, patterns: ['XE-\d{4}\s{0,3}$']}
  - {id: no-boundary-after, category: internal, patterns: ['XB-\d{4}\s\B']}
  - {id: no-word-after, category: internal, patterns: ['XH-\d{4}\s\b{end-half}']}
"#;
        const PIECES: &[&str] = &[
            "XS-1234",
            "XL-2345",
            "XE-3456",
            "XB-4567",
            "XH-5678",
            "grace.hopper@example.com",
            "4532 2766 4457 7020",
            "10.1.2.3",
            "{\"id\": 100234, \"created_at\": \"2025-06-14T09:12:44Z\", \"status\": \"shipped\"}",
            "data: ",
            "word ",
            "\": \"",
        ];
        const ENDS: &[&str] = &["\n", "\r", "\r\n", "\n\n", "\r\r", " \n"];
        let engine = Engine::from_policy_text(POLICY).unwrap();
        let mut whole = Engine::from_policy_text(POLICY).unwrap();
        whole.regions = None;
        let mut next = xorshift(0x7ec0_4d5c_a11e_2026);
        let pick = |next: &mut dyn FnMut() -> u64, from: &[&'static str]| from[(next() % from.len() as u64) as usize];
        let mut found = 0;
        for round in 0..200 {
            let (mut text, mut ends) = (Vec::new(), Vec::new());
            while text.len() < 400 + round * 20 {
                for _ in 0..=next() % 4 {
                    text.extend_from_slice(pick(&mut next, PIECES).as_bytes());
                }
                text.extend_from_slice(pick(&mut next, ENDS).as_bytes());
                ends.push(text.len());
            }
            // Now and then the last record is cut short, as a stream's end may be.
            if round % 3 == 0 {
                text.extend_from_slice(pick(&mut next, PIECES).as_bytes());
                ends.push(text.len());
            }
            for options in [ScanOptions::text(&engine), ScanOptions::json(&engine)] {
                let mut scan = RecordScan::new(&engine, &text, &options);
                let mut start = 0;
                for &end in &ends {
                    let record = &text[start..end];
                    let expected = whole.redact(record, &options);
                    let mut findings = Vec::new();
                    let out = scan.redact(start..end, &mut |f, _| findings.push(f)).unwrap_or(record).to_vec();
                    assert_eq!((out, findings), expected, "{:?}", String::from_utf8_lossy(record));
                    found += expected.1.len();
                    start = end;
                }
            }
        }
        assert!(found > 1000, "{found} findings");
    }

    /// A stream fed in chunks keeps a buffer of about a batch, a window and
    /// a chunk, not the doubled capacity of a growing `Vec` (128 KiB here).
    #[test]
    fn a_streams_buffer_grows_no_further_than_a_batch_needs() {
        let engine = std::sync::Arc::new(Engine::from_policy_text("").unwrap());
        let record = br#"{"id": 100001, "sku": "WID-0001", "name": "Widget", "price": 19.99}, "#;
        let chunk: Vec<u8> = record.iter().copied().cycle().take(16 * 1024).collect();
        let bound = SCAN_BATCH + 2 * engine.window() + chunk.len();
        let mut scanner = engine.scanner(ScanOptions::json(&engine));
        let mut most = 0;
        for _ in 0..20 {
            scanner.feed(&chunk, &mut |_, _| {});
            most = most.max(scanner.state.buf.capacity());
        }
        assert!(most > SCAN_BATCH, "the buffer held a batch: {most}");
        assert!(most <= bound, "a buffer of {most} bytes, more than {bound}");
    }
}
