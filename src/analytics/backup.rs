//! The analytics database's online backup, for snapshots: SQLite's `VACUUM INTO` copies one read
//! transaction of the live database (searches and events go on being written meanwhile) into a
//! new file, and the copy is summarised for the snapshot's manifest.

use std::path::Path;

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection, Row, SqliteConnection};

use super::store::AnalyticsError;

/// What an analytics database holds, in figures a restore is checked against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AnalyticsSummary {
    /// Searches logged.
    pub searches: u64,
    /// Shopper events stored.
    pub events: u64,
    /// Experiments defined.
    pub experiments: u64,
    /// Experiment exposures logged.
    pub exposures: u64,
}

async fn open(database: &Path, read_only: bool) -> Result<SqliteConnection, AnalyticsError> {
    let options = SqliteConnectOptions::new()
        .filename(database)
        .read_only(read_only)
        .create_if_missing(false)
        .busy_timeout(std::time::Duration::from_secs(30))
        .disable_statement_logging();
    Ok(SqliteConnection::connect_with(&options).await?)
}

/// Copies the analytics database at `database` into `target` (which must not exist) while it is
/// written to, and summarises the copy.
///
/// # Errors
/// The database cannot be opened or read, or the copy cannot be written.
pub async fn backup(database: &Path, target: &Path) -> Result<AnalyticsSummary, AnalyticsError> {
    let mut connection = open(database, false).await?;
    let target_text = target.to_string_lossy().replace('\'', "''");
    sqlx::query(&format!("VACUUM INTO '{target_text}'")).execute(&mut connection).await?;
    connection.close().await?;
    // The copy keeps the live database's WAL mode; a rollback journal lets it be read read-only
    // with no side files (it is back in WAL mode once a server opens it).
    let mut copy = open(target, false).await?;
    sqlx::query("PRAGMA journal_mode = DELETE").execute(&mut copy).await?;
    copy.close().await?;
    summarise(target).await
}

/// Summarises the analytics database at `database` (opened read-only).
///
/// # Errors
/// The database cannot be opened or is not an analytics database.
pub async fn summarise(database: &Path) -> Result<AnalyticsSummary, AnalyticsError> {
    let mut connection = open(database, true).await?;
    let row = sqlx::query(
        "SELECT (SELECT COUNT(*) FROM searches), (SELECT COUNT(*) FROM events), \
         (SELECT COUNT(*) FROM experiments), (SELECT COUNT(*) FROM exposures)",
    )
    .fetch_one(&mut connection)
    .await?;
    let count = |column: usize| -> Result<u64, AnalyticsError> {
        Ok(u64::try_from(row.try_get::<i64, _>(column)?).unwrap_or(0))
    };
    let summary =
        AnalyticsSummary { searches: count(0)?, events: count(1)?, experiments: count(2)?, exposures: count(3)? };
    connection.close().await?;
    Ok(summary)
}
