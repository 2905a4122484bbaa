//! sieve's `.wasm` as a network (L4) filter in a real Envoy, in front of a
//! TCP echo server.

mod bed;

use bed::Bed;

const POLICY: &str = "protocol: tcp\ncategories:\n  pci: {action: redact, redact: {method: partial, keep: 4}}\n  credentials: {action: block}\n";

#[test]
fn card_numbers_are_masked_in_place_both_ways() {
    let bed = Bed::start_tcp(POLICY);
    let (got, closed) = bed.tcp_exchange(&[b"SET card 4111 1111 1111 1111\r\n"]);
    assert!(!closed);
    // The upstream got the masked bytes and echoed them; the echo is scanned again on its way back.
    assert_eq!(bed.raw_received(), b"SET card **** **** **** 1111\r\n");
    assert_eq!(got, b"SET card **** **** **** 1111\r\n");
    bed.assert_clean_log();
}

#[test]
fn a_value_split_across_writes_is_masked_from_where_it_is_seen() {
    let bed = Bed::start_tcp(POLICY);
    let (got, _) = bed.tcp_exchange(&[b"card 4111 1111 ", b"1111 1111 end\r\n"]);
    assert_eq!(got.len(), b"card 4111 1111 1111 1111 end\r\n".len(), "L4 data keeps its length");
    assert!(got.ends_with(b"**** 1111 end\r\n"), "{}", String::from_utf8_lossy(&got));
    bed.assert_clean_log();
}

#[test]
fn credentials_close_the_connection_before_they_reach_the_upstream() {
    let bed = Bed::start_tcp(POLICY);
    let (_, closed) = bed.tcp_exchange(&[b"AUTH Basic dXNlcjpwYXNzd29yZA==\r\n"]);
    assert!(closed);
    assert!(!String::from_utf8_lossy(&bed.raw_received()).contains("dXNlcjpw"));
    bed.assert_clean_log();
}

#[test]
fn past_the_scan_limit_bytes_pass_unscanned_and_what_is_within_it_is_still_masked() {
    let bed = Bed::start_tcp(&format!("{POLICY}tcp: {{max_scan_bytes: 64}}\n"));
    let sent = [&b"SET card 4111 1111 1111 1111 "[..], &[b'y'; 60], b" 4111 1111 1111 1111\r\n"].concat();
    let (got, closed) = bed.tcp_exchange(&[&sent]);
    assert!(!closed);
    let expected = [&b"SET card **** **** **** 1111 "[..], &[b'y'; 60], b" 4111 1111 1111 1111\r\n"].concat();
    assert_eq!(String::from_utf8_lossy(&bed.raw_received()), String::from_utf8_lossy(&expected));
    assert_eq!(got.len(), sent.len());
    assert_eq!(bed.counter(r#"sieve_truncated_total{direction="request"}"#, 1), Some(1));
    bed.assert_clean_log();
}
