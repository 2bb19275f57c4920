//! "At least `k` of these clauses": the products matching at least `k` of a query's words when
//! too few match them all (`text.rs`), scored as the sum of the clauses they match.
//!
//! tantivy has it (`BooleanQuery::with_minimum_required_clauses`), but its scorer walks every
//! posting of every clause: it cannot seek. Over a million products a query such as "hot water
//! heater 30 gallon 49 1/2" then walks the hundreds of thousands of products that contain "1" or
//! "2" to find the few hundred that match six of its words: most of a slow search's time.
//!
//! This scorer uses the pigeonhole principle instead: a product matching at least `k` of `n`
//! clauses contains at least one of any `n - k + 1` of them, so the union of the `n - k + 1`
//! cheapest clauses (the rarest words) yields every candidate, and the other clauses are only
//! asked, by seeking, whether they match it. The work follows the rare words' postings.

use tantivy::query::{EmptyScorer, EnableScoring, Explanation, Query, Scorer, Weight};
use tantivy::{DocId, DocSet, Score, SegmentReader, TERMINATED, Term};

/// Matches the documents that at least `minimum` of `clauses` match.
#[derive(Debug)]
pub(crate) struct AtLeastQuery {
    clauses: Vec<Box<dyn Query>>,
    minimum: usize,
}

impl AtLeastQuery {
    /// At least `minimum` (1 or more) of `clauses`.
    pub(crate) fn new(clauses: Vec<Box<dyn Query>>, minimum: usize) -> Self {
        AtLeastQuery { clauses, minimum: minimum.max(1) }
    }
}

impl Clone for AtLeastQuery {
    fn clone(&self) -> Self {
        AtLeastQuery { clauses: self.clauses.iter().map(|clause| clause.box_clone()).collect(), minimum: self.minimum }
    }
}

impl Query for AtLeastQuery {
    fn weight(&self, enable_scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        let weights =
            self.clauses.iter().map(|clause| clause.weight(enable_scoring)).collect::<tantivy::Result<Vec<_>>>()?;
        Ok(Box::new(AtLeastWeight { weights, minimum: self.minimum }))
    }

    fn query_terms<'a>(&'a self, visitor: &mut dyn FnMut(&'a Term, bool)) {
        for clause in &self.clauses {
            clause.query_terms(visitor);
        }
    }
}

struct AtLeastWeight {
    weights: Vec<Box<dyn Weight>>,
    minimum: usize,
}

impl Weight for AtLeastWeight {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        let mut scorers = Vec::with_capacity(self.weights.len());
        for weight in &self.weights {
            let scorer = weight.scorer(reader, boost)?;
            // A clause that matches nothing in this segment can never count.
            if !scorer.is::<EmptyScorer>() && scorer.doc() != TERMINATED {
                scorers.push(scorer);
            }
        }
        if scorers.len() < self.minimum {
            return Ok(Box::new(EmptyScorer));
        }
        Ok(Box::new(AtLeastScorer::new(scorers, self.minimum)))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        let mut scorer = self.scorer(reader, 1.0)?;
        if scorer.seek(doc) != doc {
            return Err(tantivy::TantivyError::InvalidArgument(format!("document {doc} does not match")));
        }
        let mut explanation = Explanation::new("sum of the matching clauses", scorer.score());
        explanation.add_const("clauses required", self.minimum as Score);
        Ok(explanation)
    }
}

/// The scorer: `drivers` are the cheapest `n - minimum + 1` clauses, `others` the rest.
struct AtLeastScorer {
    drivers: Vec<Box<dyn Scorer>>,
    others: Vec<Box<dyn Scorer>>,
    minimum: usize,
    doc: DocId,
    score: Score,
}

impl AtLeastScorer {
    fn new(mut scorers: Vec<Box<dyn Scorer>>, minimum: usize) -> Self {
        scorers.sort_by_key(|scorer| scorer.cost());
        let others = scorers.split_off(scorers.len() - minimum + 1);
        let mut scorer = AtLeastScorer { drivers: scorers, others, minimum, doc: 0, score: 0.0 };
        scorer.settle();
        scorer
    }

    /// The smallest document a driver is on.
    fn candidate(&self) -> DocId {
        self.drivers.iter().map(|driver| driver.doc()).min().unwrap_or(TERMINATED)
    }

    /// From the drivers' current positions, moves to the first candidate that enough clauses
    /// match (or to the end) and computes its score.
    fn settle(&mut self) {
        loop {
            let candidate = self.candidate();
            if candidate == TERMINATED {
                self.doc = TERMINATED;
                self.score = 0.0;
                return;
            }
            let mut matched = 0;
            let mut score = 0.0;
            for driver in self.drivers.iter_mut().filter(|driver| driver.doc() == candidate) {
                matched += 1;
                score += driver.score();
            }
            let others = self.others.len();
            for (index, other) in self.others.iter_mut().enumerate() {
                // Not enough clauses left to reach the minimum: skip this candidate.
                if matched + (others - index) < self.minimum {
                    break;
                }
                if other.doc() < candidate {
                    other.seek(candidate);
                }
                if other.doc() == candidate {
                    matched += 1;
                    score += other.score();
                }
            }
            if matched >= self.minimum {
                self.doc = candidate;
                self.score = score;
                return;
            }
            self.step_drivers_past(candidate);
        }
    }

