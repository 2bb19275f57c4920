//! The background writer of the interaction log: rows queued by
//! [`InteractionLog::append`](super::InteractionLog::append) are written in batches, one Parquet
//! part per index per batch, and the log is compacted once it has more than
//! [`MAX_LOG_PARTS`] parts. Follows the search log's writer (`analytics/writer.rs`).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use prometheus_client::metrics::counter::Counter;
use tokio::sync::{mpsc, oneshot};
use vitrine_models::{DataDir, IndexName, Interaction};
use vitrine_pipelines::MAX_LOG_PARTS;

use super::budget::EventBudgets;

/// Appends waiting to be written; an append waits for room when the queue is full.
pub const QUEUE_CAPACITY: usize = 256;
/// The most rows one batch gathers before it is written.
pub const MAX_BATCH_ROWS: usize = 10_000;
/// How long the writer gathers rows after the first one before writing them.
pub const BATCH_WINDOW: Duration = Duration::from_secs(1);
/// How often, at most, the budgets forget idle shoppers.
const FORGET_IDLE_EVERY: Duration = Duration::from_secs(60);

#[derive(Debug)]
pub(super) enum WriterCommand {
    Append(IndexName, Vec<Interaction>),
    Flush(oneshot::Sender<()>),
}

#[derive(Debug, Clone, Default)]
pub(super) struct Counters {
    /// Rows written to the log.
    pub(super) written: Counter,
    /// Rows kept out of the log by the budgets.
    pub(super) capped: Counter,
    /// Rows lost because their write failed (or their index was deleted meanwhile).
    pub(super) failed: Counter,
    /// Parquet parts written.
    pub(super) parts: Counter,
    /// Compactions that merged parts.
    pub(super) compactions: Counter,
}

/// The writer: gathers appended rows into batches (up to [`MAX_BATCH_ROWS`], for at most
/// [`BATCH_WINDOW`] after the first, cut short by a flush), writes each index's rows of a batch as
/// one part and compacts the log past [`MAX_LOG_PARTS`] parts. Stops when every
/// [`InteractionLog`](super::InteractionLog) clone is gone, after writing what it still holds.
pub(super) async fn write_interactions(
    data_dir: DataDir,
    mut commands: mpsc::Receiver<WriterCommand>,
    counters: Counters,
    budgets: Arc<EventBudgets>,
) {
    let mut received = Vec::new();
    let mut batch: BTreeMap<IndexName, Vec<Interaction>> = BTreeMap::new();
    let mut rows = 0;
    let mut flushes = Vec::new();
    let mut forgotten = tokio::time::Instant::now();
    while commands.recv_many(&mut received, QUEUE_CAPACITY).await > 0 {
        let deadline = tokio::time::Instant::now() + BATCH_WINDOW;
        loop {
            for command in received.drain(..) {
                match command {
                    WriterCommand::Append(index, interactions) => {
                        rows += interactions.len();
                        batch.entry(index).or_default().extend(interactions);
                    }
                    WriterCommand::Flush(done) => flushes.push(done),
                }
            }
            if rows >= MAX_BATCH_ROWS || !flushes.is_empty() {
                break;
            }
            match tokio::time::timeout_at(deadline, commands.recv_many(&mut received, QUEUE_CAPACITY)).await {
                Ok(0) | Err(_) => break, // the channel is closed, or the window is over
                Ok(_) => {}
            }
        }
        if !batch.is_empty() {
            let (data_dir, counters) = (data_dir.clone(), counters.clone());
            let written = std::mem::take(&mut batch);
            let task = tokio::task::spawn_blocking(move || write_batch(&data_dir, written, &counters));
            if let Err(error) = task.await {
                tracing::error!(%error, "the interaction-log writer's task failed");
            }
            rows = 0;
        }
        if forgotten.elapsed() >= FORGET_IDLE_EVERY {
            let budgets = budgets.clone();
            let _ = tokio::task::spawn_blocking(move || budgets.forget_idle()).await;
            forgotten = tokio::time::Instant::now();
        }
        for done in flushes.drain(..) {
            // The flusher may have stopped waiting; nothing to do then.
            let _ = done.send(());
        }
    }
}

/// Writes each index's rows as one part, then compacts its log when it has too many parts.
fn write_batch(data_dir: &DataDir, batch: BTreeMap<IndexName, Vec<Interaction>>, counters: &Counters) {
    for (index, rows) in batch {
        let count = rows.len() as u64;
        if !data_dir.index(&index).exists() {
            // Deleted since: writing would bring back a folder of an index that is gone.
            tracing::warn!(%index, rows = count, "interactions of a deleted index dropped");
            counters.failed.inc_by(count);
            continue;
        }
        match vitrine_pipelines::log_interactions(data_dir, &index, &rows) {
            Ok(_) => {
                counters.written.inc_by(count);
                counters.parts.inc();
            }
            Err(error) => {
                tracing::error!(%error, %index, rows = count, "cannot write interactions to the interaction log");
                counters.failed.inc_by(count);
                continue;
            }
        }
        match vitrine_pipelines::compact_interactions(&data_dir.interactions(&index), MAX_LOG_PARTS) {
            Ok(report) if report.merged_parts > 0 => {
                counters.compactions.inc();
                tracing::debug!(%index, parts = report.merged_parts, rows = report.rows, "interaction log compacted");
            }
            Ok(_) => {}
            // The rows are safe in their parts; the next batch tries again.
            Err(error) => tracing::error!(%error, %index, "cannot compact the interaction log"),
        }
    }
}
