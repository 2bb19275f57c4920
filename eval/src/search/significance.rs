//! Is a draft better than what is live? A paired randomization test on per-query metrics.
//!
//! Both settings answer the same queries, so each query gives a pair `(live, draft)`. Under the
//! null hypothesis (the draft changes nothing) the sign of each difference `draft − live` is a
//! coin flip. The test flips the signs at random `rounds` times and counts how often the mean
//! difference is at least as far from 0 as the observed one: that share is the two-sided p-value
//! (with the observed arrangement counted once, so it is never 0). Smucker, Allan and Carterette
//! (CIKM 2007) found it the most reliable of the usual tests for IR metrics; it assumes nothing
//! about their distribution.

use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};
use serde::Serialize;

use super::evaluate::{QueryResult, RelevanceReport};

/// Sign flips drawn by default.
pub const DEFAULT_ROUNDS: usize = 10_000;

/// The outcome of [`paired_randomization_test`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PairedTest {
    /// Mean of the first values of the pairs.
    pub mean_a: f64,
    /// Mean of the second values.
    pub mean_b: f64,
    /// `mean_b − mean_a`.
    pub difference: f64,
    /// Two-sided p-value; 1 without pairs or when every difference is 0.
    pub p_value: f64,
    /// Number of pairs.
    pub pairs: usize,
}

/// Tests whether `pairs` = `(a, b)` differ on average, with `rounds` random sign flips drawn from
/// `seed` (deterministic: the same inputs give the same p-value).
pub fn paired_randomization_test(pairs: &[(f64, f64)], rounds: usize, seed: u64) -> PairedTest {
    let n = pairs.len();
    if n == 0 {
        return PairedTest { mean_a: 0.0, mean_b: 0.0, difference: 0.0, p_value: 1.0, pairs: 0 };
    }
    let mean_a = pairs.iter().map(|pair| pair.0).sum::<f64>() / n as f64;
    let mean_b = pairs.iter().map(|pair| pair.1).sum::<f64>() / n as f64;
    let differences: Vec<f64> = pairs.iter().map(|(a, b)| b - a).collect();
    let observed = differences.iter().sum::<f64>().abs();
    if observed == 0.0 && differences.iter().all(|difference| *difference == 0.0) {
        return PairedTest { mean_a, mean_b, difference: 0.0, p_value: 1.0, pairs: n };
    }
    // Sums compared with a relative tolerance: flipping every sign reproduces the observed sum
    // up to rounding.
    let tolerance = 1e-9 * differences.iter().map(|difference| difference.abs()).sum::<f64>();
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut at_least_as_extreme = 1usize; // the observed arrangement
    for _ in 0..rounds {
        let sum: f64 =
            differences.iter().map(|&difference| if rng.random::<bool>() { difference } else { -difference }).sum();
        if sum.abs() >= observed - tolerance {
            at_least_as_extreme += 1;
        }
    }
    PairedTest {
        mean_a,
        mean_b,
        difference: mean_b - mean_a,
        p_value: at_least_as_extreme as f64 / (rounds + 1) as f64,
        pairs: n,
    }
}

/// One row of a draft-vs-live settings comparison, as [`compare_reports`] computes it and the reports render it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ComparisonRow {
    /// The metric's name, e.g. `NDCG@10`.
    pub metric: String,
    /// The mean with the live settings.
    pub live: f64,
    /// The mean with the draft settings.
    pub draft: f64,
    /// `draft − live`.
    pub difference: f64,
    /// The two-sided p-value of the difference; below 0.05 it is shown as significant.
    pub p_value: f64,
    /// How many queries the comparison is over.
    pub queries: usize,
}

/// Per-metric differences of `draft` against `live` (two runs of the same judged queries, with
/// the query variant labelled `variant`), on the queries where both define the metric, each with
/// its paired randomization test ([`DEFAULT_ROUNDS`] flips, seed 42): NDCG@10, Recall@10, MRR@10
/// and the share of zero-result queries.
pub fn compare_reports(live: &RelevanceReport, draft: &RelevanceReport, variant: &str) -> Vec<ComparisonRow> {
    type Metric = fn(&QueryResult) -> Option<f64>;
    let metrics: [(&str, Metric); 4] = [
        ("NDCG@10", |result| result.ndcg),
        ("Recall@10", |result| result.recall),
        ("MRR@10", |result| result.mrr),
        ("zero results", |result| Some(f64::from(u8::from(result.zero_result)))),
    ];
    let drafted: std::collections::HashMap<&str, &QueryResult> =
        draft.per_query.iter().map(|result| (result.id.as_str(), result)).collect();
    metrics
        .iter()
        .map(|(name, metric)| {
            let pairs: Vec<(f64, f64)> = live
                .per_query
                .iter()
                .filter_map(|result| Some((metric(result)?, metric(drafted.get(result.id.as_str())?)?)))
                .collect();
            let test = paired_randomization_test(&pairs, DEFAULT_ROUNDS, 42);
            ComparisonRow {
                metric: format!("{name}, {variant}"),
                live: test.mean_a,
                draft: test.mean_b,
                difference: test.difference,
                p_value: test.p_value,
                queries: test.pairs,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_systems_are_not_different() {
        let pairs = vec![(0.5, 0.5); 30];
        let test = paired_randomization_test(&pairs, 1_000, 1);
        assert_eq!((test.difference, test.p_value, test.pairs), (0.0, 1.0, 30));
        assert_eq!(paired_randomization_test(&[], 1_000, 1).p_value, 1.0);
    }

    #[test]
    fn a_consistent_gain_is_significant_and_noise_is_not() {
        // 40 queries, each 0.05 better: only the all-positive arrangement (and its mirror) is as
        // extreme, so p ≈ 1 / (rounds + 1).
        let better: Vec<(f64, f64)> = (0..40).map(|i| (f64::from(i) / 40.0, f64::from(i) / 40.0 + 0.05)).collect();
        let test = paired_randomization_test(&better, 2_000, 7);
        assert!((test.difference - 0.05).abs() < 1e-12);
        assert!(test.p_value < 0.001, "{test:?}");
        // Alternating ±0.05: the mean difference is 0, every arrangement is at least as extreme.
        let noise: Vec<(f64, f64)> = (0..40).map(|i| (0.5, if i % 2 == 0 { 0.55 } else { 0.45 })).collect();
        let test = paired_randomization_test(&noise, 2_000, 7);
        assert!(test.p_value > 0.9, "{test:?}");
    }

    #[test]
    fn the_p_value_matches_the_exact_enumeration_on_a_small_case() {
        // Differences 1, 1, 1, −1 (observed sum 2): the 16 sign arrangements sum to ±4 (2 of
        // them), ±2 (8) or 0 (6), so p = 10/16 = 0.625.
        let pairs = [(0.0, 1.0), (0.0, 1.0), (0.0, 1.0), (1.0, 0.0)];
        let test = paired_randomization_test(&pairs, 200_000, 3);
        assert!((test.p_value - 0.625).abs() < 0.01, "{test:?}");
        // Deterministic for a seed.
        assert_eq!(test, paired_randomization_test(&pairs, 200_000, 3));
    }
}
