//! Domain types shared by every Vitrine crate.
//!
//! Everything here is plain data with serde support and **validating constructors**: a value of
//! one of these types has passed its checks, so the crates that receive one need not check again.
//! Deserialising goes through the same checks (`#[serde(try_from = ...)]`), so a product read
//! from a feed, a Kafka event or an HTTP body is validated exactly like one built in code.
//!
//! - [`Product`] (built from a [`ProductDraft`]) with [`Money`], [`CategoryPath`] and
//!   [`AttributeValue`]s;
//! - [`Interaction`] (a view, click, add-to-cart or purchase by an [`Actor`]);
//! - the ids: [`ProductId`], [`UserId`], [`SessionId`], [`CartId`], [`OrderId`], [`IndexName`];
//! - [`event`]: product change events (the Kafka contract), parsed into a change or a dead letter;
//! - [`feed`]: reading products and interactions from JSON Lines and CSV files;
//! - [`settings`]: per-index settings (typo tolerance, ranking weights, facets);
//! - [`DataDir`], the layout of a Vitrine data directory that all crates agree on.

mod error;
pub mod event;
pub mod feed;
mod ids;
mod interaction;
mod layout;
mod money;
mod product;
mod schema;
pub mod settings;

pub use error::ValidationError;
pub use event::{Change, DeadLetter, ProductEvent};
pub use ids::{CartId, IndexName, OrderId, ProductId, SessionId, UserId};
pub use interaction::{Actor, Interaction, InteractionDraft, InteractionKind};
pub use layout::DataDir;
pub use money::{Currency, Money};
pub use product::{AttributeValue, CategoryInput, CategoryPath, Product, ProductDraft, Signals};
