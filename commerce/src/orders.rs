//! Orders as events: every change of an order is an appended event (placed, authorised,
//! captured, picked, shipped, delivered, return requested, refunded, cancelled); its current state
//! is derived from them, never stored beside them.

use serde::Serialize;
use sqlx::{Any, Row, Transaction};

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

impl<P: crate::PaymentProvider> crate::Checkout<P> {
    /// Takes the money of an authorised order (on fulfilment) and records `captured`.
    ///
    /// # Errors
    /// An unknown order, one not in `authorized`, a gateway refusal, a query failure.
    pub async fn capture(&self, order_id: &str) -> Result<Order, CommerceError> {
        let order = self.existing_order(order_id).await?;
        if order.status != OrderStatus::Authorized {
            return Err(CommerceError::OrderState(format!(
                "order {} is {:?}, not authorised",
                order.number, order.status
            )));
        }
        self.capture_unchecked(&order).await
    }

    /// Gives back `amount_cents` of a captured order (partial refunds add up to at most the
    /// total) and records `refunded`.
    ///
    /// # Errors
    /// An unknown order, one not captured, an amount above what is left, a gateway refusal, a
    /// query failure.
    pub async fn refund(&self, order_id: &str, amount_cents: i64) -> Result<Order, CommerceError> {
        let order = self.existing_order(order_id).await?;
        let captured = order.events.iter().any(|event| event.kind == "captured");
        if !captured {
            return Err(CommerceError::OrderState(format!(
                "order {} was not captured: nothing to refund",
                order.number
            )));
        }
        let left = order.total_cents - order.refunded_cents;
        if amount_cents <= 0 || amount_cents > left {
            return Err(CommerceError::Invalid(format!(
                "refund between 1 and {left} (minor units), got {amount_cents}"
            )));
        }
        self.gateway()
            .refund(&order.authorization_id, amount_cents)
            .await
            .map_err(|error| CommerceError::Payment(error.to_string()))?;
        self.record(&order, "refunded", serde_json::json!({"amount_cents": amount_cents})).await
    }

    /// Records a return request (`items`: what comes back, `reason`: why).
    ///
    /// # Errors
    /// An unknown order, a cancelled or fully refunded one, a query failure.
    pub async fn request_return(&self, order_id: &str, details: serde_json::Value) -> Result<Order, CommerceError> {
        let order = self.existing_order(order_id).await?;
        if matches!(order.status, OrderStatus::Cancelled | OrderStatus::Refunded) {
            return Err(CommerceError::OrderState(format!("order {} is {:?}", order.number, order.status)));
        }
        self.record(&order, "return_requested", details).await
    }

    /// Records a fulfilment step: `picked` (from authorised or captured), `shipped` (from picked;
    /// an order not yet captured is captured first: the money is taken when the goods leave),
    /// `delivered` (from shipped).
    ///
    /// # Errors
    /// An unknown order, an unknown step, a step out of order, a gateway refusal, a query failure.
    pub async fn fulfil(&self, order_id: &str, step: &str) -> Result<Order, CommerceError> {
        let mut order = self.existing_order(order_id).await?;
        let allowed = match step {
            "picked" => matches!(order.status, OrderStatus::Authorized | OrderStatus::Captured),
            "shipped" => order.status == OrderStatus::Picked,
            "delivered" => order.status == OrderStatus::Shipped,
            other => {
                return Err(CommerceError::Invalid(format!(
                    "unknown fulfilment step `{other}`: picked, shipped or delivered"
                )));
            }
        };
        if !allowed {
            return Err(CommerceError::OrderState(format!(
                "order {} is {:?}: cannot be {step}",
                order.number, order.status
            )));
        }
        if step == "shipped" && !order.events.iter().any(|event| event.kind == "captured") {
            order = self.capture_unchecked(&order).await?;
        }
        self.record(&order, step, serde_json::json!({})).await
    }

    /// Cancels an order not yet shipped: the authorisation is voided (or, once captured, the rest
    /// refunded), the units go back on hand, `cancelled` is recorded.
    ///
    /// # Errors
    /// An unknown order, one shipped or over, a gateway refusal, a query failure.
    pub async fn cancel(&self, order_id: &str) -> Result<Order, CommerceError> {
        let order = self.existing_order(order_id).await?;
        if !matches!(order.status, OrderStatus::Authorized | OrderStatus::Captured | OrderStatus::Picked) {
            return Err(CommerceError::OrderState(format!(
                "order {} is {:?}: too late to cancel",
                order.number, order.status
            )));
        }
        let captured = order.events.iter().any(|event| event.kind == "captured");
        let left = order.total_cents - order.refunded_cents;
        let payment = match (captured, left > 0) {
            (true, true) => self.gateway().refund(&order.authorization_id, left).await.map(|_| ()),
            (true, false) => Ok(()),
            (false, _) => self.gateway().void(&order.authorization_id).await.map(|_| ()),
        };
        payment.map_err(|error| CommerceError::Payment(error.to_string()))?;
        let lines: Vec<crate::StockLine> = order
            .events
            .first()
            .and_then(|placed| placed.data["totals"]["lines"].as_array().cloned())
            .unwrap_or_default()
            .iter()
            .filter_map(|line| {
                Some(crate::StockLine {
                    product_id: line["product_id"].as_str()?.to_owned(),
                    quantity: line["quantity"].as_i64()?,
                })
            })
            .collect();
        let mut tx = self.store().pool().begin().await?;
        crate::inventory::restock_in(&mut tx, &lines).await?;
        tx.commit().await?;
        let refunded = if captured { left } else { 0 };
        self.record(&order, "cancelled", serde_json::json!({"refunded_cents": refunded})).await
    }

    async fn capture_unchecked(&self, order: &Order) -> Result<Order, CommerceError> {
        self.gateway()
            .capture(&order.authorization_id, order.total_cents)
            .await
            .map_err(|error| CommerceError::Payment(error.to_string()))?;
        self.record(order, "captured", serde_json::json!({"amount_cents": order.total_cents})).await
    }

    async fn existing_order(&self, order_id: &str) -> Result<Order, CommerceError> {
        self.store().order(order_id).await?.ok_or_else(|| CommerceError::OrderNotFound(order_id.to_owned()))
    }

    /// Appends an event and its outbox message in one transaction; returns the order after it.
    async fn record(&self, order: &Order, kind: &str, data: serde_json::Value) -> Result<Order, CommerceError> {
        let mut tx = self.store().pool().begin().await?;
        append_event(&mut tx, &order.id, kind, &data).await?;
        let message = serde_json::json!({
            "type": format!("order_{kind}"), "event_id": uuid::Uuid::now_v7().to_string(),
            "order_id": order.id, "number": order.number, "data": data,
        });
        crate::outbox::append(&mut tx, crate::ORDERS_TOPIC, &order.id, &message).await?;
        tx.commit().await?;
        self.existing_order(&order.id).await
    }
}
