//! Payments: the [`PaymentProvider`] trait a provider adapter implements (its shape is Stripe's
//! and Adyen's: authorise with an idempotency key, confirm after the shopper's authentication,
//! capture, void, refund, look up by key; asynchronous events by signed webhook — see
//! `docs/payments.md` for the mapping), and [`SimulatedGateway`], a built-in provider that
//! behaves like a real one for development and tests.
//!
//! **No card data reaches the shop.** A checkout names a *payment method* the provider tokenised
//! in the shopper's browser (`pm_…`, as Stripe.js makes); the provider tells the shop the card's
//! brand and last four digits, nothing more.
//!
//! Every call that moves money carries an idempotency key: asking twice with one key gives the
//! same result and moves the money once; after a timeout or a crash the saga looks the
//! authorisation's key up ([`PaymentProvider::find`]) to learn whether money is held.
//!
//! Payment methods of the simulated provider — Stripe's test payment methods, with the outcomes
//! Stripe documents, plus two of Vitrine's own for failures Stripe has no method for:
//!
//! | payment method | card | outcome |
//! | --- | --- | --- |
//! | `pm_card_visa` | visa 4242 | authorised |
//! | `pm_card_mastercard` | mastercard 4444 | authorised |
//! | `pm_card_chargeDeclined` | visa 0002 | declined (`card_declined`, decline code `generic_decline`) |
//! | `pm_card_chargeDeclinedInsufficientFunds` | visa 9995 | declined (`insufficient_funds`) |
//! | `pm_card_chargeDeclinedFraudulent` | visa 0019 | declined (`fraudulent`) |
//! | `pm_card_chargeDeclinedExpiredCard` | visa 0069 | declined (`expired_card`) |
//! | `pm_card_chargeDeclinedProcessingError` | visa 0119 | error (`processing_error`), nothing held |
//! | `pm_card_authenticationRequired` | visa 3184 | **3-D Secure**: `requires_action` until the shopper authenticates; then authorised (or `authentication_failed`) |
//! | `pm_vitrine_timeout` | visa 0408 | **timeout**: the provider authorises, the answer never arrives |
//! | `pm_vitrine_late` | visa 0416 | **pending**: authorised a moment later, told by webhook |
//!
//! Any other id is unknown to the provider (`payment_method_invalid`). Authorisations expire after
//! the provider's TTL (7 days by default, as card networks do) unless captured.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Where an authorisation stands at the provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    /// The shopper must authenticate (3-D Secure) before money is held.
    RequiresAction,
    /// The provider has not decided yet; it tells the shop by webhook.
    Pending,
    /// Money held on the card.
    Authorized,
    /// Taken (fully or partly).
    Captured,
    /// The hold was lifted.
    Voided,
    /// The hold ran out before a capture.
    Expired,
    /// Refused after all (failed authentication); nothing held.
    Failed,
}

/// What the provider says about the card behind a payment method (never its number).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardDetails {
    /// `visa`, `mastercard`, …
    pub brand: String,
    /// The last four digits.
    pub last4: String,
}

/// An authorisation as the provider knows it (Stripe: a PaymentIntent with manual capture).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Authorization {
    /// The provider's id.
    pub id: String,
    /// The key it was asked with (the checkout id).
    pub idempotency_key: String,
    /// Amount held (minor units).
    pub amount_cents: i64,
    /// ISO 4217.
    pub currency: String,
    /// Its state.
    pub status: PaymentStatus,
    /// Captured so far.
    pub captured_cents: i64,
    /// Refunded so far.
    pub refunded_cents: i64,
    /// When the hold runs out (ms since the epoch).
    pub expires_at_ms: i64,
    /// The card, as the provider describes it.
    pub card: Option<CardDetails>,
    /// With [`PaymentStatus::RequiresAction`]: where the shopper authenticates.
    pub next_action_url: Option<String>,
    /// With [`PaymentStatus::Failed`]: why (`authentication_failed`).
    pub failure: Option<String>,
}

/// What an authorisation asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizeRequest {
    /// One key per checkout: the same key gives the same authorisation.
    pub idempotency_key: String,
    /// Minor units.
    pub amount_cents: i64,
    /// ISO 4217.
    pub currency: String,
    /// The payment method the provider tokenised in the browser (`pm_…`).
    pub payment_method: String,
}

