//! The JSON Schema stays in step with the policy model, and the example
//! policies, the README's among them, compile.

use serde::Serialize;
use serde_json::Value;
use sieve::flow::Inspector;
use sieve::policy::{
    CategorySpec, DetectorOverride, DetectorSpec, HttpSpec, PolicySpec, RouteSpec, ScopeSpec, TcpSpec,
};

fn schema() -> Value {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schema/policy.schema.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn fields<T: Serialize + Default>() -> Vec<String> {
    let mut keys: Vec<String> =
        serde_json::to_value(T::default()).unwrap().as_object().unwrap().keys().cloned().collect();
    keys.sort();
    keys
}

fn properties(v: &Value) -> Vec<String> {
    let mut keys: Vec<String> = v["properties"].as_object().unwrap().keys().cloned().collect();
    keys.sort();
    keys
}

#[test]
fn schema_properties_match_the_model() {
    let s = schema();
    let p = &s["properties"];
    assert_eq!(properties(&s), fields::<PolicySpec>());
    assert_eq!(properties(&p["detectors"]["items"]), fields::<DetectorSpec>());
    assert_eq!(properties(&p["categories"]["additionalProperties"]), fields::<CategorySpec>());
    assert_eq!(properties(&p["overrides"]["additionalProperties"]), fields::<DetectorOverride>());
    assert_eq!(properties(&p["detectors"]["items"]["properties"]["scope"]), fields::<ScopeSpec>());
    assert_eq!(properties(&p["http"]), fields::<HttpSpec>());
    let mut route = fields::<RouteSpec>();
    route.extend(["hosts", "methods", "paths", "sample"].map(String::from)); // Unset by default.
    route.sort();
    assert_eq!(properties(&p["http"]["properties"]["routes"]["items"]), route);
    assert_eq!(properties(&p["tcp"]), fields::<TcpSpec>());
    assert_eq!(s["additionalProperties"], false, "unknown fields are errors in the engine too");
}

#[test]
fn example_policies_compile() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/policies");
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        // As the filter compiles it: its `http` and `tcp` parts are checked too.
        Inspector::from_policy_text(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        n += 1;
    }
    assert!(n >= 3);
}

/// The README's fenced blocks of `lang`.
fn readme_blocks(lang: &str) -> Vec<String> {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let fence = format!("```{lang}");
    let mut blocks = Vec::new();
    let mut lines = readme.lines();
    while lines.by_ref().any(|l| l == fence) {
        blocks.push(lines.by_ref().take_while(|l| *l != "```").map(|l| format!("{l}\n")).collect());
    }
    blocks
}

#[test]
fn the_readmes_policies_compile_and_show_the_defaults_they_say_they_show() {
    let policies = readme_blocks("yaml");
    for text in &policies {
        Inspector::from_policy_text(text).unwrap_or_else(|e| panic!("README policy refused: {e}\n{text}"));
    }
    // "The parts of a policy" gives `http:` with its defaults shown, its routes aside, and
    // `tcp:` likewise.
    let parts = policies.iter().find(|p| p.contains("\nhttp:")).expect("the README's policy with every part");
    let parts: Value = serde_yaml_ng::from_str(parts).unwrap();
    let defaults = serde_json::to_value(PolicySpec::default()).unwrap();
    for section in ["http", "tcp"] {
        for (knob, shown) in parts[section].as_object().unwrap() {
            if knob != "routes" {
                assert_eq!(shown, &defaults[section][knob], "README: {section}.{knob} is not the default");
            }
        }
    }
}
