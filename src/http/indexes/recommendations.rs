//! `POST /v1/indexes/{index}/recommendations` (the `search` action): the five kinds (`similar`,
//! `bought_together`, `for_user`, `cart`, `trending`) from the index's current model version,
//! filtered (by default: in stock) by the query engine's filter and the shopper token's; with
//! `"documents": true`, each item carries its product.
//! `for_user` is for the token's shopper (a body `user_id` only from a key that may act for
//! users). When an experiment runs on the kind and the request names a shopper, the shopper's
//! variant's model version answers — or, interleaving, both versions' lists merged — and the
//! answer carries a `query_id` and the `experiment`.

use std::time::Instant;

use axum::Json;
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use vitrine_models::{IndexName, Product, ProductId};
use vitrine_recommender::serve::{Kind, Recommendation, Request};

use super::search::{ExperimentTag, record_exposure};
use crate::experiments::Arm;
use crate::experiments::assign::{Identity, interleaving_seed};
use crate::experiments::definition::Surface;
use crate::http::auth::Caller;
use crate::http::blocking::blocking;
use crate::http::error::{ApiError, ErrorCode};
use crate::http::extract::ApiJson;
use crate::http::state::AppState;

/// The most recommendations one request may ask for.
const MAX_K: usize = 100;

/// The body of a recommendation request: `similar` and `bought_together` need `product_id`,
/// `cart` needs `product_ids`, `for_user` a shopper (the token's, or `user_id` from a key that
/// may act for users), `trending` nothing.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecommendationRequest {
    kind: Kind,
    product_id: Option<String>,
    user_id: Option<String>,
    #[serde(default)]
    product_ids: Vec<String>,
    /// How many (default 10, at most 100).
    #[schema(minimum = 1, maximum = 100)]
    k: Option<usize>,
    /// A search filter the items must pass (default: in stock).
    filter: Option<Value>,
    /// Each item with its product document (`document`), so that a carousel needs no more
    /// requests.
    #[serde(default)]
    documents: bool,
    /// A guest shopper's session: assigns them to a running experiment's variant (a signed-in
    /// shopper is named by the shopper token).
    #[schema(max_length = 256)]
    session_id: Option<String>,
}

/// One recommended product.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RecommendedItem {
    /// Its id, score and reason.
    #[serde(flatten)]
    item: Recommendation,
    /// The product, when the request asked for `documents` (and the index still has it).
    #[serde(skip_serializing_if = "Option::is_none")]
    document: Option<Product>,
}

/// The answer of `POST /v1/indexes/{index}/recommendations`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Recommendations {
    /// Best first.
    items: Vec<RecommendedItem>,
    /// The model version that answered.
    model_version: String,
    /// Time spent, in milliseconds.
    took_ms: f64,
    /// When an experiment runs on this kind and the request names a shopper: the list's id (send
    /// it as `query_id` with the clicks it leads to) and the experiment's variant.
    #[serde(skip_serializing_if = "Option::is_none")]
    query_id: Option<uuid::Uuid>,
    /// The experiment this list belongs to.
    #[serde(skip_serializing_if = "Option::is_none")]
    experiment: Option<ExperimentTag>,
}

/// `POST /v1/indexes/{index}/recommendations`.
#[utoipa::path(post, path = "/v1/indexes/{index}/recommendations", operation_id = "recommend", tag = "recommendations", params(("index" = IndexName, Path)),
    request_body = RecommendationRequest,
    responses((status = OK, body = Recommendations),
        (status = FORBIDDEN, description = "`forbidden_for_key`, `user_mismatch`: a `user_id` the credential may not name."),
        (status = CONFLICT, description = "`model_not_trained`: run `vitrine train`.")))]
