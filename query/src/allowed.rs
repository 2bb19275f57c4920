//! The products a filter object keeps, by id: what recommendations are filtered with (in stock,
//! a category, a brand, a price range — the search filter syntax), applied while the HNSW graph
//! is searched.

use std::collections::HashSet;

use serde_json::Value;
use tantivy::collector::DocSetCollector;
use tantivy::query::{AllQuery, BooleanQuery, Occur, Query};
use vitrine_indexer::ProductIndex;

use crate::error::QueryError;
use crate::filters::{FacetField, parse_filters};
use crate::request::check_filter_size;

/// The ids of the products that pass `filter` (a search filter object). Unless the filter says
/// otherwise about `in_stock`, only products in stock pass (recommending what cannot be bought
/// helps nobody). Costs one pass over the matching documents' id column.
///
/// # Errors
/// A malformed filter, an unknown field or more than [`MAX_FILTER_VALUES`](crate::MAX_FILTER_VALUES)
/// values, as for search.
pub fn allowed_products(index: &ProductIndex, filter: Option<&Value>) -> Result<HashSet<String>, QueryError> {
    check_filter_size(filter)?;
    let settings = index.settings();
    let fields = index.fields();
    let mut clauses = parse_filters(filter, fields, &settings)?;
    if !clauses.iter().any(|clause| clause.field == FacetField::InStock) {
        let in_stock = serde_json::json!({ "in_stock": true });
        clauses.extend(parse_filters(Some(&in_stock), fields, &settings)?);
    }
    let query: Box<dyn Query> = if clauses.is_empty() {
        Box::new(AllQuery)
    } else {
        Box::new(BooleanQuery::new(clauses.into_iter().map(|clause| (Occur::Must, clause.query)).collect()))
    };
    let searcher = index.searcher();
    let documents = searcher.search(&query, &DocSetCollector).map_err(QueryError::Engine)?;
    // Term ordinals per segment, resolved to ids in one sorted pass over each dictionary (one
    // lookup per ordinal would decode a dictionary block per product).
    let mut ordinals: Vec<Vec<u64>> = vec![Vec::new(); searcher.segment_readers().len()];
    let mut columns = Vec::with_capacity(searcher.segment_readers().len());
    for segment in searcher.segment_readers() {
        columns.push(segment.fast_fields().str("id").map_err(QueryError::Engine)?);
    }
    for address in &documents {
        if let Some(column) = &columns[address.segment_ord as usize] {
            ordinals[address.segment_ord as usize].extend(column.term_ords(address.doc_id));
        }
    }
    let mut ids = HashSet::with_capacity(documents.len());
    for (column, mut segment_ordinals) in columns.iter().zip(ordinals) {
        let Some(column) = column else { continue };
        segment_ordinals.sort_unstable();
        segment_ordinals.dedup();
        column
            .dictionary()
            .sorted_ords_to_term_cb(&segment_ordinals, |bytes| {
                ids.insert(String::from_utf8_lossy(bytes).into_owned());
            })
            .map_err(|error| QueryError::Engine(error.into()))?;
    }
    Ok(ids)
}
