//! Creating a snapshot: stage a consistent copy of the data directory, checksum it, archive it.
//!
//! 1. **Stage** (`DATA_DIR/.snapshot-staging/NAME/`, the data directory's own layout): every
//!    index's commit point (hard links, see `vitrine_indexer::copy_commit_point`), its settings and
//!    history, its interaction-log parts, model versions and markers; the keys; the aliases; the
//!    analytics and SQLite commerce databases through `VACUUM INTO`. Nothing stops: the server
//!    serves, the Kafka indexer commits, checkouts go on.
//! 2. **Checksum** every staged file (SHA-256) into the manifest.
//! 3. **Archive**: `manifest.json`, then the files, as a zstd-compressed tar written to a hidden
//!    `.NAME.tar.zst.partial`, synced, then renamed to `NAME.tar.zst` and the folder synced. A
//!    crash before the rename leaves no file with an archive's name; the earlier archives are
//!    never touched (pruning deletes the oldest only after a new one is whole).

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use chrono::Utc;
use indicatif::ProgressBar;
use rayon::prelude::*;
use vitrine_models::{DataDir, IndexName};

use super::error::SnapshotError;
use super::files::{ARCHIVE_SUFFIX, SnapshotLock, checksum, private_file, relative_path, sync_folder};
use super::manifest::{
    AnalyticsContents, CommerceContents, CommerceSource, DATA_PREFIX, FORMAT, FileEntry, IndexContents, MANIFEST_ENTRY,
    Manifest, SnapshotReport,
};

/// How many times a listing of interaction-log parts is retried while compactions replace them.
const PART_ATTEMPTS: usize = 20;

/// Writes a snapshot of `data_dir` into `out` (created if needed) and returns what it wrote.
/// Only one snapshot of a data directory is made at a time (across processes).
///
/// # Errors
/// Another snapshot is being made ([`SnapshotError::InProgress`]), or something could not be read
/// or written.
pub async fn create_snapshot(
    data_dir: &DataDir,
    commerce: &CommerceSource,
    out: &Path,
    progress: &ProgressBar,
) -> Result<SnapshotReport, SnapshotError> {
    let started = Instant::now();
    let lock = SnapshotLock::acquire(data_dir)?;
    let created_at = Utc::now();
    let name = unique_name(out, created_at);
    let staging_root = lock.staging().join(&name);
    let staging = DataDir::new(&staging_root);
    let result = async {
        progress.set_message("indexes");
        let (data, stage) = (data_dir.clone(), staging.clone());
        let (indexes, aliases) =
            tokio::task::spawn_blocking(move || stage_files(&data, &stage)).await.map_err(|error| {
                SnapshotError::Io { path: data_dir.root().to_owned(), source: std::io::Error::other(error) }
            })??;

        progress.set_message("databases");
        let analytics = if data_dir.analytics_db().is_file() {
            let summary = crate::analytics::backup_database(&data_dir.analytics_db(), &staging.analytics_db())
                .await
                .map_err(|error| SnapshotError::Database(error.to_string()))?;
            Some(AnalyticsContents::from(summary))
        } else {
            None
        };
        let commerce = match commerce {
            CommerceSource::Sqlite(path) if path.is_file() => {
                let summary = vitrine_commerce::backup_sqlite(path, &staging.commerce_db())
                    .await
                    .map_err(|error| SnapshotError::Database(error.to_string()))?;
                CommerceContents::sqlite(summary)
            }
            CommerceSource::Sqlite(_) => CommerceContents::None,
            CommerceSource::Postgresql => CommerceContents::postgresql(),
        };

        progress.set_message("checksums");
        let stage = staging_root.clone();
        let files = tokio::task::spawn_blocking(move || checksum_folder(&stage)).await.map_err(|error| {
            SnapshotError::Io { path: staging_root.clone(), source: std::io::Error::other(error) }
        })??;
        let manifest = Manifest {
            format: FORMAT,
            vitrine_version: env!("CARGO_PKG_VERSION").to_owned(),
            name: name.clone(),
            created_at,
            indexes,
            analytics,
            commerce,
            aliases,
            files,
        };

        progress.set_message("archive");
        progress.set_length(manifest.data_bytes());
        progress.set_position(0);
        let (stage, folder, bar, manifest_copy) =
            (staging_root.clone(), out.to_owned(), progress.clone(), manifest.clone());
        let archive = tokio::task::spawn_blocking(move || write_archive(&stage, &folder, &manifest_copy, &bar))
            .await
            .map_err(|error| SnapshotError::Io { path: out.to_owned(), source: std::io::Error::other(error) })??;
        let archive_bytes = std::fs::metadata(&archive).map_err(|source| SnapshotError::io(&archive, source))?.len();
        Ok(SnapshotReport { archive, archive_bytes, seconds: started.elapsed().as_secs_f64(), manifest })
    }
    .await;
    // The staging folder goes, whatever happened (a crash leaves it for the next snapshot to clear).
    if staging_root.exists() {
        let _ = std::fs::remove_dir_all(&staging_root);
    }
    drop(lock);
    result
}

