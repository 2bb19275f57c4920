//! What the indexer consumes and how: its configuration, its defaults, and the timings and
//! bounds its threads share.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use rdkafka::ClientConfig;

/// The most messages in one batch (one commit), by default.
pub const DEFAULT_MAX_BATCH: usize = 5_000;
/// The longest a batch collects messages before it is committed, by default.
pub const DEFAULT_COMMIT_INTERVAL: Duration = Duration::from_millis(100);
/// How long the indexer waits for its topic to exist at start, by default.
pub const DEFAULT_TOPIC_WAIT: Duration = Duration::from_secs(60);

/// How long the topic must be quiet after a change before the index is compacted.
pub(super) const COMPACT_WHEN_IDLE_FOR: Duration = Duration::from_secs(1);
/// A batch in progress closes when no message came for this long: the consumer's queue is
/// drained, and waiting longer would only delay what was read.
pub(super) const DRAINED_AFTER: Duration = Duration::from_millis(3);
/// Polls without a batch in progress wait at most this long, so a stop is noticed quickly.
pub(super) const IDLE_POLL: Duration = Duration::from_millis(100);
/// The longest pause between retries after broker errors.
pub(super) const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// Dead letters not delivered within this time are retried (it also bounds how long a stop waits
/// while the brokers are away).
pub(super) const DEAD_LETTER_TIMEOUT: Duration = Duration::from_secs(5);
/// Bound on each metadata and watermark request.
pub(super) const BROKER_REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// How often the lag is measured (and new partitions looked for).
pub(super) const LAG_INTERVAL: Duration = Duration::from_secs(5);
/// A batch stops collecting at this many bytes of message values, whatever its count.
pub(super) const MAX_BATCH_BYTES: usize = 64 * 1024 * 1024;

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
    ///
    /// [`StoredDeadLetter`]: crate::StoredDeadLetter
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

    pub(super) fn client_config(&self, own: &[(&str, &str)]) -> ClientConfig {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults() {
        let config = KafkaIndexerConfig::new("127.0.0.1:9092", "products");
        assert_eq!(config.dead_letters, DeadLetterSink::Topic("products.dead-letter".into()));
        assert_eq!((config.max_batch, config.commit_interval), (5_000, Duration::from_millis(100)));
    }
}
