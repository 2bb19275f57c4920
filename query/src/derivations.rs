//! Typo and prefix derivations of a query word: the real terms of the index within its edit
//! budget, found with the same Levenshtein automata tantivy's fuzzy query uses.
//!
//! tantivy's `FuzzyTermQuery` scores every match 1.0 (its issue #563), which leaves typo matches
//! unranked. Expanding the word into its derivations ourselves lets each derived term be scored
//! with BM25 (idf, term frequency, field weight) inside its tier, and tells us each term's exact
//! distance, so the tiers (exact > prefix > 1 typo > 2 typos) are exact too. [`TierQuery`]
//! scores a tier's terms: its constant plus their BM25.

use std::collections::HashMap;
use std::sync::OnceLock;

use levenshtein_automata::{DFA, Distance, LevenshteinAutomatonBuilder, SINK_STATE};
use tantivy::query::{EmptyScorer, EnableScoring, Explanation, Query, Scorer, Weight};
use tantivy::schema::Field;
use tantivy::{COLLECT_BLOCK_BUFFER_LEN, DocId, DocSet, Score, Searcher, SeekDangerResult, SegmentReader, Term};

/// The most derivations kept per word, field and distance (the most frequent terms win).
pub(crate) const MAX_DERIVATIONS: usize = 40;

/// A term of the index derived from a query word.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Derivation {
    /// The term.
    pub term: String,
    /// Edits between the query word and the term (or its best prefix, for prefix derivations).
    pub distance: u8,
    /// Documents containing the term, over all segments.
    pub doc_freq: u32,
}

/// Building a Levenshtein automaton builder is costly (tables for the distance), so there is
/// one per distance for the whole process. Transpositions cost one edit.
pub(crate) fn builder(distance: u8) -> &'static LevenshteinAutomatonBuilder {
    static BUILDERS: [OnceLock<LevenshteinAutomatonBuilder>; 3] = [OnceLock::new(), OnceLock::new(), OnceLock::new()];
    let distance = distance.min(2);
    BUILDERS[distance as usize].get_or_init(|| LevenshteinAutomatonBuilder::new(distance, true))
}

/// A DFA as an FST automaton (what a term dictionary can be searched with).
struct Automaton<'a>(&'a DFA);

impl tantivy_fst::Automaton for Automaton<'_> {
    type State = u32;

    fn start(&self) -> u32 {
        self.0.initial_state()
    }

    fn is_match(&self, state: &u32) -> bool {
        matches!(self.0.distance(*state), Distance::Exact(_))
    }

    fn can_match(&self, state: &u32) -> bool {
        *state != SINK_STATE
    }

    fn accept(&self, state: &u32, byte: u8) -> u32 {
        self.0.transition(*state, byte)
    }
}

/// The terms of `field` within `max_distance` edits of `word` (of a prefix of the term when
/// `prefix`), closest first, then most frequent; at most [`MAX_DERIVATIONS`] per distance.
pub(crate) fn derivations(
    searcher: &Searcher,
    field: Field,
    word: &str,
    max_distance: u8,
    prefix: bool,
) -> tantivy::Result<Vec<Derivation>> {
    WordAutomaton::new(word, max_distance, prefix).derivations(searcher, field)
}

/// The Levenshtein automaton of one query word, built once and run over the term dictionary of
/// every field the word is expanded in (building it costs more than running it on a small
/// dictionary, for two typos several times more).
pub(crate) struct WordAutomaton {
    dfa: DFA,
}

impl WordAutomaton {
    /// The automaton accepting the terms within `max_distance` edits of `word` (of a prefix of
    /// the term when `prefix`).
    pub(crate) fn new(word: &str, max_distance: u8, prefix: bool) -> Self {
        let builder = builder(max_distance);
        let dfa = if prefix { builder.build_prefix_dfa(word) } else { builder.build_dfa(word) };
        WordAutomaton { dfa }
    }

