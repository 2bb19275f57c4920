//! Drafts of an index's settings, tried without saving (admin key) — what the merchandiser
//! console is built on besides the settings endpoints:
//!
//! - `POST /v1/indexes/{index}/settings/preview`: one query answered with the live settings and
//!   with a draft, side by side;
//! - `POST /v1/indexes/{index}/settings/evaluate`: the offline search evaluation (`vitrine eval
//!   search --settings`) of a draft against the live settings on an uploaded judgments file,
//!   each metric's difference with its paired randomization test.
//!
//! A draft is any subset of the settings' parts laid over the live settings
//! ([`vitrine_eval::search::draft_settings`]), except the language of the text, which only a new
//! index can try (`language_change_requires_reindex`); publishing it is `PUT …/settings`, rolling back is
//! `POST …/settings/history/{version}/restore`.

use std::collections::HashSet;
use std::path::Path as FilePath;

use axum::Json;
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use vitrine_eval::search::{
    ChangedQuery, ComparisonRow, DEFAULT_ROUNDS, GainMap, QueryVariant, VitrineSearch, compare_draft, draft_settings,
    evaluate, parse_judgments_csv,
};
use vitrine_models::IndexName;
use vitrine_models::settings::IndexSettings;
use vitrine_query::{SearchRequest, SearchResponse};

use crate::http::blocking::blocking;
use crate::http::error::{ApiError, ErrorCode};
use crate::http::extract::ApiJson;
use crate::http::state::AppState;

/// The body of `POST …/settings/preview`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewRequest {
    /// The query.
    #[serde(default)]
    q: String,
    /// The draft: settings parts that replace the live ones (none: the live settings twice).
    #[serde(default)]
    #[schema(value_type = Object)]
    draft: Map<String, Value>,
    /// Results per side (default 10, at most the search API's limit).
    #[serde(default)]
    per_page: Option<usize>,
    /// A filter, as in a search.
    #[serde(default)]
    filter: Option<Value>,
}

/// The answer of `POST …/settings/preview`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Preview {
    /// With the live settings.
    live: SearchResponse,
    /// With the draft.
    draft: SearchResponse,
}

/// `POST /v1/indexes/{index}/settings/preview` (admin): the query answered with the live settings
/// and with the draft. Nothing is saved and nothing is logged as a shopper's search.
#[utoipa::path(post, path = "/v1/indexes/{index}/settings/preview", operation_id = "previewSettings", tag = "settings", params(("index" = IndexName, Path)),
    request_body = PreviewRequest, responses((status = OK, body = Preview), (status = BAD_REQUEST, description = "`invalid_settings`: the draft is not valid."), (status = CONFLICT, description = "`language_change_requires_reindex`: the draft changes `language` or `field_languages`.")))]
pub async fn preview(
    State(state): State<AppState>,
    Path(index): Path<String>,
    ApiJson(request): ApiJson<PreviewRequest>,
) -> Result<Json<Preview>, ApiError> {
    let name = IndexName::new(index)?;
    let preview = blocking(move || {
        let index = state.catalog.get(&name)?;
        let live = index.settings();
        let draft = draft_settings(&index, &request.draft)?;
        let search = SearchRequest {
            q: request.q,
            filter: request.filter,
            per_page: Some(request.per_page.unwrap_or(10)),
            ..SearchRequest::default()
        };
        Ok(Preview {
            live: vitrine_query::search(&index, &live, &search)?,
            draft: vitrine_query::search(&index, &draft, &search)?,
        })
    })
    .await?;
    Ok(Json(preview))
}

/// The most judged queries one evaluation request may hold.
const MAX_JUDGED_QUERIES: usize = 20_000;

