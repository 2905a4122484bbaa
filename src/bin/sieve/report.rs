//! Finding lines for people (text) and machines (JSON lines). Neither ever
//! holds the value: only a redacted preview and a keyed fingerprint.

use sieve::engine::{Engine, Finding};
use sieve::policy::RedactSpec;

use crate::args::Format;

/// Longest preview printed, in bytes.
const PREVIEW_MAX: usize = 32;

pub struct Reporter<'e> {
    engine: &'e Engine,
    format: Format,
}

impl<'e> Reporter<'e> {
    pub fn new(engine: &'e Engine, format: Format) -> Reporter<'e> {
        Reporter { engine, format }
    }

    pub fn line(&self, path: &str, f: &Finding, value: &[u8]) -> String {
        let d = self.engine.detector(f.detector);
        let category = &self.engine.category_of(f.detector).name;
        let preview = preview(&d.redact, self.engine, value);
        let fingerprint = self.engine.hash_key().fingerprint(value);
        match self.format {
            Format::Text => {
                let key = f.path.as_deref().map(|p| format!(" at {p}")).unwrap_or_default();
                format!(
                    "{path}:{}-{}: {} ({category}, {}){key} {preview} #{fingerprint}",
                    f.start,
                    f.end,
                    d.id,
                    d.severity.as_str()
                )
            }
            Format::Jsonl => serde_json::json!({
                "path": path,
                "detector": d.id,
                "category": category,
                "severity": d.severity.as_str(),
                "start": f.start,
                "end": f.end,
                "key_path": f.path,
                "preview": preview,
                "fingerprint": fingerprint,
            })
            .to_string(),
        }
    }
}

/// The value as the detector's redaction would write it, cut short. Methods
/// that do not hide the value's length or shape fall back to a mask.
fn preview(spec: &RedactSpec, engine: &Engine, value: &[u8]) -> String {
    let spec = match spec {
        RedactSpec::Partial { .. } | RedactSpec::Mask { .. } => spec.clone(),
        _ => RedactSpec::Mask { char: '*' },
    };
    let mut out = Vec::new();
    sieve::engine::redact_value(&spec, engine.hash_key(), value, &mut out);
    if out.len() > PREVIEW_MAX {
        let tail = out.split_off(out.len() - PREVIEW_MAX / 2);
        out.truncate(PREVIEW_MAX / 2 - 1);
        out.extend_from_slice("…".as_bytes());
        out.extend(tail);
    }
    String::from_utf8_lossy(&out).into_owned()
}
