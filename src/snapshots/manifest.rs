//! A snapshot's manifest: what it holds, and every file's size and SHA-256. It is the archive's
//! first entry, so listing snapshots reads only that.

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use vitrine_commerce::CommerceSummary;
use vitrine_models::DataDir;

use crate::analytics::AnalyticsSummary;

/// The manifest format this Vitrine writes and the newest it restores.
pub const FORMAT: u32 = 1;

/// The archive entry holding the manifest (the first one).
pub const MANIFEST_ENTRY: &str = "manifest.json";

/// The folder, inside the archive, holding the data directory's files.
pub const DATA_PREFIX: &str = "data";

/// What a snapshot holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = SnapshotManifest)]
pub struct Manifest {
    /// The manifest format (1).
    pub format: u32,
    /// The Vitrine version that wrote it.
    pub vitrine_version: String,
    /// The snapshot's name (`vitrine-20261207T230102Z`), also its archive's file stem.
    pub name: String,
    /// When its copy was taken.
    pub created_at: DateTime<Utc>,
    /// Every index, at one commit point each.
    pub indexes: Vec<IndexContents>,
    /// The search-analytics database, if there was one.
    pub analytics: Option<AnalyticsContents>,
    /// The commerce database, or why it is not included.
    pub commerce: CommerceContents,
    /// The index aliases (alias → index).
    pub aliases: std::collections::BTreeMap<String, String>,
    /// Every file of the archive's `data/` folder, by path relative to the data directory.
    pub files: Vec<FileEntry>,
}

impl Manifest {
    /// Bytes of data the archive holds (before compression).
    pub fn data_bytes(&self) -> u64 {
        self.files.iter().map(|file| file.bytes).sum()
    }
}

/// One index in a snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct IndexContents {
    /// The index's name.
    pub name: String,
    /// Live products.
    pub documents: u64,
    /// tantivy's opstamp of the commit copied.
    pub opstamp: u64,
    /// The Kafka offsets of that commit (topic → partition → next offset): a Kafka indexer
    /// started on the restored data resumes there.
    #[schema(value_type = Object)]
    pub offsets: std::collections::BTreeMap<String, std::collections::BTreeMap<i32, i64>>,
    /// Tombstones of deleted products kept with the commit.
    pub tombstones: u64,
    /// SHA-256 of every live product's id and version: equal means the same products at the same
    /// versions.
    pub documents_digest: String,
    /// The settings history's newest version (none: never changed over HTTP).
    pub settings_version: Option<u64>,
    /// The active recommendation model version, if one was trained.
    pub model_version: Option<String>,
    /// Every model version kept (the active one and its rollback points).
    pub model_versions: Vec<String>,
    /// Interaction-log parts (Parquet).
    pub interaction_parts: u64,
}

/// The analytics database in a snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AnalyticsContents {
    /// Searches logged.
    pub searches: u64,
    /// Shopper events.
    pub events: u64,
    /// Experiments defined.
    pub experiments: u64,
    /// Experiment exposures.
    pub exposures: u64,
}

impl From<AnalyticsSummary> for AnalyticsContents {
    fn from(summary: AnalyticsSummary) -> Self {
        AnalyticsContents {
            searches: summary.searches,
            events: summary.events,
            experiments: summary.experiments,
            exposures: summary.exposures,
        }
    }
}

/// The commerce database in a snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "backend", rename_all = "lowercase")]
pub enum CommerceContents {
    /// The embedded SQLite database, copied online.
    Sqlite {
        /// Orders placed.
        orders: u64,
        /// The newest order's number.
        last_order: Option<String>,
        /// SKUs.
        skus: u64,
        /// Units on hand over every SKU.
        units_on_hand: i64,
        /// Units held over every SKU.
        units_reserved: i64,
        /// SHA-256 of every SKU's stock and version.
        stock_digest: String,
    },
    /// A PostgreSQL database: not in the snapshot; back it up with `pg_dump`
    /// (docs/operations.md) at the same time.
    Postgresql {
        /// Always `false`.
        included: bool,
        /// What to do instead.
        note: String,
    },
    /// No commerce database existed yet.
    None,
}

impl CommerceContents {
    /// The figures of an SQLite commerce database.
    pub fn sqlite(summary: CommerceSummary) -> Self {
        CommerceContents::Sqlite {
            orders: summary.orders,
            last_order: summary.last_order,
            skus: summary.skus,
            units_on_hand: summary.units_on_hand,
            units_reserved: summary.units_reserved,
            stock_digest: summary.stock_digest,
        }
    }

    /// A PostgreSQL commerce database, left out.
    pub fn postgresql() -> Self {
        CommerceContents::Postgresql {
            included: false,
            note: "the commerce database is PostgreSQL: back it up with pg_dump (docs/operations.md)".to_owned(),
        }
    }
}

/// One file of a snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = SnapshotFile)]
pub struct FileEntry {
    /// Its path relative to the data directory, `/`-separated.
    pub path: String,
    /// Its size.
    pub bytes: u64,
    /// Its SHA-256, hex.
    pub sha256: String,
}

/// Where a snapshot finds the commerce database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommerceSource {
    /// The embedded SQLite database at this path (none yet: nothing to copy).
    Sqlite(PathBuf),
    /// A PostgreSQL database: left out of the snapshot (`pg_dump`, docs/operations.md).
    Postgresql,
}

impl CommerceSource {
    /// The source for a server's commerce URL (`None`: the data directory's embedded database).
    pub fn of(data_dir: &DataDir, url: Option<&str>) -> Self {
        match url {
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                CommerceSource::Postgresql
            }
            Some(url) => {
                let path = url.trim_start_matches("sqlite://").trim_start_matches("sqlite:");
                CommerceSource::Sqlite(PathBuf::from(path.split('?').next().unwrap_or(path)))
            }
            None => CommerceSource::Sqlite(data_dir.commerce_db()),
        }
    }
}

/// What a snapshot wrote.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct SnapshotReport {
    /// The archive.
    #[schema(value_type = String)]
    pub archive: PathBuf,
    /// Its size.
    pub archive_bytes: u64,
    /// Time taken, in seconds.
    pub seconds: f64,
    /// What it holds.
    pub manifest: Manifest,
}
