//! One direction's body: what is scanned, how (streamed or held for a
//! decision), and the limits.

use crate::engine::{redact_form, scan_form, DetectorSet, RedactMode, ScanOptions, Scanner, Target};
use crate::policy::{ActionKind, Direction, LimitAction, Part};

use super::http::Outcome;
use super::Inspector;

/// How a body is read, from its content type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Json,
    Form,
    Text,
}

impl Kind {
    /// `None` for bodies sieve does not read (binary, compressed).
    pub(super) fn of(content_type: &[u8], content_encoding: &[u8]) -> Result<Kind, &'static str> {
        let enc = content_encoding.trim_ascii().to_ascii_lowercase();
        if !(enc.is_empty() || enc == b"identity") {
            return Err("content-encoding");
        }
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
}

#[derive(Debug)]
pub(super) struct Body {
    direction: Direction,
    kind: Kind,
    detectors: DetectorSet,
    mode: Mode,
    seen: u64,
}

impl Body {
    pub(super) fn new(
        inspector: &Inspector,
        direction: Direction,
        kind: Result<Kind, &'static str>,
        target: Target,
        outcome: &mut Outcome,
    ) -> Body {
        let engine = &inspector.engine;
        let detectors = DetectorSet::for_target(engine, &target);
        let kind = match kind {
            Ok(k) if !detectors.is_empty() => k,
            Ok(k) => return Body { direction, kind: k, detectors, mode: Mode::Skip, seen: 0 },
            Err(why) => {
                outcome.skipped(direction, why);
                return Body { direction, kind: Kind::Text, detectors, mode: Mode::Skip, seen: 0 };
            }
        };
        let decides = (0..engine.detectors().len())
            .any(|i| detectors.contains(i) && engine.detector(i).action != ActionKind::Monitor);
        let mode = if decides || kind == Kind::Form {
            Mode::Hold(Vec::new())
        } else {
            let options =
                ScanOptions { json: kind == Kind::Json, detectors: detectors.clone(), ..ScanOptions::text(engine) };
            Mode::Stream(Box::new(engine.scanner(options)))
        };
        Body { direction, kind, detectors, mode, seen: 0 }
    }

    /// Whether the body may be rewritten, so `content-length` must go.
    pub(super) fn may_rewrite(&self) -> bool {
        matches!(self.mode, Mode::Hold(_))
    }

    /// The next chunk; `end` when it is the last.
    pub(super) fn chunk(&mut self, inspector: &Inspector, chunk: &[u8], end: bool, outcome: &mut Outcome) -> Step {
        self.seen += chunk.len() as u64;
        let limits = &inspector.http;
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
            Mode::Hold(held) => {
                held.extend_from_slice(chunk);
                let limit = limits.max_buffer_bytes.min(limits.max_scan_bytes);
                if held.len() > limit {
                    // Too large to hold: what arrived is scanned for the record, the rest passes.
                    let held = std::mem::take(held);
                    self.scan_held(inspector, &held[..limit], RedactMode::ByAction, outcome);
                    self.mode = Mode::Skip;
                    return self.over_limit(limits.on_limit, outcome);
                }
                if !end {
                    return Step::Hold;
                }
                let held = std::mem::take(held);
                self.mode = Mode::Skip;
                self.decide(inspector, &held, outcome)
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

    /// Scans a held body whole: block, rewrite or let it through.
    fn decide(&self, inspector: &Inspector, held: &[u8], outcome: &mut Outcome) -> Step {
        let before = outcome.len();
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
