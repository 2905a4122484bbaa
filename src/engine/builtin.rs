//! The built-in rule packs under `rules/`, embedded at build time.

use crate::policy::{parse_rule_pack, BuiltinSelection, DetectorSpec, PolicyError, RulePack};

/// (file, text) of every pack, in priority order: where two detectors match
/// at the same offset, the one from the earlier pack is tried first.
pub const BUILTIN_PACKS: &[(&str, &str)] = &[
    ("rules/credentials.yaml", include_str!("../../rules/credentials.yaml")),
    ("rules/financial.yaml", include_str!("../../rules/financial.yaml")),
    ("rules/pii.yaml", include_str!("../../rules/pii.yaml")),
    ("rules/network.yaml", include_str!("../../rules/network.yaml")),
];

const ISSUER_TEST_CARDS: &str = include_str!("../../rules/allowlists/issuer-test-cards.txt");

/// The parsed packs. A broken pack is a build defect, reported like any
/// policy error rather than panicking inside the proxy.
pub(super) fn packs() -> Result<Vec<RulePack>, PolicyError> {
    BUILTIN_PACKS.iter().map(|(file, text)| parse_rule_pack(text).map_err(|e| e.within(file))).collect()
}

/// The ids of every built-in detector.
pub fn builtin_detector_ids() -> Vec<&'static str> {
    // Ids are read from the text so this works even where parsing would fail.
    BUILTIN_PACKS
        .iter()
        .flat_map(|(_, text)| text.lines())
        .filter_map(|l| l.trim_start().strip_prefix("- id: "))
        .map(str::trim)
        .collect()
}

/// The issuer-reserved test card numbers (one per line, `#` comments).
pub(super) fn issuer_test_cards() -> impl Iterator<Item = &'static str> {
    ISSUER_TEST_CARDS.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#'))
}

/// The built-in detectors the selection keeps, with where each came from.
pub(super) fn select(packs: &[RulePack], sel: &BuiltinSelection) -> Result<Vec<(String, DetectorSpec)>, PolicyError> {
    let all: Vec<(String, &DetectorSpec)> = packs
        .iter()
        .zip(BUILTIN_PACKS)
        .flat_map(|(p, (file, _))| p.detectors.iter().map(move |d| (format!("{file}: {}", d.id), d)))
        .collect();
    let names = |list: &[String], field: &str| -> Result<(), PolicyError> {
        for (i, name) in list.iter().enumerate() {
            if name != "all" && !all.iter().any(|(_, d)| &d.id == name || &d.category == name) {
                let reason = format!("{name:?} is neither a built-in detector id nor a built-in category");
                return Err(PolicyError::new(format!("builtin.{field}[{i}]"), reason));
            }
        }
        Ok(())
    };
    names(&sel.include, "include")?;
    names(&sel.exclude, "exclude")?;
    let hit = |list: &[String], d: &DetectorSpec| list.iter().any(|n| n == "all" || *n == d.id || *n == d.category);
    Ok(all
        .into_iter()
        .filter(|(_, d)| hit(&sel.include, d) && !hit(&sel.exclude, d))
        .map(|(origin, d)| (origin, d.clone()))
        .collect())
}
