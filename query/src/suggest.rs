//! Autocomplete: products and query completions for what a shopper has typed so far.
//!
//! Products come from the search itself (the last word is a prefix, typos allowed). Query
//! completions replace the unfinished last word by the index's title words it may be starting,
//! closest first (fewest typos), then most frequent.

use serde::Serialize;
use vitrine_indexer::{ProductIndex, TextField};
use vitrine_models::settings::IndexSettings;

use crate::derivations::derivations;
use crate::engine::{query_words, search};
use crate::error::QueryError;
use crate::request::{Hit, MAX_QUERY_CHARS, SearchRequest};

/// The most suggestions of each kind.
pub const MAX_SUGGESTIONS: usize = 20;

/// What autocomplete offers.
#[derive(Debug, Clone, Serialize)]
pub struct Suggestions {
    /// Completed queries, best first.
    pub queries: Vec<String>,
    /// Matching products, best first.
    pub products: Vec<Hit>,
}

/// Suggestions for `q`, at most `limit` of each kind.
pub fn suggest(
    index: &ProductIndex,
    settings: &IndexSettings,
    q: &str,
    limit: usize,
) -> Result<Suggestions, QueryError> {
    if !(1..=MAX_SUGGESTIONS).contains(&limit) {
        return Err(QueryError::InvalidPagination(format!("`limit` must be between 1 and {MAX_SUGGESTIONS}")));
    }
    if q.chars().count() > MAX_QUERY_CHARS {
        return Err(QueryError::QueryTooLong { max: MAX_QUERY_CHARS });
    }
    let (words, _) = query_words(q);
    let Some((last, head)) = words.split_last() else {
        return Ok(Suggestions { queries: Vec::new(), products: Vec::new() });
    };
    let request = SearchRequest { q: q.to_owned(), per_page: Some(limit), ..SearchRequest::default() };
    let products = search(index, settings, &request)?.hits;

    let prefix: String = head.iter().map(|word| format!("{} ", word.exact)).collect();
    let queries = if last.is_prefix {
        let budget = settings.typo_tolerance.budget(&last.exact, true);
        let searcher = index.searcher();
        derivations(&searcher, index.fields().exact(TextField::Title), &last.exact, budget.min(1), true)?
            .into_iter()
            .take(limit)
            .map(|derivation| format!("{prefix}{}", derivation.term))
            .collect()
    } else {
        Vec::new()
    };
    Ok(Suggestions { queries, products })
}
