//! After an order is placed: capture on fulfilment, partial refunds, return requests, the
//! fulfilment steps (picked, shipped — capturing an uncaptured payment —, delivered),
//! cancellation before shipping (void or refund, units back on hand), and the provider's own
//! events (disputes, expired authorisations, refunds made outside the shop).
//!
//! **Every order change is one compare-and-set.** The order is read at its version (the sequence
//! number of its last event), the change is checked against the status its events derive, and one
//! transaction appends the change's events only if the order is still at that version — with the
//! stock it moves and its outbox messages. A change that calls the payment provider first claims
//! the order at that version (`pending_action`: the provider idempotency key of the call), calls
//! the provider, and then appends in the transaction that releases the claim; a failed call
//! releases it with nothing changed. So ten parallel cancels restock once, a cancel racing a
//! capture or a shipment ends in exactly one of them (the others get
//! [`CommerceError::OrderBusy`] or [`CommerceError::OrderState`]), and refunds never exceed what
//! was captured. A claim left by a process that died mid-call is finished by
//! [`Checkout::finish_stale_claims`] with the same provider key (the provider moves the money once).

use serde::{Deserialize, Serialize};

use crate::CommerceError;
use crate::checkout::Checkout;
use crate::inventory::restock_in;
use crate::orders::{Order, OrderStatus, append_events_at};
use crate::outbox::{self, ORDERS_TOPIC};
use crate::payments::{PaymentError, PaymentProvider};

/// The longest reason of a return request.
pub const MAX_RETURN_REASON: usize = 500;

/// A return request: what comes back and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReturnRequest {
    /// The products and units sent back (each a line of the order, at most its units).
    pub items: Vec<ReturnItem>,
    /// Why (at most 500 characters: `MAX_RETURN_REASON`).
    #[serde(default)]
    pub reason: Option<String>,
}

/// One line of a return request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReturnItem {
    /// The product.
    pub product_id: String,
    /// Units sent back.
    pub quantity: i64,
}

/// What a claimed change does at the provider (encoded in its key, so a stale claim can be
/// finished after a crash).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Capture,
    Ship,
    Refund(i64),
    Cancel,
}

impl Action {
    fn key(self, order_id: &str) -> String {
        let nonce = uuid::Uuid::now_v7().simple();
        match self {
            Action::Capture => format!("capture:{order_id}:{nonce}"),
            Action::Ship => format!("ship:{order_id}:{nonce}"),
            Action::Refund(amount) => format!("refund:{amount}:{order_id}:{nonce}"),
            Action::Cancel => format!("cancel:{order_id}:{nonce}"),
        }
    }

    fn parse(key: &str) -> Option<Action> {
        let mut parts = key.split(':');
        Some(match parts.next()? {
            "capture" => Action::Capture,
            "ship" => Action::Ship,
            "refund" => Action::Refund(parts.next()?.parse().ok()?),
            "cancel" => Action::Cancel,
            _ => return None,
        })
    }
}

fn state_error(order: &Order, what: &str) -> CommerceError {
    CommerceError::OrderState(format!("order {} is {:?}: {what}", order.number, order.status))
}

fn is_captured(order: &Order) -> bool {
    order.events.iter().any(|event| event.kind == "captured")
}

impl<P: PaymentProvider> Checkout<P> {
    /// Takes the money of an authorised order (on fulfilment) and records `captured`.
    ///
    /// # Errors
    /// An unknown order, one not in `authorized`, another change under way, a provider refusal,
    /// a query failure.
    pub async fn capture(&self, order_id: &str) -> Result<Order, CommerceError> {
        self.claimed(order_id, |order| match order.status {
            OrderStatus::Authorized => Ok(Action::Capture),
            _ => Err(state_error(order, "not authorised")),
        })
        .await
    }

    /// Gives back `amount_cents` of a captured order (partial refunds add up to at most what was
    /// captured) and records `refunded`.
    ///
    /// # Errors
    /// An unknown order, one not captured, an amount above what is left, another change under
    /// way, a provider refusal, a query failure.
    pub async fn refund(&self, order_id: &str, amount_cents: Option<i64>) -> Result<Order, CommerceError> {
        self.claimed(order_id, |order| {
            if !is_captured(order) || order.status == OrderStatus::Cancelled {
                return Err(state_error(order, "nothing captured to refund"));
            }
            let left = order.captured_cents - order.refunded_cents;
            let amount = amount_cents.unwrap_or(left);
            if left <= 0 {
                return Err(state_error(order, "everything captured was refunded"));
            }
            if amount <= 0 || amount > left {
                return Err(CommerceError::Invalid(format!("refund between 1 and {left} (minor units), got {amount}")));
            }
            Ok(Action::Refund(amount))
        })
        .await
    }

