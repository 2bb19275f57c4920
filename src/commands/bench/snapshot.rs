//! `vitrine bench snapshot`: what a snapshot costs. Snapshots a data directory — the one given
//! (`vitrine demo`'s, say) or a scratch one holding a generated catalogue of `--products N` built
//! from the Home Depot titles — then restores the archive into a scratch folder, verifying every
//! file and figure. Prints the products, the data and archive sizes, the snapshot and restore
//! times, and appends them as a JSON line (DATA_DIR/eval/snapshot.jsonl).

use std::io::Write;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;
use vitrine_eval::scale::ScaleCatalog;
use vitrine_eval::search::HomeDepot;
use vitrine_indexer::Catalog;
use vitrine_models::{DataDir, IndexName};

use super::scale::{clear, directory_bytes, import_generated, valid_titles};
use crate::cli::BenchSnapshotArgs;
use crate::commands::runtime::runtime;
use crate::snapshots::{CommerceSource, create_snapshot, restore_snapshot};

fn bar() -> anyhow::Result<ProgressBar> {
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{msg:>12} [{bar:40}] {bytes}/{total_bytes} ({eta})")?.progress_chars("=> "),
    );
    Ok(bar)
}

pub(in crate::commands) fn run(data_dir: &DataDir, args: &BenchSnapshotArgs) -> anyhow::Result<()> {
    let scratch = data_dir.bench_scratch("snapshot");
    clear(&scratch)?;
    let source = match args.products {
        Some(size) => {
            anyhow::ensure!(size >= 1, "--products must be positive");
            let dataset = HomeDepot::load(&args.dataset)
                .with_context(|| format!("cannot load the Home Depot titles from {}", args.dataset.display()))?;
            let titles = valid_titles(&dataset);
            let source = DataDir::new(scratch.join("data"));
            let generator = ScaleCatalog::new(&titles, args.seed);
            let seconds = import_generated(&Catalog::new(source.clone()), &IndexName::new("scale")?, &generator, size)?;
            println!("generated {size} products in {seconds:.1} s");
            source
        }
        None => data_dir.clone(),
    };
    let runtime = runtime()?;
    let progress = bar()?;
    let commerce = CommerceSource::of(&source, args.commerce_db.as_deref());
    let report = runtime.block_on(create_snapshot(&source, &commerce, &scratch.join("archives"), &progress))?;
    progress.finish_and_clear();
    let progress = bar()?;
    let restored = runtime.block_on(restore_snapshot(&report.archive, &scratch.join("restored"), &progress))?;
    progress.finish_and_clear();

    let manifest = &report.manifest;
    let products: u64 = manifest.indexes.iter().map(|index| index.documents).sum();
    let index_bytes: u64 = manifest
        .indexes
        .iter()
        .filter_map(|index| IndexName::new(&index.name).ok())
        .map(|name| directory_bytes(&source.search_index(&name)))
        .sum();
    let mb = |bytes: u64| bytes as f64 / 1_000_000.0;
    println!("snapshot of {} ({} indexes, {products} products):", source.root().display(), manifest.indexes.len());
    println!("  search indexes on disk  {:>10.1} MB", mb(index_bytes));
    println!("  data in the snapshot    {:>10.1} MB in {} files", mb(manifest.data_bytes()), manifest.files.len());
    println!(
        "  archive (tar + zstd)    {:>10.1} MB ({:.0} % of the data)",
        mb(report.archive_bytes),
        100.0 * report.archive_bytes as f64 / manifest.data_bytes().max(1) as f64
    );
    println!("  snapshot time           {:>10.2} s", report.seconds);
    println!("  restore time (verified) {:>10.2} s", restored.seconds);

    let out = args.out.clone().unwrap_or_else(|| data_dir.eval().join("snapshot.jsonl"));
    if let Some(folder) = out.parent() {
        std::fs::create_dir_all(folder)?;
    }
    let line = json!({
        "at": chrono::Utc::now().to_rfc3339(),
        "data_dir": source.root().display().to_string(),
        "generated": args.products,
        "indexes": manifest.indexes.len(),
        "products": products,
        "index_bytes": index_bytes,
        "data_bytes": manifest.data_bytes(),
        "files": manifest.files.len(),
        "archive_bytes": report.archive_bytes,
        "snapshot_seconds": report.seconds,
        "restore_seconds": restored.seconds,
    });
    let mut file = std::fs::OpenOptions::new().create(true).append(true).open(&out)?;
    writeln!(file, "{line}")?;
    println!("appended to {}", out.display());
    if args.keep {
        println!("kept {}", scratch.display());
    } else {
        clear(&scratch)?;
    }
    Ok(())
}
