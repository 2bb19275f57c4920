//! Checkout: a saga whose every step is persisted, so a failure at any step — a declined card, a
//! gateway that does not answer, the process dying between two steps — ends with no stock held
//! and no money held without an order.
//!
//! ```text
//! CART_VALIDATED → INVENTORY_RESERVED → PAYMENT_AUTHORIZED → ORDER_CREATED → CONFIRMATION_SENT
//!        ↓                 ↓                    ↓
//!  FAILED (or         COMPENSATED          COMPENSATED
//!  COMPENSATED on recovery)
//! ```
//!
//! 1. **Cart validated**: the cart's lines are priced from commerce's own SKUs (never from the
//!    client) and the checkout is recorded; one checkout in flight per cart.
//! 2. **Inventory reserved**: every line held, all or nothing (out of stock → `FAILED`).
//! 3. **Payment authorised** with the checkout id as idempotency key. A decline or a gateway
//!    error compensates (holds released). A timeout is resolved by looking the key up: held money
//!    continues the checkout, none compensates.
//! 4. **Order created**, in one transaction: holds become sales, the order and its first events
//!    are written, the cart is closed, an `order_placed` event goes to the outbox. If the holds
//!    expired meanwhile the sale is retried against the stock; short → the authorisation is voided.
//! 5. **Confirmation sent** (an `order_confirmation` event in the outbox).
//!
//! [`Checkout::recover`] finishes or compensates every checkout left in flight (run at start):
//! before an authorisation it compensates (voiding whatever the gateway holds for the key); with
//! one it creates the order; with an order it sends the confirmation. [`Checkout::reconcile`]
//! voids gateway authorisations that belong to no order.
//!
//! Failpoints (`fail` crate, feature `failpoints`): `checkout::after_validated`,
//! `checkout::after_reserved`, `checkout::after_authorized`, `checkout::after_order_created`.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use sqlx::{Any, Row, Transaction};

use crate::error::CheckoutFailure;
use crate::inventory::{release_holds_in, sell_held_in, sell_unheld_in};
use crate::outbox::{ORDERS_TOPIC, append};
use crate::payments::{AuthorizeRequest, PaymentError, PaymentProvider, PaymentStatus};
use crate::pricing::{ShippingRule, TaxRule, Totals};
use crate::store::now_ms;
use crate::{CommerceError, StockLine, Store};

/// Where a checkout stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckoutState {
    /// Priced from commerce's tables and recorded.
    CartValidated,
    /// Stock held.
    InventoryReserved,
    /// Money held.
    PaymentAuthorized,
    /// The order exists; the stock is sold.
    OrderCreated,
    /// The shopper was told. Final.
    ConfirmationSent,
    /// Stopped before anything was held (out of stock, empty cart). Final.
    Failed,
    /// Stopped after something was held, and undone. Final.
    Compensated,
}

impl CheckoutState {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            CheckoutState::CartValidated => "cart_validated",
            CheckoutState::InventoryReserved => "inventory_reserved",
            CheckoutState::PaymentAuthorized => "payment_authorized",
            CheckoutState::OrderCreated => "order_created",
            CheckoutState::ConfirmationSent => "confirmation_sent",
            CheckoutState::Failed => "failed",
            CheckoutState::Compensated => "compensated",
        }
    }

    fn parse(text: &str) -> Result<CheckoutState, CommerceError> {
        Ok(match text {
            "cart_validated" => CheckoutState::CartValidated,
            "inventory_reserved" => CheckoutState::InventoryReserved,
            "payment_authorized" => CheckoutState::PaymentAuthorized,
            "order_created" => CheckoutState::OrderCreated,
            "confirmation_sent" => CheckoutState::ConfirmationSent,
            "failed" => CheckoutState::Failed,
            "compensated" => CheckoutState::Compensated,
            other => return Err(CommerceError::Invalid(format!("unknown checkout state `{other}`"))),
        })
    }

    /// Whether the saga is over in this state.
    pub fn is_final(self) -> bool {
        matches!(self, CheckoutState::ConfirmationSent | CheckoutState::Failed | CheckoutState::Compensated)
    }

    /// The states the saga may go to from this one (the state machine).
    pub fn successors(self) -> &'static [CheckoutState] {
        use CheckoutState::*;
        match self {
            // Compensated: recovery does not know whether a crash came between the hold and its record.
            CartValidated => &[InventoryReserved, Failed, Compensated],
            InventoryReserved => &[PaymentAuthorized, Compensated],
            PaymentAuthorized => &[OrderCreated, Compensated],
            OrderCreated => &[ConfirmationSent],
            ConfirmationSent | Failed | Compensated => &[],
        }
    }
}

