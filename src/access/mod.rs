//! Access control, without HTTP: the actions a credential may take ([`Action`]), on which
//! indexes ([`Grant`]), the API keys ([`keys`]: the two bootstrap keys of the configuration and
//! the keys made through the keys API) and the shopper tokens ([`tokens`]) a shop's backend mints
//! so that a browser can act for one signed-in shopper.
//!
//! [`AccessControl::authenticate`] turns the `Bearer` value of a request into a [`Caller`]: the
//! grant of the key (or of the key that signed the shopper token), and the shopper, if any. The
//! HTTP layer (`http::auth`) decides per route which [`Action`] it needs.

mod grant;
pub mod keys;
pub mod tokens;

use std::path::Path;
use std::sync::Arc;

pub use grant::{AccessError, Action, Caller, Grant, Shopper};
pub use keys::{KeyRecord, KeyStore, NewKey};
pub use tokens::{ShopperClaims, TokenRequest};

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

    /// The fingerprint of an idempotent request: an HMAC-SHA256 under the master secret of its
    /// canonical text (which holds no payment fields), so a stored fingerprint reveals nothing.
    ///
    /// # Errors
    /// The key store (which holds the master secret) could not be opened.
    pub fn request_fingerprint(&self, canonical: &str) -> Result<String, AccessError> {
        Ok(self.store()?.derive(&format!("idempotency:{canonical}")))
    }

    /// The secret the simulated payment provider signs its webhooks with (derived from the
    /// master secret; a real provider's secret is configured instead).
    ///
    /// # Errors
    /// The key store (which holds the master secret) could not be opened.
    pub fn simulated_webhook_secret(&self) -> Result<String, AccessError> {
        Ok(format!("whsec_{}", self.store()?.derive("webhook:simulated")))
    }

    /// Whether `presented` is the order token of `order_id`, compared in constant time.
    pub fn is_order_token(&self, order_id: &str, presented: &str) -> bool {
        self.order_token(order_id).is_ok_and(|token| keys::same_secret(&token, presented))
    }
}
