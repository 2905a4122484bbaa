//! Chunking must be invisible: findings and redacted output are the same
//! for every way of splitting the stream.

#[allow(dead_code)]
#[path = "../benches/traffic.rs"]
mod traffic;

use std::sync::Arc;

use sieve::engine::{DetectorSet, Engine, Finding, ScanOptions, SCAN_BATCH};

/// A document with findings of many detectors, some next to each other.
fn document(copies: usize) -> String {
    let mut doc = String::from("{\"items\": [");
    for i in 0..copies {
        doc.push_str(&format!(
            concat!(
                "{{\"id\": {i}, \"card\": \"4111 1111 1111 1111\", \"email\": \"user{i}@example.com\", ",
                "\"note\": \"call +1 415 555 01{i:02} or mail ops@example.org; ssn 531-21-7351\", ",
                "\"iban\": \"DE89 3704 0044 0532 0130 00\", \"digits\": \"1234 5678 9012 3456 7890\", ",
                "\"token\": \"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyIn0.c2lnbmF0dXJlc2lnbmF0dXJl\"}},"
            ),
            i = i
        ));
    }
    doc.push_str("{}]}");
    doc
}

struct Run {
    findings: Vec<Finding>,
    output: Vec<u8>,
    max_retained: usize,
}

/// Feeds `chunks` to a scanner that redacts the stream.
fn run(engine: &Arc<Engine>, options: &ScanOptions, chunks: &[&[u8]]) -> Run {
    run_as(engine, options, chunks, true)
}

/// Feeds `chunks` to a scanner that redacts the stream, or only scans it
/// (`feed`, as monitor mode does: `output` stays empty).
fn run_as(engine: &Arc<Engine>, options: &ScanOptions, chunks: &[&[u8]], redact: bool) -> Run {
    let mut scanner = engine.scanner(options.clone());
    let (mut findings, mut output, mut max_retained) = (Vec::new(), Vec::new(), 0);
    let mut sink = |f, _: &[u8]| findings.push(f);
    for chunk in chunks {
        if redact {
            scanner.feed_redact(chunk, &mut output, &mut sink);
        } else {
            scanner.feed(chunk, &mut sink);
        }
        max_retained = max_retained.max(scanner.retained());
    }
    if redact {
        scanner.finish_redact(&mut output, &mut sink);
    } else {
        scanner.finish(&mut sink);
    }
    Run { findings, output, max_retained }
}

/// `bytes` cut into chunks of 1 to `max` bytes at random.
fn random_chunks<'a>(rng: &mut traffic::Rng, bytes: &'a [u8], max: u64) -> Vec<&'a [u8]> {
    let (mut chunks, mut rest) = (Vec::new(), bytes);
    while !rest.is_empty() {
        let (a, b) = rest.split_at((1 + rng.below(max) as usize).min(rest.len()));
        chunks.push(a);
        rest = b;
    }
    chunks
}

fn redact_all(engine: &Engine) -> ScanOptions {
    ScanOptions { redact: DetectorSet::all(engine), ..ScanOptions::json(engine) }
}

/// A small window (short detectors only), so a few KiB exercise many rescans.
fn short_engine() -> Arc<Engine> {
    let policy = "builtin: {include: [credit-card, email, us-ssn, iban, phone, ipv4, aba-routing]}";
    Arc::new(Engine::from_policy_text(policy).unwrap())
}

#[test]
fn every_single_split_point_gives_the_same_result() {
    let engine = short_engine();
    assert!(engine.window() < 1000, "window {}", engine.window());
    let doc = document(12);
    let bytes = doc.as_bytes();
    assert!(bytes.len() > 4 * engine.window());
    let opts = redact_all(&engine);
    let whole = run(&engine, &opts, &[bytes]);
    assert!(whole.findings.len() >= 6 * 6, "the document has findings: {}", whole.findings.len());
    assert_ne!(whole.output, bytes);
    for split in 0..=bytes.len() {
        let (a, b) = bytes.split_at(split);
        let r = run(&engine, &opts, &[a, b]);
        assert_eq!(r.findings, whole.findings, "findings differ at split {split}");
        assert_eq!(r.output, whole.output, "output differs at split {split}");
    }
}