/// A refund as the provider made it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refund {
    /// The provider's id of the refund.
    pub id: String,
    /// Minor units given back.
    pub amount_cents: i64,
    /// The authorisation after it.
    pub authorization: Authorization,
}

/// What an asynchronous provider event says happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProviderEventKind {
    /// Money is now held (a pending authorisation went through).
    Authorized,
    /// Money was taken.
    Captured,
    /// Money was given back (by the shop, or outside it: the provider's dashboard).
    Refunded,
    /// The shopper disputed the charge with their bank.
    Disputed,
    /// The hold ran out before a capture.
    AuthorizationExpired,
}

/// An asynchronous event of the provider, as its webhook delivers it (the body that is signed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ProviderEvent {
    /// Unique per event: applied once.
    pub id: String,
    /// What happened.
    #[serde(rename = "type")]
    pub kind: ProviderEventKind,
    /// The authorisation it concerns.
    pub authorization_id: String,
    /// That authorisation's idempotency key (the checkout id).
    pub idempotency_key: String,
    /// The amount concerned (minor units): captured, refunded or disputed.
    pub amount_cents: i64,
    /// The provider's id of a refund.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_id: Option<String>,
    /// When it happened (ms since the epoch).
    pub created_ms: i64,
}

/// Why a provider call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PaymentError {
    /// The card was refused; nothing is held. The code is the provider's (`card_declined`, …).
    #[error("payment declined: {0}")]
    Declined(String),
    /// No answer in time: money may or may not be held (look the key up).
    #[error("the payment provider did not answer in time")]
    Timeout,
    /// The provider failed; nothing is held.
    #[error("payment provider error: {0}")]
    Gateway(String),
    /// No such authorisation.
    #[error("authorisation `{0}` not found")]
    NotFound(String),
    /// The authorisation cannot do that now (capture after a void, refund above the capture, …).
    #[error("{0}")]
    InvalidState(String),
}

/// A payment provider (Stripe, Adyen, … or the simulated one).
pub trait PaymentProvider: Send + Sync + 'static {
    /// The provider's name in webhook URLs (`/v1/webhooks/payments/{name}`).
    fn name(&self) -> &'static str;
    /// Holds money with a tokenised payment method; the answer may ask for the shopper's
    /// authentication ([`PaymentStatus::RequiresAction`]) or come later ([`PaymentStatus::Pending`]).
    fn authorize(&self, request: &AuthorizeRequest)
    -> impl Future<Output = Result<Authorization, PaymentError>> + Send;
    /// After the shopper's authentication: the authorisation as it now stands.
    fn confirm(&self, id: &str) -> impl Future<Output = Result<Authorization, PaymentError>> + Send;
    /// Takes `amount_cents` of an authorisation (at most what is held); once per `key`.
    fn capture(
        &self,
        id: &str,
        amount_cents: i64,
        key: &str,
    ) -> impl Future<Output = Result<Authorization, PaymentError>> + Send;
    /// Lifts the hold of an authorisation not captured (held or still waiting for the shopper).
    fn void(&self, id: &str, key: &str) -> impl Future<Output = Result<Authorization, PaymentError>> + Send;
    /// Gives back `amount_cents` of what was captured; once per `key`.
    fn refund(
        &self,
        id: &str,
        amount_cents: i64,
        key: &str,
    ) -> impl Future<Output = Result<Refund, PaymentError>> + Send;
    /// The authorisation asked with `idempotency_key`, if the provider has one.
    fn find(&self, idempotency_key: &str) -> impl Future<Output = Result<Option<Authorization>, PaymentError>> + Send;
    /// Every authorisation still holding money, or waiting to (for reconciliation).
    fn open_authorizations(&self) -> impl Future<Output = Result<Vec<Authorization>, PaymentError>> + Send;
}

/// Settings of [`SimulatedGateway`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GatewaySettings {
    /// Delay of every call.
    pub latency: Duration,
    /// Share of authorisations that fail with `processing_error` whatever the method (0–1).
    pub failure_rate: f64,
    /// How long an authorisation holds money.
    pub authorization_ttl: Duration,
    /// How long a `pm_vitrine_late` authorisation stays pending.
    pub late_answer: Duration,
}

impl Default for GatewaySettings {
    fn default() -> Self {
        GatewaySettings {
            latency: Duration::ZERO,
            failure_rate: 0.0,
            authorization_ttl: Duration::from_secs(7 * 24 * 3600),
            late_answer: Duration::from_millis(300),
        }
    }
}

