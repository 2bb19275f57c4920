//! The Kafka-fed indexer: one topic → one index, each event applied exactly once.
//!
//! **Partitions are assigned, not subscribed.** The indexer reads the topic's partitions from the
//! brokers' metadata (waiting for the topic to exist), and `assign()`s all of them at the offsets
//! of the index's last commit ([`Checkpoint`](crate::Checkpoint)), or at the beginning. There is
//! no consumer group to join and nothing is committed to Kafka (`enable.auto.commit=false`): the
//! tantivy commit payload is the only record of progress. So every replica consumes the whole
//! topic into its own data directory, and replicas converge.
//!
//! **Batches.** Messages are collected until [`KafkaIndexerConfig::max_batch`] of them (or 64 MiB
//! of values), until [`KafkaIndexerConfig::commit_interval`] has passed since the first one, or
//! until the consumer has had nothing more for [`DRAINED_AFTER`] (what was fetched is all there
//! is): a trickle of events is committed as soon as the previous commit is done (a group commit),
//! a flood fills batches up to the interval or the size.
//! Each is parsed with [`ProductEvent::parse`]; the valid events go to [`ProductIndex::apply`] in
//! offset order, in one commit that also records, for each partition seen, the next offset (the
//! last consumed + 1). A crash before that commit reads the batch again; a crash after it resumes
//! after it; versions make any replay harmless anyway. A stop finishes the batch in progress.
//! Partitions added to the topic later are picked up within a few seconds.
//!
//! **Dead letters, at least once.** An event that cannot be used (see `docs/events.md` for the
//! codes) is written to the dead-letter sink — the topic `TOPIC.dead-letter` (headers
//! `vitrine-dead-letter-code`, `-reason`, `-source-topic`, `-source-partition`,
//! `-source-offset`; the original key and bytes) or the local JSON Lines store — and the write is
//! acknowledged (delivered, or fsynced) **before** the batch is committed. A crash between the two
//! writes the batch's dead letters again on restart: readers of dead letters must tolerate
//! duplicates (the source partition and offset identify one). A malformed event never stalls its
//! partition: once dead-lettered, its offset is committed like any other.
//!
//! **Errors.** Broker trouble (metadata, fetches, dead-letter delivery) is retried with a backoff
//! (up to 5 s) and never stops the indexer. A failed apply (tantivy) or a local dead-letter store
//! that cannot be written stops it, and [`IndexerHandle::join`] returns the error: the process
//! decides what to do.
//!
//! **Metrics** (prometheus-client, prefix `indexer_kafka_`): events consumed, applied, stale
//! (stale or about a missing product) and dead-lettered, batches committed, the lag per partition
//! (high watermark − next offset, refreshed every few seconds, approximate), the seconds since the
//! last commit, and the batch apply latency.
//!
//! [`DRAINED_AFTER`]: config::DRAINED_AFTER
//! [`ProductEvent::parse`]: vitrine_models::ProductEvent::parse

mod admin;
mod config;
mod dead_letters;
mod metrics;
mod publisher;
mod shared;
mod worker;

pub use config::{
    DEFAULT_COMMIT_INTERVAL, DEFAULT_MAX_BATCH, DEFAULT_TOPIC_WAIT, DeadLetterSink, KafkaIndexerConfig,
    dead_letter_topic,
};
pub use dead_letters::{
    HEADER_CODE, HEADER_REASON, HEADER_SOURCE_OFFSET, HEADER_SOURCE_PARTITION, HEADER_SOURCE_TOPIC,
    HEADER_VALUE_DROPPED, StoredDeadLetter,
};
pub use metrics::IndexerStats;
pub use publisher::{EventPublisher, PublishReport};

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use prometheus_client::registry::Registry;
use rdkafka::consumer::BaseConsumer;
use rdkafka::producer::BaseProducer;

use self::config::DEAD_LETTER_TIMEOUT;
use self::dead_letters::{DeadLetterWriter, DeliveryLog};
use self::metrics::Metrics;
use self::shared::Shared;
use self::worker::Worker;
use crate::error::KafkaIndexerError;
use crate::product_index::ProductIndex;

/// Marks the indexer ended when its thread leaves, however it leaves (a panic included).
struct EndGuard(Arc<Shared>);

impl Drop for EndGuard {
    fn drop(&mut self) {
        self.0.running.store(false, Ordering::Release);
        self.0.ended.store(true, Ordering::Release);
    }
}

/// A cheap, cloneable view of an indexer's state, for whoever watches it (a server's shutdown,
/// a progress line) while the [`IndexerHandle`] stays with whoever stops it.
#[derive(Debug, Clone)]
pub struct IndexerStatus {
    shared: Arc<Shared>,
}

impl IndexerStatus {
    /// True once the indexer has assigned its partitions and consumes, until it ends.
    pub fn is_running(&self) -> bool {
        self.shared.running.load(Ordering::Acquire)
    }

    /// True once the indexer has ended (stopped, or failed: see [`IndexerHandle::join`]).
    pub fn has_ended(&self) -> bool {
        self.shared.ended.load(Ordering::Acquire)
    }

    /// What the indexer has done so far.
    pub fn stats(&self) -> IndexerStats {
        self.shared.metrics.stats()
    }
}

