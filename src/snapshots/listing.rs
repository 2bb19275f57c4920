//! The snapshots of a folder: listed by their manifests, the oldest deleted past a count.

use std::path::{Path, PathBuf};

use super::error::SnapshotError;
use super::files::ARCHIVE_SUFFIX;
use super::restore::read_manifest;

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
