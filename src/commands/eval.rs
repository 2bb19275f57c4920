//! `vitrine eval search`: search relevance on the Home Depot judgments.
//!
//! The dataset is read from its folder (it is never copied into the project). Its 54,667 titles
//! are indexed into `DATA_DIR/eval/homedepot` (rebuilt each run, which also measures bulk
//! indexing), then Vitrine's search and the plain BM25 baseline answer every judged query as
//! typed and with one injected typo.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use vitrine_eval::search::{
    HomeDepot, PlainBm25, QueryVariant, RelevanceReport, SearchBackend, VitrineSearch, evaluate,
};
use vitrine_indexer::{Catalog, ProductIndex};
use vitrine_models::{DataDir, IndexName, Product, ProductDraft};

use crate::config::EvalSearchArgs;

fn bar(length: u64, message: &'static str) -> anyhow::Result<ProgressBar> {
    let bar = ProgressBar::new(length).with_message(message);
    bar.set_style(ProgressStyle::with_template("{msg:>28} [{bar:40}] {pos}/{len} ({eta})")?.progress_chars("=> "));
    Ok(bar)
}

/// Loads the Home Depot judgments and indexes their titles into `DATA_DIR/eval/homedepot`
/// (rebuilt from scratch), printing the bulk-indexing throughput.
pub(super) fn build_homedepot(
    data_dir: &DataDir,
    dataset_dir: &Path,
) -> anyhow::Result<(HomeDepot, Arc<ProductIndex>)> {
    let dataset = HomeDepot::load(dataset_dir)
        .with_context(|| format!("cannot load the Home Depot judgments from {}", dataset_dir.display()))?;
    println!("{} products, {} judged queries", dataset.products.len(), dataset.queries.len());
    let catalog = Catalog::new(DataDir::new(data_dir.root().join("eval")));
    let name = IndexName::new("homedepot")?;
    if catalog.exists(&name) {
        catalog.delete(&name)?;
    }
    let products: Vec<Product> = dataset
        .products
        .iter()
        .filter_map(|(uid, title)| {
            Product::try_from(ProductDraft { id: uid.clone(), title: title.clone(), ..ProductDraft::default() }).ok()
        })
        .collect();
    let skipped = dataset.products.len() - products.len();
    let started = Instant::now();
    let count = products.len();
    let report = catalog.upsert(&name, products)?;
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "indexed {} products in {seconds:.2} s ({:.0} products/s; {skipped} titles refused by validation)",
        report.inserted,
        count as f64 / seconds
    );
    Ok((dataset, catalog.get(&name)?))
}

pub(super) fn search(data_dir: &DataDir, args: &EvalSearchArgs) -> anyhow::Result<()> {
    let (dataset, index) = build_homedepot(data_dir, &args.dataset)?;
    let engines: [(&str, Box<dyn SearchBackend>); 2] =
        [("vitrine", Box::new(VitrineSearch::new(index.clone()))), ("plain BM25", Box::new(PlainBm25::new(index)))];
    let variants = [("as typed", QueryVariant::AsTyped), ("one typo", QueryVariant::OneTypo { seed: args.seed })];
    let mut reports: Vec<(String, RelevanceReport)> = Vec::new();
    for (engine_name, engine) in &engines {
        for (variant_name, variant) in variants {
            let progress = bar(dataset.queries.len() as u64, "evaluating")?;
            progress.set_message(format!("{engine_name}, {variant_name}"));
            let started = Instant::now();
            let report = evaluate(engine.as_ref(), &dataset.queries, variant, Some(&progress))?;
            progress.finish_and_clear();
            println!(
                "{engine_name:>10}, {variant_name:<8}: {:.0} queries/s",
                dataset.queries.len() as f64 / started.elapsed().as_secs_f64()
            );
            reports.push((format!("{engine_name}, {variant_name}"), report));
        }
    }

    println!();
    println!("{:<24} {:>8} {:>8} {:>10} {:>12}", "engine, queries", "NDCG@10", "MRR@10", "Recall@10", "zero results");
    let mean = |metric: &vitrine_eval::search::MetricMean| metric.mean.map_or("-".to_owned(), |m| format!("{m:.4}"));
    for (label, report) in &reports {
        println!(
            "{label:<24} {:>8} {:>8} {:>10} {:>12}",
            mean(&report.ndcg),
            mean(&report.mrr),
            mean(&report.recall),
            mean(&report.zero_results)
        );
    }
    let ndcg = |i: usize| reports[i].1.ndcg.mean.unwrap_or(0.0);
    println!();
    println!(
        "vitrine vs plain BM25, NDCG@10: {:+.1} % as typed, {:+.1} % with one typo; the typo costs vitrine {:.1} %",
        (ndcg(0) / ndcg(2) - 1.0) * 100.0,
        (ndcg(1) / ndcg(3) - 1.0) * 100.0,
        (1.0 - ndcg(1) / ndcg(0)) * 100.0
    );

    let path = args.report.clone().unwrap_or_else(|| data_dir.root().join("eval").join("search-report.json"));
    let json: serde_json::Map<String, serde_json::Value> = reports
        .iter()
        .map(|(label, report)| Ok((label.clone(), serde_json::to_value(report)?)))
        .collect::<Result<_, serde_json::Error>>()?;
    std::fs::write(&path, serde_json::to_vec_pretty(&json)?)
        .with_context(|| format!("cannot write {}", path.display()))?;
    println!("per-query report: {}", path.display());
    Ok(())
}

