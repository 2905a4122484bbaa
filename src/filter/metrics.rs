//! Counters in Envoy's stats, defined on first use.
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

#[derive(Default)]
pub struct Metrics {
    ids: HashMap<String, u32>,
}

impl Metrics {
    /// Counts one finished exchange.
    pub fn count(&mut self, record: &Record) {
        self.increment("sieve_exchanges_total", 1);
        for (f, n) in series(&record.findings) {
            self.increment(
                &format!(
                    "sieve_findings_total.detector.{}.category.{}.action.{}.direction.{}",
                    f.detector,
                    f.category,
                    f.action.as_str(),
                    f.direction.as_str()
                ),
                n,
            );
        }
        if record.blocked {
            self.increment("sieve_blocked_total", 1);
        }
        for d in &record.truncated {
            self.increment(&format!("sieve_truncated_total.direction.{}", d.as_str()), 1);
        }
        if let Some(why) = record.uninspected {
            self.increment(&format!("sieve_uninspected_total.reason.{}", why.replace(' ', "_")), 1);
        }
        for (d, why) in &record.skipped {
            let name = format!("sieve_skipped_total.direction.{}.reason.{}", d.as_str(), why.replace(' ', "_"));
            self.increment(&name, 1);
        }
    }

    /// The name is copied only when the counter is first defined.
    fn increment(&mut self, name: &str, by: i64) {
        let id = match self.ids.get(name) {
            Some(&id) => id,
            None => match define_metric(MetricType::Counter, name) {
                Ok(id) => *self.ids.entry(name.to_string()).or_insert(id),
                Err(status) => {
                    warn!("cannot define metric {name}: {status:?}");
                    return;
                }
            },
        };
        if let Err(status) = increment_metric(id, by) {
            warn!("cannot increment a metric: {status:?}");
        }
    }
}

/// The findings by counter series (detector, category, action, direction),
/// in order of first appearance, with how many each has: a body full of
/// emails costs one name and one host call, not one per email.
fn series(findings: &[Recorded]) -> Vec<(&Recorded, i64)> {
    let same = |a: &Recorded, b: &Recorded| {
        (a.action, a.direction) == (b.action, b.direction) && a.detector == b.detector && a.category == b.category
    };
    let mut series: Vec<(&Recorded, i64)> = Vec::new();
    for f in findings {
        match series.iter_mut().find(|(g, _)| same(g, f)) {
            Some((_, n)) => *n += 1,
            None => series.push((f, 1)),
        }
    }
    series
}
