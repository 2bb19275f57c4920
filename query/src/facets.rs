//! Facet counts: value counts per requested facet (terms, price buckets, rating ranges), the
//! children of the selected category (or of the root), and the price stats.
//!
//! The counts of one pass over a query's matches are collected by `facet_collectors` and read
//! by `read_facet_pass`. Facets with a selected value are counted without their own filter
//! (disjunctive faceting), one extra pass each; the search (`engine.rs`) runs the passes.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use tantivy::aggregation::agg_req::Aggregations;
use tantivy::aggregation::agg_result::AggregationResults;
use tantivy::aggregation::{AggContextParams, AggregationCollector, AggregationLimitsGuard};
use tantivy::collector::FacetCollector;
use tantivy::schema::Facet;
use vitrine_indexer::ProductIndex;
use vitrine_models::settings::IndexSettings;

use crate::error::QueryError;
use crate::filters::FacetField;

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

/// What the facet passes counted: value counts per facet, and stats per numeric facet.
#[derive(Default)]
pub(crate) struct FacetCounts {
    pub(crate) facets: BTreeMap<String, BTreeMap<String, u64>>,
    pub(crate) stats: BTreeMap<String, Value>,
}

/// The collectors counting some facets in one pass over the matches of one query.
pub(crate) fn facet_collectors(
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
pub(crate) fn read_facet_pass(
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

/// The category node whose children are counted: the one category the filter selects, or the root.
pub(crate) fn selected_category(filter: Option<&Value>) -> Vec<String> {
    filter
        .and_then(|filter| filter.get("category"))
        .and_then(Value::as_str)
        .and_then(|path| vitrine_models::CategoryPath::parse(path).ok())
        .map(|path| path.levels().to_vec())
        .unwrap_or_default()
}
