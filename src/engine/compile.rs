//! Policy → engine: merges the built-in packs with the policy, checks every
//! field, and builds the multi-pattern regex and the context automaton.

use std::collections::HashMap;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind as AcMatchKind};
use regex_automata::{meta, util::syntax, MatchKind, PatternID};

use super::anatomy::{self, ByteSet};
use super::builtin;
use super::redact::HashKey;
use super::regions::RegionFinder;
use super::scope::{Scope, Targeting};
use super::validate::UUID_LEN;
use super::value_group::{GroupRegex, ValueGroup};
use super::{Allowlist, Category, Detector, Engine, Family, PatternInfo};
use crate::policy::{
    ActionKind, CategorySpec, ContextSpec, DetectorSpec, PatternSpec, PolicyError, PolicySpec, RedactSpec, Severity,
};
use regex_syntax::hir::Hir;

/// Longest match a pattern may have: the streaming window grows with it.
pub const MAX_PATTERN_LEN: usize = 8192;
/// Widest context window, in bytes on each side.
pub const MAX_CONTEXT_WINDOW: usize = 256;
const DEFAULT_SCORE: f32 = 0.6;
const DEFAULT_MIN_SCORE: f32 = 0.5;
const DEFAULT_BOOST: f32 = 0.35;
const DEFAULT_WINDOW: usize = 48;
/// How many leading bytes of a numeric pattern its trigger checks: an ISO
/// date and the `T` after it (`2025-06-14T`), so timestamps do not fire it.
const TRIGGER_LEN: usize = 11;
/// Room for the combined pattern set's NFA.
const NFA_SIZE_LIMIT: usize = 64 << 20;

/// Documented example credentials, allowed unless the policy says otherwise:
/// AWS's, and the Azure Storage emulator's well-known account key.
const DOCUMENTED_EXAMPLES: &[&str] = &[
    "AKIAIOSFODNN7EXAMPLE",
    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==",
];

/// Patterns are byte-oriented with ASCII classes (`\d`, `\w`, `\b`) unless
/// a pattern opts into Unicode with `(?u)`: the lazy DFA then never has to
/// give up on non-ASCII input.
fn syntax_config() -> syntax::Config {
    syntax::Config::new().unicode(false).utf8(false)
}

impl Engine {
    /// Compiles a parsed policy together with the built-in rule packs.
    pub fn compile(spec: &PolicySpec) -> Result<Engine, PolicyError> {
        let packs = builtin::packs()?;
        let mut categories: Vec<(String, CategorySpec)> = Vec::new();
        for (name, cat) in packs.iter().flat_map(|p| &p.categories).chain(&spec.categories) {
            merge_category(&mut categories, name, cat);
        }
        let mut detectors = builtin::select(&packs, &spec.builtin)?;
        apply_overrides(&mut detectors, spec)?;
        for (i, det) in spec.detectors.iter().enumerate() {
            let at = format!("detectors[{i}]");
            if detectors.iter().any(|(_, d)| d.id == det.id) {
                return Err(PolicyError::new(at + ".id", "a detector with this id already exists").detector(&det.id));
            }
            detectors.push((at, det.clone()));
        }
        let mut b = Builder { categories, ..Builder::default() };
        for (at, det) in &detectors {
            b.add_detector(det, at, spec)?;
        }
        b.finish(spec)
    }
}

fn merge_category(categories: &mut Vec<(String, CategorySpec)>, name: &str, spec: &CategorySpec) {
    match categories.iter_mut().find(|(n, _)| n == name) {
        Some((_, old)) => {
            old.severity = spec.severity.or(old.severity);
            old.action = spec.action.or(old.action);
            old.redact = spec.redact.clone().or(old.redact.take());
            if spec.description.is_some() {
                old.description = spec.description.clone();
            }
        }
        None => categories.push((name.to_string(), spec.clone())),
    }
}

