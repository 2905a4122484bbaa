//! The engine's streaming scan: the same findings and the same redacted
//! output whether a text came whole or in chunks, redacting or only
//! scanning; findings inside the text and in order; a same-length
//! redaction that keeps the length; the records of a text (cut after
//! each line ending) scanned over one region walk as each alone.
#![no_main]

use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use sieve::engine::{DetectorSet, Engine, Finding, RecordScan, ScanOptions};
use sieve_fuzz::{chunks, Choices};

const POLICIES: [&str; 3] = [
    "",
    "builtin: {include: [credit-card, email, us-ssn, iban, phone, ipv4, aba-routing]}",
    include_str!("../../examples/policies/custom-rules.json"),
];

fn engines() -> &'static [Arc<Engine>] {
    static ALL: OnceLock<Vec<Arc<Engine>>> = OnceLock::new();
    ALL.get_or_init(|| POLICIES.iter().map(|p| Arc::new(Engine::from_policy_text(p).expect("a fuzz policy"))).collect())
}

/// Feeds `pieces` to a scanner: the findings, and the output if redacting.
fn run(engine: &Arc<Engine>, options: &ScanOptions, pieces: &[&[u8]], redact: bool) -> (Vec<Finding>, Vec<u8>) {
    let mut scanner = engine.scanner(options.clone());
    let (mut findings, mut out) = (Vec::new(), Vec::new());
    let mut sink = |f, _: &[u8]| findings.push(f);
    for piece in pieces {
        match redact {
            true => scanner.feed_redact(piece, &mut out, &mut sink),
            false => scanner.feed(piece, &mut sink),
        }
    }
    match redact {
        true => scanner.finish_redact(&mut out, &mut sink),
        false => scanner.finish(&mut sink),
    }
    (findings, out)
}

fuzz_target!(|data: &[u8]| {
    let mut c = Choices::new(data);
    let engine = &engines()[c.below(POLICIES.len())];
    let mut options = if c.below(2) == 0 { ScanOptions::text(engine) } else { ScanOptions::json(engine) };
    options.redact = DetectorSet::all(engine);
    options.same_length = c.below(2) == 0;
    let cuts = c.bytes(32);
    let text = c.rest();
    let pieces = chunks(text, cuts);
    let whole = run(engine, &options, &[text], true);
    assert_eq!(whole, run(engine, &options, &pieces, true), "redacting in {} chunks", pieces.len());
    assert_eq!(whole.0, run(engine, &options, &pieces, false).0, "scanning in {} chunks", pieces.len());
    for pair in whole.0.windows(2) {
        assert!(pair[0].start <= pair[1].start, "findings out of order: {pair:?}");
    }
    for f in &whole.0 {
        assert!(f.start < f.end && f.end <= text.len() as u64, "{f:?} outside {} bytes", text.len());
    }
    if options.same_length {
        assert_eq!(whole.1.len(), text.len(), "a same-length redaction changed the length");
    }
    let mut records = RecordScan::new(engine, text, &options);
    let mut start = 0;
    let ends = text.iter().enumerate().filter(|(_, b)| matches!(b, b'\n' | b'\r')).map(|(at, _)| at + 1);
    for end in ends.chain([text.len()]) {
        let mut findings = Vec::new();
        let out = records.redact(start..end, &mut |f, _| findings.push(f)).unwrap_or(&text[start..end]).to_vec();
        let alone = engine.redact(&text[start..end], &options);
        assert_eq!((out, findings), alone, "the record at {start}..{end}");
        start = end;
    }
});
