//! The [`Analytics`] handle the server holds: searches logged without waiting, events stored
//! before the answer, reports read back.

use std::path::Path;
use std::sync::Arc;

use prometheus_client::registry::Registry;
use tokio::sync::{mpsc, oneshot};
use vitrine_models::IndexName;

use super::experiments::{Baselines, ExperimentData, OrderRow, StoredExperiment};
use super::report::{self, AnalyticsReport, ReportParams};
use super::store::{AnalyticsError, Database, Event, ExposureLog, SearchLog};
use super::writer::{Counters, QUEUE_CAPACITY, WriterCommand, write_searches};

/// The analytics database of one data directory. Cheap to clone; the clones share the database
/// and its writer, which stops once the last clone is dropped.
#[derive(Debug, Clone)]
pub struct Analytics {
    database: Arc<Database>,
    writer: mpsc::Sender<WriterCommand>,
    counters: Counters,
}

impl Analytics {
    /// Opens the database at `path` now, creating it (and its folder) if missing and bringing its
    /// schema up to date, so that a data directory that cannot hold it fails at start-up.
    ///
    /// # Panics
    ///
    /// Outside a Tokio runtime (the writer is a Tokio task).
    pub async fn open(path: &Path) -> Result<Self, AnalyticsError> {
        let analytics = Analytics::new(path);
        analytics.database.pool().await?;
        Ok(analytics)
    }

    /// The database at `path`, opened (and created) on first use, for callers that cannot wait;
    /// an error opening it is then returned by the first call that needs it.
    ///
    /// # Panics
    ///
    /// Outside a Tokio runtime (the writer is a Tokio task).
    pub fn new(path: &Path) -> Self {
        let database = Arc::new(Database::open_lazy(path));
        let (writer, commands) = mpsc::channel(QUEUE_CAPACITY);
        let counters = Counters::default();
        tokio::spawn(write_searches(database.clone(), commands, counters.clone()));
        Analytics { database, writer, counters }
    }

    /// Adds the analytics counters (searches logged, dropped because the queue was full, lost
    /// because a write failed) to `registry`.
    pub fn register_metrics(&self, registry: &mut Registry) {
        registry.register(
            "analytics_searches_logged",
            "Searches written to the analytics database",
            self.counters.logged.clone(),
        );
        registry.register(
            "analytics_searches_dropped",
            "Searches not logged because the analytics queue was full",
            self.counters.dropped.clone(),
        );
        registry.register(
            "analytics_searches_failed",
            "Searches not logged because writing them to the analytics database failed",
            self.counters.failed.clone(),
        );
    }

    /// Logs a search without waiting: the entry is queued for the writer, or dropped (and
    /// counted) if the queue is full.
    pub fn log_search(&self, entry: SearchLog) {
        if self.writer.try_send(WriterCommand::Log(Box::new(entry))).is_err() {
            self.counters.dropped.inc();
        }
    }

    /// Logs an answer served under an experiment without waiting, like [`Analytics::log_search`]
    /// (dropped and counted when the queue is full).
    pub fn log_exposure(&self, exposure: ExposureLog) {
        if self.writer.try_send(WriterCommand::Expose(Box::new(exposure))).is_err() {
            self.counters.dropped.inc();
        }
    }

    /// Stores a new running experiment; `false` when another already runs on its index and
    /// surface.
    pub async fn create_experiment(&self, experiment: &StoredExperiment) -> Result<bool, AnalyticsError> {
        self.database.insert_experiment(experiment).await
    }

    /// The experiments of `index`, newest first.
    pub async fn experiments(&self, index: &IndexName) -> Result<Vec<StoredExperiment>, AnalyticsError> {
        self.database.experiments(index).await
    }

    /// One experiment of `index`.
    pub async fn experiment(
        &self,
        index: &IndexName,
        id: uuid::Uuid,
    ) -> Result<Option<StoredExperiment>, AnalyticsError> {
        self.database.experiment(index, id).await
    }

    /// Every running experiment.
    pub async fn running_experiments(&self) -> Result<Vec<StoredExperiment>, AnalyticsError> {
        self.database.running_experiments().await
    }

