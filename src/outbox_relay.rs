//! The outbox relay: publishes commerce's outbox to Kafka — stock and price changes to the product
//! topic the indexer reads (so search shows availability), order events to the orders topic — and
//! marks them sent. At least once: a crash between the delivery and the mark re-sends, and every
//! message carries its `event_id` for consumers to dedupe (the indexer also skips stale versions).

use std::time::Duration;

use rdkafka::ClientConfig;
use rdkafka::producer::{FutureProducer, FutureRecord};
use vitrine_commerce::{ORDERS_TOPIC, PRODUCTS_TOPIC, Store};

/// Events published per round.
const BATCH: i64 = 500;
/// Pause when the outbox is empty.
const IDLE: Duration = Duration::from_millis(200);

/// Where the outbox's topics go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayTopics {
    /// The product events' topic (the indexer's).
    pub products: String,
    /// The order events' topic.
    pub orders: String,
}

impl RelayTopics {
    /// The product topic and, beside it, `{products}-orders`.
    pub fn beside(products: &str) -> RelayTopics {
        RelayTopics { products: products.to_owned(), orders: format!("{products}-orders") }
    }
}

/// A producer for the relay: every message acknowledged by the broker before it counts.
///
/// # Errors
/// rdkafka refuses the configuration.
pub fn producer(brokers: &str) -> Result<FutureProducer, rdkafka::error::KafkaError> {
    ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("acks", "all")
        .set("enable.idempotence", "false")
        .set("message.timeout.ms", "10000")
        .set("linger.ms", "5")
        .create()
}

/// Publishes one batch of unsent events (in outbox order) and marks the delivered ones sent;
/// returns how many were published. Stops at the first failed delivery (the rest go next time).
///
/// # Errors
/// The outbox cannot be read or marked.
pub async fn relay_once(
    store: &Store,
    producer: &FutureProducer,
    topics: &RelayTopics,
) -> Result<usize, vitrine_commerce::CommerceError> {
    let events = store.unsent_events(BATCH).await?;
    let mut delivered = Vec::with_capacity(events.len());
    for event in &events {
        let topic = match event.topic.as_str() {
            PRODUCTS_TOPIC => topics.products.as_str(),
            ORDERS_TOPIC => topics.orders.as_str(),
            other => other,
        };
        let payload = event.payload.to_string();
        let record = FutureRecord::to(topic).key(event.key.as_str()).payload(payload.as_str());
        match producer.send(record, Duration::from_secs(10)).await {
            Ok(_) => delivered.push(event.id.clone()),
            Err((error, _)) => {
                tracing::warn!(%error, topic, "outbox relay: delivery failed; will retry");
                break;
            }
        }
    }
    store.mark_sent(&delivered).await?;
    Ok(delivered.len())
}

/// Relays until the task is dropped (aborted at shutdown: at-least-once allows it anywhere).
pub async fn run(store: Store, producer: FutureProducer, topics: RelayTopics) {
    loop {
        match relay_once(&store, &producer, &topics).await {
            Ok(0) => tokio::time::sleep(IDLE).await,
            Ok(_) => {}
            Err(error) => {
                tracing::error!(%error, "outbox relay");
                tokio::time::sleep(IDLE * 5).await;
            }
        }
    }
}
