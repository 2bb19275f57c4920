//! The payment provider's side of the API:
//! - `POST /v1/webhooks/payments/{provider}` (no API key: the signature is the credential): an
//!   event whose `Vitrine-Signature` (or `Stripe-Signature`) verifies within the tolerance window
//!   is applied exactly once (`vitrine_commerce`'s webhooks module); `200 {received, result}`,
//!   `400 invalid_webhook_signature`, or `409 order_busy` while the order it concerns is being
//!   changed (the provider delivers it again).
//! - `GET|POST /v1/payments/simulated/authenticate/{id}`: the simulated provider's 3-D Secure
//!   page (what a card issuer shows the shopper), with "Complete" and "Fail" — a development
//!   stand-in that a real provider serves itself.
//! - [`deliver_simulated`]: the simulated provider's webhook deliveries, signed, to the route
//!   above through the server's own router; a delivery answered with an error is retried with
//!   back-off, as providers do.

use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Request, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tower::ServiceExt;
use vitrine_commerce::{EventOutcome, PaymentProvider, PaymentStatus, ProviderEvent, sign_webhook, verify_webhook};

use crate::http::error::{ApiError, ErrorCode};
use crate::http::extract::ApiJson;
use crate::http::state::AppState;

/// A webhook's receipt.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WebhookReceipt {
    /// Always `true`.
    received: bool,
    /// The event's id.
    event: String,
    /// What applying it did (`applied`, `duplicate`, or `noted` with a `detail`).
    outcome: EventOutcome,
}

/// The `Vitrine-Signature` header of a webhook.
const SIGNATURE: &str = "`t=TIMESTAMP,v1=HEX[,v1=HEX…]`, each `v1` the HMAC-SHA256 of `{TIMESTAMP}.{BODY}` under \
                         the webhook secret, the timestamp within 5 minutes of now.";

/// `POST /v1/webhooks/payments/{provider}`.
#[utoipa::path(post, path = "/v1/webhooks/payments/{provider}", operation_id = "receivePaymentWebhook", tag = "payments",
    params(("provider" = String, Path, description = "The payment provider (`simulated`)."), ("Vitrine-Signature" = Option<String>, Header, nullable = false, description = SIGNATURE), ("Stripe-Signature" = Option<String>, Header, nullable = false, description = "Accepted instead of `Vitrine-Signature` (Stripe's name), the same value.")),
    request_body(content = ProviderEvent, description = "The provider's event, exactly as signed."),
    responses((status = OK, description = "Received: applied, or already applied before (once per event id).", body = WebhookReceipt),
        (status = BAD_REQUEST, description = "`invalid_webhook_signature`: the signature is missing, wrong or outside the tolerance window; `malformed_payload`."),
        (status = NOT_FOUND, description = "`route_not_found`: no such payment provider."),
        (status = CONFLICT, description = "`order_busy`: the order it concerns is being changed (deliver it again)."),
        (status = BAD_GATEWAY, description = "`payment_gateway_error`: asking the provider about the checkout it concerns failed (deliver it again).")))]
pub async fn receive(
    State(state): State<AppState>,
    Path(provider): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let shop = state.commerce.get().await?;
    if provider != shop.checkout.gateway().name() {
        return Err(ApiError::new(ErrorCode::RouteNotFound, format!("no payment provider `{provider}`")));
    }
    let secret = state.access.simulated_webhook_secret().map_err(ApiError::internal)?;
    let signature = ["vitrine-signature", "stripe-signature"]
        .iter()
        .find_map(|name| headers.get(*name))
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    verify_webhook(secret.as_bytes(), signature, &body, chrono::Utc::now().timestamp())
        .map_err(|error| ApiError::new(ErrorCode::InvalidWebhookSignature, error.to_string()))?;
    let event: ProviderEvent =
        serde_json::from_slice(&body).map_err(|error| ApiError::new(ErrorCode::MalformedPayload, error.to_string()))?;
    // An order being changed answers 409 `order_busy`: the provider delivers the event again.
    let outcome = shop.checkout.apply_provider_event(&provider, &event).await?;
    Ok(ApiJson(WebhookReceipt { received: true, event: event.id, outcome }).into_response())
}

/// The simulated 3-D Secure page: `GET` shows it, `POST {"result": "passed" | "failed"}` answers.
#[utoipa::path(get, path = "/v1/payments/simulated/authenticate/{id}", operation_id = "simulatedAuthenticationPage", tag = "payments",
    params(("id" = String, Path, description = "The authorisation (from the checkout's `next_action.url`).")),
    responses((status = OK, description = "The simulated card issuer's page, with \"Complete\" and \"Fail\".", content_type = "text/html", body = String)))]
