//! `vitrine demo`: the bundled demo shop, loaded once, then served.
//!
//! The server starts listening at once and answers `/health` with 503 ("starting") until the
//! shop is loaded, so an orchestrator (or a person with curl) sees it come up.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use indicatif::MultiProgress;
use serde::{Deserialize, Serialize};
use vitrine_indexer::Catalog;
use vitrine_models::{DataDir, IndexName};

use super::{bind, serve_until_shutdown, server_config};
use crate::config::ServerOptions;
use crate::http::AppState;

/// The index the demo shop is loaded into.
pub const DEMO_INDEX: &str = "retail";

/// The demo shop, compiled into the binary so `vitrine demo` needs nothing but itself.
/// UCI Online Retail II, CC BY 4.0: see `data/online-retail-ii/ATTRIBUTION.md`.
const ONLINE_RETAIL_GZ: &[u8] = include_bytes!("../../data/online-retail-ii/online_retail_II_2009-2010.csv.gz");
const ONLINE_RETAIL_FILE_NAME: &str = "online_retail_II_2009-2010.csv.gz";

/// What the marker file records about a completed load.
#[derive(Debug, Serialize, Deserialize)]
struct DemoMarker {
    source: String,
    products: u64,
    interactions: u64,
    loaded_at: String,
}

/// Runs the demo: serve at once (not ready), load the shop if needed, train, mark ready.
pub fn run(data_dir: DataDir, options: ServerOptions) -> anyhow::Result<()> {
    let config = server_config(options)?;
    super::runtime()?.block_on(async move {
        let listener = bind(&config).await?;
        let address = listener.local_addr()?;
        let state = AppState::new(config, Catalog::new(data_dir.clone()));
        state.set_ready(false);
        let server = tokio::spawn(serve_until_shutdown(listener, state.clone()));
        println!("Vitrine is starting on http://{address} (GET /health answers 503 until the demo shop is loaded)");

        let started = Instant::now();
        tokio::task::spawn_blocking(move || load_demo_shop(&data_dir)).await.context("the demo loader panicked")??;
        println!(
            "training: no recommendation model exists yet in this version, so there is nothing to train; \
             the interaction log is ready for it."
        );
        state.set_ready(true);
        println!("ready in {:.1} s", started.elapsed().as_secs_f64());
        println!();
        println!("  API        http://{address}/v1/indexes/{DEMO_INDEX}");
        println!("  health     http://{address}/health");
        println!("  metrics    http://{address}/metrics");
        println!("  a product  http://{address}/v1/indexes/{DEMO_INDEX}/documents/85123A");
        println!();
        println!("Press Ctrl-C to stop.");
        server.await.context("the server task panicked")?
    })
}

/// Loads the demo shop into the index `retail`, unless a previous run already did.
fn load_demo_shop(data_dir: &DataDir) -> anyhow::Result<()> {
    let index = IndexName::new(DEMO_INDEX)?;
    let marker_path = data_dir.demo_marker(&index);
    if let Ok(text) = std::fs::read_to_string(&marker_path)
        && let Ok(marker) = serde_json::from_str::<DemoMarker>(&text)
    {
        println!(
            "demo shop already loaded into `{index}` ({} products, {} interactions, at {}); \
             delete {} to load it again",
            marker.products,
            marker.interactions,
            marker.loaded_at,
            marker_path.display()
        );
        return Ok(());
    }

    let source = write_bundled_source(data_dir)?;
    let progress = MultiProgress::new();
    let shop = vitrine_pipelines::load_online_retail(&source, &progress)?;
    println!("{}", shop.report);

    let catalog = Catalog::new(data_dir.clone());
    if catalog.exists(&index) {
        // A load that stopped half-way left no marker: start again from nothing.
        catalog.delete(&index)?;
    }
    let products = vitrine_pipelines::catalog_products(&shop.catalog)?;
    let interactions = vitrine_pipelines::interaction_records(&shop.interactions)?;
    let report = catalog.upsert(&index, products)?;
    vitrine_pipelines::append_interactions(&data_dir.interactions(&index), &interactions)?;

    let marker = DemoMarker {
        source: "UCI Online Retail II 2009-2010 (CC BY 4.0)".to_owned(),
        products: report.inserted,
        interactions: interactions.len() as u64,
        loaded_at: chrono::Utc::now().to_rfc3339(),
    };
    std::fs::write(&marker_path, serde_json::to_vec_pretty(&marker)?)
        .with_context(|| format!("cannot write {}", marker_path.display()))?;
    println!("demo shop loaded into `{index}`: {} products, {} interactions", marker.products, marker.interactions);
    Ok(())
}

/// Writes the compiled-in data file to the data directory (once) so the loader reads a file.
fn write_bundled_source(data_dir: &DataDir) -> anyhow::Result<PathBuf> {
    let folder = data_dir.root().join("sources");
    let path = folder.join(ONLINE_RETAIL_FILE_NAME);
    if file_has_len(&path, ONLINE_RETAIL_GZ.len()) {
        return Ok(path);
    }
    std::fs::create_dir_all(&folder).with_context(|| format!("cannot create {}", folder.display()))?;
    std::fs::write(&path, ONLINE_RETAIL_GZ).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}

fn file_has_len(path: &Path, len: usize) -> bool {
    std::fs::metadata(path).is_ok_and(|metadata| metadata.len() == len as u64)
}
