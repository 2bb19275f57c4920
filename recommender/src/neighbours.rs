//! Sparse item → item weights: a few neighbours per item, stored contiguously (CSR).
//!
//! Both item-to-item models are served in this form: co-occurrence ([`crate::cooc::fit`], the
//! "frequently bought together" lists) and the sparsified EASE weights ([`crate::ease::fit_sparse`]).
//! A user's or a cart's scores are the weighted sum of the neighbour lists of its items.

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
}
