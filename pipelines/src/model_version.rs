//! From an index's catalog and interaction log to a saved model version: the one path `vitrine
//! train`, the demo, the evaluation and the tests share.

use chrono::{DateTime, Utc};
use indicatif::MultiProgress;
use vitrine_models::{DataDir, IndexName, Product};
use vitrine_recommender::bundle::ModelStore;

use crate::PipelineError;
use crate::interaction_log::{MAX_LOG_PARTS, compact_interactions};
use crate::train::{CatalogItem, TrainParams, train};

/// The text content vectors are made of: title, brand, description and category levels.
pub fn catalog_item(product: &Product) -> CatalogItem {
    let mut text = product.title.clone();
    for part in [product.brand.as_deref(), product.description.as_deref()].into_iter().flatten() {
        text.push(' ');
        text.push_str(part);
    }
    for level in product.category.levels() {
        text.push(' ');
        text.push_str(level);
    }
    CatalogItem { id: product.id.to_string(), text, group: product.category.levels().first().cloned() }
}

/// A new model version's id: the training time, sortable, and a random suffix.
pub fn new_model_id(now: DateTime<Utc>) -> String {
    // The last hex digits of a v7 UUID are random.
    let random = uuid::Uuid::now_v7().simple().to_string();
    format!("{}-{}", now.format("%Y%m%dT%H%M%SZ"), &random[random.len() - 6..])
}

/// Trains every model of `index` from its interaction log in `data_dir` and its `products`, as of
/// the instant `as_of` (the training time for a live shop; a historical dataset's own end when
/// one is replayed): ages are measured from it, rows dated after it are left out. Compacts the
/// log first when it has more than [`MAX_LOG_PARTS`] parts (unless a server beside is compacting
/// it), saves the result as the index's new current model version, keeps the `keep` newest
/// versions (the current one always stays) and returns the new version's id. An index has one
/// writer: a running server's own process trains through its catalog, or a `vitrine train`
/// beside it (the server swaps to the new version by itself).
///
/// # Errors
/// The log cannot be read or compacted, a model cannot be trained, the version cannot be written.
pub fn train_index(
    data_dir: &DataDir,
    index: &IndexName,
    products: &[Product],
    params: &TrainParams,
    keep: usize,
    as_of: DateTime<Utc>,
    progress: &MultiProgress,
) -> Result<String, PipelineError> {
    let items: Vec<CatalogItem> = products.iter().map(catalog_item).collect();
    let log = data_dir.interactions(index);
    compact_interactions(&log, MAX_LOG_PARTS)?;
    let now = Utc::now();
    let model_id = new_model_id(now);
    let bundle = train(index.as_str(), &log, &items, params, (&model_id, &now.to_rfc3339()), as_of, progress)?;
    let store = ModelStore::new(data_dir.models(index));
    store.save(&bundle)?;
    store.prune(keep)?;
    Ok(model_id)
}
