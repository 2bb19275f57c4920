//! Carts, checkout and orders over HTTP.
//!
//! - Carts: `POST /v1/carts` (→ the cart with its `token`), `GET /v1/carts/{id}`,
//!   `POST /v1/carts/{id}/items`, `PATCH|DELETE /v1/carts/{id}/items/{product_id}`,
//!   `POST /v1/carts/{id}/merge`. Every call on a cart carries its token in `X-Cart-Token`.
//! - `POST /v1/checkout`, `GET /v1/orders/{id}`, `POST /v1/orders/{id}/refunds`,
//!   `POST /v1/orders/{id}/returns`; admin: `PUT /v1/admin/stock/{product_id}`,
//!   `POST /v1/admin/orders/{id}/capture`, `…/events` (`picked`, `shipped`, `delivered`), `…/cancel`.
//! - Every POST that creates an order or moves money honours `Idempotency-Key` with Stripe's
//!   semantics (the first answer replayed; 409 while it runs; 422 with other parameters), keys
//!   scoped by the caller's API key.
//!
//! The database (`--commerce-db`, SQLite in the data directory by default) is opened on first use;
//! at that moment checkouts left in flight by a previous process are recovered.

use std::hash::{Hash, Hasher};
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::OnceCell;
use vitrine_commerce::{
    Cart, Checkout, CheckoutRequest, CheckoutSettings, CheckoutState, IdempotencyStart, PricedLine, SimulatedGateway,
    StockLine, Store, cart_holder, price,
};

use super::error::ApiJson;
use super::{ApiError, AppState, ErrorCode};

/// The commerce services of a server.
#[derive(Debug)]
pub struct Shop {
    /// The database.
    pub store: Store,
    /// The saga, over the simulated gateway.
    pub checkout: Checkout<SimulatedGateway>,
}

/// The shop, opened on first use.
#[derive(Debug, Clone)]
pub struct CommerceHandle {
    url: Arc<str>,
    schema: Option<Arc<str>>,
    settings: CheckoutSettings,
    gateway: vitrine_commerce::GatewaySettings,
    shop: Arc<OnceCell<Arc<Shop>>>,
}

impl CommerceHandle {
    /// A handle on the database at `url`.
    pub fn new(url: impl Into<Arc<str>>) -> Self {
        CommerceHandle {
            url: url.into(),
            schema: None,
            settings: CheckoutSettings::default(),
            gateway: vitrine_commerce::GatewaySettings::default(),
            shop: Arc::default(),
        }
    }

    /// The same, with the simulated gateway's latency and failure rate.
    pub fn with_gateway(mut self, gateway: vitrine_commerce::GatewaySettings) -> Self {
        self.gateway = gateway;
        self
    }

    /// The same, holding stock from add-to-cart (or not).
    pub fn holding_at_add_to_cart(mut self, hold: bool) -> Self {
        self.settings.hold_at_add_to_cart = hold;
        self
    }

    /// A handle on a PostgreSQL `schema` of the database at `url` (benchmarks use a scratch one).
    pub fn with_schema(url: impl Into<Arc<str>>, schema: impl Into<Arc<str>>) -> Self {
        CommerceHandle {
            url: url.into(),
            schema: Some(schema.into()),
            settings: CheckoutSettings::default(),
            gateway: vitrine_commerce::GatewaySettings::default(),
            shop: Arc::default(),
        }
    }

    /// The shop: connected, migrated and recovered the first time.
    ///
    /// # Errors
    /// The database cannot be opened or migrated (an internal error).
    pub async fn get(&self) -> Result<Arc<Shop>, ApiError> {
        self.shop
            .get_or_try_init(|| async {
                let store = Store::connect(&self.url, self.schema.as_deref()).await.map_err(ApiError::internal)?;
                let checkout = Checkout::new(store.clone(), SimulatedGateway::new(self.gateway), self.settings);
                let recovered = checkout.recover().await.map_err(ApiError::internal)?;
                if recovered != Default::default() {
                    tracing::warn!(?recovered, "checkouts left in flight were recovered");
                }
                let shop = Arc::new(Shop { store, checkout });
                tokio::spawn(housekeeping(Arc::downgrade(&shop)));
                Ok(shop)
            })
            .await
            .cloned()
    }
}

