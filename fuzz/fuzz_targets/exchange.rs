//! An HTTP exchange, request and response, under one of a few policies:
//! never a panic, never a body held at its end, and the same bodies
//! forwarded and the same record whether a body came whole or in chunks
//! (up to what blocks it: nothing after that is read).
#![no_main]

use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use sieve::flow::{Exchange, HeaderAction, Inspector, Record};
use sieve::policy::ActionKind;
use sieve_fuzz::{chunks, Choices, Forwarded};

#[path = "../../tests/wire/mod.rs"]
mod wire;

const POLICIES: [&str; 5] = [
    "",
    "categories:\n  pci: {action: redact}\n  credentials: {action: block}\n",
    "categories:\n  pci: {action: redact}\n  credentials: {action: block}\nhttp: {body_redaction: stream}\n",
    "categories:\n  pci: {action: block}\n  financial: {action: redact}\n\
     http: {on_unreadable: block, on_limit: block, max_buffer_bytes: 200, max_scan_bytes: 300, scan_binary: true}\n",
    "default_action: redact\nhttp: {max_scan_bytes: 100, body_redaction: stream, tag_response: true}\n",
];

const CONTENT_TYPES: [&str; 13] = [
    "application/json",
    "text/plain",
    "text/plain; charset=utf-16",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "application/grpc",
    "application/grpc-web-text",
    "application/x-protobuf",
    "text/event-stream",
    "application/x-ndjson",
    "application/xml",
    "application/octet-stream",
    "",
];

/// Encodings a body is labelled with; half the time it is encoded as
/// labelled (by the test suites' encoders), and else arrives as it is (damaged).
const ENCODINGS: [&str; 6] = ["", "gzip", "deflate", "br", "zstd", "gzip, deflate"];

fn inspectors() -> &'static [Arc<Inspector>] {
    static ALL: OnceLock<Vec<Arc<Inspector>>> = OnceLock::new();
    ALL.get_or_init(|| POLICIES.iter().map(|p| Inspector::from_policy_text(p).expect("a fuzz policy")).collect())
}

/// An exchange's shape: everything but how its bodies are cut.
struct Shape<'a> {
    inspector: Arc<Inspector>,
    content_type: &'a str,
    encoding: &'a str,
    method: &'a str,
    /// The request's path and query, as sent.
    path: &'a [u8],
    /// Whether the request asks to upgrade (a WebSocket).
    upgrade: bool,
    status: &'a str,
    header: &'a [u8],
    trailers: bool,
    body: Vec<u8>,
}

/// What came of an exchange, for comparing two chunkings.
#[derive(Debug)]
struct Outcome {
    request: Forwarded,
    response: Option<Forwarded>,
    record: Record,
}

impl PartialEq for Outcome {
    fn eq(&self, other: &Outcome) -> bool {
        self.request == other.request && self.response == other.response && same(&self.record, &other.record)
    }
}

/// Two records agree: wholly, or if blocked, up to the first finding that
/// blocks (a chunk read whole may hold more findings after it).
fn same(a: &Record, b: &Record) -> bool {
    let upto = |r: &Record| {
        let first_block = r.findings.iter().position(|f| f.action == ActionKind::Block);
        format!("{:?}", &r.findings[..first_block.map_or(r.findings.len(), |i| i + 1)])
    };
    match a.blocked {
        true => b.blocked && upto(a) == upto(b),
        false => format!("{a:?}") == format!("{b:?}"),
    }
}

/// Sends one direction's body in `cuts`' chunks, then trailers if the shape has them.
fn body(ex: &mut Exchange, response: bool, shape: &Shape, cuts: &[u8]) -> Forwarded {
    let mut out = Forwarded::default();
    let pieces = chunks(&shape.body, cuts);
    for (i, piece) in pieces.iter().enumerate() {
        let end = i + 1 == pieces.len() && !shape.trailers;
        let action = if response { ex.response_body(*piece, end) } else { ex.request_body(*piece, end) };
        out.answer(piece, &action);
        if out.stopped {
            return out;
        }
    }
    if shape.trailers {
        let trailers: &[(&[u8], &[u8])] = &[(b"grpc-status", b"0"), (b"x-fuzz", shape.header)];
        let action = if response { ex.response_trailers(trailers) } else { ex.request_trailers(trailers) };
        out.answer(&[], &action.body);
    }
    assert!(out.stopped || out.held().is_empty(), "a body that ended is still held");
    out
}

