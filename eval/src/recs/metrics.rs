//! Recommendation metrics: per-user accuracy at K and catalogue-level exposure at K.
//!
//! Per-user metrics follow the conventions of [`crate::search`]'s metrics (a ranking of ids best
//! first, a judgments map, duplicates counted once, `None` when nothing is relevant), so NDCG and
//! Recall are [`ndcg_at`](crate::search::ndcg_at) and [`recall_at`](crate::search::recall_at)
//! themselves: every relevant item is judged [`RELEVANT`], whose gain is 1 — binary gains, with
//! the ideal DCG over `min(K, |relevant|)` items. This module adds MAP@K and HitRate@K in the same
//! style, and the catalogue-level metrics over dense item ids: coverage, the Gini index of
//! exposure and the mean popularity rank (novelty).

use std::collections::{HashMap, HashSet};

/// The relevance every relevant item gets in a judgments map, on the search scale 1..=3: its gain
/// [`gain`](crate::search::gain) is exactly 1, so NDCG has binary gains; it is also the relevance
/// threshold of Recall, MAP and HitRate.
pub const RELEVANT: f64 = 2.0;

/// The judgments map of a relevant set: every item judged [`RELEVANT`].
pub fn binary_judgments<S: AsRef<str>>(relevant: &[S]) -> HashMap<String, f64> {
    relevant.iter().map(|item| (item.as_ref().to_string(), RELEVANT)).collect()
}

/// The first `k` distinct ids of `ranking`, each with its 1-based rank after duplicates are dropped.
fn distinct_top<S: AsRef<str>>(k: usize, ranking: &[S]) -> impl Iterator<Item = (usize, &str)> {
    let mut seen = HashSet::new();
    ranking.iter().map(AsRef::as_ref).filter(move |id| seen.insert(*id)).take(k).enumerate().map(|(i, id)| (i + 1, id))
}

/// Number of products judged at least `threshold`.
fn relevant_count(judgments: &HashMap<String, f64>, threshold: f64) -> usize {
    judgments.values().filter(|&&relevance| relevance >= threshold).count()
}

/// Average precision at `k`:
///
/// `AP@k = (1 / min(k, |relevant|)) · Σ_{i ≤ k, r_i relevant} precision@i`
///
/// where `precision@i` is the share of relevant items among the first `i`. Dividing by
/// `min(k, |relevant|)` (not `|relevant|`) lets a perfect top `k` score 1 when more than `k` items
/// are relevant, as `implicit`'s `ranking_metrics_at_k` does. The mean over users is MAP@k.
///
/// `None` when nothing reaches `threshold` or `k = 0`.
pub fn average_precision_at<S: AsRef<str>>(
    k: usize,
    ranking: &[S],
    judgments: &HashMap<String, f64>,
    threshold: f64,
) -> Option<f64> {
    let relevant = relevant_count(judgments, threshold);
    if relevant == 0 || k == 0 {
        return None;
    }
    let mut hits = 0usize;
    let mut precision_sum = 0.0;
    for (rank, id) in distinct_top(k, ranking) {
        if judgments.get(id).is_some_and(|&relevance| relevance >= threshold) {
            hits += 1;
            precision_sum += hits as f64 / rank as f64;
        }
    }
    Some(precision_sum / relevant.min(k) as f64)
}

/// Whether the top `k` holds at least one relevant item (1) or none (0). The mean over users is
/// HitRate@k.
///
/// `None` when nothing reaches `threshold`.
pub fn hit_at<S: AsRef<str>>(k: usize, ranking: &[S], judgments: &HashMap<String, f64>, threshold: f64) -> Option<f64> {
    if relevant_count(judgments, threshold) == 0 {
        return None;
    }
    let hit =
        distinct_top(k, ranking).any(|(_, id)| judgments.get(id).is_some_and(|&relevance| relevance >= threshold));
    Some(if hit { 1.0 } else { 0.0 })
}

/// Catalogue coverage: the share of the `n_candidates` items that appear in at least one list of
/// `recommended` (dense ids `< n_candidates`). 0 when there are no candidates.
pub fn coverage<'a>(recommended: impl IntoIterator<Item = &'a [u32]>, n_candidates: usize) -> f64 {
    if n_candidates == 0 {
        return 0.0;
    }
    let mut shown = vec![false; n_candidates];
    for &item in recommended.into_iter().flatten() {
        if let Some(flag) = shown.get_mut(item as usize) {
            *flag = true;
        }
    }
    shown.iter().filter(|&&flag| flag).count() as f64 / n_candidates as f64
}

/// How many lists of `recommended` show each of the `n_candidates` items.
pub fn exposure<'a>(recommended: impl IntoIterator<Item = &'a [u32]>, n_candidates: usize) -> Vec<u64> {
    let mut counts = vec![0u64; n_candidates];
    for &item in recommended.into_iter().flatten() {
        if let Some(count) = counts.get_mut(item as usize) {
            *count += 1;
        }
    }
    counts
}