/// What a checkout is asked with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckoutRequest {
    /// The cart to buy.
    pub cart_id: String,
    /// The card.
    pub card_number: String,
    /// Where to ship (stored as given).
    pub shipping_address: serde_json::Value,
}

/// How a checkout ended (or where it stopped).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckoutOutcome {
    /// The checkout's id.
    pub checkout_id: String,
    /// Its state.
    pub state: CheckoutState,
    /// The order, once created.
    pub order_id: Option<String>,
    /// The order's number (`VT-001001`).
    pub order_number: Option<String>,
    /// Why it failed: `out_of_stock`, `card_declined`, `insufficient_funds`, `payment_error`, …
    /// (the code [`CheckoutOutcome::failure`] reads).
    pub failure: Option<String>,
    /// What was charged.
    pub totals: Totals,
}

impl CheckoutOutcome {
    /// The checkout made an order.
    pub fn is_placed(&self) -> bool {
        matches!(self.state, CheckoutState::ConfirmationSent | CheckoutState::OrderCreated)
    }

    /// Why the checkout made no order, typed; `None` when it made one.
    pub fn failure(&self) -> Option<CheckoutFailure> {
        (!self.is_placed()).then(|| CheckoutFailure::from_code(self.failure.as_deref().unwrap_or_default()))
    }

    /// The outcome of a checkout that made an order, or why it made none.
    ///
    /// # Errors
    /// [`CommerceError::CheckoutFailed`] with the failure, when no order was made.
    pub fn placed(self) -> Result<CheckoutOutcome, CommerceError> {
        match self.failure() {
            None => Ok(self),
            Some(failure) => Err(CommerceError::CheckoutFailed {
                checkout_id: self.checkout_id,
                state: self.state.as_str(),
                failure,
            }),
        }
    }
}

/// Settings of the checkout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckoutSettings {
    /// How long stock is held for a checkout.
    pub hold_ttl: Duration,
    /// Shipping.
    pub shipping: ShippingRule,
    /// Tax.
    pub tax: TaxRule,
    /// Stock is held from add-to-cart (the cart's holds, [`crate::cart_holder`]), and checkout
    /// takes them over; otherwise it is held when checkout starts.
    pub hold_at_add_to_cart: bool,
    /// With stock held from add-to-cart: what one cart may hold.
    pub hold_limits: HoldLimits,
}

/// With stock held from add-to-cart, what one cart may hold, so that one cart (an anonymous one
/// included) cannot keep a product's whole stock from other shoppers. A signed-in shopper has one
/// open cart: `per_cart` is their cap. Without holds at add-to-cart a cart holds nothing and these
/// do not apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HoldLimits {
    /// Most units of one product one cart may hold.
    pub per_line: i64,
    /// Most units one cart may hold, all its lines together.
    pub per_cart: i64,
}

impl Default for HoldLimits {
    fn default() -> Self {
        HoldLimits { per_line: 10, per_cart: 50 }
    }
}

impl Default for CheckoutSettings {
    fn default() -> Self {
        CheckoutSettings {
            hold_ttl: Duration::from_secs(15 * 60),
            shipping: ShippingRule { flat_cents: 495, free_from_cents: Some(5_000) },
            tax: TaxRule { rate_bp: 2_000, included: true },
            hold_at_add_to_cart: false,
            hold_limits: HoldLimits::default(),
        }
    }
}

/// What [`Checkout::recover`] and [`Checkout::reconcile`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RecoveryReport {
    /// Checkouts taken to an order (and confirmation).
    pub completed: usize,
    /// Checkouts undone.
    pub compensated: usize,
    /// Gateway authorisations voided because no order had them.
    pub voided: usize,
}

/// The checkout saga over a store and a payment gateway.
#[derive(Debug, Clone)]
pub struct Checkout<P> {
    store: Store,
    gateway: P,
    settings: CheckoutSettings,
}

/// A checkout as stored.
struct Stored {
    id: String,
    cart_id: String,
    user_id: Option<String>,
    state: CheckoutState,
    totals: Totals,
    currency: String,
    authorization_id: Option<String>,
    order_id: Option<String>,
    failure: Option<String>,
}

