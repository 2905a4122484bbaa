//! One direction's body: what is scanned, how (streamed or held for a
//! decision), and the limits.

use crate::engine::bytes::{ends_with_ignore_case, eq_ignore_case, starts_with_ignore_case};
use crate::engine::{
    multipart_boundary, redact_form, redact_multipart, redact_protobuf, scan_protobuf, DetectorSet, Engine, Finding,
    RecordScan, ScanOptions, Scanner, Target,
};
use crate::policy::{ActionKind, BodyRedaction, Direction, Fallback, HttpSpec, Part};

use super::decode::{decode, Decoded, Encoding};
use super::encode::encode;
use super::grpc::{decode_text, encode_text, put_frame, status_frame, Deframer, Frame, Next};
use super::passing::{Passing, TcpAction};
use super::record::Outcome;
use super::records::Records;
use std::sync::Arc;

use super::{Inspector, Known};

/// How a body is read, from its content type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Json,
    Form,
    Text,
    /// Length-prefixed protobuf messages (gRPC, gRPC-Web).
    Grpc,
    /// `multipart/form-data`: text parts by field name, file parts by content type.
    Multipart,
    /// One protobuf message (`application/x-protobuf`: OpenTelemetry's
    /// OTLP/HTTP, many internal APIs), read without a schema as gRPC's are.
    Protobuf,
}

impl Kind {
    /// `Err` (the reason) for bodies sieve does not read.
    pub(super) fn of(content_type: &[u8]) -> Result<Kind, &'static str> {
        let essence = essence(content_type);
        // Media types ignore ASCII case.
        let is = |name: &[u8]| eq_ignore_case(essence, name);
        let starts = |head: &[u8]| starts_with_ignore_case(essence, head);
        let ends = |tail: &[u8]| ends_with_ignore_case(essence, tail);
        let has = |needle: &[u8]| essence.windows(needle.len()).any(|w| eq_ignore_case(w, needle));
        if wide_charset(content_type) {
            // Every other character a NUL: the patterns would see no value whole.
            Err("unsupported charset")
        } else if essence.is_empty() {
            Ok(Kind::Text)
        } else if is(b"application/json")
            || ends(b"+json")
            || starts(b"application/x-amz-json")
            || has(b"ndjson")
            || Records::of(essence) == Some(Records::Lines)
        {
            Ok(Kind::Json)
        } else if starts(b"application/grpc") {
            Ok(Kind::Grpc)
        } else if is(b"multipart/form-data") {
            Ok(Kind::Multipart)
        } else if is(b"application/x-www-form-urlencoded") {
            Ok(Kind::Form)
        } else if PROTOBUF_TYPES.iter().any(|t| is(t)) {
            Ok(Kind::Protobuf)
        } else if starts(b"text/") || ends(b"xml") || TEXT_TYPES.iter().any(|t| is(t)) || ends(b"+yaml") {
            Ok(Kind::Text)
        } else {
            Err(BINARY)
        }
    }
}

/// Types outside `text/` whose bodies are text: YAML among them (Kubernetes'
/// API takes manifests, Secrets included, as `application/yaml` and
/// `application/apply-patch+yaml`).
const TEXT_TYPES: [&[u8]; 7] = [
    b"application/javascript",
    b"application/x-javascript",
    b"application/ecmascript",
    b"application/graphql",
    b"application/yaml",
    b"application/x-yaml",
    b"application/toml",
];

/// The names a single protobuf message goes by.
const PROTOBUF_TYPES: [&[u8]; 4] = [
    b"application/x-protobuf",
    b"application/protobuf",
    b"application/vnd.google.protobuf",
    b"application/x-google-protobuf",
];

/// Why a body of a type sieve does not read is skipped: by the policy
/// (`http.scan_binary`), not because sieve could not read it.
const BINARY: &str = "binary content type";

/// Whether the `charset` parameter names UTF-16 or UTF-32, which sieve does not
/// read (every other charset HTTP APIs use is a superset of ASCII).
fn wide_charset(content_type: &[u8]) -> bool {
    content_type.split(|&b| b == b';').skip(1).any(|parameter| {
        let Some(at) = parameter.iter().position(|&b| b == b'=') else { return false };
        let value = parameter[at + 1..].trim_ascii();
        let value = value.strip_prefix(b"\"").unwrap_or(value);
        eq_ignore_case(parameter[..at].trim_ascii(), b"charset")
            && (starts_with_ignore_case(value, b"utf-16") || starts_with_ignore_case(value, b"utf-32"))
    })
}

/// Adds a chunk to the bytes held: the first is kept as it came, not copied.
fn append(held: &mut Vec<u8>, chunk: Vec<u8>) {
    if held.is_empty() {
        *held = chunk;
    } else {
        held.extend_from_slice(&chunk);
    }
}

/// A media type without its parameters.
fn essence(content_type: &[u8]) -> &[u8] {
    content_type.split(|&b| b == b';').next().unwrap_or_default().trim_ascii()
}

