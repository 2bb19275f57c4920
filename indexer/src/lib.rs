//! Keeps the named indexes of a Vitrine data directory up to date.
//!
//! Each index is a tantivy index of products ([`ProductIndex`]) whose schema comes from the
//! product model ([`ProductFields`]): stemmed and exact copies of every text field, fast fields
//! for ranking signals, and facets; the stemmed copies are analysed in the index's language, or a
//! field's own (`analysis.rs`), which cannot change once the index holds products. [`Catalog`] opens indexes by name. Every change — an upsert,
//! a delete, a price or stock change — is a product event applied by [`ProductIndex::apply`] in
//! one commit that also records the source's offsets ([`Checkpoint`]); an event whose version is
//! not newer than the known one is skipped, so replays are harmless.
//!
//! [`KafkaIndexer`] feeds one index from one Kafka topic of product events, exactly once (see
//! `kafka/mod.rs` for batching, offsets, dead letters and metrics); [`EventPublisher`] publishes
//! events to such a topic.

mod analysis;
mod apply;
mod catalog;
mod checkpoint;
mod error;
mod kafka;
mod product_index;
mod schema;
mod snapshot;

pub use analysis::{
    exact_analyzer, language_change, query_word_splitter, stemmed_analyzer, text_languages, word_folder, word_stemmer,
};
pub use catalog::{Catalog, IndexSummary};
pub use checkpoint::{ApplyReport, Checkpoint, SourcePosition};
pub use error::{CatalogError, KafkaIndexerError};
pub use kafka::{
    DEFAULT_COMMIT_INTERVAL, DEFAULT_MAX_BATCH, DEFAULT_TOPIC_WAIT, DeadLetterSink, EventPublisher, HEADER_CODE,
    HEADER_REASON, HEADER_SOURCE_OFFSET, HEADER_SOURCE_PARTITION, HEADER_SOURCE_TOPIC, HEADER_VALUE_DROPPED,
    IndexerHandle, IndexerStats, IndexerStatus, KafkaIndexer, KafkaIndexerConfig, PublishReport, StoredDeadLetter,
    dead_letter_topic,
};
pub use product_index::{BASELINE_ACTOR, ProductIndex, SettingsVersion};
pub use schema::{EXACT_ANALYZER, ProductFields, STEMMED_ANALYZER, TextField, group_key};
pub use snapshot::{CommitPoint, copy_commit_point, link_or_copy, read_commit_point};
