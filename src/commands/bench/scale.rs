//! `vitrine bench scale`: how the costs grow with the catalogue. For each size, a deterministic
//! catalogue built from the Home Depot titles ([`vitrine_eval::scale::ScaleCatalog`]: variants,
//! brands, a two-level category tree, prices, stock) is imported into a scratch index, then
//! searched over HTTP with the judged queries as typed and with one typo, with and without
//! facets and a filter, from 1, 2 and 16 clients (closed loop: each client sends its next query
//! when the last is answered). Figures: import products/s, index size on disk, resident memory
//! after warm-up, latency p50/p99/p99.9 per cell (closed loop, then open loop), autocomplete
//! latency; printed as a table, appended as JSON lines, and plotted (log-log) in an HTML page
//! beside them.

use std::io::Write;
use std::path::Path;
use std::time::Instant;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use rand::SeedableRng;
use rand::rngs::Xoshiro256PlusPlus;
use serde_json::json;
use vitrine_eval::report::scale_html;
use vitrine_eval::scale::{LatencyCell, ScaleCatalog, ScaleRun};
use vitrine_eval::search::{HomeDepot, inject_typo};
use vitrine_indexer::Catalog;
use vitrine_models::{DataDir, IndexName, Product, ProductDraft};

use super::http_load::{Load, Pace, Planned, WARM_UP_REQUESTS, time_requests};
use crate::cli::BenchScaleArgs;
use crate::commands::runtime::runtime;
use crate::config::ServerConfig;
use crate::http::AppState;

/// Products generated and imported per upsert (one commit each).
const IMPORT_BATCH: usize = 100_000;

/// The client counts measured.
const CLIENTS: [usize; 3] = [1, 2, 16];

pub(in crate::commands) fn run(data_dir: &DataDir, args: &BenchScaleArgs) -> anyhow::Result<()> {
    anyhow::ensure!(!args.sizes.is_empty() && args.sizes.iter().all(|&size| size >= 1), "--sizes must be positive");
    anyhow::ensure!(args.requests >= 1, "--requests must be at least 1");
    let dataset = HomeDepot::load(&args.dataset)
        .with_context(|| format!("cannot load the Home Depot titles and queries from {}", args.dataset.display()))?;
    let titles = valid_titles(&dataset);
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(args.seed);
    let typed: Vec<String> = dataset.queries.iter().map(|query| query.text.clone()).collect();
    let typos: Vec<String> = typed.iter().map(|text| inject_typo(text, &mut rng)).collect();
    println!(
        "{} real titles, {} judged queries (each also with one typo); sizes {:?}; seed {}",
        titles.len(),
        typed.len(),
        args.sizes,
        args.seed
    );
    let out = args.out.clone().unwrap_or_else(|| data_dir.eval().join("scale.jsonl"));
    if let Some(parent) = out.parent() {
        std::fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
    }
    println!(
        "{:>9} {:>7} {:>8} {:>6} {:>7} {:>6} {:>7} {:>8} {:>8} {:>9}",
        "products", "what", "queries", "facets", "clients", "pace", "q/s", "p50 ms", "p99 ms", "p99.9 ms"
    );
    for &size in &args.sizes {
        let run = measure_size(data_dir, &titles, &typed, &typos, size, args)?;
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&out)
            .with_context(|| format!("cannot open {}", out.display()))?;
        writeln!(file, "{}", serde_json::to_string(&run)?)?;
    }
    println!("JSON lines appended to {}", out.display());
    // The page plots every size the file holds (the latest run of each), earlier runs included.
    let runs = std::fs::read_to_string(&out)?
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(serde_json::from_str::<ScaleRun>)
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("{} holds a line that is not a scale run", out.display()))?;
    let page = out.with_extension("html");
    std::fs::write(&page, scale_html("Vitrine at scale", &runs))
        .with_context(|| format!("cannot write {}", page.display()))?;
    println!("plots: {}", page.display());
    Ok(())
}

