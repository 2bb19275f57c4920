//! `vitrine bench recs`: the demo shop's current model answers the five kinds in turn over HTTP
//! (`similar` and `bought_together` of products with interactions, `for_user` of trained
//! customers, `cart` of three products, `trending`), in-stock filter on, as the storefront asks.
//! `--replicate K` measures a shop K times larger instead: K disjoint copies of the demo shop's
//! catalogue and purchase log in a scratch data directory, trained first. Then the served
//! model's nearest-neighbour indexes (HNSW above 50,000 items) against the exact scan: recall@10
//! and the latency of one search, without filter and in stock; and last, the latency while a
//! new model version is loaded beside the served one.

use std::time::Instant;

use anyhow::Context;
use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};
use vitrine_indexer::Catalog;
use vitrine_models::{DataDir, IndexName};
use vitrine_recommender::serve::Recommender;

use super::http_load::{Load, Planned, report, time_requests};
use crate::cli::BenchRecsArgs;
use crate::commands::demo;
use crate::commands::runtime::runtime;
use crate::config::ServerConfig;
use crate::http::AppState;

pub(in crate::commands) fn run(data_dir: &DataDir, args: &BenchRecsArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.concurrency >= 1 && args.requests >= 1, "--concurrency and --requests must be at least 1");
    anyhow::ensure!(args.replicate >= 1, "--replicate must be at least 1");
    let (catalog, index) = if args.replicate > 1 {
        replicated_shop(data_dir, args.replicate)?
    } else {
        demo::load_demo_shop(data_dir)?;
        let catalog = Catalog::new(data_dir.clone());
        demo::train_demo_shop(&catalog)?;
        (catalog, IndexName::new(demo::DEMO_INDEX)?)
    };
    let bundle = vitrine_recommender::bundle::ModelStore::new(catalog.data_dir().models(&index))
        .load_current()?
        .context("the shop has no recommendation model")?;
    // Products somebody bought and customers with a history: the requests a shop really gets.
    let sold = bundle.history.column_counts();
    let products: Vec<&String> =
        bundle.items.iter().zip(&sold).filter(|&(_, &count)| count > 0).map(|(id, _)| id).collect();
    let users: Vec<&String> = bundle.users.iter().filter(|id| !id.starts_with("session:")).collect();
    anyhow::ensure!(!products.is_empty() && !users.is_empty(), "the model has no sold product or no customer");
    println!(
        "model {} ({} items, {} users, EASE {}, ALS {}), {} clients, k 10, in-stock filter",
        bundle.manifest.model_id,
        bundle.items.len(),
        bundle.users.len(),
        if bundle.ease.is_some() { "yes" } else { "no" },
        if bundle.ials.is_some() { "yes" } else { "no" },
        args.concurrency
    );
    let path = format!("/v1/indexes/{index}/recommendations");
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(11);
    let mut pick = |ids: &[&String]| ids[rng.random_range(0..ids.len())].clone();
    let requests: Vec<Planned> = (0..5_000)
        .map(|n| {
            let (label, body) = match n % 5 {
                0 => ("similar", serde_json::json!({"kind": "similar", "product_id": pick(&products), "k": 10})),
                1 => (
                    "bought_together",
                    serde_json::json!({"kind": "bought_together", "product_id": pick(&products), "k": 10}),
                ),
                2 => ("for_user", serde_json::json!({"kind": "for_user", "user_id": pick(&users), "k": 10})),
                3 => (
                    "cart",
                    serde_json::json!({"kind": "cart", "product_ids": [pick(&products), pick(&products), pick(&products)], "k": 10}),
                ),
                _ => ("trending", serde_json::json!({"kind": "trending", "k": 10})),
            };
            Planned { label, path: path.clone(), body }
        })
        .collect();
    drop(bundle);
    let runtime = runtime()?;
    let state = runtime.block_on(async { AppState::new(ServerConfig::default(), catalog) });
    let started = Instant::now();
    let recommender = state.recommenders.get(&index)?.context("the shop has no recommendation model")?;
    println!(
        "model loaded in {:.1} s; HNSW graphs in use: {} of {}",
        started.elapsed().as_secs_f64(),
        recommender.ann_indexes().iter().filter(|(_, ann)| ann.has_graph()).count(),
        recommender.ann_indexes().len()
    );
    let load = Load::closed(args.requests, args.concurrency, "recommending");
    let timings = runtime.block_on(time_requests(state.clone(), requests.clone(), &load))?;
    report(&timings, true);
    nearest_neighbours(&state, &index, &recommender)?;
    drop(recommender);
    swap_under_load(&runtime, &state, &index, &requests, args.concurrency)
}