/// `vitrine-20261207T230102Z`, or with `-2`, `-3`… when a snapshot of that second exists.
fn unique_name(out: &Path, at: chrono::DateTime<Utc>) -> String {
    let base = format!("vitrine-{}", at.format("%Y%m%dT%H%M%SZ"));
    let mut name = base.clone();
    let mut n = 1;
    while out.join(format!("{name}{ARCHIVE_SUFFIX}")).exists() {
        n += 1;
        name = format!("{base}-{n}");
    }
    name
}

/// Stages every index, the keys and the aliases; returns the indexes' contents and the aliases.
fn stage_files(
    data_dir: &DataDir,
    staging: &DataDir,
) -> Result<(Vec<IndexContents>, BTreeMap<String, String>), SnapshotError> {
    let mut indexes = Vec::new();
    for name in index_names(data_dir)? {
        indexes.push(stage_index(data_dir, staging, &name)?);
    }
    copy_folder_files(&data_dir.access(), &staging.access())?;
    let aliases = match std::fs::read(data_dir.aliases()) {
        Ok(bytes) => {
            write_file(&staging.aliases(), &bytes)?;
            serde_json::from_slice(&bytes).map_err(|error| SnapshotError::Invalid(format!("aliases.json: {error}")))?
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
        Err(source) => return Err(SnapshotError::io(&data_dir.aliases(), source)),
    };
    Ok((indexes, aliases))
}

/// The indexes of a data directory (folders with a valid name and a search index).
pub fn index_names(data_dir: &DataDir) -> Result<Vec<IndexName>, SnapshotError> {
    let folder = data_dir.indexes();
    let entries = match std::fs::read_dir(&folder) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(SnapshotError::io(&folder, source)),
    };
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| SnapshotError::io(&folder, source))?;
        let Some(name) = entry.file_name().to_str().and_then(|name| IndexName::new(name).ok()) else { continue };
        if data_dir.search_index(&name).join("meta.json").is_file() {
            names.push(name);
        }
    }
    names.sort();
    Ok(names)
}

fn stage_index(data_dir: &DataDir, staging: &DataDir, name: &IndexName) -> Result<IndexContents, SnapshotError> {
    let commit = vitrine_indexer::copy_commit_point(&data_dir.search_index(name), &staging.search_index(name))
        .map_err(|error| SnapshotError::Index { index: name.to_string(), reason: error.to_string() })?;

    // Settings are replaced by a rename (a copy is one version); the history and the dead letters
    // are appended to, so their copies end at the last whole line.
    copy_if_exists(&data_dir.settings(name), &staging.settings(name), false)?;
    let history = DataDir::settings_history_of(&data_dir.settings(name));
    let staged_history = DataDir::settings_history_of(&staging.settings(name));
    let history_text = copy_if_exists(&history, &staged_history, true)?;
    let settings_version = history_text.as_deref().and_then(|text| {
        text.lines().filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok()).next_back()?["version"]
            .as_u64()
    });
    copy_if_exists(&data_dir.dead_letters(name), &staging.dead_letters(name), true)?;
    copy_if_exists(&data_dir.demo_marker(name), &staging.demo_marker(name), false)?;

    let interaction_parts = stage_interactions(&data_dir.interactions(name), &staging.interactions(name))?;
    let (model_version, model_versions) = stage_models(&data_dir.models(name), &staging.models(name))?;
    Ok(IndexContents {
        name: name.to_string(),
        documents: commit.documents,
        opstamp: commit.opstamp,
        offsets: commit.checkpoint.offsets,
        tombstones: commit.checkpoint.tombstones.len() as u64,
        documents_digest: commit.documents_digest,
        settings_version,
        model_version,
        model_versions,
        interaction_parts,
    })
}

