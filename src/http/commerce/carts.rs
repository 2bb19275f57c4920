//! `/v1/carts…` (the `carts` action): a guest's or a shopper's cart, its lines, its coupon, and
//! merging a guest cart into the shopper's on login. Every call on a cart shows its token or
//! comes from its owner ([`CartAccess`]); the shopper is the shopper token's, never a body's
//! (only a key that may act for users names one in the body); every answer is the cart priced as
//! checkout will price it.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use vitrine_commerce::{Adjustment, Cart, CartLine, Shop, Totals};

use super::headers::CART_TOKEN;
use crate::http::auth::Caller;
use crate::http::error::{ApiError, ErrorCode};
use crate::http::extract::{ApiJson, CartAccess};
use crate::http::state::AppState;

/// The `403` of a call on a cart.
const CART_FORBIDDEN: &str =
    "`invalid_cart_token`: neither the cart's token (`X-Cart-Token`) nor its owner's shopper token.";

/// The cart as answered: its lines priced from commerce's SKUs, with totals, in its currency
/// (and, for its creator, its token).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CartView {
    /// Its id.
    id: String,
    /// The shopper's id for a shopper's cart; `null` for a guest cart.
    #[schema(required = true)]
    user_id: Option<String>,
    /// `open`, `merged` or `ordered`.
    status: String,
    /// Lines, by product id.
    lines: Vec<CartLine>,
    /// The lines priced as checkout will price them, with the coupon, shipping and tax.
    totals: Totals,
    /// ISO 4217 code of the cart's SKUs; `null` for an empty cart.
    #[schema(required = true)]
    currency: Option<String>,
    /// The coupon code applied, if any.
    #[schema(required = true)]
    coupon: Option<String>,
    /// The secret to show in `X-Cart-Token` on every call on the cart: only in the answers that
    /// make the cart (`POST /v1/carts`) or merge into it.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    token: Option<String>,
}

/// A merge: the shopper's cart after it, and the lines capped on the way.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MergedCart {
    /// The shopper's cart, with its token.
    cart: CartView,
    /// Lines capped by the available stock, the most units of a line, or a hold limit.
    adjustments: Vec<Adjustment>,
}

/// `cart` as answered, with its token when `with_token`.
async fn cart_view(shop: &Shop, cart: &Cart, with_token: bool) -> Result<CartView, ApiError> {
    let quote = shop.quote(cart).await?;
    Ok(CartView {
        id: cart.id.clone(),
        user_id: cart.user_id.clone(),
        status: cart.status.clone(),
        lines: cart.lines.clone(),
        totals: quote.totals,
        currency: quote.currency,
        coupon: quote.coupon.map(|coupon| coupon.code),
        token: with_token.then(|| cart.token.clone()),
    })
}

/// `POST /v1/carts`: empty (or `{}`) for a guest cart, or the shopper token's cart.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCart {
    /// The shopper whose open cart is answered: only from a key that may act for users (a
    /// shopper token's shopper is taken from the token).
    user_id: Option<String>,
}

/// `POST /v1/carts`: a guest cart, or the shopper's open cart.
#[utoipa::path(post, path = "/v1/carts", operation_id = "createCart", tag = "carts",
    request_body(content = Option<NewCart>, description = "Optional: no body (or `{}`) for a guest cart, or the shopper token's open cart."),
    responses((status = CREATED, description = "The cart, with its `token`.", body = CartView),
        (status = BAD_REQUEST, description = "`malformed_payload`."),
        (status = FORBIDDEN, description = "`user_mismatch`: the body names another shopper than the token's; `forbidden_for_key`: the key may not act for a shopper.")))]
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
#[utoipa::path(get, path = "/v1/carts/{id}", operation_id = "getCart", tag = "carts", params(("id" = String, Path, description = "The cart."), ("X-Cart-Token" = Option<String>, Header, nullable = false, description = CART_TOKEN)),
    responses((status = OK, body = CartView), (status = FORBIDDEN, description = CART_FORBIDDEN),
        (status = NOT_FOUND, description = "`cart_not_found`.")))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    access: CartAccess,
) -> Result<ApiJson<CartView>, ApiError> {
    let (shop, cart) = access.open(&state, &caller).await?;
    Ok(ApiJson(cart_view(&shop, &cart, false).await?))
}

/// `POST /v1/carts/{id}/items`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewLine {
    /// A product commerce sells (has a SKU for).
    product_id: String,
    /// Units to add to what the line has (the line in all 1–999).
    quantity: i64,
}

