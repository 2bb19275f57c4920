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

mod aliases;
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
mod openapi;
mod server;
mod snapshots;
mod state;
mod unread_body;
mod web;

use std::sync::OnceLock;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::{from_fn_with_state, map_response};
use tower::ServiceBuilder;
use tower_http::cors::{AllowOrigin, Any, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnFailure, DefaultOnResponse, TraceLayer};
use tracing::Level;
use utoipa_axum::routes;

use self::auth::Needs;
use self::limits::Budget;
use self::openapi::ApiRouter;
use crate::access::Action;
use crate::config::ServerConfig;

pub use error::{ApiError, ErrorCode, ErrorType};
pub use metrics::HttpMetrics;
pub use state::AppState;

/// The whole HTTP service.
pub fn app(state: AppState) -> Router {
    let routes: Router<AppState> = api(Some(&state)).into();
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

    let alias_table = state.aliases.clone();
    let routed = routes
        .fallback(error::route_not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .with_state(state)
        .layer(layers);
    // Aliases are resolved before routing (a layer of the routes themselves runs after it).
    Router::new().fallback_service(routed).layer(from_fn_with_state(alias_table, aliases::resolve))
}

/// The OpenAPI document of [`app`] (`GET /openapi.json`), as `docs/openapi.json` holds it.
pub fn openapi_document() -> serde_json::Value {
    openapi::finish(api(None).into_openapi())
}

/// `GET /openapi.json`: this document (built once, on first request).
#[utoipa::path(get, path = "/openapi.json", operation_id = "openapiDocument", tag = "pages", responses(
    (status = OK, description = "The API's OpenAPI 3.1 document (this document).", content_type = "application/json", body = Object),
))]
async fn openapi_json() -> axum::Json<serde_json::Value> {
    static DOCUMENT: OnceLock<serde_json::Value> = OnceLock::new();
    axum::Json(DOCUMENT.get_or_init(openapi_document).clone())
}