fn apply_overrides(detectors: &mut [(String, DetectorSpec)], spec: &PolicySpec) -> Result<(), PolicyError> {
    for (id, o) in &spec.overrides {
        let Some((_, d)) = detectors.iter_mut().find(|(_, d)| &d.id == id) else {
            let reason = if builtin::builtin_detector_ids().contains(&id.as_str()) {
                "this built-in detector is not selected (see `builtin.include` and `builtin.exclude`)"
            } else {
                "no built-in detector has this id"
            };
            return Err(PolicyError::new(format!("overrides.{id}"), reason).detector(id));
        };
        d.severity = o.severity.or(d.severity);
        d.min_score = o.min_score.or(d.min_score);
        d.allow.extend(o.allow.iter().cloned());
        d.scope = o.scope.clone().unwrap_or_else(|| d.scope.clone());
        d.action = o.action.or(d.action);
        d.redact = o.redact.clone().or(d.redact.take());
    }
    Ok(())
}

#[derive(Default)]
struct Builder {
    categories: Vec<(String, CategorySpec)>,
    detectors: Vec<Detector>,
    /// (pattern source, info), in priority order: earlier wins a tie.
    patterns: Vec<(String, PatternInfo)>,
    words: Vec<String>,
    word_ids: HashMap<String, u32>,
    max_len: usize,
    max_context: usize,
}

impl Builder {
    fn add_detector(&mut self, spec: &DetectorSpec, at: &str, policy: &PolicySpec) -> Result<(), PolicyError> {
        let err = |path: &str, reason: String| {
            let path = if path.is_empty() { at.to_string() } else { format!("{at}.{path}") };
            PolicyError::new(path, reason).detector(&spec.id)
        };
        check_id(&spec.id).map_err(|r| err("id", r))?;
        if spec.category.trim().is_empty() {
            return Err(err("category", "must name a category".into()));
        }
        if spec.patterns.is_empty() && spec.keywords.is_empty() {
            return Err(err("", "needs at least one of `patterns` or `keywords`".into()));
        }
        let score = spec.score.unwrap_or(DEFAULT_SCORE);
        let min_score = spec.min_score.unwrap_or(DEFAULT_MIN_SCORE);
        check_unit(score).map_err(|r| err("score", r))?;
        check_unit(min_score).map_err(|r| err("min_score", r))?;
        if let Some(e) = spec.min_entropy.filter(|e| !(0.0..=8.0).contains(e)) {
            return Err(err("min_entropy", format!("{e} is outside 0..=8 bits per byte")));
        }
        self.add_patterns(spec, score, &err)?;
        let (context_words, context_window, context_boost) = self.context(spec.context.as_ref(), &err)?;
        if score < min_score && context_words.is_empty() {
            let reason = format!(
                "score {score} is below min_score {min_score} and there are no context words, so it could never report"
            );
            return Err(err("min_score", reason));
        }
        let category = self.category_index(&spec.category);
        let cat = &self.categories[category].1;
        let redact =
            spec.redact.clone().or(cat.redact.clone()).or(policy.redaction.default.clone()).unwrap_or_default();
        check_redact(&redact).map_err(|r| err("redact", r))?;
        let mut allow = Allowlist::default();
        spec.allow.iter().for_each(|v| allow.insert(v));
        self.detectors.push(Detector {
            id: spec.id.clone(),
            category,
            severity: spec.severity.or(cat.severity).unwrap_or(Severity::Medium),
            description: spec.description.clone(),
            action: spec.action.or(cat.action).or(policy.default_action).unwrap_or(ActionKind::Monitor),
            redact,
            scope: Scope::compile(&spec.scope),
            validator: spec.validator,
            min_score,
            min_entropy: spec.min_entropy,
            context_words,
            context_window,
            context_boost,
            allow,
        });
        Ok(())
    }

    /// A detector's patterns and keywords, checked, each scored `score`
    /// unless it says otherwise, for the detector about to be added.
    fn add_patterns(
        &mut self,
        spec: &DetectorSpec,
        score: f32,
        err: &dyn Fn(&str, String) -> PolicyError,
    ) -> Result<(), PolicyError> {
        let detector = self.detectors.len();
        for (j, p) in spec.patterns.iter().enumerate() {
            let at = format!("patterns[{j}]");
            let (len, has_value_group) = check_pattern(p.regex()).map_err(|r| err(&at, r))?;
            let score = match p {
                PatternSpec::Scored { score, .. } => check_unit(*score).map_err(|r| err(&format!("{at}.score"), r))?,
                PatternSpec::Plain(_) => score,
            };
            self.max_len = self.max_len.max(len);
            self.patterns.push((p.regex().to_string(), PatternInfo { detector, score, has_value_group }));
        }
        for (j, k) in spec.keywords.iter().enumerate() {
            let source = keyword_pattern(k).map_err(|r| err(&format!("keywords[{j}]"), r))?;
            self.max_len = self.max_len.max(k.len() + 2);
            self.patterns.push((source, PatternInfo { detector, score, has_value_group: false }));
        }
        Ok(())
    }

