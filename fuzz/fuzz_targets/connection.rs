//! A TCP connection, both directions interleaved: never a panic, a chunk
//! replaced only by one of its length, nothing after a close, and the same
//! record and the same bytes passed however each direction was cut, but for
//! the first part of a value split across chunks, which went on before the
//! value was found. A value at the end of a chunk is judged on what of it
//! is there, as the bytes cannot wait for the rest: runs with a finding
//! near a chunk's end are not compared.
#![no_main]

use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use sieve::flow::{Connection, Inspector, Record, TcpAction};
use sieve::policy::Direction;
use sieve_fuzz::{chunks, Choices};

const POLICIES: [&str; 3] = [
    "protocol: tcp\n",
    "protocol: tcp\ncategories:\n  pci: {action: redact}\n  credentials: {action: block}\n",
    "protocol: tcp\ndefault_action: redact\ntcp: {max_scan_bytes: 100}\n",
];

fn inspectors() -> &'static [Arc<Inspector>] {
    static ALL: OnceLock<Vec<Arc<Inspector>>> = OnceLock::new();
    ALL.get_or_init(|| POLICIES.iter().map(|p| Inspector::from_policy_text(p).expect("a fuzz policy")).collect())
}

/// What passed each way, whether the connection closed, and the record.
fn run(inspector: &Arc<Inspector>, down: &[&[u8]], up: &[&[u8]]) -> (Vec<u8>, Vec<u8>, bool, Record) {
    let mut c = Connection::new(Arc::clone(inspector));
    let (mut passed_down, mut passed_up) = (Vec::new(), Vec::new());
    // The downstream's bytes first, then the upstream's answer, as a request and its reply.
    let sends = down.iter().map(|d| (true, d)).chain(up.iter().map(|u| (false, u)));
    for (downstream, chunk) in sends {
        let (action, passed) =
            if downstream { (c.downstream(chunk), &mut passed_down) } else { (c.upstream(chunk), &mut passed_up) };
        match action {
            TcpAction::Continue => passed.extend_from_slice(chunk),
            TcpAction::Replace(bytes) => {
                assert_eq!(bytes.len(), chunk.len(), "a replaced chunk changed length");
                passed.extend(bytes);
            }
            TcpAction::Close => return (passed_down, passed_up, true, c.record().clone()),
        }
    }
    (passed_down, passed_up, false, c.record().clone())
}

/// Whether a finding of either record reaches, or stops short of, a chunk's
/// end short of the stream's end by less than the default policy's context
/// window: there its value was judged on what had arrived (a separator may
/// wait for more digits, a context word come after it).
fn near_an_edge(records: [&Record; 2], direction: Direction, pieces: &[&[u8]]) -> bool {
    const SLACK: u64 = 64;
    let edges: Vec<u64> = pieces
        .iter()
        .scan(0, |at, p| {
            *at += p.len() as u64;
            Some(*at)
        })
        .collect();
    let inner = &edges[..edges.len().saturating_sub(1)];
    let findings = records.into_iter().flat_map(|r| &r.findings).filter(|f| f.direction == direction);
    findings.into_iter().any(|f| inner.iter().any(|&edge| f.start < edge && edge <= f.end + SLACK))
}

fuzz_target!(|data: &[u8]| {
    let mut c = Choices::new(data);
    let inspector = &inspectors()[c.below(POLICIES.len())];
    let (down_cuts, up_cuts) = (c.bytes(16), c.bytes(16));
    let split = c.below(256);
    let bytes = c.rest();
    let (down, up) = bytes.split_at((split * bytes.len() / 255).min(bytes.len()));
    let whole = run(inspector, &[down], &[up]);
    let (down_pieces, up_pieces) = (chunks(down, down_cuts), chunks(up, up_cuts));
    let cut = run(inspector, &down_pieces, &up_pieces);
    let records = [&whole.3, &cut.3];
    if near_an_edge(records, Direction::Request, &down_pieces) || near_an_edge(records, Direction::Response, &up_pieces)
    {
        return;
    }
    if whole.2 || cut.2 {
        // A close ends what passes wherever the chunk that completed the value ended.
        assert_eq!((whole.2, cut.2), (true, true), "closed in one run only");
    } else {
        assert_eq!(format!("{:?}", whole.3), format!("{:?}", cut.3), "chunking changed the record");
        for (sent, (whole, cut)) in [(down, (&whole.0, &cut.0)), (up, (&whole.1, &cut.1))] {
            assert_eq!(cut.len(), sent.len());
            let differs = (0..sent.len()).find(|&i| cut[i] != whole[i] && cut[i] != sent[i]);
            assert_eq!(differs, None, "chunking changed what passed: {whole:?} against {cut:?}");
        }
    }
});
