//! gRPC bodies through the HTTP inspection logic natively: messages scanned
//! without a schema, redacted with valid framing, blocked with a gRPC
//! status, inspected message by message, at every split point.

mod fixtures;
mod wire;

use std::sync::Arc;

use fixtures::KEY;
use sieve::flow::{BodyAction, Exchange, HeaderAction, Inspector};
use sieve::policy::Direction;
use wire::{base64, field, frame, gzip, int_field, messages, ENCODINGS};

const POLICY: &str = "categories:\n  pci: {action: redact}\n  credentials: {action: block}\n";

fn inspector(policy: &str) -> Arc<Inspector> {
    Inspector::from_policy_text(policy).unwrap()
}

fn grpc_headers<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a [u8], &'a [u8])> {
    let base = [(":method", "POST"), (":path", "/pay.v1.Payments/Charge"), ("content-type", "application/grpc")];
    base.iter().chain(extra).map(|(k, v)| (k.as_bytes(), v.as_bytes())).collect()
}

/// `Charge { order_id: 7, customer: { name: "Ann", card: <card> }, note: "thanks" }`
fn charge(card: &[u8]) -> Vec<u8> {
    let customer = [field(1, b"Ann"), field(2, card)].concat();
    [int_field(1, 7), field(2, &customer), field(3, b"thanks")].concat()
}

fn exchange(policy: &str) -> Exchange {
    let mut ex = Exchange::new(inspector(policy));
    let HeaderAction::Continue { .. } = ex.request_headers(&grpc_headers(&[]), false) else { panic!("blocked") };
    ex
}

/// Feeds a request body split at `splits`, ending with trailers, the way
/// Envoy does: a held chunk stays in Envoy's buffer, and the next verdict
/// covers the whole buffer. Returns what went upstream, or the block.
fn forwarded(ex: &mut Exchange, body: &[u8], splits: &[usize]) -> Result<Vec<u8>, BodyAction> {
    let (mut out, mut held) = (Vec::new(), Vec::new());
    let mut release = |action, held: &mut Vec<u8>| {
        match action {
            BodyAction::Continue => out.append(held),
            BodyAction::Replace(bytes) => {
                out.extend(bytes);
                held.clear();
            }
            BodyAction::Hold => {}
            block => return Err(block),
        }
        Ok(())
    };
    let mut at = 0;
    for &s in splits.iter().chain(std::iter::once(&body.len())) {
        held.extend_from_slice(&body[at..s]);
        release(ex.request_body(&body[at..s], false), &mut held)?;
        at = s;
    }
    release(ex.request_trailers(&[]).body, &mut held)?;
    assert!(held.is_empty(), "the trailers end every hold");
    Ok(out)
}

#[test]
fn monitor_mode_finds_nested_strings_and_changes_nothing() {
    let body = frame(0, &charge(b"4111 1111 1111 1111"));
    for split in 0..=body.len() {
        let mut ex = exchange("");
        assert_eq!(forwarded(&mut ex, &body, &[split]).unwrap(), body, "split at {split}");
        let r = ex.record();
        assert_eq!(r.detectors(), ["credit-card"], "split at {split}");
        assert_eq!(r.findings[0].key_path.as_deref(), Some("$.2.2"), "field 2 of field 2");
        let card_at = body.windows(4).position(|w| w == b"4111").unwrap() as u64;
        assert_eq!(r.findings[0].start, card_at, "offsets are into the body");
    }
}

#[test]
fn redaction_keeps_the_framing_valid_at_every_split_point() {
    let body = [frame(0, &charge(b"4111 1111 1111 1111")), frame(0, &charge(b"none"))].concat();
    let expected = [frame(0, &charge(b"**** **** **** 1111")), frame(0, &charge(b"none"))].concat();
    for split in 0..=body.len() {
        let mut ex = exchange(POLICY);
        assert_eq!(forwarded(&mut ex, &body, &[split]).unwrap(), expected, "split at {split}");
    }
}

