//! Recall and speed of the HNSW index against an exact scan.
//!
//! For 4,000 and 50,000 items of 64 dimensions, both metrics and two kinds of data, this builds an
//! [`AnnIndex`] that always walks the graph (`exact_below_items: 0`; the other parameters are the
//! defaults, or `EF_SEARCH` if given) and measures:
//!
//! * recall@10 of the graph search against the exact scan ([`recall_at_k`]);
//! * queries per second, on one thread (the server runs one query per request), of the graph
//!   search and of the exact scan ([`AnnIndex::brute_force`]), without filter and with a filter
//!   that lets 30% of the items through.
//!
//! The two kinds of data:
//!
//! * `uniform`: independent uniform components, each item scaled by a factor in [0.25, 1.75] so
//!   that norms vary as ALS factors' do. 64 independent dimensions are the worst case for a graph
//!   index (real embeddings have far fewer degrees of freedom).
//! * `clustered`: 100 random centres, each item a centre plus noise a third of its size, with the
//!   same per-item scale: closer to embeddings of a catalog made of product families.
//!
//! ```text
//! cargo run --release -p vitrine-recommender --example ann_recall [-- EF_SEARCH [uniform|clustered]]
//! ```

use std::time::Instant;

use ndarray::Array2;
use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};
use vitrine_recommender::ann::{AnnBenchmark, AnnIndex, AnnParams, Metric, benchmark};

const DIMS: usize = 64;
const QUERIES: usize = 500;
const K: usize = 10;
const CENTRES: usize = 100;

/// `rows` items of the given kind, drawn from `seed`.
fn random_vectors(kind: &str, rows: usize, seed: u64) -> Array2<f32> {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let centres = Array2::from_shape_simple_fn((CENTRES, DIMS), || rng.random_range(-1.0_f32..1.0));
    let mut vectors = Array2::from_shape_simple_fn((rows, DIMS), || rng.random_range(-1.0_f32..1.0));
    for mut row in vectors.rows_mut() {
        if kind == "clustered" {
            let centre = centres.row(rng.random_range(0..CENTRES));
            row.zip_mut_with(&centre, |value, &centre| *value = centre + *value / 3.0);
        }
        row *= rng.random_range(0.25_f32..1.75);
    }
    vectors
}

fn main() {
    let mut arguments = std::env::args().skip(1);
    let defaults = AnnParams::default();
    let ef_search = match arguments.next() {
        Some(text) => text.parse().expect("the first argument is ef_search, a number"),
        None => defaults.ef_search,
    };
    let kinds: Vec<String> = match arguments.next() {
        Some(kind) => vec![kind],
        None => vec!["uniform".to_owned(), "clustered".to_owned()],
    };
    let params = AnnParams { ef_search, exact_below_items: 0, min_graph_recall: 0.0, ..defaults };
    println!(
        "HNSW (hnsw_rs): max_nb_connection {}, ef_construction {}, ef_search {}; {DIMS} dims, k = {K}, \
         {QUERIES} queries, one thread per query",
        params.max_nb_connection, params.ef_construction, params.ef_search
    );
    println!(
        "{:>9} {:>7} {:>13} {:>8} {:>10} {:>9} {:>10} {:>13} {:>14}",
        "data", "items", "metric", "build s", "recall@10", "hnsw q/s", "exact q/s", "hnsw 30% q/s", "exact 30% q/s"
    );
    for kind in &kinds {
        for n_items in [4_000, 50_000] {
            let items = random_vectors(kind, n_items, 7);
            // Queries come from the same distribution as the items (a user vector, or the
            // embedding of a product being viewed).
            let queries = random_vectors(kind, QUERIES, 11);
            for metric in [Metric::Cosine, Metric::InnerProduct] {
                let start = Instant::now();
                let index = AnnIndex::build(items.view(), metric, &params);
                let build_seconds = start.elapsed().as_secs_f64();

                let AnnBenchmark {
                    recall,
                    hnsw_qps: hnsw,
                    exact_qps: exact,
                    hnsw_filtered_qps: hnsw_30,
                    exact_filtered_qps: exact_30,
                } = benchmark(&index, queries.view(), K);
                println!(
                    "{kind:>9} {n_items:>7} {:>13} {build_seconds:>8.1} {recall:>10.4} {hnsw:>9.0} {exact:>10.0} \
                     {hnsw_30:>13.0} {exact_30:>14.0}",
                    format!("{metric:?}")
                );
            }
        }
    }
}