    /// Records a return request for an order that has left the warehouse (shipped or
    /// delivered): every item a line of the order, at most its units. An order not yet shipped is
    /// cancelled instead.
    ///
    /// # Errors
    /// An unknown order, one not shipped or delivered, items the order does not have, a reason
    /// too long, another change meanwhile, a query failure.
    pub async fn request_return(&self, order_id: &str, request: ReturnRequest) -> Result<Order, CommerceError> {
        if request.items.is_empty() {
            return Err(CommerceError::Invalid("a return names at least one item".into()));
        }
        if request.reason.as_ref().is_some_and(|reason| reason.chars().count() > MAX_RETURN_REASON) {
            return Err(CommerceError::Invalid(format!("a return reason is at most {MAX_RETURN_REASON} characters")));
        }
        let order = self.existing_order(order_id).await?;
        let lines = order.lines();
        for item in &request.items {
            let ordered = lines.iter().find(|line| line.product_id == item.product_id).map_or(0, |line| line.quantity);
            if ordered == 0 {
                return Err(CommerceError::Invalid(format!("`{}` is not in this order", item.product_id)));
            }
            let asked: i64 =
                request.items.iter().filter(|other| other.product_id == item.product_id).map(|i| i.quantity).sum();
            if item.quantity < 1 || asked > ordered {
                return Err(CommerceError::Invalid(format!("return between 1 and {ordered} of `{}`", item.product_id)));
            }
        }
        let details = serde_json::to_value(&request)?;
        self.direct(order, |order| match order.status {
            OrderStatus::Shipped | OrderStatus::Delivered => Ok(vec![("return_requested", details.clone())]),
            _ => Err(state_error(order, "only a shipped or delivered order can be returned")),
        })
        .await
    }