/// The built-in provider: in memory, shared by clones (it plays a remote service, which outlives
/// a crash of the shop's process). Its asynchronous events wait in a queue
/// ([`SimulatedGateway::next_events`]) for the shop's webhook delivery.
#[derive(Debug, Clone, Default)]
pub struct SimulatedGateway {
    settings: GatewaySettings,
    state: Arc<Mutex<GatewayState>>,
    events_ready: Arc<tokio::sync::Notify>,
}

#[derive(Debug, Default)]
struct GatewayState {
    by_id: HashMap<String, Authorization>,
    by_key: HashMap<String, String>,
    /// Captures and voids by their key: the authorisation they left.
    operations: HashMap<String, Authorization>,
    /// Refunds by their key.
    refunds: HashMap<String, Refund>,
    /// Events not yet delivered.
    events: VecDeque<ProviderEvent>,
    /// Authorisations that held money, ever (to count double charges in tests).
    holds_made: u64,
    calls: u64,
}

/// What a payment method asks the simulated provider for.
enum MethodOutcome {
    Authorize,
    Decline(&'static str),
    ProcessingError,
    AuthenticationRequired,
    Timeout,
    Late,
}

/// The simulated provider's payment methods: outcome and card.
fn method(payment_method: &str) -> Option<(MethodOutcome, &'static str, &'static str)> {
    Some(match payment_method {
        "pm_card_visa" => (MethodOutcome::Authorize, "visa", "4242"),
        "pm_card_mastercard" => (MethodOutcome::Authorize, "mastercard", "4444"),
        "pm_card_chargeDeclined" => (MethodOutcome::Decline("card_declined"), "visa", "0002"),
        "pm_card_chargeDeclinedInsufficientFunds" => (MethodOutcome::Decline("insufficient_funds"), "visa", "9995"),
        "pm_card_chargeDeclinedFraudulent" => (MethodOutcome::Decline("fraudulent"), "visa", "0019"),
        "pm_card_chargeDeclinedExpiredCard" => (MethodOutcome::Decline("expired_card"), "visa", "0069"),
        "pm_card_chargeDeclinedProcessingError" => (MethodOutcome::ProcessingError, "visa", "0119"),
        "pm_card_authenticationRequired" => (MethodOutcome::AuthenticationRequired, "visa", "3184"),
        "pm_vitrine_timeout" => (MethodOutcome::Timeout, "visa", "0408"),
        "pm_vitrine_late" => (MethodOutcome::Late, "visa", "0416"),
        _ => return None,
    })
}

impl SimulatedGateway {
    /// A provider with these settings.
    pub fn new(settings: GatewaySettings) -> SimulatedGateway {
        SimulatedGateway { settings, ..SimulatedGateway::default() }
    }

    /// How many authorisations held money, ever (a double charge shows here).
    pub fn holds_made(&self) -> u64 {
        self.lock().holds_made
    }

    /// How many calls were made.
    pub fn calls(&self) -> u64 {
        self.lock().calls
    }

    /// The authorisation `id` as the provider sees it.
    pub fn authorization(&self, id: &str) -> Option<Authorization> {
        self.lock().by_id.get(id).cloned()
    }

    /// The shopper's answer to the 3-D Secure challenge of `id` (what the issuer's page does):
    /// passed, the money is held; failed, the authorisation fails with `authentication_failed`.
    ///
    /// # Errors
    /// No such authorisation, or one that asks for no authentication.
    pub fn authenticate(&self, id: &str, passed: bool) -> Result<Authorization, PaymentError> {
        let mut state = self.lock();
        let authorization = state.by_id.get_mut(id).ok_or_else(|| PaymentError::NotFound(id.to_owned()))?;
        if authorization.status != PaymentStatus::RequiresAction {
            return Err(PaymentError::InvalidState(format!("{:?}: no authentication pending", authorization.status)));
        }
        authorization.next_action_url = None;
        if passed {
            authorization.status = PaymentStatus::Authorized;
        } else {
            authorization.status = PaymentStatus::Failed;
            authorization.failure = Some("authentication_failed".into());
        }
        let authorization = authorization.clone();
        if passed {
            state.holds_made += 1;
        }
        Ok(authorization)
    }

