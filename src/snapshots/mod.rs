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
mod manifest;
mod restore;
mod schedule;

use std::fs::File;
use std::path::{Path, PathBuf};

pub use create::{create_snapshot, index_names};
pub use manifest::{AnalyticsContents, CommerceContents, FORMAT, FileEntry, IndexContents, Manifest};
pub use restore::{RestoreReport, read_manifest, restore_snapshot, verify_snapshot};
pub use schedule::{SnapshotSchedule, schedule};
use vitrine_models::DataDir;

/// The lock file inside the staging folder.
const LOCK_FILE: &str = "lock";

/// The file name ending of a snapshot archive.
pub const ARCHIVE_SUFFIX: &str = ".tar.zst";

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

/// What can go wrong with a snapshot.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// Another snapshot of the data directory is being made.
    #[error("a snapshot of this data directory is already being made")]
    InProgress,
    /// The archive is not a whole, valid snapshot (the reason says what does not match).
    #[error("not a valid snapshot: {0}")]
    Invalid(String),
    /// The restore target exists and is not empty.
    #[error("{0} exists and is not empty: restore into a new folder")]
    TargetNotEmpty(PathBuf),
    /// An index could not be copied.
    #[error("index `{index}`: {reason}")]
    Index {
        /// The index.
        index: String,
        /// Why.
        reason: String,
    },
    /// A database could not be copied or read.
    #[error("database: {0}")]
    Database(String),
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

impl SnapshotError {
    fn io(path: &Path, source: std::io::Error) -> Self {
        SnapshotError::Io { path: path.to_owned(), source }
    }
}

/// The data directory's snapshot lock: one snapshot at a time, across processes (an advisory
/// lock on a file of the staging folder, released when dropped or when the process dies).
#[derive(Debug)]
struct SnapshotLock {
    staging: PathBuf,
    _file: File,
}

impl SnapshotLock {
    /// Takes the lock, or says a snapshot is in progress; clears what a dead snapshot left.
    fn acquire(data_dir: &DataDir) -> Result<SnapshotLock, SnapshotError> {
        let staging = data_dir.snapshot_staging();
        std::fs::create_dir_all(&staging).map_err(|source| SnapshotError::io(&staging, source))?;
        let path = staging.join(LOCK_FILE);
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|source| SnapshotError::io(&path, source))?;
        match fs4::FileExt::try_lock(&file) {
            Ok(()) => {}
            Err(fs4::TryLockError::WouldBlock) => return Err(SnapshotError::InProgress),
            Err(fs4::TryLockError::Error(source)) => return Err(SnapshotError::io(&path, source)),
        }
        // Holding the lock: any other staged folder is a dead snapshot's.
        for entry in std::fs::read_dir(&staging).map_err(|source| SnapshotError::io(&staging, source))? {
            let entry = entry.map_err(|source| SnapshotError::io(&staging, source))?;
            if entry.path().is_dir() {
                std::fs::remove_dir_all(entry.path()).map_err(|source| SnapshotError::io(&entry.path(), source))?;
            }
        }
        Ok(SnapshotLock { staging, _file: file })
    }

    fn staging(&self) -> &Path {
        &self.staging
    }
}

/// `path` relative to `root`, `/`-separated; refused unless every part is a plain name.
fn relative_path(root: &Path, path: &Path) -> Result<String, SnapshotError> {
    let relative = path
        .strip_prefix(root)
        .map_err(|_| SnapshotError::Invalid(format!("{} is outside {}", path.display(), root.display())))?;
    let mut parts = Vec::new();
    for component in relative.components() {
        match component {
            std::path::Component::Normal(part) => parts.push(
                part.to_str()
                    .ok_or_else(|| SnapshotError::Invalid(format!("{} is not UTF-8", path.display())))?
                    .to_owned(),
            ),
            _ => return Err(SnapshotError::Invalid(format!("{} is not a plain path", path.display()))),
        }
    }
    Ok(parts.join("/"))
}

/// Syncs a folder, so a rename in it is on disk.
fn sync_folder(folder: &Path) -> Result<(), SnapshotError> {
    File::open(folder).and_then(|file| file.sync_all()).map_err(|source| SnapshotError::io(folder, source))
}

/// One archive of a snapshot folder.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct SnapshotListing {
    /// The snapshot's name.
    pub name: String,
    /// Its archive.
    #[schema(value_type = String)]
    pub archive: PathBuf,
    /// The archive's size.
    pub archive_bytes: u64,
    /// When its copy was taken.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// Products over every index.
    pub documents: u64,
    /// Its indexes.
    pub indexes: Vec<String>,
}

/// The snapshots in `folder`, oldest first (archives whose manifest cannot be read are skipped:
/// only a verify or a restore reads a whole archive).
///
/// # Errors
/// The folder cannot be read.
pub fn list_snapshots(folder: &Path) -> Result<Vec<SnapshotListing>, SnapshotError> {
    let entries = match std::fs::read_dir(folder) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(SnapshotError::io(folder, source)),
    };
    let mut listings = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| SnapshotError::io(folder, source))?;
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || !name.ends_with(ARCHIVE_SUFFIX) {
            continue;
        }
        let Ok(manifest) = read_manifest(&path) else { continue };
        let archive_bytes = entry.metadata().map_err(|source| SnapshotError::io(&path, source))?.len();
        listings.push(SnapshotListing {
            name: manifest.name,
            archive: path,
            archive_bytes,
            created_at: manifest.created_at,
            documents: manifest.indexes.iter().map(|index| index.documents).sum(),
            indexes: manifest.indexes.into_iter().map(|index| index.name).collect(),
        });
    }
    listings.sort_by(|a, b| a.created_at.cmp(&b.created_at).then_with(|| a.name.cmp(&b.name)));
    Ok(listings)
}

/// Deletes the oldest snapshots of `folder` past the newest `keep`; returns the deleted archives.
///
/// # Errors
/// The folder cannot be read or an archive cannot be deleted.
pub fn prune_snapshots(folder: &Path, keep: usize) -> Result<Vec<PathBuf>, SnapshotError> {
    let listings = list_snapshots(folder)?;
    let excess = listings.len().saturating_sub(keep);
    let mut deleted = Vec::new();
    for listing in listings.into_iter().take(excess) {
        std::fs::remove_file(&listing.archive).map_err(|source| SnapshotError::io(&listing.archive, source))?;
        deleted.push(listing.archive);
    }
    Ok(deleted)
}
