//! The model versions of an index (admin key): `GET /v1/indexes/{index}/models` lists every kept
//! version and which is current; `POST /v1/indexes/{index}/models/{id}/activate` serves that
//! version from now on (rollback, or roll forward).

use axum::Json;
use axum::extract::{Path, State};
use serde_json::{Value, json};
use vitrine_models::IndexName;

use super::recommendations::not_trained;
use crate::http::blocking::blocking;
use crate::http::error::ApiError;
use crate::http::state::AppState;

/// `GET /v1/indexes/{index}/models`: every kept version, and which is current.
pub async fn list(State(state): State<AppState>, Path(index): Path<String>) -> Result<Json<Value>, ApiError> {
    let name = IndexName::new(index)?;
    let (catalog, recommenders) = (state.catalog.clone(), state.recommenders.clone());
    blocking(move || {
        catalog.get(&name)?;
        let store = recommenders.store(&name);
        let current = store.current()?;
        let versions = store.versions()?;
        Ok(Json(json!({ "current": current, "versions": versions })))
    })
    .await
}

/// `POST /v1/indexes/{index}/models/{id}/activate`: serve that version from now on.
pub async fn activate(
    State(state): State<AppState>,
    Path((index, model_id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let name = IndexName::new(index)?;
    let (catalog, recommenders) = (state.catalog.clone(), state.recommenders.clone());
    blocking(move || {
        catalog.get(&name)?;
        let loaded = recommenders.activate(&name, &model_id)?.ok_or_else(|| not_trained(&name))?;
        Ok(Json(json!({ "current": loaded.model_id(), "manifest": loaded.manifest() })))
    })
    .await
}
