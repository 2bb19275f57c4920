//! Item–item co-occurrence: "frequently bought together" and an item-kNN recommender.
//!
//! The input is a matrix whose rows are baskets (orders, sessions — or whole users, for an
//! item-kNN on purchase histories) and whose columns are items. Each basket entry gets a weight
//! `w_bi` ([`BasketWeighting`]): 1, or the BM25 weight of `implicit`'s `bm25_weight` (items are
//! the documents, baskets the terms: long baskets and best-sellers weigh less). The co-occurrence
//! of two items is then `c_ij = Σ_b w_bi w_bj`, and the similarity `i → j` is that co-occurrence
//! normalised by the items' own mass ([`Normalisation`]), so that a best-seller present in every
//! basket does not top every list:
//!
//! - `Asymmetric { beta }`: `c_ij / (c_i^(1−β) · c_j^β)` with `c_i = Σ_b w_bi²`. `β = 0.5` is the
//!   cosine; `β = 0` is the conditional probability `P(j | i)` (favours best-sellers); larger `β`
//!   penalises popular targets harder.
//! - `Lift`: `c_ij · Σ_b 1 / (s_i · s_j)` with `s_i = Σ_b w_bi` — how much more often than chance.
//! - `None`: the raw `c_ij`. With BM25 weights (k1 1.2, b 0.75) and 20 neighbours this is
//!   `implicit`'s `BM25Recommender` (≥ 0.5, which weighs `user_items.T` the same way).
//!
//! Pairs seen together in fewer than [`CoocParams::min_count`] baskets are dropped, an optional
//! shrinkage `n_ij / (n_ij + shrinkage)` discounts pairs with little support, and only the best
//! [`CoocParams::neighbours`] targets of each item are kept.
//!
//! `XᵀX` is never materialised: each item's row of it is accumulated in a dense per-worker
//! scratch vector (cleared through the list of touched entries), items in parallel with rayon.
//! The cost is `Σ_b |b|²`.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::matrix::Interactions;
use crate::neighbours::ItemNeighbours;

/// How each (basket, item) entry is weighted before counting co-occurrences.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum BasketWeighting {
    /// Every stored entry weighs 1 (the stored value is ignored).
    Binary,
    /// BM25 as `implicit.nearest_neighbours.bm25_weight` on the item × basket matrix, applied to the
    /// stored values: `x (k1 + 1) / (k1 · norm_i + x) · idf_b` with `norm_i = 1 − b + b · s_i / mean(s)`
    /// (`s_i` = item's total weight) and `idf_b = max(0, ln(n_items) − ln(1 + |b|))`.
    Bm25 {
        /// Term-frequency saturation (`implicit`'s `BM25Recommender` uses 1.2).
        k1: f32,
        /// Length normalisation strength in `[0, 1]` (`implicit`'s `BM25Recommender` uses 0.75).
        b: f32,
    },
}

/// How a co-occurrence `c_ij` is normalised into the similarity `i → j`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Normalisation {
    /// The raw (weighted) co-occurrence.
    None,
    /// `c_ij / (c_i^(1−β) · c_j^β)`, `c_i = Σ_b w_bi²`; `β = 0.5` is the cosine.
    Asymmetric {
        /// Exponent on the target item's mass.
        beta: f32,
    },
    /// `c_ij · n_baskets / (s_i · s_j)`, `s_i = Σ_b w_bi`.
    Lift,
}

/// Parameters of [`fit`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CoocParams {
    /// Weighting of basket entries.
    pub weighting: BasketWeighting,
    /// Normalisation of co-occurrences.
    pub normalisation: Normalisation,
    /// Minimum number of baskets two items must share to be neighbours.
    pub min_count: u32,
    /// Support shrinkage: similarities are multiplied by `n_ij / (n_ij + shrinkage)` (0 = off).
    pub shrinkage: f32,
    /// Neighbours kept per item.
    pub neighbours: usize,
}

impl Default for CoocParams {
    fn default() -> Self {
        CoocParams {
            weighting: BasketWeighting::Binary,
            normalisation: Normalisation::Asymmetric { beta: 0.5 },
            min_count: 2,
            shrinkage: 0.0,
            neighbours: 100,
        }
    }
}

/// Per-worker scratch of [`fit`]: one dense row of `XᵀX` and its support counts.
struct RowScratch {
    weighted: Vec<f32>,
    counts: Vec<u32>,
    touched: Vec<u32>,
}

