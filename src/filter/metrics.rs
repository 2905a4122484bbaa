//! Counters in Envoy's stats, defined on first use.
//!
//! Counts are kept here and added to Envoy's counters on the root context's
//! tick ([`Metrics::flush`]): an increment is a host call, and one per
//! counter per second costs less than one per counter per exchange.
//!
//! Names carry their tags as `.tag.value` segments
//! (`sieve_findings_total.detector.credit-card.category.pci...`). The Envoy
//! configurations we ship extract them with `stats_config.stats_tags`, so
//! `/stats/prometheus` shows `sieve_findings_total{detector="credit-card",...}`;
//! without those tags the segments stay part of the name.

use std::collections::HashMap;

use log::warn;
use proxy_wasm::hostcalls::{define_metric, increment_metric};
use proxy_wasm::types::MetricType;

use crate::flow::{Record, Recorded};
use crate::policy::{ActionKind, Direction};

#[derive(Default)]
pub struct Metrics {
    /// The counters other than the findings', once defined.
    counters: Vec<(Counter, u32)>,
    /// Findings counters by detector, then by category, action and
    /// direction: a finding is counted without its counter's name being
    /// formatted and hashed, which is done once, when it is defined.
    findings: HashMap<String, Vec<(Series, u32)>>,
    /// Counts not yet added to Envoy's counters, by counter id.
    pending: Vec<(u32, i64)>,
}

/// A counter other than the findings': a family, and for some a direction
/// and a reason. Every part is known at compile time, so an exchange is
/// counted without a name formatted or hashed; a few counters exist, so a
/// list is searched.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Counter {
    family: &'static str,
    direction: Option<Direction>,
    reason: Option<&'static str>,
}

impl Counter {
    fn of(family: &'static str) -> Counter {
        Counter { family, direction: None, reason: None }
    }

    /// `family[.direction.d][.reason.r]`, spaces in the reason as underscores.
    fn name(&self) -> String {
        let mut name = self.family.to_string();
        if let Some(d) = self.direction {
            name = format!("{name}.direction.{}", d.as_str());
        }
        if let Some(r) = self.reason {
            name = format!("{name}.reason.{}", r.replace(' ', "_"));
        }
        name
    }
}

/// A findings counter's labels other than the detector.
struct Series {
    category: String,
    action: ActionKind,
    direction: Direction,
}

impl Metrics {
    /// Counts one finished exchange.
    pub fn count(&mut self, record: &Record) {
        self.increment(Counter::of("sieve_exchanges_total"));
        for f in &record.findings {
            if let Some(id) = self.findings_counter(f) {
                self.add(id, 1);
            }
        }
        if record.blocked {
            self.increment(Counter::of("sieve_blocked_total"));
        }
        for &d in &record.truncated {
            self.increment(Counter { direction: Some(d), ..Counter::of("sieve_truncated_total") });
        }
        if let Some(why) = record.uninspected {
            self.increment(Counter { reason: Some(why), ..Counter::of("sieve_uninspected_total") });
        }
        for &(d, why) in &record.skipped {
            self.increment(Counter { direction: Some(d), reason: Some(why), ..Counter::of("sieve_skipped_total") });
        }
    }

    /// Adds the counts kept since the last flush to Envoy's counters: one
    /// host call per counter that moved.
    pub fn flush(&mut self) {
        for (id, n) in self.pending.drain(..) {
            if let Err(status) = increment_metric(id, n) {
                warn!("cannot increment a metric: {status:?}");
            }
        }
    }

    /// Counts one for `counter`, which is defined on first use.
    fn increment(&mut self, counter: Counter) {
        let id = match self.counters.iter().find(|(c, _)| *c == counter) {
            Some(&(_, id)) => Some(id),
            None => define(&counter.name()).inspect(|&id| self.counters.push((counter, id))),
        };
        if let Some(id) = id {
            self.add(id, 1);
        }
    }

    /// Keeps `by` for counter `id` until the next flush. A few counters move
    /// at all, so a list is searched.
    fn add(&mut self, id: u32, by: i64) {
        match self.pending.iter_mut().find(|(counter, _)| *counter == id) {
            Some((_, n)) => *n += by,
            None => self.pending.push((id, by)),
        }
    }

    /// The counter of a finding's series, defined on first use.
    fn findings_counter(&mut self, f: &Recorded) -> Option<u32> {
        let known = match self.findings.get_mut(f.detector.as_str()) {
            Some(known) => known,
            None => self.findings.entry(f.detector.clone()).or_default(),
        };
        let same = |s: &Series| s.category == f.category && s.action == f.action && s.direction == f.direction;
        if let Some((_, id)) = known.iter().find(|(s, _)| same(s)) {
            return Some(*id);
        }
        let name = format!(
            "sieve_findings_total.detector.{}.category.{}.action.{}.direction.{}",
            f.detector,
            f.category,
            f.action.as_str(),
            f.direction.as_str()
        );
        let id = define(&name)?;
        known.push((Series { category: f.category.clone(), action: f.action, direction: f.direction }, id));
        Some(id)
    }
}

fn define(name: &str) -> Option<u32> {
    define_metric(MetricType::Counter, name).map_err(|status| warn!("cannot define metric {name}: {status:?}")).ok()
}
