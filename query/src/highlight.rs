//! Highlighting: the words of a hit that matched the query, exact, stemmed, typo-derived or
//! synonyms alike, wrapped in `<em>…</em>` (the rest HTML-escaped).
//!
//! tantivy's `SnippetGenerator` collects the query's terms per field. Typo, prefix and synonym
//! matches are real term queries here (`derivations.rs`, the synonym spans), so it sees them
//! all; an exact and a stemmed generator per field are combined so that `candles` also marks
//! `candle`.

use std::collections::BTreeMap;
use std::ops::Range;

use tantivy::query::Query;
use tantivy::schema::Field;
use tantivy::snippet::SnippetGenerator;
use tantivy::{Score, Searcher};
use vitrine_indexer::{ProductFields, TextField};
use vitrine_models::Product;

/// Titles and brands are short; the whole text is one fragment.
const MAX_HIGHLIGHT_CHARS: usize = 2_000;

/// Highlights the title and brand of hits for one query.
pub(crate) struct Highlighter {
    generators: Vec<(TextField, [SnippetGenerator; 2])>,
}

impl Highlighter {
    /// The highlighter of `query` (the text part of a search). The query's terms are collected
    /// in one walk; no term statistics are read (the whole text is the fragment, so fragment
    /// scores do not matter).
    pub(crate) fn new(searcher: &Searcher, query: &dyn Query, fields: &ProductFields) -> tantivy::Result<Self> {
        let highlighted = [TextField::Title, TextField::Brand];
        let mut terms: BTreeMap<Field, BTreeMap<String, Score>> = BTreeMap::new();
        query.query_terms(&mut |term, _| {
            if let Some(text) = term.value().as_str() {
                terms.entry(term.field()).or_default().insert(text.to_owned(), 1.0);
            }
        });
        let mut generators = Vec::new();
        for text_field in highlighted {
            let generator = |field: Field| -> tantivy::Result<SnippetGenerator> {
                let tokenizer = searcher.index().tokenizer_for_field(field)?;
                let field_terms = terms.get(&field).cloned().unwrap_or_default();
                Ok(SnippetGenerator::new(field_terms, tokenizer, field, MAX_HIGHLIGHT_CHARS))
            };
            generators
                .push((text_field, [generator(fields.exact(text_field))?, generator(fields.stemmed(text_field))?]));
        }
        Ok(Highlighter { generators })
    }

    /// The highlighted fields of a product (only fields with a match).
    pub(crate) fn highlight(&self, product: &Product) -> BTreeMap<String, String> {
        let mut highlights = BTreeMap::new();
        for (text_field, generators) in &self.generators {
            let text = match text_field {
                TextField::Title => Some(product.title.as_str()),
                TextField::Brand => product.brand.as_deref(),
                _ => None,
            };
            let Some(text) = text else {
                continue;
            };
            let mut ranges: Vec<Range<usize>> = generators
                .iter()
                .flat_map(|generator| {
                    let snippet = generator.snippet(text);
                    let offset = snippet.fragment_range().start;
                    snippet
                        .highlighted()
                        .iter()
                        .map(move |range| range.start + offset..range.end + offset)
                        .collect::<Vec<_>>()
                })
                .collect();
            if !ranges.is_empty() {
                highlights.insert(text_field.name().to_owned(), mark(text, &mut ranges));
            }
        }
        highlights
    }
}

/// `text` with the (possibly overlapping) byte ranges wrapped in `<em>`, everything escaped.
fn mark(text: &str, ranges: &mut [Range<usize>]) -> String {
    ranges.sort_by_key(|range| (range.start, range.end));
    let mut html = String::with_capacity(text.len() + ranges.len() * 9);
    let mut done = 0;
    for range in ranges.iter() {
        if range.end <= done || !text.is_char_boundary(range.start) || !text.is_char_boundary(range.end) {
            continue;
        }
        let start = range.start.max(done);
        escape_into(&mut html, &text[done..start]);
        html.push_str("<em>");
        escape_into(&mut html, &text[start..range.end]);
        html.push_str("</em>");
        done = range.end;
    }
    escape_into(&mut html, &text[done..]);
    html.replace("</em><em>", "")
}

fn escape_into(html: &mut String, text: &str) {
    for character in text.chars() {
        match character {
            '&' => html.push_str("&amp;"),
            '<' => html.push_str("&lt;"),
            '>' => html.push_str("&gt;"),
            '"' => html.push_str("&quot;"),
            '\'' => html.push_str("&#x27;"),
            other => html.push(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_merge_overlaps_and_escape_the_rest() {
        assert_eq!(mark("Red <b>mug</b>", &mut [0..3, 7..10]), "<em>Red</em> &lt;b&gt;<em>mug</em>&lt;/b&gt;");
        assert_eq!(mark("candles", &mut [0..6, 0..7]), "<em>candles</em>");
        assert_eq!(mark("tea & cake", &mut []), "tea &amp; cake");
    }
}
