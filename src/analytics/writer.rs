//! The background writer of the search log: searches (and experiment exposures) are queued by
//! [`Analytics::log_search`] and [`Analytics::log_exposure`] (never waited for) and written in
//! batches, one transaction each.
//!
//! [`Analytics::log_search`]: super::Analytics::log_search
//! [`Analytics::log_exposure`]: super::Analytics::log_exposure

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::metrics::counter::Counter;
use tokio::sync::{mpsc, oneshot};

use super::store::{Database, ExposureLog, SearchLog};

/// Searches waiting to be written; more are dropped (and counted) rather than waited for.
pub const QUEUE_CAPACITY: usize = 10_000;
/// The most searches written in one transaction.
pub const MAX_BATCH: usize = 500;
/// How long the writer gathers searches after the first one before writing them.
pub const BATCH_WINDOW: Duration = Duration::from_millis(100);

#[derive(Debug)]
pub(super) enum WriterCommand {
    Log(Box<SearchLog>),
    Expose(Box<ExposureLog>),
    Flush(oneshot::Sender<()>),
}

#[derive(Debug, Clone, Default)]
pub(super) struct Counters {
    /// Searches written.
    pub(super) logged: Counter,
    /// Searches dropped because the queue was full.
    pub(super) dropped: Counter,
    /// Searches lost because their write failed.
    pub(super) failed: Counter,
}

/// The writer: gathers logged searches into batches (up to [`MAX_BATCH`], for at most
/// [`BATCH_WINDOW`] after the first, cut short by a flush) and writes each in one transaction.
/// Stops when every [`Analytics`](super::Analytics) clone is gone, after writing what it still holds.
pub(super) async fn write_searches(
    database: Arc<Database>,
    mut commands: mpsc::Receiver<WriterCommand>,
    counters: Counters,
) {
    let mut received = Vec::with_capacity(MAX_BATCH);
    let mut batch: Vec<Box<SearchLog>> = Vec::with_capacity(MAX_BATCH);
    let mut exposures: Vec<Box<ExposureLog>> = Vec::new();
    let mut flushes = Vec::new();
    while commands.recv_many(&mut received, MAX_BATCH).await > 0 {
        let deadline = tokio::time::Instant::now() + BATCH_WINDOW;
        loop {
            for command in received.drain(..) {
                match command {
                    WriterCommand::Log(entry) => batch.push(entry),
                    WriterCommand::Expose(exposure) => exposures.push(exposure),
                    WriterCommand::Flush(done) => flushes.push(done),
                }
            }
            if batch.len() + exposures.len() >= MAX_BATCH || !flushes.is_empty() {
                break;
            }
            let more = commands.recv_many(&mut received, MAX_BATCH - batch.len() - exposures.len());
            match tokio::time::timeout_at(deadline, more).await {
                Ok(0) | Err(_) => break, // the channel is closed, or the window is over
                Ok(_) => {}
            }
        }
        if !batch.is_empty() || !exposures.is_empty() {
            let count = batch.len() as u64;
            match database.insert_batch(&batch, &exposures).await {
                Ok(()) => counters.logged.inc_by(count),
                Err(error) => {
                    tracing::error!(%error, searches = count, exposures = exposures.len(), "cannot write searches to the analytics database");
                    counters.failed.inc_by(count)
                }
            };
            batch.clear();
            exposures.clear();
        }
        for done in flushes.drain(..) {
            // The flusher may have stopped waiting; nothing to do then.
            let _ = done.send(());
        }
    }
}
