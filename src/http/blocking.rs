//! Blocking engine work (tantivy searches and commits, model loads, Parquet appends) runs on
//! Tokio's blocking pool, never on the async workers.

use super::error::ApiError;

/// Runs `work` on the blocking pool and waits for it.
pub(crate) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work).await.map_err(ApiError::internal)?
}
