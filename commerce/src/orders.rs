//! Orders as events: every change of an order is an appended event (placed, authorised,
//! captured, picked, shipped, delivered, return requested, refunded, cancelled); its current state
//! is derived from them, never stored beside them.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{Any, Row, Transaction};
use vitrine_models::{Actor, Interaction, InteractionKind, ProductId, UserId};

use crate::inventory::StockLine;
use crate::store::now_ms;
use crate::{CommerceError, Store};

/// Where an order stands, derived from its events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// Placed, money held.
    Authorized,
    /// Money taken.
    Captured,
    /// Being picked.
    Picked,
    /// On its way.
    Shipped,
    /// Arrived.
    Delivered,
    /// The shopper asked to send something back.
    ReturnRequested,
    /// Some money given back.
    PartiallyRefunded,
    /// All money given back.
    Refunded,
    /// Called off before shipping.
    Cancelled,
    /// The shopper disputed the charge with their bank.
    Disputed,
    /// The authorisation ran out before a capture: nothing can be taken (cancel it).
    AuthorizationExpired,
}

/// One event of an order.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct OrderEvent {
    /// 1, 2, …
    pub seq: i64,
    /// `placed`, `authorized`, `captured`, `picked`, `shipped`, `delivered`, `return_requested`,
    /// `refunded`, `cancelled`.
    pub kind: String,
    /// What it says.
    pub data: serde_json::Value,
    /// When (ms since the epoch).
    pub at: i64,
}

/// An order with its history.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Order {
    /// Its id.
    pub id: String,
    /// Human-readable number (`VT-001001`).
    pub number: String,
    /// The shopper, if signed in.
    #[schema(required = true)]
    pub user_id: Option<String>,
    /// ISO 4217.
    pub currency: String,
    /// Charged (minor units).
    pub total_cents: i64,
    /// The gateway's authorisation.
    pub authorization_id: String,
    /// Derived from the events.
    pub status: OrderStatus,
    /// Captured so far (minor units), derived from the events.
    pub captured_cents: i64,
    /// Refunded so far (minor units), derived from the events.
    pub refunded_cents: i64,
    /// The history.
    pub events: Vec<OrderEvent>,
    /// The sequence number of the last event: a change applies only to the order at this version.
    pub version: i64,
    /// A change calling the payment provider is under way (its provider idempotency key).
    #[serde(skip)]
    pub pending_action: Option<String>,
}

impl Order {
    /// The products and units ordered, as the `placed` event priced them.
    pub fn lines(&self) -> Vec<StockLine> {
        let lines = self.events.first().map(|placed| &placed.data["totals"]["lines"]);
        lines
            .and_then(serde_json::Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|line| {
                Some(StockLine {
                    product_id: line["product_id"].as_str()?.to_owned(),
                    quantity: line["quantity"].as_i64()?,
                })
            })
            .collect()
    }

    /// The order's lines as purchases by its shopper at `at`, for the interaction log the
    /// recommendation models learn from. None for a guest's order (no shopper to learn about);
    /// a line that names no valid product is left out.
    pub fn purchases(&self, at: DateTime<Utc>) -> Vec<Interaction> {
        let Some(actor) = self.user_id.as_deref().and_then(|user| UserId::new(user).ok()).map(Actor::User) else {
            return Vec::new();
        };
        self.lines()
            .into_iter()
            .filter_map(|line| {
                let product = ProductId::new(line.product_id).ok()?;
                let quantity = u32::try_from(line.quantity).ok()?;
                Interaction::new(actor.clone(), product, InteractionKind::Purchase, quantity, at).ok()
            })
            .collect()
    }
}

/// What the events of an order add up to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Derived {
    /// The status.
    pub status: OrderStatus,
    /// Captured so far (minor units).
    pub captured_cents: i64,
    /// Refunded so far (minor units).
    pub refunded_cents: i64,
}

