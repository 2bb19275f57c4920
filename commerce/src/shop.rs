//! The shop a server runs: the commerce database and the checkout saga over the simulated
//! gateway, opened once ([`CommerceHandle::get`]: on first use, or at start-up) — at which moment
//! the checkouts a previous process left in flight are recovered — with a housekeeping task
//! sweeping in the background while the shop lives.
//!
//! [`Shop`] also holds the rules that span the store's parts, so that callers (the HTTP API, the
//! demo, the benchmarks) only ask: a cart's quote (the same pricing path as checkout), stock held
//! from add-to-cart when the shop is set to (within [`HoldLimits`]), a new SKU's defaults, coupon
//! amounts given in major units, a checkout that made no order as a typed error.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Weak};
use std::time::Duration;

use tokio::sync::OnceCell;
use vitrine_models::{Currency, Money};

use crate::cart::{Cart, MAX_QUANTITY, MergeReport};
use crate::checkout::{Checkout, CheckoutOutcome, CheckoutRequest, CheckoutSettings, HoldLimits, RecoveryReport};
use crate::coupons::{Coupon, CouponDiscount};
use crate::database_url::DatabaseUrl;
use crate::inventory::{Sku, StockLine, cart_holder};
use crate::orders::Order;
use crate::outbox::OUTBOX_RETENTION_MS;
use crate::payments::{GatewaySettings, SimulatedGateway};
use crate::pricing::{MAX_AMOUNT_MINOR_UNITS, MAX_STOCK};
use crate::quote::CartQuote;
use crate::{CommerceError, HoldScope, Store};

/// The currency of a SKU created without one, and of coupon amounts.
pub const DEFAULT_CURRENCY: Currency = Currency::GBP;

/// How often the housekeeping task runs [default].
const HOUSEKEEPING_INTERVAL: Duration = Duration::from_secs(5);

/// An order change whose provider call has not come back for this long lost its process.
const STALE_CLAIM_MS: i64 = 60_000;

/// The commerce services of a server.
#[derive(Debug)]
pub struct Shop {
    /// The database.
    pub store: Store,
    /// The saga, over the simulated gateway.
    pub checkout: Checkout<SimulatedGateway>,
}

/// The shop, opened on first use. Cheap to clone.
/// Its `Debug` shows the database URL without its password.
#[derive(Debug, Clone)]
pub struct CommerceHandle {
    url: DatabaseUrl,
    schema: Option<Arc<str>>,
    settings: CheckoutSettings,
    gateway: GatewaySettings,
    sweep_every: Duration,
    shop: Arc<OnceCell<Arc<Shop>>>,
}

impl CommerceHandle {
    /// A handle on the database at `url`.
    pub fn new(url: impl Into<String>) -> Self {
        CommerceHandle {
            url: DatabaseUrl::new(url),
            schema: None,
            settings: CheckoutSettings::default(),
            gateway: GatewaySettings::default(),
            sweep_every: HOUSEKEEPING_INTERVAL,
            shop: Arc::default(),
        }
    }

    /// A handle on a PostgreSQL `schema` of the database at `url` (benchmarks use a scratch one).
    pub fn with_schema(url: impl Into<String>, schema: impl Into<Arc<str>>) -> Self {
        CommerceHandle { schema: Some(schema.into()), ..CommerceHandle::new(url) }
    }

    /// The same, with the simulated gateway's latency and failure rate.
    pub fn with_gateway(mut self, gateway: GatewaySettings) -> Self {
        self.gateway = gateway;
        self
    }

    /// The same, holding stock from add-to-cart (or not).
    pub fn holding_at_add_to_cart(mut self, hold: bool) -> Self {
        self.settings.hold_at_add_to_cart = hold;
        self
    }

    /// The same, with these limits on what one cart may hold (with stock held from add-to-cart).
    pub fn with_hold_limits(mut self, limits: HoldLimits) -> Self {
        self.settings.hold_limits = limits;
        self
    }