/// How often the sweeper runs.
const HOUSEKEEPING_INTERVAL: std::time::Duration = std::time::Duration::from_secs(30);

/// The sweeper, while the shop lives: releases expired stock holds, voids gateway authorisations
/// no order accounts for, forgets idempotency keys older than 24 hours.
async fn housekeeping(shop: std::sync::Weak<Shop>) {
    let mut ticks = tokio::time::interval(HOUSEKEEPING_INTERVAL);
    ticks.tick().await;
    loop {
        ticks.tick().await;
        let Some(shop) = shop.upgrade() else { return };
        let now = chrono::Utc::now().timestamp_millis();
        let swept = shop.store.sweep_expired_holds(now).await;
        let reconciled = shop.checkout.reconcile().await;
        let purged = shop.store.idempotency_purge(now).await;
        match (swept, reconciled, purged) {
            (Ok(0), Ok(report), Ok(_)) if report.voided == 0 => {}
            (swept, reconciled, purged) => tracing::info!(?swept, ?reconciled, ?purged, "commerce housekeeping"),
        }
    }
}

/// The cart as answered: lines priced from commerce's SKUs, with totals.
/// Priced with the shop's own shipping and tax settings, as checkout will price it.
async fn cart_view(shop: &Shop, cart: &Cart, with_token: bool) -> Result<Value, ApiError> {
    let store = &shop.store;
    let mut lines = Vec::with_capacity(cart.lines.len());
    let mut currency = None;
    for line in &cart.lines {
        let sku = store.sku(&line.product_id).await?;
        if let Some(sku) = &sku {
            currency.get_or_insert_with(|| sku.currency.clone());
        }
        lines.push(PricedLine {
            product_id: line.product_id.clone(),
            unit_cents: sku.map_or(0, |sku| sku.price_cents),
            quantity: line.quantity,
        });
    }
    let settings = shop.checkout.settings();
    let coupon = store.cart_coupon(&cart.id).await?;
    let promotions: Vec<_> = coupon.iter().map(vitrine_commerce::Coupon::promotion).collect();
    let totals = price(&lines, &promotions, settings.shipping, settings.tax);
    let mut view = json!({
        "id": cart.id, "user_id": cart.user_id, "status": cart.status, "lines": cart.lines, "totals": totals,
        "currency": currency, "coupon": coupon.map(|coupon| coupon.code),
    });
    if with_token {
        view["token"] = json!(cart.token);
    }
    Ok(view)
}

/// The cart, if the request carries its token.
async fn authorised_cart(store: &Store, cart_id: &str, headers: &HeaderMap) -> Result<Cart, ApiError> {
    let cart = store.cart(cart_id).await?;
    let token = headers.get("x-cart-token").and_then(|value| value.to_str().ok()).unwrap_or_default();
    if token.is_empty() || token != cart.token {
        return Err(ApiError::new(ErrorCode::InvalidCartToken, "send the cart's token in `X-Cart-Token`"));
    }
    Ok(cart)
}

/// With stock held from add-to-cart: holds the cart's lines as they will be once `product_id` has
/// `quantity` units (0: removed), all or nothing, replacing the cart's holds, before the cart
/// changes; a short line refuses the change (409 `out_of_stock`).
async fn rehold(shop: &Shop, cart: &Cart, product_id: &str, quantity: i64) -> Result<(), ApiError> {
    if !shop.checkout.settings().hold_at_add_to_cart {
        return Ok(());
    }
    if !(0..=vitrine_commerce::MAX_QUANTITY).contains(&quantity) {
        return Err(ApiError::new(
            ErrorCode::InvalidCommerceRequest,
            format!("quantity must be between 1 and {}", vitrine_commerce::MAX_QUANTITY),
        ));
    }
    let mut lines: Vec<StockLine> = cart
        .lines
        .iter()
        .filter(|line| line.product_id != product_id)
        .map(|line| StockLine { product_id: line.product_id.clone(), quantity: line.quantity })
        .collect();
    if quantity > 0 {
        lines.push(StockLine { product_id: product_id.to_owned(), quantity });
    }
    let holder = cart_holder(&cart.id);
    shop.store.hold_replacing(&holder, &lines, shop.checkout.settings().hold_ttl, Some(&holder)).await?;
    Ok(())
}

