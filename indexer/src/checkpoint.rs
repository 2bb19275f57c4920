//! What a commit of product events records and reports: the [`Checkpoint`] stored as the commit
//! payload, the [`SourcePosition`] a batch moves it to, and the [`ApplyReport`] of what the batch
//! did. They live apart from `apply.rs` so that the product index, which keeps the checkpoint and
//! returns reports, does not import the file that writes to it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// What applying a batch did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ApplyReport {
    /// Products that were not in the index.
    pub inserted: u64,
    /// Products replaced by a newer version.
    pub updated: u64,
    /// Products deleted.
    pub deleted: u64,
    /// Price or stock changes applied.
    pub partial: u64,
    /// Events skipped because the product's known version is the same or newer.
    pub stale: u64,
    /// Deletes and partial updates of products the index does not have (skipped).
    pub missing: u64,
}

impl ApplyReport {
    /// Events that changed the index.
    pub fn applied(&self) -> u64 {
        self.inserted + self.updated + self.deleted + self.partial
    }
}

/// What the index remembers with each commit (the commit payload, JSON).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Kafka topic → partition → the next offset to consume.
    #[serde(default)]
    pub offsets: BTreeMap<String, BTreeMap<i32, i64>>,
    /// Deleted products' last versions, so an older upsert arriving later does not resurrect them.
    #[serde(default)]
    pub tombstones: BTreeMap<String, u64>,
}

/// Where the source of a batch stands after it: a topic and, per partition, the next offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourcePosition {
    /// The topic.
    pub topic: String,
    /// Partition → next offset to consume.
    pub next_offsets: BTreeMap<i32, i64>,
}
