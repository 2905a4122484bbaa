//! An HTTP exchange, callback by callback, as Envoy drives it: request
//! headers, request body chunks, response headers, response body chunks.
//!
//! Decisions follow Envoy's rules (shared/docs/proxy-wasm-semantics.md):
//! headers are decided in the headers callback (tags, header rewrites,
//! `content-length` removal when the body may change, blocking on header
//! findings); bodies that may be blocked or rewritten are held to their end
//! and decided there, except streams of records (one record at a time) and
//! tunnels (which pass at once); monitor-only bodies stream through.

use std::sync::Arc;

use serde_json::json;

use super::body::{Body, Step};
use super::destination::Destination;
use super::record::{Fingerprints, Outcome, Record};
use super::{Found, Headers, Inspector, Known, CATEGORIES_TAG, DETECTORS_TAG};
use crate::engine::bytes::starts_with_ignore_case;
use crate::engine::{redact_escaped, redact_url, DetectorSet, Escape, ScanOptions, Target};
use crate::policy::{ActionKind, Direction, Part};

/// A reply sieve sends instead of the upstream's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalReply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// A gRPC call: send a gRPC status (PERMISSION_DENIED) with `body` as
    /// its message, in place of `status`.
    pub grpc: bool,
}

/// What to do once a headers callback returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderAction {
    Continue {
        /// Sieve's tag headers, each replacing any the peer sent, or
        /// (`None`) removing one the peer sent when there is nothing to tag.
        tags: Vec<(&'static str, Option<String>)>,
        /// Header values to replace (redacted).
        set: Vec<(String, Vec<u8>)>,
        /// The body may be rewritten: drop `content-length`.
        remove_content_length: bool,
    },
    /// Send this reply instead.
    Block(LocalReply),
}

impl HeaderAction {
    /// Go on, changing nothing.
    fn pass() -> HeaderAction {
        HeaderAction::Continue { tags: Vec::new(), set: Vec::new(), remove_content_length: false }
    }
}

/// What to do once a body callback returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyAction {
    Continue,
    /// Keep buffering: the decision needs the end of the body.
    Hold,
    /// Replace the whole body with this, then continue.
    Replace(Vec<u8>),
    /// Send this reply. A body gives it for requests only: a blocked
    /// response's headers are gone, so its reply comes as `Replace`, in the
    /// body's encoding.
    Block(LocalReply),
    /// Bytes that follow others already sent (a tunnel's, a response's
    /// records) held a blocking finding: drop this chunk and reset the stream.
    Reset,
}

/// What to do once a trailers callback returns: trailers end the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrailersAction {
    pub body: BodyAction,
    /// Trailer values to set: redacted values, and the status of a gRPC
    /// response that was blocked.
    pub set: Vec<(String, Vec<u8>)>,
}

/// How a request asks for a tunnel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tunnel {
    /// `upgrade` (HTTP/1.1): the tunnel opens with 101 Switching Protocols.
    Upgrade,
    /// CONNECT, or HTTP/2's extended CONNECT (WebSockets): with any 2xx.
    Connect,
}

impl Tunnel {
    fn of(request: &Known) -> Option<Tunnel> {
        if request.method.is_some_and(|m| m == b"CONNECT") {
            Some(Tunnel::Connect)
        } else if request.upgrade.is_some_and(|u| !u.trim_ascii().is_empty()) {
            Some(Tunnel::Upgrade)
        } else {
            None
        }
    }

    /// Whether this response opened the tunnel (if not, its body is a body).
    fn opened_by(self, response: &Known) -> bool {
        match (self, response.status.unwrap_or_default()) {
            (Tunnel::Upgrade, status) => status == b"101",
            (Tunnel::Connect, status) => status.len() == 3 && status[0] == b'2',
        }
    }
}

/// One HTTP exchange.
#[derive(Debug)]
pub struct Exchange {
    inspector: Arc<Inspector>,
    outcome: Outcome,
    request: Option<Body>,
    response: Option<Body>,
    /// Nothing more is inspected: the exchange is not (a route or sampling
    /// says so), or sieve sent a local reply, which the response callbacks
    /// that follow carry instead of the upstream's answer.
    passive: bool,
    /// A gRPC call (by the request's content type).
    grpc: bool,
    /// A gRPC-Web call's content type (binary or text).
    grpc_web: Option<String>,
    /// A gRPC response was blocked mid-stream: its trailers must say so.
    denied: bool,
    /// The request asks to switch protocols (`upgrade`), or is a CONNECT:
    /// what follows a successful answer is a tunnel's bytes, not a body.
    tunnel: Option<Tunnel>,
    /// The request's host name and path, which routes and scopes match.
    destination: Destination,
}

