//! The interaction log of an index: views, clicks, add-to-carts and purchases, as Parquet parts.
//!
//! Each append writes one new part (`part-<time-ordered id>.parquet`) and never touches the
//! others, so an append that dies half-way leaves at most a temporary file that readers ignore.
//! Readers scan every part as one lazy frame. Columns ([`log_columns`]): `user_id` and
//! `session_id` (exactly one set per row), `product_id`, `kind` (`view`, `click`, `add_to_cart`,
//! `purchase`), `quantity` (u32), `timestamp` (milliseconds since the Unix epoch, UTC).

use std::path::{Path, PathBuf};

use polars::prelude::{Column, DataFrame, IntoLazy, LazyFrame, PlRefPath, ScanArgsParquet, UnionArgs};
use vitrine_models::feed::LineError;
use vitrine_models::{Actor, DataDir, IndexName, Interaction};

use crate::{PipelineError, write_parquet};

/// Column names of the interaction log.
pub mod log_columns {
    /// A signed-in shopper's id, or null.
    pub const USER_ID: &str = "user_id";
    /// An anonymous session's id, or null.
    pub const SESSION_ID: &str = "session_id";
    /// The product.
    pub const PRODUCT_ID: &str = "product_id";
    /// `view`, `click`, `add_to_cart` or `purchase`.
    pub const KIND: &str = "kind";
    /// Units, at least 1.
    pub const QUANTITY: &str = "quantity";
    /// Milliseconds since the Unix epoch, UTC.
    pub const TIMESTAMP_MS: &str = "timestamp_ms";
}

/// Appends interactions to the interaction log of `index` in `data_dir` (created if needed) as one
/// new Parquet part and returns its path: the one way shoppers' events, orders and imports enter
/// the log the models learn from.
pub fn log_interactions(
    data_dir: &DataDir,
    index: &IndexName,
    interactions: &[Interaction],
) -> Result<PathBuf, PipelineError> {
    append_interactions(&data_dir.interactions(index), interactions)
}

/// Appends interactions to the log in `folder` as one new Parquet part and returns its path.
/// Appending nothing writes nothing and returns the folder.
pub fn append_interactions(folder: &Path, interactions: &[Interaction]) -> Result<PathBuf, PipelineError> {
    std::fs::create_dir_all(folder).map_err(|error| PipelineError::io(folder, error))?;
    if interactions.is_empty() {
        return Ok(folder.to_owned());
    }
    let (user_ids, session_ids): (Vec<Option<&str>>, Vec<Option<&str>>) = interactions
        .iter()
        .map(|interaction| match &interaction.actor {
            Actor::User(user) => (Some(user.as_str()), None),
            Actor::Session(session) => (None, Some(session.as_str())),
        })
        .unzip();
    let frame = DataFrame::new(
        interactions.len(),
        vec![
            Column::new(log_columns::USER_ID.into(), user_ids),
            Column::new(log_columns::SESSION_ID.into(), session_ids),
            Column::new(
                log_columns::PRODUCT_ID.into(),
                interactions.iter().map(|interaction| interaction.product_id.as_str()).collect::<Vec<_>>(),
            ),
            Column::new(
                log_columns::KIND.into(),
                interactions.iter().map(|interaction| interaction.kind.as_str()).collect::<Vec<_>>(),
            ),
            Column::new(
                log_columns::QUANTITY.into(),
                interactions.iter().map(|interaction| interaction.quantity).collect::<Vec<u32>>(),
            ),
            Column::new(
                log_columns::TIMESTAMP_MS.into(),
                interactions.iter().map(|interaction| interaction.timestamp.timestamp_millis()).collect::<Vec<i64>>(),
            ),
        ],
    )?;
    let name = format!("part-{}", part_id());
    let temporary = folder.join(format!("{name}.parquet.tmp"));
    let path = folder.join(format!("{name}.parquet"));
    write_parquet(&frame, &temporary)?;
    std::fs::rename(&temporary, &path).map_err(|error| PipelineError::io(&path, error))?;
    Ok(path)
}

/// The whole log in `folder` as one lazy frame (empty when there are no parts).
pub fn scan_interactions(folder: &Path) -> Result<LazyFrame, PipelineError> {
    let parts = interaction_parts(folder)?;
    if parts.is_empty() {
        return Ok(DataFrame::empty().lazy());
    }
    let frames = parts
        .iter()
        .map(|part| LazyFrame::scan_parquet(PlRefPath::try_from_path(part)?, ScanArgsParquet::default()))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(polars::prelude::concat(frames, UnionArgs::default())?)
}

/// The log's Parquet parts, oldest first.
pub fn interaction_parts(folder: &Path) -> Result<Vec<PathBuf>, PipelineError> {
    let entries = match std::fs::read_dir(folder) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(PipelineError::io(folder, error)),
    };
    let mut parts: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "parquet"))
        .collect();
    parts.sort();
    Ok(parts)
}

/// A file-name-safe id that sorts by creation time: nanoseconds since the epoch and the pid.
fn part_id() -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    format!("{nanos:020}-{}", std::process::id())
}

/// Reads interactions from a Parquet file with the documented columns (`user_id` or
/// `session_id`, `product_id`, `kind` or `event`, `quantity`, `timestamp`; see
/// [`vitrine_models::feed`]). `timestamp` may be a Parquet datetime, Unix seconds or
/// milliseconds, or RFC 3339 text. Rows that do not validate come back as [`LineError`]s
/// numbered from 1 (the first row), and the rest are kept.
///
/// # Errors
/// The file cannot be read, is not Parquet, has a column this schema does not know, or lacks
/// `product_id` or `timestamp`.
pub fn read_interactions_parquet(path: &Path) -> Result<(Vec<Interaction>, Vec<LineError>), PipelineError> {
    use polars::prelude::{DataType, TimeUnit};
    use vitrine_models::feed::{INTERACTION_COLUMNS, interaction_from_cells};

    let frame = crate::read_parquet(path)?;
    let names: Vec<String> = frame.get_column_names().iter().map(|name| name.to_string()).collect();
    if let Some(unknown) = names.iter().find(|name| !INTERACTION_COLUMNS.contains(&name.as_str())) {
        return Err(PipelineError::UnknownColumn { path: path.to_owned(), column: unknown.clone() });
    }
    for required in ["product_id", "timestamp"] {
        if !names.iter().any(|name| name == required) {
            return Err(PipelineError::MissingColumn { path: path.to_owned(), column: required.to_owned() });
        }
    }
    // Every column as text, datetimes as Unix milliseconds.
    let mut columns = Vec::with_capacity(names.len());
    for name in &names {
        let column = frame.column(name)?;
        let column = match column.dtype() {
            DataType::Datetime(_, _) => {
                column.cast(&DataType::Datetime(TimeUnit::Milliseconds, None))?.cast(&DataType::Int64)?
            }
            _ => column.clone(),
        };
        columns.push(column.cast(&DataType::String)?);
    }
    let texts = columns.iter().map(|column| column.str()).collect::<Result<Vec<_>, _>>()?;
    let mut good = Vec::with_capacity(frame.height());
    let mut bad = Vec::new();
    for row in 0..frame.height() {
        let cells = names
            .iter()
            .zip(&texts)
            .filter_map(|(name, text)| {
                text.get(row).filter(|cell| !cell.trim().is_empty()).map(|cell| (name.as_str(), cell))
            })
            .collect();
        match interaction_from_cells(cells) {
            Ok(interaction) => good.push(interaction),
            Err(reason) => bad.push(LineError { line: row as u64 + 1, reason }),
        }
    }
    Ok((good, bad))
}
