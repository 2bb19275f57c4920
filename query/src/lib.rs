//! Product search over the tantivy index that `vitrine-indexer` maintains: query analysis,
//! typo tolerance with ranking tiers (exact > prefix > 1 typo > 2 typos), filters, facets with
//! disjunctive counts, sorts, the blend of text relevance with business signals, merchandising
//! rules (pin, hide, boost, bury) and variant collapsing; and team-draft interleaving of two
//! rankings, for online experiments ([`team_draft`]).
//!
//! It knows nothing of HTTP; the root crate exposes [`search`] as
//! `POST /v1/indexes/{index}/search`. See `text.rs` and `ranking.rs` for how scores
//! are built.

mod allowed;
mod at_least;
mod collapse;
mod derivations;
mod engine;
mod error;
mod facet_values;
mod facets;
mod filters;
mod highlight;
mod interleave;
mod pins;
mod ranking;
mod request;
mod rules;
mod suggest;
mod synonyms;
mod text;
mod words;

pub use allowed::{ItemMask, ItemNumbers, NumberOf, allowed_items};
pub use engine::{search, search_unless_abandoned};
pub use error::QueryError;
pub use facet_values::{FacetValue, FacetValues, FacetValuesRequest, MAX_FACET_VALUES, facet_values};
pub use filters::FacetField;
pub use interleave::{Team, team_draft};
pub use request::{
    Hit, MAX_FACETS, MAX_FILTER_VALUES, MAX_PER_PAGE, MAX_QUERY_CHARS, MAX_RESULT_WINDOW, SearchRequest,
    SearchResponse, SortOrder,
};
pub use rules::check_rule_filters;
pub use suggest::{MAX_SUGGESTIONS, Suggestions, normalize_query, query_prefix, suggest, suggest_with_popular};
