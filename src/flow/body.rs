//! One direction's body: what is scanned, how (streamed or held for a
//! decision), and the limits.

use crate::engine::{redact_form, scan_form, DetectorSet, RedactMode, ScanOptions, Scanner, Target};
use crate::policy::{ActionKind, BodyRedaction, Direction, LimitAction, Part};

use super::decode::{decode, Decoded, Encoding};
use super::record::Outcome;
use super::Inspector;

/// How a body is read, from its content type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Json,
    Form,
    Text,
}

impl Kind {
    /// `Err` (the reason) for bodies sieve does not read.
    pub(super) fn of(content_type: &[u8]) -> Result<Kind, &'static str> {
        let ct = content_type.to_ascii_lowercase();
        let essence = ct.split(|&b| b == b';').next().unwrap_or_default().trim_ascii();
        let has = |needle: &[u8]| essence.windows(needle.len()).any(|w| w == needle);
        if essence.is_empty() {
            Ok(Kind::Text)
        } else if essence == b"application/json" || essence.ends_with(b"+json") || has(b"ndjson") {
            Ok(Kind::Json)
        } else if essence == b"application/x-www-form-urlencoded" {
            Ok(Kind::Form)
        } else if essence.starts_with(b"text/")
            || essence.ends_with(b"xml")
            || essence == b"multipart/form-data"
            || essence == b"application/javascript"
            || essence == b"application/graphql"
        {
            Ok(Kind::Text)
        } else {
            Err("binary content type")
        }
    }
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
}

#[derive(Debug)]
pub(super) struct Body {
    direction: Direction,
    kind: Kind,
    encoding: Encoding,
    detectors: DetectorSet,
    mode: Mode,
    seen: u64,
}

impl Body {
    pub(super) fn new(
        inspector: &Inspector,
        direction: Direction,
        content_type: &[u8],
        content_encoding: &[u8],
        target: Target,
        outcome: &mut Outcome,
    ) -> Body {
        let engine = &inspector.engine;
        let detectors = DetectorSet::for_target(engine, &target);
        let skip = |kind, encoding, detectors| Body { direction, kind, encoding, detectors, mode: Mode::Skip, seen: 0 };
        let (kind, encoding) = match (Kind::of(content_type), Encoding::of(content_encoding)) {
            (Ok(k), Ok(e)) => (k, e),
            (Err(why), _) | (_, Err(why)) => {
                if !detectors.is_empty() {
                    outcome.skipped(direction, why);
                }
                return skip(Kind::Text, Encoding::Identity, detectors);
            }
        };
        if detectors.is_empty() {
            return skip(kind, encoding, detectors);
        }
        let acts = |action| {
            (0..engine.detectors().len()).any(|i| detectors.contains(i) && engine.detector(i).action == action)
        };
        let (blocks, redacts) = (acts(ActionKind::Block), acts(ActionKind::Redact));
        let options =
            ScanOptions { json: kind == Kind::Json, detectors: detectors.clone(), ..ScanOptions::text(engine) };
        let streams = inspector.http.body_redaction == BodyRedaction::Stream;
        let mode = match (encoding, kind) {
            (Encoding::Identity, Kind::Json | Kind::Text) if redacts && streams && !blocks => {
                Mode::Redact(Box::new(engine.scanner(ScanOptions { redact: RedactMode::ByAction, ..options })))
            }
            _ if blocks || redacts || kind == Kind::Form => Mode::Hold(Vec::new()),
            (Encoding::Identity, _) => Mode::Stream(Box::new(engine.scanner(options))),
            _ => Mode::Copy(Vec::new()),
        };
        Body { direction, kind, encoding, detectors, mode, seen: 0 }
    }

    /// Whether the body may be rewritten, so `content-length` must go.
    pub(super) fn may_rewrite(&self) -> bool {
        matches!(self.mode, Mode::Hold(_) | Mode::Redact(_)) && self.encoding == Encoding::Identity
    }

