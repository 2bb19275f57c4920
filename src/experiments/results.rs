//! An experiment's results: per variant, its searches, shoppers and outcomes; for an A/B test,
//! each variant against the control on every metric, with intervals and always-valid p-values,
//! and the sample-ratio-mismatch check; for interleaving, the click preference. The formulas are
//! in docs/experiments.md and `vitrine_eval::experiments`.
//!
//! The randomisation unit is the shopper (identity), so every metric is a ratio of sums over
//! shoppers (delta method). The always-valid p-value is the running minimum of the mixture SPRT's
//! p-value over fixed points of the experiment's history: the data as it stood after its
//! [`FIRST_CHECKPOINT`]th exposure, then each time the exposures have grown by a factor
//! 2^(1/[`CHECKPOINTS_PER_DOUBLING`]) (≈ 9 %), and, once it is stopped, at its end. Those points
//! do not move as the experiment grows and their data no longer changes, so the p-value never
//! rises again once it has fallen, and it does not depend on when anyone looked; looking as often
//! as one likes does not raise the false-positive rate. Computing them costs about twelve passes
//! over the exposures (the prefixes' sizes form a geometric series).

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use serde::Serialize;
use vitrine_eval::experiments::{
    Comparison, DEFAULT_RELATIVE_EFFECT, Preference, RatioEstimate, SampleRatio, compare, default_tau, preference_of,
    running_min, sample_ratio_mismatch,
};

use super::definition::{ExperimentKind, ExperimentSpec, Metric, Priors, Surface, VariantSpec};
use crate::analytics::{ExperimentData, ExperimentStatus, StoredExperiment};

/// The exposures after which the always-valid p-value is first taken.
pub const FIRST_CHECKPOINT: usize = 50;
/// Checkpoints each time the exposures double (they grow by 2^(1/8) ≈ 9 % from one to the next).
pub const CHECKPOINTS_PER_DOUBLING: i32 = 8;

/// An experiment with its results, as `GET …/experiments/{id}` answers.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ExperimentResults {
    /// The experiment.
    #[serde(flatten)]
    pub experiment: ExperimentView,
    /// The results, as of `computed_at`.
    pub results: Results,
}

/// An experiment, as listed.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ExperimentView {
    /// Its id.
    pub id: uuid::Uuid,
    /// The index it runs on.
    #[schema(value_type = String)]
    pub index: vitrine_models::IndexName,
    /// What it is for people.
    pub name: String,
    /// `ab` or `interleaving`.
    pub kind: ExperimentKind,
    /// Where it runs.
    pub surface: Surface,
    /// Its variants, the control first.
    pub variants: Vec<VariantSpec>,
    /// What decides it.
    pub primary_metric: Metric,
    /// The significance level of its tests and intervals.
    pub alpha: f64,
    /// Running or stopped.
    pub status: ExperimentStatus,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was stopped.
    pub stopped_at: Option<DateTime<Utc>>,
    /// The variant promoted, if one was.
    pub promoted: Option<String>,
    /// The scale of each metric's sequential test, fixed at creation.
    pub priors: Priors,
}

impl ExperimentView {
    /// The view of a stored experiment.
    pub fn of(experiment: &StoredExperiment) -> ExperimentView {
        ExperimentView {
            id: experiment.id,
            index: experiment.index.clone(),
            name: experiment.spec.name.clone(),
            kind: experiment.spec.kind,
            surface: experiment.spec.surface,
            variants: experiment.spec.variants.clone(),
            primary_metric: experiment.spec.primary_metric,
            alpha: experiment.spec.alpha,
            status: experiment.status,
            created_at: experiment.created_at,
            stopped_at: experiment.stopped_at,
            promoted: experiment.promoted.clone(),
            priors: experiment.priors,
        }
    }
}

/// The numbers.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Results {
    /// When they were computed.
    pub computed_at: DateTime<Utc>,
    /// Per variant (interleaving: the one `interleaved` arm), in the definition's order.
    pub variants: Vec<VariantResults>,
    /// A/B: each variant against the control, on every metric (the primary one first).
    pub comparisons: Vec<VariantComparison>,
    /// A/B: whether shoppers reached the variants in the configured shares.
    pub sample_ratio: Option<SampleRatio>,
    /// Interleaving: which ranking shoppers' clicks prefer.
    pub interleaving: Option<InterleavingResults>,
    /// The currency of `revenue` (the most frequent among the orders), if any order counts.
    pub currency: Option<String>,
    /// What the numbers say, for people: the primary metric's verdict.
    pub verdict: String,
}