/// What a body's headers say it is, read as the policy reads it (a binary
/// type as text under `http.scan_binary`): its kind and, for gRPC its
/// messages', encoding; or why it cannot be read.
fn form(inspector: &Inspector, known: &Known) -> Result<(Kind, Encoding), &'static str> {
    let kind = match Kind::of(known.content_type.unwrap_or_default()) {
        Err(_) if inspector.http.scan_binary => Ok(Kind::Text),
        kind => kind,
    }?;
    let content_encoding = known.content_encoding.unwrap_or(Ok(Encoding::IDENTITY));
    let encoding = match kind {
        Kind::Grpc if content_encoding != Ok(Encoding::IDENTITY) => Err("content-encoding on a gRPC body"),
        Kind::Grpc => Encoding::of(known.grpc_encoding.unwrap_or_default()),
        _ => content_encoding,
    }?;
    Ok((kind, encoding))
}

/// The form of a gRPC-Web body, from its content type; `None` for gRPC.
fn web_form(content_type: &[u8]) -> Option<WebForm> {
    let essence = essence(content_type);
    let text = starts_with_ignore_case(essence, b"application/grpc-web-text");
    let web = starts_with_ignore_case(essence, b"application/grpc-web");
    web.then_some(if text { WebForm::Text } else { WebForm::Binary })
}

/// What the plan does with what a body holds.
#[derive(Clone, Copy)]
struct Acts {
    blocks: bool,
    redacts: bool,
}

#[derive(Debug)]
enum Mode {
    /// Not read; the reason goes into the record.
    Skip,
    /// Scanned chunk by chunk as it passes (monitor-only policies).
    Stream(Box<Scanner>),
    /// Held until the end, then scanned whole, so it can be blocked or rewritten.
    Hold(Vec<u8>),
    /// Copied as it passes, then decoded and scanned for the record
    /// (compressed bodies under monitor-only policies).
    Copy(Vec<u8>),
    /// Rewritten as it flows: each chunk is replaced by the redacted bytes
    /// that are final so far (`http.body_redaction: stream`).
    Redact(Box<Scanner>),
    /// gRPC: each message is scanned once complete.
    Grpc(Box<Grpc>),
    /// A stream of records, each scanned and sent on as it completes; the
    /// bytes are the incomplete record held back.
    Records(Records, Vec<u8>),
    /// A tunnel's bytes (after a protocol switch, or a CONNECT): they pass at
    /// once, scanned as TCP bytes are.
    Tunnel(Box<Passing>),
    /// Blocked: nothing more goes on.
    Drop,
}

#[derive(Debug)]
pub(super) struct Body {
    direction: Direction,
    kind: Kind,
    encoding: Encoding,
    /// The detectors in scope, and those that redact (the exchange's plan).
    options: ScanOptions,
    /// A multipart body's boundary.
    boundary: Vec<u8>,
    mode: Mode,
    seen: u64,
    /// A gRPC-Web body, whose status travels in a frame at its end: in
    /// which form a blocked response's status frame can still follow
    /// what went out (`None` where it cannot, or for gRPC).
    web: Option<WebForm>,
    /// A blocked gRPC body's messages held before the blocked one, in the body's form.
    kept: Vec<u8>,
}

/// How a gRPC-Web body is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WebForm {
    Binary,
    /// Base64, in padded segments.
    Text,
}

impl Body {
    /// The body that follows these headers. For gRPC, `encoding` is the
    /// messages' `grpc-encoding`.
    pub(super) fn new(
        inspector: &Inspector,
        direction: Direction,
        known: &Known,
        target: Target,
        outcome: &mut Outcome,
    ) -> Body {
        let plan = Arc::clone(&outcome.plan);
        let detectors = DetectorSet::for_target(&inspector.engine, &target);
        let acts = Acts {
            blocks: plan.acts(&detectors, ActionKind::Block),
            redacts: plan.acts(&detectors, ActionKind::Redact),
        };
        let options = ScanOptions::with(detectors, plan.redact.clone());
        if options.detectors.is_empty() {
            return Body::plain(direction, options, Mode::Skip);
        }
        let (kind, encoding) = match form(inspector, known) {
            Ok(form) => form,
            Err(why) => {
                outcome.skipped(direction, why);
                let refused = why != BINARY && inspector.http.on_unreadable == Fallback::Block;
                return Body::plain(direction, options, if refused { Mode::Drop } else { Mode::Skip });
            }
        };
        let content_type = known.content_type.unwrap_or_default();
        // Without a boundary, a multipart body can only be read as text.
        let boundary = match kind {
            Kind::Multipart => multipart_boundary(content_type).unwrap_or_default(),
            _ => Vec::new(),
        };
        let kind = if kind == Kind::Multipart && boundary.is_empty() { Kind::Text } else { kind };
        let mut body = Body { kind, encoding, boundary, ..Body::plain(direction, options, Mode::Skip) };
        body.options.json = kind == Kind::Json;
        if kind == Kind::Grpc {
            body.web = web_form(content_type);
        }
        // Bytes a streaming redaction still holds cannot go on from a trailers
        // callback: bodies that announce trailers are held instead.
        let trailers = known.trailer.is_some_and(|t| !t.is_empty());
        body.mode = body.first_mode(inspector, content_type, acts, trailers);
        body
    }

