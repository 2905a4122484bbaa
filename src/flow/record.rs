//! What an exchange found, as it is counted and logged: rule ids, places,
//! offsets and keyed fingerprints, never the values.

use serde::Serialize;

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
    pub fingerprint: String,
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
