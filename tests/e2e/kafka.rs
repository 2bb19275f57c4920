//! The Kafka path, proven against the real broker (tansu) through rdkafka: the broker itself,
//! then the indexer (in process, over temporary data directories) from topic to search.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Headers;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};
use serde_json::{Value, json};
use vitrine_e2e::{kafka_brokers, unique_topic};
use vitrine_indexer::{
    DeadLetterSink, HEADER_CODE, HEADER_REASON, HEADER_SOURCE_OFFSET, HEADER_SOURCE_PARTITION, HEADER_SOURCE_TOPIC,
    StoredDeadLetter, dead_letter_topic,
};
use vitrine_models::event::MAX_EVENT_BYTES;
use vitrine_models::{Currency, DataDir, IndexName, Money};

use crate::common::Server;
use crate::kafka_support::{
    DEADLINE, Indexer, config, create_topic, deleted, price_changed, producer, products, search, search_ids, send,
    send_events, stock_changed, upserted,
};

#[tokio::test]
async fn produce_and_consume_through_the_real_broker() {
    let Some(brokers) = kafka_brokers("produce_and_consume_through_the_real_broker") else {
        return;
    };
    let topic = unique_topic("vitrine-smoke");

    let admin: AdminClient<DefaultClientContext> =
        ClientConfig::new().set("bootstrap.servers", &brokers).create().expect("admin client");
    let created = admin
        .create_topics(&[NewTopic::new(&topic, 1, TopicReplication::Fixed(1))], &AdminOptions::new())
        .await
        .expect("create_topics request");
    for result in created {
        result.expect("topic created");
    }

    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", &brokers)
        .set("message.timeout.ms", "10000")
        .create()
        .expect("producer");
    let sent: Vec<(String, String)> = (0..5)
        .map(|n| (format!("product-{n}"), format!("{{\"event_id\":\"e{n}\",\"type\":\"product_upserted\"}}")))
        .collect();
    for (key, value) in &sent {
        producer
            .send(FutureRecord::to(&topic).key(key).payload(value), Duration::from_secs(10))
            .await
            .expect("delivered");
    }

    // Partitions are assigned directly (no group join): that is how the indexer will consume.
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &brokers)
        .set("group.id", &topic)
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    let mut assignment = TopicPartitionList::new();
    assignment.add_partition_offset(&topic, 0, Offset::Beginning).expect("partition");
    consumer.assign(&assignment).expect("assign");

    let mut received = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while received.len() < sent.len() && Instant::now() < deadline {
        if let Some(message) = consumer.poll(Duration::from_millis(200)) {
            let message = message.expect("fetched message");
            let key = String::from_utf8(message.key().expect("key").to_vec()).expect("utf-8 key");
            let value = String::from_utf8(message.payload().expect("payload").to_vec()).expect("utf-8 value");
            received.push((message.offset(), key, value));
        }
    }
    let offsets: Vec<i64> = received.iter().map(|(offset, _, _)| *offset).collect();
    assert_eq!(offsets, [0, 1, 2, 3, 4], "offsets of the consumed messages");
    let pairs: Vec<(String, String)> = received.into_iter().map(|(_, key, value)| (key, value)).collect();
    assert_eq!(pairs, sent, "what came back is what went in, in order");
}

/// Titles, prices (EUR), stock and popularity of the mugs the change test starts with.
const MUGS: [(&str, f64, u64, f64); 4] =
    [("mug-red", 12.0, 5, 10.0), ("mug-blue", 8.0, 5, 50.0), ("mug-green", 20.0, 5, 1.0), ("mug-black", 15.0, 5, 5.0)];

fn mug(id: &str, version: u64, price: f64, stock: u64, popularity: f64) -> Value {
    let colour = id.trim_start_matches("mug-");
    upserted(
        id,
        version,
        json!({"title": format!("Ceramic mug {colour}"), "price": price, "currency": "EUR", "stock": stock,
               "popularity": popularity}),
    )
}

