//! The policy as users write it: plain serde types, no behaviour.
//!
//! Every struct refuses unknown fields, so a typo (`patern:`) is an error
//! that names the field instead of a rule that silently does nothing.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A whole policy: which detectors run, how findings are acted on, and the
/// limits of the flow layer.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PolicySpec {
    /// Which built-in detectors are active. Default: all of them.
    #[serde(default)]
    pub builtin: BuiltinSelection,
    /// Category definitions and per-category actions. Built-in categories
    /// exist already; an entry here overrides their severity or action.
    #[serde(default)]
    pub categories: BTreeMap<String, CategorySpec>,
    /// The operator's own detectors, added to the built-in ones.
    #[serde(default)]
    pub detectors: Vec<DetectorSpec>,
    /// Per-detector overrides of built-in detectors, by id.
    #[serde(default)]
    pub overrides: BTreeMap<String, DetectorOverride>,
    /// Values that are never reported.
    #[serde(default)]
    pub allowlists: AllowlistSpec,
    /// Settings of the `hash` redaction method and of keyed previews.
    #[serde(default)]
    pub redaction: RedactionSettings,
    /// The action for findings whose detector and category name none.
    #[serde(default)]
    pub default_action: Option<ActionKind>,
    /// How the HTTP filter inspects and acts on exchanges.
    #[serde(default)]
    pub http: HttpSpec,
    /// Which filter this configuration is for: the same `.wasm` serves an
    /// HTTP filter and a network (TCP) filter, and must know which before
    /// streams arrive.
    #[serde(default)]
    pub protocol: Protocol,
    /// How the TCP filter inspects connections.
    #[serde(default)]
    pub tcp: TcpSpec,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Protocol {
    /// `envoy.filters.http.wasm` (Istio `type: HTTP`).
    #[default]
    Http,
    /// `envoy.filters.network.wasm` (Istio `type: NETWORK`).
    Tcp,
}

/// TCP filter settings.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct TcpSpec {
    /// Bytes scanned per direction of a connection; the rest passes unscanned.
    pub max_scan_bytes: usize,
}

impl Default for TcpSpec {
    fn default() -> Self {
        TcpSpec { max_scan_bytes: 16 << 20 }
    }
}

/// HTTP filter settings.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpSpec {
    /// Body bytes scanned per direction; past it the policy's `on_limit` applies.
    pub max_scan_bytes: usize,
    /// Body bytes held per direction while a block or redact decision waits
    /// for the end of the body. Keep it at or below Envoy's
    /// `per_connection_buffer_limit_bytes`.
    pub max_buffer_bytes: usize,
    /// What happens to a body larger than the limits.
    pub on_limit: Fallback,
    /// What happens to a body sieve cannot read though its type says it
    /// could: an unknown or damaged `content-encoding`, a UTF-16 or UTF-32
    /// `charset`, a gRPC message compressed without a `grpc-encoding` or cut
    /// short. Binary content types are `scan_binary`'s.
    pub on_unreadable: Fallback,
    /// Status of the local reply that blocks a request.
    pub block_status: u16,
    /// Set `x-sieve-categories` and `x-sieve-detectors` on the request sent
    /// upstream, replacing (or, with nothing found, removing) any the client sent.
    pub tag_request: bool,
    /// The same on the response sent to the client, for the upstream's.
    pub tag_response: bool,
    /// How bodies are redacted when no detector that applies blocks.
    pub body_redaction: BodyRedaction,
    /// `true`: bodies of binary content types (`application/octet-stream`,
    /// images, …) are scanned as text instead of skipped.
    pub scan_binary: bool,
    /// Header names (globs) whose values are not scanned: headers whose
    /// syntax a standard fixes and that proxies generate (request ids, trace
    /// context, dates, lengths). `[]` scans every header.
    pub skip_headers: Vec<String>,
    /// Fraction of exchanges inspected, chosen by a hash of `x-request-id`
    /// (so every proxy on a request's path makes the same choice).
    pub sample: f64,
    /// Per host, path or method changes to the policy; the first route that
    /// matches an exchange applies, and the policy as written applies to
    /// exchanges no route matches.
    pub routes: Vec<RouteSpec>,
}

/// Headers that carry ids, trace context, dates, lengths and Istio's peer
/// metadata: never personal data, and random ids would only cost scanning
/// (and turn up digit runs that pass a checksum by chance). And the client's
/// address and certificate as proxies forward them: behind a gateway every
/// request carries one, so a finding there would mark every exchange.
pub const DEFAULT_SKIP_HEADERS: &[&str] = &[
    "content-length",
    "date",
    "x-request-id",
    "traceparent",
    "tracestate",
    "b3",
    "x-b3-*",
    "x-envoy-upstream-service-time",
    "x-envoy-attempt-count",
    "x-envoy-expected-rq-timeout-ms",
    "x-envoy-peer-metadata",
    "x-envoy-peer-metadata-id",
    "x-forwarded-for",
    "forwarded",
    "x-envoy-external-address",
    "x-forwarded-client-cert",
];

