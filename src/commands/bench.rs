//! `vitrine bench search` and `vitrine bench recs`: latency and throughput over HTTP on loopback.
//!
//! The server is this binary's own `app()`, listening on 127.0.0.1 (an ephemeral port); the
//! clients are HTTP/1.1 connections from the same process, `--concurrency` of them, each sending
//! its share of the requests one after another.
//!
//! - search: every query asks for facets (`price`, `category`), and half the queries carry one
//!   injected typo, so the figures are for typo-tolerant faceted search;
//! - checkout: `POST /v1/checkout` of prepared carts (1–3 lines each) from many clients, on
//!   SQLite or PostgreSQL, every checkout a full saga (hold, authorise, order, confirmation);
//! - recs: the demo shop's current model answers the five kinds in turn (`similar` and
//!   `bought_together` of products with interactions, `for_user` of trained customers, `cart` of
//!   three products, `trending`), in-stock filter on, as the storefront asks.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use axum::body::Bytes;
use axum::http::{Request, header};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use indicatif::{ProgressBar, ProgressStyle};
use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};
use vitrine_eval::search::inject_typo;
use vitrine_indexer::Catalog;
use vitrine_models::{DataDir, IndexName};

use crate::config::{BenchAnnArgs, BenchCheckoutArgs, BenchRecsArgs, BenchSearchArgs, ServerConfig};
use crate::http::{AppState, app};

const WARM_UP_REQUESTS: usize = 500;

/// The queries: each judged query (homedepot) or the first words of each title (retail), every
/// other one with one typo.
fn queries(texts: impl Iterator<Item = String>) -> Vec<String> {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(7);
    texts.enumerate().map(|(i, text)| if i % 2 == 1 { inject_typo(&text, &mut rng) } else { text }).collect()
}

pub(super) fn search(data_dir: &DataDir, args: &BenchSearchArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.concurrency >= 1 && args.requests >= 1, "--concurrency and --requests must be at least 1");
    let (index_name, catalog, queries) = match args.catalog.as_str() {
        "homedepot" => {
            let (dataset, _) = super::eval::build_homedepot(data_dir, &args.dataset)?;
            let catalog = Catalog::new(DataDir::new(data_dir.root().join("eval")));
            ("homedepot", catalog, queries(dataset.queries.into_iter().map(|query| query.text)))
        }
        "retail" => {
            super::demo::load_demo_shop(data_dir)?;
            let catalog = Catalog::new(data_dir.clone());
            let name = IndexName::new(super::demo::DEMO_INDEX)?;
            let titles = catalog
                .products(&name)?
                .into_iter()
                .map(|product| product.title.split_whitespace().take(2).collect::<Vec<_>>().join(" ").to_lowercase());
            (super::demo::DEMO_INDEX, catalog, queries(titles))
        }
        other => anyhow::bail!("unknown catalog `{other}`: use homedepot or retail"),
    };
    let products = catalog.summary(&IndexName::new(index_name)?)?.products;
    println!(
        "{products} products, {} distinct queries (half with one typo), facets price + category, {} clients",
        queries.len(),
        args.concurrency
    );
    let path = format!("/v1/indexes/{index_name}/search");
    let requests: Vec<Planned> = queries
        .into_iter()
        .map(|q| Planned {
            label: "search",
            path: path.clone(),
            body: serde_json::json!({"q": q, "facets": ["price", "category"], "per_page": 20}),
        })
        .collect();
    let load = Load { requests: args.requests, concurrency: args.concurrency, message: "searching" };
    let timings = super::runtime()?.block_on(async move {
        time_requests(AppState::new(ServerConfig::default(), catalog), requests, &load).await
    })?;
    report(&timings, false);
    Ok(())
}

pub(super) fn recs(data_dir: &DataDir, args: &BenchRecsArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.concurrency >= 1 && args.requests >= 1, "--concurrency and --requests must be at least 1");
    super::demo::load_demo_shop(data_dir)?;
    let catalog = Catalog::new(data_dir.clone());
    super::demo::train_demo_shop(&catalog)?;
    let index = IndexName::new(super::demo::DEMO_INDEX)?;
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
    let load = Load { requests: args.requests, concurrency: args.concurrency, message: "recommending" };
    let timings = super::runtime()?.block_on(async move {
        time_requests(AppState::new(ServerConfig::default(), catalog), requests, &load).await
    })?;
    report(&timings, true);
    Ok(())
}

pub(super) fn ann(args: &BenchAnnArgs) -> anyhow::Result<()> {
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
    let mut index = AnnIndex::build(vectors.view(), Metric::Cosine, &AnnParams { exact_below_items: 0, ..defaults });
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

pub(super) fn checkout(data_dir: &DataDir, args: &BenchCheckoutArgs) -> anyhow::Result<()> {
    use vitrine_commerce::Store;

    anyhow::ensure!(args.clients >= 1 && args.checkouts >= 1, "--clients and --checkouts must be at least 1");
    let scratch = data_dir.root().join("bench-commerce");
    if scratch.exists() {
        std::fs::remove_dir_all(&scratch).with_context(|| format!("cannot clear {}", scratch.display()))?;
    }
    std::fs::create_dir_all(&scratch)?;
    let (url, schema) = match &args.commerce_db {
        Some(url) => (url.clone(), Some(format!("vitrine_bench_{}", std::process::id()))),
        None => (format!("sqlite:{}", scratch.join("commerce.db").display()), None),
    };
    let total = WARM_UP_REQUESTS + args.checkouts;
    let catalog = Catalog::new(DataDir::new(&scratch));
    super::runtime()?.block_on(async move {
        let store = Store::connect(&url, schema.as_deref()).await?;
        println!(
            "{:?} commerce database; preparing {total} carts of 1–3 lines over {PRODUCTS} products (each with stock for all)",
            store.backend()
        );
        for product in 0..PRODUCTS {
            store.seed_sku(&format!("p{product}"), 250 + 37 * product as i64, "GBP", 1_000_000).await?;
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
                    "cart_id": cart.id, "payment": {"card_number": "4242424242424242"},
                    "shipping_address": {"line1": "1 High St", "city": "London"},
                }),
            });
            bar.inc(1);
        }
        bar.finish_and_clear();
        println!("{} concurrent clients, {} timed checkouts (after {WARM_UP_REQUESTS} warm-up ones)", args.clients, args.checkouts);
        let mut state = AppState::new(ServerConfig::default(), catalog);
        state.commerce = match &schema {
            Some(schema) => crate::http::CommerceHandle::with_schema(url.as_str(), schema.as_str()),
            None => crate::http::CommerceHandle::new(url.as_str()),
        };
        let load = Load { requests: args.checkouts, concurrency: args.clients, message: "checking out" };
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