/// Builds, imports and searches one catalogue size; returns its JSON line.
fn measure_size(
    data_dir: &DataDir,
    titles: &[String],
    typed: &[String],
    typos: &[String],
    size: usize,
    args: &BenchScaleArgs,
) -> anyhow::Result<ScaleRun> {
    let scratch = data_dir.bench_scratch(&format!("scale-{size}"));
    clear(&scratch)?;
    let scratch_dir = DataDir::new(&scratch);
    let catalog = Catalog::new(scratch_dir.clone());
    let name = IndexName::new("scale")?;
    let generator = ScaleCatalog::new(titles, args.seed);

    // Import: generate and upsert in batches (what `vitrine import` does with one feed).
    let import_seconds = import_generated(&catalog, &name, &generator, size)?;
    let disk_bytes = directory_bytes(&scratch_dir.search_index(&name));
    let import_per_second = size as f64 / import_seconds;

    // Search: each cell its own run of the in-process server on loopback; closed loop, then
    // (with --open-load) open loop at that fraction of the closed loop's throughput.
    let path = "/v1/indexes/scale/search".to_owned();
    let mut cells = Vec::new();
    let mut resident_bytes = 0;
    let runtime = runtime()?;
    let state = || AppState::new(ServerConfig::default(), catalog.clone());
    let mut measure = |what: &str, set: &str, faceted: bool, clients: usize, requests: Vec<Planned>| {
        let mut paces = vec![Pace::Closed];
        while let Some(pace) = paces.pop() {
            let load = Load {
                requests: args.requests,
                concurrency: clients,
                message: "searching",
                pace,
                warm_up: WARM_UP_REQUESTS,
            };
            // The state opens its analytics pool: inside the runtime.
            let timings = runtime.block_on(async { time_requests(state(), requests.clone(), &load).await })?;
            if resident_bytes == 0 {
                resident_bytes = resident_set_bytes();
            }
            let (p50, p99, p999) =
                (timings.percentile_ms(50.0), timings.percentile_ms(99.0), timings.percentile_ms(99.9));
            let (pace_name, rate) = match pace {
                Pace::Closed => ("closed", None),
                Pace::Open { per_second } => ("open", Some(per_second)),
            };
            println!(
                "{size:>9} {what:>7} {set:>8} {:>6} {clients:>7} {pace_name:>6} {:>7.0} {p50:>8.2} {p99:>8.2} {p999:>9.2}",
                if faceted { "on" } else { "off" },
                timings.per_second(),
            );
            cells.push(LatencyCell {
                what: what.to_owned(),
                clients,
                queries: set.to_owned(),
                facets_and_filter: faceted,
                pace: pace_name.to_owned(),
                offered_per_second: rate,
                per_second: timings.per_second(),
                p50_ms: p50,
                p99_ms: p99,
                p999_ms: p999,
            });
            if pace == Pace::Closed && args.open_load > 0.0 {
                paces.push(Pace::Open { per_second: timings.per_second() * args.open_load });
            }
        }
        anyhow::Ok(())
    };
    for clients in CLIENTS {
        for (set, queries) in [("typed", typed), ("one_typo", typos)] {
            for faceted in [false, true] {
                let requests: Vec<Planned> = queries
                    .iter()
                    .map(|q| {
                        let body = if faceted {
                            json!({"q": q, "per_page": 20, "facets": ["brand", "category", "price"],
                                   "filter": {"in_stock": true, "price": {"lt": 500}}})
                        } else {
                            json!({"q": q, "per_page": 20})
                        };
                        Planned { label: "search", path: path.clone(), body }
                    })
                    .collect();
                measure("search", set, faceted, clients, requests)?;
            }
        }
    }
    // Autocomplete: what a shopper has typed of each query so far (its first half, at least two
    // characters), from one client.
    let typing: Vec<Planned> = typed
        .iter()
        .map(|q| {
            let half: String = q.chars().take((q.chars().count() / 2).max(2)).collect();
            let encoded = percent_encoding::utf8_percent_encode(&half, percent_encoding::NON_ALPHANUMERIC);
            Planned::get("suggest", format!("/v1/indexes/scale/suggest?q={encoded}"))
        })
        .collect();
    measure("suggest", "typed", false, 1, typing)?;
    // Last, so that the resident memory above is the search's alone.
    let api_import_per_second = import_over_http(data_dir, &generator, size)?;
    println!(
        "{size:>9} products: import {import_per_second:.0} products/s (documents API: {api_import_per_second:.0}), index {:.1} MB on disk, {:.0} MB resident after warm-up",
        disk_bytes as f64 / 1e6,
        resident_bytes as f64 / 1e6
    );
    if args.keep {
        println!("kept {}", scratch.display());
    } else {
        std::fs::remove_dir_all(&scratch).ok();
    }
    Ok(ScaleRun {
        products: size,
        seed: args.seed,
        requests_per_cell: args.requests,
        import_products_per_second: import_per_second,
        api_import_products_per_second: Some(api_import_per_second),
        index_bytes: disk_bytes,
        resident_bytes,
        search: cells,
    })
}

/// Products sent per `POST /v1/indexes/{index}/documents` request by the documents-API import.
const API_BATCH: usize = 10_000;

