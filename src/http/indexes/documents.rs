//! `/v1/indexes/{index}/documents`: upsert products (admin; a JSON array, JSON Lines or CSV, all
//! or nothing), read one, delete one (admin).

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};
use serde::Serialize;
use serde_json::Value;
use vitrine_models::feed::FeedFormat;
use vitrine_models::{IndexName, Product, ProductDraft, ProductId};

use crate::http::blocking::blocking;
use crate::http::error::{ApiError, ErrorCode};
use crate::http::state::AppState;

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

/// Reads the products of a documents request; the first bad one refuses the request. A price
/// without its currency is in `default_currency` (the index's setting), if it has one.
fn read_documents(
    format: Option<FeedFormat>,
    body: &[u8],
    default_currency: Option<&str>,
) -> Result<Vec<Product>, ApiError> {
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
                    serde_json::from_value::<ProductDraft>(document)
                        .map_err(|error| error.to_string())
                        .and_then(|draft| {
                            Product::try_from(draft.with_default_currency(default_currency))
                                .map_err(|error| error.to_string())
                        })
                        .map_err(|error| invalid(format!("document {position}: {error}")))
                })
                .collect()
        }
        Some(format) => {
            let lines = vitrine_models::feed::read_products_in(body, format, default_currency)
                .map_err(|error| invalid(error.to_string()))?;
            lines.map(|line| line.map_err(|error| invalid(error.to_string()))).collect()
        }
    }
}

/// What an upsert did.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Upserted {
    /// New products.
    inserted: u64,
    /// Products replaced by a newer version.
    updated: u64,
    /// Products ignored: their `version` is not newer than the stored one.
    stale: u64,
}

/// `POST /v1/indexes/{index}/documents` (admin): upserts products sent as a JSON array, JSON
/// Lines or CSV (by `Content-Type`), creating the index if needed. The batch is all-or-nothing:
/// one invalid product refuses the whole request, naming its position (or line) and field, so
/// nothing is half-applied.
#[utoipa::path(post, path = "/v1/indexes/{index}/documents", operation_id = "upsertDocuments", tag = "documents", params(("index" = IndexName, Path)),
    request_body(description = "Products: a JSON array, JSON Lines or CSV (columns `id`, `title`, …, `attr.NAME`).",
        content((Vec<ProductDraft> = "application/json"), (String = "application/x-ndjson"), (String = "text/csv"))),
    responses((status = OK, body = Upserted), (status = BAD_REQUEST, description = "`invalid_document`: the first bad product, by position or line.")))]
pub async fn upsert(
    State(state): State<AppState>,
    Path(index): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<Upserted>), ApiError> {
    let name = IndexName::new(index)?;
    let format = document_format(&headers)?;
    let catalog = state.catalog.clone();
    let (products, name) = blocking(move || {
        let default_currency = match catalog.exists(&name) {
            true => catalog.get(&name)?.settings().default_currency.clone(),
            false => None,
        };
        Ok((read_documents(format, &body, default_currency.as_deref())?, name))
    })
    .await?;
    if products.len() > MAX_DOCUMENTS_PER_REQUEST {
        return Err(ApiError::new(
            ErrorCode::PayloadTooLarge,
            format!("{} documents in one request; the limit is {MAX_DOCUMENTS_PER_REQUEST}", products.len()),
        ));
    }
    let report = blocking(move || Ok(state.catalog.upsert(&name, products)?)).await?;
    Ok((StatusCode::OK, Json(Upserted { inserted: report.inserted, updated: report.updated, stale: report.stale })))
}

/// `GET /v1/indexes/{index}/documents/{id}`: one product as stored.
#[utoipa::path(get, path = "/v1/indexes/{index}/documents/{id}", operation_id = "getDocument", tag = "documents", params(("index" = IndexName, Path), ("id" = ProductId, Path)),
    responses((status = OK, body = Product), (status = NOT_FOUND, description = "`document_not_found`.")))]
pub async fn get(
    State(state): State<AppState>,
    Path((index, id)): Path<(String, String)>,
) -> Result<Json<Product>, ApiError> {
    let name = IndexName::new(index)?;
    let id = ProductId::new(id)?;
    let product = blocking(move || Ok(state.catalog.product(&name, &id)?.ok_or(id))).await?;
    product.map(Json).map_err(|id| ApiError::new(ErrorCode::DocumentNotFound, format!("no document with id `{id}`")))
}

/// `DELETE /v1/indexes/{index}/documents/{id}` (admin).
#[utoipa::path(delete, path = "/v1/indexes/{index}/documents/{id}", operation_id = "deleteDocument", tag = "documents", params(("index" = IndexName, Path), ("id" = ProductId, Path)),
    responses((status = NO_CONTENT, description = "Deleted."), (status = NOT_FOUND, description = "`document_not_found`.")))]
pub async fn delete(
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
