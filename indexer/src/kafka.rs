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

use std::collections::{BTreeMap, BTreeSet};
use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{DeliveryResult, Header, Message, OwnedHeaders};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer, ProducerContext, PurgeConfig};
use rdkafka::{ClientConfig, ClientContext, Offset, TopicPartitionList};
use serde::{Deserialize, Serialize};
use vitrine_models::{DeadLetter, ProductEvent};

use crate::checkpoint::SourcePosition;
use crate::product_index::ProductIndex;

/// The most messages in one batch (one commit), by default.
pub const DEFAULT_MAX_BATCH: usize = 5_000;
/// The longest a batch collects messages before it is committed, by default.
pub const DEFAULT_COMMIT_INTERVAL: Duration = Duration::from_millis(100);
/// How long the indexer waits for its topic to exist at start, by default.
pub const DEFAULT_TOPIC_WAIT: Duration = Duration::from_secs(60);

/// Header of a dead letter: its code (`malformed_json`, …).
pub const HEADER_CODE: &str = "vitrine-dead-letter-code";
/// Header of a dead letter: why the event could not be used.
pub const HEADER_REASON: &str = "vitrine-dead-letter-reason";
/// Header of a dead letter: the topic it was read from.
pub const HEADER_SOURCE_TOPIC: &str = "vitrine-dead-letter-source-topic";
/// Header of a dead letter: the partition it was read from (decimal).
pub const HEADER_SOURCE_PARTITION: &str = "vitrine-dead-letter-source-partition";
/// Header of a dead letter: its offset in that partition (decimal).
pub const HEADER_SOURCE_OFFSET: &str = "vitrine-dead-letter-source-offset";
/// Header of a dead letter whose original bytes the broker refused as too large: their length.
/// The message then has no value.
pub const HEADER_VALUE_DROPPED: &str = "vitrine-dead-letter-value-dropped-bytes";

/// How long the topic must be quiet after a change before the index is compacted.
const COMPACT_WHEN_IDLE_FOR: Duration = Duration::from_secs(1);
/// A batch in progress closes when no message came for this long: the consumer's queue is
/// drained, and waiting longer would only delay what was read.
const DRAINED_AFTER: Duration = Duration::from_millis(3);
/// Polls without a batch in progress wait at most this long, so a stop is noticed quickly.
const IDLE_POLL: Duration = Duration::from_millis(100);
/// The longest pause between retries after broker errors.
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// Dead letters not delivered within this time are retried (it also bounds how long a stop waits
/// while the brokers are away).
const DEAD_LETTER_TIMEOUT: Duration = Duration::from_secs(5);
/// Bound on each metadata and watermark request.
const BROKER_REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// How often the lag is measured (and new partitions looked for).
const LAG_INTERVAL: Duration = Duration::from_secs(5);
/// A batch stops collecting at this many bytes of message values, whatever its count.
const MAX_BATCH_BYTES: usize = 64 * 1024 * 1024;

/// The dead-letter topic of a topic: `TOPIC.dead-letter`.
pub fn dead_letter_topic(topic: &str) -> String {
    format!("{topic}.dead-letter")
}

/// Where events that cannot be used go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeadLetterSink {
    /// A Kafka topic (by default the source topic's [`dead_letter_topic`]); created at start if
    /// missing, with as many partitions as the source.
    Topic(String),
    /// A local JSON Lines file (`DataDir::dead_letters`), one [`StoredDeadLetter`] per line.
    Local(PathBuf),
}

/// What the indexer consumes and how.
#[derive(Debug, Clone)]
pub struct KafkaIndexerConfig {
    /// Bootstrap servers, `HOST:PORT[,HOST:PORT…]`.
    pub brokers: String,
    /// The topic of product events.
    pub topic: String,
    /// The most messages in one batch (one commit).
    pub max_batch: usize,
    /// The longest a batch collects messages, from its first one, before it is committed.
    pub commit_interval: Duration,
    /// Where unusable events go.
    pub dead_letters: DeadLetterSink,
    /// How long to wait at start for the topic to exist (and the brokers to answer).
    pub topic_wait: Duration,
    /// Extra librdkafka properties for the consumer and the dead-letter producer (they override
    /// the indexer's own, e.g. `message.max.bytes`).
    pub client_properties: BTreeMap<String, String>,
}

