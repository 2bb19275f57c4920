//! `vitrine import products` and `vitrine import interactions`, and the feed-file reader with
//! progress that `publish`, `train` and `eval` share.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use vitrine_indexer::Catalog;
use vitrine_models::feed::{self, FeedFormat, LineError};
use vitrine_models::{DataDir, IndexName};

use crate::cli::ImportArgs;

/// A progress bar over a file's bytes, hidden when stderr is not a terminal.
fn file_progress(path: &Path, message: &'static str) -> anyhow::Result<ProgressBar> {
    let length = std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?.len();
    let bar = ProgressBar::new(length).with_message(message);
    bar.set_style(
        ProgressStyle::with_template("{msg:>12} [{bar:40}] {bytes}/{total_bytes} ({eta})")
            .context("progress template")?
            .progress_chars("=> "),
    );
    Ok(bar)
}

/// Reads a feed file with a progress bar, printing each bad line (the first 20) and keeping the rest.
pub(super) fn read_feed_file<T>(
    path: &Path,
    read: impl FnOnce(
        BufReader<indicatif::ProgressBarIter<File>>,
        FeedFormat,
    ) -> Result<Box<dyn Iterator<Item = Result<T, LineError>>>, feed::FeedError>,
) -> anyhow::Result<(Vec<T>, Vec<LineError>)> {
    const SHOWN_ERRORS: usize = 20;
    let format = FeedFormat::from_path(path)?;
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let bar = file_progress(path, "reading")?;
    let records = read(BufReader::new(bar.wrap_read(file)), format)?;
    let (mut good, mut bad) = (Vec::new(), Vec::new());
    for record in records {
        match record {
            Ok(record) => good.push(record),
            Err(error) => {
                if bad.len() < SHOWN_ERRORS {
                    bar.suspend(|| eprintln!("{}: skipped {error}", path.display()));
                }
                bad.push(error);
            }
        }
    }
    bar.finish_and_clear();
    if bad.len() > SHOWN_ERRORS {
        eprintln!("{}: ... and {} more bad lines", path.display(), bad.len() - SHOWN_ERRORS);
    }
    Ok((good, bad))
}

/// `vitrine import products`.
pub(super) fn products(data_dir: &DataDir, args: &ImportArgs) -> anyhow::Result<()> {
    let index = IndexName::new(&args.index)?;
    let started = std::time::Instant::now();
    let catalog = Catalog::new(data_dir.clone());
    let currency = match &args.currency {
        Some(code) => Some(vitrine_models::Currency::new(code)?.to_string()),
        None if catalog.exists(&index) => catalog.get(&index)?.settings().default_currency.clone(),
        None => None,
    };
    let (products, bad) =
        read_feed_file(&args.file, |reader, format| feed::read_products_in(reader, format, currency.as_deref()))?;
    check_bad_lines(&args.file, products.len(), bad.len(), args.strict)?;
    let report = catalog.upsert(&index, products)?;
    println!(
        "index `{index}`: {} inserted, {} updated, {} stale (older version) ignored, {} bad lines skipped, in {:.2} s",
        report.inserted,
        report.updated,
        report.stale,
        bad.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// `vitrine import interactions`.
pub(super) fn interactions(data_dir: &DataDir, args: &ImportArgs) -> anyhow::Result<()> {
    let index = IndexName::new(&args.index)?;
    anyhow::ensure!(args.currency.is_none(), "`--currency` is for product feeds; interactions carry no prices");
    append_interaction_file(data_dir, &index, &args.file, args.strict)?;
    Ok(())
}

/// Refuses a feed whose lines were all bad (something is wrong with the whole file: its format,
/// its columns, a missing default), or, with `--strict`, any feed with a bad line; the bad lines
/// themselves were already reported. Nothing is imported then.
fn check_bad_lines(path: &Path, good: usize, bad: usize, strict: bool) -> anyhow::Result<()> {
    if bad > 0 && strict {
        anyhow::bail!("{}: {bad} bad lines (--strict): nothing imported", path.display());
    }
    if bad > 0 && good == 0 {
        anyhow::bail!("{}: none of its {bad} lines could be used: nothing imported", path.display());
    }
    Ok(())
}

/// Appends the interactions of `path` (CSV, JSON Lines or Parquet) to the log of `index`
/// (created if needed), reports bad lines and the outcome; returns how many were appended. Fails,
/// appending nothing, when no line could be used or (`strict`) any line is bad.
pub(super) fn append_interaction_file(
    data_dir: &DataDir,
    index: &IndexName,
    path: &Path,
    strict: bool,
) -> anyhow::Result<usize> {
    let started = std::time::Instant::now();
    let is_parquet = path.extension().is_some_and(|extension| extension.eq_ignore_ascii_case("parquet"));
    let (interactions, bad) = if is_parquet {
        let (good, bad) = vitrine_pipelines::read_interactions_parquet(path)?;
        for error in bad.iter().take(20) {
            eprintln!("{}: skipped {error}", path.display());
        }
        (good, bad)
    } else {
        read_feed_file(path, feed::read_interactions)?
    };
    check_bad_lines(path, interactions.len(), bad.len(), strict)?;
    let catalog = Catalog::new(data_dir.clone());
    catalog.get_or_create(index)?;
    let part = vitrine_pipelines::log_interactions(data_dir, index, &interactions)?;
    println!(
        "index `{index}`: {} interactions appended to {}, {} bad lines skipped, in {:.2} s",
        interactions.len(),
        part.display(),
        bad.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(interactions.len())
}
