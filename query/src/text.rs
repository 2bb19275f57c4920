//! The text part of a search: each query word's ranking tiers, synonym phrases expanded into the
//! query, and the phrase bonus.
//!
//! ## How the text query ranks (Meilisearch's bucket order, in scores)
//! Each query word becomes a disjunction of tiers and scores the best tier it reaches:
//!
//! | tier | score |
//! |---|---|
//! | exact (exact or stemmed form, any text field) | `WORD + EXACT + weighted BM25` |
//! | prefix of a title/brand/category/attribute word (last word only, search as you type) | `WORD + PREFIX + BM25` |
//! | one typo (words of 5+ letters by default) | `WORD + ONE_TYPO + BM25` |
//! | two typos (words of 9+ letters by default) | `WORD + TWO_TYPOS + BM25` |
//!
//! tantivy scores every fuzzy match 1.0 (its issue #563), so typo and prefix matches are not
//! fuzzy queries: the word is expanded into the index's real terms within its budget
//! (`derivations.rs`) and each derived term is scored with BM25 inside its tier. The constants
//! keep, per word, exact > prefix > 1 typo > 2 typos, and `WORD` makes the number of matched
//! words dominate. A phrase bonus rewards the words close together in the title.
//!
//! ## Which products match
//! A product must match every query word some product matches (each in any of its tiers; a
//! synonym span counts as one word); stop words and words nothing matches only add relevance.
//! While fewer products than the page asks for match, the search asks for one word fewer, any of
//! them (at least `n - 1` of `n` words, then `n - 2`, down to one: `engine.rs`, `at_least.rs`).
//! Products matching more words still rank first, so the page is the one asking for any word
//! would give; what changes is the total and the facet counts, which describe the products that
//! match as many words as the page needed. Algolia and Typesense also require every word and drop
//! words only when too little is found. It keeps a search's work proportional to its real
//! matches: asking for any word, over a million products, visits every product that has one
//! common word ("1", "x", "in").

use tantivy::query::{AllQuery, BooleanQuery, BoostQuery, DisjunctionMaxQuery, Occur, PhraseQuery, Query, TermQuery};
use tantivy::schema::IndexRecordOption;
use tantivy::{Searcher, Term};
use vitrine_indexer::{ProductIndex, TextField};
use vitrine_models::settings::IndexSettings;

use crate::at_least::AtLeastQuery;
use crate::derivations::{TierQuery, WordAutomaton};
use crate::synonyms::synonym_spans;
use crate::words::QueryWord;

/// Score of a matched word, whatever its tier: more matched words always rank first (a word's
/// tier constant plus its BM25 stays far below this).
const WORD: f32 = 10_000.0;
/// Extra score of an exact (or stemmed) match.
const EXACT: f32 = 4_000.0;
/// Extra score of a prefix match of the last word.
const PREFIX: f32 = 3_000.0;
/// Extra score of a one-typo match.
const ONE_TYPO: f32 = 2_000.0;
/// Extra score of a two-typo match. Tiers are 1,000 apart, far more than a word's BM25.
const TWO_TYPOS: f32 = 1_000.0;
/// Words closer than this in the title earn the phrase bonus.
const PHRASE_SLOP: u32 = 2;

fn field_weight(settings: &IndexSettings, field: TextField) -> f32 {
    let ranking = &settings.ranking;
    match field {
        TextField::Title => ranking.title,
        TextField::Brand => ranking.brand,
        TextField::Category => ranking.category,
        TextField::Attributes => ranking.attributes,
        TextField::Description => ranking.description,
    }
}

fn boxed(query: impl Query) -> Box<dyn Query> {
    Box::new(query)
}

fn any_of(queries: Vec<Box<dyn Query>>) -> Box<dyn Query> {
    boxed(BooleanQuery::new(queries.into_iter().map(|query| (Occur::Should, query)).collect()))
}

/// A tier: its constant (a matched word plus the tier's rank) and the BM25 of its terms.
fn tier(constant: f32, terms: Vec<Box<dyn Query>>) -> Box<dyn Query> {
    boxed(TierQuery::new(constant, any_of(terms)))
}

