//! Access control, without HTTP: the actions a credential may take ([`Action`]), on which
//! indexes ([`Grant`]), the API keys ([`keys`]: the two bootstrap keys of the configuration and
//! the keys made through the keys API) and the shopper tokens ([`tokens`]) a shop's backend mints
//! so that a browser can act for one signed-in shopper.
//!
//! [`AccessControl::authenticate`] turns the `Bearer` value of a request into a [`Caller`]: the
//! grant of the key (or of the key that signed the shopper token), and the shopper, if any. The
//! HTTP layer (`http::auth`) decides per route which [`Action`] it needs.

pub mod keys;
pub mod tokens;

use std::fmt;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use keys::{KeyRecord, KeyStore, NewKey};
pub use tokens::{ShopperClaims, TokenRequest};

/// What a credential may do. Each route needs one action (the table is in `docs/security.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    /// Search, suggest, recommendations, events, and reading indexes and documents.
    Search,
    /// Carts and checkout; reading and returning one's own orders.
    Carts,
    /// Name a shopper in a request body (`user_id`) without a shopper token: server-side keys.
    ActAsUser,
    /// Mint shopper tokens (`POST /v1/shopper-tokens`).
    ShopperTokens,
    /// Add, replace and delete documents.
    DocumentsWrite,
    /// Delete a whole index.
    IndexesDelete,
    /// Read and change settings, preview and evaluate drafts.
    SettingsWrite,
    /// Read the search analytics report.
    AnalyticsRead,
    /// Read `/metrics`.
    MetricsRead,
    /// List and activate model versions.
    ModelsWrite,
    /// Read any order; capture, fulfil, cancel and refund orders.
    OrdersAdmin,
    /// Set stock and prices, define coupons.
    CommerceWrite,
    /// Manage API keys.
    Keys,
    /// Everything.
    All,
}

impl Action {
    /// Every action, `*` last.
    pub const EVERY: [Action; 14] = [
        Action::Search,
        Action::Carts,
        Action::ActAsUser,
        Action::ShopperTokens,
        Action::DocumentsWrite,
        Action::IndexesDelete,
        Action::SettingsWrite,
        Action::AnalyticsRead,
        Action::MetricsRead,
        Action::ModelsWrite,
        Action::OrdersAdmin,
        Action::CommerceWrite,
        Action::Keys,
        Action::All,
    ];

    /// The action's name in the keys API.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Search => "search",
            Action::Carts => "carts",
            Action::ActAsUser => "act_as_user",
            Action::ShopperTokens => "shopper_tokens",
            Action::DocumentsWrite => "documents.write",
            Action::IndexesDelete => "indexes.delete",
            Action::SettingsWrite => "settings.write",
            Action::AnalyticsRead => "analytics.read",
            Action::MetricsRead => "metrics.read",
            Action::ModelsWrite => "models.write",
            Action::OrdersAdmin => "orders.admin",
            Action::CommerceWrite => "commerce.write",
            Action::Keys => "keys",
            Action::All => "*",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Action {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, String> {
        Action::EVERY.into_iter().find(|action| action.as_str() == name).ok_or_else(|| {
            let names: Vec<&str> = Action::EVERY.iter().map(|action| action.as_str()).collect();
            format!("unknown action `{name}`; the actions are {}", names.join(", "))
        })
    }
}

impl Serialize for Action {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Action {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

/// What one credential may do: its actions, on the indexes its patterns match (`retail`,
/// `shop-*`, `*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// The key's id (`admin` and `search` for the configured keys).
    pub key_id: String,
    /// Its actions.
    pub actions: Vec<Action>,
    /// Index patterns: a name, or a prefix followed by `*`.
    pub indexes: Vec<String>,
}

impl Grant {
    /// Everything on every index: the admin key, or a server without keys.
    pub fn everything(key_id: &str) -> Grant {
        Grant { key_id: key_id.to_owned(), actions: vec![Action::All], indexes: vec!["*".to_owned()] }
    }

    /// Whether the grant holds `action`.
    pub fn allows(&self, action: Action) -> bool {
        self.actions.iter().any(|held| *held == Action::All || *held == action)
    }

