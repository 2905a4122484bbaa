//! Layer 4: the proxy-wasm glue. It moves bytes between Envoy and
//! [`crate::flow`] and turns verdicts into host calls, following Envoy's
//! rules (shared/docs/proxy-wasm-semantics.md):
//!
//! - header values are read with the `*_bytes` getters (values need not be UTF-8);
//! - a body held with `Pause` is cumulative, so only the new bytes are read;
//! - a body is replaced with `start == 0` inside the body callback;
//! - a local reply is sent, then `Pause` returned; the reply's own response
//!   callbacks are not inspected;
//! - nothing here unwraps: a failed host call is logged and traffic flows.
//!   The SDK's own host calls panic on a status they do not expect; Envoy
//!   gives those only to calls made out of place (a header map after its
//!   callback, a body replaced at an offset), so each call here is made
//!   where it belongs, and the stream reset, whose status varies, goes to
//!   the ABI directly.

mod header_map;
mod metrics;

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use log::{error, info, warn};
use proxy_wasm::traits::{Context, HttpContext, RootContext, StreamContext};
use proxy_wasm::types::{Action, ContextType, GrpcStatusCode, LogLevel, MapType, Status, StreamType};

use crate::flow::{
    BodyAction, Connection, Exchange, Fingerprints, HeaderAction, Inspector, LocalReply, TcpAction, TrailersAction,
};
use crate::policy::{Direction, Protocol};
use header_map::HeaderMap;
use metrics::Metrics;

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Info);
    proxy_wasm::set_root_context(|_| Box::new(Root::default()));
}}

/// How often counts reach Envoy's counters: stats readers (Prometheus
/// scrapes) see them at most this late.
const COUNTS_FLUSHED_EVERY: Duration = Duration::from_secs(1);

/// One per filter instance and worker: holds the compiled policy.
#[derive(Default)]
struct Root {
    inspector: Option<Arc<Inspector>>,
    /// The VM configuration: a default policy for plugins that give none.
    vm_policy: String,
    metrics: Rc<RefCell<Metrics>>,
}

impl Context for Root {
    /// Envoy is done with this plugin: what was counted since the last tick
    /// is added now.
    fn on_done(&mut self) -> bool {
        self.metrics.borrow_mut().flush();
        true
    }
}

impl RootContext for Root {
    fn on_vm_start(&mut self, _size: usize) -> bool {
        // Envoy answers Ok to this call always (the SDK would panic otherwise).
        self.set_tick_period(COUNTS_FLUSHED_EVERY);
        let config = self.get_vm_configuration().unwrap_or_default();
        match String::from_utf8(config) {
            Ok(text) => {
                self.vm_policy = text;
                true
            }
            Err(_) => {
                error!("the VM configuration is not UTF-8 text");
                false
            }
        }
    }

    fn on_configure(&mut self, _size: usize) -> bool {
        let config = self.get_plugin_configuration().unwrap_or_default();
        let Ok(text) = std::str::from_utf8(&config) else {
            error!("policy refused: the plugin configuration is not UTF-8 text");
            return false;
        };
        let text = if text.trim().is_empty() { self.vm_policy.as_str() } else { text };
        // The worker serves nothing while it compiles: operators see how long.
        let clock = || proxy_wasm::hostcalls::get_current_time().ok();
        let start = clock();
        match Inspector::from_policy_text(text) {
            Ok(inspector) => {
                let took = start.zip(clock()).and_then(|(start, end)| end.duration_since(start).ok());
                info!(
                    "policy loaded{}: {} detectors, window {} bytes",
                    took.map_or(String::new(), |d| format!(" in {:.1} ms", d.as_secs_f64() * 1e3)),
                    inspector.engine.detectors().len(),
                    inspector.engine.window()
                );
                self.inspector = Some(inspector);
                true
            }
            Err(e) => {
                let kept = if self.inspector.is_some() { "the previous policy stays in force" } else { "no policy" };
                error!("policy refused ({kept}): {e}");
                false
            }
        }
    }

    fn on_tick(&mut self) {
        self.metrics.borrow_mut().flush();
    }

