//! IBAN validation: the country's length and BBAN layout from the SWIFT IBAN
//! registry, then the ISO 7064 mod-97 check.

/// (country, IBAN length, BBAN layout in SWIFT notation without `!`:
/// `n` digits, `a` upper-case letters, `c` letters or digits, `e` space).
const COUNTRIES: &[(&str, usize, &str)] = &[
    ("AA", 16, "12a"),
    ("AD", 24, "4n4n12c"),
    ("AE", 23, "3n16n"),
    ("AL", 28, "8n16c"),
    ("AO", 25, "21n"),
    ("AT", 20, "5n11n"),
    ("AX", 18, "6n7n1n"),
    ("AZ", 28, "4a20c"),
    ("BA", 20, "3n3n8n2n"),
    ("BE", 16, "3n7n2n"),
    ("BF", 27, "23n"),
    ("BG", 22, "4a4n2n8c"),
    ("BH", 22, "4a14c"),
    ("BI", 16, "12n"),
    ("BJ", 28, "1a23n"),
    ("BL", 27, "5n5n11c2n"),
    ("BR", 29, "8n5n10n1a1c"),
    ("BY", 28, "4c4n16c"),
    ("CF", 27, "5n5n11n2n"),
    ("CG", 27, "5n5n11n2n"),
    ("CH", 21, "5n12c"),
    ("CI", 28, "1a23n"),
    ("CM", 27, "23n"),
    ("CR", 22, "4n14n"),
    ("CV", 25, "21n"),
    ("CY", 28, "3n5n16c"),
    ("CZ", 24, "4n6n10n"),
    ("DE", 22, "8n10n"),
    ("DJ", 27, "5n5n13n2n"),
    ("DK", 18, "4n9n1n"),
    ("DO", 28, "4c20n"),
    ("DZ", 24, "20n"),
    ("EE", 20, "2n2n11n1n"),
    ("EG", 29, "4n4n17n"),
    ("ES", 24, "4n4n1n1n10n"),
    ("FI", 18, "6n7n1n"),
    ("FO", 18, "4n9n1n"),
    ("FR", 27, "5n5n11c2n"),
    ("GA", 27, "5n5n11n2n"),
    ("GB", 22, "4a6n8n"),
    ("GE", 22, "2a16n"),
    ("GF", 27, "5n5n11c2n"),
    ("GI", 23, "4a15c"),
    ("GL", 18, "4n9n1n"),
    ("GP", 27, "5n5n11c2n"),
    ("GQ", 27, "5n5n11n2n"),
    ("GR", 27, "3n4n16c"),
    ("GT", 28, "4c20c"),
    ("GW", 25, "2c2n4n11n2n"),
    ("HN", 28, "4a20n"),
    ("HR", 21, "7n10n"),
    ("HU", 28, "3n4n1n15n1n"),
    ("IE", 22, "4a6n8n"),
    ("IL", 23, "3n3n13n"),
    ("IQ", 23, "4a3n12n"),
    ("IR", 26, "22n"),
    ("IS", 26, "4n2n6n10n"),
    ("IT", 27, "1a5n5n12c"),
    ("JO", 30, "4a4n18c"),
    ("KM", 27, "5n5n13n2n"),
    ("KW", 30, "4a22c"),
    ("KZ", 20, "3n13c"),
    ("LB", 28, "4n20c"),
    ("LC", 32, "4a24c"),
    ("LI", 21, "5n12c"),
    ("LT", 20, "5n11n"),
    ("LU", 20, "3n13c"),
    ("LV", 21, "4a13c"),
    ("MA", 28, "3n5n14n2n"),
    ("MC", 27, "5n5n11c2n"),
    ("MD", 24, "2c18c"),
    ("ME", 22, "3n13n2n"),
    ("MF", 27, "5n5n11c2n"),
    ("MG", 27, "23n"),
    ("MK", 19, "3n10c2n"),
    ("ML", 28, "1a23n"),
    ("MQ", 27, "5n5n11c2n"),
    ("MR", 27, "5n5n11n2n"),
    ("MT", 31, "4a5n18c"),
    ("MU", 30, "4a2n2n12n3n3a"),
    ("MZ", 25, "21n"),
    ("NC", 27, "5n5n11c2n"),
    ("NE", 28, "2a3n5n12n2n"),
    ("NI", 32, "28n"),
    ("NL", 18, "4a10n"),
    ("NO", 15, "4n6n1n"),
    ("PF", 27, "5n5n11c2n"),
    ("PK", 24, "4a16c"),
    ("PL", 28, "8n16n"),
    ("PM", 27, "5n5n11c2n"),
    ("PS", 29, "4a21c"),
    ("PT", 25, "4n4n11n2n"),
    ("QA", 29, "4a4n17c"),
    ("RE", 27, "5n5n11c2n"),
    ("RO", 24, "4a16c"),
    ("RS", 22, "3n13n2n"),
    ("SA", 24, "2n18c"),
    ("SC", 31, "4a2n2n16n3a"),
    ("SE", 24, "3n16n1n"),
    ("SI", 19, "5n8n2n"),
    ("SK", 24, "4n6n10n"),
    ("SM", 27, "1a5n5n12c"),
    ("SN", 28, "1a23n"),
    ("ST", 25, "8n11n2n"),
    ("SV", 28, "4a20n"),
    ("TD", 27, "5n5n11n2n"),
    ("TF", 27, "5n5n11c2n"),
    ("TG", 28, "2a3n5n12n2n"),
    ("TL", 23, "3n14n2n"),
    ("TN", 24, "2n3n13n2n"),
    ("TR", 26, "5n1n16c"),
    ("UA", 29, "6n19c"),
    ("VG", 24, "4a16n"),
    ("WF", 27, "5n5n11c2n"),
    ("XK", 20, "4n10n2n"),
    ("YT", 27, "5n5n11c2n"),
];

