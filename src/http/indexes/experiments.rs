//! `/v1/indexes/{index}/experiments…` (the `settings.write` action): online experiments — A/B
//! tests and team-draft interleaving of search settings (the live ones or drafts) and of
//! recommendation model versions, on real shoppers (docs/experiments.md). At most one runs per
//! index and surface (the search, each recommendation kind). Results are computed when asked
//! for; promoting a variant publishes its settings as a new settings version (the audit log
//! says which experiment) or activates its model version, and stops the experiment.

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::Utc;
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use vitrine_models::IndexName;

use crate::analytics::{ExperimentStatus, StoredExperiment};
use crate::experiments::definition::{ExperimentSpec, Priors, Surface};
use crate::experiments::results::{ExperimentResults, ExperimentView, compute};
use crate::http::blocking::blocking;
use crate::http::error::{ApiError, ErrorCode};
use crate::http::extract::{ApiJson, ChangeAuthor};
use crate::http::state::AppState;

/// How far back the index's own rates are read for a new experiment's priors.
const BASELINE_DAYS: i64 = 30;

fn invalid(reason: impl std::fmt::Display) -> ApiError {
    ApiError::new(ErrorCode::InvalidExperiment, reason.to_string())
}

/// The experiments of an index.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ExperimentList {
    /// Newest first.
    results: Vec<ExperimentView>,
}

/// The body of `POST …/experiments/{id}/promote`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PromoteRequest {
    /// The variant whose settings (or model version) go live.
    variant: String,
}

/// What a promotion did.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Promotion {
    /// The variant promoted.
    variant: String,
    /// The settings version it published (none when the variant already had the live settings).
    settings_version: Option<u64>,
    /// The model version it activated (none when the variant recommended with the current one).
    model_version: Option<String>,
    /// The experiment, stopped, with its final results.
    experiment: ExperimentResults,
}

/// The experiment `id` of `index`, or `experiment_not_found`.
async fn stored(state: &AppState, index: &IndexName, id: &str) -> Result<StoredExperiment, ApiError> {
    let not_found =
        || ApiError::new(ErrorCode::ExperimentNotFound, format!("index `{index}` has no experiment `{id}`"));
    let id = Uuid::parse_str(id).map_err(|_| not_found())?;
    state.analytics.experiment(index, id).await?.ok_or_else(not_found)
}

/// The results of `experiment`, as of now.
async fn results_of(state: &AppState, experiment: StoredExperiment) -> Result<ExperimentResults, ApiError> {
    let now = Utc::now();
    let data = state.analytics.experiment_data(&experiment, now).await?;
    blocking(move || Ok(compute(&experiment, &data, now))).await
}

/// Checks what only the engines can: drafts against the index, model versions against its store.
fn check_against_index(state: &AppState, name: &IndexName, spec: &ExperimentSpec) -> Result<(), ApiError> {
    let index = state.catalog.get(name)?;
    if spec.surface == Surface::Search {
        for variant in &spec.variants {
            variant.draft_over(&index).map_err(|reason| invalid(format!("variant `{}`: {reason}", variant.name)))?;
        }
        return Ok(());
    }
    let store = state.recommenders.store(name);
    let versions: Vec<String> = store.versions()?.into_iter().map(|manifest| manifest.model_id).collect();
    if versions.is_empty() {
        return Err(super::recommendations::not_trained(name));
    }
    for variant in &spec.variants {
        if let Some(version) = &variant.model_version
            && !versions.contains(version)
        {
            return Err(invalid(format!(
                "variant `{}`: `{name}` has no model version `{version}` (GET /v1/indexes/{name}/models lists them)",
                variant.name
            )));
        }
    }
    Ok(())
}

/// `POST /v1/indexes/{index}/experiments`: starts an experiment.
#[utoipa::path(post, path = "/v1/indexes/{index}/experiments", operation_id = "createExperiment", tag = "experiments", params(("index" = IndexName, Path)),
    request_body = ExperimentSpec,
    responses((status = CREATED, body = ExperimentResults),
        (status = BAD_REQUEST, description = "`invalid_experiment`: the definition, a draft or a model version is not valid."),
        (status = CONFLICT, description = "`experiment_already_running` on this index and surface; `model_not_trained`.")))]
