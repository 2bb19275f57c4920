//! Search analytics, stored locally in SQLite (`DATA_DIR/analytics.sqlite`, see
//! [`DataDir::analytics_db`](vitrine_models::DataDir::analytics_db)).
//!
//! Two tables (`migrations/analytics/`): `searches`, one row per search answered, and `events`,
//! what shoppers did afterwards (views, clicks, add-to-cart, purchases), pointing back to a search
//! by its `query_id` when the storefront knows it.
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

use std::collections::BTreeMap;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::registry::Registry;
use serde::Serialize;
use serde_json::Value;
use sqlx::SqlitePool;
use sqlx::migrate::Migrator;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
use tokio::sync::{OnceCell, mpsc, oneshot};
use uuid::Uuid;
use vitrine_models::{IndexName, InteractionKind, ProductId, SessionId, UserId};

/// The schema, embedded in the binary and applied on open.
static MIGRATIONS: Migrator = sqlx::migrate!("migrations/analytics");

/// Searches waiting to be written; more are dropped (and counted) rather than waited for.
pub const QUEUE_CAPACITY: usize = 10_000;
/// The most searches written in one transaction.
pub const MAX_BATCH: usize = 500;
/// How long the writer gathers searches after the first one before writing them.
pub const BATCH_WINDOW: Duration = Duration::from_millis(100);
/// A past query is offered as a suggestion once it was searched this many times (with results),
/// so a query typed once by one shopper is not shown to everyone.
pub const MIN_SEARCHES_TO_SUGGEST: i64 = 2;

/// What can go wrong with the analytics database.
#[derive(Debug, thiserror::Error)]
pub enum AnalyticsError {
    /// The database's folder could not be created.
    #[error("cannot create the folder of {path}: {source}")]
    Folder {
        /// The database file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A query failed, or the database could not be opened.
    #[error("analytics database: {0}")]
    Database(#[from] sqlx::Error),
    /// The schema could not be brought up to date.
    #[error("analytics database migration: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
}

/// One search, as logged.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchLog {
    /// The id the search answered with; events point back to it.
    pub query_id: Uuid,
    /// The index searched.
    pub index: IndexName,
    /// The query as typed (stored normalized: see [`vitrine_query::normalize_query`]).
    pub query: String,
    /// The request's filter, if any.
    pub filters: Option<Value>,
    /// How many products matched in all.
    pub result_count: u64,
    /// Time spent in the engine, in milliseconds.
    pub latency_ms: f64,
    /// The signed-in shopper, if the storefront said.
    pub user_id: Option<UserId>,
    /// When the search was answered.
    pub at: DateTime<Utc>,
}

/// One shopper event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// What the shopper did.
    pub kind: InteractionKind,
    /// With which product.
    pub product_id: ProductId,
    /// The search it followed, if the storefront knows it.
    pub query_id: Option<Uuid>,
    /// The signed-in shopper.
    pub user_id: Option<UserId>,
    /// The anonymous shopper's session.
    pub session_id: Option<SessionId>,
    /// The product's 1-based position in the results it was picked from.
    pub position: Option<NonZeroU32>,
    /// When it happened.
    pub at: DateTime<Utc>,
}

/// Which searches a report covers, and how long its lists are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportParams {
    /// Only the last `days` days (searches by their time, events by theirs); `None` is all time.
    pub days: Option<u32>,
    /// The most entries in each list (top queries, queries without results).
    pub limit: u32,
}

/// An index's search analytics. Rates are defined in the [module documentation](self).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AnalyticsReport {
    /// The window in days, `None` for all time.
    pub days: Option<u32>,
    /// Searches answered.
    pub total_searches: u64,
    /// Searches that returned at least one result.
    pub searches_with_results: u64,
    /// Searches that returned nothing.
    pub searches_without_results: u64,
    /// Searches with results that got at least one click.
    pub clicked_searches: u64,
    /// Searches with results that led to at least one add-to-cart or purchase.
    pub converted_searches: u64,
    /// `clicked_searches / searches_with_results`.
    pub click_through_rate: Option<f64>,
    /// `converted_searches / searches_with_results`.
    pub conversion_rate: Option<f64>,
    /// Events received, by kind (every kind present, zero included).
    pub events: BTreeMap<InteractionKind, u64>,
    /// The most frequent queries, most frequent first.
    pub top_queries: Vec<TopQuery>,
    /// The most frequent queries that returned nothing, most frequent first.
    pub zero_result_queries: Vec<ZeroResultQuery>,
}

