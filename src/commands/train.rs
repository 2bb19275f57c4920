//! `vitrine train`: trains every recommendation model of an index from its interaction log and
//! catalog ([`vitrine_pipelines::train_index`]), and saves them as a new model version (the
//! server picks it up without a restart).

use std::time::Instant;

use anyhow::Context;
use indicatif::MultiProgress;
use vitrine_indexer::Catalog;
use vitrine_models::{DataDir, IndexName};
use vitrine_pipelines::TrainParams;
use vitrine_recommender::bundle::ModelStore;

use super::import;
use crate::cli::TrainArgs;

/// Trains index `index` of `catalog` (the server's own, when it runs: an index has one writer)
/// and saves the version; returns its id.
pub(super) fn train_index(
    catalog: &Catalog,
    index: &IndexName,
    params: &TrainParams,
    keep: usize,
    progress: &MultiProgress,
) -> anyhow::Result<String> {
    let products = catalog.products(index).with_context(|| format!("reading the catalog of `{index}`"))?;
    Ok(vitrine_pipelines::train_index(catalog.data_dir(), index, &products, params, keep, progress)?)
}

/// `vitrine train --index NAME [--interactions FILE] [--params FILE] [--keep N]`.
pub(super) fn run(data_dir: &DataDir, args: &TrainArgs) -> anyhow::Result<()> {
    let index = IndexName::new(&args.index)?;
    if let Some(path) = &args.interactions {
        import::append_interaction_file(data_dir, &index, path)?;
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
