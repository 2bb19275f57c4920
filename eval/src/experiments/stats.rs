//! Delta-method ratio estimates, fixed-horizon z tests, the mSPRT, the sample-ratio check and the
//! interleaving preference: the formulas are in the module documentation of
//! [`crate::experiments`] and on each function.
//!
//! Conventions shared by every function here:
//!
//! - a variance that cannot be estimated (fewer than two identities, no denominator) is
//!   `f64::INFINITY`; an interval that says nothing is `(−∞, +∞)`; both serialise as JSON `null`
//!   (and are declared nullable in the OpenAPI schema), so every response encodes;
//! - degenerate inputs (no identities, zero or unknown variance, τ ≤ 0) give p = 1 and an
//!   unbounded interval, never NaN;
//! - `alpha` outside (0, 1) (or NaN) is clamped into [10⁻¹², 1 − 10⁻¹²], NaN to the lower end.

use serde::{Serialize, Serializer};
use statrs::distribution::{ChiSquared, ContinuousCDF, Normal};

/// The significance level when the caller has none: 5 %.
pub const DEFAULT_ALPHA: f64 = 0.05;

/// The relative effect the mSPRT's mixing distribution is scaled to by default (a 10 % lift): see
/// [`default_tau`].
pub const DEFAULT_RELATIVE_EFFECT: f64 = 0.1;

/// The smallest τ [`default_tau`] returns: an effect of 0.01 percentage point on a rate. It only
/// guards against τ = 0, with which the mSPRT can never reject (p stays 1).
pub const MIN_TAU: f64 = 1e-4;

/// A sample-ratio mismatch is flagged below this p-value (0.001, the usual threshold: with many
/// experiments running, 0.05 would raise false alarms every week).
pub const SRM_THRESHOLD: f64 = 0.001;

/// `alpha` is clamped into [`MIN_ALPHA`, `MAX_ALPHA`] so that quantiles and logarithms stay finite.
const MIN_ALPHA: f64 = 1e-12;
const MAX_ALPHA: f64 = 1.0 - 1e-12;

/// The interval that says nothing.
const UNBOUNDED: (f64, f64) = (f64::NEG_INFINITY, f64::INFINITY);

/// A ratio metric `Σx / Σn` over identities, with its delta-method variance.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, utoipa::ToSchema)]
pub struct RatioEstimate {
    /// Number of identities (randomisation units).
    pub units: usize,
    /// `Σx`, e.g. clicked searches.
    pub numerator: f64,
    /// `Σn`, e.g. searches.
    pub denominator: f64,
    /// `Σx / Σn`; 0 when `Σn` = 0.
    pub ratio: f64,
    /// The delta-method variance of `ratio`; `f64::INFINITY` (JSON `null`) with fewer than two
    /// identities or `Σn` = 0, where it cannot be estimated.
    #[serde(serialize_with = "finite_or_null")]
    #[schema(value_type = Option<f64>)]
    pub variance: f64,
}

impl RatioEstimate {
    /// The ratio of sums over per-identity pairs `(x_i, n_i)` (finite, non-negative), and its
    /// variance by the delta method (Deng, Knoblich and Lu 2018): with `N` identities, means `x̄`,
    /// `n̄`, sample variances and covariance `s_x²`, `s_n²`, `s_xn` (divisor `N − 1`) and
    /// `R = Σx / Σn`,
    ///
    /// `Var(R) ≈ (s_x² − 2 R s_xn + R² s_n²) / (N n̄²)`.
    ///
    /// The numerator of that fraction is the sample variance of the residuals `x_i − R n_i`
    /// (whose mean is 0), which is how it is computed: a sum of squares, never negative.
    pub fn from_units(units: &[(f64, f64)]) -> RatioEstimate {
        debug_assert!(
            units.iter().all(|(x, n)| x.is_finite() && n.is_finite() && *x >= 0.0 && *n >= 0.0),
            "per-identity counts must be finite and non-negative"
        );
        let count = units.len();
        let numerator: f64 = units.iter().map(|unit| unit.0).sum();
        let denominator: f64 = units.iter().map(|unit| unit.1).sum();
        if denominator <= 0.0 {
            return RatioEstimate { units: count, numerator, denominator, ratio: 0.0, variance: f64::INFINITY };
        }
        let ratio = numerator / denominator;
        if count < 2 {
            return RatioEstimate { units: count, numerator, denominator, ratio, variance: f64::INFINITY };
        }
        let identities = count as f64;
        let mean_denominator = denominator / identities;
        let residual_sum_of_squares: f64 = units.iter().map(|(x, n)| (x - ratio * n).powi(2)).sum();
        let residual_variance = residual_sum_of_squares / (identities - 1.0);
        let variance = residual_variance / (identities * mean_denominator * mean_denominator);
        RatioEstimate { units: count, numerator, denominator, ratio, variance }
    }
}