/// Computes the neighbour lists from `baskets` (rows = baskets, columns = items).
pub fn fit(baskets: &Interactions, params: &CoocParams) -> ItemNeighbours {
    let n_items = baskets.n_cols();
    let weighted = weigh_baskets(baskets, params.weighting);
    let by_item = weighted.transpose();

    // The items' own masses: Σ w² for the cosine family, Σ w for the lift.
    let mut squared_mass = vec![0f32; n_items];
    let mut linear_mass = vec![0f32; n_items];
    for item in 0..n_items {
        let (_, weights) = by_item.row(item);
        squared_mass[item] = weights.iter().map(|w| w * w).sum();
        linear_mass[item] = weights.iter().sum();
    }
    let n_baskets = (0..baskets.n_rows()).filter(|&b| baskets.row_count(b) > 0).count() as f32;

    let similarity = |source: usize, target: usize, cooccurrence: f32, support: u32| -> f32 {
        let normalised = match params.normalisation {
            Normalisation::None => cooccurrence,
            Normalisation::Asymmetric { beta } => {
                let denominator = squared_mass[source].powf(1.0 - beta) * squared_mass[target].powf(beta);
                if denominator > 0.0 { cooccurrence / denominator } else { 0.0 }
            }
            Normalisation::Lift => {
                let denominator = linear_mass[source] * linear_mass[target];
                if denominator > 0.0 { cooccurrence * n_baskets / denominator } else { 0.0 }
            }
        };
        if params.shrinkage > 0.0 {
            normalised * support as f32 / (support as f32 + params.shrinkage)
        } else {
            normalised
        }
    };

    let lists: Vec<Vec<(u32, f32)>> = (0..n_items)
        .into_par_iter()
        .map_init(
            || RowScratch { weighted: vec![0.0; n_items], counts: vec![0; n_items], touched: Vec::new() },
            |scratch, source| {
                let (basket_ids, source_weights) = by_item.row(source);
                for (&basket, &source_weight) in basket_ids.iter().zip(source_weights) {
                    let (items, weights) = weighted.row(basket as usize);
                    for (&target, &target_weight) in items.iter().zip(weights) {
                        let t = target as usize;
                        if scratch.counts[t] == 0 {
                            scratch.touched.push(target);
                        }
                        scratch.counts[t] += 1;
                        scratch.weighted[t] += source_weight * target_weight;
                    }
                }
                let mut list = Vec::new();
                for &target in &scratch.touched {
                    let t = target as usize;
                    let support = scratch.counts[t];
                    if t != source && support >= params.min_count.max(1) {
                        let score = similarity(source, t, scratch.weighted[t], support);
                        if score > 0.0 && score.is_finite() {
                            list.push((target, score));
                        }
                    }
                    scratch.counts[t] = 0;
                    scratch.weighted[t] = 0.0;
                }
                scratch.touched.clear();
                keep_best(&mut list, params.neighbours);
                list
            },
        )
        .collect();

    ItemNeighbours::from_lists(lists)
}

/// Applies the basket weighting.
fn weigh_baskets(baskets: &Interactions, weighting: BasketWeighting) -> Interactions {
    match weighting {
        BasketWeighting::Binary => baskets.map_values(|_| 1.0),
        BasketWeighting::Bm25 { k1, b } => {
            let n_items = baskets.n_cols();
            let item_mass = baskets.column_sums();
            let mean_mass = if n_items > 0 { item_mass.iter().sum::<f32>() / n_items as f32 } else { 0.0 };
            let n_items_ln = (n_items.max(1) as f32).ln();
            let mut triplets = Vec::with_capacity(baskets.nnz());
            for basket in 0..baskets.n_rows() {
                let idf = (n_items_ln - (1.0 + baskets.row_count(basket) as f32).ln()).max(0.0);
                let (items, values) = baskets.row(basket);
                for (&item, &value) in items.iter().zip(values) {
                    let length_norm =
                        if mean_mass > 0.0 { (1.0 - b) + b * item_mass[item as usize] / mean_mass } else { 1.0 };
                    let weight = value * (k1 + 1.0) / (k1 * length_norm + value) * idf;
                    triplets.push((basket as u32, item, if weight.is_finite() { weight } else { 0.0 }));
                }
            }
            Interactions::from_triplets(baskets.n_rows(), n_items, &triplets)
        }
    }
}

