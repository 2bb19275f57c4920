//! Runs a search against one product index.
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
//! words dominate. A phrase bonus rewards the words close together in the title. Then
//! business signals are blended in (popularity, rating, margin) and out-of-stock products lose
//! `out_of_stock_penalty`, less than one matched word: demoted, never hidden.

use std::collections::BTreeMap;
use std::time::Instant;

use chrono::Utc;
use serde_json::{Value, json};
use tantivy::aggregation::agg_req::Aggregations;
use tantivy::aggregation::agg_result::AggregationResults;
use tantivy::aggregation::{AggContextParams, AggregationCollector, AggregationLimitsGuard};
use tantivy::collector::{Count, FacetCollector, TopDocs};
use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, ConstScoreQuery, DisjunctionMaxQuery, Occur, PhraseQuery, Query, TermQuery,
};
use tantivy::schema::{Facet, IndexRecordOption};
use tantivy::{DocAddress, DocId, Score, Searcher, SegmentReader, Term};
use vitrine_indexer::{ProductIndex, TextField, group_key};
use vitrine_models::settings::{IndexSettings, Synonym};

use crate::collapse::{CollapsedTop, has_variants};
use crate::derivations::{TierQuery, WordAutomaton};
use crate::error::QueryError;
use crate::filters::{FacetField, FilterClause, parse_filters};
use crate::highlight::Highlighter;
use crate::request::{Hit, SearchRequest, SearchResponse, SortOrder};
use crate::rules::{Boosts, Merchandising, id_query};
use crate::words::{QueryWord, query_words};

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
        let stemmed = word.stem.as_ref().map(|stem| Term::from_field_text(fields.stemmed(text_field), stem));
        for term in std::iter::once(Term::from_field_text(fields.exact(text_field), &word.exact)).chain(stemmed) {
            if searcher.doc_freq(&term)? > 0 {
                exact.push(scored(term, weight));
            }
        }
    }
    Ok(exact)
}

