//! `vitrine eval search`: search relevance, by default on the Home Depot judgments: the dataset is read from its folder (it is
//! never copied into the project), its 54,667 titles are indexed into `DATA_DIR/eval/homedepot`
//! (rebuilt each run, which also measures bulk indexing), then Vitrine's search and the plain BM25
//! baseline answer every judged query as typed and with one injected typo. With `--index NAME
//! --judgments FILE` an existing index answers a shop's own judgments. `--settings FILE` runs a
//! draft of the settings beside the live ones and tests each difference.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use vitrine_eval::report::{SearchRun, search_html};
use vitrine_eval::search::{
    DEFAULT_ROUNDS, GainMap, HomeDepot, JudgedQuery, MetricMean, PlainBm25, QueryVariant, RelevanceReport,
    SearchBackend, VitrineSearch, compare_draft, draft_settings, evaluate, read_judgments_csv,
};
use vitrine_indexer::{Catalog, ProductIndex};
use vitrine_models::settings::IndexSettings;
use vitrine_models::{DataDir, IndexName, Product, ProductDraft};

use crate::cli::EvalSearchArgs;

fn bar(length: u64, message: &'static str) -> anyhow::Result<ProgressBar> {
    let bar = ProgressBar::new(length).with_message(message);
    bar.set_style(ProgressStyle::with_template("{msg:>28} [{bar:40}] {pos}/{len} ({eta})")?.progress_chars("=> "));
    Ok(bar)
}

/// Loads the Home Depot judgments and indexes their titles into `DATA_DIR/eval/homedepot`
/// (rebuilt from scratch), printing the bulk-indexing throughput.
pub(in crate::commands) fn build_homedepot(
    data_dir: &DataDir,
    dataset_dir: &Path,
) -> anyhow::Result<(HomeDepot, Arc<ProductIndex>)> {
    let dataset = HomeDepot::load(dataset_dir)
        .with_context(|| format!("cannot load the Home Depot judgments from {}", dataset_dir.display()))?;
    println!("{} products, {} judged queries", dataset.products.len(), dataset.queries.len());
    let catalog = Catalog::new(data_dir.eval_data());
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

pub(in crate::commands) fn run(data_dir: &DataDir, args: &EvalSearchArgs) -> anyhow::Result<()> {
    let gains = match &args.gain {
        Some(text) => GainMap::parse(text).map_err(|reason| anyhow::anyhow!("--gain {text}: {reason}"))?,
        None => GainMap::default(),
    };
    let out = args.out.clone().unwrap_or_else(|| data_dir.eval());
    std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
    match (&args.index, &args.judgments) {
        (None, None) => {
            anyhow::ensure!(args.gain.is_none(), "--gain applies to --judgments files (Home Depot grades are 1..=3)");
            let (dataset, index) = build_homedepot(data_dir, &args.dataset)?;
            let baseline = PlainBm25::new(index.clone());
            judged_runs(&index, &dataset.queries, Some(&baseline), true, args, &out)
        }
        (Some(name), Some(judgments)) => {
            let name = IndexName::new(name)?;
            let catalog = Catalog::new(data_dir.clone());
            anyhow::ensure!(catalog.exists(&name), "index `{name}` does not exist in {}", data_dir.root().display());
            let index = catalog.get(&name)?;
            let ids: std::collections::HashSet<String> =
                catalog.products(&name)?.into_iter().map(|product| product.id.to_string()).collect();
            let (queries, unknown) = read_judgments_csv(judgments, &gains, |id| ids.contains(id))?;
            println!(
                "index `{name}`: {} products; {} judged queries from {} ({unknown} judgments of products not in the index left out)",
                ids.len(),
                queries.len(),
                judgments.display()
            );
            anyhow::ensure!(!queries.is_empty(), "no judged query names a product of `{name}`");
            judged_runs(&index, &queries, None, args.typos, args, &out)
        }
        _ => anyhow::bail!("--index and --judgments go together (without both: the Home Depot judgments)"),
    }
}

/// A draft of settings read from `path`, laid over the live settings of `index`: every part the
/// file has (`synonyms`, `rules`, `ranking`, `typo_tolerance`, …) replaces the live one; the
/// others stay as they are.
fn read_draft(path: &Path, index: &ProductIndex) -> anyhow::Result<IndexSettings> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let draft: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{}: not JSON", path.display()))?;
    let parts = draft.as_object().with_context(|| format!("{}: settings are a JSON object", path.display()))?;
    draft_settings(index, parts).map_err(|error| anyhow::anyhow!("{}: {error}", path.display()))
}

