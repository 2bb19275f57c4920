//! `POST /v1/checkout` (the `carts` action): runs the checkout saga on a cart (priced from
//! commerce's own SKUs), honouring `Idempotency-Key`; `201 {order_id, order_number, status,
//! totals, order_token}`, or the typed reason no order was made (`out_of_stock`,
//! `payment_declined`, …). Only the cart's holder checks it out: the request shows the cart's
//! token (`X-Cart-Token`) or comes from its owner — checked before anything else, replays
//! included. A placed order's purchases feed the storefront index's interaction log.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value, json};
use vitrine_commerce::{CheckoutRequest, Shop};
use vitrine_models::IndexName;

use super::idempotency::idempotent;
use crate::http::auth::Caller;
use crate::http::error::{ApiError, ErrorCode};
use crate::http::extract::{ApiJson, cart_token, may_use_cart};
use crate::http::state::AppState;

/// `POST /v1/checkout`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckoutBody {
    cart_id: String,
    payment: Payment,
    shipping_address: Value,
    /// The storefront's index: the order's purchases go to its interaction log.
    #[serde(default)]
    index: Option<String>,
}

/// The payment part of a checkout. A card form's other fields (`exp_month`, `exp_year`, `cvc`,
/// `name`) are accepted and not stored.
#[derive(Debug, Deserialize)]
pub struct Payment {
    card_number: String,
}

/// `POST /v1/checkout`: runs the saga; `201 {order_id, order_number, status, totals}`.
pub async fn checkout(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: ApiJson<Value>,
) -> Result<Response, ApiError> {
    let ApiJson(raw) = body;
    let cart_id = raw.get("cart_id").and_then(Value::as_str).unwrap_or_default();
    if let Some(index) = raw.get("index").and_then(Value::as_str)
        && !caller.grant.covers_index(index)
    {
        return Err(ApiError::new(ErrorCode::ForbiddenForKey, format!("this key may not reach the index `{index}`")));
    }
    if !cart_id.is_empty() {
        let shop = state.commerce.get().await?;
        let cart = shop.store.cart(cart_id).await?;
        may_use_cart(&cart, cart_token(&headers), &caller)?;
    }
    idempotent(&state, &headers, "checkout", &raw, |state, raw| async move {
        let body: CheckoutBody = serde_json::from_value(raw)
            .map_err(|error| ApiError::new(ErrorCode::MalformedPayload, error.to_string()))?;
        let shop = state.commerce.get().await?;
        let request = CheckoutRequest {
            cart_id: body.cart_id.clone(),
            card_number: body.payment.card_number,
            shipping_address: body.shipping_address,
        };
        let placed = shop.place_order(&request).await?;
        if let (Some(index), Some(order_id)) = (&body.index, &placed.order_id) {
            log_purchases(&state, &shop, index, order_id).await;
        }
        let order_token = match &placed.order_id {
            Some(order_id) => Some(state.access.order_token(order_id)?),
            None => None,
        };
        let answer = json!({
            "order_id": placed.order_id, "order_number": placed.order_number,
            "status": "placed", "checkout_id": placed.checkout_id, "totals": placed.totals,
            "order_token": order_token,
        });
        Ok((StatusCode::CREATED, answer))
    })
    .await
}

/// Appends the order's purchases to the interaction log of `index` (recommendations learn from
/// them). A failure is logged, not answered: the order stands.
async fn log_purchases(state: &AppState, shop: &Shop, index: &str, order_id: &str) {
    let Ok(Some(order)) = shop.store.order(order_id).await else { return };
    let purchases = order.purchases(chrono::Utc::now());
    let data_dir = state.catalog.data_dir().clone();
    let index = index.to_owned();
    let result = tokio::task::spawn_blocking(move || -> Result<usize, String> {
        let name = IndexName::new(&index).map_err(|error| error.to_string())?;
        vitrine_pipelines::log_interactions(&data_dir, &name, &purchases).map_err(|error| error.to_string())?;
        Ok(purchases.len())
    })
    .await;
    if !matches!(result, Ok(Ok(_))) {
        tracing::warn!(order_id, ?result, "the order's purchases could not be logged for recommendations");
    }
}