    /// A detector's context words (as word ids), window and boost, checked.
    fn context(
        &mut self,
        spec: Option<&ContextSpec>,
        err: &dyn Fn(&str, String) -> PolicyError,
    ) -> Result<(Vec<u32>, usize, f32), PolicyError> {
        let Some(c) = spec else { return Ok((Vec::new(), 0, 0.0)) };
        let window = c.window.unwrap_or(DEFAULT_WINDOW);
        if window > MAX_CONTEXT_WINDOW {
            return Err(err("context.window", format!("{window} is over the maximum of {MAX_CONTEXT_WINDOW} bytes")));
        }
        let boost = check_unit(c.boost.unwrap_or(DEFAULT_BOOST)).map_err(|r| err("context.boost", r))?;
        let mut ids = Vec::new();
        for (j, w) in c.words.iter().enumerate() {
            if w.trim().is_empty() {
                return Err(err(&format!("context.words[{j}]"), "must not be empty".into()));
            }
            ids.push(self.word_id(w));
        }
        ids.sort_unstable();
        ids.dedup();
        self.max_context = self.max_context.max(window);
        Ok((ids, window, boost))
    }

    fn category_index(&mut self, name: &str) -> usize {
        self.categories.iter().position(|(n, _)| n == name).unwrap_or_else(|| {
            self.categories.push((name.to_string(), CategorySpec::default()));
            self.categories.len() - 1
        })
    }

    fn word_id(&mut self, word: &str) -> u32 {
        let word = word.to_ascii_lowercase();
        if let Some(&id) = self.word_ids.get(&word) {
            return id;
        }
        let id = self.words.len() as u32;
        self.words.push(word.clone());
        self.word_ids.insert(word, id);
        id
    }

    fn finish(self, policy: &PolicySpec) -> Result<Engine, PolicyError> {
        for (name, cat) in &self.categories {
            if let Some(r) = &cat.redact {
                check_redact(r).map_err(|r| PolicyError::new(format!("categories.{name}.redact"), r))?;
            }
        }
        if let Some(r) = &policy.redaction.default {
            check_redact(r).map_err(|r| PolicyError::new("redaction.default", r))?;
        }
        let (main, numeric, regions) = families(self.patterns)?;
        let context = context_automaton(&self.words)?;
        let hash_key = hash_key(policy.redaction.hash_key.as_deref())?;
        let categories = self
            .categories
            .into_iter()
            .map(|(name, c)| Category { name, severity: c.severity.unwrap_or(Severity::Medium) })
            .collect();
        // Bytes a check looks at on either side of a match: context words, or a UUID it may sit in.
        let around = self.max_context.max(UUID_LEN + 1);
        Ok(Engine {
            targeting: Targeting::new(&self.detectors),
            detectors: self.detectors,
            categories,
            main,
            numeric,
            regions,
            context,
            allow: allowlist(policy),
            hash_key,
            window: self.max_len + 2 * around + 2,
            lookbehind: around + 1,
        })
    }
}

/// The automaton that finds every detector's context words, if any has some.
fn context_automaton(words: &[String]) -> Result<Option<AhoCorasick>, PolicyError> {
    if words.is_empty() {
        return Ok(None);
    }
    let ac = AhoCorasickBuilder::new()
        .ascii_case_insensitive(true)
        .match_kind(AcMatchKind::Standard)
        .build(words)
        .map_err(|e| PolicyError::new("detectors", format!("context words do not compile: {e}")))?;
    Ok(Some(ac))
}

/// The values no detector reports: the policy's, and the built-in lists it turns on.
fn allowlist(policy: &PolicySpec) -> Allowlist {
    let mut allow = Allowlist::default();
    policy.allowlists.values.iter().for_each(|v| allow.insert(v));
    if policy.allowlists.documented_examples {
        DOCUMENTED_EXAMPLES.iter().for_each(|v| allow.insert(v));
    }
    if policy.allowlists.issuer_test_cards {
        builtin::issuer_test_cards().for_each(|v| allow.insert(v));
    }
    allow
}

