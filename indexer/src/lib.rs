//! Keeps the named indexes of a Vitrine data directory up to date.
//!
//! Today an index holds its catalog as validated products, one JSON object per line, upserted by
//! id ([`Catalog`]). The search index (tantivy) and the Kafka consumer build on this crate in
//! later steps; both go through [`Catalog::upsert`] semantics: a change whose version is older
//! than the stored one is ignored, so replays are harmless.

mod catalog;

pub use catalog::{Catalog, CatalogError, IndexSummary, UpsertReport};