/// Treatment against control on one ratio metric, as [`compare`] computes it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Comparison {
    /// `treatment.ratio − control.ratio`.
    pub difference: f64,
    /// `difference / control.ratio`; `None` when the control ratio is 0.
    pub relative_difference: Option<f64>,
    /// `√(Var_control + Var_treatment)`; JSON `null` when unknown.
    #[serde(serialize_with = "finite_or_null")]
    #[schema(value_type = Option<f64>)]
    pub standard_error: f64,
    /// `difference / standard_error`; 0 when the standard error is 0 or unknown.
    pub z: f64,
    /// Two-sided normal p-value, valid only if the sample size was fixed in advance and the
    /// results are looked at once.
    pub fixed_p_value: f64,
    /// The `1 − alpha` two-sided normal interval on `difference`, same caveat; bounds are JSON
    /// `null` when unbounded.
    #[serde(serialize_with = "bounds_finite_or_null")]
    #[schema(value_type = (Option<f64>, Option<f64>))]
    pub fixed_interval: (f64, f64),
    /// The mSPRT p-value of this look ([`msprt_p_value`]); the always-valid p-value of the
    /// experiment is the [`running_min`] of these over the looks.
    pub always_valid_p_value: f64,
    /// The matching `1 − alpha` confidence sequence on `difference` ([`msprt_interval`]).
    #[serde(serialize_with = "bounds_finite_or_null")]
    #[schema(value_type = (Option<f64>, Option<f64>))]
    pub always_valid_interval: (f64, f64),
    /// `always_valid_p_value ≤ alpha`.
    pub significant: bool,
}

/// Compares `treatment` with `control` at level `alpha`, with the mSPRT's mixing scale `tau` (on
/// the scale of the difference; see [`default_tau`]).
///
/// The variances add (the two groups of identities are independent):
/// `SE = √(Var_c + Var_t)`, `z = (R_t − R_c) / SE`, fixed p = `2 Φ(−|z|)`, fixed interval
/// `(R_t − R_c) ± z_{1−α/2} SE`. When SE is 0 or unknown nothing can be said: p = 1 and both
/// intervals are unbounded.
pub fn compare(control: &RatioEstimate, treatment: &RatioEstimate, alpha: f64, tau: f64) -> Comparison {
    let alpha = usable_alpha(alpha);
    let difference = treatment.ratio - control.ratio;
    let relative_difference = (control.ratio != 0.0).then(|| difference / control.ratio);
    let inference = NormalInference::new(difference, 0.0, control.variance + treatment.variance, alpha, tau);
    Comparison {
        difference,
        relative_difference,
        standard_error: inference.standard_error,
        z: inference.z,
        fixed_p_value: inference.fixed_p_value,
        fixed_interval: inference.fixed_interval,
        always_valid_p_value: inference.always_valid_p_value,
        always_valid_interval: inference.always_valid_interval,
        significant: inference.always_valid_p_value <= alpha,
    }
}

/// The mSPRT p-value of one look (Johari, Pekelis and Walsh 2015; Johari, Koomen, Pekelis and
/// Walsh 2017) for an estimate `θ̂` of an effect whose null value is 0, with variance `V`, mixing
/// the alternatives over `N(0, τ²)`:
///
/// `Λ = √(V / (V + τ²)) · exp(τ² θ̂² / (2 V (V + τ²)))`, p = `min(1, 1/Λ)`,
///
/// computed in log space so that a large effect gives p → 0 rather than overflow. Returns 1 when
/// `V` is not a positive finite number or `τ` is not positive and finite (no evidence).
pub fn msprt_p_value(estimate: f64, variance: f64, tau: f64) -> f64 {
    if !(estimate.is_finite() && usable_variance(variance) && tau.is_finite() && tau > 0.0) {
        return 1.0;
    }
    let tau_squared = tau * tau;
    if tau_squared == 0.0 {
        return 1.0;
    }
    let log_lambda = 0.5 * (variance.ln() - (variance + tau_squared).ln())
        + (estimate * estimate / (2.0 * variance)) * (tau_squared / (variance + tau_squared));
    if log_lambda.is_nan() || log_lambda <= 0.0 {
        return 1.0;
    }
    (-log_lambda).exp()
}

/// The confidence sequence matching [`msprt_p_value`]: the effects `θ` with `Λ(θ̂ − θ) < 1/α`,
///
/// `θ̂ ± √( V (V + τ²) / τ² · (ln((V + τ²) / V) − 2 ln α) )`.
///
/// It excludes 0 exactly when `msprt_p_value(θ̂, V, τ) < α`. Unbounded when `V` or `τ` is not a
/// positive finite number.
pub fn msprt_interval(estimate: f64, variance: f64, tau: f64, alpha: f64) -> (f64, f64) {
    let alpha = usable_alpha(alpha);
    if !(estimate.is_finite() && usable_variance(variance) && tau.is_finite() && tau > 0.0) {
        return UNBOUNDED;
    }
    let tau_squared = tau * tau;
    if tau_squared == 0.0 {
        return UNBOUNDED;
    }
    let log_variance_ratio = (variance + tau_squared).ln() - variance.ln();
    let half_width = (variance * (variance / tau_squared + 1.0) * (log_variance_ratio - 2.0 * alpha.ln())).sqrt();
    if !half_width.is_finite() {
        return UNBOUNDED;
    }
    (estimate - half_width, estimate + half_width)
}

/// The always-valid p-value after several looks: the smallest of the looks' p-values (1 for no
/// looks; NaN entries are ignored). Because the mSPRT's `1/Λ` is a supermartingale-based bound,
/// its running minimum is still a valid p-value however many looks were taken.
pub fn running_min(p_values: impl IntoIterator<Item = f64>) -> f64 {
    p_values.into_iter().fold(1.0, f64::min).clamp(0.0, 1.0)
}

/// The default mixing scale τ of the mSPRT for a metric whose control value is `baseline`:
/// `τ = |relative_effect × baseline|`, at least [`MIN_TAU`] (also when the product is not finite).
///
/// τ is the standard deviation of the effects the test is most sensitive to; with
/// [`DEFAULT_RELATIVE_EFFECT`] (0.1) the mixture is centred on effects of the order of a 10 %
/// relative lift. Any fixed τ > 0 keeps the p-values valid; τ only moves power between small and
/// large effects. For an interleaving preference the effect is `share − ½`, so
/// `default_tau(0.5, 0.1)` = 0.05 (a 55/45 split).
pub fn default_tau(baseline: f64, relative_effect: f64) -> f64 {
    let tau = (relative_effect * baseline).abs();
    if tau.is_finite() && tau > MIN_TAU { tau } else { MIN_TAU }
}

