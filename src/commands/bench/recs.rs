//! `vitrine bench recs`: the demo shop's current model answers the five kinds in turn over HTTP
//! (`similar` and `bought_together` of products with interactions, `for_user` of trained
//! customers, `cart` of three products, `trending`), in-stock filter on, as the storefront asks.

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
    demo::load_demo_shop(data_dir)?;
    let catalog = Catalog::new(data_dir.clone());
    demo::train_demo_shop(&catalog)?;
    let index = IndexName::new(demo::DEMO_INDEX)?;
    let bundle = vitrine_recommender::bundle::ModelStore::new(data_dir.models(&index))
        .load_current()?
        .context("the demo shop has no recommendation model")?;
    // Products somebody bought and customers with a history: the requests a shop really gets.
    let sold = bundle.history.column_counts();
    let products: Vec<&String> =
        bundle.items.iter().zip(&sold).filter(|&(_, &count)| count > 0).map(|(id, _)| id).collect();
    let users: Vec<&String> = bundle.users.iter().filter(|id| !id.starts_with("session:")).collect();
    anyhow::ensure!(!products.is_empty() && !users.is_empty(), "the demo model has no sold product or no customer");
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