/// `POST /v1/carts/{id}/items`: adds units of a product.
#[utoipa::path(post, path = "/v1/carts/{id}/items", operation_id = "addCartItem", tag = "carts", params(("id" = String, Path, description = "The cart."), ("X-Cart-Token" = Option<String>, Header, nullable = false, description = CART_TOKEN)),
    request_body = NewLine,
    responses((status = OK, body = CartView),
        (status = BAD_REQUEST, description = "`invalid_commerce_request`: a quantity outside 1–999 (the line in all); `malformed_payload`."),
        (status = FORBIDDEN, description = CART_FORBIDDEN),
        (status = NOT_FOUND, description = "`cart_not_found`; `product_not_for_sale`: commerce has no SKU for the product."),
        (status = CONFLICT, description = "`cart_closed`: the cart was merged or ordered; `out_of_stock`, `hold_limit_exceeded` (with stock held from add-to-cart).")))]
pub async fn add_item(
    State(state): State<AppState>,
    caller: Caller,
    access: CartAccess,
    ApiJson(line): ApiJson<NewLine>,
) -> Result<ApiJson<CartView>, ApiError> {
    let (shop, cart) = access.open(&state, &caller).await?;
    let cart = shop.add_to_cart(&cart, &line.product_id, line.quantity).await?;
    Ok(ApiJson(cart_view(&shop, &cart, false).await?))
}

/// `PATCH /v1/carts/{id}/items/{product_id}`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LineChange {
    /// The line's units, 0–999 (0 removes the line).
    quantity: i64,
}

/// `PATCH /v1/carts/{id}/items/{product_id}`: sets the units (0 removes).
#[utoipa::path(patch, path = "/v1/carts/{id}/items/{product_id}", operation_id = "updateCartItem", tag = "carts",
    params(("id" = String, Path, description = "The cart."), ("product_id" = String, Path, description = "A product of the cart's lines."), ("X-Cart-Token" = Option<String>, Header, nullable = false, description = CART_TOKEN)),
    request_body = LineChange,
    responses((status = OK, body = CartView),
        (status = BAD_REQUEST, description = "`invalid_commerce_request`: a quantity outside 0–999, or a product the cart has no line of; `malformed_payload`."),
        (status = FORBIDDEN, description = CART_FORBIDDEN),
        (status = NOT_FOUND, description = "`cart_not_found`; `product_not_for_sale`: a line's product is no longer sold (with stock held from add-to-cart)."),
        (status = CONFLICT, description = "`cart_closed`: the cart was merged or ordered; `out_of_stock`, `hold_limit_exceeded` (with stock held from add-to-cart).")))]
pub async fn update_item(
    State(state): State<AppState>,
    caller: Caller,
    access: CartAccess,
    Path((_, product_id)): Path<(String, String)>,
    ApiJson(change): ApiJson<LineChange>,
) -> Result<ApiJson<CartView>, ApiError> {
    let (shop, cart) = access.open(&state, &caller).await?;
    let cart = shop.set_cart_quantity(&cart, &product_id, change.quantity).await?;
    Ok(ApiJson(cart_view(&shop, &cart, false).await?))
}

/// `DELETE /v1/carts/{id}/items/{product_id}`.
#[utoipa::path(delete, path = "/v1/carts/{id}/items/{product_id}", operation_id = "removeCartItem", tag = "carts",
    params(("id" = String, Path, description = "The cart."), ("product_id" = String, Path, description = "A product of the cart's lines."), ("X-Cart-Token" = Option<String>, Header, nullable = false, description = CART_TOKEN)),
    responses((status = OK, description = "The cart without the line.", body = CartView),
        (status = BAD_REQUEST, description = "`invalid_commerce_request`: the cart has no line of the product."),
        (status = FORBIDDEN, description = CART_FORBIDDEN),
        (status = NOT_FOUND, description = "`cart_not_found`; `product_not_for_sale`: another line's product is no longer sold (with stock held from add-to-cart)."),
        (status = CONFLICT, description = "`cart_closed`: the cart was merged or ordered; `out_of_stock`: the other lines can no longer be held (with stock held from add-to-cart).")))]
pub async fn remove_item(
    State(state): State<AppState>,
    caller: Caller,
    access: CartAccess,
    Path((_, product_id)): Path<(String, String)>,
) -> Result<ApiJson<CartView>, ApiError> {
    let (shop, cart) = access.open(&state, &caller).await?;
    let cart = shop.set_cart_quantity(&cart, &product_id, 0).await?;
    Ok(ApiJson(cart_view(&shop, &cart, false).await?))
}

