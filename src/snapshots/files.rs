//! The files of snapshots: archive names, paths inside an archive, synced renames, private
//! files, checksums, and the lock that lets one snapshot run at a time.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use vitrine_models::DataDir;

use super::error::SnapshotError;

/// The lock file inside the staging folder.
const LOCK_FILE: &str = "lock";

/// The file name ending of a snapshot archive.
pub const ARCHIVE_SUFFIX: &str = ".tar.zst";

/// The data directory's snapshot lock: one snapshot at a time, across processes (an advisory
/// lock on a file of the staging folder, released when dropped or when the process dies).
#[derive(Debug)]
pub(super) struct SnapshotLock {
    staging: PathBuf,
    _file: File,
}

impl SnapshotLock {
    /// Takes the lock, or says a snapshot is in progress; clears what a dead snapshot left.
    pub(super) fn acquire(data_dir: &DataDir) -> Result<SnapshotLock, SnapshotError> {
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

    pub(super) fn staging(&self) -> &Path {
        &self.staging
    }
}

/// `path` relative to `root`, `/`-separated; refused unless every part is a plain name.
pub(super) fn relative_path(root: &Path, path: &Path) -> Result<String, SnapshotError> {
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
pub(super) fn sync_folder(folder: &Path) -> Result<(), SnapshotError> {
    File::open(folder).and_then(|file| file.sync_all()).map_err(|source| SnapshotError::io(folder, source))
}

/// Creates `path` readable and writable by its owner only (on Unix): an archive holds the keys'
/// master secret and every order.
pub(super) fn private_file(path: &Path) -> Result<File, SnapshotError> {
    let mut options = File::options();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path).map_err(|source| SnapshotError::io(path, source))
}

/// A file's size and SHA-256 (hex).
pub(super) fn checksum(path: &Path) -> Result<(u64, String), SnapshotError> {
    let mut file = File::open(path).map_err(|source| SnapshotError::io(path, source))?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0; 1 << 16];
    let mut bytes = 0u64;
    loop {
        let read = file.read(&mut buffer).map_err(|source| SnapshotError::io(path, source))?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
        bytes += read as u64;
    }
    Ok((bytes, hex::encode(hasher.finalize())))
}
