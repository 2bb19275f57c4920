//! Query-time synonyms: the runs of query words that match a synonym rule's phrase, and the
//! phrases they also search for. A query word stands for a phrase word when it is the same word,
//! has the same stem or (the unfinished last word) starts it; the longest phrase wins, left to
//! right. The text query (`text.rs`) turns each span into "its words as typed, or any synonym
//! phrase in full".

use vitrine_models::settings::{IndexSettings, Synonym};

use crate::words::{QueryWord, query_words};

/// Query words `start..end` that match a synonym rule's phrase, and what they also search for.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SynonymSpan {
    pub(crate) start: usize,
    pub(crate) end: usize,
    pub(crate) alternatives: Vec<Vec<QueryWord>>,
}

/// The words of a synonym phrase, analysed like query words (all finished).
fn phrase_words(phrase: &str, settings: &IndexSettings) -> Vec<QueryWord> {
    let (mut words, _) = query_words(phrase, settings);
    words.iter_mut().for_each(|word| word.is_prefix = false);
    words
}

/// Whether a query word stands for a phrase word: the same word, the same stem, or (for the
/// unfinished last word) a prefix of it.
fn stands_for(query: &QueryWord, phrase: &QueryWord) -> bool {
    query.exact == phrase.exact
        || (query.stem.is_some() && query.stem == phrase.stem)
        || (query.is_prefix && phrase.exact.starts_with(&query.exact))
}

/// Finds, left to right, the longest phrase of the synonym rules of `settings` at each position
/// (phrases analysed in the index's languages, like the query); spans do not overlap.
pub(crate) fn synonym_spans(words: &[QueryWord], settings: &IndexSettings) -> Vec<SynonymSpan> {
    if settings.synonyms.is_empty() {
        return Vec::new();
    }
    let rules: Vec<(Vec<QueryWord>, Vec<Vec<QueryWord>>)> = settings
        .synonyms
        .iter()
        .flat_map(Synonym::expansions)
        .map(|(input, alternatives)| {
            let alternatives = alternatives
                .into_iter()
                .map(|phrase| phrase_words(phrase, settings))
                .filter(|words| !words.is_empty())
                .collect();
            (phrase_words(input, settings), alternatives)
        })
        .filter(|(input, _)| !input.is_empty())
        .collect();
    let mut spans = Vec::new();
    let mut start = 0;
    while start < words.len() {
        let mut best: Option<SynonymSpan> = None;
        for (input, alternatives) in &rules {
            let end = start + input.len();
            if end > words.len()
                || !input.iter().zip(&words[start..end]).all(|(phrase, query)| stands_for(query, phrase))
            {
                continue;
            }
            match &mut best {
                Some(span) if span.end == end => span.alternatives.extend(alternatives.iter().cloned()),
                Some(span) if span.end > end => {}
                _ => best = Some(SynonymSpan { start, end, alternatives: alternatives.clone() }),
            }
        }
        match best {
            Some(span) => {
                start = span.end;
                spans.push(span);
            }
            None => start += 1,
        }
    }
    spans
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synonym_spans_take_the_longest_phrase_by_word_stem_or_prefix() {
        let rules = IndexSettings {
            synonyms: vec![
                Synonym::MultiWay { terms: vec!["sofa bed".into(), "sleeper sofa".into()] },
                Synonym::MultiWay { terms: vec!["sofa".into(), "couch".into()] },
                Synonym::OneWay { input: "tv".into(), synonyms: vec!["television".into()] },
            ],
            ..IndexSettings::default()
        };
        let (words, _) = query_words("cheap sofa beds", &rules);
        let spans = synonym_spans(&words, &rules);
        assert_eq!(spans.len(), 1);
        assert_eq!((spans[0].start, spans[0].end), (1, 3), "`sofa beds` is `sofa bed` by stem, longest first");
        assert_eq!(spans[0].alternatives[0].iter().map(|w| w.exact.as_str()).collect::<Vec<_>>(), ["sleeper", "sofa"]);

        let (words, _) = query_words("big tv", &rules);
        assert_eq!(synonym_spans(&words, &rules)[0].alternatives[0][0].exact, "television");
        let (words, _) = query_words("television", &rules);
        assert!(synonym_spans(&words, &rules).is_empty(), "one-way rules do not run backwards");
        let (words, _) = query_words("grey cou", &rules);
        assert_eq!(synonym_spans(&words, &rules)[0].alternatives[0][0].exact, "sofa", "a prefix while typing");
    }

    #[test]
    fn synonym_phrases_are_stemmed_in_the_index_language() {
        let french = IndexSettings {
            language: vitrine_models::settings::Language::French,
            synonyms: vec![Synonym::OneWay { input: "pâte à tartiner".into(), synonyms: vec!["nutella".into()] }],
            ..IndexSettings::default()
        };
        // `pates` is `pâte` by its French stem; `a` is the stop word `à`, folded.
        let (words, _) = query_words("pates a tartiner ", &french);
        let spans = synonym_spans(&words, &french);
        assert_eq!(spans.len(), 1, "{words:?}");
        assert_eq!((spans[0].start, spans[0].end), (0, 3));
    }
}
