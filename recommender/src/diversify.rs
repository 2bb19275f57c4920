//! Diversification of a ranked candidate list: at most `max_per_group` items per group.
//!
//! Recommendation lists drawn from an embedding index tend to bunch up: the ten nearest neighbours
//! of a T-shirt are ten T-shirts. [`diversify`] walks the ranked candidates once, best first, and
//! keeps an item only while its group (a category, a brand, a parent product) holds fewer than
//! `max_per_group` kept items. Items without a group are never capped.
//!
//! If that leaves fewer than `k` items, the list is **filled** with the skipped candidates, in
//! their original order, appended after the diversified ones: a list of ten slightly repetitive
//! items is better than a list of four. The output never holds more than `k` items and never
//! reorders the items it keeps from the first pass.

use std::collections::HashMap;

/// Keeps the order of `candidates` (best first) but at most `max_per_group` items of each group
/// (as told by `group_of`; `None` means "no group, never capped"), up to `k` items.
///
/// When fewer than `k` candidates survive the cap, the skipped candidates are appended, in their
/// original order, until the list holds `k` items (or the candidates run out). So the result has
/// `min(k, candidates.len())` items, and the cap is only broken to reach `k`.
///
/// `max_per_group == 0` caps every grouped item: only ungrouped items make the first pass and
/// grouped ones come back through the fill.
///
/// ```
/// use vitrine_recommender::diversify::diversify;
///
/// // Items 1..=4 are in category 7, item 5 in category 8.
/// let ranked = [(1, 0.9), (2, 0.8), (3, 0.7), (5, 0.6), (4, 0.5)];
/// let category = |item: u32| Some(if item == 5 { 8 } else { 7 });
/// let kept = diversify(&ranked, category, 2, 3);
/// assert_eq!(kept, vec![(1, 0.9), (2, 0.8), (5, 0.6)]);
/// ```
pub fn diversify(
    candidates: &[(u32, f32)],
    group_of: impl Fn(u32) -> Option<u32>,
    max_per_group: usize,
    k: usize,
) -> Vec<(u32, f32)> {
    let mut kept = Vec::with_capacity(k.min(candidates.len()));
    let mut skipped = Vec::new();
    let mut per_group: HashMap<u32, usize> = HashMap::new();

    for &candidate in candidates {
        if kept.len() == k {
            break;
        }
        let Some(group) = group_of(candidate.0) else {
            kept.push(candidate);
            continue;
        };
        let count = per_group.entry(group).or_insert(0);
        if *count < max_per_group {
            *count += 1;
            kept.push(candidate);
        } else {
            skipped.push(candidate);
        }
    }

    // Only the first pass can end early; the fill takes the skipped items in ranking order.
    let missing = k.saturating_sub(kept.len());
    kept.extend(skipped.into_iter().take(missing));
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Groups by tens: items 0..=9 are group 0, 10..=19 group 1, ...; items ≥ 100 have no group.
    fn by_tens(item: u32) -> Option<u32> {
        (item < 100).then_some(item / 10)
    }

    fn ids(list: &[(u32, f32)]) -> Vec<u32> {
        list.iter().map(|&(id, _)| id).collect()
    }

    #[test]
    fn caps_each_group_and_keeps_order() {
        let ranked = [(1, 0.9), (2, 0.8), (3, 0.7), (11, 0.6), (4, 0.5), (12, 0.4), (13, 0.3), (21, 0.2)];
        let kept = diversify(&ranked, by_tens, 2, 5);
        assert_eq!(ids(&kept), vec![1, 2, 11, 12, 21]);
        // Scores travel with their items.
        assert_eq!(kept[2], (11, 0.6));
    }

    #[test]
    fn fills_from_skipped_in_order_when_too_few_remain() {
        // Group 0 dominates: the cap leaves 3 items, the fill adds the best skipped ones.
        let ranked = [(1, 0.9), (2, 0.8), (3, 0.7), (11, 0.6), (4, 0.5), (5, 0.4)];
        let kept = diversify(&ranked, by_tens, 2, 5);
        assert_eq!(ids(&kept), vec![1, 2, 11, 3, 4]);
    }

    #[test]
    fn ungrouped_items_are_never_capped() {
        let ranked = [(100, 0.9), (101, 0.8), (102, 0.7), (1, 0.6), (2, 0.5)];
        let kept = diversify(&ranked, by_tens, 1, 4);
        assert_eq!(ids(&kept), vec![100, 101, 102, 1]);
    }

    #[test]
    fn never_more_than_k_nor_more_than_candidates() {
        let ranked = [(1, 0.9), (2, 0.8), (3, 0.7)];
        assert_eq!(diversify(&ranked, by_tens, 1, 10).len(), 3);
        assert_eq!(diversify(&ranked, by_tens, 5, 2).len(), 2);
        assert!(diversify(&ranked, by_tens, 1, 0).is_empty());
        assert!(diversify(&[], by_tens, 1, 5).is_empty());
    }

    #[test]
    fn zero_cap_lets_grouped_items_in_only_through_the_fill() {
        let ranked = [(1, 0.9), (100, 0.8), (2, 0.7), (101, 0.6)];
        let kept = diversify(&ranked, by_tens, 0, 3);
        assert_eq!(ids(&kept), vec![100, 101, 1]);
    }
}