/// The result of [`sample_ratio_mismatch`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SampleRatio {
    /// Pearson's statistic `Σ (O − E)² / E`; `f64::INFINITY` (JSON `null`) when a variant of
    /// weight 0 has identities.
    #[serde(serialize_with = "finite_or_null")]
    #[schema(value_type = Option<f64>)]
    pub chi_square: f64,
    /// Variants of positive weight, minus one.
    pub degrees_of_freedom: usize,
    /// `P(χ²_df ≥ chi_square)`.
    pub p_value: f64,
    /// `p_value < SRM_THRESHOLD`: the split of identities is not the configured one.
    pub mismatch: bool,
}

/// Pearson's chi-square goodness-of-fit of the identities per variant (`observed`) against the
/// configured `weights` (normalised to sum to 1; they need not already), with
/// `df = (variants of positive weight) − 1` and p from the chi-square survival function. A
/// mismatch is flagged when p < [`SRM_THRESHOLD`].
///
/// No identities, a single variant, or unusable weights (lengths that differ, a negative or
/// non-finite weight, a zero total) give chi-square 0 and p = 1: no evidence of a mismatch. A
/// variant of weight 0 that received identities is a certain mismatch (chi-square ∞, p = 0).
pub fn sample_ratio_mismatch(observed: &[u64], weights: &[f64]) -> SampleRatio {
    let no_evidence =
        |degrees_of_freedom| SampleRatio { chi_square: 0.0, degrees_of_freedom, p_value: 1.0, mismatch: false };
    let weight_total: f64 = weights.iter().sum();
    let weights_usable = observed.len() == weights.len()
        && weights.iter().all(|weight| weight.is_finite() && *weight >= 0.0)
        && weight_total.is_finite()
        && weight_total > 0.0;
    if !weights_usable {
        return no_evidence(0);
    }
    let degrees_of_freedom = weights.iter().filter(|weight| **weight > 0.0).count().saturating_sub(1);
    let total: f64 = observed.iter().map(|&count| count as f64).sum();
    if total == 0.0 {
        return no_evidence(degrees_of_freedom);
    }
    let mut chi_square = 0.0;
    for (&count, &weight) in observed.iter().zip(weights) {
        let count = count as f64;
        let expected = total * weight / weight_total;
        if expected > 0.0 {
            chi_square += (count - expected).powi(2) / expected;
        } else if count > 0.0 {
            chi_square = f64::INFINITY;
        }
    }
    let p_value = if chi_square == f64::INFINITY {
        0.0
    } else if degrees_of_freedom == 0 {
        1.0
    } else {
        ChiSquared::new(degrees_of_freedom as f64).map_or(1.0, |distribution| distribution.sf(chi_square))
    };
    let p_value = if p_value.is_nan() { 1.0 } else { p_value.clamp(0.0, 1.0) };
    SampleRatio { chi_square, degrees_of_freedom, p_value, mismatch: p_value < SRM_THRESHOLD }
}

/// The result of [`preference`]: how often the treatment's team won a decided interleaved search.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Preference {
    /// Searches in which one team got more clicks than the other.
    pub searches_decided: f64,
    /// Decided searches won by the treatment (B).
    pub wins_treatment: f64,
    /// `wins_treatment / searches_decided`; ½ (no preference) when nothing was decided.
    pub share: f64,
    /// The delta-method standard error of `share`, clustered by identity; JSON `null` when unknown.
    #[serde(serialize_with = "finite_or_null")]
    #[schema(value_type = Option<f64>)]
    pub standard_error: f64,
    /// `(share − ½) / standard_error`; 0 when the standard error is 0 or unknown.
    pub z: f64,
    /// The fixed-horizon `1 − alpha` normal interval on `share`, intersected with [0, 1].
    pub interval: (f64, f64),
    /// Two-sided normal p-value of `share = ½` (fixed horizon).
    pub fixed_p_value: f64,
    /// The mSPRT p-value of this look, on `share − ½`; take the [`running_min`] over the looks.
    pub always_valid_p_value: f64,
    /// The matching confidence sequence on `share`, intersected with [0, 1].
    pub always_valid_interval: (f64, f64),
    /// `always_valid_p_value ≤ alpha`.
    pub significant: bool,
}

/// Team-draft interleaving credit: per identity `(wins_b, decided)`, where `decided` counts the
/// searches in which one team got more clicks and `wins_b` those the treatment (B) won.
///
/// The share won by B is the [`RatioEstimate`] of these pairs (clustered by identity like any
/// ratio metric); it is tested against ½ with `z = (share − ½) / SE`, fixed p = `2 Φ(−|z|)`, and
/// with the mSPRT on `share − ½` (`tau` on that scale: [`default_tau`]`(0.5,
/// DEFAULT_RELATIVE_EFFECT)` = 0.05 by default). Both intervals are on the share and are
/// intersected with [0, 1], which keeps their coverage (the share cannot leave [0, 1]); an
/// interval that says nothing is therefore [0, 1].
pub fn preference(units: &[(f64, f64)], alpha: f64, tau: f64) -> Preference {
    preference_of(&RatioEstimate::from_units(units), alpha, tau)
}

