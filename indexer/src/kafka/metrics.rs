//! The indexer's metrics (prometheus-client, prefix `indexer_kafka_`), the clock behind the
//! seconds since the last commit, and the totals a handle reports ([`IndexerStats`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use serde::Serialize;

/// What the indexer has done since it started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct IndexerStats {
    /// Messages read from the topic.
    pub consumed: u64,
    /// Events applied to the index (consumed = applied + stale + dead-lettered).
    pub applied: u64,
    /// Events skipped: not newer than the known version, or about a product the index lacks.
    pub stale: u64,
    /// Events written to the dead-letter sink.
    pub dead_lettered: u64,
    /// Batches committed.
    pub batches: u64,
    /// Messages in the topic not yet applied, summed over partitions, at the last measurement
    /// (every few seconds); `None` before the first one or when the brokers did not answer.
    pub lag: Option<u64>,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct PartitionLabels {
    pub(super) topic: String,
    pub(super) partition: i32,
}

/// The seconds since the last commit, computed at each scrape.
#[derive(Debug)]
pub(super) struct CommitClock {
    origin: Instant,
    /// Milliseconds from `origin` to the last commit (0 until the first: the time since start).
    last_commit_ms: AtomicU64,
}

impl CommitClock {
    pub(super) fn mark(&self) {
        let elapsed = u64::try_from(self.origin.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_commit_ms.store(elapsed, Ordering::Relaxed);
    }

    fn seconds_since_commit(&self) -> f64 {
        let last = Duration::from_millis(self.last_commit_ms.load(Ordering::Relaxed));
        self.origin.elapsed().saturating_sub(last).as_secs_f64()
    }
}

impl Collector for CommitClock {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let gauge = ConstGauge::new(self.seconds_since_commit());
        let metric = encoder.encode_descriptor(
            "seconds_since_commit",
            "Seconds since the indexer last committed a batch (since it started, before the first; grows while the topic is idle).",
            None,
            gauge.metric_type(),
        )?;
        gauge.encode(metric)
    }
}

#[derive(Debug)]
pub(super) struct Metrics {
    pub(super) consumed: Counter,
    pub(super) applied: Counter,
    pub(super) stale: Counter,
    pub(super) dead_lettered: Counter,
    pub(super) batches: Counter,
    pub(super) lag: Family<PartitionLabels, Gauge>,
    /// The summed lag of the last measurement, or -1.
    pub(super) total_lag: AtomicI64,
    pub(super) apply_seconds: Histogram,
    pub(super) clock: Arc<CommitClock>,
}

impl Metrics {
    pub(super) fn new() -> Self {
        Metrics {
            consumed: Counter::default(),
            applied: Counter::default(),
            stale: Counter::default(),
            dead_lettered: Counter::default(),
            batches: Counter::default(),
            lag: Family::default(),
            total_lag: AtomicI64::new(-1),
            // 1 ms to ~33 s.
            apply_seconds: Histogram::new(exponential_buckets(0.001, 2.0, 16)),
            clock: Arc::new(CommitClock { origin: Instant::now(), last_commit_ms: AtomicU64::new(0) }),
        }
    }

    pub(super) fn register(&self, registry: &mut Registry) {
        let registry = registry.sub_registry_with_prefix("indexer_kafka");
        registry.register("events_consumed", "Messages read from the topic", self.consumed.clone());
        registry.register("events_applied", "Events applied to the index", self.applied.clone());
        registry.register(
            "events_stale",
            "Events skipped: not newer than the product's known version, or about a product the index does not have",
            self.stale.clone(),
        );
        registry.register(
            "events_dead_lettered",
            "Events that could not be used, written to the dead-letter sink",
            self.dead_lettered.clone(),
        );
        registry.register("batches", "Batches committed to the index", self.batches.clone());
        registry.register(
            "lag",
            "Messages not yet applied, per partition: high watermark minus next offset (measured every few seconds)",
            self.lag.clone(),
        );
        registry.register(
            "batch_apply_seconds",
            "Time to write a batch's dead letters, apply its events and commit",
            self.apply_seconds.clone(),
        );
        registry.register_collector(Box::new(self.clock.clone()));
    }

    pub(super) fn stats(&self) -> IndexerStats {
        IndexerStats {
            consumed: self.consumed.get(),
            applied: self.applied.get(),
            stale: self.stale.get(),
            dead_lettered: self.dead_lettered.get(),
            batches: self.batches.get(),
            lag: u64::try_from(self.total_lag.load(Ordering::Relaxed)).ok(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_are_registered_and_the_commit_clock_counts_from_the_last_commit() {
        let metrics = Metrics::new();
        let mut registry = Registry::with_prefix("vitrine");
        metrics.register(&mut registry);
        metrics.consumed.inc_by(3);
        metrics.lag.get_or_create(&PartitionLabels { topic: "products".into(), partition: 1 }).set(4);
        metrics.clock.mark();
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).expect("encode");
        assert!(text.contains("vitrine_indexer_kafka_events_consumed_total 3"), "{text}");
        assert!(text.contains("vitrine_indexer_kafka_lag{topic=\"products\",partition=\"1\"} 4"), "{text}");
        assert!(text.contains("vitrine_indexer_kafka_seconds_since_commit "), "{text}");
        assert!(text.contains("vitrine_indexer_kafka_batch_apply_seconds_bucket"), "{text}");
        assert!(metrics.clock.seconds_since_commit() < 1.0);
        assert_eq!(metrics.stats().lag, None, "no measurement yet");
    }
}