#[test]
fn length_changing_redaction_re_encodes_the_lengths() {
    let policy = "categories:\n  pci: {action: redact, redact: {method: replace, text: '[card]'}}\n";
    let mut ex = exchange(policy);
    let out = forwarded(&mut ex, &frame(0, &charge(b"card 4111 1111 1111 1111 ok")), &[]).unwrap();
    assert_eq!(messages(&out).unwrap(), [charge(b"card [card] ok")]);
}

#[test]
fn messages_go_on_as_they_complete_not_held_to_the_end() {
    let (first, second) = (frame(0, &charge(b"4111 1111 1111 1111")), frame(0, &charge(b"none")));
    let mut ex = exchange(POLICY);
    let BodyAction::Replace(out) = ex.request_body(first.as_slice(), false) else {
        panic!("a complete message goes on")
    };
    assert_eq!(messages(&out).unwrap(), [charge(b"**** **** **** 1111")]);
    let half = second.len() / 2;
    assert_eq!(ex.request_body(&second[..half], false), BodyAction::Hold, "held until the message completes");
    assert_eq!(ex.request_body(&second[half..], false), BodyAction::Continue, "clean: the held bytes go on");
}

#[test]
fn credentials_block_with_a_grpc_status_that_names_no_value() {
    let mut ex = exchange(POLICY);
    let Err(BodyAction::Block(reply)) = forwarded(&mut ex, &frame(0, &field(4, KEY)), &[9]) else { panic!() };
    assert!(reply.grpc, "a gRPC client gets a gRPC status");
    assert_eq!(reply.body, "blocked by sieve: sensitive data (credentials)");
    assert!(!format!("{reply:?}").contains("MIIE"));
}

#[test]
fn a_blocked_response_stops_its_messages_and_its_trailers_say_permission_denied() {
    let mut ex = exchange(POLICY);
    assert_eq!(forwarded(&mut ex, &frame(0, &charge(b"none")), &[]).unwrap(), frame(0, &charge(b"none")));
    ex.response_headers(&grpc_headers(&[(":status", "200")]), false);
    let clean = frame(0, &field(1, b"ok"));
    assert_eq!(ex.response_body(clean.as_slice(), false), BodyAction::Continue);
    assert_eq!(ex.response_body(frame(0, &field(1, KEY)), false), BodyAction::Replace(Vec::new()));
    assert_eq!(ex.response_body(clean.as_slice(), false), BodyAction::Replace(Vec::new()), "nothing after it goes on");
    let trailers = ex.response_trailers(&[(b"grpc-status", b"0")]);
    assert_eq!(
        trailers.set,
        [
            ("grpc-status".to_string(), b"7".to_vec()),
            ("grpc-message".to_string(), b"blocked by sieve: sensitive data (credentials)".to_vec())
        ]
    );
    assert!(ex.record().blocked);
}