/// `POST /v1/carts/{id}/merge`: the shopper comes from the shopper token (`user_id` only from a
/// key that may act for users).
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Merge {
    /// The shopper: only from a key that may act for users (a shopper token's shopper is taken
    /// from the token).
    user_id: Option<String>,
}

/// `POST /v1/carts/{id}/merge`: the guest cart `{id}` into the shopper's cart, on login.
#[utoipa::path(post, path = "/v1/carts/{id}/merge", operation_id = "mergeCart", tag = "carts", params(("id" = String, Path, description = "The guest cart."), ("X-Cart-Token" = Option<String>, Header, nullable = false, description = CART_TOKEN)),
    request_body(content = Option<Merge>, description = "Optional: no body (or `{}`) with the shopper's token."),
    responses((status = OK, description = "The shopper's cart (with its `token`) and the lines capped on the way.", body = MergedCart),
        (status = BAD_REQUEST, description = "`invalid_commerce_request`: no shopper (send the shopper's token), or `{id}` is not a guest cart; `malformed_payload`."),
        (status = FORBIDDEN, description = "`invalid_cart_token`: neither the guest cart's token nor its owner; `user_mismatch`: the body names another shopper than the token's; `forbidden_for_key`: the key may not act for a shopper."),
        (status = NOT_FOUND, description = "`cart_not_found`."),
        (status = CONFLICT, description = "`cart_closed`: the guest cart was merged or ordered; `out_of_stock`: the merged cart can no longer be held (with stock held from add-to-cart).")))]
pub async fn merge(
    State(state): State<AppState>,
    caller: Caller,
    access: CartAccess,
    body: Bytes,
) -> Result<ApiJson<MergedCart>, ApiError> {
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
    Ok(ApiJson(MergedCart { cart, adjustments: report.adjustments }))
}

/// `PUT /v1/carts/{id}/coupon`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CouponBody {
    /// The coupon's code (any case).
    code: String,
}

/// `PUT /v1/carts/{id}/coupon`: applies a coupon (checked at checkout against its limit).
#[utoipa::path(put, path = "/v1/carts/{id}/coupon", operation_id = "applyCartCoupon", tag = "carts", params(("id" = String, Path, description = "The cart."), ("X-Cart-Token" = Option<String>, Header, nullable = false, description = CART_TOKEN)),
    request_body = CouponBody,
    responses((status = OK, description = "The cart priced with the coupon.", body = CartView),
        (status = BAD_REQUEST, description = "`invalid_commerce_request`: no coupon has this code; `malformed_payload`."),
        (status = FORBIDDEN, description = CART_FORBIDDEN),
        (status = NOT_FOUND, description = "`cart_not_found`."),
        (status = CONFLICT, description = "`cart_closed`: the cart was merged or ordered.")))]
pub async fn put_coupon(
    State(state): State<AppState>,
    caller: Caller,
    access: CartAccess,
    ApiJson(body): ApiJson<CouponBody>,
) -> Result<ApiJson<CartView>, ApiError> {
    let (shop, cart) = access.open(&state, &caller).await?;
    shop.store.set_cart_coupon(&cart.id, Some(&body.code)).await?;
    let cart = shop.store.cart(&cart.id).await?;
    Ok(ApiJson(cart_view(&shop, &cart, false).await?))
}

/// `DELETE /v1/carts/{id}/coupon`.
#[utoipa::path(delete, path = "/v1/carts/{id}/coupon", operation_id = "removeCartCoupon", tag = "carts", params(("id" = String, Path, description = "The cart."), ("X-Cart-Token" = Option<String>, Header, nullable = false, description = CART_TOKEN)),
    responses((status = OK, description = "The cart priced without a coupon.", body = CartView),
        (status = FORBIDDEN, description = CART_FORBIDDEN),
        (status = NOT_FOUND, description = "`cart_not_found`."),
        (status = CONFLICT, description = "`cart_closed`: the cart was merged or ordered.")))]
pub async fn delete_coupon(
    State(state): State<AppState>,
    caller: Caller,
    access: CartAccess,
) -> Result<ApiJson<CartView>, ApiError> {
    let (shop, cart) = access.open(&state, &caller).await?;
    shop.store.set_cart_coupon(&cart.id, None).await?;
    let cart = shop.store.cart(&cart.id).await?;
    Ok(ApiJson(cart_view(&shop, &cart, false).await?))
}
