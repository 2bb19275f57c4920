//! Approximate nearest-neighbour search over item vectors: an HNSW graph (hnsw_rs) with filters
//! applied during the search.
//!
//! # Design
//!
//! One graph distance for both metrics, `1 − a·b` clamped at 0: hnsw_rs's `DistDot` without its
//! `a·b ≤ 1.000002` assertion (a panic waiting for a rounding error). It needs `‖a‖, ‖b‖ ≤ 1`:
//!
//! * [`Metric::Cosine`] (content embeddings): rows are L2-normalised at build time and the query
//!   too, so the distance is `1 − cos`.
//! * [`Metric::InnerProduct`] (ALS item factors against a user vector): items are divided by the
//!   largest item norm `M` and the query is normalised, so the distance is `1 − x·q / (M‖q‖)`:
//!   the graph is built and searched with the inner product itself as similarity. That is ip-NSW
//!   (Morozov & Babenko 2018, "Non-metric similarity graphs for maximum inner product search"),
//!   and what Faiss' HNSW does for inner products. The Euclidean reduction of Bachrach et al. 2014 (append `sqrt(M² − ‖x‖²)`, divide by
//!   `M`, cosine graph) was implemented and measured first: on 5,000 random 64-d vectors whose norms
//!   vary sevenfold, as ALS factors' do, its recall@10 was 0.29 at `ef = 32` and 0.66 at `ef = 256`
//!   (the small-norm items crowd around the added axis, far from every query, and the walk stalls
//!   there), against 0.999 and 1.0 for ip-NSW with the same beam widths.
//!
//! The graph only finds candidates. Every returned score is recomputed on the stored vectors — the
//! cosine, or the **true inner product** `x·q` — so [`AnnIndex::search`] and the exact
//! [`AnnIndex::brute_force`] return the same scores and can be compared item by item
//! ([`recall_at_k`]).
//!
//! # Filters and the search-width rule
//!
//! hnsw_rs has no deletion: deleted, out-of-stock, already-bought or wrong-category items are
//! masked by the `allow` filter, which hnsw_rs applies **during** the graph walk (only allowed
//! items enter the result beam, so the beam needs no widening for selective filters; the walk
//! goes on until no candidate can improve the beam). [`AnnIndex::search`] chooses between the
//! graph and an exact scan as follows:
//!
//! 1. The beam width is `ef = max(ef_search, 2·k)`: the beam must stay wider than the answer for
//!    its last places to be right when `k` is large.
//! 2. The filter is evaluated on an evenly spread sample of up to 256 items, which estimates how
//!    many items pass (all of them without filter).
//! 3. Exact scan of the passing items if at most [`AnnParams::exact_below_items`] pass, or if
//!    `ef` is at least half of them (the walk would reach most of them anyway). hnsw_rs pays an
//!    allocation and a hash-map probe per visited node, and a selective filter makes the walk
//!    visit about `1 / share passing` nodes per result: measured on 64-d vectors (the `ann_recall`
//!    example), a flat scan of 50,000 items is as fast as the graph or faster, and much faster
//!    with a filter. An index of at most `exact_below_items` items therefore never walks a
//!    graph, and none is built for it.
//! 4. Otherwise the graph is searched; if it returns fewer than `k` items (the walk got stuck in a
//!    region where the filter rejects everything, or fewer than `k` items pass at all), the exact
//!    scan answers instead. So a search returns `k` items whenever `k` items pass the filter.
//!
//! # Checked at build
//!
//! A graph is only as good as the data lets it be: on the ALS vectors of a 408,100-item shop (100
//! disjoint copies of the demo shop), hnsw_rs graphs found 0.60–0.89 of the exact cosine top 10
//! and 0.19–0.32 of the inner-product top 10 however wide the beam (parallel insertion; serial
//! insertion reached 0.85), while they find all of it at 40,000 items. So every built graph is
//! checked on 200 of its own items against the exact scan; below [`AnnParams::min_graph_recall`]
//! (0.95) it is dropped and the index scans exactly: slower at that size, never wrong.
//!
//! # The exact scan
//!
//! [`AnnIndex::search`]'s exact scan reads an 8-bit copy of the vectors (a quarter of the memory)
//! with a proven bound on each item's score, and rescores in f32 only the items whose bound
//! reaches the `k`-th best: the same items and scores as the f32 scan of
//! [`AnnIndex::brute_force`] (see `Codes`). On 408,100 random 64-dimensional vectors, one thread:
//! 3.6 ms a query against 5.2 ms for the f32 scan. From 32,768 items on, the scan is split
//! between as many threads as there are cores, each part keeping its own floor (an item a part
//! leaves out is below that part's `k`-th best, so below the whole scan's): a search alone on the
//! machine takes about half the time on two cores; under load the parts share the cores with the
//! other requests. The threads are the scan's own (scoped), not the rayon pool's: with the pool,
//! a request arriving while a new model's graphs were being built on it waited behind that build
//! (a 408 after the server's timeout in `vitrine bench recs --replicate 100`).
//!
//! # Numerics
//!
//! Non-finite components (NaN, ±∞) are read as 0, so a corrupt vector cannot poison the graph.
//! Zero vectors are allowed (an item without text, a user without history): they stay zero and
//! score 0.
//!
//! # Logging
//!
//! hnsw_rs logs through the `log` facade (graph parameters at `info` on every build and drop) and
//! prints nothing on stdout on the paths used here. Whoever installs the logger should cap the
//! `hnsw_rs` target at `warn`.

use std::ops::Range;

