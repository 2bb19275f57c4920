//! `POST /v1/indexes/{index}/recommendations` (search key) and the model versions of an index
//! (admin key): `GET /v1/indexes/{index}/models`, `POST /v1/indexes/{index}/models/{id}/activate`
//! (rollback, or roll forward).

use std::time::Instant;

use axum::Json;
use axum::extract::{Path, State};
use serde::Deserialize;
use serde_json::{Value, json};
use vitrine_models::IndexName;
use vitrine_recommender::bundle::StoreError;
use vitrine_recommender::serve::{Kind, RecommendError, Request};

use super::AppState;
use super::error::{ApiError, ApiJson, ErrorCode};
use super::routes::blocking;

/// The most recommendations one request may ask for.
const MAX_K: usize = 100;

/// The body of a recommendation request.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecommendationRequest {
    kind: Kind,
    product_id: Option<String>,
    user_id: Option<String>,
    #[serde(default)]
    product_ids: Vec<String>,
    k: Option<usize>,
    filter: Option<Value>,
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::UnknownVersion(id) => {
                ApiError::new(ErrorCode::ModelVersionNotFound, format!("no model version `{id}`"))
            }
            other => ApiError::internal(other),
        }
    }
}

fn not_trained(index: &IndexName) -> ApiError {
    ApiError::new(
        ErrorCode::ModelNotTrained,
        format!("index `{index}` has no recommendation model yet: run `vitrine train --index {index}`"),
    )
}

/// `POST /v1/indexes/{index}/recommendations`.
pub async fn recommend(
    State(state): State<AppState>,
    Path(index): Path<String>,
    ApiJson(request): ApiJson<RecommendationRequest>,
) -> Result<Json<Value>, ApiError> {
    let started = Instant::now();
    let name = IndexName::new(index)?;
    let k = request.k.unwrap_or(10);
    if !(1..=MAX_K).contains(&k) {
        return Err(ApiError::new(ErrorCode::InvalidParameter, format!("`k` must be between 1 and {MAX_K}")));
    }
    let (catalog, recommenders) = (state.catalog.clone(), state.recommenders.clone());
    blocking(move || {
        let index = catalog.get(&name)?;
        let recommender = recommenders.get(&name)?.ok_or_else(|| not_trained(&name))?;
        let allowed = vitrine_query::allowed_products(&index, request.filter.as_ref())?;
        let query = Request {
            kind: request.kind,
            product_id: request.product_id.as_deref(),
            user_id: request.user_id.as_deref(),
            product_ids: &request.product_ids,
            k,
        };
        let items = recommender.recommend(&query, &|id| allowed.contains(id)).map_err(|error| match error {
            RecommendError::MissingField { .. } => {
                ApiError::new(ErrorCode::InvalidRecommendationRequest, error.to_string())
            }
        })?;
        Ok(Json(json!({
            "items": items,
            "model_version": recommender.model_id(),
            "took_ms": started.elapsed().as_secs_f64() * 1000.0,
        })))
    })
    .await
}

/// `GET /v1/indexes/{index}/models`: every kept version, and which is current.
pub async fn list_models(State(state): State<AppState>, Path(index): Path<String>) -> Result<Json<Value>, ApiError> {
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
pub async fn activate_model(
    State(state): State<AppState>,
    Path((index, model_id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let name = IndexName::new(index)?;
    let (catalog, recommenders) = (state.catalog.clone(), state.recommenders.clone());
    blocking(move || {
        catalog.get(&name)?;
        recommenders.store(&name).activate(&model_id)?;
        let loaded = recommenders.reload(&name)?.ok_or_else(|| not_trained(&name))?;
        Ok(Json(json!({ "current": loaded.model_id(), "manifest": loaded.manifest() })))
    })
    .await
}