    /// From the policy's `protocol`: the SDK asks before each stream, and a
    /// wrong answer would trap on the first callback of the other kind.
    fn get_type(&self) -> Option<ContextType> {
        match self.inspector.as_ref().map(|i| i.protocol) {
            Some(Protocol::Tcp) => Some(ContextType::StreamContext),
            _ => Some(ContextType::HttpContext),
        }
    }

    fn create_stream_context(&self, _context_id: u32) -> Option<Box<dyn StreamContext>> {
        Some(Box::new(Tcp {
            connection: self.inspector.clone().map(|i| Connection::new(i).fingerprints(LOGGED)),
            metrics: Rc::clone(&self.metrics),
        }))
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(Http {
            exchange: self.inspector.clone().map(|i| Exchange::new(i).fingerprints(LOGGED)),
            metrics: Rc::clone(&self.metrics),
            held: 0,
            published: Published::default(),
        }))
    }
}

/// One HTTP stream.
struct Http {
    /// `None` when no policy was ever loaded: traffic passes untouched.
    exchange: Option<Exchange>,
    metrics: Rc<RefCell<Metrics>>,
    /// Bytes of the current body Envoy holds for us (after a `Pause`).
    held: usize,
    /// What the properties were last set to.
    published: Published,
}

/// The properties sieve sets: the categories and the detectors found.
const PROPERTIES: [&str; 2] = ["sieve_categories", "sieve_detectors"];

/// How many findings the properties show, and their values as last set.
#[derive(Default)]
struct Published {
    findings: usize,
    values: [String; 2],
}

impl Context for Http {}

impl HttpContext for Http {
    fn on_http_request_headers(&mut self, _n: usize, end_of_stream: bool) -> Action {
        let map = HeaderMap::read(MapType::HttpRequestHeaders);
        let headers = map.pairs();
        let Some(ex) = self.exchange.as_mut() else { return Action::Continue };
        let action = match ex.request_headers(&headers, end_of_stream) {
            HeaderAction::Continue { tags, set, remove_content_length } => {
                self.edit_headers(true, &tags, &set, remove_content_length);
                Action::Continue
            }
            HeaderAction::Block(reply) => self.reply(reply),
        };
        self.publish();
        action
    }

    fn on_http_request_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        if !self.reads_body(Direction::Request) {
            return Action::Continue;
        }
        let chunk = self.new_bytes(body_size, |s, start, n| s.get_http_request_body(start, n));
        let Some(ex) = self.exchange.as_mut() else { return Action::Continue };
        let action = ex.request_body(chunk, end_of_stream);
        self.publish();
        self.apply_body(action, body_size, true)
    }

    fn on_http_request_trailers(&mut self, _n: usize) -> Action {
        if !self.inspecting() {
            return Action::Continue;
        }
        let map = HeaderMap::read(MapType::HttpRequestTrailers);
        let trailers = map.pairs();
        let Some(ex) = self.exchange.as_mut() else { return Action::Continue };
        let action = ex.request_trailers(&trailers);
        self.publish();
        self.apply_trailers(action, true)
    }

    fn on_http_response_headers(&mut self, _n: usize, end_of_stream: bool) -> Action {
        self.held = 0;
        if !self.inspecting() {
            return Action::Continue;
        }
        let map = HeaderMap::read(MapType::HttpResponseHeaders);
        let headers = map.pairs();
        let Some(ex) = self.exchange.as_mut() else { return Action::Continue };
        let action = match ex.response_headers(&headers, end_of_stream) {
            HeaderAction::Continue { tags, set, remove_content_length } => {
                self.edit_headers(false, &tags, &set, remove_content_length);
                Action::Continue
            }
            HeaderAction::Block(reply) => self.reply(reply),
        };
        self.publish();
        action
    }

    fn on_http_response_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        if !self.reads_body(Direction::Response) {
            return Action::Continue;
        }
        let chunk = self.new_bytes(body_size, |s, start, n| s.get_http_response_body(start, n));
        let Some(ex) = self.exchange.as_mut() else { return Action::Continue };
        let action = ex.response_body(chunk, end_of_stream);
        self.publish();
        self.apply_body(action, body_size, false)
    }

    fn on_http_response_trailers(&mut self, _n: usize) -> Action {
        if !self.inspecting() {
            return Action::Continue;
        }
        let map = HeaderMap::read(MapType::HttpResponseTrailers);
        let trailers = map.pairs();
        let Some(ex) = self.exchange.as_mut() else { return Action::Continue };
        let action = ex.response_trailers(&trailers);
        self.publish();
        self.apply_trailers(action, false)
    }

    fn on_log(&mut self) {
        let Some(ex) = self.exchange.as_ref() else { return };
        let record = ex.record();
        self.metrics.borrow_mut().count(record);
        let noteworthy = !record.findings.is_empty() || !record.truncated.is_empty() || !record.skipped.is_empty();
        if noteworthy && host_logs_info() {
            info!("{}", record.to_json());
        }
    }
}

