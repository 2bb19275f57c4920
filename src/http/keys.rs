//! `/v1/keys` (the `keys` action): API keys scoped to actions and indexes, their secret shown
//! once; `GET /v1/keys/self` (any valid credential): what the presented credential may do, so
//! that the console shows only that; `POST /v1/shopper-tokens` (`shopper_tokens`): a signed
//! token for one shopper, minted with the caller's key.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::auth::Caller;
use super::blocking::blocking;
use super::error::{ApiError, ErrorCode};
use super::extract::ApiJson;
use super::state::AppState;
use crate::access::{Action, KeyRecord, NewKey, TokenRequest};

/// A key as listed: everything but the hash of its secret.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct KeyView {
    /// Its id.
    id: String,
    /// What it is for.
    name: String,
    /// What it may do.
    actions: Vec<Action>,
    /// Index patterns it reaches.
    indexes: Vec<String>,
    /// When it stops working, if ever.
    expires_at: Option<DateTime<Utc>>,
    /// When it was made.
    created_at: DateTime<Utc>,
    /// The first characters of its secret, to recognise it by.
    prefix: String,
    /// The secret: only in the answer that made the key.
    #[serde(skip_serializing_if = "Option::is_none")]
    key: Option<String>,
}

fn view(record: &KeyRecord) -> KeyView {
    KeyView {
        id: record.id.clone(),
        name: record.name.clone(),
        actions: record.actions.clone(),
        indexes: record.indexes.clone(),
        expires_at: record.expires_at,
        created_at: record.created_at,
        prefix: record.prefix.clone(),
        key: None,
    }
}

/// The keys made through the keys API.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct KeyList {
    /// Every key (without secrets).
    results: Vec<KeyView>,
}

/// What a credential may do.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CurrentKey {
    /// The key's id (`admin`, `search`, or a made key's; a shopper token's signer).
    id: String,
    /// What it may do.
    actions: Vec<Action>,
    /// Index patterns it reaches.
    indexes: Vec<String>,
    /// The shopper, for a shopper token.
    user_id: Option<String>,
}

/// A minted shopper token.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ShopperToken {
    /// The token: `Authorization: Bearer <token>` for the shopper's requests.
    token: String,
    /// Its shopper.
    user_id: String,
    /// When it stops working.
    expires_at: Option<DateTime<Utc>>,
}

/// `POST /v1/keys`: `201` with the key and its secret (`key`), shown this once.
#[utoipa::path(post, path = "/v1/keys", operation_id = "createKey", tag = "keys", request_body = NewKey,
    responses((status = CREATED, body = KeyView), (status = BAD_REQUEST, description = "`invalid_parameter`: a bad name, action or pattern.")))]
pub async fn create(
    State(state): State<AppState>,
    ApiJson(new): ApiJson<NewKey>,
) -> Result<(StatusCode, ApiJson<KeyView>), ApiError> {
    let access = state.access.clone();
    let (record, secret) = blocking(move || {
        access.store()?.create(new, Utc::now()).map_err(|message| ApiError::new(ErrorCode::InvalidParameter, message))
    })
    .await?;
    Ok((StatusCode::CREATED, ApiJson(KeyView { key: Some(secret), ..view(&record) })))
}

/// `GET /v1/keys`.
#[utoipa::path(get, path = "/v1/keys", operation_id = "listKeys", tag = "keys", responses((status = OK, body = KeyList)))]
pub async fn list(State(state): State<AppState>) -> Result<ApiJson<KeyList>, ApiError> {
    Ok(ApiJson(KeyList { results: state.access.store()?.list().iter().map(view).collect() }))
}

/// `GET /v1/keys/{id}`.
#[utoipa::path(get, path = "/v1/keys/{id}", operation_id = "getKey", tag = "keys", params(("id" = String, Path)),
    responses((status = OK, body = KeyView), (status = NOT_FOUND, description = "`api_key_not_found`.")))]
pub async fn get(State(state): State<AppState>, Path(id): Path<String>) -> Result<ApiJson<KeyView>, ApiError> {
    let record = state.access.store()?.get(&id).ok_or_else(|| not_found(&id))?;
    Ok(ApiJson(view(&record)))
}

/// `DELETE /v1/keys/{id}`: revokes the key (`204`); its shopper tokens stop working with it.
#[utoipa::path(delete, path = "/v1/keys/{id}", operation_id = "deleteKey", tag = "keys", params(("id" = String, Path)),
    responses((status = NO_CONTENT, description = "Revoked."), (status = NOT_FOUND, description = "`api_key_not_found`.")))]
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
#[utoipa::path(get, path = "/v1/keys/self", operation_id = "currentKey", tag = "keys", responses((status = OK, body = CurrentKey)))]
pub async fn current(caller: Caller) -> ApiJson<CurrentKey> {
    ApiJson(CurrentKey {
        id: caller.grant.key_id,
        actions: caller.grant.actions,
        indexes: caller.grant.indexes,
        user_id: caller.shopper.map(|shopper| shopper.user_id),
    })
}

/// `POST /v1/shopper-tokens` `{"user_id", "expires_in_seconds"?, "filter"?}`: `201 {"token",
/// "expires_at", "user_id"}`, signed with the caller's key.
#[utoipa::path(post, path = "/v1/shopper-tokens", operation_id = "createShopperToken", tag = "keys", request_body = TokenRequest,
    responses((status = CREATED, body = ShopperToken), (status = BAD_REQUEST, description = "`invalid_parameter`: a bad user id, lifetime or filter.")))]
pub async fn mint_token(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(request): ApiJson<TokenRequest>,
) -> Result<(StatusCode, ApiJson<ShopperToken>), ApiError> {
    let (token, claims) = state.access.mint_token(&caller, request).map_err(|error| match error {
        crate::access::AccessError::InvalidToken(message) => ApiError::new(ErrorCode::InvalidParameter, message),
        other => ApiError::from(other),
    })?;
    let expires_at = DateTime::from_timestamp(claims.exp, 0);
    Ok((StatusCode::CREATED, ApiJson(ShopperToken { token, user_id: claims.sub, expires_at })))
}