impl Exchange {
    pub fn new(inspector: Arc<Inspector>) -> Exchange {
        Exchange {
            outcome: Outcome::new(inspector.routes.default_plan()),
            inspector,
            request: None,
            response: None,
            passive: false,
            grpc: false,
            grpc_web: None,
            denied: false,
            tunnel: None,
            destination: Destination::default(),
        }
    }

    /// Which findings get keyed fingerprints (by default, all).
    pub fn fingerprints(mut self, fingerprints: Fingerprints) -> Exchange {
        self.outcome.fingerprints = fingerprints;
        self
    }

    /// What was found, for the log record and metrics.
    pub fn record(&self) -> &Record {
        &self.outcome.record
    }

    pub fn request_headers(&mut self, headers: &Headers, end_of_stream: bool) -> HeaderAction {
        let known = Known::of(headers);
        let text = |v: &[u8]| String::from_utf8_lossy(v).into_owned();
        let full_path = known.path.unwrap_or_default();
        let sent = full_path.split(|&b| b == b'?').next().unwrap_or_default();
        let record = &mut self.outcome.record;
        (record.host, record.path) = (known.authority.map(text), Some(text(sent)));
        record.request_id = known.request_id.map(text);
        // Lent to the scan and put back, rather than copied for it.
        let destination = Destination::of(known.authority.unwrap_or_default(), sent);
        let action = self.request_verdict(headers, &known, &destination, end_of_stream);
        self.destination = destination;
        action
    }

    fn request_verdict(&mut self, headers: &Headers, known: &Known, to: &Destination, end: bool) -> HeaderAction {
        let (host, path) = (to.host.as_bytes(), to.path.as_bytes());
        let plan = Arc::clone(self.inspector.routes.plan(host, path, known.method.unwrap_or_default()));
        if !plan.inspect || !plan.samples(known.request_id.unwrap_or_default()) {
            self.outcome.record.uninspected = Some(if plan.inspect { "sampled out" } else { "route" });
            self.passive = true;
            // Uninspected, it is still not tagged by anyone but sieve.
            let tags = self.tags(self.inspector.http.tag_request, known);
            return HeaderAction::Continue { tags, set: Vec::new(), remove_content_length: false };
        }
        self.outcome.plan = plan;
        self.grpc = known.content_type.is_some_and(|ct| starts_with_ignore_case(ct, b"application/grpc"));
        let web = known.content_type.filter(|ct| starts_with_ignore_case(ct, b"application/grpc-web"));
        self.grpc_web = web.map(|ct| String::from_utf8_lossy(ct).into_owned());
        self.tunnel = Tunnel::of(known);
        let target = |part, header| Target {
            direction: Direction::Request,
            part,
            header,
            content_type: known.content_type,
            host: Some(host),
            path: Some(path),
        };
        let before = self.outcome.len();
        let redact = self.outcome.plan.redact.clone();
        let url = self.scan_url(known.path.unwrap_or_default(), target(Part::Url, None), redact.clone());
        let mut set = self.scan_headers(Direction::Request, headers, |name| target(Part::Headers, Some(name)), redact);
        set.extend(url.map(|url| (":path".to_string(), url)));
        if self.outcome.acted_since(before, ActionKind::Block) {
            return HeaderAction::Block(self.block_reply(Direction::Request));
        }
        let tag = self.inspector.http.tag_request;
        self.headers_verdict(Direction::Request, known, target(Part::Body, None), end, set, tag)
    }

    /// Whether the exchange is still inspected: not once a route or sampling
    /// passed it over, or sieve sent a local reply. Then what follows (the
    /// response, trailers) is let through and need not be fetched.
    pub fn inspecting(&self) -> bool {
        !self.passive
    }

    /// Whether the next body chunk of `direction` is read: when not, the
    /// chunk is let through untouched and need not be fetched.
    pub fn reads_body(&self, direction: Direction) -> bool {
        let body = match direction {
            Direction::Request => &self.request,
            Direction::Response => &self.response,
        };
        self.inspecting() && body.as_ref().is_some_and(Body::reads)
    }

    /// The next chunk of the request body. The exchange may keep it (a body
    /// held or scanned whole): a `Vec` passed in is kept without a copy.
    pub fn request_body(&mut self, chunk: impl Into<Vec<u8>>, end_of_stream: bool) -> BodyAction {
        self.body(Direction::Request, chunk.into(), end_of_stream)
    }