/// The Kafka indexer: [`KafkaIndexer::spawn`] starts one on its own thread.
#[derive(Debug)]
pub struct KafkaIndexer;

impl KafkaIndexer {
    /// Starts consuming `config.topic` into `index` on a dedicated thread, with its metrics
    /// registered into `registry`. The clients are created here, so a bad configuration fails at
    /// once; waiting for the topic and everything after happens on the thread.
    pub fn spawn(
        config: KafkaIndexerConfig,
        index: Arc<ProductIndex>,
        registry: &mut Registry,
    ) -> Result<IndexerHandle, KafkaIndexerError> {
        // librdkafka's assign() needs a group id; the group is never joined and nothing is
        // committed to it.
        let group = format!("vitrine-indexer-{}", config.topic);
        let consumer: BaseConsumer = config
            .client_config(&[
                ("group.id", &group),
                ("enable.auto.commit", "false"),
                ("enable.auto.offset.store", "false"),
                ("enable.partition.eof", "false"),
                // A committed offset that no longer exists (retention, a recreated topic): start
                // over from the oldest; versions make the replay harmless.
                ("auto.offset.reset", "earliest"),
                // Fresh events should not wait for a fuller fetch (the broker answers a fetch at
                // once when it has data; this bounds the wait when it has none).
                ("fetch.wait.max.ms", "10"),
            ])
            .create()?;
        // Lag measurements and partition discovery block on the brokers (for many seconds when
        // they are away), so they have a client and a thread of their own.
        let monitor: BaseConsumer = config.client_config(&[]).create()?;
        let dead_letters = match &config.dead_letters {
            DeadLetterSink::Topic(topic) => {
                let producer: BaseProducer<DeliveryLog> = config
                    .client_config(&[
                        ("message.timeout.ms", &DEAD_LETTER_TIMEOUT.as_millis().to_string()),
                        ("linger.ms", "5"),
                        // The original bytes go back as they came, even past the 1 MiB limit
                        // of events; a broker that refuses them gets the letter without them.
                        ("message.max.bytes", "67108864"),
                    ])
                    .create_with_context(DeliveryLog::default())?;
                DeadLetterWriter::Topic { producer, topic: topic.clone() }
            }
            DeadLetterSink::Local(path) => DeadLetterWriter::Local { path: path.clone() },
        };
        let shared = Arc::new(Shared {
            metrics: Metrics::new(),
            stop: AtomicBool::new(false),
            running: AtomicBool::new(false),
            ended: AtomicBool::new(false),
            positions: Mutex::default(),
            discovered: Mutex::default(),
        });
        shared.metrics.register(registry);
        let worker = Worker {
            config,
            index,
            consumer,
            dead_letters,
            shared: shared.clone(),
            partitions: Vec::new(),
            positions: BTreeMap::new(),
            monitor: Some(monitor),
        };
        let thread = std::thread::Builder::new()
            .name("kafka-indexer".to_owned())
            .spawn(move || {
                let _ended = EndGuard(worker.shared.clone());
                worker.run()
            })
            .map_err(KafkaIndexerError::Thread)?;
        Ok(IndexerHandle { shared, thread: Some(thread) })
    }
}

/// A running indexer. Dropping it stops the indexer and waits for it.
#[derive(Debug)]
pub struct IndexerHandle {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<Result<(), KafkaIndexerError>>>,
}

impl IndexerHandle {
    /// Asks the indexer to stop: it commits the batch in progress, then ends.
    pub fn stop(&self) {
        self.shared.stop.store(true, Ordering::Release);
    }

    /// True once the indexer has assigned its partitions and consumes, until it ends.
    pub fn is_running(&self) -> bool {
        self.shared.running.load(Ordering::Acquire)
    }

    /// Waits until the indexer consumes (true), or ends or `timeout` passes (false).
    pub fn wait_running(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline && !self.is_finished() {
            if self.is_running() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.is_running()
    }

    /// True when the indexer thread has ended (stopped, or failed: see [`IndexerHandle::join`]).
    pub fn is_finished(&self) -> bool {
        self.thread.as_ref().is_none_or(JoinHandle::is_finished)
    }

    /// A view of the indexer's state that can be cloned and moved elsewhere.
    pub fn status(&self) -> IndexerStatus {
        IndexerStatus { shared: self.shared.clone() }
    }

    /// What the indexer has done so far.
    pub fn stats(&self) -> IndexerStats {
        self.shared.metrics.stats()
    }

    /// Waits for the indexer to end (after [`IndexerHandle::stop`], or a failure) and returns
    /// its totals, or the error that stopped it.
    pub fn join(mut self) -> Result<IndexerStats, KafkaIndexerError> {
        let Some(thread) = self.thread.take() else { return Ok(self.stats()) };
        thread.join().map_err(|_| KafkaIndexerError::Panicked)??;
        Ok(self.stats())
    }

    /// Stops the indexer and waits for it.
    pub fn stop_and_join(self) -> Result<IndexerStats, KafkaIndexerError> {
        self.stop();
        self.join()
    }
}

impl Drop for IndexerHandle {
    fn drop(&mut self) {
        self.stop();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
