//! `POST /v1/indexes/{index}/search` and `GET /v1/indexes/{index}/suggest` (the `search`
//! action): the query engine's answer, personalised for a signed-in shopper (the shopper token's;
//! a body `user_id` only from a key that may act for users) by the recommender when the index's
//! ranking asks for it, restricted by the token's filter, and logged for analytics without
//! waiting.

use axum::Json;
use axum::extract::{Path, State};
use vitrine_models::IndexName;

use crate::http::auth::Caller;
use crate::http::blocking::{blocking, blocking_until_gone};
use crate::http::error::ApiError;
use crate::http::extract::ApiJson;
use crate::http::state::AppState;

/// A search's answer, with the id to attribute the shopper's clicks and purchases to it.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct SearchAnswer {
    /// The results, facets and timings.
    #[serde(flatten)]
    response: vitrine_query::SearchResponse,
    /// This search's id: send it as `query_id` with the events it leads to.
    query_id: uuid::Uuid,
}

/// `POST /v1/indexes/{index}/search`.
#[utoipa::path(post, path = "/v1/indexes/{index}/search", operation_id = "search", tag = "search", params(("index" = IndexName, Path)),
    request_body = vitrine_query::SearchRequest,
    responses((status = OK, body = SearchAnswer), (status = FORBIDDEN, description = "`user_mismatch`: the body names another shopper than the token's.")))]
pub async fn search(
    State(state): State<AppState>,
    caller: Caller,
    Path(index): Path<String>,
    ApiJson(mut request): ApiJson<vitrine_query::SearchRequest>,
) -> Result<Json<SearchAnswer>, ApiError> {
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
    Ok(Json(SearchAnswer { response, query_id }))
}

/// The parameters of `GET /v1/indexes/{index}/suggest`.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SuggestParams {
    /// What the shopper has typed so far.
    #[serde(default)]
    q: String,
    /// Suggestions of each kind (default 5, at most 20).
    #[param(minimum = 1, maximum = 20)]
    limit: Option<usize>,
}

/// `GET /v1/indexes/{index}/suggest?q=...`: query completions and products for autocomplete.
#[utoipa::path(get, path = "/v1/indexes/{index}/suggest", operation_id = "suggest", tag = "search", params(("index" = IndexName, Path), SuggestParams),
    responses((status = OK, body = vitrine_query::Suggestions)))]
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