/// One of the most frequent queries.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TopQuery {
    /// The normalized query.
    pub query: String,
    /// How many times it was searched.
    pub count: u64,
    /// The average number of results it returned.
    pub average_result_count: f64,
    /// Its searches with results that got at least one click.
    pub clicked_searches: u64,
    /// `clicked_searches` ÷ its searches with results; `None` if it never returned anything.
    pub click_through_rate: Option<f64>,
}

/// A query that returned nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ZeroResultQuery {
    /// The normalized query.
    pub query: String,
    /// How many times it was searched (and found nothing).
    pub count: u64,
}

/// The analytics database of one data directory. Cheap to clone; the clones share the database
/// and its writer, which stops once the last clone is dropped.
#[derive(Debug, Clone)]
pub struct Analytics {
    database: Arc<Database>,
    writer: mpsc::Sender<WriterCommand>,
    counters: Counters,
}

#[derive(Debug)]
struct Database {
    path: PathBuf,
    pool: SqlitePool,
    migrated: OnceCell<()>,
}

#[derive(Debug)]
enum WriterCommand {
    Log(Box<SearchLog>),
    Flush(oneshot::Sender<()>),
}

#[derive(Debug, Clone, Default)]
struct Counters {
    logged: Counter,
    dropped: Counter,
    failed: Counter,
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
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .busy_timeout(Duration::from_secs(5));
        // WAL: readers (reports, suggestions) never wait for the writer; SQLite writes one at a time.
        let pool = SqlitePoolOptions::new().max_connections(4).connect_lazy_with(options);
        let database = Arc::new(Database { path: path.to_owned(), pool, migrated: OnceCell::new() });
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
        let pool = self.database.pool().await?;
        let mut transaction = pool.begin().await?;
        for event in events {
            sqlx::query(
                "INSERT INTO events (index_name, kind, product_id, query_id, user_id, session_id, position, at_ms)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(index.as_str())
            .bind(event.kind.as_str())
            .bind(event.product_id.as_str())
            .bind(event.query_id.map(|id| id.to_string()))
            .bind(event.user_id.as_ref().map(UserId::as_str))
            .bind(event.session_id.as_ref().map(SessionId::as_str))
            .bind(event.position.map(|position| i64::from(position.get())))
            .bind(event.at.timestamp_millis())
            .execute(&mut *transaction)
            .await?;
        }
        transaction.commit().await?;
        Ok(events.len() as u64)
    }