/// The status the events lead to, with the money captured and refunded.
pub fn derive_status(events: &[OrderEvent], total_cents: i64) -> Derived {
    let mut status = OrderStatus::Authorized;
    let (mut captured, mut refunded) = (0_i64, 0_i64);
    for event in events {
        let amount = |field: &str| event.data[field].as_i64().unwrap_or(0);
        status = match event.kind.as_str() {
            "captured" => {
                captured = captured.saturating_add(amount("amount_cents"));
                OrderStatus::Captured
            }
            "picked" => OrderStatus::Picked,
            "shipped" => OrderStatus::Shipped,
            "delivered" => OrderStatus::Delivered,
            "return_requested" => OrderStatus::ReturnRequested,
            "cancelled" => {
                refunded = refunded.saturating_add(amount("refunded_cents"));
                OrderStatus::Cancelled
            }
            "disputed" => OrderStatus::Disputed,
            "authorization_expired" => OrderStatus::AuthorizationExpired,
            "refunded" => {
                refunded = refunded.saturating_add(amount("amount_cents"));
                if refunded >= total_cents { OrderStatus::Refunded } else { OrderStatus::PartiallyRefunded }
            }
            _ => status,
        };
    }
    Derived { status, captured_cents: captured, refunded_cents: refunded }
}

/// Appends the first events of a new order inside `tx` (its version starts at their count).
pub(crate) async fn append_event(
    tx: &mut Transaction<'_, Any>,
    order_id: &str,
    kind: &str,
    data: &serde_json::Value,
) -> Result<(), CommerceError> {
    let version: i64 = sqlx::query("UPDATE orders SET version = version + 1 WHERE id = $1 RETURNING version")
        .bind(order_id)
        .fetch_one(&mut **tx)
        .await?
        .try_get("version")?;
    insert_event(tx, order_id, version, kind, data).await
}

/// The compare-and-set of every order change, inside `tx`: appends `events` after `version` if
/// the order is still at `version` and is either unclaimed (`claim` = `None`) or claimed by
/// `claim` (which it then releases). `false`, with nothing written, when another change came
/// first.
pub(crate) async fn append_events_at(
    tx: &mut Transaction<'_, Any>,
    order_id: &str,
    version: i64,
    claim: Option<&str>,
    events: &[(&str, serde_json::Value)],
) -> Result<bool, CommerceError> {
    let count = i64::try_from(events.len()).unwrap_or(i64::MAX);
    let claimed = match claim {
        Some(_) => "pending_action = $4",
        None => "pending_action IS NULL AND $4 = ''",
    };
    let moved = sqlx::query(&format!(
        "UPDATE orders SET version = version + $1, pending_action = NULL, pending_since = NULL \
         WHERE id = $2 AND version = $3 AND {claimed}"
    ))
    .bind(count)
    .bind(order_id)
    .bind(version)
    .bind(claim.unwrap_or_default())
    .execute(&mut **tx)
    .await?;
    if moved.rows_affected() != 1 {
        return Ok(false);
    }
    for (offset, (kind, data)) in (1..).zip(events) {
        insert_event(tx, order_id, version + offset, kind, data).await?;
    }
    Ok(true)
}