    /// How the body is read from its first byte, given what the plan does
    /// with what is found in it and whether it ends in trailers.
    fn first_mode(&self, inspector: &Inspector, content_type: &[u8], acts: Acts, trailers: bool) -> Mode {
        let Acts { blocks, redacts } = acts;
        let streams = inspector.http.body_redaction == BodyRedaction::Stream && !trailers;
        let scanner = || Box::new(inspector.engine.scanner(self.options.clone()));
        // A stream of records may never end: where a body would be held, it
        // goes on record by record instead (or, compressed, is copied).
        let stream = || Records::of(essence(content_type));
        let records = ((blocks || redacts) && !trailers).then(stream).flatten();
        let unreadable_blocks = inspector.http.on_unreadable == Fallback::Block;
        match (self.encoding, self.kind, records) {
            // A message that may prove unreadable is held until it completes, too.
            (_, Kind::Grpc, _) => {
                let text = self.web == Some(WebForm::Text);
                Mode::Grpc(Box::new(Grpc::new(blocks || redacts || unreadable_blocks, text)))
            }
            (Encoding::IDENTITY, _, Some(records)) => Mode::Records(records, Vec::new()),
            (_, _, Some(_)) => Mode::Copy(Vec::new()),
            (Encoding::IDENTITY, Kind::Json | Kind::Text, _) if redacts && streams && !blocks => {
                Mode::Redact(scanner())
            }
            (_, kind, _) if blocks || redacts || kind == Kind::Form => Mode::Hold(Vec::new()),
            // A message or a multipart body is read whole, so it is copied as it passes.
            (Encoding::IDENTITY, Kind::Multipart | Kind::Protobuf, _) => Mode::Copy(Vec::new()),
            (Encoding::IDENTITY, _, _) => Mode::Stream(scanner()),
            // Nothing of a body that may prove unreadable goes on before it
            // is decoded, but a stream of records, which may never end.
            _ if unreadable_blocks && stream().is_none() => Mode::Hold(Vec::new()),
            _ => Mode::Copy(Vec::new()),
        }
    }

    /// Whether the body is refused before a byte of it is read: it cannot be
    /// read, and the policy blocks what cannot be.
    pub(super) fn refused(&self) -> bool {
        matches!(self.mode, Mode::Drop)
    }

    /// What takes the place of a blocked gRPC response's held bytes: the
    /// messages before the blocked one, then for gRPC-Web the status frame
    /// with `message`, in the body's form (gRPC's trailers carry the status).
    pub(super) fn denied(&mut self, message: &str) -> Vec<u8> {
        let mut out = std::mem::take(&mut self.kept);
        match self.web {
            Some(WebForm::Binary) => out.extend(status_frame(message)),
            Some(WebForm::Text) => out.extend(encode_text(&status_frame(message))),
            None => {}
        }
        out
    }

    /// `reply` in this body's encoding, to take its place: the headers that
    /// went out name the encoding.
    pub(super) fn in_its_encoding(&self, reply: &[u8]) -> Vec<u8> {
        encode(self.encoding, reply)
    }

    /// The bytes of a tunnel that follow these headers: not a body, so not
    /// read by its content type, and never held.
    pub(super) fn tunnel(inspector: &Inspector, direction: Direction, target: Target, outcome: &Outcome) -> Body {
        let detectors = DetectorSet::for_target(&inspector.engine, &target);
        let options = ScanOptions::with(detectors, outcome.plan.redact.clone());
        let mode = if options.detectors.is_empty() {
            Mode::Skip
        } else {
            Mode::Tunnel(Box::new(Passing::new(direction, options.clone())))
        };
        Body::plain(direction, options, mode)
    }

    /// A body read (if at all) as plain text, nothing of it seen yet.
    fn plain(direction: Direction, options: ScanOptions, mode: Mode) -> Body {
        let (kind, encoding, boundary) = (Kind::Text, Encoding::IDENTITY, Vec::new());
        Body { direction, kind, encoding, options, boundary, mode, seen: 0, web: None, kept: Vec::new() }
    }

    /// Whether the next chunks are read at all: a skipped body's bytes need
    /// not even be copied out of the proxy.
    pub(super) fn reads(&self) -> bool {
        !matches!(self.mode, Mode::Skip)
    }

    /// Whether the body may be rewritten, so `content-length` must go. A
    /// held response's may be replaced by the block reply, whatever its encoding.
    pub(super) fn may_rewrite(&self) -> bool {
        match self.mode {
            Mode::Hold(_) if self.direction == Direction::Response => true,
            Mode::Hold(_) | Mode::Redact(_) | Mode::Records(..) => self.encoding.is_identity(),
            Mode::Grpc(ref grpc) => grpc.rewrite,
            _ => false,
        }
    }

