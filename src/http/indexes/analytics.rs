//! `GET /v1/indexes/{index}/analytics` (admin key): the index's search analytics — top queries,
//! queries without results, click-through and conversion rates, events by kind (see
//! [`crate::analytics`] for the definitions).

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use serde::Deserialize;
use vitrine_models::IndexName;

use crate::analytics::{AnalyticsReport, ReportParams};
use crate::http::error::{ApiError, ErrorCode};
use crate::http::state::AppState;

/// The longest report window, in days.
pub const MAX_REPORT_DAYS: u32 = 3_650;
/// The longest lists a report may ask for.
pub const MAX_REPORT_LIMIT: u32 = 1_000;

/// The parameters of `GET /v1/indexes/{index}/analytics`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ReportQuery {
    /// Only the last `days` days (default: all time).
    #[param(minimum = 1, maximum = 3650)]
    days: Option<u32>,
    /// Entries per list (default 10).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
}

/// `GET /v1/indexes/{index}/analytics?days=30&limit=10` (admin): top queries, queries without
/// results, click-through and conversion rates, events by kind.
#[utoipa::path(get, path = "/v1/indexes/{index}/analytics", operation_id = "analytics", tag = "analytics", params(("index" = IndexName, Path), ReportQuery),
    responses((status = OK, body = AnalyticsReport)))]
pub async fn report(
    State(state): State<AppState>,
    Path(index): Path<String>,
    params: Result<Query<ReportQuery>, QueryRejection>,
) -> Result<Json<AnalyticsReport>, ApiError> {
    let Query(params) = params?;
    let name = IndexName::new(index)?;
    if params.days.is_some_and(|days| !(1..=MAX_REPORT_DAYS).contains(&days)) {
        return Err(ApiError::new(
            ErrorCode::InvalidParameter,
            format!("`days` must be between 1 and {MAX_REPORT_DAYS}"),
        ));
    }
    let limit = params.limit.unwrap_or(10);
    if !(1..=MAX_REPORT_LIMIT).contains(&limit) {
        return Err(ApiError::new(
            ErrorCode::InvalidParameter,
            format!("`limit` must be between 1 and {MAX_REPORT_LIMIT}"),
        ));
    }
    state.require_index(&name).await?;
    let report = state.analytics.report(&name, &ReportParams { days: params.days, limit }).await?;
    Ok(Json(report))
}