    /// The same, refusing prices above `max_price` (major units of the product's currency;
    /// `None`: [`MAX_AMOUNT_MINOR_UNITS`], the payment providers' limit, which caps it anyway).
    pub fn with_max_price(mut self, max_price: Option<f64>) -> Self {
        self.settings.max_price = max_price;
        self
    }

    /// The same, sweeping checkouts that have not moved for `stuck_after` (their request was cut
    /// off) and compensating those waiting for an authentication longer than
    /// `authentication_timeout`.
    pub fn with_deadlines(mut self, stuck_after: Duration, authentication_timeout: Duration) -> Self {
        self.settings.stuck_after = stuck_after;
        self.settings.authentication_timeout = authentication_timeout;
        self
    }

    /// The same, with housekeeping every `every` (default 5 s).
    pub fn sweeping_every(mut self, every: Duration) -> Self {
        self.sweep_every = every;
        self
    }

    /// The shop: connected, migrated and recovered the first time; from then on, a housekeeping
    /// task finishes or compensates checkouts that stopped moving (a request cut off mid-saga),
    /// finishes order changes a dead process left claimed, releases expired stock holds, voids
    /// provider authorisations no order accounts for, forgets idempotency keys older than 24
    /// hours and published outbox events older than a week, every 5 s (by default) while the
    /// shop lives.
    ///
    /// # Panics
    /// Outside a Tokio runtime (housekeeping is a Tokio task).
    ///
    /// # Errors
    /// The database cannot be opened, migrated or recovered.
    pub async fn get(&self) -> Result<Arc<Shop>, CommerceError> {
        self.shop
            .get_or_try_init(|| async {
                let store = Store::connect(self.url.expose(), self.schema.as_deref()).await?;
                let checkout = Checkout::new(store.clone(), SimulatedGateway::new(self.gateway), self.settings);
                let recovered = checkout.recover().await?;
                if recovered != Default::default() {
                    tracing::warn!(?recovered, "checkouts left in flight were recovered");
                }
                let shop = Arc::new(Shop { store, checkout });
                tokio::spawn(every_while_alive(Arc::downgrade(&shop), self.sweep_every, recovery));
                tokio::spawn(every_while_alive(Arc::downgrade(&shop), self.sweep_every, housekeeping));
                Ok(shop)
            })
            .await
            .cloned()
    }
}

/// One round of a background loop, given the shop and the time (ms since the epoch).
type Round = for<'a> fn(&'a Shop, i64) -> Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

/// Runs `round` every `every` while the shop lives (each loop its own task, so a slow provider
/// call of the housekeeping does not delay the recovery sweep).
async fn every_while_alive(shop: Weak<Shop>, every: Duration, round: Round) {
    let mut ticks = tokio::time::interval(every);
    ticks.tick().await;
    loop {
        ticks.tick().await;
        let Some(shop) = shop.upgrade() else { return };
        round(&shop, chrono::Utc::now().timestamp_millis()).await;
    }
}

/// The recovery sweep: checkouts that stopped moving, order changes a dead process left claimed.
fn recovery(shop: &Shop, now: i64) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
    Box::pin(async move {
        let stuck_after = i64::try_from(shop.settings().stuck_after.as_millis()).unwrap_or(i64::MAX);
        let recovered = shop.checkout.recover_stuck(now.saturating_sub(stuck_after)).await;
        let claims = shop.checkout.finish_stale_claims(now - STALE_CLAIM_MS).await;
        let quiet = matches!(&recovered, Ok(report) if *report == RecoveryReport::default()) && matches!(claims, Ok(0));
        if !quiet {
            tracing::warn!(?recovered, ?claims, "stuck checkouts and order changes were finished");
        }
    })
}

