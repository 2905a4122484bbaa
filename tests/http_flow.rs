//! The HTTP inspection logic natively: every action, split points, limits,
//! odd bodies, and random input for panic-freedom.

mod fixtures;
#[allow(dead_code)]
#[path = "../benches/traffic.rs"]
mod traffic;
mod wire;

use std::sync::Arc;

use fixtures::{CARD_BODY, KEY, REDACTED};
use sieve::flow::{BodyAction, Exchange, Fingerprints, HeaderAction, Inspector};
use sieve::policy::{ActionKind, Direction, Part};
use wire::{brotli, gzip, zstd, ENCODINGS};

fn inspector(policy: &str) -> Arc<Inspector> {
    Inspector::from_policy_text(policy).unwrap()
}

fn headers<'a>(pairs: &[(&'a str, &'a str)]) -> Vec<(&'a [u8], &'a [u8])> {
    pairs.iter().map(|(k, v)| (k.as_bytes(), v.as_bytes())).collect()
}

fn post(content_type: &str) -> Vec<(&[u8], &[u8])> {
    headers(&[
        (":method", "POST"),
        (":path", "/v1/pay"),
        (":authority", "api.example.com"),
        ("content-type", content_type),
        ("content-length", "100"),
        ("x-request-id", "req-1"),
    ])
}

const REDACT: &str = "categories:\n  pci: {action: redact}\n  credentials: {action: block}\n";

/// Feeds a body in chunks; returns the actions, the last one being the decision.
fn feed(ex: &mut Exchange, body: &[u8], splits: &[usize]) -> Vec<BodyAction> {
    let mut actions = Vec::new();
    let mut at = 0;
    for &s in splits.iter().filter(|&&s| s < body.len()).chain(std::iter::once(&body.len())) {
        actions.push(ex.request_body(&body[at..s], s == body.len()));
        at = s;
    }
    actions
}

#[test]
fn monitor_mode_streams_and_records_without_changing_anything() {
    let mut ex = Exchange::new(inspector(""));
    match ex.request_headers(&post("application/json"), false) {
        HeaderAction::Continue { remove_content_length, set, .. } => {
            assert!(!remove_content_length, "monitor mode never rewrites bodies");
            assert!(set.is_empty());
        }
        other => panic!("{other:?}"),
    }
    assert!(feed(&mut ex, CARD_BODY, &[10, 30]).iter().all(|a| *a == BodyAction::Continue));
    let r = ex.record();
    assert_eq!(r.detectors(), ["credit-card"]);
    let f = &r.findings[0];
    assert_eq!((f.direction, f.part, f.action), (Direction::Request, Part::Body, ActionKind::Monitor));
    assert_eq!(f.key_path.as_deref(), Some("$.card"));
    assert!(!r.to_json().contains("4111"), "the record never holds the value");
}

/// Two cards in one body, recorded with the fingerprints `fingerprints` makes.
fn fingerprinted(insp: &Arc<Inspector>, fingerprints: Fingerprints) -> Vec<Option<String>> {
    let mut ex = Exchange::new(Arc::clone(insp)).fingerprints(fingerprints);
    ex.request_headers(&post("application/json"), false);
    feed(&mut ex, br#"{"cards": ["4111 1111 1111 1111", "5555 5555 5555 4444"]}"#, &[]);
    assert_eq!(ex.record().findings.len(), 2);
    assert!(!ex.record().to_json().contains("4111"));
    ex.record().findings.iter().map(|f| f.fingerprint.clone()).collect()
}

#[test]
fn fingerprints_are_made_only_where_the_log_line_is_kept() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static ASKED: AtomicUsize = AtomicUsize::new(0);
    fn dropped() -> bool {
        ASKED.fetch_add(1, Ordering::SeqCst);
        false
    }
    // One inspector: without a configured key, each has a random one.
    let insp = inspector("");
    let always = fingerprinted(&insp, Fingerprints::Always);
    assert!(always.iter().all(|f| f.as_ref().is_some_and(|f| f.len() == 12)), "{always:?}");
    assert_ne!(always[0], always[1], "one fingerprint per value");
    assert_eq!(fingerprinted(&insp, Fingerprints::Ask(|| true)), always, "the same keyed hash when the line is kept");
    assert_eq!(fingerprinted(&insp, Fingerprints::Ask(dropped)), [None, None]);
    assert_eq!(ASKED.load(Ordering::SeqCst), 1, "asked once, at the first finding");
    assert_eq!(fingerprinted(&insp, Fingerprints::Never), [None, None]);
}

#[test]
fn redaction_holds_the_body_and_replaces_it_at_every_split_point() {
    let insp = inspector(REDACT);
    for split in 0..=CARD_BODY.len() {
        let mut ex = Exchange::new(Arc::clone(&insp));
        let HeaderAction::Continue { remove_content_length, .. } = ex.request_headers(&post("application/json"), false)
        else {
            panic!()
        };
        assert!(remove_content_length, "the body may change length");
        let actions = feed(&mut ex, CARD_BODY, &[split]);
        assert_eq!(
            actions[0],
            if split == CARD_BODY.len() { BodyAction::Replace(REDACTED.to_vec()) } else { BodyAction::Hold }
        );
        assert_eq!(actions.last().unwrap(), &BodyAction::Replace(REDACTED.to_vec()), "split {split}");
    }
}

#[test]
fn credentials_in_the_body_block_with_a_json_reply_that_names_no_value() {
    let mut ex = Exchange::new(inspector(REDACT));
    ex.request_headers(&post("text/plain"), false);
    let actions = feed(&mut ex, KEY, &[20]);
    let BodyAction::Block(reply) = actions.last().unwrap() else { panic!("{actions:?}") };
    assert_eq!(reply.status, 403);
    let body: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
    assert_eq!(body["categories"], serde_json::json!(["credentials"]));
    assert_eq!(body["request_id"], "req-1");
    assert!(!reply.body.contains("MIIE"));
    assert!(ex.record().blocked);
}

