//! What can go wrong with a snapshot (one enum for every part, apart from the code returning it).

use std::path::{Path, PathBuf};

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
    pub(super) fn io(path: &Path, source: std::io::Error) -> Self {
        SnapshotError::Io { path: path.to_owned(), source }
    }
}
