//! The handlers.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::IntoResponse;
use serde_json::{Value, json};
use vitrine_indexer::{CatalogError, IndexSummary};
use vitrine_models::feed::FeedFormat;
use vitrine_models::{IndexName, Product, ProductId};

use crate::http::AppState;
use crate::http::error::{ApiError, ApiJson, ErrorCode};

impl From<CatalogError> for ApiError {
    fn from(error: CatalogError) -> Self {
        match error {
            CatalogError::IndexNotFound(name) => {
                ApiError::new(ErrorCode::IndexNotFound, format!("index `{name}` not found"))
            }
            CatalogError::InvalidSettings(reason) => ApiError::new(ErrorCode::InvalidSettings, reason),
            other => ApiError::internal(other),
        }
    }
}

/// Runs blocking engine work off the async workers.
pub(crate) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work).await.map_err(ApiError::internal)?
}

fn health_body(state: &AppState) -> Value {
    let ready = state.is_ready();
    json!({
        "status": if ready { "available" } else { "starting" },
        "live": true,
        "ready": ready,
        "version": env!("CARGO_PKG_VERSION"),
    })
}

/// `GET /health`: 200 when ready, 503 while starting; the body says which.
pub async fn health(State(state): State<AppState>) -> impl IntoResponse {
    let status = if state.is_ready() { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, Json(health_body(&state)))
}

/// `GET /health/live`: 200 while the process answers at all.
pub async fn liveness(State(state): State<AppState>) -> impl IntoResponse {
    Json(health_body(&state))
}

/// `GET /health/ready`: same as `/health`, for orchestrators that probe the two separately.
pub async fn readiness(state: State<AppState>) -> impl IntoResponse {
    health(state).await
}

