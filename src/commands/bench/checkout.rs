//! `vitrine bench checkout`: `POST /v1/checkout` of prepared carts (1–3 lines each) from many
//! clients, on SQLite or PostgreSQL, every checkout a full saga (hold, authorise, order,
//! confirmation).

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use vitrine_commerce::{CommerceHandle, DEFAULT_CURRENCY, Store};
use vitrine_indexer::Catalog;
use vitrine_models::{DataDir, Money};

use super::http_load::{Load, Planned, WARM_UP_REQUESTS, report, time_requests};
use crate::cli::BenchCheckoutArgs;
use crate::commands::runtime::runtime;
use crate::config::ServerConfig;
use crate::http::AppState;

pub(in crate::commands) fn run(data_dir: &DataDir, args: &BenchCheckoutArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.clients >= 1 && args.checkouts >= 1, "--clients and --checkouts must be at least 1");
    let scratch = data_dir.bench_scratch("commerce");
    if scratch.exists() {
        std::fs::remove_dir_all(&scratch).with_context(|| format!("cannot clear {}", scratch.display()))?;
    }
    std::fs::create_dir_all(&scratch)?;
    let (url, schema) = match &args.commerce_db {
        Some(url) => (url.expose().to_owned(), Some(format!("vitrine_bench_{}", std::process::id()))),
        None => (format!("sqlite:{}", DataDir::new(&scratch).commerce_db().display()), None),
    };
    let total = WARM_UP_REQUESTS + args.checkouts;
    let catalog = Catalog::new(DataDir::new(&scratch));
    runtime()?.block_on(async move {
        let store = Store::connect(&url, schema.as_deref()).await?;
        println!(
            "{:?} commerce database; preparing {total} carts of 1–3 lines over {PRODUCTS} products (each with stock for all)",
            store.backend()
        );
        for product in 0..PRODUCTS {
            let price = Money::from_minor_units(250 + 37 * product as i64, DEFAULT_CURRENCY);
            store.seed_sku(&format!("p{product}"), price, 1_000_000).await?;
        }
        let bar = ProgressBar::new(total as u64);
        bar.set_style(ProgressStyle::with_template("{msg:>12} [{bar:40}] {pos}/{len} ({eta})")?.progress_chars("=> "));
        bar.set_message("carts");
        let mut requests = Vec::with_capacity(total);
        for n in 0..total {
            let cart = store.create_cart(Some(&format!("shopper-{n}"))).await?;
            for line in 0..=(n % 3) {
                store.add_to_cart(&cart.id, &format!("p{}", (n * 7 + line * 13) % PRODUCTS), 1 + (line as i64)).await?;
            }
            requests.push(Planned {
                label: "checkout",
                path: "/v1/checkout".to_owned(),
                body: serde_json::json!({
                    "cart_id": cart.id, "payment": {"payment_method": "pm_card_visa"},
                    "shipping_address": {"line1": "1 High St", "city": "London"},
                }),
            });
            bar.inc(1);
        }
        bar.finish_and_clear();
        println!("{} concurrent clients, {} timed checkouts (after {WARM_UP_REQUESTS} warm-up ones)", args.clients, args.checkouts);
        let mut state = AppState::new(ServerConfig::default(), catalog);
        state.commerce = match &schema {
            Some(schema) => CommerceHandle::with_schema(url.as_str(), schema.as_str()),
            None => CommerceHandle::new(url.as_str()),
        };
        let load = Load::closed(args.checkouts, args.clients, "checking out");
        let timings = time_requests(state, requests, &load).await?;
        report(&timings, false);
        let orders = store.count_orders().await?;
        println!("{orders} orders written ({} expected)", total);
        if let Some(schema) = &schema {
            store.drop_schema(schema).await?;
        }
        anyhow::Ok(())
    })?;
    std::fs::remove_dir_all(&scratch).ok();
    Ok(())
}

/// Products the checkout benchmark sells.
const PRODUCTS: usize = 50;