pub async fn recommend(
    State(state): State<AppState>,
    caller: Caller,
    Path(index): Path<String>,
    ApiJson(request): ApiJson<RecommendationRequest>,
) -> Result<Json<Recommendations>, ApiError> {
    let started = Instant::now();
    let name = IndexName::new(index)?;
    let user_id = caller.acting_user(request.user_id.as_deref())?;
    let identity = Identity::of(user_id.as_deref(), caller.shopper.is_some(), request.session_id.as_deref());
    let restriction = caller.shopper.and_then(|shopper| shopper.filter);
    let k = request.k.unwrap_or(10);
    if !(1..=MAX_K).contains(&k) {
        return Err(ApiError::new(ErrorCode::InvalidParameter, format!("`k` must be between 1 and {MAX_K}")));
    }
    let assignment = state.experiments.assign(&name, Surface::of_kind(request.kind), identity).await;
    let experiments = state.experiments.clone();
    let (mut answer, exposure) = blocking(move || {
        let index = state.catalog.get(&name)?;
        // The recommender of a variant: its model version, else the current one.
        let wanted = |index: &IndexName, version: &str| experiments.uses_model(index, version);
        let recommender_of = |version: Option<&str>| match version {
            Some(version) => Ok::<_, ApiError>(state.recommenders.version(&name, version, wanted)?),
            None => state.recommenders.get(&name)?.ok_or_else(|| not_trained(&name)),
        };
        let versions = |position: usize| {
            assignment
                .as_ref()
                .and_then(|assignment| assignment.running.stored.spec.variants[position].model_version.clone())
        };
        let arms: Vec<Option<String>> = match assignment.as_ref().map(|assignment| assignment.arm) {
            None => vec![None],
            Some(Arm::Variant(position)) => vec![versions(position)],
            Some(Arm::Interleaved) => vec![versions(0), versions(1)],
        };
        let query = Request {
            kind: request.kind,
            product_id: request.product_id.as_deref(),
            user_id: user_id.as_deref(),
            product_ids: &request.product_ids,
            k,
        };
        let mut lists = Vec::with_capacity(arms.len());
        let mut model_version = String::new();
        for version in &arms {
            let recommender = recommender_of(version.as_deref())?;
            // The request's filter and the shopper token's, each with its in-stock default.
            let numbers = state.item_numbering.of(&name, &recommender);
            let number_of = |id: &str| recommender.item_number(id);
            let filters = [request.filter.as_ref(), restriction.as_ref()];
            let filters = if restriction.is_some() { &filters[..] } else { &filters[..1] };
            let allowed = vitrine_query::allowed_items(&index, filters, &numbers, &number_of)?;
            lists.push(recommender.recommend(&query, &|item| allowed.contains(item))?);
            if model_version.is_empty() {
                model_version = recommender.model_id().to_owned();
            }
        }
        let mut credits = None;
        let items = match <[_; 2]>::try_from(lists) {
            Ok([control, treatment]) => {
                let seed = assignment.as_ref().and_then(|assignment| {
                    let identity = assignment.identity.as_ref()?;
                    let key = serde_json::json!([request.kind, request.product_id, request.product_ids]).to_string();
                    Some(interleaving_seed(&assignment.running.stored.id.to_string(), identity, &key))
                });
                let merged =
                    vitrine_query::team_draft(&control, &treatment, |item| item.id.clone(), k, seed.unwrap_or(0));
                let mut teams = [Vec::new(), Vec::new()];
                let items = merged
                    .into_iter()
                    .map(|(item, team)| {
                        teams[usize::from(team == vitrine_query::Team::B)].push(item.id.clone());
                        item
                    })
                    .collect();
                credits = Some(teams);
                items
            }
            Err(lists) => lists.into_iter().next().unwrap_or_default(),
        };
        let items = items
            .into_iter()
            .map(|item| {
                let document = match request.documents {
                    true => ProductId::new(&item.id)
                        .ok()
                        .map(|id| index.get(&id))
                        .transpose()
                        .map_err(ApiError::internal)?
                        .flatten(),
                    false => None,
                };
                Ok(RecommendedItem { item, document })
            })
            .collect::<Result<_, ApiError>>()?;
        let answer = Recommendations {
            items,
            model_version,
            took_ms: started.elapsed().as_secs_f64() * 1000.0,
            query_id: None,
            experiment: None,
        };
        Ok((answer, assignment.map(|assignment| (assignment, credits))))
    })
    .await?;
    if let Some((assignment, credits)) = exposure {
        let query_id = uuid::Uuid::now_v7();
        answer.experiment = record_exposure(&state.analytics, &assignment, query_id, credits, chrono::Utc::now());
        answer.query_id = answer.experiment.is_some().then_some(query_id);
    }
    Ok(Json(answer))
}

/// The index has no model yet.
pub(super) fn not_trained(index: &IndexName) -> ApiError {
    ApiError::new(
        ErrorCode::ModelNotTrained,
        format!("index `{index}` has no recommendation model yet: run `vitrine train --index {index}`"),
    )
}
