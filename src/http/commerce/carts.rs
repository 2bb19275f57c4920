//! `/v1/carts…` (the `carts` action): a guest's or a shopper's cart, its lines, its coupon, and
//! merging a guest cart into the shopper's on login. Every call on a cart shows its token or
//! comes from its owner ([`CartAccess`]); the shopper is the shopper token's, never a body's
//! (only a key that may act for users names one in the body); every answer is the cart priced as
//! checkout will price it.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use vitrine_commerce::{Cart, Shop};

use crate::http::auth::Caller;
use crate::http::error::{ApiError, ErrorCode};
use crate::http::extract::{ApiJson, CartAccess};
use crate::http::state::AppState;

/// The cart as answered: its lines priced from commerce's SKUs, with totals, in its currency
/// (and, for its creator, its token).
async fn cart_view(shop: &Shop, cart: &Cart, with_token: bool) -> Result<Value, ApiError> {
    let quote = shop.quote(cart).await?;
    let mut view = json!({
        "id": cart.id, "user_id": cart.user_id, "status": cart.status, "lines": cart.lines, "totals": quote.totals,
        "currency": quote.currency, "coupon": quote.coupon.map(|coupon| coupon.code),
    });
    if with_token {
        view["token"] = json!(cart.token);
    }
    Ok(view)
}

/// `POST /v1/carts`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewCart {
    user_id: Option<String>,
}

/// `POST /v1/carts`: a guest cart, or the shopper's open cart.
pub async fn create(State(state): State<AppState>, caller: Caller, body: Bytes) -> Result<Response, ApiError> {
    let body: NewCart = if body.iter().all(u8::is_ascii_whitespace) {
        NewCart::default()
    } else {
        serde_json::from_slice(&body).map_err(|error| ApiError::new(ErrorCode::MalformedPayload, error.to_string()))?
    };
    let user_id = caller.acting_user(body.user_id.as_deref())?;
    let shop = state.commerce.get().await?;
    let cart = shop.store.create_cart(user_id.as_deref()).await?;
    Ok((StatusCode::CREATED, ApiJson(cart_view(&shop, &cart, true).await?)).into_response())
}

/// `GET /v1/carts/{id}`.
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    access: CartAccess,
) -> Result<ApiJson<Value>, ApiError> {
    let (shop, cart) = access.open(&state, &caller).await?;
    Ok(ApiJson(cart_view(&shop, &cart, false).await?))
}

/// `POST /v1/carts/{id}/items`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewLine {
    product_id: String,
    quantity: i64,
}

/// `POST /v1/carts/{id}/items`: adds units of a product.
pub async fn add_item(
    State(state): State<AppState>,
    caller: Caller,
    access: CartAccess,
    ApiJson(line): ApiJson<NewLine>,
) -> Result<ApiJson<Value>, ApiError> {
    let (shop, cart) = access.open(&state, &caller).await?;
    let cart = shop.add_to_cart(&cart, &line.product_id, line.quantity).await?;
    Ok(ApiJson(cart_view(&shop, &cart, false).await?))
}

/// `PATCH /v1/carts/{id}/items/{product_id}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LineChange {
    quantity: i64,
}

/// `PATCH /v1/carts/{id}/items/{product_id}`: sets the units (0 removes).
pub async fn update_item(
    State(state): State<AppState>,
    caller: Caller,
    access: CartAccess,
    Path((_, product_id)): Path<(String, String)>,
    ApiJson(change): ApiJson<LineChange>,
) -> Result<ApiJson<Value>, ApiError> {
    let (shop, cart) = access.open(&state, &caller).await?;
    let cart = shop.set_cart_quantity(&cart, &product_id, change.quantity).await?;
    Ok(ApiJson(cart_view(&shop, &cart, false).await?))
}

/// `DELETE /v1/carts/{id}/items/{product_id}`.
pub async fn remove_item(
    State(state): State<AppState>,
    caller: Caller,
    access: CartAccess,
    Path((_, product_id)): Path<(String, String)>,
) -> Result<ApiJson<Value>, ApiError> {
    let (shop, cart) = access.open(&state, &caller).await?;
    let cart = shop.set_cart_quantity(&cart, &product_id, 0).await?;
    Ok(ApiJson(cart_view(&shop, &cart, false).await?))
}

/// `POST /v1/carts/{id}/merge`: the shopper comes from the shopper token (`user_id` only from a
/// key that may act for users).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Merge {
    user_id: Option<String>,
}

/// `POST /v1/carts/{id}/merge`: the guest cart `{id}` into the shopper's cart, on login.
pub async fn merge(
    State(state): State<AppState>,
    caller: Caller,
    access: CartAccess,
    body: Bytes,
) -> Result<ApiJson<Value>, ApiError> {
    let merge: Merge = if body.iter().all(u8::is_ascii_whitespace) {
        Merge::default()
    } else {
        serde_json::from_slice(&body).map_err(|error| ApiError::new(ErrorCode::MalformedPayload, error.to_string()))?
    };
    let user_id = caller
        .acting_user(merge.user_id.as_deref())?
        .ok_or_else(|| ApiError::new(ErrorCode::InvalidCommerceRequest, "merging a cart needs the shopper's token"))?;
    let (shop, _) = access.open(&state, &caller).await?;
    let report = shop.merge_carts(&access.cart_id, &user_id).await?;
    let cart = cart_view(&shop, &report.cart, true).await?;
    Ok(ApiJson(json!({"cart": cart, "adjustments": report.adjustments})))
}

/// `PUT /v1/carts/{id}/coupon`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CouponBody {
    code: String,
}

/// `PUT /v1/carts/{id}/coupon`: applies a coupon (checked at checkout against its limit).
pub async fn put_coupon(
    State(state): State<AppState>,
    caller: Caller,
    access: CartAccess,
    ApiJson(body): ApiJson<CouponBody>,
) -> Result<ApiJson<Value>, ApiError> {
    let (shop, cart) = access.open(&state, &caller).await?;
    shop.store.set_cart_coupon(&cart.id, Some(&body.code)).await?;
    let cart = shop.store.cart(&cart.id).await?;
    Ok(ApiJson(cart_view(&shop, &cart, false).await?))
}

/// `DELETE /v1/carts/{id}/coupon`.
pub async fn delete_coupon(
    State(state): State<AppState>,
    caller: Caller,
    access: CartAccess,
) -> Result<ApiJson<Value>, ApiError> {
    let (shop, cart) = access.open(&state, &caller).await?;
    shop.store.set_cart_coupon(&cart.id, None).await?;
    let cart = shop.store.cart(&cart.id).await?;
    Ok(ApiJson(cart_view(&shop, &cart, false).await?))
}
