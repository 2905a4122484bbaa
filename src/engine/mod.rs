//! Layer 2: the classification engine. Pure Rust, no proxy-wasm types.
//!
//! A policy ([`crate::policy::PolicySpec`]) is compiled once by
//! [`Engine::compile`] into an immutable [`Engine`]: every detector pattern in
//! one multi-pattern regex (one pass over the bytes, whatever the number of
//! rules), an Aho-Corasick automaton over every context word, and per-detector
//! validators, scopes and actions. A [`Scanner`] then runs the engine over a
//! stream fed in chunks of any size, finding matches across chunk boundaries
//! with memory bounded by [`Engine::window`], and optionally writes the
//! redacted stream, identical however the input was chunked.
//!
//! ```
//! use sieve::engine::{Engine, ScanOptions};
//!
//! let engine = Engine::from_policy_text("").unwrap(); // every built-in detector
//! let findings = engine.scan(b"card 4111 1111 1111 1111", &ScanOptions::text(&engine));
//! assert_eq!(engine.detector(findings[0].detector).id, "credit-card");
//! ```

mod anatomy;
mod builtin;
pub(crate) mod bytes;
mod compile;
mod form;
mod glob;
mod iban;
mod json;
mod multipart;
mod protobuf;
mod redact;
mod regions;
mod scan;
mod scope;
pub mod validate;
mod value_group;

use std::sync::Arc;

use aho_corasick::AhoCorasick;
use regex_automata::meta;

use crate::policy::{ActionKind, PolicyError, RedactSpec, Severity, ValidatorKind};

pub use builtin::{builtin_detector_ids, BUILTIN_PACKS};
pub use form::{redact_escaped, redact_form, redact_url, scan_form, Escape, FormFinding};
pub use glob::{any_matches, GlobSet};
pub use json::{JsonTracker, BOM};
pub use multipart::{boundary as multipart_boundary, redact_multipart};
pub use protobuf::{redact_protobuf, scan_protobuf};
pub use redact::{apply as redact_value, is_same_length, HashKey};
pub use scan::{Finding, RecordScan, ScanOptions, Scanner, Sink, SCAN_BATCH};
pub use scope::{DetectorSet, Scope, Target};

/// The compiled, immutable engine. Cheap to share (`Arc<Engine>`).
#[derive(Debug)]
pub struct Engine {
    detectors: Vec<Detector>,
    categories: Vec<Category>,
    /// The single unanchored pass: every pattern not in `numeric`, plus one
    /// trigger pattern where a `numeric` pattern could start.
    main: Family,
    /// Patterns that start with a digit at a word boundary (or with `+` or
    /// `(`): cards, phones, national ids, dates. Run anchored at triggers
    /// only, because their counted repetitions, run unanchored side by side,
    /// multiply the lazy DFA's states on digit-heavy input.
    numeric: Option<Family>,
    /// Where `main`'s matches can be; `None` when its lazy DFA cannot be
    /// built, and every search then covers the whole text.
    regions: Option<regions::RegionFinder>,
    /// Which detectors' scopes need checking per target.
    targeting: scope::Targeting,
    /// Every context word of every detector.
    context: Option<AhoCorasick>,
    allow: Allowlist,
    hash_key: HashKey,
    window: usize,
    lookbehind: usize,
}

/// A compiled detector.
#[derive(Debug)]
pub struct Detector {
    pub id: String,
    pub category: usize,
    pub severity: Severity,
    pub description: String,
    pub action: ActionKind,
    pub redact: RedactSpec,
    pub scope: Scope,
    validator: Option<ValidatorKind>,
    min_score: f32,
    min_entropy: Option<f32>,
    context_words: Vec<u32>,
    context_window: usize,
    context_boost: f32,
    allow: Allowlist,
}

#[derive(Debug)]
pub struct Category {
    pub name: String,
    pub severity: Severity,
}

/// Patterns compiled together.
#[derive(Debug)]
struct Family {
    /// Leftmost-first: the search.
    regex: meta::Regex,
    /// The same with large repetition bounds lifted (see
    /// `anatomy::lift_bounds`), and per pattern the longest match it stands
    /// in for; `None` where no bound was lifted. See [`Family::find`].
    lifted: Option<(meta::Regex, Vec<usize>)>,
    /// The patterns, bounds lifted, with `MatchKind::All`, used only to ask
    /// which other patterns may also match where a candidate was rejected
    /// (each is then searched for as written).
    regex_all: meta::Regex,
    /// Per pattern id; `None` for the trigger.
    info: Vec<Option<PatternInfo>>,
    /// Per pattern id, the pattern alone when it has a `value` group.
    values: Vec<Option<value_group::ValueGroup>>,
    /// The pattern that hands over to the numeric family.
    trigger: Option<regex_automata::PatternID>,
}