/// Links the log's live parts; a part a compaction replaced meanwhile means listing again.
fn stage_interactions(live: &Path, staged: &Path) -> Result<u64, SnapshotError> {
    if !live.is_dir() {
        return Ok(0);
    }
    for _ in 0..PART_ATTEMPTS {
        if staged.exists() {
            std::fs::remove_dir_all(staged).map_err(|source| SnapshotError::io(staged, source))?;
        }
        let parts = vitrine_pipelines::interaction_parts(live)
            .map_err(|error| SnapshotError::Io { path: live.to_owned(), source: std::io::Error::other(error) })?;
        let mut replaced = false;
        for part in &parts {
            let Some(file) = part.file_name() else { continue };
            match vitrine_indexer::link_or_copy(part, &staged.join(file)) {
                Ok(()) => {}
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                    replaced = true;
                    break;
                }
                Err(source) => return Err(SnapshotError::io(part, source)),
            }
        }
        if !replaced {
            return Ok(parts.len() as u64);
        }
    }
    Err(SnapshotError::Io {
        path: live.to_owned(),
        source: std::io::Error::other("compactions kept replacing the interaction log's parts"),
    })
}

/// Links every model version (folders are written whole, then renamed, and never changed) and
/// copies `CURRENT`. A version pruned meanwhile is left out; the active one is always there.
fn stage_models(live: &Path, staged: &Path) -> Result<(Option<String>, Vec<String>), SnapshotError> {
    if !live.is_dir() {
        return Ok((None, Vec::new()));
    }
    let store = vitrine_recommender::bundle::ModelStore::new(live);
    let current = store.current().map_err(|error| SnapshotError::Index {
        index: live.display().to_string(),
        reason: format!("the active model version cannot be read: {error}"),
    })?;
    let mut versions = Vec::new();
    let entries = std::fs::read_dir(live).map_err(|source| SnapshotError::io(live, source))?;
    for entry in entries {
        let entry = entry.map_err(|source| SnapshotError::io(live, source))?;
        let file_name = entry.file_name();
        let Some(version) = file_name.to_str().filter(|name| !name.starts_with('.')) else { continue };
        if !entry.path().is_dir() {
            continue;
        }
        let target = staged.join(version);
        match link_tree(&entry.path(), &target) {
            Ok(()) => versions.push(version.to_owned()),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound && current.as_deref() != Some(version) => {
                let _ = std::fs::remove_dir_all(&target);
            }
            Err(source) => return Err(SnapshotError::io(&entry.path(), source)),
        }
    }
    versions.sort();
    if let Some(current) = &current {
        write_file(&staged.join("CURRENT"), current.as_bytes())?;
    }
    Ok((current, versions))
}

/// Hard-links (or copies) every file under `from` to the same place under `to`.
fn link_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            link_tree(&entry.path(), &target)?;
        } else {
            vitrine_indexer::link_or_copy(&entry.path(), &target)?;
        }
    }
    Ok(())
}

/// Copies the plain files of a folder (not its hidden or temporary ones), if it exists.
fn copy_folder_files(from: &Path, to: &Path) -> Result<(), SnapshotError> {
    let entries = match std::fs::read_dir(from) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(source) => return Err(SnapshotError::io(from, source)),
    };
    for entry in entries {
        let entry = entry.map_err(|source| SnapshotError::io(from, source))?;
        let name = entry.file_name();
        let plain = name.to_str().is_some_and(|name| !name.starts_with('.') && !name.ends_with(".tmp"));
        if plain && entry.path().is_file() {
            copy_if_exists(&entry.path(), &to.join(&name), false)?;
        }
    }
    Ok(())
}

/// Copies `from` to `to` if it exists; with `whole_lines`, only up to its last line break (the
/// file is being appended to). Returns the text copied, for `whole_lines` files.
fn copy_if_exists(from: &Path, to: &Path, whole_lines: bool) -> Result<Option<String>, SnapshotError> {
    let mut bytes = match std::fs::read(from) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(SnapshotError::io(from, source)),
    };
    if whole_lines {
        let end = bytes.iter().rposition(|&byte| byte == b'\n').map_or(0, |at| at + 1);
        bytes.truncate(end);
    }
    write_file(to, &bytes)?;
    Ok(whole_lines.then(|| String::from_utf8_lossy(&bytes).into_owned()))
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), SnapshotError> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|source| SnapshotError::io(parent, source))?;
    }
    std::fs::write(path, bytes).map_err(|source| SnapshotError::io(path, source))
}

