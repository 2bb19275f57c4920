//! Shopper tokens: compact JWTs (HS256) a shop's backend mints for a signed-in shopper and the
//! browser sends as `Authorization: Bearer <token>` (like Meilisearch's tenant tokens and
//! Algolia's secured keys).
//!
//! Claims: `sub` (the shopper's user id), `exp` (seconds since the epoch), `key_id` (the key
//! whose secret signed it: that key must hold `shopper_tokens` and still be live), optional
//! `filter` (a search filter added to every search and recommendation the token makes), `iat`.
//! A backend can mint them offline with any JWT library and its key's secret, or through
//! `POST /v1/shopper-tokens`.

use chrono::{DateTime, Utc};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::grant::AccessError;

/// How long a minted token lives unless asked otherwise: one hour.
pub const DEFAULT_TTL_SECONDS: i64 = 3_600;
/// The longest a minted token may live: 30 days.
pub const MAX_TTL_SECONDS: i64 = 30 * 24 * 3_600;
/// The longest user id a token may carry.
const MAX_USER_ID_CHARS: usize = 200;

/// What a shopper token says.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShopperClaims {
    /// The shopper's user id.
    pub sub: String,
    /// Expiry, seconds since the epoch.
    pub exp: i64,
    /// Issued at, seconds since the epoch.
    #[serde(default)]
    pub iat: Option<i64>,
    /// The id of the key that signed it.
    pub key_id: String,
    /// A filter every search and recommendation of the token is restricted to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<Value>,
}

/// `POST /v1/shopper-tokens`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    /// The shopper's user id.
    pub user_id: String,
    /// Lifetime in seconds (default one hour, at most 30 days).
    #[serde(default)]
    pub expires_in_seconds: Option<i64>,
    /// A filter every search and recommendation of the token is restricted to.
    #[serde(default)]
    pub filter: Option<Value>,
}

/// Whether a `Bearer` value has a JWT's shape (three base64url parts, a JSON header).
pub fn looks_like_token(presented: &str) -> bool {
    presented.starts_with("eyJ") && presented.bytes().filter(|&b| b == b'.').count() == 2
}

/// The id of the key a token names as its signer (read before its signature is checked, to
/// find the secret to check it with).
pub(super) fn signing_key_id(token: &str) -> Result<String, AccessError> {
    let header = jsonwebtoken::decode_header(token).map_err(|error| AccessError::InvalidToken(error.to_string()))?;
    if header.alg != Algorithm::HS256 {
        return Err(AccessError::InvalidToken(format!("the algorithm must be HS256, not {:?}", header.alg)));
    }
    let unverified = jsonwebtoken::dangerous::insecure_decode::<Value>(token)
        .map_err(|error| AccessError::InvalidToken(error.to_string()))?;
    unverified.claims["key_id"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| AccessError::InvalidToken("the claim `key_id` (the signing key's id) is missing".to_owned()))
}

/// The claims of a token signed with `secret`, if it verifies and has not expired.
pub(super) fn verify(token: &str, secret: &str) -> Result<ShopperClaims, AccessError> {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.leeway = 5;
    validation.set_required_spec_claims(&["exp", "sub"]);
    let data = jsonwebtoken::decode::<ShopperClaims>(token, &DecodingKey::from_secret(secret.as_bytes()), &validation)
        .map_err(|error| match error.kind() {
            ErrorKind::ExpiredSignature => AccessError::TokenExpired,
            _ => AccessError::InvalidToken(error.to_string()),
        })?;
    check_user_id(&data.claims.sub)?;
    Ok(data.claims)
}

fn check_user_id(user_id: &str) -> Result<(), AccessError> {
    if user_id.trim().is_empty() || user_id.chars().count() > MAX_USER_ID_CHARS {
        return Err(AccessError::InvalidToken(format!(
            "the user id (`user_id`; a token's `sub`) must be 1 to {MAX_USER_ID_CHARS} characters"
        )));
    }
    Ok(())
}

/// A token for `request`, signed by the key `key_id` with `secret`.
pub(super) fn mint(
    key_id: &str,
    secret: &str,
    request: TokenRequest,
    now: DateTime<Utc>,
) -> Result<(String, ShopperClaims), AccessError> {
    check_user_id(&request.user_id)?;
    let ttl = request.expires_in_seconds.unwrap_or(DEFAULT_TTL_SECONDS);
    if !(1..=MAX_TTL_SECONDS).contains(&ttl) {
        return Err(AccessError::InvalidToken(format!("`expires_in_seconds` must be 1 to {MAX_TTL_SECONDS}")));
    }
    if request.filter.as_ref().is_some_and(|filter| !filter.is_object()) {
        return Err(AccessError::InvalidToken("`filter` must be a filter object".to_owned()));
    }
    let claims = ShopperClaims {
        sub: request.user_id,
        exp: now.timestamp() + ttl,
        iat: Some(now.timestamp()),
        key_id: key_id.to_owned(),
        filter: request.filter,
    };
    let token =
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret(secret.as_bytes()))
            .map_err(|error| AccessError::InvalidToken(error.to_string()))?;
    Ok((token, claims))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(user: &str) -> TokenRequest {
        TokenRequest { user_id: user.into(), expires_in_seconds: None, filter: None }
    }

    #[test]
    fn a_minted_token_verifies_with_its_secret_only_and_expires() {
        let now = Utc::now();
        let (token, claims) = mint("k1", "secret-one", request("alice"), now).expect("minted");
        assert!(looks_like_token(&token));
        assert_eq!(signing_key_id(&token).expect("key id"), "k1");
        assert_eq!(verify(&token, "secret-one").expect("verifies"), claims);
        assert!(matches!(verify(&token, "secret-two"), Err(AccessError::InvalidToken(_))));

        let old = now - chrono::Duration::seconds(DEFAULT_TTL_SECONDS + 60);
        let (expired, _) = mint("k1", "secret-one", request("alice"), old).expect("minted");
        assert_eq!(verify(&expired, "secret-one"), Err(AccessError::TokenExpired));
        assert!(mint("k1", "s", request(" "), now).is_err());
    }

    #[test]
    fn tokens_with_another_algorithm_are_refused() {
        let claims = serde_json::json!({"sub": "alice", "exp": Utc::now().timestamp() + 60, "key_id": "k1"});
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS512), &claims, &EncodingKey::from_secret(b"s"))
            .expect("encoded");
        assert!(matches!(signing_key_id(&token), Err(AccessError::InvalidToken(_))));
    }
}