/// The key of `hash` redaction and fingerprints: the policy's, or one drawn
/// at random per worker.
fn hash_key(key: Option<&str>) -> Result<HashKey, PolicyError> {
    match key {
        Some(k) if k.len() < 16 => Err(PolicyError::new(
            "redaction.hash_key",
            "must be at least 16 bytes, so hashes of short values cannot be brute-forced from a guessable key",
        )),
        Some(k) => Ok(HashKey::new(k.as_bytes())),
        None => Ok(HashKey::random()),
    }
}

/// Splits the patterns into the main family and the numeric family, and
/// adds to the main family the trigger that hands over to the numeric one.
/// Also finds where the main family's matches can be.
fn families(
    patterns: Vec<(String, PatternInfo)>,
) -> Result<(Family, Option<Family>, Option<RegionFinder>), PolicyError> {
    let mut numeric_first = ByteSet::default();
    numeric_first.insert_range(b'0', b'9');
    let mut open = ByteSet::default();
    open.insert_range(b'+', b'+');
    open.insert_range(b'(', b'(');
    numeric_first.union(&open);
    let (mut main, mut numeric) = (Vec::new(), Vec::new());
    // The trigger: for each numeric pattern, the shape of its first bytes.
    let mut shapes: Vec<String> = Vec::new();
    for (source, info) in patterns {
        let a = match syntax::parse_with(&source, &syntax_config()) {
            Ok(hir) => anatomy::analyze(&hir),
            Err(_) => continue, // Unreachable: every pattern was checked when added.
        };
        let is_numeric =
            !a.first.is_empty() && a.first.is_subset(&numeric_first) && (a.at_boundary || a.first.is_subset(&open));
        if is_numeric {
            let shape = trigger_shape(&source, a.ends_at_boundary);
            let shape = if a.at_boundary { format!(r"\b{shape}") } else { shape };
            if !shapes.contains(&shape) {
                shapes.push(shape);
            }
            numeric.push((source, Some(info)));
        } else {
            main.push((source, Some(info)));
        }
    }
    // The regions come from the numeric patterns, not the trigger: a trigger
    // match with no numeric match behind it finds nothing, and one with a
    // match behind it also stops where that match ends (its shape does).
    let sources: Vec<String> = main.iter().chain(&numeric).map(|(s, _)| s.clone()).collect();
    let (main, numeric) = if numeric.is_empty() {
        (Family::build(main, None)?, None)
    } else {
        main.push((format!("(?:{})", shapes.join("|")), None));
        let trigger_id = PatternID::new(main.len() - 1).ok();
        (Family::build(main, trigger_id)?, Some(Family::build(numeric, None)?))
    };
    // After the families, whose builds need the most scratch memory.
    let sources: Vec<&str> = sources.iter().map(String::as_str).collect();
    Ok((main, numeric, RegionFinder::new(&sources, syntax_config(), NFA_SIZE_LIMIT)))
}

/// A regex for the first [`TRIGGER_LEN`] bytes of a numeric pattern's
/// matches: each position's byte class, and, where a match can end, the end
/// (after a byte that can end a match, at a word boundary when every match
/// ends at one). So an ISO timestamp (`2025-06-14T09:…`) does not fire the
/// trigger for a date or phone pattern that must end at a boundary before
/// the `T`. A necessary condition for a match, never more.
fn trigger_shape(source: &str, ends_at_boundary: bool) -> String {
    let steps = anatomy::steps(source, syntax_config(), TRIGGER_LEN, false);
    let last = anatomy::steps(source, syntax_config(), 1, true).classes.first().copied().unwrap_or_default();
    let end = if ends_at_boundary { r"\b" } else { "" };
    let n = steps.classes.len();
    // Built from the back: `rest` matches from position i + 1 on; `None`
    // where no match goes on (every match is shorter).
    let mut rest = (n == TRIGGER_LEN).then(String::new);
    for (i, class) in steps.classes.iter().enumerate().rev() {
        let go_on = rest.map(|r| format!("{}{r}", class.to_class()));
        let ending = class.intersection(&last);
        let stop = (steps.ends[i + 1] && !ending.is_empty()).then(|| format!("{}{end}", ending.to_class()));
        rest = match (go_on, stop) {
            (Some(g), Some(s)) => Some(format!("(?:{g}|{s})")),
            (g, s) => g.or(s),
        };
    }
    rest.unwrap_or_default()
}

