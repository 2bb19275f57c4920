//! The ranking key of a document under each sort order.
//!
//! Under relevance, the key starts from the text score (`text.rs`). Then business signals are
//! blended in (popularity, rating, margin) and out-of-stock products lose `out_of_stock_penalty`,
//! less than one matched word: demoted, never hidden. The merchandising rules' boosts and buries
//! (`rules.rs`) add typo-tier units under relevance; when browsing, boosted products come first
//! and buried ones last.

use tantivy::{DocId, Score, SegmentReader};
use vitrine_models::settings::IndexSettings;

use crate::request::SortOrder;
use crate::rules::Boosts;

/// A document's place in the ranking, compared field by field: merchandising tier first (only
/// when browsing: boosted products first, buried ones last), then the sort order's key, then the
/// product family's key, so that equal keys rank the same way on every replica whatever the
/// order of documents in its segments.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub(crate) struct RankKey {
    tier: f64,
    /// The sort order's key (plus the rules' boosts under relevance): what a hit shows as `score`.
    pub(crate) key: f64,
    tiebreak: u64,
}

/// Score units of one unit of a rule's boost weight under relevance ranking: one typo tier.
const RULE_BOOST_UNIT: f64 = 1_000.0;

/// The ranking key of a document under a sort order: higher first. `boosts` are the rules'
/// boosts and buries (empty under a sort the shopper chose).
pub(crate) fn sort_key_fn(
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
