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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
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
}

/// One event of an order.
#[derive(Debug, Clone, PartialEq, Serialize)]
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
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Order {
    /// Its id.
    pub id: String,
    /// Human-readable number (`VT-001001`).
    pub number: String,
    /// The shopper, if signed in.
    pub user_id: Option<String>,
    /// ISO 4217.
    pub currency: String,
    /// Charged (minor units).
    pub total_cents: i64,
    /// The gateway's authorisation.
    pub authorization_id: String,
    /// Derived from the events.
    pub status: OrderStatus,
    /// Refunded so far (minor units), derived from the events.
    pub refunded_cents: i64,
    /// The history.
    pub events: Vec<OrderEvent>,
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

/// The status the events lead to.
pub fn derive_status(events: &[OrderEvent], total_cents: i64) -> (OrderStatus, i64) {
    let mut status = OrderStatus::Authorized;
    let mut refunded = 0;
    for event in events {
        status = match event.kind.as_str() {
            "captured" => OrderStatus::Captured,
            "picked" => OrderStatus::Picked,
            "shipped" => OrderStatus::Shipped,
            "delivered" => OrderStatus::Delivered,
            "return_requested" => OrderStatus::ReturnRequested,
            "cancelled" => OrderStatus::Cancelled,
            "refunded" => {
                refunded += event.data["amount_cents"].as_i64().unwrap_or(0);
                if refunded >= total_cents { OrderStatus::Refunded } else { OrderStatus::PartiallyRefunded }
            }
            _ => status,
        };
    }
    (status, refunded)
}

/// Appends an event to an order inside `tx`.
pub(crate) async fn append_event(
    tx: &mut Transaction<'_, Any>,
    order_id: &str,
    kind: &str,
    data: &serde_json::Value,
) -> Result<(), CommerceError> {
    sqlx::query(
        "INSERT INTO order_events (order_id, seq, kind, data, at) \
         SELECT $1, COALESCE(MAX(seq), 0) + 1, $2, $3, $4 FROM order_events WHERE order_id = $1",
    )
    .bind(order_id)
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
            "SELECT id, number, user_id, currency, total_cents, authorization_id FROM orders WHERE id = $1",
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
        let (status, refunded_cents) = derive_status(&events, total_cents);
        Ok(Some(Order {
            id: row.try_get("id")?,
            number: row.try_get("number")?,
            user_id: row.try_get("user_id")?,
            currency: row.try_get("currency")?,
            total_cents,
            authorization_id: row.try_get("authorization_id")?,
            status,
            refunded_cents,
            events,
        }))
    }

    /// How many orders exist.
    ///
    /// # Errors
    /// A query failure.
    pub async fn count_orders(&self) -> Result<i64, CommerceError> {
        Ok(sqlx::query("SELECT COUNT(*) AS n FROM orders").fetch_one(self.pool()).await?.try_get("n")?)
    }
}