    /// Trailers end the body; their values are scanned like headers.
    pub fn request_trailers(&mut self, trailers: &Headers) -> TrailersAction {
        let body = self.body(Direction::Request, Vec::new(), true);
        if self.passive || matches!(body, BodyAction::Block(_)) {
            return TrailersAction { body, set: Vec::new() };
        }
        let before = self.outcome.len();
        let set = self.scan_trailers(Direction::Request, trailers, self.outcome.plan.redact.clone());
        if self.outcome.acted_since(before, ActionKind::Block) {
            return TrailersAction { body: BodyAction::Block(self.block_reply(Direction::Request)), set: Vec::new() };
        }
        TrailersAction { body, set }
    }

    pub fn response_headers(&mut self, headers: &Headers, end_of_stream: bool) -> HeaderAction {
        if self.passive {
            return HeaderAction::pass();
        }
        // Lent to the scan and put back, rather than copied for it.
        let destination = std::mem::take(&mut self.destination);
        let action = self.response_verdict(headers, &destination, end_of_stream);
        self.destination = destination;
        action
    }

    fn response_verdict(&mut self, headers: &Headers, to: &Destination, end: bool) -> HeaderAction {
        let known = Known::of(headers);
        let target = |part, header| Target {
            direction: Direction::Response,
            part,
            header,
            content_type: known.content_type,
            host: Some(to.host.as_bytes()),
            path: Some(to.path.as_bytes()),
        };
        let before = self.outcome.len();
        let redact = self.outcome.plan.redact.clone();
        let set = self.scan_headers(Direction::Response, headers, |name| target(Part::Headers, Some(name)), redact);
        if self.outcome.acted_since(before, ActionKind::Block) {
            // The response headers have not gone out yet: the reply replaces them.
            return HeaderAction::Block(self.block_reply(Direction::Response));
        }
        let tag = self.inspector.http.tag_response;
        self.headers_verdict(Direction::Response, &known, target(Part::Body, None), end, set, tag)
    }

    /// The next chunk of the response body, kept as [`Exchange::request_body`] keeps one.
    pub fn response_body(&mut self, chunk: impl Into<Vec<u8>>, end_of_stream: bool) -> BodyAction {
        if self.passive {
            return BodyAction::Continue;
        }
        self.body(Direction::Response, chunk.into(), end_of_stream)
    }

    /// Trailers end the body; their values are scanned like headers. The
    /// response has gone out, so a value that should block is masked
    /// instead, and a gRPC call gets PERMISSION_DENIED.
    pub fn response_trailers(&mut self, trailers: &Headers) -> TrailersAction {
        let body = self.response_body(Vec::new(), true);
        if self.passive {
            return TrailersAction { body, set: Vec::new() };
        }
        let before = self.outcome.len();
        let acting = DetectorSet::of(self.outcome.plan.actions.iter().map(|&a| a != ActionKind::Monitor));
        let mut set = self.scan_trailers(Direction::Response, trailers, acting);
        if self.grpc && self.outcome.acted_since(before, ActionKind::Block) {
            self.outcome.record.blocked = true;
            self.denied = true;
        }
        if self.denied {
            set.retain(|(name, _)| name != "grpc-status" && name != "grpc-message");
            set.push(("grpc-status".to_string(), b"7".to_vec()));
            set.push(("grpc-message".to_string(), self.grpc_message().into_bytes()));
        }
        TrailersAction { body, set }
    }

    /// The filter sent the local reply from a `Block`.
    pub fn local_reply_sent(&mut self) {
        self.passive = true;
        self.outcome.record.blocked = true;
    }

    /// Opens the body that follows the headers, if one does, and builds the
    /// headers verdict: rewritten values, tags, and whether `content-length` goes.
    fn headers_verdict(
        &mut self,
        direction: Direction,
        known: &Known,
        body_target: Target,
        end_of_stream: bool,
        set: Vec<(String, Vec<u8>)>,
        tag: bool,
    ) -> HeaderAction {
        let tunnel = self.tunnel.is_some_and(|t| direction == Direction::Request || t.opened_by(known));
        let body = (!end_of_stream).then(|| {
            if tunnel {
                Body::tunnel(&self.inspector, direction, body_target, &self.outcome)
            } else {
                Body::new(&self.inspector, direction, known, body_target, &mut self.outcome)
            }
        });
        if body.as_ref().is_some_and(Body::refused) {
            // Headers not yet sent: the reply replaces them.
            return HeaderAction::Block(self.block_reply(direction));
        }
        let remove_content_length = body.as_ref().is_some_and(Body::may_rewrite);
        match direction {
            Direction::Request => self.request = body,
            Direction::Response => self.response = body,
        }
        let tags = self.tags(tag, known);
        HeaderAction::Continue { tags, set, remove_content_length }
    }

