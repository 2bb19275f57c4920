//! Search analytics, stored locally in SQLite (`DATA_DIR/analytics.sqlite`, see
//! [`DataDir::analytics_db`](vitrine_models::DataDir::analytics_db)).
//!
//! Two tables (`migrations/analytics/`): `searches`, one row per search answered, and `events`,
//! what shoppers did afterwards (views, clicks, add-to-cart, purchases), pointing back to a search
//! by its `query_id` when the storefront knows it. Online experiments add three
//! (`experiments.rs`): their definitions, `exposures` (which shopper saw which variant of an
//! answer, by the answer's `query_id`) and the storefront's `orders` (for revenue per search).
//!
//! - Searches are logged without slowing them down: [`Analytics::log_search`] hands the entry to
//!   a bounded channel and returns; a background writer inserts them in batches (one transaction
//!   per batch, at most [`MAX_BATCH`] rows or [`BATCH_WINDOW`] after the first one). When the
//!   channel is full the entry is dropped and counted (`vitrine_analytics_searches_dropped_total`),
//!   never waited for. [`Analytics::flush`] waits until everything logged so far is written.
//! - Events are written before [`Analytics::record_events`] returns: the storefront's request is
//!   answered only once they are stored.
//! - [`Analytics::report`] aggregates in SQL: top queries, queries without results, click-through
//!   and conversion rates, events by kind.
//!
//! **Click-through rate** = searches that got at least one `click` event (by `query_id`) ÷ searches
//! that returned at least one result. **Conversion rate** is the same with `add_to_cart` or
//! `purchase` events in place of clicks. Several clicks after one search count once; events for
//! a `query_id` that was never logged (or belongs to another index) are counted by kind but not in
//! the rates. A rate with nothing to divide by (no search with results) is `None` (JSON `null`).

mod backup;
mod experiments;
mod handle;
mod report;
mod store;
mod writer;

pub use backup::{AnalyticsSummary, backup as backup_database, summarise as summarise_database};
pub use experiments::{
    Baselines, ExperimentData, ExperimentStatus, ExposureRow, OrderRow, OutcomeRow, StoredExperiment,
};
pub use handle::Analytics;
pub use report::{AnalyticsReport, MIN_SEARCHES_TO_SUGGEST, ReportParams, TopQuery, ZeroResultQuery};
pub use store::{AnalyticsError, Event, ExposureLog, SearchLog};
pub use writer::{BATCH_WINDOW, MAX_BATCH, QUEUE_CAPACITY};