impl Family {
    fn build(patterns: Vec<(String, Option<PatternInfo>)>, trigger: Option<PatternID>) -> Result<Family, PolicyError> {
        let config = meta::Config::new().utf8_empty(false).nfa_size_limit(Some(NFA_SIZE_LIMIT));
        let refused =
            |e: String| PolicyError::new("detectors", format!("the combined pattern set does not compile: {e}"));
        let build = |config: meta::Config, hirs: &[Hir]| {
            meta::Regex::builder().configure(config).build_many_from_hir(hirs).map_err(|e| e.to_string())
        };
        // Each pattern parsed once, and its bounds lifted once, for every regex below.
        let hirs = patterns
            .iter()
            .map(|(s, _)| syntax::parse_with(s, &syntax_config()).map_err(|e| e.to_string()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| PolicyError::new("detectors", format!("a pattern does not parse: {e}")))?;
        // The patterns as written first: theirs is the largest build, and
        // its scratch memory is then free for the smaller ones after it.
        let regex = build(config.clone().match_kind(MatchKind::LeftmostFirst), &hirs).map_err(refused)?;
        let (lifted, upto): (Vec<_>, Vec<_>) = hirs.iter().map(anatomy::lift_bounds).unzip();
        let lifted_first = if upto.iter().any(Option::is_some) {
            let upto = upto.iter().map(|u| u.map_or(usize::MAX, |u| u as usize)).collect();
            Some((build(config.clone().match_kind(MatchKind::LeftmostFirst), &lifted).map_err(refused)?, upto))
        } else {
            None
        };
        // Only ever asked for captures over a known match: no DFA needed. The
        // bounded backtracker takes matches short enough for its visited set
        // (in V8, fewer instructions than the PikeVM), the PikeVM the rest.
        let captures = config.clone().hybrid(false).dfa(false);
        let value_group = |k: usize| {
            let lifted = upto[k].map(|u| (&lifted[k], u as usize));
            let build = |hir: &Hir| build(captures.clone(), std::slice::from_ref(hir));
            ValueGroup::new(&hirs[k], || GroupRegex::new(&hirs[k], lifted, build))
                .map_err(|e| PolicyError::new("detectors", format!("a value group does not compile: {e}")))
        };
        let values = patterns
            .iter()
            .enumerate()
            .map(|(k, (_, info))| match info {
                Some(i) if i.has_value_group => value_group(k).map(Some),
                _ => Ok(None),
            })
            .collect::<Result<_, _>>()?;
        Ok(Family {
            regex,
            lifted: lifted_first,
            regex_all: build(config.match_kind(MatchKind::All), &lifted).map_err(refused)?,
            info: patterns.into_iter().map(|(_, info)| info).collect(),
            values,
            trigger,
        })
    }
}

fn check_id(id: &str) -> Result<(), String> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(format!("{id:?} must be 1 to 64 characters of a-z, 0-9, '-' or '_' (it appears in metrics and headers)"))
    }
}

fn check_unit(x: f32) -> Result<f32, String> {
    if (0.0..=1.0).contains(&x) {
        Ok(x)
    } else {
        Err(format!("{x} is outside 0..=1"))
    }
}

/// Checks that a pattern compiles, can be found across chunk boundaries
/// (bounded, non-empty matches) and returns its maximum length and whether
/// it has a `value` group.
fn check_pattern(source: &str) -> Result<(usize, bool), String> {
    let hir = syntax::parse_with(source, &syntax_config()).map_err(|e| format!("invalid regex: {e}{}", hint(&e)))?;
    let props = hir.properties();
    let Some(max) = props.maximum_len() else {
        return Err("the pattern can match an unbounded length (`+`, `*` or `{n,}`); bound it, e.g. `{1,256}`, so matches are found across chunk boundaries in bounded memory".into());
    };
    if max > MAX_PATTERN_LEN {
        return Err(format!("the pattern can match up to {max} bytes; the maximum is {MAX_PATTERN_LEN}"));
    }
    if props.minimum_len() == Some(0) {
        return Err("the pattern can match the empty string".into());
    }
    Ok((max, capture_names(&hir).iter().any(|n| n == "value")))
}

