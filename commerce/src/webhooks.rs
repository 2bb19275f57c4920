//! The payment provider's asynchronous events (`POST /v1/webhooks/payments/{provider}`):
//! verified, then applied exactly once.
//!
//! **Signature** — Stripe's scheme: the `Vitrine-Signature` header (`Stripe-Signature` is
//! accepted too) reads `t=TIMESTAMP,v1=HEX[,v1=HEX…]`, where each `v1` is
//! `HMAC-SHA256(secret, "{TIMESTAMP}.{BODY}")`; a timestamp further than the tolerance (5
//! minutes) from now is refused, so a captured request cannot be replayed later, and a replay
//! inside the window is caught by the event id.
//!
//! **Exactly once** — every event carries the provider's id; the id is claimed in the
//! `payment_events` table in the same transaction as the order change it makes (an order
//! event appended by compare-and-set, with its outbox message). A second delivery finds the id
//! and changes nothing. An event that arrives while the order is claimed by a change of our own
//! (whose provider call it reports) is answered [`CommerceError::OrderBusy`]: the provider
//! delivers it again later, when the change it reports is recorded and it changes nothing.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::CommerceError;
use crate::checkout::Checkout;
use crate::orders::{Order, OrderStatus};
use crate::payments::{PaymentProvider, ProviderEvent, ProviderEventKind};
use crate::store::now_ms;

/// How far a signature's timestamp may be from now.
pub const SIGNATURE_TOLERANCE_SECONDS: i64 = 300;

/// Why a webhook's signature is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// No signature header, or one that is not `t=…,v1=…`.
    #[error("the signature header must read t=TIMESTAMP,v1=SIGNATURE")]
    Malformed,
    /// The timestamp is outside the tolerance window (a replay, or a clock far off).
    #[error("the signature's timestamp is more than {SIGNATURE_TOLERANCE_SECONDS} s from now")]
    Stale,
    /// No `v1` signature matches the body.
    #[error("no signature matches the body")]
    Mismatch,
}

/// The `t=…,v1=…` header of `body` signed with `secret` at `timestamp` (seconds since the epoch).
pub fn sign(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    format!("t={timestamp},v1={}", hex::encode(mac(secret, timestamp, body).finalize().into_bytes()))
}

/// Checks `header` against `body`: a `v1` signature under `secret` and a timestamp within
/// [`SIGNATURE_TOLERANCE_SECONDS`] of `now_seconds`. Signatures are compared in constant time.
///
/// # Errors
/// A [`SignatureError`].
pub fn verify(secret: &[u8], header: &str, body: &[u8], now_seconds: i64) -> Result<(), SignatureError> {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", value)) => timestamp = value.parse::<i64>().ok(),
            Some(("v1", value)) => signatures.push(hex::decode(value).map_err(|_| SignatureError::Malformed)?),
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed)?;
    if signatures.is_empty() {
        return Err(SignatureError::Malformed);
    }
    if (now_seconds - timestamp).abs() > SIGNATURE_TOLERANCE_SECONDS {
        return Err(SignatureError::Stale);
    }
    let matches = signatures.iter().any(|signature| mac(secret, timestamp, body).verify_slice(signature).is_ok());
    if matches { Ok(()) } else { Err(SignatureError::Mismatch) }
}

