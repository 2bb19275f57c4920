//! The descriptions of the request headers the commerce routes read, for their OpenAPI
//! parameters (`("X-Cart-Token" = Option<String>, Header, description = CART_TOKEN)` in a
//! handler's `#[utoipa::path]`).

/// `X-Cart-Token`.
pub const CART_TOKEN: &str = "The secret of the cart (answered as `token` by `POST /v1/carts`); not needed with the \
                              cart owner's shopper token, or a key that may act for users.";

/// `X-Order-Token`.
pub const ORDER_TOKEN: &str = "The secret of the order (answered as `order_token` by checkout); not needed with the \
                               order owner's shopper token, or an `orders.admin` key.";

/// `Idempotency-Key`.
pub const IDEMPOTENCY_KEY: &str = "Runs the request once per key: 1–255 printable ASCII characters. The first \
                                   answer of a request that ran is stored for 24 hours and replayed \
                                   (`Idempotent-Replayed: true`); the same key with other parameters is refused \
                                   (`422`); a retry while the first request runs waits for it, then gets `409`.";