use hnsw_rs::prelude::{Distance, FilterT, Hnsw};
use ndarray::parallel::prelude::{IntoParallelIterator, ParallelIterator};
use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Axis};
use serde::{Deserialize, Serialize};

/// The filter of a search: whether an item may be returned. `Sync`, as a large exact scan reads
/// it from several threads.
pub type Allow<'a> = dyn Fn(u32) -> bool + Sync + 'a;

/// How item vectors and the query are compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Cosine similarity; scores are in `[-1, 1]`.
    Cosine,
    /// Inner product (maximum inner-product search); scores are the raw dot products.
    InnerProduct,
}

/// HNSW construction and search parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AnnParams {
    /// Neighbours kept per node and layer (HNSW's `M`); clamped to `2..=256`. More links: better
    /// recall, bigger index, slower build.
    pub max_nb_connection: usize,
    /// Beam width while inserting; at least `max_nb_connection` is used.
    pub ef_construction: usize,
    /// Beam width while searching (the effective width is `max(ef_search, 2·k)`).
    pub ef_search: usize,
    /// When at most this many items pass the filter (estimated on a sample; all items without
    /// filter), they are scanned exactly instead of walking the graph: below it a flat scan is as
    /// fast as hnsw_rs's walk or faster (see the `ann_recall` example). 0 always walks the graph
    /// (unless `ef` covers half the passing items).
    pub exact_below_items: usize,
    /// The recall@10 a built graph must reach against the exact scan, on a sample of its own
    /// items as queries, to be used; below it the graph is dropped and every search scans
    /// exactly (slower, never wrong). 0 keeps every graph.
    pub min_graph_recall: f64,
    /// Threads one exact scan of a large index (32,768 items or more) is split between; 0 uses
    /// as many as the process has cores. 1 keeps every scan on the request's own thread (the
    /// cores then go to concurrent requests only).
    pub scan_threads: usize,
}

impl Default for AnnParams {
    fn default() -> Self {
        Self {
            max_nb_connection: 32,
            ef_construction: 200,
            ef_search: 128,
            exact_below_items: 50_000,
            min_graph_recall: 0.95,
            scan_threads: 0,
        }
    }
}

/// Items searched for when a built graph is checked (see [`AnnParams::min_graph_recall`]).
const GRAPH_CHECK_QUERIES: usize = 200;

/// Number of layers hnsw_rs may use (its own maximum).
const MAX_LAYERS: usize = 16;

/// How many items the filter is tried on to estimate its selectivity.
const FILTER_SAMPLE: usize = 256;

/// The graph's distance: `1 − a·b`, clamped at 0 against rounding (hnsw_rs asserts distances are
/// non-negative). Vectors in the graph have norms at most 1 (see the module documentation).
#[derive(Debug, Clone, Copy)]
struct DotDistance;

impl Distance<f32> for DotDistance {
    fn eval(&self, a: &[f32], b: &[f32]) -> f32 {
        (1.0 - dot(a, b)).max(0.0)
    }
}

/// An HNSW index over item vectors, addressed by row number (`u32`).
///
/// The index owns all its data (`'static`), is `Send + Sync`, and is meant to be shared behind an
/// `Arc` and queried from many threads. It is immutable once built: rebuild it to add items, mask
/// items with the search filter to remove them.
pub struct AnnIndex {
    metric: Metric,
    /// The vectors scores are computed on, and the graph was built from: unit rows for `Cosine`,
    /// the original rows for `InnerProduct` (non-finite components zeroed in both cases).
    vectors: Array2<f32>,
    /// The same vectors in 8 bits, read by the exact scan (see [`Codes`]).
    codes: Codes,
    /// `None` when the index has no more items than [`AnnParams::exact_below_items`] (every
    /// search would scan exactly, so building a graph would be wasted time at load), or when the
    /// built graph failed its check ([`AnnParams::min_graph_recall`]).
    graph: Option<Hnsw<'static, f32, DotDistance>>,
    params: AnnParams,
    /// The recall@10 the graph reached when checked at build time.
    graph_recall: Option<f64>,
}

impl std::fmt::Debug for AnnIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AnnIndex")
            .field("metric", &self.metric)
            .field("len", &self.len())
            .field("dims", &self.dims())
            .field("params", &self.params)
            .finish_non_exhaustive()
    }
}

impl AnnIndex {
    /// Builds the index over the rows of `vectors` (row `i` is item `i`), inserting in parallel on
    /// the rayon pool. Parallel insertion makes the graph (not the exact results) vary slightly
    /// from one build to the next.
    ///
    /// # Panics
    ///
    /// If `vectors` has no column, or more than `u32::MAX` rows.
    pub fn build(vectors: ArrayView2<f32>, metric: Metric, params: &AnnParams) -> AnnIndex {
        let (n_items, dims) = vectors.dim();
        assert!(dims > 0, "AnnIndex::build: item vectors need at least one dimension");
        assert!(u32::try_from(n_items).is_ok(), "AnnIndex::build: more than u32::MAX items");

        let mut flat = Vec::with_capacity(n_items * dims);
        for row in vectors.rows() {
            let start = flat.len();
            flat.extend(row.iter().copied().map(finite_or_zero));
            if metric == Metric::Cosine {
                normalise(&mut flat[start..]);
            }
        }
        // Inner product: the graph gets the items divided by the largest norm (a temporary copy).
        let max_norm = flat.chunks_exact(dims).map(norm).fold(0.0, f64::max);
        let scaled: Vec<f32>;
        let graph_values = if metric == Metric::InnerProduct && max_norm > 0.0 {
            scaled = flat.iter().map(|&v| (f64::from(v) / max_norm) as f32).collect();
            &scaled
        } else {
            &flat
        };

        let graph = (n_items > params.exact_below_items).then(|| {
            let max_nb_connection = params.max_nb_connection.clamp(2, 256);
            let ef_construction = params.ef_construction.max(max_nb_connection);
            let mut graph = Hnsw::new(max_nb_connection, n_items.max(1), MAX_LAYERS, ef_construction, DotDistance);
            let to_insert: Vec<(&[f32], usize)> = graph_values.chunks_exact(dims).zip(0..).collect();
            graph.parallel_insert_slice(&to_insert);
            graph.set_searching_mode(true);
            graph
        });

        let vectors = Array2::from_shape_vec((n_items, dims), flat).expect("n_items rows of dims values were pushed");
        let codes = Codes::new(vectors.view());
        let mut index = AnnIndex { metric, vectors, codes, graph, params: params.clone(), graph_recall: None };
        if index.graph.is_some() && params.min_graph_recall > 0.0 {
            let recall = index.check_graph();
            index.graph_recall = Some(recall);
            if recall < params.min_graph_recall {
                tracing::warn!(
                    items = n_items,
                    recall,
                    required = params.min_graph_recall,
                    "the HNSW graph misses too many exact neighbours: searches scan exactly"
                );
                index.graph = None;
            }
        }
        index
    }

