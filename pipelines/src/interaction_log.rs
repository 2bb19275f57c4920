//! The interaction log of an index: views, clicks, add-to-carts and purchases, as Parquet parts.
//!
//! Each append writes one new part (`part-<time-ordered id>.parquet`) and never touches the
//! others, so an append that dies half-way leaves at most a temporary file that readers ignore.
//! Readers scan every live part as one lazy frame. Columns ([`log_columns`]): `user_id` and
//! `session_id` (exactly one set per row), `product_id`, `kind` (`view`, `click`, `add_to_cart`,
//! `purchase`), `quantity` (u32), `timestamp` (milliseconds since the Unix epoch, UTC).
//!
//! **Compaction** ([`compact_interactions`]) keeps the number of parts small: it merges the small
//! parts into one `merged-<id>.parquet`, whose Parquet metadata names the parts it replaces
//! (key [`REPLACES_KEY`], a JSON array of file names), written to a temporary name, synced and
//! renamed, and only then deletes the parts it replaces. Readers ([`interaction_parts`]) read the
//! footer of every merged part and leave out every part one of them replaces, so a crash between
//! the rename and the deletions loses and duplicates nothing (the next compaction finishes the
//! deletions). Compactions hold an exclusive advisory lock on `.compaction.lock` in the folder
//! (one at a time: a server and a `vitrine train` beside it may both compact; a compaction that
//! finds the lock taken does nothing); [`collect_interactions`] holds a shared one while it lists
//! and reads the parts, so a training run reads one consistent set of parts, never half of a
//! compaction. Appends need no lock: a new part is either in a reader's listing or not.

