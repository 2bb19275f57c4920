//! `/v1/keys` (the `keys` action): API keys scoped to actions and indexes, their secret shown
//! once; `GET /v1/keys/self` (any valid credential): what the presented credential may do, so
//! that the console shows only that; `POST /v1/shopper-tokens` (`shopper_tokens`): a signed
//! token for one shopper, minted with the caller's key.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::{Value, json};

use super::auth::Caller;
use super::blocking::blocking;
use super::error::{ApiError, ErrorCode};
use super::extract::ApiJson;
use super::state::AppState;
use crate::access::{KeyRecord, NewKey, TokenRequest};

/// A key as listed: everything but the hash of its secret.
fn view(record: &KeyRecord) -> Value {
    json!({
        "id": record.id, "name": record.name, "actions": record.actions, "indexes": record.indexes,
        "expires_at": record.expires_at, "created_at": record.created_at, "prefix": record.prefix,
    })
}

/// `POST /v1/keys`: `201` with the key and its secret (`key`), shown this once.
pub async fn create(
    State(state): State<AppState>,
    ApiJson(new): ApiJson<NewKey>,
) -> Result<(StatusCode, ApiJson<Value>), ApiError> {
    let access = state.access.clone();
    let (record, secret) = blocking(move || {
        access
            .store()?
            .create(new, chrono::Utc::now())
            .map_err(|message| ApiError::new(ErrorCode::InvalidParameter, message))
    })
    .await?;
    let mut answer = view(&record);
    answer["key"] = Value::String(secret);
    Ok((StatusCode::CREATED, ApiJson(answer)))
}

/// `GET /v1/keys`.
pub async fn list(State(state): State<AppState>) -> Result<ApiJson<Value>, ApiError> {
    let keys: Vec<Value> = state.access.store()?.list().iter().map(view).collect();
    Ok(ApiJson(json!({ "results": keys })))
}

/// `GET /v1/keys/{id}`.
pub async fn get(State(state): State<AppState>, Path(id): Path<String>) -> Result<ApiJson<Value>, ApiError> {
    let record = state.access.store()?.get(&id).ok_or_else(|| not_found(&id))?;
    Ok(ApiJson(view(&record)))
}

/// `DELETE /v1/keys/{id}`: revokes the key (`204`); its shopper tokens stop working with it.
pub async fn delete(State(state): State<AppState>, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    let access = state.access.clone();
    let lookup = id.clone();
    let existed = blocking(move || Ok(access.store()?.delete(&lookup)?)).await?;
    if existed { Ok(StatusCode::NO_CONTENT) } else { Err(not_found(&id)) }
}

fn not_found(id: &str) -> ApiError {
    ApiError::new(ErrorCode::ApiKeyNotFound, format!("no API key `{id}`"))
}

/// `GET /v1/keys/self`: the presented credential's id, actions and indexes (and shopper).
pub async fn current(caller: Caller) -> ApiJson<Value> {
    ApiJson(json!({
        "id": caller.grant.key_id, "actions": caller.grant.actions, "indexes": caller.grant.indexes,
        "user_id": caller.shopper.map(|shopper| shopper.user_id),
    }))
}

/// `POST /v1/shopper-tokens` `{"user_id", "expires_in_seconds"?, "filter"?}`: `201 {"token",
/// "expires_at", "user_id"}`, signed with the caller's key.
pub async fn mint_token(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(request): ApiJson<TokenRequest>,
) -> Result<(StatusCode, ApiJson<Value>), ApiError> {
    let (token, claims) = state.access.mint_token(&caller, request).map_err(|error| match error {
        crate::access::AccessError::InvalidToken(message) => ApiError::new(ErrorCode::InvalidParameter, message),
        other => ApiError::from(other),
    })?;
    let expires_at = chrono::DateTime::from_timestamp(claims.exp, 0);
    Ok((StatusCode::CREATED, ApiJson(json!({"token": token, "user_id": claims.sub, "expires_at": expires_at}))))
}
