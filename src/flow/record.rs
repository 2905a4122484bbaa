//! What an exchange found, as it is counted and logged: rule ids, places,
//! offsets and keyed fingerprints, never the values.

use serde::Serialize;

use std::sync::Arc;

use super::route::Plan;
use crate::engine::{Engine, Finding};
use crate::policy::{ActionKind, Direction, Part};

/// One finding, with what was done about it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Recorded {
    pub detector: String,
    pub category: String,
    pub severity: &'static str,
    pub action: ActionKind,
    pub direction: Direction,
    pub part: Part,
    /// The header name, for findings in headers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub header: Option<String>,
    /// The JSON key path or field name, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_path: Option<String>,
    pub start: u64,
    pub end: u64,
    /// A keyed hash of the value (see [`Fingerprints`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
}

/// Whether findings carry keyed fingerprints. Only the log line shows them,
/// and each costs an HMAC-SHA-256 (about what scanning a kilobyte does), so
/// the filter has them made only where Envoy would keep that line.
#[derive(Debug, Clone, Copy)]
pub enum Fingerprints {
    /// For every finding: offline tools, and where the line is kept.
    Always,
    /// For none: the line would be dropped.
    Never,
    /// Asked at the first finding, and the answer kept for the rest.
    Ask(fn() -> bool),
}

/// The log record of an exchange with findings: one JSON line.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Record {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    pub findings: Vec<Recorded>,
    pub blocked: bool,
    /// Directions whose body went past a limit and was not fully scanned.
    pub truncated: Vec<Direction>,
    /// Directions whose body was not scanned, and why.
    pub skipped: Vec<(Direction, &'static str)>,
    /// Why the exchange was not inspected at all (a route, sampling).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uninspected: Option<&'static str>,
}

impl Record {
    /// Sorted, distinct category names.
    pub fn categories(&self) -> Vec<&str> {
        let mut c: Vec<&str> = self.findings.iter().map(|f| f.category.as_str()).collect();
        c.sort_unstable();
        c.dedup();
        c
    }

    /// Sorted, distinct detector ids.
    pub fn detectors(&self) -> Vec<&str> {
        let mut d: Vec<&str> = self.findings.iter().map(|f| f.detector.as_str()).collect();
        d.sort_unstable();
        d.dedup();
        d
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|e| format!("{{\"error\":\"record not serialisable: {e}\"}}"))
    }
}

/// The record being built, and the plan whose actions it records.
#[derive(Debug)]
pub(super) struct Outcome {
    pub(super) record: Record,
    pub(super) plan: Arc<Plan>,
    pub(super) fingerprints: Fingerprints,
}

impl Outcome {
    pub(super) fn new(plan: &Arc<Plan>) -> Outcome {
        Outcome { record: Record::default(), plan: Arc::clone(plan), fingerprints: Fingerprints::Always }
    }

    pub(super) fn found(
        &mut self,
        engine: &Engine,
        direction: Direction,
        part: Part,
        header: Option<&str>,
        f: Finding,
        value: &[u8],
    ) {
        if let Fingerprints::Ask(wanted) = self.fingerprints {
            self.fingerprints = if wanted() { Fingerprints::Always } else { Fingerprints::Never };
        }
        let fingerprint =
            matches!(self.fingerprints, Fingerprints::Always).then(|| engine.hash_key().fingerprint(value));
        let d = engine.detector(f.detector);
        self.record.findings.push(Recorded {
            detector: d.id.clone(),
            category: engine.category_of(f.detector).name.clone(),
            severity: d.severity.as_str(),
            action: self.plan.actions[f.detector],
            direction,
            part,
            header: header.map(str::to_string),
            key_path: f.path,
            start: f.start,
            end: f.end,
            fingerprint,
        });
    }

    /// Once per direction and reason, however many messages it held.
    pub(super) fn skipped(&mut self, direction: Direction, why: &'static str) {
        if !self.record.skipped.contains(&(direction, why)) {
            self.record.skipped.push((direction, why));
        }
    }

    /// Once per direction, however many limits its body passed.
    pub(super) fn truncated(&mut self, direction: Direction) {
        if !self.record.truncated.contains(&direction) {
            self.record.truncated.push(direction);
        }
    }

    pub(super) fn len(&self) -> usize {
        self.record.findings.len()
    }

    /// Whether a finding recorded since the first `start` has `action`.
    pub(super) fn acted_since(&self, start: usize, action: ActionKind) -> bool {
        self.record.findings[start..].iter().any(|f| f.action == action)
    }
}
