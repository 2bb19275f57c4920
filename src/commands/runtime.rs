//! The async runtime and the shutdown signal the long-running commands share.

use anyhow::Context;

/// A multi-threaded Tokio runtime.
pub(super) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start the async runtime")
}

/// Listens for Ctrl-C and SIGTERM from this call on; the future completes on either. Call it
/// before telling anyone the process is ready: until a handler is installed, SIGTERM's default
/// action ends the process at once, without the graceful shutdown (a supervisor that sends it as
/// soon as the server says it listens would otherwise race the handler). Must be called inside
/// the runtime.
#[cfg(unix)]
pub(super) fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    use tokio::signal::unix::{Signal, SignalKind, signal};

    async fn received(signal: std::io::Result<Signal>, name: &'static str) {
        match signal {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for {name}");
                std::future::pending::<()>().await;
            }
        }
    }
    let (interrupt, terminate) = (signal(SignalKind::interrupt()), signal(SignalKind::terminate()));
    async move {
        tokio::select! {
            () = received(interrupt, "Ctrl-C") => {}
            () = received(terminate, "SIGTERM") => {}
        }
        tracing::info!("shutting down");
    }
}

/// Completes on Ctrl-C.
#[cfg(not(unix))]
pub(super) fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
        tracing::info!("shutting down");
    }
}