#[test]
fn a_blocked_grpc_web_response_ends_in_its_own_status_frame() {
    let status_of = |categories: &str| {
        let trailers = format!("grpc-status:7\r\ngrpc-message:blocked by sieve: sensitive data ({categories})\r\n");
        frame(0x80, trailers.as_bytes())
    };
    // A call of this content type, its response's body still to come.
    let answering = |content_type: &[u8]| {
        let mut ex = Exchange::new(inspector(POLICY));
        ex.request_headers(&[(b":method", b"POST"), (b"content-type", content_type)], true);
        ex.response_headers(&[(b":status", b"200"), (b"content-type", content_type)], false);
        ex
    };
    let status = status_of("credentials");
    let (clean, key) = (frame(0, &field(1, b"ok")), frame(0, &field(1, KEY)));
    for content_type in ["application/grpc-web+proto", "application/grpc-web-text"] {
        let text = content_type.ends_with("text");
        let form = |bytes: &[u8]| if text { base64(bytes) } else { bytes.to_vec() };
        let mut ex = answering(content_type.as_bytes());
        assert_eq!(ex.response_body(form(&clean), false), BodyAction::Continue);
        // The status frame takes the blocked message's place, and nothing after it goes on.
        assert_eq!(ex.response_body(form(&key), false), BodyAction::Replace(form(&status)), "{content_type}");
        assert_eq!(ex.response_body(form(&status), true), BodyAction::Replace(Vec::new()));
        // Messages before the blocked one in the same chunk still go on, then the status.
        let mut ex = answering(content_type.as_bytes());
        let card = frame(0, &charge(b"4111 1111 1111 1111"));
        let chunk = [form(&card), form(&key), form(&clean)].concat();
        // Binary is redacted; base64 text is never rewritten, so its card goes on as it came.
        let kept = if text { base64(&card) } else { frame(0, &charge(b"**** **** **** 1111")) };
        let expected = [kept, form(&status_of("credentials,pci"))].concat();
        assert_eq!(ex.response_body(chunk, false), BodyAction::Replace(expected), "{content_type}");
    }
    // Base64 text that went out mid-group (one segment over both messages) cannot take a new segment.
    let mut ex = answering(b"application/grpc-web-text");
    let both = base64(&[clean.clone(), key].concat());
    let split = clean.len() / 3 * 4 + 2;
    assert_eq!(ex.response_body(&both[..split], false), BodyAction::Continue);
    assert_eq!(ex.response_body(&both[split..], false), BodyAction::Replace(Vec::new()));
}

#[test]
fn compressed_messages_are_decoded_scanned_and_blocked_but_never_rewritten() {
    for (encoding, encode) in ENCODINGS {
        let mut ex = Exchange::new(inspector(POLICY));
        ex.request_headers(&grpc_headers(&[("grpc-encoding", encoding)]), false);
        let body = frame(1, &encode(&charge(b"4111 1111 1111 1111")));
        assert_eq!(forwarded(&mut ex, &body, &[3]).unwrap(), body);
        assert_eq!(ex.record().detectors(), ["credit-card"], "{encoding}");
        assert_eq!(ex.record().skipped, [(Direction::Request, "redaction of a compressed body")]);
    }

    let mut ex = Exchange::new(inspector(POLICY));
    ex.request_headers(&grpc_headers(&[("grpc-encoding", "gzip")]), false);
    assert!(matches!(forwarded(&mut ex, &frame(1, &gzip(KEY)), &[]), Err(BodyAction::Block(_))));

    // A bomb is decoded only up to max_scan_bytes, and the call is tagged truncated, as bodies are.
    let mut ex = Exchange::new(inspector(&format!("{POLICY}http: {{max_scan_bytes: 65536}}")));
    ex.request_headers(&grpc_headers(&[("grpc-encoding", "gzip")]), false);
    let bomb = frame(1, &gzip(&field(1, &vec![b'a'; 4 << 20])));
    assert_eq!(forwarded(&mut ex, &bomb, &[]).unwrap(), bomb);
    assert_eq!(ex.record().truncated, [Direction::Request]);
    let mut ex = Exchange::new(inspector(&format!("{POLICY}http: {{max_scan_bytes: 65536, on_limit: block}}")));
    ex.request_headers(&grpc_headers(&[("grpc-encoding", "gzip")]), false);
    assert!(matches!(forwarded(&mut ex, &bomb, &[]), Err(BodyAction::Block(_))), "as on_limit says");

    let mut ex = exchange(POLICY);
    assert_eq!(forwarded(&mut ex, &frame(1, b"\x1f\x8bjunk"), &[]).unwrap(), frame(1, b"\x1f\x8bjunk"));
    assert_eq!(ex.record().skipped, [(Direction::Request, "compressed gRPC message without grpc-encoding")]);
    // Even in monitor mode the message is held until it is read, then blocked.
    let mut ex = exchange("http: {on_unreadable: block}");
    let message = frame(1, b"\x1f\x8bjunk");
    assert_eq!(ex.request_body(&message[..7], false), BodyAction::Hold);
    let BodyAction::Block(reply) = ex.request_body(&message[7..], false) else { panic!() };
    assert_eq!((reply.grpc, reply.body.as_str()), (true, "blocked by sieve: unreadable body"));
}