    /// Lets time pass for the holds: authorisations past their expiry become `Expired` (each
    /// told by an `authorization_expired` event).
    pub fn expire(&self, now_ms: i64) {
        let mut state = self.lock();
        let mut expired = Vec::new();
        for authorization in state.by_id.values_mut() {
            if authorization.status == PaymentStatus::Authorized && authorization.expires_at_ms <= now_ms {
                authorization.status = PaymentStatus::Expired;
                expired.push(authorization.clone());
            }
        }
        for authorization in expired {
            push_event(&mut state, ProviderEventKind::AuthorizationExpired, &authorization, 0, None);
        }
        drop(state);
        self.events_ready.notify_one();
    }

    /// The shopper disputes the charge `id` with their bank (told by a `disputed` event).
    ///
    /// # Errors
    /// No such authorisation, or nothing captured to dispute.
    pub fn dispute(&self, id: &str) -> Result<(), PaymentError> {
        let mut state = self.lock();
        let authorization = state.by_id.get(id).cloned().ok_or_else(|| PaymentError::NotFound(id.to_owned()))?;
        if authorization.captured_cents == 0 {
            return Err(PaymentError::InvalidState("nothing captured to dispute".into()));
        }
        let amount = authorization.captured_cents - authorization.refunded_cents;
        push_event(&mut state, ProviderEventKind::Disputed, &authorization, amount, None);
        drop(state);
        self.events_ready.notify_one();
        Ok(())
    }

    /// A refund made outside the shop (the provider's dashboard), told by a `refunded` event.
    ///
    /// # Errors
    /// As [`PaymentProvider::refund`].
    pub fn refund_outside(&self, id: &str, amount_cents: i64) -> Result<Refund, PaymentError> {
        self.refund_now(id, amount_cents, &format!("dashboard_{}", uuid::Uuid::now_v7().simple()))
    }

    /// The events not yet delivered, oldest first (taken from the queue).
    pub fn take_events(&self) -> Vec<ProviderEvent> {
        self.lock().events.drain(..).collect()
    }

    /// Waits until events are queued, and takes them.
    pub async fn next_events(&self) -> Vec<ProviderEvent> {
        loop {
            let notified = self.events_ready.notified();
            let events = self.take_events();
            if !events.is_empty() {
                return events;
            }
            notified.await;
        }
    }

