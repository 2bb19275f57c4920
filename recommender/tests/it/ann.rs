//! The HNSW index against brute force: recall, filters, inner-product exactness.

use ndarray::{Array2, array};
use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};
use vitrine_recommender::ann::{Allow, AnnIndex, AnnParams, Metric, filtered_recall_at_k, recall_at_k};

const DIMS: usize = 64;

/// Parameters that always walk the graph, whatever the index size and filter.
fn graph_only() -> AnnParams {
    AnnParams { exact_below_items: 0, min_graph_recall: 0.0, ..AnnParams::default() }
}

/// Uniform components in [-1, 1], each row scaled by a factor in [0.25, 1.75] so that norms vary
/// sevenfold, as ALS item factors' do (which is what makes inner-product search hard).
fn random_vectors(rows: usize, seed: u64) -> Array2<f32> {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut vectors = Array2::from_shape_simple_fn((rows, DIMS), || rng.random_range(-1.0_f32..1.0));
    for mut row in vectors.rows_mut() {
        row *= rng.random_range(0.25_f32..1.75);
    }
    vectors
}

#[test]
fn recall_at_10_is_at_least_095_for_both_metrics() {
    let items = random_vectors(5_000, 1);
    let queries = random_vectors(200, 2);
    for metric in [Metric::Cosine, Metric::InnerProduct] {
        let index = AnnIndex::build(items.view(), metric, &graph_only());
        assert_eq!(index.len(), 5_000);
        let recall = recall_at_k(&index, queries.view(), 10);
        assert!(recall >= 0.95, "{metric:?}: recall@10 = {recall}");
    }
}

#[test]
fn a_graph_is_used_only_when_its_own_items_find_their_neighbours() {
    let items = random_vectors(5_000, 11);
    let checked = AnnParams { exact_below_items: 0, ..AnnParams::default() };
    let good = AnnIndex::build(items.view(), Metric::Cosine, &checked);
    assert!(good.has_graph(), "recall {:?}", good.graph_recall());
    assert!(good.graph_recall().is_some_and(|recall| recall >= 0.95));
    // Two links a node and a beam of two while building: a graph that loses its way.
    let poor = AnnParams { max_nb_connection: 2, ef_construction: 2, ef_search: 1, ..checked };
    let dropped = AnnIndex::build(items.view(), Metric::Cosine, &poor);
    let recall = dropped.graph_recall().expect("checked");
    assert!(recall < 0.95 && !dropped.has_graph(), "recall {recall}: the graph is dropped");
    // Kept regardless, it answers worse than the exact scan the dropped one falls back to.
    let kept = AnnIndex::build(items.view(), Metric::Cosine, &AnnParams { min_graph_recall: 0.0, ..poor });
    assert!(kept.has_graph() && kept.graph_recall().is_none());
    let queries = random_vectors(50, 12);
    assert!(recall_at_k(&kept, queries.view(), 10) < 0.95);
    assert_eq!(recall_at_k(&dropped, queries.view(), 10), 1.0);
    for query in queries.rows() {
        assert_eq!(dropped.search(query, 10, &|_| true), dropped.brute_force(query, 10, &|_| true));
    }
}

#[test]
fn copies_of_one_vector_are_interchangeable_in_recall() {
    // Forty copies of each of 100 vectors (a shop replicated forty times): the exact top 10 of a
    // query is ten of the forty copies of its nearest vector, chosen by id; any ten are as good.
    let distinct = random_vectors(100, 5);
    let items = Array2::from_shape_fn((4_000, DIMS), |(row, col)| distinct[[row % 100, col]]);
    let queries = random_vectors(50, 6);
    let index = AnnIndex::build(items.view(), Metric::Cosine, &graph_only());
    let recall = recall_at_k(&index, queries.view(), 10);
    assert!(recall >= 0.95, "recall@10 = {recall}");
    let first_copies = |id: u32| id < 1_000;
    let filtered = filtered_recall_at_k(&index, queries.view(), 10, &first_copies);
    assert!(filtered >= 0.95, "filtered recall@10 = {filtered}");
}

