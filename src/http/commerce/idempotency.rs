//! `Idempotency-Key` as Stripe documents it, for every POST that creates an order or moves
//! money:
//! - a key is 1–255 printable ASCII characters; anything else is refused (400
//!   `invalid_idempotency_key`), never ignored;
//! - keys are scoped by operation and by the caller — the cart for a checkout, the API key or
//!   shopper for an admin operation — never one scope for everyone holding the search key;
//! - the request's fingerprint is an HMAC-SHA256 under the server's secret of its canonical
//!   parameters **without payment fields**, so the table holds nothing to brute-force;
//! - the first answer of a request that ran is stored and replayed (`Idempotent-Replayed: true`);
//!   the same key with other parameters is refused (422); a request arriving while the first
//!   runs waits for its answer (up to [`WAIT_FOR_FIRST`]), then gets 409;
//! - results of validation failures and of conflicts with other requests are not stored (the
//!   key is free again), nor are internal errors;
//! - keys expire after 24 hours and are pruned.

use std::time::Duration;

use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Value, json};
use vitrine_commerce::IdempotencyStart;

use crate::http::error::{ApiError, ErrorCode};
use crate::http::extract::ApiJson;
use crate::http::state::AppState;

/// How long a retry waits for the first request with its key to finish.
pub(super) const WAIT_FOR_FIRST: Duration = Duration::from_secs(10);

/// Who a key belongs to, and what it names.
pub(super) struct KeyScope {
    /// The operation (`checkout`, `refund`, …).
    pub operation: &'static str,
    /// The caller: `cart:ID`, `key:ID`, `shopper:ID`.
    pub caller: String,
}

/// The `Idempotency-Key` of a request, checked: `None` without one.
///
/// # Errors
/// `invalid_idempotency_key` for an empty key, one longer than 255 characters, or one with a
/// character that is not printable ASCII.
pub(super) fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get("idempotency-key") else { return Ok(None) };
    let bytes = value.as_bytes();
    let printable = bytes.iter().all(|byte| (0x20..=0x7e).contains(byte));
    if bytes.is_empty() || bytes.len() > 255 || !printable {
        return Err(ApiError::new(
            ErrorCode::InvalidIdempotencyKey,
            "`Idempotency-Key` must be 1 to 255 printable ASCII characters",
        ));
    }
    Ok(Some(String::from_utf8_lossy(bytes).into_owned()))
}

/// Whether an answer is a decision worth replaying: a success, or the outcome of a request that
/// ran (a decline, a stock-out). Validation failures, conflicts with other requests and internal
/// errors are not: the next request with the key runs again.
fn is_replayable(status: StatusCode, code: Option<ErrorCode>) -> bool {
    status.is_success()
        || matches!(
            code,
            Some(
                ErrorCode::PaymentDeclined
                    | ErrorCode::OutOfStock
                    | ErrorCode::CouponExhausted
                    | ErrorCode::PaymentGatewayError
            )
        )
}

/// Runs `work` once per `Idempotency-Key` (when the request has one) in `scope`; `canonical` is
/// the request's parameters without payment fields.
pub(super) async fn idempotent<F, Fut, T>(
    state: &AppState,
    headers: &HeaderMap,
    scope: KeyScope,
    canonical: &Value,
    work: F,
) -> Result<Response, ApiError>
where
    F: FnOnce(AppState) -> Fut,
    Fut: Future<Output = Result<(StatusCode, T), ApiError>>,
    T: Serialize,
{
    let Some(key) = idempotency_key(headers)? else {
        let (status, body) = work(state.clone()).await?;
        return Ok((status, ApiJson(body)).into_response());
    };
    let shop = state.commerce.get().await?;
    let scope = format!("{}:{}", scope.operation, scope.caller);
    let fingerprint = state.access.request_fingerprint(&canonical.to_string()).map_err(ApiError::internal)?;
    let waited_since = tokio::time::Instant::now();
    loop {
        match shop.store.idempotency_begin(&scope, &key, &fingerprint).await? {
            IdempotencyStart::Replay { status, body } => {
                let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                let mut response =
                    (status, [(axum::http::header::CONTENT_TYPE, "application/json")], body).into_response();
                response.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
                return Ok(response);
            }
            IdempotencyStart::InFlight if waited_since.elapsed() < WAIT_FOR_FIRST => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            IdempotencyStart::InFlight => {
                return Err(ApiError::new(
                    ErrorCode::IdempotencyKeyInUse,
                    "a request with this Idempotency-Key is still running",
                ));
            }
            IdempotencyStart::Mismatch => {
                return Err(ApiError::new(
                    ErrorCode::IdempotencyKeyReused,
                    "this Idempotency-Key was used with other parameters",
                ));
            }
            IdempotencyStart::Proceed => break,
        }
    }
    let (status, text) = match work(state.clone()).await {
        Ok((status, body)) => match serde_json::to_string(&body) {
            Ok(text) => (status, text),
            Err(error) => {
                shop.store.idempotency_abandon(&scope, &key).await?;
                return Err(ApiError::internal(error));
            }
        },
        Err(error) => {
            let (code, status, kind) = error.code.describe();
            if !is_replayable(status, Some(error.code)) {
                shop.store.idempotency_abandon(&scope, &key).await?;
                return Err(error);
            }
            (status, json!({"message": error.message, "code": code, "type": kind}).to_string())
        }
    };
    shop.store.idempotency_finish(&scope, &key, status.as_u16(), &text).await?;
    Ok((status, [(axum::http::header::CONTENT_TYPE, "application/json")], text).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_printable_ascii_up_to_255() {
        let with = |value: &[u8]| {
            let mut headers = HeaderMap::new();
            headers.insert("idempotency-key", HeaderValue::from_bytes(value).expect("header"));
            idempotency_key(&headers)
        };
        assert_eq!(with(b"order-1 attempt ~!").ok().flatten().as_deref(), Some("order-1 attempt ~!"));
        assert!(with(&[b'k'; 255]).is_ok());
        for bad in [&[b'k'; 256][..], b"caf\xc3\xa9", b"tab\there", b"\x80"] {
            assert_eq!(with(bad).map_err(|error| error.code), Err(ErrorCode::InvalidIdempotencyKey), "{bad:?}");
        }
        assert_eq!(idempotency_key(&HeaderMap::new()).ok(), Some(None));
    }
}
