//! The items of a recommendation model that a filter object keeps: what recommendations are
//! filtered with (in stock, a category, a brand, a price range — the search filter syntax),
//! applied while the HNSW graph is searched.
//!
//! The graph walk and the exact scan ask about thousands of items per request, so the answer is
//! one bit per model item ([`ItemMask`]), made by one pass of the filter over the index: each
//! passing document sets the bit of its item. Which document is which item is worked out once
//! per segment and model ([`ItemNumbers`]; segments never change) from the segment's id column,
//! so a request costs a pass over the filter's posting lists, not a pass over the ids
//! (building a set of the passing ids took 60 ms a request at 370,000 products).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use serde_json::Value;
use tantivy::collector::{Collector, SegmentCollector};
use tantivy::index::{SegmentId, SegmentReader};
use tantivy::query::{AllQuery, BooleanQuery, Occur, Query};
use tantivy::{DocId, Score, SegmentOrdinal};
use vitrine_indexer::ProductIndex;

use crate::error::QueryError;
use crate::filters::{FacetField, parse_filters};
use crate::request::check_filter_size;

/// A document that is no item of the model.
const NO_ITEM: u32 = u32::MAX;

/// Which document of each segment is which item of one model (items numbered `0..n_items`),
/// worked out on first use of a segment and kept while the segment is searched.
pub struct ItemNumbers {
    model: String,
    n_items: usize,
    segments: Mutex<HashMap<SegmentId, Arc<Vec<u32>>>>,
}

impl std::fmt::Debug for ItemNumbers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ItemNumbers")
            .field("model", &self.model)
            .field("n_items", &self.n_items)
            .finish_non_exhaustive()
    }
}

/// How an item is numbered from its product id (`None`: not an item of the model).
pub type NumberOf<'a> = &'a (dyn Fn(&str) -> Option<u32> + Sync);

impl ItemNumbers {
    /// The numbering of model `model`'s `n_items` items (the model id tells numberings apart).
    pub fn new(model: impl Into<String>, n_items: usize) -> ItemNumbers {
        ItemNumbers { model: model.into(), n_items, segments: Mutex::new(HashMap::new()) }
    }

    /// The model this numbering is of.
    pub fn model(&self) -> &str {
        &self.model
    }

    /// The item of each document of `segment`.
    fn of_segment(&self, segment: &SegmentReader, number_of: NumberOf<'_>) -> tantivy::Result<Arc<Vec<u32>>> {
        let id = segment.segment_id();
        if let Some(known) = self.segments.lock().unwrap_or_else(PoisonError::into_inner).get(&id) {
            return Ok(known.clone());
        }
        let mut items = vec![NO_ITEM; segment.max_doc() as usize];
        if let Some(column) = segment.fast_fields().str("id")? {
            // Ordinal → item in one pass over the sorted dictionary, then document → ordinal.
            let mut by_ordinal = Vec::with_capacity(column.num_terms());
            let mut terms = column.dictionary().stream()?;
            while terms.advance() {
                let item =
                    std::str::from_utf8(terms.key()).ok().and_then(number_of).filter(|&n| (n as usize) < self.n_items);
                by_ordinal.push(item.unwrap_or(NO_ITEM));
            }
            for (doc, item) in (0..).zip(items.iter_mut()) {
                if let Some(ordinal) = column.term_ords(doc).next() {
                    *item = by_ordinal.get(ordinal as usize).copied().unwrap_or(NO_ITEM);
                }
            }
        }
        let items = Arc::new(items);
        self.segments.lock().unwrap_or_else(PoisonError::into_inner).insert(id, items.clone());
        Ok(items)
    }

    /// Forgets the segments no longer searched (merged away), once they outnumber the live ones.
    fn forget_all_but(&self, live: &[SegmentId]) {
        let mut segments = self.segments.lock().unwrap_or_else(PoisonError::into_inner);
        if segments.len() > 2 * live.len() + 8 {
            segments.retain(|id, _| live.contains(id));
        }
    }
}

/// One bit per model item: whether it passes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemMask {
    words: Vec<u64>,
}

