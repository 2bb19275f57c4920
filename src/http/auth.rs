//! Who may call what: each protected route group is guarded by [`guard`] with the
//! [`Action`] it needs and the rate-limit [`Budget`] it spends. The guard reads
//! `Authorization: Bearer …` (the scheme in any case) — an API key or a shopper token —, checks
//! the action and, on routes with an `{index}`, the key's index patterns, spends the budget, and
//! hands the handler the [`Caller`] (an extractor).
//!
//! Identity comes from the credential, never from a body: [`Caller::acting_user`] decides which
//! shopper a request acts for.

use axum::extract::{FromRequestParts, RawPathParams, Request, State};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::{ApiError, ErrorCode};
use super::limits::{Budget, client_address};
use super::state::AppState;
use crate::access::Action;
pub use crate::access::Caller;

/// What a route group needs: an action (none: any valid credential) and the budget it spends.
#[derive(Debug, Clone, Copy)]
pub struct Needs {
    /// The action; `None`: any valid credential.
    pub action: Option<Action>,
    /// The rate-limit budget, if any.
    pub budget: Option<Budget>,
}

impl Needs {
    /// The action, spending no budget.
    pub const fn action(action: Action) -> Needs {
        Needs { action: Some(action), budget: None }
    }

    /// The action, spending `budget`.
    pub const fn spending(action: Action, budget: Budget) -> Needs {
        Needs { action: Some(action), budget: Some(budget) }
    }

    /// Any valid credential.
    pub const ANY: Needs = Needs { action: None, budget: None };
}

/// The `Bearer` value of a request. `Ok(None)`: no `Authorization` header.
fn bearer(parts: &Parts) -> Result<Option<&str>, ApiError> {
    let Some(header) = parts.headers.get(AUTHORIZATION) else { return Ok(None) };
    let malformed =
        || ApiError::new(ErrorCode::MissingAuthorizationHeader, "the Authorization header must be `Bearer KEY`");
    let header = header.to_str().map_err(|_| malformed())?;
    let (scheme, value) = header.split_once(' ').ok_or_else(malformed)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(malformed());
    }
    Ok(Some(value.trim()))
}

/// Middleware: authenticates the request and checks it may do what the route needs.
pub async fn guard(State((state, needs)): State<(AppState, Needs)>, request: Request, next: Next) -> Response {
    let (mut parts, body) = request.into_parts();
    let address = client_address(&parts);
    let caller = match bearer(&parts).and_then(|bearer| Ok(state.access.authenticate(bearer)?)) {
        Ok(caller) => caller,
        Err(error) => {
            // Guessing keys costs: too many failures from one address are answered 429.
            if let Err(limited) = state.limits.failed_authentication(address) {
                return limited.into_response();
            }
            return error.into_response();
        }
    };
    if let Some(action) = needs.action
        && !caller.grant.allows(action)
    {
        let message = format!("this key may not call this endpoint: it needs the `{action}` action");
        return ApiError::new(ErrorCode::ForbiddenForKey, message).into_response();
    }
    if let Ok(params) = RawPathParams::from_request_parts(&mut parts, &state).await
        && let Some((_, index)) = params.iter().find(|(name, _)| *name == "index")
        && !caller.grant.covers_index(index)
        && !parts
            .extensions
            .get::<super::aliases::AliasedFrom>()
            .is_some_and(|alias| caller.grant.covers_index(&alias.0))
    {
        let message = format!("this key may not reach the index `{index}`");
        return ApiError::new(ErrorCode::ForbiddenForKey, message).into_response();
    }
    if let Some(budget) = needs.budget
        && let Err(limited) = state.limits.spend(budget, &caller.principal(), address)
    {
        return limited.into_response();
    }
    parts.extensions.insert(caller);
    next.run(Request::from_parts(parts, body)).await
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        parts
            .extensions
            .get::<Caller>()
            .cloned()
            .ok_or_else(|| ApiError::internal("a handler that needs the caller is on a route without a guard"))
    }
}

impl Caller {
    /// The shopper a request acts for: the shopper token's, or — only for a key that may act
    /// for users (a server-side key) — the one its body names.
    ///
    /// # Errors
    /// `user_mismatch` when the body names another shopper than the token; `forbidden_for_key`
    /// when a key without `act_as_user` names one.
    pub fn acting_user(&self, claimed: Option<&str>) -> Result<Option<String>, ApiError> {
        let claimed = claimed.map(str::trim).filter(|user| !user.is_empty());
        match (&self.shopper, claimed) {
            (Some(shopper), Some(user)) if user != shopper.user_id => Err(ApiError::new(
                ErrorCode::UserMismatch,
                "the body names another shopper than the shopper token; leave `user_id` out",
            )),
            (Some(shopper), _) => Ok(Some(shopper.user_id.clone())),
            (None, Some(user)) if self.grant.allows(Action::ActAsUser) => Ok(Some(user.to_owned())),
            (None, Some(_)) => Err(ApiError::new(
                ErrorCode::ForbiddenForKey,
                "this key may not act for a shopper: send the shopper's token (`Authorization: Bearer <shopper \
                 token>`) instead of a `user_id`",
            )),
            (None, None) => Ok(None),
        }
    }

    /// Whether the caller may act for the shopper `user_id`: it is the token's shopper, or the
    /// key may act for users.
    pub fn may_act_for(&self, user_id: &str) -> bool {
        match &self.shopper {
            Some(shopper) => shopper.user_id == user_id,
            None => self.grant.allows(Action::ActAsUser),
        }
    }

    /// Whether the caller may see and change every order.
    pub fn is_orders_admin(&self) -> bool {
        self.shopper.is_none() && self.grant.allows(Action::OrdersAdmin)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::{Grant, Shopper};

    fn caller(actions: Vec<Action>, shopper: Option<&str>) -> Caller {
        Caller {
            grant: Grant { key_id: "k".into(), actions, indexes: vec!["*".into()] },
            shopper: shopper.map(|user| Shopper { user_id: user.into(), filter: None }),
        }
    }

    #[test]
    fn the_acting_shopper_comes_from_the_token_or_a_server_side_key_only() {
        let code = |result: Result<Option<String>, ApiError>| result.map_err(|error| error.code);
        let search_key = caller(vec![Action::Search, Action::Carts], None);
        assert_eq!(code(search_key.acting_user(Some("alice"))), Err(ErrorCode::ForbiddenForKey));
        assert_eq!(code(search_key.acting_user(None)), Ok(None));
        let token = caller(vec![Action::Search], Some("alice"));
        assert_eq!(code(token.acting_user(None)), Ok(Some("alice".into())));
        assert_eq!(code(token.acting_user(Some("alice"))), Ok(Some("alice".into())));
        assert_eq!(code(token.acting_user(Some("bob"))), Err(ErrorCode::UserMismatch));
        let server = caller(vec![Action::Search, Action::ActAsUser], None);
        assert_eq!(code(server.acting_user(Some("bob"))), Ok(Some("bob".into())));
        assert!(token.may_act_for("alice") && !token.may_act_for("bob") && !search_key.may_act_for("alice"));
    }
}
