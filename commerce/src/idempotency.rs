//! Idempotency keys with Stripe's semantics: the first response to a key is stored and replayed
//! for every later request with the same key (same status, same body); a request arriving while
//! the first is still running gets a conflict; the same key with different parameters is refused.
//! Keys are scoped (per cart, API key or shopper), expire after 24 hours and are then pruned.
//! The stored fingerprint is the caller's (an HMAC of the request without payment fields).

use sqlx::Row;

use crate::store::now_ms;
use crate::{CommerceError, Store};

/// How long a key lives: after this, the same key is a new request, and the row is pruned.
pub const KEY_RETENTION_MS: i64 = 24 * 3600 * 1000;

/// A request still "in flight" after this long died with its process (a live one finishes in its
/// own task, whatever its client does): the next one takes over.
pub const IN_FLIGHT_TIMEOUT_MS: i64 = 2 * 60 * 1000;

/// What to do with a request that carries an idempotency key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdempotencyStart {
    /// First time: run it, then [`Store::idempotency_finish`].
    Proceed,
    /// Done before: send this again.
    Replay {
        /// The stored HTTP status.
        status: u16,
        /// The stored body.
        body: String,
    },
    /// The first request with this key is still running (409).
    InFlight,
    /// The key was used with other parameters (422).
    Mismatch,
}

impl Store {
    /// Claims `key` in `scope` for a request whose parameters hash to `request_hash`.
    ///
    /// # Errors
    /// A query failure.
    pub async fn idempotency_begin(
        &self,
        scope: &str,
        key: &str,
        request_hash: &str,
    ) -> Result<IdempotencyStart, CommerceError> {
        // An expired key is a new one.
        sqlx::query("DELETE FROM idempotency_keys WHERE scope = $1 AND idempotency_key = $2 AND created_at < $3")
            .bind(scope)
            .bind(key)
            .bind(now_ms() - KEY_RETENTION_MS)
            .execute(self.pool())
            .await?;
        let claimed = sqlx::query(
            "INSERT INTO idempotency_keys (scope, idempotency_key, request_hash, state, created_at) \
             VALUES ($1, $2, $3, 'in_flight', $4) ON CONFLICT (scope, idempotency_key) DO NOTHING",
        )
        .bind(scope)
        .bind(key)
        .bind(request_hash)
        .bind(now_ms())
        .execute(self.pool())
        .await?;
        if claimed.rows_affected() == 1 {
            return Ok(IdempotencyStart::Proceed);
        }
        let Some(row) = sqlx::query(
            "SELECT request_hash, state, status, body, created_at FROM idempotency_keys \
             WHERE scope = $1 AND idempotency_key = $2",
        )
        .bind(scope)
        .bind(key)
        .fetch_optional(self.pool())
        .await?
        else {
            // Abandoned between the insert and the read: claim it again.
            return Box::pin(self.idempotency_begin(scope, key, request_hash)).await;
        };
        let stored_hash: String = row.try_get("request_hash")?;
        if stored_hash != request_hash {
            return Ok(IdempotencyStart::Mismatch);
        }
        let state: String = row.try_get("state")?;
        if state == "in_flight" {
            let created_at: i64 = row.try_get("created_at")?;
            let now = now_ms();
            if created_at < now - IN_FLIGHT_TIMEOUT_MS {
                // Its process died: take the key over (one taker wins the conditional update).
                let taken = sqlx::query(
                    "UPDATE idempotency_keys SET created_at = $1 WHERE scope = $2 AND idempotency_key = $3 \
                     AND state = 'in_flight' AND created_at = $4",
                )
                .bind(now)
                .bind(scope)
                .bind(key)
                .bind(created_at)
                .execute(self.pool())
                .await?;
                if taken.rows_affected() == 1 {
                    return Ok(IdempotencyStart::Proceed);
                }
            }
            return Ok(IdempotencyStart::InFlight);
        }
        let status: Option<i64> = row.try_get("status")?;
        let body: Option<String> = row.try_get("body")?;
        Ok(IdempotencyStart::Replay {
            status: status.and_then(|status| u16::try_from(status).ok()).unwrap_or(500),
            body: body.unwrap_or_default(),
        })
    }

    /// Stores the response of the request that claimed `key`.
    ///
    /// # Errors
    /// A query failure.
    pub async fn idempotency_finish(
        &self,
        scope: &str,
        key: &str,
        status: u16,
        body: &str,
    ) -> Result<(), CommerceError> {
        sqlx::query(
            "UPDATE idempotency_keys SET state = 'done', status = $1, body = $2 WHERE scope = $3 AND idempotency_key = $4",
        )
        .bind(i64::from(status))
        .bind(body)
        .bind(scope)
        .bind(key)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Frees `key` after a failure that should not be replayed (an internal error): the next
    /// request with it runs again.
    ///
    /// # Errors
    /// A query failure.
    pub async fn idempotency_abandon(&self, scope: &str, key: &str) -> Result<(), CommerceError> {
        sqlx::query("DELETE FROM idempotency_keys WHERE scope = $1 AND idempotency_key = $2 AND state = 'in_flight'")
            .bind(scope)
            .bind(key)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Deletes keys older than [`KEY_RETENTION_MS`] before `now_ms`; returns how many.
    ///
    /// # Errors
    /// A query failure.
    pub async fn idempotency_purge(&self, now_ms: i64) -> Result<u64, CommerceError> {
        let purged = sqlx::query("DELETE FROM idempotency_keys WHERE created_at < $1")
            .bind(now_ms - KEY_RETENTION_MS)
            .execute(self.pool())
            .await?;
        Ok(purged.rows_affected())
    }
}
