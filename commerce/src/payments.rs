//! Payments: the [`PaymentProvider`] trait a gateway implements, and [`SimulatedGateway`], a
//! built-in gateway that behaves like a real one for development and tests.
//!
//! Every authorisation carries an idempotency key (the checkout id): asking twice with one key
//! gives the same authorisation, and after a timeout or a crash the saga looks the key up
//! ([`PaymentProvider::find`]) to learn whether money is held.
//!
//! Test cards of the simulated gateway (the numbers shops know from Stripe's test mode, plus
//! Vitrine's own for failures Stripe has no card for):
//!
//! | card | outcome |
//! | --- | --- |
//! | 4242 4242 4242 4242 | authorised |
//! | 4000 0000 0000 0002 | declined (`card_declined`) |
//! | 4000 0000 0000 9995 | declined (`insufficient_funds`) |
//! | 4000 0000 0000 0069 | declined (`expired_card`) |
//! | 4000 0000 0000 0119 | error (`processing_error`), nothing held |
//! | 4000 0000 0000 0408 | **timeout**: the gateway authorises, the answer never arrives |
//! | 4000 0000 0000 0416 | **late webhook**: authorised, but reported as pending; `find` sees it later |
//!
//! Any other number of 12–19 digits is authorised. Authorisations expire after the gateway's TTL
//! (7 days by default, as card networks do) unless captured.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;

/// Where an authorisation stands at the gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    /// Money held on the card.
    Authorized,
    /// Taken (fully or partly).
    Captured,
    /// The hold was lifted.
    Voided,
    /// The hold ran out before a capture.
    Expired,
}

/// An authorisation as the gateway knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Authorization {
    /// The gateway's id.
    pub id: String,
    /// The key it was asked with.
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
    /// The card number (digits; spaces are ignored).
    pub card_number: String,
}

/// Why a gateway call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PaymentError {
    /// The card was refused; nothing is held. The code is the gateway's (`card_declined`, …).
    #[error("payment declined: {0}")]
    Declined(String),
    /// No answer in time: money may or may not be held (look the key up).
    #[error("the payment gateway did not answer in time")]
    Timeout,
    /// The gateway failed; nothing is held.
    #[error("payment gateway error: {0}")]
    Gateway(String),
    /// No such authorisation.
    #[error("authorisation `{0}` not found")]
    NotFound(String),
    /// The authorisation cannot do that now (capture after a void, refund above the capture, …).
    #[error("{0}")]
    InvalidState(String),
}

/// A payment gateway.
pub trait PaymentProvider: Send + Sync + 'static {
    /// Holds money on a card.
    fn authorize(&self, request: &AuthorizeRequest)
    -> impl Future<Output = Result<Authorization, PaymentError>> + Send;
    /// Takes `amount_cents` of an authorisation (at most what is held).
    fn capture(&self, id: &str, amount_cents: i64) -> impl Future<Output = Result<Authorization, PaymentError>> + Send;
    /// Lifts the hold of an authorisation not captured.
    fn void(&self, id: &str) -> impl Future<Output = Result<Authorization, PaymentError>> + Send;
    /// Gives back `amount_cents` of what was captured.
    fn refund(&self, id: &str, amount_cents: i64) -> impl Future<Output = Result<Authorization, PaymentError>> + Send;
    /// The authorisation asked with `idempotency_key`, if the gateway has one.
    fn find(&self, idempotency_key: &str) -> impl Future<Output = Result<Option<Authorization>, PaymentError>> + Send;
    /// Every authorisation still holding money (for reconciliation).
    fn open_authorizations(&self) -> impl Future<Output = Result<Vec<Authorization>, PaymentError>> + Send;
}

/// Settings of [`SimulatedGateway`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GatewaySettings {
    /// Delay of every call.
    pub latency: Duration,
    /// Share of authorisations that fail with `processing_error` whatever the card (0–1).
    pub failure_rate: f64,
    /// How long an authorisation holds money.
    pub authorization_ttl: Duration,
}

impl Default for GatewaySettings {
    fn default() -> Self {
        GatewaySettings {
            latency: Duration::ZERO,
            failure_rate: 0.0,
            authorization_ttl: Duration::from_secs(7 * 24 * 3600),
        }
    }
}

/// The built-in gateway: in memory, shared by clones (it plays a remote service, which outlives
/// a crash of the shop's process).
#[derive(Debug, Clone, Default)]
pub struct SimulatedGateway {
    settings: GatewaySettings,
    state: Arc<Mutex<GatewayState>>,
}

