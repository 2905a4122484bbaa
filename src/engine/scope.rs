//! Where detectors look: compiled scopes, the place being scanned, and the
//! set of detectors active there.

use std::sync::Arc;

use crate::policy::{ActionKind, Direction, Part, ScopeSpec};

use super::glob::{any_matches, GlobSet};
use super::{Detector, Engine};

/// A detector's compiled scope. `None` lists match everything.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    directions: Option<Vec<Direction>>,
    parts: Option<Vec<Part>>,
    headers: Option<GlobSet>,
    json_paths: Option<GlobSet>,
    content_types: Option<GlobSet>,
    hosts: Option<GlobSet>,
    paths: Option<GlobSet>,
}

fn globs(list: &Option<Vec<String>>) -> Option<GlobSet> {
    list.as_deref().map(GlobSet::new)
}

impl Scope {
    pub fn compile(spec: &ScopeSpec) -> Scope {
        Scope {
            directions: spec.directions.clone(),
            parts: spec.parts.clone(),
            headers: globs(&spec.headers),
            json_paths: globs(&spec.json_paths),
            content_types: globs(&spec.content_types),
            hosts: globs(&spec.hosts),
            paths: globs(&spec.paths),
        }
    }

    /// Whether the detector runs on `target`.
    pub fn allows(&self, target: &Target) -> bool {
        listed(&self.directions, &target.direction)
            && listed(&self.parts, &target.part)
            && (target.part != Part::Headers || any_matches(&self.headers, target.header.unwrap_or_default()))
            && (target.part != Part::Body || any_matches(&self.content_types, target.content_type.unwrap_or_default()))
            && any_matches(&self.hosts, target.host.unwrap_or_default())
            && any_matches(&self.paths, target.path.unwrap_or_default())
    }

    /// Whether the scope lists header names: only then does the set of
    /// detectors differ from one header to the next.
    fn names_headers(&self) -> bool {
        self.headers.is_some()
    }

    /// Whether `allows` is true of every target.
    fn allows_all(&self) -> bool {
        let Scope { directions, parts, headers, json_paths: _, content_types, hosts, paths } = self;
        directions.is_none()
            && parts.is_none()
            && headers.is_none()
            && content_types.is_none()
            && hosts.is_none()
            && paths.is_none()
    }

    /// Whether a finding at JSON key path `path` counts. Detectors scoped to
    /// key paths never fire outside JSON, forms or named fields.
    pub fn allows_json_path(&self, path: Option<&str>) -> bool {
        match (&self.json_paths, path) {
            (None, _) => true,
            (Some(_), None) => false,
            (Some(globs), Some(p)) => globs.matches(p.as_bytes()),
        }
    }
}

fn listed<T: PartialEq>(list: &Option<Vec<T>>, x: &T) -> bool {
    list.as_ref().is_none_or(|l| l.contains(x))
}

/// The place a scan runs: what the flow layer knows about it.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    pub direction: Direction,
    pub part: Part,
    /// The header name, for `Part::Headers`.
    pub header: Option<&'a [u8]>,
    /// The content type, for `Part::Body`.
    pub content_type: Option<&'a [u8]>,
    pub host: Option<&'a [u8]>,
    /// The request path (without query).
    pub path: Option<&'a [u8]>,
}

/// The detectors whose scope allows every target, and the others: a target
/// costs only the scopes that can exclude it.
#[derive(Debug)]
pub(super) struct Targeting {
    everywhere: DetectorSet,
    scoped: Vec<usize>,
    /// Whether some scope lists header names.
    names_headers: bool,
}

impl Targeting {
    pub(super) fn new(detectors: &[Detector]) -> Targeting {
        let everywhere = DetectorSet::of(detectors.iter().map(|d| d.scope.allows_all()));
        Targeting {
            scoped: (0..detectors.len()).filter(|&i| !everywhere.contains(i)).collect(),
            everywhere,
            names_headers: detectors.iter().any(|d| d.scope.names_headers()),
        }
    }
}

/// A set of detector indexes. Shared: sets are cloned into every scan's
/// options and most are never changed, so a clone costs no allocation.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DetectorSet(Arc<[u64]>);

impl DetectorSet {
    pub fn all(engine: &Engine) -> DetectorSet {
        DetectorSet::of(engine.detectors().iter().map(|_| true))
    }

