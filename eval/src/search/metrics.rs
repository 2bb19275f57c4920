//! Ranking metrics: small pure functions over one query's ranking and judgments.
//!
//! Conventions shared by every function here:
//!
//! - `ranking` lists product ids best first. Ranks are 1-based. If an id occurs more than once,
//!   only its first occurrence counts and later ones are dropped before the cut-off, so a backend
//!   cannot score twice with one product.
//! - `judgments` maps product ids to a relevance on the 1..=3 scale (1 = not, 2 = partly,
//!   3 = highly relevant; means of raters such as 2.33 are fine). A product missing from it is
//!   unjudged and treated as not relevant.
//! - A metric that cannot be defined for a query (nothing relevant to find) is `None`, so that
//!   averages can leave the query out rather than count it as a success or a failure.

use std::collections::{HashMap, HashSet};

/// The rank cut-off of the protocol: NDCG@10, MRR@10, Recall@10.
pub const DEFAULT_CUTOFF: usize = 10;

/// The relevance from which a product counts as relevant for [`mrr_at`] and [`recall_at`].
pub const DEFAULT_RELEVANCE_THRESHOLD: f64 = 2.5;

/// The gain of a product with the given relevance: `max(relevance − 1, 0)`, so 1 (not relevant)
/// gains 0, 2 (partly) gains 1 and 3 (highly) gains 2. Unjudged products gain 0.
pub fn gain(relevance: f64) -> f64 {
    (relevance - 1.0).max(0.0)
}

/// How a judgment's grade becomes its gain: linear between the given `(grade, gain)` points,
/// constant beyond the first and last. The default, `1:0,3:2`, is [`gain`]: `relevance − 1` on
/// the 1..=3 scale. Unjudged products gain 0 whatever the mapping.
#[derive(Debug, Clone, PartialEq)]
pub struct GainMap {
    points: Vec<(f64, f64)>,
}

impl Default for GainMap {
    fn default() -> Self {
        GainMap { points: vec![(1.0, 0.0), (3.0, 2.0)] }
    }
}

impl GainMap {
    /// Parses `grade:gain` pairs separated by commas (`0:0,1:1,2:3,3:7`).
    ///
    /// # Errors
    /// A pair that is not two finite numbers, fewer than one pair, the same grade twice, or a
    /// negative gain.
    pub fn parse(text: &str) -> Result<GainMap, String> {
        let mut points = Vec::new();
        for pair in text.split(',').map(str::trim).filter(|pair| !pair.is_empty()) {
            let (grade, gain) = pair.split_once(':').ok_or_else(|| format!("`{pair}` is not grade:gain"))?;
            let number = |field: &str| {
                field
                    .trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|value| value.is_finite())
                    .ok_or_else(|| format!("`{field}` is not a number"))
            };
            let (grade, gain) = (number(grade)?, number(gain)?);
            if gain < 0.0 {
                return Err(format!("gain {gain} of grade {grade} is negative"));
            }
            points.push((grade, gain));
        }
        if points.is_empty() {
            return Err("no grade:gain pair".to_string());
        }
        points.sort_by(|a, b| a.0.total_cmp(&b.0));
        if points.windows(2).any(|pair| pair[0].0 == pair[1].0) {
            return Err("a grade is given twice".to_string());
        }
        Ok(GainMap { points })
    }

    /// The gain of `grade`.
    pub fn gain(&self, grade: f64) -> f64 {
        let (first, last) = (self.points[0], self.points[self.points.len() - 1]);
        if grade <= first.0 {
            return first.1;
        }
        if grade >= last.0 {
            return last.1;
        }
        let upper = self.points.iter().position(|&(point, _)| point >= grade).unwrap_or(self.points.len() - 1);
        let ((g0, v0), (g1, v1)) = (self.points[upper - 1], self.points[upper]);
        v0 + (v1 - v0) * (grade - g0) / (g1 - g0)
    }

    /// Reads a grade from a judgments file: any finite number within the mapping's grades (with
    /// the default mapping, 1..=3).
    pub fn parse_grade(&self, field: &str) -> Result<f64, String> {
        let grade: f64 = field.trim().parse().map_err(|_| format!("relevance {field:?} is not a number"))?;
        let (low, high) = (self.points[0].0, self.points[self.points.len() - 1].0);
        if !grade.is_finite() || grade < low || grade > high {
            return Err(format!("relevance {field} is outside {low}..={high}"));
        }
        Ok(grade)
    }
}

