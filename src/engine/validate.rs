//! Validators: checks a candidate must pass before it becomes a finding.
//!
//! Each takes the matched bytes and answers yes or no; none allocates on the
//! common path, and none can panic on any input.

use crate::policy::ValidatorKind;

use super::iban;

/// Runs `kind` on a candidate value: the length of the valid value, which
/// some validators (IBAN) find as a prefix of a greedy match.
pub fn validate(kind: ValidatorKind, value: &[u8]) -> Option<usize> {
    let whole = match kind {
        ValidatorKind::Iban => return iban::valid_prefix(value),
        ValidatorKind::Luhn => luhn(value),
        ValidatorKind::PaymentCard => payment_card(value),
        ValidatorKind::UsSsn => us_ssn(value),
        ValidatorKind::AbaRouting => aba_routing(value),
        ValidatorKind::Jwt => jwt(value),
        ValidatorKind::Ipv4 => ipv4(value),
        ValidatorKind::Ipv6 => ipv6(value),
        ValidatorKind::Email => email(value),
        ValidatorKind::Date => date(value),
        ValidatorKind::BasicAuth => basic_auth(value),
        ValidatorKind::Phone => phone(value),
    };
    whole.then_some(value.len())
}

/// The ASCII digits of `value`, in order, or `None` past `N` of them.
fn digits<const N: usize>(value: &[u8]) -> Option<([u8; N], usize)> {
    let mut out = [0u8; N];
    let mut n = 0;
    for &b in value.iter().filter(|b| b.is_ascii_digit()) {
        *out.get_mut(n)? = b - b'0';
        n += 1;
    }
    Some((out, n))
}

/// Payment card: 12–19 digits, Luhn checksum, not all one digit.
pub fn luhn(value: &[u8]) -> bool {
    let Some((d, n)) = digits::<19>(value) else {
        return false;
    };
    if !(12..=19).contains(&n) || d[..n].iter().all(|&x| x == d[0]) {
        return false;
    }
    let sum: u32 = d[..n]
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &x)| {
            let x = u32::from(x);
            if i % 2 == 1 {
                let y = x * 2;
                if y > 9 {
                    y - 9
                } else {
                    y
                }
            } else {
                x
            }
        })
        .sum();
    sum % 10 == 0
}

/// A card number: Luhn, and a length the issuer identified by its prefix
/// (IIN) uses. Rejects e.g. 13-digit millisecond timestamps.
pub fn payment_card(value: &[u8]) -> bool {
    let Some((d, n)) = digits::<19>(value) else {
        return false;
    };
    let prefix = |k: usize| d[..k].iter().fold(0u32, |a, &x| a * 10 + u32::from(x));
    let lengths: &[usize] = match (d[0], prefix(2), prefix(4)) {
        (4, _, _) => &[13, 16, 19],
        (5, _, _) | (6, _, _) => &[12, 13, 14, 15, 16, 17, 18, 19],
        (2, _, 2221..=2720) => &[16],
        (2, _, 2200..=2204) => &[16, 17, 18, 19],
        (3, 34 | 37, _) => &[15],
        (3, 30 | 36 | 38 | 39, _) => &[14, 15, 16, 17, 18, 19],
        (3, _, 3528..=3589) => &[16, 17, 18, 19],
        (1, _, _) => &[15],
        (8, 81 | 82, _) => &[16, 17, 18, 19],
        (9, _, 9792) => &[16],
        _ => &[],
    };
    n >= 12 && lengths.contains(&n) && luhn(value)
}

/// US Social Security number: SSA's structural rules plus numbers known to
/// be invalid (advertising and example numbers).
pub fn us_ssn(value: &[u8]) -> bool {
    let Some((d, 9)) = digits::<9>(value) else {
        return false;
    };
    let num = |r: std::ops::Range<usize>| d[r].iter().fold(0u32, |a, &x| a * 10 + u32::from(x));
    let (area, group, serial) = (num(0..3), num(3..5), num(5..9));
    const KNOWN_INVALID: [u32; 3] = [78_051_120, 219_099_999, 123_456_789];
    area != 0
        && area != 666
        && area < 900
        && group != 0
        && serial != 0
        && !KNOWN_INVALID.contains(&num(0..9))
        && !d.iter().all(|&x| x == d[0])
}

/// ABA routing transit number: a Federal Reserve prefix and the 3-7-1 checksum.
pub fn aba_routing(value: &[u8]) -> bool {
    let Some((d, 9)) = digits::<9>(value) else {
        return false;
    };
    let prefix = d[0] * 10 + d[1];
    let known_prefix = matches!(prefix, 0..=12 | 21..=32 | 61..=72 | 80);
    let w = [3u32, 7, 1];
    let sum: u32 = d.iter().enumerate().map(|(i, &x)| w[i % 3] * u32::from(x)).sum();
    known_prefix && sum % 10 == 0 && !d.iter().all(|&x| x == d[0])
}

