//! Text analysis: how a text field's words become terms, in the index's language.
//!
//! Every text field is indexed twice (`schema.rs`):
//!
//! - its **exact** copy is split on non-alphanumerics, lower-cased and ASCII-folded, in every
//!   language alike: `Crème` is `creme`, `Käse` is `kase`. Typo tolerance and prefixes work on
//!   these terms, so a shopper who types no accents (or a typo on top: `chocolt`) still matches.
//! - its **stemmed** copy is analysed in the field's language ([`TextField::language`]): the
//!   language's stop words are dropped and its Snowball stemmer applied (`pommes` is `pomm`), then
//!   it is ASCII-folded. Stemmers of accented languages expect their accents (the French one reads
//!   `é`, the German one `ä`, `ö`, `ü`), so the folding comes after them. English keeps its
//!   historical order, folding first: its stemmer knows only ASCII letters, and every English
//!   index built before languages existed keeps the terms it has.
//!
//! Each stemmed field has its own tokenizer name in the schema, registered at opening with the
//! analyzer of the field's language from the settings ([`register_analyzers`]), so the index,
//! its highlighter and tantivy's query parser all analyse a field alike. Query words are analysed
//! one at a time with [`word_stemmer`], the same filters as the field's analyzer.

use std::collections::BTreeMap;

use tantivy::Index;
use tantivy::schema::Schema;
use tantivy::tokenizer::{
    AsciiFoldingFilter, LowerCaser, RawTokenizer, RemoveLongFilter, SimpleTokenizer, Stemmer, StopWordFilter,
    TextAnalyzer, TextAnalyzerBuilder, Tokenizer,
};
use vitrine_models::settings::{IndexSettings, Language};

use crate::schema::{EXACT_ANALYZER, TextField};

/// Tokens longer than this are dropped (they are noise: hashes, URLs).
const MAX_TOKEN_LEN: usize = 40;

/// tantivy's name of a language.
fn tantivy_language(language: Language) -> tantivy::tokenizer::Language {
    use tantivy::tokenizer::Language as Tantivy;
    match language {
        Language::Arabic => Tantivy::Arabic,
        Language::Danish => Tantivy::Danish,
        Language::German => Tantivy::German,
        Language::Greek => Tantivy::Greek,
        Language::English => Tantivy::English,
        Language::Spanish => Tantivy::Spanish,
        Language::Finnish => Tantivy::Finnish,
        Language::French => Tantivy::French,
        Language::Hungarian => Tantivy::Hungarian,
        Language::Italian => Tantivy::Italian,
        Language::Dutch => Tantivy::Dutch,
        Language::Norwegian => Tantivy::Norwegian,
        Language::Portuguese => Tantivy::Portuguese,
        Language::Romanian => Tantivy::Romanian,
        Language::Russian => Tantivy::Russian,
        Language::Swedish => Tantivy::Swedish,
        Language::Tamil => Tantivy::Tamil,
        Language::Turkish => Tantivy::Turkish,
    }
}

/// The language's filters after lower-casing: stop words and stemming, with the ASCII folding
/// before them (English) or after them (every other language). Static chains, not boxed filters:
/// this runs on every word indexed.
fn stem_and_fold<T: Tokenizer>(lower_cased: TextAnalyzerBuilder<T>, language: Language) -> TextAnalyzer {
    let tantivy = tantivy_language(language);
    let stemmer = Stemmer::new(tantivy);
    match (language == Language::English, StopWordFilter::new(tantivy)) {
        (true, Some(stop_words)) => lower_cased.filter(AsciiFoldingFilter).filter(stop_words).filter(stemmer).build(),
        (true, None) => lower_cased.filter(AsciiFoldingFilter).filter(stemmer).build(),
        (false, Some(stop_words)) => lower_cased.filter(stop_words).filter(stemmer).filter(AsciiFoldingFilter).build(),
        (false, None) => lower_cased.filter(stemmer).filter(AsciiFoldingFilter).build(),
    }
}

/// The stemmed analyzer of a text field in `language`: split on non-alphanumerics, lower-case,
/// drop the language's stop words, stem, fold accents (English folds before its stop words).
pub fn stemmed_analyzer(language: Language) -> TextAnalyzer {
    let lower_cased = TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(MAX_TOKEN_LEN))
        .filter(LowerCaser);
    stem_and_fold(lower_cased, language)
}