/// Every file under `root` with its size and SHA-256, sorted by path.
fn checksum_folder(root: &Path) -> Result<Vec<FileEntry>, SnapshotError> {
    let mut paths = Vec::new();
    collect_files(root, &mut paths)?;
    let mut files = paths
        .par_iter()
        .map(|path| {
            let (bytes, sha256) = checksum(path)?;
            Ok(FileEntry { path: relative_path(root, path)?, bytes, sha256 })
        })
        .collect::<Result<Vec<_>, SnapshotError>>()?;
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(files)
}

fn collect_files(folder: &Path, into: &mut Vec<PathBuf>) -> Result<(), SnapshotError> {
    for entry in std::fs::read_dir(folder).map_err(|source| SnapshotError::io(folder, source))? {
        let entry = entry.map_err(|source| SnapshotError::io(folder, source))?;
        let kind = entry.file_type().map_err(|source| SnapshotError::io(&entry.path(), source))?;
        if kind.is_dir() {
            collect_files(&entry.path(), into)?;
        } else if kind.is_file() {
            into.push(entry.path());
        }
    }
    Ok(())
}

/// Writes the archive: the manifest, then every file it lists, tar in zstd, under a hidden
/// temporary name renamed into place once synced.
fn write_archive(
    staging: &Path,
    out: &Path,
    manifest: &Manifest,
    progress: &ProgressBar,
) -> Result<PathBuf, SnapshotError> {
    std::fs::create_dir_all(out).map_err(|source| SnapshotError::io(out, source))?;
    let archive = out.join(format!("{}{ARCHIVE_SUFFIX}", manifest.name));
    let partial = out.join(format!(".{}{ARCHIVE_SUFFIX}.partial", manifest.name));
    let file = private_file(&partial)?;
    let encoder = zstd::Encoder::new(BufWriter::new(file), 3).map_err(|source| SnapshotError::io(&partial, source))?;
    let mut tar = tar::Builder::new(encoder);
    let manifest_json = serde_json::to_vec_pretty(manifest)
        .map_err(|error| SnapshotError::Invalid(format!("the manifest cannot be written: {error}")))?;
    let mut header = tar::Header::new_gnu();
    header.set_size(manifest_json.len() as u64);
    header.set_mode(0o600);
    header.set_mtime(manifest.created_at.timestamp().max(0) as u64);
    header.set_entry_type(tar::EntryType::Regular);
    tar.append_data(&mut header, MANIFEST_ENTRY, manifest_json.as_slice())
        .map_err(|source| SnapshotError::io(&partial, source))?;
    for entry in &manifest.files {
        let path = staging.join(&entry.path);
        let mut file = File::open(&path).map_err(|source| SnapshotError::io(&path, source))?;
        let mut header = tar::Header::new_gnu();
        header.set_size(entry.bytes);
        header.set_mode(0o600);
        header.set_mtime(manifest.created_at.timestamp().max(0) as u64);
        header.set_entry_type(tar::EntryType::Regular);
        tar.append_data(&mut header, format!("{DATA_PREFIX}/{}", entry.path), &mut file)
            .map_err(|source| SnapshotError::io(&path, source))?;
        progress.inc(entry.bytes);
    }
    let encoder = tar.into_inner().map_err(|source| SnapshotError::io(&partial, source))?;
    let mut writer = encoder.finish().map_err(|source| SnapshotError::io(&partial, source))?;
    writer.flush().map_err(|source| SnapshotError::io(&partial, source))?;
    let file = writer.into_inner().map_err(|error| SnapshotError::io(&partial, error.into_error()))?;
    file.sync_all().map_err(|source| SnapshotError::io(&partial, source))?;
    drop(file);
    std::fs::rename(&partial, &archive).map_err(|source| SnapshotError::io(&archive, source))?;
    sync_folder(out)?;
    Ok(archive)
}

#[cfg(test)]
mod tests {
    use vitrine_indexer::Catalog;
    use vitrine_models::{Product, ProductDraft};

    use super::*;
    use crate::snapshots::restore::restore_snapshot;