    /// Recall@10 of the graph against the exact scan with every `n / 200`-th item (non-zero) as
    /// the query, no filter.
    fn check_graph(&self) -> f64 {
        let queries = spread_rows(self.vectors.view(), GRAPH_CHECK_QUERIES);
        recall_at_k(self, queries.view(), 10)
    }

    /// The recall@10 the graph reached when it was checked at build time (`None` when it was not
    /// checked); a graph below [`AnnParams::min_graph_recall`] was dropped.
    pub fn graph_recall(&self) -> Option<f64> {
        self.graph_recall
    }

    /// Whether searches may walk a graph: one was built (more than
    /// [`AnnParams::exact_below_items`] items) and passed its check ([`AnnParams::min_graph_recall`]);
    /// without one every search is an exact scan.
    pub fn has_graph(&self) -> bool {
        self.graph.is_some()
    }

    /// The stored item vectors (unit length for [`Metric::Cosine`]; non-finite components as 0).
    pub fn vectors(&self) -> ArrayView2<'_, f32> {
        self.vectors.view()
    }

    /// Number of items in the index.
    pub fn len(&self) -> usize {
        self.vectors.nrows()
    }

    /// Whether the index holds no item.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Dimension of the item vectors (and of the queries).
    pub fn dims(&self) -> usize {
        self.vectors.ncols()
    }

    /// The metric the index was built for.
    pub fn metric(&self) -> Metric {
        self.metric
    }

    /// The parameters the index was built with.
    pub fn params(&self) -> &AnnParams {
        &self.params
    }

    /// The `k` best items for `query` among those for which `allow` returns true, best first, with
    /// their true scores (cosine or inner product). Approximate; see the module documentation for
    /// when it scans exactly instead. Returns `k` items whenever `k` items pass the filter.
    ///
    /// # Panics
    ///
    /// If `query` does not have [`dims`](Self::dims) components.
    pub fn search(&self, query: ArrayView1<f32>, k: usize, allow: &Allow<'_>) -> Vec<(u32, f32)> {
        let query = self.scoring_query(query);
        let n_items = self.len();
        if k == 0 || n_items == 0 {
            return Vec::new();
        }

        let Some(graph) = &self.graph else {
            return self.exact(&query, k, allow);
        };
        let ef = self.params.ef_search.max(2 * k);
        let estimated_passing = (n_items as f64 * self.estimated_pass_fraction(allow)).round() as usize;
        if estimated_passing <= self.params.exact_below_items || ef >= estimated_passing / 2 {
            return self.exact(&query, k, allow);
        }

        let graph_query = self.graph_query(&query);
        let filter = |id: &usize| u32::try_from(*id).is_ok_and(allow);
        let neighbours = graph.search_filter(&graph_query, k, ef, Some(&filter as &dyn FilterT));
        let mut found: Vec<(u32, f32)> = neighbours
            .iter()
            .filter_map(|neighbour| u32::try_from(neighbour.d_id).ok())
            // hnsw_rs already filters; checking again costs nothing and keeps the contract local.
            .filter(|&id| allow(id))
            .map(|id| (id, self.score(id, &query)))
            .collect();
        if found.len() < k {
            return self.exact(&query, k, allow);
        }
        sort_best_first(&mut found);
        found
    }

    /// Changes the search beam width (the graph stays as built).
    pub fn set_ef_search(&mut self, ef_search: usize) {
        self.params.ef_search = ef_search;
    }

    /// The exact `k` best items for `query` among those `allow` accepts, best first, with the same
    /// scores as [`search`](Self::search). Scans every item.
    ///
    /// # Panics
    ///
    /// If `query` does not have [`dims`](Self::dims) components.
    pub fn brute_force(&self, query: ArrayView1<f32>, k: usize, allow: &Allow<'_>) -> Vec<(u32, f32)> {
        let query = self.scoring_query(query);
        self.exact_f32(&query, k, allow)
    }

    /// Exact top-k over the allowed items, for a query in scoring form: the same answer as
    /// [`exact_f32`](Self::exact_f32), found by reading the 8-bit codes (a quarter of the memory)
    /// and rescoring in f32 only the items whose score bound reaches the `k`-th best (see [`Codes`]).
    fn exact(&self, query: &Array1<f32>, k: usize, allow: &Allow<'_>) -> Vec<(u32, f32)> {
        if k == 0 {
            return Vec::new();
        }
        let query_values = query.as_slice().expect("a query in scoring form is contiguous");
        let coded = CodedQuery::new(query_values);
        // A large index is scanned in as many parts as the machine has cores, each part with its
        // own floor; an item a part leaves out is below that part's `k`-th best lower bound, so
        // below the whole scan's too: merging the parts' survivors gives the one-part answer.
        let blocks = self.codes.block_count();
        let threads = match self.params.scan_threads {
            0 => available_cores(),
            threads => threads,
        };
        let parts = if self.len() >= PARALLEL_SCAN_ROWS { threads.clamp(1, blocks.max(1)) } else { 1 };
        let per_part = blocks.div_ceil(parts);
        let range = |part: usize| (part * per_part).min(blocks)..((part + 1) * per_part).min(blocks);
        let scan = |part: usize| self.codes.scan(&coded, k, allow, range(part));
        // Threads of the scan's own, not the rayon pool's: a graph being built on the pool (a new
        // model loading) would keep the parts queued for minutes.
        let scans: Vec<PartScan> = std::thread::scope(|scope| {
            let spawned: Vec<_> = (1..parts)
                .map(|part| (part, std::thread::Builder::new().spawn_scoped(scope, move || scan(part))))
                .collect();
            let mut scans = vec![scan(0)];
            for (part, thread) in spawned {
                scans.push(match thread {
                    Ok(thread) => thread.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
                    // No thread to be had: this one scans the part.
                    Err(_) => scan(part),
                });
            }
            scans
        });
        let mut lowest: Vec<f32> = scans.iter().flat_map(|scan| scan.lowest.iter().copied()).collect();
        let mut floor = f32::NEG_INFINITY;
        if lowest.len() >= k {
            lowest.select_nth_unstable_by(k - 1, |a, b| b.total_cmp(a));
            floor = lowest[..k].iter().copied().fold(f32::INFINITY, f32::min);
        }
        let mut scored: Vec<(u32, f32)> = scans
            .into_iter()
            .flat_map(|scan| scan.candidates)
            .filter(|&(_, upper)| upper >= floor)
            .map(|(id, _)| (id, self.score(id, query)))
            .collect();
        if scored.len() > k {
            scored.select_nth_unstable_by(k - 1, best_first);
            scored.truncate(k);
        }
        sort_best_first(&mut scored);
        scored
    }

    /// Exact top-k over the allowed items, for a query in scoring form, reading every f32 vector:
    /// the reference [`brute_force`](Self::brute_force) answers with.
    fn exact_f32(&self, query: &Array1<f32>, k: usize, allow: &Allow<'_>) -> Vec<(u32, f32)> {
        if k == 0 {
            return Vec::new();
        }
        let query = query.as_slice().expect("a query in scoring form is contiguous");
        let rows = self.vectors.as_slice().expect("the vectors are stored in standard layout");
        // The best items so far, cut back to `k` whenever `2k` have gathered: an item scoring below
        // the `k`-th best so far cannot enter (equal scores can: ties are broken by id).
        let mut scored: Vec<(u32, f32)> = Vec::with_capacity(2 * k);
        let mut floor = f32::NEG_INFINITY;
        for (row, id) in rows.chunks_exact(self.dims()).zip(0_u32..) {
            let score = dot(row, query);
            if score < floor || !allow(id) {
                continue;
            }
            scored.push((id, score));
            if scored.len() >= 2 * k {
                scored.select_nth_unstable_by(k - 1, best_first);
                scored.truncate(k);
                floor = scored.iter().map(|&(_, score)| score).fold(f32::INFINITY, f32::min);
            }
        }
        if scored.len() > k {
            scored.select_nth_unstable_by(k - 1, best_first);
            scored.truncate(k);
        }
        sort_best_first(&mut scored);
        scored
    }

    /// The score of item `id` for a query in scoring form (the exact scan's arithmetic).
    fn score(&self, id: u32, query: &Array1<f32>) -> f32 {
        let row = self.vectors.row(id as usize);
        dot(row.as_slice().expect("rows are contiguous"), query.as_slice().expect("a query is contiguous"))
    }

    /// Share of an evenly spread sample of items that `allow` accepts (1.0 for an empty index).
    fn estimated_pass_fraction(&self, allow: &Allow<'_>) -> f64 {
        let n_items = self.len();
        let sample = n_items.min(FILTER_SAMPLE);
        if sample == 0 {
            return 1.0;
        }
        let passed =
            (0..sample).filter_map(|i| u32::try_from(i * n_items / sample).ok()).filter(|&id| allow(id)).count();
        passed as f64 / sample as f64
    }

    /// The query as scores are computed: unit length for `Cosine`, as is for `InnerProduct`
    /// (non-finite components zeroed).
    fn scoring_query(&self, query: ArrayView1<f32>) -> Array1<f32> {
        assert_eq!(
            query.len(),
            self.dims(),
            "AnnIndex: the query has {} dimensions, the items {}",
            query.len(),
            self.dims()
        );
        let mut values: Vec<f32> = query.iter().copied().map(finite_or_zero).collect();
        if self.metric == Metric::Cosine {
            normalise(&mut values);
        }
        Array1::from(values)
    }

    /// The query as the graph sees it: unit length (already so for `Cosine`).
    fn graph_query(&self, query: &Array1<f32>) -> Vec<f32> {
        let mut graph_query = query.to_vec();
        if self.metric == Metric::InnerProduct {
            normalise(&mut graph_query);
        }
        graph_query
    }
}