#[tokio::test]
async fn upserts_deletes_price_and_stock_changes_reach_search() {
    let Some(brokers) = kafka_brokers("upserts_deletes_price_and_stock_changes_reach_search") else {
        return;
    };
    let topic = unique_topic("vitrine-changes");
    create_topic(&brokers, &topic, 3).await;
    let data = tempfile::tempdir().expect("temp dir");
    let indexer = Indexer::start(&DataDir::new(data.path()), config(&brokers, &topic, None));
    let producer = producer(&brokers);

    let upserts: Vec<Value> =
        MUGS.iter().map(|&(id, price, stock, popularity)| mug(id, 1, price, stock, popularity)).collect();
    send_events(&producer, &topic, &upserts).await;
    indexer.wait_consumed(4).await;
    let index = &indexer.index;
    assert_eq!(search_ids(index, json!({"q": "ceramic mug"}))[0], "mug-blue", "the most popular mug first");
    assert_eq!(
        search_ids(index, json!({"q": "mug", "sort": "price_asc"})),
        ["mug-blue", "mug-red", "mug-black", "mug-green"]
    );
    let mid_price = json!({"q": "mug", "sort": "price_asc", "filter": {"price": {"gte": 10, "lt": 16}}});
    assert_eq!(search_ids(index, mid_price.clone()), ["mug-red", "mug-black"]);

    let changes = [
        price_changed("mug-green", 2, 9.0),
        stock_changed("mug-blue", 2, 0),
        deleted("mug-black", 2),
        price_changed("mug-red", 1, 99.0), // not newer than the indexed version 1: stale
    ];
    send_events(&producer, &topic, &changes).await;
    indexer.wait_consumed(8).await;
    assert_eq!(search_ids(index, json!({"q": "mug", "sort": "price_asc"})), ["mug-blue", "mug-green", "mug-red"]);
    assert_eq!(
        search_ids(index, mid_price),
        ["mug-red"],
        "the stale price change was skipped, the deleted mug is gone"
    );
    let relevance = search_ids(index, json!({"q": "ceramic mug"}));
    assert_eq!(
        relevance.last().map(String::as_str),
        Some("mug-blue"),
        "out of stock: demoted, not hidden: {relevance:?}"
    );
    assert_eq!(relevance.len(), 3);

    let stats = indexer.handle.stats();
    assert_eq!((stats.applied, stats.stale, stats.dead_lettered), (7, 1, 0), "{stats:?}");
    let metrics = indexer.metrics();
    assert!(metrics.contains("vitrine_indexer_kafka_events_consumed_total 8"), "{metrics}");
    assert!(metrics.contains("vitrine_indexer_kafka_events_applied_total 7"), "{metrics}");
    assert!(metrics.contains("vitrine_indexer_kafka_events_stale_total 1"), "{metrics}");
    assert!(metrics.contains("vitrine_indexer_kafka_seconds_since_commit"), "{metrics}");
    let offsets = &indexer.index.checkpoint().offsets[&topic];
    assert_eq!(offsets.values().sum::<i64>(), 8, "the commit records every consumed offset: {offsets:?}");
}

/// A small shop's history: upserts, price and stock changes, deletes, an upsert older than a
/// delete, and a resurrection.
fn history() -> Vec<Value> {
    let mut events = Vec::new();
    for n in 0..24_u64 {
        let noun = ["mug", "lamp", "chair", "vase"][n as usize % 4];
        let colour = ["red", "blue", "green"][n as usize % 3];
        events.push(upserted(
            &format!("p{n}"),
            1,
            json!({"title": format!("{colour} {noun} {n}"), "price": 5.0 + n as f64, "currency": "EUR",
                   "stock": n % 5, "popularity": ((n * 7) % 24) as f64}),
        ));
    }
    for n in (0..24_u64).step_by(3) {
        events.push(price_changed(&format!("p{n}"), 2, 50.0 - n as f64));
    }
    for n in (1..24_u64).step_by(4) {
        events.push(stock_changed(&format!("p{n}"), 3, n));
    }
    for n in (2..24_u64).step_by(5) {
        events.push(deleted(&format!("p{n}"), 4));
    }
    events.push(upserted("p2", 3, json!({"title": "red chair, older than its delete"})));
    events.push(upserted("p7", 9, json!({"title": "green lamp is back", "price": 1.0, "currency": "EUR"})));
    events
}

