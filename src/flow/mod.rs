//! Layer 3: flow inspection. Plain state machines for an HTTP exchange
//! (headers and body chunks in; tags, edits, local replies and a log record
//! out) and a TCP connection (bytes in each direction in; masks or a close
//! out). No proxy-wasm types: the filter is a thin adapter over this, and the
//! same code runs natively in tests and tools.

mod body;
mod decode;
mod destination;
mod encode;
mod grpc;
mod http;
mod passing;

mod record;
mod records;
mod route;
mod tcp;
mod value_memo;

use std::sync::Arc;

pub use decode::take_gzip_header;
pub use http::{BodyAction, Exchange, HeaderAction, LocalReply, TrailersAction};
pub use passing::TcpAction;
pub use record::{Fingerprints, Record, Recorded};
pub use route::{Plan, Routes};
pub use tcp::Connection;

use crate::engine::bytes::eq_ignore_case;
use crate::engine::{Engine, GlobSet};
use crate::policy::{self, HttpSpec, PolicyError, Protocol, TcpSpec};
use decode::Encoding;
use value_memo::{Found, ValueMemo};

/// Header (or trailer) names and values as Envoy passes them, borrowed from
/// the host's map: values need not be UTF-8.
pub type Headers<'h> = [(&'h [u8], &'h [u8])];

/// The headers the flow reads by name: the first value of each, names
/// compared case-insensitively, found in one pass over the map, where a
/// lookup of each would compare every name again.
#[derive(Debug, Default, Clone, Copy)]
struct Known<'h> {
    authority: Option<&'h [u8]>,
    path: Option<&'h [u8]>,
    method: Option<&'h [u8]>,
    request_id: Option<&'h [u8]>,
    content_type: Option<&'h [u8]>,
    /// Every `content-encoding` line's codings, in order.
    content_encoding: Option<Result<Encoding, &'static str>>,
    grpc_encoding: Option<&'h [u8]>,
    trailer: Option<&'h [u8]>,
    /// A request to switch protocols (a WebSocket, say).
    upgrade: Option<&'h [u8]>,
    /// A response's status.
    status: Option<&'h [u8]>,
    /// Sieve's tags, as the peer sent them.
    categories_tag: Option<&'h [u8]>,
    detectors_tag: Option<&'h [u8]>,
}

/// The tag headers: what sieve found, for applications to act on.
const CATEGORIES_TAG: &str = "x-sieve-categories";
const DETECTORS_TAG: &str = "x-sieve-detectors";

