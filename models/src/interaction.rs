use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::ValidationError;
use crate::ids::{ProductId, SessionId, UserId};

/// Who interacted: a signed-in shopper or an anonymous session.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Actor {
    /// A signed-in shopper.
    User(UserId),
    /// An anonymous session.
    Session(SessionId),
}

/// What the shopper did with the product, from weakest to strongest signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InteractionKind {
    /// Saw the product page.
    View,
    /// Clicked the product in search results or recommendations.
    Click,
    /// Put it in the cart.
    AddToCart,
    /// Bought it.
    Purchase,
}

impl InteractionKind {
    /// Every kind, weakest first.
    pub const ALL: [InteractionKind; 4] =
        [InteractionKind::View, InteractionKind::Click, InteractionKind::AddToCart, InteractionKind::Purchase];

    /// The kind's name as used in JSON and files.
    pub fn as_str(&self) -> &'static str {
        match self {
            InteractionKind::View => "view",
            InteractionKind::Click => "click",
            InteractionKind::AddToCart => "add_to_cart",
            InteractionKind::Purchase => "purchase",
        }
    }
}

impl fmt::Display for InteractionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for InteractionKind {
    type Err = ValidationError;
    fn from_str(value: &str) -> Result<Self, Self::Err> {
        InteractionKind::ALL.into_iter().find(|kind| kind.as_str() == value).ok_or_else(|| ValidationError::Malformed {
            field: "kind",
            reason: format!("{value:?} is not one of view, click, add_to_cart, purchase"),
        })
    }
}

/// The wire form of an [`Interaction`]: exactly one of `user_id` and `session_id`.
///
/// ```json
/// {"user_id": "13085", "product_id": "85048", "kind": "purchase", "quantity": 12,
///  "timestamp": "2009-12-01T07:45:00Z"}
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InteractionDraft {
    /// A signed-in shopper's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// An anonymous session's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// The product.
    pub product_id: String,
    /// What happened (`event` is accepted as another name).
    #[serde(alias = "event")]
    pub kind: InteractionKind,
    /// Units (for add-to-cart and purchase); 1 when absent.
    #[serde(default = "one")]
    pub quantity: u32,
    /// When it happened (RFC 3339).
    pub timestamp: DateTime<Utc>,
}

fn one() -> u32 {
    1
}

/// One shopper–product interaction: the input of the recommendation pipelines.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(try_from = "InteractionDraft", into = "InteractionDraft")]
#[non_exhaustive]
pub struct Interaction {
    /// Who.
    pub actor: Actor,
    /// Which product.
    pub product_id: ProductId,
    /// What they did.
    pub kind: InteractionKind,
    /// How many units; at least 1.
    pub quantity: u32,
    /// When.
    pub timestamp: DateTime<Utc>,
}

impl Interaction {
    /// Validates an interaction: the quantity must be at least 1.
    pub fn new(
        actor: Actor,
        product_id: ProductId,
        kind: InteractionKind,
        quantity: u32,
        timestamp: DateTime<Utc>,
    ) -> Result<Self, ValidationError> {
        if quantity == 0 {
            return Err(ValidationError::OutOfRange {
                field: "quantity",
                value: "0".to_owned(),
                expected: "it must be at least 1",
            });
        }
        Ok(Interaction { actor, product_id, kind, quantity, timestamp })
    }
}

impl TryFrom<InteractionDraft> for Interaction {
    type Error = ValidationError;

    fn try_from(draft: InteractionDraft) -> Result<Self, Self::Error> {
        let actor = match (draft.user_id, draft.session_id) {
            (Some(user), None) => Actor::User(UserId::new(user)?),
            (None, Some(session)) => Actor::Session(SessionId::new(session)?),
            _ => {
                return Err(ValidationError::Malformed {
                    field: "user_id",
                    reason: "give exactly one of `user_id` and `session_id`".to_owned(),
                });
            }
        };
        Interaction::new(actor, ProductId::new(draft.product_id)?, draft.kind, draft.quantity, draft.timestamp)
    }
}

impl From<Interaction> for InteractionDraft {
    fn from(interaction: Interaction) -> InteractionDraft {
        let (user_id, session_id) = match interaction.actor {
            Actor::User(user) => (Some(user.into()), None),
            Actor::Session(session) => (None, Some(session.into())),
        };
        InteractionDraft {
            user_id,
            session_id,
            product_id: interaction.product_id.into(),
            kind: interaction.kind,
            quantity: interaction.quantity,
            timestamp: interaction.timestamp,
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn interactions_parse_with_a_user_or_a_session() {
        let purchase: Interaction = serde_json::from_value(json!({
            "user_id": "13085", "product_id": "85048", "kind": "purchase", "quantity": 12,
            "timestamp": "2009-12-01T07:45:00Z"
        }))
        .expect("valid");
        assert_eq!(purchase.actor, Actor::User(UserId::new("13085").expect("id")));
        assert_eq!(purchase.quantity, 12);
        let view: Interaction = serde_json::from_value(json!({
            "session_id": "s-1", "product_id": "85048", "kind": "view", "timestamp": "2009-12-01T07:45:00Z"
        }))
        .expect("valid");
        assert_eq!(view.quantity, 1);
        assert_eq!(serde_json::from_value::<Interaction>(serde_json::to_value(&view).expect("ser")).expect("de"), view);
    }

    #[test]
    fn bad_interactions_are_refused() {
        for bad in [
            json!({"product_id": "1", "kind": "view", "timestamp": "2009-12-01T07:45:00Z"}),
            json!({"user_id": "u", "session_id": "s", "product_id": "1", "kind": "view", "timestamp": "2009-12-01T07:45:00Z"}),
            json!({"user_id": "u", "product_id": "1", "kind": "like", "timestamp": "2009-12-01T07:45:00Z"}),
            json!({"user_id": "u", "product_id": "1", "kind": "purchase", "quantity": 0, "timestamp": "2009-12-01T07:45:00Z"}),
            json!({"user_id": "u", "product_id": "1", "kind": "view", "timestamp": "yesterday"}),
        ] {
            assert!(serde_json::from_value::<Interaction>(bad.clone()).is_err(), "{bad}");
        }
        assert_eq!("add_to_cart".parse::<InteractionKind>(), Ok(InteractionKind::AddToCart));
    }
}
