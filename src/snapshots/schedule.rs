//! Scheduled snapshots: one every interval while a server runs (`--snapshot-interval`), the
//! oldest deleted past `--snapshot-keep` once a new one is whole.

use std::path::PathBuf;
use std::time::Duration;

use indicatif::ProgressBar;
use tokio::task::JoinHandle;
use vitrine_models::DataDir;

use super::create::create_snapshot;
use super::listing::prune_snapshots;
use super::manifest::CommerceSource;

/// When and where scheduled snapshots are written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotSchedule {
    /// Time between two snapshots (the first comes one interval after the start).
    pub interval: Duration,
    /// How many to keep (the newest); `None`: all.
    pub keep: Option<usize>,
    /// Their folder.
    pub folder: PathBuf,
}

/// Starts the scheduled snapshots of `data_dir` (a Tokio task; abort it to stop them). A failed
/// snapshot is logged and the next one comes at the next interval.
pub fn schedule(data_dir: DataDir, commerce: CommerceSource, plan: SnapshotSchedule) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(plan.interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticks.tick().await;
        loop {
            ticks.tick().await;
            match create_snapshot(&data_dir, &commerce, &plan.folder, &ProgressBar::hidden()).await {
                Ok(report) => {
                    tracing::info!(
                        archive = %report.archive.display(),
                        bytes = report.archive_bytes,
                        seconds = report.seconds,
                        "scheduled snapshot written"
                    );
                    if let Some(keep) = plan.keep {
                        match prune_snapshots(&plan.folder, keep) {
                            Ok(deleted) if !deleted.is_empty() => {
                                tracing::info!(deleted = deleted.len(), keep, "old snapshots deleted");
                            }
                            Ok(_) => {}
                            Err(error) => tracing::error!(%error, "old snapshots could not be deleted"),
                        }
                    }
                }
                Err(error) => tracing::error!(%error, "scheduled snapshot failed"),
            }
        }
    })
}
