//! Routes: per host, path or method changes to the policy (inspect or not,
//! sampling, actions), compiled once into the [`Plan`] an exchange follows.

use std::sync::Arc;

use crate::engine::{any_matches, DetectorSet, Engine, GlobSet};
use crate::policy::{ActionKind, HttpSpec, PolicyError, RouteSpec};

/// What applies to one exchange.
#[derive(Debug)]
pub struct Plan {
    /// `false`: the exchange passes uninspected.
    pub inspect: bool,
    /// Fraction of exchanges inspected.
    pub sample: f64,
    /// The action of each detector, by index.
    pub actions: Vec<ActionKind>,
    /// The detectors whose action is `redact`.
    pub redact: DetectorSet,
}

impl Plan {
    fn new(inspect: bool, sample: f64, actions: Vec<ActionKind>) -> Plan {
        let redact = DetectorSet::of(actions.iter().map(|&a| a == ActionKind::Redact));
        Plan { inspect, sample, actions, redact }
    }

    /// The policy as written.
    pub(super) fn of_engine(engine: &Engine, sample: f64) -> Plan {
        Plan::new(true, sample, engine.detectors().iter().map(|d| d.action).collect())
    }

    /// Whether any detector in `set` has `action` here.
    pub(super) fn acts(&self, set: &DetectorSet, action: ActionKind) -> bool {
        self.actions.iter().enumerate().any(|(i, &a)| a == action && set.contains(i))
    }

    /// Whether the exchange keyed by `key` (its `x-request-id`) falls in the
    /// sample: the same key gives the same answer on every proxy.
    pub(super) fn samples(&self, key: &[u8]) -> bool {
        if self.sample >= 1.0 {
            return true;
        }
        // FNV-1a, then the top 53 bits as a fraction of one.
        let hash = key.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
        ((hash >> 11) as f64 / (1u64 << 53) as f64) < self.sample
    }
}

/// The compiled routes of a policy, first match wins.
#[derive(Debug)]
pub struct Routes {
    routes: Vec<Route>,
    default: Arc<Plan>,
}

#[derive(Debug)]
struct Route {
    hosts: Option<GlobSet>,
    paths: Option<GlobSet>,
    methods: Option<Vec<String>>,
    plan: Arc<Plan>,
}

impl Routes {
    pub(super) fn compile(engine: &Engine, http: &HttpSpec) -> Result<Routes, PolicyError> {
        check_sample(http.sample, "http.sample")?;
        let default = Arc::new(Plan::of_engine(engine, http.sample));
        let routes = http.routes.iter().enumerate().map(|(i, spec)| route(engine, &default, spec, i));
        Ok(Routes { routes: routes.collect::<Result<_, _>>()?, default })
    }

    /// The plan for an exchange, from its request's host name and path (as
    /// its [`Destination`](super::destination::Destination) has them) and its method.
    pub(super) fn plan(&self, host: &[u8], path: &[u8], method: &[u8]) -> &Arc<Plan> {
        self.routes
            .iter()
            .find(|r| {
                any_matches(&r.hosts, host)
                    && any_matches(&r.paths, path)
                    && r.methods.as_ref().is_none_or(|m| m.iter().any(|m| m.as_bytes().eq_ignore_ascii_case(method)))
            })
            .map_or(&self.default, |r| &r.plan)
    }

    /// The policy as written, for flows no route can match (TCP).
    pub(super) fn default_plan(&self) -> &Arc<Plan> {
        &self.default
    }
}

fn route(engine: &Engine, default: &Plan, spec: &RouteSpec, i: usize) -> Result<Route, PolicyError> {
    let at = format!("http.routes[{i}]");
    let sample = spec.sample.unwrap_or(default.sample);
    check_sample(sample, &format!("{at}.sample"))?;
    let mut actions = default.actions.clone();
    for (name, &action) in &spec.actions {
        let by_id = engine.detectors().iter().position(|d| &d.id == name);
        let category = engine.categories().iter().position(|c| &c.name == name);
        match (by_id, category) {
            (Some(d), _) => actions[d] = action,
            (None, Some(c)) => {
                for (d, det) in engine.detectors().iter().enumerate() {
                    // A detector named in this route keeps its own action.
                    if det.category == c && !spec.actions.contains_key(&det.id) {
                        actions[d] = action;
                    }
                }
            }
            (None, None) => {
                let reason = format!("`{name}` is neither a detector id nor a category");
                return Err(PolicyError::new(format!("{at}.actions.{name}"), reason));
            }
        }
    }
    Ok(Route {
        hosts: spec.hosts.as_deref().map(GlobSet::new),
        paths: spec.paths.as_deref().map(GlobSet::new),
        methods: spec.methods.clone(),
        plan: Arc::new(Plan::new(spec.inspect, sample, actions)),
    })
}

fn check_sample(sample: f64, at: &str) -> Result<(), PolicyError> {
    if (0.0..=1.0).contains(&sample) {
        Ok(())
    } else {
        Err(PolicyError::new(at, format!("{sample} is not a fraction from 0 to 1")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sampling_is_a_stable_fraction_of_request_ids() {
        let plan = Plan::new(true, 0.25, Vec::new());
        let ids: Vec<String> = (0..4000).map(|i| format!("5f1c3a7e-{i:04}-4b7a-9c2d-0e8f6a1b2c3d")).collect();
        let sampled = ids.iter().filter(|id| plan.samples(id.as_bytes())).count();
        assert!((850..1150).contains(&sampled), "{sampled} of 4000 at 0.25");
        assert!(ids.iter().all(|id| plan.samples(id.as_bytes()) == plan.samples(id.as_bytes())));
        assert!(Plan::new(true, 1.0, Vec::new()).samples(b""));
        assert!(!Plan::new(true, 0.0, Vec::new()).samples(b"x"));
    }
}
