//! Query analysis: a query's words as the rest of the search consumes them. Each word comes in
//! its exact form (what the exact analyzer gives: lower case, accents folded), with its stem in the
//! index's language (`None` for a stop word of that language) and in each text field's language,
//! and the unfinished last word is marked as a prefix (search as you type). The text query,
//! synonyms, merchandising rule conditions and autocomplete all read these words.
//!
//! A word is stemmed from its lower-cased form, accents and all, by the filters its field's text
//! went through (`vitrine_indexer::word_stemmer`): `pommes` stems like the French index's
//! `Pommes`, `käse` like the German index's `Käse`.

use std::collections::HashMap;
use std::sync::OnceLock;

use tantivy::tokenizer::TextAnalyzer;
use vitrine_indexer::{TextField, query_word_splitter, text_languages, word_folder, word_stemmer};
use vitrine_models::settings::{IndexSettings, Language};

use crate::request::MAX_QUERY_WORDS;

/// One analysed query word.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct QueryWord {
    /// Position among the query's words (stop words included).
    pub(crate) position: usize,
    /// The word as the exact analyzer gives it.
    pub(crate) exact: String,
    /// Its stem in the index's language, or `None` for a stop word of that language (it adds
    /// relevance, it is never required).
    pub(crate) stem: Option<String>,
    /// Its stem in each text field's language, [`TextField::ALL`] order: `stem`, unless the field
    /// has a language of its own (`None` where that language drops it).
    field_stems: [Option<String>; 5],
    /// The last word, not followed by a space: it may be unfinished.
    pub(crate) is_prefix: bool,
}

impl QueryWord {
    /// Its stem in the language of `field`'s stemmed copy.
    pub(crate) fn stem_in(&self, field: TextField) -> Option<&str> {
        self.field_stems[field as usize].as_deref()
    }
}

/// The analyzers of query words, built once (a stemmer builds its stop-word set) and cloned per
/// query.
struct Analyzers {
    splitter: TextAnalyzer,
    folder: TextAnalyzer,
    stemmers: HashMap<Language, TextAnalyzer>,
}

fn analyzers() -> &'static Analyzers {
    static ANALYZERS: OnceLock<Analyzers> = OnceLock::new();
    ANALYZERS.get_or_init(|| Analyzers {
        splitter: query_word_splitter(),
        folder: word_folder(),
        stemmers: Language::ALL.into_iter().map(|language| (language, word_stemmer(language))).collect(),
    })
}

fn analyse(analyzer: &mut TextAnalyzer, text: &str) -> Vec<String> {
    let mut stream = analyzer.token_stream(text);
    let mut tokens = Vec::new();
    while let Some(token) = stream.next() {
        tokens.push(token.text.clone());
    }
    tokens
}

/// The stemmers one query needs, cloned from the shared ones on first use.
#[derive(Default)]
struct Stemmers(HashMap<Language, TextAnalyzer>);

impl Stemmers {
    /// The stem of a lower-cased word in `language`; `None` for a stop word.
    fn stem(&mut self, language: Language, word: &str) -> Option<String> {
        let stemmer = self.0.entry(language).or_insert_with(|| match analyzers().stemmers.get(&language) {
            Some(shared) => shared.clone(),
            None => word_stemmer(language),
        });
        analyse(stemmer, word).into_iter().next()
    }
}

/// A lower-cased word's exact form (accents folded).
fn fold(folder: &mut TextAnalyzer, word: &str) -> String {
    analyse(folder, word).into_iter().next().unwrap_or_else(|| word.to_owned())
}