/// JSON Web Token: three base64url parts; the header decodes to a JSON
/// object with an `alg` member.
pub fn jwt(value: &[u8]) -> bool {
    let mut parts = value.split(|&b| b == b'.');
    let (Some(header), Some(payload), Some(_sig), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let Some(header) = base64_decode(header) else {
        return false;
    };
    if payload.is_empty() {
        return false;
    }
    match serde_json::from_slice::<serde_json::Value>(&header) {
        Ok(serde_json::Value::Object(map)) => map.get("alg").is_some_and(|a| a.is_string()),
        _ => false,
    }
}

/// Dotted quad with every octet 0–255, no leading zeros, and a host: not
/// 0.0.0.0, and not a network like 120.0.0.0, which is also how browsers
/// now write their versions (`Chrome/120.0.0.0` in every user agent).
pub fn ipv4(value: &[u8]) -> bool {
    let Ok(s) = std::str::from_utf8(value) else {
        return false;
    };
    s.parse::<std::net::Ipv4Addr>().is_ok_and(|ip| ip.octets()[1..] != [0, 0, 0])
}

/// Length of a UUID (`8-4-4-4-12` hex digits).
pub const UUID_LEN: usize = 36;

/// Whether `text[start..end]` lies inside a UUID: its digits are the id's,
/// not a card or a phone number (about 1 random UUID in 4,000 holds a
/// 12-digit run that passes a card's checks). Looks at most [`UUID_LEN`]
/// bytes on either side, and one more to see where the id ends.
pub fn inside_uuid(text: &[u8], start: usize, end: usize) -> bool {
    let part = |b: &u8| b.is_ascii_hexdigit() || *b == b'-';
    let reach = UUID_LEN + 1;
    if end - start > UUID_LEN || !text[start..end].iter().all(part) {
        return false;
    }
    let from = start - text[start.saturating_sub(reach)..start].iter().rev().take_while(|b| part(b)).count();
    let to = end + text[end..(end + reach).min(text.len())].iter().take_while(|b| part(b)).count();
    let token = &text[from..to];
    token.len() == UUID_LEN
        && token
            .iter()
            .enumerate()
            .all(|(i, b)| if [8, 13, 18, 23].contains(&i) { *b == b'-' } else { b.is_ascii_hexdigit() })
}

/// An address the standard library accepts, with at least two groups of hex
/// digits (so `::`, clock times and `a::b` labels are not addresses).
pub fn ipv6(value: &[u8]) -> bool {
    let Ok(s) = std::str::from_utf8(value) else {
        return false;
    };
    let groups = s.split(':').filter(|g| !g.is_empty()).count();
    groups >= 3 && s.parse::<std::net::Ipv6Addr>().is_ok()
}

/// An address whose domain has a dot, an alphabetic top-level label, and no
/// empty or hyphen-edged labels; the local part has no edge or double dots.
pub fn email(value: &[u8]) -> bool {
    let Some(at) = value.iter().rposition(|&b| b == b'@') else {
        return false;
    };
    let (local, domain) = (&value[..at], &value[at + 1..]);
    let dots_ok =
        |s: &[u8]| !s.is_empty() && s[0] != b'.' && s[s.len() - 1] != b'.' && !s.windows(2).any(|w| w == b"..");
    if !dots_ok(local) || !dots_ok(domain) || local.len() > 64 {
        return false;
    }
    let labels_ok =
        domain.split(|&b| b == b'.').all(|l| !l.is_empty() && l.len() <= 63 && l[0] != b'-' && l[l.len() - 1] != b'-');
    let tld = domain.rsplit(|&b| b == b'.').next().unwrap_or_default();
    labels_ok && domain.contains(&b'.') && tld.len() >= 2 && tld.iter().all(u8::is_ascii_alphabetic)
}

/// A calendar date in one of the common numeric or month-name layouts,
/// with a year from 1900 to 2100.
pub fn date(value: &[u8]) -> bool {
    let Ok(s) = std::str::from_utf8(value) else {
        return false;
    };
    let fields: Vec<&str> = s.split(['-', '/', '.', ' ', ',']).filter(|f| !f.is_empty()).collect();
    let [a, b, c] = fields[..] else { return false };
    let num = |f: &str| f.parse::<u32>().ok();
    let (y, m, d) = if a.len() == 4 {
        (num(a), month(b).or(num(b)), num(c))
    } else if let Some(m) = month(b) {
        (num(c), Some(m), num(a))
    } else if let Some(m) = month(a) {
        (num(c), Some(m), num(b))
    } else {
        // Numeric day-first or month-first: accept if either reading is a date.
        let (a, b, y) = (num(a), num(b), num(c));
        return match (a, b, y) {
            (Some(a), Some(b), Some(y)) => valid_ymd(y, a, b) || valid_ymd(y, b, a),
            _ => false,
        };
    };
    matches!((y, m, d), (Some(y), Some(m), Some(d)) if valid_ymd(y, m, d))
}

fn month(f: &str) -> Option<u32> {
    const NAMES: [&str; 12] = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
    let f = f.get(..3)?.to_ascii_lowercase();
    NAMES.iter().position(|n| *n == f).map(|i| i as u32 + 1)
}

fn valid_ymd(y: u32, m: u32, d: u32) -> bool {
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1900..=2100).contains(&y) && (1..=days).contains(&d)
}