    /// Puts events back at the front of the queue (a delivery that failed is retried).
    pub fn requeue(&self, events: Vec<ProviderEvent>) {
        let mut state = self.lock();
        for event in events.into_iter().rev() {
            state.events.push_front(event);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, GatewayState> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    async fn pause(&self) {
        if !self.settings.latency.is_zero() {
            tokio::time::sleep(self.settings.latency).await;
        }
    }

    fn random_failure(&self) -> bool {
        self.settings.failure_rate > 0.0 && {
            let bits = uuid::Uuid::new_v4().as_u128() as u64;
            (bits as f64 / u64::MAX as f64) < self.settings.failure_rate
        }
    }

    fn update(
        &self,
        id: &str,
        key: &str,
        change: impl FnOnce(&mut Authorization) -> Result<Option<(ProviderEventKind, i64)>, PaymentError>,
    ) -> Result<Authorization, PaymentError> {
        let mut state = self.lock();
        state.calls += 1;
        if let Some(done) = state.operations.get(key) {
            return Ok(done.clone());
        }
        let authorization = state.by_id.get_mut(id).ok_or_else(|| PaymentError::NotFound(id.to_owned()))?;
        if authorization.status == PaymentStatus::Authorized && authorization.expires_at_ms <= now_ms() {
            authorization.status = PaymentStatus::Expired;
        }
        let event = change(authorization)?;
        let authorization = authorization.clone();
        state.operations.insert(key.to_owned(), authorization.clone());
        if let Some((kind, amount)) = event {
            push_event(&mut state, kind, &authorization, amount, None);
            drop(state);
            self.events_ready.notify_one();
        }
        Ok(authorization)
    }

    fn refund_now(&self, id: &str, amount_cents: i64, key: &str) -> Result<Refund, PaymentError> {
        let mut state = self.lock();
        state.calls += 1;
        if let Some(done) = state.refunds.get(key) {
            return Ok(done.clone());
        }
        let authorization = state.by_id.get_mut(id).ok_or_else(|| PaymentError::NotFound(id.to_owned()))?;
        let refundable = authorization.captured_cents - authorization.refunded_cents;
        if authorization.status != PaymentStatus::Captured || amount_cents <= 0 || amount_cents > refundable {
            return Err(PaymentError::InvalidState(format!("cannot refund {amount_cents}; {refundable} refundable")));
        }
        authorization.refunded_cents += amount_cents;
        let refund = Refund {
            id: format!("re_{}", uuid::Uuid::now_v7().simple()),
            amount_cents,
            authorization: authorization.clone(),
        };
        state.refunds.insert(key.to_owned(), refund.clone());
        push_event(&mut state, ProviderEventKind::Refunded, &refund.authorization, amount_cents, Some(&refund.id));
        drop(state);
        self.events_ready.notify_one();
        Ok(refund)
    }
}

fn push_event(
    state: &mut GatewayState,
    kind: ProviderEventKind,
    authorization: &Authorization,
    amount_cents: i64,
    refund_id: Option<&str>,
) {
    state.events.push_back(ProviderEvent {
        id: format!("evt_{}", uuid::Uuid::now_v7().simple()),
        kind,
        authorization_id: authorization.id.clone(),
        idempotency_key: authorization.idempotency_key.clone(),
        amount_cents,
        refund_id: refund_id.map(str::to_owned),
        created_ms: now_ms(),
    });
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl PaymentProvider for SimulatedGateway {
    fn name(&self) -> &'static str {
        "simulated"
    }

    async fn authorize(&self, request: &AuthorizeRequest) -> Result<Authorization, PaymentError> {
        self.pause().await;
        if request.amount_cents <= 0 {
            return Err(PaymentError::InvalidState("the amount must be positive".into()));
        }
        let (outcome, brand, last4) =
            method(&request.payment_method).ok_or_else(|| PaymentError::Declined("payment_method_invalid".into()))?;
        let mut state = self.lock();
        state.calls += 1;
        if let Some(id) = state.by_key.get(&request.idempotency_key)
            && let Some(existing) = state.by_id.get(id)
        {
            return Ok(existing.clone());
        }
        match outcome {
            MethodOutcome::Decline(code) => return Err(PaymentError::Declined(code.into())),
            MethodOutcome::ProcessingError => return Err(PaymentError::Gateway("processing_error".into())),
            _ if self.random_failure() => return Err(PaymentError::Gateway("processing_error".into())),
            _ => {}
        }
        let ttl = i64::try_from(self.settings.authorization_ttl.as_millis()).unwrap_or(i64::MAX / 2);
        let id = format!("pi_{}", uuid::Uuid::now_v7().simple());
        let (status, next_action_url) = match outcome {
            MethodOutcome::AuthenticationRequired => {
                (PaymentStatus::RequiresAction, Some(format!("/v1/payments/simulated/authenticate/{id}")))
            }
            MethodOutcome::Late => (PaymentStatus::Pending, None),
            _ => (PaymentStatus::Authorized, None),
        };
        let authorization = Authorization {
            id,
            idempotency_key: request.idempotency_key.clone(),
            amount_cents: request.amount_cents,
            currency: request.currency.clone(),
            status,
            captured_cents: 0,
            refunded_cents: 0,
            expires_at_ms: now_ms() + ttl,
            card: Some(CardDetails { brand: brand.into(), last4: last4.into() }),
            next_action_url,
            failure: None,
        };
        state.by_key.insert(request.idempotency_key.clone(), authorization.id.clone());
        state.by_id.insert(authorization.id.clone(), authorization.clone());
        if status == PaymentStatus::Authorized {
            state.holds_made += 1;
        }
        drop(state);
        match outcome {
            MethodOutcome::Timeout => Err(PaymentError::Timeout),
            MethodOutcome::Late => {
                // The provider decides later and says so by webhook.
                let gateway = self.clone();
                let id = authorization.id.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(gateway.settings.late_answer).await;
                    let mut state = gateway.lock();
                    let Some(pending) = state.by_id.get_mut(&id) else { return };
                    if pending.status != PaymentStatus::Pending {
                        return;
                    }
                    pending.status = PaymentStatus::Authorized;
                    let authorized = pending.clone();
                    state.holds_made += 1;
                    push_event(&mut state, ProviderEventKind::Authorized, &authorized, authorized.amount_cents, None);
                    drop(state);
                    gateway.events_ready.notify_one();
                });
                Ok(authorization)
            }
            _ => Ok(authorization),
        }
    }

