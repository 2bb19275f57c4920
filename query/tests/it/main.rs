//! The integration tests of `vitrine-query`, one test binary (one link instead of one per file).

mod allowed;
mod decoders;
mod facet_values;
mod languages;
mod limits;
mod merchandising;
mod search;
mod variants;