fn text_exchange(policy: &str) -> Exchange {
    let mut ex = Exchange::new(inspector(policy));
    let headers: Vec<(&[u8], &[u8])> = vec![
        (b":method", b"POST"),
        (b":path", b"/pay.v1.Payments/Charge"),
        (b"content-type", b"application/grpc-web-text"),
    ];
    let HeaderAction::Continue { remove_content_length, .. } = ex.request_headers(&headers, false) else { panic!() };
    assert!(!remove_content_length, "base64 text is never rewritten");
    ex
}

#[test]
fn grpc_web_text_is_decoded_and_scanned_at_every_split_and_goes_on_as_it_came() {
    // Two messages, each its own padded base64 segment, as a sender encoding each write sends them.
    let card = frame(0, &charge(b"4111 1111 1111 1111"));
    let text = [base64(&card), base64(&frame(0, &field(3, b"thanks")))].concat();
    assert!(text[..base64(&card).len()].ends_with(b"="), "the first segment is padded");
    for split in 0..=text.len() {
        let mut ex = text_exchange("");
        assert_eq!(forwarded(&mut ex, &text, &[split]).unwrap(), text, "split at {split}");
        assert_eq!(ex.record().detectors(), ["credit-card"], "split at {split}");
        assert_eq!(ex.record().findings[0].key_path.as_deref(), Some("$.2.2"));
    }
    // A key blocks the call; a card to redact goes on as it came, and the record says why.
    let mut ex = text_exchange(POLICY);
    let Err(BodyAction::Block(reply)) = forwarded(&mut ex, &base64(&frame(0, &field(1, KEY))), &[7]) else { panic!() };
    // A trailers-only answer, which gRPC-Web clients read (Envoy's gRPC replies are for application/grpc).
    let header = |name: &str| reply.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    assert_eq!((reply.status, reply.grpc, reply.body.as_str()), (200, false, ""));
    assert_eq!((header("grpc-status"), header("content-type")), (Some("7"), Some("application/grpc-web-text")));
    assert_eq!(header("grpc-message"), Some("blocked by sieve: sensitive data (credentials)"));
    let mut ex = text_exchange(POLICY);
    assert_eq!(forwarded(&mut ex, &text, &[9]).unwrap(), text);
    assert_eq!(ex.record().skipped, [(Direction::Request, "redaction of a base64 gRPC-Web body")]);
    // Text that is not base64 cannot be read: it passes, or is blocked, as the policy says.
    let mut ex = text_exchange(POLICY);
    assert_eq!(forwarded(&mut ex, b"AAAA*not base64*", &[]).unwrap(), b"AAAA*not base64*");
    assert_eq!(ex.record().skipped, [(Direction::Request, "undecodable body")]);
    let mut ex = text_exchange(&format!("{POLICY}http: {{on_unreadable: block}}"));
    assert!(matches!(forwarded(&mut ex, b"AAAA*not base64*", &[]), Err(BodyAction::Block(_))));
    // The messages before the damage are read, however the text was cut: a key there blocks.
    let damaged = [base64(&frame(0, &field(1, KEY))), b"*not base64*".to_vec()].concat();
    for split in [0, 9, damaged.len() - 6] {
        let mut ex = text_exchange(POLICY);
        assert!(matches!(forwarded(&mut ex, &damaged, &[split]), Err(BodyAction::Block(_))), "split at {split}");
    }
}

