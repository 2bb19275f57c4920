//! Keeps the named indexes of a Vitrine data directory up to date.
//!
//! Each index is a tantivy index of products ([`ProductIndex`]) whose schema comes from the
//! product model ([`ProductFields`]): stemmed and exact copies of every text field, fast fields
//! for ranking signals, and facets. [`Catalog`] opens indexes by name. Every change — an upsert,
//! a delete, a price or stock change — is a product event applied by [`ProductIndex::apply`] in
//! one commit that also records the source's offsets ([`Checkpoint`]); an event whose version is
//! not newer than the known one is skipped, so replays are harmless.

mod apply;
mod catalog;
mod product_index;
mod schema;

pub use apply::{ApplyReport, Checkpoint, SourcePosition};
pub use catalog::{Catalog, CatalogError, IndexSummary};
pub use product_index::ProductIndex;
pub use schema::{
    EXACT_ANALYZER, ProductFields, STEMMED_ANALYZER, TextField, exact_analyzer, group_key, stemmed_analyzer,
};
