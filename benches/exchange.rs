//! One HTTP exchange through the flow layer natively, as the filter drives
//! it in Envoy: request headers and a 4 KiB JSON body, response headers and
//! the same body back, on the default policy. Clean, and with three findings
//! each way (the bodies `scripts/bench-envoy.sh` sends), and clean under an
//! `authorization: Bearer <JWT>` request header of about 830 bytes (its
//! third workload's shape: the same token in every exchange, as a service
//! sends it, which the memo of found values serves after the first), the
//! same with a token never seen before in each exchange (each scanned), and
//! an OAuth token response: JWTs under
//! `access_token` and `id_token`, as a token endpoint sends them. Then the
//! clean exchange with both bodies
//! compressed, as each `content-encoding` sieve reads, against the same
//! exchange uncompressed.
//!
//! `cargo bench --bench exchange`

use std::hint::black_box;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion};
use sieve::flow::{Exchange, Inspector};

#[path = "../tests/wire/mod.rs"]
mod wire;

/// About 4 KiB of order items, with `extra` fields at the end.
fn body(extra: &str) -> Vec<u8> {
    let item = |i: usize| {
        format!(
            r#"{{"id": {}, "sku": "WID-{i:04}", "name": "Widget", "price": 19.99, "updated": "2025-06-14T09:12:44Z", "status": "shipped"}}"#,
            100000 + i
        )
    };
    let items: Vec<String> = (0..33).map(item).collect();
    format!(r#"{{"items": [{}]{extra}}}"#, items.join(", ")).into_bytes()
}

/// `Bearer <JWT>`: an RS256 token with random claims and signature (from
/// `seed`), base64url without padding.
fn bearer(mut seed: u64) -> String {
    let mut random = |n: usize| -> Vec<u8> {
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed as u8
        };
        (0..n).map(|_| next()).collect()
    };
    let hex = |bytes: Vec<u8>| bytes.iter().map(|b| format!("{b:02x}")).collect::<String>();
    let b64 = |bytes: &[u8]| {
        let text = String::from_utf8(wire::base64(bytes)).unwrap();
        text.trim_end_matches('=').replace('+', "-").replace('/', "_")
    };
    let header = format!(r#"{{"alg": "RS256", "typ": "JWT", "kid": "{}"}}"#, hex(random(8)));
    let claims = format!(
        r#"{{"iss": "https://idp.example.com/", "sub": "spiffe://cluster.local/ns/shop/sa/{}", "aud": "orders", "iat": 1764500000, "exp": 1764503600, "jti": "{}", "scope": "orders:read orders:write", "nonce": "{}"}}"#,
        hex(random(8)),
        hex(random(16)),
        b64(&random(48))
    );
    format!("Bearer {}.{}.{}", b64(header.as_bytes()), b64(claims.as_bytes()), b64(&random(256)))
}

/// A token endpoint's answer: the bearer's JWT as the access token and
/// again as the ID token, and an opaque refresh token.
fn token_response(bearer: &str) -> Vec<u8> {
    let jwt = bearer.trim_start_matches("Bearer ");
    format!(
        r#"{{"access_token": "{jwt}", "token_type": "Bearer", "expires_in": 3600, "refresh_token": "rt.7f3c9a1e5b2d4c6e8a0b1c2d3e4f5a6b7c8d9e0f", "id_token": "{jwt}", "scope": "openid orders:read"}}"#
    )
    .into_bytes()
}

fn headers<'a>(pairs: &[(&'a str, &'a str)]) -> Vec<(&'a [u8], &'a [u8])> {
    pairs.iter().map(|(k, v)| (k.as_bytes(), v.as_bytes())).collect()
}

fn bench(c: &mut Criterion) {
    let inspector = Inspector::from_policy_text("").unwrap();
    let request = headers(&[
        (":method", "POST"),
        (":path", "/v1/orders"),
        (":authority", "localhost:10000"),
        ("user-agent", "wrk"),
        ("content-type", "application/json"),
        ("x-request-id", "0b9d1234-6f3e-4c1a-8e2b-5d7f9a1c3e5b"),
    ]);
    let response = headers(&[(":status", "200"), ("content-type", "application/json"), ("server", "envoy")]);
    let bodies = [
        ("clean", body("")),
        (
            "findings",
            body(r#", "card": "4532 2766 4457 7020", "email": "grace@example.com", "phone": "+1 415 555 0134""#),
        ),
    ];
    let token = bearer(2026);
    let mut authorized = request.clone();
    authorized.push((b"authorization", token.as_bytes()));
    assert_eq!(exchange(&inspector, &authorized, &response, &bodies[0].1), 1, "the token, and nothing else");
    let mut group = c.benchmark_group("exchange");
    group.sample_size(30);
    for (name, body) in &bodies {
        group.bench_function(*name, |b| b.iter(|| exchange(&inspector, &request, &response, body)));
    }
    group.bench_function("bearer", |b| b.iter(|| exchange(&inspector, &authorized, &response, &bodies[0].1)));
    // A token per exchange, none seen within the memo's reach: each is scanned.
    let tokens: Vec<String> = (0..64).map(|i| bearer(2027 + i)).collect();
    let unseen: Vec<_> = tokens.iter().map(|t| [&request[..], &[(b"authorization", t.as_bytes())]].concat()).collect();
    let mut next = unseen.iter().cycle();
    group.bench_function("bearer_unseen", |b| {
        b.iter(|| exchange(&inspector, next.next().expect("a cycle never ends"), &response, &bodies[0].1))
    });
    let (grant, tokens) = (br#"{"grant_type": "client_credentials"}"#, token_response(&token));
    assert_eq!(exchange_of(&inspector, &request, grant, &response, &tokens), 3, "two JWTs and the refresh token");
    group.bench_function("token_response", |b| b.iter(|| exchange_of(&inspector, &request, grant, &response, &tokens)));
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
}

/// One exchange as Envoy drives it: each body as one chunk, then ended by an
/// empty one; the filter reads each chunk into a Vec of its own.
fn exchange(inspector: &Arc<Inspector>, request: &[(&[u8], &[u8])], response: &[(&[u8], &[u8])], body: &[u8]) -> usize {
    exchange_of(inspector, request, body, response, body)
}

/// One exchange as [`exchange`], with a body of its own each way.
fn exchange_of(
    inspector: &Arc<Inspector>,
    request: &[(&[u8], &[u8])],
    request_body: &[u8],
    response: &[(&[u8], &[u8])],
    response_body: &[u8],
) -> usize {
    let mut ex = Exchange::new(Arc::clone(inspector));
    ex.request_headers(request, false);
    ex.request_body(request_body.to_vec(), false);
    ex.request_body(Vec::new(), true);
    ex.response_headers(response, false);
    ex.response_body(response_body.to_vec(), false);
    ex.response_body(Vec::new(), true);
    black_box(ex.record().findings.len())
}

criterion_group!(benches, bench);
criterion_main!(benches);