#[tokio::test]
async fn replaying_the_whole_topic_twice_builds_the_same_index() {
    let Some(brokers) = kafka_brokers("replaying_the_whole_topic_twice_builds_the_same_index") else {
        return;
    };
    let topic = unique_topic("vitrine-replay");
    create_topic(&brokers, &topic, 3).await;
    let producer = producer(&brokers);
    let events = history();
    let total = events.len() as u64;
    send_events(&producer, &topic, &events).await;

    let first_dir = tempfile::tempdir().expect("temp dir");
    let first = Indexer::start(&DataDir::new(first_dir.path()), config(&brokers, &topic, None));
    first.wait_consumed(total).await;
    let expected = products(&first.index);
    assert!(expected.iter().any(|(id, version, ..)| id == "p7" && *version == 9), "{expected:?}");
    assert!(!expected.iter().any(|(id, ..)| id == "p2"), "an older upsert does not resurrect a deleted product");
    let applied = first.handle.stats().applied;

    // The same events again, appended: every one is stale now.
    send_events(&producer, &topic, &events).await;
    first.wait_consumed(2 * total).await;
    assert_eq!(products(&first.index), expected);
    assert_eq!(first.handle.stats().applied, applied, "replayed events change nothing: {:?}", first.handle.stats());

    // A fresh replica reads both copies and ends with the same products, versions and checkpoint.
    let second_dir = tempfile::tempdir().expect("temp dir");
    let second = Indexer::start(&DataDir::new(second_dir.path()), config(&brokers, &topic, None));
    second.wait_consumed(2 * total).await;
    assert_eq!(products(&second.index), expected);
    assert_eq!(second.index.checkpoint(), first.index.checkpoint(), "same offsets and tombstones");
}

/// Malformed messages between good events of the same product (key `p1`): their keys, bytes and
/// dead-letter codes. The oversize one is a valid event past the 1 MiB limit.
fn malformed() -> Vec<(&'static str, Option<&'static str>, Vec<u8>)> {
    let mut missing_version = upserted("p1", 5, json!({"title": "no version"}));
    missing_version.as_object_mut().expect("object").remove("version");
    let huge = upserted("p1", 6, json!({"title": "huge", "description": "x".repeat(MAX_EVENT_BYTES + 10)}));
    vec![
        ("malformed_json", Some("p1"), b"{\"event_id\": oops".to_vec()),
        (
            "unknown_type",
            Some("p1"),
            json!({"event_id": "e", "type": "product_renamed", "product_id": "p1",
                                            "version": 4, "occurred_at": "2026-11-24T10:00:00Z"})
            .to_string()
            .into_bytes(),
        ),
        ("missing_field", Some("p1"), missing_version.to_string().into_bytes()),
        ("oversize", Some("p1"), huge.to_string().into_bytes()),
        ("key_mismatch", Some("p2"), upserted("p1", 7, json!({"title": "wrong key"})).to_string().into_bytes()),
    ]
}

/// A malformed message: its dead-letter code, partition, offset, key and bytes.
type Letter = (String, i32, i64, Option<String>, Vec<u8>);

/// Sends good, malformed, good events: the malformed ones, sorted.
async fn send_good_and_malformed(producer: &FutureProducer, topic: &str) -> Vec<Letter> {
    send_events(producer, topic, &[upserted("p1", 1, json!({"title": "first"}))]).await;
    let mut sent = Vec::new();
    for (code, key, bytes) in malformed() {
        let (partition, offset) = send(producer, topic, key, &bytes).await;
        sent.push((code.to_owned(), partition, offset, key.map(str::to_owned), bytes));
    }
    send_events(
        producer,
        topic,
        &[upserted("p1", 2, json!({"title": "after"})), upserted("p2", 1, json!({"title": "p2"}))],
    )
    .await;
    sent.sort();
    sent
}

fn assert_good_events_applied(indexer: &Indexer) {
    let all = products(&indexer.index);
    let versions: Vec<(&str, u64, &str)> =
        all.iter().map(|(id, v, title, ..)| (id.as_str(), *v, title.as_str())).collect();
    assert_eq!(versions, [("p1", 2, "after"), ("p2", 1, "p2")], "the partition kept flowing past the malformed events");
    let stats = indexer.handle.stats();
    assert_eq!((stats.dead_lettered, stats.applied), (5, 3), "{stats:?}");
}