fn run(shape: &Shape, cuts: &[u8]) -> Outcome {
    let mut ex = Exchange::new(Arc::clone(&shape.inspector));
    let mut headers: Vec<(&[u8], &[u8])> = vec![
        (b":method", shape.method.as_bytes()),
        (b":path", shape.path),
        (b":authority", b"api.example.com"),
        (b"content-type", shape.content_type.as_bytes()),
        (b"x-fuzz", shape.header),
    ];
    if !shape.encoding.is_empty() {
        headers.push((b"content-encoding", shape.encoding.as_bytes()));
    }
    if shape.upgrade {
        headers.extend([(&b"upgrade"[..], &b"websocket"[..]), (b"connection", b"upgrade")]);
    }
    let no_body = shape.body.is_empty() && !shape.trailers;
    let record = |ex: &Exchange| ex.record().clone();
    if let HeaderAction::Block(_) = ex.request_headers(&headers, no_body) {
        ex.local_reply_sent();
        return Outcome { request: Forwarded::stopped(), response: None, record: record(&ex) };
    }
    let request = if no_body { Forwarded::default() } else { body(&mut ex, false, shape, cuts) };
    if request.stopped {
        ex.local_reply_sent();
        return Outcome { request, response: None, record: record(&ex) };
    }
    headers.truncate(0);
    headers.extend([(&b":status"[..], shape.status.as_bytes()), (b"content-type", shape.content_type.as_bytes())]);
    if !shape.encoding.is_empty() {
        headers.push((b"content-encoding", shape.encoding.as_bytes()));
    }
    // Envoy ends these responses at their headers, whatever their framing says.
    let no_body = no_body || shape.method == "HEAD" || ["204", "304"].contains(&shape.status);
    let response = match ex.response_headers(&headers, no_body) {
        HeaderAction::Block(_) => Forwarded::stopped(),
        HeaderAction::Continue { .. } if no_body => Forwarded::default(),
        HeaderAction::Continue { .. } => body(&mut ex, true, shape, cuts),
    };
    Outcome { request, response: Some(response), record: record(&ex) }
}

fuzz_target!(|data: &[u8]| {
    let mut c = Choices::new(data);
    let inspector = Arc::clone(&inspectors()[c.below(POLICIES.len())]);
    let (content_type, encoding) = (c.pick(&CONTENT_TYPES), c.pick(&ENCODINGS));
    let (encoded, trailers) = (c.below(2) == 1, c.below(4) == 0);
    let (method, status) =
        (c.pick(&["POST", "PUT", "GET", "HEAD", "CONNECT"]), c.pick(&["200", "204", "304", "101", "500"]));
    let upgrade = c.below(8) == 1;
    let path = c.bytes(64);
    let header = c.bytes(48);
    let cuts = c.bytes(24);
    let raw = c.rest();
    let body = if encoded && !encoding.is_empty() { wire::encode(encoding, raw) } else { raw.to_vec() };
    let shape = Shape { inspector, content_type, encoding, method, path, upgrade, status, header, trailers, body };
    let whole = run(&shape, &[]);
    let cut = run(&shape, cuts);
    // A request for a tunnel sends a tunnel's bytes, which pass at once: a
    // value at a chunk's end is judged on what has arrived (the connection
    // target checks what holds there).
    if shape.upgrade || method == "CONNECT" {
        return;
    }
    assert_eq!(whole, cut, "chunks {:?} changed the outcome", chunks(&shape.body, cuts).len());
});