/// One request of a benchmark.
struct Planned {
    /// Its kind, for per-kind figures.
    label: &'static str,
    /// Path on the server.
    path: String,
    /// JSON body (POST).
    body: serde_json::Value,
}

/// How many requests, from how many clients.
struct Load {
    requests: usize,
    concurrency: usize,
    message: &'static str,
}

/// What was timed.
struct Timings {
    /// `(label, latency)` of every timed request.
    latencies: Vec<(&'static str, Duration)>,
    elapsed: Duration,
}

/// Serves `state` on an ephemeral loopback port, warms up with [`WARM_UP_REQUESTS`], then sends
/// `load.requests` of `requests` (cycling through them) from `load.concurrency` clients.
async fn time_requests(state: AppState, requests: Vec<Planned>, load: &Load) -> anyhow::Result<Timings> {
    anyhow::ensure!(!requests.is_empty(), "nothing to send");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let warm_state = state.clone();
    tokio::task::spawn_blocking(move || warm_state.recommenders.warm_up(&warm_state.catalog)).await?;
    let server = tokio::spawn(async move { axum::serve(listener, app(state)).await });
    let base = Arc::new(format!("http://{address}"));
    let requests = Arc::new(requests);

    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let send = move |n: usize| {
        let client = client.clone();
        let base = base.clone();
        let requests = requests.clone();
        async move {
            let planned = &requests[n % requests.len()];
            let request = Request::post(format!("{base}{}", planned.path))
                .header(header::CONTENT_TYPE, "application/json")
                .body(Full::new(Bytes::from(planned.body.to_string())))?;
            let started = Instant::now();
            let response = client.request(request).await?;
            let status = response.status();
            let body = response.into_body().collect().await?.to_bytes();
            let elapsed = started.elapsed();
            anyhow::ensure!(
                status.is_success(),
                "{} answered {status}: {}",
                planned.path,
                String::from_utf8_lossy(&body)
            );
            Ok::<(&'static str, Duration), anyhow::Error>((planned.label, elapsed))
        }
    };

    for n in 0..WARM_UP_REQUESTS {
        send(n).await.context("warm-up request")?;
    }
    let bar = ProgressBar::new(load.requests as u64);
    bar.set_style(ProgressStyle::with_template("{msg:>12} [{bar:40}] {pos}/{len} ({eta})")?.progress_chars("=> "));
    bar.set_message(load.message);
    let started = Instant::now();
    let mut clients = Vec::new();
    for client_number in 0..load.concurrency {
        let send = send.clone();
        let bar = bar.clone();
        let count = load.requests / load.concurrency + usize::from(client_number < load.requests % load.concurrency);
        let stride = load.concurrency;
        clients.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(count);
            for i in 0..count {
                latencies.push(send(WARM_UP_REQUESTS + client_number + i * stride).await?);
                bar.inc(1);
            }
            Ok::<_, anyhow::Error>(latencies)
        }));
    }
    let mut latencies = Vec::with_capacity(load.requests);
    for client in clients {
        latencies.extend(client.await??);
    }
    let elapsed = started.elapsed();
    bar.finish_and_clear();
    server.abort();
    Ok(Timings { latencies, elapsed })
}

/// Prints throughput and latency percentiles, overall and (with `per_label`) per label.
fn report(timings: &Timings, per_label: bool) {
    let line = |latencies: &mut Vec<Duration>| {
        latencies.sort_unstable();
        let percentile = |p: f64| {
            let rank = ((p / 100.0) * latencies.len() as f64).ceil() as usize;
            latencies[rank.clamp(1, latencies.len()) - 1].as_secs_f64() * 1000.0
        };
        format!(
            "latency p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            percentile(50.0),
            percentile(90.0),
            percentile(99.0),
            percentile(100.0)
        )
    };
    let mut all: Vec<Duration> = timings.latencies.iter().map(|&(_, latency)| latency).collect();
    println!(
        "{} requests in {:.2} s: {:.0} requests/s; {}",
        all.len(),
        timings.elapsed.as_secs_f64(),
        all.len() as f64 / timings.elapsed.as_secs_f64(),
        line(&mut all)
    );
    if per_label {
        let mut labels: Vec<&'static str> = timings.latencies.iter().map(|&(label, _)| label).collect();
        labels.sort_unstable();
        labels.dedup();
        for label in labels {
            let mut latencies: Vec<Duration> =
                timings.latencies.iter().filter(|&&(l, _)| l == label).map(|&(_, latency)| latency).collect();
            println!("  {label:<16} {:>6} requests; {}", latencies.len(), line(&mut latencies));
        }
    }
}
