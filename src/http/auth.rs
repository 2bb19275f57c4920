//! API keys: `Authorization: Bearer KEY`.
//!
//! Two levels. The search key may call read and shopper endpoints (search, suggest,
//! recommendations, events, carts, checkout); the admin key may call everything. With no key
//! configured the server is open (`vitrine serve` warns about it; `--production` refuses it).

use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::Response;

use super::error::{ApiError, ErrorCode};
use crate::config::ApiKeys;

/// What an endpoint needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Read and shopper endpoints: the search key or the admin key.
    Search,
    /// Writes and operations: the admin key only.
    Admin,
}

/// Checks a request's key against the level an endpoint needs.
pub fn check(keys: &ApiKeys, access: Access, authorization: Option<&str>) -> Result<(), ApiError> {
    if keys.is_open() {
        return Ok(());
    }
    let Some(header) = authorization else {
        return Err(ApiError::new(
            ErrorCode::MissingAuthorizationHeader,
            "this endpoint needs an API key, sent as `Authorization: Bearer KEY`",
        ));
    };
    let Some(presented) = header.strip_prefix("Bearer ").map(str::trim) else {
        return Err(ApiError::new(
            ErrorCode::MissingAuthorizationHeader,
            "the Authorization header must have the form `Bearer KEY`",
        ));
    };
    let is = |key: &Option<String>| key.as_deref().is_some_and(|key| constant_time_eq(key, presented));
    match access {
        _ if is(&keys.admin) => Ok(()),
        Access::Search if is(&keys.search) => Ok(()),
        Access::Admin if is(&keys.search) => Err(ApiError::new(
            ErrorCode::ForbiddenForKey,
            "the search key cannot call this endpoint; use the admin key",
        )),
        _ => Err(ApiError::new(ErrorCode::InvalidApiKey, "the API key is not valid")),
    }
}

/// Compares two keys in time that depends only on their lengths.
fn constant_time_eq(expected: &str, presented: &str) -> bool {
    expected.len() == presented.len()
        && expected.bytes().zip(presented.bytes()).fold(0_u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

/// Middleware for routes that need the search key (or the admin key).
pub async fn require_search_key(
    State(keys): State<ApiKeys>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    require(&keys, Access::Search, request, next).await
}

/// Middleware for routes that need the admin key.
pub async fn require_admin_key(
    State(keys): State<ApiKeys>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    require(&keys, Access::Admin, request, next).await
}

async fn require(keys: &ApiKeys, access: Access, request: Request, next: Next) -> Result<Response, ApiError> {
    let authorization = request.headers().get(AUTHORIZATION).and_then(|value| value.to_str().ok());
    check(keys, access, authorization)?;
    Ok(next.run(request).await)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> ApiKeys {
        ApiKeys { admin: Some("admin-secret".into()), search: Some("search-secret".into()) }
    }

    #[test]
    fn each_key_opens_its_own_level() {
        let keys = keys();
        assert!(check(&keys, Access::Search, Some("Bearer search-secret")).is_ok());
        assert!(check(&keys, Access::Search, Some("Bearer admin-secret")).is_ok());
        assert!(check(&keys, Access::Admin, Some("Bearer admin-secret")).is_ok());
        let code = |result: Result<(), ApiError>| result.map_err(|error| error.code).err();
        assert_eq!(code(check(&keys, Access::Admin, Some("Bearer search-secret"))), Some(ErrorCode::ForbiddenForKey));
        assert_eq!(code(check(&keys, Access::Search, Some("Bearer nope"))), Some(ErrorCode::InvalidApiKey));
        assert_eq!(code(check(&keys, Access::Search, None)), Some(ErrorCode::MissingAuthorizationHeader));
        assert_eq!(
            code(check(&keys, Access::Search, Some("search-secret"))),
            Some(ErrorCode::MissingAuthorizationHeader)
        );
        assert!(check(&ApiKeys::default(), Access::Admin, None).is_ok());
    }
}
