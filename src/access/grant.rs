//! The vocabulary of access control: [`Action`]s, the [`Grant`] of a credential, the [`Caller`]
//! a request comes from, and why a credential is refused ([`AccessError`]).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::Value;

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
    /// Write and list snapshots of the data directory (`/v1/admin/snapshots`).
    Snapshots,
    /// Create, switch and delete index aliases (`/v1/aliases`).
    AliasesWrite,
    /// Everything.
    All,
}

impl Action {
    /// Every action, `*` last.
    pub const EVERY: [Action; 16] = [
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
        Action::Snapshots,
        Action::AliasesWrite,
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
            Action::Snapshots => "snapshots",
            Action::AliasesWrite => "aliases.write",
            Action::All => "*",
        }
    }
}

impl utoipa::PartialSchema for Action {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .enum_values(Some(Action::EVERY.iter().map(|action| action.as_str())))
            .description(Some("What a key may do (`*`: everything)."))
            .into()
    }
}

impl utoipa::ToSchema for Action {}

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
