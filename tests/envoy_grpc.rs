//! gRPC through sieve's `.wasm` in a real Envoy: h2c calls with framed
//! protobuf messages, request and response trailers, and blocks that a gRPC
//! client reads as PERMISSION_DENIED; gRPC-Web's text mode over HTTP/1.1.

mod bed;
mod fixtures;
mod wire;

use bed::{Answer, Bed};
use fixtures::{KEY, POLICY};
use serde_json::Value;
use wire::{base64, field, frame, int_field, messages};

const GRPC: &[(&str, &str)] = &[("content-type", "application/grpc"), ("te", "trailers")];

/// `Charge { order_id: 7, customer: { name: "Ann", card: <card> } }`
fn charge(card: &[u8]) -> Vec<u8> {
    [int_field(1, 7), field(2, &[field(1, b"Ann"), field(2, card)].concat())].concat()
}

/// The upstream answers every call with these messages and `grpc-status: 0`.
fn answer(bed: &Bed, messages: &[Vec<u8>]) {
    let body = messages.iter().flat_map(|m| frame(0, m)).collect::<Vec<u8>>();
    bed.answer(Answer {
        trailers: vec![("grpc-status".to_string(), "0".to_string())],
        ..Answer::new(200, "application/grpc", &body)
    });
}

fn call(bed: &Bed, body: &[u8], splits: &[usize]) -> Value {
    let mut chunks = Vec::new();
    let mut at = 0;
    for &s in splits.iter().chain(std::iter::once(&body.len())) {
        chunks.push(&body[at..s]);
        at = s;
    }
    bed.send_h2c("/pay.v1.Payments/Charge", GRPC, &chunks, &[("x-trace", "t1")])
}

fn body_of(reply: &Value) -> Vec<u8> {
    let hex = reply["body_hex"].as_str().unwrap_or_default();
    (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap()).collect()
}

#[test]
fn a_card_in_a_streamed_call_is_redacted_and_the_trailers_cross_both_ways() {
    let bed = Bed::start(POLICY);
    answer(&bed, &[field(1, b"ok")]);
    let body = [frame(0, &charge(b"4111 1111 1111 1111")), frame(0, &charge(b"none"))].concat();
    let reply = call(&bed, &body, &[3, 20, 40]);
    assert_eq!(reply["status"], 200, "{reply}");
    assert_eq!(reply["trailers"]["grpc-status"], "0", "response trailers reach the client: {reply}");
    assert_eq!(messages(&body_of(&reply)).unwrap(), [field(1, b"ok")]);
    let got = &bed.received()[0];
    assert!(got.complete);
    assert_eq!(messages(&got.body).expect("valid framing upstream"), [charge(b"**** **** **** 1111"), charge(b"none")]);
    assert_eq!(got.trailers, [("x-trace".to_string(), "t1".to_string())], "request trailers go on");
    bed.assert_clean_log();
}

#[test]
fn a_key_in_a_call_is_refused_with_permission_denied() {
    let bed = Bed::start(POLICY);
    let reply = call(&bed, &frame(0, &field(3, KEY)), &[30]);
    assert_eq!(reply["status"], 200, "gRPC errors travel as a status, not HTTP: {reply}");
    let status = reply["headers"]["grpc-status"].as_str().or(reply["trailers"]["grpc-status"].as_str());
    assert_eq!(status, Some("7"), "PERMISSION_DENIED: {reply}");
    assert!(!reply.to_string().contains("MIIE"), "the value never leaves: {reply}");
    assert!(bed.received().iter().all(|r| !String::from_utf8_lossy(&r.body).contains("MIIE")));
    bed.assert_clean_log();
}

