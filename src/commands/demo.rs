//! `vitrine demo`: the bundled demo catalogs, loaded once, then served: the gift shop (Online
//! Retail II, with its purchase log) as `retail`, Open Food Facts as `grocery`, and Magento's
//! Luma fashion catalog (size × colour variants) as `fashion`.
//!
//! The server starts listening at once and answers `/health` with 503 ("starting") until the
//! shop is loaded, so an orchestrator (or a person with curl) sees it come up.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use chrono::{DateTime, Utc};
use indicatif::MultiProgress;
use serde::{Deserialize, Serialize};
use vitrine_commerce::SkuSeed;
use vitrine_indexer::Catalog;
use vitrine_models::settings::{DisplaySettings, FieldLanguages, IndexSettings, Language, NamedValueOrder, ValueOrder};
use vitrine_models::{DataDir, IndexName};

use super::runtime::{runtime, shutdown_signal};
use super::serve::{bind, open_analytics, serve_until, server_config};
use super::train;
use crate::config::ServerOptions;
use crate::http::AppState;

/// The index the demo shop is loaded into.
pub const DEMO_INDEX: &str = "retail";
/// The index the grocery catalog (Open Food Facts) is loaded into.
pub const GROCERY_INDEX: &str = "grocery";
/// The index the fashion catalog (Magento Luma, with size × colour variants) is loaded into.
pub const FASHION_INDEX: &str = "fashion";

/// A data file compiled into the binary, so `vitrine demo` needs nothing but itself.
struct Bundled {
    file_name: &'static str,
    bytes: &'static [u8],
    source: &'static str,
}

/// UCI Online Retail II: see `data/online-retail-ii/ATTRIBUTION.md`.
const ONLINE_RETAIL: Bundled = Bundled {
    file_name: "online_retail_II_2009-2010.csv.gz",
    bytes: include_bytes!("../../data/online-retail-ii/online_retail_II_2009-2010.csv.gz"),
    source: "UCI Online Retail II 2009-2010 (CC BY 4.0)",
};

/// Open Food Facts: see `data/openfoodfacts/ATTRIBUTION.md`.
const OPEN_FOOD_FACTS: Bundled = Bundled {
    file_name: "openfoodfacts_products_core.csv.gz",
    bytes: include_bytes!("../../data/openfoodfacts/products_core.csv.gz"),
    source: "Contains information from Open Food Facts (world.openfoodfacts.org), available under the ODbL 1.0",
};

/// Magento's Luma sample catalog: see `data/magento-luma/ATTRIBUTION.md`.
const MAGENTO_LUMA: Bundled = Bundled {
    file_name: "magento_luma_products.csv.gz",
    bytes: include_bytes!("../../data/magento-luma/products.csv.gz"),
    source: "Magento Luma sample data (AFL-3.0)",
};

/// The fashion attributes shoppers filter on (colour and size are the variants').
const FASHION_FACETS: [&str; 6] = ["color", "size", "material", "activity", "gender", "eco_collection"];

/// The grocery attributes shoppers filter on.
const GROCERY_FACETS: [&str; 7] =
    ["nutriscore_grade", "nova_group", "ecoscore_grade", "labels", "countries", "allergens", "stores"];

/// What the marker file records about a completed load.
#[derive(Debug, Serialize, Deserialize)]
struct DemoMarker {
    source: String,
    products: u64,
    interactions: u64,
    loaded_at: String,
    /// The newest interaction of the bundled dataset: the demo trains as of it (the dataset is
    /// history, replayed). Absent in markers written before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    interactions_until: Option<DateTime<Utc>>,
}

/// What a loader stored.
struct Loaded {
    products: u64,
    interactions: u64,
    /// The newest interaction stored, if any.
    interactions_until: Option<DateTime<Utc>>,
}