/// The first `k` distinct ids of `ranking`, each with its 1-based rank after duplicates are dropped.
fn distinct_top<S: AsRef<str>>(k: usize, ranking: &[S]) -> impl Iterator<Item = (usize, &str)> {
    let mut seen = HashSet::new();
    ranking.iter().map(AsRef::as_ref).filter(move |id| seen.insert(*id)).take(k).enumerate().map(|(i, id)| (i + 1, id))
}

/// The discount of rank `rank` (1-based): `log2(rank + 1)`, so rank 1 counts fully and rank 3 half.
fn discount(rank: usize) -> f64 {
    (rank as f64 + 1.0).log2()
}

/// Discounted cumulative gain of the top `k` of `ranking`:
///
/// `DCG@k = Σ_{i=1..k} gain(relevance(r_i)) / log2(i + 1)`
///
/// where `r_i` is the product at rank `i` and unjudged products gain 0 (see [`gain`]).
pub fn dcg_at<S: AsRef<str>>(k: usize, ranking: &[S], judgments: &HashMap<String, f64>) -> f64 {
    distinct_top(k, ranking)
        .map(|(rank, id)| judgments.get(id).map_or(0.0, |&relevance| gain(relevance)) / discount(rank))
        .fold(0.0, |sum, term| sum + term) // not `sum()`: an empty f64 sum is -0.0, which prints as "-0"
}

/// The best DCG@k any ranking can reach for these judgments: the DCG of the judged products
/// sorted by decreasing gain.
pub fn ideal_dcg_at(k: usize, judgments: &HashMap<String, f64>) -> f64 {
    let mut gains: Vec<f64> = judgments.values().map(|&relevance| gain(relevance)).collect();
    gains.sort_by(|a, b| b.total_cmp(a));
    gains.iter().take(k).enumerate().map(|(i, gain)| gain / discount(i + 1)).fold(0.0, |sum, term| sum + term)
}

/// Normalised DCG: `NDCG@k = DCG@k(ranking) / IDCG@k`, in `[0, 1]`, where `IDCG@k` is
/// [`ideal_dcg_at`]. 1 means no ranking of the judged products could do better at this cut-off.
///
/// `None` when `IDCG@k = 0` (every judged product has relevance 1, or `k = 0`): there is nothing
/// to rank well.
pub fn ndcg_at<S: AsRef<str>>(k: usize, ranking: &[S], judgments: &HashMap<String, f64>) -> Option<f64> {
    let ideal = ideal_dcg_at(k, judgments);
    if ideal <= 0.0 {
        return None;
    }
    Some(dcg_at(k, ranking, judgments) / ideal)
}

/// Reciprocal rank of the first relevant product in the top `k`:
///
/// `RR@k = 1 / min{ i ≤ k : relevance(r_i) ≥ threshold }`, or 0 if no relevant product is in the
/// top `k`. The mean over queries is MRR@k.
///
/// `None` when no judged product reaches `threshold`: there is nothing to find.
pub fn mrr_at<S: AsRef<str>>(k: usize, ranking: &[S], judgments: &HashMap<String, f64>, threshold: f64) -> Option<f64> {
    if !judgments.values().any(|&relevance| relevance >= threshold) {
        return None;
    }
    let first_relevant = distinct_top(k, ranking)
        .find(|(_, id)| judgments.get(*id).is_some_and(|&relevance| relevance >= threshold))
        .map(|(rank, _)| rank);
    Some(first_relevant.map_or(0.0, |rank| 1.0 / rank as f64))
}

/// Share of the relevant products found in the top `k`:
///
/// `Recall@k = |{ i ≤ k : relevance(r_i) ≥ threshold }| / |{ p judged : relevance(p) ≥ threshold }|`
///
/// `None` when no judged product reaches `threshold`. Note that when a query has more than `k`
/// relevant products, Recall@k cannot reach 1.
pub fn recall_at<S: AsRef<str>>(
    k: usize,
    ranking: &[S],
    judgments: &HashMap<String, f64>,
    threshold: f64,
) -> Option<f64> {
    let relevant = judgments.values().filter(|&&relevance| relevance >= threshold).count();
    if relevant == 0 {
        return None;
    }
    let found = distinct_top(k, ranking)
        .filter(|(_, id)| judgments.get(*id).is_some_and(|&relevance| relevance >= threshold))
        .count();
    Some(found as f64 / relevant as f64)
}