use std::fs::File;
use std::io::{BufWriter, ErrorKind, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use polars::prelude::{
    Column, DataFrame, IntoLazy, KeyValueMetadata, LazyFrame, ParquetReader, ParquetWriter, PlRefPath, ScanArgsParquet,
    SerReader, UnionArgs, col,
};
use vitrine_models::feed::LineError;
use vitrine_models::{Actor, DataDir, IndexName, Interaction};

use crate::{PipelineError, write_parquet};

/// The Parquet metadata key of a merged part: the JSON array of the file names it replaces.
pub const REPLACES_KEY: &str = "vitrine.replaces";

/// Parts larger than this are left alone by compaction (merging them again would rewrite the
/// whole log every time a few small parts accumulate).
pub const LARGE_PART_BYTES: u64 = 64 * 1024 * 1024;

/// How many live parts a log may have before compaction merges its small ones (the server's
/// interaction-log writer and training both compact past it).
pub const MAX_LOG_PARTS: usize = 16;

/// How many times a reader lists the parts again when a compaction removed one under it.
const READ_ATTEMPTS: usize = 5;

/// The advisory lock compactions of one folder take turns with.
const COMPACTION_LOCK: &str = ".compaction.lock";

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

/// The whole log in `folder` as one lazy frame (empty when there are no parts). The frame reads
/// the parts when it is collected: a compaction in between may have removed one, which
/// [`collect_interactions`] handles.
pub fn scan_interactions(folder: &Path) -> Result<LazyFrame, PipelineError> {
    let parts = interaction_parts(folder)?;
    if parts.is_empty() {
        return Ok(DataFrame::empty().lazy());
    }
    scan_parts(&parts)
}

/// Runs `query` over the whole log in `folder` and collects the result; `None` when the log has
/// no part. Compactions wait while it reads (a shared lock), so every row is read exactly once;
/// where the lock cannot be taken (a read-only folder), a part a compaction removed between the
/// listing and the reading makes it list the parts again (a few times).
pub fn collect_interactions(
    folder: &Path,
    query: impl Fn(LazyFrame) -> LazyFrame,
) -> Result<Option<DataFrame>, PipelineError> {
    let _reading = shared_lock(folder);
    let mut attempt = 0;
    loop {
        attempt += 1;
        let parts = interaction_parts(folder)?;
        if parts.is_empty() {
            return Ok(None);
        }
        match scan_parts(&parts).and_then(|log| Ok(query(log).collect()?)) {
            Ok(frame) => return Ok(Some(frame)),
            Err(_) if attempt < READ_ATTEMPTS && parts.iter().any(|part| !part.exists()) => continue,
            Err(error) => return Err(error),
        }
    }
}

/// The first and the last instant of a span of time.
pub type TimeRange = (DateTime<Utc>, DateTime<Utc>);

/// The time of the oldest and of the newest row of the log in `folder` (`None` when it is empty):
/// what a historical dataset being replayed spans, to train it as of its own end.
pub fn interaction_time_range(folder: &Path) -> Result<Option<TimeRange>, PipelineError> {
    let time = || col(log_columns::TIMESTAMP_MS);
    let Some(frame) =
        collect_interactions(folder, |log| log.select([time().min().alias("min"), time().max().alias("max")]))?
    else {
        return Ok(None);
    };
    let at = |name: &str| -> Result<Option<DateTime<Utc>>, PipelineError> {
        Ok(frame.column(name)?.i64()?.get(0).and_then(DateTime::from_timestamp_millis))
    };
    Ok(at("min")?.zip(at("max")?))
}

/// The live parts of the log in `folder` (every Parquet part no merged part replaces), sorted
/// by name. A compaction may replace them once this returns: to read them, use
/// [`collect_interactions`].
pub fn interaction_parts(folder: &Path) -> Result<Vec<PathBuf>, PipelineError> {
    let _listing = shared_lock(folder);
    let mut attempt = 0;
    loop {
        attempt += 1;
        let listing = list_parts(folder)?;
        match listing.live() {
            Ok(live) => return Ok(live),
            // A merged part vanished between the listing and the reading of its footer: a newer
            // compaction replaced it. List again.
            Err(PipelineError::Io { source, .. })
                if source.kind() == ErrorKind::NotFound && attempt < READ_ATTEMPTS =>
            {
                continue;
            }
            Err(error) => return Err(error),
        }
    }
}

/// What [`compact_interactions`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Compaction {
    /// Parts merged into the new one (0: nothing to do, or another compaction was running).
    pub merged_parts: usize,
    /// Rows of the new part (the sum of the merged parts' rows).
    pub rows: usize,
    /// Parts left behind by an earlier compaction (replaced, not yet deleted) and deleted now.
    pub leftovers_deleted: usize,
    /// The new part.
    pub part: Option<PathBuf>,
    /// Another compaction of the folder was running: this one did nothing.
    pub busy: bool,
}

