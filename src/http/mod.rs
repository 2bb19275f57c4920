//! The HTTP API (axum). The engine crates know nothing of HTTP; everything about routes,
//! extractors, keys and error statuses lives here, and nothing else does: a handler parses the
//! request, calls the engines and maps their errors ([`error`]).
//!
//! The folder follows the URL tree: [`indexes`] (`/v1/indexes/…`), [`commerce`] (`/v1/carts`,
//! `/v1/checkout`, `/v1/orders`, `/v1/admin/…`), [`keys`] (`/v1/keys`, `/v1/shopper-tokens`),
//! [`health`], [`web`] (the plug-in, the demo storefront, the console). This file holds only the
//! route tables — which action each route needs ([`auth`]), which rate-limit budget it spends
//! ([`limits`]) and how large its body may be — and the layers every request goes through.
//!
//! [`app`] builds the whole service as a `Router`, so tests drive it without opening a socket.

mod auth;
mod blocking;
mod commerce;
mod error;
mod extract;
mod health;
mod indexes;
mod keys;
mod limits;
mod metrics;
mod server;
mod state;
mod unread_body;
mod web;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::{from_fn_with_state, map_response};
use axum::routing::{delete, get, patch, post, put};
use tower::ServiceBuilder;
use tower_http::cors::{AllowOrigin, Any, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnFailure, DefaultOnResponse, TraceLayer};
use tracing::Level;

use self::auth::Needs;
use self::limits::Budget;
use crate::access::Action;

pub use error::{ApiError, ErrorCode, ErrorType};
pub use metrics::HttpMetrics;
pub use state::AppState;