pub async fn create(
    State(state): State<AppState>,
    Path(index): Path<String>,
    body: Result<ApiJson<ExperimentSpec>, ApiError>,
) -> Result<(StatusCode, Json<ExperimentResults>), ApiError> {
    let name = IndexName::new(index)?;
    let ApiJson(spec) = body.map_err(|error| match error.code {
        ErrorCode::MalformedPayload => invalid(error.message),
        _ => error,
    })?;
    spec.check().map_err(invalid)?;
    let (checking, checked_name, checked_spec) = (state.clone(), name.clone(), spec.clone());
    blocking(move || check_against_index(&checking, &checked_name, &checked_spec)).await?;
    let now = Utc::now();
    let baselines = state.analytics.baselines(&name, now, BASELINE_DAYS).await?;
    let experiment = StoredExperiment {
        id: Uuid::now_v7(),
        index: name.clone(),
        spec,
        status: ExperimentStatus::Running,
        created_at: now,
        stopped_at: None,
        promoted: None,
        priors: Priors::from_baselines(baselines.searches, baselines.rates, baselines.revenue_per_search),
    };
    if !state.analytics.create_experiment(&experiment).await? {
        return Err(ApiError::new(
            ErrorCode::ExperimentAlreadyRunning,
            format!(
                "an experiment already runs on `{name}`'s {} surface: stop it first",
                experiment.spec.surface.as_str()
            ),
        ));
    }
    state.experiments.started(experiment.clone()).await;
    Ok((StatusCode::CREATED, Json(results_of(&state, experiment).await?)))
}

/// `GET /v1/indexes/{index}/experiments`: every experiment of the index, newest first.
#[utoipa::path(get, path = "/v1/indexes/{index}/experiments", operation_id = "listExperiments", tag = "experiments", params(("index" = IndexName, Path)),
    responses((status = OK, body = ExperimentList)))]
pub async fn list(State(state): State<AppState>, Path(index): Path<String>) -> Result<Json<ExperimentList>, ApiError> {
    let name = IndexName::new(index)?;
    state.require_index(&name).await?;
    let stored = state.analytics.experiments(&name).await?;
    Ok(Json(ExperimentList { results: stored.iter().map(ExperimentView::of).collect() }))
}

/// `GET /v1/indexes/{index}/experiments/{id}`: the experiment with its results as of now.
#[utoipa::path(get, path = "/v1/indexes/{index}/experiments/{id}", operation_id = "getExperiment", tag = "experiments",
    params(("index" = IndexName, Path), ("id" = String, Path, description = "The experiment's id.")),
    responses((status = OK, body = ExperimentResults), (status = NOT_FOUND, description = "`experiment_not_found`.")))]
pub async fn get(
    State(state): State<AppState>,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<Json<ExperimentResults>, ApiError> {
    let Path((index, id)) = path?;
    let name = IndexName::new(index)?;
    let experiment = stored(&state, &name, &id).await?;
    Ok(Json(results_of(&state, experiment).await?))
}

/// `POST /v1/indexes/{index}/experiments/{id}/stop`: shoppers see the live settings again; the
/// results stay.
#[utoipa::path(post, path = "/v1/indexes/{index}/experiments/{id}/stop", operation_id = "stopExperiment", tag = "experiments",
    params(("index" = IndexName, Path), ("id" = String, Path, description = "The experiment's id.")),
    responses((status = OK, body = ExperimentResults), (status = NOT_FOUND, description = "`experiment_not_found`."),
        (status = CONFLICT, description = "`invalid_experiment_state`: it is not running.")))]