/// [`preference`] from the share's estimate already made (a caller that adjusts its variance, e.g.
/// with a floor, passes it here).
pub fn preference_of(estimate: &RatioEstimate, alpha: f64, tau: f64) -> Preference {
    let alpha = usable_alpha(alpha);
    let share = if estimate.denominator > 0.0 { estimate.ratio } else { 0.5 };
    let inference = NormalInference::new(share, 0.5, estimate.variance, alpha, tau);
    Preference {
        searches_decided: estimate.denominator,
        wins_treatment: estimate.numerator,
        share,
        standard_error: inference.standard_error,
        z: inference.z,
        interval: within_unit_interval(inference.fixed_interval),
        fixed_p_value: inference.fixed_p_value,
        always_valid_p_value: inference.always_valid_p_value,
        always_valid_interval: within_unit_interval(inference.always_valid_interval),
        significant: inference.always_valid_p_value <= alpha,
    }
}

/// The classic unpooled two-proportion z test of `b` against `a`: `p̂ = successes / n` per group,
/// `SE = √(p̂_a (1 − p̂_a) / n_a + p̂_b (1 − p̂_b) / n_b)`, `z = (p̂_b − p̂_a) / SE`, two-sided
/// `p = 2 Φ(−|z|)`. Returns `(z, p)`; `(0, 1)` when a group is empty or SE = 0.
///
/// Unpooled rather than pooled (which uses `p̂ = (s_a + s_b) / (n_a + n_b)` in both terms, the
/// score test under the null) because the unpooled SE is the one that also gives the interval on
/// the difference, and it is what [`compare`] computes when each identity has one search
/// (up to the factor `N / (N − 1)` of the sample variance). It exists as an independent check.
pub fn two_proportion_z_test(successes_a: u64, n_a: u64, successes_b: u64, n_b: u64) -> (f64, f64) {
    if n_a == 0 || n_b == 0 {
        return (0.0, 1.0);
    }
    let (n_a, n_b) = (n_a as f64, n_b as f64);
    let (p_a, p_b) = (successes_a as f64 / n_a, successes_b as f64 / n_b);
    let standard_error = (p_a * (1.0 - p_a) / n_a + p_b * (1.0 - p_b) / n_b).sqrt();
    if !(standard_error.is_finite() && standard_error > 0.0) {
        return (0.0, 1.0);
    }
    let z = (p_b - p_a) / standard_error;
    (z, two_sided_normal_p(z))
}

/// What [`compare`] and [`preference`] share: the normal-theory and mSPRT inference on one
/// estimate with its variance.
struct NormalInference {
    standard_error: f64,
    z: f64,
    fixed_p_value: f64,
    fixed_interval: (f64, f64),
    always_valid_p_value: f64,
    always_valid_interval: (f64, f64),
}

impl NormalInference {
    /// Inference on `estimate` (null value `null_value`) with `variance`; `alpha` already usable.
    fn new(estimate: f64, null_value: f64, variance: f64, alpha: f64, tau: f64) -> NormalInference {
        let standard_error = if variance.is_nan() { f64::INFINITY } else { variance.max(0.0).sqrt() };
        if !(usable_variance(variance) && estimate.is_finite()) {
            return NormalInference {
                standard_error,
                z: 0.0,
                fixed_p_value: 1.0,
                fixed_interval: UNBOUNDED,
                always_valid_p_value: 1.0,
                always_valid_interval: UNBOUNDED,
            };
        }
        let z = (estimate - null_value) / standard_error;
        let half_width = two_sided_normal_quantile(alpha) * standard_error;
        let effect = estimate - null_value;
        let (lower, upper) = msprt_interval(effect, variance, tau, alpha);
        NormalInference {
            standard_error,
            z,
            fixed_p_value: two_sided_normal_p(z),
            fixed_interval: (estimate - half_width, estimate + half_width),
            always_valid_p_value: msprt_p_value(effect, variance, tau),
            always_valid_interval: (lower + null_value, upper + null_value),
        }
    }
}

/// A variance that inference can use: positive and finite.
fn usable_variance(variance: f64) -> bool {
    variance.is_finite() && variance > 0.0
}

/// `alpha` clamped into [`MIN_ALPHA`, `MAX_ALPHA`], NaN to `MIN_ALPHA` (the most cautious).
fn usable_alpha(alpha: f64) -> f64 {
    if alpha.is_nan() { MIN_ALPHA } else { alpha.clamp(MIN_ALPHA, MAX_ALPHA) }
}

/// `2 Φ(−|z|)`, at most 1.
fn two_sided_normal_p(z: f64) -> f64 {
    if z.is_nan() {
        return 1.0;
    }
    (2.0 * Normal::standard().sf(z.abs())).min(1.0)
}

/// `z_{1−α/2} = −Φ⁻¹(α/2)` (the lower tail, which is the more accurate for small α).
fn two_sided_normal_quantile(alpha: f64) -> f64 {
    -Normal::standard().inverse_cdf(alpha / 2.0)
}

/// `interval ∩ [0, 1]`.
fn within_unit_interval(interval: (f64, f64)) -> (f64, f64) {
    (interval.0.clamp(0.0, 1.0), interval.1.clamp(0.0, 1.0))
}

/// Serialises a finite number as itself and ±∞ (or NaN) as `null`: JSON has no infinity.
fn finite_or_null<S: Serializer>(value: &f64, serializer: S) -> Result<S::Ok, S::Error> {
    finite(*value).serialize(serializer)
}

/// [`finite_or_null`] for both bounds of an interval: `[lower, upper]` with `null` for ±∞.
fn bounds_finite_or_null<S: Serializer>(bounds: &(f64, f64), serializer: S) -> Result<S::Ok, S::Error> {
    (finite(bounds.0), finite(bounds.1)).serialize(serializer)
}