impl<P: PaymentProvider> Checkout<P> {
    /// A checkout over `store` charging through `gateway`.
    pub fn new(store: Store, gateway: P, settings: CheckoutSettings) -> Self {
        Checkout { store, gateway, settings }
    }

    /// The gateway.
    pub fn gateway(&self) -> &P {
        &self.gateway
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The settings.
    pub fn settings(&self) -> &CheckoutSettings {
        &self.settings
    }

    /// Runs a checkout to its end. A declined card or a short stock is an outcome, not an error.
    ///
    /// # Errors
    /// [`CommerceError::CartNotFound`], [`CommerceError::CartClosed`], an empty cart or a product
    /// no longer sold ([`CommerceError::Invalid`], [`CommerceError::UnknownProduct`]), a checkout
    /// of this cart already in flight ([`CommerceError::CheckoutInProgress`]), a database failure.
    pub async fn run(&self, request: &CheckoutRequest) -> Result<CheckoutOutcome, CommerceError> {
        let stored = self.validate(request).await?;
        fail::fail_point!("checkout::after_validated");
        let stored = self.reserve(stored).await?;
        if stored.state.is_final() {
            return self.outcome(&stored.id).await;
        }
        fail::fail_point!("checkout::after_reserved");
        let stored = self.authorize(stored, &request.card_number).await?;
        if stored.state.is_final() {
            return self.outcome(&stored.id).await;
        }
        fail::fail_point!("checkout::after_authorized");
        let stored = self.create_order(stored).await?;
        if stored.state.is_final() {
            return self.outcome(&stored.id).await;
        }
        fail::fail_point!("checkout::after_order_created");
        self.confirm(&stored).await?;
        self.outcome(&stored.id).await
    }

    /// Step 1: price the cart from commerce's tables and record the checkout.
    async fn validate(&self, request: &CheckoutRequest) -> Result<Stored, CommerceError> {
        let cart = self.store.cart(&request.cart_id).await?;
        if cart.status != "open" {
            return Err(CommerceError::CartClosed(cart.id));
        }
        if cart.lines.is_empty() {
            return Err(CommerceError::Invalid(format!("cart `{}` is empty", cart.id)));
        }
        let quote = self.store.quote(&cart, self.settings.shipping, self.settings.tax).await?.payable()?;
        let totals = quote.totals;
        let card_digits: String = request.card_number.chars().filter(char::is_ascii_digit).collect();
        let last4 = card_digits.get(card_digits.len().saturating_sub(4)..).unwrap_or_default().to_owned();
        let id = format!("co_{}", uuid::Uuid::now_v7().simple());
        let now = now_ms();
        let currency = quote.currency.unwrap_or_default();
        let mut tx = self.store.pool().begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO checkouts (id, cart_id, user_id, state, pricing, currency, total_cents, card_last4, \
             shipping_address, created_at, updated_at) VALUES ($1, $2, $3, 'cart_validated', $4, $5, $6, $7, $8, $9, $9)",
        )
        .bind(&id)
        .bind(&cart.id)
        .bind(&cart.user_id)
        .bind(serde_json::to_string(&totals)?)
        .bind(&currency)
        .bind(totals.total_cents)
        .bind(last4)
        .bind(request.shipping_address.to_string())
        .bind(now)
        .execute(&mut *tx)
        .await;
        if let Err(error) = inserted {
            tx.rollback().await?;
            return Err(if is_unique_violation(&error) {
                CommerceError::CheckoutInProgress(cart.id)
            } else {
                CommerceError::Database(error)
            });
        }
        log_transition(&mut tx, &id, CheckoutState::CartValidated, None).await?;
        tx.commit().await?;
        Ok(Stored {
            id,
            cart_id: cart.id,
            user_id: cart.user_id,
            state: CheckoutState::CartValidated,
            totals,
            currency,
            authorization_id: None,
            order_id: None,
            failure: None,
        })
    }

