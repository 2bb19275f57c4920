//! Restoring a snapshot, and verifying one (a restore into a scratch folder, then deleted).
//!
//! The archive is read once, as a stream: its first entry must be the manifest; every later entry
//! must be a plain file the manifest lists, under `data/`, at most once, with the listed size and
//! SHA-256; every listed file must come. Then what the manifest says is checked on the restored
//! files themselves: each index's products, versions, opstamp and Kafka offsets, its active model
//! version, the analytics and commerce databases' figures. Only then does the restored folder get
//! its name (a rename): a failed restore leaves nothing that looks like a data directory.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, Read, Write};
use std::path::{Component, Path, PathBuf};
use std::time::Instant;

use indicatif::ProgressBar;
use sha2::{Digest, Sha256};
use vitrine_models::{DataDir, IndexName};

use super::error::SnapshotError;
use super::files::{private_file, sync_folder};
use super::manifest::{AnalyticsContents, CommerceContents, DATA_PREFIX, FORMAT, MANIFEST_ENTRY, Manifest};

/// The largest manifest read (a million files' entries fit many times over).
const MAX_MANIFEST_BYTES: u64 = 256 * 1024 * 1024;

/// What a restore (or a verification) did.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RestoreReport {
    /// The restored data directory (none for a verification).
    pub target: Option<PathBuf>,
    /// Files restored and checked.
    pub files: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Time taken, in seconds.
    pub seconds: f64,
    /// The snapshot's manifest.
    pub manifest: Manifest,
}

type Entries<'a> = tar::Entries<'a, zstd::Decoder<'static, BufReader<File>>>;

fn damaged(archive: &Path, error: impl std::fmt::Display) -> SnapshotError {
    SnapshotError::Invalid(format!("{}: the archive is damaged or incomplete: {error}", archive.display()))
}

fn open_archive(archive: &Path) -> Result<tar::Archive<zstd::Decoder<'static, BufReader<File>>>, SnapshotError> {
    let file = File::open(archive).map_err(|source| SnapshotError::io(archive, source))?;
    let decoder = zstd::Decoder::new(file).map_err(|error| damaged(archive, error))?;
    Ok(tar::Archive::new(decoder))
}

/// Reads the manifest (the archive's first entry) and checks its format.
fn next_manifest(archive: &Path, entries: &mut Entries<'_>) -> Result<Manifest, SnapshotError> {
    let mut entry =
        entries.next().ok_or_else(|| damaged(archive, "it is empty"))?.map_err(|error| damaged(archive, error))?;
    let path = entry.path().map_err(|error| damaged(archive, error))?.into_owned();
    if path != Path::new(MANIFEST_ENTRY) {
        return Err(damaged(archive, format!("its first entry is {}, not {MANIFEST_ENTRY}", path.display())));
    }
    if entry.size() > MAX_MANIFEST_BYTES {
        return Err(damaged(archive, "the manifest is too large"));
    }
    let mut bytes = Vec::with_capacity(entry.size() as usize);
    entry.read_to_end(&mut bytes).map_err(|error| damaged(archive, error))?;
    let manifest: Manifest =
        serde_json::from_slice(&bytes).map_err(|error| damaged(archive, format!("manifest: {error}")))?;
    if manifest.format > FORMAT {
        return Err(SnapshotError::Invalid(format!(
            "{}: manifest format {} is newer than this Vitrine reads ({FORMAT}); restore it with Vitrine {} or newer",
            archive.display(),
            manifest.format,
            manifest.vitrine_version
        )));
    }
    Ok(manifest)
}

/// The manifest of the snapshot `archive` (its first entry only).
///
/// # Errors
/// The archive cannot be read or does not start with a manifest.
pub fn read_manifest(archive: &Path) -> Result<Manifest, SnapshotError> {
    let mut tar = open_archive(archive)?;
    let mut entries = tar.entries().map_err(|error| damaged(archive, error))?;
    next_manifest(archive, &mut entries)
}