    async fn confirm(&self, id: &str) -> Result<Authorization, PaymentError> {
        self.pause().await;
        let mut state = self.lock();
        state.calls += 1;
        let authorization = state.by_id.get_mut(id).ok_or_else(|| PaymentError::NotFound(id.to_owned()))?;
        if authorization.status == PaymentStatus::Authorized && authorization.expires_at_ms <= now_ms() {
            authorization.status = PaymentStatus::Expired;
        }
        Ok(authorization.clone())
    }

    async fn capture(&self, id: &str, amount_cents: i64, key: &str) -> Result<Authorization, PaymentError> {
        self.pause().await;
        self.update(id, key, |authorization| {
            if authorization.status != PaymentStatus::Authorized {
                return Err(PaymentError::InvalidState(format!(
                    "cannot capture a {:?} authorisation",
                    authorization.status
                )));
            }
            if amount_cents <= 0 || amount_cents > authorization.amount_cents {
                return Err(PaymentError::InvalidState(format!(
                    "cannot capture {amount_cents} of {}",
                    authorization.amount_cents
                )));
            }
            authorization.captured_cents = amount_cents;
            authorization.status = PaymentStatus::Captured;
            Ok(Some((ProviderEventKind::Captured, amount_cents)))
        })
    }

    async fn void(&self, id: &str, key: &str) -> Result<Authorization, PaymentError> {
        self.pause().await;
        self.update(id, key, |authorization| match authorization.status {
            PaymentStatus::Authorized | PaymentStatus::RequiresAction | PaymentStatus::Pending => {
                authorization.status = PaymentStatus::Voided;
                authorization.next_action_url = None;
                Ok(None)
            }
            PaymentStatus::Voided | PaymentStatus::Expired | PaymentStatus::Failed => Ok(None),
            PaymentStatus::Captured => Err(PaymentError::InvalidState("captured: refund instead".into())),
        })
    }

    async fn refund(&self, id: &str, amount_cents: i64, key: &str) -> Result<Refund, PaymentError> {
        self.pause().await;
        self.refund_now(id, amount_cents, key)
    }

    async fn find(&self, idempotency_key: &str) -> Result<Option<Authorization>, PaymentError> {
        self.pause().await;
        let state = self.lock();
        Ok(state.by_key.get(idempotency_key).and_then(|id| state.by_id.get(id)).cloned())
    }