/// The housekeeping: expired holds, orphan authorisations, old idempotency keys and outbox events.
fn housekeeping(shop: &Shop, now: i64) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
    Box::pin(async move {
        let swept = shop.store.sweep_expired_holds(now).await;
        let reconciled = shop.checkout.reconcile().await;
        let purged = shop.store.idempotency_purge(now).await;
        let pruned = shop.store.prune_sent_outbox(now - OUTBOX_RETENTION_MS).await;
        match (swept, reconciled, purged, pruned) {
            (Ok(0), Ok(report), Ok(_), Ok(_)) if report.voided == 0 => {}
            (swept, reconciled, purged, pruned) => {
                tracing::info!(?swept, ?reconciled, ?purged, ?pruned, "commerce housekeeping");
            }
        }
    })
}

/// A change of a SKU's stock (and price), as an operator sends it.
#[derive(Debug, Clone, PartialEq)]
pub struct StockUpdate {
    /// Units on hand.
    pub on_hand: i64,
    /// The price in major units (`12.5`), in the SKU's currency; required for a new SKU.
    pub price: Option<f64>,
    /// ISO 4217 code of a new SKU [default: [`DEFAULT_CURRENCY`]]; an existing SKU keeps its own.
    pub currency: Option<String>,
}

/// A coupon's terms, as an operator sends them: `percent` or `amount` off (major units, in
/// [`DEFAULT_CURRENCY`]), from `min_subtotal` (major units), usable `max_uses` times.
#[derive(Debug, Clone, PartialEq)]
pub struct CouponTerms {
    /// A percentage off.
    pub percent: Option<u8>,
    /// An amount off.
    pub amount: Option<f64>,
    /// Applies from this subtotal.
    pub min_subtotal: f64,
    /// How many checkouts may use it.
    pub max_uses: i64,
}

impl Shop {
    /// The checkout's settings (shipping, tax, holds).
    pub fn settings(&self) -> &CheckoutSettings {
        self.checkout.settings()
    }

    /// `cart` priced as checkout will price it (see [`Store::quote`]).
    ///
    /// # Errors
    /// A query failure.
    pub async fn quote(&self, cart: &Cart) -> Result<CartQuote, CommerceError> {
        let settings = self.settings();
        self.store.quote(cart, settings.shipping, settings.tax).await
    }

    /// Adds `quantity` units of `product_id` to `cart`; with stock held from add-to-cart, the
    /// cart's lines are held as they will be first (all or nothing), within the hold limits.
    ///
    /// # Errors
    /// [`CommerceError::OutOfStock`], [`CommerceError::HoldLimitExceeded`] (the cart is
    /// unchanged), those of [`Store::add_to_cart`].
    pub async fn add_to_cart(&self, cart: &Cart, product_id: &str, quantity: i64) -> Result<Cart, CommerceError> {
        let current = cart.lines.iter().find(|own| own.product_id == product_id).map_or(0, |own| own.quantity);
        if quantity >= 1 {
            self.rehold(cart, product_id, current + quantity).await?;
        }
        self.store.add_to_cart(&cart.id, product_id, quantity).await
    }

    /// Sets the units of `product_id` in `cart` (0 removes the line); with stock held from
    /// add-to-cart, the cart's lines are held as they will be first (all or nothing), within the
    /// hold limits (lowering a line is always allowed).
    ///
    /// # Errors
    /// [`CommerceError::OutOfStock`], [`CommerceError::HoldLimitExceeded`] (the cart is
    /// unchanged), those of [`Store::set_cart_quantity`].
    pub async fn set_cart_quantity(&self, cart: &Cart, product_id: &str, quantity: i64) -> Result<Cart, CommerceError> {
        if cart.lines.iter().any(|line| line.product_id == product_id) {
            self.rehold(cart, product_id, quantity).await?;
        }
        self.store.set_cart_quantity(&cart.id, product_id, quantity).await
    }