/// Restores the snapshot `archive` as the data directory `target` (which must not exist, or be an
/// empty folder), after checking every file and figure against its manifest.
///
/// # Errors
/// The archive is damaged, incomplete or inconsistent ([`SnapshotError::Invalid`]), the target is
/// not empty, or a file cannot be written; nothing is left at `target` then.
pub async fn restore_snapshot(
    archive: &Path,
    target: &Path,
    progress: &ProgressBar,
) -> Result<RestoreReport, SnapshotError> {
    if let Ok(mut entries) = std::fs::read_dir(target)
        && entries.next().is_some()
    {
        return Err(SnapshotError::TargetNotEmpty(target.to_owned()));
    }
    let parent = match target.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_owned(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).map_err(|source| SnapshotError::io(&parent, source))?;
    let name = target.file_name().map_or_else(|| "restore".into(), |name| name.to_string_lossy().into_owned());
    let scratch = parent.join(format!(".{name}.restoring-{}", std::process::id()));
    let mut report = unpack_and_check(archive, &scratch, progress).await;
    if let Ok(report) = &mut report {
        let placed = (|| {
            if target.exists() {
                std::fs::remove_dir(target)?;
            }
            std::fs::rename(&scratch, target)
        })();
        match placed {
            Ok(()) => {
                sync_folder(&parent)?;
                report.target = Some(target.to_owned());
            }
            Err(source) => {
                let _ = std::fs::remove_dir_all(&scratch);
                return Err(SnapshotError::io(target, source));
            }
        }
    } else if scratch.exists() {
        let _ = std::fs::remove_dir_all(&scratch);
    }
    report
}