/// Whether the engine returned nothing at all. The zero-result rate is the mean of this flag
/// over all queries.
pub fn is_zero_result<S: AsRef<str>>(ranking: &[S]) -> bool {
    ranking.is_empty()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn judgments(pairs: &[(&str, f64)]) -> HashMap<String, f64> {
        pairs.iter().map(|(id, relevance)| (id.to_string(), *relevance)).collect()
    }

    fn assert_close(actual: f64, expected: f64) {
        assert!((actual - expected).abs() < 1e-12, "{actual} != {expected}");
    }

    #[test]
    fn gain_maps_interpolate_between_their_points() {
        let default = GainMap::default();
        for grade in [1.0, 1.5, 2.0, 2.67, 3.0] {
            assert_close(default.gain(grade), gain(grade));
        }
        let exponential = GainMap::parse("0:0, 1:1, 2:3, 3:7").expect("valid");
        assert_close(exponential.gain(2.5), 5.0);
        assert_close(exponential.gain(-1.0), 0.0);
        assert_close(exponential.gain(4.0), 7.0);
        assert!(exponential.parse_grade("3").is_ok() && exponential.parse_grade("3.5").is_err());
        assert!(GainMap::parse("1:0,1:2").is_err());
        assert!(GainMap::parse("1:-1").is_err());
        assert!(GainMap::parse("one:1").is_err());
        assert!(GainMap::parse("").is_err());
    }

    #[test]
    fn gain_maps_the_one_to_three_scale_to_zero_to_two() {
        assert_eq!(gain(1.0), 0.0);
        assert_eq!(gain(2.0), 1.0);
        assert_eq!(gain(3.0), 2.0);
        assert_close(gain(2.67), 1.67);
        assert_eq!(gain(0.5), 0.0);
    }

    #[test]
    fn dcg_by_hand() {
        // Gains a = 2, b = 1, c = 0 (relevance 1), x unjudged.
        let judged = judgments(&[("a", 3.0), ("b", 2.0), ("c", 1.0)]);
        // Ranking b, x, a: 1/log2(2) + 0/log2(3) + 2/log2(4) = 1 + 0 + 1 = 2.
        assert_close(dcg_at(10, &["b", "x", "a"], &judged), 2.0);
        // Cut at 2: only b counts.
        assert_close(dcg_at(2, &["b", "x", "a"], &judged), 1.0);
        // Ideal: a, b, c = 2/1 + 1/log2(3) + 0.
        assert_close(ideal_dcg_at(10, &judged), 2.0 + 1.0 / 3f64.log2());
    }

    #[test]
    fn ndcg_by_hand() {
        let judged = judgments(&[("a", 3.0), ("b", 2.0), ("c", 1.0)]);
        let ideal = 2.0 + 1.0 / 3f64.log2(); // ≈ 2.6309
        assert_close(ndcg_at(10, &["b", "x", "a"], &judged).expect("a and b are relevant"), 2.0 / ideal);
        assert_close(ndcg_at(10, &["a", "b"], &judged).expect("defined"), 1.0);
        assert_close(ndcg_at(10, &["a", "b", "c", "x"], &judged).expect("defined"), 1.0);
        assert_eq!(ndcg_at(10, &["x", "y"], &judged), Some(0.0));
        assert_eq!(ndcg_at(10, &[] as &[&str], &judged), Some(0.0));
        // A plain zero, not -0.0 (which would print and serialise as "-0").
        assert!(ndcg_at(10, &[] as &[&str], &judged).is_some_and(f64::is_sign_positive));
        assert!(dcg_at(10, &[] as &[&str], &judged).is_sign_positive());
        assert!(ideal_dcg_at(10, &HashMap::new()).is_sign_positive());
        // At k = 1 only the top product and the best gain count: b (1) against a (2).
        assert_close(ndcg_at(1, &["b", "a"], &judged).expect("defined"), 0.5);
    }

    #[test]
    fn ndcg_is_undefined_without_any_gain() {
        let judged = judgments(&[("a", 1.0), ("b", 1.0)]);
        assert_eq!(ndcg_at(10, &["a", "b"], &judged), None);
        assert_eq!(ndcg_at(10, &["a"], &HashMap::new()), None);
        assert_eq!(ndcg_at(0, &["a"], &judgments(&[("a", 3.0)])), None);
    }

    #[test]
    fn duplicates_count_once_and_do_not_use_up_ranks() {
        let judged = judgments(&[("a", 3.0), ("b", 3.0)]);
        // a, a, b is read as a, b: perfect.
        assert_close(ndcg_at(10, &["a", "a", "b"], &judged).expect("defined"), 1.0);
        assert_close(ndcg_at(2, &["a", "a", "b"], &judged).expect("defined"), 1.0);
        assert_eq!(recall_at(2, &["a", "a", "b"], &judged, 2.5), Some(1.0));
        assert_eq!(mrr_at(10, &["x", "x", "b"], &judged, 2.5), Some(0.5));
    }

    #[test]
    fn mrr_by_hand() {
        let judged = judgments(&[("a", 3.0), ("b", 2.33), ("c", 2.67)]);
        // b is below 2.5, so the first relevant is c at rank 3.
        assert_eq!(mrr_at(10, &["x", "b", "c", "a"], &judged, 2.5), Some(1.0 / 3.0));
        assert_eq!(mrr_at(2, &["x", "b", "c", "a"], &judged, 2.5), Some(0.0));
        assert_eq!(mrr_at(10, &["a"], &judged, 2.5), Some(1.0));
        // With a lower threshold b counts.
        assert_eq!(mrr_at(10, &["x", "b", "c", "a"], &judged, 2.0), Some(0.5));
        // Exactly on the threshold counts as relevant.
        assert_eq!(mrr_at(10, &["x", "y", "z", "b"], &judgments(&[("b", 2.5)]), 2.5), Some(0.25));
    }

    #[test]
    fn mrr_and_recall_are_undefined_without_relevant_products() {
        let judged = judgments(&[("a", 2.33), ("b", 1.0)]);
        assert_eq!(mrr_at(10, &["a", "b"], &judged, 2.5), None);
        assert_eq!(recall_at(10, &["a", "b"], &judged, 2.5), None);
    }

    #[test]
    fn recall_by_hand() {
        let judged = judgments(&[("a", 3.0), ("b", 2.67), ("c", 2.5), ("d", 2.0)]);
        // Relevant: a, b, c. The top 3 holds a and c (d is only partly relevant).
        assert_eq!(recall_at(3, &["a", "d", "c", "b"], &judged, 2.5), Some(2.0 / 3.0));
        assert_eq!(recall_at(10, &["a", "d", "c", "b"], &judged, 2.5), Some(1.0));
        assert_eq!(recall_at(10, &["x"], &judged, 2.5), Some(0.0));
        assert_eq!(recall_at(10, &["d"], &judged, 2.0), Some(0.25));
    }

    #[test]
    fn zero_result_flag() {
        assert!(is_zero_result(&[] as &[String]));
        assert!(!is_zero_result(&["unjudged"]));
    }

    /// Judgments over ids "p0".."p11", with relevance on the 1..=3 scale (often exactly 1 or 3).
    fn arbitrary_judgments() -> impl Strategy<Value = HashMap<String, f64>> {
        let relevance = prop_oneof![Just(1.0), Just(3.0), 1.0..=3.0f64];
        prop::collection::hash_map((0..12u8).prop_map(|i| format!("p{i}")), relevance, 0..8)
    }

    /// Rankings over ids "p0".."p15" (some unjudged), duplicates allowed.
    fn arbitrary_ranking() -> impl Strategy<Value = Vec<String>> {
        prop::collection::vec((0..16u8).prop_map(|i| format!("p{i}")), 0..14)
    }

    proptest! {
        #[test]
        fn metrics_stay_in_the_unit_interval(
            judged in arbitrary_judgments(),
            ranking in arbitrary_ranking(),
            k in 0..12usize,
            threshold in 1.0..=3.0f64,
        ) {
            for value in [
                ndcg_at(k, &ranking, &judged),
                mrr_at(k, &ranking, &judged, threshold),
                recall_at(k, &ranking, &judged, threshold),
            ].into_iter().flatten() {
                prop_assert!((0.0..=1.0 + 1e-12).contains(&value), "{value}");
            }
        }

        #[test]
        fn the_ideal_ranking_scores_one(judged in arbitrary_judgments(), k in 1..12usize) {
            let mut ideal: Vec<(&String, f64)> = judged.iter().map(|(id, &relevance)| (id, relevance)).collect();
            ideal.sort_by(|a, b| b.1.total_cmp(&a.1));
            let ranking: Vec<&str> = ideal.iter().map(|(id, _)| id.as_str()).collect();
            match ndcg_at(k, &ranking, &judged) {
                Some(ndcg) => prop_assert!((ndcg - 1.0).abs() < 1e-12, "{ndcg}"),
                None => prop_assert!(judged.values().all(|&relevance| relevance <= 1.0)),
            }
            let relevant = judged.values().filter(|&&relevance| relevance >= DEFAULT_RELEVANCE_THRESHOLD).count();
            if relevant > 0 {
                prop_assert_eq!(mrr_at(k, &ranking, &judged, DEFAULT_RELEVANCE_THRESHOLD), Some(1.0));
                if relevant <= k {
                    prop_assert_eq!(recall_at(k, &ranking, &judged, DEFAULT_RELEVANCE_THRESHOLD), Some(1.0));
                }
            }
        }

        #[test]
        fn unjudged_products_and_duplicates_change_nothing(
            judged in arbitrary_judgments(),
            ranking in arbitrary_ranking(),
            k in 0..12usize,
        ) {
            // Appending unjudged ids after the ranking, or repeating ids already ranked, cannot
            // change any score.
            let mut padded = ranking.clone();
            padded.extend(ranking.iter().cloned());
            padded.push("unjudged".to_string());
            prop_assert_eq!(ndcg_at(k, &ranking, &judged).is_some(), ndcg_at(k, &padded, &judged).is_some());
            prop_assert!((dcg_at(k, &ranking, &judged) - dcg_at(k, &padded, &judged)).abs() < 1e-12);
            prop_assert_eq!(mrr_at(k, &ranking, &judged, 2.5), mrr_at(k, &padded, &judged, 2.5));
            prop_assert_eq!(recall_at(k, &ranking, &judged, 2.5), recall_at(k, &padded, &judged, 2.5));
        }

        #[test]
        fn scores_never_fall_as_the_cut_off_grows(
            judged in arbitrary_judgments(),
            ranking in arbitrary_ranking(),
            k in 0..11usize,
        ) {
            // DCG, RR and recall only add terms as k grows (NDCG need not: the ideal grows too).
            prop_assert!(dcg_at(k, &ranking, &judged) <= dcg_at(k + 1, &ranking, &judged));
            prop_assert!(mrr_at(k, &ranking, &judged, 2.5) <= mrr_at(k + 1, &ranking, &judged, 2.5));
            prop_assert!(recall_at(k, &ranking, &judged, 2.5) <= recall_at(k + 1, &ranking, &judged, 2.5));
        }

        #[test]
        fn promoting_a_better_product_never_lowers_ndcg(
            judged in arbitrary_judgments(),
            ranking in prop::collection::hash_set((0..16u8).prop_map(|i| format!("p{i}")), 2..14),
            position in 0..13usize,
        ) {
            // Swapping two adjacent products so that the higher gain comes first cannot hurt.
            let mut ranking: Vec<String> = ranking.into_iter().collect();
            let i = position % (ranking.len() - 1);
            let gain_of = |id: &String| judged.get(id).map_or(0.0, |&relevance| gain(relevance));
            if gain_of(&ranking[i]) < gain_of(&ranking[i + 1]) {
                let before = dcg_at(DEFAULT_CUTOFF, &ranking, &judged);
                ranking.swap(i, i + 1);
                prop_assert!(dcg_at(DEFAULT_CUTOFF, &ranking, &judged) >= before - 1e-12);
            }
        }
    }
}