#[derive(Debug, Default)]
struct GatewayState {
    by_id: HashMap<String, Authorization>,
    by_key: HashMap<String, String>,
    /// Calls to `authorize` that held money (to count double charges in tests).
    holds_made: u64,
    calls: u64,
}

/// The outcome a test card asks for.
enum CardOutcome {
    Authorize,
    Decline(&'static str),
    ProcessingError,
    Timeout,
    LateWebhook,
}

fn card_outcome(card_number: &str) -> Result<CardOutcome, PaymentError> {
    let digits: String = card_number.chars().filter(|c| !c.is_whitespace() && *c != '-').collect();
    if !(12..=19).contains(&digits.len()) || !digits.chars().all(|c| c.is_ascii_digit()) {
        return Err(PaymentError::Declined("invalid_number".into()));
    }
    Ok(match digits.as_str() {
        "4000000000000002" => CardOutcome::Decline("card_declined"),
        "4000000000009995" => CardOutcome::Decline("insufficient_funds"),
        "4000000000000069" => CardOutcome::Decline("expired_card"),
        "4000000000000119" => CardOutcome::ProcessingError,
        "4000000000000408" => CardOutcome::Timeout,
        "4000000000000416" => CardOutcome::LateWebhook,
        _ => CardOutcome::Authorize,
    })
}

impl SimulatedGateway {
    /// A gateway with these settings.
    pub fn new(settings: GatewaySettings) -> SimulatedGateway {
        SimulatedGateway { settings, state: Arc::default() }
    }

    /// How many authorisations held money, ever (a double charge shows here).
    pub fn holds_made(&self) -> u64 {
        self.lock().holds_made
    }

    /// How many calls were made.
    pub fn calls(&self) -> u64 {
        self.lock().calls
    }

