//! Detection quality on the labeled public corpus in `../shared/corpus/`.
//!
//! Prints precision and recall per entity (`cargo test --test corpus -- --nocapture`)
//! and asserts floors set from measurement, so a regression fails the build.

use std::collections::BTreeMap;
use std::path::PathBuf;

use sieve::engine::{Engine, ScanOptions};

fn corpus(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus").join(rel)
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(corpus(rel)).unwrap_or_else(|e| panic!("{rel}: {e} (the corpus lives in ../shared/corpus)"))
}

fn engine() -> Engine {
    Engine::from_policy_text("").unwrap()
}

/// (detector id, byte span) of every finding.
fn spans(e: &Engine, text: &str, options: &ScanOptions) -> Vec<(String, usize, usize)> {
    e.scan(text.as_bytes(), options)
        .into_iter()
        .map(|f| (e.detector(f.detector).id.clone(), f.start as usize, f.end as usize))
        .collect()
}

#[derive(Default, Debug)]
struct Score {
    tp: usize,
    fp: usize,
    fn_: usize,
}

impl Score {
    /// 1.0 when nothing was reported (nothing was wrong).
    fn precision(&self) -> f64 {
        if self.tp + self.fp == 0 {
            1.0
        } else {
            self.tp as f64 / (self.tp + self.fp) as f64
        }
    }
    /// 1.0 when nothing was labeled.
    fn recall(&self) -> f64 {
        if self.tp + self.fn_ == 0 {
            1.0
        } else {
            self.tp as f64 / (self.tp + self.fn_) as f64
        }
    }
}

/// Presidio's entity names to sieve's detectors.
fn entity_detectors(entity: &str) -> &'static [&'static str] {
    match entity {
        "CREDIT_CARD" => &["credit-card"],
        "US_SSN" => &["us-ssn"],
        "PHONE_NUMBER" => &["phone"],
        "EMAIL_ADDRESS" => &["email"],
        "IP_ADDRESS" => &["ipv4", "ipv6"],
        "IBAN_CODE" => &["iban"],
        _ => &[],
    }
}

const ENTITIES: [&str; 6] = ["CREDIT_CARD", "US_SSN", "PHONE_NUMBER", "EMAIL_ADDRESS", "IP_ADDRESS", "IBAN_CODE"];

/// Span-level scores on Presidio's generated sentences: a finding is a true
/// positive when it overlaps a labeled span of its entity.
fn presidio_scores(wrap_in_json: bool) -> BTreeMap<&'static str, Score> {
    let e = engine();
    let data: Vec<serde_json::Value> = serde_json::from_str(&read("presidio/generated_small.json")).unwrap();
    let mut scores: BTreeMap<&str, Score> = ENTITIES.iter().map(|&n| (n, Score::default())).collect();
    for item in &data {
        let text = item["full_text"].as_str().unwrap();
        // Character offsets to byte offsets.
        let byte_at = |c: u64| text.char_indices().nth(c as usize).map_or(text.len(), |(b, _)| b);
        let labels: Vec<(&str, usize, usize)> = item["spans"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                let (start, end) = (s["start_position"].as_u64().unwrap(), s["end_position"].as_u64().unwrap());
                (s["entity_type"].as_str().unwrap(), byte_at(start), byte_at(end))
            })
            .collect();
        let found = if wrap_in_json {
            // The sentence as a JSON string value: shift spans by the prefix.
            let prefix = r#"{"message": ""#;
            let body = format!("{prefix}{}\"}}", text.replace('\\', " ").replace('"', "'"));
            spans(&e, &body, &ScanOptions::json(&e))
                .into_iter()
                .map(|(d, s, t)| (d, s - prefix.len(), t - prefix.len()))
                .collect()
        } else {
            spans(&e, text, &ScanOptions::text(&e))
        };
        for entity in ENTITIES {
            let ids = entity_detectors(entity);
            let mine: Vec<_> = found.iter().filter(|(d, _, _)| ids.contains(&d.as_str())).collect();
            let theirs: Vec<_> = labels.iter().filter(|(t, _, _)| *t == entity).collect();
            let overlaps = |a: (usize, usize), b: (usize, usize)| a.0 < b.1 && b.0 < a.1;
            let score = scores.get_mut(entity).unwrap();
            for (_, s, t) in &mine {
                if theirs.iter().any(|(_, ls, lt)| overlaps((*s, *t), (*ls, *lt))) {
                    score.tp += 1;
                } else {
                    score.fp += 1;
                }
            }
            score.fn_ += theirs
                .iter()
                .filter(|(_, ls, lt)| !mine.iter().any(|(_, s, t)| overlaps((*s, *t), (*ls, *lt))))
                .count();
        }
    }
    scores
}