/// The length of the IBAN at the start of `value`: the country's number of
/// characters, read past single spaces, dots or dashes, not followed by
/// another letter or digit, with a correct layout and check.
pub fn valid_prefix(value: &[u8]) -> Option<usize> {
    let cc = value.get(..2)?.to_ascii_uppercase();
    let &(_, len, _) = COUNTRIES.iter().find(|(c, _, _)| c.as_bytes() == cc)?;
    let mut iban = [0u8; 34];
    let (mut n, mut end) = (0, 0);
    for (i, &b) in value.iter().enumerate() {
        if n == len {
            break;
        }
        if b.is_ascii_alphanumeric() {
            iban[n] = b.to_ascii_uppercase();
            n += 1;
            end = i + 1;
        } else if !matches!(b, b' ' | b'.' | b'-') {
            return None;
        }
    }
    let iban = &iban[..n];
    let runs_on = value.get(end).is_some_and(u8::is_ascii_alphanumeric);
    (n == len && !runs_on && layout_ok(iban) && mod97(iban) == 1).then_some(end)
}

fn layout_ok(iban: &[u8]) -> bool {
    let Some(&(_, len, bban)) = COUNTRIES.iter().find(|(cc, _, _)| cc.as_bytes() == &iban[..2]) else {
        return false;
    };
    iban.len() == len && iban[2..4].iter().all(u8::is_ascii_digit) && bban_ok(&iban[4..], bban)
}

/// Checks `bban` against a layout such as `4n4n12c`.
fn bban_ok(mut bban: &[u8], layout: &str) -> bool {
    let mut count = 0usize;
    for c in layout.bytes() {
        if c.is_ascii_digit() {
            count = count * 10 + usize::from(c - b'0');
            continue;
        }
        let Some((field, rest)) = bban.split_at_checked(count) else {
            return false;
        };
        let ok = match c {
            b'n' => field.iter().all(u8::is_ascii_digit),
            b'a' => field.iter().all(u8::is_ascii_uppercase),
            _ => field.iter().all(u8::is_ascii_alphanumeric),
        };
        if !ok {
            return false;
        }
        bban = rest;
        count = 0;
    }
    bban.is_empty()
}

/// ISO 7064 mod 97-10 over the rearranged IBAN (letters as 10..35).
fn mod97(iban: &[u8]) -> u32 {
    let (head, tail) = iban.split_at(4);
    tail.iter().chain(head).fold(0u32, |acc, &b| {
        if b.is_ascii_digit() {
            (acc * 10 + u32::from(b - b'0')) % 97
        } else {
            (acc * 100 + u32::from(b - b'A') + 10) % 97
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_valid(value: &[u8]) -> bool {
        valid_prefix(value) == Some(value.len())
    }

    #[test]
    fn accepts_valid_ibans_with_and_without_spaces() {
        assert!(is_valid(b"DE89370400440532013000"));
        assert!(is_valid(b"GB82 WEST 1234 5698 7654 32"));
        assert!(is_valid(b"gb82west12345698765432"));
    }

    #[test]
    fn rejects_checksum_length_and_layout_errors() {
        assert!(!is_valid(b"DE89370400440532013001")); // check digits
        assert!(!is_valid(b"DE8937040044053201300")); // length
        assert!(!is_valid(b"GB82WEST1234569876543X")); // digits field has a letter
        assert!(!is_valid(b"XX89370400440532013000")); // no such country
        assert!(!is_valid(b"DE89"));
    }

    #[test]
    fn the_valid_prefix_of_a_greedy_match() {
        assert_eq!(valid_prefix(b"DE89370400440532013000 AND MORE"), Some(22));
        assert_eq!(valid_prefix(b"FR 76 3000 6000 0112 3456 7890 189"), Some(34));
        assert_eq!(valid_prefix(b"DE893704004405320130001"), None, "runs on into more digits");
    }
}
