//! The Kafka path, proven against the real broker (tansu) through rdkafka.

use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};
use vitrine_e2e::{kafka_brokers, unique_topic};

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
