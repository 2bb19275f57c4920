//! `/v1/indexes/{index}/facets/{facet}/values` (the `search` action): facet-value search — the
//! values of one facet matching what a shopper types in its search box, with their counts under
//! the search's query and filters (and a shopper token's restriction). `POST` takes a JSON body;
//! `GET` the same names as query parameters, `filter` as JSON text.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use serde::Deserialize;
use vitrine_models::IndexName;
use vitrine_query::{FacetValues, FacetValuesRequest};

use crate::http::auth::Caller;
use crate::http::blocking::blocking;
use crate::http::error::{ApiError, ErrorCode};
use crate::http::extract::ApiJson;
use crate::http::state::AppState;

/// The query parameters of `GET …/facets/{facet}/values`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct FacetValuesParams {
    /// What the shopper typed in the facet's search box.
    #[serde(default)]
    q: String,
    /// The search's words.
    #[serde(default)]
    query: String,
    /// The search's filters, as JSON text (`{"color": ["Black"]}`).
    filter: Option<String>,
    /// Most values returned (default 10, at most 100).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<usize>,
}

/// `GET /v1/indexes/{index}/facets/{facet}/values?q=…&query=…&filter=…&limit=…`.
#[utoipa::path(get, path = "/v1/indexes/{index}/facets/{facet}/values", operation_id = "searchFacetValues", tag = "search",
    params(("index" = IndexName, Path), ("facet" = String, Path, description = "`brand` or a facetable attribute."), FacetValuesParams),
    responses((status = OK, body = FacetValues)))]
pub async fn search_get(
    state: State<AppState>,
    caller: Caller,
    path: Path<(String, String)>,
    params: Result<Query<FacetValuesParams>, QueryRejection>,
) -> Result<Json<FacetValues>, ApiError> {
    let Query(params) = params?;
    let filter = params
        .filter
        .filter(|text| !text.trim().is_empty())
        .map(|text| serde_json::from_str(&text))
        .transpose()
        .map_err(|error| ApiError::new(ErrorCode::InvalidFilter, format!("`filter` is not JSON: {error}")))?;
    let request =
        FacetValuesRequest { q: params.q, query: params.query, filter, limit: params.limit, restriction: None };
    answer(state, caller, path, request).await
}

/// `POST /v1/indexes/{index}/facets/{facet}/values` with `{"q", "query", "filter", "limit"}`.
#[utoipa::path(post, path = "/v1/indexes/{index}/facets/{facet}/values", operation_id = "searchFacetValuesWithBody", tag = "search",
    params(("index" = IndexName, Path), ("facet" = String, Path, description = "`brand` or a facetable attribute.")),
    request_body = FacetValuesRequest, responses((status = OK, body = FacetValues)))]
pub async fn search_post(
    state: State<AppState>,
    caller: Caller,
    path: Path<(String, String)>,
    ApiJson(request): ApiJson<FacetValuesRequest>,
) -> Result<Json<FacetValues>, ApiError> {
    answer(state, caller, path, request).await
}

async fn answer(
    State(state): State<AppState>,
    caller: Caller,
    Path((index, facet)): Path<(String, String)>,
    mut request: FacetValuesRequest,
) -> Result<Json<FacetValues>, ApiError> {
    let name = IndexName::new(index)?;
    request.restriction = caller.shopper.and_then(|shopper| shopper.filter);
    let values = blocking(move || {
        let index = state.catalog.get(&name)?;
        Ok(vitrine_query::facet_values(&index, &index.settings(), &facet, &request)?)
    })
    .await?;
    Ok(Json(values))
}