    /// Merges the guest cart `guest_cart_id` into the open cart of `user_id` (on login). With
    /// stock held from add-to-cart, the guest's units go back first (so the merge's caps see them
    /// as available), the merged lines are capped by the hold limits too (reported like the
    /// other caps: a login never fails for them) and the merged cart is held.
    ///
    /// # Errors
    /// Those of [`Store::merge_carts`]; [`CommerceError::OutOfStock`] holding the merged cart.
    pub async fn merge_carts(&self, guest_cart_id: &str, user_id: &str) -> Result<MergeReport, CommerceError> {
        let holding = self.settings().hold_at_add_to_cart;
        let report = if holding {
            self.store.release_holds(&cart_holder(guest_cart_id)).await?;
            let limits = self.settings().hold_limits;
            self.store.merge_carts_within(guest_cart_id, user_id, limits.per_line, limits.per_cart).await?
        } else {
            self.store.merge_carts(guest_cart_id, user_id).await?
        };
        if holding && let Some(first) = report.cart.lines.first() {
            // Hold the merged cart (its quantities are already capped by what is available).
            self.rehold(&report.cart, &first.product_id, first.quantity).await?;
        }
        Ok(report)
    }

    /// With stock held from add-to-cart: holds the cart's lines as they will be once `product_id`
    /// has `quantity` units (0: removed), all or nothing, replacing the cart's holds, before the
    /// cart changes; a short line, or a line or cart growing past the hold limits, refuses the
    /// change. Does nothing otherwise.
    async fn rehold(&self, cart: &Cart, product_id: &str, quantity: i64) -> Result<(), CommerceError> {
        if !self.settings().hold_at_add_to_cart {
            return Ok(());
        }
        if !(0..=MAX_QUANTITY).contains(&quantity) {
            return Err(CommerceError::Invalid(format!("quantity must be between 1 and {MAX_QUANTITY}")));
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
        check_hold_limits(cart, product_id, quantity, &lines, self.settings().hold_limits)?;
        let holder = cart_holder(&cart.id);
        self.store.hold_replacing(&holder, &lines, self.settings().hold_ttl, Some(&holder)).await
    }

    /// Sets a SKU's stock (and price), creating the SKU if needed (then `price` is required), in
    /// one transaction: a refused change leaves nothing behind.
    ///
    /// # Errors
    /// [`CommerceError::InvalidAmount`] for stock outside `0..=`[`MAX_STOCK`] or a price that is
    /// not a positive amount exact in the currency's minor unit; [`CommerceError::AmountTooLarge`]
    /// above the shop's ceiling ([`CheckoutSettings::max_price`], at most
    /// [`MAX_AMOUNT_MINOR_UNITS`]); [`CommerceError::InvalidCurrency`] for a code that is not
    /// ISO 4217 or not the SKU's; [`CommerceError::Invalid`] for a new SKU without a price; those
    /// of [`Store::set_stock`].
    pub async fn put_stock(&self, product_id: &str, update: StockUpdate) -> Result<Sku, CommerceError> {
        if !(0..=MAX_STOCK).contains(&update.on_hand) {
            return Err(CommerceError::InvalidAmount(format!("`on_hand` must be between 0 and {MAX_STOCK}")));
        }
        let asked = update.currency.as_deref().map(currency).transpose()?;
        let existing = self.store.sku(product_id).await?;
        let currency = match (&existing, asked) {
            (Some(sku), Some(asked)) if asked != sku.price.currency => {
                return Err(CommerceError::InvalidCurrency(format!(
                    "`{product_id}` is priced in {}, not {asked}",
                    sku.price.currency
                )));
            }
            (Some(sku), _) => sku.price.currency,
            (None, asked) => asked.unwrap_or(DEFAULT_CURRENCY),
        };
        let price = update.price.map(|price| amount("price", price, currency, Sign::Positive)).transpose()?;
        if let (Some(price), Some(most)) = (price, self.settings().max_price)
            && price.to_decimal() > most
        {
            return Err(CommerceError::AmountTooLarge(format!(
                "`price` is at most {most} {currency} in this shop (--commerce-max-price), got {price}"
            )));
        }
        if existing.is_none() && price.is_none() {
            return Err(CommerceError::Invalid("a new product needs a `price`".into()));
        }
        self.store.set_stock(product_id, update.on_hand, price).await
    }

    /// Creates or replaces the coupon `code` (its count of uses is kept).
    ///
    /// # Errors
    /// [`CommerceError::Invalid`] for terms with neither or both of `percent` and `amount`, a
    /// percent outside 1–100 or fewer than one use; [`CommerceError::InvalidAmount`] or
    /// [`CommerceError::AmountTooLarge`] for an amount or minimum that is not one; those of
    /// [`Store::put_coupon`].
    pub async fn define_coupon(&self, code: &str, terms: CouponTerms) -> Result<Coupon, CommerceError> {
        let discount = match (terms.percent, terms.amount) {
            (Some(percent), None) if (1..=100).contains(&percent) => CouponDiscount::Percent { percent },
            (Some(_), None) => return Err(CommerceError::Invalid("`percent` is between 1 and 100".into())),
            (None, Some(amount_off)) => CouponDiscount::Amount {
                amount_cents: amount("amount", amount_off, DEFAULT_CURRENCY, Sign::Positive)?.minor_units,
            },
            _ => return Err(CommerceError::Invalid("give either `percent` or `amount`".into())),
        };
        if terms.max_uses < 1 {
            return Err(CommerceError::Invalid("`max_uses` is at least 1".into()));
        }
        let min_subtotal = amount("min_subtotal", terms.min_subtotal, DEFAULT_CURRENCY, Sign::ZeroOrMore)?;
        self.store.put_coupon(code, discount, min_subtotal.minor_units, terms.max_uses).await
    }

    /// Runs a checkout to its end (or to where it waits for the shopper's authentication) and
    /// returns it when it made an order or waits. The saga runs in its own task: the caller
    /// waits for it, but a caller that goes away (a client hang-up, a request timeout) does not
    /// stop it.
    ///
    /// # Errors
    /// [`CommerceError::CheckoutFailed`] (typed: a short stock, a declined card, …) when it made
    /// none; those of [`Checkout::run`].
    pub async fn place_order(&self, request: &CheckoutRequest) -> Result<CheckoutOutcome, CommerceError> {
        let checkout = self.checkout.clone();
        let request = request.clone();
        let saga = tokio::spawn(async move { checkout.run(&request).await });
        saga.await.map_err(|error| CommerceError::Invalid(format!("the checkout task failed: {error}")))??.placed()
    }

    /// Goes on with a checkout that waited for the shopper's authentication (3-D Secure) or the
    /// provider, in its own task as [`Shop::place_order`].
    ///
    /// # Errors
    /// [`CommerceError::CheckoutFailed`] when it ended without an order; those of
    /// [`Checkout::confirm`].
    pub async fn confirm_checkout(&self, checkout_id: &str) -> Result<CheckoutOutcome, CommerceError> {
        let checkout = self.checkout.clone();
        let id = checkout_id.to_owned();
        let saga = tokio::spawn(async move { checkout.confirm(&id).await });
        saga.await.map_err(|error| CommerceError::Invalid(format!("the checkout task failed: {error}")))??.placed()
    }

    /// The order `order_id`.
    ///
    /// # Errors
    /// [`CommerceError::OrderNotFound`], a query failure.
    pub async fn order(&self, order_id: &str) -> Result<Order, CommerceError> {
        self.checkout.existing_order(order_id).await
    }

    /// Refunds `amount_cents` of a captured order, or all that is left of it.
    ///
    /// # Errors
    /// [`CommerceError::OrderNotFound`], those of [`Checkout::refund`].
    pub async fn refund(&self, order_id: &str, amount_cents: Option<i64>) -> Result<Order, CommerceError> {
        self.checkout.refund(order_id, amount_cents).await
    }
}

/// Refuses a change that makes `cart`'s line of `product_id` (now `quantity` units) or the whole
/// cart (now `lines`) hold more than `limits` allow. Only growth is refused: a cart already past
/// a limit (the limits were lowered) may always shrink.
fn check_hold_limits(
    cart: &Cart,
    product_id: &str,
    quantity: i64,
    lines: &[StockLine],
    limits: HoldLimits,
) -> Result<(), CommerceError> {
    let line_now = cart.lines.iter().find(|line| line.product_id == product_id).map_or(0, |line| line.quantity);
    if quantity > limits.per_line && quantity > line_now {
        let scope = HoldScope::Line { product_id: product_id.to_owned() };
        return Err(CommerceError::HoldLimitExceeded { scope, requested: quantity, limit: limits.per_line });
    }
    let cart_now: i64 = cart.lines.iter().map(|line| line.quantity).sum();
    let cart_then: i64 = lines.iter().map(|line| line.quantity).sum();
    if cart_then > limits.per_cart && cart_then > cart_now {
        return Err(CommerceError::HoldLimitExceeded {
            scope: HoldScope::Cart,
            requested: cart_then,
            limit: limits.per_cart,
        });
    }
    Ok(())
}

/// Whether an amount may be zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sign {
    Positive,
    ZeroOrMore,
}

