//! The one error type of policy loading and compiling.

use std::fmt;

/// Why a policy was refused: where (a path such as `detectors[3].patterns[0]`),
/// which detector (when one is concerned), and the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError {
    pub path: String,
    pub detector: Option<String>,
    pub reason: String,
}

impl PolicyError {
    pub fn new(path: impl Into<String>, reason: impl Into<String>) -> Self {
        PolicyError { path: path.into(), detector: None, reason: reason.into() }
    }

    pub fn detector(mut self, id: &str) -> Self {
        self.detector = Some(id.to_string());
        self
    }

    /// Prefixes the path, for errors raised inside a nested part.
    pub fn within(mut self, prefix: &str) -> Self {
        self.path = if self.path.is_empty() {
            prefix.to_string()
        } else if self.path.starts_with('[') {
            format!("{prefix}{}", self.path)
        } else {
            format!("{prefix}.{}", self.path)
        };
        self
    }
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = if self.path.is_empty() { "policy" } else { &self.path };
        match &self.detector {
            Some(id) => write!(f, "{path} (detector \"{id}\"): {}", self.reason),
            None => write!(f, "{path}: {}", self.reason),
        }
    }
}

impl std::error::Error for PolicyError {}