/// `Basic <base64>` whose payload decodes to printable `user:password`.
pub fn basic_auth(value: &[u8]) -> bool {
    let token = value.rsplit(|b| b.is_ascii_whitespace()).next().unwrap_or_default();
    match base64_decode(token) {
        Some(raw) => {
            raw.len() >= 3 && raw[1..raw.len() - 1].contains(&b':') && raw.iter().all(|&b| (0x20..0x7f).contains(&b))
        }
        None => false,
    }
}

/// A phone number has 7 to 15 digits (E.164) before any extension, and is
/// not one repeated digit.
pub fn phone(value: &[u8]) -> bool {
    let number = value.split(|&b| b == b'x' || b == b'X' || b == b'e').next().unwrap_or_default();
    let Some((d, n)) = digits::<15>(number) else {
        return false;
    };
    (7..=15).contains(&n) && !d[..n].iter().all(|&x| x == d[0])
}

/// Shannon entropy of `value` in bits per byte.
pub fn entropy(value: &[u8]) -> f32 {
    if value.is_empty() {
        return 0.0;
    }
    let mut counts = [0u32; 256];
    for &b in value {
        counts[usize::from(b)] += 1;
    }
    let n = value.len() as f32;
    counts.iter().filter(|&&c| c > 0).map(|&c| c as f32 / n).map(|p| -p * p.log2()).sum()
}

