//! `/v1/orders/{id}…`: an order with its history and a return request (the `carts` action, for
//! the order's owner: its shopper's token, the order token checkout answered in
//! `X-Order-Token`, or an `orders.admin` key — anyone else is told the order does not exist);
//! a (partial) refund honouring `Idempotency-Key` (`orders.admin` only).

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use vitrine_commerce::{Order, ReturnRequest};

use super::headers::{IDEMPOTENCY_KEY, ORDER_TOKEN};
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
) -> Result<Order, ApiError> {
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
#[utoipa::path(get, path = "/v1/orders/{id}", operation_id = "getOrder", tag = "orders", params(("id" = String, Path, description = "The order (`order_id`)."), ("X-Order-Token" = Option<String>, Header, nullable = false, description = ORDER_TOKEN)),
    responses((status = OK, description = "The order with its history.", body = Order),
        (status = NOT_FOUND, description = "`order_not_found`: no such order, or the caller may not see it.")))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path(order_id): Path<String>,
) -> Result<ApiJson<Order>, ApiError> {
    let order = owned_order(&state, &caller, &headers, &order_id).await?;
    Ok(ApiJson(order))
}

/// `POST /v1/orders/{id}/refunds`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundBody {
    /// Minor units; the whole remainder when absent.
    amount_cents: Option<i64>,
}

/// `POST /v1/orders/{id}/refunds`: a (partial) refund of a captured order.
#[utoipa::path(post, path = "/v1/orders/{id}/refunds", operation_id = "refundOrder", tag = "orders", params(("id" = String, Path, description = "The order."), ("Idempotency-Key" = Option<String>, Header, nullable = false, description = IDEMPOTENCY_KEY)),
    request_body(content = RefundBody, description = "`{}` refunds all that is left."),
    responses(
        (status = CREATED, description = "The order with its `refunded` event.", body = Order,
            headers(("Idempotent-Replayed" = String, description = "`true` on an answer replayed for a repeated `Idempotency-Key` (absent otherwise)."))),
        (status = BAD_REQUEST, description = "`invalid_commerce_request`: an amount outside 1 to what is left to refund; `invalid_idempotency_key`; `malformed_payload`."),
        (status = NOT_FOUND, description = "`order_not_found`."),
        (status = CONFLICT, description = "`invalid_order_state`: nothing captured, or all of it refunded; `order_busy`: another change of the order is under way; `idempotency_key_in_use`: the first request with the key still runs."),
        (status = UNPROCESSABLE_ENTITY, description = "`idempotency_key_reused`: the key was used with other parameters."),
        (status = BAD_GATEWAY, description = "`payment_gateway_error`: the payment provider refused or failed."),
    ))]
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
            Ok((StatusCode::CREATED, shop.refund(&order_id, body.amount_cents).await?))
        })
        .await
    });
    task.await.map_err(ApiError::internal)?
}

/// `POST /v1/orders/{id}/returns`: `{"items": [{"product_id", "quantity"}], "reason": "..."}`
/// (at most 16 KiB; each item a line of the order, at most its units; a reason of at most 500
/// characters), for a shipped or delivered order, by its owner.
#[utoipa::path(post, path = "/v1/orders/{id}/returns", operation_id = "requestReturn", tag = "orders", params(("id" = String, Path, description = "The order."), ("X-Order-Token" = Option<String>, Header, nullable = false, description = ORDER_TOKEN)),
    request_body = ReturnRequest,
    responses(
        (status = CREATED, description = "The order with its `return_requested` event.", body = Order),
        (status = BAD_REQUEST, description = "`invalid_commerce_request`: no item, an item not in the order or above its units, a reason above 500 characters; `malformed_payload`."),
        (status = NOT_FOUND, description = "`order_not_found`: no such order, or the caller may not see it."),
        (status = CONFLICT, description = "`invalid_order_state`: the order is not shipped or delivered; `order_busy`: another change of the order is under way."),
        (status = PAYLOAD_TOO_LARGE, description = "`payload_too_large`: a return request is at most 16 KiB."),
    ))]
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
    Ok((StatusCode::CREATED, ApiJson(order)).into_response())
}