/// Runs the demo: serve at once (not ready), load the shop if needed, train, mark ready.
pub fn run(data_dir: DataDir, options: ServerOptions) -> anyhow::Result<()> {
    let config = server_config(options)?;
    runtime()?.block_on(async move {
        let listener = bind(&config).await?;
        let address = listener.local_addr()?;
        let analytics = open_analytics(&data_dir).await?;
        let state = AppState::with_analytics(config, Catalog::new(data_dir.clone()), analytics);
        state.set_ready(false);
        let server = tokio::spawn(serve_until(listener, state.clone(), shutdown_signal()));
        println!("Vitrine is starting on http://{address} (GET /health answers 503 until the demo shop is loaded)");

        let started = Instant::now();
        tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
            load_demo_shop(&data_dir)?;
            present_demo_indexes(&Catalog::new(data_dir.clone()))?;
            // Its own catalog, closed (writers and all) before the server opens the indexes.
            train_demo_shop(&Catalog::new(data_dir))
        })
        .await
        .context("the demo loader panicked")??;
        state.warm_up_recommenders();
        seed_commerce(&state).await?;
        state.set_ready(true);
        println!("ready in {:.1} s", started.elapsed().as_secs_f64());
        println!();
        println!("  storefront http://{address}/            (the plug-in on the demo shop; ?index=fashion for the Luma catalog)");
        println!("  console    http://{address}/console     (merchandiser console: synonyms, ranking, typos, rules, preview, evaluate, publish, roll back)");
        println!("  indexes    http://{address}/v1/indexes");
        println!("  search     curl -s -X POST http://{address}/v1/indexes/{DEMO_INDEX}/search \\");
        println!("               -H 'Content-Type: application/json' -d '{{\"q\": \"hart holder\", \"facets\": [\"price\"]}}'");
        println!("  grocery    POST http://{address}/v1/indexes/{GROCERY_INDEX}/search with facets [\"brand\", \"category\", \"nutriscore_grade\"]");
        println!("  fashion    POST http://{address}/v1/indexes/{FASHION_INDEX}/search with {{\"q\": \"hoodie\", \"facets\": [\"color\", \"size\"]}} (one result per product, variants collapsed)");
        println!("  recommend  curl -s -X POST http://{address}/v1/indexes/{DEMO_INDEX}/recommendations \\");
        println!("               -H 'Content-Type: application/json' -d '{{\"kind\": \"similar\", \"product_id\": \"85123A\"}}'");
        println!("             (kinds: similar, bought_together, for_user for a shopper token's user — without keys, user_id 13085 —, cart with product_ids, trending)");
        println!("  models     http://{address}/v1/indexes/{DEMO_INDEX}/models");
        println!("  analytics  http://{address}/v1/indexes/{DEMO_INDEX}/analytics");
        println!("  buy        curl -s -X POST http://{address}/v1/carts   (then POST /v1/carts/ID/items and POST /v1/checkout, both with X-Cart-Token)");
        println!("  health     http://{address}/health");
        println!("  metrics    http://{address}/metrics");
        println!("  a product  http://{address}/v1/indexes/{DEMO_INDEX}/documents/85123A");
        println!();
        println!("Press Ctrl-C to stop.");
        server.await.context("the server task panicked")?
    })
}

/// Gives every demo-shop product with a price a SKU in commerce (its price, its stock or 100 units),
/// unless it has one: the shop can sell at once.
async fn seed_commerce(state: &AppState) -> anyhow::Result<()> {
    let shop = state.commerce.get().await.context("cannot open the commerce database")?;
    let index = IndexName::new(DEMO_INDEX)?;
    let catalog = state.catalog.clone();
    let products = tokio::task::spawn_blocking(move || catalog.products(&index)).await??;
    let items: Vec<SkuSeed> = products
        .iter()
        .filter_map(|product| {
            let on_hand = product.stock.map_or(100, |stock| i64::try_from(stock).unwrap_or(i64::MAX));
            Some(SkuSeed { product_id: product.id.to_string(), price: product.price?, on_hand })
        })
        .collect();
    let created = shop.store.seed_skus(&items).await?;
    if created > 0 {
        println!("commerce: {created} products of `{DEMO_INDEX}` are for sale");
    }
    Ok(())
}

/// Loads the demo catalogs, each unless a previous run already did.
pub(in crate::commands) fn load_demo_shop(data_dir: &DataDir) -> anyhow::Result<()> {
    load_once(data_dir, DEMO_INDEX, &ONLINE_RETAIL, |catalog, index, source| {
        let shop = vitrine_pipelines::load_online_retail(source, &MultiProgress::new())?;
        println!("{}", shop.report);
        let products = vitrine_pipelines::catalog_products(&shop.catalog)?;
        let interactions = vitrine_pipelines::interaction_records(&shop.interactions)?;
        let report = catalog.upsert(index, products)?;
        vitrine_pipelines::log_interactions(data_dir, index, &interactions)?;
        Ok(Loaded {
            products: report.inserted,
            interactions: interactions.len() as u64,
            interactions_until: interactions.iter().map(|interaction| interaction.timestamp).max(),
        })
    })?;
    load_once(data_dir, GROCERY_INDEX, &OPEN_FOOD_FACTS, |catalog, index, source| {
        let (products, report) = vitrine_pipelines::load_grocery(source, &MultiProgress::new())?;
        println!("{report}");
        declare_facets(catalog, index, &GROCERY_FACETS)?;
        set_grocery_languages(catalog, index)?;
        Ok(Loaded { products: catalog.upsert(index, products)?.inserted, interactions: 0, interactions_until: None })
    })?;
    load_once(data_dir, FASHION_INDEX, &MAGENTO_LUMA, |catalog, index, source| {
        let (products, report) = vitrine_pipelines::load_luma(source, &MultiProgress::new())?;
        println!("{report}");
        declare_facets(catalog, index, &FASHION_FACETS)?;
        Ok(Loaded { products: catalog.upsert(index, products)?.inserted, interactions: 0, interactions_until: None })
    })
}