/// Whether the index walks a graph: `used`, `dropped 0.85` (it failed its build-time check with
/// that recall: exact scans), or `none` (too few items to build one).
fn graph_state(ann: &vitrine_recommender::ann::AnnIndex) -> String {
    match (ann.has_graph(), ann.graph_recall()) {
        (true, _) => "used".to_owned(),
        (false, Some(recall)) => format!("dropped {recall:.2}"),
        (false, None) => "none".to_owned(),
    }
}

/// Requests per round in [`swap_under_load`].
const SWAP_ROUND: usize = 1_000;

/// A new model version published while the shop is served (the current one saved again under
/// a new id, so the server loads it and builds its graphs again): rounds of requests, without
/// warm-up, until the server answers from the new version, each round's latency printed. The
/// old version serves until the new one is ready.
fn swap_under_load(
    runtime: &tokio::runtime::Runtime,
    state: &AppState,
    index: &IndexName,
    requests: &[Planned],
    concurrency: usize,
) -> anyhow::Result<()> {
    let store = state.recommenders.store(index);
    let mut bundle = store.load_current()?.context("the shop has no recommendation model")?;
    let republished = format!("{}-again", bundle.manifest.model_id);
    bundle.manifest.model_id.clone_from(&republished);
    store.save(&bundle)?;
    drop(bundle);
    let published = Instant::now();
    println!("model republished as {republished}; requests go on while the server loads it:");
    loop {
        let load = Load { warm_up: 0, ..Load::closed(SWAP_ROUND, concurrency, "during swap") };
        let round_started = published.elapsed().as_secs_f64();
        let timings = runtime.block_on(time_requests(state.clone(), requests.to_vec(), &load))?;
        let serving = state.recommenders.get(index)?.map(|recommender| recommender.model_id().to_owned());
        let swapped = serving.as_deref() == Some(republished.as_str());
        println!(
            "  {round_started:>6.1} s to {:>6.1} s: {:>5.0} requests/s, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms ({})",
            published.elapsed().as_secs_f64(),
            timings.per_second(),
            timings.percentile_ms(50.0),
            timings.percentile_ms(99.0),
            timings.percentile_ms(100.0),
            if swapped { "new version served" } else { "old version served" }
        );
        if swapped {
            return Ok(());
        }
        anyhow::ensure!(
            published.elapsed() < std::time::Duration::from_secs(1_800),
            "the new version was not served within 30 minutes"
        );
    }
}

/// Queries per HNSW index in [`nearest_neighbours`].
const ANN_QUERIES: usize = 1_000;