/// The body of `POST …/settings/evaluate`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EvaluateRequest {
    /// The draft, as for a preview.
    #[serde(default)]
    #[schema(value_type = Object)]
    draft: Map<String, Value>,
    /// The judgments file's text: CSV `query_id,query,product_id,relevance`.
    judgments: String,
    /// Also run every query with one injected typo (seeded).
    #[serde(default)]
    typos: bool,
    /// The grade → gain mapping, as `vitrine eval search --gain` (default: relevance − 1).
    #[serde(default)]
    gain: Option<String>,
}

/// The answer of `POST …/settings/evaluate`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Evaluation {
    /// Judged queries evaluated (those naming at least one product of the index).
    queries: usize,
    /// Judgments left out because the index has no such product.
    unknown_judgments: usize,
    /// Sign flips of each randomization test.
    rounds: usize,
    /// Each metric, live against draft, with its p-value.
    comparison: Vec<ComparisonRow>,
    /// The queries whose NDCG@10 differs, most changed first.
    per_query: Vec<ChangedQuery>,
}

/// `POST /v1/indexes/{index}/settings/evaluate` (admin): the offline search evaluation of the draft
/// against the live settings on the uploaded judgments (the queries run through the search API's
/// own path, `vitrine_query::search`, on the index as it is now).
#[utoipa::path(post, path = "/v1/indexes/{index}/settings/evaluate", operation_id = "evaluateSettings", tag = "settings", params(("index" = IndexName, Path)),
    request_body = EvaluateRequest, responses((status = OK, body = Evaluation), (status = BAD_REQUEST, description = "`invalid_settings`, `invalid_judgments`."), (status = CONFLICT, description = "`language_change_requires_reindex`: the draft changes `language` or `field_languages`.")))]
pub async fn evaluate_draft(
    State(state): State<AppState>,
    Path(index): Path<String>,
    ApiJson(request): ApiJson<EvaluateRequest>,
) -> Result<Json<Evaluation>, ApiError> {
    let name = IndexName::new(index)?;
    let invalid = |reason: String| ApiError::new(ErrorCode::InvalidJudgments, reason);
    let gains = match &request.gain {
        Some(text) => GainMap::parse(text).map_err(|reason| invalid(format!("gain `{text}`: {reason}")))?,
        None => GainMap::default(),
    };
    let evaluation = blocking(move || {
        let index = state.catalog.get(&name)?;
        let live = index.settings();
        let draft = draft_settings(&index, &request.draft)?;
        let ids: HashSet<String> =
            state.catalog.products(&name)?.into_iter().map(|product| product.id.to_string()).collect();
        let (queries, unknown) =
            parse_judgments_csv(request.judgments.as_bytes(), FilePath::new("the judgments"), &gains, |id| {
                ids.contains(id)
            })
            .map_err(|error| invalid(error.to_string()))?;
        if queries.is_empty() {
            return Err(invalid(format!("no judged query names a product of `{name}`")));
        }
        if queries.len() > MAX_JUDGED_QUERIES {
            return Err(invalid(format!("{} judged queries; at most {MAX_JUDGED_QUERIES} per request", queries.len())));
        }
        let live = VitrineSearch::with_settings(index.clone(), IndexSettings::clone(&live));
        let draft = VitrineSearch::with_settings(index, draft);
        let mut variants = vec![QueryVariant::AsTyped];
        if request.typos {
            variants.push(QueryVariant::OneTypo { seed: 42 });
        }
        let mut runs = Vec::with_capacity(variants.len());
        for variant in variants {
            let live = evaluate(&live, &queries, variant, None).map_err(ApiError::internal)?;
            let draft = evaluate(&draft, &queries, variant, None).map_err(ApiError::internal)?;
            runs.push((variant, live, draft));
        }
        let compared = compare_draft(runs.iter().map(|(variant, live, draft)| (*variant, live, draft)));
        Ok(Evaluation {
            queries: queries.len(),
            unknown_judgments: unknown,
            rounds: DEFAULT_ROUNDS,
            comparison: compared.rows,
            per_query: compared.changed,
        })
    })
    .await?;
    Ok(Json(evaluation))
}