    async fn open_authorizations(&self) -> Result<Vec<Authorization>, PaymentError> {
        self.pause().await;
        let now = now_ms();
        let mut open: Vec<Authorization> = self
            .lock()
            .by_id
            .values()
            .filter(|authorization| match authorization.status {
                PaymentStatus::Authorized => authorization.expires_at_ms > now,
                PaymentStatus::RequiresAction | PaymentStatus::Pending => true,
                _ => false,
            })
            .cloned()
            .collect();
        open.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(open)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(key: &str, method: &str) -> AuthorizeRequest {
        AuthorizeRequest {
            idempotency_key: key.into(),
            amount_cents: 1_000,
            currency: "GBP".into(),
            payment_method: method.into(),
        }
    }

    #[tokio::test]
    async fn test_payment_methods_behave_as_documented() {
        let gateway = SimulatedGateway::default();
        let ok = gateway.authorize(&request("a", "pm_card_visa")).await.expect("authorised");
        assert_eq!(ok.status, PaymentStatus::Authorized);
        assert_eq!(ok.card, Some(CardDetails { brand: "visa".into(), last4: "4242".into() }));
        assert_eq!(gateway.authorize(&request("a", "pm_card_visa")).await.expect("same key"), ok, "idempotent");
        let mastercard = gateway.authorize(&request("m", "pm_card_mastercard")).await.expect("authorised");
        assert_eq!(mastercard.card.map(|card| card.brand), Some("mastercard".into()));
        for (method, code) in [
            ("pm_card_chargeDeclined", "card_declined"),
            ("pm_card_chargeDeclinedInsufficientFunds", "insufficient_funds"),
            ("pm_card_chargeDeclinedFraudulent", "fraudulent"),
            ("pm_card_chargeDeclinedExpiredCard", "expired_card"),
            ("pm_nonsense", "payment_method_invalid"),
            ("4242424242424242", "payment_method_invalid"),
        ] {
            assert_eq!(gateway.authorize(&request(method, method)).await, Err(PaymentError::Declined(code.into())));
        }
        assert_eq!(
            gateway.authorize(&request("d", "pm_card_chargeDeclinedProcessingError")).await,
            Err(PaymentError::Gateway("processing_error".into()))
        );
        // A timeout holds money all the same: the key finds it.
        assert_eq!(gateway.authorize(&request("f", "pm_vitrine_timeout")).await, Err(PaymentError::Timeout));
        assert_eq!(gateway.find("f").await.expect("find").map(|a| a.status), Some(PaymentStatus::Authorized));
        assert_eq!(gateway.holds_made(), 3);

        // Capture once per key, partial refunds once per key, void rules.
        let captured = gateway.capture(&ok.id, 1_000, "cap-1").await.expect("capture");
        assert_eq!(captured.status, PaymentStatus::Captured);
        assert_eq!(gateway.capture(&ok.id, 1_000, "cap-1").await.expect("the same capture"), captured);
        let refund = gateway.refund(&ok.id, 300, "re-1").await.expect("refund");
        assert_eq!(gateway.refund(&ok.id, 300, "re-1").await.expect("replayed"), refund);
        assert_eq!(gateway.authorization(&ok.id).map(|a| a.refunded_cents), Some(300), "refunded once");
        assert!(gateway.refund(&ok.id, 800, "re-2").await.is_err(), "more than is left");
        assert!(gateway.void(&ok.id, "void-1").await.is_err(), "captured: refund instead");
        let timed_out = gateway.find("f").await.expect("find").expect("exists");
        assert_eq!(gateway.void(&timed_out.id, "void-2").await.expect("void").status, PaymentStatus::Voided);
        assert!(gateway.capture(&timed_out.id, 1_000, "cap-2").await.is_err());
        let events = gateway.take_events();
        let kinds: Vec<_> = events.iter().map(|event| event.kind).collect();
        assert_eq!(kinds, [ProviderEventKind::Captured, ProviderEventKind::Refunded], "one event per money move");
    }

    #[tokio::test]
    async fn three_d_secure_waits_for_the_shopper() {
        let gateway = SimulatedGateway::default();
        let asked = gateway.authorize(&request("3ds", "pm_card_authenticationRequired")).await.expect("asked");
        assert_eq!(asked.status, PaymentStatus::RequiresAction);
        assert!(asked.next_action_url.as_deref().is_some_and(|url| url.contains(&asked.id)));
        assert_eq!(gateway.holds_made(), 0, "nothing held before the authentication");
        assert_eq!(gateway.confirm(&asked.id).await.expect("confirm").status, PaymentStatus::RequiresAction);
        gateway.authenticate(&asked.id, true).expect("passed");
        assert_eq!(gateway.confirm(&asked.id).await.expect("confirm").status, PaymentStatus::Authorized);
        assert_eq!(gateway.holds_made(), 1);

        let failed = gateway.authorize(&request("3ds-2", "pm_card_authenticationRequired")).await.expect("asked");
        gateway.authenticate(&failed.id, false).expect("failed");
        let after = gateway.confirm(&failed.id).await.expect("confirm");
        assert_eq!((after.status, after.failure.as_deref()), (PaymentStatus::Failed, Some("authentication_failed")));
    }

    #[tokio::test]
    async fn a_late_answer_comes_by_event() {
        let gateway = SimulatedGateway::new(GatewaySettings {
            late_answer: Duration::from_millis(20),
            ..GatewaySettings::default()
        });
        let pending = gateway.authorize(&request("late", "pm_vitrine_late")).await.expect("pending");
        assert_eq!(pending.status, PaymentStatus::Pending);
        let events = tokio::time::timeout(Duration::from_secs(5), gateway.next_events()).await.expect("in time");
        assert_eq!(events.len(), 1);
        assert_eq!((events[0].kind, events[0].idempotency_key.as_str()), (ProviderEventKind::Authorized, "late"));
        assert_eq!(gateway.find("late").await.expect("find").map(|a| a.status), Some(PaymentStatus::Authorized));
    }

    #[tokio::test]
    async fn authorisations_expire() {
        let gateway = SimulatedGateway::new(GatewaySettings {
            authorization_ttl: Duration::from_millis(1),
            ..Default::default()
        });
        let authorization = gateway.authorize(&request("k", "pm_card_visa")).await.expect("authorised");
        tokio::time::sleep(Duration::from_millis(5)).await;
        assert!(matches!(gateway.capture(&authorization.id, 1_000, "c").await, Err(PaymentError::InvalidState(_))));
        assert!(gateway.open_authorizations().await.expect("list").is_empty());
    }
}
