//! `/health`, `/health/live` and `/health/ready` (no key): for load balancers and orchestrators.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Serialize;

use super::state::AppState;

/// Whether the server is up and ready.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Health {
    /// `available` once ready, `starting` before.
    #[schema(pattern = "^(available|starting)$")]
    status: &'static str,
    /// Always true: the process answers.
    live: bool,
    /// Whether it serves requests (the demo loads its shop first).
    ready: bool,
    /// The server's version.
    version: &'static str,
}

fn health_body(state: &AppState) -> Health {
    let ready = state.is_ready();
    Health {
        status: if ready { "available" } else { "starting" },
        live: true,
        ready,
        version: env!("CARGO_PKG_VERSION"),
    }
}

/// `GET /health`: 200 when ready, 503 while starting; the body says which.
#[utoipa::path(get, path = "/health", operation_id = "health", tag = "health", responses(
    (status = OK, description = "Ready.", body = Health),
    (status = SERVICE_UNAVAILABLE, description = "Starting (the same body, `ready: false`).", body = Health),
))]
pub async fn health(State(state): State<AppState>) -> impl IntoResponse {
    let status = if state.is_ready() { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, Json(health_body(&state)))
}

/// `GET /health/live`: 200 while the process answers at all.
#[utoipa::path(get, path = "/health/live", operation_id = "liveness", tag = "health", responses((status = OK, description = "Alive.", body = Health)))]
pub async fn liveness(State(state): State<AppState>) -> impl IntoResponse {
    Json(health_body(&state))
}

/// `GET /health/ready`: same as `/health`, for orchestrators that probe the two separately.
#[utoipa::path(get, path = "/health/ready", operation_id = "readiness", tag = "health", responses(
    (status = OK, description = "Ready.", body = Health),
    (status = SERVICE_UNAVAILABLE, description = "Starting (the same body, `ready: false`).", body = Health),
))]
pub async fn readiness(state: State<AppState>) -> impl IntoResponse {
    health(state).await
}
