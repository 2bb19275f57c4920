//! Dead letters: events that cannot be used, with where they came from, written to the
//! dead-letter topic (delivery awaited, failures retried) or to the local JSON Lines store
//! (fsynced), before the batch that read them is committed.

use std::collections::BTreeSet;
use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rdkafka::ClientContext;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{DeliveryResult, Header, OwnedHeaders};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer, ProducerContext, PurgeConfig};
use serde::{Deserialize, Serialize};
use vitrine_models::DeadLetter;

use super::config::DEAD_LETTER_TIMEOUT;
use super::shared::{Backoff, Shared};
use crate::error::KafkaIndexerError;

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
pub(super) struct DeadLetterRecord {
    pub(super) reason: DeadLetter,
    pub(super) partition: i32,
    pub(super) offset: i64,
    pub(super) key: Option<Vec<u8>>,
    pub(super) value: Vec<u8>,
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

/// Records failed deliveries (by the index of the message in its batch).
#[derive(Debug, Default)]
pub(super) struct DeliveryLog {
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

pub(super) enum DeadLetterWriter {
    Topic { producer: BaseProducer<DeliveryLog>, topic: String },
    Local { path: PathBuf },
}

impl DeadLetterWriter {
    /// Writes a batch's dead letters: true once all are acknowledged, false when a stop came
    /// first (the batch is then not committed, and is read again on restart).
    pub(super) fn write(
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
