//! The HTTP API (axum). The engine crates know nothing of HTTP; everything about routes,
//! extractors, keys and error statuses lives here.
//!
//! [`app`] builds the whole service as a `Router`, so tests drive it without opening a socket.

mod analytics;
mod auth;
mod commerce;
mod console;
mod error;
mod metrics;
mod recommendations;
mod routes;
mod settings;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::{from_fn_with_state, map_response};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tower::ServiceBuilder;
use tower_http::cors::{AllowOrigin, Any, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnFailure, DefaultOnResponse, TraceLayer};
use tracing::Level;
use vitrine_indexer::Catalog;
use vitrine_recommender::serve::ServeParams;

pub use auth::Access;
pub use commerce::{CommerceHandle, Shop};
pub use error::{ApiError, ErrorCode, ErrorType};
pub use metrics::HttpMetrics;

use crate::analytics::Analytics;
use crate::config::ServerConfig;
use crate::recommendations::Recommenders;

/// Everything the handlers share. Cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The resolved server configuration.
    pub config: Arc<ServerConfig>,
    /// The indexes' catalogs.
    pub catalog: Catalog,
    /// Metrics, with the registry components add theirs to.
    pub metrics: Arc<HttpMetrics>,
    /// Search analytics: the search log, shoppers' events, reports.
    pub analytics: Analytics,
    /// The loaded recommendation models.
    pub recommenders: Recommenders,
    /// Carts, checkout and orders (the database opens on first use).
    pub commerce: CommerceHandle,
    ready: Arc<AtomicBool>,
}

impl AppState {
    /// State for a server over `catalog`, with the analytics database of the catalog's data
    /// directory, opened on first use. It reports ready at once; a caller that still has
    /// start-up work to do calls [`AppState::set_ready`]`(false)` first.
    ///
    /// # Panics
    ///
    /// Outside a Tokio runtime (the analytics writer is a Tokio task).
    pub fn new(config: ServerConfig, catalog: Catalog) -> Self {
        let analytics = Analytics::new(&catalog.data_dir().analytics_db());
        AppState::with_analytics(config, catalog, analytics)
    }

    /// State for a server over `catalog` with these analytics (a server opens them with
    /// [`Analytics::open`] first, so that a database it cannot open stops it at start-up).
    pub fn with_analytics(config: ServerConfig, catalog: Catalog, analytics: Analytics) -> Self {
        let metrics = HttpMetrics::default();
        analytics.register_metrics(&mut metrics.registry());
        let recommenders = Recommenders::new(catalog.data_dir().clone(), ServeParams::default());
        let commerce_url = config
            .commerce_db
            .clone()
            .unwrap_or_else(|| format!("sqlite:{}", catalog.data_dir().root().join("commerce.db").display()));
        let commerce = CommerceHandle::new(commerce_url)
            .holding_at_add_to_cart(config.commerce_hold_at_add_to_cart)
            .with_gateway(config.payment_gateway);
        AppState {
            commerce,
            config: Arc::new(config),
            recommenders,
            catalog,
            metrics: Arc::new(metrics),
            analytics,
            ready: Arc::new(AtomicBool::new(true)),
        }
    }

    /// Marks the server ready (or not) to serve traffic; `/health/ready` follows it.
    pub fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::Release);
    }

    /// Whether the server is ready to serve traffic.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }
}

