//! `POST /v1/checkout` (the `carts` action): runs the checkout saga on a cart (priced from
//! commerce's own SKUs) with a payment method the provider tokenised in the browser, honouring
//! `Idempotency-Key`. Card data is refused (`card_data_refused`): a card number never reaches
//! the server. Answers:
//! - `201 {status: "placed", order_id, order_number, checkout_id, totals, order_token}`;
//! - `202 {status: "requires_action", checkout_id, next_action: {type: "redirect_to_url", url}}`
//!   when the shopper must authenticate (3-D Secure): after it, `POST /v1/checkout/{id}/confirm`;
//! - `202 {status: "processing", checkout_id}` when the provider answers later (by webhook);
//!   `GET /v1/checkout/{id}` tells where it stands;
//! - or the typed reason no order was made (`out_of_stock`, `payment_declined`, …).
//!
//! Only the cart's holder checks it out: the request shows the cart's token (`X-Cart-Token`) or
//! comes from its owner — checked before anything else, replays included. The saga and the
//! idempotency record run in their own task: a client that hangs up, or the request timeout,
//! does not stop them, and a retry with the key gets the final answer. A placed order's
//! purchases feed the storefront index's interaction log.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use vitrine_commerce::{CheckoutOutcome, CheckoutRequest, Shop, Totals};
use vitrine_models::IndexName;

use super::headers::{CART_TOKEN, IDEMPOTENCY_KEY};
use super::idempotency::{KeyScope, idempotent};
use crate::analytics::OrderRow;
use crate::experiments::assign::Identity;
use crate::http::auth::Caller;
use crate::http::error::{ApiError, ErrorCode};
use crate::http::extract::{ApiJson, cart_token, may_use_cart};
use crate::http::state::AppState;

/// `POST /v1/checkout`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckoutBody {
    /// The cart to check out.
    cart_id: String,
    /// How the shopper pays.
    payment: Payment,
    /// Where the order goes (stored with it as sent).
    shipping_address: Value,
    /// The storefront's index: the order's purchases go to its interaction log.
    #[serde(default)]
    index: Option<String>,
    /// A guest shopper's session, as their searches sent it: the order counts in the revenue of
    /// the experiments they took part in (a signed-in shopper is known by the cart).
    #[serde(default)]
    #[schema(max_length = 256)]
    session_id: Option<String>,
}

/// The payment part of a checkout: the provider's token of the shopper's payment method.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Payment {
    /// The provider's token (`pm_` and up to 100 letters, digits and `_`, e.g. `pm_card_visa`),
    /// never card data.
    #[schema(pattern = "^pm_[A-Za-z0-9_]{1,100}$")]
    payment_method: String,
}

/// Where a checkout stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CheckoutStatus {
    /// The order is made (`order_id`, `order_number`, `order_token`).
    Placed,
    /// The shopper must authenticate (3-D Secure) at `next_action.url`, then
    /// `POST /v1/checkout/{id}/confirm`.
    RequiresAction,
    /// The provider answers later (by webhook); `GET /v1/checkout/{id}` tells where it stands.
    Processing,
    /// It ended without an order (`failure` says why).
    Failed,
    /// It is still running.
    InProgress,
}

/// What the shopper does next.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct NextAction {
    /// What to do with `url`.
    #[serde(rename = "type")]
    kind: NextActionKind,
    /// The provider's authentication page.
    url: String,
}

/// The kind of a [`NextAction`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NextActionKind {
    /// Send the shopper to `url` (a redirect, a pop-up or a frame).
    RedirectToUrl,
}

/// A checkout as the API shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CheckoutAnswer {
    /// Where it stands.
    status: CheckoutStatus,
    /// The checkout's id (`GET /v1/checkout/{id}`).
    checkout_id: String,
    /// The order made, once placed.
    #[schema(required = true)]
    order_id: Option<String>,
    /// The order's human-readable number (`VT-001001`), once placed.
    #[schema(required = true)]
    order_number: Option<String>,
    /// The cart as charged.
    totals: Totals,
    /// The order's secret (`X-Order-Token` for `GET /v1/orders/{id}`), once placed.
    #[schema(required = true)]
    order_token: Option<String>,
    /// What the shopper must do, when `requires_action`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    next_action: Option<NextAction>,
    /// Why no order was made (`out_of_stock`, `card_declined`, …), when `failed`
    /// (`GET /v1/checkout/{id}` only: the other routes answer it as an error).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    failure: Option<String>,
}

/// Field names that carry card data; a body naming one is refused before anything else.
const CARD_FIELDS: [&str; 8] = ["card_number", "number", "cvc", "cvv", "exp_month", "exp_year", "pan", "card"];