/// The query of one word: the best of its tiers.
fn word_query(
    index: &ProductIndex,
    searcher: &Searcher,
    settings: &IndexSettings,
    word: &QueryWord,
) -> tantivy::Result<Box<dyn Query>> {
    let fields = index.fields();
    let exact = exact_terms(index, searcher, settings, word)?;
    if word.stem.is_none() {
        // A stop word: it may add a little relevance, never count as a matched word.
        return Ok(any_of(exact));
    }
    let known = is_known(&exact);
    let mut tiers = vec![tier(WORD + EXACT, exact)];

    let budget = settings.typo_tolerance.budget(&word.exact, known);
    if budget == 0 && !word.is_prefix {
        return Ok(tiers.pop().unwrap_or_else(|| boxed(AllQuery)));
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
    for (terms, constant) in derived.into_iter().zip([WORD + PREFIX, WORD + ONE_TYPO, WORD + TWO_TYPOS]) {
        if !terms.is_empty() {
            tiers.push(tier(constant, terms));
        }
    }
    Ok(boxed(DisjunctionMaxQuery::new(tiers)))
}

/// Query words `start..end` that match a synonym rule's phrase, and what they also search for.
#[derive(Debug, Clone, PartialEq)]
struct SynonymSpan {
    start: usize,
    end: usize,
    alternatives: Vec<Vec<QueryWord>>,
}

/// The words of a synonym phrase, analysed like query words (all finished).
fn phrase_words(phrase: &str) -> Vec<QueryWord> {
    let (mut words, _) = query_words(phrase);
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

/// Finds, left to right, the longest synonym phrase at each position; spans do not overlap.
fn synonym_spans(words: &[QueryWord], synonyms: &[Synonym]) -> Vec<SynonymSpan> {
    if synonyms.is_empty() {
        return Vec::new();
    }
    let rules: Vec<(Vec<QueryWord>, Vec<Vec<QueryWord>>)> = synonyms
        .iter()
        .flat_map(Synonym::expansions)
        .map(|(input, alternatives)| {
            let alternatives = alternatives.into_iter().map(phrase_words).filter(|words| !words.is_empty()).collect();
            (phrase_words(input), alternatives)
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

/// The text part of a search, or `None` for an empty query (browse).
fn text_query(
    index: &ProductIndex,
    searcher: &Searcher,
    settings: &IndexSettings,
    words: &[QueryWord],
) -> tantivy::Result<Option<Box<dyn Query>>> {
    if words.is_empty() {
        return Ok(None);
    }
    let spans = synonym_spans(words, &settings.synonyms);
    let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    let mut position = 0;
    while position < words.len() {
        let Some(span) = spans.iter().find(|span| span.start == position) else {
            clauses.push((Occur::Should, word_query(index, searcher, settings, &words[position])?));
            position += 1;
            continue;
        };
        // The span's words as typed (each with its typo tiers), or any synonym phrase in full,
        // worth as many matched words as the span.
        let span_words = &words[span.start..span.end];
        let original = span_words
            .iter()
            .map(|word| word_query(index, searcher, settings, word))
            .collect::<tantivy::Result<Vec<_>>>()?;
        let mut options = vec![any_of(original)];
        let matched_words = span_words.iter().filter(|word| word.stem.is_some()).count().max(1) as f32;
        for alternative in &span.alternatives {
            let all_words = alternative
                .iter()
                .map(|word| Ok((Occur::Must, any_of(exact_terms(index, searcher, settings, word)?))))
                .collect::<tantivy::Result<Vec<_>>>()?;
            options.push(boxed(TierQuery::new(matched_words * (WORD + EXACT), boxed(BooleanQuery::new(all_words)))));
        }
        clauses.push((Occur::Should, boxed(DisjunctionMaxQuery::new(options))));
        position = span.end;
    }
    let stems: Vec<(usize, Term)> = words
        .iter()
        .filter_map(|word| {
            let stem = word.stem.as_ref()?;
            Some((word.position, Term::from_field_text(index.fields().stemmed(TextField::Title), stem)))
        })
        .collect();
    if stems.len() >= 2 {
        let phrase = PhraseQuery::new_with_offset_and_slop(stems, PHRASE_SLOP);
        clauses.push((Occur::Should, boxed(BoostQuery::new(boxed(phrase), settings.ranking.phrase))));
    }
    Ok(Some(boxed(BooleanQuery::new(clauses))))
}

/// The text query AND every filter except `without` (for disjunctive facet counts), minus the
/// `excluded` documents (hidden by merchandising rules).
fn filtered(
    text: Option<&dyn Query>,
    filters: &[FilterClause],
    without: Option<&FacetField>,
    excluded: &[Box<dyn Query>],
) -> Box<dyn Query> {
    let mut clauses: Vec<(Occur, Box<dyn Query>)> =
        vec![(Occur::Must, text.map_or_else(|| boxed(AllQuery), |text| text.box_clone()))];
    for clause in filters.iter().filter(|clause| Some(&clause.field) != without) {
        clauses.push((Occur::Must, boxed(ConstScoreQuery::new(clause.query.box_clone(), 0.0))));
    }
    clauses.extend(excluded.iter().map(|query| (Occur::MustNot, query.box_clone())));
    boxed(BooleanQuery::new(clauses))
}

/// A document's place in the ranking, compared field by field: merchandising tier first (only
/// when browsing: boosted products first, buried ones last), then the sort order's key, then the
/// product family's key, so that equal keys rank the same way on every replica whatever the
/// order of documents in its segments.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub(crate) struct RankKey {
    tier: f64,
    key: f64,
    tiebreak: u64,
}

/// Score units of one unit of a rule's boost weight under relevance ranking: one typo tier.
const RULE_BOOST_UNIT: f64 = 1_000.0;

/// The ranking key of a document under a sort order: higher first. `boosts` are the rules'
/// boosts and buries (empty under a sort the shopper chose).
fn sort_key_fn(
    sort: SortOrder,
    settings: &IndexSettings,
    boosts: Boosts,
) -> impl Fn(&SegmentReader) -> Box<dyn Fn(DocId, Score) -> RankKey> + Send + Sync + 'static {
    let weights = settings.ranking.clone();
    move |segment: &SegmentReader| {
        let key = plain_key_fn(sort, &weights, segment);
        let groups = segment.fast_fields().u64("group").ok().map(|column| column.first_or_default_col(0));
        let tiebreak = move |doc| groups.as_ref().map_or(0, |column| column.get_val(doc));
        if boosts.is_empty() {
            return Box::new(move |doc, score| RankKey { tier: 0.0, key: key(doc, score), tiebreak: tiebreak(doc) });
        }
        let boost = boosts.for_segment(segment);
        match sort {
            SortOrder::Relevance => Box::new(move |doc, score| RankKey {
                tier: 0.0,
                key: key(doc, score) + RULE_BOOST_UNIT * boost(doc),
                tiebreak: tiebreak(doc),
            }),
            _ => {
                Box::new(move |doc, score| RankKey { tier: boost(doc), key: key(doc, score), tiebreak: tiebreak(doc) })
            }
        }
    }
}

/// The key of a sort order alone, for one segment.
fn plain_key_fn(
    sort: SortOrder,
    weights: &vitrine_models::settings::RankingWeights,
    segment: &SegmentReader,
) -> Box<dyn Fn(DocId, Score) -> f64> {
    let fast = segment.fast_fields();
    let column = |name: &str, default: f64| fast.f64(name).ok().map(|column| column.first_or_default_col(default));
    let popularity = column("popularity", 0.0);
    let rating = column("rating", 0.0);
    let margin = column("margin", 0.0);
    let price = fast.f64("price").ok();
    let created_at = fast.i64("created_at").ok();
    let in_stock = fast.u64("in_stock").ok().map(|column| column.first_or_default_col(1));
    let read = |column: &Option<std::sync::Arc<dyn tantivy::columnar::ColumnValues<f64>>>, doc: DocId| {
        column.as_ref().map_or(0.0, |column| column.get_val(doc))
    };
    let weights = weights.clone();
    match sort {
        SortOrder::Relevance => Box::new(move |doc: DocId, score: Score| {
            let mut key = f64::from(score)
                + f64::from(weights.popularity) * read(&popularity, doc).max(0.0).ln_1p()
                + f64::from(weights.rating) * read(&rating, doc) / 5.0
                + f64::from(weights.margin) * read(&margin, doc);
            if in_stock.as_ref().is_some_and(|column| column.get_val(doc) == 0) {
                key -= f64::from(weights.out_of_stock_penalty);
            }
            key
        }),
        SortOrder::Popularity => Box::new(move |doc: DocId, _| read(&popularity, doc)),
        SortOrder::PriceAscending => {
            Box::new(move |doc: DocId, _| price.as_ref().and_then(|c| c.first(doc)).map_or(f64::NEG_INFINITY, |p| -p))
        }
        SortOrder::PriceDescending => {
            Box::new(move |doc: DocId, _| price.as_ref().and_then(|c| c.first(doc)).unwrap_or(f64::NEG_INFINITY))
        }
        SortOrder::Newest => Box::new(move |doc: DocId, _| {
            created_at.as_ref().and_then(|c| c.first(doc)).map_or(f64::NEG_INFINITY, |seconds| seconds as f64)
        }),
    }
}

/// The aggregation request of a facet, or `None` for the category tree (counted by a facet
/// collector).
fn aggregation(field: &FacetField, settings: &IndexSettings) -> Option<Value> {
    let size = settings.facets.max_values_per_facet;
    match field {
        FacetField::Brand => Some(json!({ "terms": { "field": "brand", "size": size } })),
        FacetField::Attribute(name) => Some(json!({ "terms": { "field": format!("attrs.{name}"), "size": size } })),
        FacetField::InStock => Some(json!({ "terms": { "field": "in_stock", "size": 2 } })),
        FacetField::Price => {
            let bounds = &settings.facets.price_buckets;
            let mut ranges = Vec::new();
            for (i, bound) in bounds.iter().enumerate() {
                match i {
                    0 => ranges.push(json!({ "to": bound })),
                    _ => ranges.push(json!({ "from": bounds[i - 1], "to": bound })),
                }
            }
            ranges.push(bounds.last().map_or_else(|| json!({ "from": 0.0 }), |last| json!({ "from": last })));
            Some(json!({ "range": { "field": "price", "ranges": ranges } }))
        }
        FacetField::Rating => Some(json!({ "range": { "field": "rating", "ranges": [
            { "from": 1.0, "to": 2.0 }, { "from": 2.0, "to": 3.0 }, { "from": 3.0, "to": 4.0 }, { "from": 4.0 }
        ] } })),
        FacetField::Category => None,
    }
}

/// Reads the buckets of one aggregation result as value → count.
fn buckets(result: &Value) -> BTreeMap<String, u64> {
    let Some(buckets) = result.get("buckets").and_then(Value::as_array) else {
        return BTreeMap::new();
    };
    buckets
        .iter()
        .filter_map(|bucket| {
            let count = bucket.get("doc_count")?.as_u64()?;
            let key = match bucket.get("key")? {
                Value::String(text) => text.clone(),
                Value::Number(number) => number.to_string(),
                other => other.to_string(),
            };
            (count > 0).then_some((key, count))
        })
        .collect()
}

#[derive(Default)]
struct FacetCounts {
    facets: BTreeMap<String, BTreeMap<String, u64>>,
    stats: BTreeMap<String, Value>,
}

/// The collectors counting some facets in one pass over the matches of one query.
fn facet_collectors(
    index: &ProductIndex,
    settings: &IndexSettings,
    facet_fields: &[&FacetField],
    category_node: &Facet,
) -> Result<(AggregationCollector, FacetCollector), QueryError> {
    let mut requests = serde_json::Map::new();
    for field in facet_fields {
        if let Some(request) = aggregation(field, settings) {
            requests.insert(field.name().to_owned(), request);
        }
        if **field == FacetField::Price {
            requests.insert("price_stats".to_owned(), json!({ "stats": { "field": "price" } }));
        }
    }
    let aggregations: Aggregations = serde_json::from_value(Value::Object(requests))
        .map_err(|error| QueryError::Engine(tantivy::TantivyError::InvalidArgument(error.to_string())))?;
    let context = AggContextParams::new(AggregationLimitsGuard::default(), index.index().tokenizers().clone());
    let mut categories = FacetCollector::for_field("category");
    categories.add_facet(category_node.clone());
    Ok((AggregationCollector::from_aggs(aggregations, context), categories))
}

/// Adds what one facet pass counted to `counts`.
fn read_facet_pass(
    facet_fields: &[&FacetField],
    results: &AggregationResults,
    categories: &tantivy::collector::FacetCounts,
    category_node: &Facet,
    counts: &mut FacetCounts,
) -> Result<(), QueryError> {
    let results = serde_json::to_value(results)
        .map_err(|error| QueryError::Engine(tantivy::TantivyError::InternalError(error.to_string())))?;
    for field in facet_fields {
        let values = match field {
            FacetField::Category => {
                categories.get(category_node.clone()).map(|(facet, count)| (facet.to_path().join("/"), count)).collect()
            }
            other => results.get(other.name()).map(buckets).unwrap_or_default(),
        };
        counts.facets.insert(field.name().to_owned(), values);
    }
    // No stats when nothing matched (tantivy answers min and max null): the price range has no bounds.
    if let Some(stats) = results.get("price_stats").filter(|stats| stats.get("min").is_some_and(Value::is_number)) {
        counts.stats.insert("price".to_owned(), json!({ "min": stats.get("min"), "max": stats.get("max") }));
    }
    Ok(())
}

/// A result before its document is read: an organic match or a pinned product.
#[derive(Debug, Clone)]
struct Placed {
    address: DocAddress,
    /// The family (variant collapsing) or `None`.
    group: Option<u64>,
    key: Option<RankKey>,
    pinned: bool,
}

/// A pinned product that passes the shopper's filters, with its position.
struct PinnedProduct {
    placed: Placed,
    position: usize,
    /// Whether it also matches the query (then the organic total already counts it).
    matches_query: bool,
}

/// Finds each pinned product that passes the filters and is not hidden.
fn pinned_products(
    index: &ProductIndex,
    searcher: &Searcher,
    query: &dyn Query,
    filters: &[FilterClause],
    excluded: &[Box<dyn Query>],
    merchandising: &Merchandising,
    collapse: bool,
) -> Result<Vec<PinnedProduct>, QueryError> {
    let fields = index.fields();
    let mut pinned = Vec::new();
    for (id, position) in &merchandising.pins {
        let this = id_query(fields.id, id);
        let eligible = BooleanQuery::new(vec![
            (Occur::Must, filtered(None, filters, None, excluded)),
            (Occur::Must, this.box_clone()),
        ]);
        let Some((_, address)) = searcher.search(&eligible, &TopDocs::with_limit(1).order_by_score())?.pop() else {
            continue;
        };
        let matches = BooleanQuery::new(vec![(Occur::Must, query.box_clone()), (Occur::Must, this)]);
        let group = if collapse {
            let product = index.product_at(searcher, address)?;
            Some(group_key(product.parent_id.as_ref().unwrap_or(&product.id).as_str()))
        } else {
            None
        };
        pinned.push(PinnedProduct {
            placed: Placed { address, group, key: None, pinned: true },
            position: *position,
            matches_query: searcher.search(&matches, &Count)? > 0,
        });
    }
    Ok(pinned)
}

/// The first `wanted` places: pinned products at their positions, organic results around them
/// (without the pinned products, or their families), pins past the organic results last.
fn place(organic: Vec<Placed>, pinned: &[PinnedProduct], wanted: usize) -> Vec<Placed> {
    let same = |left: &Placed, right: &Placed| match (left.group, right.group) {
        (Some(left), Some(right)) => left == right,
        _ => left.address == right.address,
    };
    let mut organic =
        organic.into_iter().filter(|result| !pinned.iter().any(|pin| same(&pin.placed, result))).peekable();
    let mut pins = pinned.iter().peekable();
    let mut placed = Vec::with_capacity(wanted);
    while placed.len() < wanted {
        let next = match pins.next_if(|pin| pin.position <= placed.len() + 1) {
            Some(pin) => pin.placed.clone(),
            None => match organic.next() {
                Some(result) => result,
                None => match pins.next() {
                    Some(pin) => pin.placed.clone(),
                    None => break,
                },
            },
        };
        placed.push(next);
    }
    placed
}

/// Runs a search.
pub fn search(
    index: &ProductIndex,
    settings: &IndexSettings,
    request: &SearchRequest,
) -> Result<SearchResponse, QueryError> {
    let started = Instant::now();
    let (offset, limit) = request.window()?;
    let fields = index.fields();
    let filters = parse_filters(request.filter.as_ref(), fields, settings)?;
    let requested: Vec<FacetField> =
        request.facets.iter().map(|name| FacetField::resolve(name, settings)).collect::<Result<_, _>>()?;
    let (words, ignored_words) = query_words(&request.q);
    let default_sort = if words.is_empty() { "popularity" } else { "relevance" };
    let sort = SortOrder::parse(Some(request.sort.as_deref().unwrap_or(default_sort)))?;
    let searcher = index.searcher();
    let text = text_query(index, &searcher, settings, &words)?;

    // Merchandising: hides always apply; pins, boosts and buries shape the shop's own order
    // (relevance, or browsing's default), never a sort the shopper chose.
    let merchandising = Merchandising::for_query(settings, fields, &words, Utc::now())?;
    let shop_order = request.sort.is_none() || sort == SortOrder::Relevance;
    let excluded = merchandising.exclusions(fields);
    let query = filtered(text.as_deref(), &filters, None, &excluded);
    let collapse = settings.variants.collapse && has_variants(&searcher, fields)?;
    let pinned = match shop_order {
        true => pinned_products(index, &searcher, query.as_ref(), &filters, &excluded, &merchandising, collapse)?,
        false => Vec::new(),
    };
    let boosts = match shop_order {
        true => Boosts::compute(&searcher, &merchandising.boosts)?,
        false => Boosts::default(),
    };
    let key_fn = sort_key_fn(sort, settings, boosts);

    // Facets with a selected value are counted without their own filter (disjunctive faceting:
    // checkboxes show what else could be ticked), one extra pass each; the others are counted
    // in the main pass.
    let (own_filter, shared): (Vec<&FacetField>, Vec<&FacetField>) =
        requested.iter().partition(|field| filters.iter().any(|clause| &clause.field == *field));
    let category_node = Facet::from_path(selected_category(request.filter.as_ref()));
    let shared_collectors = facet_collectors(index, settings, &shared, &category_node)?;
    // Enough organic results to fill the page around the pins (pinned ones are dropped).
    let organic_wanted = offset + limit + pinned.len();
    let (organic, organic_total, (shared_results, shared_categories)) = if collapse {
        let ((families, total), facets) =
            searcher.search(&query, &(CollapsedTop::new(organic_wanted, key_fn), shared_collectors))?;
        let organic = families
            .into_iter()
            .map(|family| Placed {
                address: family.address,
                group: Some(family.group),
                key: Some(family.key),
                pinned: false,
            })
            .collect::<Vec<_>>();
        (organic, total, facets)
    } else {
        let top = TopDocs::with_limit(organic_wanted).tweak_score(key_fn);
        let ((ranked, total), facets) = searcher.search(&query, &((top, Count), shared_collectors))?;
        let organic = ranked
            .into_iter()
            .map(|(key, address)| Placed { address, group: None, key: Some(key), pinned: false })
            .collect::<Vec<_>>();
        (organic, total, facets)
    };
    let total = organic_total + pinned.iter().filter(|pin| !pin.matches_query).count();

    let mut counts = FacetCounts::default();
    if !shared.is_empty() {
        read_facet_pass(&shared, &shared_results, &shared_categories, &category_node, &mut counts)?;
    }
    for field in own_filter {
        let pass_query = filtered(text.as_deref(), &filters, Some(field), &excluded);
        let collectors = facet_collectors(index, settings, &[field], &category_node)?;
        let (results, categories) = searcher.search(&pass_query, &collectors)?;
        read_facet_pass(&[field], &results, &categories, &category_node, &mut counts)?;
    }

    let highlighter = text.as_deref().map(|text| Highlighter::new(&searcher, text, fields)).transpose()?;
    let hits = place(organic, &pinned, offset + limit)
        .into_iter()
        .skip(offset)
        .map(|placed| {
            let found = index.product_at(&searcher, placed.address)?;
            // A collapsed family shows its parent, naming the variant that matched best.
            let (document, variant_id) = match (&found.parent_id, collapse && !placed.pinned) {
                (Some(parent), true) => match index.get(parent)? {
                    Some(parent) => (parent, Some(found.id.to_string())),
                    None => (found, None),
                },
                _ => (found, None),
            };
            let highlight =
                highlighter.as_ref().map(|highlighter| highlighter.highlight(&document)).unwrap_or_default();
            Ok(Hit {
                id: document.id.to_string(),
                score: placed.key.map_or(0.0, |key| key.key),
                document,
                highlight,
                variant_id,
                pinned: placed.pinned,
            })
        })
        .collect::<Result<Vec<_>, tantivy::TantivyError>>()?;
    Ok(SearchResponse {
        hits,
        total,
        facets: counts.facets,
        facet_stats: counts.stats,
        took_ms: started.elapsed().as_secs_f64() * 1000.0,
        ignored_words,
        applied_rules: merchandising.applied,
    })
}

/// The category node whose children are counted: the one category the filter selects, or the root.
fn selected_category(filter: Option<&Value>) -> Vec<String> {
    filter
        .and_then(|filter| filter.get("category"))
        .and_then(Value::as_str)
        .and_then(|path| vitrine_models::CategoryPath::parse(path).ok())
        .map(|path| path.levels().to_vec())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synonym_spans_take_the_longest_phrase_by_word_stem_or_prefix() {
        let rules = vec![
            Synonym::MultiWay { terms: vec!["sofa bed".into(), "sleeper sofa".into()] },
            Synonym::MultiWay { terms: vec!["sofa".into(), "couch".into()] },
            Synonym::OneWay { input: "tv".into(), synonyms: vec!["television".into()] },
        ];
        let (words, _) = query_words("cheap sofa beds");
        let spans = synonym_spans(&words, &rules);
        assert_eq!(spans.len(), 1);
        assert_eq!((spans[0].start, spans[0].end), (1, 3), "`sofa beds` is `sofa bed` by stem, longest first");
        assert_eq!(spans[0].alternatives[0].iter().map(|w| w.exact.as_str()).collect::<Vec<_>>(), ["sleeper", "sofa"]);

        let (words, _) = query_words("big tv");
        assert_eq!(synonym_spans(&words, &rules)[0].alternatives[0][0].exact, "television");
        let (words, _) = query_words("television");
        assert!(synonym_spans(&words, &rules).is_empty(), "one-way rules do not run backwards");
        let (words, _) = query_words("grey cou");
        assert_eq!(synonym_spans(&words, &rules)[0].alternatives[0][0].exact, "sofa", "a prefix while typing");
    }
}
