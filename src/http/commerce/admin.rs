//! `/v1/admin/…` (admin key): a SKU's stock and price, coupons, and the fulfilment of an order —
//! capture, its steps (`picked`, `shipped` capturing an uncaptured payment, `delivered`) and
//! cancellation before shipping.

use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use vitrine_commerce::{Coupon, CouponTerms, Order, StockUpdate};
use vitrine_models::Currency;

use crate::http::error::ApiError;
use crate::http::extract::ApiJson;
use crate::http::state::AppState;

/// `PUT /v1/admin/coupons/{code}`: `{"percent": 10}` or `{"amount": 5.0}`, with `max_uses` and an
/// optional `min_subtotal` (major units).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CouponDefinition {
    /// A percentage off (1–100); give either `percent` or `amount`.
    percent: Option<u8>,
    /// An amount off (major units, in GBP); give either `percent` or `amount`.
    amount: Option<f64>,
    /// Applies from this subtotal (major units) [default: 0].
    #[serde(default)]
    min_subtotal: f64,
    /// How many checkouts may use it (at least 1).
    max_uses: i64,
}

/// `PUT /v1/admin/coupons/{code}`.
#[utoipa::path(put, path = "/v1/admin/coupons/{code}", operation_id = "putCoupon", tag = "commerce admin",
    params(("code" = String, Path, description = "The coupon's code (stored upper-case; 1–64 characters).")),
    request_body = CouponDefinition,
    responses((status = OK, description = "The coupon (its count of uses kept when it existed).", body = Coupon),
        (status = BAD_REQUEST, description = "`invalid_commerce_request`: neither or both of `percent` and `amount`, a percentage outside 1–100, `max_uses` below 1, a bad code; `invalid_amount`: an amount not positive (or negative) or finer than a penny; `amount_too_large`; `malformed_payload`.")))]
pub async fn put_coupon(
    State(state): State<AppState>,
    Path(code): Path<String>,
    ApiJson(body): ApiJson<CouponDefinition>,
) -> Result<ApiJson<Coupon>, ApiError> {
    let shop = state.commerce.get().await?;
    let terms = CouponTerms {
        percent: body.percent,
        amount: body.amount,
        min_subtotal: body.min_subtotal,
        max_uses: body.max_uses,
    };
    let coupon = shop.define_coupon(&code, terms).await?;
    Ok(ApiJson(coupon))
}

/// `POST /v1/admin/orders/{id}/capture`: takes the money (on fulfilment).
#[utoipa::path(post, path = "/v1/admin/orders/{id}/capture", operation_id = "captureOrder", tag = "commerce admin",
    params(("id" = String, Path, description = "The order.")),
    responses((status = OK, description = "The order with its `captured` event.", body = Order),
        (status = NOT_FOUND, description = "`order_not_found`."),
        (status = CONFLICT, description = "`invalid_order_state`: the order is not `authorized`; `order_busy`: another change of the order is under way."),
        (status = BAD_GATEWAY, description = "`payment_gateway_error`: the payment provider refused or failed.")))]
pub async fn capture(State(state): State<AppState>, Path(order_id): Path<String>) -> Result<ApiJson<Order>, ApiError> {
    let shop = state.commerce.get().await?;
    let order = shop.checkout.capture(&order_id).await?;
    Ok(ApiJson(order))
}

/// `POST /v1/admin/orders/{id}/events`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FulfilmentBody {
    /// `picked`, `shipped` or `delivered`.
    kind: String,
}

/// `POST /v1/admin/orders/{id}/events`: a fulfilment step (shipping captures the payment).
#[utoipa::path(post, path = "/v1/admin/orders/{id}/events", operation_id = "fulfilOrder", tag = "commerce admin",
    params(("id" = String, Path, description = "The order.")),
    request_body = FulfilmentBody,
    responses((status = OK, description = "The order with the step's event.", body = Order),
        (status = BAD_REQUEST, description = "`invalid_commerce_request`: an unknown step; `malformed_payload`."),
        (status = NOT_FOUND, description = "`order_not_found`."),
        (status = CONFLICT, description = "`invalid_order_state`: a step out of order; `order_busy`: another change of the order is under way."),
        (status = BAD_GATEWAY, description = "`payment_gateway_error`: capturing on `shipped`, the payment provider refused or failed.")))]