#[derive(Debug, Clone, Copy)]
struct PatternInfo {
    detector: usize,
    score: f32,
    /// Whether the pattern has a `value` group that narrows the finding.
    has_value_group: bool,
}

/// Values never reported, compared after [`Allowlist::normalize`].
#[derive(Debug, Default, Clone)]
struct Allowlist {
    values: std::collections::HashSet<Vec<u8>>,
    /// The longest value, normalized: a candidate longer than that, once
    /// normalized, is none of them, and is not copied and hashed (a bearer
    /// token of hundreds of bytes was, for every candidate in it).
    longest: usize,
}

impl Allowlist {
    /// Whether normalizing drops `b`.
    fn dropped(b: &u8) -> bool {
        matches!(b, b' ' | b'-' | b'\t')
    }

    fn normalize(value: &[u8]) -> Vec<u8> {
        // Sized up front: checked for every candidate, it is on the hot path.
        let mut out = Vec::with_capacity(value.len());
        out.extend(value.iter().filter(|b| !Self::dropped(b)).map(u8::to_ascii_lowercase));
        out
    }

    fn insert(&mut self, value: &str) {
        let normal = Self::normalize(value.as_bytes());
        self.longest = self.longest.max(normal.len());
        self.values.insert(normal);
    }

    fn contains(&self, value: &[u8]) -> bool {
        // No more kept bytes than the longest entry has: counted only that far.
        let short = || value.iter().filter(|b| !Self::dropped(b)).nth(self.longest).is_none();
        !self.values.is_empty() && short() && self.values.contains(&Self::normalize(value))
    }
}

impl Engine {
    /// Parses and compiles policy text (JSON or YAML; empty for the default).
    pub fn from_policy_text(text: &str) -> Result<Engine, PolicyError> {
        Engine::compile(&crate::policy::parse(text)?)
    }

    pub fn detectors(&self) -> &[Detector] {
        &self.detectors
    }

    pub fn detector(&self, index: usize) -> &Detector {
        &self.detectors[index]
    }

    pub fn categories(&self) -> &[Category] {
        &self.categories
    }

    pub fn category_of(&self, detector: usize) -> &Category {
        &self.categories[self.detectors[detector].category]
    }

    pub fn hash_key(&self) -> &HashKey {
        &self.hash_key
    }

    /// The longest match (plus context on both sides) the streaming scanner
    /// guarantees to find across chunk boundaries; per-stream memory is a
    /// small multiple of it, or [`SCAN_BATCH`] more for a stream only
    /// scanned (see the `scan` module).
    pub fn window(&self) -> usize {
        self.window
    }

    /// A streaming scanner over this engine.
    pub fn scanner(self: &Arc<Self>, options: ScanOptions) -> Scanner {
        Scanner::new(Arc::clone(self), options)
    }

    /// Scans a whole buffer.
    pub fn scan(&self, bytes: &[u8], options: &ScanOptions) -> Vec<Finding> {
        let mut findings = Vec::new();
        scan::scan_whole(self, bytes, options, &mut |f, _| findings.push(f));
        findings
    }

    /// Scans a whole buffer, handing each finding and its value to `sink`.
    pub fn scan_into(&self, bytes: &[u8], options: &ScanOptions, sink: &mut Sink) {
        scan::scan_whole(self, bytes, options, sink);
    }

    /// Writes the redacted form of a whole buffer and returns the findings.
    pub fn redact(&self, bytes: &[u8], options: &ScanOptions) -> (Vec<u8>, Vec<Finding>) {
        let mut findings = Vec::new();
        let out = scan::redact_whole(self, bytes, options, &mut |f, _| findings.push(f));
        (out, findings)
    }
}

/// A small xorshift generator for the tests' random inputs: the same
/// sequence on every machine.
#[cfg(test)]
pub(crate) fn xorshift(mut x: u64) -> impl FnMut() -> u64 {
    move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    }
}
