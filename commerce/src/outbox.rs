//! The transactional outbox: an event is written in the same transaction as the change it
//! describes, so a change is never lost between the database and the broker, and an event is
//! never published for a change that rolled back. A relay reads the unsent rows in order,
//! publishes them (at least once: each carries its event id so consumers can dedupe) and marks
//! them sent.

use serde::Serialize;
use sqlx::{Any, Row, Transaction};

use crate::store::now_ms;
use crate::{CommerceError, Store};

/// Topic of the product events (price and stock changes), in the indexer's contract.
pub const PRODUCTS_TOPIC: &str = "products";
/// Topic of the order events.
pub const ORDERS_TOPIC: &str = "orders";

/// One event waiting for (or past) its publication.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OutboxEvent {
    /// Unique, time-ordered: the order of publication.
    pub id: String,
    /// [`PRODUCTS_TOPIC`] or [`ORDERS_TOPIC`] (the relay maps them to the configured topics).
    pub topic: String,
    /// The message key (the product or order id: keeps one entity's events in one partition).
    pub key: String,
    /// The message.
    pub payload: serde_json::Value,
}

/// Appends an event to the outbox inside `tx`.
pub(crate) async fn append(
    tx: &mut Transaction<'_, Any>,
    topic: &str,
    key: &str,
    payload: &serde_json::Value,
) -> Result<(), CommerceError> {
    sqlx::query("INSERT INTO outbox (id, topic, message_key, payload, created_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(topic)
        .bind(key)
        .bind(serde_json::to_string(payload)?)
        .bind(now_ms())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

impl Store {
    /// The oldest `limit` events not yet marked sent, oldest first.
    ///
    /// # Errors
    /// A query failure or a stored payload that is not JSON.
    pub async fn unsent_events(&self, limit: i64) -> Result<Vec<OutboxEvent>, CommerceError> {
        let rows = sqlx::query(
            "SELECT id, topic, message_key, payload FROM outbox WHERE sent_at IS NULL ORDER BY id LIMIT $1",
        )
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                let payload: String = row.try_get("payload")?;
                Ok(OutboxEvent {
                    id: row.try_get("id")?,
                    topic: row.try_get("topic")?,
                    key: row.try_get("message_key")?,
                    payload: serde_json::from_str(&payload)?,
                })
            })
            .collect()
    }

    /// Deletes events published before `before_ms` (the housekeeping keeps a week of them, for
    /// inspection); returns how many went. Unpublished events are never deleted.
    ///
    /// # Errors
    /// A query failure.
    pub async fn prune_sent_outbox(&self, before_ms: i64) -> Result<u64, CommerceError> {
        let pruned = sqlx::query("DELETE FROM outbox WHERE sent_at IS NOT NULL AND sent_at < $1")
            .bind(before_ms)
            .execute(self.pool())
            .await?;
        Ok(pruned.rows_affected())
    }

    /// Marks events as published.
    ///
    /// # Errors
    /// A query failure.
    pub async fn mark_sent(&self, ids: &[String]) -> Result<(), CommerceError> {
        let now = now_ms();
        for id in ids {
            sqlx::query("UPDATE outbox SET sent_at = $1 WHERE id = $2").bind(now).bind(id).execute(self.pool()).await?;
        }
        Ok(())
    }
}

/// How long a published event stays in the outbox: a week.
pub const OUTBOX_RETENTION_MS: i64 = 7 * 24 * 60 * 60 * 1000;