/// `POST /v1/carts`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewCart {
    user_id: Option<String>,
}

/// `POST /v1/carts`: a guest cart, or the shopper's open cart.
pub async fn create_cart(State(state): State<AppState>, body: axum::body::Bytes) -> Result<Response, ApiError> {
    let body: NewCart = if body.iter().all(u8::is_ascii_whitespace) {
        NewCart::default()
    } else {
        serde_json::from_slice(&body).map_err(|error| ApiError::new(ErrorCode::MalformedPayload, error.to_string()))?
    };
    let shop = state.commerce.get().await?;
    let user_id = body.user_id.filter(|user| !user.trim().is_empty());
    let cart = shop.store.create_cart(user_id.as_deref()).await?;
    Ok((StatusCode::CREATED, ApiJson(cart_view(&shop, &cart, true).await?)).into_response())
}

/// `GET /v1/carts/{id}`.
pub async fn get_cart(
    State(state): State<AppState>,
    Path(cart_id): Path<String>,
    headers: HeaderMap,
) -> Result<ApiJson<Value>, ApiError> {
    let shop = state.commerce.get().await?;
    let cart = authorised_cart(&shop.store, &cart_id, &headers).await?;
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
    Path(cart_id): Path<String>,
    headers: HeaderMap,
    ApiJson(line): ApiJson<NewLine>,
) -> Result<ApiJson<Value>, ApiError> {
    let shop = state.commerce.get().await?;
    let cart = authorised_cart(&shop.store, &cart_id, &headers).await?;
    let current = cart.lines.iter().find(|own| own.product_id == line.product_id).map_or(0, |own| own.quantity);
    if line.quantity >= 1 {
        rehold(&shop, &cart, &line.product_id, current + line.quantity).await?;
    }
    let cart = shop.store.add_to_cart(&cart_id, &line.product_id, line.quantity).await?;
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
    Path((cart_id, product_id)): Path<(String, String)>,
    headers: HeaderMap,
    ApiJson(change): ApiJson<LineChange>,
) -> Result<ApiJson<Value>, ApiError> {
    let shop = state.commerce.get().await?;
    let cart = authorised_cart(&shop.store, &cart_id, &headers).await?;
    if cart.lines.iter().any(|line| line.product_id == product_id) {
        rehold(&shop, &cart, &product_id, change.quantity).await?;
    }
    let cart = shop.store.set_cart_quantity(&cart_id, &product_id, change.quantity).await?;
    Ok(ApiJson(cart_view(&shop, &cart, false).await?))
}