/// The item vectors in 8 bits, for an exact scan that reads a quarter of the memory.
///
/// Row `i` is stored as integers `c` in `[-127, 127]` with one step `s` (its largest component
/// over 127): `x ≈ s·c`, each component off by at most `s/2`. A query gets the same treatment
/// (step `t`, codes `d`). For an item `x` and query `q` with coded forms `x' = s·c`, `q' = t·d`:
///
/// ```text
/// x·q − x'·q' = (x − x')·q + x'·(q − q'),   so   |x·q − s·t·(c·d)| ≤ (s·‖q‖₁ + t·‖x'‖₁) / 2
/// ```
///
/// The scan computes `s·t·(c·d)` in integers and keeps every item whose upper bound reaches the
/// `k`-th best lower bound so far; only those are rescored on the f32 vectors. No item of the true
/// top `k` can be left out, so the answer is the f32 scan's, item for item (the bound carries a
/// margin for f32 rounding in both computations). On 64-dimensional vectors a row is 64 bytes
/// instead of 256, and the scan of a large index is bound by memory reads.
struct Codes {
    dims: usize,
    /// `len × dims` codes, row-major.
    values: Vec<i8>,
    /// Per row: the step `s`.
    steps: Vec<f32>,
    /// Per row: `‖x'‖₁ = s·Σ|c|`.
    coded_l1: Vec<f32>,
}