    #[tokio::test]
    async fn a_postgresql_commerce_database_is_named_and_left_out() {
        let folder = tempfile::tempdir().expect("temp dir");
        let data_dir = DataDir::new(folder.path().join("data"));
        let mug = Product::try_from(ProductDraft { id: "1".into(), title: "Mug".into(), ..Default::default() })
            .expect("product");
        Catalog::new(data_dir.clone()).upsert(&IndexName::new("shop").expect("name"), [mug]).expect("upsert");
        assert_eq!(CommerceSource::of(&data_dir, Some("postgres://shop:secret@db/shop")), CommerceSource::Postgresql);
        assert_eq!(CommerceSource::of(&data_dir, None), CommerceSource::Sqlite(data_dir.commerce_db()));
        assert_eq!(
            CommerceSource::of(&data_dir, Some("sqlite:/srv/commerce.db?mode=rwc")),
            CommerceSource::Sqlite(PathBuf::from("/srv/commerce.db"))
        );

        let out = folder.path().join("snapshots");
        let report = create_snapshot(&data_dir, &CommerceSource::Postgresql, &out, &ProgressBar::hidden())
            .await
            .expect("snapshot");
        let CommerceContents::Postgresql { included, note } = &report.manifest.commerce else {
            panic!("{:?}", report.manifest.commerce)
        };
        assert!(!included && note.contains("pg_dump"), "{note}");
        assert!(report.manifest.files.iter().all(|file| file.path != "commerce.db"));
        assert!(report.manifest.analytics.is_none(), "no analytics database yet");

        // A second snapshot while the first holds the lock is refused; the lock frees with it.
        let lock = SnapshotLock::acquire(&data_dir).expect("lock");
        let busy = create_snapshot(&data_dir, &CommerceSource::Postgresql, &out, &ProgressBar::hidden()).await;
        assert!(matches!(busy, Err(SnapshotError::InProgress)));
        drop(lock);

        let restored = folder.path().join("restored");
        let report = restore_snapshot(&report.archive, &restored, &ProgressBar::hidden()).await.expect("restores");
        assert_eq!(report.manifest.indexes[0].documents, 1);
        assert!(!DataDir::new(&restored).commerce_db().exists());
        let again = restore_snapshot(
            &out.join(format!("{}{ARCHIVE_SUFFIX}", report.manifest.name)),
            &restored,
            &ProgressBar::hidden(),
        )
        .await;
        assert!(matches!(again, Err(SnapshotError::TargetNotEmpty(_))), "a restore never overwrites");
    }

    #[tokio::test]
    async fn a_damaged_or_cut_archive_does_not_verify_and_restores_nothing() {
        let folder = tempfile::tempdir().expect("temp dir");
        let data_dir = DataDir::new(folder.path().join("data"));
        let products: Vec<Product> = (0..300)
            .map(|n| {
                let draft = ProductDraft { id: n.to_string(), title: format!("Mug {n}"), ..Default::default() };
                Product::try_from(draft).expect("product")
            })
            .collect();
        Catalog::new(data_dir.clone()).upsert(&IndexName::new("shop").expect("name"), products).expect("upsert");
        let out = folder.path().join("snapshots");
        let report = create_snapshot(&data_dir, &CommerceSource::Postgresql, &out, &ProgressBar::hidden())
            .await
            .expect("snapshot");
        let bytes = std::fs::read(&report.archive).expect("archive");
        crate::snapshots::restore::verify_snapshot(&report.archive, &ProgressBar::hidden()).await.expect("whole");

        let cut = out.join("cut.tar.zst");
        std::fs::write(&cut, &bytes[..bytes.len() * 2 / 3]).expect("write");
        let mut flipped_bytes = bytes.clone();
        let middle = flipped_bytes.len() / 2;
        flipped_bytes[middle] ^= 0x5a;
        let flipped = out.join("flipped.tar.zst");
        std::fs::write(&flipped, &flipped_bytes).expect("write");
        for damaged in [&cut, &flipped] {
            let target = folder.path().join("restored");
            let restored = restore_snapshot(damaged, &target, &ProgressBar::hidden()).await;
            assert!(matches!(restored, Err(SnapshotError::Invalid(_))), "{}: {restored:?}", damaged.display());
            assert!(!target.exists(), "nothing restored");
            let scratch: Vec<_> =
                std::fs::read_dir(folder.path()).expect("list").flatten().map(|entry| entry.file_name()).collect();
            assert!(scratch.iter().all(|name| !name.to_string_lossy().contains("restoring")), "{scratch:?}");
        }
    }
}
