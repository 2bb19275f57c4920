//! The indexer thread: it waits for the topic, assigns its partitions at the checkpoint's
//! offsets, collects batches, writes their dead letters and applies them; and the monitor thread
//! that measures the lag and finds new partitions.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, PoisonError};
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};
use vitrine_models::ProductEvent;

use super::admin::{create_dead_letter_topic, partitions_now};
use super::config::{
    BROKER_REQUEST_TIMEOUT, COMPACT_WHEN_IDLE_FOR, DRAINED_AFTER, DeadLetterSink, IDLE_POLL, KafkaIndexerConfig,
    LAG_INTERVAL, MAX_BATCH_BYTES,
};
use super::dead_letters::{DeadLetterRecord, DeadLetterWriter};
use super::metrics::PartitionLabels;
use super::shared::{Backoff, Shared};
use crate::checkpoint::SourcePosition;
use crate::error::KafkaIndexerError;
use crate::product_index::ProductIndex;

/// The messages of one batch, parsed.
#[derive(Debug, Default)]
struct Batch {
    consumed: u64,
    /// Bytes of the message values.
    bytes: usize,
    events: Vec<ProductEvent>,
    dead: Vec<DeadLetterRecord>,
    next_offsets: BTreeMap<i32, i64>,
}

impl Batch {
    fn is_empty(&self) -> bool {
        self.consumed == 0
    }

    /// Adds one message (in offset order within its partition).
    /// A product's price without its currency is in `default_currency` (the index's setting).
    fn add(&mut self, partition: i32, offset: i64, key: Option<&[u8]>, value: &[u8], default_currency: Option<&str>) {
        self.consumed += 1;
        self.bytes += value.len();
        let next = self.next_offsets.entry(partition).or_insert(offset + 1);
        *next = (*next).max(offset + 1);
        match ProductEvent::parse_in(key, value, default_currency) {
            Ok(event) => self.events.push(event),
            Err(reason) => self.dead.push(DeadLetterRecord {
                reason,
                partition,
                offset,
                key: key.map(<[u8]>::to_vec),
                value: value.to_vec(),
            }),
        }
    }
}

/// The indexer thread.
pub(super) struct Worker {
    pub(super) config: KafkaIndexerConfig,
    pub(super) index: Arc<ProductIndex>,
    pub(super) consumer: BaseConsumer,
    pub(super) dead_letters: DeadLetterWriter,
    pub(super) shared: Arc<Shared>,
    /// The assigned partitions, sorted.
    pub(super) partitions: Vec<i32>,
    /// Per partition, the next offset to apply, once known (from the checkpoint or a commit).
    pub(super) positions: BTreeMap<i32, i64>,
    /// The client of the monitor thread, until it starts.
    pub(super) monitor: Option<BaseConsumer>,
}

impl Worker {
    pub(super) fn run(mut self) -> Result<(), KafkaIndexerError> {
        let result = self.consume();
        match &result {
            Ok(()) => {
                tracing::info!(topic = %self.config.topic, stats = ?self.shared.metrics.stats(), "Kafka indexer stopped")
            }
            Err(error) => tracing::error!(topic = %self.config.topic, %error, "Kafka indexer failed"),
        }
        result
    }

    fn consume(&mut self) -> Result<(), KafkaIndexerError> {
        let Some(partitions) = self.wait_for_partitions()? else { return Ok(()) };
        if let DeadLetterSink::Topic(topic) = &self.config.dead_letters {
            let count = i32::try_from(partitions.len()).unwrap_or(i32::MAX);
            create_dead_letter_topic(&self.config, topic, count);
        }
        let checkpoint = self.index.checkpoint();
        self.positions = checkpoint.offsets.get(&self.config.topic).cloned().unwrap_or_default();
        self.assign(partitions)?;
        self.publish_positions();
        if let Some(client) = self.monitor.take() {
            let (shared, topic) = (self.shared.clone(), self.config.topic.clone());
            let spawned = std::thread::Builder::new()
                .name("kafka-indexer-lag".to_owned())
                .spawn(move || monitor(&client, &topic, &shared));
            if let Err(error) = spawned {
                tracing::warn!(%error, "cannot start the lag monitor: no lag metrics");
            }
        }
        self.shared.running.store(true, Ordering::Release);
        tracing::info!(
            topic = %self.config.topic,
            partitions = ?self.partitions,
            resume_at = ?self.positions,
            "Kafka indexer started"
        );
        let mut backoff = Backoff::new();
        // When the last change was committed, until the index is compacted after it.
        let mut changed_at: Option<Instant> = None;
        while !self.shared.stopping() {
            let batch = self.collect_batch(&mut backoff);
            if !batch.is_empty() {
                if !self.commit(batch)? {
                    break;
                }
                changed_at = Some(Instant::now());
            } else if changed_at.is_some_and(|at| at.elapsed() >= COMPACT_WHEN_IDLE_FOR) {
                // Idle: purge deleted documents so relevance statistics count live products
                // only and replicas that batched differently score alike.
                changed_at = None;
                if let Err(error) = self.index.compact() {
                    tracing::warn!(topic = %self.config.topic, %error, "could not compact the index");
                }
            }
            self.assign_discovered()?;
        }
        Ok(())
    }

