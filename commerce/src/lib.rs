//! Commerce for Vitrine: the stock that never oversells, carts, checkout, payments and orders.
//!
//! - [`Store`]: the database, SQLite (embedded) or PostgreSQL, one repository layer for both;
//! - inventory ([`Sku`], holds, sales; `inventory.rs`): conditional atomic updates only;
//! - carts ([`Cart`]): guest and shopper carts, atomic merge on login with stock caps reported;
//! - pricing ([`price`]): a pure function of lines, promotions, shipping and tax; coupons
//!   ([`Coupon`]) with usage limits that hold under concurrency;
//! - payments ([`PaymentProvider`], [`SimulatedGateway`] with Stripe's test cards);
//! - checkout ([`Checkout`]): a persisted saga with compensation, recovery and reconciliation;
//! - orders ([`Order`]): appended events, the status derived from them;
//! - idempotency keys ([`IdempotencyStart`]): Stripe's replay semantics;
//! - the outbox ([`OutboxEvent`]): events written in the transaction of their change.
//!
//! Invariant: commerce never trusts a price or a stock figure from a client or a search hit; it
//! re-reads them from its own tables.

mod cart;
mod checkout;
mod coupons;
mod error;
mod idempotency;
mod inventory;
mod orders;
mod outbox;
mod payments;
mod pricing;
mod store;

pub use cart::{Adjustment, Cart, CartLine, MAX_QUANTITY, MergeReport};
pub use checkout::{Checkout, CheckoutOutcome, CheckoutRequest, CheckoutSettings, CheckoutState, RecoveryReport};
pub use coupons::{Coupon, CouponDiscount};
pub use error::CommerceError;
pub use idempotency::{IN_FLIGHT_TIMEOUT_MS, IdempotencyStart, KEY_RETENTION_MS};
pub use inventory::{Sku, StockLine, cart_holder};
pub use orders::{Order, OrderEvent, OrderStatus, derive_status};
pub use outbox::{ORDERS_TOPIC, OutboxEvent, PRODUCTS_TOPIC};
pub use payments::{
    Authorization, AuthorizeRequest, GatewaySettings, PaymentError, PaymentProvider, PaymentStatus, SimulatedGateway,
};
pub use pricing::{Discount, LineTotal, PricedLine, Promotion, ShippingRule, TaxRule, Totals, price};
pub use store::{Backend, Store};
