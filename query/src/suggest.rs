//! Autocomplete: products and query completions for what a shopper has typed so far.
//!
//! Products come from the search itself (the last word is a prefix, typos allowed). Query
//! completions are of two kinds: popular past queries that start with what was typed (the caller
//! looks them up, in search analytics, and passes them in), first; then the typed words with the
//! unfinished last word replaced by the index's title words it may be starting, closest first
//! (fewest typos), then most frequent. Finished words that no title contains are replaced by
//! their closest title word (`hart hold` completes to `heart holder`).

use serde::Serialize;
use vitrine_indexer::{ProductIndex, TextField};
use vitrine_models::settings::IndexSettings;

use crate::derivations::derivations;
use crate::engine::search;
use crate::error::QueryError;
use crate::request::{Hit, MAX_QUERY_CHARS, SearchRequest};
use crate::words::query_words;

/// The most suggestions of each kind.
pub const MAX_SUGGESTIONS: usize = 20;

/// What autocomplete offers.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Suggestions {
    /// Completed queries, best first.
    pub queries: Vec<String>,
    /// Matching products, best first.
    pub products: Vec<Hit>,
}

/// A query as analytics stores and counts it: lower-case, words separated by one space, no
/// space at either end (`"  Red   MUG "` is `"red mug"`).
pub fn normalize_query(q: &str) -> String {
    q.split_whitespace().map(str::to_lowercase).collect::<Vec<_>>().join(" ")
}

/// What a shopper has typed so far, normalized like [`normalize_query`] but keeping one trailing
/// space when the last word is finished, so that `"red "` is completed by `"red candle"` and not
/// by `"redwood"`. Empty when nothing but spaces was typed.
pub fn query_prefix(q: &str) -> String {
    let mut prefix = normalize_query(q);
    if !prefix.is_empty() && q.ends_with(char::is_whitespace) {
        prefix.push(' ');
    }
    prefix
}

/// Suggestions for `q`, at most `limit` of each kind, from the index alone.
pub fn suggest(
    index: &ProductIndex,
    settings: &IndexSettings,
    q: &str,
    limit: usize,
) -> Result<Suggestions, QueryError> {
    suggest_with_popular(index, settings, q, limit, &[])
}

/// Suggestions for `q`, at most `limit` of each kind, with `popular` past queries (normalized,
/// most popular first) offered ahead of the completions from the index. Only those starting
/// with what was typed ([`query_prefix`]) are used, so the caller may pass a broader list.
pub fn suggest_with_popular(
    index: &ProductIndex,
    settings: &IndexSettings,
    q: &str,
    limit: usize,
    popular: &[String],
) -> Result<Suggestions, QueryError> {
    if !(1..=MAX_SUGGESTIONS).contains(&limit) {
        return Err(QueryError::InvalidPagination(format!("`limit` must be between 1 and {MAX_SUGGESTIONS}")));
    }
    if q.chars().count() > MAX_QUERY_CHARS {
        return Err(QueryError::QueryTooLong { max: MAX_QUERY_CHARS });
    }
    let (words, _) = query_words(q, settings);
    let Some((last, head)) = words.split_last() else {
        return Ok(Suggestions { queries: Vec::new(), products: Vec::new() });
    };
    let request = SearchRequest { q: q.to_owned(), per_page: Some(limit), ..SearchRequest::default() };
    let products = search(index, settings, &request)?.hits;

    let searcher = index.searcher();
    let title = index.fields().exact(TextField::Title);
    // Finished words no title contains are misspelled: complete the corrected query instead.
    let mut prefix = String::new();
    for word in head {
        prefix.push_str(&corrected(&searcher, title, settings, &word.exact)?);
        prefix.push(' ');
    }
    let completions = if last.is_prefix {
        let budget = settings.typo_tolerance.budget(&last.exact, true);
        derivations(&searcher, title, &last.exact, budget.min(1), true)?
            .into_iter()
            .take(limit)
            .map(|derivation| format!("{prefix}{}", derivation.term))
            .collect()
    } else {
        Vec::new()
    };
    let queries = merge_queries(&query_prefix(q), popular, completions, limit);
    Ok(Suggestions { queries, products })
}

/// A finished word as titles spell it: itself when a title has it, else its closest, most
/// frequent title word within its typo budget, else itself.
fn corrected(
    searcher: &tantivy::Searcher,
    title: tantivy::schema::Field,
    settings: &IndexSettings,
    word: &str,
) -> Result<String, QueryError> {
    if searcher.doc_freq(&tantivy::Term::from_field_text(title, word))? > 0 {
        return Ok(word.to_owned());
    }
    let budget = settings.typo_tolerance.budget(word, false);
    let closest = derivations(searcher, title, word, budget, false)?.into_iter().next();
    Ok(closest.map_or_else(|| word.to_owned(), |derivation| derivation.term))
}

/// The popular queries starting with `typed` first, then the completions, without repeats, at
/// most `limit`.
fn merge_queries(typed: &str, popular: &[String], completions: Vec<String>, limit: usize) -> Vec<String> {
    let mut queries: Vec<String> = Vec::with_capacity(limit);
    let popular = popular.iter().filter(|query| query.starts_with(typed)).cloned();
    for query in popular.chain(completions) {
        if queries.len() == limit {
            break;
        }
        if !queries.contains(&query) {
            queries.push(query);
        }
    }
    queries
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(values: &[&str]) -> Vec<String> {
        values.iter().map(|value| (*value).to_owned()).collect()
    }

    #[test]
    fn queries_are_normalized_and_prefixes_keep_a_finished_word() {
        assert_eq!(normalize_query("  Red   MUG \t"), "red mug");
        assert_eq!(normalize_query("   "), "");
        assert_eq!(query_prefix("Red  mu"), "red mu");
        assert_eq!(query_prefix("Red  "), "red ");
        assert_eq!(query_prefix("  "), "");
    }

    #[test]
    fn popular_queries_come_first_only_if_they_start_with_what_was_typed() {
        let popular = strings(&["red mug", "redwood table", "red candle", "blue mug"]);
        let completions = strings(&["red mug", "red mat"]);
        assert_eq!(
            merge_queries("red ", &popular, completions.clone(), 5),
            strings(&["red mug", "red candle", "red mat"])
        );
        assert_eq!(merge_queries("red", &popular, completions.clone(), 2), strings(&["red mug", "redwood table"]));
        assert_eq!(merge_queries("red m", &[], completions, 5), strings(&["red mug", "red mat"]));
    }
}