/// A query in the form [`Codes::estimate`] reads.
struct CodedQuery {
    values: Vec<i8>,
    step: f32,
    /// `‖q‖₁` of the query itself.
    l1: f32,
    /// Margin for rounding in the f32 scores, per unit of `s·‖q‖₁`.
    rounding: f32,
}

/// Largest code magnitude.
const CODE_MAX: f32 = 127.0;

/// The step and codes of one vector (a zero vector has step 0 and zero codes).
fn encode(values: &[f32], codes: &mut Vec<i8>) -> f32 {
    let largest = values.iter().fold(0.0_f32, |m, v| m.max(v.abs()));
    let step = largest / CODE_MAX;
    if step > 0.0 {
        codes.extend(values.iter().map(|&v| (v / step).round().clamp(-CODE_MAX, CODE_MAX) as i8));
    } else {
        codes.extend(std::iter::repeat_n(0, values.len()));
    }
    step
}

impl Codes {
    fn new(vectors: ArrayView2<f32>) -> Codes {
        let (rows, dims) = vectors.dim();
        let mut codes = Codes {
            dims,
            values: Vec::with_capacity(rows * dims),
            steps: Vec::with_capacity(rows),
            coded_l1: Vec::with_capacity(rows),
        };
        for row in vectors.rows() {
            let row = row.to_vec();
            let start = codes.values.len();
            let step = encode(&row, &mut codes.values);
            let magnitude: i64 = codes.values[start..].iter().map(|&c| i64::from(c).abs()).sum();
            codes.steps.push(step);
            codes.coded_l1.push(step * magnitude as f32);
        }
        codes
    }

    /// The number of blocks [`blocks`](Self::blocks) yields.
    fn block_count(&self) -> usize {
        self.steps.len().div_ceil(SCAN_BLOCK)
    }

    /// The coded scan of the blocks in `range`: the allowed items whose upper bound reached the
    /// `k`-th best lower bound of the range when they were read, and the best lower bounds.
    fn scan(&self, query: &CodedQuery, k: usize, allow: &Allow<'_>, range: Range<usize>) -> PartScan {
        // Lower bounds of the best allowed items so far, cut back to `k` whenever `2k` have
        // gathered; `floor` is the `k`-th best of them: the true `k`-th best score is at least that.
        let mut lowest: Vec<f32> = Vec::with_capacity(2 * k);
        let mut floor = f32::NEG_INFINITY;
        let mut candidates: Vec<(u32, f32)> = Vec::with_capacity(4 * k);
        let mut prune_at = (8 * k).max(256);
        // Rows are read in blocks: the bounds of a block first (a tight loop), then the few rows
        // whose upper bound reaches the floor.
        let mut estimates = [(0.0_f32, 0.0_f32); SCAN_BLOCK];
        let blocks = self.blocks().zip((0_u32..).step_by(SCAN_BLOCK)).skip(range.start).take(range.len());
        for (block, first) in blocks {
            let estimates = &mut estimates[..block.len()];
            block.estimate(query, estimates);
            for (&(estimate, error), id) in estimates.iter().zip(first..) {
                if estimate + error < floor || !allow(id) {
                    continue;
                }
                candidates.push((id, estimate + error));
                lowest.push(estimate - error);
                if lowest.len() >= 2 * k {
                    lowest.select_nth_unstable_by(k - 1, |a, b| b.total_cmp(a));
                    lowest.truncate(k);
                    floor = lowest.iter().copied().fold(f32::INFINITY, f32::min);
                }
                if candidates.len() >= prune_at {
                    candidates.retain(|&(_, upper)| upper >= floor);
                    prune_at = prune_at.max(2 * candidates.len());
                }
            }
        }
        PartScan { candidates, lowest }
    }

    /// The rows in blocks of [`SCAN_BLOCK`] (the last one shorter).
    fn blocks(&self) -> impl Iterator<Item = CodeBlock<'_>> {
        let dims = self.dims.max(1);
        self.values
            .chunks(SCAN_BLOCK * dims)
            .zip(self.steps.chunks(SCAN_BLOCK))
            .zip(self.coded_l1.chunks(SCAN_BLOCK))
            .map(move |((values, steps), coded_l1)| CodeBlock { dims, values, steps, coded_l1 })
    }
}