impl KafkaIndexerConfig {
    /// The defaults for a topic: batches of up to 5,000 messages or 100 ms, dead letters to
    /// `TOPIC.dead-letter`, up to 60 s of waiting for the topic.
    pub fn new(brokers: impl Into<String>, topic: impl Into<String>) -> Self {
        let topic = topic.into();
        KafkaIndexerConfig {
            brokers: brokers.into(),
            dead_letters: DeadLetterSink::Topic(dead_letter_topic(&topic)),
            topic,
            max_batch: DEFAULT_MAX_BATCH,
            commit_interval: DEFAULT_COMMIT_INTERVAL,
            topic_wait: DEFAULT_TOPIC_WAIT,
            client_properties: BTreeMap::new(),
        }
    }

    fn client_config(&self, own: &[(&str, &str)]) -> ClientConfig {
        let mut config = ClientConfig::new();
        config.set("bootstrap.servers", &self.brokers);
        for (key, value) in own {
            config.set(*key, *value);
        }
        for (key, value) in &self.client_properties {
            config.set(key, value);
        }
        config
    }
}

/// Failures of the Kafka indexer and publisher.
#[derive(Debug, thiserror::Error)]
pub enum KafkaIndexerError {
    /// A Kafka client could not be created or configured, or refused a request outright.
    #[error("Kafka: {0}")]
    Kafka(#[from] KafkaError),
    /// The topic did not exist, or the brokers did not answer, within the configured wait.
    #[error("topic `{topic}` not available after {} s: {last_error}", waited.as_secs())]
    TopicUnavailable {
        /// The topic.
        topic: String,
        /// How long the indexer waited.
        waited: Duration,
        /// What the brokers last said.
        last_error: String,
    },
    /// Applying a batch to the index failed; the batch is not committed.
    #[error("applying a batch to the index failed: {0}")]
    Apply(#[source] tantivy::TantivyError),
    /// The local dead-letter store could not be written.
    #[error("cannot write the dead-letter store {path}: {source}")]
    DeadLetterStore {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A topic to publish to does not exist and could not be created.
    #[error("topic `{topic}`: {reason}")]
    NoTopic {
        /// The topic.
        topic: String,
        /// Why it cannot be used.
        reason: String,
    },
    /// The indexer thread could not be started.
    #[error("cannot start the indexer thread: {0}")]
    Thread(#[source] std::io::Error),
    /// The indexer thread panicked.
    #[error("the indexer thread panicked")]
    Panicked,
    /// Published events were not delivered.
    #[error("{failed} events were not delivered to the brokers: {first_error}")]
    Undelivered {
        /// How many.
        failed: u64,
        /// The first delivery error.
        first_error: String,
    },
}

/// One line of the local dead-letter store (`dead-letters.jsonl`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredDeadLetter {
    /// The dead-letter code (`malformed_json`, `oversize`, …).
    pub code: String,
    /// What exactly was wrong.
    pub reason: String,
    /// The topic the event was read from.
    pub topic: String,
    /// Its partition.
    pub partition: i32,
    /// Its offset.
    pub offset: i64,
    /// The message key, when it was UTF-8.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// The message key in hexadecimal, when it was not UTF-8.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_hex: Option<String>,
    /// The message value, when it was UTF-8.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// The message value in hexadecimal, when it was not UTF-8.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_hex: Option<String>,
    /// When the indexer wrote it.
    pub dead_lettered_at: DateTime<Utc>,
}

/// Text when the bytes are UTF-8, else hexadecimal (the second element).
fn text_or_hex(bytes: &[u8]) -> (Option<String>, Option<String>) {
    match std::str::from_utf8(bytes) {
        Ok(text) => (Some(text.to_owned()), None),
        Err(_) => (None, Some(bytes.iter().map(|byte| format!("{byte:02x}")).collect())),
    }
}

/// An event that could not be used, with where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
struct DeadLetterRecord {
    reason: DeadLetter,
    partition: i32,
    offset: i64,
    key: Option<Vec<u8>>,
    value: Vec<u8>,
}

impl DeadLetterRecord {
    fn stored(&self, topic: &str, now: DateTime<Utc>) -> StoredDeadLetter {
        let (key, key_hex) = self.key.as_deref().map(text_or_hex).unwrap_or_default();
        let (value, value_hex) = text_or_hex(&self.value);
        StoredDeadLetter {
            code: self.reason.code.clone(),
            reason: self.reason.reason.clone(),
            topic: topic.to_owned(),
            partition: self.partition,
            offset: self.offset,
            key,
            key_hex,
            value,
            value_hex,
            dead_lettered_at: now,
        }
    }
}

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
    fn add(&mut self, partition: i32, offset: i64, key: Option<&[u8]>, value: &[u8]) {
        self.consumed += 1;
        self.bytes += value.len();
        let next = self.next_offsets.entry(partition).or_insert(offset + 1);
        *next = (*next).max(offset + 1);
        match ProductEvent::parse(key, value) {
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
struct PartitionLabels {
    topic: String,
    partition: i32,
}

/// The seconds since the last commit, computed at each scrape.
#[derive(Debug)]
struct CommitClock {
    origin: Instant,
    /// Milliseconds from `origin` to the last commit (0 until the first: the time since start).
    last_commit_ms: AtomicU64,
}

impl CommitClock {
    fn mark(&self) {
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
struct Metrics {
    consumed: Counter,
    applied: Counter,
    stale: Counter,
    dead_lettered: Counter,
    batches: Counter,
    lag: Family<PartitionLabels, Gauge>,
    /// The summed lag of the last measurement, or -1.
    total_lag: AtomicI64,
    apply_seconds: Histogram,
    clock: Arc<CommitClock>,
}

impl Metrics {
    fn new() -> Self {
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

    fn register(&self, registry: &mut Registry) {
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

    fn stats(&self) -> IndexerStats {
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

/// What the indexer thread and its handle share.
#[derive(Debug)]
struct Shared {
    metrics: Metrics,
    stop: AtomicBool,
    running: AtomicBool,
    ended: AtomicBool,
    /// Per partition, the next offset to apply, once known (for the lag).
    positions: Mutex<BTreeMap<i32, i64>>,
    /// The topic's partitions as the monitor last saw them, for the indexer to assign.
    discovered: Mutex<Option<Vec<i32>>>,
}

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

impl Shared {
    fn stopping(&self) -> bool {
        self.stop.load(Ordering::Acquire)
    }
}

/// Exponential pauses between retries, cut short by a stop.
#[derive(Debug)]
struct Backoff {
    next: Duration,
}

impl Backoff {
    const FIRST: Duration = Duration::from_millis(100);

    fn new() -> Self {
        Backoff { next: Self::FIRST }
    }

    fn reset(&mut self) {
        self.next = Self::FIRST;
    }

    /// Sleeps for the next pause; false when a stop was requested (at once or meanwhile).
    fn sleep(&mut self, shared: &Shared) -> bool {
        let until = Instant::now() + self.next;
        self.next = (self.next * 2).min(MAX_BACKOFF);
        while !shared.stopping() {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return true;
            }
            std::thread::sleep(left.min(Duration::from_millis(50)));
        }
        false
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

/// Records failed deliveries (by the index of the message in its batch).
#[derive(Debug, Default)]
struct DeliveryLog {
    failures: Mutex<Vec<(usize, KafkaError)>>,
}

impl DeliveryLog {
    fn take_failures(&self) -> Vec<(usize, KafkaError)> {
        std::mem::take(&mut *self.failures.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

impl ClientContext for DeliveryLog {}

impl ProducerContext for DeliveryLog {
    type DeliveryOpaque = usize;

    fn delivery(&self, delivery_result: &DeliveryResult<'_>, position: usize) {
        if let Err((error, _)) = delivery_result {
            self.failures.lock().unwrap_or_else(PoisonError::into_inner).push((position, error.clone()));
        }
    }
}

fn too_large(error: &KafkaError) -> bool {
    error.rdkafka_error_code() == Some(RDKafkaErrorCode::MessageSizeTooLarge)
}

enum DeadLetterWriter {
    Topic { producer: BaseProducer<DeliveryLog>, topic: String },
    Local { path: PathBuf },
}

impl DeadLetterWriter {
    /// Writes a batch's dead letters: true once all are acknowledged, false when a stop came
    /// first (the batch is then not committed, and is read again on restart).
    fn write(
        &self,
        source_topic: &str,
        records: &[DeadLetterRecord],
        shared: &Shared,
    ) -> Result<bool, KafkaIndexerError> {
        match self {
            DeadLetterWriter::Topic { producer, topic } => {
                Ok(send_dead_letters(producer, topic, source_topic, records, shared))
            }
            DeadLetterWriter::Local { path } => {
                append_dead_letters(path, source_topic, records)?;
                Ok(true)
            }
        }
    }
}

fn append_dead_letters(path: &Path, source_topic: &str, records: &[DeadLetterRecord]) -> Result<(), KafkaIndexerError> {
    let failed = |source| KafkaIndexerError::DeadLetterStore { path: path.to_owned(), source };
    if let Some(folder) = path.parent() {
        std::fs::create_dir_all(folder).map_err(failed)?;
    }
    let now = Utc::now();
    let mut lines = Vec::new();
    for record in records {
        serde_json::to_writer(&mut lines, &record.stored(source_topic, now)).map_err(|error| failed(error.into()))?;
        lines.push(b'\n');
    }
    let mut file = OpenOptions::new().create(true).append(true).open(path).map_err(failed)?;
    file.write_all(&lines).map_err(failed)?;
    file.sync_data().map_err(failed)
}

/// Produces dead letters and waits for their delivery, retrying failures with a backoff.
fn send_dead_letters(
    producer: &BaseProducer<DeliveryLog>,
    topic: &str,
    source_topic: &str,
    records: &[DeadLetterRecord],
    shared: &Shared,
) -> bool {
    let mut pending: Vec<usize> = (0..records.len()).collect();
    let mut without_value = BTreeSet::new();
    let mut backoff = Backoff::new();
    loop {
        let mut failures = Vec::new();
        for &position in &pending {
            let record = &records[position];
            let partition = record.partition.to_string();
            let offset = record.offset.to_string();
            let dropped = record.value.len().to_string();
            let mut headers = OwnedHeaders::new_with_capacity(6)
                .insert(Header { key: HEADER_CODE, value: Some(record.reason.code.as_str()) })
                .insert(Header { key: HEADER_REASON, value: Some(record.reason.reason.as_str()) })
                .insert(Header { key: HEADER_SOURCE_TOPIC, value: Some(source_topic) })
                .insert(Header { key: HEADER_SOURCE_PARTITION, value: Some(partition.as_str()) })
                .insert(Header { key: HEADER_SOURCE_OFFSET, value: Some(offset.as_str()) });
            let mut message = BaseRecord::with_opaque_to(topic, position);
            if without_value.contains(&position) {
                headers = headers.insert(Header { key: HEADER_VALUE_DROPPED, value: Some(dropped.as_str()) });
            } else {
                message = message.payload(record.value.as_slice());
            }
            if let Some(key) = &record.key {
                message = message.key(key.as_slice());
            }
            message = message.headers(headers);
            loop {
                match producer.send(message) {
                    Ok(()) => break,
                    Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), returned)) => {
                        message = returned;
                        producer.poll(Duration::from_millis(100));
                    }
                    Err((error, _)) => {
                        failures.push((position, error));
                        break;
                    }
                }
            }
        }
        if producer.flush(DEAD_LETTER_TIMEOUT + Duration::from_secs(1)).is_err() {
            // Whatever is still queued fails now (and is retried), rather than landing twice.
            producer.purge(PurgeConfig::default().queue().inflight());
            producer.poll(Duration::from_millis(100));
        }
        failures.extend(producer.context().take_failures());
        if failures.is_empty() {
            return true;
        }
        for (position, error) in &failures {
            if too_large(error) {
                without_value.insert(*position);
            }
        }
        tracing::warn!(
            topic,
            failed = failures.len(),
            error = %failures[0].1,
            "cannot write dead letters; retrying (the batch is committed once they are delivered)"
        );
        pending = failures.into_iter().map(|(position, _)| position).collect::<BTreeSet<_>>().into_iter().collect();
        if !backoff.sleep(shared) {
            return false;
        }
    }
}

/// Creates a topic unless it exists: true when created, false when it existed. The replication
/// factor is the brokers' default (`default.replication.factor`), or 1 on brokers that do not
/// support asking for their default. Blocks on a runtime of its own: not for async callers.
fn create_topic(config: &ClientConfig, topic: &str, partitions: i32) -> Result<bool, String> {
    let admin: AdminClient<DefaultClientContext> = config.create().map_err(|error| error.to_string())?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .map_err(|error| format!("cannot start a runtime for the admin client: {error}"))?;
    let options = AdminOptions::new().request_timeout(Some(BROKER_REQUEST_TIMEOUT));
    // -1: the brokers' default (KIP-464).
    let mut replication = -1;
    loop {
        let new_topic = NewTopic::new(topic, partitions, TopicReplication::Fixed(replication));
        let results =
            runtime.block_on(admin.create_topics([&new_topic], &options)).map_err(|error| error.to_string())?;
        match results.into_iter().next() {
            Some(Ok(_)) => return Ok(true),
            Some(Err((_, RDKafkaErrorCode::TopicAlreadyExists))) => return Ok(false),
            Some(Err((_, RDKafkaErrorCode::InvalidReplicationFactor))) if replication == -1 => {
                replication = 1;
            }
            Some(Err((_, code))) => return Err(code.to_string()),
            None => return Err("the brokers did not answer for the topic".to_owned()),
        }
    }
}

/// Creates the dead-letter topic if it is missing (best effort: a broker that auto-creates
/// topics, or an operator, may have done it).
fn create_dead_letter_topic(config: &KafkaIndexerConfig, topic: &str, partitions: i32) {
    match create_topic(&config.client_config(&[]), topic, partitions) {
        Ok(true) => tracing::info!(topic, partitions, "created the dead-letter topic"),
        Ok(false) => {}
        Err(error) => tracing::warn!(topic, %error, "cannot create the dead-letter topic"),
    }
}

/// The indexer thread.
struct Worker {
    config: KafkaIndexerConfig,
    index: Arc<ProductIndex>,
    consumer: BaseConsumer,
    dead_letters: DeadLetterWriter,
    shared: Arc<Shared>,
    /// The assigned partitions, sorted.
    partitions: Vec<i32>,
    /// Per partition, the next offset to apply, once known (from the checkpoint or a commit).
    positions: BTreeMap<i32, i64>,
    /// The client of the monitor thread, until it starts.
    monitor: Option<BaseConsumer>,
}

impl Worker {
    fn run(mut self) -> Result<(), KafkaIndexerError> {
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
                    batch.add(partition, message.offset(), message.key(), message.payload().unwrap_or_default());
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

/// The topic's partitions, sorted, or `None` when it does not exist.
fn partitions_now(client: &BaseConsumer, topic: &str, timeout: Duration) -> Result<Option<Vec<i32>>, KafkaError> {
    let metadata = client.fetch_metadata(Some(topic), timeout)?;
    let Some(found) = metadata.topics().iter().find(|found| found.name() == topic) else { return Ok(None) };
    if found.error().is_some() || found.partitions().is_empty() {
        return Ok(None);
    }
    let mut partitions: Vec<i32> = found.partitions().iter().map(|partition| partition.id()).collect();
    partitions.sort_unstable();
    Ok(Some(partitions))
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

/// How many published events the brokers acknowledged, or refused.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PublishReport {
    /// Delivered.
    pub delivered: u64,
    /// Not delivered.
    pub failed: u64,
}

#[derive(Debug, Default)]
struct PublishLog {
    delivered: AtomicU64,
    failed: AtomicU64,
    first_error: Mutex<Option<String>>,
}

impl ClientContext for PublishLog {}

impl ProducerContext for PublishLog {
    type DeliveryOpaque = ();

    fn delivery(&self, delivery_result: &DeliveryResult<'_>, (): ()) {
        match delivery_result {
            Ok(_) => {
                self.delivered.fetch_add(1, Ordering::Relaxed);
            }
            Err((error, _)) => {
                self.failed.fetch_add(1, Ordering::Relaxed);
                self.first_error
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .get_or_insert_with(|| error.to_string());
            }
        }
    }
}

/// Publishes product events to a topic, keyed by product id (what `vitrine publish` uses).
pub struct EventPublisher {
    producer: BaseProducer<PublishLog>,
    topic: String,
    config: ClientConfig,
}

impl std::fmt::Debug for EventPublisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventPublisher").field("topic", &self.topic).finish_non_exhaustive()
    }
}

impl EventPublisher {
    /// A publisher to `topic` through `brokers`.
    pub fn new(brokers: &str, topic: &str) -> Result<Self, KafkaIndexerError> {
        let mut config = ClientConfig::new();
        config.set("bootstrap.servers", brokers);
        let producer = config
            .clone()
            .set("message.timeout.ms", "30000")
            .set("linger.ms", "10")
            .create_with_context(PublishLog::default())?;
        Ok(EventPublisher { producer, topic: topic.to_owned(), config })
    }

    /// The topic's partition count, creating the topic with `create_partitions` partitions when
    /// it does not exist and a count is given; an error when it does not exist otherwise (rather
    /// than timing out every event). Blocks: not for async callers.
    pub fn ensure_topic(&self, create_partitions: Option<i32>) -> Result<usize, KafkaIndexerError> {
        let unavailable = |reason: String| KafkaIndexerError::NoTopic { topic: self.topic.clone(), reason };
        let metadata = self.producer.client().fetch_metadata(Some(&self.topic), BROKER_REQUEST_TIMEOUT)?;
        let existing = metadata
            .topics()
            .iter()
            .find(|found| found.name() == self.topic && found.error().is_none() && !found.partitions().is_empty())
            .map(|found| found.partitions().len());
        match (existing, create_partitions) {
            (Some(count), _) => Ok(count),
            (None, None) => Err(unavailable("it does not exist: create it, or give a partition count".into())),
            (None, Some(partitions)) => {
                create_topic(&self.config, &self.topic, partitions).map_err(unavailable)?;
                Ok(usize::try_from(partitions).unwrap_or(0))
            }
        }
    }

    /// Queues an event (key: the product id; value: its JSON), waiting while the queue is full.
    pub fn send(&self, event: &ProductEvent) -> Result<(), KafkaIndexerError> {
        let value = event.to_json().to_string();
        let mut record = BaseRecord::to(&self.topic).key(event.product_id.as_str()).payload(value.as_str());
        loop {
            match self.producer.send(record) {
                Ok(()) => {
                    self.producer.poll(Duration::ZERO);
                    return Ok(());
                }
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), returned)) => {
                    record = returned;
                    self.producer.poll(Duration::from_millis(100));
                }
                Err((error, _)) => return Err(error.into()),
            }
        }
    }

    /// Deliveries acknowledged or refused so far.
    pub fn progress(&self) -> PublishReport {
        let log = self.producer.context();
        PublishReport { delivered: log.delivered.load(Ordering::Relaxed), failed: log.failed.load(Ordering::Relaxed) }
    }

    /// Waits up to `timeout` for the queued events' deliveries, calling `progress` meanwhile.
    /// An error when some were not delivered.
    pub fn finish(
        &self,
        timeout: Duration,
        mut progress: impl FnMut(PublishReport),
    ) -> Result<PublishReport, KafkaIndexerError> {
        let deadline = Instant::now() + timeout;
        while self.producer.in_flight_count() > 0 && Instant::now() < deadline {
            self.producer.poll(Duration::from_millis(100));
            progress(self.progress());
        }
        let queued = u64::try_from(self.producer.in_flight_count()).unwrap_or(0);
        let report = self.progress();
        progress(report);
        let failed = report.failed + queued;
        if failed > 0 {
            let first_error =
                self.producer.context().first_error.lock().unwrap_or_else(PoisonError::into_inner).clone();
            return Err(KafkaIndexerError::Undelivered {
                failed,
                first_error: first_error.unwrap_or_else(|| format!("not acknowledged within {} s", timeout.as_secs())),
            });
        }
        Ok(report)
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
        batch.add(0, 10, Some(b"a"), &event("a", 1));
        batch.add(1, 4, Some(b"b"), b"{not json");
        batch.add(0, 11, Some(b"a"), &event("a", 2));
        batch.add(1, 5, None, &event("c", 1));
        batch.add(2, 0, Some(b"x"), &event("y", 1));
        assert_eq!(batch.consumed, 5);
        let versions: Vec<(String, u64)> =
            batch.events.iter().map(|event| (event.product_id.to_string(), event.version)).collect();
        assert_eq!(versions, [("a".to_owned(), 1), ("a".to_owned(), 2), ("c".to_owned(), 1)]);
        let dead: Vec<(&str, i32, i64)> =
            batch.dead.iter().map(|record| (record.reason.code.as_str(), record.partition, record.offset)).collect();
        assert_eq!(dead, [("malformed_json", 1, 4), ("key_mismatch", 2, 0)]);
        assert_eq!(batch.next_offsets, [(0, 12), (1, 6), (2, 1)].into());
    }

    #[test]
    fn local_dead_letters_are_json_lines_with_the_original_bytes() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("indexes/shop/dead-letters.jsonl");
        let records = [
            DeadLetterRecord {
                reason: DeadLetter { code: "malformed_json".into(), reason: "expected value".into() },
                partition: 2,
                offset: 7,
                key: Some(b"p-1".to_vec()),
                value: b"{oops".to_vec(),
            },
            DeadLetterRecord {
                reason: DeadLetter { code: "malformed_json".into(), reason: "not UTF-8".into() },
                partition: 0,
                offset: 1,
                key: None,
                value: vec![0xff, 0x00],
            },
        ];
        append_dead_letters(&path, "products", &records).expect("write");
        append_dead_letters(&path, "products", &records[..1]).expect("append");
        let text = std::fs::read_to_string(&path).expect("read");
        let stored: Vec<StoredDeadLetter> =
            text.lines().map(|line| serde_json::from_str(line).expect("a dead letter per line")).collect();
        assert_eq!(stored.len(), 3);
        assert_eq!((stored[0].partition, stored[0].offset), (2, 7));
        assert_eq!(stored[0].key.as_deref(), Some("p-1"));
        assert_eq!(stored[0].value.as_deref(), Some("{oops"));
        assert_eq!(stored[1].value_hex.as_deref(), Some("ff00"));
        assert!(stored[1].key.is_none() && stored[1].value.is_none());
        assert_eq!(stored[2].topic, "products");
    }

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

    #[test]
    fn defaults() {
        let config = KafkaIndexerConfig::new("127.0.0.1:9092", "products");
        assert_eq!(config.dead_letters, DeadLetterSink::Topic("products.dead-letter".into()));
        assert_eq!((config.max_batch, config.commit_interval), (5_000, Duration::from_millis(100)));
    }
}
