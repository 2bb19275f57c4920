//! Query analysis: a query's words as the rest of the search consumes them. Each word comes in
//! its exact form (what the exact analyzer gives), with its stem (`None` for a stop word), and the
//! unfinished last word is marked as a prefix (search as you type). The text query, synonyms,
//! merchandising rule conditions and autocomplete all read these words.

use std::sync::OnceLock;

use tantivy::tokenizer::TextAnalyzer;
use vitrine_indexer::{exact_analyzer, stemmed_analyzer};

use crate::request::MAX_QUERY_WORDS;

/// One analysed query word.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct QueryWord {
    /// Position among the query's words (stop words included).
    pub(crate) position: usize,
    /// The word as the exact analyzer gives it.
    pub(crate) exact: String,
    /// Its stem, or `None` for a stop word.
    pub(crate) stem: Option<String>,
    /// The last word, not followed by a space: it may be unfinished.
    pub(crate) is_prefix: bool,
}

fn analyse(analyzer: &mut TextAnalyzer, text: &str) -> Vec<String> {
    let mut stream = analyzer.token_stream(text);
    let mut tokens = Vec::new();
    while let Some(token) = stream.next() {
        tokens.push(token.text.clone());
    }
    tokens
}

/// Splits a query into words; returns them and the words past [`MAX_QUERY_WORDS`].
pub(crate) fn query_words(q: &str) -> (Vec<QueryWord>, Vec<String>) {
    // Building the stemmed analyzer builds its stop-word set: build both once, clone them.
    static ANALYZERS: OnceLock<(TextAnalyzer, TextAnalyzer)> = OnceLock::new();
    let (exact, stemmed) = ANALYZERS.get_or_init(|| (exact_analyzer(), stemmed_analyzer()));
    let (mut exact, mut stemmed) = (exact.clone(), stemmed.clone());
    let mut tokens = analyse(&mut exact, q);
    let ignored = if tokens.len() > MAX_QUERY_WORDS { tokens.split_off(MAX_QUERY_WORDS) } else { Vec::new() };
    let last_is_unfinished = ignored.is_empty() && !q.ends_with(char::is_whitespace);
    let count = tokens.len();
    let words = tokens
        .into_iter()
        .enumerate()
        .map(|(position, token)| QueryWord {
            position,
            stem: analyse(&mut stemmed, &token).into_iter().next(),
            is_prefix: last_is_unfinished && position + 1 == count,
            exact: token,
        })
        .collect();
    (words, ignored)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_words_mark_stop_words_and_the_unfinished_last_word() {
        let (words, ignored) = query_words("The red Candle holdr");
        let exact: Vec<_> = words.iter().map(|word| word.exact.as_str()).collect();
        assert_eq!(exact, ["the", "red", "candle", "holdr"]);
        assert_eq!(words[0].stem, None, "a stop word has no stem");
        assert_eq!(words[2].stem.as_deref(), Some("candl"));
        assert!(words[3].is_prefix && !words[2].is_prefix);
        assert!(ignored.is_empty());
        let (words, _) = query_words("red candle ");
        assert!(!words[1].is_prefix, "a trailing space finishes the last word");
        let (words, ignored) = query_words(&"word ".repeat(20));
        assert_eq!((words.len(), ignored.len()), (MAX_QUERY_WORDS, 20 - MAX_QUERY_WORDS));
    }
}