/// Refuses a body carrying card data: a card field in `payment` (or at the top), or a payment
/// method that is a run of digits.
fn refuse_card_data(raw: &Value) -> Result<(), ApiError> {
    let payment = raw.get("payment");
    let named = CARD_FIELDS
        .iter()
        .any(|field| payment.and_then(|payment| payment.get(field)).is_some() || raw.get(field).is_some());
    let digits = payment
        .and_then(|payment| payment.get("payment_method"))
        .and_then(Value::as_str)
        .is_some_and(|method| method.chars().filter(char::is_ascii_digit).count() >= 12);
    if named || digits {
        return Err(ApiError::new(
            ErrorCode::CardDataRefused,
            "card data is refused: tokenise the card in the browser with the payment provider and send \
             `payment.payment_method` (e.g. `pm_card_visa`)",
        ));
    }
    Ok(())
}

/// A payment method is the provider's token: `pm_` and up to 100 letters, digits and `_`.
fn check_payment_method(method: &str) -> Result<(), ApiError> {
    let valid = method.len() <= 103
        && method
            .strip_prefix("pm_")
            .is_some_and(|rest| !rest.is_empty() && rest.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
    if valid {
        Ok(())
    } else {
        Err(ApiError::new(ErrorCode::InvalidPaymentMethod, "`payment.payment_method` must be a provider token `pm_…`"))
    }
}

/// The `409` of a checkout.
const CHECKOUT_CONFLICT: &str = "`out_of_stock`, `coupon_exhausted` (no order was made); `checkout_in_progress`: \
     another checkout of the cart is running; `cart_closed`: the cart was merged or ordered; \
     `idempotency_key_in_use`: the first request with the key still runs.";

/// `POST /v1/checkout`: runs the saga (see the module's documentation).
#[utoipa::path(post, path = "/v1/checkout", operation_id = "checkout", tag = "checkout", params(("X-Cart-Token" = Option<String>, Header, nullable = false, description = CART_TOKEN), ("Idempotency-Key" = Option<String>, Header, nullable = false, description = IDEMPOTENCY_KEY)),
    request_body = CheckoutBody,
    responses(
        (status = CREATED, description = "`placed`: the order is made.", body = CheckoutAnswer,
            headers(("Idempotent-Replayed" = String, description = "`true` on an answer replayed for a repeated `Idempotency-Key` (absent otherwise)."))),
        (status = ACCEPTED, description = "`requires_action` (3-D Secure: `next_action`, then `POST /v1/checkout/{id}/confirm`) or `processing` (the provider answers later).",
            body = CheckoutAnswer, headers(("Idempotent-Replayed" = String, description = "`true` on an answer replayed for a repeated `Idempotency-Key` (absent otherwise)."))),
        (status = BAD_REQUEST, description = "`card_data_refused`: card data in the body (send `payment.payment_method`); `invalid_payment_method`: not a provider token `pm_…`; `invalid_commerce_request`: an empty cart, or one in several currencies; `amount_too_large`: a total above what a payment may take; `invalid_idempotency_key`; `malformed_payload`."),
        (status = PAYMENT_REQUIRED, description = "`payment_declined`: the card was declined (or its authentication failed or was abandoned); no order was made."),
        (status = FORBIDDEN, description = "`invalid_cart_token`: neither the cart's token (`X-Cart-Token`) nor its owner's shopper token; `forbidden_for_key`: the key may not reach `index`."),
        (status = NOT_FOUND, description = "`cart_not_found`; `product_not_for_sale`: a line's product is no longer sold."),
        (status = CONFLICT, description = CHECKOUT_CONFLICT),
        (status = UNPROCESSABLE_ENTITY, description = "`idempotency_key_reused`: the key was used with other parameters."),
        (status = BAD_GATEWAY, description = "`payment_gateway_error`: the payment provider failed or did not answer; nothing was charged."),
    ))]