/// Decodes base64 or base64url, padded or not. `None` on any other byte.
pub fn base64_decode(text: &[u8]) -> Option<Vec<u8>> {
    let text = text.strip_suffix(b"==").or_else(|| text.strip_suffix(b"=")).unwrap_or(text);
    let sextet = |b: u8| -> Option<u32> {
        Some(match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        } as u32)
    };
    if text.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    for chunk in text.chunks(4) {
        let mut acc = 0u32;
        for (i, &b) in chunk.iter().enumerate() {
            acc |= sextet(b)? << (18 - 6 * i);
        }
        let bytes = acc.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn luhn_accepts_valid_cards_in_any_layout() {
        for card in
            ["4111111111111111", "4111 1111 1111 1111", "4111-1111-1111-1111", "378282246310005", "6011111111111117"]
        {
            assert!(luhn(card.as_bytes()), "{card}");
        }
    }

    #[test]
    fn luhn_rejects_bad_checksums_lengths_and_repeats() {
        for bad in
            ["4111111111111112", "41111111111", "00000000000000000", "4111111111111111111111", "1234567812345678"]
        {
            assert!(!luhn(bad.as_bytes()), "{bad}");
        }
    }

    #[test]
    fn payment_card_checks_issuer_length() {
        for card in [
            "4111111111111111",
            "3714 4963 5398 431",
            "3600 6666 3333 44",
            "6771 7980 2100 0008",
            "8171 9999 2766 0000",
        ] {
            assert!(payment_card(card.as_bytes()), "{card}");
        }
        // Luhn-valid, but no issuer uses these prefix/length pairs.
        for bad in ["1700000000004", "3411111111111110", "7111111111111114", "411111111117"] {
            assert!(luhn(bad.as_bytes()), "{bad} must pass Luhn for this test to mean anything");
            assert!(!payment_card(bad.as_bytes()), "{bad}");
        }
    }

    #[test]
    fn phone_ignores_extensions() {
        assert!(phone(b"001-420-335-7509x38548"));
        assert!(phone(b"+1-944-435-4352x04732"));
        assert!(!phone(b"123-45"));
        assert!(!phone(b"555-555-5555"));
    }

    #[test]
    fn ssn_follows_ssa_rules() {
        assert!(us_ssn(b"531-21-7351"));
        assert!(us_ssn(b"403579558"));
        for bad in [
            "000-12-3456",
            "666-12-3456",
            "912-12-3456",
            "123-00-4567",
            "123-45-0000",
            "078-05-1120",
            "123-45-6789",
            "111-11-1111",
            "12-345-678",
        ] {
            assert!(!us_ssn(bad.as_bytes()), "{bad}");
        }
    }

    #[test]
    fn aba_checks_prefix_and_checksum() {
        assert!(aba_routing(b"021000021")); // JPMorgan Chase
        assert!(aba_routing(b"011401533"));
        assert!(!aba_routing(b"021000022"));
        assert!(!aba_routing(b"501000029")); // unknown prefix 50
        assert!(!aba_routing(b"000000000"));
    }

    #[test]
    fn jwt_needs_a_json_header_with_alg() {
        let good = b"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U";
        assert!(jwt(good));
        assert!(!jwt(b"eyJmb28iOiJiYXIifQ.eyJzdWIiOiIxIn0.sig")); // {"foo":"bar"}: no alg
        assert!(!jwt(b"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0")); // two parts
        assert!(!jwt(b"not.a.jwt"));
    }

    #[test]
    fn ip_addresses() {
        assert!(ipv4(b"58.74.121.78"));
        assert!(!ipv4(b"256.1.1.1"));
        assert!(!ipv4(b"0.0.0.0"));
        assert!(!ipv4(b"120.0.0.0"), "a network, and Chrome's version");
        assert!(ipv4(b"10.0.0.1"));
        assert!(!ipv4(b"01.2.3.4"));
        assert!(ipv6(b"2001:db8::8a2e:370:7334"));
        assert!(ipv6(b"fe80:0:0:0:200:f8ff:fe21:67cf"));
        assert!(!ipv6(b"12:30:45"));
        assert!(!ipv6(b"::"));
        assert!(!ipv6(b"dead::beef:g"));
    }

    #[test]
    fn digits_inside_a_uuid_belong_to_it() {
        let text = b"id=28906165-6998-7546-8976-afac7352c12a;";
        assert!(inside_uuid(text, 12, 26), "6998-7546-8976 passes as a card");
        assert!(!inside_uuid(b"card 6998-7546-8976 ok", 5, 19));
        let longer = b"028906165-6998-7546-8976-afac7352c12a";
        assert!(!inside_uuid(longer, 10, 24), "a longer hex run is not a UUID");
        assert!(!inside_uuid(b"28906165-6998-7546-8976-afac7352c12", 9, 23), "one digit short");
    }

    #[test]
    fn email_shapes() {
        assert!(email(b"jane.doe+tag@example.co.uk"));
        for bad in [".a@example.com", "a..b@example.com", "a@example", "a@-x.com", "a@example.c0m", "a@example.c"] {
            assert!(!email(bad.as_bytes()), "{bad}");
        }
    }

    #[test]
    fn dates_in_several_layouts() {
        for good in
            ["1985-03-12", "12/03/1985", "03/31/1985", "12.03.1985", "12 March 1985", "March 12, 1985", "2000-02-29"]
        {
            assert!(date(good.as_bytes()), "{good}");
        }
        for bad in ["1985-13-12", "31/31/1985", "1899-01-01", "2001-02-29", "12/03"] {
            assert!(!date(bad.as_bytes()), "{bad}");
        }
    }

    #[test]
    fn basic_auth_decodes_user_and_password() {
        assert!(basic_auth(b"Basic dXNlcjpwYXNzd29yZA==")); // user:password
        assert!(!basic_auth(b"Basic aGVsbG8gd29ybGQ=")); // "hello world": no colon
        assert!(!basic_auth(b"Basic !!!!"));
    }

    #[test]
    fn entropy_separates_secrets_from_words() {
        assert!(entropy(b"aaaaaaaaaaaaaaaa") < 0.1);
        assert!(entropy(b"password") < 3.0);
        assert!(entropy(b"8f3Kq9Zt2Lm7Xw4Rv1Bn6Hc0") > 4.0);
    }

    #[test]
    fn base64_round_trips_known_values() {
        assert_eq!(base64_decode(b"aGVsbG8=").unwrap(), b"hello");
        assert_eq!(base64_decode(b"aGVsbG8").unwrap(), b"hello");
        assert_eq!(base64_decode(b"-_-_").unwrap(), vec![0xfb, 0xff, 0xbf]);
        assert!(base64_decode(b"a").is_none());
        assert!(base64_decode(b"a$cd").is_none());
    }
}