#[tokio::test]
async fn malformed_events_go_to_the_dead_letter_topic_and_good_ones_around_them_apply() {
    let Some(brokers) = kafka_brokers("malformed_events_go_to_the_dead_letter_topic_and_good_ones_around_them_apply")
    else {
        return;
    };
    let topic = unique_topic("vitrine-dead");
    create_topic(&brokers, &topic, 3).await;
    let data = tempfile::tempdir().expect("temp dir");
    let indexer = Indexer::start(&DataDir::new(data.path()), config(&brokers, &topic, None));
    let producer = producer(&brokers);
    let sent = send_good_and_malformed(&producer, &topic).await;
    indexer.wait_consumed(8).await;
    assert_good_events_applied(&indexer);

    // The dead-letter topic holds each malformed message once, with its code and source.
    let dead_topic = dead_letter_topic(&topic);
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &brokers)
        .set("group.id", &dead_topic)
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    let metadata = consumer.fetch_metadata(Some(&dead_topic), Duration::from_secs(10)).expect("metadata");
    let partitions: Vec<i32> = metadata.topics()[0].partitions().iter().map(|p| p.id()).collect();
    assert_eq!(partitions.len(), 3, "as many partitions as the source");
    let mut assignment = TopicPartitionList::new();
    for partition in partitions {
        assignment.add_partition_offset(&dead_topic, partition, Offset::Beginning).expect("partition");
    }
    consumer.assign(&assignment).expect("assign");
    let mut letters = Vec::new();
    let deadline = Instant::now() + DEADLINE;
    while letters.len() < sent.len() && Instant::now() < deadline {
        let Some(message) = consumer.poll(Duration::from_millis(200)) else { continue };
        let message = message.expect("dead letter");
        let headers: BTreeMap<String, String> = message
            .headers()
            .map(|headers| {
                headers
                    .iter()
                    .map(|h| (h.key.to_owned(), String::from_utf8_lossy(h.value.unwrap_or_default()).into_owned()))
                    .collect()
            })
            .unwrap_or_default();
        let key = message.key().map(|key| String::from_utf8_lossy(key).into_owned());
        letters.push((headers, key, message.payload().unwrap_or_default().to_vec()));
    }
    assert_eq!(letters.len(), sent.len(), "every malformed message is dead-lettered");
    for (code, partition, offset, key, bytes) in &sent {
        let found = letters
            .iter()
            .find(|(headers, ..)| headers.get(HEADER_CODE) == Some(code))
            .unwrap_or_else(|| panic!("no dead letter with code {code}"));
        let (headers, found_key, value) = found;
        assert_eq!(headers[HEADER_SOURCE_PARTITION], partition.to_string(), "{code}");
        assert_eq!(headers[HEADER_SOURCE_OFFSET], offset.to_string(), "{code}");
        assert_eq!(headers[HEADER_SOURCE_TOPIC], topic);
        assert!(!headers[HEADER_REASON].is_empty());
        assert_eq!(found_key, key, "{code}: the original key");
        assert!(value == bytes, "{code}: the original bytes ({} vs {})", value.len(), bytes.len());
    }
}

#[tokio::test]
async fn malformed_events_go_to_the_local_dead_letter_store_in_local_mode() {
    let Some(brokers) = kafka_brokers("malformed_events_go_to_the_local_dead_letter_store_in_local_mode") else {
        return;
    };
    let topic = unique_topic("vitrine-dead-local");
    create_topic(&brokers, &topic, 3).await;
    let data = tempfile::tempdir().expect("temp dir");
    let data_dir = DataDir::new(data.path());
    let store = data_dir.dead_letters(&IndexName::new("products").expect("name"));
    let indexer = Indexer::start(&data_dir, config(&brokers, &topic, Some(DeadLetterSink::Local(store.clone()))));
    let producer = producer(&brokers);
    let sent = send_good_and_malformed(&producer, &topic).await;
    indexer.wait_consumed(8).await;
    assert_good_events_applied(&indexer);

    let text = std::fs::read_to_string(&store).expect("the local dead-letter store");
    let stored: Vec<StoredDeadLetter> =
        text.lines().map(|line| serde_json::from_str(line).expect("a letter")).collect();
    let mut got: Vec<Letter> = stored
        .into_iter()
        .map(|letter| {
            assert_eq!(letter.topic, topic);
            (letter.code, letter.partition, letter.offset, letter.key, letter.value.expect("UTF-8 value").into_bytes())
        })
        .collect();
    got.sort();
    assert!(got == sent, "the local store holds each malformed message with its code and source");
}

