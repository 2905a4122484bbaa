//! sieve's `.wasm` in a real Envoy: what the upstream and the client
//! receive, Envoy's stats, and Envoy's log.

mod bed;
mod fixtures;
#[allow(dead_code)]
#[path = "../benches/traffic.rs"]
mod traffic;
mod wire;

use bed::{Answer, Bed};
use fixtures::{CARD_BODY, KEY, POLICY, REDACTED};

/// Envoy binds listeners with SO_REUSEPORT by default: a second bed on a
/// taken port would share the first's connections, and tests would see
/// each other's requests. The bed turns it off, so the second is refused
/// and starts again on other ports.
#[test]
fn a_bed_on_a_port_another_holds_is_refused_not_shared() {
    let bed = Bed::start(POLICY);
    match bed.try_start_on_its_port(POLICY) {
        Ok(_) => panic!("a second Envoy shares port {}", bed.port),
        Err(log) => assert!(log.contains("Address already in use"), "{log}"),
    }
}

/// V8 compiles the module when Envoy starts and frees most of what that
/// took (about 20 MB). The shipped configurations have tcmalloc give it back
/// rather than keep it resident for the proxy's lifetime.
#[test]
fn the_heap_v8_used_to_compile_the_module_goes_back_to_the_system() {
    assert_heap_returned(&Bed::start(POLICY));
}

/// In Istio the same setting comes from istio/memory-bootstrap.yaml, merged
/// into the sidecar's bootstrap; here merged into a configuration without it.
#[test]
fn istios_bootstrap_override_returns_the_heap_as_well() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/istio/memory-bootstrap.yaml")).unwrap();
    let map: serde_json::Value = serde_yaml_ng::from_str(&text).unwrap();
    let overlay = map["data"]["custom_bootstrap.json"].as_str().unwrap();
    assert_heap_returned(&Bed::start_with_bootstrap_overlay(overlay, POLICY));
}

/// Once `bed` has served a request, its Envoy's heap has returned at least
/// 8 MiB of the 20 MB or so it held free. Not how little stays free: tcmalloc
/// keeps what partly used huge pages hold, 8 to 14 MB from run to run.
fn assert_heap_returned(bed: &Bed) {
    assert_eq!(bed.send("GET", "/", &[], b"").status, 200);
    let returned = bed.returned_heap(8 << 20);
    assert!(returned.is_some_and(|r| r >= 8 << 20), "Envoy's heap returned {returned:?} bytes");
}

#[test]
fn card_in_a_request_body_is_redacted_on_the_way_upstream() {
    let bed = Bed::start(POLICY);
    let reply = bed.send("POST", "/v1/orders", &[("content-type", "application/json")], CARD_BODY);
    assert_eq!(reply.status, 200, "{}", reply.text());
    let got = bed.received();
    assert_eq!(got.len(), 1);
    assert_eq!(String::from_utf8_lossy(&got[0].body), String::from_utf8_lossy(REDACTED));
    if let Some(len) = got[0].header("content-length") {
        assert_eq!(len, REDACTED.len().to_string(), "content-length must match the rewritten body");
    }
    bed.assert_clean_log();
}