    /// The report for `index` over the window of `params`.
    pub async fn report(&self, index: &IndexName, params: &ReportParams) -> Result<AnalyticsReport, AnalyticsError> {
        let pool = self.database.pool().await?;
        const MILLIS_PER_DAY: i64 = 24 * 60 * 60 * 1000;
        let since_ms =
            params.days.map_or(i64::MIN, |days| Utc::now().timestamp_millis() - i64::from(days) * MILLIS_PER_DAY);
        let limit = i64::from(params.limit);

        // A search counts as clicked (converted) when its id is among the ids of this index's
        // click (add-to-cart or purchase) events; `IN` counts each search once however many
        // events it got.
        let (total, without_results, clicked, converted): (i64, i64, i64, i64) = sqlx::query_as(
            "SELECT COUNT(*),
                    COALESCE(SUM(result_count = 0), 0),
                    COALESCE(SUM(result_count > 0 AND query_id IN (
                        SELECT query_id FROM events
                        WHERE index_name = ?1 AND kind = 'click' AND query_id IS NOT NULL)), 0),
                    COALESCE(SUM(result_count > 0 AND query_id IN (
                        SELECT query_id FROM events
                        WHERE index_name = ?1 AND kind IN ('add_to_cart', 'purchase') AND query_id IS NOT NULL)), 0)
             FROM searches
             WHERE index_name = ?1 AND at_ms >= ?2",
        )
        .bind(index.as_str())
        .bind(since_ms)
        .fetch_one(pool)
        .await?;

        let top: Vec<(String, i64, f64, i64, i64)> = sqlx::query_as(
            "SELECT query,
                    COUNT(*) AS searches,
                    AVG(result_count),
                    SUM(result_count > 0),
                    SUM(result_count > 0 AND query_id IN (
                        SELECT query_id FROM events
                        WHERE index_name = ?1 AND kind = 'click' AND query_id IS NOT NULL))
             FROM searches
             WHERE index_name = ?1 AND at_ms >= ?2
             GROUP BY query
             ORDER BY searches DESC, query
             LIMIT ?3",
        )
        .bind(index.as_str())
        .bind(since_ms)
        .bind(limit)
        .fetch_all(pool)
        .await?;

        let zero: Vec<(String, i64)> = sqlx::query_as(
            "SELECT query, COUNT(*) AS searches
             FROM searches
             WHERE index_name = ?1 AND at_ms >= ?2 AND result_count = 0
             GROUP BY query
             ORDER BY searches DESC, query
             LIMIT ?3",
        )
        .bind(index.as_str())
        .bind(since_ms)
        .bind(limit)
        .fetch_all(pool)
        .await?;

        let by_kind: Vec<(String, i64)> =
            sqlx::query_as("SELECT kind, COUNT(*) FROM events WHERE index_name = ?1 AND at_ms >= ?2 GROUP BY kind")
                .bind(index.as_str())
                .bind(since_ms)
                .fetch_all(pool)
                .await?;

        let mut events: BTreeMap<InteractionKind, u64> =
            InteractionKind::ALL.into_iter().map(|kind| (kind, 0)).collect();
        for (kind, count) in by_kind {
            // Only this module writes `kind`, always from an `InteractionKind`.
            if let Ok(kind) = kind.parse::<InteractionKind>() {
                events.insert(kind, count_of(count));
            }
        }
        let with_results = total - without_results;
        Ok(AnalyticsReport {
            days: params.days,
            total_searches: count_of(total),
            searches_with_results: count_of(with_results),
            searches_without_results: count_of(without_results),
            clicked_searches: count_of(clicked),
            converted_searches: count_of(converted),
            click_through_rate: rate(clicked, with_results),
            conversion_rate: rate(converted, with_results),
            events,
            top_queries: top
                .into_iter()
                .map(|(query, count, average_result_count, with_results, clicked)| TopQuery {
                    query,
                    count: count_of(count),
                    average_result_count,
                    clicked_searches: count_of(clicked),
                    click_through_rate: rate(clicked, with_results),
                })
                .collect(),
            zero_result_queries: zero
                .into_iter()
                .map(|(query, count)| ZeroResultQuery { query, count: count_of(count) })
                .collect(),
        })
    }

    /// Past queries of `index` starting with `prefix` (normalized: see
    /// [`vitrine_query::query_prefix`]) that returned results, searched at least
    /// [`MIN_SEARCHES_TO_SUGGEST`] times, most searched first; at most `limit`.
    pub async fn popular_queries(
        &self,
        index: &IndexName,
        prefix: &str,
        limit: u32,
    ) -> Result<Vec<String>, AnalyticsError> {
        let pool = self.database.pool().await?;
        // `query >= prefix AND query < prefix + U+10FFFF` is "starts with prefix" as a range on
        // the (index_name, query, result_count) index (text compares by code point); unlike
        // LIKE it needs no escaping and stays case-sensitive, as stored queries are lower-case.
        let upper = format!("{prefix}{}", char::MAX);
        let queries: Vec<(String,)> = sqlx::query_as(
            "SELECT query
             FROM searches
             WHERE index_name = ?1 AND query >= ?2 AND query < ?3 AND query <> '' AND result_count > 0
             GROUP BY query
             HAVING COUNT(*) >= ?4
             ORDER BY COUNT(*) DESC, query
             LIMIT ?5",
        )
        .bind(index.as_str())
        .bind(prefix)
        .bind(upper)
        .bind(MIN_SEARCHES_TO_SUGGEST)
        .bind(i64::from(limit))
        .fetch_all(pool)
        .await?;
        Ok(queries.into_iter().map(|(query,)| query).collect())
    }