/// Every route with its description, each group behind its guard — the guards only with the
/// `state` they check against (without one, the routes are built for their description alone).
/// Each group names the action it needs and the rate-limit budget it spends (docs/security.md
/// has the same table for people).
fn api(state: Option<&AppState>) -> ApiRouter {
    let guard = |router: ApiRouter, needs: Needs| {
        let router = openapi::require(router, needs);
        match state {
            Some(state) => router.route_layer(from_fn_with_state((state.clone(), needs), auth::guard)),
            None => router,
        }
    };
    let config = state.map_or_else(ServerConfig::default, |state| ServerConfig::clone(&state.config));
    let query_body = DefaultBodyLimit::max(config.max_query_body_bytes);
    let open = ApiRouter::new()
        .routes(routes!(health::health))
        .routes(routes!(health::liveness))
        .routes(routes!(health::readiness))
        .routes(routes!(web::storefront))
        .routes(routes!(web::plugin_script))
        .routes(routes!(web::console_page))
        .routes(routes!(web::console_script))
        .routes(routes!(web::api_reference))
        .routes(routes!(web::api_reference_script))
        .routes(routes!(openapi_json))
        // The payment provider's: signed webhooks (the signature is the credential) and the
        // simulated provider's 3-D Secure page.
        .routes(routes!(commerce::webhooks::receive))
        .routes(routes!(commerce::webhooks::authenticate_page, commerce::webhooks::authenticate));
    let reads = ApiRouter::new()
        .routes(routes!(indexes::list))
        .routes(routes!(indexes::get))
        .routes(routes!(indexes::documents::get));
    let search = ApiRouter::new()
        .routes(routes!(indexes::search::search))
        .routes(routes!(indexes::search::suggest))
        .routes(routes!(indexes::facets::search_get, indexes::facets::search_post))
        .routes(routes!(indexes::recommendations::recommend));
    let events = ApiRouter::new().routes(routes!(indexes::events::record));
    let carts = ApiRouter::new()
        .routes(routes!(commerce::carts::create))
        .routes(routes!(commerce::carts::get))
        .routes(routes!(commerce::carts::add_item))
        .routes(routes!(commerce::carts::update_item, commerce::carts::remove_item))
        .routes(routes!(commerce::carts::merge))
        .routes(routes!(commerce::carts::put_coupon, commerce::carts::delete_coupon))
        .routes(routes!(commerce::checkout::checkout))
        .routes(routes!(commerce::checkout::status))
        .routes(routes!(commerce::checkout::confirm))
        .routes(routes!(commerce::orders::get))
        .routes(routes!(commerce::orders::request_return));
    let commerce_admin = guard(
        ApiRouter::new()
            .routes(routes!(commerce::orders::refund))
            .routes(routes!(commerce::admin::capture))
            .routes(routes!(commerce::admin::fulfil))
            .routes(routes!(commerce::admin::cancel)),
        Needs::action(Action::OrdersAdmin),
    )
    .merge(guard(
        ApiRouter::new()
            .routes(routes!(commerce::admin::put_stock, commerce::admin::get_stock))
            .routes(routes!(commerce::admin::put_coupon)),
        Needs::action(Action::CommerceWrite),
    ));
    let credentials = guard(ApiRouter::new().routes(routes!(keys::current)), Needs::ANY)
        .merge(guard(ApiRouter::new().routes(routes!(keys::mint_token)), Needs::action(Action::ShopperTokens)))
        .merge(guard(
            ApiRouter::new().routes(routes!(keys::create, keys::list)).routes(routes!(keys::get, keys::delete)),
            Needs::action(Action::Keys),
        ));
    let documents =
        ApiRouter::new().routes(routes!(indexes::documents::upsert)).routes(routes!(indexes::documents::delete));
    let operations = guard(ApiRouter::new().routes(routes!(indexes::delete)), Needs::action(Action::IndexesDelete))
        .merge(guard(ApiRouter::new().routes(routes!(metrics::expose)), Needs::action(Action::MetricsRead)))
        .merge(guard(
            ApiRouter::new().routes(routes!(indexes::analytics::report)),
            Needs::action(Action::AnalyticsRead),
        ))
        .merge(guard(
            ApiRouter::new().routes(routes!(indexes::models::list)).routes(routes!(indexes::models::activate)),
            Needs::action(Action::ModelsWrite),
        ))
        .merge(guard(
            ApiRouter::new().routes(routes!(snapshots::create, snapshots::list)),
            Needs::action(Action::Snapshots),
        ))
        .merge(guard(
            ApiRouter::new().routes(routes!(aliases::list)).routes(routes!(
                aliases::put,
                aliases::get,
                aliases::delete
            )),
            Needs::action(Action::AliasesWrite),
        ));
    let settings = ApiRouter::new()
        .routes(routes!(
            indexes::settings::get_settings,
            indexes::settings::put_settings,
            indexes::settings::reset_settings
        ))
        .routes(routes!(indexes::settings::history))
        .routes(routes!(indexes::settings::drafts::preview))
        .routes(routes!(indexes::settings::drafts::evaluate_draft))
        .routes(routes!(indexes::settings::restore))
        .routes(routes!(indexes::settings::get_part, indexes::settings::put_part, indexes::settings::reset_part))
        .routes(routes!(indexes::experiments::create, indexes::experiments::list))
        .routes(routes!(indexes::experiments::get))
        .routes(routes!(indexes::experiments::stop))
        .routes(routes!(indexes::experiments::promote));

    open.merge(guard(reads, Needs::action(Action::Search)))
        .merge(guard(search, Needs::spending(Action::Search, Budget::Search)).layer(query_body))
        .merge(
            guard(events, Needs::spending(Action::Search, Budget::Events))
                .layer(DefaultBodyLimit::max(config.max_events_body_bytes)),
        )
        .merge(guard(carts, Needs::spending(Action::Carts, Budget::Carts)).layer(query_body))
        .merge(credentials.layer(query_body))
        .merge(guard(documents, Needs::action(Action::DocumentsWrite)))
        .merge(operations)
        .merge(commerce_admin.layer(query_body))
        .merge(guard(settings, Needs::action(Action::SettingsWrite)))
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