#[test]
fn header_findings_tag_block_and_redact_in_the_headers_callback() {
    let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyIn0.c2lnbmF0dXJlc2lnbmF0dXJl";
    let mut h = post("application/json");
    let bearer = format!("Bearer {jwt}");
    h.push((b"x-debug-token", bearer.as_bytes()));
    match Exchange::new(inspector("")).request_headers(&h, true) {
        HeaderAction::Continue { tags, .. } => {
            let expected =
                [("x-sieve-categories", Some("credentials".into())), ("x-sieve-detectors", Some("jwt".into()))];
            assert_eq!(tags, expected);
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(Exchange::new(inspector(REDACT)).request_headers(&h, true), HeaderAction::Block(_)));
    let mut h = post("application/json");
    h.push((b"x-customer", b"ann@example.com"));
    match Exchange::new(inspector("categories:\n  contact: {action: redact}\n")).request_headers(&h, true) {
        HeaderAction::Continue { set, .. } => {
            assert_eq!(set, vec![("x-customer".to_string(), b"***************".to_vec())])
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn header_values_are_scanned_with_their_escapes_decoded() {
    // Cookies as PHP and Express write them, and a redirect's query.
    let policy = "categories:\n  pci: {action: redact}\nredaction: {hash_key: 'a key of sixteen bytes or more'}\n";
    let insp = inspector(policy);
    let mut h = post("application/json");
    h.push((b"cookie", b"theme=dark; email=ann%40example.com; card=4111%201111%201111%201111"));
    h.push((b"referer", b"https://shop.example/signup?email=bob%40example.org"));
    let mut ex = Exchange::new(Arc::clone(&insp));
    match ex.request_headers(&h, false) {
        HeaderAction::Continue { set, .. } => assert_eq!(
            set,
            vec![(
                "cookie".to_string(),
                b"theme=dark; email=ann%40example.com; card=****%20****%20****%201111".to_vec()
            )],
            "the card's replacement is escaped as the value was"
        ),
        other => panic!("{other:?}"),
    }
    let found: Vec<(&str, Option<&str>)> =
        ex.record().findings.iter().map(|f| (f.detector.as_str(), f.header.as_deref())).collect();
    assert_eq!(found, [("email", Some("cookie")), ("credit-card", Some("cookie")), ("email", Some("referer"))]);
    // The fingerprint is the value's, as it would be found unescaped in a body.
    let mut plain = Exchange::new(Arc::clone(&insp));
    plain.request_headers(&post("application/json"), false);
    plain.request_body(&br#"{"email": "ann@example.com"}"#[..], true);
    assert_eq!(ex.record().findings[0].fingerprint, plain.record().findings[0].fingerprint);
    assert!(ex.record().findings[0].fingerprint.is_some());
}

fn plain_get() -> Vec<(&'static [u8], &'static [u8])> {
    headers(&[(":path", "/v1/orders"), (":method", "GET")])
}

#[test]
fn tags_a_peer_sent_are_replaced_or_removed_and_their_values_scanned() {
    let tags_of = |action| match action {
        HeaderAction::Continue { tags, .. } => tags,
        other => panic!("{other:?}"),
    };
    let forged = |extra: (&'static [u8], &'static [u8])| {
        let mut h = headers(&[(":path", "/v1/orders"), ("x-sieve-categories", "none")]);
        h.push(extra);
        h
    };
    // Nothing found: the peer's tags are removed, inspected or not.
    let removed = vec![("x-sieve-categories", None), ("x-sieve-detectors", None)];
    let clean = forged((b"x-note", b"hello"));
    assert_eq!(tags_of(Exchange::new(inspector("")).request_headers(&clean, true)), removed);
    let uninspected = "http: {routes: [{paths: ['/v1/*'], inspect: false}]}";
    assert_eq!(tags_of(Exchange::new(inspector(uninspected)).request_headers(&clean, true)), removed);
    // A value hidden in a header named like a tag is found, and the tags say so.
    let hidden = forged((b"x-sieve-detectors", b"4111 1111 1111 1111"));
    let expected = [("x-sieve-categories", Some("pci".into())), ("x-sieve-detectors", Some("credit-card".into()))];
    assert_eq!(tags_of(Exchange::new(inspector("")).request_headers(&hidden, true)), expected);
    // Untagged, the peer's headers are left alone.
    let untagged = Exchange::new(inspector("http: {tag_request: false}")).request_headers(&clean, true);
    assert_eq!(tags_of(untagged), []);
    // The upstream's, on the response the client gets, when responses are tagged.
    let mut ex = Exchange::new(inspector("http: {tag_response: true}"));
    ex.request_headers(&plain_get(), true);
    let answer = headers(&[(":status", "200"), ("x-sieve-detectors", "none")]);
    assert_eq!(tags_of(ex.response_headers(&answer, true)), removed);
    // Nothing sent and nothing found: no header calls.
    assert_eq!(tags_of(Exchange::new(inspector("")).request_headers(&plain_get(), true)), []);
}

#[test]
fn a_detector_scoped_to_header_names_looks_only_there() {
    let policy = "detectors:\n  - id: tenant-key\n    category: credentials\n    patterns: ['\\bTK-[0-9]{8}\\b']\n    \
                  scope: {headers: ['x-tenant-*']}\n";
    let mut ex = Exchange::new(inspector(policy));
    let h = headers(&[(":path", "/"), (":method", "GET"), ("x-tenant-key", "TK-12345678"), ("x-note", "TK-87654321")]);
    ex.request_headers(&h, true);
    let found: Vec<_> = ex.record().findings.iter().map(|f| (f.detector.as_str(), f.header.as_deref())).collect();
    assert_eq!(found, vec![("tenant-key", Some("x-tenant-key"))]);
}

#[test]
fn infrastructure_headers_are_skipped_unless_the_policy_scans_them() {
    let h = headers(&[
        (":path", "/"),
        (":method", "GET"),
        ("x-request-id", "4532-2766-4457-7020"),
        ("X-B3-TraceId", "10.20.30.40"),
        ("x-forwarded-for", "203.0.113.7, 10.1.2.3"),
        ("x-customer", "ann@example.com"),
    ]);
    let found = |policy: &str| {
        let mut ex = Exchange::new(inspector(policy));
        ex.request_headers(&h, true);
        ex.record().findings.iter().map(|f| f.header.clone().unwrap_or_default()).collect::<Vec<_>>()
    };
    assert_eq!(found(""), vec!["x-customer"], "skipped by default, case-insensitively");
    let all = ["x-request-id", "X-B3-TraceId", "x-forwarded-for", "x-forwarded-for", "x-customer"];
    assert_eq!(found("http: {skip_headers: []}"), all);
    assert_eq!(found("http: {skip_headers: ['x-cust*']}"), all[..4]);
}

#[test]
fn a_value_or_url_found_clean_is_found_again_where_other_detectors_or_context_words_apply() {
    let policy = "detectors:\n  - id: tenant-key\n    category: credentials\n    patterns: ['\\bTK-[0-9]{8}\\b']\n    \
                  scope: {hosts: ['a.example']}\n  - id: employee-id\n    category: pii\n    \
                  patterns: [{regex: '\\bE[0-9]{6}\\b', score: 0.3}]\n    context: {words: [employee]}\n";
    let inspector = inspector(policy);
    let found_at = |host: &str, path: &str, name: &str, value: &str| {
        let mut ex = Exchange::new(Arc::clone(&inspector));
        ex.request_headers(&headers(&[(":authority", host), (":path", path), (":method", "GET"), (name, value)]), true);
        ex.record().findings.iter().map(|f| f.detector.clone()).collect::<Vec<_>>()
    };
    let found = |host: &str, name: &str, value: &str| found_at(host, "/", name, value);
    for _ in 0..2 {
        assert_eq!(found_at("b.example", "/t/TK-12345678", "x-note", "hi"), Vec::<String>::new());
        assert_eq!(found_at("a.example", "/t/TK-12345678", "x-note", "hi"), vec!["tenant-key"], "URLs too");
        assert_eq!(found("b.example", "x-note", "TK-12345678"), Vec::<String>::new(), "not scoped to b.example");
        assert_eq!(found("a.example", "x-note", "TK-12345678"), vec!["tenant-key"]);
        assert_eq!(found("a.example", "x-note", "E123456"), Vec::<String>::new(), "no context word");
        assert_eq!(found("a.example", "x-employee", "E123456"), vec!["employee-id"], "the name is the context");
    }
}

#[test]
fn a_header_value_found_before_is_reported_and_rewritten_again_the_same_way() {
    // Repeated values come from the memo of found values: what it gives back
    // must be what a scan gives, exchange after exchange, and a route that
    // redacts otherwise must not get another route's rewrite.
    let policy = "categories:\n  contact: {action: redact}\nhttp:\n  routes:\n    \
                  - paths: ['/monitor/*']\n      actions: {contact: monitor}\n";
    let inspector = inspector(policy);
    let jwt = "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyIn0.c2lnbmF0dXJlc2lnbmF0dXJl";
    let exchange = |path: &str| {
        let mut ex = Exchange::new(Arc::clone(&inspector)).fingerprints(Fingerprints::Always);
        let h =
            headers(&[(":path", path), (":method", "GET"), ("authorization", jwt), ("x-customer", "ann@example.com")]);
        let set = match ex.request_headers(&h, true) {
            HeaderAction::Continue { set, .. } => set,
            other => panic!("{other:?}"),
        };
        let found = ex
            .record()
            .findings
            .iter()
            .map(|f| (f.detector.clone(), f.header.clone(), f.start, f.end, f.action, f.fingerprint.clone()));
        (set, found.collect::<Vec<_>>())
    };
    let masked = vec![("x-customer".to_string(), b"***************".to_vec())];
    let (first_set, first) = exchange("/v1/a");
    assert_eq!(first_set, masked);
    let detectors: Vec<&str> = first.iter().map(|f| f.0.as_str()).collect();
    assert_eq!(detectors, ["jwt", "email"]);
    assert!(first.iter().all(|f| f.5.is_some()), "fingerprinted");
    for _ in 0..3 {
        assert_eq!(exchange("/v1/a"), (masked.clone(), first.clone()));
        let (set, found) = exchange("/monitor/a");
        assert_eq!(set, Vec::new(), "monitored here: not rewritten");
        assert_eq!(found.iter().map(|f| f.4).collect::<Vec<_>>(), [ActionKind::Monitor, ActionKind::Monitor]);
        assert_eq!(
            found.iter().map(|f| (f.2, f.3, &f.5)).collect::<Vec<_>>(),
            first.iter().map(|f| (f.2, f.3, &f.5)).collect::<Vec<_>>()
        );
    }
}

#[test]
fn query_strings_are_scanned_decoded() {
    let mut ex = Exchange::new(inspector(""));
    ex.request_headers(&headers(&[(":path", "/search?q=x&email=ann%40example.com"), (":method", "GET")]), true);
    let f = &ex.record().findings[0];
    assert_eq!((f.detector.as_str(), f.part), ("email", Part::Url));
    assert_eq!(f.key_path.as_deref(), Some("$.email"));
}

#[test]
fn urls_are_redacted_in_the_path_and_query_and_never_logged_in_clear() {
    let get = |path: &'static str| headers(&[(":path", path), (":method", "GET"), (":authority", "api")]);
    let mut ex = Exchange::new(inspector(REDACT));
    let action = ex.request_headers(&get("/v1/cards/4111111111111111?card=4111+1111+1111+1111&page=2"), true);
    let HeaderAction::Continue { set, .. } = action else { panic!("{action:?}") };
    assert_eq!(
        set,
        vec![(":path".to_string(), b"/v1/cards/************1111?card=****%20****%20****%201111&page=2".to_vec())]
    );
    assert_eq!(ex.record().path.as_deref(), Some("/v1/cards/****************"));
    assert_eq!(ex.record().findings.len(), 2);

    let mut ex = Exchange::new(inspector(""));
    let action = ex.request_headers(&get("/v1/cards/4111111111111111"), true);
    assert!(matches!(action, HeaderAction::Continue { set, .. } if set.is_empty()), "monitor mode changes no value");
    assert_eq!(ex.record().path.as_deref(), Some("/v1/cards/****************"), "the record never holds the value");
    assert!(!ex.record().to_json().contains("4111"));

    // Offsets count raw bytes: a byte that is not UTF-8 ahead of the value moves nothing.
    let mut ex = Exchange::new(inspector(""));
    let h: [(&[u8], &[u8]); 2] = [(b":path", b"/\xff\xfe/4111111111111111"), (b":method", b"GET")];
    ex.request_headers(&h, true);
    assert_eq!(ex.record().path.as_deref(), Some("/\u{FFFD}\u{FFFD}/****************"));
}

#[test]
fn forms_are_held_and_redacted_in_their_encoding() {
    let mut ex = Exchange::new(inspector(REDACT));
    ex.request_headers(&post("application/x-www-form-urlencoded"), false);
    let actions = feed(&mut ex, b"name=Ann&card=4111+1111+1111+1111", &[12]);
    assert_eq!(actions.last().unwrap(), &BodyAction::Replace(b"name=Ann&card=****%20****%20****%201111".to_vec()));
}

fn post_encoded<'a>(content_type: &'a str, encoding: &'a str) -> Vec<(&'a [u8], &'a [u8])> {
    let mut h = post(content_type);
    h.push((b"content-encoding", encoding.as_bytes()));
    h
}

#[test]
fn binary_bodies_and_unknown_encodings_are_skipped_and_say_so() {
    let mut ex = Exchange::new(inspector(REDACT));
    ex.request_headers(&post("application/octet-stream"), false);
    assert!(!ex.reads_body(Direction::Request), "the filter need not fetch a skipped body");
    assert_eq!(feed(&mut ex, CARD_BODY, &[]), vec![BodyAction::Continue]);
    assert_eq!(ex.record().skipped, vec![(Direction::Request, "binary content type")]);
    let mut ex = Exchange::new(inspector(&format!("{REDACT}http: {{scan_binary: true}}")));
    ex.request_headers(&post("application/octet-stream"), false);
    assert!(ex.reads_body(Direction::Request));
    assert_eq!(feed(&mut ex, CARD_BODY, &[]), vec![BodyAction::Replace(REDACTED.to_vec())], "the policy says scan");
    let mut ex = Exchange::new(inspector(REDACT));
    ex.request_headers(&post_encoded("application/json", "compress"), false);
    assert_eq!(feed(&mut ex, b"\x1f\x9d\x90", &[]), vec![BodyAction::Continue]);
    assert_eq!(ex.record().skipped, vec![(Direction::Request, "unsupported content-encoding")]);
}

#[test]
fn compressed_bodies_are_decoded_and_can_be_blocked_but_are_not_rewritten() {
    for (encoding, encode) in ENCODINGS {
        let mut ex = Exchange::new(inspector(REDACT));
        let HeaderAction::Continue { remove_content_length, .. } =
            ex.request_headers(&post_encoded("text/plain", encoding), false)
        else {
            panic!()
        };
        assert!(!remove_content_length, "a compressed body is never rewritten");
        let body = encode(KEY);
        assert!(matches!(feed(&mut ex, &body, &[5]).last().unwrap(), BodyAction::Block(_)), "{encoding}");

        let mut ex = Exchange::new(inspector(REDACT));
        ex.request_headers(&post_encoded("application/json", encoding), false);
        assert_eq!(feed(&mut ex, &encode(CARD_BODY), &[]), vec![BodyAction::Continue]);
        assert_eq!(ex.record().detectors(), ["credit-card"], "{encoding}");
        assert_eq!(ex.record().skipped, vec![(Direction::Request, "redaction of a compressed body")]);
    }
}

#[test]
fn compressed_bodies_under_monitor_mode_flow_and_are_scanned_at_the_end() {
    for (encoding, encode) in ENCODINGS {
        let mut ex = Exchange::new(inspector(""));
        ex.request_headers(&post_encoded("application/json", encoding), false);
        let body = encode(CARD_BODY);
        assert_eq!(feed(&mut ex, &body, &[7, 20]), vec![BodyAction::Continue; 3]);
        assert_eq!(ex.record().findings[0].key_path.as_deref(), Some("$.card"), "{encoding}");
    }
}

#[test]
fn compression_bombs_and_garbage_are_defused() {
    // 16 MiB of one byte: at most a few KiB on the wire.
    let zeros = vec![b'a'; 16 << 20];
    let bombs = [("gzip", gzip(&zeros)), ("br", brotli(&zeros, 11, 24)), ("zstd", zstd(&zeros))];
    for (encoding, bomb) in &bombs {
        let mut ex = Exchange::new(inspector(&format!("{REDACT}http: {{max_scan_bytes: 65536}}")));
        ex.request_headers(&post_encoded("text/plain", encoding), false);
        assert_eq!(feed(&mut ex, bomb, &[]), vec![BodyAction::Continue]);
        assert_eq!(ex.record().truncated, vec![Direction::Request], "{encoding}");
        // Held (a detector blocks) or copied (monitor mode), the bomb is blocked when the policy says so.
        for policy in [REDACT, ""] {
            let mut ex =
                Exchange::new(inspector(&format!("{policy}\nhttp: {{max_scan_bytes: 65536, on_limit: block}}")));
            ex.request_headers(&post_encoded("text/plain", encoding), false);
            let actions = feed(&mut ex, bomb, &[100]);
            assert!(matches!(actions.last(), Some(BodyAction::Block(_))), "{encoding}, policy {policy:?}");
            assert_eq!(ex.record().truncated, vec![Direction::Request], "counted once");
        }
    }
    let bomb = &bombs[0].1;
    // Past the hold limit, and what was held expands past the scan limit: one body, truncated once.
    let mut ex = Exchange::new(inspector(&format!("{REDACT}http: {{max_scan_bytes: 65536, max_buffer_bytes: 4096}}")));
    ex.request_headers(&post_encoded("text/plain", "gzip"), false);
    assert_eq!(feed(&mut ex, bomb, &[]), vec![BodyAction::Continue]);
    assert_eq!(ex.record().truncated, vec![Direction::Request]);
    let garbage: [(&str, &[u8]); 3] = [
        ("gzip", b"\x1f\x8b\x08\x00 not really"),
        ("br", b"\xff\xff not brotli"),
        ("zstd", b"\x28\xb5\x2f\xfd not zstd"),
    ];
    for (encoding, garbage) in garbage {
        let mut ex = Exchange::new(inspector(REDACT));
        ex.request_headers(&post_encoded("text/plain", encoding), false);
        assert_eq!(feed(&mut ex, garbage, &[]), vec![BodyAction::Continue]);
        assert_eq!(ex.record().skipped, vec![(Direction::Request, "undecodable body")], "{encoding}");
    }
}

#[test]
fn stacked_codings_and_every_gzip_member_are_read() {
    // gzip, then brotli over it: undone from the last applied.
    let mut ex = Exchange::new(inspector(REDACT));
    ex.request_headers(&post_encoded("application/json", "gzip, br"), false);
    assert_eq!(feed(&mut ex, &brotli(&gzip(CARD_BODY), 5, 22), &[9]), vec![BodyAction::Hold, BodyAction::Continue]);
    assert_eq!(ex.record().detectors(), ["credit-card"]);
    // A list over two lines is one list.
    let mut ex = Exchange::new(inspector(REDACT));
    let mut lines = post_encoded("text/plain", "deflate");
    lines.push((b"Content-Encoding", b"zstd"));
    ex.request_headers(&lines, false);
    let body = zstd(&miniz_oxide::deflate::compress_to_vec_zlib(KEY, 6));
    assert!(matches!(feed(&mut ex, &body, &[]).last(), Some(BodyAction::Block(_))));
    // The key in a second gzip member, behind a clean first one, as clients decode them.
    let mut members = gzip(b"nothing to see here\n");
    members.extend(gzip(KEY));
    let mut ex = Exchange::new(inspector(REDACT));
    ex.request_headers(&post_encoded("text/plain", "gzip"), false);
    assert!(matches!(feed(&mut ex, &members, &[30]).last(), Some(BodyAction::Block(_))));
    assert!(ex.record().skipped.is_empty());
}

#[test]
fn unreadable_bodies_pass_and_say_so_or_are_blocked_as_the_policy_says() {
    let block = format!("{REDACT}http: {{on_unreadable: block}}");
    let refused = [
        (post_encoded("application/json", "compress"), "unsupported content-encoding"),
        (post_encoded("application/json", "gzip, gzip, gzip, gzip"), "too many content-codings"),
        (post("application/json; charset=utf-16"), "unsupported charset"),
    ];
    for (headers, why) in &refused {
        let mut ex = Exchange::new(inspector(REDACT));
        assert!(matches!(ex.request_headers(headers, false), HeaderAction::Continue { .. }), "{why}");
        assert_eq!(ex.record().skipped, vec![(Direction::Request, *why)]);
        // Refused before a byte goes upstream.
        let mut ex = Exchange::new(inspector(&block));
        let HeaderAction::Block(reply) = ex.request_headers(headers, false) else { panic!("{why}") };
        assert_eq!(reply.status, 403);
        let body: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
        assert_eq!(body["error"], "blocked by sieve: unreadable body", "{why}");
        assert_eq!(ex.record().skipped, vec![(Direction::Request, *why)]);
    }
    // A binary type is skipped by the policy's choice (scan_binary), not refused.
    let mut ex = Exchange::new(inspector(&block));
    assert!(matches!(ex.request_headers(&post("image/png"), false), HeaderAction::Continue { .. }));
    // So is an unreadable response, from its headers.
    let mut ex = Exchange::new(inspector(&block));
    ex.request_headers(&headers(&[(":path", "/"), (":method", "GET")]), true);
    let response = headers(&[(":status", "200"), ("content-type", "text/plain"), ("content-encoding", "exi")]);
    assert!(matches!(ex.response_headers(&response, false), HeaderAction::Block(_)));
}

#[test]
fn a_damaged_body_is_scanned_up_to_the_damage_then_passes_or_is_blocked() {
    // A card, then text that does not compress away, and the stream cut short.
    let rest: String = (0..400).map(|i| format!("line {i}: {}\n", i * 7919 % 10007)).collect();
    let stream = gzip(&[CARD_BODY, rest.as_bytes()].concat());
    let damaged = &stream[..stream.len() / 2];
    for policy in ["", REDACT] {
        let mut ex = Exchange::new(inspector(policy));
        ex.request_headers(&post_encoded("application/json", "gzip"), false);
        let actions = feed(&mut ex, damaged, &[8]);
        assert!(actions.iter().all(|a| matches!(a, BodyAction::Hold | BodyAction::Continue)), "{policy:?}");
        assert_eq!(actions.last(), Some(&BodyAction::Continue), "{policy:?}");
        assert_eq!(ex.record().detectors(), ["credit-card"], "{policy:?}");
        assert_eq!(ex.record().skipped[0], (Direction::Request, "undecodable body"));
        // Blocked, and held first even under monitor mode, so none of it left.
        let mut ex = Exchange::new(inspector(&format!("{policy}\nhttp: {{on_unreadable: block}}")));
        ex.request_headers(&post_encoded("application/json", "gzip"), false);
        let actions = feed(&mut ex, damaged, &[8]);
        assert_eq!(actions[0], BodyAction::Hold, "{policy:?}");
        let Some(BodyAction::Block(reply)) = actions.last() else { panic!("{policy:?}: {actions:?}") };
        assert!(reply.body.contains("unreadable body"), "{}", reply.body);
        // A whole stream under the same policy passes.
        let mut ex = Exchange::new(inspector(&format!("{policy}\nhttp: {{on_unreadable: block}}")));
        ex.request_headers(&post_encoded("application/json", "gzip"), false);
        assert_eq!(feed(&mut ex, &stream, &[8]), vec![BodyAction::Hold, BodyAction::Continue], "{policy:?}");
    }
}

#[test]
fn bodies_over_the_buffer_limit_pass_tagged_truncated_or_block() {
    let big = format!("{{\"pad\": \"{}\", \"card\": \"4111111111111111\"}}", "x".repeat(2000));
    let mut ex = Exchange::new(inspector(&format!("{REDACT}http: {{max_buffer_bytes: 1000}}")));
    ex.request_headers(&post("application/json"), false);
    let actions = feed(&mut ex, big.as_bytes(), &[500, 900, 1500]);
    assert_eq!(actions, vec![BodyAction::Hold, BodyAction::Hold, BodyAction::Continue, BodyAction::Continue]);
    assert_eq!(ex.record().truncated, vec![Direction::Request]);
    let mut ex = Exchange::new(inspector(&format!("{REDACT}http: {{max_buffer_bytes: 1000, on_limit: block}}")));
    ex.request_headers(&post("application/json"), false);
    assert!(matches!(feed(&mut ex, big.as_bytes(), &[1500])[0], BodyAction::Block(_)));
}

#[test]
fn the_part_of_a_body_within_the_buffer_limit_is_acted_on_before_the_rest_passes() {
    let policy = format!("{REDACT}http: {{max_buffer_bytes: 1000}}");
    // A key within the limit blocks, whatever on_limit says.
    assert!(KEY.len() < 4000);
    let body = [KEY, &b" ".repeat(8000)[..]].concat();
    let mut ex = Exchange::new(inspector(&format!("{REDACT}http: {{max_buffer_bytes: 4000}}")));
    ex.request_headers(&post("text/plain"), false);
    let actions = feed(&mut ex, &body, &[600, 5000]);
    assert!(matches!(actions[..2], [BodyAction::Hold, BodyAction::Block(_)]), "{actions:?}");
    // A card within it is redacted, and the rest goes on as it came, unscanned.
    let tail = [&b"x".repeat(1500)[..], b" 5555 5555 5555 4444"].concat();
    let body = [&b"card 4111 1111 1111 1111 "[..], &tail].concat();
    let mut ex = Exchange::new(inspector(&policy));
    ex.request_headers(&post("text/plain"), false);
    let actions = feed(&mut ex, &body, &[1200]);
    // The first chunk, 1,200 bytes, passes the limit: it goes on, redacted in its first 1,000.
    let expected = [&b"card **** **** **** 1111 "[..], &tail[..1200 - 25]].concat();
    assert_eq!(actions, vec![BodyAction::Replace(expected), BodyAction::Continue]);
    assert_eq!((ex.record().findings.len(), &ex.record().truncated[..]), (1, &[Direction::Request][..]));
    // A compressed body cut at the limit is past it, not damaged.
    let noise: Vec<u8> = (0..20_000u32).flat_map(|i| (i.wrapping_mul(2_654_435_761) >> 7).to_le_bytes()).collect();
    let mut ex = Exchange::new(inspector(&format!("{REDACT}http: {{max_buffer_bytes: 1000, on_unreadable: block}}")));
    ex.request_headers(&post_encoded("text/plain", "gzip"), false);
    assert_eq!(feed(&mut ex, &gzip(&noise), &[500]), vec![BodyAction::Hold, BodyAction::Continue]);
    assert_eq!((&ex.record().truncated[..], &ex.record().skipped[..]), (&[Direction::Request][..], &[][..]));
}

#[test]
fn a_response_copied_or_streamed_that_must_be_blocked_once_its_bytes_went_out_is_reset() {
    // Monitor mode copies a compressed body as it passes; a bomb past the scan limit is blocked.
    let mut ex = Exchange::new(inspector("http: {max_scan_bytes: 65536, on_limit: block}"));
    ex.request_headers(&headers(&[(":path", "/"), (":method", "GET")]), true);
    let response = headers(&[(":status", "200"), ("content-type", "text/plain"), ("content-encoding", "gzip")]);
    ex.response_headers(&response, false);
    let bomb = gzip(&vec![b'a'; 4 << 20]);
    let (first, last) = bomb.split_at(bomb.len() / 2);
    assert_eq!(ex.response_body(first, false), BodyAction::Continue, "copied as it passes");
    assert_eq!(ex.response_body(last, true), BodyAction::Reset, "its first half reached the client");
    assert!(ex.record().blocked);
    // So does a monitored response streamed past the scan limit.
    let mut ex = Exchange::new(inspector("http: {max_scan_bytes: 1000, on_limit: block}"));
    ex.request_headers(&headers(&[(":path", "/"), (":method", "GET")]), true);
    ex.response_headers(&headers(&[(":status", "200"), ("content-type", "text/plain")]), false);
    assert_eq!(ex.response_body(vec![b'a'; 800], false), BodyAction::Continue);
    assert_eq!(ex.response_body(vec![b'a'; 800], false), BodyAction::Reset);
}

#[test]
fn responses_are_redacted_and_our_own_reply_is_not_inspected() {
    let mut ex = Exchange::new(inspector(REDACT));
    ex.request_headers(&headers(&[(":path", "/"), (":method", "GET")]), true);
    let HeaderAction::Continue { remove_content_length, .. } =
        ex.response_headers(&headers(&[(":status", "200"), ("content-type", "application/json")]), false)
    else {
        panic!()
    };
    assert!(remove_content_length);
    assert_eq!(ex.response_body(CARD_BODY, true), BodyAction::Replace(REDACTED.to_vec()));

    let mut ex = Exchange::new(inspector(REDACT));
    ex.request_headers(&headers(&[(":path", "/"), ("authorization", "Basic dXNlcjpwYXNzd29yZA==")]), true);
    assert!(ex.inspecting());
    ex.local_reply_sent();
    assert!(!ex.inspecting(), "the reply's own callbacks are let through");
    let n = ex.record().findings.len();
    ex.response_headers(&headers(&[(":status", "403"), ("content-type", "application/json")]), false);
    assert_eq!(ex.response_body(CARD_BODY, true), BodyAction::Continue);
    assert_eq!(ex.record().findings.len(), n, "the local reply is not scanned or counted");
}

#[test]
fn a_blocked_response_body_becomes_the_block_reply_in_the_encoding_its_headers_announced() {
    for encoding in ["identity", "gzip", "deflate", "br", "zstd", "gzip, br"] {
        let mut ex = Exchange::new(inspector(REDACT));
        ex.request_headers(&headers(&[(":path", "/"), (":method", "GET"), ("x-request-id", "r-7")]), true);
        let response = headers(&[(":status", "200"), ("content-type", "text/plain"), ("content-encoding", encoding)]);
        let HeaderAction::Continue { remove_content_length, .. } = ex.response_headers(&response, false) else {
            panic!()
        };
        assert!(remove_content_length, "{encoding}: the reply's length is not the body's");
        let body = wire::encode(encoding, KEY);
        assert_eq!(ex.response_body(&body[..], false), BodyAction::Hold);
        let BodyAction::Replace(replaced) = ex.response_body(&b""[..], true) else { panic!("{encoding}") };
        let reply: serde_json::Value = serde_json::from_slice(&wire::decode(encoding, &replaced)).unwrap();
        assert_eq!(reply["error"], "blocked by sieve: sensitive data", "{encoding}");
        assert_eq!((reply["request_id"].as_str(), ex.record().blocked), (Some("r-7"), true), "{encoding}");
    }
}

#[test]
fn credentials_in_response_headers_block_the_response_from_its_headers() {
    let mut ex = Exchange::new(inspector(REDACT));
    ex.request_headers(&headers(&[(":path", "/debug"), (":method", "GET")]), true);
    let leaked = headers(&[(":status", "200"), ("x-debug-token", "ghp_0123456789abcdefghijABCDEFGHIJ012345")]);
    let HeaderAction::Block(reply) = ex.response_headers(&leaked, false) else { panic!("must block") };
    assert_eq!(reply.status, 403);
    assert!(reply.body.contains(r#""direction":"response""#), "{}", reply.body);
    assert!(!reply.body.contains("ghp_"));
}

#[test]
fn trailers_end_a_held_body() {
    let mut ex = Exchange::new(inspector(REDACT));
    ex.request_headers(&post("application/json"), false);
    assert_eq!(ex.request_body(CARD_BODY, false), BodyAction::Hold);
    assert_eq!(ex.request_trailers(&[]).body, BodyAction::Replace(REDACTED.to_vec()));
}

#[test]
fn trailer_values_are_scanned_redacted_and_can_block_a_request() {
    let jwt: &[u8] = b"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyIn0.c2lnbmF0dXJlc2lnbmF0dXJl";
    let policy = "categories:\n  credentials: {action: redact, redact: {method: replace, text: '[jwt]'}}\n";
    let mut ex = Exchange::new(inspector(policy));
    ex.request_headers(&post("application/json"), false);
    ex.request_body(CARD_BODY, false);
    let t = ex.request_trailers(&[(b"x-session", jwt)]);
    assert_eq!(t.set, [("x-session".to_string(), b"[jwt]".to_vec())]);
    assert_eq!(ex.record().findings.last().map(|f| f.part), Some(Part::Headers));

    let mut ex = Exchange::new(inspector(REDACT));
    ex.request_headers(&post("application/json"), false);
    ex.request_body(CARD_BODY, false);
    assert!(matches!(ex.request_trailers(&[(b"x-session", jwt)]).body, BodyAction::Block(_)));
}

#[test]
fn multipart_text_fields_are_redacted_and_binary_files_left_alone() {
    let png: &[u8] = b"\x89PNG\x00 5500 0000 0000 0004";
    let body = wire::multipart(
        "b0undary",
        &[("card", None, b"4111 1111 1111 1111"), ("scan", Some(("id.png", "image/png")), png)],
    );
    let mut ex = Exchange::new(inspector(REDACT));
    ex.request_headers(&post("multipart/form-data; boundary=b0undary"), false);
    let BodyAction::Replace(out) = feed(&mut ex, &body, &[40]).pop().unwrap() else { panic!("rewritten") };
    let text = String::from_utf8_lossy(&out);
    assert!(text.contains("**** **** **** 1111") && text.contains("5500 0000 0000 0004"), "{text}");
    assert_eq!(ex.record().findings[0].key_path.as_deref(), Some("$.card"));

    let mut ex = Exchange::new(inspector(""));
    ex.request_headers(&post("multipart/form-data; boundary=b0undary"), false);
    assert_eq!(feed(&mut ex, &body, &[40]), vec![BodyAction::Continue; 2], "monitor mode: copied, never held");
    assert_eq!(ex.record().detectors(), ["credit-card"], "one finding: the file part is not read");
}

/// An exchange whose response (of this content type) has begun.
fn answering(policy: &str, content_type: &str) -> Exchange {
    let mut ex = Exchange::new(inspector(policy));
    ex.request_headers(&headers(&[(":path", "/v1/feed"), (":method", "GET")]), true);
    ex.response_headers(&headers(&[(":status", "200"), ("content-type", content_type)]), false);
    ex
}

#[test]
fn event_streams_go_on_event_by_event_and_are_never_held_whole() {
    let mut ex = answering(REDACT, "text/event-stream");
    let card = b"data: card 4111 1111 1111 1111\n\n";
    let masked = b"data: card **** **** **** 1111\n\n".to_vec();
    // A complete event goes on redacted; the incomplete one after it is held back, and only it.
    let mut first = card.to_vec();
    first.extend_from_slice(b"data: par");
    assert_eq!(ex.response_body(first, false), BodyAction::Replace(masked.clone()));
    assert_eq!(ex.response_body(&b"tial\n\n"[..], false), BodyAction::Replace(b"data: partial\n\n".to_vec()));
    assert_eq!(ex.response_body(&b"data: clean\n\n"[..], false), BodyAction::Continue, "whole and clean: as it came");
    assert_eq!(ex.response_body(&card[..], false), BodyAction::Replace(masked));
    let found: Vec<u64> = ex.record().findings.iter().map(|f| f.start).collect();
    assert_eq!(found, [11, 32 + 15 + 13 + 11], "offsets count from the body's start");
    assert_eq!(ex.response_body(&b"data: last, unended"[..], true), BodyAction::Continue, "the end flushes");

    // A blocking finding ends the stream (reset: it may never end): nothing more goes on.
    let mut ex = answering(REDACT, "text/event-stream; charset=utf-8");
    assert_eq!(ex.response_body(&b"data: hello\n\n"[..], false), BodyAction::Continue);
    let key = b"data: -----BEGIN PRIVATE KEY-----\ndata: MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\ndata: -----END PRIVATE KEY-----\n\n";
    assert_eq!(ex.response_body(&key[..], false), BodyAction::Reset);
    assert_eq!(ex.response_body(&b"data: more\n\n"[..], false), BodyAction::Replace(Vec::new()));
    assert!(ex.record().blocked);

    // An event larger than the hold limit goes on unscanned, and the stream is tagged truncated.
    let mut ex = answering(&format!("{REDACT}http: {{max_buffer_bytes: 100}}"), "text/event-stream");
    assert_eq!(ex.response_body(&b"data: a"[..], false), BodyAction::Replace(Vec::new()));
    let long = format!("{}\n\n", "b".repeat(200));
    let mut all = b"data: a".to_vec();
    all.extend_from_slice(long.as_bytes());
    assert_eq!(ex.response_body(long, false), BodyAction::Replace(all));
    assert_eq!(ex.response_body(&card[..], false), BodyAction::Continue, "past the limit, not read");
    assert_eq!(ex.record().truncated, [Direction::Response]);

    // A chunk that runs past the scan limit: what is within the limit is still scanned.
    let mut ex = answering(&format!("{REDACT}http: {{max_scan_bytes: 40}}"), "text/event-stream");
    let mut both = card.to_vec();
    both.extend_from_slice(card);
    let mut expected = b"data: card **** **** **** 1111\n\n".to_vec();
    expected.extend_from_slice(card);
    assert_eq!(ex.response_body(both, false), BodyAction::Replace(expected));
    assert_eq!(ex.record().detectors(), ["credit-card"]);
    assert_eq!(ex.record().truncated, [Direction::Response]);
}

#[test]
fn each_record_is_scanned_on_its_own_however_the_records_arrive() {
    // A number that is a phone only beside a context word, which here is in the next event.
    let body = b"data: ref 3704 0044 053\n\ndata: call me\n\n";
    let insp = inspector(REDACT);
    for split in 0..=body.len() {
        let mut ex = Exchange::new(Arc::clone(&insp));
        ex.request_headers(&post("text/event-stream"), false);
        assert_eq!(forwarded(&mut ex, body, &[split]), body, "split {split}");
        assert!(ex.record().findings.is_empty(), "split {split}: {:?}", ex.record().detectors());
    }
    // In its own event, the word counts.
    let mut ex = Exchange::new(insp);
    ex.request_headers(&post("text/event-stream"), false);
    forwarded(&mut ex, b"data: call 3704 0044 053\n\n", &[]);
    assert_eq!(ex.record().detectors(), ["phone"]);
}

#[test]
fn a_records_hold_limit_is_its_own_however_many_records_a_chunk_completes() {
    // Short events, then one longer than the hold limit: the limit falls
    // inside that one, wherever the body was cut, even when it came whole.
    let quiet = "data: first event, all quiet\n\n".repeat(3);
    let card = "data: card 4111 1111 1111 1111\n\n";
    let long = format!("data: {} 4111 1111 1111 1111\n\n", "x".repeat(150));
    let body = format!("{quiet}{card}{long}data: after\n\n");
    let expected = format!("{quiet}data: card **** **** **** 1111\n\n{long}data: after\n\n");
    let insp = inspector(&format!("{REDACT}http: {{max_buffer_bytes: 100, max_scan_bytes: 1000}}"));
    for split in 0..=body.len() {
        let mut ex = Exchange::new(Arc::clone(&insp));
        ex.request_headers(&post("text/event-stream"), false);
        let got = forwarded(&mut ex, body.as_bytes(), &[split]);
        assert_eq!(String::from_utf8_lossy(&got), expected, "split {split}");
        let found: Vec<u64> = ex.record().findings.iter().map(|f| f.start).collect();
        assert_eq!(found, [quiet.len() as u64 + 11], "split {split}");
        assert_eq!(ex.record().truncated, [Direction::Request], "split {split}");
    }
}

#[test]
fn an_event_stream_forwards_the_same_bytes_at_every_split() {
    let body = b"data: {\"n\": 1}\n\nevent: pay\ndata: card 4111 1111 1111 1111\n\r\ndata: x\r\n\r\ndata: end";
    let expected = String::from_utf8_lossy(body).replace("4111 1111 1111 1111", "**** **** **** 1111");
    let insp = inspector(REDACT);
    for split in 0..=body.len() {
        for second in [split, split + 7, body.len()] {
            let mut ex = Exchange::new(Arc::clone(&insp));
            ex.request_headers(&post("text/event-stream"), false);
            let got = forwarded(&mut ex, body, &[split, second]);
            assert_eq!(String::from_utf8_lossy(&got), expected, "splits {split}, {second}");
        }
    }
}

#[test]
fn json_lines_go_on_line_by_line_with_key_paths() {
    let mut ex = Exchange::new(inspector(REDACT));
    ex.request_headers(&post("application/x-ndjson"), false);
    let lines = b"{\"id\": 1}\n{\"card\": \"4111 1111 1111 1111\"}\n{\"id\"";
    let expected = b"{\"id\": 1}\n{\"card\": \"**** **** **** 1111\"}\n".to_vec();
    assert_eq!(ex.request_body(&lines[..], false), BodyAction::Replace(expected));
    assert_eq!(ex.request_body(&b": 2}\n"[..], true), BodyAction::Replace(b"{\"id\": 2}\n".to_vec()));
    assert_eq!(ex.record().findings[0].key_path.as_deref(), Some("$.card"));
    // Monitor mode streams them, as any body.
    let mut ex = Exchange::new(inspector(""));
    ex.request_headers(&post("application/jsonl"), false);
    assert_eq!(ex.request_body(&lines[..], false), BodyAction::Continue);
    assert_eq!(ex.request_body(&b": 2}\n"[..], true), BodyAction::Continue);
    assert_eq!(ex.record().detectors(), ["credit-card"]);
}

#[test]
fn a_tunnel_passes_at_once_masked_in_place_and_is_reset_on_a_block() {
    let upgrade = headers(&[(":method", "GET"), (":path", "/ws"), ("upgrade", "websocket"), ("connection", "upgrade")]);
    let switched = headers(&[(":status", "101"), ("upgrade", "websocket")]);
    let mut ex = Exchange::new(inspector(REDACT));
    let HeaderAction::Continue { remove_content_length, .. } = ex.request_headers(&upgrade, false) else { panic!() };
    assert!(!remove_content_length, "a tunnel's bytes keep their length");
    // Never held: each chunk goes on at once, a value masked in place.
    assert_eq!(ex.request_body(&b"hello, card 4111 1111 "[..], false), BodyAction::Continue);
    let rest = ex.request_body(&b"1111 1111 and more"[..], false);
    assert_eq!(rest, BodyAction::Replace(b"**** 1111 and more".to_vec()), "its first part went already");
    ex.response_headers(&switched, false);
    assert_eq!(ex.response_body(&b"welcome"[..], false), BodyAction::Continue);
    assert_eq!(ex.response_body(KEY, false), BodyAction::Reset, "a block ends the tunnel");
    assert_eq!(ex.response_body(&b"more"[..], false), BodyAction::Replace(Vec::new()));
    assert!(ex.record().blocked);
    assert_eq!(ex.record().detectors(), ["credit-card", "private-key"]);

    // Refused (no 101): the answer is a body like any other.
    let mut ex = Exchange::new(inspector(REDACT));
    ex.request_headers(&upgrade, false);
    ex.response_headers(&headers(&[(":status", "400"), ("content-type", "application/json")]), false);
    assert_eq!(ex.response_body(CARD_BODY, false), BodyAction::Hold);
    assert_eq!(ex.response_body(&b""[..], true), BodyAction::Replace(REDACTED.to_vec()));

    // CONNECT opens one with a 2xx; past max_scan_bytes it goes on unscanned, tagged truncated.
    let mut ex = Exchange::new(inspector(&format!("{REDACT}http: {{max_scan_bytes: 10}}")));
    ex.request_headers(&headers(&[(":method", "CONNECT"), (":authority", "db.internal:5432")]), false);
    ex.response_headers(&headers(&[(":status", "200")]), false);
    assert_eq!(ex.response_body(&b"4111 1111 1111 1111"[..], false), BodyAction::Continue);
    assert_eq!(ex.record().truncated, [Direction::Response]);
    assert!(ex.record().findings.is_empty());
}

#[test]
fn malformed_and_truncated_json_is_still_scanned() {
    let mut ex = Exchange::new(inspector(REDACT));
    ex.request_headers(&post("application/json"), false);
    let actions = feed(&mut ex, br#"{"card": "4111 1111 1111 1111", "x": [1, 2"#, &[]);
    assert_eq!(actions, vec![BodyAction::Replace(br#"{"card": "**** **** **** 1111", "x": [1, 2"#.to_vec())]);
}

#[test]
fn a_json_body_after_a_byte_order_mark_keeps_its_key_paths() {
    let policy =
        "detectors:\n  - {id: emp, category: pii, patterns: ['E\\d{6}'], scope: {json_paths: ['*.employee_id']}}\n";
    let body = "\u{feff}{\"employee_id\": \"E123456\"}".as_bytes();
    for split in 1..4 {
        let mut ex = Exchange::new(inspector(policy));
        ex.request_headers(&post("application/json"), false);
        feed(&mut ex, body, &[split]);
        let found: Vec<Option<&str>> = ex.record().findings.iter().map(|f| f.key_path.as_deref()).collect();
        assert_eq!(found, [Some("$.employee_id")], "split at {split}");
    }
}

/// An OTLP/HTTP logs export: resource_logs(1) > scope_logs(2) >
/// log_records(2) > body(5) > string_value(1), and a severity beside it.
fn otlp_logs(line: &str) -> Vec<u8> {
    use wire::{field, int_field};
    let record = [int_field(2, 9), field(5, &field(1, line.as_bytes()))].concat();
    field(1, &field(2, &field(2, &record)))
}

#[test]
fn a_protobuf_body_is_read_as_a_message_and_redacted_in_it() {
    let body = otlp_logs("payment by ann@example.com with 4111 1111 1111 1111");
    let content_type = "application/x-protobuf";
    let mut ex = Exchange::new(inspector(""));
    ex.request_headers(&post(content_type), false);
    assert!(feed(&mut ex, &body, &[7, 20]).iter().all(|a| *a == BodyAction::Continue), "monitored, it flows");
    // The body field's AnyValue also reads as text, so it is scanned as text (and
    // redacted only with same-length methods, so either reading stays valid).
    let found: Vec<(&str, Option<&str>)> =
        ex.record().findings.iter().map(|f| (f.detector.as_str(), f.key_path.as_deref())).collect();
    assert_eq!(found, [("email", Some("$.1.2.2.5")), ("credit-card", Some("$.1.2.2.5"))]);

    let mut ex = Exchange::new(inspector(REDACT));
    ex.request_headers(&post(content_type), false);
    let actions = feed(&mut ex, &body, &[7, 20]);
    let expected = otlp_logs("payment by ann@example.com with **** **** **** 1111");
    assert_eq!(actions, [BodyAction::Hold, BodyAction::Hold, BodyAction::Replace(expected)]);
}

#[test]
fn a_redacted_json_body_stays_valid_json_whatever_the_values_were() {
    let policy = "categories:\n  pci: {action: redact, redact: {method: replace, text: 'a \"card\"'}}\n  \
                  credentials: {action: redact, redact: {method: partial, keep: 4}}\n";
    let key = "-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\\n-----END PRIVATE KEY-----";
    let body = format!(r#"{{"pan": 4111111111111111, "cards": [4111111111111111], "note": "{key}"}}"#);
    for split in [0, 9, 30] {
        for mode in ["hold", "stream"] {
            let mut ex = Exchange::new(inspector(&format!("{policy}http: {{body_redaction: {mode}}}\n")));
            ex.request_headers(&post("application/json"), false);
            let sent = match mode {
                "stream" => forwarded(&mut ex, body.as_bytes(), &[split]),
                _ => match feed(&mut ex, body.as_bytes(), &[split]).pop() {
                    Some(BodyAction::Replace(whole)) => whole,
                    other => panic!("{other:?}"),
                },
            };
            let json: serde_json::Value = serde_json::from_slice(&sent)
                .unwrap_or_else(|e| panic!("{mode}, split at {split}: {e}: {}", String::from_utf8_lossy(&sent)));
            assert_eq!(json["pan"], "a *card*", "a number's replacement is a string");
            assert_eq!(json["cards"][0], "a *card*");
            assert!(!json["note"].as_str().unwrap().contains("MIIE"), "{json}");
        }
    }
}

#[test]
fn random_input_and_chunking_never_panic() {
    let strict = format!("{REDACT}http: {{on_unreadable: block, max_buffer_bytes: 64, on_limit: block}}");
    let policies = [inspector(REDACT), inspector(&strict)];
    let mut rng = traffic::Rng::new(0x2545f4914f6cdd1d);
    let mut next = move || rng.step();
    let pieces: [&[u8]; 9] =
        [b"4111 1111 1111 1111", b"\"", b"{", b"}", b"\xff\xfe", b"%4", b"a@b.io", b"-----BEGIN ", b"\r\n--x"];
    for _ in 0..300 {
        let mut body = Vec::new();
        for _ in 0..next() % 40 {
            if next() % 3 == 0 {
                body.extend_from_slice(pieces[(next() % 9) as usize]);
            } else {
                body.push(next() as u8);
            }
        }
        let types = [
            "application/json",
            "text/plain",
            "application/x-www-form-urlencoded",
            "",
            "multipart/form-data; boundary=x",
            "text/event-stream",
            "application/x-ndjson",
            "application/grpc-web",
            "application/grpc-web-text",
        ];
        let content_type = types[(next() % 9) as usize];
        // Half the gRPC-Web text is base64, as it should be.
        if content_type.ends_with("text") && next() % 2 == 0 {
            body = wire::base64(&body);
        }
        // A third of the bodies are labelled compressed: half of those are, the rest are not.
        let encoding = (next() % 3 == 0).then(|| ENCODINGS[next() as usize % ENCODINGS.len()]);
        let body = match encoding {
            Some((_, encode)) if next() % 2 == 0 => encode(&body),
            _ => body,
        };
        let encoding = encoding.map(|(name, _)| name.as_bytes());
        let mut ex = Exchange::new(Arc::clone(&policies[(next() % 2) as usize]));
        let mut h = post(content_type);
        h.push((b"x-raw", &body));
        h.extend(encoding.map(|name| (&b"content-encoding"[..], name)));
        let tunnel = next() % 4 == 0;
        if tunnel {
            h.push((b"upgrade", b"websocket"));
        }
        ex.request_headers(&h, false);
        let mut at = 0;
        while at < body.len() {
            let n = 1 + (next() as usize % body.len());
            let end = (at + n).min(body.len());
            ex.request_body(&body[at..end], end == body.len());
            at = end;
        }
        let status = if tunnel { "101" } else { "200" };
        let mut h = headers(&[(":status", status), ("content-type", content_type)]);
        h.extend(encoding.map(|name| (&b"content-encoding"[..], name)));
        ex.response_headers(&h, false);
        ex.response_body(body.as_slice(), true);
        let _ = ex.record().to_json();
    }
}

/// Streams `body` through `ex` in the given chunks and returns what the
/// filter would forward: each chunk as replaced (or as it came).
fn forwarded(ex: &mut Exchange, body: &[u8], splits: &[usize]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut at = 0;
    for &s in splits.iter().filter(|&&s| s < body.len()).chain(std::iter::once(&body.len())) {
        match ex.request_body(&body[at..s], s == body.len()) {
            BodyAction::Replace(bytes) => out.extend(bytes),
            BodyAction::Continue => out.extend_from_slice(&body[at..s]),
            other => panic!("{other:?}"),
        }
        at = s;
    }
    out
}

#[test]
fn streaming_redaction_forwards_the_same_bytes_as_holding_at_every_split() {
    let doc: String = (0..40)
        .map(|i| format!(r#"{{"i": {i}, "card": "4111 1111 1111 1111", "pad": "{}"}},"#, "x".repeat(i)))
        .collect();
    let body = format!("[{doc}{{}}]");
    let held = {
        let mut ex = Exchange::new(inspector("categories:\n  pci: {action: redact}\n"));
        ex.request_headers(&post("application/json"), false);
        match feed(&mut ex, body.as_bytes(), &[]).pop().unwrap() {
            BodyAction::Replace(b) => b,
            other => panic!("{other:?}"),
        }
    };
    assert!(!String::from_utf8_lossy(&held).contains("4111 1111 1111 1111"));
    let streaming = inspector("categories:\n  pci: {action: redact}\nhttp: {body_redaction: stream}\n");
    for split in (0..body.len()).step_by(7) {
        let mut ex = Exchange::new(Arc::clone(&streaming));
        let HeaderAction::Continue { remove_content_length, .. } = ex.request_headers(&post("application/json"), false)
        else {
            panic!()
        };
        assert!(remove_content_length);
        let out = forwarded(&mut ex, body.as_bytes(), &[split, split + 300, split + 301]);
        assert_eq!(out, held, "split {split}");
        assert_eq!(ex.record().findings.len(), 40);
    }
}

#[test]
fn streaming_redaction_is_not_used_when_a_detector_may_block() {
    let policy =
        "categories:\n  pci: {action: redact}\n  credentials: {action: block}\nhttp: {body_redaction: stream}\n";
    let mut ex = Exchange::new(inspector(policy));
    ex.request_headers(&post("application/json"), false);
    assert_eq!(ex.request_body(CARD_BODY, false), BodyAction::Hold, "a block decision needs the whole body");
}

fn request(ex: &mut Exchange, authority: &str, path: &str, id: &str) -> HeaderAction {
    let h = headers(&[
        (":method", "POST"),
        (":path", path),
        (":authority", authority),
        ("content-type", "application/json"),
        ("x-request-id", id),
    ]);
    ex.request_headers(&h, false)
}

const ROUTES: &str = "categories:\n  pci: {action: redact}\nhttp:\n  routes:\n    \
    - {paths: ['/healthz', '/metrics*'], inspect: false}\n    \
    - {hosts: ['payments.internal'], paths: ['/v1/cards/*'], actions: {pci: block}}\n    \
    - {methods: [PUT], actions: {pci: block, credit-card: monitor}}\n";

#[test]
fn a_route_can_turn_inspection_off() {
    let mut ex = Exchange::new(inspector(ROUTES));
    assert_eq!(
        request(&mut ex, "api", "/metrics/raw?card=4111111111111111", "r1"),
        HeaderAction::Continue { tags: vec![], set: vec![], remove_content_length: false }
    );
    assert!(!ex.reads_body(Direction::Request) && !ex.reads_body(Direction::Response));
    assert!(!ex.inspecting(), "the filter fetches neither the response's headers nor trailers");
    assert_eq!(ex.request_body(CARD_BODY, true), BodyAction::Continue);
    assert!(ex.record().findings.is_empty());
    assert_eq!(ex.record().uninspected, Some("route"));
}

#[test]
fn a_route_changes_actions_by_host_path_and_method() {
    let insp = inspector(ROUTES);
    let mut ex = Exchange::new(Arc::clone(&insp));
    request(&mut ex, "payments.internal:8443", "/v1/cards/7", "r1");
    assert!(matches!(ex.request_body(CARD_BODY, true), BodyAction::Block(_)), "pci blocks on this route");
    assert_eq!(ex.record().findings[0].action, ActionKind::Block);

    let mut ex = Exchange::new(Arc::clone(&insp));
    request(&mut ex, "other.internal", "/v1/cards/7", "r2");
    assert_eq!(ex.request_body(CARD_BODY, true), BodyAction::Replace(REDACTED.to_vec()), "elsewhere: the policy");

    let mut ex = Exchange::new(Arc::clone(&insp));
    let h = headers(&[(":method", "PUT"), (":path", "/x"), ("content-type", "application/json")]);
    ex.request_headers(&h, false);
    assert_eq!(ex.request_body(CARD_BODY, true), BodyAction::Continue, "a detector id wins over its category");
    assert_eq!(ex.record().findings[0].action, ActionKind::Monitor);
}

#[test]
fn routes_match_the_path_the_application_reads_however_it_was_written() {
    let insp = inspector(ROUTES);
    for path in
        ["/v1/%63ards/7", "//v1//cards/7", "/v1/./cards/7", "/metrics/../v1/cards/7", "/metrics/%2e%2e/v1/cards/7"]
    {
        let mut ex = Exchange::new(Arc::clone(&insp));
        request(&mut ex, "payments.internal", path, "r1");
        assert!(matches!(ex.request_body(CARD_BODY, true), BodyAction::Block(_)), "{path}: the blocking route applies");
        assert_eq!(ex.record().path.as_deref(), Some(path), "the record keeps the path as sent");
    }
    let mut ex = Exchange::new(Arc::clone(&insp));
    request(&mut ex, "api", "/%68ealthz", "r2");
    assert_eq!(ex.record().uninspected, Some("route"), "an encoded letter still names the health check");
}

#[test]
fn scopes_match_the_host_name_and_path_as_routes_do() {
    let policy = "detectors:\n  - id: order-ref\n    category: internal\n    keywords: [ORD-7]\n    \
                  scope: {hosts: ['payments.internal'], paths: ['/v1/cards/*']}\n";
    let insp = inspector(policy);
    let body: &[u8] = br#"{"ref": "ORD-7"}"#;
    for (host, path) in [
        ("payments.internal", "/v1/cards/7"),
        ("payments.internal:8443", "/v1/cards/7"),
        ("Payments.Internal.", "/v1//%63ards/7"),
    ] {
        let mut ex = Exchange::new(Arc::clone(&insp));
        request(&mut ex, host, path, "r1");
        ex.request_body(body, true);
        let found: Vec<&str> = ex.record().findings.iter().map(|f| f.detector.as_str()).collect();
        assert_eq!(found, ["order-ref"], "{host} {path}");
    }
    let mut ex = Exchange::new(Arc::clone(&insp));
    request(&mut ex, "shop.internal", "/v1/cards/7", "r1");
    ex.request_body(body, true);
    assert!(ex.record().findings.is_empty(), "another host is out of scope");
}

#[test]
fn sampling_inspects_a_stable_share_of_request_ids() {
    let insp = inspector("http: {sample: 0.5}");
    let inspected = |id: &str| {
        let mut ex = Exchange::new(Arc::clone(&insp));
        request(&mut ex, "api", "/v1/orders", id);
        ex.request_body(CARD_BODY, true);
        ex.record().uninspected.is_none()
    };
    let ids: Vec<String> = (0..400).map(|i| format!("0b9d{i:04}-6f3e-4c1a-8e2b-5d7f9a1c3e5b")).collect();
    let n = ids.iter().filter(|id| inspected(id)).count();
    assert!((150..250).contains(&n), "{n} of 400 inspected at 0.5");
    assert!(ids.iter().all(|id| inspected(id) == inspected(id)), "the same id, the same choice");
    let mut ex = Exchange::new(inspector("http: {sample: 0}"));
    request(&mut ex, "api", "/v1/orders", "r1");
    assert_eq!(ex.record().uninspected, Some("sampled out"));
}

#[test]
fn bad_routes_are_refused_with_their_path() {
    let err = |policy: &str| Inspector::from_policy_text(policy).unwrap_err().to_string();
    let e = err("http:\n  routes:\n    - {paths: ['/x'], actions: {cards: block}}\n");
    assert!(e.contains("http.routes[0].actions.cards") && e.contains("neither a detector id nor a category"), "{e}");
    assert!(err("http: {sample: 1.5}").contains("http.sample"));
    assert!(err("http:\n  routes:\n    - {sample: -1}\n").contains("http.routes[0].sample"));
    assert!(err("http:\n  routes:\n    - {path: ['/x']}\n").contains("unknown field `path`"));
}