    /// Stops a running experiment, or records its promoted variant (which stops it too);
    /// `false` when there was nothing to do (not running; already promoted).
    pub async fn stop_experiment(
        &self,
        id: uuid::Uuid,
        at: chrono::DateTime<chrono::Utc>,
        promoted: Option<&str>,
    ) -> Result<bool, AnalyticsError> {
        self.database.stop_experiment(id, at, promoted).await
    }

    /// `index`'s rates over the `days` before `until` (the priors of a new experiment).
    pub async fn baselines(
        &self,
        index: &IndexName,
        until: chrono::DateTime<chrono::Utc>,
        days: i64,
    ) -> Result<Baselines, AnalyticsError> {
        self.database.baselines(index, until - chrono::Duration::days(days), until).await
    }

    /// Records an order placed through the storefront's checkout (revenue per search).
    pub async fn record_order(&self, index: &IndexName, order: &OrderRow) -> Result<(), AnalyticsError> {
        self.database.insert_order(index, order).await
    }

    /// What the results of `experiment` are computed from, up to `until` (exposures written
    /// before the call first).
    pub async fn experiment_data(
        &self,
        experiment: &StoredExperiment,
        until: chrono::DateTime<chrono::Utc>,
    ) -> Result<ExperimentData, AnalyticsError> {
        self.flush().await;
        self.database.experiment_data(experiment, until).await
    }

    /// Returns once every search logged before the call is written (or its write has failed and
    /// been counted). For tests and graceful shutdown.
    pub async fn flush(&self) {
        let (done, written) = oneshot::channel();
        if self.writer.send(WriterCommand::Flush(done)).await.is_ok() {
            // An error means the writer stopped; there is nothing left to wait for.
            let _ = written.await;
        }
    }

    /// Stores shopper events in one transaction; returns how many.
    pub async fn record_events(&self, index: &IndexName, events: &[Event]) -> Result<u64, AnalyticsError> {
        self.database.insert_events(index, events).await
    }

    /// The report for `index` over the window of `params`.
    pub async fn report(&self, index: &IndexName, params: &ReportParams) -> Result<AnalyticsReport, AnalyticsError> {
        report::report(self.database.pool().await?, index, params).await
    }

    /// Past queries of `index` starting with `prefix` (normalized: see
    /// [`vitrine_query::query_prefix`]) that returned results, searched at least
    /// [`MIN_SEARCHES_TO_SUGGEST`](super::MIN_SEARCHES_TO_SUGGEST) times, most searched first; at
    /// most `limit`.
    pub async fn popular_queries(
        &self,
        index: &IndexName,
        prefix: &str,
        limit: u32,
    ) -> Result<Vec<String>, AnalyticsError> {
        report::popular_queries(self.database.pool().await?, index, prefix, limit).await
    }

    /// Removes every search and event of `index` (searches still queued are written first, so
    /// they are removed too).
    pub async fn delete_index(&self, index: &IndexName) -> Result<(), AnalyticsError> {
        self.flush().await;
        self.database.delete_index(index).await
    }
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroU32;

    use chrono::Utc;
    use uuid::Uuid;
    use vitrine_models::{InteractionKind, ProductId};

    use super::*;
    use crate::analytics::{TopQuery, ZeroResultQuery};

    fn index(name: &str) -> IndexName {
        IndexName::new(name).expect("valid index name")
    }

    fn search(index_name: &str, query: &str, result_count: u64, days_ago: i64) -> SearchLog {
        SearchLog {
            query_id: Uuid::now_v7(),
            index: index(index_name),
            query: query.to_owned(),
            filters: None,
            result_count,
            latency_ms: 1.5,
            user_id: None,
            at: Utc::now() - chrono::Duration::days(days_ago),
        }
    }

    fn event(kind: InteractionKind, query_id: Option<Uuid>) -> Event {
        Event {
            kind,
            product_id: ProductId::new("p-1").expect("valid product id"),
            query_id,
            user_id: None,
            session_id: None,
            position: NonZeroU32::new(1),
            at: Utc::now(),
        }
    }

    /// Logs each search and returns their query ids, in order.
    async fn log_all(analytics: &Analytics, searches: Vec<SearchLog>) -> Vec<Uuid> {
        let ids = searches.iter().map(|search| search.query_id).collect();
        for search in searches {
            analytics.log_search(search);
        }
        analytics.flush().await;
        ids
    }

