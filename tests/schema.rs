//! The JSON Schema stays in step with the policy model, and the example
//! policies compile.

use serde::Serialize;
use serde_json::Value;
use sieve::engine::Engine;
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
        Engine::from_policy_text(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        n += 1;
    }
    assert!(n >= 3);
}
