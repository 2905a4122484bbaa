//! Layer 1: the policy users write, parsed and checked.
//!
//! A policy arrives as JSON (Istio's `pluginConfig`) or YAML (Envoy's
//! `StringValue`, files under `rules/`). [`parse`] turns text into a
//! [`PolicySpec`]; [`crate::engine::Engine::compile`] turns that into the
//! immutable engine. Both report a [`PolicyError`] naming the field path,
//! the detector and the reason.

mod error;
mod model;
mod nesting;

pub use error::PolicyError;
pub use model::*;

use serde::de::DeserializeOwned;

/// Parses a policy from JSON or YAML text. Empty text is the default policy.
pub fn parse(text: &str) -> Result<PolicySpec, PolicyError> {
    parse_as(text)
}

/// Parses a rule pack (`rules/*.yaml`).
pub fn parse_rule_pack(text: &str) -> Result<RulePack, PolicyError> {
    parse_as(text)
}

fn parse_as<T: DeserializeOwned + Default>(text: &str) -> Result<T, PolicyError> {
    let value = to_value(text)?;
    if value.is_null() {
        return Ok(T::default());
    }
    let detector_id = |path: &str| detector_id_at(&value, path);
    serde_path_to_error::deserialize(&value).map_err(|e| {
        let path = e.path().to_string();
        let path = if path == "." { String::new() } else { path };
        let mut err = PolicyError::new(&path, e.inner().to_string());
        err.detector = detector_id(&path);
        err
    })
}

/// Text to a JSON value: JSON when it looks like JSON (for its precise
/// messages), YAML otherwise.
fn to_value(text: &str) -> Result<serde_json::Value, PolicyError> {
    let trimmed = text.trim_start();
    if trimmed.is_empty() {
        return Ok(serde_json::Value::Null);
    }
    if trimmed.starts_with('{') {
        serde_json::from_str(text).map_err(|e| PolicyError::new("", format!("invalid JSON: {e}")))
    } else if let Some(line) = nesting::too_deep(text) {
        Err(PolicyError::new("", format!("invalid YAML: flow collections nested too deeply at line {line}")))
    } else {
        serde_yaml_ng::from_str(text).map_err(|e| PolicyError::new("", format!("invalid YAML: {e}")))
    }
}

/// The `id` of the detector a path such as `detectors[3].patterns[0]` is in.
fn detector_id_at(value: &serde_json::Value, path: &str) -> Option<String> {
    let rest = path.strip_prefix("detectors[")?;
    let index: usize = rest[..rest.find(']')?].parse().ok()?;
    value.get("detectors")?.get(index)?.get("id")?.as_str().map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_text_is_the_default_policy() {
        let p = parse("  \n").unwrap();
        assert_eq!(p.builtin.include, vec!["all"]);
        assert!(p.detectors.is_empty());
    }

    #[test]
    fn json_and_yaml_give_the_same_policy() {
        let json = r#"{"detectors":[{"id":"x","category":"internal","keywords":["falcon"],"action":"block"}]}"#;
        let yaml = "detectors:\n  - id: x\n    category: internal\n    keywords: [falcon]\n    action: block\n";
        let (a, b) = (parse(json).unwrap(), parse(yaml).unwrap());
        assert_eq!(a.detectors[0].keywords, b.detectors[0].keywords);
        assert_eq!(b.detectors[0].action, Some(ActionKind::Block));
    }

    #[test]
    fn unknown_field_is_named_with_its_path_and_detector() {
        let yaml = "detectors:\n  - id: a\n    category: c\n  - id: b\n    category: c\n    patern: x\n";
        let e = parse(yaml).unwrap_err();
        assert_eq!(e.path, "detectors[1].patern");
        assert_eq!(e.detector.as_deref(), Some("b"));
        assert!(e.reason.contains("unknown field `patern`"), "{e}");
    }

    #[test]
    fn bad_enum_value_names_the_field() {
        let e = parse(r#"{"detectors":[{"id":"a","category":"c","validator":"lune"}]}"#).unwrap_err();
        assert_eq!(e.path, "detectors[0].validator");
        assert!(e.reason.contains("lune"), "{e}");
    }

    #[test]
    fn broken_json_is_refused_with_the_parser_message() {
        let e = parse("{\"detectors\": [").unwrap_err();
        assert!(e.reason.starts_with("invalid JSON"), "{e}");
    }

    #[test]
    fn yaml_nested_past_any_use_is_refused_before_the_parser_reads_it() {
        // libyaml would take seconds over this, quadratic in the depth.
        let deep = format!("categories: {}{}", "[".repeat(50_000), "]".repeat(50_000));
        let e = parse(&deep).unwrap_err();
        assert_eq!(e.reason, "invalid YAML: flow collections nested too deeply at line 1");
    }

    #[test]
    fn redact_methods_parse() {
        let p = parse("categories:\n  pci:\n    action: redact\n    redact: {method: partial, keep: 4}\n").unwrap();
        assert_eq!(p.categories["pci"].redact, Some(RedactSpec::Partial { keep: 4, char: '*' }));
    }
}
