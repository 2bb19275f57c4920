//! `vitrine bench search`: search latency and throughput over HTTP on loopback.
//!
//! The server is this binary's own `app()`, listening on 127.0.0.1 (an ephemeral port); the
//! clients are HTTP/1.1 connections from the same process, `--concurrency` of them, each sending
//! its share of the requests one after another. Every query asks for facets (`price`,
//! `category`), and half the queries carry one injected typo, so the figures are for
//! typo-tolerant faceted search.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use axum::body::Bytes;
use axum::http::{Request, header};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use indicatif::{ProgressBar, ProgressStyle};
use rand::SeedableRng;
use rand::rngs::Xoshiro256PlusPlus;
use vitrine_eval::search::inject_typo;
use vitrine_indexer::Catalog;
use vitrine_models::{DataDir, IndexName};

use crate::config::{BenchSearchArgs, ServerConfig};
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
    super::runtime()?.block_on(run(catalog, index_name, queries, products, args))
}

async fn run(
    catalog: Catalog,
    index_name: &str,
    queries: Vec<String>,
    products: u64,
    args: &BenchSearchArgs,
) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let state = AppState::new(ServerConfig::default(), catalog);
    let server = tokio::spawn(async move { axum::serve(listener, app(state)).await });
    let url = Arc::new(format!("http://{address}/v1/indexes/{index_name}/search"));
    let queries = Arc::new(queries);
    let distinct_queries = queries.len();
    println!(
        "{products} products, {distinct_queries} distinct queries (half with one typo), facets price + category, {} clients",
        args.concurrency
    );

    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let send = move |n: usize| {
        let client = client.clone();
        let url = url.clone();
        let queries = queries.clone();
        async move {
            let body = serde_json::json!({
                "q": queries[n % queries.len()], "facets": ["price", "category"], "per_page": 20
            });
            let request = Request::post(url.as_str())
                .header(header::CONTENT_TYPE, "application/json")
                .body(Full::new(Bytes::from(body.to_string())))?;
            let started = Instant::now();
            let response = client.request(request).await?;
            let status = response.status();
            response.into_body().collect().await?;
            anyhow::ensure!(status.is_success(), "search answered {status}");
            Ok::<Duration, anyhow::Error>(started.elapsed())
        }
    };

    for n in 0..WARM_UP_REQUESTS {
        send(n).await.context("warm-up request")?;
    }
    let bar = ProgressBar::new(args.requests as u64);
    bar.set_style(ProgressStyle::with_template("{msg:>12} [{bar:40}] {pos}/{len} ({eta})")?.progress_chars("=> "));
    bar.set_message("searching");
    let started = Instant::now();
    let mut clients = Vec::new();
    for client_number in 0..args.concurrency {
        let send = send.clone();
        let bar = bar.clone();
        let count = args.requests / args.concurrency + usize::from(client_number < args.requests % args.concurrency);
        clients.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(count);
            for i in 0..count {
                latencies.push(send(WARM_UP_REQUESTS + client_number + i * 7919).await?);
                bar.inc(1);
            }
            Ok::<_, anyhow::Error>(latencies)
        }));
    }
    let mut latencies = Vec::with_capacity(args.requests);
    for client in clients {
        latencies.extend(client.await??);
    }
    let elapsed = started.elapsed();
    bar.finish_and_clear();
    server.abort();

    latencies.sort_unstable();
    let percentile = |p: f64| {
        let rank = ((p / 100.0) * latencies.len() as f64).ceil() as usize;
        latencies[rank.clamp(1, latencies.len()) - 1].as_secs_f64() * 1000.0
    };
    println!(
        "{} requests in {:.2} s: {:.0} queries/s; latency p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        latencies.len(),
        elapsed.as_secs_f64(),
        latencies.len() as f64 / elapsed.as_secs_f64(),
        percentile(50.0),
        percentile(90.0),
        percentile(99.0),
        percentile(100.0)
    );
    Ok(())
}