pub async fn checkout(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: ApiJson<Value>,
) -> Result<Response, ApiError> {
    let ApiJson(raw) = body;
    refuse_card_data(&raw)?;
    let body: CheckoutBody = serde_json::from_value(raw.clone())
        .map_err(|error| ApiError::new(ErrorCode::MalformedPayload, error.to_string()))?;
    check_payment_method(&body.payment.payment_method)?;
    if let Some(index) = &body.index
        && !caller.grant.covers_index(index)
    {
        return Err(ApiError::new(ErrorCode::ForbiddenForKey, format!("this key may not reach the index `{index}`")));
    }
    let shop = state.commerce.get().await?;
    let cart = shop.store.cart(&body.cart_id).await?;
    may_use_cart(&cart, cart_token(&headers), &caller)?;
    // The fingerprint covers the request without its payment fields.
    let mut canonical = raw;
    if let Some(fields) = canonical.as_object_mut() {
        fields.remove("payment");
    }
    let scope = KeyScope { operation: "checkout", caller: format!("cart:{}", cart.id) };
    // Its own task: the saga and the key's record finish whatever happens to this request.
    let task = tokio::spawn(async move {
        idempotent(&state, &headers, scope, &canonical, |state| async move {
            let shop = state.commerce.get().await?;
            let request = CheckoutRequest {
                cart_id: body.cart_id.clone(),
                payment_method: body.payment.payment_method,
                shipping_address: body.shipping_address,
            };
            let outcome = shop.place_order(&request).await?;
            answer(&state, &shop, outcome, body.index.as_deref(), body.session_id.as_deref()).await
        })
        .await
    });
    task.await.map_err(ApiError::internal)?
}

/// `POST /v1/checkout/{id}/confirm`.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmBody {
    /// The storefront's index: the order's purchases go to its interaction log.
    #[serde(default)]
    index: Option<String>,
    /// A guest shopper's session, as for `POST /v1/checkout`.
    #[serde(default)]
    #[schema(max_length = 256)]
    session_id: Option<String>,
}

/// `POST /v1/checkout/{id}/confirm`: after the shopper's authentication (3-D Secure), goes on
/// with the checkout; answers as `POST /v1/checkout` does.
#[utoipa::path(post, path = "/v1/checkout/{id}/confirm", operation_id = "confirmCheckout", tag = "checkout",
    params(("id" = String, Path, description = "The checkout (`checkout_id`)."), ("X-Cart-Token" = Option<String>, Header, nullable = false, description = CART_TOKEN)),
    request_body(content = Option<ConfirmBody>, description = "Optional: the storefront's `index`."),
    responses(
        (status = CREATED, description = "`placed`: the order is made.", body = CheckoutAnswer),
        (status = ACCEPTED, description = "`requires_action` or `processing`: the payment still waits.", body = CheckoutAnswer),
        (status = BAD_REQUEST, description = "`malformed_payload`."),
        (status = PAYMENT_REQUIRED, description = "`payment_declined`: the card was declined (or its authentication failed or was abandoned); no order was made."),
        (status = NOT_FOUND, description = "`checkout_not_found`: no such checkout, or the caller does not hold its cart."),
        (status = CONFLICT, description = "`out_of_stock`, `coupon_exhausted` (no order was made); `order_busy`: another step of the checkout is under way."),
        (status = BAD_GATEWAY, description = "`payment_gateway_error`: the payment provider failed or did not answer; nothing was charged."),
    ))]
pub async fn confirm(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path(checkout_id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let body = if body.iter().all(u8::is_ascii_whitespace) {
        ConfirmBody::default()
    } else {
        serde_json::from_slice::<ConfirmBody>(&body)
            .map_err(|error| ApiError::new(ErrorCode::MalformedPayload, error.to_string()))?
    };
    let shop = checkout_holder(&state, &caller, &headers, &checkout_id).await?;
    let task = tokio::spawn(async move {
        let outcome = shop.confirm_checkout(&checkout_id).await?;
        answer(&state, &shop, outcome, body.index.as_deref(), body.session_id.as_deref()).await
    });
    let (status, body) = task.await.map_err(ApiError::internal)??;
    Ok((status, ApiJson(body)).into_response())
}

/// `GET /v1/checkout/{id}`: where the checkout stands (`placed`, `requires_action`,
/// `processing`, `failed` with its code, or `in_progress`).
#[utoipa::path(get, path = "/v1/checkout/{id}", operation_id = "getCheckout", tag = "checkout",
    params(("id" = String, Path, description = "The checkout (`checkout_id`)."), ("X-Cart-Token" = Option<String>, Header, nullable = false, description = CART_TOKEN)),
    responses((status = OK, body = CheckoutAnswer),
        (status = NOT_FOUND, description = "`checkout_not_found`: no such checkout, or the caller does not hold its cart.")))]
pub async fn status(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path(checkout_id): Path<String>,
) -> Result<ApiJson<CheckoutAnswer>, ApiError> {
    let shop = checkout_holder(&state, &caller, &headers, &checkout_id).await?;
    let outcome = shop.checkout.outcome(&checkout_id).await?;
    let mut body = describe(&state, &outcome)?;
    if let Some(failure) = outcome.failure() {
        body.status = CheckoutStatus::Failed;
        body.failure = Some(failure.to_string());
    }
    Ok(ApiJson(body))
}

