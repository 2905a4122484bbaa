//! A TCP connection, as Envoy's network filter sees it: chunks of bytes in
//! each direction that must pass at once, each direction scanned as it
//! passes (see `passing.rs`); a blocking finding closes the connection.

use std::sync::Arc;

use super::passing::{Passing, TcpAction};
use super::record::{Fingerprints, Outcome, Record};
use super::Inspector;
use crate::engine::{DetectorSet, ScanOptions, Target};
use crate::policy::{Direction, Part};

/// One direction: its bytes, until `tcp.max_scan_bytes` of them went by.
#[derive(Debug)]
struct Side {
    passing: Passing,
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
            Side { passing: Passing::new(direction, options), over_limit: false }
        };
        let sides = [side(Direction::Request), side(Direction::Response)];
        let outcome = Outcome::new(inspector.routes.default_plan());
        Connection { inspector, outcome, sides }
    }

    /// Which findings get keyed fingerprints (by default, all).
    pub fn fingerprints(mut self, fingerprints: Fingerprints) -> Connection {
        self.outcome.fingerprints = fingerprints;
        self
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
        let limit = self.inspector.tcp.max_scan_bytes as u64;
        let s = &mut self.sides[side];
        if s.over_limit {
            return TcpAction::Continue;
        }
        // The part within the limit is scanned; past it, bytes pass unscanned.
        let room = usize::try_from(limit.saturating_sub(s.passing.seen())).unwrap_or(usize::MAX);
        let (action, over) = s.passing.chunk_within(&self.inspector.engine, chunk, room, &mut self.outcome);
        if over {
            s.over_limit = true;
            self.outcome.truncated(s.passing.direction());
        }
        action
    }
}
