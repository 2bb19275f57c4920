//! Search relevance: how well an engine ranks products for real queries with human judgments.
//!
//! The protocol (from the Home Depot dataset's README):
//!
//! 1. index every product title as the catalogue ([`HomeDepot::products`]);
//! 2. send every judged query ([`HomeDepot::queries`]) to the engine through [`SearchBackend`],
//!    as typed and again with one injected typo per query ([`QueryVariant`], [`inject_typo`]);
//! 3. score the top [`DEFAULT_CUTOFF`] results with [`ndcg_at`] (gain = relevance − 1, unjudged
//!    products gain 0), [`mrr_at`] and [`recall_at`] (relevant = relevance ≥
//!    [`DEFAULT_RELEVANCE_THRESHOLD`]) and [`is_zero_result`];
//! 4. average per metric over the queries where it is defined ([`RelevanceReport`]).
//!
//! [`evaluate`] does steps 2–4 in parallel; it knows nothing of any engine. A draft of an index's
//! settings is compared with its live settings by [`compare_draft`] (console and CLI alike).

mod dataset;
mod draft;
mod engines;
mod evaluate;
mod metrics;
mod significance;
mod typo;

pub use dataset::{HomeDepot, JUDGMENTS_FILE, JudgedQuery, PRODUCTS_FILE, parse_judgments_csv, read_judgments_csv};
pub use draft::{ChangedQuery, DraftComparison, compare_draft, draft_settings};
pub use engines::{PlainBm25, VitrineSearch};
pub use evaluate::{MetricMean, QueryResult, QueryVariant, RelevanceReport, SearchBackend, evaluate};
pub use metrics::{
    DEFAULT_CUTOFF, DEFAULT_RELEVANCE_THRESHOLD, GainMap, dcg_at, gain, ideal_dcg_at, is_zero_result, mrr_at, ndcg_at,
    recall_at,
};
pub use significance::{ComparisonRow, DEFAULT_ROUNDS, PairedTest, compare_reports, paired_randomization_test};
pub use typo::{MIN_TYPO_WORD_LETTERS, inject_typo};
