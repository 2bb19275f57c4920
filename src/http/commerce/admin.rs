//! `/v1/admin/…` (admin key): a SKU's stock and price, coupons, and the fulfilment of an order —
//! capture, its steps (`picked`, `shipped` capturing an uncaptured payment, `delivered`) and
//! cancellation before shipping.

use axum::extract::{Path, State};
use serde::Deserialize;
use serde_json::{Value, json};
use vitrine_commerce::{CouponTerms, StockUpdate};

use crate::http::error::ApiError;
use crate::http::extract::ApiJson;
use crate::http::state::AppState;

/// `PUT /v1/admin/coupons/{code}`: `{"percent": 10}` or `{"amount": 5.0}`, with `max_uses` and an
/// optional `min_subtotal` (major units).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CouponDefinition {
    percent: Option<u8>,
    amount: Option<f64>,
    #[serde(default)]
    min_subtotal: f64,
    max_uses: i64,
}

/// `PUT /v1/admin/coupons/{code}`.
pub async fn put_coupon(
    State(state): State<AppState>,
    Path(code): Path<String>,
    ApiJson(body): ApiJson<CouponDefinition>,
) -> Result<ApiJson<Value>, ApiError> {
    let shop = state.commerce.get().await?;
    let terms = CouponTerms {
        percent: body.percent,
        amount: body.amount,
        min_subtotal: body.min_subtotal,
        max_uses: body.max_uses,
    };
    let coupon = shop.define_coupon(&code, terms).await?;
    Ok(ApiJson(serde_json::to_value(coupon).map_err(ApiError::internal)?))
}

/// `POST /v1/admin/orders/{id}/capture`: takes the money (on fulfilment).
pub async fn capture(State(state): State<AppState>, Path(order_id): Path<String>) -> Result<ApiJson<Value>, ApiError> {
    let shop = state.commerce.get().await?;
    let order = shop.checkout.capture(&order_id).await?;
    Ok(ApiJson(serde_json::to_value(order).map_err(ApiError::internal)?))
}

/// `POST /v1/admin/orders/{id}/events`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FulfilmentBody {
    /// `picked`, `shipped` or `delivered`.
    kind: String,
}

/// `POST /v1/admin/orders/{id}/events`: a fulfilment step (shipping captures the payment).
pub async fn fulfil(
    State(state): State<AppState>,
    Path(order_id): Path<String>,
    ApiJson(body): ApiJson<FulfilmentBody>,
) -> Result<ApiJson<Value>, ApiError> {
    let shop = state.commerce.get().await?;
    let order = shop.checkout.fulfil(&order_id, &body.kind).await?;
    Ok(ApiJson(serde_json::to_value(order).map_err(ApiError::internal)?))
}

/// `POST /v1/admin/orders/{id}/cancel`: voids or refunds, restocks, records `cancelled`.
pub async fn cancel(State(state): State<AppState>, Path(order_id): Path<String>) -> Result<ApiJson<Value>, ApiError> {
    let shop = state.commerce.get().await?;
    let order = shop.checkout.cancel(&order_id).await?;
    Ok(ApiJson(serde_json::to_value(order).map_err(ApiError::internal)?))
}

/// `PUT /v1/admin/stock/{product_id}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StockBody {
    on_hand: i64,
    /// Major units (`12.5`).
    price: Option<f64>,
    /// ISO 4217, for a new SKU (default GBP).
    currency: Option<String>,
}

/// `PUT /v1/admin/stock/{product_id}`: sets stock (and price); creates the SKU if needed (then
/// `price` is required), in one transaction.
pub async fn put_stock(
    State(state): State<AppState>,
    Path(product_id): Path<String>,
    ApiJson(body): ApiJson<StockBody>,
) -> Result<ApiJson<Value>, ApiError> {
    let shop = state.commerce.get().await?;
    let update = StockUpdate { on_hand: body.on_hand, price: body.price, currency: body.currency };
    let sku = shop.put_stock(&product_id, update).await?;
    Ok(ApiJson(sku_view(&sku)))
}

/// `GET /v1/admin/stock/{product_id}`: a SKU's stock (on hand, held, available) and price.
pub async fn get_stock(
    State(state): State<AppState>,
    Path(product_id): Path<String>,
) -> Result<ApiJson<Value>, ApiError> {
    let shop = state.commerce.get().await?;
    let sku = shop.store.sku(&product_id).await?.ok_or(vitrine_commerce::CommerceError::UnknownProduct(product_id))?;
    Ok(ApiJson(sku_view(&sku)))
}

fn sku_view(sku: &vitrine_commerce::Sku) -> Value {
    json!({
        "product_id": sku.product_id, "on_hand": sku.on_hand, "reserved": sku.reserved, "available": sku.available(),
        "price": sku.price.to_decimal(), "currency": sku.price.currency,
    })
}