/// The instant the demo shop is trained as of: the end of its bundled purchase log (history,
/// replayed), from the load's marker or, for a marker written before it was recorded, the log.
fn demo_as_of(data_dir: &DataDir, index: &IndexName) -> anyhow::Result<DateTime<Utc>> {
    let recorded = std::fs::read_to_string(data_dir.demo_marker(index))
        .ok()
        .and_then(|text| serde_json::from_str::<DemoMarker>(&text).ok())
        .and_then(|marker| marker.interactions_until);
    if let Some(until) = recorded {
        return Ok(until);
    }
    let range = vitrine_pipelines::interaction_time_range(&data_dir.interactions(index))?;
    Ok(range.map_or_else(Utc::now, |(_, newest)| newest))
}

/// Trains the demo shop's recommendation models as of the end of its purchase log, unless a
/// model version exists already.
pub(in crate::commands) fn train_demo_shop(catalog: &Catalog) -> anyhow::Result<()> {
    let data_dir = catalog.data_dir();
    let index = IndexName::new(DEMO_INDEX)?;
    if vitrine_recommender::bundle::ModelStore::new(data_dir.models(&index)).current()?.is_some() {
        println!("`{index}` already has a recommendation model; `vitrine train --index {index}` trains a new one");
        return Ok(());
    }
    let started = Instant::now();
    let params = vitrine_pipelines::TrainParams::recommended();
    let as_of = demo_as_of(data_dir, &index)?;
    let model_id = train::train_index(catalog, &index, &params, 5, as_of, &MultiProgress::new())?;
    println!("trained `{index}` recommendation model {model_id} in {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}

/// How the storefront presents each demo index (its `display` settings), and the retail shop's
/// prices' currency and the fashion sizes' order. Set once, when an index has no `display` yet:
/// a merchandiser's later changes stay.
fn present_demo_indexes(catalog: &Catalog) -> anyhow::Result<()> {
    let labels =
        |pairs: &[(&str, &str)]| pairs.iter().map(|(facet, label)| (facet.to_string(), label.to_string())).collect();
    let presentations = [
        (
            DEMO_INDEX,
            DisplaySettings {
                title: Some("Gifts and homewares".into()),
                search_placeholder: Some("Search 4,000 gifts and homewares — typos welcome".into()),
                facet_labels: labels(&[("category", "Category"), ("price", "Price")]),
            },
        ),
        (
            GROCERY_INDEX,
            DisplaySettings {
                title: Some("Grocery".into()),
                search_placeholder: Some("Search groceries by name, brand or label — typos welcome".into()),
                facet_labels: labels(&[
                    ("brand", "Brand"),
                    ("category", "Aisle"),
                    ("nutriscore_grade", "Nutri-Score"),
                    ("nova_group", "NOVA group"),
                    ("ecoscore_grade", "Eco-Score"),
                    ("labels", "Labels"),
                    ("countries", "Sold in"),
                    ("allergens", "Allergens"),
                    ("stores", "Stores"),
                ]),
            },
        ),
        (
            FASHION_INDEX,
            DisplaySettings {
                title: Some("Luma fashion".into()),
                search_placeholder: Some("Search hoodies, tees, bags and gear — typos welcome".into()),
                facet_labels: labels(&[
                    ("color", "Colour"),
                    ("size", "Size"),
                    ("material", "Material"),
                    ("activity", "Activity"),
                    ("gender", "Gender"),
                    ("eco_collection", "Eco collection"),
                    ("price", "Price"),
                ]),
            },
        ),
    ];
    for (name, display) in presentations {
        let index = catalog.get(&IndexName::new(name)?)?;
        if index.settings().display != DisplaySettings::default() {
            continue;
        }
        let mut settings = IndexSettings::clone(&index.settings());
        settings.display = display;
        if name == DEMO_INDEX {
            settings.default_currency = Some("GBP".into());
        }
        if name == FASHION_INDEX {
            settings.facets.value_order.insert("size".into(), ValueOrder::Named(NamedValueOrder::Natural));
        }
        index.set_settings(settings)?;
    }
    Ok(())
}

/// The grocery catalog's languages, set while its index is empty (they cannot change later).
/// Titles and descriptions (`generic_name`) are in each product's own language: French is the
/// most common one among the products sold in France, Belgium and Switzerland and the one the
/// demo's shoppers are assumed to type; there are Polish, Portuguese, English, Dutch, Spanish,
/// Italian and German titles too, and one language per field is all an index has. Categories
/// and attribute values (labels, countries, allergens) are Open Food Facts' English taxonomy
/// names. `docs/languages.md` has the measured difference with English everywhere.
fn set_grocery_languages(catalog: &Catalog, index: &IndexName) -> anyhow::Result<()> {
    let opened = catalog.get_or_create(index)?;
    let mut settings = IndexSettings::clone(&opened.settings());
    settings.language = Language::French;
    settings.field_languages =
        FieldLanguages { category: Some(Language::English), attributes: Some(Language::English), ..Default::default() };
    Ok(opened.set_settings(settings)?)
}

/// Makes these attributes facets of the index (creating it).
fn declare_facets(catalog: &Catalog, index: &IndexName, facets: &[&str]) -> anyhow::Result<()> {
    let opened = catalog.get_or_create(index)?;
    let mut settings = IndexSettings::clone(&opened.settings());
    settings.facets.attributes = facets.iter().map(|name| (*name).to_owned()).collect();
    Ok(opened.set_settings(settings)?)
}

/// Loads one bundled catalog into `index_name` with `load` (which returns the products and
/// interactions it stored), unless its marker says a previous run completed it.
fn load_once(
    data_dir: &DataDir,
    index_name: &str,
    bundled: &Bundled,
    load: impl FnOnce(&Catalog, &IndexName, &Path) -> anyhow::Result<Loaded>,
) -> anyhow::Result<()> {
    let index = IndexName::new(index_name)?;
    let marker_path = data_dir.demo_marker(&index);
    if let Ok(text) = std::fs::read_to_string(&marker_path)
        && let Ok(marker) = serde_json::from_str::<DemoMarker>(&text)
    {
        println!(
            "`{index}` already loaded ({} products, {} interactions, at {}); delete {} to load it again",
            marker.products,
            marker.interactions,
            marker.loaded_at,
            marker_path.display()
        );
        return Ok(());
    }
    let source = write_bundled_source(data_dir, bundled)?;
    let catalog = Catalog::new(data_dir.clone());
    if catalog.exists(&index) {
        // A load that stopped half-way left no marker: start again from nothing.
        catalog.delete(&index)?;
    }
    let Loaded { products, interactions, interactions_until } = load(&catalog, &index, &source)?;
    let marker = DemoMarker {
        source: bundled.source.to_owned(),
        products,
        interactions,
        loaded_at: Utc::now().to_rfc3339(),
        interactions_until,
    };
    std::fs::write(&marker_path, serde_json::to_vec_pretty(&marker)?)
        .with_context(|| format!("cannot write {}", marker_path.display()))?;
    println!("loaded `{index}`: {products} products, {interactions} interactions ({})", bundled.source);
    Ok(())
}

/// The bundled Online Retail II file, written to the data directory (once).
pub(in crate::commands) fn online_retail_source(data_dir: &DataDir) -> anyhow::Result<PathBuf> {
    write_bundled_source(data_dir, &ONLINE_RETAIL)
}

/// Writes a compiled-in data file to the data directory (once) so the loader reads a file.
fn write_bundled_source(data_dir: &DataDir, bundled: &Bundled) -> anyhow::Result<PathBuf> {
    let folder = data_dir.sources();
    let path = folder.join(bundled.file_name);
    if std::fs::metadata(&path).is_ok_and(|metadata| metadata.len() == bundled.bytes.len() as u64) {
        return Ok(path);
    }
    std::fs::create_dir_all(&folder).with_context(|| format!("cannot create {}", folder.display()))?;
    std::fs::write(&path, bundled.bytes).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}