/// (entity, precision floor, recall floor), set from measurement (see README).
const PRESIDIO_FLOORS: [(&str, f64, f64); 6] = [
    ("CREDIT_CARD", 1.0, 1.0),
    ("US_SSN", 1.0, 1.0),
    ("PHONE_NUMBER", 1.0, 1.0),
    ("EMAIL_ADDRESS", 1.0, 1.0),
    ("IP_ADDRESS", 1.0, 1.0),
    ("IBAN_CODE", 1.0, 1.0), // The sample labels no IBAN: this checks that none is invented.
];

fn check_presidio(wrap_in_json: bool) {
    let scores = presidio_scores(wrap_in_json);
    println!("presidio generated_small ({}):", if wrap_in_json { "in JSON bodies" } else { "plain text" });
    for (entity, p_floor, r_floor) in PRESIDIO_FLOORS {
        let s = &scores[entity];
        println!(
            "  {entity:<14} precision {:.2} recall {:.2} (tp {} fp {} fn {})",
            s.precision(),
            s.recall(),
            s.tp,
            s.fp,
            s.fn_
        );
        assert!(s.precision() >= p_floor, "{entity} precision {:.2} < {p_floor}", s.precision());
        assert!(s.recall() >= r_floor, "{entity} recall {:.2} < {r_floor}", s.recall());
    }
}

#[test]
fn presidio_sentences_as_text() {
    check_presidio(false);
}

#[test]
fn presidio_sentences_in_json_bodies() {
    check_presidio(true);
}

#[test]
fn every_adyen_test_card_is_found() {
    let e = engine();
    let groups: Vec<serde_json::Value> = serde_json::from_str(&read("cards/cards.json")).unwrap();
    let mut missed = Vec::new();
    let mut total = 0;
    for item in groups.iter().flat_map(|g| g["items"].as_array().unwrap()) {
        let card = item["cardnumber"].as_str().unwrap();
        total += 1;
        let text = format!("{{\"card\": \"{card}\"}}");
        let found = spans(&e, &text, &ScanOptions::json(&e));
        if !found.iter().any(|(d, s, t)| d == "credit-card" && &text[*s..*t] == card) {
            missed.push(card.to_string());
        }
    }
    println!("adyen cards: {}/{total} found", total - missed.len());
    assert!(missed.is_empty(), "missed {missed:?}");
}

#[test]
fn issuer_test_cards_allowlist_matches_the_corpus_list() {
    let listed: Vec<String> = read("cards/reserved_test_pans.txt")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(String::from)
        .collect();
    let on = Engine::from_policy_text("allowlists: {issuer_test_cards: true}").unwrap();
    let off = engine();
    let mut reported_without_list = 0;
    for pan in &listed {
        assert!(spans(&on, pan, &ScanOptions::text(&on)).iter().all(|(d, _, _)| d != "credit-card"), "{pan} reported");
        reported_without_list +=
            spans(&off, pan, &ScanOptions::text(&off)).iter().filter(|(d, ..)| d == "credit-card").count();
    }
    println!("reserved test PANs: {reported_without_list}/{} reported without the allowlist, 0 with it", listed.len());
    assert!(reported_without_list >= listed.len() - 2, "one of the list fails Luhn; the rest are real cards");
}

/// ISO 7064 mod 97-10, written independently of the engine's.
fn iban_checksum_ok(iban: &str) -> bool {
    let s: String = iban.chars().filter(|c| !c.is_whitespace()).collect();
    if s.len() < 5 {
        return false;
    }
    let rearranged = format!("{}{}", &s[4..], &s[..4]);
    let mut acc = 0u64;
    for c in rearranged.chars() {
        let v = c.to_digit(36).map(u64::from);
        let Some(v) = v else { return false };
        acc = if v < 10 { (acc * 10 + v) % 97 } else { (acc * 100 + v) % 97 };
    }
    acc == 1
}

