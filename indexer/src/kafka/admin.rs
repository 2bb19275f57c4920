//! Asking the brokers: a topic's partitions, and creating topics (the dead-letter topic, or a
//! topic to publish to) through the admin client.

use std::time::Duration;

use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};

use super::config::{BROKER_REQUEST_TIMEOUT, KafkaIndexerConfig};

/// The topic's partitions, sorted, or `None` when it does not exist.
pub(super) fn partitions_now(
    client: &BaseConsumer,
    topic: &str,
    timeout: Duration,
) -> Result<Option<Vec<i32>>, KafkaError> {
    let metadata = client.fetch_metadata(Some(topic), timeout)?;
    let Some(found) = metadata.topics().iter().find(|found| found.name() == topic) else { return Ok(None) };
    if found.error().is_some() || found.partitions().is_empty() {
        return Ok(None);
    }
    let mut partitions: Vec<i32> = found.partitions().iter().map(|partition| partition.id()).collect();
    partitions.sort_unstable();
    Ok(Some(partitions))
}

/// Creates a topic unless it exists: true when created, false when it existed. The replication
/// factor is the brokers' default (`default.replication.factor`), or 1 on brokers that do not
/// support asking for their default. Blocks on a runtime of its own: not for async callers.
pub(super) fn create_topic(config: &ClientConfig, topic: &str, partitions: i32) -> Result<bool, String> {
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
pub(super) fn create_dead_letter_topic(config: &KafkaIndexerConfig, topic: &str, partitions: i32) {
    match create_topic(&config.client_config(&[]), topic, partitions) {
        Ok(true) => tracing::info!(topic, partitions, "created the dead-letter topic"),
        Ok(false) => {}
        Err(error) => tracing::warn!(topic, %error, "cannot create the dead-letter topic"),
    }
}
