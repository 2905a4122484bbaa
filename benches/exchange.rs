//! One HTTP exchange through the flow layer natively, as the filter drives
//! it in Envoy: request headers and a 4 KiB JSON body, response headers and
//! the same body back, on the default policy. Clean, and with three findings
//! each way (the bodies `scripts/bench-envoy.sh` sends), and clean under an
//! `authorization: Bearer <JWT>` request header of about 830 bytes (its
//! third workload's shape: the same token in every exchange, as a service
//! sends it, which the memo of found values serves after the first), the
//! same with a token never seen before in each exchange (each scanned), and
//! an OAuth token response: JWTs under
//! `access_token` and `id_token`, as a token endpoint sends them; a clean
//! exchange with 16 KiB bodies, longer than the default policy's window, and
//! the clean 4 KiB exchange on a policy without the credential detectors,
//! whose window (764 bytes) is far shorter than the body. Then the clean
//! exchange with both bodies
//! compressed, as each `content-encoding` sieve reads, against the same
//! exchange uncompressed. Last, 64 KiB of JSON lines each way, read record
//! by record, against the same bytes held and scanned as one text.
//!
//! `cargo bench --bench exchange`

use criterion::{criterion_group, criterion_main, Criterion};
use sieve::flow::Inspector;

#[path = "../tests/wire/mod.rs"]
mod wire;
mod workload;

use workload::{
    authorized, bearer, body, exchange, exchange_of, headers, items, token_response, FINDINGS, REQUEST, RESPONSE,
};

fn bench(c: &mut Criterion) {
    let inspector = Inspector::from_policy_text("").unwrap();
    let (request, response) = (headers(&REQUEST), headers(&RESPONSE));
    let bodies = [("clean", body("")), ("findings", body(FINDINGS))];
    let token = bearer(2026);
    let with_token = authorized(&request, &token);
    assert_eq!(exchange(&inspector, &with_token, &response, &bodies[0].1), 1, "the token, and nothing else");
    let mut group = c.benchmark_group("exchange");
    group.sample_size(30);
    for (name, body) in &bodies {
        group.bench_function(*name, |b| b.iter(|| exchange(&inspector, &request, &response, body)));
    }
    group.bench_function("bearer", |b| b.iter(|| exchange(&inspector, &with_token, &response, &bodies[0].1)));
    // A token per exchange, none seen within the memo's reach: each is scanned.
    let tokens: Vec<String> = (0..64).map(|i| bearer(2027 + i)).collect();
    let unseen: Vec<_> = tokens.iter().map(|t| authorized(&request, t)).collect();
    let mut next = unseen.iter().cycle();
    group.bench_function("bearer_unseen", |b| {
        b.iter(|| exchange(&inspector, next.next().expect("a cycle never ends"), &response, &bodies[0].1))
    });
    let (grant, tokens) = (br#"{"grant_type": "client_credentials"}"#, token_response(&token));
    assert_eq!(exchange_of(&inspector, &request, grant, &response, &tokens), 3, "two JWTs and the refresh token");
    group.bench_function("token_response", |b| b.iter(|| exchange_of(&inspector, &request, grant, &response, &tokens)));
    let large = items(132, "");
    assert!(large.len() > 2 * inspector.engine.window(), "{} bytes", large.len());
    group.bench_function("clean_16k", |b| b.iter(|| exchange(&inspector, &request, &response, &large)));
    let short = Inspector::from_policy_text("builtin: {include: [all], exclude: [credentials]}").unwrap();
    assert!(bodies[0].1.len() > 4 * short.engine.window(), "window {}", short.engine.window());
    group.bench_function("clean_short_window", |b| b.iter(|| exchange(&short, &request, &response, &bodies[0].1)));
    group.finish();

    let clean = &bodies[0].1;
    let identity: (&str, wire::Encoder) = ("identity", |body| body.to_vec());
    let mut group = c.benchmark_group("compressed_exchange");
    group.sample_size(30);
    for (name, encode) in std::iter::once(identity).chain(wire::ENCODINGS) {
        let body = encode(clean);
        let encoded = |pairs: &[(&'static [u8], &'static [u8])]| {
            let mut pairs = pairs.to_vec();
            if name != "identity" {
                pairs.push((b"content-encoding", name.as_bytes()));
            }
            pairs
        };
        let (request, response) = (encoded(&request), encoded(&response));
        group.bench_function(name, |b| b.iter(|| exchange(&inspector, &request, &response, &body)));
    }
    group.finish();

    // A stream of records is scanned record by record, where a held body is
    // scanned whole: 64 KiB of JSON lines of about 90 bytes, each way, where
    // a detector redacts, against the same bytes held as one text.
    let policy = Inspector::from_policy_text("categories:\n  pci: {action: redact}\n").unwrap();
    let line = r#"{"id": 12345, "name": "Grace Hopper", "note": "all good here", "ts": "2026-12-02T05:00:00Z"}"#;
    let lines = format!("{line}\n").repeat(65536 / (line.len() + 1)).into_bytes();
    let mut group = c.benchmark_group("records_exchange");
    group.sample_size(30);
    for (name, content_type) in [("json_lines", "application/x-ndjson"), ("held_as_text", "text/plain")] {
        let typed = |pairs: &[(&'static str, &'static str)]| {
            let mut pairs = headers(pairs);
            pairs.retain(|(k, _)| *k != b"content-type");
            pairs.push((b"content-type", content_type.as_bytes()));
            pairs
        };
        let (request, response) = (typed(&REQUEST), typed(&RESPONSE));
        group.bench_function(name, |b| b.iter(|| exchange(&policy, &request, &response, &lines)));
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
