//! The engines `vitrine eval search` compares, over one tantivy index of the catalogue:
//!
//! - [`VitrineSearch`]: Vitrine's search (`vitrine_query::search`) with the index's settings;
//! - [`PlainBm25`]: the baseline, tantivy's query parser over the stemmed title, words OR-ed,
//!   BM25 only: no typo tolerance, no prefixes, no tiers, no business signals.

use std::sync::Arc;

use tantivy::TantivyDocument;
use tantivy::collector::TopDocs;
use tantivy::query::QueryParser;
use tantivy::schema::Value;
use vitrine_indexer::{ProductIndex, TextField};
use vitrine_models::settings::IndexSettings;
use vitrine_query::SearchRequest;

use crate::search::SearchBackend;

type BackendError = Box<dyn std::error::Error + Send + Sync>;

/// Vitrine's own search.
#[derive(Debug)]
pub struct VitrineSearch {
    index: Arc<ProductIndex>,
    /// Settings to search with instead of the index's own (a draft under evaluation).
    settings: Option<Arc<IndexSettings>>,
}

impl VitrineSearch {
    /// Searches `index` with its settings.
    pub fn new(index: Arc<ProductIndex>) -> Self {
        VitrineSearch { index, settings: None }
    }

    /// Searches `index` with `settings` instead of its own (synonyms, rules, ranking weights and
    /// typo tolerance apply at query time, so a draft needs no re-indexing).
    pub fn with_settings(index: Arc<ProductIndex>, settings: IndexSettings) -> Self {
        VitrineSearch { index, settings: Some(Arc::new(settings)) }
    }
}

impl SearchBackend for VitrineSearch {
    fn search(&self, query: &str, k: usize) -> Result<Vec<String>, BackendError> {
        // A judged query is complete: the trailing space tells the engine the last word is
        // finished (no search-as-you-type prefix expansion).
        let request = SearchRequest { q: format!("{query} "), per_page: Some(k), ..SearchRequest::default() };
        let response = match &self.settings {
            Some(settings) => vitrine_query::search(&self.index, settings, &request)?,
            None => vitrine_query::search(&self.index, &self.index.settings(), &request)?,
        };
        Ok(response.hits.into_iter().map(|hit| hit.id).collect())
    }
}

/// Plain BM25 over the stemmed title: the baseline.
pub struct PlainBm25 {
    index: Arc<ProductIndex>,
    parser: QueryParser,
}

impl std::fmt::Debug for PlainBm25 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlainBm25").finish_non_exhaustive()
    }
}

impl PlainBm25 {
    /// BM25 over `index`'s stemmed titles.
    pub fn new(index: Arc<ProductIndex>) -> Self {
        let title = index.fields().stemmed(TextField::Title);
        let parser = QueryParser::for_index(index.index(), vec![title]);
        PlainBm25 { index, parser }
    }
}

impl SearchBackend for PlainBm25 {
    fn search(&self, query: &str, k: usize) -> Result<Vec<String>, BackendError> {
        // Lenient: shoppers' words are words, not query syntax.
        let (parsed, _) = self.parser.parse_query_lenient(query);
        let searcher = self.index.searcher();
        let top = searcher.search(&parsed, &TopDocs::with_limit(k).order_by_score())?;
        top.into_iter()
            .map(|(_, address)| {
                let document: TantivyDocument = searcher.doc(address)?;
                let id =
                    document.get_first(self.index.fields().id).and_then(|value| value.as_str()).unwrap_or_default();
                Ok(id.to_owned())
            })
            .collect()
    }
}
