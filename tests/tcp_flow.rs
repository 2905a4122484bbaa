//! The TCP inspection logic natively: nothing delayed, same-length masks,
//! values split across chunks found once, blocks close the connection.

#[allow(dead_code)]
#[path = "../benches/traffic.rs"]
mod traffic;

use std::sync::Arc;

use sieve::flow::{Connection, Inspector, TcpAction};
use sieve::policy::Direction;

fn connection(policy: &str) -> Connection {
    Connection::new(Inspector::from_policy_text(&format!("protocol: tcp\n{policy}")).unwrap())
}

/// What the peer receives for each chunk.
fn passed(chunk: &[u8], action: TcpAction) -> Vec<u8> {
    match action {
        TcpAction::Continue => chunk.to_vec(),
        TcpAction::Replace(bytes) => {
            assert_eq!(bytes.len(), chunk.len(), "L4 data never changes length");
            bytes
        }
        TcpAction::Close => panic!("closed"),
    }
}

const REDACT: &str = "categories:\n  pci: {action: redact}\n  credentials: {action: block}\n";

#[test]
fn values_in_one_chunk_are_masked_in_place() {
    let mut c = connection(REDACT);
    let chunk = b"SET card 4111 1111 1111 1111\r\n";
    assert_eq!(passed(chunk, c.downstream(chunk)), b"SET card **** **** **** 1111\r\n");
    let reply = b"+OK 4111111111111111\r\n";
    assert_eq!(passed(reply, c.upstream(reply)), b"+OK ************1111\r\n");
    assert_eq!(c.record().findings.len(), 2);
    assert_eq!(c.record().findings[1].direction, Direction::Response);
}

#[test]
fn a_value_split_across_chunks_is_found_once_and_its_second_part_masked() {
    let mut c = connection(REDACT);
    let (a, b) = (&b"card 4111 1111 "[..], &b"1111 1111 end"[..]);
    assert_eq!(passed(a, c.downstream(a)), a, "the first part cannot be taken back");
    assert_eq!(passed(b, c.downstream(b)), b"**** 1111 end");
    assert_eq!(c.record().findings.len(), 1);
    assert_eq!((c.record().findings[0].start, c.record().findings[0].end), (5, 24));
}

#[test]
fn byte_by_byte_reports_each_value_once() {
    let mut c = connection("");
    let stream = b"a 4111 1111 1111 1111 b a@b.io c 4111111111111111 d".repeat(3);
    for byte in stream.chunks(1) {
        assert_eq!(c.downstream(byte), TcpAction::Continue, "monitor mode changes nothing");
    }
    assert_eq!(c.record().detectors(), ["credit-card", "email"]);
    assert_eq!(c.record().findings.len(), 9);
}

#[test]
fn blocking_findings_close_the_connection() {
    let mut c = connection(REDACT);
    assert_eq!(c.downstream(b"AUTH Basic dXNlcjpwYXNzd29yZA==\r\n"), TcpAction::Close);
    assert!(c.record().blocked);
}

#[test]
fn past_the_scan_limit_bytes_pass_and_the_connection_is_tagged() {
    let mut c = connection("tcp: {max_scan_bytes: 64}\ncategories:\n  pci: {action: redact}\n");
    assert_eq!(c.downstream(&[b'x'; 60]), TcpAction::Continue);
    assert_eq!(c.downstream(b"4111 1111 1111 1111"), TcpAction::Continue);
    assert_eq!(c.record().truncated, vec![Direction::Request]);

    // A chunk that crosses the limit: its part within it is scanned, the rest passes.
    let mut c = connection("tcp: {max_scan_bytes: 64}\ncategories:\n  pci: {action: redact}\n");
    let chunk = [&b"card 4111 1111 1111 1111 "[..], &[b'y'; 60]].concat();
    let masked = [&b"card **** **** **** 1111 "[..], &[b'y'; 60]].concat();
    assert_eq!(c.downstream(&chunk), TcpAction::Replace(masked));
    assert_eq!(c.record().truncated, vec![Direction::Request]);
}

#[test]
fn random_chunks_never_panic_and_never_change_length() {
    let insp = Inspector::from_policy_text(&format!("protocol: tcp\n{REDACT}")).unwrap();
    let mut rng = traffic::Rng::new(0x9e3779b97f4a7c15);
    let mut next = move || rng.step();
    for _ in 0..200 {
        let mut c = Connection::new(Arc::clone(&insp));
        for _ in 0..next() % 20 {
            let chunk: Vec<u8> = (0..next() % 64)
                .map(|_| if next() % 3 == 0 { b"4111 1111 1111 1111"[(next() % 19) as usize] } else { next() as u8 })
                .collect();
            let action = if next() % 2 == 0 { c.downstream(&chunk) } else { c.upstream(&chunk) };
            if let TcpAction::Replace(b) = action {
                assert_eq!(b.len(), chunk.len());
            }
        }
    }
}
