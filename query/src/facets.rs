//! Facet counts: value counts per requested facet (terms, price buckets, rating ranges), the
//! children of the selected category (or of the root), and the price stats.
//!
//! The counts of one pass over a query's matches are collected by `facet_collectors` and read
//! by `read_facet_pass`. Facets with a selected value are counted without their own filter
//! (disjunctive faceting), one extra pass each; the search (`engine.rs`) runs the passes.
//!
//! The category tree is counted by [`CategoryCounts`], not tantivy's `FacetCollector`: that one
//! maps every facet of a segment to the child of the counted node by streaming the segment's
//! whole facet dictionary at every search, for every segment and facet pass. Over a million
//! products that walk (thousands of category paths, zstd blocks) was a quarter of a faceted
//! search's time whatever it matched. The mapping depends only on the segment (immutable) and
//! the node, so [`CategoryCounts`] computes it once and keeps it.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError};

use serde_json::{Value, json};
use tantivy::aggregation::agg_req::Aggregations;
use tantivy::aggregation::agg_result::AggregationResults;
use tantivy::aggregation::{AggContextParams, AggregationCollector, AggregationLimitsGuard};
use tantivy::collector::{Collector, SegmentCollector};
use tantivy::fastfield::FacetReader;
use tantivy::index::SegmentId;
use tantivy::schema::Facet;
use tantivy::{DocId, Score, SegmentReader};
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

/// The collectors counting some facets in one pass over the matches of one query: the
/// aggregations (all facets but the category tree) and the category counts, each only when asked.
pub(crate) type FacetCollectors = (Option<AggregationCollector>, Option<CategoryCounts>);

/// The collectors counting `facet_fields` in one pass over the matches of one query.
pub(crate) fn facet_collectors(
    index: &ProductIndex,
    settings: &IndexSettings,
    facet_fields: &[&FacetField],
    category_node: &Facet,
) -> Result<FacetCollectors, QueryError> {
    let mut requests = serde_json::Map::new();
    for field in facet_fields {
        if let Some(request) = aggregation(field, settings) {
            requests.insert(field.name().to_owned(), request);
        }
        if **field == FacetField::Price {
            requests.insert("price_stats".to_owned(), json!({ "stats": { "field": "price" } }));
        }
    }
    let aggregations = match requests.is_empty() {
        true => None,
        false => {
            let aggregations: Aggregations = serde_json::from_value(Value::Object(requests))
                .map_err(|error| QueryError::Engine(tantivy::TantivyError::InvalidArgument(error.to_string())))?;
            let context = AggContextParams::new(AggregationLimitsGuard::default(), index.index().tokenizers().clone());
            Some(AggregationCollector::from_aggs(aggregations, context))
        }
    };
    let categories = facet_fields.contains(&&FacetField::Category).then(|| CategoryCounts::new(category_node));
    Ok((aggregations, categories))
}

