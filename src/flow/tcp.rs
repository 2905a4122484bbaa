//! A TCP connection, as Envoy's network filter sees it: chunks of bytes in
//! each direction that must pass at once. Envoy cannot hold server-to-client
//! bytes, and holding client bytes would stall request/response protocols,
//! so nothing is delayed:
//!
//! - each chunk is scanned together with the tail of what already passed
//!   (one window), so a value split across chunks is still found;
//! - redaction masks the part of a value that is in the current chunk, with
//!   a same-length method (changing the length of L4 data breaks protocols).
//!   A value split across chunks has its first part already sent;
//! - a blocking finding closes the connection.

use std::sync::Arc;

use super::record::{Outcome, Record};
use super::Inspector;
use crate::engine::{is_same_length, redact_value, DetectorSet, ScanOptions, Target};
use crate::policy::{ActionKind, Direction, Part, RedactSpec};

/// What to do with a chunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TcpAction {
    Continue,
    /// Replace the chunk with these bytes (always the same length).
    Replace(Vec<u8>),
    /// Close the connection.
    Close,
}

#[derive(Debug)]
struct Side {
    direction: Direction,
    options: ScanOptions,
    /// The last bytes that already passed, for matches across chunks.
    tail: Vec<u8>,
    /// Stream offset of `tail[0]`.
    tail_start: u64,
    /// Findings ending at or before this offset are reported already.
    reported_until: u64,
    over_limit: bool,
}

#[derive(Debug)]
pub struct Connection {
    inspector: Arc<Inspector>,
    outcome: Outcome,
    sides: [Side; 2],
}

impl Connection {
    pub fn new(inspector: Arc<Inspector>) -> Connection {
        let side = |direction| {
            let target =
                Target { direction, part: Part::Body, header: None, content_type: None, host: None, path: None };
            let detectors = DetectorSet::for_target(&inspector.engine, &target);
            let options = ScanOptions { detectors, ..ScanOptions::text(&inspector.engine) };
            Side { direction, options, tail: Vec::new(), tail_start: 0, reported_until: 0, over_limit: false }
        };
        let sides = [side(Direction::Request), side(Direction::Response)];
        let outcome = Outcome::new(inspector.routes.default_plan());
        Connection { inspector, outcome, sides }
    }

    pub fn record(&self) -> &Record {
        &self.outcome.record
    }

    /// Client to server bytes.
    pub fn downstream(&mut self, chunk: &[u8]) -> TcpAction {
        self.data(0, chunk)
    }

    /// Server to client bytes.
    pub fn upstream(&mut self, chunk: &[u8]) -> TcpAction {
        self.data(1, chunk)
    }

    fn data(&mut self, side: usize, chunk: &[u8]) -> TcpAction {
        let engine = Arc::clone(&self.inspector.engine);
        let limit = self.inspector.tcp.max_scan_bytes as u64;
        let s = &mut self.sides[side];
        let chunk_start = s.tail_start + s.tail.len() as u64;
        if s.over_limit || chunk.is_empty() {
            return TcpAction::Continue;
        }
        if chunk_start + chunk.len() as u64 > limit {
            s.over_limit = true;
            self.outcome.truncated(s.direction);
            return TcpAction::Continue;
        }
        let mut buf = std::mem::take(&mut s.tail);
        buf.extend_from_slice(chunk);
        let base = s.tail_start;
        let mut out = chunk.to_vec();
        let (mut close, mut masked) = (false, false);
        let (direction, reported_until) = (s.direction, s.reported_until);
        let mut new_until = reported_until;
        let outcome = &mut self.outcome;
        let mut sink = |mut f: crate::engine::Finding, value: &[u8]| {
            (f.start, f.end) = (base + f.start, base + f.end);
            if f.end <= chunk_start || f.start < reported_until {
                return; // Passed whole already, or reported already.
            }
            let (start, detector) = (f.start, f.detector);
            new_until = new_until.max(f.end);
            outcome.found(&engine, direction, Part::Body, None, f, value);
            let d = engine.detector(detector);
            match outcome.plan.actions[detector] {
                ActionKind::Block => close = true,
                ActionKind::Redact => {
                    let spec =
                        if is_same_length(&d.redact) { d.redact.clone() } else { RedactSpec::Mask { char: '*' } };
                    let mut replacement = Vec::with_capacity(value.len());
                    redact_value(&spec, engine.hash_key(), value, &mut replacement);
                    let skip = chunk_start.saturating_sub(start) as usize;
                    let at = (start.max(chunk_start) - chunk_start) as usize;
                    let part = &replacement[skip.min(replacement.len())..];
                    let end = (at + part.len()).min(out.len());
                    out[at..end].copy_from_slice(&part[..end - at]);
                    masked = true;
                }
                ActionKind::Monitor => {}
            }
        };
        engine.scan_into(&buf, &s.options, &mut sink);
        s.reported_until = new_until;
        let keep = engine.window().min(buf.len());
        s.tail = buf.split_off(buf.len() - keep);
        s.tail_start = base + buf.len() as u64;
        if close {
            self.outcome.record.blocked = true;
            TcpAction::Close
        } else if masked {
            TcpAction::Replace(out)
        } else {
            TcpAction::Continue
        }
    }
}