pub async fn authenticate_page(Path(id): Path<String>) -> Html<String> {
    let id = html_escape(&id);
    Html(format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>3-D Secure (simulated)</title>
<style>body{{font:16px system-ui;margin:2rem;max-width:32rem}}button{{font-size:1rem;margin-right:1rem;padding:.5rem 1rem}}</style></head>
<body><h1>Authenticate this payment</h1><p>Simulated card issuer (test mode). Payment <code>{id}</code>.</p>
<button id="complete" onclick="answer('passed')">Complete authentication</button>
<button id="fail" onclick="answer('failed')">Fail authentication</button><p id="result" role="status"></p>
<script>async function answer(result){{const r=await fetch(location.pathname,{{method:'POST',headers:{{'Content-Type':'application/json'}},body:JSON.stringify({{result}})}});
document.getElementById('result').textContent=r.ok?'Done: return to the shop.':'This payment asks for no authentication.';
if(window.opener||window.parent!==window){{(window.opener||window.parent).postMessage({{vitrine3ds:result}},'*')}}}}</script></body></html>"#
    ))
}

/// `POST /v1/payments/simulated/authenticate/{id}`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AuthenticationAnswer {
    /// `passed` or `failed`.
    #[schema(example = "passed")]
    result: String,
}

/// The authorisation after the shopper's answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AuthenticationResult {
    /// The authorisation.
    id: String,
    /// Where it now stands at the provider (`authorized` or `failed`).
    status: PaymentStatus,
}

/// `POST /v1/payments/simulated/authenticate/{id}`: the shopper's answer to the challenge.
#[utoipa::path(post, path = "/v1/payments/simulated/authenticate/{id}", operation_id = "simulatedAuthentication", tag = "payments",
    params(("id" = String, Path, description = "The authorisation.")),
    request_body = AuthenticationAnswer,
    responses((status = OK, body = AuthenticationResult),
        (status = BAD_REQUEST, description = "`invalid_parameter`: `result` is not `passed` or `failed`, or the payment asks for no authentication; `malformed_payload`.")))]
pub async fn authenticate(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiJson(answer): ApiJson<AuthenticationAnswer>,
) -> Result<ApiJson<AuthenticationResult>, ApiError> {
    let passed = match answer.result.as_str() {
        "passed" => true,
        "failed" => false,
        _ => return Err(ApiError::new(ErrorCode::InvalidParameter, "`result` is `passed` or `failed`")),
    };
    let shop = state.commerce.get().await?;
    let authorization = shop
        .checkout
        .gateway()
        .authenticate(&id, passed)
        .map_err(|error| ApiError::new(ErrorCode::InvalidParameter, error.to_string()))?;
    Ok(ApiJson(AuthenticationResult { id: authorization.id, status: authorization.status }))
}

fn html_escape(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '<' => "&lt;".to_owned(),
            '>' => "&gt;".to_owned(),
            '&' => "&amp;".to_owned(),
            '"' => "&quot;".to_owned(),
            '\'' => "&#39;".to_owned(),
            c => c.to_string(),
        })
        .collect()
}

/// Delivers the simulated provider's events, signed, to `/v1/webhooks/payments/simulated`
/// through `router`, while the server runs; an event answered with an error (409 while its order
/// is being changed) is retried with back-off, up to about a minute.
pub async fn deliver_simulated(router: Router, state: AppState) {
    let Ok(shop) = state.commerce.get().await else { return };
    let Ok(secret) = state.access.simulated_webhook_secret() else { return };
    let gateway = shop.checkout.gateway().clone();
    loop {
        for event in gateway.next_events().await {
            let router = router.clone();
            let secret = secret.clone();
            tokio::spawn(async move {
                let body = serde_json::to_vec(&event).unwrap_or_default();
                let mut pause = Duration::from_millis(100);
                for _ in 0..10 {
                    let signature = sign_webhook(secret.as_bytes(), chrono::Utc::now().timestamp(), &body);
                    let request = Request::post("/v1/webhooks/payments/simulated")
                        .header("content-type", "application/json")
                        .header("vitrine-signature", signature)
                        .body(Body::from(body.clone()));
                    let Ok(request) = request else { return };
                    match router.clone().oneshot(request).await {
                        Ok(response) if response.status() == StatusCode::OK => return,
                        Ok(response) => {
                            tracing::debug!(event = event.id, status = %response.status(), "webhook retried")
                        }
                        Err(error) => tracing::debug!(event = event.id, %error, "webhook retried"),
                    }
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(10));
                }
                tracing::warn!(event = event.id, "a payment webhook was not accepted after 10 deliveries");
            });
        }
    }
}