/// The whole HTTP service.
pub fn app(state: AppState) -> Router {
    // Each protected group names the action it needs and the rate-limit budget it spends
    // (docs/security.md has the same table for people).
    let guard = |needs: Needs| from_fn_with_state((state.clone(), needs), auth::guard);
    let query_body = DefaultBodyLimit::max(state.config.max_query_body_bytes);
    let open = Router::new()
        .route("/health", get(health::health))
        .route("/health/live", get(health::liveness))
        .route("/health/ready", get(health::readiness))
        .route("/", get(web::storefront))
        .route("/plugin/vitrine.js", get(web::plugin_script))
        .route("/console", get(web::console_page))
        .route("/console/console.js", get(web::console_script))
        // The payment provider's: signed webhooks (the signature is the credential) and the
        // simulated provider's 3-D Secure page.
        .route("/v1/webhooks/payments/{provider}", post(commerce::webhooks::receive))
        .route(
            "/v1/payments/simulated/authenticate/{id}",
            get(commerce::webhooks::authenticate_page).post(commerce::webhooks::authenticate),
        );
    let reads = Router::new()
        .route("/v1/indexes", get(indexes::list))
        .route("/v1/indexes/{index}", get(indexes::get))
        .route("/v1/indexes/{index}/documents/{id}", get(indexes::documents::get))
        .route_layer(guard(Needs::action(Action::Search)));
    let search = Router::new()
        .route("/v1/indexes/{index}/search", post(indexes::search::search))
        .route("/v1/indexes/{index}/suggest", get(indexes::search::suggest))
        .route(
            "/v1/indexes/{index}/facets/{facet}/values",
            get(indexes::facets::search_get).post(indexes::facets::search_post),
        )
        .route("/v1/indexes/{index}/recommendations", post(indexes::recommendations::recommend))
        .route_layer(guard(Needs::spending(Action::Search, Budget::Search)))
        .layer(query_body);
    let events = Router::new()
        .route("/v1/indexes/{index}/events", post(indexes::events::record))
        .route_layer(guard(Needs::spending(Action::Search, Budget::Events)))
        .layer(DefaultBodyLimit::max(state.config.max_events_body_bytes));
    let carts = Router::new()
        .route("/v1/carts", post(commerce::carts::create))
        .route("/v1/carts/{id}", get(commerce::carts::get))
        .route("/v1/carts/{id}/items", post(commerce::carts::add_item))
        .route(
            "/v1/carts/{id}/items/{product_id}",
            patch(commerce::carts::update_item).delete(commerce::carts::remove_item),
        )
        .route("/v1/carts/{id}/merge", post(commerce::carts::merge))
        .route("/v1/carts/{id}/coupon", put(commerce::carts::put_coupon).delete(commerce::carts::delete_coupon))
        .route("/v1/checkout", post(commerce::checkout::checkout))
        .route("/v1/checkout/{id}", get(commerce::checkout::status))
        .route("/v1/checkout/{id}/confirm", post(commerce::checkout::confirm))
        .route("/v1/orders/{id}", get(commerce::orders::get))
        .route("/v1/orders/{id}/returns", post(commerce::orders::request_return))
        .route_layer(guard(Needs::spending(Action::Carts, Budget::Carts)))
        .layer(query_body);
    let credentials = Router::new()
        .route("/v1/keys/self", get(keys::current))
        .route_layer(guard(Needs::ANY))
        .merge(
            Router::new()
                .route("/v1/shopper-tokens", post(keys::mint_token))
                .route_layer(guard(Needs::action(Action::ShopperTokens))),
        )
        .merge(
            Router::new()
                .route("/v1/keys", post(keys::create).get(keys::list))
                .route("/v1/keys/{id}", get(keys::get).delete(keys::delete))
                .route_layer(guard(Needs::action(Action::Keys))),
        )
        .layer(query_body);
    let documents = Router::new()
        .route("/v1/indexes/{index}/documents", post(indexes::documents::upsert))
        .route("/v1/indexes/{index}/documents/{id}", delete(indexes::documents::delete))
        .route_layer(guard(Needs::action(Action::DocumentsWrite)));
    let operations = Router::new()
        .route("/v1/indexes/{index}", delete(indexes::delete))
        .route_layer(guard(Needs::action(Action::IndexesDelete)))
        .merge(
            Router::new()
                .route("/metrics", get(metrics::expose))
                .route_layer(guard(Needs::action(Action::MetricsRead))),
        )
        .merge(
            Router::new()
                .route("/v1/indexes/{index}/analytics", get(indexes::analytics::report))
                .route_layer(guard(Needs::action(Action::AnalyticsRead))),
        )
        .merge(
            Router::new()
                .route("/v1/indexes/{index}/models", get(indexes::models::list))
                .route("/v1/indexes/{index}/models/{model_id}/activate", post(indexes::models::activate))
                .route_layer(guard(Needs::action(Action::ModelsWrite))),
        );
    let commerce_admin = Router::new()
        .route("/v1/orders/{id}/refunds", post(commerce::orders::refund))
        .route("/v1/admin/orders/{id}/capture", post(commerce::admin::capture))
        .route("/v1/admin/orders/{id}/events", post(commerce::admin::fulfil))
        .route("/v1/admin/orders/{id}/cancel", post(commerce::admin::cancel))
        .route_layer(guard(Needs::action(Action::OrdersAdmin)))
        .merge(
            Router::new()
                .route("/v1/admin/stock/{product_id}", put(commerce::admin::put_stock).get(commerce::admin::get_stock))
                .route("/v1/admin/coupons/{code}", put(commerce::admin::put_coupon))
                .route_layer(guard(Needs::action(Action::CommerceWrite))),
        )
        .layer(query_body);
    let settings = Router::new()
        .route(
            "/v1/indexes/{index}/settings",
            get(indexes::settings::get_settings)
                .put(indexes::settings::put_settings)
                .delete(indexes::settings::reset_settings),
        )
        .route("/v1/indexes/{index}/settings/history", get(indexes::settings::history))
        .route("/v1/indexes/{index}/settings/preview", post(indexes::settings::drafts::preview))
        .route("/v1/indexes/{index}/settings/evaluate", post(indexes::settings::drafts::evaluate_draft))
        .route("/v1/indexes/{index}/settings/history/{version}/restore", post(indexes::settings::restore))
        .route(
            "/v1/indexes/{index}/settings/{part}",
            get(indexes::settings::get_part).put(indexes::settings::put_part).delete(indexes::settings::reset_part),
        )
        .route_layer(guard(Needs::action(Action::SettingsWrite)));

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
        .layer(axum::middleware::from_fn(unread_body::close_unread_bodies))
        .layer(from_fn_with_state(state.metrics.clone(), metrics::record))
        .layer(map_response(error::json_error_bodies))
        .option_layer(cors_layer(&state.config.cors_origins))
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, state.config.request_timeout))
        .layer(DefaultBodyLimit::max(state.config.max_body_bytes));

    open.merge(reads)
        .merge(search)
        .merge(events)
        .merge(carts)
        .merge(credentials)
        .merge(documents)
        .merge(operations)
        .merge(commerce_admin)
        .merge(settings)
        .fallback(error::route_not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .with_state(state)
        .layer(layers)
}

/// Serves [`app`] on `listener` until `shutdown` completes, then finishes the requests in
/// flight.
///
/// # Errors
/// The listener fails.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let router = app(state.clone());
    // The simulated payment provider's webhooks, delivered while the server runs.
    // Aborted when this future ends or is dropped (a benchmark aborts its server task): the
    // deliveries hold the state, so they must not outlive the server.
    let _deliveries = tokio_util::task::AbortOnDropHandle::new(tokio::spawn(commerce::webhooks::deliver_simulated(
        router.clone(),
        state.clone(),
    )));
    server::run(listener, router, &state, shutdown).await
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
                HeaderName::from_static("x-cart-token"),
                HeaderName::from_static("x-order-token"),
                HeaderName::from_static("idempotency-key"),
                HeaderName::from_static("x-vitrine-actor"),
            ])
            .expose_headers([HeaderName::from_static("idempotent-replayed"), axum::http::header::RETRY_AFTER])
            .max_age(std::time::Duration::from_secs(3600)),
    )
}
