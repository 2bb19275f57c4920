//! `POST /v1/indexes/{index}/search` and `GET /v1/indexes/{index}/suggest` (the `search`
//! action): the query engine's answer, personalised for a signed-in shopper (the shopper token's;
//! a body `user_id` only from a key that may act for users) by the recommender when the index's
//! ranking asks for it, restricted by the token's filter, and logged for analytics without
//! waiting. When an experiment runs on the index's search and the request names a shopper (the
//! token, a `session_id`, a key's `user_id`), the shopper's variant answers — or, interleaving,
//! both rankings merged — and the answer says so (`experiment`).

use axum::Json;
use axum::extract::{Path, State};
use vitrine_models::IndexName;

use crate::experiments::Arm;
use crate::experiments::assign::{Identity, interleaving_seed};
use crate::experiments::definition::Surface;
use crate::http::auth::Caller;
use crate::http::blocking::{blocking, blocking_until_gone};
use crate::http::error::ApiError;
use crate::http::extract::ApiJson;
use crate::http::state::AppState;

/// A search's answer, with the id to attribute the shopper's clicks and purchases to it.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct SearchAnswer {
    /// The results, facets and timings.
    #[serde(flatten)]
    response: vitrine_query::SearchResponse,
    /// This search's id: send it as `query_id` with the events it leads to.
    query_id: uuid::Uuid,
    /// The experiment this answer belongs to, when one runs and the request names a shopper.
    #[serde(skip_serializing_if = "Option::is_none")]
    experiment: Option<ExperimentTag>,
}

/// Which experiment and variant answered.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ExperimentTag {
    /// The experiment's id.
    pub id: uuid::Uuid,
    /// The variant (`interleaved` for an interleaving experiment).
    pub variant: String,
}

/// Logs an answer served under `assignment` as an exposure (without waiting) and returns the
/// answer's tag — only when the request named a shopper: an anonymous answer is not counted.
pub(super) fn record_exposure(
    analytics: &crate::analytics::Analytics,
    assignment: &crate::experiments::Assignment,
    query_id: uuid::Uuid,
    credits: Option<[Vec<String>; 2]>,
    at: chrono::DateTime<chrono::Utc>,
) -> Option<ExperimentTag> {
    let identity = assignment.identity.as_ref()?;
    let (id, variant) = (assignment.running.stored.id, assignment.variant_name().to_owned());
    analytics.log_exposure(crate::analytics::ExposureLog {
        query_id,
        experiment_id: id,
        variant: variant.clone(),
        identity: identity.as_str().to_owned(),
        credits,
        at,
    });
    Some(ExperimentTag { id, variant })
}

/// The search of `request` on `index` with `settings`, personalised for its shopper when the
/// settings ask for it.
fn search_with(
    index: &vitrine_indexer::ProductIndex,
    settings: &vitrine_models::settings::IndexSettings,
    request: &vitrine_query::SearchRequest,
    gone: &dyn Fn() -> bool,
    recommenders: &vitrine_recommender::registry::Recommenders,
    name: &IndexName,
) -> Result<vitrine_query::SearchResponse, ApiError> {
    let mut response = vitrine_query::search_unless_abandoned(index, settings, request, gone)?;
    let weight = settings.ranking.personalization;
    if let Some(user_id) = request.user_id.as_deref()
        && weight > 0.0
    {
        recommenders.personalise(name, user_id, weight, &mut response.hits, |hit| &hit.id, |hit| hit.pinned);
    }
    Ok(response)
}

/// One ranking's search: the request's, with one variant's settings.
type RunSearch<'a> = &'a dyn Fn(&vitrine_query::SearchRequest) -> Result<vitrine_query::SearchResponse, ApiError>;

/// An interleaved answer, and the product ids each team contributed to its page.
type Interleaved = (vitrine_query::SearchResponse, [Vec<String>; 2]);

/// The control's and the treatment's rankings of the request's page, merged by team-draft
/// interleaving; the answer is the control's (totals, facets) with the merged page. `None` when
/// the page lies beyond what one interleaved request covers (then the control answers alone).
fn interleaved(
    searches: [RunSearch<'_>; 2],
    request: &vitrine_query::SearchRequest,
    seed: u64,
) -> Result<Option<Interleaved>, ApiError> {
    let (offset, limit) = request.window()?;
    let depth = offset + limit;
    if depth > vitrine_query::MAX_PER_PAGE {
        return Ok(None);
    }
    // Both rankings from the top, as deep as the page reaches, so that every page of one
    // shopper's query is cut from the same merged list.
    let top = vitrine_query::SearchRequest { page: Some(1), per_page: Some(depth), ..request.clone() };
    let mut control = searches[0](&top)?;
    let treatment = searches[1](&top)?;
    let merged = vitrine_query::team_draft(&control.hits, &treatment.hits, |hit| hit.id.clone(), depth, seed);
    let mut credits = [Vec::new(), Vec::new()];
    control.hits = merged
        .into_iter()
        .skip(offset)
        .take(limit)
        .map(|(hit, team)| {
            credits[usize::from(team == vitrine_query::Team::B)].push(hit.id.clone());
            hit
        })
        .collect();
    control.took_ms += treatment.took_ms;
    Ok(Some((control, credits)))
}

/// `POST /v1/indexes/{index}/search`.
#[utoipa::path(post, path = "/v1/indexes/{index}/search", operation_id = "search", tag = "search", params(("index" = IndexName, Path)),
    request_body = vitrine_query::SearchRequest,
    responses((status = OK, body = SearchAnswer), (status = FORBIDDEN, description = "`user_mismatch`: the body names another shopper than the token's.")))]
