//! `POST /v1/indexes/{index}/search` and `GET /v1/indexes/{index}/suggest` (the `search`
//! action): the query engine's answer, personalised for a signed-in shopper (the shopper token's;
//! a body `user_id` only from a key that may act for users) by the recommender when the index's
//! ranking asks for it, restricted by the token's filter, and logged for analytics without
//! waiting.

use axum::Json;
use axum::extract::{Path, State};
use serde_json::Value;
use vitrine_models::IndexName;

use crate::http::auth::Caller;
use crate::http::blocking::{blocking, blocking_until_gone};
use crate::http::error::ApiError;
use crate::http::extract::ApiJson;
use crate::http::state::AppState;

/// `POST /v1/indexes/{index}/search`.
pub async fn search(
    State(state): State<AppState>,
    caller: Caller,
    Path(index): Path<String>,
    ApiJson(mut request): ApiJson<vitrine_query::SearchRequest>,
) -> Result<Json<Value>, ApiError> {
    let name = IndexName::new(index)?;
    request.user_id = caller.acting_user(request.user_id.as_deref())?;
    request.restriction = caller.shopper.and_then(|shopper| shopper.filter);
    let (catalog, recommenders) = (state.catalog.clone(), state.recommenders.clone());
    let (response, request, name) = blocking_until_gone(move |gone| {
        let index = catalog.get(&name)?;
        let settings = index.settings();
        let mut response = vitrine_query::search_unless_abandoned(&index, &settings, &request, &|| gone.is_gone())?;
        let weight = settings.ranking.personalization;
        if let Some(user_id) = request.user_id.as_deref()
            && weight > 0.0
        {
            recommenders.personalise(&name, user_id, weight, &mut response.hits, |hit| &hit.id, |hit| hit.pinned);
        }
        Ok((response, request, name))
    })
    .await?;
    let query_id = uuid::Uuid::now_v7();
    // Queued, not written: logging never slows the answer down.
    state.analytics.log_search(crate::analytics::SearchLog {
        query_id,
        index: name,
        query: request.q,
        filters: request.filter,
        result_count: response.total as u64,
        latency_ms: response.took_ms,
        // An id that is not a valid user id is left out of the log rather than failing the search.
        user_id: request.user_id.and_then(|id| vitrine_models::UserId::new(id).ok()),
        at: chrono::Utc::now(),
    });
    let mut body = serde_json::to_value(response).map_err(ApiError::internal)?;
    body["query_id"] = Value::String(query_id.to_string());
    Ok(Json(body))
}

/// The parameters of `GET /v1/indexes/{index}/suggest`.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuggestParams {
    /// What the shopper has typed so far.
    #[serde(default)]
    q: String,
    /// Suggestions of each kind (default 5, at most 20).
    limit: Option<usize>,
}

/// `GET /v1/indexes/{index}/suggest?q=...`: query completions and products for autocomplete.
pub async fn suggest(
    State(state): State<AppState>,
    Path(index): Path<String>,
    params: Result<axum::extract::Query<SuggestParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<vitrine_query::Suggestions>, ApiError> {
    let axum::extract::Query(params) = params?;
    let name = IndexName::new(index)?;
    let limit = params.limit.unwrap_or(5);
    // Popular past queries come from analytics; if they cannot be read, autocomplete goes on
    // with the index's completions alone.
    let prefix = vitrine_query::query_prefix(&params.q);
    let popular = if prefix.is_empty() || !(1..=vitrine_query::MAX_SUGGESTIONS).contains(&limit) {
        Vec::new()
    } else {
        state.analytics.popular_queries(&name, &prefix, limit as u32).await.unwrap_or_else(|error| {
            tracing::warn!(%error, "autocomplete without popular queries");
            Vec::new()
        })
    };
    let suggestions = blocking(move || {
        let index = state.catalog.get(&name)?;
        Ok(vitrine_query::suggest_with_popular(&index, &index.settings(), &params.q, limit, &popular)?)
    })
    .await?;
    Ok(Json(suggestions))
}
