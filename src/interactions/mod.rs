//! The interaction log as the server feeds it: what one shopper may add ([`budget`]) and the
//! background writer that turns queued rows into few, compacted Parquet parts ([`writer`]).
//!
//! Shoppers' events that name a shopper become rows of the index's interaction log — the data
//! recommendations are trained on — after passing the budgets. Admitted rows are queued and
//! written by one background task: one Parquet part per index every [`BATCH_WINDOW`] (or
//! [`MAX_BATCH_ROWS`] rows, whichever first), and what is still queued on graceful shutdown
//! ([`InteractionLog::flush`]); past [`vitrine_pipelines::MAX_LOG_PARTS`] parts the log is
//! compacted. Orders' purchases, imports and the demo loader append straight to the log
//! ([`vitrine_pipelines::log_interactions`]): they are the shop's own records, not shoppers' claims.

pub mod budget;
mod writer;

use std::net::IpAddr;
use std::sync::Arc;

use prometheus_client::registry::Registry;
use tokio::sync::{mpsc, oneshot};
use vitrine_models::{DataDir, IndexName, Interaction};

pub use budget::{EventBudgets, EventCaps};
pub use writer::{BATCH_WINDOW, MAX_BATCH_ROWS, QUEUE_CAPACITY};
use writer::{Counters, WriterCommand, write_interactions};

/// The interaction log's budgets and writer, for every index of a data directory. Cheap to
/// clone; the clones share the writer, which stops once the last clone is dropped.
#[derive(Debug, Clone)]
pub struct InteractionLog {
    writer: mpsc::Sender<WriterCommand>,
    budgets: Arc<EventBudgets>,
    counters: Counters,
}

/// The writer has stopped: nothing can be appended any more.
#[derive(Debug, thiserror::Error)]
#[error("the interaction-log writer has stopped")]
pub struct WriterStopped;

impl InteractionLog {
    /// The log of every index in `data_dir`, with these caps on what shoppers may add.
    ///
    /// # Panics
    ///
    /// Outside a Tokio runtime (the writer is a Tokio task).
    pub fn new(data_dir: DataDir, caps: EventCaps) -> Self {
        let (writer, commands) = mpsc::channel(QUEUE_CAPACITY);
        let counters = Counters::default();
        let budgets = Arc::new(EventBudgets::new(caps));
        tokio::spawn(write_interactions(data_dir, commands, counters.clone(), budgets.clone()));
        InteractionLog { writer, budgets, counters }
    }

    /// Adds the interaction log's counters to `registry`.
    pub fn register_metrics(&self, registry: &mut Registry) {
        let counters = &self.counters;
        registry.register("interactions_written", "Rows written to interaction logs", counters.written.clone());
        registry.register(
            "interactions_capped",
            "Shoppers' interactions kept out of interaction logs because a shopper's or client's hourly budget was spent",
            counters.capped.clone(),
        );
        registry.register(
            "interactions_failed",
            "Interaction rows lost because writing them failed or their index was deleted",
            counters.failed.clone(),
        );
        registry.register("interaction_log_parts", "Parquet parts written to interaction logs", counters.parts.clone());
        registry.register(
            "interaction_log_compactions",
            "Compactions that merged interaction-log parts",
            counters.compactions.clone(),
        );
    }

    /// Splits shoppers' `interactions` sent from `client` (when known) to `index` into those the
    /// budgets admit, and how many they kept out (counted in `vitrine_interactions_capped_total`).
    pub fn admit(
        &self,
        index: &IndexName,
        client: Option<IpAddr>,
        interactions: impl IntoIterator<Item = Interaction>,
    ) -> (Vec<Interaction>, u64) {
        let mut capped = 0;
        let admitted = interactions
            .into_iter()
            .filter(|interaction| {
                let admitted = self.budgets.admit(index, client, interaction);
                capped += u64::from(!admitted);
                admitted
            })
            .collect();
        self.counters.capped.inc_by(capped);
        (admitted, capped)
    }

    /// Queues `interactions` for `index`'s log (written within [`BATCH_WINDOW`]); waits only
    /// when the queue is full.
    ///
    /// # Errors
    /// [`WriterStopped`].
    pub async fn append(&self, index: &IndexName, interactions: Vec<Interaction>) -> Result<(), WriterStopped> {
        if interactions.is_empty() {
            return Ok(());
        }
        self.writer.send(WriterCommand::Append(index.clone(), interactions)).await.map_err(|_| WriterStopped)
    }

    /// Returns once every row appended before the call is written (or its write has failed and
    /// been counted). For graceful shutdown, deleting an index, and tests.
    pub async fn flush(&self) {
        let (done, written) = oneshot::channel();
        if self.writer.send(WriterCommand::Flush(done)).await.is_ok() {
            // An error means the writer stopped; there is nothing left to wait for.
            let _ = written.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use vitrine_models::{Actor, InteractionKind, ProductId, UserId};

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn queued_rows_are_written_as_one_part_within_the_batch_window() {
        let dir = tempfile::tempdir().expect("temp dir");
        let data_dir = DataDir::new(dir.path());
        let index = IndexName::new("shop").expect("index");
        std::fs::create_dir_all(data_dir.index(&index)).expect("the index's folder");
        let log = InteractionLog::new(data_dir.clone(), EventCaps::default());
        for n in 0..50 {
            let user = Actor::User(UserId::new(format!("u{n}")).expect("user"));
            let row = Interaction::new(user, ProductId::new("mug").expect("id"), InteractionKind::View, 1, Utc::now())
                .expect("valid");
            log.append(&index, vec![row]).await.expect("queued");
        }
        // No flush: the writer writes what it gathered once its window is over.
        tokio::time::sleep(BATCH_WINDOW * 2).await;
        let folder = data_dir.interactions(&index);
        assert_eq!(vitrine_pipelines::interaction_parts(&folder).expect("parts").len(), 1);
        let rows = vitrine_pipelines::collect_interactions(&folder, |log| log).expect("read").expect("rows");
        assert_eq!(rows.height(), 50);
    }
}