    /// The next chunk; `end` when it is the last.
    pub(super) fn chunk(&mut self, inspector: &Inspector, chunk: &[u8], end: bool, outcome: &mut Outcome) -> Step {
        self.seen += chunk.len() as u64;
        let limits = &inspector.http;
        let holding = matches!(self.mode, Mode::Hold(_));
        match &mut self.mode {
            Mode::Skip => Step::Continue,
            Mode::Stream(scanner) => {
                let room = (limits.max_scan_bytes as u64).saturating_sub(self.seen - chunk.len() as u64) as usize;
                let over = chunk.len() > room;
                let (engine, direction) = (&inspector.engine, self.direction);
                let mut sink = |f, v: &[u8]| outcome.found(engine, direction, Part::Body, None, &f, v);
                scanner.feed(&chunk[..chunk.len().min(room)], &mut sink);
                if over || end {
                    scanner.finish(&mut sink);
                }
                if over {
                    self.mode = Mode::Skip;
                    return self.over_limit(limits.on_limit, outcome);
                }
                Step::Continue
            }
            Mode::Redact(scanner) => {
                let room = (limits.max_scan_bytes as u64).saturating_sub(self.seen - chunk.len() as u64) as usize;
                let (scanned, rest) = chunk.split_at(chunk.len().min(room));
                let (engine, direction) = (&inspector.engine, self.direction);
                let mut sink = |f, v: &[u8]| outcome.found(engine, direction, Part::Body, None, &f, v);
                let mut out = Vec::with_capacity(chunk.len() + engine.window());
                scanner.feed_redact(scanned, &mut out, &mut sink);
                let over = !rest.is_empty();
                if over || end {
                    scanner.finish_redact(&mut out, &mut sink);
                    out.extend_from_slice(rest);
                }
                if over {
                    self.mode = Mode::Skip;
                    if self.over_limit(limits.on_limit, outcome) == Step::Block {
                        return Step::Block;
                    }
                }
                Step::Replace(out)
            }
            Mode::Hold(held) | Mode::Copy(held) => {
                held.extend_from_slice(chunk);
                let limit = limits.max_buffer_bytes.min(limits.max_scan_bytes);
                if held.len() > limit {
                    // Too large to hold: what arrived is scanned for the record, the rest passes.
                    let mut held = std::mem::take(held);
                    held.truncate(limit);
                    self.mode = Mode::Skip;
                    self.decide(inspector, &held, outcome);
                    return self.over_limit(limits.on_limit, outcome);
                }
                if !end {
                    return if holding { Step::Hold } else { Step::Continue };
                }
                let held = std::mem::take(held);
                self.mode = Mode::Skip;
                let step = self.decide(inspector, &held, outcome);
                if holding {
                    step
                } else {
                    Step::Continue
                }
            }
        }
    }

    fn over_limit(&self, on_limit: LimitAction, outcome: &mut Outcome) -> Step {
        outcome.truncated(self.direction);
        match on_limit {
            LimitAction::Pass => Step::Continue,
            LimitAction::Block => Step::Block,
        }
    }

    /// Scans a held body whole: block, rewrite or let it through. A
    /// compressed body is decoded (within `max_scan_bytes`) and can be
    /// blocked but is never rewritten.
    fn decide(&self, inspector: &Inspector, held: &[u8], outcome: &mut Outcome) -> Step {
        let before = outcome.len();
        if self.encoding != Encoding::Identity {
            let decoded = match decode(self.encoding, held, inspector.http.max_scan_bytes) {
                Decoded::Whole(d) => d,
                Decoded::Truncated(d) => {
                    outcome.truncated(self.direction);
                    d
                }
                Decoded::Corrupt => {
                    outcome.skipped(self.direction, "undecodable body");
                    return Step::Continue;
                }
            };
            self.scan_held(inspector, &decoded, RedactMode::ByAction, outcome);
            let actions = outcome.actions_since(before);
            if actions.contains(&ActionKind::Block) {
                return Step::Block;
            }
            if actions.contains(&ActionKind::Redact) {
                outcome.skipped(self.direction, "redaction of a compressed body");
            }
            return Step::Continue;
        }
        let redacted = self.scan_held(inspector, held, RedactMode::ByAction, outcome);
        let actions = outcome.actions_since(before);
        if actions.contains(&ActionKind::Block) {
            Step::Block
        } else if redacted != held {
            Step::Replace(redacted)
        } else {
            Step::Continue
        }
    }

    fn scan_held(&self, inspector: &Inspector, held: &[u8], redact: RedactMode, outcome: &mut Outcome) -> Vec<u8> {
        let engine = &inspector.engine;
        let options = ScanOptions {
            json: self.kind == Kind::Json,
            redact,
            detectors: self.detectors.clone(),
            ..ScanOptions::text(engine)
        };
        let direction = self.direction;
        let mut sink = |f, v: &[u8]| outcome.found(engine, direction, Part::Body, None, &f, v);
        match self.kind {
            Kind::Form => redact_form(engine, held, &options, &mut sink),
            Kind::Json | Kind::Text => {
                let mut out = Vec::with_capacity(held.len());
                let mut scanner = Scanner::new(std::sync::Arc::clone(engine), options);
                scanner.feed_redact(held, &mut out, &mut sink);
                scanner.finish_redact(&mut out, &mut sink);
                out
            }
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
}

/// Scans a form-encoded query string (`a=1&b=2`) for the record.
pub(super) fn scan_query(inspector: &Inspector, query: &[u8], options: &ScanOptions, outcome: &mut Outcome) {
    let engine = &inspector.engine;
    scan_form(engine, query, options, &mut |f, v| outcome.found(engine, Direction::Request, Part::Url, None, &f, v));
}