    /// The topic's partitions, once it exists; `None` when stopped while waiting.
    fn wait_for_partitions(&self) -> Result<Option<Vec<i32>>, KafkaIndexerError> {
        let topic = &self.config.topic;
        let started = Instant::now();
        let mut backoff = Backoff::new();
        loop {
            let last_error = match partitions_now(&self.consumer, topic, BROKER_REQUEST_TIMEOUT) {
                Ok(Some(partitions)) => return Ok(Some(partitions)),
                Ok(None) => "the topic does not exist".to_owned(),
                Err(error) => error.to_string(),
            };
            if started.elapsed() >= self.config.topic_wait {
                return Err(KafkaIndexerError::TopicUnavailable {
                    topic: topic.clone(),
                    waited: started.elapsed(),
                    last_error,
                });
            }
            tracing::info!(%topic, reason = %last_error, "waiting for the topic");
            if !backoff.sleep(&self.shared) {
                return Ok(None);
            }
        }
    }

    /// Assigns `partitions`, each at its known position or at the beginning.
    fn assign(&mut self, partitions: Vec<i32>) -> Result<(), KafkaIndexerError> {
        let mut assignment = TopicPartitionList::new();
        for &partition in &partitions {
            let offset = self.positions.get(&partition).map_or(Offset::Beginning, |&next| Offset::Offset(next));
            assignment.add_partition_offset(&self.config.topic, partition, offset)?;
        }
        self.consumer.assign(&assignment)?;
        self.partitions = partitions;
        Ok(())
    }

    /// Polls until the batch is full, its time is up, or a stop is requested.
    fn collect_batch(&self, backoff: &mut Backoff) -> Batch {
        let mut batch = Batch::default();
        let mut first_message: Option<Instant> = None;
        // Read once per batch: a settings change applies from the next batch on.
        let mut default_currency: Option<Option<String>> = None;
        while !self.shared.stopping() && batch.consumed < self.config.max_batch as u64 && batch.bytes < MAX_BATCH_BYTES
        {
            let timeout = match first_message {
                None => IDLE_POLL.min(self.config.commit_interval),
                Some(first) => match self.config.commit_interval.checked_sub(first.elapsed()) {
                    Some(left) if !left.is_zero() => left.min(DRAINED_AFTER),
                    _ => break,
                },
            };
            match self.consumer.poll(timeout) {
                // Quiet (let the caller do idle work), or drained (commit what was read).
                None => break,
                Some(Err(error)) => {
                    tracing::warn!(topic = %self.config.topic, %error, "Kafka consumer error; retrying");
                    backoff.sleep(&self.shared);
                }
                Some(Ok(message)) => {
                    backoff.reset();
                    first_message.get_or_insert_with(Instant::now);
                    let partition = message.partition();
                    if self.positions.get(&partition).is_some_and(|&next| message.offset() < next) {
                        continue; // already applied (cannot happen after an assign at that offset)
                    }
                    let currency =
                        default_currency.get_or_insert_with(|| self.index.settings().default_currency.clone());
                    let value = message.payload().unwrap_or_default();
                    batch.add(partition, message.offset(), message.key(), value, currency.as_deref());
                }
            }
        }
        batch
    }

    /// Writes the batch's dead letters, then applies its events in one commit with its offsets.
    /// False when a stop came before the dead letters could be written: nothing is committed.
    fn commit(&mut self, batch: Batch) -> Result<bool, KafkaIndexerError> {
        let started = Instant::now();
        let metrics = &self.shared.metrics;
        let dead = batch.dead.len() as u64;
        if !batch.dead.is_empty() && !self.dead_letters.write(&self.config.topic, &batch.dead, &self.shared)? {
            tracing::warn!(
                topic = %self.config.topic,
                messages = batch.consumed,
                "stopped before the batch's dead letters were delivered; the batch is not committed and will be read again"
            );
            return Ok(false);
        }
        let position = SourcePosition { topic: self.config.topic.clone(), next_offsets: batch.next_offsets };
        let events = batch.events.len() as u64;
        let report = self.index.apply(batch.events, Some(&position)).map_err(KafkaIndexerError::Apply)?;
        // Every event not skipped was applied (the report counts products written, and a product
        // changed twice in a batch is written once): consumed = applied + stale + dead-lettered.
        let skipped = report.stale + report.missing;
        let applied = events.saturating_sub(skipped);
        metrics.clock.mark();
        metrics.apply_seconds.observe(started.elapsed().as_secs_f64());
        metrics.consumed.inc_by(batch.consumed);
        metrics.applied.inc_by(applied);
        metrics.stale.inc_by(skipped);
        metrics.dead_lettered.inc_by(dead);
        metrics.batches.inc();
        self.positions.extend(position.next_offsets);
        self.publish_positions();
        tracing::debug!(
            topic = %self.config.topic,
            consumed = batch.consumed,
            applied,
            stale = skipped,
            dead_lettered = dead,
            ms = started.elapsed().as_millis() as u64,
            "batch committed"
        );
        Ok(true)
    }