    #[tokio::test]
    async fn report_counts_queries_zero_results_and_rates() {
        let folder = tempfile::tempdir().expect("temp dir");
        let path = folder.path().join("data").join("analytics.sqlite");
        let analytics = Analytics::open(&path).await.expect("open");
        let ids = log_all(
            &analytics,
            vec![
                search("shop", "Red Mug", 4, 0),
                search("shop", "red  mug", 4, 0),
                search("shop", " RED MUG ", 1, 0),
                search("shop", "candle", 5, 0),
                search("shop", "unicorn", 0, 0),
                search("shop", "Unicorn", 0, 0),
                search("shop", "mug", 3, 40),
                search("other", "red mug", 9, 0),
            ],
        )
        .await;
        let shop = index("shop");
        let events = [
            // Two clicks after the same search count as one clicked search.
            event(InteractionKind::Click, Some(ids[0])),
            event(InteractionKind::Click, Some(ids[0])),
            event(InteractionKind::Click, Some(ids[3])),
            event(InteractionKind::Purchase, Some(ids[1])),
            event(InteractionKind::View, None),
            // A click on a search that was never logged here: counted by kind, not in the rates.
            event(InteractionKind::Click, Some(Uuid::now_v7())),
            event(InteractionKind::Click, Some(ids[7])),
        ];
        assert_eq!(analytics.record_events(&shop, &events).await.expect("record"), 7);

        // The data survives closing and reopening the database.
        drop(analytics);
        let analytics = Analytics::open(&path).await.expect("reopen");
        let report = analytics.report(&shop, &ReportParams { days: None, limit: 10 }).await.expect("report");
        assert_eq!(report.total_searches, 7);
        assert_eq!(report.searches_with_results, 5);
        assert_eq!(report.searches_without_results, 2);
        assert_eq!(report.clicked_searches, 2);
        assert_eq!(report.converted_searches, 1);
        assert_eq!(report.click_through_rate, Some(2.0 / 5.0));
        assert_eq!(report.conversion_rate, Some(1.0 / 5.0));
        let kinds: Vec<(InteractionKind, u64)> = report.events.clone().into_iter().collect();
        assert_eq!(
            kinds,
            [
                (InteractionKind::View, 1),
                (InteractionKind::Click, 5),
                (InteractionKind::AddToCart, 0),
                (InteractionKind::Purchase, 1)
            ]
        );
        assert_eq!(
            report.top_queries,
            [
                TopQuery {
                    query: "red mug".into(),
                    count: 3,
                    average_result_count: 3.0,
                    clicked_searches: 1,
                    click_through_rate: Some(1.0 / 3.0),
                },
                TopQuery {
                    query: "unicorn".into(),
                    count: 2,
                    average_result_count: 0.0,
                    clicked_searches: 0,
                    click_through_rate: None,
                },
                TopQuery {
                    query: "candle".into(),
                    count: 1,
                    average_result_count: 5.0,
                    clicked_searches: 1,
                    click_through_rate: Some(1.0),
                },
                TopQuery {
                    query: "mug".into(),
                    count: 1,
                    average_result_count: 3.0,
                    clicked_searches: 0,
                    click_through_rate: Some(0.0),
                },
            ]
        );
        assert_eq!(report.zero_result_queries, [ZeroResultQuery { query: "unicorn".into(), count: 2 }]);

        // The last 30 days leave out the 40-day-old search; lists are cut at the limit.
        let recent = analytics.report(&shop, &ReportParams { days: Some(30), limit: 1 }).await.expect("report");
        assert_eq!(recent.total_searches, 6);
        assert_eq!(recent.searches_with_results, 4);
        assert_eq!(recent.click_through_rate, Some(2.0 / 4.0));
        assert_eq!(recent.top_queries.len(), 1);
        assert_eq!(recent.top_queries[0].query, "red mug");

        let empty = analytics.report(&index("nothing"), &ReportParams { days: None, limit: 10 }).await.expect("report");
        assert_eq!(empty.total_searches, 0);
        assert_eq!(empty.click_through_rate, None);
        assert!(empty.top_queries.is_empty());
        assert!(empty.events.values().all(|count| *count == 0));
    }