#[test]
fn filter_is_respected_and_results_stay_k() {
    let items = random_vectors(2_000, 3);
    let queries = random_vectors(20, 4);
    // A beam narrow enough for the graph to be walked with a filter passing a tenth of the items.
    let params = AnnParams { ef_search: 64, ..graph_only() };
    let index = AnnIndex::build(items.view(), Metric::Cosine, &params);
    // Half the items (in stock), a tenth, and a handful: the last goes through the exact scan.
    let filters: [(&str, &Allow<'_>); 3] =
        [("even ids", &|id| id % 2 == 0), ("one in ten", &|id| id % 10 == 3), ("four items", &|id| id % 500 == 7)];
    for (name, allow) in filters {
        let passing = (0..2_000).filter(|&id| allow(id)).count();
        for query in queries.rows() {
            let found = index.search(query, 10, allow);
            assert!(found.iter().all(|&(id, _)| allow(id)), "{name}: a returned id fails the filter");
            assert_eq!(found.len(), passing.min(10), "{name}: wrong number of results");
            assert!(found.windows(2).all(|pair| pair[0].1 >= pair[1].1), "{name}: not best first");
            // Filtered results are still near the exact filtered top.
            let exact = index.brute_force(query, 10, allow);
            let hits = exact.iter().filter(|(id, _)| found.iter().any(|(f, _)| f == id)).count();
            assert!(hits * 10 >= exact.len() * 7, "{name}: only {hits} of the exact top {}", exact.len());
        }
    }
}

#[test]
fn selective_filters_give_the_exact_answer() {
    let items = random_vectors(2_000, 5);
    let params = AnnParams { exact_below_items: 0, ..AnnParams::default() };
    let index = AnnIndex::build(items.view(), Metric::InnerProduct, &params);
    let query = random_vectors(1, 6);
    // 1% of the items pass: `ef` covers them all, the search is the exact scan.
    let allow = |id: u32| id % 100 == 42;
    assert_eq!(index.search(query.row(0), 10, &allow), index.brute_force(query.row(0), 10, &allow));
    // Nothing passes: nothing is returned.
    assert!(index.search(query.row(0), 10, &|_| false).is_empty());
}

#[test]
fn large_k_returns_k_items() {
    let items = random_vectors(2_000, 7);
    let index = AnnIndex::build(items.view(), Metric::Cosine, &graph_only());
    let query = random_vectors(1, 8);
    let found = index.search(query.row(0), 300, &|_| true);
    assert_eq!(found.len(), 300);
    let exact = index.brute_force(query.row(0), 300, &|_| true);
    let hits = exact.iter().filter(|(id, _)| found.iter().any(|(f, _)| f == id)).count();
    assert!(hits >= 285, "only {hits} of the exact top 300");
}

#[test]
fn inner_product_matches_brute_force_on_a_small_exact_case() {
    // Norms differ a lot; the best inner products are not the best cosines.
    let items = array![
        [5.0_f32, 0.0, 0.0],
        [0.1, 0.0, 0.0],
        [2.0, 2.0, 0.0],
        [0.0, 0.0, 3.0],
        [-4.0, 1.0, 0.0],
        [1.0, 1.0, 1.0],
        [0.0, -3.0, 0.5],
        [3.0, -1.0, 2.0],
    ];
    let query = array![1.0_f32, 0.5, 0.25];
    let index = AnnIndex::build(items.view(), Metric::InnerProduct, &graph_only());
    let exact = index.brute_force(query.view(), 3, &|_| true);
    // 5.0 (item 0), 3.0 - 0.5 + 0.5 = 3.0 (item 7), 2 + 1 = 3.0 (item 2): ties broken by id.
    assert_eq!(exact, vec![(0, 5.0), (2, 3.0), (7, 3.0)]);
    assert_eq!(index.search(query.view(), 3, &|_| true), exact);
    // Scores are the true inner products, also for a query of another norm.
    let scaled = &query * 10.0;
    assert_eq!(index.search(scaled.view(), 1, &|_| true), vec![(0, 50.0)]);
}

#[test]
fn inner_product_graph_search_returns_true_scores() {
    let items = random_vectors(1_500, 9);
    let index = AnnIndex::build(items.view(), Metric::InnerProduct, &graph_only());
    let query = random_vectors(1, 10);
    for (id, score) in index.search(query.row(0), 10, &|_| true) {
        let expected = items.row(id as usize).dot(&query.row(0));
        assert!((score - expected).abs() < 1e-4, "item {id}: {score} vs {expected}");
    }
}

#[test]
fn cosine_scores_are_cosines() {
    let items = array![[3.0_f32, 4.0], [0.0, 2.0], [-1.0, 0.0]];
    let index = AnnIndex::build(items.view(), Metric::Cosine, &graph_only());
    let found = index.search(array![0.0_f32, 5.0].view(), 3, &|_| true);
    let expected = [(1, 1.0), (0, 0.8), (2, 0.0)];
    for ((id, score), (expected_id, expected_score)) in found.into_iter().zip(expected) {
        assert_eq!(id, expected_id);
        assert!((score - expected_score).abs() < 1e-6, "item {id}: {score}");
    }
}

/// A large exact scan runs its parts on threads of its own: with every thread of the rayon pool
/// busy (as while a new model's graphs are built on it), a search still answers. When the parts
/// ran on the pool, such a search waited for the pool — a request timed out during a model swap.
#[test]
fn a_large_exact_scan_does_not_wait_for_a_busy_rayon_pool() {
    use std::sync::mpsc;
    use std::time::Duration;

    let items = random_vectors(40_000, 5);
    let index = AnnIndex::build(
        items.view(),
        Metric::InnerProduct,
        &AnnParams { exact_below_items: usize::MAX, scan_threads: 2, ..AnnParams::default() },
    );
    let query = items.row(17).to_owned();
    let expected = index.brute_force(query.view(), 10, &|_| true);

    // Occupy every thread of the pool until released.
    let threads = rayon::current_num_threads();
    let (started_tx, started_rx) = mpsc::channel();
    let mut releases = Vec::new();
    for _ in 0..threads {
        let (release_tx, release_rx) = mpsc::channel::<()>();
        releases.push(release_tx);
        let started = started_tx.clone();
        rayon::spawn(move || {
            started.send(()).ok();
            release_rx.recv().ok();
        });
    }
    for _ in 0..threads {
        started_rx.recv_timeout(Duration::from_secs(60)).expect("the pool's threads start the blocking jobs");
    }

    let (found_tx, found_rx) = mpsc::channel();
    let searcher = std::thread::spawn(move || {
        found_tx.send(index.search(query.view(), 10, &|_| true)).ok();
    });
    let found = found_rx.recv_timeout(Duration::from_secs(30));
    for release in releases {
        release.send(()).ok();
    }
    searcher.join().expect("the search thread");
    assert_eq!(found.expect("the search answered while the pool was busy"), expected);
}
