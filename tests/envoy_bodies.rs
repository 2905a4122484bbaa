//! Body kinds and encodings through sieve's `.wasm` in a real Envoy: forms,
//! XML, text, protobuf messages and malformed JSON are read in their own syntax; binary types
//! and unknown encodings pass as sent and are counted as skipped; compressed
//! bodies (gzip, deflate, brotli, zstd, stacked, every gzip member) are
//! scanned and can be blocked but are never rewritten, and a bomb is read only
//! up to the cap; what sieve cannot read is blocked where the policy says so;
//! a response blocked once its headers are gone has its body replaced (in its
//! `content-encoding`), and one held past
//! Envoy's buffer limit is cut off; event streams (each event scanned on
//! its own) and WebSockets (over HTTP/1.1 and HTTP/2) pass as they arrive;
//! a client waiting for `100 Continue` gets it while sieve holds the headers.

mod bed;
mod fixtures;
mod wire;

use std::io::{Read, Write};

use bed::{Answer, Bed, Gate, Reply};
use fixtures::{CARD_BODY, KEY, POLICY, REDACTED};
use wire::{brotli, gzip, zstd, ENCODINGS};

/// POSTs `body` with this content type and, if given, content encoding.
fn post(bed: &Bed, content_type: &str, encoding: Option<&str>, body: &[u8]) -> Reply {
    let mut headers = vec![("content-type", content_type)];
    headers.extend(encoding.map(|e| ("content-encoding", e)));
    bed.send("POST", "/v1/upload", &headers, body)
}

/// The body of the last request the upstream received.
fn last_body(bed: &Bed) -> Vec<u8> {
    bed.last_whole().body
}