/// Splits a query into words, analysed in the languages of `settings`; returns them and the
/// words past [`MAX_QUERY_WORDS`] (exact forms).
pub(crate) fn query_words(q: &str, settings: &IndexSettings) -> (Vec<QueryWord>, Vec<String>) {
    let shared = analyzers();
    let (mut splitter, mut folder) = (shared.splitter.clone(), shared.folder.clone());
    let mut stemmers = Stemmers::default();
    let languages = text_languages(settings);
    let mut tokens = analyse(&mut splitter, q);
    let ignored = if tokens.len() > MAX_QUERY_WORDS { tokens.split_off(MAX_QUERY_WORDS) } else { Vec::new() };
    let last_is_unfinished = ignored.is_empty() && !q.ends_with(char::is_whitespace);
    let count = tokens.len();
    let words = tokens
        .into_iter()
        .enumerate()
        .map(|(position, token)| {
            let stem = stemmers.stem(settings.language, &token);
            let field_stems = languages.map(|language| match language == settings.language {
                true => stem.clone(),
                false => stemmers.stem(language, &token),
            });
            QueryWord {
                position,
                exact: fold(&mut folder, &token),
                stem,
                field_stems,
                is_prefix: last_is_unfinished && position + 1 == count,
            }
        })
        .collect();
    let ignored = ignored.iter().map(|word| fold(&mut folder, word)).collect();
    (words, ignored)
}

/// The exact forms of a text's words, in every language alike (for comparing queries).
pub(crate) fn exact_words(text: &str) -> Vec<String> {
    let shared = analyzers();
    let (mut splitter, mut folder) = (shared.splitter.clone(), shared.folder.clone());
    analyse(&mut splitter, text).iter().map(|word| fold(&mut folder, word)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn in_language(language: Language) -> IndexSettings {
        IndexSettings { language, ..IndexSettings::default() }
    }

    #[test]
    fn query_words_mark_stop_words_and_the_unfinished_last_word() {
        let english = IndexSettings::default();
        let (words, ignored) = query_words("The red Candle holdr", &english);
        let exact: Vec<_> = words.iter().map(|word| word.exact.as_str()).collect();
        assert_eq!(exact, ["the", "red", "candle", "holdr"]);
        assert_eq!(words[0].stem, None, "a stop word has no stem");
        assert_eq!(words[2].stem.as_deref(), Some("candl"));
        assert!(words[3].is_prefix && !words[2].is_prefix);
        assert!(ignored.is_empty());
        let (words, _) = query_words("red candle ", &english);
        assert!(!words[1].is_prefix, "a trailing space finishes the last word");
        let (words, ignored) = query_words(&"word ".repeat(20), &english);
        assert_eq!((words.len(), ignored.len()), (MAX_QUERY_WORDS, 20 - MAX_QUERY_WORDS));
    }

    #[test]
    fn query_words_are_stemmed_in_the_index_language_from_their_accented_form() {
        let french = in_language(Language::French);
        let (words, _) = query_words("Pommes de la Crème ", &french);
        let exact: Vec<_> = words.iter().map(|word| word.exact.as_str()).collect();
        assert_eq!(exact, ["pommes", "de", "la", "creme"], "exact forms are folded in every language");
        let stems: Vec<_> = words.iter().map(|word| word.stem.as_deref()).collect();
        assert_eq!(stems, [Some("pomm"), None, None, Some("crem")], "French stop words, French stems");
        let (typed_bare, _) = query_words("creme", &french);
        assert_eq!(typed_bare[0].stem, words[3].stem, "a missing accent stems alike");
        let (english, _) = query_words("Pommes de la Crème ", &IndexSettings::default());
        assert_eq!(english[1].stem.as_deref(), Some("de"), "`de` is no English stop word");

        let german = in_language(Language::German);
        let (umlaut, _) = query_words("Käse", &german);
        let (bare, _) = query_words("kase", &german);
        assert_eq!((umlaut[0].exact.as_str(), umlaut[0].stem.as_deref()), ("kase", Some("kas")));
        assert_eq!(bare[0].stem, umlaut[0].stem);
    }

    #[test]
    fn a_field_with_its_own_language_gets_its_own_stems() {
        let mut settings = in_language(Language::French);
        settings.field_languages.description = Some(Language::German);
        let (words, _) = query_words("die pommes ", &settings);
        assert_eq!(words[0].stem.as_deref(), Some("di"), "not a French stop word");
        assert_eq!(words[0].stem_in(TextField::Title), Some("di"));
        assert_eq!(words[0].stem_in(TextField::Description), None, "a German stop word");
        assert_eq!(words[1].stem_in(TextField::Title), Some("pomm"));
        assert_eq!(exact_words("Crème  BRÛLÉE"), ["creme", "brulee"]);
    }
}