/// The shop, if the caller holds the cart of the checkout `checkout_id` (else 404, as for a
/// checkout that does not exist).
async fn checkout_holder(
    state: &AppState,
    caller: &Caller,
    headers: &HeaderMap,
    checkout_id: &str,
) -> Result<std::sync::Arc<Shop>, ApiError> {
    let shop = state.commerce.get().await?;
    let cart_id = shop.checkout.cart_of(checkout_id).await?;
    let cart = shop.store.cart(&cart_id).await?;
    if may_use_cart(&cart, cart_token(headers), caller).is_err() {
        return Err(ApiError::new(ErrorCode::CheckoutNotFound, format!("no checkout `{checkout_id}`")));
    }
    Ok(shop)
}

/// The answer to a checkout that made an order or waits (a failed one is an error already).
async fn answer(
    state: &AppState,
    shop: &Shop,
    outcome: CheckoutOutcome,
    index: Option<&str>,
    session_id: Option<&str>,
) -> Result<(StatusCode, CheckoutAnswer), ApiError> {
    if let (Some(index), Some(order_id), true) = (index, &outcome.order_id, outcome.is_placed()) {
        log_purchases(state, shop, index, order_id, session_id).await;
    }
    let status = if outcome.is_placed() { StatusCode::CREATED } else { StatusCode::ACCEPTED };
    Ok((status, describe(state, &outcome)?))
}

/// A checkout's outcome as the API shows it.
fn describe(state: &AppState, outcome: &CheckoutOutcome) -> Result<CheckoutAnswer, ApiError> {
    let status = if outcome.is_placed() {
        CheckoutStatus::Placed
    } else {
        match outcome.state {
            vitrine_commerce::CheckoutState::RequiresAction => CheckoutStatus::RequiresAction,
            vitrine_commerce::CheckoutState::PaymentPending => CheckoutStatus::Processing,
            _ if outcome.state.is_final() => CheckoutStatus::Failed,
            _ => CheckoutStatus::InProgress,
        }
    };
    let order_token = match (&outcome.order_id, outcome.is_placed()) {
        (Some(order_id), true) => Some(state.access.order_token(order_id).map_err(ApiError::internal)?),
        _ => None,
    };
    Ok(CheckoutAnswer {
        status,
        checkout_id: outcome.checkout_id.clone(),
        order_id: outcome.order_id.clone(),
        order_number: outcome.order_number.clone(),
        totals: outcome.totals.clone(),
        order_token,
        next_action: outcome
            .next_action_url
            .as_ref()
            .map(|url| NextAction { kind: NextActionKind::RedirectToUrl, url: url.clone() }),
        failure: None,
    })
}

/// Appends the order's purchases to the interaction log of `index` (recommendations learn from
/// them), and records the order for experiments' revenue (by its shopper: the cart's owner, else
/// the guest's `session_id`). A failure is logged, not answered: the order stands.
async fn log_purchases(state: &AppState, shop: &Shop, index: &str, order_id: &str, session_id: Option<&str>) {
    let Ok(Some(order)) = shop.store.order(order_id).await else { return };
    let identity = Identity::of(order.user_id.as_deref(), true, session_id);
    if let (Some(identity), Ok(name)) = (identity, IndexName::new(index)) {
        let row = OrderRow {
            order_id: order.id.clone(),
            identity: identity.as_str().to_owned(),
            total_cents: order.total_cents,
            currency: order.currency.clone(),
            at_ms: chrono::Utc::now().timestamp_millis(),
        };
        if let Err(error) = state.analytics.record_order(&name, &row).await {
            tracing::warn!(order_id, %error, "the order could not be recorded for experiments");
        }
    }
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn card_data_is_refused_and_tokens_pass() {
        let refused = |body: Value| refuse_card_data(&body).map_err(|error| error.code);
        assert_eq!(refused(json!({"payment": {"card_number": "4242424242424242"}})), Err(ErrorCode::CardDataRefused));
        assert_eq!(
            refused(json!({"payment": {"payment_method": "pm_card_visa", "cvc": "123"}})),
            Err(ErrorCode::CardDataRefused)
        );
        assert_eq!(refused(json!({"card_number": "4242"})), Err(ErrorCode::CardDataRefused));
        assert_eq!(
            refused(json!({"payment": {"payment_method": "4242 4242 4242 4242"}})),
            Err(ErrorCode::CardDataRefused)
        );
        assert_eq!(refused(json!({"payment": {"payment_method": "pm_card_visa"}})), Ok(()));
        assert!(check_payment_method("pm_card_chargeDeclinedFraudulent").is_ok());
        for bad in ["", "pm_", "card_visa", "pm_card visa", "pm_<script>"] {
            assert!(check_payment_method(bad).is_err(), "{bad}");
        }
    }
}
