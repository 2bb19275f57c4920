//! Snapshots: one consistent archive of a data directory, made while it serves, and its restore
//! (docs/operations.md).
//!
//! - [`create_snapshot`] (`create.rs`): every index at one commit point with its Kafka offsets,
//!   the settings and their histories, interaction logs, model versions, keys and aliases, the
//!   analytics and SQLite commerce databases (online), a manifest with every file's SHA-256; a
//!   `NAME.tar.zst` that appears whole or not at all.
//! - [`restore_snapshot`] and [`verify_snapshot`] (`restore.rs`): every file checked against the
//!   manifest, every index's products, versions and offsets and the databases' figures against
//!   what the manifest says, before the restored folder gets its name.
//! - [`list_snapshots`], [`prune_snapshots`] and [`schedule`] (`schedule.rs`): the archives of a
//!   folder, the oldest deleted past a count, and snapshots every interval while a server runs.

mod create;
mod error;
mod files;
mod listing;
mod manifest;
mod restore;
mod schedule;

pub use create::{create_snapshot, index_names};
pub use error::SnapshotError;
pub use files::ARCHIVE_SUFFIX;
pub use listing::{SnapshotListing, list_snapshots, prune_snapshots};
pub use manifest::{
    AnalyticsContents, CommerceContents, CommerceSource, FORMAT, FileEntry, IndexContents, Manifest, SnapshotReport,
};
pub use restore::{RestoreReport, read_manifest, restore_snapshot, verify_snapshot};
pub use schedule::{SnapshotSchedule, schedule};
