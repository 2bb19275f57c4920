//! `/v1/orders/{id}…`: an order with its history and a return request (the `carts` action, for
//! the order's owner: its shopper's token, the order token checkout answered in
//! `X-Order-Token`, or an `orders.admin` key — anyone else is told the order does not exist);
//! a (partial) refund honouring `Idempotency-Key` (`orders.admin` only).

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use vitrine_commerce::ReturnRequest;

use super::idempotency::{KeyScope, idempotent};
use crate::http::auth::Caller;
use crate::http::error::{ApiError, ErrorCode};
use crate::http::extract::ApiJson;
use crate::http::state::AppState;

/// The largest return request body (`items` and `reason`).
const MAX_RETURN_BYTES: usize = 16 * 1024;

/// Fails with `order_not_found` unless the caller may see the order `order_id`.
async fn owned_order(
    state: &AppState,
    caller: &Caller,
    headers: &HeaderMap,
    order_id: &str,
) -> Result<vitrine_commerce::Order, ApiError> {
    let shop = state.commerce.get().await?;
    let order = shop.order(order_id).await?;
    let token = headers.get("x-order-token").and_then(|value| value.to_str().ok()).unwrap_or_default();
    let owner = order.user_id.as_deref().is_some_and(|user| caller.may_act_for(user));
    if caller.is_orders_admin() || owner || (!token.is_empty() && state.access.is_order_token(order_id, token)) {
        return Ok(order);
    }
    // Not "forbidden": whether an order id exists is not told to those who may not see it.
    Err(ApiError::new(ErrorCode::OrderNotFound, format!("no order `{order_id}`")))
}

/// `GET /v1/orders/{id}`.
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path(order_id): Path<String>,
) -> Result<ApiJson<Value>, ApiError> {
    let order = owned_order(&state, &caller, &headers, &order_id).await?;
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
    caller: Caller,
    Path(order_id): Path<String>,
    headers: HeaderMap,
    ApiJson(raw): ApiJson<Value>,
) -> Result<Response, ApiError> {
    let body: RefundBody = serde_json::from_value(raw.clone())
        .map_err(|error| ApiError::new(ErrorCode::MalformedPayload, error.to_string()))?;
    let canonical = json!({"order_id": order_id, "body": raw});
    let scope = KeyScope { operation: "refund", caller: format!("key:{}", caller.principal()) };
    let task = tokio::spawn(async move {
        idempotent(&state, &headers, scope, &canonical, |state| async move {
            let shop = state.commerce.get().await?;
            let order = shop.refund(&order_id, body.amount_cents).await?;
            Ok((StatusCode::CREATED, serde_json::to_value(order).map_err(ApiError::internal)?))
        })
        .await
    });
    task.await.map_err(ApiError::internal)?
}

/// `POST /v1/orders/{id}/returns`: `{"items": [{"product_id", "quantity"}], "reason": "..."}`
/// (at most 16 KiB; each item a line of the order, at most its units; a reason of at most 500
/// characters), for a shipped or delivered order, by its owner.
pub async fn request_return(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path(order_id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    if body.len() > MAX_RETURN_BYTES {
        return Err(ApiError::new(ErrorCode::PayloadTooLarge, "a return request is at most 16 KiB"));
    }
    owned_order(&state, &caller, &headers, &order_id).await?;
    let details: ReturnRequest =
        serde_json::from_slice(&body).map_err(|error| ApiError::new(ErrorCode::MalformedPayload, error.to_string()))?;
    let shop = state.commerce.get().await?;
    let order = shop.checkout.request_return(&order_id, details).await?;
    Ok((StatusCode::CREATED, ApiJson(serde_json::to_value(order).map_err(ApiError::internal)?)).into_response())
}
