//! The one error type of the pipelines crate.

use std::path::PathBuf;

use polars::prelude::PolarsError;
use vitrine_models::ValidationError;

/// Everything that can go wrong while loading, cleaning, deriving or storing pipeline data.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// A file could not be opened, read, decompressed or written.
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The file being read or written.
        path: PathBuf,
        /// The underlying operating-system error.
        #[source]
        source: std::io::Error,
    },

    /// polars failed: the CSV could not be parsed, a value had the wrong type, a query failed, or a
    /// Parquet file was malformed.
    #[error("polars error: {0}")]
    Polars(#[from] PolarsError),

    /// The input file lacks a column the pipeline needs (e.g. a CSV with another header).
    #[error("{path}: required column `{column}` is missing")]
    MissingColumn {
        /// The file that was read.
        path: PathBuf,
        /// The name of the missing column.
        column: String,
    },

    /// The input file has a column the schema does not know.
    #[error("{path}: unknown column `{column}`")]
    UnknownColumn {
        /// The file that was read.
        path: PathBuf,
        /// The column's name.
        column: String,
    },

    /// A derived frame holds a value that cannot become a domain type (null where a value is
    /// required, a value out of range, a string the domain type rejects).
    #[error("column `{column}`, row {row}: {message}")]
    InvalidValue {
        /// The column holding the bad value.
        column: String,
        /// The zero-based row index in the frame.
        row: usize,
        /// What is wrong with the value.
        message: String,
    },

    /// A derived row was refused by the validating constructor of a domain type (vitrine-models).
    #[error("row {row}: {source}")]
    InvalidRecord {
        /// The zero-based row index in the frame.
        row: usize,
        /// Which field the models refused, and why.
        #[source]
        source: ValidationError,
    },

    /// A model version could not be saved to (or pruned from) the index's model store.
    #[error("model store: {0}")]
    ModelStore(#[from] vitrine_recommender::bundle::StoreError),
}

impl PipelineError {
    /// Wraps an I/O error with the path it happened on.
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io { path: path.into(), source }
    }
}