/// Adds what one facet pass counted to `counts`.
pub(crate) fn read_facet_pass(
    facet_fields: &[&FacetField],
    results: Option<&AggregationResults>,
    categories: Option<&BTreeMap<String, u64>>,
    counts: &mut FacetCounts,
) -> Result<(), QueryError> {
    let results = serde_json::to_value(results)
        .map_err(|error| QueryError::Engine(tantivy::TantivyError::InternalError(error.to_string())))?;
    for field in facet_fields {
        let values = match field {
            FacetField::Category => categories.cloned().unwrap_or_default(),
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

/// Counts the products of each child of a category node (the root: the top-level categories),
/// keyed by the child's path (`Tools/Drills`); a product in several categories under the same
/// child counts once.
pub(crate) struct CategoryCounts {
    node: Facet,
}

impl CategoryCounts {
    pub(crate) fn new(node: &Facet) -> Self {
        CategoryCounts { node: node.clone() }
    }
}

/// For one segment and node: the child of the node each facet ordinal falls under.
struct ChildMapping {
    /// Per facet ordinal, the index of its child in `children`, or [`NOT_UNDER_NODE`].
    child_of_ord: Vec<u32>,
    /// The children's paths, `/`-joined.
    children: Vec<String>,
}

const NOT_UNDER_NODE: u32 = u32::MAX;

/// Mappings kept, at most; the oldest segments' go first when a merge has replaced them.
const MAPPINGS_KEPT: usize = 512;

type MappingCache = Mutex<HashMap<(SegmentId, String), (u64, Arc<ChildMapping>)>>;

fn mapping_cache() -> &'static MappingCache {
    static CACHE: std::sync::OnceLock<MappingCache> = std::sync::OnceLock::new();
    CACHE.get_or_init(MappingCache::default)
}

/// The mapping of `segment` under `node`, computed on first use.
fn child_mapping(segment: &SegmentReader, reader: &FacetReader, node: &Facet) -> tantivy::Result<Arc<ChildMapping>> {
    static USES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let now = USES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let key = (segment.segment_id(), node.encoded_str().to_owned());
    if let Some((used, mapping)) = mapping_cache().lock().unwrap_or_else(PoisonError::into_inner).get_mut(&key) {
        *used = now;
        return Ok(mapping.clone());
    }
    let mapping = Arc::new(compute_child_mapping(reader, node)?);
    let mut cache = mapping_cache().lock().unwrap_or_else(PoisonError::into_inner);
    if cache.len() >= MAPPINGS_KEPT {
        // Forget the least recently used half.
        let mut uses: Vec<u64> = cache.values().map(|(used, _)| *used).collect();
        let middle = uses.len() / 2;
        let (_, median, _) = uses.select_nth_unstable(middle);
        let median = *median;
        cache.retain(|_, (used, _)| *used > median);
    }
    cache.insert(key, (now, mapping.clone()));
    Ok(mapping)
}

/// Walks the node's subtree of the segment's facet dictionary (sorted: a child's facets are
/// contiguous).
fn compute_child_mapping(reader: &FacetReader, node: &Facet) -> tantivy::Result<ChildMapping> {
    let dictionary = reader.facet_dict();
    let mut child_of_ord = vec![NOT_UNDER_NODE; dictionary.num_terms()];
    let mut children: Vec<String> = Vec::new();
    let mut prefix = node.encoded_str().as_bytes().to_vec();
    if !node.is_root() {
        prefix.push(0); // the separator of facet levels
    }
    let node_path = if node.is_root() { String::new() } else { format!("{}/", node.to_path().join("/")) };
    let mut stream = dictionary.range().ge(&prefix).into_stream()?;
    let mut current: Vec<u8> = Vec::new();
    while stream.advance() {
        let Some(rest) = stream.key().strip_prefix(prefix.as_slice()) else {
            break;
        };
        let child = &rest[..rest.iter().position(|&byte| byte == 0).unwrap_or(rest.len())];
        if child.is_empty() {
            continue;
        }
        if children.is_empty() || current != child {
            current = child.to_vec();
            children.push(format!("{node_path}{}", String::from_utf8_lossy(child)));
        }
        if let Some(slot) = usize::try_from(stream.term_ord()).ok().and_then(|ord| child_of_ord.get_mut(ord)) {
            *slot = u32::try_from(children.len() - 1).unwrap_or(NOT_UNDER_NODE);
        }
    }
    Ok(ChildMapping { child_of_ord, children })
}

impl Collector for CategoryCounts {
    type Fruit = BTreeMap<String, u64>;
    type Child = SegmentCategoryCounts;

    fn for_segment(&self, _: u32, segment: &SegmentReader) -> tantivy::Result<SegmentCategoryCounts> {
        let reader = segment.facet_reader("category")?;
        let mapping = child_mapping(segment, &reader, &self.node)?;
        let counts = vec![0; mapping.children.len()];
        Ok(SegmentCategoryCounts { reader, mapping, counts })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, segments: Vec<BTreeMap<String, u64>>) -> tantivy::Result<Self::Fruit> {
        let mut total = BTreeMap::new();
        for (child, count) in segments.into_iter().flatten() {
            *total.entry(child).or_insert(0) += count;
        }
        Ok(total)
    }
}

/// [`CategoryCounts`] over one segment.
pub(crate) struct SegmentCategoryCounts {
    reader: FacetReader,
    mapping: Arc<ChildMapping>,
    counts: Vec<u64>,
}

impl SegmentCollector for SegmentCategoryCounts {
    type Fruit = BTreeMap<String, u64>;

    fn collect(&mut self, doc: DocId, _: Score) {
        let mut previous = NOT_UNDER_NODE;
        for ord in self.reader.facet_ords(doc) {
            let child = usize::try_from(ord).ok().and_then(|ord| self.mapping.child_of_ord.get(ord).copied());
            let Some(child) = child.filter(|&child| child != NOT_UNDER_NODE && child != previous) else {
                continue;
            };
            if let Some(count) = self.counts.get_mut(child as usize) {
                *count += 1;
            }
            previous = child;
        }
    }

    fn harvest(self) -> Self::Fruit {
        self.counts
            .iter()
            .zip(&self.mapping.children)
            .filter(|(count, _)| **count > 0)
            .map(|(count, child)| (child.clone(), *count))
            .collect()
    }
}