#[link(wasm_import_module = "env")]
extern "C" {
    fn proxy_close_stream(stream_type: StreamType) -> Status;
}

/// Resets the HTTP stream (Envoy does it once the callback returns). The
/// SDK's `reset_http_request` would panic on a status it does not expect.
fn reset_stream(request: bool) {
    let stream = if request { StreamType::HttpRequest } else { StreamType::HttpResponse };
    // SAFETY: a host call with no pointers.
    let status = unsafe { proxy_close_stream(stream) };
    if status != Status::Ok {
        warn!("cannot reset the stream: {status:?}");
    }
}

/// Fingerprints only show in the log line: none are made for a flow whose
/// line Envoy would drop (asked at its first finding).
const LOGGED: Fingerprints = Fingerprints::Ask(host_logs_info);

/// Whether Envoy keeps info lines of Wasm code (its `wasm` log level, which
/// an operator may change at any time): a line it would drop is not built.
fn host_logs_info() -> bool {
    proxy_wasm::hostcalls::get_log_level().is_ok_and(|level| (level as u32) <= LogLevel::Info as u32)
}

impl Http {
    /// Whether there is anything to inspect: a policy, and an exchange not
    /// passed over. If not, headers and trailers are not even fetched.
    fn inspecting(&self) -> bool {
        self.exchange.as_ref().is_some_and(Exchange::inspecting)
    }

    fn reads_body(&self, direction: Direction) -> bool {
        self.exchange.as_ref().is_some_and(|ex| ex.reads_body(direction))
    }

    /// Sets what was found so far as properties (Envoy filter state
    /// `wasm.sieve_categories` and `wasm.sieve_detectors`), for access logs
    /// and later filters. Only ids and names, never values.
    fn publish(&mut self) {
        let Some(record) = self.exchange.as_ref().map(Exchange::record) else { return };
        if record.findings.len() == self.published.findings {
            return;
        }
        self.published.findings = record.findings.len();
        let values = [record.categories().join(","), record.detectors().join(",")];
        for ((name, value), set) in PROPERTIES.into_iter().zip(values).zip(&mut self.published.values) {
            // A response mostly finds what its request did: a write that would
            // change nothing is a host call (and a filter-state update) saved.
            if value != *set {
                if let Err(status) = proxy_wasm::hostcalls::set_property(vec![name], Some(value.as_bytes())) {
                    warn!("cannot set the property {name}: {status:?}");
                }
                *set = value;
            }
        }
    }

    /// The bytes of this callback that the flow has not seen: Envoy's body
    /// buffer is cumulative while we hold it.
    fn new_bytes(&self, body_size: usize, read: impl Fn(&Self, usize, usize) -> Option<Vec<u8>>) -> Vec<u8> {
        let start = self.held.min(body_size);
        if start == body_size {
            return Vec::new(); // Nothing new (Envoy ends most bodies with an empty call): no host call.
        }
        read(self, start, body_size - start).unwrap_or_default()
    }

    fn apply_body(&mut self, action: BodyAction, body_size: usize, request: bool) -> Action {
        match action {
            BodyAction::Continue => {
                self.held = 0;
                Action::Continue
            }
            BodyAction::Hold => {
                self.held = body_size;
                Action::Pause
            }
            BodyAction::Replace(bytes) => {
                self.held = 0;
                self.replace_body(request, body_size, &bytes);
                Action::Continue
            }
            BodyAction::Reset => {
                self.held = 0;
                self.replace_body(request, body_size, &[]);
                reset_stream(request);
                Action::Continue
            }
            BodyAction::Block(reply) => self.reply(reply),
        }
    }

