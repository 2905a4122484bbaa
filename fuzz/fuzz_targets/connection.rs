//! A TCP connection, both directions interleaved: never a panic, a chunk
//! replaced only by one of its length, nothing after a close, and the same
//! bytes passed and the same record however each direction was cut.
#![no_main]

use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use sieve::flow::{Connection, Inspector, TcpAction};
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
fn run(inspector: &Arc<Inspector>, down: &[&[u8]], up: &[&[u8]]) -> (Vec<u8>, Vec<u8>, bool, String) {
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
            TcpAction::Close => return (passed_down, passed_up, true, format!("{:?}", c.record().findings)),
        }
    }
    (passed_down, passed_up, false, format!("{:?}", c.record()))
}

fuzz_target!(|data: &[u8]| {
    let mut c = Choices::new(data);
    let inspector = &inspectors()[c.below(POLICIES.len())];
    let (down_cuts, up_cuts) = (c.bytes(16), c.bytes(16));
    let split = c.below(256);
    let bytes = c.rest();
    let (down, up) = bytes.split_at((split * bytes.len() / 255).min(bytes.len()));
    let whole = run(inspector, &[down], &[up]);
    let cut = run(inspector, &chunks(down, down_cuts), &chunks(up, up_cuts));
    if whole.2 || cut.2 {
        // A close ends what passes wherever the chunk that completed the value ended.
        assert_eq!((whole.2, cut.2), (true, true), "closed in one run only");
    } else {
        assert_eq!(whole, cut, "chunking changed the connection");
    }
});