/// An ISO 4217 code in use.
fn currency(code: &str) -> Result<Currency, CommerceError> {
    Currency::new(code).map_err(|error| CommerceError::InvalidCurrency(error.to_string()))
}

/// `value` (major units) as [`Money`] in `currency`: a number, exact in the currency's minor unit
/// (`0.004` GBP is refused, not rounded to nothing), positive (or zero, as `sign` says), at
/// most [`MAX_AMOUNT_MINOR_UNITS`].
fn amount(field: &str, value: f64, currency: Currency, sign: Sign) -> Result<Money, CommerceError> {
    let too_large = || {
        let most = Money::from_minor_units(MAX_AMOUNT_MINOR_UNITS, currency);
        CommerceError::AmountTooLarge(format!("`{field}` is at most {most}, got {value}"))
    };
    if value.is_finite() && value > 0.0 && value >= Money::MAX_MAJOR_UNITS {
        return Err(too_large());
    }
    let money = Money::from_decimal_exact(value, currency)
        .map_err(|error| CommerceError::InvalidAmount(format!("`{field}`: {error}")))?;
    match sign {
        Sign::Positive if money.minor_units <= 0 => {
            Err(CommerceError::InvalidAmount(format!("`{field}` must be more than 0, got {value}")))
        }
        Sign::ZeroOrMore if money.minor_units < 0 => {
            Err(CommerceError::InvalidAmount(format!("`{field}` must not be negative, got {value}")))
        }
        _ if money.minor_units > MAX_AMOUNT_MINOR_UNITS => Err(too_large()),
        _ => Ok(money),
    }
}