/// One variant's totals.
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct VariantResults {
    /// The variant (`interleaved` for an interleaving experiment).
    pub name: String,
    /// Answers served to counted shoppers.
    pub searches: u64,
    /// Distinct shoppers.
    pub identities: u64,
    /// Answers with at least one click.
    pub clicked_searches: u64,
    /// `clicked_searches / searches`.
    pub click_through_rate: f64,
    /// Answers with at least one add-to-cart.
    pub add_to_cart_searches: u64,
    /// `add_to_cart_searches / searches`.
    pub add_to_cart_rate: f64,
    /// Answers with at least one purchase.
    pub converted_searches: u64,
    /// `converted_searches / searches`.
    pub conversion_rate: f64,
    /// Order totals of its shoppers after their first exposure, in minor units of `currency`.
    pub revenue: i64,
    /// `revenue / searches`, in minor units.
    pub revenue_per_search: f64,
}

/// One variant against the control on one metric.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct VariantComparison {
    /// The variant.
    pub variant: String,
    /// The metric.
    pub metric: Metric,
    /// Whether it is the experiment's primary metric.
    pub primary: bool,
    /// The control's value.
    pub control: f64,
    /// The variant's value.
    pub treatment: f64,
    /// The difference, its intervals and p-values.
    #[serde(flatten)]
    pub comparison: Comparison,
}

/// The interleaving outcome.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct InterleavingResults {
    /// The first variant (team A).
    pub control: String,
    /// The second (team B).
    pub treatment: String,
    /// Interleaved answers where the control's items got more clicks.
    pub control_wins: u64,
    /// Where the treatment's did.
    pub treatment_wins: u64,
    /// Clicked answers where both got as many.
    pub ties: u64,
    /// The treatment's share of the decided answers, with its tests.
    pub preference: Preference,
}

/// What one shopper did in the experiment (up to a point in time).
#[derive(Debug, Clone, Default)]
struct Unit {
    variant: usize,
    first_at: i64,
    searches: f64,
    clicked: f64,
    carted: f64,
    converted: f64,
    revenue: f64,
    treatment_wins: f64,
    decided: f64,
}

impl Unit {
    fn value(&self, metric: Metric) -> f64 {
        match metric {
            Metric::ClickThroughRate => self.clicked,
            Metric::AddToCartRate => self.carted,
            Metric::ConversionRate => self.converted,
            Metric::RevenuePerSearch => self.revenue,
        }
    }
}

/// Per shopper, from the data up to `until_ms` (inclusive).
fn units(spec: &ExperimentSpec, data: &ExperimentData, currency: Option<&str>, until_ms: i64) -> Vec<Unit> {
    let position: HashMap<&str, usize> =
        spec.variants.iter().enumerate().map(|(position, variant)| (variant.name.as_str(), position)).collect();
    let mut outcomes: HashMap<&str, Vec<&crate::analytics::OutcomeRow>> = HashMap::new();
    for outcome in data.outcomes.iter().filter(|outcome| outcome.at_ms <= until_ms) {
        outcomes.entry(outcome.query_id.as_str()).or_default().push(outcome);
    }
    let mut by_identity: HashMap<&str, Unit> = HashMap::new();
    for exposure in data.exposures.iter().filter(|exposure| exposure.at_ms <= until_ms) {
        let variant = match spec.kind {
            ExperimentKind::Interleaving => 0,
            ExperimentKind::Ab => match position.get(exposure.variant.as_str()) {
                Some(position) => *position,
                None => continue,
            },
        };
        let unit = by_identity.entry(exposure.identity.as_str()).or_insert_with(|| Unit {
            variant,
            first_at: exposure.at_ms,
            ..Unit::default()
        });
        unit.searches += 1.0;
        let events = outcomes.get(exposure.query_id.as_str()).map(Vec::as_slice).unwrap_or_default();
        let did = |kind: &str| f64::from(u8::from(events.iter().any(|event| event.kind == kind)));
        unit.clicked += did("click");
        unit.carted += did("add_to_cart");
        unit.converted += did("purchase");
        if let Some([control, treatment]) = &exposure.credits {
            let clicked: HashSet<&str> =
                events.iter().filter(|event| event.kind == "click").map(|event| event.product_id.as_str()).collect();
            let a = control.iter().filter(|id| clicked.contains(id.as_str())).count();
            let b = treatment.iter().filter(|id| clicked.contains(id.as_str())).count();
            if a != b {
                unit.decided += 1.0;
                unit.treatment_wins += f64::from(u8::from(b > a));
            }
        }
    }
    for order in data.orders.iter().filter(|order| order.at_ms <= until_ms) {
        if Some(order.currency.as_str()) != currency {
            continue;
        }
        if let Some(unit) = by_identity.get_mut(order.identity.as_str())
            && order.at_ms >= unit.first_at
        {
            unit.revenue += order.total_cents as f64;
        }
    }
    by_identity.into_values().collect()
}

