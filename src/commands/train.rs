//! `vitrine train`: trains every recommendation model of an index from its interaction log and
//! catalog ([`vitrine_pipelines::train_index`]), and saves them as a new model version (the
//! server picks it up without a restart).

use std::collections::BTreeMap;
use std::time::Instant;

use anyhow::Context;
use chrono::{DateTime, SecondsFormat, Utc};
use indicatif::MultiProgress;
use vitrine_indexer::Catalog;
use vitrine_models::{DataDir, IndexName};
use vitrine_pipelines::TrainParams;
use vitrine_recommender::bundle::ModelStore;

use super::import;
use crate::cli::TrainArgs;

/// Trains index `index` of `catalog` (the server's own, when it runs: an index has one writer)
/// as of `as_of` and saves the version; returns its id.
pub(super) fn train_index(
    catalog: &Catalog,
    index: &IndexName,
    params: &TrainParams,
    keep: usize,
    as_of: DateTime<Utc>,
    progress: &MultiProgress,
) -> anyhow::Result<String> {
    let products = catalog.products(index).with_context(|| format!("reading the catalog of `{index}`"))?;
    Ok(vitrine_pipelines::train_index(catalog.data_dir(), index, &products, params, keep, as_of, progress)?)
}

/// `vitrine train --index NAME [--interactions FILE] [--params FILE] [--keep N] [--as-of RFC3339]`.
pub(super) fn run(data_dir: &DataDir, args: &TrainArgs) -> anyhow::Result<()> {
    let index = IndexName::new(&args.index)?;
    if let Some(path) = &args.interactions {
        import::append_interaction_file(data_dir, &index, path, false)?;
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
    let as_of = args.as_of.unwrap_or_else(Utc::now);
    let model_id = train_index(&catalog, &index, &params, args.keep, as_of, &MultiProgress::new())?;
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
        warn_if_stale(&manifest.metrics, &params, data_dir, &index);
    }
    println!("  saved in {} (current); a running server switches to it within seconds", store.folder().display());
    Ok(())
}

/// Says so when the newest interaction is many popularity half-lives older than the as-of
/// instant: a historical dataset trained as of today, whose scores have all but decayed away.
fn warn_if_stale(metrics: &BTreeMap<String, f64>, params: &TrainParams, data_dir: &DataDir, index: &IndexName) {
    let Some(&days) = metrics.get("days_since_newest_row") else { return };
    if days <= 10.0 * params.popularity.half_life_days {
        return;
    }
    let newest = vitrine_pipelines::interaction_time_range(&data_dir.interactions(index))
        .ok()
        .flatten()
        .map(|(_, newest)| newest.to_rfc3339_opts(SecondsFormat::Secs, true));
    println!(
        "  warning: the newest interaction is {days:.0} days old, so popularity and trending have all but \
         decayed away; to replay a historical dataset, train it as of its end: --as-of {}",
        newest.as_deref().unwrap_or("RFC3339")
    );
}
