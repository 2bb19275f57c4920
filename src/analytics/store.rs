//! The analytics database (SQLite, WAL): its schema (`migrations/analytics/`), the rows it keeps
//! — [`SearchLog`], one per search answered, and [`Event`], what shoppers did afterwards — and
//! the statements that write them.

use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::SqlitePool;
use sqlx::migrate::Migrator;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
use tokio::sync::OnceCell;
use uuid::Uuid;
use vitrine_models::{IndexName, InteractionKind, ProductId, SessionId, UserId};

/// The schema, embedded in the binary and applied on open.
static MIGRATIONS: Migrator = sqlx::migrate!("migrations/analytics");

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
    /// A stored row cannot be read back (an experiment's definition, an id, a time).
    #[error("analytics database: a stored row cannot be read: {0}")]
    Corrupt(String),
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

/// One answer served under an experiment, as logged (without waiting, like searches).
#[derive(Debug, Clone, PartialEq)]
pub struct ExposureLog {
    /// The answer's `query_id`.
    pub query_id: Uuid,
    /// The experiment.
    pub experiment_id: Uuid,
    /// The variant served, or `interleaved`.
    pub variant: String,
    /// `user:ID` or `session:ID`.
    pub identity: String,
    /// Interleaving: the product ids of the page each team contributed (control first).
    pub credits: Option<[Vec<String>; 2]>,
    /// When it was served.
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

#[derive(Debug)]
pub(super) struct Database {
    path: PathBuf,
    pool: SqlitePool,
    migrated: OnceCell<()>,
}

impl Database {
    /// The database at `path`, opened (and created, with its folder and schema) on first use.
    pub(super) fn open_lazy(path: &Path) -> Database {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .busy_timeout(Duration::from_secs(5));
        // WAL: readers (reports, suggestions) never wait for the writer; SQLite writes one at a time.
        let pool = SqlitePoolOptions::new().max_connections(4).connect_lazy_with(options);
        Database { path: path.to_owned(), pool, migrated: OnceCell::new() }
    }
}

impl Database {
    /// The pool, once the database exists with an up-to-date schema.
    pub(super) async fn pool(&self) -> Result<&SqlitePool, AnalyticsError> {
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

    /// Inserts a batch of searches and experiment exposures in one transaction.
    pub(super) async fn insert_batch(
        &self,
        batch: &[Box<SearchLog>],
        exposures: &[Box<ExposureLog>],
    ) -> Result<(), AnalyticsError> {
        let pool = self.pool().await?;
        let mut transaction = pool.begin().await?;
        Database::insert_exposures(&mut transaction, exposures).await?;
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

    /// Stores shopper events in one transaction; returns how many.
    pub(super) async fn insert_events(&self, index: &IndexName, events: &[Event]) -> Result<u64, AnalyticsError> {
        let pool = self.pool().await?;
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

    /// Removes every search, event, experiment (with its exposures) and order of `index`.
    pub(super) async fn delete_index(&self, index: &IndexName) -> Result<(), AnalyticsError> {
        let pool = self.pool().await?;
        let mut transaction = pool.begin().await?;
        sqlx::query("DELETE FROM searches WHERE index_name = ?")
            .bind(index.as_str())
            .execute(&mut *transaction)
            .await?;
        sqlx::query("DELETE FROM events WHERE index_name = ?").bind(index.as_str()).execute(&mut *transaction).await?;
        sqlx::query("DELETE FROM exposures WHERE experiment_id IN (SELECT id FROM experiments WHERE index_name = ?)")
            .bind(index.as_str())
            .execute(&mut *transaction)
            .await?;
        sqlx::query("DELETE FROM experiments WHERE index_name = ?")
            .bind(index.as_str())
            .execute(&mut *transaction)
            .await?;
        sqlx::query("DELETE FROM orders WHERE index_name = ?").bind(index.as_str()).execute(&mut *transaction).await?;
        transaction.commit().await?;
        Ok(())
    }
}