/// The whole HTTP service.
pub fn app(state: AppState) -> Router {
    let keys = state.config.keys.clone();
    let open = Router::new()
        .route("/health", get(routes::health))
        .route("/health/live", get(routes::liveness))
        .route("/health/ready", get(routes::readiness))
        .route("/", get(routes::storefront))
        .route("/plugin/vitrine.js", get(routes::plugin_script))
        .route("/console", get(console::page))
        .route("/console/console.js", get(console::script));
    let search = Router::new()
        .route("/v1/indexes", get(routes::list_indexes))
        .route("/v1/indexes/{index}", get(routes::get_index))
        .route("/v1/indexes/{index}/documents/{id}", get(routes::get_document))
        .route("/v1/indexes/{index}/search", axum::routing::post(routes::search))
        .route("/v1/indexes/{index}/suggest", get(routes::suggest))
        .route("/v1/indexes/{index}/events", axum::routing::post(analytics::record_events))
        .route("/v1/indexes/{index}/recommendations", axum::routing::post(recommendations::recommend))
        .route("/v1/carts", axum::routing::post(commerce::create_cart))
        .route("/v1/carts/{id}", get(commerce::get_cart))
        .route("/v1/carts/{id}/items", axum::routing::post(commerce::add_item))
        .route(
            "/v1/carts/{id}/items/{product_id}",
            axum::routing::patch(commerce::update_item).delete(commerce::remove_item),
        )
        .route("/v1/carts/{id}/merge", axum::routing::post(commerce::merge_cart))
        .route(
            "/v1/carts/{id}/coupon",
            axum::routing::put(commerce::put_cart_coupon).delete(commerce::delete_cart_coupon),
        )
        .route("/v1/checkout", axum::routing::post(commerce::checkout))
        .route("/v1/orders/{id}", get(commerce::get_order))
        .route("/v1/orders/{id}/refunds", axum::routing::post(commerce::refund))
        .route("/v1/orders/{id}/returns", axum::routing::post(commerce::request_return))
        .route_layer(from_fn_with_state(keys.clone(), auth::require_search_key));
    let admin = Router::new()
        .route("/metrics", get(routes::metrics))
        .route("/v1/indexes/{index}", axum::routing::delete(routes::delete_index))
        .route("/v1/indexes/{index}/documents", axum::routing::post(routes::upsert_documents))
        .route("/v1/indexes/{index}/documents/{id}", axum::routing::delete(routes::delete_document))
        .route("/v1/indexes/{index}/analytics", get(analytics::report))
        .route("/v1/indexes/{index}/models", get(recommendations::list_models))
        .route("/v1/admin/stock/{product_id}", axum::routing::put(commerce::put_stock))
        .route("/v1/admin/coupons/{code}", axum::routing::put(commerce::put_coupon))
        .route("/v1/admin/orders/{id}/capture", axum::routing::post(commerce::capture))
        .route("/v1/admin/orders/{id}/events", axum::routing::post(commerce::fulfil))
        .route("/v1/admin/orders/{id}/cancel", axum::routing::post(commerce::cancel))
        .route("/v1/indexes/{index}/models/{model_id}/activate", axum::routing::post(recommendations::activate_model))
        .route(
            "/v1/indexes/{index}/settings",
            get(settings::get_settings).put(settings::put_settings).delete(settings::reset_settings),
        )
        .route("/v1/indexes/{index}/settings/history", get(settings::history))
        .route("/v1/indexes/{index}/settings/preview", axum::routing::post(console::preview))
        .route("/v1/indexes/{index}/settings/evaluate", axum::routing::post(console::evaluate_draft))
        .route("/v1/indexes/{index}/settings/history/{version}/restore", axum::routing::post(settings::restore))
        .route(
            "/v1/indexes/{index}/settings/{part}",
            get(settings::get_part).put(settings::put_part).delete(settings::reset_part),
        )
        .route_layer(from_fn_with_state(keys, auth::require_admin_key));

    let layers = ServiceBuilder::new()
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        // One span per request; responses and failures at DEBUG (`VITRINE_LOG=tower_http=debug`):
        // internal errors are already logged once, at ERROR, where they are turned into answers.
        .layer(
            TraceLayer::new_for_http()
                .on_response(DefaultOnResponse::new().level(Level::DEBUG))
                .on_failure(DefaultOnFailure::new().level(Level::DEBUG)),
        )
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(from_fn_with_state(state.metrics.clone(), metrics::record))
        .layer(map_response(json_error_bodies))
        .option_layer(cors_layer(&state.config.cors_origins))
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, state.config.request_timeout))
        .layer(DefaultBodyLimit::max(state.config.max_body_bytes));

    open.merge(search)
        .merge(admin)
        .fallback(routes::route_not_found)
        .method_not_allowed_fallback(routes::method_not_allowed)
        .with_state(state)
        .layer(layers)
}

/// CORS for storefronts on other origins: none configured means no cross-origin access.
fn cors_layer(origins: &[String]) -> Option<CorsLayer> {
    if origins.is_empty() {
        return None;
    }
    let allow_origin = if origins.iter().any(|origin| origin == "*") {
        AllowOrigin::from(Any)
    } else {
        AllowOrigin::list(origins.iter().filter_map(|origin| HeaderValue::from_str(origin).ok()))
    };
    Some(
        CorsLayer::new()
            .allow_origin(allow_origin)
            .allow_methods([Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE])
            .allow_headers([
                AUTHORIZATION,
                CONTENT_TYPE,
                axum::http::HeaderName::from_static("x-cart-token"),
                axum::http::HeaderName::from_static("idempotency-key"),
                axum::http::HeaderName::from_static("x-vitrine-actor"),
            ])
            .expose_headers([axum::http::HeaderName::from_static("idempotent-replayed")])
            .max_age(std::time::Duration::from_secs(3600)),
    )
}

/// Gives error answers made below our handlers (the timeout and body-limit layers, axum's
/// rejections without our extractor) the `{message, code, type}` body every client expects.
async fn json_error_bodies(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let code = ErrorCode::for_bare_status(status);
    let message = match code {
        ErrorCode::RequestTimeout => "the request took longer than the server's timeout".to_owned(),
        ErrorCode::PayloadTooLarge => "the request body is larger than the server's limit".to_owned(),
        _ => status.canonical_reason().unwrap_or("error").to_owned(),
    };
    let mut answer = ApiError::new(code, message).into_response();
    // Keep the status the layer chose (a 4xx we have no finer code for keeps its number).
    *answer.status_mut() = status;
    answer
}
