//! The error type of the recommendation evaluation: user errors (files, columns, values, an empty
//! split, bad cut-offs, a failing trainer) apart from internal polars failures.

use std::path::PathBuf;

use polars::prelude::PolarsError;

/// Why a recommendation evaluation could not be run.
///
/// User errors (a missing file, a missing column, a value that does not parse, a split that
/// leaves nothing to evaluate) are kept apart from internal ones ([`RecsError::Polars`]).
#[derive(Debug, thiserror::Error)]
pub enum RecsError {
    /// An interactions file could not be opened, read or decompressed.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file that was being read.
        path: PathBuf,
        /// What the operating system (or the decompressor) said.
        #[source]
        source: std::io::Error,
    },
    /// An interactions file lacks a column the loader needs.
    #[error("{}: no `{expected}` column; the header is `{found}`", path.display())]
    MissingColumn {
        /// The file whose header is incomplete.
        path: PathBuf,
        /// The column that was looked for (alternatives separated by `|`).
        expected: &'static str,
        /// The header that was found, comma-separated.
        found: String,
    },
    /// A column holds a value that does not parse (a timestamp that is neither Unix seconds nor
    /// ISO 8601, a weight that is not a number…).
    #[error("{}: column `{column}`: {reason}", path.display())]
    BadValue {
        /// The file that holds the value.
        path: PathBuf,
        /// The column of the value.
        column: String,
        /// What is wrong, with polars' own message.
        reason: String,
    },
    /// The split leaves nothing to evaluate: no train rows, no test rows or no test user.
    #[error("the split at {cutoff} leaves nothing to evaluate: {reason}")]
    EmptySplit {
        /// The cutoff, ISO 8601 (UTC).
        cutoff: String,
        /// Which part is empty.
        reason: String,
    },
    /// A metric cut-off is invalid (`K = 0`) or no cut-off was given.
    #[error("invalid rank cut-offs {ks:?}: give at least one K, each at least 1")]
    BadCutoffs {
        /// The cut-offs that were given.
        ks: Vec<usize>,
    },
    /// A model failed to train; the evaluation stops there.
    #[error("training {model} failed: {source}")]
    Training {
        /// The name of the model.
        model: String,
        /// The trainer's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// polars failed on a frame the loader built itself (an internal error).
    #[error("polars: {0}")]
    Polars(#[from] PolarsError),
}