/// Runs the judged queries through the live settings (the index's), a draft (`--settings`) and a
/// baseline, as typed and (with `typos`) with one typo; prints the table, the draft's differences
/// with their paired randomization test, the worst queries; writes the JSON and HTML reports.
fn judged_runs(
    index: &Arc<ProductIndex>,
    queries: &[JudgedQuery],
    baseline: Option<&PlainBm25>,
    typos: bool,
    args: &EvalSearchArgs,
    out: &Path,
) -> anyhow::Result<()> {
    let live = VitrineSearch::new(index.clone());
    let draft = match &args.settings {
        Some(path) => Some(VitrineSearch::with_settings(index.clone(), read_draft(path, index)?)),
        None => None,
    };
    let mut engines: Vec<(&str, &dyn SearchBackend)> = vec![("live", &live)];
    if let Some(draft) = &draft {
        engines.push(("draft", draft));
    }
    if let Some(baseline) = baseline {
        engines.push(("plain BM25", baseline));
    }
    let mut variants = vec![("as typed", QueryVariant::AsTyped)];
    if typos {
        variants.push(("one typo", QueryVariant::OneTypo { seed: args.seed }));
    }
    let mut reports: Vec<(String, RelevanceReport)> = Vec::new();
    for (engine_name, engine) in &engines {
        for (variant_name, variant) in &variants {
            let progress = bar(queries.len() as u64, "evaluating")?;
            progress.set_message(format!("{engine_name}, {variant_name}"));
            let started = Instant::now();
            let report = evaluate(*engine, queries, *variant, Some(&progress))?;
            progress.finish_and_clear();
            println!(
                "{engine_name:>10}, {variant_name:<8}: {:.0} queries/s",
                queries.len() as f64 / started.elapsed().as_secs_f64()
            );
            reports.push((format!("{engine_name}, {variant_name}"), report));
        }
    }

    println!();
    println!("{:<24} {:>8} {:>8} {:>10} {:>12}", "engine, queries", "NDCG@10", "MRR@10", "Recall@10", "zero results");
    let mean = |metric: &MetricMean| metric.mean.map_or("-".to_owned(), |m| format!("{m:.4}"));
    for (label, report) in &reports {
        println!(
            "{label:<24} {:>8} {:>8} {:>10} {:>12}",
            mean(&report.ndcg),
            mean(&report.mrr),
            mean(&report.recall),
            mean(&report.zero_results)
        );
    }
    let find = |label: &str| reports.iter().find(|(name, _)| name == label).map(|(_, report)| report);
    let ndcg = |label: &str| find(label).and_then(|report| report.ndcg.mean).unwrap_or(0.0);
    if baseline.is_some() {
        println!();
        println!(
            "live vs plain BM25, NDCG@10: {:+.1} % as typed, {:+.1} % with one typo; the typo costs live settings {:.1} %",
            (ndcg("live, as typed") / ndcg("plain BM25, as typed") - 1.0) * 100.0,
            (ndcg("live, one typo") / ndcg("plain BM25, one typo") - 1.0) * 100.0,
            (1.0 - ndcg("live, one typo") / ndcg("live, as typed")) * 100.0
        );
    }

    let mut comparison = Vec::new();
    if draft.is_some() {
        println!();
        println!("draft vs live (paired randomization test, {DEFAULT_ROUNDS} sign flips; * = p < 0.05):");
        let runs = variants.iter().filter_map(|(_, variant)| {
            let label = |engine: &str| format!("{engine}, {variant}", variant = variant.label());
            Some((*variant, find(&label("live"))?, find(&label("draft"))?))
        });
        for row in compare_draft(runs).rows {
            println!(
                "  {:<24} live {:.4}  draft {:.4}  {:+.4}  p = {:.4}{}  ({} queries)",
                row.metric,
                row.live,
                row.draft,
                row.difference,
                row.p_value,
                if row.p_value < 0.05 { " *" } else { "" },
                row.queries
            );
            comparison.push(row);
        }
    }

    if let Some((label, report)) = reports.first() {
        println!();
        println!("worst queries ({label}):");
        for result in report.worst(10) {
            println!("  {:>8}  NDCG {:.3}  {}", result.id, result.ndcg.unwrap_or(0.0), result.query);
        }
    }

    let json_path = out.join("search-report.json");
    let runs: serde_json::Map<String, serde_json::Value> = reports
        .iter()
        .map(|(label, report)| Ok((label.clone(), serde_json::to_value(report)?)))
        .collect::<Result<_, serde_json::Error>>()?;
    let json = serde_json::json!({"runs": runs, "comparison": comparison});
    std::fs::write(&json_path, serde_json::to_vec_pretty(&json)?)
        .with_context(|| format!("cannot write {}", json_path.display()))?;
    let html_path = out.join("search-report.html");
    let runs: Vec<SearchRun<'_>> =
        reports.iter().map(|(label, report)| SearchRun { label: label.clone(), report }).collect();
    let html = search_html("Vitrine search relevance", &runs, draft.is_some().then_some(comparison.as_slice()));
    std::fs::write(&html_path, html).with_context(|| format!("cannot write {}", html_path.display()))?;
    println!();
    println!("report: {} (per query: {})", html_path.display(), json_path.display());
    Ok(())
}
