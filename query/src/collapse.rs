//! Variant collapsing: one result per product family (a parent and its variants share the
//! indexed `group` key), ranked by its best-ranked member.
//!
//! tantivy has no grouping collector, so this one keeps, per segment, the best member of the
//! families that can still make the top, then merges segments and keeps the top families. The
//! total is the number of families that match: every matching family's key goes into a set.
//!
//! A family only needs its best member kept while it can still reach the top `limit`: once more
//! than twice that many are kept, the collector keeps the best `limit` and from then on ignores
//! documents ranked below the last of them (there are `limit` families above). A search over a
//! million products that matches a hundred thousand then keeps a few dozen families, not all
//! of them, and spends one set insertion (a fast hash of a `u64`) per matching document.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::collections::hash_map::Entry;

use rustc_hash::{FxHashMap, FxHashSet};

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::Column;
use tantivy::{DocAddress, DocId, Score, Searcher, SegmentReader};
use vitrine_indexer::ProductFields;

/// The best-ranked matching member of a family.
#[derive(Debug, Clone)]
pub(crate) struct Family<K> {
    /// Its ranking key.
    pub(crate) key: K,
    /// Its document.
    pub(crate) address: DocAddress,
    /// The family.
    pub(crate) group: u64,
}

/// Higher keys first; equal keys in index order, as `TopDocs` does.
fn ranking<K: PartialOrd>(left: &Family<K>, right: &Family<K>) -> Ordering {
    right.key.partial_cmp(&left.key).unwrap_or(Ordering::Equal).then_with(|| left.address.cmp(&right.address))
}

/// Collects the top `limit` families under a ranking key, and how many families match.
pub(crate) struct CollapsedTop<F> {
    limit: usize,
    key_fn: F,
}

impl<F> CollapsedTop<F> {
    /// The top `limit` families, ranked by the key `key_fn` gives each matching document.
    pub(crate) fn new(limit: usize, key_fn: F) -> Self {
        CollapsedTop { limit, key_fn }
    }
}

impl<F, K> Collector for CollapsedTop<F>
where
    F: Fn(&SegmentReader) -> Box<dyn Fn(DocId, Score) -> K> + Send + Sync + 'static,
    K: PartialOrd + Clone + Send + Sync + 'static,
{
    type Fruit = (Vec<Family<K>>, usize);
    type Child = SegmentFamilies<K>;

    fn for_segment(&self, segment_ord: u32, segment: &SegmentReader) -> tantivy::Result<Self::Child> {
        let group: Column<u64> = segment.fast_fields().u64("group")?;
        Ok(SegmentFamilies {
            segment_ord,
            key: (self.key_fn)(segment),
            group,
            limit: self.limit,
            best: FxHashMap::default(),
            floor: None,
            matching: FxHashSet::default(),
        })
    }

    fn requires_scoring(&self) -> bool {
        true
    }

    fn merge_fruits(&self, segments: Vec<(Vec<Family<K>>, FxHashSet<u64>)>) -> tantivy::Result<Self::Fruit> {
        let mut best: HashMap<u64, Family<K>> = HashMap::new();
        let mut matching: FxHashSet<u64> = FxHashSet::default();
        let mut kept = Vec::new();
        for (families, groups) in segments {
            kept.extend(families);
            if matching.is_empty() {
                matching = groups;
            } else {
                matching.extend(groups);
            }
        }
        for family in kept {
            match best.entry(family.group) {
                Entry::Vacant(slot) => {
                    slot.insert(family);
                }
                Entry::Occupied(mut slot) => {
                    if ranking(&family, slot.get()) == Ordering::Less {
                        slot.insert(family);
                    }
                }
            }
        }
        let total = matching.len();
        let mut families: Vec<Family<K>> = best.into_values().collect();
        if families.len() > self.limit {
            families.select_nth_unstable_by(self.limit, ranking);
            families.truncate(self.limit);
        }
        families.sort_by(ranking);
        Ok((families, total))
    }
}

/// The best member of each family within one segment that can still make the top `limit`,
/// and every matching family.
pub(crate) struct SegmentFamilies<K> {
    segment_ord: u32,
    key: Box<dyn Fn(DocId, Score) -> K>,
    group: Column<u64>,
    limit: usize,
    best: FxHashMap<u64, (K, DocId)>,
    /// The key of the `limit`-th best family kept at the last pruning: a document ranked below
    /// it cannot make the top.
    floor: Option<K>,
    matching: FxHashSet<u64>,
}

impl<K: PartialOrd + Clone> SegmentFamilies<K> {
    /// Keeps the best `limit` families (and those tied with the last) and raises the floor.
    fn prune(&mut self) {
        let mut keys: Vec<K> = self.best.values().map(|(key, _)| key.clone()).collect();
        let descending = |a: &K, b: &K| b.partial_cmp(a).unwrap_or(Ordering::Equal);
        let (_, floor, _) = keys.select_nth_unstable_by(self.limit.saturating_sub(1), descending);
        let floor = floor.clone();
        self.best.retain(|_, (key, _)| *key >= floor);
        self.floor = Some(floor);
    }
}

impl<K> SegmentCollector for SegmentFamilies<K>
where
    K: PartialOrd + Clone + Send + Sync + 'static,
{
    type Fruit = (Vec<Family<K>>, FxHashSet<u64>);

    fn collect(&mut self, doc: DocId, score: Score) {
        let group = self.group.first(doc).unwrap_or(u64::MAX);
        self.matching.insert(group);
        if self.limit == 0 {
            return; // counting only
        }
        let key = (self.key)(doc, score);
        if self.floor.as_ref().is_some_and(|floor| key < *floor) {
            return;
        }
        match self.best.entry(group) {
            Entry::Vacant(slot) => {
                slot.insert((key, doc));
            }
            // Documents arrive in order, so a tie keeps the earlier one.
            Entry::Occupied(mut slot) if key > slot.get().0 => {
                slot.insert((key, doc));
            }
            Entry::Occupied(_) => {}
        }
        if self.best.len() > 2 * self.limit + 64 {
            self.prune();
        }
    }

    fn harvest(self) -> Self::Fruit {
        let segment_ord = self.segment_ord;
        let families = self.best.into_iter().map(|(group, (key, doc))| Family {
            key,
            address: DocAddress::new(segment_ord, doc),
            group,
        });
        (families.collect(), self.matching)
    }
}

/// Whether any product of the index is a variant (has a parent).
pub(crate) fn has_variants(searcher: &Searcher, fields: &ProductFields) -> tantivy::Result<bool> {
    for segment in searcher.segment_readers() {
        if segment.inverted_index(fields.parent_id)?.terms().num_terms() > 0 {
            return Ok(true);
        }
    }
    Ok(false)
}
