//! What the indexer's threads and its handle share: the stop and running flags, the metrics,
//! the positions for the lag monitor, and the retry backoff that a stop cuts short.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::config::MAX_BACKOFF;
use super::metrics::Metrics;

/// What the indexer thread and its handle share.
#[derive(Debug)]
pub(super) struct Shared {
    pub(super) metrics: Metrics,
    pub(super) stop: AtomicBool,
    pub(super) running: AtomicBool,
    pub(super) ended: AtomicBool,
    /// Per partition, the next offset to apply, once known (for the lag).
    pub(super) positions: Mutex<BTreeMap<i32, i64>>,
    /// The topic's partitions as the monitor last saw them, for the indexer to assign.
    pub(super) discovered: Mutex<Option<Vec<i32>>>,
}

impl Shared {
    pub(super) fn stopping(&self) -> bool {
        self.stop.load(Ordering::Acquire)
    }
}

/// Exponential pauses between retries, cut short by a stop.
#[derive(Debug)]
pub(super) struct Backoff {
    next: Duration,
}

impl Backoff {
    const FIRST: Duration = Duration::from_millis(100);

    pub(super) fn new() -> Self {
        Backoff { next: Self::FIRST }
    }

    pub(super) fn reset(&mut self) {
        self.next = Self::FIRST;
    }

    /// Sleeps for the next pause; false when a stop was requested (at once or meanwhile).
    pub(super) fn sleep(&mut self, shared: &Shared) -> bool {
        let until = Instant::now() + self.next;
        self.next = (self.next * 2).min(MAX_BACKOFF);
        while !shared.stopping() {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return true;
            }
            std::thread::sleep(left.min(Duration::from_millis(50)));
        }
        false
    }
}