fn estimate(units: &[Unit], variant: usize, metric: Metric) -> RatioEstimate {
    let pairs: Vec<(f64, f64)> =
        units.iter().filter(|unit| unit.variant == variant).map(|unit| (unit.value(metric), unit.searches)).collect();
    RatioEstimate::from_units(&pairs)
}

/// The variance of a rate whose delta-method variance is 0 (no variation inside the arm: every
/// answer clicked, or none), which would say the arm's rate is known exactly: the binomial
/// variance `p̃(1 − p̃)/n` at Laplace's smoothed rate `p̃ = (x + 1)/(n + 2)`. Revenue is left as
/// it is.
fn floored(mut arm: RatioEstimate, metric: Metric) -> RatioEstimate {
    if metric != Metric::RevenuePerSearch && arm.variance == 0.0 && arm.denominator > 0.0 {
        arm.variance = laplace_variance(arm.numerator, arm.denominator);
    }
    arm
}

/// `p̃(1 − p̃)/n` with `p̃ = (x + 1)/(n + 2)`.
fn laplace_variance(successes: f64, trials: f64) -> f64 {
    let smoothed = (successes + 1.0) / (trials + 2.0);
    smoothed * (1.0 - smoothed) / trials
}

fn compare_at(units: &[Unit], treatment: usize, metric: Metric, alpha: f64, priors: &Priors) -> Comparison {
    let (control, treatment) = (estimate(units, 0, metric), estimate(units, treatment, metric));
    let (control, treatment) = (floored(control, metric), floored(treatment, metric));
    // Without a fixed prior (revenue, when the index had no orders before), its scale comes
    // from both arms pooled, so that a control at 0 cannot make it vanish.
    let tau = priors.tau(metric).unwrap_or_else(|| {
        let pooled = (control.numerator + treatment.numerator) / (control.denominator + treatment.denominator).max(1.0);
        default_tau(pooled, DEFAULT_RELATIVE_EFFECT)
    });
    compare(&control, &treatment, alpha, tau)
}

/// The interleaving preference; a share with no variation (every decided answer won by one
/// side) gets Laplace's variance, as in [`floored`].
fn preference_at(units: &[Unit], alpha: f64) -> Preference {
    let pairs: Vec<(f64, f64)> = units.iter().map(|unit| (unit.treatment_wins, unit.decided)).collect();
    let mut share = RatioEstimate::from_units(&pairs);
    if share.variance == 0.0 && share.denominator > 0.0 {
        share.variance = laplace_variance(share.numerator, share.denominator);
    }
    preference_of(&share, alpha, default_tau(0.5, DEFAULT_RELATIVE_EFFECT))
}

/// The cut-off times of the checkpoints: the times of the exposures number
/// ⌈[`FIRST_CHECKPOINT`] · 2^(k / [`CHECKPOINTS_PER_DOUBLING`])⌉, k = 0, 1, … (those that exist),
/// and the end of a stopped experiment.
fn checkpoints(data: &ExperimentData, stopped_at_ms: Option<i64>) -> Vec<i64> {
    let mut times = Vec::new();
    for k in 0.. {
        let count = (FIRST_CHECKPOINT as f64 * 2f64.powf(f64::from(k) / f64::from(CHECKPOINTS_PER_DOUBLING))).ceil();
        match data.exposures.get(count as usize - 1) {
            Some(exposure) => times.push(exposure.at_ms),
            None => break,
        }
    }
    times.extend(stopped_at_ms);
    times.dedup();
    times
}

fn rate(numerator: f64, denominator: f64) -> f64 {
    if denominator > 0.0 { numerator / denominator } else { 0.0 }
}

