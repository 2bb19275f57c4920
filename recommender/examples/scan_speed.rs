//! Latency of the exact scan on a large index: the coded scan [`AnnIndex::search`] answers with
//! when there is no graph, against the f32 scan of [`AnnIndex::brute_force`], one query at a
//! time, without filter and with a filter that lets half of the items through.
//!
//! Items are random 64-dimensional vectors whose norms vary sevenfold (as ALS factors' do); the
//! default count is the 408,100 items of the demo shop replicated a hundred times. The coded scan
//! of a large index is split between threads, one per core (`scan_threads: 0`, the default); it
//! is also timed in one part (`scan_threads: 1`), in the same run.
//!
//! ```text
//! cargo run --release -p vitrine-recommender --example scan_speed [-- ITEMS]
//! ```

use std::time::Instant;

use ndarray::Array2;
use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};
use vitrine_recommender::ann::{Allow, AnnIndex, AnnParams, Metric};

const DIMS: usize = 64;
const QUERIES: usize = 1_000;
const K: usize = 10;

fn random_vectors(rows: usize, seed: u64) -> Array2<f32> {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut vectors = Array2::from_shape_simple_fn((rows, DIMS), || rng.random_range(-1.0_f32..1.0));
    for mut row in vectors.rows_mut() {
        row *= rng.random_range(0.25_f32..1.75);
    }
    vectors
}

/// p50 and p99 of the searches' latencies, in milliseconds.
fn timed(queries: &Array2<f32>, search: impl Fn(ndarray::ArrayView1<'_, f32>) -> usize) -> (f64, f64) {
    let mut latencies: Vec<f64> = queries
        .rows()
        .into_iter()
        .map(|query| {
            let started = Instant::now();
            std::hint::black_box(search(query));
            started.elapsed().as_secs_f64() * 1_000.0
        })
        .collect();
    latencies.sort_by(f64::total_cmp);
    let at = |quantile: f64| latencies[((latencies.len() - 1) as f64 * quantile).round() as usize];
    (at(0.5), at(0.99))
}

fn main() {
    let n_items: usize = match std::env::args().nth(1) {
        Some(text) => text.parse().expect("the argument is the number of items"),
        None => 408_100,
    };
    let items = random_vectors(n_items, 7);
    let queries = random_vectors(QUERIES, 11);
    // No graph: every search scans.
    let params = AnnParams { exact_below_items: usize::MAX, ..AnnParams::default() };
    println!(
        "{n_items} items x {DIMS} dims, k = {K}, {QUERIES} queries one at a time, {} cores",
        std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
    );
    println!(
        "{:<14} {:<7} {:>16} {:>16} {:>16} {:>16} {:>16} {:>16}",
        "metric",
        "filter",
        "coded parts p50",
        "coded parts p99",
        "coded one p50",
        "coded one p99",
        "f32 p50",
        "f32 p99"
    );
    let all = |_: u32| true;
    let half = |item: u32| item.is_multiple_of(2);
    let filters: [(&str, &Allow<'_>); 2] = [("none", &all), ("half", &half)];
    for metric in [Metric::InnerProduct, Metric::Cosine] {
        let parts = AnnIndex::build(items.view(), metric, &params);
        let one = AnnIndex::build(items.view(), metric, &AnnParams { scan_threads: 1, ..params.clone() });
        assert!(!parts.has_graph() && !one.has_graph());
        for (name, allow) in filters {
            let in_parts = timed(&queries, |query| parts.search(query, K, allow).len());
            let in_one = timed(&queries, |query| one.search(query, K, allow).len());
            let f32_scan = timed(&queries, |query| parts.brute_force(query, K, allow).len());
            println!(
                "{:<14} {name:<7} {:>16.2} {:>16.2} {:>16.2} {:>16.2} {:>16.2} {:>16.2}",
                format!("{metric:?}"),
                in_parts.0,
                in_parts.1,
                in_one.0,
                in_one.1,
                f32_scan.0,
                f32_scan.1
            );
        }
    }
}