    /// The next chunk; `end` when it is the last.
    pub(super) fn chunk(&mut self, inspector: &Inspector, chunk: Vec<u8>, end: bool, outcome: &mut Outcome) -> Step {
        self.seen += chunk.len() as u64;
        // How much of the chunk is still within `max_scan_bytes`.
        let room = (inspector.http.max_scan_bytes as u64).saturating_sub(self.seen - chunk.len() as u64) as usize;
        // The mode is taken out; each step puts it back while the body goes on as it was.
        match std::mem::replace(&mut self.mode, Mode::Skip) {
            Mode::Skip => Step::Continue,
            Mode::Drop => {
                self.mode = Mode::Drop;
                Step::Replace(Vec::new())
            }
            Mode::Grpc(grpc) => self.grpc_chunk(inspector, *grpc, &chunk, end, outcome),
            Mode::Tunnel(passing) => self.tunnel_chunk(inspector, passing, &chunk, room, outcome),
            Mode::Records(records, held) => self.records(inspector, records, held, chunk, end, outcome),
            Mode::Stream(scanner) => self.stream_chunk(inspector, scanner, chunk, room, end, outcome),
            Mode::Redact(scanner) => self.redact_chunk(inspector, scanner, &chunk, room, end, outcome),
            Mode::Hold(held) => self.held_chunk(inspector, held, true, chunk, end, outcome),
            Mode::Copy(held) => self.held_chunk(inspector, held, false, chunk, end, outcome),
        }
    }

    /// Frames a gRPC chunk (gRPC-Web text decoded first) and handles the
    /// messages it completes.
    fn grpc_chunk(
        &mut self,
        inspector: &Inspector,
        mut grpc: Grpc,
        chunk: &[u8],
        end: bool,
        outcome: &mut Outcome,
    ) -> Step {
        let readable = match grpc.text.as_mut() {
            None => {
                grpc.frames.push(chunk);
                true
            }
            Some(rest) => {
                let (bytes, readable) = decode_text(rest, chunk);
                grpc.frames.push(&bytes);
                readable
            }
        };
        if readable {
            return self.frames(inspector, grpc, end, outcome);
        }
        // The messages that decoded before the damage are read (a lenient
        // reader upstream takes them); then the rest goes on as it came,
        // unless they blocked the body or went past a limit, which ends the reading.
        let step = self.frames(inspector, grpc, false, outcome);
        if !matches!(self.mode, Mode::Grpc(_)) {
            return step;
        }
        // Not text a status segment could follow.
        self.web = None;
        let step = self.unreadable(inspector, "undecodable body", outcome);
        self.mode = if step == Step::Block { Mode::Drop } else { Mode::Skip };
        step
    }

    /// Scans a tunnel's bytes as they pass (masked where they redact);
    /// past `room`, the rest passes unscanned, or the tunnel closes.
    fn tunnel_chunk(
        &mut self,
        inspector: &Inspector,
        mut passing: Box<Passing>,
        chunk: &[u8],
        room: usize,
        outcome: &mut Outcome,
    ) -> Step {
        let (action, over) = passing.chunk_within(&inspector.engine, chunk, room, outcome);
        if !over {
            self.mode = Mode::Tunnel(passing);
        } else if self.over_limit(inspector.http.on_limit, outcome) == Step::Block {
            return Step::Close;
        }
        match action {
            TcpAction::Continue => Step::Continue,
            TcpAction::Replace(out) => Step::Replace(out),
            TcpAction::Close => {
                self.mode = Mode::Drop;
                Step::Close
            }
        }
    }

    /// Scans a streamed chunk as it passes, up to `room`.
    fn stream_chunk(
        &mut self,
        inspector: &Inspector,
        mut scanner: Box<Scanner>,
        mut chunk: Vec<u8>,
        room: usize,
        end: bool,
        outcome: &mut Outcome,
    ) -> Step {
        let over = chunk.len() > room;
        let (engine, direction) = (&inspector.engine, self.direction);
        chunk.truncate(room);
        scanner.feed_owned(chunk, &mut body_sink(engine, direction, 0, outcome));
        if over || end {
            scanner.finish(&mut body_sink(engine, direction, 0, outcome));
        }
        if over {
            let step = self.over_limit(inspector.http.on_limit, outcome);
            return self.passed(step);
        }
        self.mode = Mode::Stream(scanner);
        Step::Continue
    }

    /// Replaces a chunk by its redacted bytes that are final so far; past
    /// `room`, the rest goes on unscanned, or the body is blocked.
    fn redact_chunk(
        &mut self,
        inspector: &Inspector,
        mut scanner: Box<Scanner>,
        chunk: &[u8],
        room: usize,
        end: bool,
        outcome: &mut Outcome,
    ) -> Step {
        let (scanned, rest) = chunk.split_at(chunk.len().min(room));
        let (engine, direction) = (&inspector.engine, self.direction);
        let mut out = Vec::with_capacity(chunk.len() + engine.window());
        scanner.feed_redact(scanned, &mut out, &mut body_sink(engine, direction, 0, outcome));
        let over = !rest.is_empty();
        if over || end {
            scanner.finish_redact(&mut out, &mut body_sink(engine, direction, 0, outcome));
            out.extend_from_slice(rest);
        }
        if !over {
            self.mode = Mode::Redact(scanner);
        } else if self.over_limit(inspector.http.on_limit, outcome) == Step::Block {
            return self.passed(Step::Block);
        }
        Step::Replace(out)
    }

