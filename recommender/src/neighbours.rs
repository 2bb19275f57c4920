//! Sparse item → item weights: a few neighbours per item, stored contiguously (CSR).
//!
//! Both item-to-item models are served in this form: co-occurrence ([`crate::cooc::fit`], the
//! "frequently bought together" lists) and the sparsified EASE weights ([`crate::ease::fit_sparse`]).
//! A user's or a cart's scores are the weighted sum of the neighbour lists of its items.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

/// The neighbours of every item, best first.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ItemNeighbours {
    /// Item `i`'s neighbours are `neighbours[indptr[i]..indptr[i + 1]]`.
    indptr: Vec<usize>,
    neighbours: Vec<(u32, f32)>,
}

/// Cuts `list` to its `keep` weights of largest magnitude and orders it as EASE's lists are
/// served: by decreasing weight (negative weights last: they push items down), ties by item.
pub fn keep_strongest(list: &mut Vec<(u32, f32)>, keep: usize) {
    if keep < list.len() {
        list.select_nth_unstable_by(keep, |a, b| b.1.abs().total_cmp(&a.1.abs()).then(a.0.cmp(&b.0)));
        list.truncate(keep);
    }
    list.sort_unstable_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
}

impl ItemNeighbours {
    /// One list per item (item `i`'s list at index `i`), each `(neighbour, weight)` in the order
    /// it should be served.
    pub fn from_lists(lists: Vec<Vec<(u32, f32)>>) -> ItemNeighbours {
        let mut indptr = Vec::with_capacity(lists.len() + 1);
        indptr.push(0);
        let mut neighbours = Vec::with_capacity(lists.iter().map(Vec::len).sum());
        for list in lists {
            neighbours.extend(list);
            indptr.push(neighbours.len());
        }
        ItemNeighbours { indptr, neighbours }
    }

    /// Number of items.
    pub fn n_items(&self) -> usize {
        self.indptr.len().saturating_sub(1)
    }

    /// Number of stored (item, neighbour) pairs.
    pub fn len(&self) -> usize {
        self.neighbours.len()
    }

    /// Whether no item has a neighbour.
    pub fn is_empty(&self) -> bool {
        self.neighbours.is_empty()
    }

    /// The neighbours of `item` as `(item, weight)`, best first; empty for an unknown item.
    pub fn neighbours(&self, item: u32) -> &[(u32, f32)] {
        let item = item as usize;
        if item + 1 >= self.indptr.len() {
            return &[];
        }
        &self.neighbours[self.indptr[item]..self.indptr[item + 1]]
    }

    /// Scores for a user or a cart: `out[j] = Σ_(i, w) ∈ history w · weight(i → j)`. `out` is
    /// overwritten; items of the history are not excluded (the caller filters what was already
    /// bought); unknown items in the history and neighbours beyond `out` are ignored.
    pub fn score_items(&self, history: &[(u32, f32)], out: &mut [f32]) {
        out.fill(0.0);
        for &(item, weight) in history {
            for &(neighbour, similarity) in self.neighbours(item) {
                if let Some(slot) = out.get_mut(neighbour as usize) {
                    *slot += weight * similarity;
                }
            }
        }
    }

    /// [`score_items`](Self::score_items) over `n_items` items, read at `candidates` only (the
    /// same sums, added in the same order). When the history reaches few items, without the
    /// dense array of every item: serving a large catalogue costs what the history reaches.
    pub fn score_candidates(&self, history: &[(u32, f32)], candidates: &[u32], n_items: usize) -> Vec<f32> {
        let reached: usize = history.iter().map(|&(item, _)| self.neighbours(item).len()).sum();
        if reached.saturating_mul(8) >= n_items {
            let mut all = vec![0.0; n_items];
            self.score_items(history, &mut all);
            return candidates.iter().map(|&item| all.get(item as usize).copied().unwrap_or(0.0)).collect();
        }
        let mut sums: HashMap<u32, f32> = candidates.iter().map(|&item| (item, 0.0)).collect();
        for &(item, weight) in history {
            for &(neighbour, similarity) in self.neighbours(item) {
                if (neighbour as usize) < n_items
                    && let Some(slot) = sums.get_mut(&neighbour)
                {
                    *slot += weight * similarity;
                }
            }
        }
        candidates.iter().map(|item| sums.get(item).copied().unwrap_or(0.0)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_round_trip_and_scores_sum_weighted_neighbours() {
        let model = ItemNeighbours::from_lists(vec![vec![(1, 0.5), (2, 0.25)], vec![], vec![(0, 2.0)]]);
        assert_eq!(model.n_items(), 3);
        assert_eq!(model.len(), 3);
        assert_eq!(model.neighbours(0), &[(1, 0.5), (2, 0.25)]);
        assert!(model.neighbours(1).is_empty());
        assert!(model.neighbours(7).is_empty());
        let mut out = vec![9.0; 3];
        model.score_items(&[(0, 2.0), (2, 1.0), (5, 1.0)], &mut out);
        assert_eq!(out, vec![2.0, 1.0, 0.5]);
    }

    #[test]
    fn candidate_scores_are_the_dense_scores_at_the_candidates() {
        // 1,000 items, each with neighbours i+1, i+7 and i+500 (some beyond the catalogue).
        let lists = (0..1_000_u32)
            .map(|i| vec![(i + 1, 0.5 + (i % 3) as f32), (i + 7, 0.25), (i + 500, 1.0 / (1.0 + i as f32))])
            .collect();
        let model = ItemNeighbours::from_lists(lists);
        let candidates: Vec<u32> = vec![8, 3, 507, 2_000, 1, 8, 999, 12];
        for history in [vec![(1, 2.0), (7, 0.5), (0, 1.0)], (0..900).map(|i| (i, 0.1 + (i % 5) as f32)).collect()] {
            let mut dense = vec![0.0; 1_000];
            model.score_items(&history, &mut dense);
            let expected: Vec<f32> =
                candidates.iter().map(|&item| dense.get(item as usize).copied().unwrap_or(0.0)).collect();
            assert_eq!(
                model.score_candidates(&history, &candidates, 1_000),
                expected,
                "{} history items",
                history.len()
            );
        }
        // The short history takes the sparse path (9 neighbours reached), the long one the dense.
        assert_eq!(model.score_candidates(&[(1, 2.0)], &[2, 8, 9], 1_000), [2.0 * 1.5, 2.0 * 0.25, 0.0]);
    }
}