/// The results of `experiment` from its `data`, as of `now`.
pub fn compute(experiment: &StoredExperiment, data: &ExperimentData, now: DateTime<Utc>) -> ExperimentResults {
    let spec = &experiment.spec;
    let now_ms = experiment.stopped_at.unwrap_or(now).timestamp_millis();
    let currency = {
        let mut counts: HashMap<&str, usize> = HashMap::new();
        for order in &data.orders {
            *counts.entry(order.currency.as_str()).or_default() += 1;
        }
        counts.into_iter().max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(a.0))).map(|(currency, _)| currency.to_owned())
    };
    let all = units(spec, data, currency.as_deref(), now_ms);
    let arms = match spec.kind {
        ExperimentKind::Ab => spec.variants.iter().map(|variant| variant.name.clone()).collect(),
        ExperimentKind::Interleaving => vec![super::definition::INTERLEAVED.to_owned()],
    };
    let variants: Vec<VariantResults> = arms
        .into_iter()
        .enumerate()
        .map(|(position, name)| {
            let mine: Vec<&Unit> = all.iter().filter(|unit| unit.variant == position).collect();
            let sum = |value: fn(&Unit) -> f64| mine.iter().map(|unit| value(unit)).sum::<f64>();
            let searches = sum(|unit| unit.searches);
            VariantResults {
                name,
                searches: searches as u64,
                identities: mine.len() as u64,
                clicked_searches: sum(|unit| unit.clicked) as u64,
                click_through_rate: rate(sum(|unit| unit.clicked), searches),
                add_to_cart_searches: sum(|unit| unit.carted) as u64,
                add_to_cart_rate: rate(sum(|unit| unit.carted), searches),
                converted_searches: sum(|unit| unit.converted) as u64,
                conversion_rate: rate(sum(|unit| unit.converted), searches),
                revenue: sum(|unit| unit.revenue) as i64,
                revenue_per_search: rate(sum(|unit| unit.revenue), searches),
            }
        })
        .collect();
    let stopped_at_ms = experiment.stopped_at.map(|at| at.timestamp_millis());
    let history: Vec<Vec<Unit>> = checkpoints(data, stopped_at_ms)
        .into_iter()
        .map(|until| units(spec, data, currency.as_deref(), until))
        .collect();
    let (comparisons, sample_ratio, interleaving, verdict) = match spec.kind {
        ExperimentKind::Ab => {
            let mut metrics = vec![spec.primary_metric];
            metrics.extend(Metric::ALL.into_iter().filter(|metric| *metric != spec.primary_metric));
            let mut comparisons = Vec::new();
            for treatment in 1..spec.variants.len() {
                for metric in &metrics {
                    let mut comparison = compare_at(&all, treatment, *metric, spec.alpha, &experiment.priors);
                    let over_time = history
                        .iter()
                        .map(|units| compare_at(units, treatment, *metric, spec.alpha, &experiment.priors));
                    comparison.always_valid_p_value = running_min(over_time.map(|at| at.always_valid_p_value));
                    comparison.significant = comparison.always_valid_p_value <= spec.alpha;
                    comparisons.push(VariantComparison {
                        variant: spec.variants[treatment].name.clone(),
                        metric: *metric,
                        primary: *metric == spec.primary_metric,
                        control: estimate(&all, 0, *metric).ratio,
                        treatment: estimate(&all, treatment, *metric).ratio,
                        comparison,
                    });
                }
            }
            let observed: Vec<u64> = variants.iter().map(|variant| variant.identities).collect();
            let weights: Vec<f64> = spec.variants.iter().map(|variant| variant.weight).collect();
            let sample_ratio = sample_ratio_mismatch(&observed, &weights);
            let verdict = ab_verdict(spec, &comparisons, &sample_ratio);
            (comparisons, Some(sample_ratio), None, verdict)
        }
        ExperimentKind::Interleaving => {
            let mut tested = preference_at(&all, spec.alpha);
            tested.always_valid_p_value =
                running_min(history.iter().map(|units| preference_at(units, spec.alpha).always_valid_p_value));
            tested.significant = tested.always_valid_p_value <= spec.alpha;
            let (control_wins, treatment_wins, ties) = interleaving_counts(data, now_ms);
            let (control, treatment) = (spec.variants[0].name.clone(), spec.variants[1].name.clone());
            let verdict = match (tested.significant, tested.share > 0.5) {
                (false, _) => {
                    format!("no significant preference yet (always-valid p = {:.3})", tested.always_valid_p_value)
                }
                (true, true) => {
                    format!("shoppers prefer `{treatment}` ({:.1} % of decided searches)", 100.0 * tested.share)
                }
                (true, false) => {
                    format!("shoppers prefer `{control}` ({:.1} % of decided searches)", 100.0 * (1.0 - tested.share))
                }
            };
            let results =
                InterleavingResults { control, treatment, control_wins, treatment_wins, ties, preference: tested };
            (Vec::new(), None, Some(results), verdict)
        }
    };
    ExperimentResults {
        experiment: ExperimentView::of(experiment),
        results: Results { computed_at: now, variants, comparisons, sample_ratio, interleaving, currency, verdict },
    }
}

