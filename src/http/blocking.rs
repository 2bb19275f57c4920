//! Blocking engine work (tantivy searches and commits, model loads, Parquet appends) runs on
//! Tokio's blocking pool, never on the async workers.
//!
//! Work is refused up front when its request is gone. A request that times out (408) or whose
//! client hangs up drops its handler's future, but a closure already handed to the blocking pool
//! would still run — queued behind others when the pool is busy, which is exactly when it should
//! not. So the waiting future holds a guard that raises a [`RequestGone`] flag when it is dropped;
//! the closure checks the flag when it starts and skips itself if it is up. Long computations
//! take the flag too ([`blocking_until_gone`]) and check it between their steps.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::error::{ApiError, ErrorCode};

/// Raised once nobody waits for the work any more (its request timed out or its client left).
#[derive(Debug, Clone, Default)]
pub(crate) struct RequestGone(Arc<AtomicBool>);

impl RequestGone {
    /// Whether the request is gone: the work's result would be thrown away.
    pub(crate) fn is_gone(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// Raises the flag when the future awaiting the work is dropped (whether it finished or not: once
/// it has finished, nothing checks the flag any more).
struct RaiseOnDrop(RequestGone);

impl Drop for RaiseOnDrop {
    fn drop(&mut self) {
        (self.0).0.store(true, Ordering::Relaxed);
    }
}

/// Runs `work` on the blocking pool and waits for it; `work` does not run if the request is gone
/// before it starts.
pub(crate) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    blocking_until_gone(move |_| work()).await
}

/// As [`blocking`], handing `work` the [`RequestGone`] flag to check between its steps.
pub(crate) async fn blocking_until_gone<T: Send + 'static>(
    work: impl FnOnce(&RequestGone) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let gone = RequestGone::default();
    let _raise_on_drop = RaiseOnDrop(gone.clone());
    tokio::task::spawn_blocking(move || {
        if gone.is_gone() {
            // Nobody will read this answer; it only ends the task.
            return Err(ApiError::new(ErrorCode::RequestTimeout, "the request was gone before its work started"));
        }
        work(&gone)
    })
    .await
    .map_err(ApiError::internal)?
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;
    use std::time::Duration;

    use super::*;

    /// A runtime with this many blocking threads (one: work can be made to queue).
    fn runtime(blocking_threads: usize) -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .max_blocking_threads(blocking_threads)
            .enable_time()
            .build()
            .expect("runtime")
    }

    #[test]
    fn queued_work_whose_request_is_gone_never_runs() {
        runtime(1).block_on(async {
            // The only blocking thread is busy until `release` is sent.
            let (release, wait) = mpsc::channel::<()>();
            let busy = tokio::task::spawn_blocking(move || wait.recv().ok());
            let ran = Arc::new(AtomicBool::new(false));
            let work = {
                let ran = ran.clone();
                blocking(move || {
                    ran.store(true, Ordering::SeqCst);
                    Ok(())
                })
            };
            // The request times out while its work is queued: its future is dropped.
            let timed_out = tokio::time::timeout(Duration::from_millis(50), work).await;
            assert!(timed_out.is_err(), "the work cannot have run: the pool is busy");
            release.send(()).expect("release the pool");
            busy.await.expect("busy task");
            // The pool is free: a task queued after the dropped one has run, so that one has too.
            blocking(|| Ok(())).await.expect("later work runs");
            assert!(!ran.load(Ordering::SeqCst), "work of a request that is gone must not start");
        });
    }

    #[test]
    fn running_work_sees_its_request_go() {
        // The work holds one thread; the test waits for it on others.
        runtime(4).block_on(async {
            let (started, on_start) = mpsc::channel::<()>();
            let (observed, on_observed) = mpsc::channel::<bool>();
            let work = blocking_until_gone(move |gone| {
                started.send(()).ok();
                // A long computation checking between its steps.
                for _ in 0..500 {
                    if gone.is_gone() {
                        observed.send(true).ok();
                        return Ok(());
                    }
                    std::thread::sleep(Duration::from_millis(10));
                }
                observed.send(false).ok();
                Ok(())
            });
            let waiting = tokio::spawn(work);
            tokio::task::spawn_blocking(move || on_start.recv()).await.expect("join").expect("work started");
            waiting.abort();
            let saw_it = tokio::task::spawn_blocking(move || on_observed.recv()).await.expect("join");
            assert_eq!(saw_it, Ok(true), "the computation stops early once its request is gone");
        });
    }

    #[test]
    fn work_runs_and_answers_while_its_request_waits() {
        runtime(1).block_on(async {
            assert_eq!(blocking(|| Ok(41 + 1)).await.expect("answer"), 42);
            let gone_while_waiting = blocking_until_gone(|gone| Ok(gone.is_gone())).await.expect("answer");
            assert!(!gone_while_waiting);
        });
    }
}