    fn body(&mut self, direction: Direction, chunk: Vec<u8>, end: bool) -> BodyAction {
        let slot = match direction {
            Direction::Request => &mut self.request,
            Direction::Response => &mut self.response,
        };
        let Some(body) = slot.as_mut() else { return BodyAction::Continue };
        match body.chunk(&self.inspector, chunk, end, &mut self.outcome) {
            Step::Continue => BodyAction::Continue,
            Step::Hold => BodyAction::Hold,
            Step::Replace(bytes) => BodyAction::Replace(bytes),
            Step::Close => {
                self.outcome.record.blocked = true;
                BodyAction::Reset
            }
            Step::Block => {
                self.outcome.record.blocked = true;
                if self.grpc && direction == Direction::Response {
                    // The trailers (gRPC-Web: a status frame) carry the verdict; no more messages go out.
                    self.denied = true;
                    let message = self.grpc_message();
                    return BodyAction::Replace(self.response.as_mut().map(|b| b.denied(&message)).unwrap_or_default());
                }
                let reply = self.block_reply(direction);
                match (direction, &self.response) {
                    // The headers went out, `content-encoding` with them: the
                    // reply takes the body's place, in its encoding.
                    (Direction::Response, Some(body)) => {
                        BodyAction::Replace(body.in_its_encoding(reply.body.as_bytes()))
                    }
                    _ => BodyAction::Block(reply),
                }
            }
        }
    }

    /// Scans the path and the query (field by field), decoded.
    /// Returns the rewritten `:path` when a finding is redacted; the record
    /// keeps the path with every finding masked, whatever its action.
    fn scan_url(&mut self, full_path: &[u8], target: Target, redact: DetectorSet) -> Option<Vec<u8>> {
        let engine = Arc::clone(&self.inspector.engine);
        let detectors = DetectorSet::for_target(&engine, &target);
        let clean = &self.inspector.clean_values;
        if detectors.is_empty() || clean.get(b":path", full_path, &detectors).is_some() {
            return None;
        }
        let before = self.outcome.len();
        let options = ScanOptions::with(detectors, redact);
        // The path as sent: finding offsets count its bytes.
        let mut masked = full_path.split(|&b| b == b'?').next().unwrap_or_default().to_vec();
        let outcome = &mut self.outcome;
        let rewritten = redact_url(&engine, full_path, &options, &mut |f, v| {
            if let Some(span) = masked.get_mut(f.start as usize..f.end as usize) {
                span.fill(b'*');
            }
            outcome.found(&engine, Direction::Request, Part::Url, None, f, v);
        });
        if self.outcome.len() == before {
            self.inspector.clean_values.insert(b":path", full_path, &options.detectors, ());
            return None;
        }
        self.outcome.record.path = Some(String::from_utf8_lossy(&masked).into_owned());
        (rewritten != full_path).then_some(rewritten)
    }

    /// Scans trailer values as headers; `redact` rewrites.
    fn scan_trailers(
        &mut self,
        direction: Direction,
        trailers: &Headers,
        redact: DetectorSet,
    ) -> Vec<(String, Vec<u8>)> {
        // Lent to the scan and put back, rather than copied for it.
        let to = std::mem::take(&mut self.destination);
        let target = |name| Target {
            direction,
            part: Part::Headers,
            header: Some(name),
            content_type: None,
            host: Some(to.host.as_bytes()),
            path: Some(to.path.as_bytes()),
        };
        let set = self.scan_headers(direction, trailers, target, redact);
        self.destination = to;
        set
    }

    /// Scans the header values the inspector scans and
    /// returns the values to rewrite: those of the detectors in `redact`.
    /// A value scanned before under the same name and detectors is not
    /// scanned again: its findings and rewrite are remembered.
    fn scan_headers<'h>(
        &mut self,
        direction: Direction,
        headers: &'h Headers,
        target: impl Fn(&'h [u8]) -> Target<'h>,
        redact: DetectorSet,
    ) -> Vec<(String, Vec<u8>)> {
        let engine = Arc::clone(&self.inspector.engine);
        let mut set = Vec::new();
        // Unless a scope names headers, every header gets the same detectors.
        let by_name = DetectorSet::vary_by_header_name(&engine);
        let shared = (!by_name).then(|| DetectorSet::for_target(&engine, &target(b"")));
        for (name, value) in headers {
            if !self.inspector.scans_header(name) {
                continue;
            }
            let own;
            let detectors = match &shared {
                Some(set) => set,
                None => {
                    own = DetectorSet::for_target(&engine, &target(name));
                    &own
                }
            };
            if detectors.is_empty() || self.inspector.clean_values.get(name, value, detectors).is_some() {
                continue;
            }
            let name_text = String::from_utf8_lossy(name).into_owned();
            let remembered = self.inspector.found_values.get(name, value, detectors).filter(|f| f.redact == redact);
            let Some(found) = remembered.or_else(|| self.scan_value(&name_text, name, value, detectors, &redact))
            else {
                continue;
            };
            for (f, v) in &found.findings {
                self.outcome.found(&engine, direction, Part::Headers, Some(&name_text), f.clone(), v);
            }
            if let Some(redacted) = &found.redacted {
                set.push((name_text, redacted.clone()));
            }
        }
        set
    }