    /// Assigns the partitions the monitor found, when they changed (partitions added to the
    /// topic). Called between batches, when everything consumed is committed, so the positions
    /// are exact.
    fn assign_discovered(&mut self) -> Result<(), KafkaIndexerError> {
        let discovered = self.shared.discovered.lock().unwrap_or_else(PoisonError::into_inner).take();
        match discovered {
            Some(partitions) if partitions != self.partitions => {
                tracing::info!(topic = %self.config.topic, ?partitions, "the topic's partitions changed; assigning them");
                self.assign(partitions)
            }
            _ => Ok(()),
        }
    }

    /// Tells the monitor where the indexer stands.
    fn publish_positions(&self) {
        self.shared.positions.lock().unwrap_or_else(PoisonError::into_inner).clone_from(&self.positions);
    }
}

/// The monitor thread: every few seconds, the topic's partitions (new ones are handed to the
/// indexer) and the lag of each (high watermark − next offset). Ends soon after a stop; nobody
/// waits for it, since a broker request may hold it for several seconds.
fn monitor(client: &BaseConsumer, topic: &str, shared: &Shared) {
    let metrics = &shared.metrics;
    loop {
        let next = Instant::now() + LAG_INTERVAL;
        while Instant::now() < next {
            if shared.stopping() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let Ok(Some(partitions)) = partitions_now(client, topic, BROKER_REQUEST_TIMEOUT) else {
            metrics.total_lag.store(-1, Ordering::Relaxed);
            continue;
        };
        *shared.discovered.lock().unwrap_or_else(PoisonError::into_inner) = Some(partitions.clone());
        let mut total = Some(0_i64);
        for partition in partitions {
            if shared.stopping() {
                return;
            }
            match client.fetch_watermarks(topic, partition, BROKER_REQUEST_TIMEOUT) {
                Ok((low, high)) => {
                    let position =
                        shared.positions.lock().unwrap_or_else(PoisonError::into_inner).get(&partition).copied();
                    let lag = (high - position.unwrap_or(low)).max(0);
                    metrics.lag.get_or_create(&PartitionLabels { topic: topic.to_owned(), partition }).set(lag);
                    total = total.map(|sum| sum + lag);
                }
                Err(error) => {
                    tracing::debug!(topic, partition, %error, "cannot read the watermarks");
                    total = None;
                    break; // the brokers are away: measure again next time
                }
            }
        }
        metrics.total_lag.store(total.unwrap_or(-1), Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn event(id: &str, version: u64) -> Vec<u8> {
        json!({"event_id": format!("e-{id}-{version}"), "type": "product_upserted", "product_id": id,
               "version": version, "occurred_at": "2026-01-01T00:00:00Z", "payload": {"id": id, "title": "Mug"}})
        .to_string()
        .into_bytes()
    }

    #[test]
    fn a_batch_keeps_events_in_order_sets_dead_letters_aside_and_tracks_next_offsets() {
        let mut batch = Batch::default();
        batch.add(0, 10, Some(b"a"), &event("a", 1), None);
        batch.add(1, 4, Some(b"b"), b"{not json", None);
        batch.add(0, 11, Some(b"a"), &event("a", 2), None);
        batch.add(1, 5, None, &event("c", 1), None);
        batch.add(2, 0, Some(b"x"), &event("y", 1), None);
        assert_eq!(batch.consumed, 5);
        let versions: Vec<(String, u64)> =
            batch.events.iter().map(|event| (event.product_id.to_string(), event.version)).collect();
        assert_eq!(versions, [("a".to_owned(), 1), ("a".to_owned(), 2), ("c".to_owned(), 1)]);
        let dead: Vec<(&str, i32, i64)> =
            batch.dead.iter().map(|record| (record.reason.code.as_str(), record.partition, record.offset)).collect();
        assert_eq!(dead, [("malformed_json", 1, 4), ("key_mismatch", 2, 0)]);
        assert_eq!(batch.next_offsets, [(0, 12), (1, 6), (2, 1)].into());
    }
}
