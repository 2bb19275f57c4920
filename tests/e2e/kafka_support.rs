//! What the Kafka end-to-end tests share: topics, producing events, indexers over temporary data
//! directories, and waiting for an index with a deadline (never for the broker's high watermark,
//! which tansu's memory storage gets wrong).

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use prometheus_client::registry::Registry;
use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::producer::{FutureProducer, FutureRecord};
use serde_json::{Value, json};
use vitrine_indexer::{Catalog, DeadLetterSink, IndexerHandle, KafkaIndexer, KafkaIndexerConfig, ProductIndex};
use vitrine_models::{DataDir, IndexName};
use vitrine_query::SearchRequest;

/// How long a test waits for the indexer to reach what it expects.
pub const DEADLINE: Duration = Duration::from_secs(60);

/// Creates a topic with `partitions` partitions.
pub async fn create_topic(brokers: &str, topic: &str, partitions: i32) {
    let admin: AdminClient<DefaultClientContext> =
        ClientConfig::new().set("bootstrap.servers", brokers).create().expect("admin client");
    let created = admin
        .create_topics(&[NewTopic::new(topic, partitions, TopicReplication::Fixed(1))], &AdminOptions::new())
        .await
        .expect("create_topics request");
    for result in created {
        result.expect("topic created");
    }
}

/// A producer that may send messages past the 1 MiB event limit (to test `oversize`).
pub fn producer(brokers: &str) -> FutureProducer {
    ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("message.timeout.ms", "10000")
        .set("message.max.bytes", "4194304")
        .create()
        .expect("producer")
}

/// Sends one message and waits for its delivery: its (partition, offset).
pub async fn send(producer: &FutureProducer, topic: &str, key: Option<&str>, value: &[u8]) -> (i32, i64) {
    let mut record = FutureRecord::<str, [u8]>::to(topic).payload(value);
    if let Some(key) = key {
        record = record.key(key);
    }
    let delivery = producer.send(record, Duration::from_secs(10)).await.expect("delivered");
    (delivery.partition, delivery.offset)
}

/// Sends events (JSON values keyed by their `product_id`) in order; their (partition, offset)s.
pub async fn send_events(producer: &FutureProducer, topic: &str, events: &[Value]) -> Vec<(i32, i64)> {
    let mut positions = Vec::with_capacity(events.len());
    for event in events {
        let key = event["product_id"].as_str().expect("product_id");
        positions.push(send(producer, topic, Some(key), event.to_string().as_bytes()).await);
    }
    positions
}

fn envelope(kind: &str, id: &str, version: u64, payload: Option<Value>) -> Value {
    let mut event = json!({"event_id": format!("{kind}-{id}-{version}"), "type": kind, "product_id": id,
                           "version": version, "occurred_at": "2026-11-24T10:00:00Z"});
    if let Some(payload) = payload {
        event["payload"] = payload;
    }
    event
}

/// A `product_upserted` event; `product` holds the fields besides `id`.
pub fn upserted(id: &str, version: u64, product: Value) -> Value {
    let mut payload = product;
    payload["id"] = json!(id);
    envelope("product_upserted", id, version, Some(payload))
}

/// A `product_deleted` event.
pub fn deleted(id: &str, version: u64) -> Value {
    envelope("product_deleted", id, version, None)
}

/// A `price_changed` event, in euros.
pub fn price_changed(id: &str, version: u64, price: f64) -> Value {
    envelope("price_changed", id, version, Some(json!({"price": price, "currency": "EUR"})))
}

/// A `stock_changed` event.
pub fn stock_changed(id: &str, version: u64, stock: u64) -> Value {
    envelope("stock_changed", id, version, Some(json!({"stock": stock})))
}

/// An indexer over a data directory, in process.
pub struct Indexer {
    pub catalog: Catalog,
    pub index: Arc<ProductIndex>,
    pub handle: IndexerHandle,
    pub registry: Registry,
}

/// The indexer's config for a test: a short wait for the topic, dead letters where asked.
pub fn config(brokers: &str, topic: &str, dead_letters: Option<DeadLetterSink>) -> KafkaIndexerConfig {
    let mut config = KafkaIndexerConfig::new(brokers, topic);
    config.topic_wait = Duration::from_secs(30);
    if let Some(sink) = dead_letters {
        config.dead_letters = sink;
    }
    config
}

impl Indexer {
    /// Starts an indexer feeding the index `products` of `data_dir` and waits until it consumes.
    pub fn start(data_dir: &DataDir, config: KafkaIndexerConfig) -> Indexer {
        let catalog = Catalog::new(data_dir.clone());
        let index = catalog.get_or_create(&IndexName::new("products").expect("name")).expect("index");
        let mut registry = Registry::with_prefix("vitrine");
        let handle = KafkaIndexer::spawn(config, index.clone(), &mut registry).expect("indexer");
        if !handle.wait_running(Duration::from_secs(30)) {
            handle.stop();
            panic!("the indexer did not start: {:?}", handle.join());
        }
        Indexer { catalog, index, handle, registry }
    }

    /// The Prometheus text of its metrics.
    pub fn metrics(&self) -> String {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry).expect("encode");
        text
    }

    /// Waits until it has consumed (and committed) `messages` messages.
    pub async fn wait_consumed(&self, messages: u64) {
        let handle = &self.handle;
        wait_for(&format!("{messages} messages consumed"), || async {
            assert!(!handle.is_finished(), "the indexer ended: {:?}", handle.stats());
            handle.stats().consumed >= messages
        })
        .await;
        assert_eq!(self.handle.stats().consumed, messages, "no more than expected");
    }
}

/// Polls `done` every 50 ms until it holds, or fails the test at the deadline.
pub async fn wait_for<F, Fut>(what: &str, mut done: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + DEADLINE;
    while !done().await {
        assert!(Instant::now() < deadline, "timed out after {DEADLINE:?} waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A product as (id, version, title, price, stock).
pub type ProductRow = (String, u64, String, Option<String>, Option<u64>);

/// Every product of an index, sorted.
pub fn products(index: &ProductIndex) -> Vec<ProductRow> {
    let mut all: Vec<_> = index
        .all()
        .expect("read the index")
        .into_iter()
        .map(|product| {
            (
                product.id.to_string(),
                product.version,
                product.title,
                product.price.map(|m| m.to_string()),
                product.stock,
            )
        })
        .collect();
    all.sort();
    all
}

/// The (id, score) of a search's hits.
pub fn search(index: &ProductIndex, request: Value) -> Vec<(String, f64)> {
    let request: SearchRequest = serde_json::from_value(request).expect("search request");
    let response = vitrine_query::search(index, &index.settings(), &request).expect("search");
    response.hits.into_iter().map(|hit| (hit.id, hit.score)).collect()
}

/// The ids of a search's hits.
pub fn search_ids(index: &ProductIndex, request: Value) -> Vec<String> {
    search(index, request).into_iter().map(|(id, _)| id).collect()
}