/// Rows the exact scan reads at a time.
const SCAN_BLOCK: usize = 256;

/// Rows from which the exact scan is split between threads (below, one part is quicker than
/// starting a thread).
const PARALLEL_SCAN_ROWS: usize = 32_768;

/// The cores the process may run on (read once).
fn available_cores() -> usize {
    static THREADS: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *THREADS.get_or_init(|| std::thread::available_parallelism().map_or(1, std::num::NonZero::get))
}

/// What the coded scan of some blocks keeps: `(item, upper bound)` of its candidates, and the
/// best lower bounds it read (at least its `k` best).
struct PartScan {
    candidates: Vec<(u32, f32)>,
    lowest: Vec<f32>,
}

/// Consecutive rows of [`Codes`].
struct CodeBlock<'a> {
    dims: usize,
    values: &'a [i8],
    steps: &'a [f32],
    coded_l1: &'a [f32],
}

impl CodeBlock<'_> {
    fn len(&self) -> usize {
        self.steps.len()
    }

    /// For every row: `s·t·(c·d)`, and the bound on its distance from the f32 score.
    fn estimate(&self, query: &CodedQuery, out: &mut [(f32, f32)]) {
        // error = s·(½ + rounding)·‖q‖₁ + ½·t·‖x'‖₁, with a relative margin for f32 rounding here.
        let per_step = (0.5 + query.rounding) * query.l1 * 1.000_01;
        let per_l1 = 0.5 * query.step * 1.000_01;
        let rows = self.values.chunks_exact(self.dims).zip(self.steps).zip(self.coded_l1);
        for (((row, &step), &l1), out) in rows.zip(out) {
            let estimate = step * query.step * dot_i8(row, &query.values) as f32;
            *out = (estimate, step * per_step + l1 * per_l1 + 1e-6 * estimate.abs());
        }
    }
}

impl CodedQuery {
    fn new(query: &[f32]) -> CodedQuery {
        let mut values = Vec::with_capacity(query.len());
        let step = encode(query, &mut values);
        // An f32 dot product of n terms is off by at most about n·ε·Σ|x·q| ≤ n·ε·(127.5·s)·‖q‖₁.
        let rounding = query.len() as f32 * f32::EPSILON * 2.0 * (CODE_MAX + 1.0);
        CodedQuery { values, step, l1: query.iter().map(|v| v.abs()).sum(), rounding }
    }
}

/// Integer dot product with sixteen independent accumulators (vectorised by the compiler).
fn dot_i8(a: &[i8], b: &[i8]) -> i32 {
    let mut lanes = [0_i32; 16];
    let (chunks_a, chunks_b) = (a.chunks_exact(16), b.chunks_exact(16));
    let tail: i32 =
        chunks_a.remainder().iter().zip(chunks_b.remainder()).map(|(&x, &y)| i32::from(x) * i32::from(y)).sum();
    for (x, y) in chunks_a.zip(chunks_b) {
        for ((lane, &x), &y) in lanes.iter_mut().zip(x).zip(y) {
            // The product fits in 16 bits (|x·y| ≤ 128²): one 16-bit multiply, widened to add.
            *lane += i32::from(i16::from(x) * i16::from(y));
        }
    }
    lanes.iter().sum::<i32>() + tail
}

/// Up to `n` rows of `vectors` evenly spread over the non-zero ones (zero rows — an item without
/// interactions or text — make no query).
pub fn spread_rows(vectors: ArrayView2<f32>, n: usize) -> Array2<f32> {
    let rows: Vec<usize> =
        (0..vectors.nrows()).filter(|&row| vectors.row(row).iter().any(|&value| value != 0.0)).collect();
    let step = (rows.len() / n.max(1)).max(1);
    let picked: Vec<usize> = rows.into_iter().step_by(step).take(n).collect();
    vectors.select(Axis(0), &picked)
}

/// Mean recall@k of [`AnnIndex::search`] against [`AnnIndex::brute_force`] over the rows of
/// `queries`, without filter (see [`filtered_recall_at_k`]).
///
/// To measure the graph itself on a small index, build it with `exact_below_items: 0`.
pub fn recall_at_k(index: &AnnIndex, queries: ArrayView2<f32>, k: usize) -> f64 {
    filtered_recall_at_k(index, queries, k, &|_| true)
}

/// Mean recall@k of [`AnnIndex::search`] against [`AnnIndex::brute_force`] over the rows of
/// `queries`, both with the filter `allow`: for each query, the share of the exact top `k` that
/// the search also finds, where a returned item at least as good as the exact `k`-th counts as
/// found (items with equal vectors — copies of one product — are interchangeable, as in
/// ann-benchmarks' distance-based recall). Queries run in parallel. Returns 1.0 when there is
/// nothing to find (no query, `k == 0` or nothing passes).
pub fn filtered_recall_at_k(index: &AnnIndex, queries: ArrayView2<f32>, k: usize, allow: &Allow<'_>) -> f64 {
    if queries.nrows() == 0 {
        return 1.0;
    }
    let total: f64 = queries
        .axis_iter(Axis(0))
        .into_par_iter()
        .map(|query| {
            let exact = index.brute_force(query, k, allow);
            let Some(&(_, kth)) = exact.last() else { return 1.0 };
            let approximate = index.search(query, k, allow);
            let tolerance = 1e-5 * kth.abs().max(1.0);
            let hits = approximate.iter().filter(|&&(_, score)| score >= kth - tolerance).count().min(exact.len());
            hits as f64 / exact.len() as f64
        })
        .sum();
    total / queries.nrows() as f64
}

