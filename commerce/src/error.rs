//! The one error type of the commerce crate, and the typed reason a checkout made no order.

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
    /// With stock held from add-to-cart, the change would make the cart hold more than the
    /// shop's [`HoldLimits`](crate::HoldLimits) allow (the cart is unchanged).
    #[error("a cart may hold at most {limit} units {scope}; the change asks for {requested}")]
    HoldLimitExceeded {
        /// Which limit: one product's line, or the whole cart.
        scope: HoldScope,
        /// Units the cart would hold.
        requested: i64,
        /// The limit.
        limit: i64,
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
    /// Another change of the order (one calling the payment provider) is under way: retry.
    #[error("order {0} is being changed by another request; retry")]
    OrderBusy(String),
    /// No checkout with this id.
    #[error("checkout `{0}` not found")]
    CheckoutNotFound(String),
    /// A checkout step found the checkout already moved on by another actor (a webhook, the
    /// background sweep): the step is not taken, and the checkout answers where it stands.
    #[error("{0}")]
    Moved(String),
    /// The checkout ran and ended without an order (a short stock, a declined card, …).
    #[error("checkout {checkout_id} ended {state}: {failure}")]
    CheckoutFailed {
        /// The checkout's id.
        checkout_id: String,
        /// The state it ended in (`compensated`, `failed`).
        state: &'static str,
        /// Why.
        failure: CheckoutFailure,
    },
    /// A checkout of this cart is already in flight.
    #[error("a checkout of cart `{0}` is already in progress")]
    CheckoutInProgress(String),
    /// The payment gateway failed where the saga could not go on (a void that failed, …).
    #[error("payment gateway: {0}")]
    Payment(String),
    /// A quantity, price or stock figure out of range.
    #[error("{0}")]
    Invalid(String),
    /// A money amount or stock figure that is not what the shop takes: not a number, negative or
    /// zero where it must be positive, or finer than the currency's minor unit (`0.004` GBP).
    #[error("{0}")]
    InvalidAmount(String),
    /// A currency that is not an ISO 4217 code in use, or not the product's.
    #[error("{0}")]
    InvalidCurrency(String),
    /// An amount above what the shop takes: a price or a checkout total above
    /// [`MAX_AMOUNT_MINOR_UNITS`](crate::MAX_AMOUNT_MINOR_UNITS), the payment providers' limit.
    #[error("{0}")]
    AmountTooLarge(String),
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

/// Which hold limit a change would exceed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HoldScope {
    /// The units of one product.
    Line {
        /// The product.
        product_id: String,
    },
    /// The units of the whole cart.
    Cart,
}

impl std::fmt::Display for HoldScope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HoldScope::Line { product_id } => write!(f, "of `{product_id}`"),
            HoldScope::Cart => f.write_str("in total"),
        }
    }
}

/// Why a checkout ended without an order: the `failure` code it stores and reports, typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckoutFailure {
    /// Not enough stock: `out_of_stock:PRODUCT` when the stock could not be held,
    /// `out_of_stock` when the holds had expired and the units were gone at the sale.
    OutOfStock {
        /// The product short of stock, when known.
        product_id: Option<String>,
    },
    /// The cart's coupon had no use left (`coupon_exhausted`).
    CouponExhausted,
    /// The payment gateway failed (`payment_error`); nothing was charged.
    PaymentError,
    /// The payment gateway did not answer in time and holds nothing (`payment_timeout`).
    PaymentTimeout,
    /// A checkout a crash interrupted, undone by recovery (`interrupted`).
    Interrupted,
    /// The shopper never finished authenticating the payment (3-D Secure) in time
    /// (`authentication_abandoned`).
    AuthenticationAbandoned,
    /// The card was declined, with the gateway's code (`card_declined`, `insufficient_funds`, …).
    Declined(String),
}

impl CheckoutFailure {
    /// The failure a stored code names (an unknown code is a decline with that code).
    pub fn from_code(code: &str) -> CheckoutFailure {
        match code {
            "out_of_stock" => CheckoutFailure::OutOfStock { product_id: None },
            "coupon_exhausted" => CheckoutFailure::CouponExhausted,
            "payment_error" => CheckoutFailure::PaymentError,
            "payment_timeout" => CheckoutFailure::PaymentTimeout,
            "interrupted" => CheckoutFailure::Interrupted,
            "authentication_abandoned" => CheckoutFailure::AuthenticationAbandoned,
            other => match other.strip_prefix("out_of_stock:") {
                Some(product_id) => CheckoutFailure::OutOfStock { product_id: Some(product_id.to_owned()) },
                None => CheckoutFailure::Declined(other.to_owned()),
            },
        }
    }
}

impl std::fmt::Display for CheckoutFailure {
    /// The stored code.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CheckoutFailure::OutOfStock { product_id: None } => f.write_str("out_of_stock"),
            CheckoutFailure::OutOfStock { product_id: Some(product_id) } => write!(f, "out_of_stock:{product_id}"),
            CheckoutFailure::CouponExhausted => f.write_str("coupon_exhausted"),
            CheckoutFailure::PaymentError => f.write_str("payment_error"),
            CheckoutFailure::PaymentTimeout => f.write_str("payment_timeout"),
            CheckoutFailure::Interrupted => f.write_str("interrupted"),
            CheckoutFailure::AuthenticationAbandoned => f.write_str("authentication_abandoned"),
            CheckoutFailure::Declined(code) => f.write_str(code),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_code_reads_back_as_itself() {
        for code in [
            "out_of_stock",
            "out_of_stock:85123A",
            "coupon_exhausted",
            "payment_error",
            "payment_timeout",
            "interrupted",
            "authentication_abandoned",
            "card_declined",
            "insufficient_funds",
            "",
        ] {
            assert_eq!(CheckoutFailure::from_code(code).to_string(), code);
        }
        assert_eq!(
            CheckoutFailure::from_code("out_of_stock:mug"),
            CheckoutFailure::OutOfStock { product_id: Some("mug".into()) }
        );
        assert_eq!(CheckoutFailure::from_code("card_declined"), CheckoutFailure::Declined("card_declined".into()));
    }
}