/// Keeps the `n` best entries of `list`, sorted best first (ties by item id).
fn keep_best(list: &mut Vec<(u32, f32)>, n: usize) {
    let better = |a: &(u32, f32), b: &(u32, f32)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
    if n < list.len() {
        list.select_nth_unstable_by(n, better);
        list.truncate(n);
    }
    list.sort_unstable_by(better);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn baskets(rows: &[&[u32]], n_items: usize) -> Interactions {
        let triplets: Vec<(u32, u32, f32)> =
            rows.iter().enumerate().flat_map(|(b, items)| items.iter().map(move |&i| (b as u32, i, 1.0))).collect();
        Interactions::from_triplets(rows.len(), n_items, &triplets)
    }

    #[test]
    fn cosine_matches_a_hand_computation() {
        // Item 0 in 3 baskets, item 1 in 2, together in 2: cosine = 2 / sqrt(3 · 2).
        let m = baskets(&[&[0, 1], &[0, 1], &[0, 2], &[2]], 3);
        let model = fit(&m, &CoocParams { min_count: 1, ..CoocParams::default() });
        let to_one = model.neighbours(0).iter().find(|&&(j, _)| j == 1).expect("0 and 1 co-occur").1;
        assert!((to_one - 2.0 / 6f32.sqrt()).abs() < 1e-6);
        assert!(model.neighbours(1).iter().all(|&(j, _)| j != 2), "1 and 2 never co-occur");
        assert!(model.neighbours(0).iter().all(|&(j, _)| j != 0), "no self-similarity");
    }

    #[test]
    fn min_count_and_neighbour_limit() {
        let m = baskets(&[&[0, 1, 2, 3], &[0, 1], &[0, 2]], 4);
        let model = fit(&m, &CoocParams { min_count: 2, ..CoocParams::default() });
        let targets: Vec<u32> = model.neighbours(0).iter().map(|&(j, _)| j).collect();
        assert_eq!(targets.len(), 2);
        assert!(targets.contains(&1) && targets.contains(&2));
        let model = fit(&m, &CoocParams { min_count: 1, neighbours: 1, ..CoocParams::default() });
        assert_eq!(model.neighbours(0).len(), 1);
        assert!(model.neighbours(99).is_empty());
    }

    #[test]
    fn asymmetric_beta_zero_is_conditional_probability() {
        let m = baskets(&[&[0, 1], &[0, 1], &[0], &[0], &[1]], 2);
        let params =
            CoocParams { min_count: 1, normalisation: Normalisation::Asymmetric { beta: 0.0 }, ..Default::default() };
        let model = fit(&m, &params);
        // P(1 | 0) = 2 / 4, P(0 | 1) = 2 / 3.
        assert!((model.neighbours(0)[0].1 - 0.5).abs() < 1e-6);
        assert!((model.neighbours(1)[0].1 - 2.0 / 3.0).abs() < 1e-6);
        let lift = fit(&m, &CoocParams { min_count: 1, normalisation: Normalisation::Lift, ..Default::default() });
        // 2 · 5 / (4 · 3)
        assert!((lift.neighbours(0)[0].1 - 10.0 / 12.0).abs() < 1e-6);
    }

    #[test]
    fn score_items_sums_weighted_neighbours() {
        let m = baskets(&[&[0, 1], &[0, 1], &[1, 2], &[1, 2]], 3);
        let model = fit(&m, &CoocParams { min_count: 1, ..CoocParams::default() });
        let mut out = vec![9.0; 3];
        model.score_items(&[(0, 1.0), (2, 2.0)], &mut out);
        let sim = |a: u32, b: u32| model.neighbours(a).iter().find(|&&(j, _)| j == b).map_or(0.0, |&(_, s)| s);
        assert!((out[1] - (sim(0, 1) + 2.0 * sim(2, 1))).abs() < 1e-6);
        assert_eq!(out[0], 0.0);
        assert_eq!(out[2], 0.0);
    }

    #[test]
    fn bm25_follows_implicit_formula() {
        let m = baskets(&[&[0, 1], &[0, 1, 2]], 4);
        let weighted = weigh_baskets(&m, BasketWeighting::Bm25 { k1: 100.0, b: 0.8 });
        // Item masses 2, 2, 1, 0 → mean 1.25; basket 0 has 2 items: idf = ln 4 − ln 3.
        let norm = 0.2 + 0.8 * 2.0 / 1.25;
        let expected = 101.0 / (100.0 * norm + 1.0) * (4f32.ln() - 3f32.ln());
        assert!((weighted.row(0).1[0] - expected).abs() < 1e-6);
    }
}