/// The Gini index of `exposure` (one count per candidate, zeros included):
///
/// `G = Σ_{i=1..n} (2i − n − 1) · x_(i) / (n · Σ x)`
///
/// with `x_(1) ≤ … ≤ x_(n)` sorted ascending. 0 when every candidate is shown equally often, `1 −
/// 1/n` when one item takes all exposure. 0 when nothing is shown at all.
pub fn gini(exposure: &[u64]) -> f64 {
    let n = exposure.len();
    let total: u64 = exposure.iter().sum();
    if n == 0 || total == 0 {
        return 0.0;
    }
    let mut sorted = exposure.to_vec();
    sorted.sort_unstable();
    let weighted: f64 =
        sorted.iter().enumerate().map(|(i, &x)| (2.0 * (i as f64 + 1.0) - n as f64 - 1.0) * x as f64).sum();
    weighted / (n as f64 * total as f64)
}

/// The popularity rank of every item (1 = most popular): by decreasing `counts`, ties by
/// increasing id — the order of the popularity baseline.
pub fn popularity_ranks(counts: &[u32]) -> Vec<u32> {
    let mut order: Vec<u32> = (0..counts.len()).filter_map(|i| u32::try_from(i).ok()).collect();
    order.sort_by(|&a, &b| counts[b as usize].cmp(&counts[a as usize]).then(a.cmp(&b)));
    let mut ranks = vec![0u32; counts.len()];
    for (position, &item) in order.iter().enumerate() {
        ranks[item as usize] = u32::try_from(position + 1).unwrap_or(u32::MAX);
    }
    ranks
}

/// Novelty: the mean popularity rank ([`popularity_ranks`]) over every recommended slot of every
/// list. Higher means less popular items are shown. 0 when nothing is recommended.
pub fn mean_popularity_rank<'a>(recommended: impl IntoIterator<Item = &'a [u32]>, ranks: &[u32]) -> f64 {
    let (sum, count) = recommended
        .into_iter()
        .flatten()
        .filter_map(|&item| ranks.get(item as usize))
        .fold((0.0, 0usize), |(sum, count), &rank| (sum + f64::from(rank), count + 1));
    if count == 0 { 0.0 } else { sum / count as f64 }
}

