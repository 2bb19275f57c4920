//! Carts, checkout and orders over HTTP — the commerce crate's [`Shop`](vitrine_commerce::Shop)
//! behind the routes; the database (`--commerce-db`, SQLite in the data directory by default)
//! opens on first use, recovering the checkouts a previous process left in flight.
//!
//! - [`carts`]: `POST /v1/carts` (→ the cart with its `token`), `GET /v1/carts/{id}`,
//!   `POST /v1/carts/{id}/items`, `PATCH|DELETE /v1/carts/{id}/items/{product_id}`,
//!   `POST /v1/carts/{id}/merge`, `PUT|DELETE /v1/carts/{id}/coupon`. Every call on a cart
//!   carries its token in `X-Cart-Token`.
//! - [`checkout`]: `POST /v1/checkout`.
//! - [`orders`]: `GET /v1/orders/{id}`, `POST /v1/orders/{id}/refunds`, `POST /v1/orders/{id}/returns`.
//! - [`admin`] (admin key): `PUT /v1/admin/stock/{product_id}`, `PUT /v1/admin/coupons/{code}`,
//!   `POST /v1/admin/orders/{id}/capture`, `…/events` (`picked`, `shipped`, `delivered`), `…/cancel`.
//! - [`idempotency`]: every POST that creates an order or moves money honours `Idempotency-Key`
//!   with Stripe's semantics (the first answer replayed; 409 while it runs; 422 with other
//!   parameters), keys scoped by the caller's API key.

pub mod admin;
pub mod carts;
pub mod checkout;
mod idempotency;
pub mod orders;