/// What [`benchmark`] measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AnnBenchmark {
    /// [`recall_at_k`] of the graph search.
    pub recall: f64,
    /// Graph searches per second, one thread, no filter.
    pub hnsw_qps: f64,
    /// Exact scans per second, one thread, no filter.
    pub exact_qps: f64,
    /// Graph searches per second with a filter letting 30 % of the items through.
    pub hnsw_filtered_qps: f64,
    /// Exact scans per second with the same filter.
    pub exact_filtered_qps: f64,
}

/// Recall@k of the graph against the exact scan, and queries per second of both on one thread
/// (the server runs one query per request), without filter and with a filter that lets 30 % of
/// the items through (a multiplicative hash of the id, so it does not line up with the ids).
/// Build `index` with `exact_below_items: 0` to measure the graph on a small index.
pub fn benchmark(index: &AnnIndex, queries: ArrayView2<f32>, k: usize) -> AnnBenchmark {
    let queries_per_second = |run: &dyn Fn(ArrayView1<f32>) -> usize| {
        let start = std::time::Instant::now();
        let returned: usize = queries.rows().into_iter().map(run).sum();
        std::hint::black_box(returned);
        queries.nrows() as f64 / start.elapsed().as_secs_f64().max(f64::MIN_POSITIVE)
    };
    let all = |_: u32| true;
    let thirty_percent = |id: u32| id.wrapping_mul(2_654_435_761) % 100 < 30;
    AnnBenchmark {
        recall: recall_at_k(index, queries, k),
        hnsw_qps: queries_per_second(&|q| index.search(q, k, &all).len()),
        exact_qps: queries_per_second(&|q| index.brute_force(q, k, &all).len()),
        hnsw_filtered_qps: queries_per_second(&|q| index.search(q, k, &thirty_percent).len()),
        exact_filtered_qps: queries_per_second(&|q| index.brute_force(q, k, &thirty_percent).len()),
    }
}

/// Ranking order: higher score first, then lower id (so ties are deterministic).
fn best_first(a: &(u32, f32), b: &(u32, f32)) -> std::cmp::Ordering {
    b.1.total_cmp(&a.1).then(a.0.cmp(&b.0))
}

fn sort_best_first(list: &mut [(u32, f32)]) {
    list.sort_unstable_by(best_first);
}

fn finite_or_zero(value: f32) -> f32 {
    if value.is_finite() { value } else { 0.0 }
}

/// Dot product with eight independent accumulators, which the compiler turns into SIMD code.
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut lanes = [0.0_f32; 8];
    let (chunks_a, chunks_b) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = chunks_a.remainder().iter().zip(chunks_b.remainder()).map(|(x, y)| x * y).sum();
    for (x, y) in chunks_a.zip(chunks_b) {
        for ((lane, x), y) in lanes.iter_mut().zip(x).zip(y) {
            *lane += x * y;
        }
    }
    lanes.iter().sum::<f32>() + tail
}

/// Euclidean norm, in f64.
fn norm(values: &[f32]) -> f64 {
    values.iter().map(|&v| f64::from(v) * f64::from(v)).sum::<f64>().sqrt()
}

