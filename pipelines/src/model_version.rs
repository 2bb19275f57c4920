//! From an index's catalog and interaction log to a saved model version: the one path `vitrine
//! train`, the demo, the evaluation and the tests share.

use indicatif::MultiProgress;
use vitrine_models::{DataDir, IndexName, Product};
use vitrine_recommender::bundle::ModelStore;

use crate::PipelineError;
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
pub fn new_model_id(now: chrono::DateTime<chrono::Utc>) -> String {
    // The last hex digits of a v7 UUID are random.
    let random = uuid::Uuid::now_v7().simple().to_string();
    format!("{}-{}", now.format("%Y%m%dT%H%M%SZ"), &random[random.len() - 6..])
}

/// Trains every model of `index` from its interaction log in `data_dir` and its `products`,
/// saves the result as the index's new current model version, keeps the `keep` newest versions
/// (the current one always stays) and returns the new version's id. An index has one writer: a
/// running server's own process trains through its catalog, or a `vitrine train` beside it
/// (the server swaps to the new version by itself).
///
/// # Errors
/// The log cannot be read, a model cannot be trained, the version cannot be written.
pub fn train_index(
    data_dir: &DataDir,
    index: &IndexName,
    products: &[Product],
    params: &TrainParams,
    keep: usize,
    progress: &MultiProgress,
) -> Result<String, PipelineError> {
    let items: Vec<CatalogItem> = products.iter().map(catalog_item).collect();
    let now = chrono::Utc::now();
    let model_id = new_model_id(now);
    let bundle =
        train(index.as_str(), &data_dir.interactions(index), &items, params, (&model_id, &now.to_rfc3339()), progress)?;
    let store = ModelStore::new(data_dir.models(index));
    store.save(&bundle)?;
    store.prune(keep)?;
    Ok(model_id)
}
