//! The integration tests of `vitrine-pipelines`, one test binary (one link instead of one per file).
//! Fixtures stay in `tests/fixtures/` (see `common::fixture`).

mod common;

mod content;
mod grocery_loader;
mod interaction_log;
mod luma_loader;
mod retail_loader;
mod training;
