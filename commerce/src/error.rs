//! The one error type of the commerce crate.

/// What can go wrong in carts, inventory, checkout and orders.
#[derive(Debug, thiserror::Error)]
pub enum CommerceError {
    /// Not enough units are available for a line (on hand minus active holds).
    #[error("only {available} of `{product_id}` available, {requested} requested")]
    OutOfStock {
        /// The product.
        product_id: String,
        /// Units asked for.
        requested: i64,
        /// Units available when asked.
        available: i64,
    },
    /// The product is not sold (commerce has no SKU for it).
    #[error("product `{0}` is not for sale")]
    UnknownProduct(String),
    /// No cart with this id (or it is not the caller's).
    #[error("cart `{0}` not found")]
    CartNotFound(String),
    /// The cart was merged or ordered and takes no more changes.
    #[error("cart `{0}` is closed")]
    CartClosed(String),
    /// No order with this id.
    #[error("order `{0}` not found")]
    OrderNotFound(String),
    /// The order cannot do that in its state.
    #[error("{0}")]
    OrderState(String),
    /// A checkout of this cart is already in flight.
    #[error("a checkout of cart `{0}` is already in progress")]
    CheckoutInProgress(String),
    /// The payment gateway failed where the saga could not go on (a void that failed, …).
    #[error("payment gateway: {0}")]
    Payment(String),
    /// A quantity, price or stock figure out of range.
    #[error("{0}")]
    Invalid(String),
    /// The database URL names no supported backend.
    #[error("unsupported database URL `{0}`: use sqlite:PATH or postgres://…")]
    UnsupportedDatabase(String),
    /// A query failed, or the database could not be reached.
    #[error("commerce database: {0}")]
    Database(#[from] sqlx::Error),
    /// The schema could not be brought up to date.
    #[error("commerce database migration: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    /// A stored document could not be encoded or decoded.
    #[error("commerce data: {0}")]
    Json(#[from] serde_json::Error),
}