    /// Adds a chunk to a held (or copied, when not `holding`) body, and
    /// decides the body at its end, or at the limit of what is held.
    fn held_chunk(
        &mut self,
        inspector: &Inspector,
        mut held: Vec<u8>,
        holding: bool,
        chunk: Vec<u8>,
        end: bool,
        outcome: &mut Outcome,
    ) -> Step {
        append(&mut held, chunk);
        let limits = &inspector.http;
        let limit = limits.max_buffer_bytes.min(limits.max_scan_bytes);
        if held.len() > limit {
            // Too large to hold: the part within the limit is decided as a
            // body (a blocking value in it blocks), and the rest goes on
            // unscanned, as `on_limit` says.
            let rest = held.split_off(limit);
            let within = self.decide(inspector, &held, 0, false, outcome);
            let step = match (within, self.over_limit(limits.on_limit, outcome)) {
                (Step::Block, _) | (_, Step::Block) => Step::Block,
                (Step::Replace(redacted), _) => Step::Replace([redacted, rest].concat()),
                _ => Step::Continue,
            };
            return self.copied(holding, step);
        }
        if !end {
            self.mode = if holding { Mode::Hold(held) } else { Mode::Copy(held) };
            return if holding { Step::Hold } else { Step::Continue };
        }
        let step = self.decide(inspector, &held, 0, true, outcome);
        self.copied(holding, step)
    }

    /// What a body's verdict becomes where the body was copied as it came,
    /// not held: it went on, so it is not rewritten, nor replaced by a reply.
    fn copied(&self, holding: bool, step: Step) -> Step {
        match step {
            _ if holding => step,
            Step::Replace(_) => Step::Continue,
            step => self.passed(step),
        }
    }

    /// A response whose bytes went on as they came, and which must be
    /// blocked, is reset: a reply in place of the rest would reach the
    /// client glued to what it already has.
    fn passed(&self, step: Step) -> Step {
        match step {
            Step::Block if self.direction == Direction::Response => Step::Close,
            step => step,
        }
    }

    /// Handles the complete frames: returns what goes on, a hold while a
    /// message is incomplete, or a block. Keeps reading (puts `grpc` back)
    /// unless the body ended.
    fn frames(&mut self, inspector: &Inspector, mut grpc: Grpc, end: bool, outcome: &mut Outcome) -> Step {
        let limits = &inspector.http;
        loop {
            let frame = match grpc.frames.next(limits.max_buffer_bytes, limits.max_scan_bytes as u64) {
                Next::Frame(f) => f,
                Next::Partial => break,
                Next::OverLimit => {
                    if self.over_limit(limits.on_limit, outcome) == Step::Block {
                        return self.deny(grpc);
                    }
                    let rest = grpc.frames.take_rest();
                    grpc.out.extend(rest);
                    return grpc.release();
                }
            };
            let before = outcome.len();
            let verdict = self.message(inspector, &frame, grpc.rewrite, outcome);
            if grpc.text.is_some() && outcome.acted_since(before, ActionKind::Redact) {
                outcome.skipped(self.direction, "redaction of a base64 gRPC-Web body");
            }
            match verdict {
                Err(Blocked) => return self.deny(grpc),
                Ok(Some(payload)) => {
                    put_frame(&mut grpc.out, frame.flags, &payload);
                    grpc.changed = true;
                }
                // Held text keeps its frames too, should a block need to put them back.
                Ok(None) if grpc.hold => put_frame(&mut grpc.out, frame.flags, frame.payload),
                Ok(None) => {}
            }
        }
        if end {
            let rest = grpc.frames.take_rest();
            let cut = !rest.is_empty() || grpc.mid_group();
            if cut && self.unreadable(inspector, "truncated gRPC message", outcome) == Step::Block {
                return self.deny(grpc);
            }
            grpc.out.extend(rest);
            return grpc.release();
        }
        let step = if grpc.hold && grpc.frames.partial() { Step::Hold } else { grpc.release() };
        if step != Step::Hold {
            // What went out ends with the text's incomplete group, if any.
            grpc.aligned = !grpc.mid_group();
        }
        self.mode = Mode::Grpc(Box::new(grpc));
        step
    }

    /// Blocks a gRPC body: the messages held before the blocked one are
    /// kept, to go on in place of what is held, and nothing after it goes on.
    /// gRPC-Web text that went out mid-group can take no new segment: there,
    /// nothing more goes on.
    fn deny(&mut self, grpc: Grpc) -> Step {
        match (self.web, grpc.aligned) {
            (Some(WebForm::Text), false) => self.web = None,
            (Some(WebForm::Text), true) => self.kept = encode_text(&grpc.out),
            _ => self.kept = grpc.out,
        }
        self.mode = Mode::Drop;
        Step::Block
    }