    #[tokio::test]
    async fn popular_queries_start_with_the_prefix_had_results_and_were_searched_often() {
        let folder = tempfile::tempdir().expect("temp dir");
        let analytics = Analytics::open(&folder.path().join("analytics.sqlite")).await.expect("open");
        let mut searches = Vec::new();
        for (query, times, results) in [
            ("red mug", 3, 2),
            ("Red Candle", 2, 1),
            ("redwood", 2, 1),
            ("red lamp", 1, 4),
            ("red sofa", 4, 0),
            ("blue mug", 5, 3),
        ] {
            for _ in 0..times {
                searches.push(search("shop", query, results, 0));
            }
        }
        searches.push(search("other", "red chair", 1, 0));
        searches.push(search("other", "red chair", 1, 0));
        log_all(&analytics, searches).await;

        let shop = index("shop");
        let popular = |prefix: &'static str, limit| {
            let analytics = analytics.clone();
            let shop = shop.clone();
            async move { analytics.popular_queries(&shop, prefix, limit).await.expect("popular queries") }
        };
        assert_eq!(popular("red ", 5).await, ["red mug", "red candle"]);
        assert_eq!(popular("red", 5).await, ["red mug", "red candle", "redwood"]);
        assert_eq!(popular("red", 1).await, ["red mug"]);
        assert_eq!(popular("b", 5).await, ["blue mug"]);
        assert!(popular("green", 5).await.is_empty());
    }

    #[tokio::test]
    async fn deleting_an_index_removes_its_searches_and_events_only() {
        let folder = tempfile::tempdir().expect("temp dir");
        let analytics = Analytics::open(&folder.path().join("analytics.sqlite")).await.expect("open");
        let (shop, other) = (index("shop"), index("other"));
        // Not flushed: delete_index writes queued searches first, then removes them.
        analytics.log_search(search("shop", "mug", 1, 0));
        analytics.log_search(search("other", "mug", 1, 0));
        analytics.record_events(&shop, &[event(InteractionKind::View, None)]).await.expect("record");
        analytics.delete_index(&shop).await.expect("delete");

        let all_time = ReportParams { days: None, limit: 10 };
        let report = analytics.report(&shop, &all_time).await.expect("report");
        assert_eq!(report.total_searches, 0);
        assert_eq!(report.events[&InteractionKind::View], 0);
        assert_eq!(analytics.report(&other, &all_time).await.expect("report").total_searches, 1);
    }

    #[tokio::test]
    async fn baselines_are_the_shares_of_recent_searches_with_each_outcome() {
        let folder = tempfile::tempdir().expect("temp dir");
        let analytics = Analytics::open(&folder.path().join("analytics.sqlite")).await.expect("open");
        let mut searches: Vec<SearchLog> = (0..8).map(|_| search("shop", "mug", 3, 1)).collect();
        searches.push(search("shop", "mug", 3, 45)); // outside the window
        searches.push(search("other", "mug", 3, 1)); // another index
        let ids = log_all(&analytics, searches).await;
        let shop = index("shop");
        let events = [
            event(InteractionKind::Click, Some(ids[0])),
            event(InteractionKind::Click, Some(ids[0])), // one answer, clicked twice
            event(InteractionKind::Click, Some(ids[1])),
            event(InteractionKind::AddToCart, Some(ids[1])),
            event(InteractionKind::Purchase, Some(ids[2])),
            event(InteractionKind::Click, Some(ids[8])), // its search is older than the window
            event(InteractionKind::View, Some(ids[3])),
        ];
        analytics.record_events(&shop, &events).await.expect("record");
        let baselines = analytics.baselines(&shop, Utc::now(), 30).await.expect("baselines");
        assert_eq!(baselines.searches, 8);
        assert_eq!(baselines.rates, [2.0 / 8.0, 1.0 / 8.0, 1.0 / 8.0]);
        assert_eq!(baselines.revenue_per_search, 0.0);
    }

    #[tokio::test]
    async fn logged_searches_are_counted_in_the_metrics() {
        let folder = tempfile::tempdir().expect("temp dir");
        let analytics = Analytics::open(&folder.path().join("analytics.sqlite")).await.expect("open");
        let mut registry = Registry::default();
        analytics.register_metrics(&mut registry);
        log_all(&analytics, vec![search("shop", "mug", 1, 0), search("shop", "cup", 0, 0)]).await;
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).expect("encode");
        assert!(text.contains("analytics_searches_logged_total 2"), "{text}");
        assert!(text.contains("analytics_searches_dropped_total 0"), "{text}");
    }
}
