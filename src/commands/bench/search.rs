//! `vitrine bench search`: HTTP search latency and throughput on loopback. Every query asks for
//! facets (`price`, `category`), and half the queries carry one injected typo, so the figures are
//! for typo-tolerant faceted search. With `--with-experiments`, the same searches are timed again
//! in the same run while an A/B test and then an interleaving test run on the index (each search
//! from one of 1,000 guest sessions), to show what an experiment costs.

use rand::SeedableRng;
use rand::rngs::Xoshiro256PlusPlus;
use vitrine_eval::search::inject_typo;
use vitrine_indexer::Catalog;
use vitrine_models::{DataDir, IndexName};

use super::http_load::{Load, Planned, report, time_requests};
use crate::analytics::{ExperimentStatus, StoredExperiment};
use crate::cli::BenchSearchArgs;
use crate::commands::runtime::runtime;
use crate::commands::{demo, eval};
use crate::config::ServerConfig;
use crate::experiments::definition::{ExperimentKind, ExperimentSpec, Priors};
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
        .enumerate()
        .map(|(i, q)| {
            let mut body = serde_json::json!({"q": q, "facets": ["price", "category"], "per_page": 20});
            if args.with_experiments {
                body["session_id"] = format!("bench-{}", i % 1_000).into();
            }
            Planned { label: "search", path: path.clone(), body }
        })
        .collect();
    let load = Load::closed(args.requests, args.concurrency, "searching");
    let name = IndexName::new(index_name)?;
    runtime()?.block_on(async move {
        let state = AppState::new(ServerConfig::default(), catalog);
        let phases: &[Option<ExperimentKind>] = if args.with_experiments {
            &[None, Some(ExperimentKind::Ab), Some(ExperimentKind::Interleaving)]
        } else {
            &[None]
        };
        let mut rows = Vec::new();
        for kind in phases {
            let running = match kind {
                Some(kind) => Some(start_experiment(&state, &name, *kind).await?),
                None => None,
            };
            if phases.len() > 1 {
                println!("\n{}:", phase_name(*kind));
            }
            let timings = time_requests(state.clone(), requests.clone(), &load).await;
            if let Some(id) = running {
                state.analytics.stop_experiment(id, chrono::Utc::now(), None).await?;
                state.experiments.stopped(id);
            }
            let timings = timings?;
            report(&timings, false);
            rows.push((phase_name(*kind), timings));
        }
        if rows.len() > 1 {
            println!("\n| experiment running | requests/s | p50 ms | p90 ms | p99 ms |\n|---|---:|---:|---:|---:|");
            for (phase, timings) in &rows {
                println!(
                    "| {phase} | {:.0} | {:.2} | {:.2} | {:.2} |",
                    timings.per_second(),
                    timings.percentile_ms(50.0),
                    timings.percentile_ms(90.0),
                    timings.percentile_ms(99.0)
                );
            }
        }
        anyhow::Ok(())
    })?;
    Ok(())
}

fn phase_name(kind: Option<ExperimentKind>) -> &'static str {
    match kind {
        None => "none",
        Some(ExperimentKind::Ab) => "A/B test (live vs a draft)",
        Some(ExperimentKind::Interleaving) => "interleaving (live vs a draft)",
    }
}

/// Starts an experiment of `kind` on `index`'s search: the live settings against a draft with
/// other ranking weights (so that interleaving merges two different rankings).
async fn start_experiment(state: &AppState, index: &IndexName, kind: ExperimentKind) -> anyhow::Result<uuid::Uuid> {
    let spec: ExperimentSpec = serde_json::from_value(serde_json::json!({
        "name": "bench", "kind": kind, "variants": [
            {"name": "live"},
            {"name": "draft", "settings": {"ranking": {"popularity": 0.0, "phrase": 0.0}}}
        ]
    }))?;
    let experiment = StoredExperiment {
        id: uuid::Uuid::now_v7(),
        index: index.clone(),
        spec,
        status: ExperimentStatus::Running,
        created_at: chrono::Utc::now(),
        stopped_at: None,
        promoted: None,
        priors: Priors::from_baselines(0, [0.0; 3], 0.0),
    };
    anyhow::ensure!(
        state.analytics.create_experiment(&experiment).await?,
        "an experiment already runs on `{index}`'s search: stop it first"
    );
    state.experiments.started(experiment.clone()).await;
    Ok(experiment.id)
}