/// Interleaved answers won by each team, and clicked ties.
fn interleaving_counts(data: &ExperimentData, until_ms: i64) -> (u64, u64, u64) {
    let mut clicked: HashMap<&str, HashSet<&str>> = HashMap::new();
    for outcome in data.outcomes.iter().filter(|outcome| outcome.kind == "click" && outcome.at_ms <= until_ms) {
        clicked.entry(outcome.query_id.as_str()).or_default().insert(outcome.product_id.as_str());
    }
    let (mut a_wins, mut b_wins, mut ties) = (0, 0, 0);
    for exposure in data.exposures.iter().filter(|exposure| exposure.at_ms <= until_ms) {
        let (Some([a, b]), Some(clicks)) = (&exposure.credits, clicked.get(exposure.query_id.as_str())) else {
            continue;
        };
        let a = a.iter().filter(|id| clicks.contains(id.as_str())).count();
        let b = b.iter().filter(|id| clicks.contains(id.as_str())).count();
        match a.cmp(&b) {
            std::cmp::Ordering::Greater => a_wins += 1,
            std::cmp::Ordering::Less => b_wins += 1,
            std::cmp::Ordering::Equal => ties += 1,
        }
    }
    (a_wins, b_wins, ties)
}

fn ab_verdict(spec: &ExperimentSpec, comparisons: &[VariantComparison], sample_ratio: &SampleRatio) -> String {
    if sample_ratio.mismatch {
        return format!(
            "sample ratio mismatch (p = {:.2e}): shoppers do not reach the variants in the configured shares; \
             the results cannot be trusted until the cause is found",
            sample_ratio.p_value
        );
    }
    let winners: Vec<String> = comparisons
        .iter()
        .filter(|row| row.primary && row.comparison.significant)
        .map(|row| {
            let direction = if row.comparison.difference > 0.0 { "better" } else { "worse" };
            format!("`{}` is {direction} than `{}`", row.variant, spec.variants[0].name)
        })
        .collect();
    let metric = match spec.primary_metric {
        Metric::ClickThroughRate => "click-through rate",
        Metric::AddToCartRate => "add-to-cart rate",
        Metric::ConversionRate => "conversion rate",
        Metric::RevenuePerSearch => "revenue per search",
    };
    if winners.is_empty() {
        format!("no significant difference in {metric} yet")
    } else {
        format!("{} on {metric}", winners.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use vitrine_eval::experiments::two_proportion_z_test;

    use super::*;
    use crate::analytics::{ExposureRow, OrderRow, OutcomeRow};
    use crate::experiments::definition::VariantSettings;

    fn experiment(kind: ExperimentKind, weights: [f64; 2]) -> StoredExperiment {
        let variant = |name: &str, weight| VariantSpec {
            name: name.to_owned(),
            weight,
            settings: VariantSettings::default(),
            model_version: None,
        };
        StoredExperiment {
            id: uuid::Uuid::now_v7(),
            index: vitrine_models::IndexName::new("shop").expect("index name"),
            spec: ExperimentSpec {
                name: "test".into(),
                kind,
                surface: Surface::Search,
                variants: vec![variant("control", weights[0]), variant("treatment", weights[1])],
                primary_metric: Metric::ClickThroughRate,
                alpha: 0.05,
            },
            status: ExperimentStatus::Running,
            created_at: DateTime::from_timestamp_millis(0).expect("time"),
            stopped_at: None,
            promoted: None,
            priors: Priors::from_baselines(0, [0.0; 3], 0.0),
        }
    }

    /// `n` shoppers of `variant`, one search each, `clicked` of them (spread evenly) clicked;
    /// the variants' shoppers alternate in time.
    fn shoppers(data: &mut ExperimentData, variant: &str, n: usize, clicked: usize) {
        for shopper in 0..n {
            let query_id = format!("{variant}-{shopper}");
            let at_ms = 2 * shopper as i64 + i64::from(variant == "treatment");
            data.exposures.push(ExposureRow {
                query_id: query_id.clone(),
                variant: variant.to_owned(),
                identity: format!("session:{variant}-{shopper}"),
                credits: None,
                at_ms,
            });
            if shopper * clicked % n < clicked {
                data.outcomes.push(OutcomeRow { query_id, kind: "click".into(), product_id: "p".into(), at_ms });
            }
        }
        data.exposures.sort_by_key(|exposure| exposure.at_ms);
    }

    #[test]
    fn with_one_search_per_shopper_the_comparison_is_the_two_proportion_test() {
        let experiment = experiment(ExperimentKind::Ab, [1.0, 1.0]);
        let mut data = ExperimentData::default();
        shoppers(&mut data, "control", 1000, 120);
        shoppers(&mut data, "treatment", 1000, 150);
        let results = compute(&experiment, &data, DateTime::from_timestamp_millis(10_000).expect("time")).results;
        assert_eq!((results.variants[0].searches, results.variants[0].clicked_searches), (1000, 120));
        assert_eq!((results.variants[1].identities, results.variants[1].click_through_rate), (1000, 0.15));
        let ctr = &results.comparisons[0];
        assert_eq!((ctr.metric, ctr.primary), (Metric::ClickThroughRate, true));
        // The independent, unclustered test on the same counts; the delta method's sample
        // variance (N − 1) makes its z smaller by √(999/1000).
        let (z, _) = two_proportion_z_test(120, 1000, 150, 1000);
        assert!((ctr.comparison.z - z * (999.0_f64 / 1000.0).sqrt()).abs() < 1e-9, "{} vs {z}", ctr.comparison.z);
        assert!((ctr.comparison.difference - 0.03).abs() < 1e-12);
        assert!(!results.sample_ratio.expect("A/B").mismatch);
        // Looking as often as one likes costs evidence: with the same data, the always-valid
        // p-value is far above the fixed-horizon one.
        assert!(ctr.comparison.fixed_p_value < 0.05, "{:?}", ctr.comparison);
        assert!(ctr.comparison.always_valid_p_value > ctr.comparison.fixed_p_value, "{:?}", ctr.comparison);
    }

    #[test]
    fn arms_without_variation_still_get_an_interval_and_a_test() {
        // Every treatment answer clicked, no control one: the delta method's variances are 0.
        let experiment = experiment(ExperimentKind::Ab, [1.0, 1.0]);
        let mut data = ExperimentData::default();
        shoppers(&mut data, "control", 30, 0);
        shoppers(&mut data, "treatment", 30, 30);
        let results = compute(&experiment, &data, DateTime::from_timestamp_millis(10_000).expect("time")).results;
        let ctr = &results.comparisons[0].comparison;
        // Laplace: p̃ = 1/32 and 31/32, each with variance p̃(1 − p̃)/30.
        let variance: f64 = 2.0 * (1.0 / 32.0) * (31.0 / 32.0) / 30.0;
        assert!((ctr.standard_error - variance.sqrt()).abs() < 1e-12, "{ctr:?}");
        assert!(ctr.fixed_p_value < 1e-9 && ctr.fixed_interval.0 > 0.8, "{ctr:?}");
        assert!(ctr.significant, "{ctr:?}");
    }

    #[test]
    fn the_always_valid_p_value_never_rises_as_the_experiment_grows() {
        let experiment = experiment(ExperimentKind::Ab, [1.0, 1.0]);
        let mut data = ExperimentData::default();
        // An A/A-like stream whose fixed-horizon p wanders: clicks in bursts.
        shoppers(&mut data, "control", 1500, 450);
        shoppers(&mut data, "treatment", 1500, 480);
        let now = DateTime::from_timestamp_millis(1_000_000).expect("time");
        let mut last = 1.0;
        for end in (100..=data.exposures.len()).step_by(97) {
            let cut = data.exposures[end - 1].at_ms;
            let seen = ExperimentData {
                exposures: data.exposures[..end].to_vec(),
                outcomes: data.outcomes.iter().filter(|outcome| outcome.at_ms <= cut).cloned().collect(),
                orders: Vec::new(),
            };
            let p = compute(&experiment, &seen, now).results.comparisons[0].comparison.always_valid_p_value;
            assert!(p <= last, "after {end} exposures p = {p}, before {last}");
            last = p;
        }
    }

    #[test]
    fn a_broken_assignment_is_flagged_and_the_verdict_says_so() {
        let experiment = experiment(ExperimentKind::Ab, [1.0, 1.0]);
        let mut data = ExperimentData::default();
        // Half the treatment's shoppers lost (their answers were never logged, say).
        shoppers(&mut data, "control", 1000, 100);
        shoppers(&mut data, "treatment", 800, 200);
        let results = compute(&experiment, &data, DateTime::from_timestamp_millis(10_000).expect("time")).results;
        let sample_ratio = results.sample_ratio.expect("A/B");
        assert!(sample_ratio.mismatch && sample_ratio.p_value < 1e-4, "{sample_ratio:?}");
        assert!(results.verdict.starts_with("sample ratio mismatch"), "{}", results.verdict);
        // The same counts at the weights that explain them (5:4) are fine.
        let fair = compute(&experiment_weighted(), &data, DateTime::from_timestamp_millis(10_000).expect("time"));
        assert!(!fair.results.sample_ratio.expect("A/B").mismatch);
    }

    fn experiment_weighted() -> StoredExperiment {
        experiment(ExperimentKind::Ab, [5.0, 4.0])
    }

    #[test]
    fn revenue_counts_a_shoppers_orders_after_their_first_exposure_in_the_main_currency() {
        let experiment = experiment(ExperimentKind::Ab, [1.0, 1.0]);
        let mut data = ExperimentData::default();
        shoppers(&mut data, "control", 2, 0);
        shoppers(&mut data, "treatment", 2, 0);
        let order = |identity: &str, cents, currency: &str, at_ms| OrderRow {
            order_id: format!("{identity}-{at_ms}-{cents}"),
            identity: identity.to_owned(),
            total_cents: cents,
            currency: currency.to_owned(),
            at_ms,
        };
        // control-0 was exposed at 0, treatment-0 at 1, treatment-1 at 3.
        data.orders = vec![
            order("session:treatment-0", 1_000, "GBP", 5),
            order("session:treatment-1", 700, "GBP", 2), // before its exposure: not counted
            order("session:control-0", 300, "GBP", 4),
            order("session:control-0", 900, "EUR", 4), // another currency: not summed
            order("session:someone-else", 5_000, "GBP", 4),
        ];
        let results = compute(&experiment, &data, DateTime::from_timestamp_millis(10_000).expect("time")).results;
        assert_eq!(results.currency.as_deref(), Some("GBP"));
        assert_eq!((results.variants[0].revenue, results.variants[1].revenue), (300, 1_000));
        assert_eq!(results.variants[1].revenue_per_search, 500.0);
    }

    #[test]
    fn interleaving_credits_clicks_to_the_team_that_contributed_the_item() {
        let experiment = experiment(ExperimentKind::Interleaving, [1.0, 1.0]);
        let mut data = ExperimentData::default();
        for (shopper, clicked) in
            [(0, vec!["b1"]), (1, vec!["a1", "b1"]), (2, vec!["a1"]), (3, vec![]), (4, vec!["b2", "b1", "a1"])]
        {
            let query_id = format!("q{shopper}");
            data.exposures.push(ExposureRow {
                query_id: query_id.clone(),
                variant: crate::experiments::definition::INTERLEAVED.into(),
                identity: format!("session:{shopper}"),
                credits: Some([vec!["a1".into(), "a2".into()], vec!["b1".into(), "b2".into()]]),
                at_ms: shopper,
            });
            for product in clicked {
                data.outcomes.push(OutcomeRow {
                    query_id: query_id.clone(),
                    kind: "click".into(),
                    product_id: product.into(),
                    at_ms: shopper,
                });
            }
        }
        let results = compute(&experiment, &data, DateTime::from_timestamp_millis(10_000).expect("time")).results;
        let interleaving = results.interleaving.expect("interleaving");
        assert_eq!((interleaving.control_wins, interleaving.treatment_wins, interleaving.ties), (1, 2, 1));
        assert_eq!(interleaving.preference.share, 2.0 / 3.0);
        assert_eq!((results.variants[0].searches, results.variants[0].clicked_searches), (5, 4));
        assert!(results.comparisons.is_empty() && results.sample_ratio.is_none());
    }
}