/// The served model's nearest-neighbour indexes against the exact scan, at `k = 10`, without
/// filter and with the in-stock filter the server applies: recall@10 and the latency of one
/// search on one thread (p50, p99, max), for the graph (or the exact scan where the index
/// chooses it) and for the exact scan. Queries: users' vectors for the inner-product index, the
/// index's own item vectors (evenly spread, zero vectors skipped) for the cosine ones.
fn nearest_neighbours(state: &AppState, index: &IndexName, recommender: &Recommender) -> anyhow::Result<()> {
    use vitrine_recommender::ann::{Allow, AnnIndex, filtered_recall_at_k, spread_rows};

    let products = state.catalog.get(index)?;
    let numbers = vitrine_query::ItemNumbers::new(recommender.model_id(), recommender.n_items());
    let number_of = |id: &str| recommender.item_number(id);
    let in_stock = vitrine_query::allowed_items(&products, &[None], &numbers, &number_of)?;
    println!(
        "nearest neighbours, k = 10, {ANN_QUERIES} queries per index, in stock: {} of {} items",
        in_stock.len(),
        recommender.n_items()
    );
    println!(
        "{:<24} {:>8} {:>12} {:<9} {:>9} {:>9} {:>9} {:>9} {:>10} {:>10}",
        "index", "items", "graph", "filter", "recall", "p50 ms", "p99 ms", "max ms", "exact p50", "exact p99"
    );
    let timed = |ann: &AnnIndex, queries: &ndarray::Array2<f32>, exact: bool, allow: &Allow<'_>| {
        // From 1 µs to a minute, 3 significant digits (a histogram without bounds saturates at 2 µs).
        let mut histogram =
            hdrhistogram::Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("valid histogram bounds");
        for query in queries.rows() {
            let started = Instant::now();
            let found = if exact { ann.brute_force(query, 10, allow) } else { ann.search(query, 10, allow) };
            std::hint::black_box(found);
            histogram.saturating_record((started.elapsed().as_micros() as u64).max(1));
        }
        let ms = |quantile: f64| histogram.value_at_quantile(quantile) as f64 / 1000.0;
        (ms(0.5), ms(0.99), histogram.max() as f64 / 1000.0)
    };
    let mut lines = Vec::new();
    for (name, ann) in recommender.ann_indexes() {
        let queries = match (name, &recommender.bundle().ials) {
            ("behaviour_inner_product", Some(ials)) => spread_rows(ials.user_factors(), ANN_QUERIES),
            _ => spread_rows(ann.vectors(), ANN_QUERIES),
        };
        let all = |_: u32| true;
        let stocked = |item: u32| in_stock.contains(item);
        let filters: [(&str, &Allow<'_>); 2] = [("none", &all), ("in_stock", &stocked)];
        for (filter, allow) in filters {
            let recall = filtered_recall_at_k(ann, queries.view(), 10, allow);
            let (p50, p99, max) = timed(ann, &queries, false, allow);
            let (exact_p50, exact_p99, _) = timed(ann, &queries, true, allow);
            println!(
                "{name:<24} {:>8} {:>12} {filter:<9} {recall:>9.4} {p50:>9.3} {p99:>9.3} {max:>9.3} {exact_p50:>10.3} {exact_p99:>10.3}",
                ann.len(),
                graph_state(ann),
            );
            lines.push(serde_json::json!({
                "index": name, "items": ann.len(), "graph": ann.has_graph(),
                "graph_check_recall": ann.graph_recall(), "filter": filter,
                "recall_at_10": recall, "p50_ms": p50, "p99_ms": p99, "max_ms": max,
                "exact_p50_ms": exact_p50, "exact_p99_ms": exact_p99,
            }));
        }
    }
    println!("{}", serde_json::json!({ "nearest_neighbours": lines }));
    Ok(())
}

/// A scratch data directory `DATA_DIR/bench-recs-xK` whose index `shop` holds K disjoint copies
/// of the demo shop's catalogue and purchase log (block b: `#b` on product and customer ids, the
/// same times), trained as of the log's end, as `vitrine eval recs --replicate K` builds its
/// split. Made again on every run.
fn replicated_shop(data_dir: &DataDir, blocks: usize) -> anyhow::Result<(Catalog, IndexName)> {
    use vitrine_models::{Actor, ProductId, UserId};

    let scratch = DataDir::new(data_dir.bench_scratch(&format!("recs-x{blocks}")));
    if scratch.root().exists() {
        std::fs::remove_dir_all(scratch.root())
            .with_context(|| format!("cannot clear {}", scratch.root().display()))?;
    }
    let source = demo::online_retail_source(data_dir)?;
    let shop = vitrine_pipelines::load_online_retail(&source, &indicatif::MultiProgress::new())?;
    let products = vitrine_pipelines::catalog_products(&shop.catalog)?;
    let interactions = vitrine_pipelines::interaction_records(&shop.interactions)?;
    let as_of = interactions.iter().map(|interaction| interaction.timestamp).max().context("no interactions")?;
    let catalog = Catalog::new(scratch.clone());
    let index = IndexName::new("shop")?;
    let copy = |id: &str, block: usize| format!("{id}#{block}");
    for block in 0..blocks {
        let mut copies = products.clone();
        for product in &mut copies {
            product.id = ProductId::new(copy(product.id.as_str(), block))?;
            if let Some(parent) = &product.parent_id {
                product.parent_id = Some(ProductId::new(copy(parent.as_str(), block))?);
            }
        }
        catalog.upsert(&index, copies)?;
        let mut log = interactions.clone();
        for interaction in &mut log {
            interaction.product_id = ProductId::new(copy(interaction.product_id.as_str(), block))?;
            if let Actor::User(user) = &interaction.actor {
                interaction.actor = Actor::User(UserId::new(copy(user.as_str(), block))?);
            }
        }
        vitrine_pipelines::log_interactions(&scratch, &index, &log)?;
    }
    println!(
        "{blocks} copies of the demo shop: {} products, {} interactions, in {}",
        blocks * products.len(),
        blocks * interactions.len(),
        scratch.root().display()
    );
    let started = Instant::now();
    let params = vitrine_pipelines::TrainParams::recommended();
    crate::commands::train::train_index(&catalog, &index, &params, 1, as_of, &indicatif::MultiProgress::new())?;
    println!("trained in {:.1} s", started.elapsed().as_secs_f64());
    Ok((catalog, index))
}
