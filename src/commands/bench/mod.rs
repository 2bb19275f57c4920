//! `vitrine bench …`: speed, measured and printed (figures for the README), one module per
//! subcommand; `http_load` drives the HTTP ones.

pub(super) mod ann;
pub(super) mod checkout;
pub(super) mod experiments;
mod http_load;
pub(super) mod indexer;
pub(super) mod recs;
pub(super) mod scale;
pub(super) mod search;
pub(super) mod snapshot;