/// What to write instead, where the parser's message alone leaves a user
/// guessing: patterns are ASCII by default, and a non-ASCII class is refused.
fn hint(e: &regex_syntax::Error) -> &'static str {
    match e {
        regex_syntax::Error::Translate(t) if *t.kind() == regex_syntax::hir::ErrorKind::UnicodeNotAllowed => {
            "\npatterns are ASCII by default: write non-ASCII classes and Unicode properties in Unicode mode, as `(?u:[äöü])` or `(?u:\\p{Greek})`"
        }
        _ => "",
    }
}

fn capture_names(hir: &regex_syntax::hir::Hir) -> Vec<String> {
    use regex_syntax::hir::HirKind;
    let mut names = Vec::new();
    let mut stack = vec![hir];
    while let Some(h) = stack.pop() {
        match h.kind() {
            HirKind::Capture(c) => {
                if let Some(n) = &c.name {
                    names.push(n.to_string());
                }
                stack.push(&c.sub);
            }
            HirKind::Concat(hs) | HirKind::Alternation(hs) => stack.extend(hs.iter()),
            HirKind::Repetition(r) => stack.push(&r.sub),
            _ => {}
        }
    }
    names
}

/// A keyword as a pattern: ASCII case-insensitive, at word boundaries where
/// the keyword starts or ends with a word character.
fn keyword_pattern(keyword: &str) -> Result<String, String> {
    if keyword.is_empty() {
        return Err("must not be empty".into());
    }
    if keyword.len() > 256 {
        return Err("is longer than 256 bytes".into());
    }
    let word = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
    let b = |edge| if word(edge) { r"\b" } else { "" };
    Ok(format!("(?i:{}{}{})", b(keyword.chars().next()), regex_syntax::escape(keyword), b(keyword.chars().last())))
}