#[tokio::test]
async fn a_restarted_indexer_resumes_from_its_committed_offsets() {
    let Some(brokers) = kafka_brokers("a_restarted_indexer_resumes_from_its_committed_offsets") else {
        return;
    };
    let topic = unique_topic("vitrine-restart");
    create_topic(&brokers, &topic, 3).await;
    let data = tempfile::tempdir().expect("temp dir");
    let data_dir = DataDir::new(data.path());
    let producer = producer(&brokers);
    let before: Vec<Value> =
        (0..6).map(|n| upserted(&format!("p{n}"), 1, json!({"title": format!("lamp {n}")}))).collect();
    send_events(&producer, &topic, &before).await;

    let first = Indexer::start(&data_dir, config(&brokers, &topic, None));
    first.wait_consumed(6).await;
    let Indexer { catalog, index, handle, .. } = first;
    let stats = handle.stop_and_join().expect("a clean stop");
    assert_eq!((stats.consumed, stats.applied), (6, 6));
    drop((catalog, index)); // releases the index (and its writer lock) for the next indexer

    let mut after: Vec<Value> = (0..3).map(|n| price_changed(&format!("p{n}"), 2, 4.5)).collect();
    after.extend((6..9).map(|n| {
        upserted(&format!("p{n}"), 1, json!({"title": format!("lamp {n}"), "price": 3.0, "currency": "EUR"}))
    }));
    send_events(&producer, &topic, &after).await;

    let second = Indexer::start(&data_dir, config(&brokers, &topic, None));
    second.wait_consumed(6).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let stats = second.handle.stats();
    assert_eq!((stats.consumed, stats.applied, stats.stale), (6, 6, 0), "nothing read twice: {stats:?}");
    assert!(second.metrics().contains("vitrine_indexer_kafka_events_stale_total 0"));
    let all = products(&second.index);
    assert_eq!(all.len(), 9);
    for (id, version, _, price, _) in &all {
        let n: u32 = id[1..].parse().expect("number");
        match n {
            0..3 => assert_eq!((*version, price.as_deref()), (2, Some("4.50 EUR")), "{id}"),
            3..6 => assert_eq!((*version, price.as_deref()), (1, None), "{id}"),
            _ => assert_eq!((*version, price.as_deref()), (1, Some("3.00 EUR")), "{id}"),
        }
    }
    assert_eq!(second.index.checkpoint().offsets[&topic].values().sum::<i64>(), 12);
}