    /// Whether the grant reaches the index `name`.
    pub fn covers_index(&self, name: &str) -> bool {
        self.indexes.iter().any(|pattern| match pattern.strip_suffix('*') {
            Some(prefix) => name.starts_with(prefix),
            None => pattern == name,
        })
    }
}

/// A shopper a request acts for, from a verified shopper token.
#[derive(Debug, Clone, PartialEq)]
pub struct Shopper {
    /// The shopper's user id (the token's `sub`).
    pub user_id: String,
    /// A search filter every search and recommendation of this shopper is restricted to.
    pub filter: Option<Value>,
}

/// Who a request comes from.
#[derive(Debug, Clone, PartialEq)]
pub struct Caller {
    /// What it may do.
    pub grant: Grant,
    /// The signed-in shopper, when the credential is a shopper token.
    pub shopper: Option<Shopper>,
}

impl Caller {
    /// The caller of a server without keys: everything is allowed.
    pub fn open() -> Caller {
        Caller { grant: Grant::everything("open"), shopper: None }
    }

    /// A stable name for rate limits and logs: the key id, or the shopper's id under its key.
    pub fn principal(&self) -> String {
        match &self.shopper {
            Some(shopper) => format!("{}/user:{}", self.grant.key_id, shopper.user_id),
            None => self.grant.key_id.clone(),
        }
    }
}

/// Why a credential was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccessError {
    /// No credential where one is needed.
    #[error("this endpoint needs an API key or a shopper token, sent as `Authorization: Bearer …`")]
    Missing,
    /// Not a key of this server.
    #[error("the API key is not valid")]
    InvalidKey,
    /// The key was deleted.
    #[error("the API key `{0}` was revoked")]
    Revoked(String),
    /// The key's `expires_at` has passed.
    #[error("the API key `{0}` has expired")]
    Expired(String),
    /// A shopper token that does not verify (signature, shape, unknown signing key).
    #[error("the shopper token is not valid: {0}")]
    InvalidToken(String),
    /// A shopper token past its `exp`.
    #[error("the shopper token has expired")]
    TokenExpired,
    /// The key store could not be read or written.
    #[error("the key store failed: {0}")]
    Store(String),
}

/// The server's credentials: the bootstrap keys of the configuration and the key store.
/// Cheap to clone.
#[derive(Debug, Clone)]
pub struct AccessControl {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    admin: Option<String>,
    search: Option<String>,
    /// The key store, or why it could not be opened (issued keys are then refused).
    store: Result<KeyStore, AccessError>,
}

/// The id of the configured admin key.
pub const ADMIN_KEY_ID: &str = "admin";
/// The id of the configured search key.
pub const SEARCH_KEY_ID: &str = "search";

impl AccessControl {
    /// Access control with the configured keys and the key store in `folder`. Without
    /// configured keys the server is open: every request may do everything. A key store that
    /// cannot be opened refuses issued keys ([`AccessControl::store`] says why; `vitrine serve`
    /// checks it at start-up).
    pub fn open(admin: Option<String>, search: Option<String>, folder: &Path) -> AccessControl {
        let store = KeyStore::open(folder);
        AccessControl { inner: Arc::new(Inner { admin, search, store }) }
    }

    /// Whether the server has no keys configured (development): nothing is checked.
    pub fn is_open(&self) -> bool {
        self.inner.admin.is_none() && self.inner.search.is_none()
    }

    /// The key store.
    ///
    /// # Errors
    /// It could not be opened.
    pub fn store(&self) -> Result<&KeyStore, AccessError> {
        self.inner.store.as_ref().map_err(Clone::clone)
    }

    /// Who presents `bearer` (the value after `Bearer `), now.
    ///
    /// # Errors
    /// No credential, an unknown, revoked or expired key, a shopper token that does not verify.
    pub fn authenticate(&self, bearer: Option<&str>) -> Result<Caller, AccessError> {
        if self.is_open() && bearer.is_none() {
            return Ok(Caller::open());
        }
        let presented = bearer.map(str::trim).filter(|value| !value.is_empty()).ok_or(AccessError::Missing)?;
        if tokens::looks_like_token(presented) {
            return self.verify_token(presented);
        }
        let grant = self.key_grant(presented)?;
        Ok(Caller { grant, shopper: None })
    }