/// `DELETE /v1/carts/{id}/items/{product_id}`.
pub async fn remove_item(
    State(state): State<AppState>,
    Path((cart_id, product_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<ApiJson<Value>, ApiError> {
    let shop = state.commerce.get().await?;
    let cart = authorised_cart(&shop.store, &cart_id, &headers).await?;
    if cart.lines.iter().any(|line| line.product_id == product_id) {
        rehold(&shop, &cart, &product_id, 0).await?;
    }
    let cart = shop.store.set_cart_quantity(&cart_id, &product_id, 0).await?;
    Ok(ApiJson(cart_view(&shop, &cart, false).await?))
}

/// `POST /v1/carts/{id}/merge`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Merge {
    user_id: String,
}

/// `POST /v1/carts/{id}/merge`: the guest cart `{id}` into the shopper's cart, on login.
pub async fn merge_cart(
    State(state): State<AppState>,
    Path(cart_id): Path<String>,
    headers: HeaderMap,
    ApiJson(merge): ApiJson<Merge>,
) -> Result<ApiJson<Value>, ApiError> {
    let shop = state.commerce.get().await?;
    authorised_cart(&shop.store, &cart_id, &headers).await?;
    let holding = shop.checkout.settings().hold_at_add_to_cart;
    if holding {
        // The guest's units go back first, so the caps see them as available.
        shop.store.release_holds(&cart_holder(&cart_id)).await?;
    }
    let report = shop.store.merge_carts(&cart_id, &merge.user_id).await?;
    if holding && let Some(first) = report.cart.lines.first() {
        // Hold the merged cart (its quantities are already capped by what is available).
        rehold(&shop, &report.cart, &first.product_id, first.quantity).await?;
    }
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
pub async fn put_cart_coupon(
    State(state): State<AppState>,
    Path(cart_id): Path<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<CouponBody>,
) -> Result<ApiJson<Value>, ApiError> {
    let shop = state.commerce.get().await?;
    authorised_cart(&shop.store, &cart_id, &headers).await?;
    shop.store.set_cart_coupon(&cart_id, Some(&body.code)).await?;
    let cart = shop.store.cart(&cart_id).await?;
    Ok(ApiJson(cart_view(&shop, &cart, false).await?))
}

/// `DELETE /v1/carts/{id}/coupon`.
pub async fn delete_cart_coupon(
    State(state): State<AppState>,
    Path(cart_id): Path<String>,
    headers: HeaderMap,
) -> Result<ApiJson<Value>, ApiError> {
    let shop = state.commerce.get().await?;
    authorised_cart(&shop.store, &cart_id, &headers).await?;
    shop.store.set_cart_coupon(&cart_id, None).await?;
    let cart = shop.store.cart(&cart_id).await?;
    Ok(ApiJson(cart_view(&shop, &cart, false).await?))
}

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
    use vitrine_commerce::CouponDiscount;
    let discount = match (body.percent, body.amount) {
        (Some(percent), None) => CouponDiscount::Percent { percent },
        (None, Some(amount)) if amount.is_finite() => {
            CouponDiscount::Amount { amount_cents: (amount * 100.0).round() as i64 }
        }
        _ => return Err(ApiError::new(ErrorCode::InvalidCommerceRequest, "give either `percent` or `amount`")),
    };
    if !body.min_subtotal.is_finite() {
        return Err(ApiError::new(ErrorCode::InvalidCommerceRequest, "`min_subtotal` must be a number"));
    }
    let shop = state.commerce.get().await?;
    let min_subtotal_cents = (body.min_subtotal * 100.0).round() as i64;
    let coupon = shop.store.put_coupon(&code, discount, min_subtotal_cents, body.max_uses).await?;
    Ok(ApiJson(serde_json::to_value(coupon).map_err(ApiError::internal)?))
}

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
    headers: HeaderMap,
    body: ApiJson<Value>,
) -> Result<Response, ApiError> {
    let ApiJson(raw) = body;
    idempotent(&state, &headers, "checkout", &raw, |state, raw| async move {
        let body: CheckoutBody = serde_json::from_value(raw)
            .map_err(|error| ApiError::new(ErrorCode::MalformedPayload, error.to_string()))?;
        let shop = state.commerce.get().await?;
        let request = CheckoutRequest {
            cart_id: body.cart_id.clone(),
            card_number: body.payment.card_number,
            shipping_address: body.shipping_address,
        };
        let outcome = shop.checkout.run(&request).await?;
        match outcome.state {
            CheckoutState::ConfirmationSent | CheckoutState::OrderCreated => {
                if let (Some(index), Some(order_id)) = (&body.index, &outcome.order_id) {
                    log_purchases(&state, &shop, index, order_id).await;
                }
                let answer = json!({
                    "order_id": outcome.order_id, "order_number": outcome.order_number,
                    "status": "placed", "checkout_id": outcome.checkout_id, "totals": outcome.totals,
                });
                Ok((StatusCode::CREATED, answer))
            }
            _ => {
                let failure = outcome.failure.unwrap_or_default();
                let code = if failure.starts_with("out_of_stock") {
                    ErrorCode::OutOfStock
                } else if failure == "coupon_exhausted" {
                    ErrorCode::CouponExhausted
                } else if failure == "payment_error" || failure == "payment_timeout" {
                    ErrorCode::PaymentGatewayError
                } else {
                    ErrorCode::PaymentDeclined
                };
                Err(ApiError::new(
                    code,
                    format!("checkout {} ended {}: {failure}", outcome.checkout_id, outcome.state.as_str()),
                ))
            }
        }
    })
    .await
}

/// Appends the order's purchases to the interaction log of `index` (recommendations learn from
/// them). A failure is logged, not answered: the order stands.
async fn log_purchases(state: &AppState, shop: &Shop, index: &str, order_id: &str) {
    let Ok(Some(order)) = shop.store.order(order_id).await else { return };
    let Some(user) = order.user_id.clone() else { return };
    let lines = order.events.first().map(|placed| placed.data["totals"]["lines"].clone()).unwrap_or(Value::Null);
    let catalog = state.catalog.clone();
    let index = index.to_owned();
    let result = tokio::task::spawn_blocking(move || -> Result<usize, String> {
        let name = vitrine_models::IndexName::new(&index).map_err(|error| error.to_string())?;
        let actor = vitrine_models::Actor::User(vitrine_models::UserId::new(&user).map_err(|e| e.to_string())?);
        let now = chrono::Utc::now();
        let interactions: Vec<vitrine_models::Interaction> = lines
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|line| {
                let product = vitrine_models::ProductId::new(line["product_id"].as_str()?).ok()?;
                let quantity = u32::try_from(line["quantity"].as_i64()?).ok()?;
                vitrine_models::Interaction::new(
                    actor.clone(),
                    product,
                    vitrine_models::InteractionKind::Purchase,
                    quantity,
                    now,
                )
                .ok()
            })
            .collect();
        vitrine_pipelines::append_interactions(&catalog.data_dir().interactions(&name), &interactions)
            .map_err(|error| error.to_string())?;
        Ok(interactions.len())
    })
    .await;
    if !matches!(result, Ok(Ok(_))) {
        tracing::warn!(order_id, ?result, "the order's purchases could not be logged for recommendations");
    }
}

