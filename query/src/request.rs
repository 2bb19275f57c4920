//! The search request and response, as the HTTP API carries them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use vitrine_models::Product;

use crate::error::QueryError;

/// The longest query accepted, in characters; longer ones are refused, not truncated.
pub const MAX_QUERY_CHARS: usize = 512;
/// The most query words used; words past this are ignored (and said so in the response).
pub const MAX_QUERY_WORDS: usize = 12;
/// The largest page size.
pub const MAX_PER_PAGE: usize = 200;
/// The deepest result reachable by paging (Meilisearch's `maxTotalHits`): hits past it are never
/// ranked into a page. A page that starts inside the window but ends past it is cut short at the
/// window's end; a page that starts past it is refused (`invalid_pagination`). `total` still
/// counts every match.
pub const MAX_RESULT_WINDOW: usize = 1_000;
/// The most facets one search counts. Each facet the shopper also filters on costs a pass over
/// the matches of its own; repeated names are folded into one first, then more than this many
/// are refused (`too_many_facets`).
pub const MAX_FACETS: usize = 20;
/// The most values one request's filter holds, all fields together: each string of a list, each
/// range and each flag counts one. Each value is a term query; more are refused
/// (`too_many_filter_values`). Recommendation filters have the same bound.
pub const MAX_FILTER_VALUES: usize = 100;

/// A search.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchRequest {
    /// The shopper's words; empty browses the catalog by popularity.
    #[serde(default)]
    pub q: String,
    /// Filters: `{"brand": ["A", "B"], "price": {"gte": 10, "lt": 50}, "category": "home/kitchen",
    /// "in_stock": true, "colour": ["red"]}`. Values in a list are OR, fields are AND.
    #[serde(default)]
    pub filter: Option<Value>,
    /// Facets to count: `brand`, `category`, `price`, or a facetable attribute.
    #[serde(default)]
    pub facets: Vec<String>,
    /// `relevance` (default), `price_asc`, `price_desc`, `popularity`, `newest`.
    #[serde(default)]
    pub sort: Option<String>,
    /// 1-based page number.
    #[serde(default)]
    pub page: Option<usize>,
    /// Results per page (default 20, at most 200).
    #[serde(default)]
    pub per_page: Option<usize>,
    /// The shopper, for analytics and personalisation.
    #[serde(default)]
    pub user_id: Option<String>,
    /// A guest shopper's session (the storefront's own id for the visitor): assigns them to a
    /// running experiment's variant; ignored for a signed-in shopper, whom the shopper token names.
    #[serde(default)]
    #[schema(max_length = 256)]
    pub session_id: Option<String>,
    /// A filter the shopper cannot lift (a shopper token's: customer groups, B2B catalogues):
    /// applied to every result and every facet count. Set by the server, never read from a body.
    #[serde(skip)]
    pub restriction: Option<Value>,
}

/// How results are ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortOrder {
    /// Text relevance blended with business signals.
    Relevance,
    /// Cheapest first (products without a price last).
    PriceAscending,
    /// Dearest first.
    PriceDescending,
    /// Most popular first.
    Popularity,
    /// Most recently listed first.
    Newest,
}

impl SortOrder {
    /// Parses the `sort` parameter.
    pub fn parse(sort: Option<&str>) -> Result<SortOrder, QueryError> {
        match sort.unwrap_or("relevance") {
            "relevance" => Ok(SortOrder::Relevance),
            "price_asc" => Ok(SortOrder::PriceAscending),
            "price_desc" => Ok(SortOrder::PriceDescending),
            "popularity" => Ok(SortOrder::Popularity),
            "newest" => Ok(SortOrder::Newest),
            other => Err(QueryError::InvalidSort(other.to_owned())),
        }
    }
}