    /// The grant of an API key's secret.
    fn key_grant(&self, presented: &str) -> Result<Grant, AccessError> {
        let inner = &self.inner;
        if inner.admin.as_deref().is_some_and(|admin| keys::same_secret(admin, presented)) {
            return Ok(Grant::everything(ADMIN_KEY_ID));
        }
        if inner.search.as_deref().is_some_and(|search| keys::same_secret(search, presented)) {
            return Ok(Grant {
                key_id: SEARCH_KEY_ID.to_owned(),
                actions: vec![Action::Search, Action::Carts],
                indexes: vec!["*".to_owned()],
            });
        }
        if self.is_open() {
            // A server without configured keys accepts any credential as the open caller.
            return Ok(Grant::everything("open"));
        }
        self.store()?.verify(presented, chrono::Utc::now())
    }

    /// The secret that signs shopper tokens for the key `key_id`, if the key exists.
    fn signing_secret(&self, key_id: &str) -> Result<Option<(String, Grant)>, AccessError> {
        let inner = &self.inner;
        match key_id {
            ADMIN_KEY_ID => Ok(inner.admin.clone().map(|secret| (secret, Grant::everything(ADMIN_KEY_ID)))),
            SEARCH_KEY_ID => Ok(None),
            id => self.store()?.signing_secret(id, chrono::Utc::now()),
        }
    }

    fn verify_token(&self, token: &str) -> Result<Caller, AccessError> {
        let key_id = tokens::signing_key_id(token)?;
        let (secret, grant) = self
            .signing_secret(&key_id)?
            .ok_or_else(|| AccessError::InvalidToken(format!("no key `{key_id}` may sign shopper tokens")))?;
        if !grant.allows(Action::ShopperTokens) {
            return Err(AccessError::InvalidToken(format!("the key `{key_id}` may not sign shopper tokens")));
        }
        let claims = tokens::verify(token, &secret)?;
        // A shopper token searches and shops on its signing key's indexes, nothing more.
        let grant = Grant { key_id, actions: vec![Action::Search, Action::Carts], indexes: grant.indexes };
        Ok(Caller { grant, shopper: Some(Shopper { user_id: claims.sub, filter: claims.filter }) })
    }

    /// A shopper token for `request`, signed with the key `caller` presented.
    ///
    /// # Errors
    /// The caller's key cannot sign (a shopper token itself, the search key), a bad request.
    pub fn mint_token(&self, caller: &Caller, request: TokenRequest) -> Result<(String, ShopperClaims), AccessError> {
        if caller.shopper.is_some() {
            return Err(AccessError::InvalidToken("a shopper token cannot mint shopper tokens".to_owned()));
        }
        let (secret, _) = self.signing_secret(&caller.grant.key_id)?.ok_or_else(|| {
            AccessError::InvalidToken(format!("the key `{}` cannot sign shopper tokens", caller.grant.key_id))
        })?;
        tokens::mint(&caller.grant.key_id, &secret, request, chrono::Utc::now())
    }

    /// A secret proof that its holder placed the order `order_id` (an HMAC under the key store's
    /// master secret): guests read and return their orders with it.
    ///
    /// # Errors
    /// The key store (which holds the master secret) could not be opened.
    pub fn order_token(&self, order_id: &str) -> Result<String, AccessError> {
        Ok(self.store()?.derive(&format!("order:{order_id}")))
    }

    /// Whether `presented` is the order token of `order_id`, compared in constant time.
    pub fn is_order_token(&self, order_id: &str, presented: &str) -> bool {
        self.order_token(order_id).is_ok_and(|token| keys::same_secret(&token, presented))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_have_stable_names_and_unknown_ones_are_refused() {
        for action in Action::EVERY {
            assert_eq!(action.as_str().parse::<Action>(), Ok(action));
        }
        assert!("search.write".parse::<Action>().expect_err("unknown").contains("documents.write"));
    }

    #[test]
    fn grants_match_index_patterns() {
        let grant = Grant {
            key_id: "k".into(),
            actions: vec![Action::Search],
            indexes: vec!["retail".into(), "shop-*".into()],
        };
        assert!(grant.covers_index("retail") && grant.covers_index("shop-uk") && grant.covers_index("shop-"));
        assert!(!grant.covers_index("retail2") && !grant.covers_index("shop"));
        assert!(grant.allows(Action::Search) && !grant.allows(Action::Carts));
        assert!(Grant::everything("admin").allows(Action::Keys));
    }
}
