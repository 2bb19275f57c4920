//! Highlighting: the words of a hit that matched the query, exact, stemmed, typo-derived or
//! synonyms alike, wrapped in `<em>…</em>` (the rest HTML-escaped).
//!
//! The query's terms are collected per field. Typo, prefix and synonym matches are real term
//! queries here (`derivations.rs`, the synonym spans), so they are all seen; a field's text is
//! marked with its exact and its stemmed analyzer, so that `candles` also marks `candle`.
//!
//! A field's words are found as tantivy's `SnippetGenerator` finds them (the text cut into
//! fragments of at most [`MAX_HIGHLIGHT_CHARS`] bytes, the fragment with the most matches kept),
//! without its per-hit allocations: a hit is tokenized once per analyzer and nothing else.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::ops::Range;

use tantivy::Searcher;
use tantivy::query::Query;
use tantivy::schema::Field;
use tantivy::tokenizer::TextAnalyzer;
use vitrine_indexer::{ProductFields, TextField};
use vitrine_models::Product;

/// Titles and brands are short; the whole text is one fragment.
const MAX_HIGHLIGHT_CHARS: usize = 2_000;

/// Highlights the title and brand of hits for one query.
pub(crate) struct Highlighter {
    fields: Vec<(TextField, [Marker; 2])>,
}

/// The words of one indexed field that the query searched for, and how the field is analyzed.
struct Marker {
    analyzer: TextAnalyzer,
    terms: HashSet<String>,
}

impl Marker {
    /// The byte ranges of `text`'s words that are query terms, in the fragment of at most
    /// [`MAX_HIGHLIGHT_CHARS`] bytes with the most of them (the first such fragment).
    fn matches(&self, text: &str) -> Vec<Range<usize>> {
        if self.terms.is_empty() {
            return Vec::new();
        }
        let mut analyzer = self.analyzer.clone();
        let mut stream = analyzer.token_stream(text);
        let mut best: Vec<Range<usize>> = Vec::new();
        let mut fragment: Vec<Range<usize>> = Vec::new();
        let mut fragment_start = 0;
        while let Some(token) = stream.next() {
            if token.offset_to - fragment_start > MAX_HIGHLIGHT_CHARS {
                if fragment.len() > best.len() {
                    best = std::mem::take(&mut fragment);
                }
                fragment.clear();
                fragment_start = token.offset_from;
            }
            // Terms are compared lower-cased, as the snippet generator compares them.
            let is_term = if token.text.bytes().any(|byte| byte.is_ascii_uppercase() || !byte.is_ascii()) {
                self.terms.contains(&token.text.to_lowercase())
            } else {
                self.terms.contains(&token.text)
            };
            if is_term {
                fragment.push(token.offset_from..token.offset_to);
            }
        }
        if fragment.len() > best.len() {
            best = fragment;
        }
        best
    }
}

impl Highlighter {
    /// The highlighter of `query` (the text part of a search). The query's terms are collected
    /// in one walk; no term statistics are read.
    pub(crate) fn new(searcher: &Searcher, query: &dyn Query, fields: &ProductFields) -> tantivy::Result<Self> {
        let highlighted = [TextField::Title, TextField::Brand];
        let mut terms: HashMap<Field, HashSet<String>> = highlighted
            .iter()
            .flat_map(|&text_field| [fields.exact(text_field), fields.stemmed(text_field)])
            .map(|field| (field, HashSet::new()))
            .collect();
        query.query_terms(&mut |term, _| {
            if let Some(field_terms) = terms.get_mut(&term.field())
                && let Some(text) = term.value().as_str()
                && !field_terms.contains(text)
            {
                field_terms.insert(text.to_owned());
            }
        });
        let mut markers = Vec::new();
        for text_field in highlighted {
            let mut marker = |field: Field| -> tantivy::Result<Marker> {
                let analyzer = searcher.index().tokenizer_for_field(field)?;
                Ok(Marker { analyzer, terms: terms.remove(&field).unwrap_or_default() })
            };
            markers.push((text_field, [marker(fields.exact(text_field))?, marker(fields.stemmed(text_field))?]));
        }
        Ok(Highlighter { fields: markers })
    }

    /// The highlighted fields of a product (only fields with a match).
    pub(crate) fn highlight(&self, product: &Product) -> BTreeMap<String, String> {
        let mut highlights = BTreeMap::new();
        for (text_field, markers) in &self.fields {
            let text = match text_field {
                TextField::Title => Some(product.title.as_str()),
                TextField::Brand => product.brand.as_deref(),
                _ => None,
            };
            let Some(text) = text else {
                continue;
            };
            let mut ranges: Vec<Range<usize>> = markers.iter().flat_map(|marker| marker.matches(text)).collect();
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