    /// The terms of `field` the automaton accepts, closest first, then most frequent; at most
    /// [`MAX_DERIVATIONS`] per distance.
    pub(crate) fn derivations(&self, searcher: &Searcher, field: Field) -> tantivy::Result<Vec<Derivation>> {
        let dfa = &self.dfa;
        let mut found: HashMap<Vec<u8>, (u8, u32)> = HashMap::new();
        for segment in searcher.segment_readers() {
            let inverted_index = segment.inverted_index(field)?;
            let mut stream = inverted_index.terms().search(Automaton(dfa)).into_stream()?;
            while stream.advance() {
                let Distance::Exact(distance) = dfa.eval(stream.key()) else {
                    continue;
                };
                let entry = found.entry(stream.key().to_vec()).or_insert((distance, 0));
                entry.1 += stream.value().doc_freq;
            }
        }
        let mut derivations: Vec<Derivation> = found
            .into_iter()
            .filter_map(|(bytes, (distance, doc_freq))| {
                Some(Derivation { term: String::from_utf8(bytes).ok()?, distance, doc_freq })
            })
            .collect();
        derivations
            .sort_by(|a, b| a.distance.cmp(&b.distance).then(b.doc_freq.cmp(&a.doc_freq)).then(a.term.cmp(&b.term)));
        let mut kept_per_distance = [0_usize; 3];
        derivations.retain(|derivation| {
            let kept = &mut kept_per_distance[usize::from(derivation.distance.min(2))];
            *kept += 1;
            *kept <= MAX_DERIVATIONS
        });
        Ok(derivations)
    }
}

/// A ranking tier of a word (see `text.rs`): its documents score the tier's constant plus the
/// BM25 of the tier's terms, in one pass over their postings.
///
/// `constant + BM25` could be written `BooleanQuery(ConstScoreQuery(terms), terms)`, but that
/// walks every posting of the tier twice and stacks one more union per document; on typo-tolerant
/// queries over thousands of matches that was a fifth of the search time.
#[derive(Debug)]
pub(crate) struct TierQuery {
    constant: Score,
    terms: Box<dyn Query>,
}

impl TierQuery {
    /// The tier scoring `constant` plus the score of `terms` for every document `terms` matches.
    pub(crate) fn new(constant: Score, terms: Box<dyn Query>) -> Self {
        TierQuery { constant, terms }
    }
}

impl Clone for TierQuery {
    fn clone(&self) -> Self {
        TierQuery { constant: self.constant, terms: self.terms.box_clone() }
    }
}

impl Query for TierQuery {
    fn weight(&self, enable_scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        let terms = self.terms.weight(enable_scoring)?;
        if !enable_scoring.is_scoring_enabled() {
            return Ok(terms);
        }
        Ok(Box::new(TierWeight { constant: self.constant, terms }))
    }

    fn query_terms<'a>(&'a self, visitor: &mut dyn FnMut(&'a Term, bool)) {
        self.terms.query_terms(visitor);
    }
}

struct TierWeight {
    constant: Score,
    terms: Box<dyn Weight>,
}

impl Weight for TierWeight {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        let terms = self.terms.scorer(reader, boost)?;
        if terms.is::<EmptyScorer>() {
            // Matches nothing in this segment: let the enclosing query drop it.
            return Ok(terms);
        }
        Ok(Box::new(TierScorer { constant: boost * self.constant, terms }))
    }

    fn scorer_danger(
        &self,
        reader: &SegmentReader,
        target: DocId,
        boost: Score,
    ) -> tantivy::Result<(SeekDangerResult, Box<dyn Scorer>)> {
        let (found, terms) = self.terms.scorer_danger(reader, target, boost)?;
        Ok((found, Box::new(TierScorer { constant: boost * self.constant, terms })))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        let terms = self.terms.explain(reader, doc)?;
        let mut explanation = Explanation::new("tier constant + BM25", self.constant + terms.value());
        explanation.add_const("tier constant", self.constant);
        explanation.add_detail(terms);
        Ok(explanation)
    }

    fn count(&self, reader: &SegmentReader) -> tantivy::Result<u32> {
        self.terms.count(reader)
    }
}

struct TierScorer {
    constant: Score,
    terms: Box<dyn Scorer>,
}

impl DocSet for TierScorer {
    fn advance(&mut self) -> DocId {
        self.terms.advance()
    }

    fn seek(&mut self, target: DocId) -> DocId {
        self.terms.seek(target)
    }

    fn seek_danger(&mut self, target: DocId) -> SeekDangerResult {
        self.terms.seek_danger(target)
    }

    fn fill_buffer(&mut self, buffer: &mut [DocId; COLLECT_BLOCK_BUFFER_LEN]) -> usize {
        self.terms.fill_buffer(buffer)
    }

    fn doc(&self) -> DocId {
        self.terms.doc()
    }

    fn size_hint(&self) -> u32 {
        self.terms.size_hint()
    }

    fn cost(&self) -> u64 {
        self.terms.cost()
    }
}

impl Scorer for TierScorer {
    fn score(&mut self) -> Score {
        self.constant + self.terms.score()
    }
}
