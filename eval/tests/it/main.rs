//! The integration tests of `vitrine-eval`, one test binary (one link instead of one per file).

mod recs_protocol;
mod search_pipeline;