/// Merges the small parts (under [`LARGE_PART_BYTES`]) of the log in `folder` into one when there
/// are more than `max_parts` live parts, without losing or duplicating a row (see the module
/// documentation for the protocol). Parts an earlier compaction replaced but could not delete are
/// deleted first. Returns at once, doing nothing, while another compaction of the folder runs.
///
/// # Errors
/// A part cannot be read, the merged part cannot be written or renamed, a replaced part cannot be
/// deleted.
pub fn compact_interactions(folder: &Path, max_parts: usize) -> Result<Compaction, PipelineError> {
    let mut report = Compaction::default();
    if !folder.exists() {
        return Ok(report);
    }
    let lock_path = folder.join(COMPACTION_LOCK);
    let lock = lock_file(folder).map_err(|error| PipelineError::io(&lock_path, error))?;
    match fs4::FileExt::try_lock(&lock) {
        Ok(()) => {}
        Err(fs4::TryLockError::WouldBlock) => {
            report.busy = true;
            return Ok(report);
        }
        Err(fs4::TryLockError::Error(error)) => return Err(PipelineError::io(&lock_path, error)),
    }
    // Finish what an earlier compaction left: the parts it replaced.
    let listing = list_parts(folder)?;
    report.leftovers_deleted = delete_replaced(folder, listing.replaced()?)?;

    let live = list_parts(folder)?.live()?;
    let mut small = Vec::with_capacity(live.len());
    for part in &live {
        let size = std::fs::metadata(part).map_err(|error| PipelineError::io(part, error))?.len();
        if size < LARGE_PART_BYTES {
            small.push(part.clone());
        }
    }
    if live.len() <= max_parts || small.len() < 2 {
        return Ok(report);
    }
    let mut frame = scan_parts(&small)?.collect()?;
    let names: Vec<String> = small.iter().filter_map(|part| file_name(part)).collect();
    let replaces = serde_json::to_string(&names).unwrap_or_default();
    let name = format!("merged-{}", part_id());
    let temporary = folder.join(format!("{name}.parquet.tmp"));
    let path = folder.join(format!("{name}.parquet"));
    let file = File::create(&temporary).map_err(|error| PipelineError::io(&temporary, error))?;
    let mut writer = BufWriter::new(file);
    ParquetWriter::new(&mut writer)
        .with_key_value_metadata(Some(KeyValueMetadata::from_static(vec![(REPLACES_KEY.to_owned(), replaces)])))
        .finish(&mut frame)?;
    writer.flush().map_err(|error| PipelineError::io(&temporary, error))?;
    let file = writer.into_inner().map_err(|error| PipelineError::io(&temporary, error.into_error()))?;
    // The merged rows are on disk before the parts holding them are deleted.
    file.sync_all().map_err(|error| PipelineError::io(&temporary, error))?;
    std::fs::rename(&temporary, &path).map_err(|error| PipelineError::io(&path, error))?;
    sync_folder(folder)?;
    delete_replaced(folder, names)?;
    report.merged_parts = small.len();
    report.rows = frame.height();
    report.part = Some(path);
    Ok(report)
}

/// The folder's lock file, created if needed.
fn lock_file(folder: &Path) -> std::io::Result<File> {
    File::options().create(true).truncate(false).write(true).open(folder.join(COMPACTION_LOCK))
}

/// A shared hold on the folder's compaction lock (released when dropped), or `None` where the
/// folder does not exist or the lock cannot be taken.
fn shared_lock(folder: &Path) -> Option<File> {
    let file = lock_file(folder).ok()?;
    fs4::FileExt::lock_shared(&file).ok()?;
    Some(file)
}

/// The Parquet files of a folder, appended and merged parts alike, sorted by name.
struct Listing {
    parts: Vec<PathBuf>,
}

impl Listing {
    /// The names of the parts some merged part of the listing replaces.
    fn replaced(&self) -> Result<Vec<String>, PipelineError> {
        let mut replaced = Vec::new();
        for part in self.parts.iter().filter(|part| is_merged(part)) {
            replaced.extend(replaced_by(part)?);
        }
        replaced.sort();
        replaced.dedup();
        Ok(replaced)
    }

    /// The parts no merged part replaces.
    fn live(&self) -> Result<Vec<PathBuf>, PipelineError> {
        let replaced = self.replaced()?;
        Ok(self
            .parts
            .iter()
            .filter(|part| file_name(part).is_none_or(|name| replaced.binary_search(&name).is_err()))
            .cloned()
            .collect())
    }
}

fn list_parts(folder: &Path) -> Result<Listing, PipelineError> {
    let entries = match std::fs::read_dir(folder) {
        Ok(entries) => entries,
        Err(error) if error.kind() == ErrorKind::NotFound => {
            return Ok(Listing { parts: Vec::new() });
        }
        Err(error) => return Err(PipelineError::io(folder, error)),
    };
    let mut parts: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "parquet"))
        .collect();
    parts.sort();
    Ok(Listing { parts })
}