#[test]
fn iban_examples_and_their_checksum_failing_twins() {
    let e = engine();
    let dir = corpus("iban/examples");
    let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|f| f.unwrap().path()).collect();
    files.sort();
    let (mut valid, mut found, mut twins, mut twins_found) = (0, 0, 0, 0);
    for file in files {
        for line in std::fs::read_to_string(&file).unwrap().lines().map(str::trim).filter(|l| !l.is_empty()) {
            if !iban_checksum_ok(line) {
                continue;
            }
            valid += 1;
            let text = format!("pay to {line} today");
            if spans(&e, &text, &ScanOptions::text(&e)).iter().any(|(d, s, t)| d == "iban" && &text[*s..*t] == line) {
                found += 1;
            }
            // Flip the last digit: the checksum must now fail.
            let flipped: String = match line.char_indices().rev().find(|(_, c)| c.is_ascii_digit()) {
                Some((i, c)) => {
                    format!("{}{}{}", &line[..i], (b'0' + ((c as u8 - b'0' + 1) % 10)) as char, &line[i + 1..])
                }
                None => continue,
            };
            twins += 1;
            let text = format!("pay to {flipped} today");
            twins_found += spans(&e, &text, &ScanOptions::text(&e)).iter().filter(|(d, ..)| d == "iban").count();
        }
    }
    let recall = found as f64 / valid as f64;
    println!("iban examples: recall {recall:.3} ({found}/{valid} checksum-valid); checksum-failing twins reported: {twins_found}/{twins}");
    assert!(recall >= 0.95, "iban recall {recall:.3}");
    assert_eq!(twins_found, 0);
}

#[test]
fn adyen_test_ibans_are_found() {
    let e = engine();
    let items: Vec<serde_json::Value> = serde_json::from_str(&read("cards/ibans.json")).unwrap();
    for item in items {
        let iban = item["iban"].as_str().unwrap();
        let found = spans(&e, iban, &ScanOptions::text(&e));
        assert!(found.iter().any(|(d, ..)| d == "iban"), "{iban}");
    }
}

#[test]
fn phone_examples_in_international_and_national_form() {
    let e = engine();
    let (mut total, mut intl, mut national) = (0, 0, 0);
    for line in read("phone/example_numbers.jsonl").lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let (cc, number) = (v["country_code"].as_str().unwrap(), v["national_number"].as_str().unwrap());
        total += 1;
        let text = format!("reach us at +{cc} {number} anytime");
        intl += spans(&e, &text, &ScanOptions::text(&e)).iter().any(|(d, ..)| d == "phone") as usize;
        // National layout in groups, with a context word.
        let grouped: Vec<String> =
            number.as_bytes().chunks(3).map(|c| String::from_utf8_lossy(c).into_owned()).collect();
        let text = format!("phone: {}", grouped.join(" "));
        national += spans(&e, &text, &ScanOptions::text(&e)).iter().any(|(d, ..)| d == "phone") as usize;
    }
    let (ri, rn) = (intl as f64 / total as f64, national as f64 / total as f64);
    println!(
        "phone examples: international recall {ri:.3}, national (grouped, with context) recall {rn:.3} of {total}"
    );
    assert!(ri >= 0.95, "international recall {ri:.3}");
    assert!(rn >= 0.80, "national recall {rn:.3}");
}

#[test]
fn isemail_cases() {
    let e = engine();
    let xml = read("email/isemail-tests.xml");
    let mut by_category: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for test in xml.split("<test id=").skip(1) {
        let field = |tag: &str| {
            let open = format!("<{tag}>");
            let start = test.find(&open)? + open.len();
            Some(test[start..start + test[start..].find(&format!("</{tag}>"))?].to_string())
        };
        let (Some(address), Some(category)) = (field("address"), field("category")) else { continue };
        let address = address.replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"");
        let text = format!("contact: {address} .");
        let whole =
            spans(&e, &text, &ScanOptions::text(&e)).iter().any(|(d, s, t)| d == "email" && text[*s..*t] == address);
        let entry = by_category.entry(category).or_default();
        entry.0 += 1;
        entry.1 += whole as usize;
    }
    for (category, (n, found)) in &by_category {
        println!("isemail {category:<24} {found}/{n} reported whole");
    }
    let (n, found) = by_category["ISEMAIL_ERR"];
    assert_eq!(found, 0, "an RFC error case reported as an address ({n} cases)");
    let (n, found) = by_category["ISEMAIL_VALID_CATEGORY"];
    assert!(found * 2 >= n, "valid addresses found {found}/{n}");
}
