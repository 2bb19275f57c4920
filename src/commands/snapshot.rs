//! `vitrine snapshot create | restore | verify | list` (docs/operations.md). `create` works on the
//! data directory itself, so it runs beside a server that serves and indexes, or without one.

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use vitrine_models::DataDir;

use super::runtime::runtime;
use crate::cli::{SnapshotArchiveArg, SnapshotCommand, SnapshotCreateArgs, SnapshotListArgs};
use crate::snapshots::{self, CommerceSource, RestoreReport};

fn bar() -> ProgressBar {
    let bar = ProgressBar::new(0);
    if let Ok(style) = ProgressStyle::with_template("{msg:>10} [{bar:40}] {bytes}/{total_bytes} ({eta})") {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

fn megabytes(bytes: u64) -> f64 {
    bytes as f64 / 1_000_000.0
}

/// Runs one `vitrine snapshot` subcommand.
pub(super) fn run(data_dir: &DataDir, command: SnapshotCommand) -> anyhow::Result<()> {
    match command {
        SnapshotCommand::Create(args) => create(data_dir, &args),
        SnapshotCommand::Restore(args) => restore(data_dir, &args),
        SnapshotCommand::Verify(args) => verify(&args),
        SnapshotCommand::List(args) => list(data_dir, &args),
    }
}

fn create(data_dir: &DataDir, args: &SnapshotCreateArgs) -> anyhow::Result<()> {
    anyhow::ensure!(data_dir.root().is_dir(), "no data directory at {}", data_dir.root().display());
    let out = args.out.clone().unwrap_or_else(|| data_dir.snapshots());
    let commerce = CommerceSource::of(data_dir, args.commerce_db.as_deref());
    let progress = bar();
    let report = runtime()?
        .block_on(snapshots::create_snapshot(data_dir, &commerce, &out, &progress))
        .context("the snapshot failed")?;
    progress.finish_and_clear();
    let manifest = &report.manifest;
    println!(
        "snapshot {} written in {:.2} s: {:.1} MB archive ({:.1} MB of data in {} files)",
        report.archive.display(),
        report.seconds,
        megabytes(report.archive_bytes),
        megabytes(manifest.data_bytes()),
        manifest.files.len()
    );
    for index in &manifest.indexes {
        let offsets: usize = index.offsets.values().map(std::collections::BTreeMap::len).sum();
        println!(
            "  index {}: {} products, model {}, {} Kafka partition offsets, settings version {}",
            index.name,
            index.documents,
            index.model_version.as_deref().unwrap_or("none"),
            offsets,
            index.settings_version.map_or_else(|| "—".to_owned(), |version| version.to_string())
        );
    }
    match &manifest.commerce {
        snapshots::CommerceContents::Sqlite { orders, skus, .. } => {
            println!("  commerce (SQLite): {orders} orders, {skus} SKUs");
        }
        snapshots::CommerceContents::Postgresql { note, .. } => println!("  commerce: {note}"),
        snapshots::CommerceContents::None => println!("  commerce: no database yet"),
    }
    if let Some(keep) = args.keep {
        let deleted = snapshots::prune_snapshots(&out, usize::try_from(keep).unwrap_or(usize::MAX))?;
        if !deleted.is_empty() {
            println!("deleted {} older snapshot(s), keeping the newest {keep}", deleted.len());
        }
    }
    Ok(())
}

fn print_checked(report: &RestoreReport, what: &str) {
    let manifest = &report.manifest;
    println!(
        "{what} {} ({}, Vitrine {}): {} files, {:.1} MB checked in {:.2} s",
        manifest.name,
        manifest.created_at.to_rfc3339(),
        manifest.vitrine_version,
        report.files,
        megabytes(report.bytes),
        report.seconds
    );
    for index in &manifest.indexes {
        println!("  index {}: {} products, versions and offsets as in the manifest", index.name, index.documents);
    }
}

fn restore(data_dir: &DataDir, args: &SnapshotArchiveArg) -> anyhow::Result<()> {
    let progress = bar();
    let report = runtime()?
        .block_on(snapshots::restore_snapshot(&args.archive, data_dir.root(), &progress))
        .with_context(|| format!("cannot restore {}", args.archive.display()))?;
    progress.finish_and_clear();
    print_checked(&report, "restored");
    println!("data directory: {}", data_dir.root().display());
    if let snapshots::CommerceContents::Postgresql { note, .. } = &report.manifest.commerce {
        println!("note: {note}");
    }
    Ok(())
}

fn verify(args: &SnapshotArchiveArg) -> anyhow::Result<()> {
    let progress = bar();
    let report = runtime()?
        .block_on(snapshots::verify_snapshot(&args.archive, &progress))
        .with_context(|| format!("{} does not verify", args.archive.display()))?;
    progress.finish_and_clear();
    print_checked(&report, "verified");
    Ok(())
}

fn list(data_dir: &DataDir, args: &SnapshotListArgs) -> anyhow::Result<()> {
    let folder = args.folder.clone().unwrap_or_else(|| data_dir.snapshots());
    let listings = snapshots::list_snapshots(&folder)?;
    if listings.is_empty() {
        println!("no snapshots in {}", folder.display());
    }
    for listing in listings {
        println!(
            "{}  {}  {:>10.1} MB  {} products in {}",
            listing.name,
            listing.created_at.to_rfc3339(),
            megabytes(listing.archive_bytes),
            listing.documents,
            listing.indexes.join(", ")
        );
    }
    Ok(())
}