    fn step_drivers_past(&mut self, doc: DocId) {
        for driver in self.drivers.iter_mut().filter(|driver| driver.doc() == doc) {
            driver.advance();
        }
    }
}

impl DocSet for AtLeastScorer {
    fn advance(&mut self) -> DocId {
        if self.doc != TERMINATED {
            let doc = self.doc;
            self.step_drivers_past(doc);
            self.settle();
        }
        self.doc
    }

    fn seek(&mut self, target: DocId) -> DocId {
        if self.doc >= target {
            return self.doc;
        }
        for driver in &mut self.drivers {
            if driver.doc() < target {
                driver.seek(target);
            }
        }
        self.settle();
        self.doc
    }

    fn doc(&self) -> DocId {
        self.doc
    }

    fn size_hint(&self) -> u32 {
        self.drivers.iter().map(|driver| driver.size_hint()).fold(0, u32::saturating_add)
    }

    fn cost(&self) -> u64 {
        self.drivers.iter().map(|driver| driver.cost()).sum()
    }
}

impl Scorer for AtLeastScorer {
    fn score(&mut self) -> Score {
        self.score
    }
}

#[cfg(test)]
mod tests {
    use tantivy::collector::{Count, TopDocs};
    use tantivy::query::{BooleanQuery, Occur, TermQuery};
    use tantivy::schema::{IndexRecordOption, STRING, Schema};
    use tantivy::{Index, IndexWriter, TantivyDocument};

    use super::*;

    /// Documents of words; every subset of {a, b, c, d} over 200 documents, in two segments.
    fn index() -> (Index, tantivy::schema::Field) {
        let mut schema = Schema::builder();
        let word = schema.add_text_field("word", STRING);
        let index = Index::create_in_ram(schema.build());
        let mut writer: IndexWriter = index.writer(15_000_000).expect("test setup");
        for segment in 0..2 {
            for n in 0..100_u32 {
                let mut document = TantivyDocument::new();
                for (bit, letter) in ["a", "b", "c", "d"].iter().enumerate() {
                    // Rarer letters further on: "d" is in few documents.
                    if (n + segment) % (bit as u32 + 2) == 0 {
                        document.add_text(word, letter);
                    }
                }
                document.add_text(word, "any");
                writer.add_document(document).expect("test setup");
            }
            writer.commit().expect("test setup");
        }
        (index, word)
    }

    fn clauses(field: tantivy::schema::Field) -> Vec<Box<dyn Query>> {
        ["a", "b", "c", "d", "missing"]
            .iter()
            .map(|letter| {
                Box::new(TermQuery::new(Term::from_field_text(field, letter), IndexRecordOption::WithFreqs))
                    as Box<dyn Query>
            })
            .collect()
    }

    #[test]
    fn matches_and_scores_as_tantivys_minimum_should_match() {
        let (index, field) = index();
        let searcher = index.reader().expect("test setup").searcher();
        for minimum in 1..=5 {
            let ours = AtLeastQuery::new(clauses(field), minimum);
            let should = clauses(field).into_iter().map(|clause| (Occur::Should, clause)).collect();
            let theirs = BooleanQuery::with_minimum_required_clauses(should, minimum);
            let count = |query: &dyn Query| searcher.search(query, &Count).expect("test setup");
            assert_eq!(count(&ours), count(&theirs), "at least {minimum}");
            let top = |query: &dyn Query| {
                searcher.search(query, &TopDocs::with_limit(300).order_by_score()).expect("test setup")
            };
            let (ours, theirs) = (top(&ours), top(&theirs));
            assert_eq!(ours.len(), theirs.len());
            for ((our_score, our_doc), (their_score, their_doc)) in ours.iter().zip(&theirs) {
                assert_eq!(our_doc, their_doc, "at least {minimum}");
                assert!((our_score - their_score).abs() < 1e-4, "{our_score} vs {their_score}");
            }
        }
    }

    #[test]
    fn seeks_land_on_the_next_match() {
        let (index, field) = index();
        let searcher = index.reader().expect("test setup").searcher();
        let weight = AtLeastQuery::new(clauses(field), 2)
            .weight(EnableScoring::enabled_from_searcher(&searcher))
            .expect("test setup");
        let segment = &searcher.segment_readers()[0];
        let mut all = Vec::new();
        let mut scorer = weight.scorer(segment, 1.0).expect("test setup");
        while scorer.doc() != TERMINATED {
            all.push(scorer.doc());
            scorer.advance();
        }
        assert!(!all.is_empty());
        for target in [0, 7, 33, 50, 99] {
            let mut scorer = weight.scorer(segment, 1.0).expect("test setup");
            let expected = all.iter().copied().find(|&doc| doc >= target).unwrap_or(TERMINATED);
            assert_eq!(scorer.seek(target), expected, "seek to {target}");
        }
    }
}
