//! The integration tests of `vitrine-recommender`, one test binary (one link instead of one per file).

mod algorithms;
mod ann;