/// Whether any product contains the word (exactly or by its stem) in any text field: whether it
/// has exact terms (see [`exact_terms`], which only keeps the terms some product contains).
fn is_known(exact_terms: &[Box<dyn Query>]) -> bool {
    !exact_terms.is_empty()
}

/// A term query scored with BM25, weighted.
fn scored_term(field: tantivy::schema::Field, text: &str, weight: f32) -> Box<dyn Query> {
    scored(Term::from_field_text(field, text), weight)
}

fn scored(term: Term, weight: f32) -> Box<dyn Query> {
    boxed(BoostQuery::new(boxed(TermQuery::new(term, IndexRecordOption::WithFreqs)), weight))
}

/// The exact (and stemmed) term queries of a word in every text field, for the terms some
/// product contains (a term no product has would match nothing, yet still cost its weight and
/// one scorer per segment).
fn exact_terms(
    index: &ProductIndex,
    searcher: &Searcher,
    settings: &IndexSettings,
    word: &QueryWord,
) -> tantivy::Result<Vec<Box<dyn Query>>> {
    let fields = index.fields();
    let mut exact = Vec::new();
    for text_field in TextField::ALL {
        let weight = field_weight(settings, text_field);
        let stemmed = word.stem_in(text_field).map(|stem| Term::from_field_text(fields.stemmed(text_field), stem));
        for term in std::iter::once(Term::from_field_text(fields.exact(text_field), &word.exact)).chain(stemmed) {
            if searcher.doc_freq(&term)? > 0 {
                exact.push(scored(term, weight));
            }
        }
    }
    Ok(exact)
}

/// The query of one word: the best of its tiers. Also tells whether the word counts as a word a
/// product must match: it is not a stop word, and some term of the index matches it.
fn word_query(
    index: &ProductIndex,
    searcher: &Searcher,
    settings: &IndexSettings,
    word: &QueryWord,
) -> tantivy::Result<(Box<dyn Query>, bool)> {
    let fields = index.fields();
    let exact = exact_terms(index, searcher, settings, word)?;
    if word.stem.is_none() {
        // A stop word: it may add a little relevance, never count as a matched word.
        return Ok((any_of(exact), false));
    }
    let known = is_known(&exact);
    let mut tiers = vec![tier(WORD + EXACT, exact)];

    let budget = settings.typo_tolerance.budget(&word.exact, known);
    if budget == 0 && !word.is_prefix {
        return Ok((tiers.pop().unwrap_or_else(|| boxed(AllQuery)), known));
    }
    // Derived terms by tier: [prefix (distance 0), one typo, two typos].
    let mut derived: [Vec<Box<dyn Query>>; 3] = Default::default();
    let typo_fields = [TextField::Title, TextField::Brand, TextField::Category, TextField::Attributes]
        .into_iter()
        .filter(|field| !settings.typo_tolerance.disable_on_attributes.iter().any(|name| name == field.name()));
    let automaton = WordAutomaton::new(&word.exact, budget, word.is_prefix);
    for text_field in typo_fields {
        let field = fields.exact(text_field);
        let weight = field_weight(settings, text_field);
        for derivation in automaton.derivations(searcher, field)? {
            if derivation.distance == 0 && (!word.is_prefix || derivation.term == word.exact) {
                continue; // the exact tier has it
            }
            derived[usize::from(derivation.distance)].push(scored_term(field, &derivation.term, weight));
        }
    }
    let matchable = known || derived.iter().any(|terms| !terms.is_empty());
    for (terms, constant) in derived.into_iter().zip([WORD + PREFIX, WORD + ONE_TYPO, WORD + TWO_TYPOS]) {
        if !terms.is_empty() {
            tiers.push(tier(constant, terms));
        }
    }
    Ok((boxed(DisjunctionMaxQuery::new(tiers)), matchable))
}