/// Scales `values` to unit length (in f64); a zero vector stays zero.
fn normalise(values: &mut [f32]) {
    let norm = norm(values);
    if norm > 0.0 {
        values.iter_mut().for_each(|v| *v = (f64::from(*v) / norm) as f32);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    /// Parameters that always walk the graph, even on tiny indexes.
    fn graph_only() -> AnnParams {
        AnnParams { exact_below_items: 0, min_graph_recall: 0.0, ..AnnParams::default() }
    }

    #[test]
    fn index_is_send_sync_and_static() {
        fn shareable<T: Send + Sync + 'static>() {}
        shareable::<AnnIndex>();
    }

    #[test]
    fn dot_matches_the_naive_sum() {
        let a: Vec<f32> = (0..19).map(|i| i as f32 * 0.5 - 3.0).collect();
        let b: Vec<f32> = (0..19).map(|i| (i % 5) as f32 - 1.5).collect();
        let naive: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        assert!((dot(&a, &b) - naive).abs() < 1e-4);
        assert_eq!(dot(&[], &[]), 0.0);
    }

    #[test]
    fn dot_i8_matches_the_naive_sum() {
        let a: Vec<i8> = (0..37).map(|i| (i * 37 % 255 - 127) as i8).collect();
        let b: Vec<i8> = (0..37).map(|i| (i * 91 % 255 - 127) as i8).collect();
        let naive: i32 = a.iter().zip(&b).map(|(&x, &y)| i32::from(x) * i32::from(y)).sum();
        assert_eq!(dot_i8(&a, &b), naive);
        assert_eq!(dot_i8(&[-127; 64], &[-127; 64]), 64 * 127 * 127);
    }

    #[test]
    fn the_coded_bound_holds_on_every_item() {
        let items = Array2::<f32>::from_shape_fn((500, 13), |(i, j)| {
            (((i * 31 + j * 17) % 23) as f32 - 11.0) * (1.0 + (i % 7) as f32)
        });
        let codes = Codes::new(items.view());
        for query in [vec![0.3_f32; 13], (0..13).map(|j| j as f32 - 6.5).collect(), vec![0.0; 13]] {
            let coded = CodedQuery::new(&query);
            let mut estimates = Vec::new();
            for block in codes.blocks() {
                let start = estimates.len();
                estimates.resize(start + block.len(), (0.0, 0.0));
                block.estimate(&coded, &mut estimates[start..]);
            }
            assert_eq!(estimates.len(), items.nrows());
            for ((id, row), &(estimate, error)) in items.rows().into_iter().enumerate().zip(&estimates) {
                let exact = dot(row.as_slice().expect("contiguous"), &query);
                assert!((exact - estimate).abs() <= error, "item {id}: {exact} vs {estimate} ± {error}");
            }
        }
    }

    #[test]
    fn the_coded_scan_gives_the_f32_answer() {
        // Norms that vary tenfold, copies of rows (ties), zero rows, and filters of every
        // selectivity; scanned in one part, and in parts on several threads.
        for (rows, distinct, threads) in [(3_000, 1_100, 0), (PARALLEL_SCAN_ROWS + 777, 12_345, 3)] {
            coded_scan_gives_the_f32_answer(rows, distinct, threads);
        }
    }

    fn coded_scan_gives_the_f32_answer(rows: usize, distinct: usize, scan_threads: usize) {
        let items = Array2::<f32>::from_shape_fn((rows, 24), |(i, j)| {
            let row = i % distinct;
            let value = ((row * 7_919 + j * 104_729) % 2_001) as f32 / 1_000.0 - 1.0;
            if row.is_multiple_of(97) { 0.0 } else { value * (1 + row % 10) as f32 }
        });
        let queries = spread_rows(items.view(), 40);
        for metric in [Metric::Cosine, Metric::InnerProduct] {
            let index = AnnIndex::build(items.view(), metric, &AnnParams { scan_threads, ..AnnParams::default() });
            assert!(!index.has_graph());
            let filters: [&Allow<'_>; 4] = [&|_| true, &|id| id % 2 == 0, &|id| id % 300 == 1, &|_| false];
            for query in queries.rows() {
                for allow in filters {
                    for k in [1, 10, 50] {
                        assert_eq!(
                            index.search(query, k, allow),
                            index.brute_force(query, k, allow),
                            "{metric:?} k {k}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn dot_distance_is_non_negative_and_orders_by_inner_product() {
        let query = [0.6_f32, 0.8];
        assert_eq!(DotDistance.eval(&query, &[0.6, 0.8]), 0.0);
        // Rounding above 1 is clamped, not negative.
        assert_eq!(DotDistance.eval(&query, &[0.6, 0.800_01]), 0.0);
        // Shorter items (divided by the largest norm) are farther for the same direction.
        assert!(DotDistance.eval(&query, &[0.6, 0.8]) < DotDistance.eval(&query, &[0.3, 0.4]));
        assert!(DotDistance.eval(&query, &[0.5, 0.0]) < DotDistance.eval(&query, &[0.0, 0.3]));
        assert!((DotDistance.eval(&query, &[-0.6, -0.8]) - 2.0).abs() < 1e-6);
    }

    #[test]
    fn inner_product_ranks_by_true_inner_product() {
        // Item 2 points exactly along the query but is short; item 0 has the largest inner
        // product. Cosine ranks 2, 0, 1, 3; the inner product ranks 0, 2, 1, 3.
        let items = array![[4.0_f32, -1.0], [0.0, 1.0], [0.5, 0.1], [-2.0, 0.5]];
        let query = array![1.0_f32, 0.2];
        let index = AnnIndex::build(items.view(), Metric::InnerProduct, &graph_only());
        let ranked = |found: Vec<(u32, f32)>| found.iter().map(|&(id, _)| id).collect::<Vec<_>>();
        let exact = index.brute_force(query.view(), 4, &|_| true);
        assert_eq!(ranked(exact.clone()), vec![0, 2, 1, 3]);
        assert!((exact[0].1 - 3.8).abs() < 1e-6, "true inner product, got {}", exact[0].1);
        let cosine = AnnIndex::build(items.view(), Metric::Cosine, &graph_only());
        assert_eq!(ranked(cosine.brute_force(query.view(), 4, &|_| true)), vec![2, 0, 1, 3]);
    }

    #[test]
    fn non_finite_components_read_as_zero() {
        let items = array![[f32::NAN, 1.0], [1.0, 0.0], [f32::INFINITY, f32::NAN]];
        let index = AnnIndex::build(items.view(), Metric::Cosine, &AnnParams::default());
        let found = index.search(array![0.0_f32, 1.0].view(), 3, &|_| true);
        assert_eq!(found[0], (0, 1.0));
        assert!(found.iter().all(|(_, score)| score.is_finite()));
    }

    #[test]
    fn empty_index_and_zero_k_return_nothing() {
        let empty = Array2::<f32>::zeros((0, 3));
        let index = AnnIndex::build(empty.view(), Metric::Cosine, &AnnParams::default());
        assert!(index.is_empty());
        assert!(index.search(array![1.0_f32, 0.0, 0.0].view(), 5, &|_| true).is_empty());
        let items = array![[1.0_f32, 0.0, 0.0]];
        let index = AnnIndex::build(items.view(), Metric::Cosine, &AnnParams::default());
        assert!(index.search(array![1.0_f32, 0.0, 0.0].view(), 0, &|_| true).is_empty());
    }

    #[test]
    fn selectivity_estimate_follows_the_filter() {
        let items = Array2::<f32>::from_shape_fn((1000, 4), |(i, j)| ((i * 7 + j * 3) % 11) as f32 - 5.0);
        let index = AnnIndex::build(items.view(), Metric::Cosine, &AnnParams::default());
        assert_eq!(index.estimated_pass_fraction(&|_| true), 1.0);
        assert_eq!(index.estimated_pass_fraction(&|_| false), 0.0);
        let half = index.estimated_pass_fraction(&|id| id < 500);
        assert!((half - 0.5).abs() < 0.01, "estimated {half}");
    }
}