#[test]
fn byte_by_byte_gives_the_same_result_in_bounded_memory() {
    let engine = short_engine();
    let doc = document(20);
    let bytes = doc.as_bytes();
    let opts = redact_all(&engine);
    let whole = run(&engine, &opts, &[bytes]);
    let chunks: Vec<&[u8]> = bytes.chunks(1).collect();
    let r = run(&engine, &opts, &chunks);
    assert_eq!(r.findings, whole.findings);
    assert_eq!(r.output, whole.output);
    assert!(r.max_retained <= 3 * engine.window() + 1, "retained {} for window {}", r.max_retained, engine.window());
}

#[test]
fn random_chunkings_with_the_default_policy() {
    let engine = Arc::new(Engine::from_policy_text("").unwrap());
    let mut doc = document(40);
    // A private key and long tokens, which set the default window.
    doc.push_str("\n-----BEGIN EC PRIVATE KEY-----\n");
    doc.push_str(&"MHcCAQEEIBkg4LVWM9nuwNSk3yByxZpYRTBnVJk5oGsdRb7Xk2nSoAoGCCqGSM49\n".repeat(40));
    doc.push_str("-----END EC PRIVATE KEY-----\n");
    doc.push_str(&document(40));
    let bytes = doc.as_bytes();
    let opts = redact_all(&engine);
    let whole = run(&engine, &opts, &[bytes]);
    assert!(whole.findings.iter().any(|f| engine.detector(f.detector).id == "private-key"));
    let mut rng = traffic::Rng::new(0x9e3779b97f4a7c15);
    for _ in 0..60 {
        let chunks = random_chunks(&mut rng, bytes, 5000);
        let r = run(&engine, &opts, &chunks);
        assert_eq!(r.findings, whole.findings, "findings differ for {} chunks", chunks.len());
        assert_eq!(r.output, whole.output);
        assert!(r.max_retained <= 3 * engine.window() + 5000);
    }
}

/// A stream only scanned (monitor mode) waits for a batch of bytes before a
/// search: chunked any way, it finds what one scan of the whole finds, key
/// paths included, and holds at most a batch, a window and a chunk.
#[test]
fn a_stream_only_scanned_finds_the_same_in_batches() {
    let engine = short_engine();
    let doc = document(500);
    let bytes = doc.as_bytes();
    assert!(bytes.len() > 2 * SCAN_BATCH, "{} bytes", bytes.len());
    let opts = ScanOptions::json(&engine);
    let whole = engine.scan(bytes, &opts);
    assert!(whole.len() >= 500 * 6, "the document has findings: {}", whole.len());
    assert!(whole.iter().all(|f| f.path.is_some()), "every finding has its key path");
    let mut rng = traffic::Rng::new(0x5eed);
    for max_chunk in [1, 100, 5000, 70000] {
        let r = run_as(&engine, &opts, &random_chunks(&mut rng, bytes, max_chunk), false);
        assert_eq!(r.findings, whole, "findings differ in chunks of up to {max_chunk} bytes");
        let bound = SCAN_BATCH + engine.window() + max_chunk as usize;
        assert!(r.max_retained <= bound, "retained {}, more than {bound}", r.max_retained);
    }
}

#[test]
fn redaction_by_action_uses_each_detectors_method() {
    let engine = Engine::from_policy_text(
        "categories:\n  pci: {action: redact}\n  contact: {action: redact, redact: {method: replace, text: '[email]'}}\n",
    )
    .unwrap();
    let (out, findings) =
        engine.redact(b"pay 4111 1111 1111 1111 from a@b.io at 58.74.121.78", &ScanOptions::text(&engine));
    assert_eq!(String::from_utf8(out).unwrap(), "pay **** **** **** 1111 from [email] at 58.74.121.78");
    assert_eq!(findings.len(), 3, "monitored findings are still reported");
}

#[test]
fn same_length_mode_never_changes_length() {
    let engine =
        Engine::from_policy_text("default_action: redact\nredaction: {default: {method: replace, text: X}}").unwrap();
    let input = b"mail a@b.io and x@y.org, card 4111111111111111";
    let opts = ScanOptions { same_length: true, ..ScanOptions::text(&engine) };
    let (out, _) = engine.redact(input, &opts);
    assert_eq!(out.len(), input.len());
    // Email's `replace` falls back to a mask; the card keeps its category's partial method.
    assert_eq!(String::from_utf8(out).unwrap(), "mail ****** and *******, card ************1111");
}
