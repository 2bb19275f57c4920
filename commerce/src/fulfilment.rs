//! After an order is placed: capture on fulfilment, partial refunds, return requests, the
//! fulfilment steps (picked, shipped — capturing an uncaptured payment —, delivered) and
//! cancellation before shipping (void or refund, units back on hand). Each is an appended order
//! event with its outbox message ([`crate::orders`] derives the status from them), and each that
//! moves money goes through the checkout's payment gateway.

use crate::CommerceError;
use crate::checkout::Checkout;
use crate::inventory::restock_in;
use crate::orders::{Order, OrderStatus, append_event};
use crate::outbox::{self, ORDERS_TOPIC};
use crate::payments::PaymentProvider;

impl<P: PaymentProvider> Checkout<P> {
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

    /// Records a return request (`items`: what comes back, `reason`: why) for an order that has
    /// left the warehouse (shipped, delivered, or partly refunded since). An order not yet
    /// shipped is cancelled instead: a return request would stop its fulfilment.
    ///
    /// # Errors
    /// An unknown order, one not shipped yet, a query failure.
    pub async fn request_return(&self, order_id: &str, details: serde_json::Value) -> Result<Order, CommerceError> {
        let order = self.existing_order(order_id).await?;
        if !matches!(order.status, OrderStatus::Shipped | OrderStatus::Delivered | OrderStatus::PartiallyRefunded) {
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
        let mut tx = self.store().pool().begin().await?;
        restock_in(&mut tx, &order.lines()).await?;
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

    /// The order `order_id`, or [`CommerceError::OrderNotFound`].
    pub(crate) async fn existing_order(&self, order_id: &str) -> Result<Order, CommerceError> {
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
        outbox::append(&mut tx, ORDERS_TOPIC, &order.id, &message).await?;
        tx.commit().await?;
        self.existing_order(&order.id).await
    }
}