#[cfg(test)]
mod amount_tests {
    use super::*;

    #[test]
    fn amounts_are_positive_exact_and_bounded() {
        let gbp = |value| amount("price", value, Currency::GBP, Sign::Positive).map(|money| money.minor_units);
        assert_eq!(gbp(2.95).ok(), Some(295));
        assert_eq!(gbp(999_999.99).ok(), Some(MAX_AMOUNT_MINOR_UNITS));
        assert!(matches!(gbp(0.004), Err(CommerceError::InvalidAmount(_))));
        assert!(matches!(gbp(0.0), Err(CommerceError::InvalidAmount(_))));
        assert!(matches!(gbp(-1.0), Err(CommerceError::InvalidAmount(_))));
        assert!(matches!(gbp(f64::NAN), Err(CommerceError::InvalidAmount(_))));
        assert!(matches!(gbp(1_000_000.0), Err(CommerceError::AmountTooLarge(_))));
        assert!(matches!(gbp(1e300), Err(CommerceError::AmountTooLarge(_))));
        assert_eq!(amount("min", 0.0, Currency::GBP, Sign::ZeroOrMore).map(|money| money.minor_units).ok(), Some(0));
        assert!(matches!(currency("ZZZ"), Err(CommerceError::InvalidCurrency(_))));
    }
}