/// The stem of one query word in `language`, with the filters of [`stemmed_analyzer`]: its one
/// token is the stem, none for a stop word. The word must come from [`query_word_splitter`]
/// (lower-cased, not folded), so that it is split exactly as the fields' text is.
pub fn word_stemmer(language: Language) -> TextAnalyzer {
    stem_and_fold(TextAnalyzer::builder(RawTokenizer::default()).filter(LowerCaser), language)
}

/// Splits a query into the words the text fields would have: split on non-alphanumerics, too
/// long ones dropped, lower-cased; not folded (see [`word_folder`]) nor stemmed.
pub fn query_word_splitter() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(MAX_TOKEN_LEN))
        .filter(LowerCaser)
        .build()
}

/// The exact form of one word from [`query_word_splitter`]: its ASCII folding, as the exact
/// fields hold it.
pub fn word_folder() -> TextAnalyzer {
    TextAnalyzer::builder(RawTokenizer::default()).filter(AsciiFoldingFilter).build()
}

/// The exact analyzer: split on non-alphanumerics, lower-case, fold accents. Nothing else, in
/// every language.
pub fn exact_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(MAX_TOKEN_LEN))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .build()
}

impl TextField {
    /// The language the field is analysed in under `settings`: its own (`field_languages`) or the
    /// index's.
    pub fn language(self, settings: &IndexSettings) -> Language {
        let own = &settings.field_languages;
        let field_language = match self {
            TextField::Title => own.title,
            TextField::Brand => own.brand,
            TextField::Category => own.category,
            TextField::Attributes => own.attributes,
            TextField::Description => own.description,
        };
        field_language.unwrap_or(settings.language)
    }
}

/// The languages the text fields are analysed in, [`TextField::ALL`] order.
pub fn text_languages(settings: &IndexSettings) -> [Language; 5] {
    TextField::ALL.map(|field| field.language(settings))
}

/// What differs between the text analysis of two settings, for people (`` `title`: en → fr``);
/// `None` when they analyse every text field alike.
pub fn language_change(before: &IndexSettings, after: &IndexSettings) -> Option<String> {
    let changes: Vec<String> = TextField::ALL
        .into_iter()
        .filter(|field| field.language(before) != field.language(after))
        .map(|field| format!("`{}`: {} → {}", field.name(), field.language(before), field.language(after)))
        .collect();
    (!changes.is_empty()).then(|| changes.join(", "))
}

/// The stemmed fields' analyzer names in `index`'s schema, each with the language `settings` give
/// it. An index whose stemmed fields share one name (created before fields had their own
/// languages) takes one language for all of them.
///
/// # Errors
/// Settings giving such fields different languages (the reason, for people), or a schema that is
/// not the product schema.
pub(crate) fn analyzers(index: &Index, settings: &IndexSettings) -> Result<BTreeMap<String, Language>, String> {
    let names = stemmed_analyzer_names(&index.schema())?;
    let mut languages = BTreeMap::new();
    for (field, name) in TextField::ALL.into_iter().zip(names) {
        let language = field.language(settings);
        match languages.insert(name, language) {
            Some(other) if other != language => {
                return Err(format!(
                    "this index was created before text fields had their own languages: one language \
                     analyses all of them, so `{}` cannot be {language} while another field is {other}; \
                     reindex into a new index to give its fields their own languages",
                    field.name()
                ));
            }
            _ => {}
        }
    }
    Ok(languages)
}

/// Registers the exact analyzer and each stemmed field's analyzer, in its language under
/// `settings`, on `index`: needed after every open, and when the languages of an empty index
/// change.
///
/// # Errors
/// As [`analyzers`].
pub(crate) fn register_analyzers(index: &Index, settings: &IndexSettings) -> Result<(), String> {
    for (name, language) in analyzers(index, settings)? {
        index.tokenizers().register(&name, stemmed_analyzer(language));
    }
    index.tokenizers().register(EXACT_ANALYZER, exact_analyzer());
    Ok(())
}

