/// Why a search could not be answered.
///
/// The user errors (everything but [`QueryError::Engine`]) describe a request to fix; the HTTP
/// layer maps each to a stable code and a 4xx status.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// The `filter` object is malformed (not an object, a bad range, a bad value type).
    #[error("invalid filter: {0}")]
    InvalidFilter(String),
    /// A filter or facet names a field that is neither built in nor a facetable attribute.
    #[error(
        "unknown field `{0}`: filter and facet on brand, category, price, in_stock, rating or an attribute declared facetable in the index settings"
    )]
    UnknownField(String),
    /// A facet-value search of a facet whose values are not searchable (not the brand nor a
    /// facetable attribute).
    #[error("the values of `{0}` cannot be searched: search those of `brand` or of a facetable attribute")]
    FacetNotSearchable(String),
    /// The `sort` value is not one of the known orders.
    #[error("unknown sort `{0}`: use relevance, price_asc, price_desc, popularity or newest")]
    InvalidSort(String),
    /// `page` or `per_page` is out of range.
    #[error("invalid pagination: {0}")]
    InvalidPagination(String),
    /// The query is longer than allowed.
    #[error("the query is longer than {max} characters")]
    QueryTooLong {
        /// The limit.
        max: usize,
    },
    /// More distinct facets than a search counts.
    #[error("at most {max} facets per search")]
    TooManyFacets {
        /// The limit.
        max: usize,
    },
    /// More values in the filter than a request may hold.
    #[error("at most {max} filter values per request (all fields together)")]
    TooManyFilterValues {
        /// The limit.
        max: usize,
    },
    /// The caller gave up on the search (its request is gone); the answer would be thrown away.
    #[error("the search was abandoned by its caller")]
    Abandoned,
    /// The search engine failed (an internal error).
    #[error("search engine error: {0}")]
    Engine(#[from] tantivy::TantivyError),
}

impl QueryError {
    /// True for errors in the request (as opposed to failures of the engine, or a search its
    /// caller abandoned).
    pub fn is_user_error(&self) -> bool {
        !matches!(self, QueryError::Engine(_) | QueryError::Abandoned)
    }
}
