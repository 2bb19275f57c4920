//! Checkout: a saga whose every step is persisted, so a failure at any step — a declined card, a
//! gateway that does not answer, the process dying between two steps — ends with no stock held
//! and no money held without an order.
//!
//! ```text
//! CART_VALIDATED → INVENTORY_RESERVED ─────────────→ PAYMENT_AUTHORIZED → ORDER_CREATED → CONFIRMATION_SENT
//!        ↓                 ↓    ↘ REQUIRES_ACTION ↗         ↓
//!  FAILED (or         COMPENSATED ↘ PAYMENT_PENDING ↗   COMPENSATED
//!  COMPENSATED on recovery)        (both → COMPENSATED)
//! ```
//!
//! 1. **Cart validated**: the cart's lines are priced from commerce's own SKUs (never from the
//!    client) and the checkout is recorded; one checkout in flight per cart.
//! 2. **Inventory reserved**: every line held, all or nothing (out of stock → `FAILED`).
//! 3. **Payment authorised** with the payment method the provider tokenised in the browser (never
//!    card data) and the checkout id as idempotency key. A decline or a provider error compensates
//!    (holds released). A timeout is resolved by looking the key up: held money continues the
//!    checkout, none compensates. A method that needs the shopper's authentication (3-D Secure)
//!    stops in `REQUIRES_ACTION` until [`Checkout::confirm`]; a provider that answers later
//!    stops in `PAYMENT_PENDING` until its webhook (or the sweep) confirms.
//! 4. **Order created**, in one transaction: holds become sales, the order and its first events
//!    are written, the cart is closed, an `order_placed` event goes to the outbox. If the holds
//!    expired meanwhile the sale is retried against the stock; short → the authorisation is voided.
//! 5. **Confirmation sent** (an `order_confirmation` event in the outbox).
//!
//! [`Checkout::recover_stuck`] finishes or compensates every checkout that stopped moving (its
//! request cut off, its process dead): before an authorisation it compensates (voiding whatever
//! the provider holds for the key); with one it creates the order; with an order it sends the
//! confirmation; one waiting for the shopper or the provider is asked about again, and
//! compensated once [`CheckoutSettings::authentication_timeout`] passes. The shop runs it at
//! start ([`Checkout::recover`]) and in the background; every step's state change is a
//! compare-and-set, so a sweep and a live saga never both act. [`Checkout::reconcile`] voids
//! provider authorisations that belong to no order.
//!
//! Failpoints (`fail` crate, feature `failpoints`): `checkout::after_validated`,
//! `checkout::after_reserved`, `checkout::after_authorized`, `checkout::after_order_created`.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use sqlx::{Any, Row, Transaction};

use crate::error::CheckoutFailure;
use crate::inventory::{release_holds_in, sell_held_in, sell_unheld_in};
use crate::outbox::{ORDERS_TOPIC, append};
use crate::payments::{Authorization, AuthorizeRequest, CardDetails, PaymentError, PaymentProvider, PaymentStatus};
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
    /// The shopper must authenticate the payment (3-D Secure); stock held.
    RequiresAction,
    /// The provider has not answered yet (it will, by webhook); stock held.
    PaymentPending,
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
            CheckoutState::RequiresAction => "requires_action",
            CheckoutState::PaymentPending => "payment_pending",
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
            "requires_action" => CheckoutState::RequiresAction,
            "payment_pending" => CheckoutState::PaymentPending,
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
            InventoryReserved => &[PaymentAuthorized, RequiresAction, PaymentPending, Compensated],
            RequiresAction | PaymentPending => &[PaymentAuthorized, Compensated],
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
    /// The payment method the provider tokenised in the shopper's browser (`pm_…`).
    pub payment_method: String,
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
    /// With `requires_action`: where the shopper authenticates the payment.
    pub next_action_url: Option<String>,
}

impl CheckoutOutcome {
    /// The checkout made an order.
    pub fn is_placed(&self) -> bool {
        matches!(self.state, CheckoutState::ConfirmationSent | CheckoutState::OrderCreated)
    }