    /// Scans the records `chunk` completes (with those `held` back) as a
    /// held body is scanned, and sends them on; holds back the incomplete
    /// one. Keeps reading (puts the mode back) unless the body ended.
    fn records(
        &mut self,
        inspector: &Inspector,
        records: Records,
        mut held: Vec<u8>,
        chunk: Vec<u8>,
        end: bool,
        outcome: &mut Outcome,
    ) -> Step {
        let held_back = !held.is_empty();
        append(&mut held, chunk);
        // Where the held bytes start in the body, for the findings' offsets.
        let at = self.seen - held.len() as u64;
        let ends: Vec<usize> = records.ends(&held).collect();
        if let Some(cut) = limit_cut(&inspector.http, &ends, held.len(), at) {
            return self.records_past_limit(inspector, &ends, held, cut, held_back, outcome);
        }
        let rest = held.split_off(if end { held.len() } else { ends.last().copied().unwrap_or(0) });
        let step = self.decide_records(inspector, &ends, &held, at, outcome);
        let changed = matches!(step, Step::Replace(_));
        let out = match step {
            Step::Block => return self.records_blocked(),
            Step::Replace(redacted) => redacted,
            _ => held,
        };
        let whole = !held_back && rest.is_empty() && !changed;
        if !end {
            self.mode = Mode::Records(records, rest);
        }
        if whole {
            Step::Continue
        } else {
            Step::Replace(out)
        }
    }

    /// The records held (ending at `ends`; the body's latest bytes) when a
    /// limit cut them at `cut` (see [`limit_cut`]): the part before it is
    /// scanned as records are (what blocks there blocks, what redacts is
    /// rewritten), and the rest goes on unscanned, or the body is blocked,
    /// as `on_limit` says. Nothing more of the body is read.
    fn records_past_limit(
        &mut self,
        inspector: &Inspector,
        ends: &[usize],
        mut held: Vec<u8>,
        cut: usize,
        held_back: bool,
        outcome: &mut Outcome,
    ) -> Step {
        let at = self.seen - held.len() as u64;
        let rest = held.split_off(cut);
        let within = self.decide_records(inspector, ends, &held, at, outcome);
        match (within, self.over_limit(inspector.http.on_limit, outcome)) {
            (Step::Block, _) | (_, Step::Block) => self.records_blocked(),
            (Step::Replace(redacted), _) => Step::Replace([redacted, rest].concat()),
            _ if held_back => Step::Replace([held, rest].concat()),
            _ => Step::Continue,
        }
    }

    /// Scans each record of `held` (at `at` in the body; the last may be
    /// incomplete) on its own, as a held body is scanned: a record's context
    /// and key paths are its own, whichever records came in one chunk.
    /// Blocks at the first record that blocks; otherwise the records go on,
    /// rewritten where they changed.
    fn decide_records(
        &self,
        inspector: &Inspector,
        ends: &[usize],
        held: &[u8],
        at: u64,
        outcome: &mut Outcome,
    ) -> Step {
        // Records come in JSON lines and event streams, never encoded.
        debug_assert!(self.encoding.is_identity() && matches!(self.kind, Kind::Json | Kind::Text));
        let engine = &inspector.engine;
        let mut scan = RecordScan::new(engine, held, &self.options);
        // `held[..copied]` is in `out`, which is begun at the first record rewritten.
        let (mut out, mut copied, mut start) = (Vec::new(), 0, 0);
        let mut ends = ends.iter().copied().take_while(|&end| end <= held.len());
        while start < held.len() {
            let end = ends.next().unwrap_or(held.len());
            let before = outcome.len();
            let redacted = scan.redact(start..end, &mut body_sink(engine, self.direction, at + start as u64, outcome));
            if outcome.acted_since(before, ActionKind::Block) {
                return Step::Block;
            }
            if let Some(redacted) = redacted.filter(|r| *r != &held[start..end]) {
                out.extend_from_slice(&held[copied..start]);
                out.extend_from_slice(redacted);
                copied = end;
            }
            start = end;
        }
        if copied == 0 {
            Step::Continue
        } else {
            out.extend_from_slice(&held[copied..]);
            Step::Replace(out)
        }
    }

    /// A record stream blocked: a response's records went out before this
    /// one, so the stream, which may never end, is ended (a request gets
    /// its reply).
    fn records_blocked(&mut self) -> Step {
        self.mode = Mode::Drop;
        if self.direction == Direction::Response {
            Step::Close
        } else {
            Step::Block
        }
    }

    /// Scans one gRPC message; returns its redacted payload if it changed.
    /// A compressed message is decoded and scanned, never rewritten.
    fn message(
        &self,
        inspector: &Inspector,
        frame: &Frame,
        rewrite: bool,
        outcome: &mut Outcome,
    ) -> Result<Option<Vec<u8>>, Blocked> {
        if frame.trailers() || frame.payload.is_empty() {
            return Ok(None);
        }
        let (engine, direction, options) = (&inspector.engine, self.direction, &self.options);
        let found = |outcome: &mut Outcome, f: Finding, v: &[u8]| {
            outcome.found(engine, direction, Part::Body, None, f.shifted(frame.at), v)
        };
        match (frame.compressed(), self.encoding) {
            (false, _) => {
                let before = outcome.len();
                let mut sink = |f, v: &[u8]| found(outcome, f, v);
                let redacted = if rewrite {
                    Some(redact_protobuf(engine, frame.payload, options, &mut sink))
                } else {
                    scan_protobuf(engine, frame.payload, options, &mut sink);
                    None
                };
                if outcome.acted_since(before, ActionKind::Block) {
                    return Err(Blocked);
                }
                Ok(redacted.filter(|r| r != frame.payload))
            }
            (true, Encoding::IDENTITY) => {
                match self.unreadable(inspector, "compressed gRPC message without grpc-encoding", outcome) {
                    Step::Block => Err(Blocked),
                    _ => Ok(None),
                }
            }
            (true, encoding) => {
                self.scan_compressed(inspector, encoding, frame.payload, true, outcome, |message, outcome| {
                    scan_protobuf(engine, message, options, &mut |f, v| found(outcome, f, v))
                })?;
                Ok(None)
            }
        }
    }

