//! The integration tests of `vitrine-commerce`, one test binary (one link instead of one per file).
//! The failure-injection tests are another binary, `tests/failpoints/` (feature `failpoints`):
//! failpoints are process-global.

mod common;
mod database_urls;

mod carts;
mod checkout;
mod inventory;