async fn insert_event(
    tx: &mut Transaction<'_, Any>,
    order_id: &str,
    seq: i64,
    kind: &str,
    data: &serde_json::Value,
) -> Result<(), CommerceError> {
    sqlx::query("INSERT INTO order_events (order_id, seq, kind, data, at) VALUES ($1, $2, $3, $4, $5)")
        .bind(order_id)
        .bind(seq)
        .bind(kind)
        .bind(serde_json::to_string(data)?)
        .bind(now_ms())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

impl Store {
    /// The order `order_id` with its events and derived status, if it exists.
    ///
    /// # Errors
    /// A query failure.
    pub async fn order(&self, order_id: &str) -> Result<Option<Order>, CommerceError> {
        let Some(row) = sqlx::query(
            "SELECT id, number, user_id, currency, total_cents, authorization_id, version, pending_action \
             FROM orders WHERE id = $1",
        )
        .bind(order_id)
        .fetch_optional(self.pool())
        .await?
        else {
            return Ok(None);
        };
        let events = sqlx::query("SELECT seq, kind, data, at FROM order_events WHERE order_id = $1 ORDER BY seq")
            .bind(order_id)
            .fetch_all(self.pool())
            .await?
            .iter()
            .map(|event| {
                let data: String = event.try_get("data")?;
                Ok(OrderEvent {
                    seq: event.try_get("seq")?,
                    kind: event.try_get("kind")?,
                    data: serde_json::from_str(&data)?,
                    at: event.try_get("at")?,
                })
            })
            .collect::<Result<Vec<_>, CommerceError>>()?;
        let total_cents: i64 = row.try_get("total_cents")?;
        let derived = derive_status(&events, total_cents);
        Ok(Some(Order {
            id: row.try_get("id")?,
            number: row.try_get("number")?,
            user_id: row.try_get("user_id")?,
            currency: row.try_get("currency")?,
            total_cents,
            authorization_id: row.try_get("authorization_id")?,
            status: derived.status,
            captured_cents: derived.captured_cents,
            refunded_cents: derived.refunded_cents,
            events,
            version: row.try_get("version")?,
            pending_action: row.try_get("pending_action")?,
        }))
    }

    /// Claims the order `order_id` at `version` for a change that calls the payment provider
    /// with the idempotency key `action`; `false` when another change came first.
    ///
    /// # Errors
    /// A query failure.
    pub(crate) async fn claim_order(&self, order_id: &str, version: i64, action: &str) -> Result<bool, CommerceError> {
        let claimed = sqlx::query(
            "UPDATE orders SET pending_action = $1, pending_since = $2 \
             WHERE id = $3 AND version = $4 AND pending_action IS NULL",
        )
        .bind(action)
        .bind(now_ms())
        .bind(order_id)
        .bind(version)
        .execute(self.pool())
        .await?;
        Ok(claimed.rows_affected() == 1)
    }

    /// Lets go of a claim whose provider call failed: nothing changed.
    ///
    /// # Errors
    /// A query failure.
    pub(crate) async fn release_order(&self, order_id: &str, action: &str) -> Result<(), CommerceError> {
        sqlx::query(
            "UPDATE orders SET pending_action = NULL, pending_since = NULL WHERE id = $1 AND pending_action = $2",
        )
        .bind(order_id)
        .bind(action)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Orders whose claim is older than `before_ms` (their process died mid-change).
    ///
    /// # Errors
    /// A query failure.
    pub(crate) async fn stale_claims(&self, before_ms: i64) -> Result<Vec<String>, CommerceError> {
        let rows = sqlx::query(
            "SELECT id FROM orders WHERE pending_action IS NOT NULL AND pending_since < $1 ORDER BY pending_since",
        )
        .bind(before_ms)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(|row| Ok(row.try_get("id")?)).collect()
    }

    /// The order paid through the authorisation `authorization_id`, if any.
    ///
    /// # Errors
    /// A query failure.
    pub async fn order_by_authorization(&self, authorization_id: &str) -> Result<Option<Order>, CommerceError> {
        let id: Option<String> = sqlx::query("SELECT id FROM orders WHERE authorization_id = $1")
            .bind(authorization_id)
            .fetch_optional(self.pool())
            .await?
            .map(|row| row.try_get("id"))
            .transpose()?;
        match id {
            Some(id) => self.order(&id).await,
            None => Ok(None),
        }
    }

    /// How many orders exist.
    ///
    /// # Errors
    /// A query failure.
    pub async fn count_orders(&self) -> Result<i64, CommerceError> {
        Ok(sqlx::query("SELECT COUNT(*) AS n FROM orders").fetch_one(self.pool()).await?.try_get("n")?)
    }
}
