//! `/v1/admin/snapshots` (the `snapshots` action): write a snapshot of the data directory while
//! serving, and list the snapshot folder (docs/operations.md). A snapshot runs to its end even
//! when its request is cut off or times out.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use indicatif::ProgressBar;

use crate::http::error::ApiError;
use crate::http::state::AppState;
use crate::snapshots::{SnapshotListing, SnapshotReport};

/// `POST /v1/admin/snapshots`: writes one consistent archive of the data directory (every index
/// at one commit point with its Kafka offsets, the databases copied online) while the server
/// serves, and answers once it is whole.
#[utoipa::path(post, path = "/v1/admin/snapshots", operation_id = "createSnapshot", tag = "operations",
    responses((status = CREATED, description = "The archive written, and its manifest.", body = SnapshotReport),
        (status = CONFLICT, description = "`snapshot_in_progress`: another snapshot of the data directory is being made.")))]
pub async fn create(State(state): State<AppState>) -> Result<(StatusCode, Json<SnapshotReport>), ApiError> {
    // Its own task: a client that goes away (or the request timeout) does not cut a snapshot
    // short; it is finished and listed all the same.
    let (data_dir, commerce, folder) =
        (state.catalog.data_dir().clone(), state.snapshot_commerce(), state.snapshot_folder());
    let report = tokio::spawn(async move {
        crate::snapshots::create_snapshot(&data_dir, &commerce, &folder, &ProgressBar::hidden()).await
    })
    .await
    .map_err(ApiError::internal)??;
    tracing::info!(archive = %report.archive.display(), bytes = report.archive_bytes, seconds = report.seconds, "snapshot written");
    Ok((StatusCode::CREATED, Json(report)))
}

/// `GET /v1/admin/snapshots`: the snapshots of the snapshot folder, oldest first.
#[utoipa::path(get, path = "/v1/admin/snapshots", operation_id = "listSnapshots", tag = "operations",
    responses((status = OK, description = "Every archive whose manifest reads.", body = Vec<SnapshotListing>)))]
pub async fn list(State(state): State<AppState>) -> Result<Json<Vec<SnapshotListing>>, ApiError> {
    let folder = state.snapshot_folder();
    let listings = crate::http::blocking::blocking(move || Ok(crate::snapshots::list_snapshots(&folder)?)).await?;
    Ok(Json(listings))
}
