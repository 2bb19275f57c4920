//! Facet-value search: the values of one facet that match what a shopper types in the facet's
//! search box (`refinementList` with `searchable` in InstantSearch), with their counts under the
//! current query and filters.
//!
//! The counts are the search's own: one search of `query` under `filter` counting the facet with
//! the facet's own filter left out (disjunctive, like the facet lists beside the results), with
//! every value counted rather than the settings' `max_values_per_facet`. Each value is then
//! matched against the typed text by the Levenshtein automata of the query words (prefix mode,
//! the index's typo budget), at the start of the value or of any of its words: `mak` and `maika`
//! both find `Makita`, `bal` finds `New Balance`. Values without a typo come first, then the
//! value's start before a later word, then the larger count.

use std::time::Instant;

use levenshtein_automata::Distance;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use vitrine_indexer::ProductIndex;
use vitrine_models::settings::IndexSettings;

use crate::derivations::builder;
use crate::engine::search_unless_abandoned;
use crate::error::QueryError;
use crate::filters::FacetField;
use crate::request::SearchRequest;
use crate::suggest::normalize_query;

/// Most values one facet-value search returns.
pub const MAX_FACET_VALUES: usize = 100;
/// Most values of a facet counted before matching.
const COUNTED_VALUES: usize = 10_000;
/// Longest typed text accepted.
const MAX_TYPED_CHARS: usize = 100;

/// A facet-value search (`POST /v1/indexes/{index}/facets/{facet}/values`, or its GET form
/// with the same names as query parameters, `filter` as JSON).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FacetValuesRequest {
    /// What the shopper typed in the facet's search box; empty lists the most frequent values.
    #[serde(default)]
    pub q: String,
    /// The search the facet belongs to (its words); empty for the whole catalogue.
    #[serde(default)]
    pub query: String,
    /// The search's filters, as in a search request.
    #[serde(default)]
    pub filter: Option<Value>,
    /// Most values returned (default 10, at most 100).
    #[serde(default)]
    pub limit: Option<usize>,
    /// A filter the shopper cannot lift (a shopper token's). Set by the server.
    #[serde(skip)]
    pub restriction: Option<Value>,
}

/// One matching facet value.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct FacetValue {
    /// The value, as stored.
    pub value: String,
    /// Products with it under the query and the other filters.
    pub count: u64,
}

/// The answer of a facet-value search.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct FacetValues {
    /// The facet searched.
    pub facet: String,
    /// The matching values, best first.
    pub values: Vec<FacetValue>,
    /// Time spent, in milliseconds.
    pub took_ms: f64,
}

/// The values of `facet` matching `request.q` (see the module docs).
///
/// # Errors
/// [`QueryError::UnknownField`] for an unknown facet, [`QueryError::FacetNotSearchable`] for the
/// price, category, rating or stock facets, the
/// search's errors for a bad query or filter, [`QueryError::InvalidPagination`] for a `limit`
/// outside 1–100, [`QueryError::QueryTooLong`] for a typed text over 100 characters.
pub fn facet_values(
    index: &ProductIndex,
    settings: &IndexSettings,
    facet: &str,
    request: &FacetValuesRequest,
) -> Result<FacetValues, QueryError> {
    let started = Instant::now();
    let field = FacetField::resolve(facet, settings)?;
    if !matches!(field, FacetField::Brand | FacetField::Attribute(_)) {
        return Err(QueryError::FacetNotSearchable(facet.to_owned()));
    }
    let limit = request.limit.unwrap_or(10);
    if !(1..=MAX_FACET_VALUES).contains(&limit) {
        return Err(QueryError::InvalidPagination(format!("`limit` must be between 1 and {MAX_FACET_VALUES}")));
    }
    if request.q.chars().count() > MAX_TYPED_CHARS {
        return Err(QueryError::QueryTooLong { max: MAX_TYPED_CHARS });
    }
    // Every value counted, not the first `max_values_per_facet`: the match may be a rare one.
    let mut counting = settings.clone();
    counting.facets.max_values_per_facet = COUNTED_VALUES;
    let search = SearchRequest {
        q: request.query.clone(),
        filter: request.filter.clone(),
        facets: vec![facet.to_owned()],
        per_page: Some(1),
        restriction: request.restriction.clone(),
        ..SearchRequest::default()
    };
    let mut answer = search_unless_abandoned(index, &counting, &search, &|| false)?;
    let counts = answer.facets.remove(field.name()).unwrap_or_default();

    let typed = normalize_query(&request.q);
    let mut matches: Vec<(u8, bool, FacetValue)> = match typed.is_empty() {
        true => counts.into_iter().map(|(value, count)| (0, true, FacetValue { value, count })).collect(),
        false => {
            let budget = settings.typo_tolerance.budget(&typed.replace(' ', ""), true);
            let dfa = builder(budget).build_prefix_dfa(&typed);
            counts
                .into_iter()
                .filter_map(|(value, count)| {
                    let normalized = normalize_query(&value);
                    // The value from its start, then from each later word.
                    let starts = std::iter::once(0).chain(normalized.match_indices(' ').map(|(at, _)| at + 1));
                    let best = starts
                        .filter_map(|start| match dfa.eval(&normalized[start..]) {
                            Distance::Exact(distance) => Some((distance, start == 0)),
                            Distance::AtLeast(_) => None,
                        })
                        .min_by_key(|(distance, at_start)| (*distance, !at_start))?;
                    Some((best.0, best.1, FacetValue { value, count }))
                })
                .collect()
        }
    };
    matches.sort_by(|(a_typos, a_start, a), (b_typos, b_start, b)| {
        (a_typos, !a_start, std::cmp::Reverse(a.count), &a.value).cmp(&(
            b_typos,
            !b_start,
            std::cmp::Reverse(b.count),
            &b.value,
        ))
    });
    let values = matches.into_iter().take(limit).map(|(_, _, value)| value).collect();
    Ok(FacetValues { facet: field.name().to_owned(), values, took_ms: started.elapsed().as_secs_f64() * 1000.0 })
}
