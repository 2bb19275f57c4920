use std::path::PathBuf;

/// Why an evaluation could not be run.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    /// A dataset file could not be opened or read (it is missing, unreadable, or reading failed
    /// part-way).
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file that was being read.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// A dataset file does not start with the header row the loader expects.
    #[error("{}: the header is `{found}`; expected `{expected}`", path.display())]
    BadHeader {
        /// The file whose header is wrong.
        path: PathBuf,
        /// The expected columns, comma-separated.
        expected: &'static str,
        /// The header that was found, comma-separated.
        found: String,
    },
    /// A row of a dataset file is malformed: wrong number of fields, not UTF-8, an empty id, a
    /// relevance that is not a number in 1..=3, a duplicate, or a reference to an unknown product.
    #[error("{}, line {line}: {reason}", path.display())]
    BadRow {
        /// The file that holds the row.
        path: PathBuf,
        /// The 1-based line number of the row (the header is line 1).
        line: u64,
        /// What is wrong with the row.
        reason: String,
    },
    /// A dataset file has a header but no rows.
    #[error("{} has no rows", path.display())]
    Empty {
        /// The empty file.
        path: PathBuf,
    },
    /// The search backend returned an error for a query; the evaluation stops there.
    #[error("the search backend failed on query {query_id} ({query:?}): {source}")]
    Backend {
        /// The id of the judged query.
        query_id: String,
        /// The text that was sent to the backend (with its typo, if one was injected).
        query: String,
        /// The backend's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}
