//! `/v1/orders/{id}…` (search key): an order with its history, a (partial) refund honouring
//! `Idempotency-Key`, a return request.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::idempotency::idempotent;
use crate::http::error::{ApiError, ErrorCode};
use crate::http::extract::ApiJson;
use crate::http::state::AppState;

/// `GET /v1/orders/{id}`.
pub async fn get(State(state): State<AppState>, Path(order_id): Path<String>) -> Result<ApiJson<Value>, ApiError> {
    let shop = state.commerce.get().await?;
    let order = shop.order(&order_id).await?;
    Ok(ApiJson(serde_json::to_value(order).map_err(ApiError::internal)?))
}

/// `POST /v1/orders/{id}/refunds`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefundBody {
    /// Minor units; the whole remainder when absent.
    amount_cents: Option<i64>,
}

/// `POST /v1/orders/{id}/refunds`: a (partial) refund of a captured order.
pub async fn refund(
    State(state): State<AppState>,
    Path(order_id): Path<String>,
    headers: HeaderMap,
    ApiJson(raw): ApiJson<Value>,
) -> Result<Response, ApiError> {
    let keyed = json!({"order_id": order_id, "body": raw});
    idempotent(&state, &headers, "refund", &keyed, |state, keyed| async move {
        let body: RefundBody = serde_json::from_value(keyed["body"].clone())
            .map_err(|error| ApiError::new(ErrorCode::MalformedPayload, error.to_string()))?;
        let order_id = keyed["order_id"].as_str().unwrap_or_default().to_owned();
        let shop = state.commerce.get().await?;
        let order = shop.refund(&order_id, body.amount_cents).await?;
        Ok((StatusCode::CREATED, serde_json::to_value(order).map_err(ApiError::internal)?))
    })
    .await
}

/// `POST /v1/orders/{id}/returns`: `{"items": [...], "reason": "..."}`.
pub async fn request_return(
    State(state): State<AppState>,
    Path(order_id): Path<String>,
    ApiJson(details): ApiJson<Value>,
) -> Result<Response, ApiError> {
    let shop = state.commerce.get().await?;
    let order = shop.checkout.request_return(&order_id, details).await?;
    Ok((StatusCode::CREATED, ApiJson(serde_json::to_value(order).map_err(ApiError::internal)?)).into_response())
}
