//! The embedded (SQLite) commerce database's online backup, for snapshots, and the summary a
//! snapshot's manifest records of it: orders and stock, so a restore can be checked against it.
//!
//! The copy is SQLite's `VACUUM INTO`: one read transaction of the live database (which goes on
//! serving checkouts; WAL mode lets writers continue) written out as a new, compact database file.
//! It is the same consistent image the online backup API gives, in one statement. A PostgreSQL
//! commerce database is backed up with `pg_dump` instead (docs/operations.md).

use std::path::Path;

use sha2::{Digest, Sha256};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection, Row, SqliteConnection};

use crate::error::CommerceError;

/// What a commerce database holds, in figures a restore is checked against.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CommerceSummary {
    /// Orders placed.
    pub orders: u64,
    /// The newest order's number (`VT-001042`), if any.
    pub last_order: Option<String>,
    /// Sellable SKUs.
    pub skus: u64,
    /// Units on hand, over every SKU.
    pub units_on_hand: i64,
    /// Units held by carts and checkouts, over every SKU.
    pub units_reserved: i64,
    /// SHA-256 (hex) of every SKU's `product_id on_hand reserved version` line, by product id.
    pub stock_digest: String,
}

async fn open(database: &Path, read_only: bool) -> Result<SqliteConnection, CommerceError> {
    let options = SqliteConnectOptions::new()
        .filename(database)
        .read_only(read_only)
        .create_if_missing(false)
        .busy_timeout(std::time::Duration::from_secs(30))
        .disable_statement_logging();
    Ok(SqliteConnection::connect_with(&options).await?)
}

/// Copies the SQLite commerce database at `database` into `target` (which must not exist) while
/// it serves, and summarises the copy.
///
/// # Errors
/// The database cannot be opened or read, or the copy cannot be written.
pub async fn backup_sqlite(database: &Path, target: &Path) -> Result<CommerceSummary, CommerceError> {
    let mut connection = open(database, false).await?;
    let target_text = target.to_string_lossy().replace('\'', "''");
    sqlx::query(&format!("VACUUM INTO '{target_text}'")).execute(&mut connection).await?;
    connection.close().await?;
    // The copy keeps the live database's WAL mode; a rollback journal lets it be read read-only
    // with no side files (it is back in WAL mode once a server opens it).
    let mut copy = open(target, false).await?;
    sqlx::query("PRAGMA journal_mode = DELETE").execute(&mut copy).await?;
    copy.close().await?;
    summarise_sqlite(target).await
}

/// Summarises the SQLite commerce database at `database` (opened read-only).
///
/// # Errors
/// The database cannot be opened or is not a commerce database.
pub async fn summarise_sqlite(database: &Path) -> Result<CommerceSummary, CommerceError> {
    let mut connection = open(database, true).await?;
    let orders =
        sqlx::query("SELECT COUNT(*) AS n, MAX(number) AS last FROM orders").fetch_one(&mut connection).await?;
    let skus = sqlx::query("SELECT product_id, on_hand, reserved, version FROM skus ORDER BY product_id")
        .fetch_all(&mut connection)
        .await?;
    let mut digest = Sha256::new();
    let (mut on_hand, mut reserved) = (0i64, 0i64);
    for sku in &skus {
        let (id, held, units, version): (String, i64, i64, i64) =
            (sku.try_get(0)?, sku.try_get(1)?, sku.try_get(2)?, sku.try_get(3)?);
        on_hand = on_hand.saturating_add(held);
        reserved = reserved.saturating_add(units);
        digest.update(format!("{id} {held} {units} {version}\n").as_bytes());
    }
    let summary = CommerceSummary {
        orders: u64::try_from(orders.try_get::<i64, _>("n")?).unwrap_or(0),
        last_order: orders.try_get("last")?,
        skus: skus.len() as u64,
        units_on_hand: on_hand,
        units_reserved: reserved,
        stock_digest: hex::encode(digest.finalize()),
    };
    connection.close().await?;
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{SkuSeed, Store};

    #[tokio::test]
    async fn the_backup_is_the_database_as_it_was_and_its_summary_says_so() {
        let folder = tempfile::tempdir().expect("temp dir");
        let live = folder.path().join("commerce.db");
        let store = Store::connect(&format!("sqlite:{}", live.display()), None).await.expect("store");
        let price =
            vitrine_models::Money::from_minor_units(500, vitrine_models::Currency::new("GBP").expect("currency"));
        let seed = |id: &str, on_hand| SkuSeed { product_id: id.into(), price, on_hand };
        store.seed_skus(&[seed("mug", 7), seed("cup", 3)]).await.expect("seeded");
        let copy = folder.path().join("copy.db");
        let summary = backup_sqlite(&live, &copy).await.expect("backed up");
        assert_eq!((summary.orders, summary.skus, summary.units_on_hand, summary.units_reserved), (0, 2, 10, 0));
        assert_eq!(summarise_sqlite(&copy).await.expect("summary"), summary);
        assert_eq!(summarise_sqlite(&live).await.expect("summary"), summary);

        store.seed_skus(&[seed("plate", 1)]).await.expect("seeded");
        let now = summarise_sqlite(&live).await.expect("summary");
        assert_ne!(now.stock_digest, summary.stock_digest);
        assert_eq!(summarise_sqlite(&copy).await.expect("the copy is unchanged"), summary);
        assert!(backup_sqlite(&live, &copy).await.is_err(), "a backup never overwrites a file");
    }
}
