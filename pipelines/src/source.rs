//! Reading a source file whole into memory, gzip-compressed or not, with a progress bar.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use flate2::bufread::MultiGzDecoder;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

use crate::PipelineError;

/// The first two bytes of every gzip stream.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// A source file's bytes (decompressed), with the progress bar that showed the reading so the
/// caller can finish it (or abandon it on a later error) with its own message.
pub(crate) struct Source {
    /// The (decompressed) contents.
    pub bytes: Vec<u8>,
    /// The bar, still open.
    pub bar: ProgressBar,
    /// The file's name, for messages.
    pub file_name: String,
}

/// Reads `path` whole, decompressing it when it starts with the gzip magic bytes.
pub(crate) fn read_source(path: &Path, progress: &MultiProgress) -> Result<Source, PipelineError> {
    let file = File::open(path).map_err(|error| PipelineError::io(path, error))?;
    let file_size = file.metadata().map_err(|error| PipelineError::io(path, error))?.len();
    let file_name =
        path.file_name().map_or_else(|| path.display().to_string(), |name| name.to_string_lossy().into_owned());
    let bar = progress
        .add(ProgressBar::new(file_size).with_style(bytes_style()).with_message(format!("reading {file_name}")));
    let mut reader = BufReader::new(bar.wrap_read(file));
    let mut bytes = Vec::new();
    let read = reader.fill_buf().map(|head| head.starts_with(&GZIP_MAGIC)).and_then(|is_gzip| {
        if is_gzip { MultiGzDecoder::new(reader).read_to_end(&mut bytes) } else { reader.read_to_end(&mut bytes) }
    });
    if let Err(error) = read {
        bar.abandon_with_message(format!("reading {file_name} failed"));
        return Err(PipelineError::io(path, error));
    }
    Ok(Source { bytes, bar, file_name })
}

fn bytes_style() -> ProgressStyle {
    ProgressStyle::with_template("{msg:32} [{bar:30}] {bytes}/{total_bytes} ({eta})")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
}