fn mac(secret: &[u8], timestamp: i64, body: &[u8]) -> Hmac<Sha256> {
    // HMAC takes a key of any length.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret).unwrap_or_else(|_| unreachable!());
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// What applying a provider event did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case", tag = "result", content = "detail")]
pub enum EventOutcome {
    /// The change was made.
    Applied,
    /// This event id was applied before: nothing changed.
    Duplicate,
    /// Nothing to change (what it reports is already recorded, or concerns nothing of ours).
    Noted(String),
}

impl<P: PaymentProvider> Checkout<P> {
    /// Applies a provider event once (see the module's documentation).
    ///
    /// # Errors
    /// [`CommerceError::OrderBusy`] while a change of the order is under way (deliver again
    /// later), a database failure.
    pub async fn apply_provider_event(
        &self,
        provider: &str,
        event: &ProviderEvent,
    ) -> Result<EventOutcome, CommerceError> {
        if self.event_seen(provider, &event.id).await? {
            return Ok(EventOutcome::Duplicate);
        }
        let Some(order) = self.store().order_by_authorization(&event.authorization_id).await? else {
            // No order yet: a checkout waiting for this answer asks the provider again (its
            // state changes are compare-and-set, so a repeated answer changes nothing).
            let outcome = match self.outcome(&event.idempotency_key).await {
                Ok(_) => {
                    let after = self.confirm(&event.idempotency_key).await?;
                    EventOutcome::Noted(format!("checkout {} is {}", after.checkout_id, after.state.as_str()))
                }
                Err(CommerceError::CheckoutNotFound(_)) => EventOutcome::Noted("no checkout or order has it".into()),
                Err(error) => return Err(error),
            };
            self.record_event(provider, event).await?;
            return Ok(outcome);
        };
        let change = order_change(&order, event);
        let mut tx = self.store().pool().begin().await?;
        if !claim_event(&mut tx, provider, event).await? {
            tx.rollback().await?;
            return Ok(EventOutcome::Duplicate);
        }
        let outcome = match change {
            Ok(events) => {
                if order.pending_action.is_some() || !self.append_in(&mut tx, &order, None, &events).await? {
                    tx.rollback().await?;
                    return Err(CommerceError::OrderBusy(order.number));
                }
                EventOutcome::Applied
            }
            Err(reason) => EventOutcome::Noted(reason),
        };
        tx.commit().await?;
        Ok(outcome)
    }

    async fn event_seen(&self, provider: &str, event_id: &str) -> Result<bool, CommerceError> {
        Ok(sqlx::query("SELECT event_id FROM payment_events WHERE provider = $1 AND event_id = $2")
            .bind(provider)
            .bind(event_id)
            .fetch_optional(self.store().pool())
            .await?
            .is_some())
    }

    async fn record_event(&self, provider: &str, event: &ProviderEvent) -> Result<(), CommerceError> {
        let mut tx = self.store().pool().begin().await?;
        claim_event(&mut tx, provider, event).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Claims the event id inside `tx`; `false` if it was claimed before.
async fn claim_event(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    provider: &str,
    event: &ProviderEvent,
) -> Result<bool, CommerceError> {
    let kind = serde_json::to_value(event.kind)?;
    let inserted = sqlx::query(
        "INSERT INTO payment_events (provider, event_id, kind, received_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (provider, event_id) DO NOTHING",
    )
    .bind(provider)
    .bind(&event.id)
    .bind(kind.as_str().unwrap_or_default())
    .bind(now_ms())
    .execute(&mut **tx)
    .await?;
    Ok(inserted.rows_affected() == 1)
}

/// The order events a provider event makes, or why it makes none.
fn order_change(order: &Order, event: &ProviderEvent) -> Result<Vec<(&'static str, serde_json::Value)>, String> {
    let has = |kind: &str| order.events.iter().any(|recorded| recorded.kind == kind);
    let data = |amount: i64| serde_json::json!({"amount_cents": amount, "provider_event": event.id});
    match event.kind {
        ProviderEventKind::Authorized => Err("the order exists: authorised already".into()),
        ProviderEventKind::Captured if has("captured") => Err("capture already recorded".into()),
        ProviderEventKind::Captured => Ok(vec![("captured", data(event.amount_cents))]),
        ProviderEventKind::Refunded => {
            let refund_id = event.refund_id.as_deref().unwrap_or_default();
            let known = order.events.iter().any(|recorded| recorded.data["refund_id"].as_str() == Some(refund_id));
            let left = order.captured_cents - order.refunded_cents;
            if known {
                Err("refund already recorded".into())
            } else if event.amount_cents <= 0 || event.amount_cents > left {
                Err(format!("a refund of {} exceeds the {left} left to refund", event.amount_cents))
            } else {
                let mut refunded = data(event.amount_cents);
                refunded["refund_id"] = refund_id.into();
                Ok(vec![("refunded", refunded)])
            }
        }
        ProviderEventKind::Disputed => Ok(vec![("disputed", data(event.amount_cents))]),
        ProviderEventKind::AuthorizationExpired if order.status == OrderStatus::Authorized => {
            Ok(vec![("authorization_expired", data(0))])
        }
        ProviderEventKind::AuthorizationExpired => Err(format!("the order is {:?}: nothing held", order.status)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_verify_within_the_window_only() {
        let secret = b"whsec_test";
        let body = br#"{"id":"evt_1"}"#;
        let header = sign(secret, 1_000_000, body);
        assert_eq!(verify(secret, &header, body, 1_000_000), Ok(()));
        assert_eq!(verify(secret, &header, body, 1_000_000 + SIGNATURE_TOLERANCE_SECONDS), Ok(()));
        assert_eq!(
            verify(secret, &header, body, 1_000_000 + SIGNATURE_TOLERANCE_SECONDS + 1),
            Err(SignatureError::Stale)
        );
        assert_eq!(verify(secret, &header, br#"{"id":"evt_2"}"#, 1_000_000), Err(SignatureError::Mismatch));
        assert_eq!(verify(b"other", &header, body, 1_000_000), Err(SignatureError::Mismatch));
        assert_eq!(verify(secret, "v1=00", body, 1_000_000), Err(SignatureError::Malformed));
        assert_eq!(verify(secret, "t=1000000", body, 1_000_000), Err(SignatureError::Malformed));
        // Several v1 signatures (a secret being rolled): one match is enough.
        let rolled = format!("{header},v1={}", "ab".repeat(32));
        assert_eq!(verify(secret, &rolled, body, 1_000_000), Ok(()));
    }
}
