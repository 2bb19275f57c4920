//! Batch data pipelines for Vitrine, written with polars.
//!
//! Today this crate holds the **demo-shop loader**: [`load_online_retail`] turns the UCI Online
//! Retail II purchase log into a clean product catalog and an interaction log, counting every
//! line it drops and why ([`CleaningReport`]); [`log_interactions`] (over [`append_interactions`]),
//! [`scan_interactions`] / [`collect_interactions`] and [`compact_interactions`] keep each index's
//! interaction log (views, clicks, add-to-carts, purchases) as few Parquet parts. [`train_index`] trains every recommendation model of an index
//! from its log and catalog ([`train`]) and saves them as a new model version. Derived frames are saved to the data directory as
//! Parquet with [`write_parquet`] and read back with [`read_parquet`]. [`catalog_products`] and
//! [`interaction_records`] turn the derived frames into validated domain types of vitrine-models.
//! Two more demo catalogs load straight into validated products, each with a [`LoadReport`] of the
//! rows it dropped and why: [`load_grocery`] (Open Food Facts) and [`load_luma`] (Magento Luma,
//! with variants linked to their parents).
//!
//! ```no_run
//! use std::path::Path;
//! use indicatif::{MultiProgress, ProgressDrawTarget};
//!
//! let silent = MultiProgress::with_draw_target(ProgressDrawTarget::hidden());
//! let shop = vitrine_pipelines::load_online_retail(
//!     Path::new("online_retail_II_2009-2010.csv.gz"),
//!     &silent,
//! )?;
//! println!("{}", shop.report);
//! # Ok::<(), vitrine_pipelines::PipelineError>(())
//! ```

mod catalog_csv;
pub mod content;
mod error;
mod grocery;
mod interaction_log;
mod luma;
mod model_version;
mod records;
mod retail;
mod source;
mod store;
mod train;

pub use catalog_csv::{DroppedRow, LoadReport, RowDropReason};
pub use error::PipelineError;
pub use grocery::load_grocery;
pub use interaction_log::{
    Compaction, LARGE_PART_BYTES, MAX_LOG_PARTS, REPLACES_KEY, TimeRange, append_interactions, collect_interactions,
    compact_interactions, export_interactions, interaction_parts, interaction_time_range, log_columns,
    log_interactions, read_interactions_parquet, scan_interactions,
};
pub use luma::load_luma;
pub use model_version::{catalog_item, new_model_id, train_index};
pub use records::{catalog_products, interaction_records};
pub use retail::{
    CleaningReport, DropReason, PRODUCT_STOCK_CODE_PATTERN, RetailShop, catalog_columns, interaction_columns,
    load_online_retail,
};
pub use store::{read_parquet, write_parquet};
pub use train::{CatalogItem, EventWeights, TrainParams, train};