    /// The checkout waits for the shopper's authentication or the provider's answer.
    pub fn is_waiting(&self) -> bool {
        matches!(self.state, CheckoutState::RequiresAction | CheckoutState::PaymentPending)
    }

    /// Why the checkout made no order, typed; `None` when it made one or may still make one.
    pub fn failure(&self) -> Option<CheckoutFailure> {
        self.state
            .is_final()
            .then(|| {
                (!self.is_placed()).then(|| CheckoutFailure::from_code(self.failure.as_deref().unwrap_or_default()))
            })
            .flatten()
    }

    /// The outcome of a checkout that made an order (or waits for the shopper or the provider),
    /// or why it made none.
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
#[derive(Debug, Clone, Copy, PartialEq)]
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
    /// A checkout whose state has not moved for this long lost its request or its process: the
    /// background sweep finishes or compensates it.
    pub stuck_after: Duration,
    /// How long a checkout waits for the shopper's authentication (3-D Secure) or the provider's
    /// late answer before it is compensated.
    pub authentication_timeout: Duration,
    /// The highest price a product may have, in its currency's major units (`None`: only
    /// [`MAX_AMOUNT_MINOR_UNITS`](crate::MAX_AMOUNT_MINOR_UNITS), the payment providers' limit).
    pub max_price: Option<f64>,
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
            stuck_after: Duration::from_secs(60),
            authentication_timeout: Duration::from_secs(15 * 60),
            max_price: None,
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
    next_action_url: Option<String>,
    created_at: i64,
    updated_at: i64,
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

    /// Runs a checkout to its end, or to where it waits for the shopper (3-D Secure) or the
    /// provider. A declined card or a short stock is an outcome, not an error.
    ///
    /// # Errors
    /// [`CommerceError::CartNotFound`], [`CommerceError::CartClosed`], an empty cart or a product
    /// no longer sold ([`CommerceError::Invalid`], [`CommerceError::UnknownProduct`]), a checkout
    /// of this cart already in flight ([`CommerceError::CheckoutInProgress`]), a database failure.
    pub async fn run(&self, request: &CheckoutRequest) -> Result<CheckoutOutcome, CommerceError> {
        let stored = self.validate(request).await?;
        let id = stored.id.clone();
        match self.carry(stored, request).await {
            // The sweep took the checkout over (this saga was slower than the deadline): the
            // answer is where it left it.
            Err(CommerceError::Moved(_)) => self.outcome(&id).await,
            other => other,
        }
    }

    /// Steps 2–5 of a validated checkout.
    async fn carry(&self, stored: Stored, request: &CheckoutRequest) -> Result<CheckoutOutcome, CommerceError> {
        fail::fail_point!("checkout::after_validated");
        let stored = self.reserve(stored).await?;
        if stored.state.is_final() {
            return self.outcome(&stored.id).await;
        }
        fail::fail_point!("checkout::after_reserved");
        let stored = self.authorize(stored, &request.payment_method).await?;
        if stored.state != CheckoutState::PaymentAuthorized {
            return self.outcome(&stored.id).await;
        }
        fail::fail_point!("checkout::after_authorized");
        self.finish_authorized(stored).await
    }

    /// Goes on with a checkout that waited for the shopper's authentication (3-D Secure) or the
    /// provider's late answer, asking the provider where the payment stands: authorised, the order
    /// is made; failed, the checkout is compensated; still waiting, nothing changes. A checkout
    /// already over (or moving) answers where it stands.
    ///
    /// # Errors
    /// An unknown checkout, a database failure.
    pub async fn confirm(&self, checkout_id: &str) -> Result<CheckoutOutcome, CommerceError> {
        let stored = self.load(checkout_id).await?;
        if stored.state.is_final() || !stored.waiting() {
            return self.outcome(checkout_id).await;
        }
        let stored = self.ask_again(stored).await?;
        self.continue_or_answer(stored).await
    }