    /// Records a fulfilment step: `picked` (from authorised or captured), `shipped` (from picked;
    /// an order not yet captured is captured first: the money is taken when the goods leave),
    /// `delivered` (from shipped).
    ///
    /// # Errors
    /// An unknown order, an unknown step, a step out of order, another change under way, a
    /// provider refusal, a query failure.
    pub async fn fulfil(&self, order_id: &str, step: &str) -> Result<Order, CommerceError> {
        let step: &'static str = match step {
            "picked" => "picked",
            "shipped" => "shipped",
            "delivered" => "delivered",
            other => {
                return Err(CommerceError::Invalid(format!(
                    "unknown fulfilment step `{other}`: picked, shipped or delivered"
                )));
            }
        };
        let order = self.existing_order(order_id).await?;
        if step == "shipped" && order.status == OrderStatus::Picked && !is_captured(&order) {
            return self
                .claimed(order_id, |order| match order.status {
                    OrderStatus::Picked if !is_captured(order) => Ok(Action::Ship),
                    _ => Err(state_error(order, "cannot be shipped")),
                })
                .await;
        }
        self.direct(order, |order| {
            let allowed = match step {
                "picked" => matches!(order.status, OrderStatus::Authorized | OrderStatus::Captured),
                "shipped" => order.status == OrderStatus::Picked && is_captured(order),
                _ => order.status == OrderStatus::Shipped,
            };
            if allowed {
                Ok(vec![(step, serde_json::json!({}))])
            } else {
                Err(state_error(order, &format!("cannot be {step}")))
            }
        })
        .await
    }

    /// Cancels an order not yet shipped: the authorisation is voided (or, once captured, the rest
    /// refunded), the units go back on hand, `cancelled` is recorded — once, however many ask.
    ///
    /// # Errors
    /// An unknown order, one shipped or over, another change under way, a provider refusal, a
    /// query failure.
    pub async fn cancel(&self, order_id: &str) -> Result<Order, CommerceError> {
        self.claimed(order_id, |order| match order.status {
            OrderStatus::Authorized
            | OrderStatus::Captured
            | OrderStatus::Picked
            | OrderStatus::AuthorizationExpired => Ok(Action::Cancel),
            _ => Err(state_error(order, "too late to cancel")),
        })
        .await
    }

    /// The order `order_id`, or [`CommerceError::OrderNotFound`].
    pub(crate) async fn existing_order(&self, order_id: &str) -> Result<Order, CommerceError> {
        self.store().order(order_id).await?.ok_or_else(|| CommerceError::OrderNotFound(order_id.to_owned()))
    }

    /// A change without a provider call: `events` (decided on the order as read) appended if the
    /// order is still at the version read and unclaimed. Another change meanwhile → read again and
    /// decide again (it may now be refused).
    pub(crate) async fn direct(
        &self,
        mut order: Order,
        events: impl Fn(&Order) -> Result<Vec<(&'static str, serde_json::Value)>, CommerceError>,
    ) -> Result<Order, CommerceError> {
        for _ in 0..8 {
            if order.pending_action.is_some() {
                return Err(CommerceError::OrderBusy(order.number));
            }
            let events = events(&order)?;
            let mut tx = self.store().pool().begin().await?;
            if self.append_in(&mut tx, &order, None, &events).await? {
                tx.commit().await?;
                return self.existing_order(&order.id).await;
            }
            tx.rollback().await?;
            order = self.existing_order(&order.id).await?;
        }
        Err(CommerceError::OrderBusy(order.number))
    }

    /// A change with a provider call: claim the order at the version read (after `decide`
    /// allows it), call the provider with the claim's key, append the outcome and release the
    /// claim in one transaction (a refused call releases it with nothing changed).
    async fn claimed(
        &self,
        order_id: &str,
        decide: impl Fn(&Order) -> Result<Action, CommerceError>,
    ) -> Result<Order, CommerceError> {
        for _ in 0..8 {
            let order = self.existing_order(order_id).await?;
            if order.pending_action.is_some() {
                return Err(CommerceError::OrderBusy(order.number));
            }
            let action = decide(&order)?;
            let key = action.key(&order.id);
            if self.store().claim_order(&order.id, order.version, &key).await? {
                return self.finish_claimed(order, action, &key).await;
            }
        }
        Err(CommerceError::OrderBusy(order_id.to_owned()))
    }

    /// Calls the provider for a claimed change and appends its outcome (also used to finish a
    /// stale claim after a crash, with the same key: the provider moves the money once).
    async fn finish_claimed(&self, order: Order, action: Action, key: &str) -> Result<Order, CommerceError> {
        let payment = &order.authorization_id;
        let captured_now = |amount: i64| ("captured", serde_json::json!({"amount_cents": amount}));
        let called = match action {
            Action::Capture => self
                .gateway()
                .capture(payment, order.total_cents, key)
                .await
                .map(|_| vec![captured_now(order.total_cents)]),
            Action::Ship => self
                .gateway()
                .capture(payment, order.total_cents, key)
                .await
                .map(|_| vec![captured_now(order.total_cents), ("shipped", serde_json::json!({}))]),
            Action::Refund(amount) => self.gateway().refund(payment, amount, key).await.map(|refund| {
                vec![("refunded", serde_json::json!({"amount_cents": refund.amount_cents, "refund_id": refund.id}))]
            }),
            Action::Cancel => {
                let left = order.captured_cents - order.refunded_cents;
                let refunded = if is_captured(&order) && left > 0 {
                    self.gateway().refund(payment, left, key).await.map(|refund| (left, Some(refund.id)))
                } else if is_captured(&order) || order.status == OrderStatus::AuthorizationExpired {
                    Ok((0, None))
                } else {
                    self.gateway().void(payment, key).await.map(|_| (0, None))
                };
                refunded.map(|(refunded, refund_id)| {
                    vec![("cancelled", serde_json::json!({"refunded_cents": refunded, "refund_id": refund_id}))]
                })
            }
        };
        let events = match called {
            Ok(events) => events,
            Err(error) => {
                self.store().release_order(&order.id, key).await?;
                return Err(match error {
                    PaymentError::Declined(code) => CommerceError::Payment(format!("declined: {code}")),
                    other => CommerceError::Payment(other.to_string()),
                });
            }
        };
        let mut tx = self.store().pool().begin().await?;
        if action == Action::Cancel {
            restock_in(&mut tx, &order.lines()).await?;
        }
        if !self.append_in(&mut tx, &order, Some(key), &events).await? {
            // Only a stale-claim sweep racing this very call gets here; it appended the same.
            tx.rollback().await?;
            return Err(CommerceError::OrderBusy(order.number));
        }
        tx.commit().await?;
        self.existing_order(&order.id).await
    }

    /// Finishes the changes whose claim is older than `before_ms` (their process died between
    /// the claim and the append), with the claim's key.
    ///
    /// # Errors
    /// A query failure (a provider refusal releases the claim and is reported by the count).
    pub async fn finish_stale_claims(&self, before_ms: i64) -> Result<usize, CommerceError> {
        let mut finished = 0;
        for order_id in self.store().stale_claims(before_ms).await? {
            let order = self.existing_order(&order_id).await?;
            let Some(key) = order.pending_action.clone() else { continue };
            match Action::parse(&key) {
                Some(action) => {
                    if self.finish_claimed(order, action, &key).await.is_ok() {
                        finished += 1;
                    }
                }
                None => self.store().release_order(&order_id, &key).await?,
            }
        }
        Ok(finished)
    }

    /// Appends `events` (with their outbox messages) to `order` at its version inside `tx`;
    /// `false` when another change came first.
    pub(crate) async fn append_in(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        order: &Order,
        claim: Option<&str>,
        events: &[(&str, serde_json::Value)],
    ) -> Result<bool, CommerceError> {
        if !append_events_at(tx, &order.id, order.version, claim, events).await? {
            return Ok(false);
        }
        for (kind, data) in events {
            let message = serde_json::json!({
                "type": format!("order_{kind}"), "event_id": uuid::Uuid::now_v7().to_string(),
                "order_id": order.id, "number": order.number, "data": data,
            });
            outbox::append(tx, ORDERS_TOPIC, &order.id, &message).await?;
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_claim_key_names_its_action() {
        for action in [Action::Capture, Action::Ship, Action::Refund(1250), Action::Cancel] {
            assert_eq!(Action::parse(&action.key("ord_1")), Some(action));
        }
        assert_eq!(Action::parse("whatever"), None);
    }
}