/// Imports the catalogue through `POST /v1/indexes/{index}/documents` (JSON arrays of
/// [`API_BATCH`] products, one client, one batch after the other, as an integration would) into a
/// scratch data directory of its own, deleted afterwards; returns products/s over the requests'
/// time. Each batch is generated when it is sent, so memory holds one batch at a time.
fn import_over_http(data_dir: &DataDir, generator: &ScaleCatalog<'_>, size: usize) -> anyhow::Result<f64> {
    let scratch = data_dir.bench_scratch(&format!("scale-api-{size}"));
    clear(&scratch)?;
    let catalog = Catalog::new(DataDir::new(&scratch));
    let runtime = runtime()?;
    let bar = import_bar(size, "API import")?;
    let mut seconds = 0.0;
    for start in (0..size).step_by(API_BATCH) {
        let end = (start + API_BATCH).min(size);
        let products = (start..end)
            .map(|i| Ok(serde_json::to_value(Product::try_from(generator.product(i))?)?))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let batch = Planned {
            label: "documents",
            path: "/v1/indexes/scale/documents".to_owned(),
            body: serde_json::Value::Array(products),
        };
        let load = Load { requests: 1, concurrency: 1, message: "", pace: Pace::Closed, warm_up: 0 };
        let state = || AppState::new(ServerConfig::default(), catalog.clone());
        let timings = runtime.block_on(async { time_requests(state(), vec![batch], &load).await })?;
        seconds += timings.elapsed_seconds();
        bar.inc((end - start) as u64);
    }
    bar.finish_and_clear();
    drop(catalog);
    std::fs::remove_dir_all(&scratch).ok();
    Ok(size as f64 / seconds)
}

/// The Home Depot titles the product validation accepts (a few carry control characters).
pub(super) fn valid_titles(dataset: &HomeDepot) -> Vec<String> {
    dataset
        .products
        .iter()
        .filter(|(uid, title)| {
            Product::try_from(ProductDraft { id: uid.clone(), title: title.clone(), ..ProductDraft::default() }).is_ok()
        })
        .map(|(_, title)| title.clone())
        .collect()
}

/// Imports `size` products of `generator` into the index `name` of `catalog`, in batches (what
/// `vitrine import` does with one feed); returns the seconds spent in the upserts.
pub(super) fn import_generated(
    catalog: &Catalog,
    name: &IndexName,
    generator: &ScaleCatalog<'_>,
    size: usize,
) -> anyhow::Result<f64> {
    let bar = import_bar(size, "importing")?;
    let mut import_seconds = 0.0;
    for start in (0..size).step_by(IMPORT_BATCH) {
        let end = (start + IMPORT_BATCH).min(size);
        let products = (start..end)
            .map(|i| Product::try_from(generator.product(i)))
            .collect::<Result<Vec<_>, _>>()
            .context("a generated product is invalid")?;
        let started = Instant::now();
        catalog.upsert(name, products)?;
        import_seconds += started.elapsed().as_secs_f64();
        bar.inc((end - start) as u64);
    }
    bar.finish_and_clear();
    Ok(import_seconds)
}

/// Removes a scratch directory left by an earlier run.
pub(super) fn clear(scratch: &Path) -> anyhow::Result<()> {
    if scratch.exists() {
        std::fs::remove_dir_all(scratch).with_context(|| format!("cannot clear {}", scratch.display()))?;
    }
    Ok(())
}

/// The progress bar of an import of `size` products.
fn import_bar(size: usize, message: &'static str) -> anyhow::Result<ProgressBar> {
    let bar = ProgressBar::new(size as u64);
    bar.set_style(ProgressStyle::with_template("{msg:>12} [{bar:40}] {pos}/{len} ({eta})")?.progress_chars("=> "));
    bar.set_message(message);
    Ok(bar)
}

/// Bytes of every file below `dir`.
pub(super) fn directory_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir).map_or(0, |entries| {
        entries
            .filter_map(Result::ok)
            .map(|entry| match entry.file_type() {
                Ok(kind) if kind.is_dir() => directory_bytes(&entry.path()),
                Ok(_) => entry.metadata().map_or(0, |metadata| metadata.len()),
                Err(_) => 0,
            })
            .sum()
    })
}

/// This process's resident memory (Linux `VmRSS`), 0 where it cannot be read.
fn resident_set_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status").ok().map_or(0, |status| {
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|value| value.split_whitespace().next()?.parse::<u64>().ok())
            .map_or(0, |kib| kib * 1024)
    })
}
