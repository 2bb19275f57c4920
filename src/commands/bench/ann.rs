//! `vitrine bench ann`: HNSW against an exact scan on real vectors (the content vectors of the
//! Home Depot titles): recall@10 and queries/s for several beam widths.

use std::time::Instant;

use anyhow::Context;

use crate::cli::BenchAnnArgs;

pub(in crate::commands) fn run(args: &BenchAnnArgs) -> anyhow::Result<()> {
    use vitrine_recommender::ann::{AnnIndex, AnnParams, Metric, benchmark};

    anyhow::ensure!(args.queries >= 1 && !args.ef.is_empty(), "--queries and --ef must not be empty");
    let dataset = vitrine_eval::search::HomeDepot::load(&args.dataset)
        .with_context(|| format!("cannot load the Home Depot titles from {}", args.dataset.display()))?;
    let titles: Vec<String> = dataset.products.into_iter().map(|(_, title)| title).collect();
    let started = Instant::now();
    let params = vitrine_pipelines::content::ContentParams::default();
    let vectors = vitrine_pipelines::content::content_embeddings(&titles, &params)?;
    println!(
        "{} Home Depot titles → {}-dimension content vectors (TF-IDF + random projection) in {:.1} s",
        vectors.nrows(),
        vectors.ncols(),
        started.elapsed().as_secs_f64()
    );
    let step = (vectors.nrows() / args.queries).max(1);
    let rows: Vec<usize> = (0..vectors.nrows()).step_by(step).collect();
    let queries = vectors.select(ndarray::Axis(0), &rows);
    let defaults = AnnParams::default();
    let started = Instant::now();
    let mut index = AnnIndex::build(
        vectors.view(),
        Metric::Cosine,
        &AnnParams { exact_below_items: 0, min_graph_recall: 0.0, ..defaults },
    );
    println!(
        "HNSW (hnsw_rs, cosine): max_nb_connection {}, ef_construction {}; built in {:.1} s; {} queries, k = 10, one thread",
        defaults.max_nb_connection,
        defaults.ef_construction,
        started.elapsed().as_secs_f64(),
        queries.nrows()
    );
    println!(
        "{:>6} {:>10} {:>10} {:>10} {:>14} {:>15}",
        "ef", "recall@10", "hnsw q/s", "exact q/s", "hnsw 30% q/s", "exact 30% q/s"
    );
    for &ef in &args.ef {
        index.set_ef_search(ef);
        let measured = benchmark(&index, queries.view(), 10);
        println!(
            "{ef:>6} {:>10.4} {:>10.0} {:>10.0} {:>14.0} {:>15.0}",
            measured.recall,
            measured.hnsw_qps,
            measured.exact_qps,
            measured.hnsw_filtered_qps,
            measured.exact_filtered_qps
        );
    }
    Ok(())
}