fn check_redact(spec: &RedactSpec) -> Result<(), String> {
    match spec {
        RedactSpec::Mask { char } | RedactSpec::Partial { char, .. } if !char.is_ascii() || char.is_ascii_control() => {
            Err(format!("the mask character {char:?} must be printable ASCII, so masking keeps the byte length"))
        }
        RedactSpec::Hash { length, .. } if !(4..=64).contains(length) => {
            Err(format!("hash length {length} is outside 4..=64 hex characters"))
        }
        RedactSpec::Replace { text } if text.len() > 256 => Err("replacement text is longer than 256 bytes".into()),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_trigger_fires_where_numbers_start_and_not_on_timestamps() {
        use regex_automata::{Anchored, Input};
        let e = Engine::from_policy_text("").unwrap();
        let fires = |text: &str| e.main.regex.search(&Input::new(text).anchored(Anchored::Yes)).is_some();
        for number in ["4111 1111 1111 1111", "+1 415 555 0134", "531-21-7351", "021000021", "12-34-56", "1/2/2000"] {
            for after in ["", " ", "\"", ".x"] {
                assert!(fires(&format!("{number}{after}")), "{number}{after}");
            }
            assert!(e.numeric.as_ref().unwrap().regex.is_match(number), "{number} is a numeric candidate");
        }
        for stamp in ["2025-06-14T09:12:44Z", "2025-06-14T09:12:44.123+02:00", "1999-12-31T23:59:59"] {
            assert!(!fires(stamp), "{stamp}");
        }
    }

    #[test]
    fn value_groups_are_captured_with_small_automata() {
        let e = Engine::from_policy_text("").unwrap();
        let captured: Vec<_> = e.main.values.iter().flatten().filter_map(|group| group.exact()).collect();
        assert!(captured.len() >= 2, "the generic secret and the IPv4 rule capture their value groups");
        let whole = e.main.regex.create_cache().memory_usage();
        for exact in captured {
            let own = exact.create_cache().memory_usage();
            assert!(own < 1 << 20 && own * 20 < whole, "{own} bytes against {whole} for the whole family");
        }
    }

    use crate::engine::Engine;
    use crate::policy::PolicyError;

    fn refuse(policy: &str) -> PolicyError {
        Engine::from_policy_text(policy).unwrap_err()
    }

    #[test]
    fn the_default_policy_compiles() {
        let e = Engine::from_policy_text("").unwrap();
        assert!(e.detectors().len() >= 20);
        assert!(e.window() >= 6144, "private keys span several KiB: {}", e.window());
    }

    #[test]
    fn bad_regex_names_path_detector_and_compiler_message() {
        let e = refuse("detectors:\n  - id: ok\n    category: c\n    keywords: [x]\n  - id: broken\n    category: c\n    patterns: ['a', '(unclosed']\n");
        assert_eq!(e.path, "detectors[1].patterns[1]");
        assert_eq!(e.detector.as_deref(), Some("broken"));
        assert!(e.reason.contains("invalid regex") && e.reason.contains("unclosed group"), "{e}");
    }

    #[test]
    fn a_non_ascii_class_is_refused_with_the_way_to_write_it() {
        let e = refuse("detectors:\n  - id: umlaut\n    category: c\n    patterns: ['[äöü]{2}']\n");
        assert!(e.reason.contains("Unicode not allowed") && e.reason.contains("(?u:[äöü])"), "{e}");
        assert!(Engine::from_policy_text(
            "detectors:\n  - id: umlaut\n    category: c\n    patterns: ['(?u:[äöü]{2})']\n"
        )
        .is_ok());
    }

    #[test]
    fn unbounded_and_empty_patterns_are_refused() {
        let e = refuse(r#"{"detectors":[{"id":"u","category":"c","patterns":["secret=\\w+"]}]}"#);
        assert!(e.reason.contains("unbounded"), "{e}");
        let e = refuse(r#"{"detectors":[{"id":"e","category":"c","patterns":["a?"]}]}"#);
        assert!(e.reason.contains("empty"), "{e}");
    }

    #[test]
    fn detector_fields_are_checked() {
        assert!(refuse(r#"{"detectors":[{"id":"Bad Id","category":"c","keywords":["x"]}]}"#).path.ends_with(".id"));
        assert!(refuse(r#"{"detectors":[{"id":"n","category":"c"}]}"#).reason.contains("patterns"));
        assert_eq!(
            refuse(r#"{"detectors":[{"id":"s","category":"c","keywords":["x"],"score":2}]}"#).path,
            "detectors[0].score"
        );
        let e = refuse(r#"{"detectors":[{"id":"s","category":"c","keywords":["x"],"score":0.2}]}"#);
        assert!(e.reason.contains("could never report"), "{e}");
        let e = refuse(r#"{"detectors":[{"id":"credit-card","category":"c","keywords":["x"]}]}"#);
        assert!(e.reason.contains("already exists"), "{e}");
        let e = refuse(
            r#"{"detectors":[{"id":"m","category":"c","keywords":["x"],"action":"redact","redact":{"method":"mask","char":"é"}}]}"#,
        );
        assert_eq!(e.path, "detectors[0].redact");
    }

    #[test]
    fn overrides_and_selection_name_unknown_ids() {
        let e = refuse(r#"{"overrides":{"no-such":{"action":"block"}}}"#);
        assert_eq!(e.path, "overrides.no-such");
        let e = refuse(r#"{"builtin":{"include":["all"],"exclude":["nope"]}}"#);
        assert_eq!(e.path, "builtin.exclude[0]");
        let e = refuse(r#"{"builtin":{"include":["pci"]},"overrides":{"email":{"action":"block"}}}"#);
        assert!(e.reason.contains("not selected"), "{e}");
    }

    #[test]
    fn short_hash_keys_are_refused() {
        assert_eq!(refuse(r#"{"redaction":{"hash_key":"short"}}"#).path, "redaction.hash_key");
    }

    #[test]
    fn actions_resolve_detector_then_category_then_default() {
        let e = Engine::from_policy_text(
            "default_action: block\ncategories:\n  pci: {action: redact}\noverrides:\n  email: {action: monitor}\n",
        )
        .unwrap();
        let action = |id: &str| e.detectors().iter().find(|d| d.id == id).unwrap().action;
        use crate::policy::ActionKind::*;
        assert_eq!(action("credit-card"), Redact);
        assert_eq!(action("email"), Monitor);
        assert_eq!(action("us-ssn"), Block);
    }
}
