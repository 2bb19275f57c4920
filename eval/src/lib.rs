//! Offline evaluation for Vitrine.
//!
//! - [`search`]: search relevance from human judgments — NDCG@10, MRR@10, Recall@10 and the
//!   zero-result rate, for queries as typed and with one injected typo — against any engine that
//!   implements [`search::SearchBackend`].
//!
//! Still to come: recommendation quality under a global temporal split with full-catalogue
//! ranking and baselines, with plotted reports. `vitrine eval` will drive both.

mod error;
pub mod search;

pub use error::EvalError;