    /// After an authorisation: the order, then the confirmation.
    async fn finish_authorized(&self, stored: Stored) -> Result<CheckoutOutcome, CommerceError> {
        let stored = self.create_order(stored).await?;
        if stored.state.is_final() {
            return self.outcome(&stored.id).await;
        }
        fail::fail_point!("checkout::after_order_created");
        self.confirm_order(&stored).await?;
        self.outcome(&stored.id).await
    }

    /// Carries a checkout on from its state; a step another actor took first (a webhook, the
    /// sweep) is not an error: the answer is where the checkout then stands.
    async fn continue_or_answer(&self, stored: Stored) -> Result<CheckoutOutcome, CommerceError> {
        let id = stored.id.clone();
        let carried = match stored.state {
            CheckoutState::PaymentAuthorized => self.finish_authorized(stored).await.map(|_| ()),
            CheckoutState::OrderCreated => self.confirm_order(&stored).await,
            _ => Ok(()),
        };
        match carried {
            Ok(()) | Err(CommerceError::Moved(_)) => self.outcome(&id).await,
            Err(error) => Err(error),
        }
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
        let id = format!("co_{}", uuid::Uuid::now_v7().simple());
        let now = now_ms();
        let currency = quote.currency.unwrap_or_default();
        let mut tx = self.store.pool().begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO checkouts (id, cart_id, user_id, state, pricing, currency, total_cents, card_last4, \
             shipping_address, payment_method, created_at, updated_at) \
             VALUES ($1, $2, $3, 'cart_validated', $4, $5, $6, '', $7, $8, $9, $9)",
        )
        .bind(&id)
        .bind(&cart.id)
        .bind(&cart.user_id)
        .bind(serde_json::to_string(&totals)?)
        .bind(&currency)
        .bind(totals.total_cents)
        .bind(request.shipping_address.to_string())
        .bind(&request.payment_method)
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
            next_action_url: None,
            created_at: now,
            updated_at: now,
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
    async fn authorize(&self, stored: Stored, payment_method: &str) -> Result<Stored, CommerceError> {
        let request = AuthorizeRequest {
            idempotency_key: stored.id.clone(),
            amount_cents: stored.totals.total_cents,
            currency: stored.currency.clone(),
            payment_method: payment_method.to_owned(),
        };
        let answer = match self.gateway.authorize(&request).await {
            Err(PaymentError::Timeout) => match self.gateway.find(&stored.id).await {
                Ok(Some(found)) => Ok(found),
                Ok(None) | Err(_) => Err(CheckoutFailure::PaymentTimeout),
            },
            Err(PaymentError::Declined(code)) => Err(CheckoutFailure::Declined(code)),
            Err(_) => Err(CheckoutFailure::PaymentError),
            Ok(authorization) => Ok(authorization),
        };
        let held = answer.as_ref().ok().map(|authorization| authorization.id.clone());
        match self.apply_payment(stored, answer).await {
            // The sweep took the checkout over while the provider was slow: what it authorised
            // belongs to no order.
            Err(CommerceError::Moved(reason)) => {
                if let Some(id) = held {
                    let voided = self.gateway.void(&id, &format!("void:{}", request.idempotency_key)).await;
                    tracing::warn!(?voided, "an authorisation that came after its checkout was taken over is voided");
                }
                Err(CommerceError::Moved(reason))
            }
            other => other,
        }
    }

