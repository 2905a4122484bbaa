//! One direction of bytes that must pass at once: a TCP connection's, and
//! an HTTP tunnel's (an upgraded connection, such as a WebSocket, or a
//! CONNECT). Envoy cannot hold server-to-client L4 bytes, and holding either
//! side would stall request/response protocols, so nothing is delayed:
//!
//! - each chunk is scanned together with the tail of what already passed
//!   (one window), so a value split across chunks is still found;
//! - redaction masks the part of a value that is in the current chunk, with
//!   a same-length method (changing the length of L4 data breaks protocols).
//!   A value split across chunks has its first part already sent;
//! - a blocking finding ends the stream.

use crate::engine::{is_same_length, redact_value, Engine, Finding, ScanOptions};
use crate::policy::{ActionKind, Direction, Part, RedactSpec};

use super::record::Outcome;

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
pub(super) struct Passing {
    direction: Direction,
    options: ScanOptions,
    /// The last bytes that already passed, for matches across chunks.
    tail: Vec<u8>,
    /// Stream offset of `tail[0]`.
    tail_start: u64,
    /// Findings ending at or before this offset are reported already.
    reported_until: u64,
}

impl Passing {
    /// Scans with `options` (the detectors in scope, as plain text).
    pub(super) fn new(direction: Direction, options: ScanOptions) -> Passing {
        Passing { direction, options, tail: Vec::new(), tail_start: 0, reported_until: 0 }
    }

    pub(super) fn direction(&self) -> Direction {
        self.direction
    }

    /// Bytes that went by so far.
    pub(super) fn seen(&self) -> u64 {
        self.tail_start + self.tail.len() as u64
    }

    /// Scans the part of the next chunk within `room` bytes, and says what
    /// goes on in place of the chunk (the rest goes on unscanned), and
    /// whether some of it was past `room`.
    pub(super) fn chunk_within(
        &mut self,
        engine: &Engine,
        chunk: &[u8],
        room: usize,
        outcome: &mut Outcome,
    ) -> (TcpAction, bool) {
        let (scanned, rest) = chunk.split_at(chunk.len().min(room));
        let action = match self.chunk(engine, scanned, outcome) {
            TcpAction::Replace(mut out) => {
                out.extend_from_slice(rest);
                TcpAction::Replace(out)
            }
            action => action,
        };
        (action, !rest.is_empty())
    }

    /// Scans the next chunk and says what goes on in its place.
    fn chunk(&mut self, engine: &Engine, chunk: &[u8], outcome: &mut Outcome) -> TcpAction {
        if chunk.is_empty() {
            return TcpAction::Continue;
        }
        let chunk_start = self.seen();
        let mut buf = std::mem::take(&mut self.tail);
        buf.extend_from_slice(chunk);
        let base = self.tail_start;
        let mut out = chunk.to_vec();
        let (mut close, mut masked) = (false, false);
        let (direction, reported_until) = (self.direction, self.reported_until);
        let mut new_until = reported_until;
        let mut sink = |mut f: Finding, value: &[u8]| {
            (f.start, f.end) = (base + f.start, base + f.end);
            if f.end <= chunk_start || f.start < reported_until {
                return; // Passed whole already, or reported already.
            }
            let (start, detector) = (f.start, f.detector);
            new_until = new_until.max(f.end);
            outcome.found(engine, direction, Part::Body, None, f, value);
            let d = engine.detector(detector);
            match outcome.plan.actions[detector] {
                ActionKind::Block => close = true,
                ActionKind::Redact => {
                    let spec =
                        if is_same_length(&d.redact) { d.redact.clone() } else { RedactSpec::Mask { char: '*' } };
                    let mut replacement = Vec::with_capacity(value.len());
                    redact_value(&spec, engine.hash_key(), value, &mut replacement);
                    overwrite(&mut out, chunk_start, &replacement, start);
                    masked = true;
                }
                ActionKind::Monitor => {}
            }
        };
        engine.scan_into(&buf, &self.options, &mut sink);
        self.reported_until = new_until;
        let keep = engine.window().min(buf.len());
        self.tail = buf.split_off(buf.len() - keep);
        self.tail_start = base + buf.len() as u64;
        if close {
            outcome.record.blocked = true;
            TcpAction::Close
        } else if masked {
            TcpAction::Replace(out)
        } else {
            TcpAction::Continue
        }
    }
}

/// Writes over `chunk` (at stream offset `chunk_start`) the part that falls
/// in it of `replacement`, which stands at stream offset `start` (the same
/// length as what it replaces, so a part before the chunk went out as it was).
fn overwrite(chunk: &mut [u8], chunk_start: u64, replacement: &[u8], start: u64) {
    let skip = chunk_start.saturating_sub(start) as usize;
    let at = (start.max(chunk_start) - chunk_start) as usize;
    let part = replacement.get(skip..).unwrap_or_default();
    let Some(room) = chunk.get_mut(at..) else { return };
    let n = part.len().min(room.len());
    room[..n].copy_from_slice(&part[..n]);
}