    /// Step 2: hold the stock.
    async fn reserve(&self, mut stored: Stored) -> Result<Stored, CommerceError> {
        let cart_holds = self.settings.hold_at_add_to_cart.then(|| crate::cart_holder(&stored.cart_id));
        let held = self
            .store
            .hold_replacing(&stored.id, &stock_lines(&stored.totals), self.settings.hold_ttl, cart_holds.as_deref())
            .await;
        match held {
            Ok(()) => {
                self.set_state(&mut stored, CheckoutState::InventoryReserved, None).await?;
                // The coupon the price counted on: one use, taken now or never.
                if let Some(discount) = stored.totals.discounts.first()
                    && !self.store.redeem_coupon(&discount.code, &stored.id).await?
                {
                    self.compensate(&mut stored, &CheckoutFailure::CouponExhausted).await?;
                }
            }
            Err(CommerceError::OutOfStock { product_id, .. }) => {
                let failure = CheckoutFailure::OutOfStock { product_id: Some(product_id) };
                self.set_state(&mut stored, CheckoutState::Failed, Some(failure.to_string())).await?;
            }
            Err(other) => return Err(other),
        }
        Ok(stored)
    }

    /// Step 3: hold the money.
    async fn authorize(&self, mut stored: Stored, card_number: &str) -> Result<Stored, CommerceError> {
        let request = AuthorizeRequest {
            idempotency_key: stored.id.clone(),
            amount_cents: stored.totals.total_cents,
            currency: stored.currency.clone(),
            card_number: card_number.to_owned(),
        };
        let answer = match self.gateway.authorize(&request).await {
            Err(PaymentError::Timeout) => match self.gateway.find(&stored.id).await {
                Ok(Some(found)) if found.status == PaymentStatus::Authorized => Ok(found),
                Ok(_) | Err(_) => Err(CheckoutFailure::PaymentTimeout),
            },
            Err(PaymentError::Declined(code)) => Err(CheckoutFailure::Declined(code)),
            Err(_) => Err(CheckoutFailure::PaymentError),
            Ok(authorization) => Ok(authorization),
        };
        match answer {
            Ok(authorization) => {
                stored.authorization_id = Some(authorization.id.clone());
                sqlx::query("UPDATE checkouts SET authorization_id = $1 WHERE id = $2")
                    .bind(&authorization.id)
                    .bind(&stored.id)
                    .execute(self.store.pool())
                    .await?;
                self.set_state(&mut stored, CheckoutState::PaymentAuthorized, None).await?;
            }
            Err(failure) => self.compensate(&mut stored, &failure).await?,
        }
        Ok(stored)
    }