/// The analyzer name each stemmed field has in `schema`, [`TextField::ALL`] order.
fn stemmed_analyzer_names(schema: &Schema) -> Result<[String; 5], String> {
    let mut names = Vec::with_capacity(TextField::ALL.len());
    for field in TextField::ALL {
        let name = field.stemmed_field_name();
        let entry = schema.get_field(name).map(|handle| schema.get_field_entry(handle)).map_err(|e| e.to_string())?;
        let tokenizer = match entry.field_type() {
            tantivy::schema::FieldType::Str(options) => options.get_indexing_options().map(|o| o.tokenizer()),
            _ => None,
        };
        names.push(tokenizer.ok_or_else(|| format!("the field `{name}` is not an indexed text field"))?.to_owned());
    }
    Ok(names.try_into().unwrap_or_else(|_| unreachable!("five text fields")))
}

#[cfg(test)]
mod tests {
    use tantivy::tokenizer::TokenStream;

    use super::*;

    fn tokens(mut analyzer: TextAnalyzer, text: &str) -> Vec<String> {
        let mut stream = analyzer.token_stream(text);
        let mut out = Vec::new();
        while stream.advance() {
            out.push(stream.token().text.clone());
        }
        out
    }

    #[test]
    fn english_text_is_analysed_as_before_languages_existed() {
        let english = stemmed_analyzer(Language::English);
        assert_eq!(tokens(english.clone(), "The Crème Mugs of Candles"), ["creme", "mug", "candl"]);
        // Folding first: the English stemmer sees `cafes`, not `cafés`.
        assert_eq!(tokens(english, "Cafés naïve"), ["cafe", "naiv"]);
        assert_eq!(tokens(exact_analyzer(), "The Crème Mugs of Candles"), ["the", "creme", "mugs", "of", "candles"]);
    }

    #[test]
    fn french_text_drops_french_stop_words_and_stems_before_folding() {
        let french = stemmed_analyzer(Language::French);
        assert_eq!(tokens(french.clone(), "Pommes de la Normandie"), ["pomm", "normand"]);
        assert_eq!(tokens(french.clone(), "pomme"), ["pomm"]);
        // The stemmer reads the accents; the stem is folded after it, as a typed `creme` is.
        assert_eq!(tokens(french.clone(), "crème fraîche"), tokens(french.clone(), "creme fraiche"));
        assert_eq!(tokens(french.clone(), "Céréales"), ["cereal"]);
        assert_eq!(tokens(french, "à l'huile d'olive"), ["huil", "oliv"], "`à`, `l`, `d` are stop words");
        // The exact copy is the same in every language.
        assert_eq!(tokens(exact_analyzer(), "Crème brûlée"), ["creme", "brulee"]);
    }

    #[test]
    fn german_stems_umlauts_whether_typed_or_not() {
        let german = stemmed_analyzer(Language::German);
        assert_eq!(tokens(german.clone(), "Käse"), tokens(german.clone(), "kase"));
        assert_eq!(tokens(german, "der Käse und die Brötchen"), ["kas", "brotch"]);
        assert_eq!(tokens(exact_analyzer(), "Käse"), ["kase"]);
    }

    #[test]
    fn a_query_word_stems_like_the_field_text() {
        for language in Language::ALL {
            let mut splitter = query_word_splitter();
            let mut stream = splitter.token_stream("Pommes Käse CRÈME candles");
            let mut words = Vec::new();
            while stream.advance() {
                words.push(stream.token().text.clone());
            }
            for word in words {
                assert_eq!(
                    tokens(word_stemmer(language), &word),
                    tokens(stemmed_analyzer(language), &word),
                    "{language}: `{word}`"
                );
            }
        }
        assert_eq!(tokens(word_stemmer(Language::French), "de"), Vec::<String>::new(), "a stop word has no stem");
        assert_eq!(tokens(word_folder(), "crème"), ["creme"]);
    }

    #[test]
    fn field_languages_override_the_index_language_and_changes_are_named() {
        let mut settings = IndexSettings { language: Language::French, ..IndexSettings::default() };
        settings.field_languages.description = Some(Language::German);
        assert_eq!(
            text_languages(&settings),
            [Language::French, Language::French, Language::French, Language::French, Language::German]
        );
        assert_eq!(language_change(&settings, &settings.clone()), None);
        let mut same = settings.clone();
        same.field_languages.title = Some(Language::French);
        assert_eq!(language_change(&settings, &same), None, "naming the index's language changes nothing");
        assert_eq!(
            language_change(&IndexSettings::default(), &settings).as_deref(),
            Some(
                "`title`: en → fr, `brand`: en → fr, `category`: en → fr, `attributes`: en → fr, `description`: en → de"
            )
        );
    }
}