fn finite(value: f64) -> Option<f64> {
    value.is_finite().then_some(value)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use rand::rngs::Xoshiro256PlusPlus;
    use rand::{RngExt, SeedableRng};

    use super::*;

    /// `|actual − expected| ≤ relative · |expected|`.
    fn assert_close(actual: f64, expected: f64, relative: f64) {
        assert!(
            (actual - expected).abs() <= relative * expected.abs(),
            "{actual} is not within {relative} (relative) of {expected}"
        );
    }

    /// `count` identities with one search each, `successes` of them with a click.
    fn one_search_each(successes: usize, count: usize) -> Vec<(f64, f64)> {
        (0..count).map(|i| (if i < successes { 1.0 } else { 0.0 }, 1.0)).collect()
    }

    #[test]
    fn the_delta_method_variance_matches_a_hand_computation_on_clustered_units() {
        // x = 1, 0, 3 and n = 2, 1, 4: x̄ = 4/3, n̄ = 7/3, R = 4/7. The deviations from the means
        // are (−1/3, −4/3, 5/3) for both, so s_x² = s_n² = s_xn = (1 + 16 + 25) / 9 / 2 = 7/3 and
        // Var(R) = (7/3)(1 − 2R + R²) / (3 · 49/9) = (1 − R)² / 7 = (3/7)² / 7 = 9/343.
        let estimate = RatioEstimate::from_units(&[(1.0, 2.0), (0.0, 1.0), (3.0, 4.0)]);
        assert_eq!((estimate.units, estimate.numerator, estimate.denominator), (3, 4.0, 7.0));
        assert_close(estimate.ratio, 4.0 / 7.0, 1e-15);
        assert_close(estimate.variance, 9.0 / 343.0, 1e-12);
    }

    #[test]
    fn compare_with_one_search_per_identity_is_the_two_proportion_z_test() {
        // Control 120/1000, treatment 150/1000, one search per identity.
        let control = RatioEstimate::from_units(&one_search_each(120, 1000));
        let treatment = RatioEstimate::from_units(&one_search_each(150, 1000));
        let comparison = compare(&control, &treatment, 0.05, default_tau(control.ratio, 0.1));

        // The classic unpooled test by hand: p̂₁ = 0.12, p̂₂ = 0.15,
        // SE = √(0.12 · 0.88 / 1000 + 0.15 · 0.85 / 1000) = √0.0002331, z = 0.03 / SE.
        let classic_se = (0.12_f64 * 0.88 / 1000.0 + 0.15 * 0.85 / 1000.0).sqrt();
        let classic_z = 0.03 / classic_se;
        assert_close(classic_z, 1.964_943_729_729_648, 1e-12);
        // python3 -c "import math; z=0.03/math.sqrt(.12*.88/1000+.15*.85/1000); print(math.erfc(z/math.sqrt(2)))"
        let classic_p = 0.049_420_750_659_580_966;
        let (z, p) = two_proportion_z_test(120, 1000, 150, 1000);
        assert_close(z, classic_z, 1e-12);
        assert_close(p, classic_p, 1e-9);

        // The delta method's sample variances divide by N − 1 = 999, not N = 1000: its variance of
        // p̂ is p̂(1 − p̂)/999, so its z is the classic z times √(999/1000).
        assert_close(comparison.difference, 0.03, 1e-12);
        assert_close(comparison.z, classic_z * (999.0_f64 / 1000.0).sqrt(), 1e-12);
        assert_close(comparison.standard_error, (0.12_f64 * 0.88 / 999.0 + 0.15 * 0.85 / 999.0).sqrt(), 1e-12);
        // python3 -c "import math; z=0.03/math.sqrt(.12*.88/999+.15*.85/999); print(math.erfc(z/math.sqrt(2)))"
        assert_close(comparison.fixed_p_value, 0.049_534_613_435_626_74, 1e-9);
        // 0.03 ± 1.959963984540054 · SE (scipy's norm.ppf(0.975) = 1.959963984540054).
        assert_close(comparison.fixed_interval.0, 6.105_560_485_981_584e-5, 1e-7);
        assert_close(comparison.fixed_interval.1, 0.059_938_944_395_140_18, 1e-9);
        assert_close(comparison.relative_difference.expect("control ratio is 0.12"), 0.25, 1e-12);
    }

    #[test]
    fn the_msprt_p_value_and_interval_match_a_hand_computation() {
        // python3 -c "import math; th,V,t=0.03,1e-4,0.02; print(1/(math.sqrt(V/(V+t*t))*math.exp(t*t*th*th/(2*V*(V+t*t)))))"
        // Λ = √(1e-4 / 5e-4) · exp(4e-4 · 9e-4 / (2 · 1e-4 · 5e-4)) = √0.2 · e^3.6 = 16.367228014507628.
        assert_close(msprt_p_value(0.03, 1e-4, 0.02), 0.061_097_700_790_483_11, 1e-9);
        assert_close(msprt_p_value(-0.03, 1e-4, 0.02), 0.061_097_700_790_483_11, 1e-9);
        assert_eq!(msprt_p_value(0.0, 1e-4, 0.02), 1.0);
        // python3 -c "import math; th,V,t=0.03,1e-4,0.02; h=math.sqrt(V*(V+t*t)/(t*t)*(math.log((V+t*t)/V)-2*math.log(0.05))); print(th-h, th+h)"
        let (lower, upper) = msprt_interval(0.03, 1e-4, 0.02, 0.05);
        assert_close(lower, -0.000_823_899_938_890_929_7, 1e-8);
        assert_close(upper, 0.060_823_899_938_890_924, 1e-9);
        // A huge effect is p → 0, not an overflow.
        assert_eq!(msprt_p_value(1e3, 1e-12, 0.02), 0.0);
    }

    #[test]
    fn the_confidence_sequence_excludes_zero_exactly_when_p_is_below_alpha() {
        let mut checked = 0;
        for estimate_step in -40..=40 {
            let estimate = f64::from(estimate_step) * 0.0015;
            for variance in [1e-6, 1e-5, 1e-4, 1e-3] {
                for tau in [0.001, 0.01, 0.05] {
                    for alpha in [0.01, 0.05, 0.1] {
                        let p = msprt_p_value(estimate, variance, tau);
                        if (p - alpha).abs() < 1e-9 {
                            continue; // on the boundary either answer is right
                        }
                        let (lower, upper) = msprt_interval(estimate, variance, tau, alpha);
                        assert!(lower <= estimate && estimate <= upper);
                        assert_eq!(
                            lower > 0.0 || upper < 0.0,
                            p < alpha,
                            "θ̂ {estimate} V {variance} τ {tau} α {alpha}"
                        );
                        checked += 1;
                    }
                }
            }
        }
        assert!(checked > 2_500);
    }

    #[test]
    fn sample_ratio_mismatch_matches_pearson_by_hand() {
        let even = sample_ratio_mismatch(&[5000, 5000], &[0.5, 0.5]);
        assert_eq!(even, SampleRatio { chi_square: 0.0, degrees_of_freedom: 1, p_value: 1.0, mismatch: false });

        // E = 5150 each: χ² = 2 · 150² / 5150 = 8.737864077669903; with df = 1, p = erfc(√(χ²/2)).
        // python3 -c "import math; c=2*150**2/5150; print(c, math.erfc(math.sqrt(c/2)))"
        let skewed = sample_ratio_mismatch(&[5000, 5300], &[0.5, 0.5]);
        assert_close(skewed.chi_square, 8.737_864_077_669_903, 1e-12);
        assert_close(skewed.p_value, 0.003_116_693_839_866_867, 1e-9);
        assert_eq!(skewed.degrees_of_freedom, 1);
        assert!(!skewed.mismatch, "p = 0.0031 is above the 0.001 threshold");

        // E = 5250 each: χ² = 2 · 250² / 5250 = 23.80952380952381.
        // python3 -c "import math; c=2*250**2/5250; print(c, math.erfc(math.sqrt(c/2)))"
        let broken = sample_ratio_mismatch(&[5000, 5500], &[1.0, 1.0]);
        assert_close(broken.chi_square, 23.809_523_809_523_81, 1e-12);
        assert_close(broken.p_value, 1.063_549_267_952_737_3e-6, 1e-7);
        assert!(broken.mismatch);
    }

    #[test]
    fn sample_ratio_mismatch_three_ways_normalises_the_weights() {
        // Weights 2:1:1 of 10,000 identities: E = 5000, 2500, 2500. With 5000/2600/2400,
        // χ² = 0 + 100²/2500 + 100²/2500 = 8; with df = 2 the chi-square survival is e^(−χ²/2).
        // python3 -c "import math; print(math.exp(-8/2))"
        let three = sample_ratio_mismatch(&[5000, 2600, 2400], &[2.0, 1.0, 1.0]);
        assert_close(three.chi_square, 8.0, 1e-12);
        assert_eq!(three.degrees_of_freedom, 2);
        assert_close(three.p_value, 0.018_315_638_888_734_18, 1e-9);
        assert!(!three.mismatch);
        // 5000/2700/2300: χ² = 2 · 200²/2500 = 32, p = e^(−16).
        // python3 -c "import math; print(math.exp(-16))"
        let broken = sample_ratio_mismatch(&[5000, 2700, 2300], &[0.5, 0.25, 0.25]);
        assert_close(broken.chi_square, 32.0, 1e-12);
        assert_close(broken.p_value, 1.125_351_747_192_591_2e-7, 1e-7);
        assert!(broken.mismatch);
    }

    #[test]
    fn sample_ratio_mismatch_edge_cases() {
        let no_evidence =
            |degrees_of_freedom| SampleRatio { chi_square: 0.0, degrees_of_freedom, p_value: 1.0, mismatch: false };
        assert_eq!(sample_ratio_mismatch(&[0, 0], &[0.5, 0.5]), no_evidence(1));
        assert_eq!(sample_ratio_mismatch(&[], &[]), no_evidence(0));
        assert_eq!(sample_ratio_mismatch(&[10], &[1.0]), no_evidence(0));
        assert_eq!(sample_ratio_mismatch(&[10, 20], &[1.0]), no_evidence(0));
        assert_eq!(sample_ratio_mismatch(&[10, 20], &[1.0, -1.0]), no_evidence(0));
        assert_eq!(sample_ratio_mismatch(&[10, 20], &[0.0, 0.0]), no_evidence(0));
        assert_eq!(sample_ratio_mismatch(&[10, 20], &[f64::NAN, 1.0]), no_evidence(0));
        // A paused variant (weight 0) that still gets identities: certainly broken.
        let leak = sample_ratio_mismatch(&[100, 100, 3], &[0.5, 0.5, 0.0]);
        assert_eq!(
            (leak.chi_square, leak.degrees_of_freedom, leak.p_value, leak.mismatch),
            (f64::INFINITY, 1, 0.0, true)
        );
        let json = serde_json::to_value(leak).expect("encodes");
        assert_eq!(json["chi_square"], serde_json::Value::Null);
        // A paused variant without identities is just left out.
        assert_eq!(sample_ratio_mismatch(&[100, 100, 0], &[0.5, 0.5, 0.0]), no_evidence(1));
    }

    #[test]
    fn running_min_and_default_tau() {
        assert_eq!(running_min([]), 1.0);
        assert_eq!(running_min([0.4, 0.03, 0.2, f64::NAN]), 0.03);
        assert_eq!(running_min([1.5]), 1.0);
        // 10 % of a 12 % click-through rate.
        assert_close(default_tau(0.12, 0.1), 0.012, 1e-12);
        assert_close(default_tau(-0.12, 0.1), 0.012, 1e-12);
        assert_close(default_tau(0.5, DEFAULT_RELATIVE_EFFECT), 0.05, 1e-12);
        assert_eq!(default_tau(0.0, 0.1), MIN_TAU);
        assert_eq!(default_tau(f64::NAN, 0.1), MIN_TAU);
        assert_eq!(default_tau(f64::INFINITY, 0.1), MIN_TAU);
    }

    #[test]
    fn degenerate_inputs_give_p_one_unbounded_intervals_and_encode_as_json() {
        let empty = RatioEstimate::from_units(&[]);
        assert_eq!((empty.units, empty.ratio, empty.variance), (0, 0.0, f64::INFINITY));
        let one = RatioEstimate::from_units(&[(1.0, 3.0)]);
        assert_eq!((one.units, one.variance), (1, f64::INFINITY));
        assert_close(one.ratio, 1.0 / 3.0, 1e-15);
        let no_clicks = RatioEstimate::from_units(&[(0.0, 2.0), (0.0, 5.0)]);
        assert_eq!((no_clicks.ratio, no_clicks.variance), (0.0, 0.0));
        let no_searches = RatioEstimate::from_units(&[(0.0, 0.0), (0.0, 0.0)]);
        assert_eq!((no_searches.ratio, no_searches.variance), (0.0, f64::INFINITY));

        for (control, treatment) in
            [(empty, empty), (empty, one), (one, one), (no_clicks, no_clicks), (no_searches, one)]
        {
            let comparison = compare(&control, &treatment, 0.05, 0.01);
            assert_eq!(comparison.z, 0.0);
            assert_eq!((comparison.fixed_p_value, comparison.always_valid_p_value), (1.0, 1.0));
            assert_eq!((comparison.fixed_interval, comparison.always_valid_interval), (UNBOUNDED, UNBOUNDED));
            assert!(!comparison.significant);
            let json = serde_json::to_string(&comparison).expect("encodes");
            assert!(!json.contains("NaN") && !json.contains("inf"), "{json}");
            let json: serde_json::Value = serde_json::from_str(&json).expect("decodes");
            assert_eq!(json["fixed_interval"], serde_json::json!([null, null]));
        }
        assert_eq!(compare(&no_clicks, &no_clicks, 0.05, 0.01).standard_error, 0.0);
        assert_eq!(compare(&empty, &one, 0.05, 0.01).relative_difference, None);
        let json = serde_json::to_value(empty).expect("encodes");
        assert_eq!(json["variance"], serde_json::Value::Null);

        // τ = 0 and α outside (0, 1): still no NaN, no panic.
        let control = RatioEstimate::from_units(&one_search_each(120, 1000));
        let treatment = RatioEstimate::from_units(&one_search_each(150, 1000));
        let no_tau = compare(&control, &treatment, 0.05, 0.0);
        assert_eq!((no_tau.always_valid_p_value, no_tau.always_valid_interval), (1.0, UNBOUNDED));
        for alpha in [0.0, 1.0, -3.0, f64::NAN] {
            let comparison = compare(&control, &treatment, alpha, 0.01);
            let (lower, upper) = comparison.fixed_interval;
            assert!(lower.is_finite() && upper.is_finite() && lower <= upper, "{comparison:?}");
        }

        let nothing = preference(&[], 0.05, 0.05);
        assert_eq!((nothing.share, nothing.fixed_p_value, nothing.always_valid_p_value), (0.5, 1.0, 1.0));
        assert_eq!((nothing.interval, nothing.always_valid_interval), ((0.0, 1.0), (0.0, 1.0)));
        let json = serde_json::to_value(nothing).expect("encodes");
        assert_eq!(json["standard_error"], serde_json::Value::Null);
    }

    #[test]
    fn preference_matches_a_hand_computation() {
        // 60 of 100 decided searches won by B, one per identity: share 0.6, and the delta-method
        // variance is 0.6 · 0.4 / 99 (sample variance, divisor N − 1), so z = 0.1 / √(0.24/99).
        // python3 -c "import math; z=0.1/math.sqrt(0.24/99); print(z, math.erfc(z/math.sqrt(2)))"
        let won = preference(&one_search_each(60, 100), 0.05, default_tau(0.5, DEFAULT_RELATIVE_EFFECT));
        assert_eq!((won.searches_decided, won.wins_treatment), (100.0, 60.0));
        assert_close(won.share, 0.6, 1e-15);
        assert_close(won.standard_error, (0.24_f64 / 99.0).sqrt(), 1e-12);
        assert_close(won.z, 2.031_009_601_158_989_8, 1e-12);
        assert_close(won.fixed_p_value, 0.042_254_020_654_422_29, 1e-9);
        assert!(won.interval.0 > 0.5 && won.interval.1 < 1.0, "{won:?}");
        assert_close(won.always_valid_p_value, msprt_p_value(0.1, 0.24 / 99.0, 0.05), 1e-12);

        let tie = preference(&one_search_each(50, 100), 0.05, 0.05);
        assert_eq!((tie.z, tie.fixed_p_value, tie.always_valid_p_value), (0.0, 1.0, 1.0));
        assert!(!tie.significant);
    }

    proptest! {
        #[test]
        fn compare_never_returns_nan(
            control in prop::collection::vec((0u32..5, 0u32..6), 0..40),
            treatment in prop::collection::vec((0u32..5, 0u32..6), 0..40),
            alpha in 0.0..1.0f64,
            tau in 0.0..0.5f64,
        ) {
            // Clicks are at most searches.
            let units = |pairs: &[(u32, u32)]| -> Vec<(f64, f64)> {
                pairs.iter().map(|&(x, n)| (f64::from(x.min(n)), f64::from(n))).collect()
            };
            let comparison =
                compare(&RatioEstimate::from_units(&units(&control)), &RatioEstimate::from_units(&units(&treatment)), alpha, tau);
            let numbers = [
                comparison.difference,
                comparison.standard_error,
                comparison.z,
                comparison.fixed_p_value,
                comparison.fixed_interval.0,
                comparison.fixed_interval.1,
                comparison.always_valid_p_value,
                comparison.always_valid_interval.0,
                comparison.always_valid_interval.1,
            ];
            prop_assert!(numbers.iter().all(|number| !number.is_nan()), "{:?}", comparison);
            prop_assert!((0.0..=1.0).contains(&comparison.fixed_p_value));
            prop_assert!((0.0..=1.0).contains(&comparison.always_valid_p_value));
            prop_assert!(serde_json::to_string(&comparison).is_ok());
        }
    }

    /// One simulated identity: its variant and its `(clicked searches, searches)`.
    fn simulate_identity(rng: &mut Xoshiro256PlusPlus, treatment_lift: f64) -> (bool, (f64, f64)) {
        // Each identity has its own click-through rate (uniform on [0, 0.2], mean 0.1, times
        // `treatment_lift` in the treatment) and 1–5 searches, so its searches are correlated as
        // in real traffic.
        let treated = rng.random::<bool>();
        let rate = 0.2 * rng.random::<f64>() * if treated { treatment_lift } else { 1.0 };
        let searches = rng.random_range(1..=5u32);
        let clicks = (0..searches).filter(|_| rng.random::<f64>() < rate).count();
        (treated, (clicks as f64, f64::from(searches)))
    }

    #[test]
    fn under_the_null_the_msprt_survives_peeking_and_the_fixed_test_does_not() {
        const EXPERIMENTS: usize = 400;
        const IDENTITIES: usize = 3_000;
        const LOOK_EVERY: usize = 100;
        const ALPHA: f64 = 0.05;
        let tau = default_tau(0.1, DEFAULT_RELATIVE_EFFECT);
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(2017);
        let (mut msprt_rejections, mut peeking_rejections) = (0usize, 0usize);
        for _ in 0..EXPERIMENTS {
            let (mut control, mut treatment) = (Vec::with_capacity(IDENTITIES), Vec::with_capacity(IDENTITIES));
            let mut always_valid = Vec::new();
            let mut fixed = Vec::new();
            for arrived in 1..=IDENTITIES {
                let (treated, unit) = simulate_identity(&mut rng, 1.0);
                if treated {
                    treatment.push(unit)
                } else {
                    control.push(unit)
                }
                if arrived % LOOK_EVERY == 0 {
                    let comparison = compare(
                        &RatioEstimate::from_units(&control),
                        &RatioEstimate::from_units(&treatment),
                        ALPHA,
                        tau,
                    );
                    always_valid.push(comparison.always_valid_p_value);
                    fixed.push(comparison.fixed_p_value);
                }
            }
            msprt_rejections += usize::from(running_min(always_valid) <= ALPHA);
            peeking_rejections += usize::from(running_min(fixed) <= ALPHA);
        }
        let msprt_rate = msprt_rejections as f64 / EXPERIMENTS as f64;
        let peeking_rate = peeking_rejections as f64 / EXPERIMENTS as f64;
        // The mSPRT keeps its promise (≤ α, with slack for 400 runs); peeking at a fixed-horizon
        // test 30 times rejects a true null far more often than α.
        assert!(msprt_rate <= 0.08, "mSPRT false positive rate {msprt_rate}");
        assert!(peeking_rate > 0.1, "peeking fixed test false positive rate {peeking_rate}");
        assert!(peeking_rate > 2.0 * msprt_rate, "peeking {peeking_rate} vs mSPRT {msprt_rate}");
    }

    #[test]
    fn the_msprt_detects_a_real_lift() {
        // A 30 % lift (CTR 0.10 → 0.13): by 3,000 identities the always-valid test has almost
        // always rejected (z ≈ 4 at the end), so its conservatism under the null is not blindness.
        const EXPERIMENTS: usize = 40;
        let tau = default_tau(0.1, DEFAULT_RELATIVE_EFFECT);
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(2015);
        let mut detected = 0usize;
        for _ in 0..EXPERIMENTS {
            let (mut control, mut treatment) = (Vec::new(), Vec::new());
            let mut always_valid = Vec::new();
            for arrived in 1..=3_000 {
                let (treated, unit) = simulate_identity(&mut rng, 1.3);
                if treated {
                    treatment.push(unit)
                } else {
                    control.push(unit)
                }
                if arrived % 100 == 0 {
                    let comparison = compare(
                        &RatioEstimate::from_units(&control),
                        &RatioEstimate::from_units(&treatment),
                        DEFAULT_ALPHA,
                        tau,
                    );
                    always_valid.push(comparison.always_valid_p_value);
                }
            }
            detected += usize::from(running_min(always_valid) <= DEFAULT_ALPHA);
        }
        assert!(detected >= EXPERIMENTS * 8 / 10, "detected {detected} of {EXPERIMENTS}");
    }
}