pub async fn search(
    State(state): State<AppState>,
    caller: Caller,
    Path(index): Path<String>,
    ApiJson(mut request): ApiJson<vitrine_query::SearchRequest>,
) -> Result<Json<SearchAnswer>, ApiError> {
    let name = IndexName::new(index)?;
    request.user_id = caller.acting_user(request.user_id.as_deref())?;
    let from_token = caller.shopper.is_some();
    request.restriction = caller.shopper.and_then(|shopper| shopper.filter);
    let identity = Identity::of(request.user_id.as_deref(), from_token, request.session_id.as_deref());
    let assignment = state.experiments.assign(&name, Surface::Search, identity).await;
    let (catalog, recommenders) = (state.catalog.clone(), state.recommenders.clone());
    let (response, request, name, exposure) = blocking_until_gone(move |gone| {
        let index = catalog.get(&name)?;
        let run = |settings: &vitrine_models::settings::IndexSettings, request: &vitrine_query::SearchRequest| {
            search_with(&index, settings, request, &|| gone.is_gone(), &recommenders, &name)
        };
        // The experiment's arm, when its settings resolve (else the live settings, uncounted).
        let arm = assignment.and_then(|assignment| {
            let resolve = |position| {
                assignment.running.settings(position, &index).map_err(|reason| {
                    tracing::warn!(experiment = %assignment.running.stored.id, %reason, "a variant's draft no longer fits; serving the live settings");
                })
            };
            let settings = match assignment.arm {
                Arm::Variant(position) => vec![resolve(position).ok()?],
                Arm::Interleaved => vec![resolve(0).ok()?, resolve(1).ok()?],
            };
            Some((assignment, settings))
        });
        let Some((assignment, settings)) = arm else {
            return Ok((run(&index.settings(), &request)?, request, name, None));
        };
        let (response, credits) = match settings.as_slice() {
            [control, treatment] => {
                let identity = assignment.identity.as_ref();
                let seed = identity.map_or(0, |identity| {
                    let key = serde_json::json!([request.q, request.filter, request.sort, request.facets]).to_string();
                    interleaving_seed(&assignment.running.stored.id.to_string(), identity, &key)
                });
                let searches: [RunSearch<'_>; 2] =
                    [&|request| run(control, request), &|request| run(treatment, request)];
                match interleaved(searches, &request, seed)? {
                    Some((response, credits)) => (response, Some(credits)),
                    // Past the interleaved depth: the control alone, uncounted.
                    None => return Ok((run(control, &request)?, request, name, None)),
                }
            }
            [settings] => (run(settings, &request)?, None),
            _ => return Ok((run(&index.settings(), &request)?, request, name, None)),
        };
        Ok((response, request, name, Some((assignment, credits))))
    })
    .await?;
    let query_id = uuid::Uuid::now_v7();
    let now = chrono::Utc::now();
    let experiment = exposure
        .and_then(|(assignment, credits)| record_exposure(&state.analytics, &assignment, query_id, credits, now));
    // Queued, not written: logging never slows the answer down.
    state.analytics.log_search(crate::analytics::SearchLog {
        query_id,
        index: name,
        query: request.q,
        filters: request.filter,
        result_count: response.total as u64,
        latency_ms: response.took_ms,
        // An id that is not a valid user id is left out of the log rather than failing the search.
        user_id: request.user_id.and_then(|id| vitrine_models::UserId::new(id).ok()),
        at: now,
    });
    Ok(Json(SearchAnswer { response, query_id, experiment }))
}

/// The parameters of `GET /v1/indexes/{index}/suggest`.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SuggestParams {
    /// What the shopper has typed so far.
    #[serde(default)]
    q: String,
    /// Suggestions of each kind (default 5, at most 20).
    #[param(minimum = 1, maximum = 20)]
    limit: Option<usize>,
}

/// `GET /v1/indexes/{index}/suggest?q=...`: query completions and products for autocomplete.
#[utoipa::path(get, path = "/v1/indexes/{index}/suggest", operation_id = "suggest", tag = "search", params(("index" = IndexName, Path), SuggestParams),
    responses((status = OK, body = vitrine_query::Suggestions)))]
pub async fn suggest(
    State(state): State<AppState>,
    Path(index): Path<String>,
    params: Result<axum::extract::Query<SuggestParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<vitrine_query::Suggestions>, ApiError> {
    let axum::extract::Query(params) = params?;
    let name = IndexName::new(index)?;
    let limit = params.limit.unwrap_or(5);
    // Popular past queries come from analytics; if they cannot be read, autocomplete goes on
    // with the index's completions alone.
    let prefix = vitrine_query::query_prefix(&params.q);
    let popular = if prefix.is_empty() || !(1..=vitrine_query::MAX_SUGGESTIONS).contains(&limit) {
        Vec::new()
    } else {
        state.analytics.popular_queries(&name, &prefix, limit as u32).await.unwrap_or_else(|error| {
            tracing::warn!(%error, "autocomplete without popular queries");
            Vec::new()
        })
    };
    let suggestions = blocking(move || {
        let index = state.catalog.get(&name)?;
        Ok(vitrine_query::suggest_with_popular(&index, &index.settings(), &params.q, limit, &popular)?)
    })
    .await?;
    Ok(Json(suggestions))
}