impl<'h> Known<'h> {
    fn of(headers: &Headers<'h>) -> Known<'h> {
        let mut known = Known::default();
        for &(name, value) in headers {
            let is = |wanted: &[u8]| eq_ignore_case(name, wanted);
            let slot = match name.len() {
                5 if is(b":path") => &mut known.path,
                7 if is(b":method") => &mut known.method,
                7 if is(b"trailer") => &mut known.trailer,
                7 if is(b"upgrade") => &mut known.upgrade,
                7 if is(b":status") => &mut known.status,
                10 if is(b":authority") => &mut known.authority,
                12 if is(b"x-request-id") => &mut known.request_id,
                12 if is(b"content-type") => &mut known.content_type,
                13 if is(b"grpc-encoding") => &mut known.grpc_encoding,
                16 if is(b"content-encoding") => {
                    let before = known.content_encoding.unwrap_or(Ok(Encoding::IDENTITY));
                    known.content_encoding = Some(before.and_then(|e| e.then(value)));
                    continue;
                }
                17 if is(DETECTORS_TAG.as_bytes()) => &mut known.detectors_tag,
                18 if is(CATEGORIES_TAG.as_bytes()) => &mut known.categories_tag,
                _ => continue,
            };
            slot.get_or_insert(value);
        }
        known
    }

    /// Whether the peer sent either of sieve's tags.
    fn tagged(&self) -> bool {
        self.categories_tag.is_some() || self.detectors_tag.is_some()
    }
}

/// A compiled policy: the engine and the flow settings.
#[derive(Debug)]
pub struct Inspector {
    pub engine: Arc<Engine>,
    pub http: HttpSpec,
    pub routes: Routes,
    pub protocol: Protocol,
    pub tcp: TcpSpec,
    /// `http.skip_headers`, compiled.
    skip_headers: GlobSet,
    /// Header values and URLs this policy found clean.
    clean_values: ValueMemo<()>,
    /// Header values this policy found something in, and what.
    found_values: ValueMemo<Arc<Found>>,
}

/// The clean-value memo's sets (two values each), and the longest value it
/// keeps: clean values that repeat are short (content types, user agents,
/// cookies), and a long one rarely repeats.
const CLEAN_SETS: usize = 256;
const CLEAN_MAX: usize = 256;
/// The found-value memo's: fewer, longer values. What repeats there is
/// credentials, a token per calling identity (a JWT of 1 to 3 KB), so a
/// worker keeps at most 64 KiB of values and as much redacted.
const FOUND_SETS: usize = 8;
const FOUND_MAX: usize = 4096;

impl Inspector {
    /// Parses, checks and compiles policy text (JSON or YAML; empty for the default).
    pub fn from_policy_text(text: &str) -> Result<Arc<Inspector>, PolicyError> {
        let spec = policy::parse(text)?;
        if !(200..=599).contains(&spec.http.block_status) {
            let reason = format!("{} is not an HTTP status from 200 to 599", spec.http.block_status);
            return Err(PolicyError::new("http.block_status", reason));
        }
        let engine = Arc::new(Engine::compile(&spec)?);
        let routes = Routes::compile(&engine, &spec.http)?;
        let skip_headers = GlobSet::new(&spec.http.skip_headers);
        Ok(Arc::new(Inspector {
            engine,
            http: spec.http,
            routes,
            protocol: spec.protocol,
            tcp: spec.tcp,
            skip_headers,
            clean_values: ValueMemo::new(CLEAN_SETS, CLEAN_MAX),
            found_values: ValueMemo::new(FOUND_SETS, FOUND_MAX),
        }))
    }

    /// Whether a header's value is scanned: not pseudo-headers (the URL is
    /// scanned on its own) or `http.skip_headers`. Headers named like
    /// sieve's tags are scanned too: a peer may put anything in them.
    fn scans_header(&self, name: &[u8]) -> bool {
        !name.starts_with(b":") && !self.skip_headers.matches(name)
    }
}

#[cfg(test)]
mod tests {
    use super::{Encoding, Known};

    #[test]
    fn known_headers_are_found_in_any_case_and_the_first_value_wins() {
        let headers: Vec<(&[u8], &[u8])> = vec![
            (b":authority", b"api.example.com"),
            (b"Content-Type", b"application/json"),
            (b"content-type", b"text/plain"),
            (b"x-request-ID", b"r-1"),
            (b"content-typo", b"image/png"),
            (b"TRAILER", b"grpc-status"),
            (b"grpc-encoding", b"gzip"),
            (b"X-Sieve-Detectors", b"none"),
        ];
        let known = Known::of(&headers);
        assert_eq!(known.authority, Some(&b"api.example.com"[..]));
        assert_eq!(known.content_type, Some(&b"application/json"[..]));
        assert_eq!(known.request_id, Some(&b"r-1"[..]));
        assert_eq!(known.trailer, Some(&b"grpc-status"[..]));
        assert_eq!(known.grpc_encoding, Some(&b"gzip"[..]));
        assert_eq!((known.path, known.method, known.content_encoding), (None, None, None));
        assert!(known.tagged(), "by either tag");
        assert!(Known::of(&headers[..6]).categories_tag.is_none() && !Known::of(&headers[..6]).tagged());
    }

    #[test]
    fn a_content_encoding_list_may_span_lines() {
        let lines: Vec<(&[u8], &[u8])> =
            vec![(b"Content-Encoding", b"gzip"), (b"content-type", b"text/plain"), (b"content-encoding", b"br")];
        assert_eq!(Known::of(&lines).content_encoding, Some(Encoding::of(b"gzip, br")));
        let lines: Vec<(&[u8], &[u8])> = vec![(b"content-encoding", b"compress"), (b"content-encoding", b"gzip")];
        assert_eq!(Known::of(&lines).content_encoding, Some(Err("unsupported content-encoding")));
    }
}
