//! `vitrine bench recs`: the demo shop's current model answers the five kinds in turn over HTTP
//! (`similar` and `bought_together` of products with interactions, `for_user` of trained
//! customers, `cart` of three products, `trending`), in-stock filter on, as the storefront asks.
//! `--replicate K` measures a shop K times larger instead: K disjoint copies of the demo shop's
//! catalogue and purchase log in a scratch data directory, trained first.

use anyhow::Context;
use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};
use vitrine_indexer::Catalog;
use vitrine_models::{DataDir, IndexName};

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
    let load = Load::closed(args.requests, args.concurrency, "recommending");
    let timings = runtime()?.block_on(async move {
        time_requests(AppState::new(ServerConfig::default(), catalog), requests, &load).await
    })?;
    report(&timings, true);
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
    let started = std::time::Instant::now();
    let params = vitrine_pipelines::TrainParams::recommended();
    crate::commands::train::train_index(&catalog, &index, &params, 1, as_of, &indicatif::MultiProgress::new())?;
    println!("trained in {:.1} s", started.elapsed().as_secs_f64());
    Ok((catalog, index))
}