    /// The detectors whose scope allows `target`.
    pub fn for_target(engine: &Engine, target: &Target) -> DetectorSet {
        let targeting = &engine.targeting;
        let mut set = targeting.everywhere.clone();
        for &i in &targeting.scoped {
            if engine.detectors[i].scope.allows(target) {
                set.insert(i);
            }
        }
        set
    }

    /// Whether the detectors for a header depend on its name (some scope
    /// lists header names); if not, one set serves every header.
    pub fn vary_by_header_name(engine: &Engine) -> bool {
        engine.targeting.names_headers
    }

    /// The detectors whose action (as compiled) is `action`.
    pub fn acting(engine: &Engine, action: ActionKind) -> DetectorSet {
        DetectorSet::of(engine.detectors().iter().map(|d| d.action == action))
    }

    /// The detectors for which `members` yields true, in index order.
    pub fn of(members: impl IntoIterator<Item = bool>) -> DetectorSet {
        let mut words = Vec::new();
        for (i, member) in members.into_iter().enumerate() {
            if i % 64 == 0 {
                words.push(0);
            }
            if let (true, Some(w)) = (member, words.last_mut()) {
                *w |= 1 << (i % 64);
            }
        }
        DetectorSet(words.into())
    }

    /// Adds a detector of the set's engine (the set has a word for it).
    fn insert(&mut self, index: usize) {
        Arc::make_mut(&mut self.0)[index / 64] |= 1 << (index % 64);
    }

    pub fn contains(&self, index: usize) -> bool {
        self.0.get(index / 64).is_some_and(|w| w & (1 << (index % 64)) != 0)
    }

    pub fn is_empty(&self) -> bool {
        self.0.iter().all(|&w| w == 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(part: Part) -> Target<'static> {
        Target {
            direction: Direction::Request,
            part,
            header: Some(b"Authorization"),
            content_type: Some(b"application/json"),
            host: Some(b"api.example.com"),
            path: Some(b"/v1/pay"),
        }
    }

    #[test]
    fn the_set_for_a_target_checks_only_scoped_detectors_and_agrees_with_every_scope() {
        let engine = Engine::from_policy_text(
            "detectors:\n  - {id: out, category: c, keywords: [x], scope: {directions: [response]}}\n  - {id: pay, category: c, keywords: [y], scope: {hosts: ['api.*'], parts: [body]}}\n  - {id: deep, category: c, keywords: [z], scope: {json_paths: ['*.z']}}\n",
        )
        .unwrap();
        assert_eq!(engine.targeting.scoped.len(), 2, "a key-path scope is checked per finding, not per target");
        for part in [Part::Headers, Part::Body, Part::Url] {
            for direction in [Direction::Request, Direction::Response] {
                for host in [&b"api.example.com"[..], b"www.example.com"] {
                    let t = Target { direction, host: Some(host), ..target(part) };
                    let every = DetectorSet::of(engine.detectors().iter().map(|d| d.scope.allows(&t)));
                    assert_eq!(DetectorSet::for_target(&engine, &t), every, "{t:?}");
                }
            }
        }
        let (out, pay) = (engine.detectors().len() - 3, engine.detectors().len() - 2);
        let t = Target { direction: Direction::Response, ..target(Part::Body) };
        let set = DetectorSet::for_target(&engine, &t);
        assert!(set.contains(out) && set.contains(pay) && set.contains(0));
        assert!(!DetectorSet::for_target(&engine, &target(Part::Headers)).contains(out));
    }

    #[test]
    fn empty_scope_allows_everything() {
        assert!(Scope::default().allows(&target(Part::Body)));
        assert!(Scope::default().allows_json_path(None));
    }

    #[test]
    fn each_field_narrows() {
        let s = Scope::compile(&ScopeSpec { directions: Some(vec![Direction::Response]), ..Default::default() });
        assert!(!s.allows(&target(Part::Body)));
        let s = Scope::compile(&ScopeSpec { headers: Some(vec!["x-*".into()]), ..Default::default() });
        assert!(!s.allows(&target(Part::Headers)));
        assert!(s.allows(&target(Part::Body)), "header globs do not constrain bodies");
        let s = Scope::compile(&ScopeSpec { paths: Some(vec!["/v1/*".into()]), ..Default::default() });
        assert!(s.allows(&target(Part::Url)));
        let s = Scope::compile(&ScopeSpec { json_paths: Some(vec!["*.ssn".into()]), ..Default::default() });
        assert!(s.allows_json_path(Some("$.user.ssn")));
        assert!(!s.allows_json_path(Some("$.user.id")));
        assert!(!s.allows_json_path(None));
    }
}