/// Checks the snapshot `archive` as a restore would (into a scratch folder beside it, deleted).
///
/// # Errors
/// As [`restore_snapshot`].
pub async fn verify_snapshot(archive: &Path, progress: &ProgressBar) -> Result<RestoreReport, SnapshotError> {
    let parent = archive.parent().filter(|parent| !parent.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let scratch = parent.join(format!(".verify-{}", std::process::id()));
    if scratch.exists() {
        std::fs::remove_dir_all(&scratch).map_err(|source| SnapshotError::io(&scratch, source))?;
    }
    let report = unpack_and_check(archive, &scratch, progress).await;
    if scratch.exists() {
        let _ = std::fs::remove_dir_all(&scratch);
    }
    report
}

async fn unpack_and_check(
    archive: &Path,
    scratch: &Path,
    progress: &ProgressBar,
) -> Result<RestoreReport, SnapshotError> {
    let started = Instant::now();
    let (from, into, bar) = (archive.to_owned(), scratch.to_owned(), progress.clone());
    let (manifest, files, bytes) = tokio::task::spawn_blocking(move || unpack(&from, &into, &bar))
        .await
        .map_err(|error| SnapshotError::io(archive, std::io::Error::other(error)))??;
    progress.set_message("checking");
    check_contents(&manifest, &DataDir::new(scratch)).await?;
    Ok(RestoreReport { target: None, files, bytes, seconds: started.elapsed().as_secs_f64(), manifest })
}

/// Writes every file of the archive under `scratch`, checking each against the manifest.
fn unpack(archive: &Path, scratch: &Path, progress: &ProgressBar) -> Result<(Manifest, u64, u64), SnapshotError> {
    let mut tar = open_archive(archive)?;
    let mut entries = tar.entries().map_err(|error| damaged(archive, error))?;
    let manifest = next_manifest(archive, &mut entries)?;
    progress.set_length(manifest.data_bytes());
    progress.set_message("restoring");
    let mut expected: HashMap<&str, (u64, &str)> =
        manifest.files.iter().map(|file| (file.path.as_str(), (file.bytes, file.sha256.as_str()))).collect();
    std::fs::create_dir_all(scratch).map_err(|source| SnapshotError::io(scratch, source))?;
    let (mut files, mut bytes) = (0u64, 0u64);
    for entry in entries {
        let mut entry = entry.map_err(|error| damaged(archive, error))?;
        let path = entry.path().map_err(|error| damaged(archive, error))?.into_owned();
        let relative =
            data_path(&path).ok_or_else(|| damaged(archive, format!("unexpected entry {}", path.display())))?;
        if entry.header().entry_type() != tar::EntryType::Regular {
            return Err(damaged(archive, format!("{relative} is not a plain file")));
        }
        let (size, sha256) = expected
            .remove(relative.as_str())
            .ok_or_else(|| damaged(archive, format!("{relative} is not in the manifest, or comes twice")))?;
        let target = scratch.join(&relative);
        if let Some(folder) = target.parent() {
            std::fs::create_dir_all(folder).map_err(|source| SnapshotError::io(folder, source))?;
        }
        let mut file = private_file(&target)?;
        let mut hasher = Sha256::new();
        let mut buffer = vec![0; 1 << 16];
        let mut written = 0u64;
        loop {
            let read = entry.read(&mut buffer).map_err(|error| damaged(archive, error))?;
            if read == 0 {
                break;
            }
            hasher.update(&buffer[..read]);
            file.write_all(&buffer[..read]).map_err(|source| SnapshotError::io(&target, source))?;
            written += read as u64;
        }
        file.sync_all().map_err(|source| SnapshotError::io(&target, source))?;
        if written != size || hex::encode(hasher.finalize()) != sha256 {
            return Err(damaged(archive, format!("{relative} does not match its checksum")));
        }
        progress.inc(written);
        files += 1;
        bytes += written;
    }
    if let Some(missing) = expected.keys().min() {
        return Err(damaged(archive, format!("{} files are missing, {missing} first", expected.len())));
    }
    Ok((manifest, files, bytes))
}

/// `data/a/b` → `a/b`, for plain relative paths only.
fn data_path(path: &Path) -> Option<String> {
    let mut components = path.components();
    if components.next() != Some(Component::Normal(DATA_PREFIX.as_ref())) {
        return None;
    }
    let mut parts = Vec::new();
    for component in components {
        match component {
            Component::Normal(part) => parts.push(part.to_str()?.to_owned()),
            _ => return None,
        }
    }
    (!parts.is_empty()).then(|| parts.join("/"))
}

/// Checks the restored data directory against what the manifest says of it.
async fn check_contents(manifest: &Manifest, restored: &DataDir) -> Result<(), SnapshotError> {
    let mismatch = |what: String| SnapshotError::Invalid(format!("restored {what} differs from the manifest"));
    for index in &manifest.indexes {
        let name =
            IndexName::new(&index.name).map_err(|error| SnapshotError::Invalid(format!("index name: {error}")))?;
        let folder = restored.search_index(&name);
        let point = tokio::task::spawn_blocking(move || vitrine_indexer::read_commit_point(&folder))
            .await
            .map_err(|error| SnapshotError::Invalid(error.to_string()))?
            .map_err(|error| SnapshotError::Index { index: index.name.clone(), reason: error.to_string() })?;
        if point.documents != index.documents
            || point.documents_digest != index.documents_digest
            || point.opstamp != index.opstamp
            || point.checkpoint.offsets != index.offsets
        {
            return Err(mismatch(format!("index `{}` (products, versions or offsets)", index.name)));
        }
        let current = vitrine_recommender::bundle::ModelStore::new(restored.models(&name))
            .current()
            .map_err(|error| SnapshotError::Index { index: index.name.clone(), reason: error.to_string() })?;
        if current != index.model_version {
            return Err(mismatch(format!("index `{}`'s active model version", index.name)));
        }
    }
    if let Some(analytics) = manifest.analytics {
        let summary = crate::analytics::summarise_database(&restored.analytics_db())
            .await
            .map_err(|error| SnapshotError::Database(error.to_string()))?;
        if AnalyticsContents::from(summary) != analytics {
            return Err(mismatch("analytics database".to_owned()));
        }
    }
    if let CommerceContents::Sqlite { .. } = &manifest.commerce {
        let summary = vitrine_commerce::summarise_sqlite(&restored.commerce_db())
            .await
            .map_err(|error| SnapshotError::Database(error.to_string()))?;
        if CommerceContents::sqlite(summary) != manifest.commerce {
            return Err(mismatch("commerce database (orders or stock)".to_owned()));
        }
    }
    Ok(())
}