/// Popularity bias: the share of every recommended slot that falls in each tenth of the catalogue
/// by popularity rank ([`popularity_ranks`]): element 0 is the 10 % most popular items, element 9
/// the 10 % least popular. Sums to 1 (all zeros when nothing is recommended). A model without bias
/// would put 0.1 in each.
pub fn popularity_deciles<'a>(recommended: impl IntoIterator<Item = &'a [u32]>, ranks: &[u32]) -> Vec<f64> {
    let n = ranks.len().max(1) as f64;
    let mut counts = [0u64; 10];
    for &item in recommended.into_iter().flatten() {
        if let Some(&rank) = ranks.get(item as usize) {
            let decile = ((f64::from(rank.max(1) - 1) / n) * 10.0).floor() as usize;
            counts[decile.min(9)] += 1;
        }
    }
    let total = counts.iter().sum::<u64>();
    counts.iter().map(|&count| if total == 0 { 0.0 } else { count as f64 / total as f64 }).collect()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::search::{ndcg_at, recall_at};

    #[test]
    fn popularity_deciles_count_slots_by_tenth_of_the_catalogue() {
        // 20 items; ranks = id + 1, so items 0-1 are the top tenth and 18-19 the bottom one.
        let ranks: Vec<u32> = (1..=20).collect();
        let lists: [&[u32]; 2] = [&[0, 1, 19], &[0]];
        let deciles = popularity_deciles(lists, &ranks);
        assert_eq!(deciles.len(), 10);
        assert!((deciles[0] - 0.75).abs() < 1e-12 && (deciles[9] - 0.25).abs() < 1e-12, "{deciles:?}");
        assert_eq!(popularity_deciles(std::iter::empty::<&[u32]>(), &ranks), vec![0.0; 10]);
    }

    fn assert_close(actual: f64, expected: f64) {
        assert!((actual - expected).abs() < 1e-12, "{actual} != {expected}");
    }

    #[test]
    fn ndcg_and_recall_from_search_have_binary_gains_and_the_min_k_ideal() {
        let judged = binary_judgments(&["a", "b", "c"]);
        // Hits at ranks 1 and 3, K = 2: DCG = 1; ideal over min(2, 3) = 2 items.
        let ideal_two = 1.0 + 1.0 / 3f64.log2();
        assert_close(ndcg_at(2, &["a", "x", "b"], &judged).expect("defined"), 1.0 / ideal_two);
        // K = 10: DCG = 1 + 1/2; ideal over 3 items.
        let ideal_three = ideal_two + 0.5;
        assert_close(ndcg_at(10, &["a", "x", "b"], &judged).expect("defined"), 1.5 / ideal_three);
        assert_eq!(recall_at(2, &["a", "x", "b"], &judged, RELEVANT), Some(1.0 / 3.0));
        assert_eq!(recall_at(10, &["a", "x", "b"], &judged, RELEVANT), Some(2.0 / 3.0));
    }

    #[test]
    fn average_precision_by_hand() {
        let judged = binary_judgments(&["a", "b", "c"]);
        // Hits at 1 and 3: (1/1 + 2/3) / min(10, 3).
        assert_close(
            average_precision_at(10, &["a", "x", "b"], &judged, RELEVANT).expect("defined"),
            (1.0 + 2.0 / 3.0) / 3.0,
        );
        // K = 2: one hit at 1, divided by min(2, 3) = 2.
        assert_close(average_precision_at(2, &["a", "x", "b"], &judged, RELEVANT).expect("defined"), 0.5);
        // A perfect top 2 with three relevant items scores 1.
        assert_close(average_precision_at(2, &["b", "c"], &judged, RELEVANT).expect("defined"), 1.0);
        assert_eq!(average_precision_at(10, &["x"], &judged, RELEVANT), Some(0.0));
        assert_eq!(average_precision_at(10, &["x"], &HashMap::new(), RELEVANT), None);
        assert_eq!(average_precision_at(0, &["a"], &judged, RELEVANT), None);
        // Duplicates count once and use no rank.
        assert_close(average_precision_at(10, &["a", "a", "b"], &judged, RELEVANT).expect("defined"), 2.0 / 3.0);
    }

    #[test]
    fn hit_by_hand() {
        let judged = binary_judgments(&["a"]);
        assert_eq!(hit_at(2, &["x", "a"], &judged, RELEVANT), Some(1.0));
        assert_eq!(hit_at(1, &["x", "a"], &judged, RELEVANT), Some(0.0));
        assert_eq!(hit_at(1, &["x"], &HashMap::new(), RELEVANT), None);
    }

    #[test]
    fn coverage_and_exposure_by_hand() {
        let lists: [&[u32]; 3] = [&[0, 1], &[1, 2], &[1, 0]];
        assert_close(coverage(lists, 4), 0.75);
        assert_eq!(exposure(lists, 4), vec![2, 3, 1, 0]);
        assert_eq!(coverage([] as [&[u32]; 0], 0), 0.0);
    }

    #[test]
    fn gini_by_hand() {
        assert_eq!(gini(&[3, 3, 3]), 0.0);
        // One item takes everything: 1 − 1/n.
        assert_close(gini(&[0, 0, 0, 5]), 0.75);
        // Sorted 0, 1, 3 (sum 4): ((−2)·0 + 0·1 + 2·3) / (3·4) = 0.5.
        assert_close(gini(&[3, 0, 1]), 0.5);
        assert_eq!(gini(&[0, 0]), 0.0);
        assert_eq!(gini(&[]), 0.0);
    }

    #[test]
    fn popularity_ranks_break_ties_by_id() {
        assert_eq!(popularity_ranks(&[5, 9, 5, 1]), vec![2, 1, 3, 4]);
        let lists: [&[u32]; 2] = [&[1, 0], &[3]];
        assert_close(mean_popularity_rank(lists, &popularity_ranks(&[5, 9, 5, 1])), (1.0 + 2.0 + 4.0) / 3.0);
        assert_eq!(mean_popularity_rank([] as [&[u32]; 0], &[]), 0.0);
    }

    proptest! {
        #[test]
        fn accuracy_metrics_stay_in_the_unit_interval(
            relevant in prop::collection::hash_set(0..12u8, 0..6),
            ranking in prop::collection::vec(0..16u8, 0..14),
            k in 0..12usize,
        ) {
            let relevant: Vec<String> = relevant.iter().map(|i| format!("p{i}")).collect();
            let ranking: Vec<String> = ranking.iter().map(|i| format!("p{i}")).collect();
            let judged = binary_judgments(&relevant);
            for value in [
                average_precision_at(k, &ranking, &judged, RELEVANT),
                hit_at(k, &ranking, &judged, RELEVANT),
            ].into_iter().flatten() {
                prop_assert!((0.0..=1.0 + 1e-12).contains(&value), "{value}");
            }
            // AP is positive exactly when there is a hit.
            if let (Some(ap), Some(hit)) = (average_precision_at(k, &ranking, &judged, RELEVANT), hit_at(k, &ranking, &judged, RELEVANT)) {
                prop_assert_eq!(ap > 0.0, hit > 0.0);
            }
        }

        #[test]
        fn gini_stays_in_its_range(exposure in prop::collection::vec(0..50u64, 1..20)) {
            let g = gini(&exposure);
            let n = exposure.len() as f64;
            prop_assert!(g >= -1e-12 && g <= 1.0 - 1.0 / n + 1e-12, "{g}");
        }
    }
}
