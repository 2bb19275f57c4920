//! The demo-shop loader: UCI Online Retail II → a cleaned catalog and interaction log.
//!
//! [`load_online_retail`] runs three steps, each with its own progress line:
//!
//! 1. **read**: the file (gzip-compressed or plain CSV, detected from its first bytes) is
//!    decompressed in memory and parsed by polars with every column as a string, so that the
//!    exact-duplicate rule compares lines as written;
//! 2. **clean**: every line is kept or dropped for the first [`DropReason`] that applies, and the
//!    [`CleaningReport`] counts them;
//! 3. **derive**: polars group-bys build the catalog (one row per product) and the interaction log
//!    (one row per kept line with a customer id). See [`catalog_columns`] and
//!    [`interaction_columns`] for the schemas.
//!
//! Times are kept as naive datetimes in UK local time, as the file records them.

mod cleaning;
mod derive;
mod raw_columns;

use std::io::Cursor;
use std::path::Path;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use polars::prelude::{CsvReadOptions, DataFrame, SerReader};

use crate::PipelineError;
use crate::source::{Source, read_source};

pub use cleaning::{CleaningReport, DropReason, PRODUCT_STOCK_CODE_PATTERN};
pub use derive::{catalog_columns, interaction_columns};

/// How often spinners redraw while polars works.
const SPINNER_TICK: Duration = Duration::from_millis(120);

/// The demo shop derived from Online Retail II.
#[derive(Debug, Clone)]
pub struct RetailShop {
    /// One row per product, sorted by `product_id`; columns in [`catalog_columns`].
    pub catalog: DataFrame,
    /// One row per kept invoice line with a customer id, in file order; columns in
    /// [`interaction_columns`].
    pub interactions: DataFrame,
    /// What cleaning dropped and why.
    pub report: CleaningReport,
}

/// Loads Online Retail II (`.csv.gz` or plain `.csv`), cleans it and derives the demo shop.
///
/// Progress bars are added to `progress`; pass
/// `MultiProgress::with_draw_target(ProgressDrawTarget::hidden())` to stay silent.
///
/// # Errors
/// [`PipelineError::Io`] if the file cannot be read or decompressed,
/// [`PipelineError::MissingColumn`] if the header lacks an Online Retail II column, and
/// [`PipelineError::Polars`] if a quantity, price or invoice date does not parse.
pub fn load_online_retail(path: &Path, progress: &MultiProgress) -> Result<RetailShop, PipelineError> {
    let raw_lines = read_raw_lines(path, progress)?;

    let cleaning = start_spinner(progress, "cleaning invoice lines");
    let cleaned = cleaning::clean(raw_lines)?;
    cleaning.finish_with_message(format!(
        "cleaned: {} of {} lines kept",
        cleaned.report.rows_kept, cleaned.report.rows_read
    ));

    let deriving = start_spinner(progress, "deriving catalog and interactions");
    let catalog = derive::derive_catalog(&cleaned.lines)?;
    let interactions = derive::derive_interactions(&cleaned.lines)?;
    deriving.finish_with_message(format!(
        "derived: {} products, {} interactions",
        catalog.height(),
        interactions.height()
    ));

    Ok(RetailShop { catalog, interactions, report: cleaned.report })
}

/// Reads the whole file into memory (decompressing gzip) and parses it with every column as a string.
fn read_raw_lines(path: &Path, progress: &MultiProgress) -> Result<DataFrame, PipelineError> {
    let Source { bytes: csv_bytes, bar: reading, file_name } = read_source(path, progress)?;
    reading.finish_with_message(format!("read {file_name}"));

    let parsing = start_spinner(progress, "parsing CSV");
    // No type inference: every column stays a string, exactly as written. Cleaning casts.
    let raw_lines = CsvReadOptions::default()
        .with_has_header(true)
        .with_infer_schema_length(Some(0))
        .into_reader_with_file_handle(Cursor::new(csv_bytes))
        .finish()?;
    if let Some(missing) = raw_columns::ALL.iter().find(|name| raw_lines.column(name).is_err()) {
        parsing.abandon_with_message("parsing CSV failed");
        return Err(PipelineError::MissingColumn { path: path.to_path_buf(), column: (*missing).to_owned() });
    }
    parsing.finish_with_message(format!("parsed {} lines", raw_lines.height()));
    Ok(raw_lines)
}

fn start_spinner(progress: &MultiProgress, message: &'static str) -> ProgressBar {
    let style = ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
        .unwrap_or_else(|_| ProgressStyle::default_spinner());
    let spinner = progress.add(ProgressBar::new_spinner().with_style(style).with_message(message));
    spinner.enable_steady_tick(SPINNER_TICK);
    spinner
}
