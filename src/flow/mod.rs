//! Layer 3: flow inspection. Plain state machines for an HTTP exchange
//! (headers and body chunks in; tags, edits, local replies and a log record
//! out) and a TCP connection (bytes in each direction in; masks or a close
//! out). No proxy-wasm types: the filter is a thin adapter over this, and the
//! same code runs natively in tests and tools.

mod body;
mod clean_values;
mod decode;
mod grpc;
mod http;
mod record;
mod route;
mod tcp;

use std::sync::Arc;

pub use http::{BodyAction, Exchange, HeaderAction, LocalReply, TrailersAction};
pub use record::{Record, Recorded};
pub use route::{Plan, Routes};
pub use tcp::{Connection, TcpAction};

use crate::engine::{Engine, GlobSet};
use crate::policy::{self, HttpSpec, PolicyError, Protocol, TcpSpec};
use clean_values::CleanValues;

/// Header (or trailer) names and values as Envoy passes them, borrowed from
/// the host's map: values need not be UTF-8.
pub type Headers<'h> = [(&'h [u8], &'h [u8])];

/// The first value of header `name`, compared case-insensitively.
fn header<'h>(headers: &Headers<'h>, name: &str) -> Option<&'h [u8]> {
    headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name.as_bytes())).map(|&(_, v)| v)
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
    clean_values: CleanValues,
}

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
            clean_values: CleanValues::default(),
        }))
    }

    /// Whether a header's value is scanned: not pseudo-headers (the URL is
    /// scanned on its own), sieve's own tags, or `http.skip_headers`.
    fn scans_header(&self, name: &[u8]) -> bool {
        !name.starts_with(b":") && !name.starts_with(b"x-sieve-") && !self.skip_headers.matches(name)
    }
}
