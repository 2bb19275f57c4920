//! The model versions of an index (admin key): `GET /v1/indexes/{index}/models` lists every kept
//! version and which is current; `POST /v1/indexes/{index}/models/{id}/activate` serves that
//! version from now on (rollback, or roll forward).

use axum::Json;
use axum::extract::{Path, State};
use serde::Serialize;
use vitrine_models::IndexName;
use vitrine_recommender::bundle::Manifest;

use super::recommendations::not_trained;
use crate::http::blocking::blocking;
use crate::http::error::ApiError;
use crate::http::state::AppState;

/// The model versions of an index.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ModelVersions {
    /// The version served (none before the first training).
    current: Option<String>,
    /// Every kept version.
    versions: Vec<Manifest>,
}

/// The version served after an activation.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ActiveModel {
    /// Its id.
    current: String,
    /// What it is.
    manifest: Manifest,
}

/// `GET /v1/indexes/{index}/models`: every kept version, and which is current.
#[utoipa::path(get, path = "/v1/indexes/{index}/models", operation_id = "listModels", tag = "models", params(("index" = IndexName, Path)),
    responses((status = OK, body = ModelVersions)))]
pub async fn list(State(state): State<AppState>, Path(index): Path<String>) -> Result<Json<ModelVersions>, ApiError> {
    let name = IndexName::new(index)?;
    let (catalog, recommenders) = (state.catalog.clone(), state.recommenders.clone());
    blocking(move || {
        catalog.get(&name)?;
        let store = recommenders.store(&name);
        let current = store.current()?;
        let versions = store.versions()?;
        Ok(Json(ModelVersions { current, versions }))
    })
    .await
}

/// `POST /v1/indexes/{index}/models/{id}/activate`: serve that version from now on.
#[utoipa::path(post, path = "/v1/indexes/{index}/models/{model_id}/activate", operation_id = "activateModel", tag = "models",
    params(("index" = IndexName, Path), ("model_id" = String, Path)),
    responses((status = OK, body = ActiveModel), (status = NOT_FOUND, description = "`model_version_not_found`."),
        (status = CONFLICT, description = "`model_not_trained`.")))]
pub async fn activate(
    State(state): State<AppState>,
    Path((index, model_id)): Path<(String, String)>,
) -> Result<Json<ActiveModel>, ApiError> {
    let name = IndexName::new(index)?;
    let (catalog, recommenders) = (state.catalog.clone(), state.recommenders.clone());
    blocking(move || {
        catalog.get(&name)?;
        let loaded = recommenders.activate(&name, &model_id)?.ok_or_else(|| not_trained(&name))?;
        Ok(Json(ActiveModel { current: loaded.model_id().to_owned(), manifest: loaded.manifest().clone() }))
    })
    .await
}
