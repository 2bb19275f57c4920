//! Load the full Online Retail II file into the demo shop and print what happened.
//!
//! ```text
//! cargo run --release -p vitrine-pipelines --example load_retail -- [INPUT.csv.gz] [OUTPUT_DIR]
//! ```
//!
//! `INPUT` defaults to the 2009–2010 sheet in the shared datasets folder. With `OUTPUT_DIR`, the
//! catalog and interactions are also written there as `catalog.parquet` and `interactions.parquet`.
//! Build in release mode: debug polars is many times slower.

use std::error::Error;
use std::path::PathBuf;
use std::time::Instant;

use indicatif::MultiProgress;
use polars::prelude::{IntoLazy, col, lit};
use vitrine_pipelines::{catalog_columns, catalog_products, interaction_records, load_online_retail, write_parquet};

const DEFAULT_INPUT: &str = "/work/shared/datasets/online-retail-ii/online_retail_II_2009-2010.csv.gz";

fn main() -> Result<(), Box<dyn Error>> {
    let mut arguments = std::env::args_os().skip(1);
    let input = arguments.next().map_or_else(|| PathBuf::from(DEFAULT_INPUT), PathBuf::from);
    let output_directory = arguments.next().map(PathBuf::from);

    let started = Instant::now();
    let shop = load_online_retail(&input, &MultiProgress::new())?;
    let load_seconds = started.elapsed().as_secs_f64();

    println!("{}\n", shop.report);
    println!("catalog: {} products", shop.catalog.height());
    println!("{}\n", shop.catalog.head(Some(5)));
    println!("interactions: {} lines", shop.interactions.height());
    println!("{}\n", shop.interactions.head(Some(5)));
    println!("loaded in {load_seconds:.2} s\n");

    // The shop's best-known product, as a one-row frame.
    let hanging_heart =
        shop.catalog.clone().lazy().filter(col(catalog_columns::PRODUCT_ID).eq(lit("85123A"))).collect()?;
    println!("{hanging_heart}\n");

    let started = Instant::now();
    let products = catalog_products(&shop.catalog)?;
    let interactions = interaction_records(&shop.interactions)?;
    println!(
        "converted to {} validated products and {} interactions in {:.2} s",
        products.len(),
        interactions.len(),
        started.elapsed().as_secs_f64()
    );

    let Some(output_directory) = output_directory else {
        return Ok(());
    };
    let started = Instant::now();
    let catalog_bytes = write_parquet(&shop.catalog, &output_directory.join("catalog.parquet"))?;
    let interaction_bytes = write_parquet(&shop.interactions, &output_directory.join("interactions.parquet"))?;
    println!(
        "wrote {catalog_bytes} + {interaction_bytes} bytes of Parquet to {} in {:.2} s",
        output_directory.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
