//! The Istio manifests are well-formed WasmPlugins whose `pluginConfig`, as
//! the JSON Istio hands to the plugin, is a policy sieve accepts.

use serde::Deserialize;
use sieve::flow::Inspector;

fn plugins() -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/istio/wasmplugin.yaml")).unwrap();
    serde_yaml_ng::Deserializer::from_str(&text).map(|doc| serde_json::Value::deserialize(doc).unwrap()).collect()
}

#[test]
fn manifests_are_wasmplugins_with_valid_fields() {
    let plugins = plugins();
    assert!(plugins.len() >= 3);
    for p in &plugins {
        let spec = &p["spec"];
        assert_eq!(p["apiVersion"], "extensions.istio.io/v1alpha1");
        assert_eq!(p["kind"], "WasmPlugin");
        assert_eq!(spec["pluginName"], "sieve", "the plugin's root id");
        // The plugin learns which filter it is from its configuration: the two must agree.
        let tcp = spec["pluginConfig"]["protocol"] == "tcp";
        assert_eq!(spec["type"], if tcp { "NETWORK" } else { "HTTP" }, "{}", p["metadata"]["name"]);
        if let Some(phase) = spec["phase"].as_str() {
            assert!(["AUTHN", "AUTHZ", "STATS"].contains(&phase));
        }
        assert!(["FAIL_CLOSE", "FAIL_OPEN", "FAIL_RELOAD"].contains(&spec["failStrategy"].as_str().unwrap()));
        assert!(spec["url"].as_str().unwrap().starts_with("oci://"));
        for m in spec["match"].as_array().unwrap() {
            assert!(["CLIENT", "SERVER", "CLIENT_AND_SERVER"].contains(&m["mode"].as_str().unwrap()));
        }
    }
}

#[test]
fn plugin_configs_are_accepted_policies() {
    for p in plugins() {
        let json = serde_json::to_string(&p["spec"]["pluginConfig"]).unwrap();
        let inspector = Inspector::from_policy_text(&json).unwrap_or_else(|e| panic!("{}: {e}", p["metadata"]["name"]));
        assert!(!inspector.engine.detectors().is_empty());
    }
}
