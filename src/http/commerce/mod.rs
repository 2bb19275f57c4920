//! Carts, checkout and orders over HTTP — the commerce crate's [`Shop`](vitrine_commerce::Shop)
//! behind the routes; the database (`--commerce-db`, SQLite in the data directory by default)
//! opens on first use, recovering the checkouts a previous process left in flight.
//!
//! - [`carts`]: `POST /v1/carts` (→ the cart with its `token`), `GET /v1/carts/{id}`,
//!   `POST /v1/carts/{id}/items`, `PATCH|DELETE /v1/carts/{id}/items/{product_id}`,
//!   `POST /v1/carts/{id}/merge`, `PUT|DELETE /v1/carts/{id}/coupon`. Every call on a cart
//!   carries its token in `X-Cart-Token`.
//! - [`checkout`]: `POST /v1/checkout` (a payment method token, never card data),
//!   `GET /v1/checkout/{id}`, `POST /v1/checkout/{id}/confirm` (after 3-D Secure).
//! - [`webhooks`]: `POST /v1/webhooks/payments/{provider}` (signed provider events, applied once)
//!   and the simulated provider's 3-D Secure page.
//! - [`orders`]: `GET /v1/orders/{id}`, `POST /v1/orders/{id}/refunds`, `POST /v1/orders/{id}/returns`.
//! - [`admin`] (admin key): `PUT /v1/admin/stock/{product_id}`, `PUT /v1/admin/coupons/{code}`,
//!   `POST /v1/admin/orders/{id}/capture`, `…/events` (`picked`, `shipped`, `delivered`), `…/cancel`.
//! - [`idempotency`]: every POST that creates an order or moves money honours `Idempotency-Key`
//!   with Stripe's semantics (the first answer replayed; 422 with other parameters; printable
//!   ASCII keys; scoped by the caller; fingerprints keyed and without payment fields).

pub mod admin;
pub mod carts;
pub mod checkout;
mod headers;
mod idempotency;
pub mod orders;
pub mod webhooks;
