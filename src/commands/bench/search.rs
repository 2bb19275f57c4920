//! `vitrine bench search`: HTTP search latency and throughput on loopback. Every query asks for
//! facets (`price`, `category`), and half the queries carry one injected typo, so the figures are
//! for typo-tolerant faceted search.

use rand::SeedableRng;
use rand::rngs::Xoshiro256PlusPlus;
use vitrine_eval::search::inject_typo;
use vitrine_indexer::Catalog;
use vitrine_models::{DataDir, IndexName};

use super::http_load::{Load, Planned, report, time_requests};
use crate::cli::BenchSearchArgs;
use crate::commands::runtime::runtime;
use crate::commands::{demo, eval};
use crate::config::ServerConfig;
use crate::http::AppState;

/// The queries: each judged query (homedepot) or the first words of each title (retail), every
/// other one with one typo.
fn queries(texts: impl Iterator<Item = String>) -> Vec<String> {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(7);
    texts.enumerate().map(|(i, text)| if i % 2 == 1 { inject_typo(&text, &mut rng) } else { text }).collect()
}

pub(in crate::commands) fn run(data_dir: &DataDir, args: &BenchSearchArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.concurrency >= 1 && args.requests >= 1, "--concurrency and --requests must be at least 1");
    let (index_name, catalog, queries) = match args.catalog.as_str() {
        "homedepot" => {
            let (dataset, _) = eval::search::build_homedepot(data_dir, &args.dataset)?;
            let catalog = Catalog::new(data_dir.eval_data());
            ("homedepot", catalog, queries(dataset.queries.into_iter().map(|query| query.text)))
        }
        "retail" => {
            demo::load_demo_shop(data_dir)?;
            let catalog = Catalog::new(data_dir.clone());
            let name = IndexName::new(demo::DEMO_INDEX)?;
            let titles = catalog
                .products(&name)?
                .into_iter()
                .map(|product| product.title.split_whitespace().take(2).collect::<Vec<_>>().join(" ").to_lowercase());
            (demo::DEMO_INDEX, catalog, queries(titles))
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
    let load = Load::closed(args.requests, args.concurrency, "searching");
    let timings = runtime()?.block_on(async move {
        time_requests(AppState::new(ServerConfig::default(), catalog), requests, &load).await
    })?;
    report(&timings, false);
    Ok(())
}
