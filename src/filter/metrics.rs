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

use crate::flow::Record;

#[derive(Default)]
pub struct Metrics {
    ids: HashMap<String, u32>,
}

impl Metrics {
    /// Counts one finished exchange.
    pub fn count(&mut self, record: &Record) {
        self.increment("sieve_exchanges_total");
        for f in &record.findings {
            self.increment(&format!(
                "sieve_findings_total.detector.{}.category.{}.action.{}.direction.{}",
                f.detector,
                f.category,
                f.action.as_str(),
                f.direction.as_str()
            ));
        }
        if record.blocked {
            self.increment("sieve_blocked_total");
        }
        for d in &record.truncated {
            self.increment(&format!("sieve_truncated_total.direction.{}", d.as_str()));
        }
        if let Some(why) = record.uninspected {
            self.increment(&format!("sieve_uninspected_total.reason.{}", why.replace(' ', "_")));
        }
        for (d, why) in &record.skipped {
            self.increment(&format!("sieve_skipped_total.direction.{}.reason.{}", d.as_str(), why.replace(' ', "_")));
        }
    }

    /// The name is copied only when the counter is first defined.
    fn increment(&mut self, name: &str) {
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
        if let Err(status) = increment_metric(id, 1) {
            warn!("cannot increment a metric: {status:?}");
        }
    }
}
