//! Typo and prefix derivations of a query word: the real terms of the index within its edit
//! budget, found with the same Levenshtein automata tantivy's fuzzy query uses.
//!
//! tantivy's `FuzzyTermQuery` scores every match 1.0 (its issue #563), which leaves typo matches
//! unranked. Expanding the word into its derivations ourselves lets each derived term be scored
//! with BM25 (idf, term frequency, field weight) inside its tier, and tells us each term's exact
//! distance, so the tiers (exact > prefix > 1 typo > 2 typos) are exact too.

use std::collections::HashMap;
use std::sync::OnceLock;

use levenshtein_automata::{DFA, Distance, LevenshteinAutomatonBuilder, SINK_STATE};
use tantivy::Searcher;
use tantivy::schema::Field;

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
fn builder(distance: u8) -> &'static LevenshteinAutomatonBuilder {
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
    let builder = builder(max_distance);
    let dfa = if prefix { builder.build_prefix_dfa(word) } else { builder.build_dfa(word) };
    let mut found: HashMap<Vec<u8>, (u8, u32)> = HashMap::new();
    for segment in searcher.segment_readers() {
        let inverted_index = segment.inverted_index(field)?;
        let mut stream = inverted_index.terms().search(Automaton(&dfa)).into_stream()?;
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
    derivations.sort_by(|a, b| a.distance.cmp(&b.distance).then(b.doc_freq.cmp(&a.doc_freq)).then(a.term.cmp(&b.term)));
    let mut kept_per_distance = [0_usize; 3];
    derivations.retain(|derivation| {
        let kept = &mut kept_per_distance[usize::from(derivation.distance.min(2))];
        *kept += 1;
        *kept <= MAX_DERIVATIONS
    });
    Ok(derivations)
}