    /// Decodes a compressed body or gRPC message (producing at most
    /// `max_scan_bytes`) and runs `scan` on it for the record. A compressed
    /// payload can be blocked but is never rewritten. `data` not `complete`
    /// was cut at a limit, so its stream ends early without being damaged.
    fn scan_compressed(
        &self,
        inspector: &Inspector,
        encoding: Encoding,
        data: &[u8],
        complete: bool,
        outcome: &mut Outcome,
        scan: impl FnOnce(&[u8], &mut Outcome),
    ) -> Result<(), Blocked> {
        let before = outcome.len();
        let (decoded, whole, corrupt) = match decode(encoding, data, inspector.http.max_scan_bytes) {
            Decoded::Whole(d) => (d, true, false),
            Decoded::Truncated(d) => (d, false, false),
            // Data cut at a limit ends in the middle of its stream: past the limit, not damaged.
            Decoded::Corrupt(d) if !complete => (d, false, false),
            Decoded::Corrupt(d) => (d, true, true),
        };
        // What decoded before any damage is scanned: a lenient reader upstream takes it.
        scan(&decoded, outcome);
        if outcome.acted_since(before, ActionKind::Block) {
            return Err(Blocked);
        }
        if corrupt && self.unreadable(inspector, "undecodable body", outcome) == Step::Block {
            return Err(Blocked);
        }
        // What it expands to past the cap is a body over the limit.
        if !whole && self.over_limit(inspector.http.on_limit, outcome) == Step::Block {
            return Err(Blocked);
        }
        if outcome.acted_since(before, ActionKind::Redact) {
            outcome.skipped(self.direction, "redaction of a compressed body");
        }
        Ok(())
    }

    /// Records a body, or part of one, sieve cannot read; blocks it if the
    /// policy says so.
    fn unreadable(&self, inspector: &Inspector, why: &'static str, outcome: &mut Outcome) -> Step {
        outcome.skipped(self.direction, why);
        fall_back(inspector.http.on_unreadable)
    }

    fn over_limit(&self, on_limit: Fallback, outcome: &mut Outcome) -> Step {
        outcome.truncated(self.direction);
        fall_back(on_limit)
    }

    /// Scans a held body (or, at `at`, a run of its records) whole: block,
    /// rewrite or let it through. A compressed body is decoded (within
    /// `max_scan_bytes`) and can be blocked but is never rewritten.
    /// `complete` is false for the part of a body within a limit.
    fn decide(&self, inspector: &Inspector, held: &[u8], at: u64, complete: bool, outcome: &mut Outcome) -> Step {
        if !self.encoding.is_identity() {
            let scan = |decoded: &[u8], outcome: &mut Outcome| {
                self.scan_held(inspector, decoded, 0, outcome);
            };
            return match self.scan_compressed(inspector, self.encoding, held, complete, outcome, scan) {
                Err(Blocked) => Step::Block,
                Ok(()) => Step::Continue,
            };
        }
        let before = outcome.len();
        let redacted = self.scan_held(inspector, held, at, outcome);
        if outcome.acted_since(before, ActionKind::Block) {
            Step::Block
        } else if redacted != held {
            Step::Replace(redacted)
        } else {
            Step::Continue
        }
    }

    fn scan_held(&self, inspector: &Inspector, held: &[u8], at: u64, outcome: &mut Outcome) -> Vec<u8> {
        let (engine, options) = (&inspector.engine, &self.options);
        let mut sink = body_sink(engine, self.direction, at, outcome);
        let multipart = match self.kind {
            Kind::Form => return redact_form(engine, held, options, &mut sink),
            Kind::Protobuf => return redact_protobuf(engine, held, options, &mut sink),
            Kind::Multipart => redact_multipart(engine, held, &self.boundary, options, &mut sink),
            Kind::Json | Kind::Text | Kind::Grpc => None,
        };
        // Text, or a multipart body that does not parse.
        multipart.unwrap_or_else(|| {
            let mut out = Vec::with_capacity(held.len());
            let mut scanner = Scanner::new(Arc::clone(engine), options.clone());
            scanner.feed_redact(held, &mut out, &mut sink);
            scanner.finish_redact(&mut out, &mut sink);
            out
        })
    }
}

/// A message must be blocked.
struct Blocked;