/// A route: which exchanges it matches, and what changes for them.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RouteSpec {
    /// Host globs, matched against `:authority` without its port.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hosts: Option<Vec<String>>,
    /// Path globs, matched against the path without its query string.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paths: Option<Vec<String>>,
    /// Request methods (`GET`, `POST`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub methods: Option<Vec<String>>,
    /// `false`: exchanges here pass uninspected (health checks, metrics).
    pub inspect: bool,
    /// Replaces `http.sample` here.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sample: Option<f64>,
    /// Actions by category name or detector id (an id wins over its category).
    pub actions: BTreeMap<String, ActionKind>,
}

impl Default for RouteSpec {
    fn default() -> Self {
        RouteSpec { hosts: None, paths: None, methods: None, inspect: true, sample: None, actions: BTreeMap::new() }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BodyRedaction {
    /// Hold the body to its end (up to `max_buffer_bytes`), then rewrite it.
    Hold,
    /// Rewrite as it flows, holding back only the scanner's window: bounded
    /// memory for bodies of any size.
    Stream,
}

impl Default for HttpSpec {
    fn default() -> Self {
        HttpSpec {
            max_scan_bytes: 1 << 20,
            max_buffer_bytes: 1 << 20,
            on_limit: Fallback::Pass,
            on_unreadable: Fallback::Pass,
            block_status: 403,
            tag_request: true,
            tag_response: false,
            body_redaction: BodyRedaction::Hold,
            scan_binary: false,
            skip_headers: DEFAULT_SKIP_HEADERS.iter().map(|h| h.to_string()).collect(),
            sample: 1.0,
            routes: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Fallback {
    /// Let the body through, recorded as truncated (past a limit) or
    /// skipped (unreadable): what was scanned still acts.
    Pass,
    /// Block the exchange.
    Block,
}

/// A rule pack under `rules/`: categories and detectors, nothing else.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RulePack {
    #[serde(default)]
    pub categories: BTreeMap<String, CategorySpec>,
    #[serde(default)]
    pub detectors: Vec<DetectorSpec>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BuiltinSelection {
    /// Detector ids or category names; `all` selects every built-in.
    #[serde(default = "BuiltinSelection::all")]
    pub include: Vec<String>,
    /// Detector ids or category names removed from `include`.
    #[serde(default)]
    pub exclude: Vec<String>,
}

impl BuiltinSelection {
    fn all() -> Vec<String> {
        vec!["all".to_string()]
    }
}

impl Default for BuiltinSelection {
    fn default() -> Self {
        BuiltinSelection { include: Self::all(), exclude: Vec::new() }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CategorySpec {
    pub severity: Option<Severity>,
    pub description: Option<String>,
    pub action: Option<ActionKind>,
    pub redact: Option<RedactSpec>,
}

/// What to do with a finding. Detector settings win over category settings,
/// which win over `default_action`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    /// Tag and count the flow; let it through unchanged.
    Monitor,
    /// Replace the value in place.
    Redact,
    /// Stop the flow.
    Block,
}

impl ActionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ActionKind::Monitor => "monitor",
            ActionKind::Redact => "redact",
            ActionKind::Block => "block",
        }
    }
}

/// How a value is redacted.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(tag = "method", rename_all = "snake_case", deny_unknown_fields)]
pub enum RedactSpec {
    /// Every character becomes `char` (same length).
    Mask {
        #[serde(default = "default_mask_char")]
        char: char,
    },
    /// Mask all but the last `keep` alphanumerics (same length); separators
    /// such as spaces and dashes are kept so the shape stays readable.
    Partial {
        #[serde(default = "default_keep")]
        keep: usize,
        #[serde(default = "default_mask_char")]
        char: char,
    },
    /// A keyed hash (HMAC-SHA256 under `redaction.hash_key`), hex, truncated
    /// to `length` characters. With `same_length: true` the hex digest is
    /// cut or repeated to the value's length instead.
    Hash {
        #[serde(default = "default_hash_len")]
        length: usize,
        #[serde(default)]
        same_length: bool,
    },
    /// Fixed text.
    Replace { text: String },
}

fn default_mask_char() -> char {
    '*'
}
fn default_keep() -> usize {
    4
}
fn default_hash_len() -> usize {
    16
}

impl Default for RedactSpec {
    fn default() -> Self {
        RedactSpec::Mask { char: '*' }
    }
}

/// A detector as written in a rule pack or a policy.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DetectorSpec {
    pub id: String,
    pub category: String,
    pub severity: Option<Severity>,
    #[serde(default)]
    pub description: String,
    /// Regular expressions (linear-time syntax). A group named `value`
    /// narrows the finding to that group, e.g. the password of a URL.
    #[serde(default)]
    pub patterns: Vec<PatternSpec>,
    /// Literal keywords, matched ASCII case-insensitively at word bounds.
    #[serde(default)]
    pub keywords: Vec<String>,
    /// A check that candidates must pass, such as a checksum.
    pub validator: Option<ValidatorKind>,
    /// Words that make a candidate more likely when they are near it, or in
    /// its JSON key path or form field name.
    pub context: Option<ContextSpec>,
    /// Score of a candidate before context (0..1). Default 0.6.
    pub score: Option<f32>,
    /// Findings scoring below this are dropped. Default 0.5.
    pub min_score: Option<f32>,
    /// Minimum Shannon entropy, in bits per character, of the value.
    pub min_entropy: Option<f32>,
    /// Values never reported by this detector (compared after removing
    /// spaces and dashes, case-insensitively).
    #[serde(default)]
    pub allow: Vec<String>,
    /// Where this detector looks.
    #[serde(default)]
    pub scope: ScopeSpec,
    pub action: Option<ActionKind>,
    pub redact: Option<RedactSpec>,
}

/// Field-level overrides of a built-in detector.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DetectorOverride {
    pub severity: Option<Severity>,
    pub min_score: Option<f32>,
    #[serde(default)]
    pub allow: Vec<String>,
    pub scope: Option<ScopeSpec>,
    pub action: Option<ActionKind>,
    pub redact: Option<RedactSpec>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(untagged)]
pub enum PatternSpec {
    Plain(String),
    Scored { regex: String, score: f32 },
}

impl PatternSpec {
    pub fn regex(&self) -> &str {
        match self {
            PatternSpec::Plain(r) | PatternSpec::Scored { regex: r, .. } => r,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ValidatorKind {
    /// Luhn checksum only.
    Luhn,
    /// Luhn plus an issuer prefix and a length that issuer uses.
    PaymentCard,
    Iban,
    UsSsn,
    AbaRouting,
    Jwt,
    Ipv4,
    Ipv6,
    Email,
    Date,
    BasicAuth,
    Phone,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ContextSpec {
    pub words: Vec<String>,
    /// Bytes searched on each side of the candidate. Default 48.
    pub window: Option<usize>,
    /// Added to the score when a word is found. Default 0.35.
    pub boost: Option<f32>,
}

/// Where a detector looks. An absent list means "everywhere".
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ScopeSpec {
    pub directions: Option<Vec<Direction>>,
    pub parts: Option<Vec<Part>>,
    /// Header names (globs, case-insensitive), for the `headers` part.
    pub headers: Option<Vec<String>>,
    /// JSON key paths (globs over `$.a.b[0].c`; `*` matches any run).
    pub json_paths: Option<Vec<String>>,
    /// Content types (globs), for the `body` part.
    pub content_types: Option<Vec<String>>,
    pub hosts: Option<Vec<String>>,
    pub paths: Option<Vec<String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Request,
    Response,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Request => "request",
            Direction::Response => "response",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Part {
    /// Header values (and cookies).
    Headers,
    /// The request path and query string.
    Url,
    Body,
}

impl Part {
    pub fn as_str(self) -> &'static str {
        match self {
            Part::Headers => "headers",
            Part::Url => "url",
            Part::Body => "body",
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AllowlistSpec {
    /// The card numbers issuers reserve for public testing (Macie's list).
    #[serde(default)]
    pub issuer_test_cards: bool,
    /// Documented example credentials such as `AKIAIOSFODNN7EXAMPLE`. On by default.
    #[serde(default = "yes")]
    pub documented_examples: bool,
    /// Further values, for every detector.
    #[serde(default)]
    pub values: Vec<String>,
}

fn yes() -> bool {
    true
}

impl Default for AllowlistSpec {
    fn default() -> Self {
        AllowlistSpec { issuer_test_cards: false, documented_examples: true, values: Vec::new() }
    }
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RedactionSettings {
    /// Key of the keyed hash. Without it, `hash` and previews use a
    /// per-process random key, so hashes correlate only within one VM.
    pub hash_key: Option<String>,
    /// The method for `redact` actions that name none.
    pub default: Option<RedactSpec>,
}