    /// Moves a checkout after the provider's answer: authorised, waiting for the shopper or the
    /// provider, or refused (compensated).
    async fn apply_payment(
        &self,
        mut stored: Stored,
        answer: Result<Authorization, CheckoutFailure>,
    ) -> Result<Stored, CommerceError> {
        let authorization = match answer {
            Ok(authorization) => authorization,
            Err(failure) => {
                self.compensate(&mut stored, &failure).await?;
                return Ok(stored);
            }
        };
        let to = match authorization.status {
            PaymentStatus::Authorized => CheckoutState::PaymentAuthorized,
            PaymentStatus::RequiresAction => CheckoutState::RequiresAction,
            PaymentStatus::Pending => CheckoutState::PaymentPending,
            PaymentStatus::Failed => {
                let code = authorization.failure.clone().unwrap_or_else(|| "payment_failed".into());
                self.compensate(&mut stored, &CheckoutFailure::Declined(code)).await?;
                return Ok(stored);
            }
            PaymentStatus::Captured | PaymentStatus::Voided | PaymentStatus::Expired => {
                self.compensate(&mut stored, &CheckoutFailure::PaymentError).await?;
                return Ok(stored);
            }
        };
        if to == stored.state {
            return Ok(stored);
        }
        let card = authorization.card.clone().unwrap_or(CardDetails { brand: String::new(), last4: String::new() });
        let mut tx = self.store.pool().begin().await?;
        sqlx::query(
            "UPDATE checkouts SET authorization_id = $1, card_brand = $2, card_last4 = $3, next_action = $4 WHERE id = $5",
        )
        .bind(&authorization.id)
        .bind(&card.brand)
        .bind(&card.last4)
        .bind(&authorization.next_action_url)
        .bind(&stored.id)
        .execute(&mut *tx)
        .await?;
        let changed_at = transition_in(&mut tx, &stored, to, None).await?;
        tx.commit().await?;
        stored.updated_at = changed_at;
        stored.authorization_id = Some(authorization.id);
        stored.next_action_url = authorization.next_action_url;
        stored.state = to;
        Ok(stored)
    }

    /// A waiting checkout: asks the provider where its payment stands now.
    async fn ask_again(&self, stored: Stored) -> Result<Stored, CommerceError> {
        let answer = match &stored.authorization_id {
            Some(id) => match self.gateway.confirm(id).await {
                Ok(authorization) => Ok(authorization),
                Err(PaymentError::Declined(code)) => Err(CheckoutFailure::Declined(code)),
                // No answer now: ask again later.
                Err(_) => return Ok(stored),
            },
            None => Err(CheckoutFailure::PaymentError),
        };
        self.apply_payment(stored, answer).await
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
        stored.updated_at = transition_in(&mut tx, &stored, CheckoutState::OrderCreated, None).await?;
        tx.commit().await?;
        stored.state = CheckoutState::OrderCreated;
        stored.order_id = Some(order_id);
        Ok(stored)
    }