/// The ranking tier of a relevance score: matched words, typo tiers and the stock penalty are
/// constants in thousands (see `query/src/text.rs`); BM25 and the business signals add less.
/// Waits until an index holds no deleted documents: the indexer compacts it once the topic is
/// quiet, so that BM25 statistics count live products only.
async fn wait_compacted(index: &vitrine_indexer::ProductIndex) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while index.searcher().segment_readers().iter().any(|segment| segment.num_deleted_docs() > 0) {
        assert!(Instant::now() < deadline, "the index was not compacted within 30 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn two_replicas_of_one_topic_converge() {
    let Some(brokers) = kafka_brokers("two_replicas_of_one_topic_converge") else {
        return;
    };
    let topic = unique_topic("vitrine-replicas");
    create_topic(&brokers, &topic, 3).await;
    let (dir_a, dir_b) = (tempfile::tempdir().expect("temp dir"), tempfile::tempdir().expect("temp dir"));
    let replica_a = Indexer::start(&DataDir::new(dir_a.path()), config(&brokers, &topic, None));
    let replica_b = Indexer::start(&DataDir::new(dir_b.path()), config(&brokers, &topic, None));
    let producer = producer(&brokers);
    let events = history();
    send_events(&producer, &topic, &events).await;
    replica_a.wait_consumed(events.len() as u64).await;
    replica_b.wait_consumed(events.len() as u64).await;

    assert_eq!(products(&replica_a.index), products(&replica_b.index), "the same products and versions");
    assert_eq!(replica_a.index.checkpoint(), replica_b.index.checkpoint(), "the same offsets and tombstones");
    // Once quiet, both are compacted: relevance statistics count live products only, and ties
    // break on the product, not on its place in the index. Exactly the same top 10 (and scores).
    wait_compacted(&replica_a.index).await;
    wait_compacted(&replica_b.index).await;
    let (server_a, server_b) = (Server::over(replica_a.catalog.clone()), Server::over(replica_b.catalog.clone()));
    for query in [
        json!({"q": "", "sort": "popularity", "per_page": 10}),
        json!({"q": "", "sort": "price_asc", "filter": {"price": {"lt": 30}}, "per_page": 10}),
        json!({"q": "vase", "sort": "price_desc", "per_page": 10}),
        json!({"q": "", "sort": "price_desc", "filter": {"in_stock": true}, "per_page": 10}),
        json!({"q": "lamp", "per_page": 10}),
        json!({"q": "red", "per_page": 10}),
        json!({"q": "blue chair", "per_page": 10}),
        json!({"q": "green mug", "per_page": 10}),
        json!({"q": "chiar", "per_page": 10}),
    ] {
        let top_a = search(&replica_a.index, query.clone());
        assert!(!top_a.is_empty(), "{query}");
        assert_eq!(top_a, search(&replica_b.index, query.clone()), "the same top 10 for {query}");
        // And as served: each replica's own HTTP API over its own index.
        let mut served = Vec::new();
        for server in [&server_a, &server_b] {
            let (status, body) = server.post("/v1/indexes/products/search", None, &query).await.parts();
            assert_eq!(status, StatusCode::OK, "{query}: {body}");
            let hits = body["hits"].as_array().unwrap_or_else(|| panic!("no hits: {body}"));
            served.push(hits.iter().map(|hit| hit["id"].as_str().unwrap_or_default().to_owned()).collect::<Vec<_>>());
        }
        let expected: Vec<String> = top_a.iter().map(|(id, _)| id.clone()).collect();
        assert_eq!(served, [expected.clone(), expected], "both replicas serve the same top 10 for {query}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commerce_stock_changes_reach_search_through_the_outbox_and_the_broker() {
    let Some(brokers) = kafka_brokers("commerce_stock_changes_reach_search_through_the_outbox_and_the_broker") else {
        return;
    };
    let topic = unique_topic("vitrine-commerce");
    create_topic(&brokers, &topic, 1).await;
    let topics = vitrine::outbox_relay::RelayTopics::beside(&topic);
    create_topic(&brokers, &topics.orders, 1).await;
    let data = tempfile::tempdir().expect("temp dir");
    let indexer = Indexer::start(&DataDir::new(data.path()), config(&brokers, &topic, None));
    // The catalog's product, in stock.
    send_events(&producer(&brokers), &topic, &[mug("mug-blue", 1, 12.0, 5, 1.0)]).await;
    indexer.wait_consumed(1).await;

    // Commerce sells it out, then reprices it; the relay publishes the outbox.
    let store = vitrine_commerce::Store::connect(
        &format!("sqlite:{}", DataDir::new(data.path()).commerce_db().display()),
        None,
    )
    .await
    .expect("commerce");
    store.seed_sku("mug-blue", gbp(1_200), 5).await.expect("seed");
    store.set_stock("mug-blue", 0, Some(gbp(1_500))).await.expect("sold out, new price");
    let relay = vitrine::outbox_relay::producer(&brokers).expect("producer");
    let published = vitrine::outbox_relay::relay_once(&store, &relay, &topics).await.expect("relay");
    assert_eq!(published, 2, "a stock and a price event");
    assert!(store.unsent_events(10).await.expect("outbox").is_empty(), "marked sent");
    assert_eq!(vitrine::outbox_relay::relay_once(&store, &relay, &topics).await.expect("relay"), 0);

    indexer.wait_consumed(3).await;
    let stored = products(&indexer.index);
    let blue = stored.iter().find(|row| row.0 == "mug-blue").expect("indexed");
    assert_eq!(blue.4, Some(0), "search sees the stock commerce set: {blue:?}");
    assert_eq!(blue.3.as_deref(), Some("15.00 GBP"), "and the price: {blue:?}");
    assert_eq!(indexer.handle.stats().stale, 0, "commerce's versions are newer than the catalog's");
}

/// An amount in pence.
fn gbp(pence: i64) -> Money {
    Money::from_minor_units(pence, Currency::GBP)
}