    /// Lets time pass for the holds: authorisations past their expiry become `Expired`.
    pub fn expire(&self, now_ms: i64) {
        for authorization in self.lock().by_id.values_mut() {
            if authorization.status == PaymentStatus::Authorized && authorization.expires_at_ms <= now_ms {
                authorization.status = PaymentStatus::Expired;
            }
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
        change: impl FnOnce(&mut Authorization) -> Result<(), PaymentError>,
    ) -> Result<Authorization, PaymentError> {
        let mut state = self.lock();
        state.calls += 1;
        let authorization = state.by_id.get_mut(id).ok_or_else(|| PaymentError::NotFound(id.to_owned()))?;
        if authorization.status == PaymentStatus::Authorized && authorization.expires_at_ms <= now_ms() {
            authorization.status = PaymentStatus::Expired;
        }
        change(authorization)?;
        Ok(authorization.clone())
    }
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl PaymentProvider for SimulatedGateway {
    async fn authorize(&self, request: &AuthorizeRequest) -> Result<Authorization, PaymentError> {
        self.pause().await;
        if request.amount_cents <= 0 {
            return Err(PaymentError::InvalidState("the amount must be positive".into()));
        }
        let outcome = card_outcome(&request.card_number)?;
        let mut state = self.lock();
        state.calls += 1;
        if let Some(id) = state.by_key.get(&request.idempotency_key)
            && let Some(existing) = state.by_id.get(id)
        {
            return Ok(existing.clone());
        }
        match outcome {
            CardOutcome::Decline(code) => return Err(PaymentError::Declined(code.into())),
            CardOutcome::ProcessingError => return Err(PaymentError::Gateway("processing_error".into())),
            _ if self.random_failure() => return Err(PaymentError::Gateway("processing_error".into())),
            _ => {}
        }
        let ttl = i64::try_from(self.settings.authorization_ttl.as_millis()).unwrap_or(i64::MAX / 2);
        let authorization = Authorization {
            id: format!("auth_{}", uuid::Uuid::now_v7().simple()),
            idempotency_key: request.idempotency_key.clone(),
            amount_cents: request.amount_cents,
            currency: request.currency.clone(),
            status: PaymentStatus::Authorized,
            captured_cents: 0,
            refunded_cents: 0,
            expires_at_ms: now_ms() + ttl,
        };
        state.by_key.insert(request.idempotency_key.clone(), authorization.id.clone());
        state.by_id.insert(authorization.id.clone(), authorization.clone());
        state.holds_made += 1;
        match outcome {
            CardOutcome::Timeout => Err(PaymentError::Timeout),
            CardOutcome::LateWebhook => Err(PaymentError::Timeout),
            _ => Ok(authorization),
        }
    }

    async fn capture(&self, id: &str, amount_cents: i64) -> Result<Authorization, PaymentError> {
        self.pause().await;
        self.update(id, |authorization| {
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
            Ok(())
        })
    }

    async fn void(&self, id: &str) -> Result<Authorization, PaymentError> {
        self.pause().await;
        self.update(id, |authorization| match authorization.status {
            PaymentStatus::Authorized => {
                authorization.status = PaymentStatus::Voided;
                Ok(())
            }
            PaymentStatus::Voided | PaymentStatus::Expired => Ok(()),
            PaymentStatus::Captured => Err(PaymentError::InvalidState("captured: refund instead".into())),
        })
    }

    async fn refund(&self, id: &str, amount_cents: i64) -> Result<Authorization, PaymentError> {
        self.pause().await;
        self.update(id, |authorization| {
            let refundable = authorization.captured_cents - authorization.refunded_cents;
            if authorization.status != PaymentStatus::Captured || amount_cents <= 0 || amount_cents > refundable {
                return Err(PaymentError::InvalidState(format!(
                    "cannot refund {amount_cents}; {refundable} refundable"
                )));
            }
            authorization.refunded_cents += amount_cents;
            Ok(())
        })
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
            .filter(|authorization| {
                authorization.status == PaymentStatus::Authorized && authorization.expires_at_ms > now
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

    fn request(key: &str, card: &str) -> AuthorizeRequest {
        AuthorizeRequest {
            idempotency_key: key.into(),
            amount_cents: 1_000,
            currency: "GBP".into(),
            card_number: card.into(),
        }
    }

    #[tokio::test]
    async fn test_cards_behave_as_documented() {
        let gateway = SimulatedGateway::default();
        let ok = gateway.authorize(&request("a", "4242 4242 4242 4242")).await.expect("authorised");
        assert_eq!(ok.status, PaymentStatus::Authorized);
        assert_eq!(gateway.authorize(&request("a", "4242424242424242")).await.expect("same key"), ok, "idempotent");
        assert_eq!(
            gateway.authorize(&request("b", "4000000000000002")).await,
            Err(PaymentError::Declined("card_declined".into()))
        );
        assert_eq!(
            gateway.authorize(&request("c", "4000000000009995")).await,
            Err(PaymentError::Declined("insufficient_funds".into()))
        );
        assert_eq!(
            gateway.authorize(&request("d", "4000000000000119")).await,
            Err(PaymentError::Gateway("processing_error".into()))
        );
        assert_eq!(gateway.authorize(&request("e", "12")).await, Err(PaymentError::Declined("invalid_number".into())));
        // A timeout holds money all the same: the key finds it.
        assert_eq!(gateway.authorize(&request("f", "4000000000000408")).await, Err(PaymentError::Timeout));
        assert_eq!(gateway.find("f").await.expect("find").map(|a| a.status), Some(PaymentStatus::Authorized));
        assert_eq!(gateway.holds_made(), 2);
        assert_eq!(gateway.open_authorizations().await.expect("list").len(), 2);

        // Capture, partial refunds, void rules.
        let captured = gateway.capture(&ok.id, 1_000).await.expect("capture");
        assert_eq!(captured.status, PaymentStatus::Captured);
        assert_eq!(gateway.refund(&ok.id, 300).await.expect("refund").refunded_cents, 300);
        assert!(gateway.refund(&ok.id, 800).await.is_err(), "more than is left");
        assert!(gateway.void(&ok.id).await.is_err(), "captured: refund instead");
        let timed_out = gateway.find("f").await.expect("find").expect("exists");
        assert_eq!(gateway.void(&timed_out.id).await.expect("void").status, PaymentStatus::Voided);
        assert!(gateway.capture(&timed_out.id, 1_000).await.is_err());
        assert!(gateway.open_authorizations().await.expect("list").is_empty());
    }

    #[tokio::test]
    async fn authorisations_expire() {
        let gateway = SimulatedGateway::new(GatewaySettings {
            authorization_ttl: Duration::from_millis(1),
            ..Default::default()
        });
        let authorization = gateway.authorize(&request("k", "4242424242424242")).await.expect("authorised");
        tokio::time::sleep(Duration::from_millis(5)).await;
        assert!(matches!(gateway.capture(&authorization.id, 1_000).await, Err(PaymentError::InvalidState(_))));
        assert!(gateway.open_authorizations().await.expect("list").is_empty());
    }
}
