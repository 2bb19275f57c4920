//! `vitrine train`: trains every recommendation model of an index from its interaction log and
//! catalog, and saves them as a new model version (the server picks it up without a restart).

use std::time::Instant;

use anyhow::Context;
use indicatif::MultiProgress;
use vitrine_indexer::Catalog;
use vitrine_models::{DataDir, IndexName, Product};
use vitrine_pipelines::{CatalogItem, TrainParams};
use vitrine_recommender::bundle::ModelStore;

use crate::config::TrainArgs;

/// The text content vectors are made of: title, brand, category and description.
pub(crate) fn catalog_item(product: &Product) -> CatalogItem {
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
pub(crate) fn new_model_id(now: chrono::DateTime<chrono::Utc>) -> String {
    // The last hex digits of a v7 UUID are random.
    let random = uuid::Uuid::now_v7().simple().to_string();
    format!("{}-{}", now.format("%Y%m%dT%H%M%SZ"), &random[random.len() - 6..])
}

/// Trains index `index` of `catalog` (the server's own, when it runs: an index has one writer)
/// and saves the version; returns its id.
pub fn train_index(
    catalog: &Catalog,
    index: &IndexName,
    params: &TrainParams,
    keep: usize,
    progress: &MultiProgress,
) -> anyhow::Result<String> {
    let data_dir = catalog.data_dir();
    let products = catalog.products(index).with_context(|| format!("reading the catalog of `{index}`"))?;
    let items: Vec<CatalogItem> = products.iter().map(catalog_item).collect();
    let now = chrono::Utc::now();
    let model_id = new_model_id(now);
    let bundle = vitrine_pipelines::train(
        index.as_str(),
        &data_dir.interactions(index),
        &items,
        params,
        (&model_id, &now.to_rfc3339()),
        progress,
    )?;
    let store = ModelStore::new(data_dir.models(index));
    store.save(&bundle)?;
    store.prune(keep)?;
    Ok(model_id)
}

/// `vitrine train --index NAME [--interactions FILE] [--params FILE] [--keep N]`.
pub(super) fn run(data_dir: &DataDir, args: &TrainArgs) -> anyhow::Result<()> {
    let index = IndexName::new(&args.index)?;
    if let Some(path) = &args.interactions {
        super::append_interaction_file(data_dir, &index, path)?;
    }
    let params = match &args.params {
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
            serde_json::from_str(&text).with_context(|| format!("{}: not valid training parameters", path.display()))?
        }
        None => TrainParams::recommended(),
    };
    let started = Instant::now();
    let catalog = Catalog::new(data_dir.clone());
    let model_id = train_index(&catalog, &index, &params, args.keep, &MultiProgress::new())?;
    let store = ModelStore::new(data_dir.models(&index));
    let bundle_manifest = store.versions()?.into_iter().find(|manifest| manifest.model_id == model_id);
    println!("index `{index}`: model {model_id} trained in {:.1} s", started.elapsed().as_secs_f64());
    if let Some(manifest) = bundle_manifest {
        let counts = &manifest.counts;
        println!(
            "  {} interactions, {} users, {} items ({} with interactions), {} baskets",
            counts.interactions, counts.users, counts.items, counts.items_with_interactions, counts.baskets
        );
        for (name, value) in &manifest.metrics {
            println!("  {name}: {value:.3}");
        }
    }
    println!("  saved in {} (current); a running server switches to it within seconds", store.folder().display());
    Ok(())
}