    /// Scans one header value and remembers what it holds: nothing (`None`),
    /// or its findings and its value as `redact` rewrites it. The value is
    /// scanned with its `%XX` escapes decoded, as the application reads a
    /// cookie (`email=ann%40example.com`), a `referer` or a `location`; a
    /// replacement in a value that held escapes is escaped too.
    fn scan_value(
        &self,
        name_text: &str,
        name: &[u8],
        value: &[u8],
        detectors: &DetectorSet,
        redact: &DetectorSet,
    ) -> Option<Arc<Found>> {
        let inspector = &self.inspector;
        let field = Some(name_text.to_string());
        let options = ScanOptions { field, ..ScanOptions::with(detectors.clone(), redact.clone()) };
        let escape = if value.contains(&b'%') { Escape::Replacements } else { Escape::Nothing };
        let mut findings = Vec::new();
        let out =
            redact_escaped(&inspector.engine, value, &options, escape, &mut |f, v| findings.push((f, v.to_vec())));
        if findings.is_empty() {
            inspector.clean_values.insert(name, value, detectors, ());
            return None;
        }
        let redacted = (out != value).then_some(out);
        let found = Arc::new(Found { findings, redacted, redact: redact.clone() });
        inspector.found_values.insert(name, value, detectors, Arc::clone(&found));
        Some(found)
    }

    /// The tag headers of one direction, if it is tagged. Applications act
    /// on them, so they say what sieve found and nothing else: sieve's
    /// replace any the peer sent, and with nothing found those are removed.
    fn tags(&self, tag: bool, known: &Known) -> Vec<(&'static str, Option<String>)> {
        let record = self.record();
        if !tag || (record.findings.is_empty() && !known.tagged()) {
            return Vec::new();
        }
        let found = !record.findings.is_empty();
        vec![
            (CATEGORIES_TAG, found.then(|| record.categories().join(","))),
            (DETECTORS_TAG, found.then(|| record.detectors().join(","))),
        ]
    }

    fn grpc_message(&self) -> String {
        match self.record().categories().join(",") {
            categories if categories.is_empty() => format!("blocked by sieve: {}", self.cause()),
            categories => format!("blocked by sieve: {} ({categories})", self.cause()),
        }
    }

    /// Why the exchange is blocked: a finding, or a body the policy blocks
    /// because it was past a limit or could not be read.
    fn cause(&self) -> &'static str {
        let record = self.record();
        let found = record.findings.iter().any(|f| f.action == ActionKind::Block);
        match () {
            _ if !found && !record.truncated.is_empty() => "body past the scan limits",
            _ if !found && !record.skipped.is_empty() => "unreadable body",
            _ => "sensitive data",
        }
    }

    fn block_reply(&self, direction: Direction) -> LocalReply {
        let record = self.record();
        let blocked = ("x-sieve-blocked".to_string(), record.categories().join(","));
        if let Some(content_type) = &self.grpc_web {
            // Envoy gives its gRPC status replies to `application/grpc` calls
            // only: a gRPC-Web client reads it from a trailers-only answer.
            let headers = vec![
                ("content-type".to_string(), content_type.clone()),
                ("grpc-status".to_string(), "7".to_string()),
                ("grpc-message".to_string(), self.grpc_message()),
                blocked,
            ];
            return LocalReply { status: 200, headers, body: String::new(), grpc: false };
        }
        if self.grpc {
            let body = self.grpc_message();
            return LocalReply { status: 200, headers: vec![blocked], body, grpc: true };
        }
        let body = json!({
            "error": format!("blocked by sieve: {}", self.cause()),
            "direction": direction,
            "categories": record.categories(),
            "detectors": record.detectors(),
            "request_id": record.request_id,
        });
        LocalReply {
            status: self.inspector.http.block_status,
            headers: vec![("content-type".to_string(), "application/json".to_string()), blocked],
            body: body.to_string(),
            grpc: false,
        }
    }
}
