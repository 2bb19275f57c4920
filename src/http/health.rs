//! `/health`, `/health/live` and `/health/ready` (no key): for load balancers and orchestrators.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::{Value, json};

use super::state::AppState;

fn health_body(state: &AppState) -> Value {
    let ready = state.is_ready();
    json!({
        "status": if ready { "available" } else { "starting" },
        "live": true,
        "ready": ready,
        "version": env!("CARGO_PKG_VERSION"),
    })
}

/// `GET /health`: 200 when ready, 503 while starting; the body says which.
pub async fn health(State(state): State<AppState>) -> impl IntoResponse {
    let status = if state.is_ready() { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, Json(health_body(&state)))
}

/// `GET /health/live`: 200 while the process answers at all.
pub async fn liveness(State(state): State<AppState>) -> impl IntoResponse {
    Json(health_body(&state))
}

/// `GET /health/ready`: same as `/health`, for orchestrators that probe the two separately.
pub async fn readiness(state: State<AppState>) -> impl IntoResponse {
    health(state).await
}
