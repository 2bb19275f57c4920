//! Commerce for Vitrine: the stock that never oversells, carts, checkout, payments and orders.
//!
//! - [`Store`]: the database, SQLite (embedded) or PostgreSQL, one repository layer for both;
//! - inventory ([`Sku`], holds, sales; `inventory.rs`): conditional atomic updates only;
//! - carts ([`Cart`]): guest and shopper carts, atomic merge on login with stock caps reported;
//! - pricing ([`price`]): a pure function of lines, promotions, shipping and tax; coupons
//!   ([`Coupon`]) with usage limits that hold under concurrency;
//! - payments ([`PaymentProvider`], [`SimulatedGateway`] with Stripe's test payment methods): no card
//!   data ever reaches the shop; provider events arrive by signed webhook, applied once;
//! - checkout ([`Checkout`]): a persisted saga with compensation, recovery and reconciliation;
//! - orders ([`Order`]): appended events, the status derived from them; every change one
//!   compare-and-set on the order's version;
//! - idempotency keys ([`IdempotencyStart`]): Stripe's replay semantics;
//! - the outbox ([`OutboxEvent`]): events written in the transaction of their change;
//! - the shop a server runs ([`Shop`], opened once through [`CommerceHandle`]): recovery at
//!   opening, housekeeping in the background, and the rules spanning the parts above — a cart's
//!   quote ([`CartQuote`], the one pricing path of cart views and checkout), stock held from
//!   add-to-cart within [`HoldLimits`], a checkout without an order as a typed error
//!   ([`CheckoutFailure`]).
//!
//! Prices cross the crate's boundary as [`Money`](vitrine_models::Money) (SKUs) or as major-unit
//! decimals converted by it once (an operator's stock and coupon figures); inside, amounts are
//! integer minor units (`*_cents`).
//!
//! Invariant: commerce never trusts a price or a stock figure from a client or a search hit; it
//! re-reads them from its own tables.

mod backup;
mod cart;
mod checkout;
mod coupons;
mod database_url;
mod error;
mod fulfilment;
mod idempotency;
mod inventory;
mod orders;
mod outbox;
mod payments;
mod pricing;
mod quote;
mod shop;
mod store;
mod webhooks;

pub use backup::{CommerceSummary, backup_sqlite, summarise_sqlite};
pub use cart::{Adjustment, Cart, CartLine, MAX_QUANTITY, MergeReport};
pub use checkout::{
    Checkout, CheckoutOutcome, CheckoutRequest, CheckoutSettings, CheckoutState, HoldLimits, RecoveryReport,
};
pub use coupons::{Coupon, CouponDiscount};
pub use database_url::{DatabaseUrl, redact_password};
pub use error::{CheckoutFailure, CommerceError, HoldScope};
pub use fulfilment::{MAX_RETURN_REASON, ReturnItem, ReturnRequest};
pub use idempotency::{IN_FLIGHT_TIMEOUT_MS, IdempotencyStart, KEY_RETENTION_MS};
pub use inventory::{Sku, SkuSeed, StockLine, cart_holder};
pub use orders::{Derived, Order, OrderEvent, OrderStatus, derive_status};
pub use outbox::{ORDERS_TOPIC, OUTBOX_RETENTION_MS, OutboxEvent, PRODUCTS_TOPIC};
pub use payments::{
    Authorization, AuthorizeRequest, CardDetails, GatewaySettings, PaymentError, PaymentProvider, PaymentStatus,
    ProviderEvent, ProviderEventKind, Refund, SimulatedGateway,
};
pub use pricing::{
    Discount, LineTotal, MAX_AMOUNT_MINOR_UNITS, MAX_STOCK, PricedLine, Promotion, ShippingRule, TaxRule, Totals, price,
};
pub use quote::CartQuote;
pub use shop::{CommerceHandle, CouponTerms, DEFAULT_CURRENCY, Shop, StockUpdate};
pub use store::{Backend, Store};
pub use webhooks::{
    EventOutcome, SIGNATURE_TOLERANCE_SECONDS, SignatureError, sign as sign_webhook, verify as verify_webhook,
};