    /// Step 5: tell the shopper (an event for the mailer).
    async fn confirm_order(&self, stored: &Stored) -> Result<(), CommerceError> {
        let order_id = stored.order_id.clone().unwrap_or_default();
        let mut tx = self.store.pool().begin().await?;
        let message = serde_json::json!({
            "type": "order_confirmation", "event_id": uuid::Uuid::now_v7().to_string(), "order_id": order_id,
        });
        append(&mut tx, ORDERS_TOPIC, &order_id, &message).await?;
        transition_in(&mut tx, stored, CheckoutState::ConfirmationSent, None).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Undoes what a checkout holds: the provider's authorisation for its key (if any) is
    /// voided, its stock holds are released, and it ends `COMPENSATED` with `failure`.
    async fn compensate(&self, stored: &mut Stored, failure: &CheckoutFailure) -> Result<(), CommerceError> {
        let code = failure.to_string();
        if let Ok(Some(authorization)) = self.gateway.find(&stored.id).await
            && matches!(
                authorization.status,
                PaymentStatus::Authorized | PaymentStatus::RequiresAction | PaymentStatus::Pending
            )
        {
            self.gateway
                .void(&authorization.id, &format!("void:{}", stored.id))
                .await
                .map_err(|error| CommerceError::Payment(error.to_string()))?;
        }
        let mut tx = self.store.pool().begin().await?;
        release_holds_in(&mut tx, &stored.id).await?;
        crate::coupons::release_redemption_in(&mut tx, &stored.id).await?;
        let changed_at = transition_in(&mut tx, stored, CheckoutState::Compensated, Some(&code)).await?;
        tx.commit().await?;
        stored.updated_at = changed_at;
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
        let changed_at = transition_in(&mut tx, stored, to, failure.as_deref()).await?;
        tx.commit().await?;
        stored.updated_at = changed_at;
        stored.state = to;
        stored.failure = failure;
        Ok(())
    }

    /// Finishes or compensates every checkout left in flight by a process that died (run at
    /// start): as [`Checkout::recover_stuck`] for every checkout, however recent.
    ///
    /// # Errors
    /// A database failure, or a gateway that cannot void.
    pub async fn recover(&self) -> Result<RecoveryReport, CommerceError> {
        self.recover_stuck(now_ms() + 1).await
    }

    /// Finishes or compensates every checkout in flight whose state has not moved since
    /// `before_ms`: its request was cut off or its process died. Each is taken by a
    /// compare-and-set on its last change, so two sweeps (or a sweep and the saga) never both act
    /// on it. One waiting for the shopper or the provider is asked about again, and compensated
    /// once [`CheckoutSettings::authentication_timeout`] has passed without an answer.
    ///
    /// # Errors
    /// A database failure, or a gateway that cannot void.
    pub async fn recover_stuck(&self, before_ms: i64) -> Result<RecoveryReport, CommerceError> {
        let rows = sqlx::query(
            "SELECT id FROM checkouts WHERE state IN ('cart_validated', 'inventory_reserved', 'requires_action', \
             'payment_pending', 'payment_authorized', 'order_created') AND updated_at < $1 ORDER BY updated_at",
        )
        .bind(before_ms)
        .fetch_all(self.store.pool())
        .await?;
        let waited_enough = now_ms() - i64::try_from(self.settings.authentication_timeout.as_millis()).unwrap_or(0);
        let mut report = RecoveryReport::default();
        for row in rows {
            let id: String = row.try_get("id")?;
            let mut stored = self.load(&id).await?;
            let started = stored.created_at;
            if !self.take_over(&mut stored).await? {
                continue;
            }
            let before = stored.state;
            let result = match before {
                CheckoutState::CartValidated | CheckoutState::InventoryReserved => {
                    let mut stored = stored;
                    self.compensate(&mut stored, &CheckoutFailure::Interrupted).await.map(|()| stored.state)
                }
                CheckoutState::RequiresAction | CheckoutState::PaymentPending => match self.ask_again(stored).await {
                    Ok(mut stored) if stored.waiting() && started < waited_enough => {
                        let failure = if before == CheckoutState::RequiresAction {
                            CheckoutFailure::AuthenticationAbandoned
                        } else {
                            CheckoutFailure::PaymentTimeout
                        };
                        self.compensate(&mut stored, &failure).await.map(|()| stored.state)
                    }
                    Ok(stored) if stored.state == CheckoutState::PaymentAuthorized => {
                        self.finish_authorized(stored).await.map(|outcome| outcome.state)
                    }
                    Ok(stored) => Ok(stored.state),
                    Err(error) => Err(error),
                },
                CheckoutState::PaymentAuthorized => self.finish_authorized(stored).await.map(|outcome| outcome.state),
                CheckoutState::OrderCreated => {
                    self.confirm_order(&stored).await.map(|()| CheckoutState::ConfirmationSent)
                }
                _ => continue,
            };
            match result {
                Ok(CheckoutState::ConfirmationSent | CheckoutState::OrderCreated) => report.completed += 1,
                Ok(CheckoutState::Compensated | CheckoutState::Failed) => report.compensated += 1,
                Ok(_) | Err(CommerceError::Moved(_)) => {}
                Err(error) => return Err(error),
            }
        }
        Ok(report)
    }

    /// Takes a stuck checkout over: a compare-and-set on its last change (its state and time)
    /// that moves the time on, so the saga that stalled finds its next step refused.
    async fn take_over(&self, stored: &mut Stored) -> Result<bool, CommerceError> {
        let changed_at = next_change(stored.updated_at);
        let taken =
            sqlx::query("UPDATE checkouts SET updated_at = $1 WHERE id = $2 AND state = $3 AND updated_at = $4")
                .bind(changed_at)
                .bind(&stored.id)
                .bind(stored.state.as_str())
                .bind(stored.updated_at)
                .execute(self.store.pool())
                .await?;
        stored.updated_at = changed_at;
        Ok(taken.rows_affected() == 1)
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
                "SELECT id FROM checkouts WHERE id = $1 AND (order_id IS NOT NULL OR state IN ('cart_validated', \
                 'inventory_reserved', 'requires_action', 'payment_pending', 'payment_authorized'))",
            )
            .bind(&authorization.idempotency_key)
            .fetch_optional(self.store.pool())
            .await?
            .is_some();
            if !accounted {
                self.gateway
                    .void(&authorization.id, &format!("void:{}", authorization.idempotency_key))
                    .await
                    .map_err(|error| CommerceError::Payment(error.to_string()))?;
                report.voided += 1;
            }
        }
        Ok(report)
    }

    async fn load(&self, id: &str) -> Result<Stored, CommerceError> {
        let row = sqlx::query(
            "SELECT id, cart_id, user_id, state, pricing, currency, authorization_id, order_id, failure, next_action, \
             created_at, updated_at FROM checkouts WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(self.store.pool())
        .await?
        .ok_or_else(|| CommerceError::CheckoutNotFound(id.to_owned()))?;
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
            next_action_url: row.try_get("next_action")?,
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
        })
    }

    /// Where the checkout `id` stands.
    ///
    /// # Errors
    /// [`CommerceError::CheckoutNotFound`], a database failure.
    pub async fn outcome(&self, id: &str) -> Result<CheckoutOutcome, CommerceError> {
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
        let next_action_url = if stored.state == CheckoutState::RequiresAction { stored.next_action_url } else { None };
        Ok(CheckoutOutcome {
            checkout_id: stored.id,
            state: stored.state,
            order_id: stored.order_id,
            order_number,
            failure: stored.failure,
            totals: stored.totals,
            next_action_url,
        })
    }

    /// The cart of the checkout `id` (whose holder may act on the checkout).
    ///
    /// # Errors
    /// [`CommerceError::CheckoutNotFound`], a database failure.
    pub async fn cart_of(&self, id: &str) -> Result<String, CommerceError> {
        Ok(self.load(id).await?.cart_id)
    }
}