/// Parameters of the models `vitrine eval recs` trains (`--params FILE`, JSON); unset parts keep
/// their defaults.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
struct RecsParams {
    ials: vitrine_recommender::ials::IalsParams,
    cooc: vitrine_recommender::cooc::CoocParams,
    ease: vitrine_recommender::ease::EaseParams,
    sparse_ease: vitrine_recommender::ease::SparseEaseParams,
    content: vitrine_pipelines::content::ContentParams,
    popularity: vitrine_recommender::popularity::PopularityParams,
    hybrid: vitrine_recommender::serve::HybridWeights,
    hybrid_without_ease: HybridWithoutEase,
}

/// [`vitrine_recommender::serve::HybridWeights::without_ease`] as the default of its field.
#[derive(Debug, serde::Deserialize)]
#[serde(transparent)]
struct HybridWithoutEase(vitrine_recommender::serve::HybridWeights);

impl Default for HybridWithoutEase {
    fn default() -> Self {
        HybridWithoutEase(vitrine_recommender::serve::HybridWeights::without_ease())
    }
}

/// `vitrine eval recs`: every model under the temporal-split protocol of `docs/evaluation.md`.
pub(super) fn recs(data_dir: &DataDir, args: &crate::config::EvalRecsArgs) -> anyhow::Result<()> {
    use vitrine_eval::recs::{self, Cutoff, Trainer};

    let params: RecsParams = match &args.params {
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
            serde_json::from_str(&text).with_context(|| format!("{}: not valid model parameters", path.display()))?
        }
        None => RecsParams::default(),
    };
    let (log, titles, default_cutoff) = match &args.interactions {
        Some(path) => (recs::load_interactions_csv(path)?, Default::default(), Cutoff::Quantile(0.8)),
        None => {
            let path = &args.online_retail;
            let log = recs::load_online_retail_ii(path)
                .with_context(|| format!("reading {} (give another with --online-retail)", path.display()))?;
            (log, recs::online_retail_ii_titles(path)?, Cutoff::ONLINE_RETAIL_II)
        }
    };
    let cutoff = match &args.cutoff {
        Some(text) => Cutoff::parse(text).map_err(anyhow::Error::msg)?,
        None => default_cutoff,
    };
    let split = recs::split(&log, cutoff)?;
    let mut trainers: Vec<Box<dyn Trainer>> = Vec::new();
    for name in &args.models {
        let name = name.trim();
        let trainer: Box<dyn Trainer> = match name {
            "pop" | "popularity" => Box::new(recs::Popularity),
            "cooc" => Box::new(recs::Cooc { name: "cooc".to_owned(), params: params.cooc.clone() }),
            "ials" => Box::new(recs::Ials { name: "ials".to_owned(), params: params.ials.clone() }),
            "ease" => Box::new(recs::Ease { name: "ease".to_owned(), params: params.ease.clone() }),
            "content" => Box::new(recs::Content {
                name: "content".to_owned(),
                params: params.content.clone(),
                texts: titles.clone(),
            }),
            "hybrid" => Box::new(recs::Hybrid {
                name: "hybrid".to_owned(),
                ials: params.ials.clone(),
                cooc: params.cooc.clone(),
                ease: params.sparse_ease.clone(),
                popularity: params.popularity.clone(),
                weights: params.hybrid.clone(),
                weights_without_ease: params.hybrid_without_ease.0.clone(),
            }),
            other => anyhow::bail!("unknown model `{other}`: use pop, cooc, ials, ease, content or hybrid"),
        };
        trainers.push(trainer);
    }
    let trainers: Vec<&dyn Trainer> = trainers.iter().map(Box::as_ref).collect();
    let report = recs::evaluate(&split, &trainers, &args.k, &indicatif::MultiProgress::new())?;
    println!("{report}");
    let path = args.report.clone().unwrap_or_else(|| data_dir.root().join("eval").join("recs-report.json"));
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(&path, serde_json::to_vec_pretty(&report)?)?;
    println!("report: {}", path.display());
    Ok(())
}
