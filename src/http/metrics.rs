//! Prometheus metrics: request counts and latency histograms per route, and `GET /metrics`
//! (admin key) that exposes them with every component's own.
//!
//! Each [`HttpMetrics`] owns its registry (no global recorder), so every `app()` built in a test
//! has its own counters. Engine crates register their own metrics into [`HttpMetrics::registry`].

use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::http::header::CONTENT_TYPE;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use super::error::ApiError;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: String,
}

fn latency_histogram() -> Histogram {
    // 50 µs to ~13 s: search answers in a couple of milliseconds, imports take seconds.
    Histogram::new(exponential_buckets(0.000_05, 2.0, 18))
}

/// The HTTP server's metrics and the registry every component adds its own to.
#[derive(Debug)]
pub struct HttpMetrics {
    registry: Mutex<Registry>,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram, fn() -> Histogram>,
    /// Connections open now (the server's accept loop keeps it).
    pub(super) open_connections: Gauge,
}

impl Default for HttpMetrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("vitrine");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<RouteLabels, Histogram, fn() -> Histogram>::new_with_constructor(latency_histogram);
        registry.register("http_requests", "HTTP requests answered, by method, route and status", requests.clone());
        registry.register(
            "http_request_duration_seconds",
            "Time to answer an HTTP request, by method and route",
            latency.clone(),
        );
        let open_connections = Gauge::default();
        registry.register(
            "http_open_connections",
            "HTTP connections open now (at most --max-connections)",
            open_connections.clone(),
        );
        HttpMetrics { registry: Mutex::new(registry), requests, latency, open_connections }
    }
}

impl HttpMetrics {
    /// Lets a component register its metrics.
    pub fn registry(&self) -> std::sync::MutexGuard<'_, Registry> {
        self.registry.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The Prometheus text exposition of every registered metric.
    pub fn render(&self) -> Result<String, std::fmt::Error> {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry())?;
        Ok(text)
    }
}

/// The methods HTTP defines, each its own `method` label; any other token a client sends as a
/// method is labelled [`OTHER_METHOD`].
const KNOWN_METHODS: [Method; 9] = [
    Method::GET,
    Method::HEAD,
    Method::POST,
    Method::PUT,
    Method::PATCH,
    Method::DELETE,
    Method::OPTIONS,
    Method::CONNECT,
    Method::TRACE,
];
/// The `method` label of every method outside [`KNOWN_METHODS`].
const OTHER_METHOD: &str = "OTHER";
/// The `route` label of requests no route matched.
const UNMATCHED_ROUTE: &str = "unmatched";

/// Middleware recording each request's count and latency under its route template
/// (`/v1/indexes/{index}`, not the concrete path) and its method. Label sets stay bounded
/// whatever clients send: paths no route has share [`UNMATCHED_ROUTE`], methods HTTP does not
/// define share [`OTHER_METHOD`] (a method is any token, so each would otherwise add series).
pub async fn record(State(metrics): State<Arc<HttpMetrics>>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = match KNOWN_METHODS.contains(request.method()) {
        true => request.method().as_str().to_owned(),
        false => OTHER_METHOD.to_owned(),
    };
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| UNMATCHED_ROUTE.to_owned(), |path| path.as_str().to_owned());
    let response = next.run(request).await;
    let elapsed = started.elapsed().as_secs_f64();
    metrics.latency.get_or_create(&RouteLabels { method: method.clone(), route: route.clone() }).observe(elapsed);
    metrics.requests.get_or_create(&RequestLabels { method, route, status: response.status().as_u16() }).inc();
    response
}

/// `GET /metrics`: Prometheus text format.
#[utoipa::path(get, path = "/metrics", operation_id = "metrics", tag = "operations", responses(
    (status = OK, description = "The server's metrics, Prometheus text format 0.0.4.", content_type = "text/plain", body = String),
))]
pub async fn expose(State(metrics): State<Arc<HttpMetrics>>) -> Result<impl IntoResponse, ApiError> {
    let text = metrics.render().map_err(ApiError::internal)?;
    Ok(([(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text))
}