pub async fn stop(
    State(state): State<AppState>,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<Json<ExperimentResults>, ApiError> {
    let Path((index, id)) = path?;
    let name = IndexName::new(index)?;
    let experiment = stored(&state, &name, &id).await?;
    if !state.analytics.stop_experiment(experiment.id, Utc::now(), None).await? {
        return Err(ApiError::new(ErrorCode::InvalidExperimentState, format!("experiment `{id}` is not running")));
    }
    state.experiments.stopped(experiment.id);
    let experiment = stored(&state, &name, &id).await?;
    Ok(Json(results_of(&state, experiment).await?))
}

/// `POST /v1/indexes/{index}/experiments/{id}/promote`: publishes the variant — its settings as
/// a new settings version (the history names the experiment), or activates its model version —
/// and stops the experiment.
#[utoipa::path(post, path = "/v1/indexes/{index}/experiments/{id}/promote", operation_id = "promoteExperiment", tag = "experiments",
    params(("index" = IndexName, Path), ("id" = String, Path, description = "The experiment's id."),
        ("X-Vitrine-Actor" = Option<String>, Header, description = "Who promotes, for the settings history (default `admin`).")),
    request_body = PromoteRequest,
    responses((status = OK, body = Promotion), (status = NOT_FOUND, description = "`experiment_not_found`."),
        (status = BAD_REQUEST, description = "`invalid_experiment`: no such variant, or its draft no longer fits the index."),
        (status = CONFLICT, description = "`invalid_experiment_state`: already promoted.")))]
pub async fn promote(
    State(state): State<AppState>,
    path: Result<Path<(String, String)>, PathRejection>,
    ChangeAuthor(actor): ChangeAuthor,
    ApiJson(request): ApiJson<PromoteRequest>,
) -> Result<Json<Promotion>, ApiError> {
    let Path((index, id)) = path?;
    let name = IndexName::new(index)?;
    let experiment = stored(&state, &name, &id).await?;
    let Some(variant) = experiment.spec.variants.iter().find(|variant| variant.name == request.variant).cloned() else {
        let names: Vec<&str> = experiment.spec.variants.iter().map(|variant| variant.name.as_str()).collect();
        return Err(invalid(format!(
            "experiment `{id}` has no variant `{}`; it has {}",
            request.variant,
            names.join(", ")
        )));
    };
    if experiment.promoted.is_some() {
        return Err(ApiError::new(
            ErrorCode::InvalidExperimentState,
            format!("experiment `{id}` was promoted already"),
        ));
    }
    // Resolved before anything changes: a draft that no longer fits is refused, nothing promoted.
    let (resolving, resolved_name, promoted) = (state.clone(), name.clone(), variant.clone());
    let draft = blocking(move || {
        let index = resolving.catalog.get(&resolved_name)?;
        promoted
            .draft_over(&index)
            .map_err(|reason| invalid(format!("the variant's draft no longer fits the index: {reason}")))
    })
    .await?;
    // Claimed first: of two promotions, one wins.
    if !state.analytics.stop_experiment(experiment.id, Utc::now(), Some(&variant.name)).await? {
        return Err(ApiError::new(
            ErrorCode::InvalidExperimentState,
            format!("experiment `{id}` was promoted already"),
        ));
    }
    state.experiments.stopped(experiment.id);
    let author = format!("{actor} (promoted `{}` of experiment `{}`, {id})", variant.name, experiment.spec.name);
    let (publishing, published_name, model_version) = (state.clone(), name.clone(), variant.model_version.clone());
    let (settings_version, model_version) = blocking(move || {
        let mut settings_version = None;
        if let Some(draft) = draft {
            let index = publishing.catalog.get(&published_name)?;
            index.set_settings_as(draft, &author, None)?;
            settings_version = index.settings_history()?.last().map(|saved| saved.version);
        }
        if let Some(version) = &model_version {
            publishing.recommenders.activate(&published_name, version)?;
        }
        Ok((settings_version, model_version))
    })
    .await?;
    let experiment = stored(&state, &name, &id).await?;
    Ok(Json(Promotion {
        variant: variant.name,
        settings_version,
        model_version,
        experiment: results_of(&state, experiment).await?,
    }))
}