#[test]
fn a_redaction_that_changes_the_length_keeps_the_framing_right() {
    let bed = Bed::start("categories:\n  contact: {action: redact, redact: {method: replace, text: '[email]'}}\n");
    let body = r#"{"to": "grace.hopper@example.com", "subject": "hi"}"#;
    let reply = bed.send("POST", "/v1/mail", &[("content-type", "application/json")], body.as_bytes());
    assert_eq!(reply.status, 200, "{}", reply.text());
    let got = &bed.received()[0];
    assert!(got.complete);
    assert_eq!(String::from_utf8_lossy(&got.body), r#"{"to": "[email]", "subject": "hi"}"#);
    assert_ne!(got.header("content-length"), Some(body.len().to_string().as_str()), "stale content-length");
    bed.assert_clean_log();
}

#[test]
fn chunked_request_written_with_pauses_is_redacted_the_same() {
    let bed = Bed::start(POLICY);
    let b = CARD_BODY;
    let reply =
        bed.send_chunked("/v1/orders", &[("content-type", "application/json")], &[&b[..18], &b[18..30], &b[30..]]);
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(String::from_utf8_lossy(&bed.received()[0].body), String::from_utf8_lossy(REDACTED));
    bed.assert_clean_log();
}

#[test]
fn private_key_is_blocked_with_a_json_reply_and_never_reaches_upstream() {
    let bed = Bed::start(POLICY);
    let reply = bed.send("POST", "/v1/upload", &[("content-type", "text/plain"), ("x-request-id", "req-42")], KEY);
    assert_eq!(reply.status, 403);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    let body: serde_json::Value = serde_json::from_slice(&reply.body).unwrap();
    assert_eq!(body["categories"], serde_json::json!(["credentials"]));
    assert_eq!(body["request_id"], "req-42");
    assert!(!reply.text().contains("MIIE"), "the reply never holds the value");
    // Envoy forwards request headers before the body arrives; the held body never follows.
    for got in bed.received() {
        assert!(!got.complete, "the upstream got a whole request: {got:?}");
        assert!(!String::from_utf8_lossy(&got.body).contains("MIIE"), "the key reached the upstream");
    }
    bed.assert_clean_log();
}

#[test]
fn a_service_account_key_file_in_a_json_body_is_blocked() {
    // The PEM sits in a JSON string, its line ends written as `\n` escapes.
    let bed = Bed::start(POLICY);
    let pem = String::from_utf8_lossy(KEY).replace('\n', "\\n");
    let body = format!(r#"{{"type": "service_account", "project_id": "p", "private_key": "{pem}"}}"#);
    let reply = bed.send("POST", "/v1/upload", &[("content-type", "application/json")], body.as_bytes());
    assert_eq!(reply.status, 403, "{}", reply.text());
    assert!(reply.text().contains("private-key"), "{}", reply.text());
    for got in bed.received() {
        assert!(!got.complete && !String::from_utf8_lossy(&got.body).contains("MIIE"), "the key reached the upstream");
    }
    bed.assert_clean_log();
}

#[test]
fn a_private_key_in_a_gzip_body_is_found_and_blocked() {
    let bed = Bed::start(POLICY);
    let body = wire::gzip(KEY);
    let headers = [("content-type", "text/plain"), ("content-encoding", "gzip")];
    let reply = bed.send("POST", "/v1/upload", &headers, &body);
    assert_eq!(reply.status, 403, "{}", reply.text());
    bed.assert_clean_log();
}

#[test]
fn header_findings_are_tagged_for_the_upstream_in_monitor_mode() {
    let bed = Bed::start("");
    let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyIn0.c2lnbmF0dXJlc2lnbmF0dXJl";
    let auth = format!("Bearer {jwt}");
    // The same token again and again, as a service sends it: found each
    // time (after the first, from the memo of found values).
    for i in 0..3 {
        let reply = bed.send("GET", "/v1/me?email=ann%40example.com", &[("authorization", &auth)], b"");
        assert_eq!(reply.status, 200);
        let got = &bed.received()[i];
        assert_eq!(got.header("authorization"), Some(auth.as_str()), "monitor mode changes nothing");
        assert_eq!(got.header("x-sieve-categories"), Some("contact,credentials"), "request {i}");
        assert_eq!(got.header("x-sieve-detectors"), Some("email,jwt"), "request {i}");
    }
    let jwts = r#"sieve_findings_total{detector="jwt",category="credentials",action="monitor",direction="request"}"#;
    assert_eq!(bed.counter(jwts, 3), Some(3));
    bed.assert_clean_log();
}

#[test]
fn tags_a_client_sends_never_reach_the_upstream_as_sieves() {
    let bed = Bed::start("");
    let forged = [("x-sieve-categories", "none"), ("x-sieve-detectors", "none")];
    let tags = |got: &bed::Received| {
        let values = |name| got.headers.iter().filter(|(k, _)| k == name).map(|(_, v)| v.clone()).collect::<Vec<_>>();
        (values("x-sieve-categories"), values("x-sieve-detectors"))
    };
    assert_eq!(bed.send("GET", "/v1/me", &[forged[0], forged[0], forged[1]], b"").status, 200);
    assert_eq!(tags(&bed.received()[0]), (vec![], vec![]), "nothing found: the client's tags are removed");
    let with_email = [forged[0], forged[0], forged[1], ("x-customer", "ann@example.com")];
    assert_eq!(bed.send("GET", "/v1/me", &with_email, b"").status, 200);
    let expected = (vec!["contact".to_string()], vec!["email".to_string()]);
    assert_eq!(tags(&bed.received()[1]), expected, "sieve's tags, once, in place of the client's");
    let hidden = [("x-sieve-detectors", "4111 1111 1111 1111")];
    assert_eq!(bed.send("GET", "/v1/me", &hidden, b"").status, 200);
    let expected = (vec!["pci".to_string()], vec!["credit-card".to_string()]);
    assert_eq!(tags(&bed.received()[2]), expected, "a value in a header named like a tag is scanned");
    bed.assert_clean_log();
}

#[test]
fn infrastructure_headers_are_not_scanned_unless_the_policy_says_so() {
    let bed = Bed::start("http: {skip_headers: ['x-b3-*', 'x-debug-*']}\n");
    let headers = [
        ("x-b3-traceid", "ann@example.com"),
        ("X-Debug-Note", "4532-2766-4457-7020"),
        ("x-customer", "bob@example.com"),
    ];
    let reply = bed.send("GET", "/v1/me", &headers, b"");
    assert_eq!(reply.status, 200);
    let got = &bed.received()[0];
    assert_eq!(got.header("x-sieve-detectors"), Some("email"), "no card: x-debug-note is skipped");
    let emails = r#"sieve_findings_total{detector="email",category="contact",action="monitor",direction="request"}"#;
    assert_eq!(bed.counter(emails, 1), Some(1), "one email: x-b3-traceid is skipped");
    bed.assert_clean_log();
}

#[test]
fn header_values_and_cookies_are_redacted_in_place_and_the_client_can_be_told() {
    let bed = Bed::start(
        "categories:\n  credentials: {action: redact, redact: {method: replace, text: '[secret]'}}\n\
         http: {tag_response: true}\n",
    );
    let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyIn0.c2lnbmF0dXJlc2lnbmF0dXJl";
    // The email as PHP and Express write a cookie: found decoded, and monitored.
    let cookie = format!("theme=dark; session={jwt}; email=ann%40example.com");
    let reply = bed.send("GET", "/v1/me", &[("cookie", &cookie), ("x-trace", "t1")], b"");
    assert_eq!(reply.status, 200);
    let got = &bed.received()[0];
    assert_eq!(
        got.header("cookie"),
        Some("theme=dark; session=%5Bsecret%5D; email=ann%40example.com"),
        "rewritten in place, escaped as the cookie was"
    );
    assert_eq!(got.header("x-trace"), Some("t1"));
    assert_eq!(reply.header("x-sieve-categories"), Some("contact,credentials"), "tag_response tells the client");
    bed.assert_clean_log();
}

#[test]
fn urls_are_redacted_in_the_path_and_query_before_the_upstream_and_the_logs_see_them() {
    let bed = Bed::start("categories:\n  pci: {action: redact}\n");
    // The owner's email as `encodeURIComponent` writes it: found decoded, monitored.
    let url = "/v1/cards/4111111111111111/limits/ann%40example.com?card=4111+1111+1111+1111&page=2";
    let reply = bed.send("GET", url, &[], b"");
    assert_eq!(reply.status, 200);
    let got = &bed.received()[0];
    assert_eq!(got.path, "/v1/cards/************1111/limits/ann%40example.com?card=****%20****%20****%201111&page=2");
    let lines = bed.access_log(1);
    assert_eq!(
        lines[0]["path"], "/v1/cards/************1111/limits/ann%40example.com",
        "Envoy logs the rewritten path"
    );
    let email = r#"sieve_findings_total{detector="email",category="contact",action="monitor",direction="request"}"#;
    assert_eq!(bed.counter(email, 1), Some(1));
    let log = bed.log();
    assert!(log.contains(r#""path":"/v1/cards/****************/limits/*****************""#), "{log}");
    assert!(!log.contains("4111111111111111") && !log.contains("4111 1111") && !log.contains("ann%40"), "{log}");
    bed.assert_clean_log();
}

#[test]
fn sampled_out_exchanges_pass_untouched_and_are_counted() {
    let bed = Bed::start(&format!("{POLICY}http: {{sample: 0}}\n"));
    let reply = bed.send("POST", "/v1/orders", &[("content-type", "application/json")], CARD_BODY);
    assert_eq!(reply.status, 200);
    assert_eq!(String::from_utf8_lossy(&bed.received()[0].body), String::from_utf8_lossy(CARD_BODY));
    assert_eq!(bed.counter(r#"sieve_uninspected_total{reason="sampled_out"}"#, 1), Some(1));
    bed.assert_clean_log();
}

#[test]
fn a_multipart_upload_has_its_text_fields_redacted_and_its_binary_file_untouched() {
    let bed = Bed::start(POLICY);
    let file: &[u8] = b"\x00\x01 5500 0000 0000 0004";
    let parts = [("card", None, &b"4111 1111 1111 1111"[..]), ("f", Some(("a.bin", "application/octet-stream")), file)];
    let body = wire::multipart("XyZ", &parts);
    let reply = bed.send("POST", "/v1/upload", &[("content-type", "multipart/form-data; boundary=XyZ")], &body);
    assert_eq!(reply.status, 200, "{}", reply.text());
    let got = String::from_utf8_lossy(&bed.received()[0].body).into_owned();
    assert!(got.contains("name=\"card\"\r\n\r\n**** **** **** 1111\r\n--XyZ"), "{got}");
    assert!(got.contains("\x00\x01 5500 0000 0000 0004\r\n--XyZ--"), "{got}");
    bed.assert_clean_log();
}

#[test]
fn card_in_a_response_body_is_redacted_for_the_client() {
    let bed = Bed::start(POLICY);
    bed.answer_with(200, "application/json", CARD_BODY);
    let reply = bed.send("GET", "/v1/orders/7", &[], b"");
    assert_eq!(reply.status, 200);
    assert_eq!(reply.text().as_bytes(), REDACTED);
    bed.assert_clean_log();
}

#[test]
fn cards_anywhere_in_repeated_large_bodies_are_all_redacted_once_the_scan_is_warm() {
    // The same clean records again and again, as API traffic is: the
    // engine's walk learns them, and from the third body on goes through
    // them two bytes a step (the path only a warm .wasm takes). Cards move
    // from body to body, and every one must still be found.
    let bed = Bed::start(POLICY);
    let card = r#""card": "4111 1111 1111 1111", "#;
    for round in 0..6 {
        let records: Vec<String> = (0..60)
            .map(|i| {
                let extra = if (i + round) % 7 == 0 { card } else { "" };
                format!(
                    r#"{{"id": {}, {extra}"sku": "WID-{i:04}", "price": 19.99, "updated": "2025-06-14T09:12:44Z"}}"#,
                    100_000 + i
                )
            })
            .collect();
        let body = format!(r#"{{"items": [{}]}}"#, records.join(", "));
        let reply = bed.send("POST", "/v1/orders", &[("content-type", "application/json")], body.as_bytes());
        assert_eq!(reply.status, 200, "{}", reply.text());
        let expected = body.replace("4111 1111 1111 1111", "**** **** **** 1111");
        let got = bed.received();
        assert_eq!(String::from_utf8_lossy(&got[round].body), expected, "body {round}");
    }
    bed.assert_clean_log();
}

#[test]
fn findings_are_counted_in_prometheus_stats_and_logged_without_values() {
    let bed = Bed::start(POLICY);
    bed.send("POST", "/v1/orders", &[("content-type", "application/json")], CARD_BODY);
    bed.send("POST", "/v1/upload", &[("content-type", "text/plain")], KEY);
    assert_eq!(bed.counter("sieve_blocked_total{}", 1), Some(1));
    let card = r#"sieve_findings_total{detector="credit-card",category="pci",action="redact",direction="request"}"#;
    assert_eq!(bed.counter(card, 1), Some(1));
    // Two findings of one series in one flow are counted at once, by two.
    let cards = r#"{"cards": ["4111 1111 1111 1111", "5555 5555 5555 4444"]}"#;
    bed.send("POST", "/v1/orders", &[("content-type", "application/json")], cards.as_bytes());
    assert_eq!(bed.counter(card, 3), Some(3));
    let key =
        r#"sieve_findings_total{detector="private-key",category="credentials",action="block",direction="request"}"#;
    assert_eq!(bed.counter(key, 1), Some(1));
    let log = bed.log();
    assert!(log.contains(r#""detector":"credit-card""#), "one JSON line per flow with findings");
    assert!(log.contains(r#""path":"/v1/orders""#), "{log}");
    assert!(log.contains(r#""fingerprint":""#), "keyed fingerprints where the line is kept: {log}");
    assert!(!log.contains("4111 1111") && !log.contains("5555 5555") && !log.contains("MIIE"), "no values in the log");

    // Envoy's `wasm` logger above info: no line (sieve asks, and does not build it); counters go on.
    bed.set_log_level("wasm", "warning");
    bed.send("POST", "/v1/quiet", &[("content-type", "application/json")], CARD_BODY);
    assert_eq!(bed.counter("sieve_exchanges_total{}", 4), Some(4));
    assert!(!bed.log().contains("/v1/quiet"), "no line at warning level");
    bed.assert_clean_log();
}

#[test]
fn streaming_redaction_rewrites_a_body_larger_than_the_hold_limit() {
    let bed =
        Bed::start("categories:\n  pci: {action: redact}\nhttp: {body_redaction: stream, max_buffer_bytes: 4096}\n");
    let record = |i: usize| format!(r#"{{"i": {i}, "card": "4111 1111 1111 1111", "pad": "{}"}},"#, "x".repeat(200));
    let chunks: Vec<String> = (0..8).map(|c| (0..40).map(|i| record(c * 40 + i)).collect()).collect();
    let mut parts: Vec<&[u8]> = vec![b"["];
    parts.extend(chunks.iter().map(|c| c.as_bytes()));
    parts.push(b"{}]");
    let total: usize = parts.iter().map(|p| p.len()).sum();
    assert!(total > 16 * 4096, "far past the hold limit: {total} bytes");
    let reply = bed.send_chunked("/v1/import", &[("content-type", "application/json")], &parts);
    assert_eq!(reply.status, 200, "{}", reply.text());
    let got = String::from_utf8(bed.received()[0].body.clone()).unwrap();
    assert_eq!(got.len(), total, "partial redaction keeps the length here");
    assert_eq!(got.matches("**** **** **** 1111").count(), 320);
    assert!(!got.contains("4111 1111"));
    bed.assert_clean_log();
}

#[test]
fn a_body_over_the_hold_limit_passes_unredacted_and_tagged_truncated() {
    let bed = Bed::start(&format!("{POLICY}http: {{max_buffer_bytes: 4096}}\n"));
    let body = format!(r#"{{"pad": "{}", "card": "4111 1111 1111 1111"}}"#, "x".repeat(8000));
    let reply = bed.send("POST", "/v1/big", &[("content-type", "application/json")], body.as_bytes());
    assert_eq!(reply.status, 200, "on_limit: pass lets it through");
    assert_eq!(bed.received()[0].body, body.as_bytes(), "past the limit nothing is rewritten");
    assert_eq!(bed.counter(r#"sieve_truncated_total{direction="request"}"#, 1), Some(1));
    bed.assert_clean_log();
}

#[test]
fn the_part_of_a_body_within_the_hold_limit_is_redacted_or_blocked_before_the_rest_passes() {
    let bed = Bed::start(&format!("{POLICY}http: {{max_buffer_bytes: 4096}}\n"));
    let pad = "x".repeat(8000);
    let body = format!(r#"{{"card": "4111 1111 1111 1111", "pad": "{pad}"}}"#);
    let reply = bed.send("POST", "/v1/big", &[("content-type", "application/json")], body.as_bytes());
    assert_eq!(reply.status, 200, "{}", reply.text());
    let redacted = format!(r#"{{"card": "**** **** **** 1111", "pad": "{pad}"}}"#);
    assert_eq!(String::from_utf8_lossy(&bed.received()[0].body), redacted, "redacted, and the rest as sent");
    let body = [KEY, pad.as_bytes()].concat();
    let reply = bed.send("POST", "/v1/big", &[("content-type", "text/plain")], &body);
    assert_eq!(reply.status, 403, "a key within the limit blocks, though on_limit says pass");
    assert_eq!(bed.counter(r#"sieve_truncated_total{direction="request"}"#, 2), Some(2));
    // So do the records of a stream of them, however Envoy cuts the body into chunks.
    let lines = format!("{{\"card\": \"4111 1111 1111 1111\"}}\n{{\"pad\": \"{pad}\"}}\n");
    let reply = bed.send("POST", "/v1/big", &[("content-type", "application/x-ndjson")], lines.as_bytes());
    assert_eq!(reply.status, 200, "{}", reply.text());
    let redacted = lines.replace("4111 1111 1111 1111", "**** **** **** 1111");
    assert_eq!(String::from_utf8_lossy(&bed.last_whole().body), redacted);
    assert_eq!(bed.counter(r#"sieve_truncated_total{direction="request"}"#, 3), Some(3));
    bed.assert_clean_log();
}

#[test]
fn records_that_complete_in_one_chunk_are_not_held_against_the_hold_limit() {
    // The hold limit is the record still arriving's: twenty short lines in
    // one chunk, longer together than the limit, are each scanned.
    let bed = Bed::start(&format!("{POLICY}http: {{max_buffer_bytes: 256}}\n"));
    let lines = format!("{}{{\"card\": \"4111 1111 1111 1111\"}}\n", "{\"note\": \"all quiet here\"}\n".repeat(20));
    let reply = bed.send("POST", "/v1/lines", &[("content-type", "application/x-ndjson")], lines.as_bytes());
    assert_eq!(reply.status, 200, "{}", reply.text());
    let redacted = lines.replace("4111 1111 1111 1111", "**** **** **** 1111");
    assert_eq!(String::from_utf8_lossy(&bed.last_whole().body), redacted, "the card in the last line redacted");
    assert_eq!(
        bed.counter(
            r#"sieve_findings_total{detector="credit-card",category="pci",action="redact",direction="request"}"#,
            1
        ),
        Some(1)
    );
    assert!(!bed.stats().contains("sieve_truncated_total{direction=\"request\"} 1"), "nothing past a limit");
    bed.assert_clean_log();
}

#[test]
fn the_fail_closed_example_blocks_what_it_finds_and_what_it_cannot_read() {
    let policy = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/policies/fail-closed.yaml"));
    let bed = Bed::start(&policy.unwrap());
    let send = |content_type: &str, encoding: Option<&str>, body: &[u8]| {
        let mut headers = vec![("content-type", content_type)];
        headers.extend(encoding.map(|e| ("content-encoding", e)));
        bed.send("POST", "/v1/out", &headers, body).status
    };
    let card = br#"{"card": "4539 1488 0343 6467"}"#;
    assert_eq!(send("application/json", None, br#"{"order": 7}"#), 200);
    assert_eq!(send("application/json", None, card), 451, "a card");
    assert_eq!(send("application/json", None, br#"{"card": "4111 1111 1111 1111"}"#), 200, "a test card");
    assert_eq!(send("application/octet-stream", None, card), 451, "a card labelled binary");
    assert_eq!(send("application/json", Some("compress"), card), 451, "an encoding sieve cannot read");
    assert_eq!(send("text/plain", Some("gzip"), &wire::gzip(KEY)[..40]), 451, "a damaged gzip body");
    bed.assert_clean_log();
}

#[test]
fn a_body_over_the_hold_limit_is_blocked_when_the_policy_says_so() {
    let bed = Bed::start(&format!("{POLICY}http: {{max_buffer_bytes: 4096, on_limit: block}}\n"));
    let body = format!(r#"{{"pad": "{}"}}"#, "x".repeat(8000));
    let reply = bed.send("POST", "/v1/big", &[("content-type", "application/json")], body.as_bytes());
    assert_eq!(reply.status, 403);
    bed.assert_clean_log();
}

#[test]
fn a_held_body_past_envoys_buffer_limit_gets_envoys_413_and_nothing_leaks() {
    // A policy that would hold more than the listener's 1 MiB
    // per_connection_buffer_limit_bytes: Envoy's limit decides first.
    let bed = Bed::start(&format!("{POLICY}http: {{max_buffer_bytes: 4194304, max_scan_bytes: 4194304}}\n"));
    let body = format!(r#"{{"card": "4111 1111 1111 1111", "pad": "{}"}}"#, "x".repeat(1536 * 1024));
    let reply = bed.send("POST", "/v1/big", &[("content-type", "application/json")], body.as_bytes());
    assert_eq!(reply.status, 413, "{}", reply.text());
    assert!(bed.received().iter().all(|r| !String::from_utf8_lossy(&r.body).contains("4111 1111")));
    bed.assert_clean_log();
}

#[test]
fn the_vm_configuration_is_the_default_policy_and_the_plugin_configuration_overrides_it() {
    let blocks = "categories:\n  credentials: {action: block}\n";
    let key = [("content-type", "text/plain")];
    let bed = Bed::start_with_vm_policy(blocks, "");
    assert_eq!(bed.send("POST", "/v1/upload", &key, KEY).status, 403, "the VM's policy applies");
    bed.assert_clean_log();
    let bed = Bed::start_with_vm_policy(blocks, "categories:\n  credentials: {action: monitor}\n");
    assert_eq!(bed.send("POST", "/v1/upload", &key, KEY).status, 200, "the plugin's policy wins");
    bed.assert_clean_log();
}

#[test]
fn a_bad_policy_pushed_to_a_running_envoy_is_refused_and_the_last_good_one_stays() {
    let bed = Bed::start_reloadable(POLICY);
    let key = [("content-type", "text/plain")];
    assert_eq!(bed.send("POST", "/v1/upload", &key, KEY).status, 403);
    let bad = "detectors:\n  - id: employee-id\n    category: pii\n    patterns: ['E\\d{6']\n";
    assert!(!bed.reload(bad), "Envoy rejects the listener whose policy sieve refused");
    assert!(bed.log().contains("detectors[0].patterns[0]"), "the reason is logged");
    assert_eq!(bed.send("POST", "/v1/upload", &key, KEY).status, 403, "the last good policy stays");
    assert!(bed.reload("categories:\n  credentials: {action: monitor}\n"), "a good policy is taken");
    assert_eq!(bed.send("POST", "/v1/upload", &key, KEY).status, 200, "and applies");
}

#[test]
fn streams_of_one_http2_connection_are_inspected_each_on_its_own_however_their_chunks_interleave() {
    let bed = Bed::start(POLICY);
    let (json, text) = ([("content-type", "application/json")], [("content-type", "text/plain")]);
    let clean: &[u8] = br#"{"order": 8, "note": "4111 alone is no card"}"#;
    // Each body in thirds, so the card and the key are cut while the other streams' chunks
    // come between their parts.
    let thirds = |b: &'static [u8]| -> Vec<&'static [u8]> { b.chunks(b.len().div_ceil(3)).collect() };
    let (card, key, plain) = (thirds(CARD_BODY), thirds(KEY), thirds(clean));
    let replies =
        bed.h2c_streams(&[("/v1/card", &json, &card), ("/v1/key", &text, &key), ("/v1/clean", &json, &plain)]);
    let statuses: Vec<_> = replies.iter().map(|r| r["status"].as_u64()).collect();
    assert_eq!(statuses, [Some(200), Some(403), Some(200)], "{replies:?}");
    assert!(replies[1]["body"].as_str().unwrap_or_default().contains("credentials"), "{replies:?}");
    let received = bed.received();
    let body_of = |path: &str| received.iter().find(|r| r.path == path && r.complete).map(|r| r.body.clone());
    assert_eq!(body_of("/v1/card").as_deref(), Some(REDACTED));
    assert_eq!(body_of("/v1/clean").as_deref(), Some(clean));
    // Envoy forwards request headers before the body arrives; the held body never follows.
    let key_upstream = |r: &&bed::Received| r.path == "/v1/key";
    assert!(received.iter().filter(key_upstream).all(|r| !r.complete && r.body.is_empty()), "{received:?}");
    bed.assert_clean_log();
}

/// Connections worker `n` of the bed's listener has accepted.
fn accepted_by(bed: &Bed, n: u32) -> u64 {
    let series = format!(
        "envoy_listener_worker_downstream_cx_total{{envoy_worker_id=\"{n}\",envoy_listener_address=\"127.0.0.1_{}\"}} ",
        bed.port
    );
    let stats = bed.stats();
    stats.lines().find_map(|l| l.strip_prefix(&series)?.trim().parse().ok()).unwrap_or(0)
}

/// Runs `exchange` (each on a connection of its own) until both workers
/// have accepted one since the call, which the kernel decides; how many ran.
fn on_both_workers(bed: &Bed, mut exchange: impl FnMut()) -> u64 {
    let before = [accepted_by(bed, 0), accepted_by(bed, 1)];
    let mut runs = 0;
    while runs < 60 && (accepted_by(bed, 0) == before[0] || accepted_by(bed, 1) == before[1]) {
        exchange();
        runs += 1;
    }
    assert!(accepted_by(bed, 0) > before[0] && accepted_by(bed, 1) > before[1], "both workers served: {runs} runs");
    runs
}

#[test]
fn two_workers_each_hold_the_policy_count_into_one_counter_and_keep_it_through_a_bad_reload() {
    // Istio's sidecars run two workers: each has a VM and a root context of its own.
    let bed = Bed::start_reloadable_with_workers(POLICY, 2);
    let (json, text) = ([("content-type", "application/json")], [("content-type", "text/plain")]);
    let sent = on_both_workers(&bed, || {
        assert_eq!(bed.send("POST", "/v1/orders", &json, CARD_BODY).status, 200);
        assert_eq!(bed.last_whole().body, REDACTED);
    });
    // Each worker adds its own counts to the same counter on its own tick.
    assert_eq!(bed.counter("sieve_exchanges_total{}", sent), Some(sent));
    let bad = "detectors:\n  - id: employee-id\n    category: pii\n    patterns: ['E\\d{6']\n";
    assert!(!bed.reload(bad));
    on_both_workers(&bed, || {
        assert_eq!(bed.send("POST", "/v1/upload", &text, KEY).status, 403, "the last good policy")
    });
    assert!(bed.reload("categories:\n  credentials: {action: monitor}\n"));
    on_both_workers(&bed, || assert_eq!(bed.send("POST", "/v1/upload", &text, KEY).status, 200, "the new policy"));
    assert!(!bed.log().contains("panicked"));
}

/// The compile times the filter logged, in milliseconds, one per configure.
fn compile_times(log: &str) -> Vec<f64> {
    log.lines().filter_map(|line| line.split("policy loaded in ").nth(1)?.split(" ms: ").next()?.parse().ok()).collect()
}

#[test]
fn each_configure_logs_how_long_its_worker_spent_compiling_the_policy() {
    let bed = Bed::start_reloadable(POLICY);
    let at_start = compile_times(&bed.log());
    assert!(!at_start.is_empty(), "{}", bed.log());
    assert!(bed.reload("categories:\n  credentials: {action: monitor}\n"));
    let key = [("content-type", "text/plain")];
    assert_eq!(bed.send("POST", "/v1/upload", &key, KEY).status, 200, "the new policy applies");
    let all = compile_times(&bed.log());
    assert!(all.len() > at_start.len(), "the reconfigure logged its time too:\n{}", bed.log());
    assert!(all.iter().all(|ms| *ms > 0.0 && *ms < 60_000.0), "{all:?}");
}

#[test]
fn a_bad_policy_is_refused_with_path_detector_and_reason() {
    let bad = "detectors:\n  - id: employee-id\n    category: pii\n    patterns: ['E\\d{6']\n";
    let log = match Bed::try_start(bad) {
        Ok(bed) => panic!("Envoy accepted a bad policy:\n{}", bed.log()),
        Err(log) => log,
    };
    assert!(
        log.contains("policy refused") && log.contains("detectors[0].patterns[0]") && log.contains("employee-id"),
        "{log}"
    );
}

#[test]
fn non_utf8_header_values_are_scanned_as_bytes() {
    let bed = Bed::start("");
    let request = b"GET /v1/x HTTP/1.1\r\nhost: sieve.test\r\nconnection: close\r\nx-raw: \xff\xfe card 4111 1111 1111 1111\r\n\r\n";
    let reply = bed.send_raw(request);
    assert_eq!(reply.status, 200);
    assert_eq!(bed.received()[0].header("x-sieve-detectors"), Some("credit-card"));
    bed.assert_clean_log();
}

#[test]
fn bodiless_responses_and_head_requests_pass() {
    let bed = Bed::start(POLICY);
    for status in [204, 304] {
        bed.answer_with(status, "application/json", b"");
        assert_eq!(bed.send("GET", "/v1/empty", &[], b"").status, status);
    }
    bed.answer_with(200, "application/json", CARD_BODY);
    let reply = bed.send("HEAD", "/v1/orders/7", &[], b"");
    assert_eq!(reply.status, 200);
    assert!(reply.body.is_empty());
    bed.assert_clean_log();
}

#[test]
fn random_traffic_never_breaks_the_filter() {
    let bed = Bed::start(POLICY);
    let mut rng = traffic::Rng::new(0x853c49e6748fea9b);
    let mut next = move || rng.step();
    let pieces: [&[u8]; 6] = [b"4111 1111 1111 1111", b"{\"a\": ", b"\xff\xfe", b"%4", b"a@b.io", b"--x\r\n"];
    let types = [
        "application/json",
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/octet-stream",
        "application/grpc",
        "multipart/form-data; boundary=x",
        "application/grpc-web-text",
    ];
    for _ in 0..40 {
        let mut body = Vec::new();
        for _ in 0..next() % 300 {
            if next() % 4 == 0 {
                body.extend_from_slice(pieces[(next() % 6) as usize]);
            } else {
                body.push(next() as u8);
            }
        }
        // A third of the bodies are labelled compressed: half of those are, the rest are not.
        let encoding = (next() % 3 == 0).then(|| wire::ENCODINGS[next() as usize % wire::ENCODINGS.len()]);
        let body = match encoding {
            Some((_, encode)) if next() % 2 == 0 => encode(&body),
            // A quarter of the rest are base64, as gRPC-Web's text mode sends them.
            _ if next() % 4 == 0 => wire::base64(&body),
            _ => body,
        };
        let mut headers = vec![("content-type", types[(next() % 7) as usize])];
        headers.extend(encoding.map(|(name, _)| ("content-encoding", name)));
        let answer = Answer::new(200, types[(next() % 7) as usize], &body);
        let encoded = encoding.map(|(name, _)| ("content-encoding".to_string(), name.to_string()));
        bed.answer(Answer { headers: encoded.into_iter().collect(), ..answer });
        let reply = bed.send("POST", "/v1/fuzz", &headers, &body);
        assert!([200, 403].contains(&reply.status), "status {}", reply.status);
    }
    bed.assert_clean_log();
}

const JSON: &[(&str, &str)] = &[("content-type", "application/json")];
const CHECKSUM: &[(&str, &str)] = &[("x-checksum", "abc123")];

#[test]
fn h2c_request_with_trailers_is_redacted_when_the_trailers_end_it() {
    let bed = Bed::start(POLICY);
    let b = CARD_BODY;
    let chunks: [&[u8]; 3] = [&b[..20], &b[20..35], &b[35..]];
    let reply = bed.send_h2c("/v1/orders", JSON, &chunks, CHECKSUM);
    assert_eq!(reply["status"], 200, "{reply}");
    let got = &bed.received()[0];
    assert!(got.complete);
    assert_eq!(
        String::from_utf8_lossy(&got.body),
        String::from_utf8_lossy(REDACTED),
        "the body ends with trailers, not end_of_stream"
    );
    assert_eq!(got.trailers, [("x-checksum".to_string(), "abc123".to_string())], "the trailers go on");
    bed.assert_clean_log();
}

#[test]
fn streaming_redaction_holds_a_body_that_announces_trailers_so_nothing_is_lost() {
    let bed = Bed::start("categories:\n  pci: {action: redact}\nhttp: {body_redaction: stream}\n");
    let headers = [("content-type", "application/json"), ("trailer", "x-checksum")];
    let b = CARD_BODY;
    let reply = bed.send_h2c("/v1/orders", &headers, &[&b[..30], &b[30..]], CHECKSUM);
    assert_eq!(reply["status"], 200, "{reply}");
    assert_eq!(String::from_utf8_lossy(&bed.received()[0].body), String::from_utf8_lossy(REDACTED));
    bed.assert_clean_log();
}

#[test]
fn h2c_request_with_trailers_carrying_a_key_is_blocked() {
    let bed = Bed::start(POLICY);
    let reply = bed.send_h2c("/v1/upload", JSON, &[&KEY[..30], &KEY[30..]], CHECKSUM);
    assert_eq!(reply["status"], 403, "{reply}");
    assert!(!reply["body"].as_str().unwrap().contains("MIIE"));
    bed.assert_clean_log();
}

#[test]
fn a_token_in_response_headers_blocks_the_response_before_it_leaves() {
    let bed = Bed::start(POLICY);
    let token = "ghp_0123456789abcdefghijABCDEFGHIJ012345";
    bed.answer(Answer {
        headers: vec![("x-debug-token".to_string(), token.to_string())],
        ..Answer::new(200, "application/json", b"{\"ok\":true}")
    });
    let reply = bed.send("GET", "/debug", &[], b"");
    assert_eq!(reply.status, 403, "{}", reply.text());
    assert!(reply.text().contains(r#""direction":"response""#), "{}", reply.text());
    assert_eq!(reply.header("x-debug-token"), None);
    assert!(!format!("{:?}{}", reply.headers, reply.text()).contains("ghp_"));
    bed.assert_clean_log();
}

#[test]
fn routes_turn_inspection_off_or_change_actions_per_path() {
    let bed = Bed::start(&format!(
        "{POLICY}http:\n  routes:\n    - {{paths: ['/healthz'], inspect: false}}\n    \
         - {{paths: ['/v1/cards/*'], actions: {{pci: block}}}}\n"
    ));
    let json = [("content-type", "application/json")];
    let reply = bed.send("POST", "/healthz", &json, CARD_BODY);
    assert_eq!(reply.status, 200);
    assert_eq!(String::from_utf8_lossy(&bed.received()[0].body), String::from_utf8_lossy(CARD_BODY), "not inspected");
    assert_eq!(bed.send("POST", "/v1/cards/7", &json, CARD_BODY).status, 403, "pci blocks here");
    for path in ["/healthz/../v1/cards/7", "/v1//%63ards/7", "/v1\\cards/7"] {
        assert_eq!(bed.send("POST", path, &json, CARD_BODY).status, 403, "{path} is /v1/cards/7");
    }
    assert_eq!(bed.send("POST", "/v1/orders", &json, CARD_BODY).status, 200);
    let orders = bed.received().into_iter().find(|r| r.path == "/v1/orders").expect("reached the upstream");
    assert_eq!(String::from_utf8_lossy(&orders.body), String::from_utf8_lossy(REDACTED), "the policy elsewhere");
    assert_eq!(bed.counter(r#"sieve_uninspected_total{reason="route"}"#, 1), Some(1));
    bed.assert_clean_log();
}

#[test]
fn routes_match_the_host_without_its_port_and_the_method() {
    let bed = Bed::start(&format!(
        "{POLICY}http:\n  routes:\n    - {{hosts: ['payments.internal'], methods: [PUT], actions: {{pci: block}}}}\n"
    ));
    let send = |method, host| {
        let headers = [("content-type", "application/json"), ("host", host)];
        bed.send(method, "/v1/cards/7", &headers, CARD_BODY).status
    };
    assert_eq!(send("PUT", "payments.internal:8443"), 403, "the route's host and method");
    for (method, host) in [("POST", "payments.internal"), ("PUT", "shop.internal")] {
        assert_eq!(send(method, host), 200, "{method} {host}: the policy elsewhere");
        assert_eq!(
            String::from_utf8_lossy(&bed.last_whole().body),
            String::from_utf8_lossy(REDACTED),
            "{method} {host}"
        );
    }
    bed.assert_clean_log();
}

#[test]
fn the_operators_own_detector_finds_values_under_its_json_paths_and_the_response_names_it() {
    let bed = Bed::start(
        "builtin: {exclude: [email]}\n\
         detectors:\n  - id: employee-id\n    category: pii\n    patterns: ['\\bE\\d{6}\\b']\n    \
         scope: {json_paths: ['*.employee_id']}\n    action: redact\n    redact: {method: replace, text: 'E******'}\n\
         http: {tag_response: true}\n",
    );
    let body = br#"{"staff": {"employee_id": "E123456"}, "ref": "E654321", "contact": "ann@example.com"}"#;
    let reply = bed.send("POST", "/v1/staff", &[("content-type", "application/json")], body);
    assert_eq!(reply.status, 200, "{}", reply.text());
    let got = bed.received().pop().unwrap();
    let expected = r#"{"staff": {"employee_id": "E******"}, "ref": "E654321", "contact": "ann@example.com"}"#;
    assert_eq!(String::from_utf8_lossy(&got.body), expected, "only under the key path; the email is not looked for");
    assert_eq!(got.header("x-sieve-detectors"), None, "the request's headers went upstream before its body came");
    assert_eq!(reply.header("x-sieve-detectors"), Some("employee-id"), "the response is tagged");
    let series = r#"sieve_findings_total{detector="employee-id",category="pii",action="redact",direction="request"}"#;
    assert_eq!(bed.counter(series, 1), Some(1));
    assert!(!bed.stats().contains(r#"detector="email""#), "email is left out");
    bed.assert_clean_log();
}

#[test]
fn the_access_log_names_what_was_found_in_both_directions_never_the_values() {
    let bed = Bed::start(POLICY);
    bed.answer_with(200, "application/json", br#"{"contact": "grace.hopper@example.com"}"#);
    let reply =
        bed.send("POST", "/v1/orders?notify=ann%40example.com", &[("content-type", "application/json")], CARD_BODY);
    assert_eq!(reply.status, 200);
    let lines = bed.access_log(1);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0]["sieve_categories"], "contact,pci", "{}", lines[0]);
    assert_eq!(lines[0]["sieve_detectors"], "credit-card,email", "{}", lines[0]);
    assert_eq!(lines[0]["path"], "/v1/orders", "the query string, which held an email, is not logged");
    assert!(!lines[0].to_string().contains("4111") && !lines[0].to_string().contains("hopper"));

    // The response finds what its request did not: the properties grow.
    bed.answer_with(200, "application/json", br#"{"contact": "grace.hopper@example.com"}"#);
    assert_eq!(bed.send("POST", "/v1/orders", &[("content-type", "application/json")], CARD_BODY).status, 200);
    let lines = bed.access_log(2);
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(lines[1]["sieve_categories"], "contact,pci", "{}", lines[1]);
    assert_eq!(lines[1]["sieve_detectors"], "credit-card,email", "{}", lines[1]);
    bed.assert_clean_log();
}