    /// Trailers end a held body; a blocked gRPC response gets its status here.
    fn apply_trailers(&mut self, action: TrailersAction, request: bool) -> Action {
        let size = self.held;
        let body = match action.body {
            // Nothing is held: Envoy has no body buffer left to write to here.
            BodyAction::Replace(bytes) if size == 0 => {
                if !bytes.is_empty() {
                    warn!("{} body bytes could not go on: the body ended with trailers", bytes.len());
                }
                BodyAction::Continue
            }
            body => body,
        };
        let next = self.apply_body(body, size, request);
        for (name, value) in &action.set {
            if request {
                self.set_http_request_trailer_bytes(name, Some(value));
            } else {
                self.set_http_response_trailer_bytes(name, Some(value));
            }
        }
        next
    }

    /// Applies a headers verdict: redacted values, `content-length`
    /// removal, tags (set or removed, so a peer's never pass as sieve's).
    fn edit_headers(
        &self,
        request: bool,
        tags: &[(&str, Option<String>)],
        set: &[(String, Vec<u8>)],
        drop_length: bool,
    ) {
        let put = |name: &str, value: Option<&[u8]>| {
            if request {
                self.set_http_request_header_bytes(name, value)
            } else {
                self.set_http_response_header_bytes(name, value)
            }
        };
        for (name, value) in set {
            put(name, Some(value));
        }
        if drop_length {
            put("content-length", None);
        }
        for (name, value) in tags {
            put(name, value.as_deref().map(str::as_bytes));
        }
    }

    fn replace_body(&self, request: bool, size: usize, bytes: &[u8]) {
        if request {
            self.set_http_request_body(0, size, bytes);
        } else {
            self.set_http_response_body(0, size, bytes);
        }
    }

    fn reply(&mut self, reply: LocalReply) -> Action {
        if reply.grpc {
            let metadata = reply.headers.iter().map(|(k, v)| (k.as_str(), v.as_bytes())).collect();
            self.send_grpc_response(GrpcStatusCode::PermissionDenied, Some(&reply.body), metadata);
        } else {
            let headers = reply.headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            self.send_http_response(u32::from(reply.status), headers, Some(reply.body.as_bytes()));
        }
        if let Some(ex) = self.exchange.as_mut() {
            ex.local_reply_sent();
        }
        Action::Pause
    }
}

/// One TCP connection (network filter).
struct Tcp {
    connection: Option<Connection>,
    metrics: Rc<RefCell<Metrics>>,
}

impl Context for Tcp {}

impl StreamContext for Tcp {
    fn on_downstream_data(&mut self, size: usize, _end_of_stream: bool) -> Action {
        let data = self.get_downstream_data(0, size).unwrap_or_default();
        let Some(c) = self.connection.as_mut() else { return Action::Continue };
        match c.downstream(&data) {
            TcpAction::Continue => {}
            TcpAction::Replace(bytes) => self.set_downstream_data(0, size, &bytes),
            TcpAction::Close => {
                self.set_downstream_data(0, size, &[]);
                self.close_both();
            }
        }
        Action::Continue
    }

    fn on_upstream_data(&mut self, size: usize, _end_of_stream: bool) -> Action {
        let data = self.get_upstream_data(0, size).unwrap_or_default();
        let Some(c) = self.connection.as_mut() else { return Action::Continue };
        match c.upstream(&data) {
            TcpAction::Continue => {}
            // Server-to-client bytes cannot be held: they are rewritten in place.
            TcpAction::Replace(bytes) => self.set_upstream_data(0, size, &bytes),
            TcpAction::Close => {
                self.set_upstream_data(0, size, &[]);
                self.close_both();
            }
        }
        Action::Continue
    }

    fn on_log(&mut self) {
        let Some(c) = self.connection.as_ref() else { return };
        let record = c.record();
        self.metrics.borrow_mut().count(record);
        if !record.findings.is_empty() || !record.truncated.is_empty() {
            info!("{}", record.to_json());
        }
    }
}

impl Tcp {
    /// A blocking finding: the chunk was emptied; both sides close.
    fn close_both(&self) {
        self.close_downstream();
        self.close_upstream();
    }
}
