//! `/v1/indexes/…`: the indexes and everything that belongs to one — its documents, search and
//! autocomplete, facet-value search, settings (with drafts), recommendations and model versions, shoppers' events,
//! analytics and experiments. One module per sub-resource; this one answers for the indexes themselves.

pub mod analytics;
pub mod documents;
pub mod events;
pub mod experiments;
pub mod facets;
pub mod models;
pub mod recommendations;
pub mod search;
pub mod settings;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Serialize;
use vitrine_indexer::IndexSummary;
use vitrine_models::IndexName;

use super::blocking::blocking;
use super::error::{ApiError, ErrorCode};
use super::state::AppState;

/// The indexes of the server.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct IndexList {
    /// Every index, by name.
    results: Vec<IndexSummary>,
    /// How many.
    total: usize,
}

/// `GET /v1/indexes`: every index with its sizes.
#[utoipa::path(get, path = "/v1/indexes", operation_id = "listIndexes", tag = "indexes", responses((status = OK, body = IndexList)))]
pub async fn list(State(state): State<AppState>) -> Result<Json<IndexList>, ApiError> {
    let results: Vec<IndexSummary> = blocking(move || Ok(state.catalog.list()?)).await?;
    Ok(Json(IndexList { total: results.len(), results }))
}

/// `GET /v1/indexes/{index}`: one index's sizes and its `display` settings (what a storefront shows).
#[utoipa::path(get, path = "/v1/indexes/{index}", operation_id = "getIndex", tag = "indexes", params(("index" = IndexName, Path)), responses((status = OK, body = IndexSummary)))]
pub async fn get(State(state): State<AppState>, Path(index): Path<String>) -> Result<Json<IndexSummary>, ApiError> {
    let name = IndexName::new(index)?;
    Ok(Json(blocking(move || Ok(state.catalog.summary(&name)?)).await?))
}

/// `DELETE /v1/indexes/{index}` (admin): removes an index and its data (analytics included).
#[utoipa::path(delete, path = "/v1/indexes/{index}", operation_id = "deleteIndex", tag = "indexes", params(("index" = IndexName, Path)), responses(
    (status = NO_CONTENT, description = "Deleted."),
    (status = CONFLICT, description = "`alias_conflict`: the name is an alias, or an alias names the index (switch or delete it first)."),
))]
pub async fn delete(State(state): State<AppState>, Path(index): Path<String>) -> Result<StatusCode, ApiError> {
    let name = IndexName::new(index)?;
    if state.aliases.is_alias(name.as_str()) {
        let message = format!("`{name}` is an alias: delete the alias (DELETE /v1/aliases/{name}) or name the index");
        return Err(ApiError::new(ErrorCode::AliasConflict, message));
    }
    if let Some(alias) = state.aliases.naming(name.as_str()).first() {
        let message = format!("alias `{alias}` names index `{name}`: switch or delete the alias first");
        return Err(ApiError::new(ErrorCode::AliasConflict, message));
    }
    // Interactions still queued for its log are written first, and deleted with it.
    state.interactions.flush().await;
    let (catalog, deleted) = (state.catalog.clone(), name.clone());
    blocking(move || Ok(catalog.delete(&deleted)?)).await?;
    state.analytics.delete_index(&name).await?;
    state.experiments.index_deleted(&name);
    Ok(StatusCode::NO_CONTENT)
}
