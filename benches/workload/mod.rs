//! The HTTP traffic the exchange and memory benchmarks drive through the
//! flow layer: `scripts/bench-envoy.sh`'s bodies and bearer header, and a
//! token endpoint's answer.

use std::hint::black_box;
use std::sync::Arc;

use sieve::flow::{Exchange, Inspector};

use super::wire;

/// The benchmark's request headers, as the filter reads them from Envoy.
pub const REQUEST: [(&str, &str); 6] = [
    (":method", "POST"),
    (":path", "/v1/orders"),
    (":authority", "localhost:10000"),
    ("user-agent", "wrk"),
    ("content-type", "application/json"),
    ("x-request-id", "0b9d1234-6f3e-4c1a-8e2b-5d7f9a1c3e5b"),
];

/// The benchmark's response headers.
pub const RESPONSE: [(&str, &str); 3] = [(":status", "200"), ("content-type", "application/json"), ("server", "envoy")];

/// The three findings the findings body ends with: a card, an email and a phone number.
pub const FINDINGS: &str =
    r#", "card": "4532 2766 4457 7020", "email": "grace@example.com", "phone": "+1 415 555 0134""#;

/// About 4 KiB of order items, with `extra` fields at the end.
pub fn body(extra: &str) -> Vec<u8> {
    items(33, extra)
}

/// `n` order items (about 125 bytes each), with `extra` fields at the end.
pub fn items(n: usize, extra: &str) -> Vec<u8> {
    let item = |i: usize| {
        format!(
            r#"{{"id": {}, "sku": "WID-{i:04}", "name": "Widget", "price": 19.99, "updated": "2025-06-14T09:12:44Z", "status": "shipped"}}"#,
            100000 + i
        )
    };
    let items: Vec<String> = (0..n).map(item).collect();
    format!(r#"{{"items": [{}]{extra}}}"#, items.join(", ")).into_bytes()
}

/// `Bearer <JWT>`: an RS256 token with random claims and signature (from
/// `seed`), base64url without padding.
pub fn bearer(mut seed: u64) -> String {
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
pub fn token_response(bearer: &str) -> Vec<u8> {
    let jwt = bearer.trim_start_matches("Bearer ");
    format!(
        r#"{{"access_token": "{jwt}", "token_type": "Bearer", "expires_in": 3600, "refresh_token": "rt.7f3c9a1e5b2d4c6e8a0b1c2d3e4f5a6b7c8d9e0f", "id_token": "{jwt}", "scope": "openid orders:read"}}"#
    )
    .into_bytes()
}

pub fn headers<'a>(pairs: &[(&'a str, &'a str)]) -> Vec<(&'a [u8], &'a [u8])> {
    pairs.iter().map(|(k, v)| (k.as_bytes(), v.as_bytes())).collect()
}

/// `request` with an `authorization` header of `token` after its headers.
pub fn authorized<'a>(request: &[(&'a [u8], &'a [u8])], token: &'a str) -> Vec<(&'a [u8], &'a [u8])> {
    [request, &[(&b"authorization"[..], token.as_bytes())]].concat()
}

/// One exchange as Envoy drives it: each body as one chunk, then ended by an
/// empty one; the filter reads each chunk into a Vec of its own.
pub fn exchange(
    inspector: &Arc<Inspector>,
    request: &[(&[u8], &[u8])],
    response: &[(&[u8], &[u8])],
    body: &[u8],
) -> usize {
    exchange_of(inspector, request, body, response, body)
}

/// One exchange as [`exchange`], with a body of its own each way.
pub fn exchange_of(
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
