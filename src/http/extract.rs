//! Extractors the handlers share: [`ApiJson`] (JSON bodies whose rejections have our error
//! shape), [`CartAccess`] (the cart a request names and the token it shows) and [`ChangeAuthor`]
//! (who makes a settings change).

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use vitrine_commerce::{Cart, Shop};

use super::auth::Caller;
use super::error::{ApiError, ErrorCode};
use super::state::AppState;
use crate::access::keys::same_secret;

/// `Json<T>` whose rejections are [`ApiError`]s: bad JSON gets our error shape.
#[derive(Debug, axum::extract::FromRequest)]
#[from_request(via(Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

impl<T: Serialize> IntoResponse for ApiJson<T> {
    fn into_response(self) -> Response {
        Json(self.0).into_response()
    }
}

/// The cart a request names (the path's `{id}`) and the token it shows in `X-Cart-Token`. Every
/// call on a cart opens it with [`CartAccess::open`], which checks the token — after the body is
/// read, so a bad body is still answered first.
#[derive(Debug)]
pub struct CartAccess {
    /// The cart's id.
    pub cart_id: String,
    token: String,
}

impl FromRequestParts<AppState> for CartAccess {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Path(params) = Path::<HashMap<String, String>>::from_request_parts(parts, state).await?;
        let cart_id = params.get("id").cloned().unwrap_or_default();
        Ok(CartAccess { cart_id, token: cart_token(&parts.headers).to_owned() })
    }
}

impl CartAccess {
    /// The shop and the cart, if the request shows the cart's token (compared in constant time)
    /// or comes from the cart's owner (a shopper token, or a key that may act for users).
    ///
    /// # Errors
    /// `cart_not_found`, `invalid_cart_token`, or the shop cannot be opened.
    pub async fn open(&self, state: &AppState, caller: &Caller) -> Result<(Arc<Shop>, Cart), ApiError> {
        let shop = state.commerce.get().await?;
        let cart = shop.store.cart(&self.cart_id).await?;
        may_use_cart(&cart, &self.token, caller)?;
        Ok((shop, cart))
    }
}

/// Whether a request may use `cart`: it shows the cart's token, or comes from its owner.
///
/// # Errors
/// `invalid_cart_token`.
pub fn may_use_cart(cart: &Cart, token: &str, caller: &Caller) -> Result<(), ApiError> {
    let owner = cart.user_id.as_deref().is_some_and(|owner| caller.may_act_for(owner));
    if owner || (!token.is_empty() && same_secret(&cart.token, token)) {
        return Ok(());
    }
    Err(ApiError::new(
        ErrorCode::InvalidCartToken,
        "send the cart's token in `X-Cart-Token`, or its owner's shopper token",
    ))
}

/// The `X-Cart-Token` header of a request, if any.
pub fn cart_token(headers: &axum::http::HeaderMap) -> &str {
    headers.get("x-cart-token").and_then(|value| value.to_str().ok()).unwrap_or_default()
}

/// Who makes a settings change, for the audit log: the `X-Vitrine-Actor` header (the console
/// sends the merchandiser's name as percent-encoded UTF-8, `Zo%C3%AB`; plain text is taken as it
/// is), else `admin`. At most 100 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeAuthor(pub String);

impl<S: Send + Sync> FromRequestParts<S> for ChangeAuthor {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(ChangeAuthor(author(parts.headers.get("x-vitrine-actor").map(|value| value.as_bytes()))))
    }
}

/// The author named by the bytes of an `X-Vitrine-Actor` header, if any.
fn author(header: Option<&[u8]>) -> String {
    let Some(bytes) = header else { return "admin".to_owned() };
    // Header bytes that are not UTF-8 are Latin-1, as browsers send them.
    let raw = match std::str::from_utf8(bytes) {
        Ok(text) => text.to_owned(),
        Err(_) => bytes.iter().map(|&byte| char::from(byte)).collect(),
    };
    let decoded =
        percent_encoding::percent_decode_str(&raw).decode_utf8().map_or(raw.clone(), |text| text.into_owned());
    let name = decoded.trim();
    if name.is_empty() || name.chars().any(char::is_control) {
        return "admin".to_owned();
    }
    name.chars().take(100).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_author_of_a_change_is_read_in_any_encoding_a_browser_sends() {
        let name = |value: &[u8]| author(Some(value));
        assert_eq!(name(b"Ada Lovelace"), "Ada Lovelace");
        assert_eq!(name(b"Zo%C3%AB %C5%81ukasz"), "Zo\u{eb} \u{141}ukasz", "percent-encoded UTF-8");
        assert_eq!(name(b"Zo\xeb"), "Zo\u{eb}", "Latin-1");
        assert_eq!(name(b"100% sure"), "100% sure", "a lone percent sign stays");
        assert_eq!(name(b"  "), "admin");
        assert_eq!(name(b"a%0Ab"), "admin", "no control characters in the log");
        assert_eq!(author(None), "admin");
    }
}