pub async fn fulfil(
    State(state): State<AppState>,
    Path(order_id): Path<String>,
    ApiJson(body): ApiJson<FulfilmentBody>,
) -> Result<ApiJson<Order>, ApiError> {
    let shop = state.commerce.get().await?;
    let order = shop.checkout.fulfil(&order_id, &body.kind).await?;
    Ok(ApiJson(order))
}

/// `POST /v1/admin/orders/{id}/cancel`: voids or refunds, restocks, records `cancelled`.
#[utoipa::path(post, path = "/v1/admin/orders/{id}/cancel", operation_id = "cancelOrder", tag = "commerce admin",
    params(("id" = String, Path, description = "The order.")),
    responses((status = OK, description = "The order with its `cancelled` event (once, however many ask).", body = Order),
        (status = NOT_FOUND, description = "`order_not_found`."),
        (status = CONFLICT, description = "`invalid_order_state`: the order is shipped or over; `order_busy`: another change of the order is under way."),
        (status = BAD_GATEWAY, description = "`payment_gateway_error`: the payment provider refused or failed.")))]
pub async fn cancel(State(state): State<AppState>, Path(order_id): Path<String>) -> Result<ApiJson<Order>, ApiError> {
    let shop = state.commerce.get().await?;
    let order = shop.checkout.cancel(&order_id).await?;
    Ok(ApiJson(order))
}

/// `PUT /v1/admin/stock/{product_id}`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StockBody {
    /// Units on hand (0 to 1,000,000,000).
    on_hand: i64,
    /// Major units (`12.5`).
    price: Option<f64>,
    /// ISO 4217, for a new SKU (default GBP).
    currency: Option<String>,
}

/// A SKU's stock and price.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StockView {
    /// The product.
    product_id: String,
    /// Units on hand.
    on_hand: i64,
    /// Units held by checkouts (and carts, with stock held from add-to-cart).
    reserved: i64,
    /// Units that can be sold: on hand, less held.
    available: i64,
    /// The price in major units (`12.5`).
    price: f64,
    /// ISO 4217.
    #[schema(value_type = String, example = "GBP")]
    currency: Currency,
}

/// `PUT /v1/admin/stock/{product_id}`: sets stock (and price); creates the SKU if needed (then
/// `price` is required), in one transaction.
#[utoipa::path(put, path = "/v1/admin/stock/{product_id}", operation_id = "putStock", tag = "commerce admin",
    params(("product_id" = String, Path, description = "The product.")),
    request_body = StockBody,
    responses((status = OK, description = "The SKU as it now is.", body = StockView),
        (status = BAD_REQUEST, description = "`invalid_amount`: stock outside 0–1,000,000,000, or a price not positive or finer than the currency's minor unit; `amount_too_large`: a price above the shop's ceiling; `invalid_currency`: not an ISO 4217 code, or not the SKU's; `invalid_commerce_request`: a new SKU without a price; `malformed_payload`.")))]
pub async fn put_stock(
    State(state): State<AppState>,
    Path(product_id): Path<String>,
    ApiJson(body): ApiJson<StockBody>,
) -> Result<ApiJson<StockView>, ApiError> {
    let shop = state.commerce.get().await?;
    let update = StockUpdate { on_hand: body.on_hand, price: body.price, currency: body.currency };
    let sku = shop.put_stock(&product_id, update).await?;
    Ok(ApiJson(sku_view(&sku)))
}

/// `GET /v1/admin/stock/{product_id}`: a SKU's stock (on hand, held, available) and price.
#[utoipa::path(get, path = "/v1/admin/stock/{product_id}", operation_id = "getStock", tag = "commerce admin",
    params(("product_id" = String, Path, description = "The product.")),
    responses((status = OK, body = StockView),
        (status = NOT_FOUND, description = "`product_not_for_sale`: commerce has no SKU for the product.")))]
pub async fn get_stock(
    State(state): State<AppState>,
    Path(product_id): Path<String>,
) -> Result<ApiJson<StockView>, ApiError> {
    let shop = state.commerce.get().await?;
    let sku = shop.store.sku(&product_id).await?.ok_or(vitrine_commerce::CommerceError::UnknownProduct(product_id))?;
    Ok(ApiJson(sku_view(&sku)))
}

fn sku_view(sku: &vitrine_commerce::Sku) -> StockView {
    StockView {
        product_id: sku.product_id.clone(),
        on_hand: sku.on_hand,
        reserved: sku.reserved,
        available: sku.available(),
        price: sku.price.to_decimal(),
        currency: sku.price.currency,
    }
}