/// `GET /v1/orders/{id}`.
pub async fn get_order(
    State(state): State<AppState>,
    Path(order_id): Path<String>,
) -> Result<ApiJson<Value>, ApiError> {
    let shop = state.commerce.get().await?;
    let order = shop
        .store
        .order(&order_id)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::OrderNotFound, format!("order `{order_id}` not found")))?;
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
        let order = shop
            .store
            .order(&order_id)
            .await?
            .ok_or_else(|| ApiError::new(ErrorCode::OrderNotFound, format!("order `{order_id}` not found")))?;
        let amount = body.amount_cents.unwrap_or(order.total_cents - order.refunded_cents);
        let order = shop.checkout.refund(&order_id, amount).await?;
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
/// `price` is required).
pub async fn put_stock(
    State(state): State<AppState>,
    Path(product_id): Path<String>,
    ApiJson(body): ApiJson<StockBody>,
) -> Result<ApiJson<Value>, ApiError> {
    let shop = state.commerce.get().await?;
    let cents = match body.price {
        Some(price) if price.is_finite() && price >= 0.0 => Some((price * 100.0).round() as i64),
        Some(_) => {
            return Err(ApiError::new(ErrorCode::InvalidCommerceRequest, "`price` must be a non-negative number"));
        }
        None => None,
    };
    if shop.store.sku(&product_id).await?.is_none() {
        let price =
            cents.ok_or_else(|| ApiError::new(ErrorCode::InvalidCommerceRequest, "a new product needs a `price`"))?;
        let currency = body.currency.as_deref().unwrap_or("GBP");
        shop.store.seed_sku(&product_id, price, currency, 0).await?;
    }
    let sku = shop.store.set_stock(&product_id, body.on_hand, cents).await?;
    Ok(ApiJson(json!({
        "product_id": sku.product_id, "on_hand": sku.on_hand, "reserved": sku.reserved, "available": sku.available(),
        "price": sku.price_cents as f64 / 100.0, "currency": sku.currency,
    })))
}

