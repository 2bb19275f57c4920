//! `Idempotency-Key` with Stripe's semantics, for every POST that creates an order or moves
//! money: the first answer is stored and replayed (`Idempotent-Replayed: true`), a concurrent
//! request with the key gets 409, one with other parameters 422; keys are scoped by operation and
//! by the caller's API key. The store (`vitrine_commerce`'s idempotency table) keeps the answers.

use std::hash::{Hash, Hasher};

use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use vitrine_commerce::IdempotencyStart;

use crate::http::error::{ApiError, ErrorCode};
use crate::http::extract::ApiJson;
use crate::http::state::AppState;

/// Runs `work` once per `Idempotency-Key` (when the request has one): the first answer is
/// stored and replayed; a concurrent request with the key gets 409, one with other parameters 422.
pub(super) async fn idempotent<F, Fut>(
    state: &AppState,
    headers: &HeaderMap,
    operation: &str,
    params: &Value,
    work: F,
) -> Result<Response, ApiError>
where
    F: FnOnce(AppState, Value) -> Fut,
    Fut: Future<Output = Result<(StatusCode, Value), ApiError>>,
{
    let key = headers
        .get("idempotency-key")
        .and_then(|value| value.to_str().ok())
        .map(str::trim)
        .filter(|key| !key.is_empty());
    let Some(key) = key else {
        return match work(state.clone(), params.clone()).await {
            Ok((status, body)) => Ok((status, ApiJson(body)).into_response()),
            Err(error) => Err(error),
        };
    };
    if key.len() > 255 {
        return Err(ApiError::new(ErrorCode::InvalidParameter, "`Idempotency-Key` is at most 255 characters"));
    }
    let shop = state.commerce.get().await?;
    let scope = format!("{operation}:{}", caller_scope(headers));
    let hash = request_hash(params);
    match shop.store.idempotency_begin(&scope, key, &hash).await? {
        IdempotencyStart::Replay { status, body } => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let mut response = (status, [(axum::http::header::CONTENT_TYPE, "application/json")], body).into_response();
            response.headers_mut().insert("idempotent-replayed", axum::http::HeaderValue::from_static("true"));
            Ok(response)
        }
        IdempotencyStart::InFlight => {
            Err(ApiError::new(ErrorCode::IdempotencyKeyInUse, "a request with this Idempotency-Key is still running"))
        }
        IdempotencyStart::Mismatch => {
            Err(ApiError::new(ErrorCode::IdempotencyKeyReused, "this Idempotency-Key was used with other parameters"))
        }
        IdempotencyStart::Proceed => {
            let (status, body) = match work(state.clone(), params.clone()).await {
                Ok(answer) => answer,
                Err(error) if matches!(error.code, ErrorCode::Internal | ErrorCode::MalformedPayload) => {
                    // Not a decision worth replaying (Stripe saves no result for a request that
                    // failed validation or crashed): the next retry runs again.
                    shop.store.idempotency_abandon(&scope, key).await?;
                    return Err(error);
                }
                Err(error) => {
                    let (code, status, kind) = error.code.describe();
                    (status, json!({"message": error.message, "code": code, "type": kind}))
                }
            };
            let text = body.to_string();
            shop.store.idempotency_finish(&scope, key, status.as_u16(), &text).await?;
            Ok((status, [(axum::http::header::CONTENT_TYPE, "application/json")], text).into_response())
        }
    }
}

/// Keys are scoped per API key (its hash, never the key) — or shared when the server is open.
fn caller_scope(headers: &HeaderMap) -> String {
    match headers.get(axum::http::header::AUTHORIZATION).and_then(|value| value.to_str().ok()) {
        Some(token) => format!("key-{:016x}", stable_hash(token)),
        None => "open".to_owned(),
    }
}

/// A stable hash of a request's parameters (serde_json maps are sorted, so equal JSON hashes
/// equal).
fn request_hash(params: &Value) -> String {
    format!("{:016x}", stable_hash(&params.to_string()))
}

fn stable_hash(text: &str) -> u64 {
    // SipHash with fixed keys: the same text gives the same hash in every process.
    #[allow(deprecated)]
    let mut hasher = std::hash::SipHasher::new_with_keys(0x5649_5452, 0x494e_4521);
    text.hash(&mut hasher);
    hasher.finish()
}