/// Where a limit cuts a stream's held records (`held` bytes at `at` in the
/// body; its complete records end at `ends`, and the rest is the record
/// still arriving): inside the first record that runs past
/// `max_scan_bytes`, or that grows longer than `max_buffer_bytes`, which is
/// what a record held back until it completes may take. `None` if no record
/// does. Records that complete in one chunk are not held, however many
/// came: the limits fall where they would had the records come one by one.
fn limit_cut(limits: &HttpSpec, ends: &[usize], held: usize, at: u64) -> Option<usize> {
    let scan_room = (limits.max_scan_bytes as u64).saturating_sub(at);
    let starts = std::iter::once(0).chain(ends.iter().copied());
    starts.zip(ends.iter().copied().chain([held])).find_map(|(start, end)| {
        let cut = scan_room.min(start.saturating_add(limits.max_buffer_bytes) as u64) as usize;
        (end > cut).then_some(cut)
    })
}

/// Where a body's findings go: into `outcome`, found `at` bytes into the body.
fn body_sink<'a>(
    engine: &'a Engine,
    direction: Direction,
    at: u64,
    outcome: &'a mut Outcome,
) -> impl FnMut(Finding, &[u8]) + 'a {
    move |f, v| outcome.found(engine, direction, Part::Body, None, f.shifted(at), v)
}

/// Where a body cannot be scanned whole, it goes on or is blocked, as the policy says.
fn fall_back(fallback: Fallback) -> Step {
    match fallback {
        Fallback::Pass => Step::Continue,
        Fallback::Block => Step::Block,
    }
}

/// A gRPC body being read.
#[derive(Debug)]
struct Grpc {
    frames: Deframer,
    /// Redact or block: a chunk that ends inside a message is held (by Envoy,
    /// within its buffer limit) until the message completes. Otherwise chunks
    /// go on as they come.
    hold: bool,
    /// Messages go on rewritten (held, and not base64 text).
    rewrite: bool,
    /// gRPC-Web text: the base64 characters of a group still incomplete.
    /// The text is scanned, and goes on as it came.
    text: Option<Vec<u8>>,
    /// The text that went on ends on a whole group, where a new segment can follow.
    aligned: bool,
    /// What goes on in place of the bytes held so far.
    out: Vec<u8>,
    /// `out` differs from the bytes held.
    changed: bool,
}

impl Grpc {
    fn new(hold: bool, text: bool) -> Grpc {
        let (rewrite, text) = (hold && !text, text.then(Vec::new));
        Grpc { frames: Deframer::default(), hold, rewrite, text, aligned: true, out: Vec::new(), changed: false }
    }

    /// Whether gRPC-Web text has read part of a base64 group.
    fn mid_group(&self) -> bool {
        self.text.as_ref().is_some_and(|rest| !rest.is_empty())
    }

    /// Lets the held bytes go on, rewritten if they changed.
    fn release(&mut self) -> Step {
        let out = std::mem::take(&mut self.out);
        if std::mem::take(&mut self.changed) {
            Step::Replace(out)
        } else {
            Step::Continue
        }
    }
}

/// What the filter does with the body so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Step {
    Continue,
    Hold,
    Replace(Vec<u8>),
    Block,
    /// A blocking finding in bytes that follow others already sent (a
    /// tunnel's, a response's records): drop the chunk and end the stream.
    Close,
}

#[cfg(test)]
mod tests {
    use super::Kind;

    #[test]
    fn content_types_are_read_by_their_essence_in_any_case() {
        let cases: &[(&str, Result<Kind, &str>)] = &[
            ("application/json", Ok(Kind::Json)),
            ("Application/JSON; charset=utf-8", Ok(Kind::Json)),
            ("application/vnd.api+JSON", Ok(Kind::Json)),
            ("application/x-NDJSON", Ok(Kind::Json)),
            ("application/x-amz-json-1.1", Ok(Kind::Json)),
            ("application/grpc+proto", Ok(Kind::Grpc)),
            ("application/x-protobuf", Ok(Kind::Protobuf)),
            (
                "application/protobuf; proto=opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest",
                Ok(Kind::Protobuf),
            ),
            ("application/grpc-web-text", Ok(Kind::Grpc)),
            ("Multipart/Form-Data; boundary=x", Ok(Kind::Multipart)),
            ("application/x-www-form-urlencoded", Ok(Kind::Form)),
            ("TEXT/html", Ok(Kind::Text)),
            ("application/soap+XML", Ok(Kind::Text)),
            ("application/yaml", Ok(Kind::Text)),
            ("application/apply-patch+yaml", Ok(Kind::Text)),
            ("application/x-javascript", Ok(Kind::Text)),
            ("", Ok(Kind::Text)),
            ("  ; charset=utf-8", Ok(Kind::Text)),
            ("image/png", Err("binary content type")),
            ("application/octet-stream", Err("binary content type")),
            ("application/json; charset=UTF-16LE", Err("unsupported charset")),
            ("text/plain;Charset=\"utf-32\"", Err("unsupported charset")),
            ("text/plain; charset=iso-8859-1", Ok(Kind::Text)),
            ("text/plain; name=utf-16", Ok(Kind::Text)),
        ];
        for (content_type, kind) in cases {
            assert_eq!(Kind::of(content_type.as_bytes()), *kind, "{content_type:?}");
        }
    }
}