/// Runs `work` once per `Idempotency-Key` (when the request has one): the first answer is
/// stored and replayed; a concurrent request with the key gets 409, one with other parameters 422.
async fn idempotent<F, Fut>(
    state: &AppState,
    headers: &HeaderMap,
    operation: &str,
    params: &Value,
    work: F,
) -> Result<Response, ApiError>
where
    F: FnOnce(AppState, Value) -> Fut,
    Fut: Future<Output = Result<(StatusCode, Value), ApiError>>,
{
    let key = headers
        .get("idempotency-key")
        .and_then(|value| value.to_str().ok())
        .map(str::trim)
        .filter(|key| !key.is_empty());
    let Some(key) = key else {
        return match work(state.clone(), params.clone()).await {
            Ok((status, body)) => Ok((status, ApiJson(body)).into_response()),
            Err(error) => Err(error),
        };
    };
    if key.len() > 255 {
        return Err(ApiError::new(ErrorCode::InvalidParameter, "`Idempotency-Key` is at most 255 characters"));
    }
    let shop = state.commerce.get().await?;
    let scope = format!("{operation}:{}", caller_scope(headers));
    let hash = request_hash(params);
    match shop.store.idempotency_begin(&scope, key, &hash).await? {
        IdempotencyStart::Replay { status, body } => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let mut response = (status, [(axum::http::header::CONTENT_TYPE, "application/json")], body).into_response();
            response.headers_mut().insert("idempotent-replayed", axum::http::HeaderValue::from_static("true"));
            Ok(response)
        }
        IdempotencyStart::InFlight => {
            Err(ApiError::new(ErrorCode::IdempotencyKeyInUse, "a request with this Idempotency-Key is still running"))
        }
        IdempotencyStart::Mismatch => {
            Err(ApiError::new(ErrorCode::IdempotencyKeyReused, "this Idempotency-Key was used with other parameters"))
        }
        IdempotencyStart::Proceed => {
            let (status, body) = match work(state.clone(), params.clone()).await {
                Ok(answer) => answer,
                Err(error) if matches!(error.code, ErrorCode::Internal | ErrorCode::MalformedPayload) => {
                    // Not a decision worth replaying (Stripe saves no result for a request that
                    // failed validation or crashed): the next retry runs again.
                    shop.store.idempotency_abandon(&scope, key).await?;
                    return Err(error);
                }
                Err(error) => {
                    let (code, status, kind) = error.code.describe();
                    (status, json!({"message": error.message, "code": code, "type": kind}))
                }
            };
            let text = body.to_string();
            shop.store.idempotency_finish(&scope, key, status.as_u16(), &text).await?;
            Ok((status, [(axum::http::header::CONTENT_TYPE, "application/json")], text).into_response())
        }
    }
}

/// Keys are scoped per API key (its hash, never the key) — or shared when the server is open.
fn caller_scope(headers: &HeaderMap) -> String {
    match headers.get(axum::http::header::AUTHORIZATION).and_then(|value| value.to_str().ok()) {
        Some(token) => format!("key-{:016x}", stable_hash(token)),
        None => "open".to_owned(),
    }
}

/// A stable hash of a request's parameters (serde_json maps are sorted, so equal JSON hashes
/// equal).
fn request_hash(params: &Value) -> String {
    format!("{:016x}", stable_hash(&params.to_string()))
}

fn stable_hash(text: &str) -> u64 {
    // SipHash with fixed keys: the same text gives the same hash in every process.
    #[allow(deprecated)]
    let mut hasher = std::hash::SipHasher::new_with_keys(0x5649_5452, 0x494e_4521);
    text.hash(&mut hasher);
    hasher.finish()
}
