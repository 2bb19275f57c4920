//! Keeps the named indexes of a Vitrine data directory up to date.
//!
//! Each index is a tantivy index of products ([`ProductIndex`]) whose schema comes from the
//! product model ([`ProductFields`]): stemmed and exact copies of every text field, fast fields
//! for ranking signals, and facets. [`Catalog`] opens indexes by name and upserts products by
//! id; a change whose version is older than the stored one is ignored, so replays are harmless.
//! The Kafka consumer builds on the same upsert in a later step.

mod catalog;
mod product_index;
mod schema;

pub use catalog::{Catalog, CatalogError, IndexSummary, UpsertReport};
pub use product_index::ProductIndex;
pub use schema::{
    EXACT_ANALYZER, ProductFields, STEMMED_ANALYZER, TextField, exact_analyzer, group_key, stemmed_analyzer,
};
