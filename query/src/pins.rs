//! Pinned products around the organic ranking: which pins a search shows (a pinned product must
//! pass the shopper's filters and not be hidden; it need not match the query words), and the
//! page they make with the organic results (each pin at its position, the organic results
//! around them without the pinned products or their families).

use tantivy::collector::{Count, TopDocs};
use tantivy::query::{BooleanQuery, Occur, Query};
use tantivy::{DocAddress, Searcher};
use vitrine_indexer::{ProductIndex, group_key};

use crate::error::QueryError;
use crate::filters::{FilterClause, filtered};
use crate::ranking::RankKey;
use crate::rules::{Merchandising, id_query};

/// A result before its document is read: an organic match or a pinned product.
#[derive(Debug, Clone)]
pub(crate) struct Placed {
    pub(crate) address: DocAddress,
    /// The family (variant collapsing) or `None`.
    pub(crate) group: Option<u64>,
    pub(crate) key: Option<RankKey>,
    pub(crate) pinned: bool,
}

/// A pinned product that passes the shopper's filters, with its position.
pub(crate) struct PinnedProduct {
    placed: Placed,
    position: usize,
    /// Whether it also matches the query (then the organic total already counts it).
    pub(crate) matches_query: bool,
}

/// Finds each pinned product that passes the filters and is not hidden.
pub(crate) fn pinned_products(
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
pub(crate) fn place(organic: Vec<Placed>, pinned: &[PinnedProduct], wanted: usize) -> Vec<Placed> {
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
