//! `POST /v1/indexes/{index}/recommendations` (the `search` action): the five kinds (`similar`,
//! `bought_together`, `for_user`, `cart`, `trending`) from the index's current model version,
//! filtered (by default: in stock) by the query engine's filter and the shopper token's; with
//! `"documents": true`, each item carries its product.
//! `for_user` is for the token's shopper (a body `user_id` only from a key that may act for
//! users).

use std::time::Instant;

use axum::Json;
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use vitrine_models::{IndexName, Product, ProductId};
use vitrine_recommender::serve::{Kind, Recommendation, Request};

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
    let restriction = caller.shopper.and_then(|shopper| shopper.filter);
    let k = request.k.unwrap_or(10);
    if !(1..=MAX_K).contains(&k) {
        return Err(ApiError::new(ErrorCode::InvalidParameter, format!("`k` must be between 1 and {MAX_K}")));
    }
    blocking(move || {
        let index = state.catalog.get(&name)?;
        let recommender = state.recommenders.get(&name)?.ok_or_else(|| not_trained(&name))?;
        // The request's filter and the shopper token's, each with its in-stock default.
        let numbers = state.item_numbering.of(&name, &recommender);
        let number_of = |id: &str| recommender.item_number(id);
        let filters = [request.filter.as_ref(), restriction.as_ref()];
        let filters = if restriction.is_some() { &filters[..] } else { &filters[..1] };
        let allowed = vitrine_query::allowed_items(&index, filters, &numbers, &number_of)?;
        let query = Request {
            kind: request.kind,
            product_id: request.product_id.as_deref(),
            user_id: user_id.as_deref(),
            product_ids: &request.product_ids,
            k,
        };
        let items = recommender
            .recommend(&query, &|item| allowed.contains(item))?
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
        Ok(Json(Recommendations {
            items,
            model_version: recommender.model_id().to_owned(),
            took_ms: started.elapsed().as_secs_f64() * 1000.0,
        }))
    })
    .await
}

/// The index has no model yet.
pub(super) fn not_trained(index: &IndexName) -> ApiError {
    ApiError::new(
        ErrorCode::ModelNotTrained,
        format!("index `{index}` has no recommendation model yet: run `vitrine train --index {index}`"),
    )
}