#[test]
fn forms_xml_text_yaml_json_lines_protobuf_and_malformed_json_are_redacted_in_their_own_syntax() {
    let bed = Bed::start(POLICY);
    // An OTLP/HTTP logs export, one record whose body holds a card.
    let otlp = |line: &[u8]| {
        let record = [wire::int_field(2, 9), wire::field(5, &wire::field(1, line))].concat();
        wire::field(1, &wire::field(2, &wire::field(2, &record)))
    };
    let (otlp_card, otlp_masked) = (otlp(b"paid with 4111 1111 1111 1111"), otlp(b"paid with **** **** **** 1111"));
    let cases: [(&str, &[u8], &[u8]); 10] = [
        ("application/x-protobuf", &otlp_card, &otlp_masked),
        // A card as a number: its mask is written as a string, so the JSON stays valid.
        ("application/json", br#"{"pan": 4111111111111111}"#, br#"{"pan": "************1111"}"#),
        (
            "application/x-amz-json-1.1",
            br#"{"TableName": "cards", "Item": {"pan": {"S": "4111 1111 1111 1111"}}}"#,
            br#"{"TableName": "cards", "Item": {"pan": {"S": "**** **** **** 1111"}}}"#,
        ),
        (
            "application/x-www-form-urlencoded",
            b"name=Ann&card=4111+1111+1111+1111",
            b"name=Ann&card=****%20****%20****%201111",
        ),
        (
            "application/xml",
            b"<order><card>4111 1111 1111 1111</card></order>",
            b"<order><card>**** **** **** 1111</card></order>",
        ),
        ("text/plain; charset=utf-8", b"card: 4111 1111 1111 1111\n", b"card: **** **** **** 1111\n"),
        (
            "application/json",
            br#"{"card": "4111 1111 1111 1111", "x": [1, 2"#,
            br#"{"card": "**** **** **** 1111", "x": [1, 2"#,
        ),
        (
            "application/json",
            b"{\"note\": \"\xff\xfe\", \"card\": \"4111 1111 1111 1111\"}",
            b"{\"note\": \"\xff\xfe\", \"card\": \"**** **** **** 1111\"}",
        ),
        (
            // Kubernetes' server-side apply: a Secret's stringData in plain text.
            "application/apply-patch+yaml",
            b"kind: Secret\nstringData:\n  card: 4111 1111 1111 1111\n",
            b"kind: Secret\nstringData:\n  card: **** **** **** 1111\n",
        ),
        (
            "application/x-ndjson",
            b"{\"id\": 1}\n{\"card\": \"4111 1111 1111 1111\"}\n{\"id\": 3}",
            b"{\"id\": 1}\n{\"card\": \"**** **** **** 1111\"}\n{\"id\": 3}",
        ),
    ];
    for (content_type, body, expected) in cases {
        let reply = post(&bed, content_type, None, body);
        assert_eq!(reply.status, 200, "{content_type}: {}", reply.text());
        let got = last_body(&bed);
        assert_eq!(String::from_utf8_lossy(&got), String::from_utf8_lossy(expected), "{content_type}");
        assert_eq!(got, expected, "{content_type}: the other bytes go on as sent, invalid UTF-8 included");
    }
    bed.assert_clean_log();
}

#[test]
fn binary_bodies_unknown_encodings_and_wide_charsets_pass_as_sent_and_are_counted_as_skipped() {
    let bed = Bed::start(POLICY);
    assert_eq!(post(&bed, "application/octet-stream", None, CARD_BODY).status, 200);
    assert_eq!(last_body(&bed), CARD_BODY, "a binary type is not read");
    let binary = r#"sieve_skipped_total{direction="request",reason="binary_content_type"}"#;
    assert_eq!(bed.counter(binary, 1), Some(1));
    // An encoding sieve does not read: the bytes pass as they came.
    assert_eq!(post(&bed, "application/json", Some("compress"), CARD_BODY).status, 200);
    assert_eq!(last_body(&bed), CARD_BODY);
    let encoding = r#"sieve_skipped_total{direction="request",reason="unsupported_content-encoding"}"#;
    assert_eq!(bed.counter(encoding, 1), Some(1));
    // UTF-16 text: every other byte a NUL, which no pattern would see through.
    let wide: Vec<u8> = String::from_utf8_lossy(CARD_BODY).encode_utf16().flat_map(u16::to_le_bytes).collect();
    assert_eq!(post(&bed, "application/json; charset=utf-16le", None, &wide).status, 200);
    assert_eq!(last_body(&bed), wide);
    let charset = r#"sieve_skipped_total{direction="request",reason="unsupported_charset"}"#;
    assert_eq!(bed.counter(charset, 1), Some(1));
    bed.assert_clean_log();

    let bed = Bed::start(&format!("{POLICY}http: {{scan_binary: true}}\n"));
    assert_eq!(post(&bed, "application/octet-stream", None, CARD_BODY).status, 200);
    assert_eq!(last_body(&bed), REDACTED, "the policy says binary types are scanned as text");
    bed.assert_clean_log();
}

#[test]
fn compressed_bodies_are_scanned_and_can_be_blocked_but_are_never_rewritten() {
    let bed = Bed::start(POLICY);
    let compressed = gzip(CARD_BODY);
    assert_eq!(post(&bed, "application/json", Some("gzip"), &compressed).status, 200);
    let got = bed.last_whole();
    assert_eq!(got.body, compressed, "the compressed bytes go on as they came");
    assert_eq!(got.header("content-encoding"), Some("gzip"));
    let card = r#"sieve_findings_total{detector="credit-card",category="pci",action="redact",direction="request"}"#;
    assert_eq!(bed.counter(card, 1), Some(1), "the card is found inside the gzip member");
    let unredacted = r#"sieve_skipped_total{direction="request",reason="redaction_of_a_compressed_body"}"#;
    assert_eq!(bed.counter(unredacted, 1), Some(1), "and the record says why it was not redacted");

    // Brotli, in a 4 MiB window as most encoders write it; here a response, as from a web server.
    bed.answer(Answer {
        headers: vec![("content-encoding".into(), "br".into())],
        ..Answer::new(200, "application/json", &brotli(CARD_BODY, 5, 22))
    });
    let reply = bed.send("GET", "/v1/orders/7", &[], b"");
    assert_eq!((reply.status, reply.header("content-encoding")), (200, Some("br")));
    assert_eq!(reply.body, brotli(CARD_BODY, 5, 22), "the compressed bytes go on as they came");
    let card = r#"sieve_findings_total{detector="credit-card",category="pci",action="redact",direction="response"}"#;
    assert_eq!(bed.counter(card, 1), Some(1), "the card is found inside the brotli stream");
    for (encoding, body) in [("br", brotli(KEY, 11, 24)), ("zstd", zstd(KEY))] {
        let reply = post(&bed, "text/plain", Some(encoding), &body);
        assert_eq!(reply.status, 403, "{encoding}: {}", reply.text());
    }

    // HTTP's deflate is zlib-wrapped; raw deflate, common in the wild, is read too.
    let zlib = miniz_oxide::deflate::compress_to_vec_zlib(KEY, 6);
    let raw = miniz_oxide::deflate::compress_to_vec(KEY, 6);
    for body in [zlib, raw] {
        let reply = post(&bed, "text/plain", Some("deflate"), &body);
        assert_eq!(reply.status, 403, "{}", reply.text());
        assert!(!reply.text().contains("MIIE"));
    }
    // After the gzip card and the GET: the brotli, zstd and deflate keys, if their
    // headers went upstream before the block, none whole.
    let complete: Vec<bool> = bed.received().iter().map(|r| r.complete).collect();
    assert_eq!(complete[..2], [true, true]);
    assert!(!complete[2..].contains(&true), "no compressed key reached the upstream whole: {complete:?}");
    bed.assert_clean_log();
}

#[test]
fn stacked_codings_and_every_gzip_member_are_read_and_unreadable_bodies_are_blocked_as_the_policy_says() {
    let bed = Bed::start(&format!("{POLICY}http: {{on_unreadable: block}}\n"));
    // gzip then brotli, as one list and as two header lines.
    let stacked = brotli(&gzip(KEY), 5, 22);
    let reply = post(&bed, "text/plain", Some("gzip, br"), &stacked);
    assert_eq!(reply.status, 403, "{}", reply.text());
    let blocked: serde_json::Value = serde_json::from_slice(&reply.body).unwrap();
    assert_eq!(blocked["error"], "blocked by sieve: sensitive data");
    let head = format!(
        "POST /v1/upload HTTP/1.1\r\nhost: localhost\r\ncontent-type: text/plain\r\n\
         content-encoding: gzip\r\nContent-Encoding: br\r\ncontent-length: {}\r\n\r\n",
        stacked.len()
    );
    assert_eq!(bed.send_raw(&[head.as_bytes(), &stacked].concat()).status, 403, "a list over two lines");
    // The key in a second gzip member, after a clean one.
    let members = [gzip(b"nothing to see here\n"), gzip(KEY)].concat();
    assert_eq!(post(&bed, "text/plain", Some("gzip"), &members).status, 403);
    // A clean compressed body is held until it is decoded, then goes on as it came.
    let clean = gzip(br#"{"order": 7}"#);
    let reply = post(&bed, "application/json", Some("gzip"), &clean);
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(last_body(&bed), clean);

    // What sieve cannot read is refused from the request's headers: nothing reaches the upstream.
    let wide: Vec<u8> = String::from_utf8_lossy(CARD_BODY).encode_utf16().flat_map(u16::to_le_bytes).collect();
    for (content_type, encoding, body) in
        [("application/json", Some("compress"), CARD_BODY), ("application/json; charset=utf-16le", None, &wide)]
    {
        let mut headers = vec![("content-type", content_type)];
        headers.extend(encoding.map(|e| ("content-encoding", e)));
        let reply = bed.send("POST", "/v1/refused", &headers, body);
        assert_eq!(reply.status, 403, "{content_type}: {}", reply.text());
        let blocked: serde_json::Value = serde_json::from_slice(&reply.body).unwrap();
        assert_eq!(blocked["error"], "blocked by sieve: unreadable body");
    }
    // A body that proves damaged is blocked once read, and was held: the card never went out.
    // The zstd frame is cut in a later block (128 KiB of text each) than the card's.
    let rest: String = (0..20_000).map(|i| format!("line {i}: {}\n", i * 7919 % 10007)).collect();
    let text = [CARD_BODY, rest.as_bytes()].concat();
    for (n, (encoding, stream)) in [("gzip", gzip(&text)), ("zstd", zstd(&text))].into_iter().enumerate() {
        let headers = [("content-type", "application/json"), ("content-encoding", encoding)];
        let reply = bed.send("POST", "/v1/damaged", &headers, &stream[..stream.len() * 3 / 4]);
        assert_eq!(reply.status, 403, "{encoding}: {}", reply.text());
        let card = r#"sieve_findings_total{detector="credit-card",category="pci",action="redact",direction="request"}"#;
        let count = n as u64 + 1;
        assert_eq!(bed.counter(card, count), Some(count), "{encoding}: the card before the damage was found");
        let undecodable = r#"sieve_skipped_total{direction="request",reason="undecodable_body"}"#;
        assert_eq!(bed.counter(undecodable, count), Some(count), "{encoding}");
    }
    let received = bed.received();
    assert!(!received.iter().any(|r| r.path == "/v1/refused"), "refused before anything went upstream");
    let damaged = received.iter().filter(|r| r.path == "/v1/damaged");
    assert!(damaged.clone().all(|r| !r.complete && r.body.is_empty()), "no damaged byte reached the upstream");
    // A binary type is the policy's choice (scan_binary), not unreadable: it passes.
    assert_eq!(post(&bed, "application/octet-stream", None, CARD_BODY).status, 200);
    // A response in an encoding sieve cannot read is refused from its headers too.
    bed.answer(Answer {
        headers: vec![("content-encoding".into(), "exi".into())],
        ..Answer::new(200, "application/xml", b"<exi/>")
    });
    let reply = bed.send("GET", "/v1/orders/7", &[], b"");
    assert_eq!(reply.status, 403, "{}", reply.text());
    assert!(reply.text().contains("unreadable body") && reply.header("content-encoding").is_none());
    bed.assert_clean_log();
}

#[test]
fn behind_envoys_decompressors_compressed_requests_are_redacted_and_responses_compressed_after() {
    let bed = Bed::start_from("envoy/http-decompress.yaml", POLICY);
    for (encoding, encode) in ENCODINGS.into_iter().filter(|(name, _)| *name != "deflate") {
        let reply = post(&bed, "application/json", Some(encoding), &encode(CARD_BODY));
        assert_eq!(reply.status, 200, "{encoding}: {}", reply.text());
        let got = bed.last_whole();
        assert_eq!(got.body, REDACTED, "{encoding}: the upstream gets the plain body, redacted");
        assert_eq!(got.header("content-encoding"), None, "{encoding}");
        assert_eq!(post(&bed, "text/plain", Some(encoding), &encode(KEY)).status, 403, "{encoding}");
        // A stream of records ending in one still arriving when the decompressor's trailers come.
        let lines = b"{\"id\": 1}\n{\"card\": \"4111 1111 1111 1111\"}\n{\"id\": 3}";
        assert_eq!(post(&bed, "application/x-ndjson", Some(encoding), &encode(lines)).status, 200);
        let lines_redacted = b"{\"id\": 1}\n{\"card\": \"**** **** **** 1111\"}\n{\"id\": 3}";
        assert_eq!(last_body(&bed), lines_redacted, "{encoding}: nothing held back is lost");
    }
    // Responses: the upstream is not asked for a compressed one, so sieve reads it plain,
    // and the client that accepts gzip gets it redacted, then compressed.
    bed.answer_with(200, "application/json", CARD_BODY);
    let reply = bed.send("GET", "/v1/orders/7", &[("accept-encoding", "gzip, br")], b"");
    assert_eq!(bed.last_whole().header("accept-encoding"), None, "the upstream answers plain");
    assert_eq!((reply.status, reply.header("content-encoding")), (200, Some("gzip")));
    assert_eq!(wire::decode("gzip", &reply.body), REDACTED, "redacted, then gzipped for the client");
    let reply = bed.send("GET", "/v1/orders/7", &[], b"");
    assert_eq!((reply.header("content-encoding"), &reply.body[..]), (None, REDACTED));
    // Envoy has no deflate decompressor: such a body reaches sieve compressed, and passes as it came.
    let deflated = miniz_oxide::deflate::compress_to_vec_zlib(CARD_BODY, 6);
    assert_eq!(post(&bed, "application/json", Some("deflate"), &deflated).status, 200);
    assert_eq!(last_body(&bed), deflated);
    let unredacted = r#"sieve_skipped_total{direction="request",reason="redaction_of_a_compressed_body"}"#;
    assert_eq!(bed.counter(unredacted, 1), Some(1));
    bed.assert_clean_log();
}

#[test]
fn compression_bombs_are_read_up_to_the_cap_then_pass_tagged_truncated_or_are_blocked() {
    // 16 MiB of one byte: at most a few KiB on the wire.
    let zeros = vec![b'a'; 16 << 20];
    let (gzip_bomb, brotli_bomb, zstd_bomb) = (gzip(&zeros), brotli(&zeros, 11, 24), zstd(&zeros));
    assert!(gzip_bomb.len() < 64 << 10 && zstd_bomb.len() < 64 << 10);
    let bombs = [("gzip", &gzip_bomb), ("br", &brotli_bomb), ("zstd", &zstd_bomb)];
    let bed = Bed::start(&format!("{POLICY}http: {{max_scan_bytes: 65536}}\n"));
    for (n, (encoding, bomb)) in bombs.into_iter().enumerate() {
        let reply = post(&bed, "text/plain", Some(encoding), bomb);
        assert_eq!(reply.status, 200, "{encoding}: {}", reply.text());
        assert_eq!(&last_body(&bed), bomb, "it goes on as it came");
        assert_eq!(bed.counter(r#"sieve_truncated_total{direction="request"}"#, n as u64 + 1), Some(n as u64 + 1));
    }
    // Not gzip at all: passed as sent, and the record says why it was not read.
    let garbage = b"\x1f\x8b\x08\x00 not really gzip";
    assert_eq!(post(&bed, "text/plain", Some("gzip"), garbage).status, 200);
    assert_eq!(last_body(&bed), garbage);
    let undecodable = r#"sieve_skipped_total{direction="request",reason="undecodable_body"}"#;
    assert_eq!(bed.counter(undecodable, 1), Some(1));
    bed.assert_clean_log();

    let bed = Bed::start(&format!("{POLICY}http: {{max_scan_bytes: 65536, on_limit: block, block_status: 451}}\n"));
    for (encoding, bomb) in bombs {
        let reply = post(&bed, "text/plain", Some(encoding), bomb);
        assert_eq!(reply.status, 451, "{encoding}: the policy blocks what it cannot read whole, with its status");
    }
    bed.assert_clean_log();
}

#[test]
fn a_response_body_blocked_after_its_headers_went_out_is_replaced_by_the_block_reply() {
    let bed = Bed::start(POLICY);
    bed.answer_with(200, "text/plain", KEY);
    let reply = bed.send("GET", "/v1/keys/1", &[("x-request-id", "req-9")], b"");
    assert_eq!(reply.status, 200, "the status went out with the headers, before the body was read");
    assert!(!reply.text().contains("MIIE"), "the key never reaches the client");
    let body: serde_json::Value = serde_json::from_slice(&reply.body).expect("the block reply, as JSON");
    assert_eq!(body["categories"], serde_json::json!(["credentials"]));
    assert_eq!(body["request_id"], "req-9");
    assert_eq!(bed.counter("sieve_blocked_total{}", 1), Some(1));
    bed.assert_clean_log();
}

#[test]
fn a_compressed_response_blocked_after_its_headers_went_out_gets_the_block_reply_in_its_encoding() {
    let bed = Bed::start(POLICY);
    for (encoding, body) in [("gzip", gzip(KEY)), ("gzip, br", brotli(&gzip(KEY), 5, 22)), ("zstd", zstd(KEY))] {
        // The upstream sends the headers and a first byte, then waits: the
        // headers go out to the client before the body is decided.
        let gate = Gate::default();
        bed.answer(Answer {
            headers: vec![("content-encoding".into(), encoding.into())],
            pause: Some((1, gate.clone())),
            ..Answer::new(200, "text/plain", &body)
        });
        let opener = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(300));
            gate.open();
        });
        let reply = bed.send("GET", "/v1/keys/1", &[("x-request-id", "req-9")], b"");
        opener.join().unwrap();
        assert_eq!((reply.status, reply.complete), (200, true), "{encoding}");
        assert_eq!(reply.header("content-encoding"), Some(encoding), "the headers went out as they came");
        let decoded = wire::decode(encoding, &reply.body);
        let body: serde_json::Value = serde_json::from_slice(&decoded).expect("the block reply, as JSON");
        assert_eq!(body["categories"], serde_json::json!(["credentials"]), "{encoding}");
    }
    bed.assert_clean_log();
}

#[test]
fn a_held_response_past_envoys_buffer_limit_is_cut_off_and_nothing_held_leaks() {
    // A policy that would hold more than the listener's 1 MiB per_connection_buffer_limit_bytes.
    let bed = Bed::start(&format!("{POLICY}http: {{max_buffer_bytes: 4194304, max_scan_bytes: 4194304}}\n"));
    let body = format!(r#"{{"card": "4111 1111 1111 1111", "pad": "{}"}}"#, "x".repeat(1536 * 1024));
    bed.answer_with(200, "application/json", body.as_bytes());
    let reply = bed.send("GET", "/v1/big", &[], b"");
    assert_eq!(reply.status, 200, "the headers went out before the body was held");
    assert!(!reply.complete, "Envoy resets the stream: the body never ends");
    assert!(!String::from_utf8_lossy(&reply.body).contains("4111"), "nothing held reaches the client");
    bed.assert_clean_log();
}

#[test]
fn an_event_stream_flows_event_by_event_while_the_upstream_holds_it_open_and_a_block_ends_it() {
    let bed = Bed::start(POLICY);
    let gate = Gate::default();
    let sent = b"data: {\"card\": \"4111 1111 1111 1111\"}\n\ndata: par";
    let mut answer = Answer::new(200, "text/event-stream", &[&sent[..], b"tial\n\n"].concat());
    answer.pause = Some((sent.len(), gate.clone()));
    bed.answer(answer);
    // The upstream sends the rest only once the first event has reached the client.
    let (status, got) = bed.read_streaming("/v1/feed", b"\n\n");
    gate.open();
    assert_eq!(status, 200);
    let first = "data: {\"card\": \"**** **** **** 1111\"}\n\n";
    assert_eq!(String::from_utf8_lossy(&got), first, "redacted, and only the incomplete event held back");

    // A blocking finding ends a stream that may never end: it is reset.
    let events = [&b"data: hello\n\ndata: "[..], KEY, b"\n\n"].concat();
    bed.answer_with(200, "text/event-stream", &events);
    let reply = bed.send("GET", "/v1/feed", &[], b"");
    assert!(!reply.complete, "the stream is reset");
    assert!(!reply.text().contains("MIIE"), "the key never reaches the client");
    assert_eq!(bed.counter("sieve_blocked_total{}", 1), Some(1));
    bed.assert_clean_log();
}

#[test]
fn each_event_of_a_stream_is_scanned_on_its_own() {
    let bed = Bed::start(POLICY);
    // A number that is a phone only beside a context word, which here is in the next event.
    let reply = post(&bed, "text/event-stream", None, b"data: ref 3704 0044 053\n\ndata: call me\n\n");
    assert_eq!(reply.status, 200);
    let reply = post(&bed, "text/event-stream", None, b"data: call 3704 0044 053\n\n");
    assert_eq!(reply.status, 200);
    let phone = r#"sieve_findings_total{detector="phone",category="contact",action="monitor",direction="request"}"#;
    assert_eq!(bed.counter(phone, 1), Some(1), "only the number with its own context word");
    bed.assert_clean_log();
}

#[test]
fn a_rule_anchored_at_a_texts_start_holds_at_the_start_of_each_event() {
    // The events come in one chunk, long enough for one region walk over
    // them all: each is still a text of its own, which `^` opens.
    let policy = format!(
        "{POLICY}detectors:\n  - {{id: event-account, category: pci, patterns: ['^id: (?P<value>AC-\\d{{6}})']}}\n"
    );
    let bed = Bed::start(&policy);
    let padding = format!("data: {}\n\n", "all quiet here, ".repeat(16));
    let events =
        format!("{padding}id: AC-123456\ndata: a\n\nid: AC-234567\ndata: b\n\ndata: c\nid: AC-345678\n\n{padding}");
    assert_eq!(post(&bed, "text/event-stream", None, events.as_bytes()).status, 200);
    let redacted = events.replace("AC-123456", "**-**3456").replace("AC-234567", "**-**4567");
    assert_eq!(String::from_utf8_lossy(&last_body(&bed)), redacted, "an id opening its event, and only those");
    bed.assert_clean_log();
}

#[test]
fn a_websocket_passes_at_once_with_values_masked_in_place_and_a_block_ends_it() {
    let bed = Bed::start(POLICY);
    let (status, mut ws) = bed.upgrade("/v1/ws");
    assert_eq!(status, 101, "Envoy switches protocols");
    // The upstream echoes what reached it, upper-cased, while the tunnel stays open.
    ws.write_all(b"hello, card 4111 1111 1111 1111\n").unwrap();
    assert_eq!(String::from_utf8_lossy(&read_until(&mut ws, b"\n")), "HELLO, CARD **** **** **** 1111\n");
    ws.write_all(b"and again\n").unwrap();
    assert_eq!(String::from_utf8_lossy(&read_until(&mut ws, b"\n")), "AND AGAIN\n", "nothing held back");
    ws.write_all(KEY).unwrap();
    let after = read_until(&mut ws, b"never");
    assert!(!String::from_utf8_lossy(&after).to_uppercase().contains("MIIE"), "the key never reached the upstream");
    assert_eq!(bed.counter("sieve_blocked_total{}", 1), Some(1), "the block reset the stream");
    bed.assert_clean_log();
}

#[test]
fn a_websocket_over_http2_passes_at_once_with_values_masked_in_place_and_a_block_ends_it() {
    // Envoy hands an extended CONNECT to filters as an HTTP/1.1 upgrade, and
    // the upstream (HTTP/1.1) switches protocols; the client sees 200.
    let bed = Bed::start(POLICY);
    let chunks: [&[u8]; 3] = [b"hello, card 4111 1111 1111 1111\n", b"and again\n", KEY];
    let reply = bed.websocket_h2c("/v1/ws", &chunks);
    assert_eq!(reply["status"], 200, "{reply}");
    let echoes = reply["echoes"].as_array().expect("echoes");
    assert_eq!(echoes[0], "HELLO, CARD **** **** **** 1111\n", "{reply}");
    assert_eq!(echoes[1], "AND AGAIN\n", "nothing held back");
    assert!(!echoes[2].as_str().unwrap_or_default().contains("MIIE"), "the key never reached the upstream");
    assert_eq!(reply["reset"], true, "the block reset the stream: {reply}");
    assert_eq!(bed.counter("sieve_blocked_total{}", 1), Some(1));
    bed.assert_clean_log();
}

#[test]
fn a_client_waiting_for_100_continue_gets_it_and_its_body_is_redacted() {
    // curl sends `expect: 100-continue` before a large upload and waits (a second) for
    // the interim response. sieve holds the request's headers until the body is in; Envoy
    // itself answers the expectation, so the client is not left waiting for a body that
    // sieve is waiting for.
    let bed = Bed::start(POLICY);
    let mut s = std::net::TcpStream::connect(("127.0.0.1", bed.port)).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_millis(800))).unwrap();
    let head = format!(
        "POST /v1/orders HTTP/1.1\r\nhost: sieve.test\r\ncontent-type: application/json\r\n\
         content-length: {}\r\nexpect: 100-continue\r\nconnection: close\r\n\r\n",
        CARD_BODY.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    let interim = read_until(&mut s, b"\r\n\r\n");
    assert!(interim.starts_with(b"HTTP/1.1 100 Continue\r\n"), "{}", String::from_utf8_lossy(&interim));
    s.write_all(CARD_BODY).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
    let reply = read_until(&mut s, b"never");
    assert!(reply.starts_with(b"HTTP/1.1 200"), "{}", String::from_utf8_lossy(&reply));
    assert_eq!(last_body(&bed), REDACTED);
    assert!(bed.last_whole().header("expect").is_none(), "Envoy answered the expectation itself");
    bed.assert_clean_log();
}

/// Reads until `needle` arrives, the connection ends, or 10 s pass.
fn read_until(stream: &mut std::net::TcpStream, needle: &[u8]) -> Vec<u8> {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !got.windows(needle.len()).any(|w| w == needle) {
        match stream.read(&mut buf) {
            Ok(n @ 1..) => got.extend_from_slice(&buf[..n]),
            _ => break,
        }
    }
    got
}