    /// Step 4: the order, in one transaction with the sale.
    async fn create_order(&self, mut stored: Stored) -> Result<Stored, CommerceError> {
        let authorization_id = stored.authorization_id.clone().unwrap_or_default();
        let mut tx = self.store.pool().begin().await?;
        let sold = sell_held_in(&mut tx, &stored.id).await?;
        if sold.is_empty() && !sell_unheld_in(&mut tx, &stock_lines(&stored.totals)).await? {
            tx.rollback().await?;
            self.compensate(&mut stored, &CheckoutFailure::OutOfStock { product_id: None }).await?;
            return Ok(stored);
        }
        let number: i64 =
            sqlx::query("UPDATE counters SET value = value + 1 WHERE name = 'order_number' RETURNING value")
                .fetch_one(&mut *tx)
                .await?
                .try_get("value")?;
        let order_id = format!("ord_{}", uuid::Uuid::now_v7().simple());
        let order_number = format!("VT-{number:06}");
        let now = now_ms();
        sqlx::query(
            "INSERT INTO orders (id, number, checkout_id, user_id, currency, total_cents, authorization_id, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&order_id)
        .bind(&order_number)
        .bind(&stored.id)
        .bind(&stored.user_id)
        .bind(&stored.currency)
        .bind(stored.totals.total_cents)
        .bind(&authorization_id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let placed = serde_json::json!({"number": order_number, "totals": stored.totals, "user_id": stored.user_id});
        crate::orders::append_event(&mut tx, &order_id, "placed", &placed).await?;
        let authorized =
            serde_json::json!({"authorization_id": authorization_id, "amount_cents": stored.totals.total_cents});
        crate::orders::append_event(&mut tx, &order_id, "authorized", &authorized).await?;
        sqlx::query("UPDATE carts SET status = 'ordered', updated_at = $1 WHERE id = $2")
            .bind(now)
            .bind(&stored.cart_id)
            .execute(&mut *tx)
            .await?;
        let message = serde_json::json!({
            "type": "order_placed", "event_id": uuid::Uuid::now_v7().to_string(), "order_id": order_id,
            "number": order_number, "user_id": stored.user_id, "totals": stored.totals,
        });
        append(&mut tx, ORDERS_TOPIC, &order_id, &message).await?;
        sqlx::query("UPDATE checkouts SET order_id = $1 WHERE id = $2")
            .bind(&order_id)
            .bind(&stored.id)
            .execute(&mut *tx)
            .await?;
        transition_in(&mut tx, &stored.id, stored.state, CheckoutState::OrderCreated, None).await?;
        tx.commit().await?;
        stored.state = CheckoutState::OrderCreated;
        stored.order_id = Some(order_id);
        Ok(stored)
    }

    /// Step 5: tell the shopper (an event for the mailer).
    async fn confirm(&self, stored: &Stored) -> Result<(), CommerceError> {
        let order_id = stored.order_id.clone().unwrap_or_default();
        let mut tx = self.store.pool().begin().await?;
        let message = serde_json::json!({
            "type": "order_confirmation", "event_id": uuid::Uuid::now_v7().to_string(), "order_id": order_id,
        });
        append(&mut tx, ORDERS_TOPIC, &order_id, &message).await?;
        transition_in(&mut tx, &stored.id, stored.state, CheckoutState::ConfirmationSent, None).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Undoes what a checkout holds: the gateway's authorisation for its key (if any) is voided,
    /// its stock holds are released, and it ends `COMPENSATED` with `failure`.
    async fn compensate(&self, stored: &mut Stored, failure: &CheckoutFailure) -> Result<(), CommerceError> {
        let code = failure.to_string();
        if let Ok(Some(authorization)) = self.gateway.find(&stored.id).await
            && authorization.status == PaymentStatus::Authorized
        {
            self.gateway.void(&authorization.id).await.map_err(|error| CommerceError::Payment(error.to_string()))?;
        }
        let mut tx = self.store.pool().begin().await?;
        release_holds_in(&mut tx, &stored.id).await?;
        crate::coupons::release_redemption_in(&mut tx, &stored.id).await?;
        transition_in(&mut tx, &stored.id, stored.state, CheckoutState::Compensated, Some(&code)).await?;
        tx.commit().await?;
        stored.state = CheckoutState::Compensated;
        stored.failure = Some(code);
        Ok(())
    }

    async fn set_state(
        &self,
        stored: &mut Stored,
        to: CheckoutState,
        failure: Option<String>,
    ) -> Result<(), CommerceError> {
        let mut tx = self.store.pool().begin().await?;
        transition_in(&mut tx, &stored.id, stored.state, to, failure.as_deref()).await?;
        tx.commit().await?;
        stored.state = to;
        stored.failure = failure;
        Ok(())
    }

    /// Finishes or compensates every checkout left in flight (after a crash).
    ///
    /// # Errors
    /// A database failure, or a gateway that cannot void.
    pub async fn recover(&self) -> Result<RecoveryReport, CommerceError> {
        let rows = sqlx::query("SELECT id FROM checkouts WHERE state IN ('cart_validated', 'inventory_reserved', 'payment_authorized', 'order_created') ORDER BY id")
            .fetch_all(self.store.pool())
            .await?;
        let mut report = RecoveryReport::default();
        for row in rows {
            let id: String = row.try_get("id")?;
            let mut stored = self.load(&id).await?;
            match stored.state {
                CheckoutState::CartValidated | CheckoutState::InventoryReserved => {
                    self.compensate(&mut stored, &CheckoutFailure::Interrupted).await?;
                    report.compensated += 1;
                }
                CheckoutState::PaymentAuthorized => {
                    let stored = self.create_order(stored).await?;
                    if stored.state == CheckoutState::OrderCreated {
                        self.confirm(&stored).await?;
                        report.completed += 1;
                    } else {
                        report.compensated += 1;
                    }
                }
                CheckoutState::OrderCreated => {
                    self.confirm(&stored).await?;
                    report.completed += 1;
                }
                _ => {}
            }
        }
        Ok(report)
    }

    /// Voids every authorisation the gateway holds that no order and no checkout in flight
    /// accounts for (orphans of crashes the saga could not see).
    ///
    /// # Errors
    /// A database failure, or a gateway that cannot list or void.
    pub async fn reconcile(&self) -> Result<RecoveryReport, CommerceError> {
        let mut report = RecoveryReport::default();
        let open =
            self.gateway.open_authorizations().await.map_err(|error| CommerceError::Payment(error.to_string()))?;
        for authorization in open {
            let accounted = sqlx::query(
                "SELECT id FROM checkouts WHERE id = $1 AND (order_id IS NOT NULL OR state IN ('cart_validated', 'inventory_reserved', 'payment_authorized'))",
            )
            .bind(&authorization.idempotency_key)
            .fetch_optional(self.store.pool())
            .await?
            .is_some();
            if !accounted {
                self.gateway
                    .void(&authorization.id)
                    .await
                    .map_err(|error| CommerceError::Payment(error.to_string()))?;
                report.voided += 1;
            }
        }
        Ok(report)
    }

    async fn load(&self, id: &str) -> Result<Stored, CommerceError> {
        let row = sqlx::query(
            "SELECT id, cart_id, user_id, state, pricing, currency, authorization_id, order_id, failure FROM checkouts WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(self.store.pool())
        .await?
        .ok_or_else(|| CommerceError::Invalid(format!("checkout `{id}` not found")))?;
        let pricing: String = row.try_get("pricing")?;
        let state: String = row.try_get("state")?;
        Ok(Stored {
            id: row.try_get("id")?,
            cart_id: row.try_get("cart_id")?,
            user_id: row.try_get("user_id")?,
            state: CheckoutState::parse(&state)?,
            totals: serde_json::from_str(&pricing)?,
            currency: row.try_get("currency")?,
            authorization_id: row.try_get("authorization_id")?,
            order_id: row.try_get("order_id")?,
            failure: row.try_get("failure")?,
        })
    }

    async fn outcome(&self, id: &str) -> Result<CheckoutOutcome, CommerceError> {
        let stored = self.load(id).await?;
        let order_number = match &stored.order_id {
            Some(order_id) => sqlx::query("SELECT number FROM orders WHERE id = $1")
                .bind(order_id)
                .fetch_optional(self.store.pool())
                .await?
                .map(|row| row.try_get("number"))
                .transpose()?,
            None => None,
        };
        Ok(CheckoutOutcome {
            checkout_id: stored.id,
            state: stored.state,
            order_id: stored.order_id,
            order_number,
            failure: stored.failure,
            totals: stored.totals,
        })
    }
}

fn stock_lines(totals: &Totals) -> Vec<StockLine> {
    totals.lines.iter().map(|line| StockLine { product_id: line.product_id.clone(), quantity: line.quantity }).collect()
}

fn is_unique_violation(error: &sqlx::Error) -> bool {
    error.as_database_error().is_some_and(|error| error.is_unique_violation())
}

/// Moves a checkout from `from` to `to` (refused unless the state machine allows it and the row
/// is still in `from`), and logs the transition.
async fn transition_in(
    tx: &mut Transaction<'_, Any>,
    checkout_id: &str,
    from: CheckoutState,
    to: CheckoutState,
    failure: Option<&str>,
) -> Result<(), CommerceError> {
    if !from.successors().contains(&to) {
        return Err(CommerceError::Invalid(format!("checkout cannot go from {} to {}", from.as_str(), to.as_str())));
    }
    let moved = sqlx::query("UPDATE checkouts SET state = $1, failure = COALESCE($2, failure), updated_at = $3 WHERE id = $4 AND state = $5")
        .bind(to.as_str())
        .bind(failure)
        .bind(now_ms())
        .bind(checkout_id)
        .bind(from.as_str())
        .execute(&mut **tx)
        .await?;
    if moved.rows_affected() != 1 {
        return Err(CommerceError::Invalid(format!("checkout `{checkout_id}` is no longer {}", from.as_str())));
    }
    log_transition(tx, checkout_id, to, failure).await
}

async fn log_transition(
    tx: &mut Transaction<'_, Any>,
    checkout_id: &str,
    state: CheckoutState,
    detail: Option<&str>,
) -> Result<(), CommerceError> {
    sqlx::query(
        "INSERT INTO checkout_transitions (checkout_id, seq, state, detail, at) \
         SELECT $1, COALESCE(MAX(seq), 0) + 1, $2, $3, $4 FROM checkout_transitions WHERE checkout_id = $1",
    )
    .bind(checkout_id)
    .bind(state.as_str())
    .bind(detail)
    .bind(now_ms())
    .execute(&mut **tx)
    .await?;
    Ok(())
}
