//! The crate's errors, each defined once, apart from the code that returns it: the catalog, the
//! product index and its settings history all return [`CatalogError`], and defining it in one of
//! them tied their files into an import circle; every part of the Kafka indexer and the publisher
//! returns [`KafkaIndexerError`].

use std::path::{Path, PathBuf};
use std::time::Duration;

use rdkafka::error::KafkaError;
use vitrine_models::IndexName;

/// Failures of the catalog store.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// No index of that name exists in the data directory.
    #[error("index `{0}` not found")]
    IndexNotFound(IndexName),
    /// Reading or writing the data directory failed.
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Settings given to an index are not valid (a user error: the message says why).
    #[error("invalid settings: {0}")]
    InvalidSettings(String),
    /// Settings that change the language of an index's text (`language`, `field_languages`) while
    /// it holds products, which were analysed in the old one, or in a draft tried on them. A user
    /// error: the change needs a reindex into a new index; the message says which fields.
    #[error("{0}")]
    LanguageChangeRequiresReindex(String),
    /// An index's settings file is not valid.
    #[error("settings file {path} is not valid: {reason}")]
    Settings {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The search index failed (opening, reading, writing or committing).
    #[error("search index {path}: {source}")]
    Search {
        /// The index folder.
        path: PathBuf,
        /// What tantivy said.
        source: tantivy::TantivyError,
    },
}

impl CatalogError {
    pub(crate) fn search(path: &Path, source: tantivy::TantivyError) -> Self {
        CatalogError::Search { path: path.to_owned(), source }
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
