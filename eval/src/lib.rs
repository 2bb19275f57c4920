//! Offline evaluation for Vitrine.
//!
//! - [`search`]: search relevance from human judgments — NDCG@10, MRR@10, Recall@10 and the
//!   zero-result rate, for queries as typed and with one injected typo — against any engine that
//!   implements [`search::SearchBackend`].
//! - [`recs`]: recommendation quality under a global temporal split with full-catalogue ranking —
//!   Recall, NDCG, MAP, HitRate, coverage, Gini, novelty — for popularity and the product's models
//!   (co-occurrence, iALS, EASE, content, the serving hybrid). `vitrine eval` drives both.
//! - [`report`]: both as self-contained HTML pages with plots.
//! - [`experiments`]: the statistics of online experiments — A/B tests and interleaving on counts per
//!   shopper identity (delta-method ratios, fixed-horizon and always-valid mSPRT tests, the
//!   sample-ratio check).

mod error;
pub mod experiments;
pub mod recs;
pub mod report;
pub mod scale;
pub mod search;

pub use error::EvalError;