/// `GET /metrics`: Prometheus text format.
pub async fn metrics(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    let text = state.metrics.render().map_err(ApiError::internal)?;
    Ok(([(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text))
}

/// `GET /v1/indexes`: every index with its sizes.
pub async fn list_indexes(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let indexes: Vec<IndexSummary> = blocking(move || Ok(state.catalog.list()?)).await?;
    Ok(Json(json!({ "results": indexes, "total": indexes.len() })))
}

/// `GET /v1/indexes/{index}`: one index's sizes.
pub async fn get_index(
    State(state): State<AppState>,
    Path(index): Path<String>,
) -> Result<Json<IndexSummary>, ApiError> {
    let name = IndexName::new(index)?;
    Ok(Json(blocking(move || Ok(state.catalog.summary(&name)?)).await?))
}

/// `DELETE /v1/indexes/{index}` (admin): removes an index and its data.
pub async fn delete_index(State(state): State<AppState>, Path(index): Path<String>) -> Result<StatusCode, ApiError> {
    let name = IndexName::new(index)?;
    let (catalog, deleted) = (state.catalog.clone(), name.clone());
    blocking(move || Ok(catalog.delete(&deleted)?)).await?;
    state.analytics.delete_index(&name).await.map_err(ApiError::internal)?;
    Ok(StatusCode::NO_CONTENT)
}

/// Most documents one request may upsert.
const MAX_DOCUMENTS_PER_REQUEST: usize = 100_000;

/// The body formats `POST /v1/indexes/{index}/documents` takes, by `Content-Type`.
fn document_format(headers: &HeaderMap) -> Result<Option<FeedFormat>, ApiError> {
    let content_type = headers.get(CONTENT_TYPE).and_then(|value| value.to_str().ok()).unwrap_or_default();
    let media_type = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    match media_type.as_str() {
        "application/json" => Ok(None),
        "application/x-ndjson" | "application/jsonl" | "application/json-lines" | "application/jsonlines" => {
            Ok(Some(FeedFormat::JsonLines))
        }
        "text/csv" => Ok(Some(FeedFormat::Csv)),
        _ => Err(ApiError::new(
            ErrorCode::InvalidContentType,
            format!(
                "documents are sent as `application/json` (an array), `application/x-ndjson` (JSON Lines) or \
                 `text/csv`, not `{content_type}`"
            ),
        )),
    }
}

/// Reads the products of a documents request; the first bad one refuses the request.
fn read_documents(format: Option<FeedFormat>, body: &[u8]) -> Result<Vec<Product>, ApiError> {
    let invalid = |message: String| ApiError::new(ErrorCode::InvalidDocument, message);
    match format {
        None => {
            let documents: Vec<Value> = serde_json::from_slice(body).map_err(|error| {
                ApiError::new(ErrorCode::MalformedPayload, format!("expected a JSON array of products: {error}"))
            })?;
            documents
                .into_iter()
                .enumerate()
                .map(|(position, document)| {
                    serde_json::from_value::<Product>(document)
                        .map_err(|error| invalid(format!("document {position}: {error}")))
                })
                .collect()
        }
        Some(format) => {
            let lines =
                vitrine_models::feed::read_products(body, format).map_err(|error| invalid(error.to_string()))?;
            lines.map(|line| line.map_err(|error| invalid(error.to_string()))).collect()
        }
    }
}

/// `POST /v1/indexes/{index}/documents` (admin): upserts products sent as a JSON array, JSON
/// Lines or CSV (by `Content-Type`), creating the index if needed. The batch is all-or-nothing:
/// one invalid product refuses the whole request, naming its position (or line) and field, so
/// nothing is half-applied.
pub async fn upsert_documents(
    State(state): State<AppState>,
    Path(index): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let name = IndexName::new(index)?;
    let format = document_format(&headers)?;
    let products = blocking(move || read_documents(format, &body)).await?;
    if products.len() > MAX_DOCUMENTS_PER_REQUEST {
        return Err(ApiError::new(
            ErrorCode::PayloadTooLarge,
            format!("{} documents in one request; the limit is {MAX_DOCUMENTS_PER_REQUEST}", products.len()),
        ));
    }
    let report = blocking(move || Ok(state.catalog.upsert(&name, products)?)).await?;
    Ok((StatusCode::OK, Json(json!({ "inserted": report.inserted, "updated": report.updated, "stale": report.stale }))))
}

/// `GET /v1/indexes/{index}/documents/{id}`: one product as stored.
pub async fn get_document(
    State(state): State<AppState>,
    Path((index, id)): Path<(String, String)>,
) -> Result<Json<Product>, ApiError> {
    let name = IndexName::new(index)?;
    let id = ProductId::new(id)?;
    let product = blocking(move || Ok(state.catalog.product(&name, &id)?.ok_or(id))).await?;
    product.map(Json).map_err(|id| ApiError::new(ErrorCode::DocumentNotFound, format!("no document with id `{id}`")))
}

/// `DELETE /v1/indexes/{index}/documents/{id}` (admin).
pub async fn delete_document(
    State(state): State<AppState>,
    Path((index, id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let name = IndexName::new(index)?;
    let id = ProductId::new(id)?;
    let missing = id.clone();
    let deleted = blocking(move || {
        let index = state.catalog.get(&name)?;
        index.delete(&id).map_err(ApiError::internal)
    })
    .await?;
    if deleted {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::new(ErrorCode::DocumentNotFound, format!("no document with id `{missing}`")))
    }
}

/// `POST /v1/indexes/{index}/search`.
pub async fn search(
    State(state): State<AppState>,
    Path(index): Path<String>,
    ApiJson(request): ApiJson<vitrine_query::SearchRequest>,
) -> Result<Json<Value>, ApiError> {
    let name = IndexName::new(index)?;
    let (catalog, recommenders) = (state.catalog.clone(), state.recommenders.clone());
    let (response, request, name) = blocking(move || {
        let index = catalog.get(&name)?;
        let settings = index.settings();
        let mut response = vitrine_query::search(&index, &settings, &request)?;
        let weight = settings.ranking.personalization;
        if let Some(user_id) = request.user_id.as_deref()
            && weight > 0.0
        {
            // A model that cannot be read leaves the search unpersonalised rather than failing it.
            match recommenders.get(&name) {
                Ok(Some(recommender)) => personalise(&mut response.hits, &recommender, user_id, weight),
                Ok(None) => {}
                Err(error) => tracing::warn!(%error, index = %name, "search without personalisation"),
            }
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

/// Re-ranks a page of hits by the shopper's affinity (ALS `user · item`): each unpinned hit gets
/// `1 − position / n + weight × affinity / max affinity`; pinned hits keep their places. Nothing
/// changes for a shopper the model cannot place.
fn personalise(
    hits: &mut Vec<vitrine_query::Hit>,
    recommender: &vitrine_recommender::serve::Recommender,
    user_id: &str,
    weight: f32,
) {
    let Some(user_vector) = recommender.user_vector(Some(user_id), &[]) else { return };
    let free: Vec<usize> = (0..hits.len()).filter(|&position| !hits[position].pinned).collect();
    let affinities: Vec<f32> = free
        .iter()
        .map(|&position| recommender.affinity(user_vector.view(), &hits[position].id).unwrap_or(0.0))
        .collect();
    let max = affinities.iter().copied().fold(0.0_f32, f32::max);
    if max <= 0.0 {
        return;
    }
    let n = free.len() as f32;
    let mut order: Vec<(f32, usize)> = free
        .iter()
        .zip(&affinities)
        .enumerate()
        .map(|(rank, (&position, &affinity))| (1.0 - rank as f32 / n + weight * affinity.max(0.0) / max, position))
        .collect();
    order.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut taken: Vec<Option<vitrine_query::Hit>> = std::mem::take(hits).into_iter().map(Some).collect();
    let reordered: Vec<vitrine_query::Hit> = order.iter().filter_map(|&(_, position)| taken[position].take()).collect();
    let mut reordered = reordered.into_iter();
    for slot in &mut taken {
        // Pinned hits are still in their slots; free slots take the re-ranked hits in order.
        hits.push(match slot.take() {
            Some(pinned) => pinned,
            None => match reordered.next() {
                Some(hit) => hit,
                None => continue,
            },
        });
    }
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

/// Any path no route has.
pub async fn route_not_found(uri: Uri) -> ApiError {
    ApiError::new(ErrorCode::RouteNotFound, format!("no route for `{}`", uri.path()))
}

/// A known path with a method it does not have.
pub async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::new(ErrorCode::MethodNotAllowed, format!("`{}` does not accept {method}", uri.path()))
}

/// The storefront plug-in (`/plugin/vitrine.js`): one script, no build step.
pub async fn plugin_script() -> impl IntoResponse {
    (
        [(CONTENT_TYPE, "text/javascript; charset=utf-8"), (axum::http::header::CACHE_CONTROL, "public, max-age=300")],
        include_str!("assets/vitrine.js"),
    )
}

/// The demo storefront at `/`, built only from the plug-in.
pub async fn storefront() -> impl IntoResponse {
    axum::response::Html(include_str!("assets/storefront.html"))
}