/// The file names a merged part replaces (from its Parquet metadata).
fn replaced_by(part: &Path) -> Result<Vec<String>, PipelineError> {
    let file = File::open(part).map_err(|error| PipelineError::io(part, error))?;
    let mut reader = ParquetReader::new(file);
    let metadata = reader.get_metadata()?;
    let value = metadata
        .key_value_metadata
        .iter()
        .flatten()
        .find(|pair| pair.key == REPLACES_KEY)
        .and_then(|pair| pair.value.as_deref())
        .unwrap_or("[]");
    serde_json::from_str(value).map_err(|error| PipelineError::InvalidValue {
        column: REPLACES_KEY.to_owned(),
        row: 0,
        message: format!("{}: {error}", part.display()),
    })
}

/// Deletes replaced parts (those still there; returns how many): appended parts first, then
/// merged parts oldest first, so that a crash half-way never leaves a part whose rows another
/// surviving part holds without saying so.
fn delete_replaced(folder: &Path, mut names: Vec<String>) -> Result<usize, PipelineError> {
    names.sort_by_key(|name| (name.starts_with(MERGED_PREFIX), name.clone()));
    let mut deleted = 0;
    for name in names {
        let path = folder.join(&name);
        match std::fs::remove_file(&path) {
            Ok(()) => deleted += 1,
            Err(error) if error.kind() == ErrorKind::NotFound => {}
            Err(error) => return Err(PipelineError::io(&path, error)),
        }
    }
    Ok(deleted)
}

/// The name prefix of merged parts.
const MERGED_PREFIX: &str = "merged-";

fn is_merged(part: &Path) -> bool {
    file_name(part).is_some_and(|name| name.starts_with(MERGED_PREFIX))
}

fn file_name(part: &Path) -> Option<String> {
    part.file_name().and_then(|name| name.to_str()).map(str::to_owned)
}

/// These parts as one lazy frame.
fn scan_parts(parts: &[PathBuf]) -> Result<LazyFrame, PipelineError> {
    let frames = parts
        .iter()
        .map(|part| LazyFrame::scan_parquet(PlRefPath::try_from_path(part)?, ScanArgsParquet::default()))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(polars::prelude::concat(frames, UnionArgs::default())?)
}

/// Makes a rename in `folder` durable (on Unix; elsewhere the rename is what there is).
fn sync_folder(folder: &Path) -> Result<(), PipelineError> {
    #[cfg(unix)]
    File::open(folder).and_then(|directory| directory.sync_all()).map_err(|error| PipelineError::io(folder, error))?;
    #[cfg(not(unix))]
    let _ = folder;
    Ok(())
}

/// A file-name-safe id that sorts by creation time: nanoseconds since the epoch, the pid and a
/// counter (two appends of one process within the same nanosecond still get two names).
fn part_id() -> String {
    static SEQUENCE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let sequence = SEQUENCE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{nanos:020}-{}-{sequence}", std::process::id())
}

/// Writes the live log of `folder` to `path` as Parquet in the documented import columns
/// (`user_id`, `session_id`, `product_id`, `kind`, `quantity`, `timestamp` as a UTC datetime), which
/// [`read_interactions_parquet`] and `vitrine import interactions` read back. Returns the rows
/// written; an empty or missing log writes no file and returns 0.
///
/// # Errors
/// A part cannot be read, or the file cannot be written.
pub fn export_interactions(folder: &Path, path: &Path) -> Result<u64, PipelineError> {
    use polars::prelude::{DataType, TimeUnit, TimeZone};

    let Some(mut frame) = collect_interactions(folder, |frame| frame)? else {
        return Ok(0);
    };
    if frame.height() == 0 {
        return Ok(0);
    }
    let timestamps = frame
        .column(log_columns::TIMESTAMP_MS)?
        .cast(&DataType::Int64)?
        .cast(&DataType::Datetime(TimeUnit::Milliseconds, Some(TimeZone::UTC)))?
        .with_name("timestamp".into());
    frame.with_column(timestamps)?;
    let frame = frame.drop(log_columns::TIMESTAMP_MS)?;
    write_parquet(&frame, path)?;
    Ok(frame.height() as u64)
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
