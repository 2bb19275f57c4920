//! Publishing product events to a topic ([`EventPublisher`], what `vitrine publish` uses).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::DeliveryResult;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer, ProducerContext};
use rdkafka::{ClientConfig, ClientContext};
use serde::Serialize;
use vitrine_models::ProductEvent;

use super::admin::create_topic;
use super::config::BROKER_REQUEST_TIMEOUT;
use crate::error::KafkaIndexerError;

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