impl Stored {
    fn waiting(&self) -> bool {
        matches!(self.state, CheckoutState::RequiresAction | CheckoutState::PaymentPending)
    }
}

fn stock_lines(totals: &Totals) -> Vec<StockLine> {
    totals.lines.iter().map(|line| StockLine { product_id: line.product_id.clone(), quantity: line.quantity }).collect()
}

fn is_unique_violation(error: &sqlx::Error) -> bool {
    error.as_database_error().is_some_and(|error| error.is_unique_violation())
}

/// Moves a checkout from where `stored` saw it to `to`: refused unless the state machine allows
/// it, and a compare-and-set on the checkout's state and last change (`updated_at`, which each
/// change moves forward), so that a sweep that took the checkout over stops the saga's next
/// step ([`CommerceError::Moved`]). Logs the transition; returns the new `updated_at`.
async fn transition_in(
    tx: &mut Transaction<'_, Any>,
    stored: &Stored,
    to: CheckoutState,
    failure: Option<&str>,
) -> Result<i64, CommerceError> {
    let from = stored.state;
    if !from.successors().contains(&to) {
        return Err(CommerceError::Invalid(format!("checkout cannot go from {} to {}", from.as_str(), to.as_str())));
    }
    let changed_at = next_change(stored.updated_at);
    let moved = sqlx::query(
        "UPDATE checkouts SET state = $1, failure = COALESCE($2, failure), updated_at = $3 \
         WHERE id = $4 AND state = $5 AND updated_at = $6",
    )
    .bind(to.as_str())
    .bind(failure)
    .bind(changed_at)
    .bind(&stored.id)
    .bind(from.as_str())
    .bind(stored.updated_at)
    .execute(&mut **tx)
    .await?;
    if moved.rows_affected() != 1 {
        return Err(CommerceError::Moved(format!("checkout `{}` moved on from {}", stored.id, from.as_str())));
    }
    log_transition(tx, &stored.id, to, failure).await?;
    Ok(changed_at)
}

/// The time of a checkout's next change: now, and always after its last one.
fn next_change(last: i64) -> i64 {
    now_ms().max(last + 1)
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
