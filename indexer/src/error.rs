//! The crate's errors, each defined once, apart from the code that returns it: the catalog, the
//! product index and its settings history all return [`CatalogError`], and defining it in one of
//! them tied their files into an import circle.

use std::path::{Path, PathBuf};

use vitrine_models::IndexName;

/// Failures of the catalog store.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// No index of that name exists in the data directory.
    #[error("index `{0}` not found")]
    IndexNotFound(IndexName),
    /// Reading or writing the data directory failed.
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Settings given to an index are not valid (a user error: the message says why).
    #[error("invalid settings: {0}")]
    InvalidSettings(String),
    /// An index's settings file is not valid.
    #[error("settings file {path} is not valid: {reason}")]
    Settings {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The search index failed (opening, reading, writing or committing).
    #[error("search index {path}: {source}")]
    Search {
        /// The index folder.
        path: PathBuf,
        /// What tantivy said.
        source: tantivy::TantivyError,
    },
}

impl CatalogError {
    pub(crate) fn search(path: &Path, source: tantivy::TantivyError) -> Self {
        CatalogError::Search { path: path.to_owned(), source }
    }
}