impl SearchRequest {
    /// Checks the paging and query length; returns (offset, limit), the limit cut short at
    /// [`MAX_RESULT_WINDOW`].
    pub fn window(&self) -> Result<(usize, usize), QueryError> {
        let per_page = self.per_page.unwrap_or(20);
        if per_page == 0 || per_page > MAX_PER_PAGE {
            return Err(QueryError::InvalidPagination(format!("`per_page` must be between 1 and {MAX_PER_PAGE}")));
        }
        let page = self.page.unwrap_or(1);
        if page == 0 {
            return Err(QueryError::InvalidPagination("`page` starts at 1".to_owned()));
        }
        let offset = (page - 1).saturating_mul(per_page);
        if offset >= MAX_RESULT_WINDOW {
            return Err(QueryError::InvalidPagination(format!(
                "page {page} of {per_page} starts past the first {MAX_RESULT_WINDOW} results; narrow the search instead"
            )));
        }
        if self.q.chars().count() > MAX_QUERY_CHARS {
            return Err(QueryError::QueryTooLong { max: MAX_QUERY_CHARS });
        }
        Ok((offset, per_page.min(MAX_RESULT_WINDOW - offset)))
    }

    /// The facets to count, each once, in the order first asked for; refused past
    /// [`MAX_FACETS`].
    pub fn facet_names(&self) -> Result<Vec<&str>, QueryError> {
        let mut names: Vec<&str> = Vec::new();
        for name in &self.facets {
            if names.contains(&name.as_str()) {
                continue;
            }
            if names.len() == MAX_FACETS {
                return Err(QueryError::TooManyFacets { max: MAX_FACETS });
            }
            names.push(name);
        }
        Ok(names)
    }

    /// Every bound of the request that needs no index: paging, query length, facets, the
    /// filter's size. (The filter's fields and values are checked against the index's settings
    /// by the search.)
    pub fn check(&self) -> Result<(), QueryError> {
        self.window()?;
        self.facet_names()?;
        check_filter_size(self.filter.as_ref())
    }
}

/// Refuses a filter with more than [`MAX_FILTER_VALUES`] values (lists count their items; any
/// other value, one). The grammar is two levels deep at most (field → list or range object →
/// value), and anything deeper is refused by the parser as a wrong value type.
pub(crate) fn check_filter_size(filter: Option<&Value>) -> Result<(), QueryError> {
    let Some(Value::Object(fields)) = filter else {
        return Ok(());
    };
    let values: usize = fields
        .values()
        .map(|value| match value {
            Value::Array(items) => items.len(),
            _ => 1,
        })
        .sum();
    if values > MAX_FILTER_VALUES {
        return Err(QueryError::TooManyFilterValues { max: MAX_FILTER_VALUES });
    }
    Ok(())
}

/// One result.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Hit {
    /// The product id.
    pub id: String,
    /// The ranking score (higher first; comparable within one response only).
    pub score: f64,
    /// The stored product.
    pub document: Product,
    /// Matched words per field (filled by highlighting).
    pub highlight: BTreeMap<String, String>,
    /// With variant collapsing, when the best match of the family is a variant: its id (the
    /// document is the parent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variant_id: Option<String>,
    /// Put at this place by a merchandising rule.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub pinned: bool,
}

/// The answer to a search.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SearchResponse {
    /// The page of results.
    pub hits: Vec<Hit>,
    /// How many products match in all.
    pub total: usize,
    /// Value counts per requested facet.
    pub facets: BTreeMap<String, BTreeMap<String, u64>>,
    /// The values of each facet with a configured order (`facets.value_order` in the settings:
    /// `alpha`, `natural`, explicit), in that order; the others are shown by count.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub facet_order: BTreeMap<String, Vec<String>>,
    /// Statistics of numeric facets (`price`: min and max).
    pub facet_stats: BTreeMap<String, Value>,
    /// Time spent in the engine, in milliseconds.
    pub took_ms: f64,
    /// Query words that were ignored because the query had more than the maximum.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ignored_words: Vec<String>,
    /// The merchandising rules that shaped this answer, by id.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub applied_rules: Vec<String>,
}