impl ItemMask {
    fn empty(n_items: usize) -> ItemMask {
        ItemMask { words: vec![0; n_items.div_ceil(64)] }
    }

    fn insert(&mut self, item: u32) {
        if let Some(word) = self.words.get_mut(item as usize / 64) {
            *word |= 1 << (item % 64);
        }
    }

    /// Whether item `item` passes (false beyond the model's items).
    pub fn contains(&self, item: u32) -> bool {
        self.words.get(item as usize / 64).is_some_and(|word| word & (1 << (item % 64)) != 0)
    }

    /// How many items pass.
    pub fn len(&self) -> usize {
        self.words.iter().map(|word| word.count_ones() as usize).sum()
    }

    /// Whether no item passes.
    pub fn is_empty(&self) -> bool {
        self.words.iter().all(|&word| word == 0)
    }
}

/// The items of `numbers`' model whose product passes every one of `filters` (search filter
/// objects; `None` filters nothing). Unless a filter says otherwise about `in_stock`, only
/// products in stock pass it (recommending what cannot be bought helps nobody). `number_of`
/// numbers a product id as the model does; products of the index that are no item of the model,
/// and items whose product is not in the index, do not pass.
///
/// # Errors
/// A malformed filter, an unknown field or more than [`MAX_FILTER_VALUES`](crate::MAX_FILTER_VALUES)
/// values, as for search.
pub fn allowed_items(
    index: &ProductIndex,
    filters: &[Option<&Value>],
    numbers: &ItemNumbers,
    number_of: NumberOf<'_>,
) -> Result<ItemMask, QueryError> {
    let settings = index.settings();
    let fields = index.fields();
    let mut clauses = Vec::new();
    for &filter in filters {
        check_filter_size(filter)?;
        let mut parsed = parse_filters(filter, fields, &settings)?;
        if !parsed.iter().any(|clause| clause.field == FacetField::InStock) {
            let in_stock = serde_json::json!({ "in_stock": true });
            parsed.extend(parse_filters(Some(&in_stock), fields, &settings)?);
        }
        clauses.extend(parsed.into_iter().map(|clause| (Occur::Must, clause.query)));
    }
    let query: Box<dyn Query> =
        if clauses.is_empty() { Box::new(AllQuery) } else { Box::new(BooleanQuery::new(clauses)) };
    let searcher = index.searcher();
    let mask = searcher.search(&query, &PassingItems { numbers, number_of }).map_err(QueryError::Engine)?;
    let live: Vec<SegmentId> = searcher.segment_readers().iter().map(SegmentReader::segment_id).collect();
    numbers.forget_all_but(&live);
    Ok(mask)
}

/// Sets the bit of each matching live document's item.
struct PassingItems<'a> {
    numbers: &'a ItemNumbers,
    number_of: NumberOf<'a>,
}

impl Collector for PassingItems<'_> {
    type Fruit = ItemMask;
    type Child = PassingInSegment;

    fn for_segment(&self, _segment: SegmentOrdinal, reader: &SegmentReader) -> tantivy::Result<PassingInSegment> {
        let items = self.numbers.of_segment(reader, self.number_of)?;
        Ok(PassingInSegment { items, mask: ItemMask::empty(self.numbers.n_items) })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, segments: Vec<ItemMask>) -> tantivy::Result<ItemMask> {
        let mut mask = ItemMask::empty(self.numbers.n_items);
        for segment in segments {
            for (word, passing) in mask.words.iter_mut().zip(segment.words) {
                *word |= passing;
            }
        }
        Ok(mask)
    }
}

struct PassingInSegment {
    items: Arc<Vec<u32>>,
    mask: ItemMask,
}

impl SegmentCollector for PassingInSegment {
    type Fruit = ItemMask;

    fn collect(&mut self, doc: DocId, _score: Score) {
        if let Some(&item) = self.items.get(doc as usize)
            && item != NO_ITEM
        {
            self.mask.insert(item);
        }
    }

    fn harvest(self) -> ItemMask {
        self.mask
    }
}
