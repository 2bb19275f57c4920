//! Parquet files in the data directory: how derived frames are saved between pipeline runs.

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;

use polars::prelude::{DataFrame, ParquetReader, ParquetWriter, SerReader};

use crate::PipelineError;

/// Writes `frame` to `path` as a zstd-compressed Parquet file, replacing any existing file.
///
/// Parent directories are created when missing. Returns the number of bytes written.
///
/// # Errors
/// [`PipelineError::Io`] if the directory or file cannot be created, [`PipelineError::Polars`] if
/// encoding or writing fails.
pub fn write_parquet(frame: &DataFrame, path: &Path) -> Result<u64, PipelineError> {
    if let Some(parent) = path.parent().filter(|parent| !parent.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|error| PipelineError::io(parent, error))?;
    }
    let file = File::create(path).map_err(|error| PipelineError::io(path, error))?;
    // The writer needs `&mut` to rechunk; cloning a frame only clones reference-counted columns.
    let mut frame = frame.clone();
    let bytes_written = ParquetWriter::new(BufWriter::new(file)).finish(&mut frame)?;
    Ok(bytes_written)
}

/// Reads a whole Parquet file written by [`write_parquet`] (or any other Parquet writer).
///
/// # Errors
/// [`PipelineError::Io`] if the file cannot be opened, [`PipelineError::Polars`] if it is not
/// valid Parquet.
pub fn read_parquet(path: &Path) -> Result<DataFrame, PipelineError> {
    let file = File::open(path).map_err(|error| PipelineError::io(path, error))?;
    let frame = ParquetReader::new(file).finish()?;
    Ok(frame)
}
