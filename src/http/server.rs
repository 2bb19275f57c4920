//! The accept loop behind [`super::serve`]: HTTP/1.1 connections over hyper, with the limits a
//! public server needs and `axum::serve` does not set.
//!
//! - **Header-read timeout** (`--header-read-timeout-ms`): a client that has not sent a whole
//!   request head this long after its connection opened, or after its previous answer, is
//!   disconnected (no answer: there is no request to answer). Half-sent requests (slowloris) and
//!   keep-alive connections left idle therefore hold a connection for that long at most. Bodies
//!   are bounded by the request timeout layer instead (`--request-timeout-ms`).
//! - **Connection cap** (`--max-connections`): each open connection holds a permit of a
//!   semaphore. At the cap the loop stops accepting until a connection closes: newcomers wait in
//!   the kernel's listen backlog and are served in turn, rather than being reset (a short burst
//!   over the cap costs latency, not errors; the header timeout keeps idle and slow clients from
//!   holding permits for long).
//! - **Graceful shutdown**: once `shutdown` completes the listener is closed, idle connections are
//!   closed, and requests in flight are answered before their connections close.
//! - **The peer's address** is in every request's extensions as axum's
//!   [`ConnectInfo<SocketAddr>`](axum::extract::ConnectInfo), for handlers and middleware that
//!   need the client (rate limits). Requests sent to `app()` without a socket (the tests) have
//!   none.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::http::Request;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use prometheus_client::metrics::gauge::Gauge;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt;

use super::state::AppState;

/// The limits of the accept loop.
#[derive(Debug, Clone, Copy)]
struct ConnectionLimits {
    /// Longest wait for a request head.
    header_read_timeout: Duration,
    /// Most connections open at once.
    max_connections: usize,
}

/// Serves `router` (the whole service, `app(state)`) on `listener` within the limits of
/// `state`'s configuration until `shutdown` completes, then stops accepting and waits for the
/// requests in flight.
///
/// # Errors
/// None today: failures to accept a connection are logged and the loop goes on (as
/// `axum::serve` does); the `Result` keeps [`super::serve`]'s signature.
pub(crate) async fn run(
    listener: TcpListener,
    router: Router,
    state: &AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let limits = ConnectionLimits {
        header_read_timeout: state.config.header_read_timeout,
        max_connections: state.config.max_connections,
    };
    let open_connections = state.metrics.open_connections.clone();
    serve_router(listener, router, limits, open_connections, shutdown).await
}

/// The accept loop: `router` on `listener` within `limits`; `open_connections` follows the
/// number of connections open.
async fn serve_router(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    open_connections: Gauge,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let mut connection = http1::Builder::new();
    connection.timer(TokioTimer::new()).header_read_timeout(limits.header_read_timeout);
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        // A free slot first: at the cap, nothing is accepted until a connection closes.
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => permit.expect("the semaphore is never closed"),
            () = shutdown.as_mut() => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    pause_after_accept_error(&error).await;
                    continue;
                }
            },
            () = shutdown.as_mut() => break,
        };
        // Answers are written whole; Nagle's algorithm would only delay the last segment.
        stream.set_nodelay(true).ok();
        let service = router.clone().map_request(move |mut request: Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            request
        });
        let served =
            graceful.watch(connection.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service)));
        let open_connections = open_connections.clone();
        open_connections.inc();
        tokio::spawn(async move {
            if let Err(error) = served.await {
                // Header timeouts, resets and malformed requests: the client's doing, not ours.
                tracing::debug!(%peer, %error, "connection closed with an error");
            }
            open_connections.dec();
            drop(permit);
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// After a failed `accept`: nothing for errors of that one connection; a second's pause for the
/// others (out of file descriptors, …), which would otherwise spin.
async fn pause_after_accept_error(error: &std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(error.kind(), ConnectionAborted | ConnectionRefused | ConnectionReset) {
        return;
    }
    tracing::error!(%error, "cannot accept a connection; retrying in a second");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use axum::routing::get;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    #[tokio::test]
    async fn handlers_see_the_peer_address() {
        let router = Router::new()
            .route("/peer", get(|ConnectInfo(peer): ConnectInfo<SocketAddr>| async move { peer.to_string() }));
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        let limits = ConnectionLimits { header_read_timeout: Duration::from_secs(5), max_connections: 4 };
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let served = tokio::spawn(serve_router(listener, router, limits, Gauge::default(), async move {
            stopped.await.ok();
        }));

        let mut client = tokio::net::TcpStream::connect(address).await.expect("connect");
        let client_address = client.local_addr().expect("client address");
        client.write_all(b"GET /peer HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n").await.expect("write");
        let mut answer = String::new();
        client.read_to_string(&mut answer).await.expect("read");
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(answer.ends_with(&client_address.to_string()), "{answer}");

        stop.send(()).expect("running");
        served.await.expect("join").expect("served");
    }
}