/// The text part of a search: the clauses of the words a product must match, and the clauses
/// that only add relevance (stop words, words nothing matches, the phrase bonus).
pub(crate) struct TextQuery {
    words: Vec<Box<dyn Query>>,
    extras: Vec<Box<dyn Query>>,
}

impl TextQuery {
    fn push(&mut self, clause: Box<dyn Query>, must_match: bool) {
        if must_match { self.words.push(clause) } else { self.extras.push(clause) }
    }

    /// The number of words a product may be asked to match.
    pub(crate) fn word_count(&self) -> usize {
        self.words.len()
    }

    /// The products matching at least `required` of the words (at least one), scored by every
    /// clause. With no word a product can be asked to match (only stop words, or nothing in the
    /// index matches), the products matching any clause.
    pub(crate) fn matching(&self, required: usize) -> Box<dyn Query> {
        if self.words.is_empty() {
            return any_of(self.extras.iter().map(|clause| clause.box_clone()).collect());
        }
        let required = required.clamp(1, self.words.len());
        let words: Vec<Box<dyn Query>> = self.words.iter().map(|clause| clause.box_clone()).collect();
        let words = match required == words.len() {
            true => boxed(BooleanQuery::new(words.into_iter().map(|clause| (Occur::Must, clause)).collect())),
            false => boxed(AtLeastQuery::new(words, required)),
        };
        let mut clauses = vec![(Occur::Must, words)];
        clauses.extend(self.extras.iter().map(|clause| (Occur::Should, clause.box_clone())));
        boxed(BooleanQuery::new(clauses))
    }
}

/// The text part of a search, or `None` for an empty query (browse).
pub(crate) fn text_query(
    index: &ProductIndex,
    searcher: &Searcher,
    settings: &IndexSettings,
    words: &[QueryWord],
) -> tantivy::Result<Option<TextQuery>> {
    if words.is_empty() {
        return Ok(None);
    }
    let spans = synonym_spans(words, settings);
    let mut text = TextQuery { words: Vec::new(), extras: Vec::new() };
    let mut position = 0;
    while position < words.len() {
        let Some(span) = spans.iter().find(|span| span.start == position) else {
            let (clause, must_match) = word_query(index, searcher, settings, &words[position])?;
            text.push(clause, must_match);
            position += 1;
            continue;
        };
        // The span's words as typed (each with its typo tiers), or any synonym phrase in full,
        // worth as many matched words as the span.
        let span_words = &words[span.start..span.end];
        let mut matchable = false;
        let mut original = Vec::new();
        for word in span_words {
            let (clause, must_match) = word_query(index, searcher, settings, word)?;
            matchable |= must_match;
            original.push(clause);
        }
        let mut options = vec![any_of(original)];
        let matched_words = span_words.iter().filter(|word| word.stem.is_some()).count().max(1) as f32;
        for alternative in &span.alternatives {
            let mut all_words = Vec::new();
            for word in alternative {
                let exact = exact_terms(index, searcher, settings, word)?;
                all_words.push((is_known(&exact), (Occur::Must, any_of(exact))));
            }
            matchable |= all_words.iter().all(|(known, _)| *known);
            let all_words = all_words.into_iter().map(|(_, clause)| clause).collect();
            options.push(boxed(TierQuery::new(matched_words * (WORD + EXACT), boxed(BooleanQuery::new(all_words)))));
        }
        text.push(boxed(DisjunctionMaxQuery::new(options)), matchable);
        position = span.end;
    }
    let stems: Vec<(usize, Term)> = words
        .iter()
        .filter_map(|word| {
            word.stem.as_ref()?;
            let stem = word.stem_in(TextField::Title)?;
            Some((word.position, Term::from_field_text(index.fields().stemmed(TextField::Title), stem)))
        })
        .collect();
    if stems.len() >= 2 {
        let phrase = PhraseQuery::new_with_offset_and_slop(stems, PHRASE_SLOP);
        text.push(boxed(BoostQuery::new(boxed(phrase), settings.ranking.phrase)), false);
    }
    Ok(Some(text))
}