#[test]
fn messages_over_the_limit_pass_truncated_or_block() {
    let big = frame(0, &field(1, &[b"x".repeat(3000), b" 4111 1111 1111 1111".to_vec()].concat()));
    let mut ex = exchange(&format!("{POLICY}http: {{max_buffer_bytes: 1000}}"));
    assert_eq!(forwarded(&mut ex, &big, &[10, 2000]).unwrap(), big, "nothing is lost");
    assert_eq!(ex.record().truncated, [Direction::Request]);

    let mut ex = exchange(&format!("{POLICY}http: {{max_buffer_bytes: 1000, on_limit: block}}"));
    assert!(matches!(forwarded(&mut ex, &big, &[10]), Err(BodyAction::Block(_))));

    // gRPC-Web text past the limit is not read further, so damage after it is not noted.
    let text = [base64(&big[..1500]), b"*not base64*".to_vec()].concat();
    for splits in [&[][..], &[1000]] {
        let mut ex = text_exchange(&format!("{POLICY}http: {{max_buffer_bytes: 1000}}"));
        assert_eq!(forwarded(&mut ex, &text, splits).unwrap(), text);
        assert_eq!((&ex.record().truncated[..], &ex.record().skipped[..]), (&[Direction::Request][..], &[][..]));
    }
}

#[test]
fn a_truncated_last_message_passes_as_it_came_and_is_noted_or_is_blocked() {
    let body = frame(0, &charge(b"4111 1111 1111 1111"));
    let mut ex = exchange(POLICY);
    assert_eq!(forwarded(&mut ex, &body[..body.len() - 3], &[]).unwrap(), body[..body.len() - 3]);
    assert_eq!(ex.record().skipped, [(Direction::Request, "truncated gRPC message")]);
    let mut ex = exchange(&format!("{POLICY}http: {{on_unreadable: block}}"));
    assert!(
        matches!(forwarded(&mut ex, &body[..body.len() - 3], &[]), Err(BodyAction::Block(_))),
        "as the policy says"
    );
    assert_eq!(ex.record().skipped, [(Direction::Request, "truncated gRPC message")]);
}

#[test]
fn random_frames_and_chunkings_never_panic() {
    let insp = inspector(POLICY);
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let parts: [&[u8]; 5] = [b"4111 1111 1111 1111", KEY, b"\x0a\x05hello", b"\xff\xff\xff", b"\x12\x80\x01"];
    for _ in 0..300 {
        let mut body = Vec::new();
        for _ in 0..next() % 4 {
            let message: Vec<u8> =
                (0..next() % 5).flat_map(|_| field(next() % 20 + 1, parts[(next() % 5) as usize])).collect();
            body.extend(frame((next() % 2) as u8, &message));
        }
        let cut = (next() as usize) % (body.len() + 1);
        let body = &body[..cut];
        let splits: Vec<usize> = (0..3).map(|_| (next() as usize) % (body.len() + 1)).collect();
        let mut splits = splits;
        splits.sort();
        let mut ex = Exchange::new(Arc::clone(&insp));
        ex.request_headers(&grpc_headers(&[]), false);
        let _ = forwarded(&mut ex, body, &splits);
    }
}

#[test]
fn trailing_metadata_is_scanned_and_a_key_there_denies_the_call() {
    let mut ex = exchange(POLICY);
    forwarded(&mut ex, &frame(0, &charge(b"none")), &[]).unwrap();
    ex.response_headers(&grpc_headers(&[(":status", "200")]), false);
    assert_eq!(ex.response_body(frame(0, &field(1, b"ok")), false), BodyAction::Continue);
    let token = b"ghp_0123456789abcdefghijABCDEFGHIJ012345".to_vec();
    let trailers = ex.response_trailers(&[(b"grpc-status", b"0"), (b"x-debug", &token)]);
    let set: Vec<&str> = trailers.set.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(set, ["x-debug", "grpc-status", "grpc-message"], "the value is masked and the call denied");
    assert!(!String::from_utf8_lossy(&trailers.set[0].1).contains("ghp_"));
    assert!(ex.record().blocked);
}
