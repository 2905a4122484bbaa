//! The Istio manifests: well-formed WasmPlugins whose `pluginConfig`, as
//! the JSON Istio hands to the plugin, is a policy sieve accepts, and an
//! EnvoyFilter that builds the filter chain the Envoy test bed runs.

use serde::Deserialize;
use serde_json::Value;
use sieve::flow::Inspector;

/// The YAML documents of a file in the repository, as JSON values.
fn documents(path: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(format!("{}/{path}", env!("CARGO_MANIFEST_DIR"))).unwrap();
    serde_yaml_ng::Deserializer::from_str(&text).map(|doc| Value::deserialize(doc).unwrap()).collect()
}

fn plugins() -> Vec<Value> {
    documents("istio/wasmplugin.yaml")
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

/// The chain of HTTP filters of an Envoy configuration's one listener.
fn http_filters(config: &mut Value) -> &mut Vec<Value> {
    let hcm = &mut config["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0];
    assert_eq!(hcm["name"], "envoy.filters.network.http_connection_manager");
    hcm["typed_config"]["http_filters"].as_array_mut().unwrap()
}

/// Applies one EnvoyFilter patch to the inbound HTTP filters, as istiod
/// does (pilot/pkg/networking/core/envoyfilter): patches in the order
/// listed; INSERT_FIRST puts its filter first, INSERT_AFTER after the one
/// its `subFilter` names.
fn apply(patch: &Value, filters: &mut Vec<Value>) {
    assert_eq!(patch["applyTo"], "HTTP_FILTER");
    assert_eq!(patch["match"]["context"], "SIDECAR_INBOUND", "where the redacting plugin runs");
    let hcm = &patch["match"]["listener"]["filterChain"]["filter"];
    assert_eq!(hcm["name"], "envoy.filters.network.http_connection_manager");
    let value = patch["patch"]["value"].clone();
    match patch["patch"]["operation"].as_str() {
        Some("INSERT_FIRST") => filters.insert(0, value),
        Some("INSERT_AFTER") => {
            let after = hcm["subFilter"]["name"].as_str().expect("INSERT_AFTER names the filter it follows");
            let at = filters.iter().position(|f| f["name"] == after);
            filters.insert(at.unwrap_or_else(|| panic!("no filter {after} to insert after")) + 1, value);
        }
        other => panic!("operation {other:?}: not one that keeps the chain's order certain"),
    }
}

#[test]
fn the_decompress_envoyfilter_builds_the_chain_the_envoy_test_bed_runs() {
    let filter = &documents("istio/decompress.yaml")[0];
    assert_eq!(filter["apiVersion"], "networking.istio.io/v1alpha3");
    assert_eq!(filter["kind"], "EnvoyFilter");
    let redacting = plugins().into_iter().find(|p| p["metadata"]["name"] == "sieve").unwrap();
    assert_eq!(filter["metadata"]["namespace"], redacting["metadata"]["namespace"]);
    assert_eq!(filter["spec"]["workloadSelector"]["labels"], redacting["spec"]["selector"]["matchLabels"]);
    let patches = filter["spec"]["configPatches"].as_array().unwrap();
    let mut names: Vec<_> = patches.iter().map(|p| p["patch"]["value"]["name"].as_str().unwrap()).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), patches.len(), "INSERT_AFTER finds a filter by its name: each is unique");
    // envoy/http.yaml, patched, is envoy/http-decompress.yaml (tests/envoy_bodies.rs runs it),
    // comments aside.
    let mut config = documents("envoy/http.yaml").remove(0);
    let filters = http_filters(&mut config);
    patches.iter().for_each(|patch| apply(patch, filters));
    assert_eq!(config, documents("envoy/http-decompress.yaml")[0]);
}
