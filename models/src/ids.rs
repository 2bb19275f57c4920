use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{ValidationError, clean_text};

/// Declares an id that the shop chooses (a string), validated on construction and on
/// deserialisation: trimmed, not empty, at most `$max` bytes, no control characters.
macro_rules! shop_string_id {
    ($(#[$doc:meta])* $name:ident, $field:literal, $max:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// The longest id accepted, in bytes.
            pub const MAX_LEN: usize = $max;

            /// Validates and wraps an id.
            pub fn new(value: impl AsRef<str>) -> Result<Self, ValidationError> {
                clean_text($field, value.as_ref(), Self::MAX_LEN).map(Self)
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = ValidationError;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::new(value)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl FromStr for $name {
            type Err = ValidationError;
            fn from_str(value: &str) -> Result<Self, Self::Err> {
                Self::new(value)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        crate::schema::wire_schema!(
            $name,
            stringify!($name),
            crate::schema::string(
                concat!("A `", $field, "` chosen by the shop: 1–", $max, " bytes, no control characters, trimmed."),
                1,
                $max,
                None,
                None
            )
        );
    };
}

shop_string_id!(
    /// A product's id, chosen by the shop (a SKU or stock code). Upserts and deletes match on it.
    ProductId,
    "product_id",
    256
);
shop_string_id!(
    /// A signed-in shopper's id, chosen by the shop.
    UserId,
    "user_id",
    256
);
shop_string_id!(
    /// An anonymous shopper's session id, chosen by the storefront.
    SessionId,
    "session_id",
    256
);

/// Declares an id that Vitrine mints itself: a UUIDv7, so ids sort by creation time.
macro_rules! minted_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// Mints a new, time-ordered id.
            pub fn generate() -> Self {
                Self(Uuid::now_v7())
            }

            /// The underlying UUID.
            pub fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl From<Uuid> for $name {
            fn from(uuid: Uuid) -> Self {
                Self(uuid)
            }
        }

        impl FromStr for $name {
            type Err = ValidationError;
            fn from_str(value: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(value).map(Self).map_err(|err| ValidationError::Malformed {
                    field: stringify!($name),
                    reason: err.to_string(),
                })
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        crate::schema::wire_schema!(
            $name,
            stringify!($name),
            crate::schema::string(
                "An id Vitrine minted (a UUIDv7).",
                36,
                36,
                None,
                Some(utoipa::openapi::KnownFormat::Uuid)
            )
        );
    };
}

minted_id!(
    /// A shopping cart's id.
    CartId
);
minted_id!(
    /// An order's id.
    OrderId
);

/// The name of an index (one catalog with its own settings and directory), as used in URLs
/// (`/v1/indexes/{name}`) and directory names: 1–64 ASCII letters, digits, `-` or `_`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct IndexName(String);

crate::schema::wire_schema!(
    IndexName,
    "IndexName",
    crate::schema::string(
        "An index name: 1–64 ASCII letters, digits, `-` or `_`.",
        1,
        64,
        Some("^[A-Za-z0-9_-]{1,64}$"),
        None
    )
);

impl IndexName {
    /// The longest name accepted.
    pub const MAX_LEN: usize = 64;

    /// Validates an index name.
    pub fn new(value: impl AsRef<str>) -> Result<Self, ValidationError> {
        let value = value.as_ref();
        if value.is_empty() {
            return Err(ValidationError::Empty { field: "index" });
        }
        if value.len() > Self::MAX_LEN {
            return Err(ValidationError::TooLong { field: "index", len: value.len(), max: Self::MAX_LEN });
        }
        if let Some(bad) = value.chars().find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_')) {
            return Err(ValidationError::BadCharacter {
                field: "index",
                what: format!("{bad:?}; only ASCII letters, digits, `-` and `_` are allowed"),
            });
        }
        Ok(Self(value.to_owned()))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for IndexName {
    type Error = ValidationError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl From<IndexName> for String {
    fn from(name: IndexName) -> String {
        name.0
    }
}

impl FromStr for IndexName {
    type Err = ValidationError;
    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Self::new(value)
    }
}

impl fmt::Display for IndexName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shop_ids_are_trimmed_and_refuse_blank_or_control_text() {
        assert_eq!(ProductId::new("  85123A ").map(|id| id.to_string()), Ok("85123A".to_owned()));
        assert_eq!(ProductId::new("   "), Err(ValidationError::Empty { field: "product_id" }));
        assert!(matches!(UserId::new("a\u{0}b"), Err(ValidationError::BadCharacter { .. })));
        assert!(matches!(SessionId::new("x".repeat(257)), Err(ValidationError::TooLong { .. })));
    }

    #[test]
    fn ids_deserialise_through_validation() {
        let id: ProductId = serde_json::from_str("\"22041\"").expect("valid id");
        assert_eq!(id.as_str(), "22041");
        assert!(serde_json::from_str::<ProductId>("\"\"").is_err());
    }

    #[test]
    fn index_names_are_url_and_path_safe() {
        assert!(IndexName::new("retail").is_ok());
        assert!(IndexName::new("shop_2-eu").is_ok());
        for bad in ["", "../etc", "a/b", "été", "a b", &"x".repeat(65)] {
            assert!(IndexName::new(bad).is_err(), "{bad:?} must be refused");
        }
    }

    #[test]
    fn minted_ids_round_trip_and_sort_by_creation() {
        let first = OrderId::generate();
        let second = OrderId::generate();
        assert!(first < second);
        assert_eq!(first.to_string().parse::<OrderId>(), Ok(first));
        assert!("not-a-uuid".parse::<CartId>().is_err());
    }
}