#[test]
fn a_key_in_a_response_stops_the_messages_and_the_status_says_why() {
    let bed = Bed::start(POLICY);
    answer(&bed, &[field(1, b"first"), field(1, KEY)]);
    let reply = call(&bed, &frame(0, &charge(b"none")), &[]);
    assert_eq!(reply["status"], 200, "{reply}");
    assert_eq!(reply["trailers"]["grpc-status"], "7", "{reply}");
    assert_eq!(reply["trailers"]["grpc-message"], "blocked by sieve: sensitive data (credentials)");
    assert!(!body_of(&reply).windows(4).any(|w| w == b"MIIE"), "{reply}");
    let key =
        r#"sieve_findings_total{detector="private-key",category="credentials",action="block",direction="response"}"#;
    assert_eq!(bed.counter(key, 1), Some(1), "the finding is counted");
    bed.assert_clean_log();
}

#[test]
fn a_token_in_trailing_metadata_is_masked_and_the_call_denied() {
    let bed = Bed::start(POLICY);
    let token = "ghp_0123456789abcdefghijABCDEFGHIJ012345";
    bed.answer(Answer {
        trailers: vec![("grpc-status".to_string(), "0".to_string()), ("x-debug".to_string(), token.to_string())],
        ..Answer::new(200, "application/grpc", &frame(0, &field(1, b"ok")))
    });
    let reply = call(&bed, &frame(0, &charge(b"none")), &[]);
    assert_eq!(reply["trailers"]["grpc-status"], "7", "{reply}");
    assert!(!reply.to_string().contains("ghp_"), "{reply}");
    bed.assert_clean_log();
}

#[test]
fn grpc_web_text_from_a_browser_is_read_and_a_key_in_it_denies_the_call() {
    let bed = Bed::start(POLICY);
    let headers = [("content-type", "application/grpc-web-text"), ("x-grpc-web", "1")];
    // Two messages, each its own padded base64 segment.
    let text = [base64(&frame(0, &charge(b"4111 1111 1111 1111"))), base64(&frame(0, &charge(b"none")))].concat();
    let reply = bed.send("POST", "/pay.v1.Payments/Charge", &headers, &text);
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(bed.received()[0].body, text, "base64 text goes on as it came");
    let card = r#"sieve_findings_total{detector="credit-card",category="pci",action="redact",direction="request"}"#;
    assert_eq!(bed.counter(card, 1), Some(1), "the card inside the base64 frames is found");
    let unredacted = r#"sieve_skipped_total{direction="request",reason="redaction_of_a_base64_gRPC-Web_body"}"#;
    assert_eq!(bed.counter(unredacted, 1), Some(1));
    let reply = bed.send("POST", "/pay.v1.Payments/Charge", &headers, &base64(&frame(0, &field(1, KEY))));
    assert_eq!((reply.status, reply.header("grpc-status")), (200, Some("7")), "PERMISSION_DENIED: {:?}", reply.headers);
    assert!(bed.received()[1..].iter().all(|r| !r.complete), "the key never reached the upstream whole");
    // So does a key in a message before text that is not base64: what decoded is read.
    let damaged = [base64(&frame(0, &field(1, KEY))), b"*not base64*".to_vec()].concat();
    let reply = bed.send("POST", "/pay.v1.Payments/Charge", &headers, &damaged);
    assert_eq!((reply.status, reply.header("grpc-status")), (200, Some("7")), "PERMISSION_DENIED: {:?}", reply.headers);
    assert!(bed.received()[1..].iter().all(|r| !r.complete), "the key never reached the upstream whole");
    // A key in the response: the client reads the status frame in its place, in base64.
    let answer = [base64(&frame(0, &field(1, b"ok"))), base64(&frame(0, &field(1, KEY)))].concat();
    bed.answer(Answer::new(200, "application/grpc-web-text", &answer));
    let reply = bed.send("POST", "/pay.v1.Payments/Get", &headers, &base64(&frame(0, &field(1, b"7"))));
    let status = frame(0x80, b"grpc-status:7\r\ngrpc-message:blocked by sieve: sensitive data (credentials)\r\n");
    let expected = [base64(&frame(0, &field(1, b"ok"))), base64(&status)].concat();
    assert_eq!(String::from_utf8_lossy(&reply.body), String::from_utf8_lossy(&expected));
    bed.assert_clean_log();
}