    /// Removes every search and event of `index` (searches still queued are written first, so
    /// they are removed too).
    pub async fn delete_index(&self, index: &IndexName) -> Result<(), AnalyticsError> {
        self.flush().await;
        let pool = self.database.pool().await?;
        let mut transaction = pool.begin().await?;
        sqlx::query("DELETE FROM searches WHERE index_name = ?")
            .bind(index.as_str())
            .execute(&mut *transaction)
            .await?;
        sqlx::query("DELETE FROM events WHERE index_name = ?").bind(index.as_str()).execute(&mut *transaction).await?;
        transaction.commit().await?;
        Ok(())
    }
}

impl Database {
    /// The pool, once the database exists with an up-to-date schema.
    async fn pool(&self) -> Result<&SqlitePool, AnalyticsError> {
        self.migrated
            .get_or_try_init(|| async {
                if let Some(folder) = self.path.parent().filter(|folder| !folder.as_os_str().is_empty()) {
                    tokio::fs::create_dir_all(folder)
                        .await
                        .map_err(|source| AnalyticsError::Folder { path: self.path.clone(), source })?;
                }
                MIGRATIONS.run(&self.pool).await?;
                Ok::<(), AnalyticsError>(())
            })
            .await?;
        Ok(&self.pool)
    }

    /// Inserts a batch of searches in one transaction.
    async fn insert_searches(&self, batch: &[Box<SearchLog>]) -> Result<(), AnalyticsError> {
        let pool = self.pool().await?;
        let mut transaction = pool.begin().await?;
        for entry in batch {
            let filters = match &entry.filters {
                None | Some(Value::Null) => None,
                Some(filters) => Some(filters.to_string()),
            };
            sqlx::query(
                "INSERT OR IGNORE INTO searches
                     (query_id, index_name, query, filters, result_count, latency_ms, user_id, at_ms)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(entry.query_id.to_string())
            .bind(entry.index.as_str())
            .bind(vitrine_query::normalize_query(&entry.query))
            .bind(filters)
            .bind(i64::try_from(entry.result_count).unwrap_or(i64::MAX))
            .bind(entry.latency_ms)
            .bind(entry.user_id.as_ref().map(UserId::as_str))
            .bind(entry.at.timestamp_millis())
            .execute(&mut *transaction)
            .await?;
        }
        transaction.commit().await?;
        Ok(())
    }
}

/// The writer: gathers logged searches into batches (up to [`MAX_BATCH`], for at most
/// [`BATCH_WINDOW`] after the first, cut short by a flush) and writes each in one transaction.
/// Stops when every [`Analytics`] clone is gone, after writing what it still holds.
async fn write_searches(database: Arc<Database>, mut commands: mpsc::Receiver<WriterCommand>, counters: Counters) {
    let mut received = Vec::with_capacity(MAX_BATCH);
    let mut batch: Vec<Box<SearchLog>> = Vec::with_capacity(MAX_BATCH);
    let mut flushes = Vec::new();
    while commands.recv_many(&mut received, MAX_BATCH).await > 0 {
        let deadline = tokio::time::Instant::now() + BATCH_WINDOW;
        loop {
            for command in received.drain(..) {
                match command {
                    WriterCommand::Log(entry) => batch.push(entry),
                    WriterCommand::Flush(done) => flushes.push(done),
                }
            }
            if batch.len() >= MAX_BATCH || !flushes.is_empty() {
                break;
            }
            let more = commands.recv_many(&mut received, MAX_BATCH - batch.len());
            match tokio::time::timeout_at(deadline, more).await {
                Ok(0) | Err(_) => break, // the channel is closed, or the window is over
                Ok(_) => {}
            }
        }
        if !batch.is_empty() {
            let count = batch.len() as u64;
            match database.insert_searches(&batch).await {
                Ok(()) => counters.logged.inc_by(count),
                Err(error) => {
                    tracing::error!(%error, searches = count, "cannot write searches to the analytics database");
                    counters.failed.inc_by(count)
                }
            };
            batch.clear();
        }
        for done in flushes.drain(..) {
            // The flusher may have stopped waiting; nothing to do then.
            let _ = done.send(());
        }
    }
}

/// A `COUNT`/`SUM` from SQLite (never negative) as a count.
fn count_of(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

/// `part / whole`, or `None` when `whole` is zero.
fn rate(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

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
