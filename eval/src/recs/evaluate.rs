//! Training models on a split, ranking the full catalogue for every test user, and the report.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Instant;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use rayon::prelude::*;
use serde::Serialize;

use super::RecsError;
use super::metrics::{
    RELEVANT, average_precision_at, binary_judgments, coverage, exposure, gini, hit_at, mean_popularity_rank,
    popularity_deciles, popularity_ranks,
};
use super::split::{Split, SplitStats, TrainSet};
use crate::search::{ndcg_at, recall_at};

/// The default rank cut-offs: metrics @10 and @20.
pub const DEFAULT_KS: [usize; 2] = [10, 20];

/// The error type a [`Trainer`] returns.
pub type TrainError = Box<dyn std::error::Error + Send + Sync>;

/// A trained model under evaluation: it scores every train item for one user.
///
/// [`rank_test_users`] calls it from several threads at once, hence `Sync`.
pub trait Recommender: Sync {
    /// Writes the score of every train item (dense ids `0..n_items`, higher is better) into
    /// `scores`, which has `n_items` entries, all 0 on entry.
    ///
    /// `user` is the dense train id and `history` the user's row of
    /// [`TrainSet::interactions`] (item ids increasing, weights). Scores of the history items are
    /// ignored (they are excluded from the ranking); NaN ranks last.
    fn score_user(&self, user: u32, history: (&[u32], &[f32]), scores: &mut [f32]);
}

/// Trains one model configuration on a [`TrainSet`].
pub trait Trainer {
    /// The name of the configuration in reports (`popularity`, `ials(f=64,reg=0.1)`…).
    fn name(&self) -> &str;

    /// Trains the model. [`evaluate`] times this call: it is the model's `train_seconds`.
    fn train(&self, train: &TrainSet) -> Result<Box<dyn Recommender>, TrainError>;
}

/// A [`Trainer`] made of a name and a closure; see [`trainer`].
pub struct FnTrainer<F> {
    name: String,
    train: F,
}

impl<F> fmt::Debug for FnTrainer<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FnTrainer").field("name", &self.name).finish_non_exhaustive()
    }
}

impl<F> Trainer for FnTrainer<F>
where
    F: Fn(&TrainSet) -> Result<Box<dyn Recommender>, TrainError>,
{
    fn name(&self) -> &str {
        &self.name
    }

    fn train(&self, train: &TrainSet) -> Result<Box<dyn Recommender>, TrainError> {
        (self.train)(train)
    }
}

/// A trainer from a closure, for one-off adapters:
/// `trainer("ease(l=500)", |train| Ok(Box::new(MyEase::fit(&train.interactions, 500.0)?)))`.
pub fn trainer<F>(name: impl Into<String>, train: F) -> FnTrainer<F>
where
    F: Fn(&TrainSet) -> Result<Box<dyn Recommender>, TrainError>,
{
    FnTrainer { name: name.into(), train }
}

/// The top `k` candidates by decreasing score, ties by increasing id, skipping `excluded`.
///
/// `scores` holds one score per candidate (dense ids `0..scores.len()`); it is normalised in place
/// (NaN becomes −∞ so that it ranks last, −0 becomes +0 so that both zeros tie). `excluded` must
/// be sorted ascending (a CSR row is). Fewer than `k` ids come back when fewer candidates remain.
pub fn top_k(scores: &mut [f32], excluded: &[u32], k: usize) -> Vec<u32> {
    let mut candidates = Vec::new();
    top_k_into(scores, excluded, k, &mut candidates);
    candidates
}

/// [`top_k`] into a reusable buffer.
fn top_k_into(scores: &mut [f32], excluded: &[u32], k: usize, candidates: &mut Vec<u32>) {
    debug_assert!(excluded.windows(2).all(|pair| pair[0] < pair[1]), "excluded ids must be sorted");
    for score in scores.iter_mut() {
        *score = if score.is_nan() { f32::NEG_INFINITY } else { *score + 0.0 };
    }
    candidates.clear();
    let mut next_excluded = excluded.iter().peekable();
    for item in 0..scores.len() {
        let item = u32::try_from(item).unwrap_or(u32::MAX);
        while next_excluded.next_if(|&&excluded| excluded < item).is_some() {}
        if next_excluded.next_if_eq(&&item).is_none() {
            candidates.push(item);
        }
    }
    if k == 0 {
        candidates.clear();
        return;
    }
    let scores = &*scores;
    let better = |a: &u32, b: &u32| scores[*b as usize].total_cmp(&scores[*a as usize]).then(a.cmp(b));
    if candidates.len() > k {
        candidates.select_nth_unstable_by(k - 1, better);
        candidates.truncate(k);
    }
    candidates.sort_unstable_by(better);
}

/// The top `k` items of every test user of `split` (in the order of [`Split::test`]), the user's
/// train items excluded, over the full catalogue of train items. Runs on rayon's global pool;
/// `progress`, if given, advances by one per user.
pub fn rank_test_users(
    split: &Split,
    model: &dyn Recommender,
    k: usize,
    progress: Option<&ProgressBar>,
) -> Vec<Vec<u32>> {
    let train = &split.train;
    let n_items = train.n_items();
    split
        .test
        .par_iter()
        .map_init(
            || (vec![0f32; n_items], Vec::with_capacity(n_items)),
            |(scores, candidates), test_user| {
                let history = train.interactions.row(test_user.user as usize);
                scores.fill(0.0);
                model.score_user(test_user.user, history, scores);
                top_k_into(scores, history.0, k, candidates);
                if let Some(progress) = progress {
                    progress.inc(1);
                }
                candidates.clone()
            },
        )
        .collect()
}

/// Metric name → value for rankings of the test users: for every `k` of `ks`, `ndcg@k`,
/// `recall@k`, `map@k`, `hitrate@k` (means over the test users), `coverage@k`, `gini@k` and
/// `novelty@k` (over all lists cut at `k`).
///
/// `rankings[i]` is the ranking of `split.test[i]` (dense train item ids, best first), as
/// [`rank_test_users`] returns them.
///
/// # Errors
/// [`RecsError::BadCutoffs`] if `ks` is empty or holds a 0.
///
/// # Panics
/// If `rankings` and `split.test` differ in length.
pub fn score_rankings(split: &Split, rankings: &[Vec<u32>], ks: &[usize]) -> Result<BTreeMap<String, f64>, RecsError> {
    check_ks(ks)?;
    assert_eq!(rankings.len(), split.test.len(), "one ranking per test user");
    let train = &split.train;
    let per_user: Vec<Vec<[Option<f64>; 4]>> = split
        .test
        .par_iter()
        .zip(rankings)
        .map(|(test_user, ranking)| {
            let judgments = binary_judgments(&test_user.relevant);
            let ranked: Vec<&str> =
                ranking.iter().filter_map(|&item| train.item_ids.get(item as usize)).map(String::as_str).collect();
            ks.iter()
                .map(|&k| {
                    [
                        ndcg_at(k, &ranked, &judgments),
                        recall_at(k, &ranked, &judgments, RELEVANT),
                        average_precision_at(k, &ranked, &judgments, RELEVANT),
                        hit_at(k, &ranked, &judgments, RELEVANT),
                    ]
                })
                .collect()
        })
        .collect();

    let ranks = popularity_ranks(&train.interactions.column_counts());
    let mut metrics = BTreeMap::new();
    for (position, &k) in ks.iter().enumerate() {
        for (index, name) in ["ndcg", "recall", "map", "hitrate"].iter().enumerate() {
            let mean = mean_of(per_user.iter().map(|values| values[position][index]));
            metrics.insert(format!("{name}@{k}"), mean);
        }
        let cut = || rankings.iter().map(|ranking| &ranking[..ranking.len().min(k)]);
        metrics.insert(format!("coverage@{k}"), coverage(cut(), train.n_items()));
        metrics.insert(format!("gini@{k}"), gini(&exposure(cut(), train.n_items())));
        metrics.insert(format!("novelty@{k}"), mean_popularity_rank(cut(), &ranks));
    }
    Ok(metrics)
}

/// The mean of the defined values (0 when none is).
fn mean_of(values: impl Iterator<Item = Option<f64>>) -> f64 {
    let (sum, count) = values.flatten().fold((0.0, 0usize), |(sum, count), value| (sum + value, count + 1));
    if count == 0 { 0.0 } else { sum / count as f64 }
}

fn check_ks(ks: &[usize]) -> Result<(), RecsError> {
    if ks.is_empty() || ks.contains(&0) {
        return Err(RecsError::BadCutoffs { ks: ks.to_vec() });
    }
    Ok(())
}

/// One model's line of a [`RecsReport`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelReport {
    /// The trainer's name.
    pub model: String,
    /// Wall-clock seconds of [`Trainer::train`].
    pub train_seconds: f64,
    /// Wall-clock seconds to rank and score every test user.
    pub eval_seconds: f64,
    /// `ndcg@K`, `recall@K`, `map@K`, `hitrate@K`, `coverage@K`, `gini@K`, `novelty@K` for every
    /// K (see [`score_rankings`]); flattened into the model's JSON object.
    #[serde(flatten)]
    pub metrics: BTreeMap<String, f64>,
    /// Popularity bias at the largest K: the share of recommended slots in each tenth of the
    /// catalogue by popularity, most popular first ([`popularity_deciles`](super::metrics::popularity_deciles)).
    pub popularity_deciles: Vec<f64>,
    /// Recall@K at every K of [`CURVE_KS`]: the Recall@K curve.
    pub recall_curve: Vec<(usize, f64)>,
}

/// The cut-offs of [`ModelReport::recall_curve`].
pub const CURVE_KS: [usize; 7] = [1, 2, 5, 10, 20, 50, 100];

impl ModelReport {
    /// The value of a metric by its report name (`"ndcg@10"`).
    pub fn metric(&self, name: &str) -> Option<f64> {
        self.metrics.get(name).copied()
    }
}

/// The outcome of [`evaluate`]: the split's counts and one line per model, in trainer order.
///
/// Serialises to JSON as `{"split": {...}, "ks": [10, 20], "models": [{"model": "popularity",
/// "train_seconds": …, "eval_seconds": …, "ndcg@10": …, "recall@20": …, …}]}`; the field names
/// are stable, and `bench/implicit_baseline.py` writes the same shape.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecsReport {
    /// Counts of the split.
    pub split: SplitStats,
    /// The rank cut-offs of the metrics.
    pub ks: Vec<usize>,
    /// One line per model.
    pub models: Vec<ModelReport>,
}

impl RecsReport {
    /// The line of the model named `name`.
    pub fn model(&self, name: &str) -> Option<&ModelReport> {
        self.models.iter().find(|line| line.model == name)
    }
}

impl fmt::Display for RecsReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let split = &self.split;
        writeln!(
            f,
            "cutoff {}: train {} rows, {} users, {} items, {} pairs; test {} rows, {} users ({} scored), {:.2} relevant per user ({} unseen in train)",
            split.cutoff,
            split.train_rows,
            split.train_users,
            split.train_items,
            split.train_pairs,
            split.test_rows,
            split.test_users,
            split.scored_test_users,
            split.mean_relevant_per_user,
            split.relevant_unseen_in_train
        )?;
        let mut columns: Vec<String> = Vec::new();
        for name in ["recall", "ndcg", "map", "hitrate", "coverage", "gini", "novelty"] {
            columns.extend(self.ks.iter().map(|k| format!("{name}@{k}")));
        }
        let width = self.models.iter().map(|line| line.model.len()).max().unwrap_or(5).max(5);
        write!(f, "{:<width$}", "model")?;
        for column in &columns {
            write!(f, " {column:>11}")?;
        }
        writeln!(f, " {:>9}", "train s")?;
        for line in &self.models {
            write!(f, "{:<width$}", line.model)?;
            for column in &columns {
                match line.metric(column) {
                    Some(value) if column.starts_with("novelty") => write!(f, " {value:>11.1}")?,
                    Some(value) => write!(f, " {value:>11.4}")?,
                    None => write!(f, " {:>11}", "-")?,
                }
            }
            writeln!(f, " {:>9.3}", line.train_seconds)?;
        }
        Ok(())
    }
}

/// Trains every model of `trainers` on `split.train`, ranks the full catalogue for every test user
/// and scores the rankings at every `k` of `ks` ([`score_rankings`]).
///
/// Models run one after the other (each ranking is parallel over users on rayon's global pool).
/// Progress (a spinner while training, a bar over users while ranking) goes to `progress`; pass
/// `MultiProgress::with_draw_target(ProgressDrawTarget::hidden())` to stay silent.
///
/// # Errors
/// [`RecsError::BadCutoffs`] for an empty or zero `ks`, [`RecsError::Training`] when a trainer
/// fails.
pub fn evaluate(
    split: &Split,
    trainers: &[&dyn Trainer],
    ks: &[usize],
    progress: &MultiProgress,
) -> Result<RecsReport, RecsError> {
    check_ks(ks)?;
    let max_k = ks.iter().copied().chain(CURVE_KS).max().unwrap_or(0);
    let mut models = Vec::with_capacity(trainers.len());
    for trainer in trainers {
        let name = trainer.name().to_string();
        let spinner = progress.add(ProgressBar::new_spinner().with_style(spinner_style()));
        spinner.set_message(format!("training {name}"));
        spinner.enable_steady_tick(std::time::Duration::from_millis(120));
        let started = Instant::now();
        let model = trainer.train(&split.train).map_err(|source| {
            spinner.abandon_with_message(format!("training {name} failed"));
            RecsError::Training { model: name.clone(), source }
        })?;
        let train_seconds = started.elapsed().as_secs_f64();
        spinner.finish_with_message(format!("trained {name} in {train_seconds:.2} s"));

        let bar = progress.add(
            ProgressBar::new(split.test.len() as u64).with_style(bar_style()).with_message(format!("ranking {name}")),
        );
        let started = Instant::now();
        let rankings = rank_test_users(split, model.as_ref(), max_k, Some(&bar));
        let metrics = score_rankings(split, &rankings, ks)?;
        let ranks = popularity_ranks(&split.train.interactions.column_counts());
        let curve = score_rankings(split, &rankings, &CURVE_KS)?;
        let recall_curve =
            CURVE_KS.iter().map(|&k| (k, curve.get(&format!("recall@{k}")).copied().unwrap_or(0.0))).collect();
        let largest = ks.iter().copied().max().unwrap_or(0);
        let top: Vec<&[u32]> = rankings.iter().map(|ranking| &ranking[..ranking.len().min(largest)]).collect();
        let deciles = popularity_deciles(top.iter().copied(), &ranks);
        let eval_seconds = started.elapsed().as_secs_f64();
        bar.finish_with_message(format!("ranked {name}"));
        models.push(ModelReport {
            model: name,
            train_seconds,
            eval_seconds,
            metrics,
            popularity_deciles: deciles,
            recall_curve,
        });
    }
    Ok(RecsReport { split: split.stats.clone(), ks: ks.to_vec(), models })
}

fn spinner_style() -> ProgressStyle {
    ProgressStyle::with_template("{spinner} {msg} ({elapsed})").unwrap_or_else(|_| ProgressStyle::default_spinner())
}

fn bar_style() -> ProgressStyle {
    ProgressStyle::with_template("{msg:32} [{bar:30}] {pos}/{len} users ({eta})")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_k_orders_by_score_then_id_and_skips_excluded() {
        let mut scores = vec![1.0, 3.0, 3.0, 0.5, 2.0, 3.0];
        assert_eq!(top_k(&mut scores, &[], 3), vec![1, 2, 5]);
        assert_eq!(top_k(&mut scores, &[2], 3), vec![1, 5, 4]);
        assert_eq!(top_k(&mut scores, &[1, 2, 5], 10), vec![4, 0, 3]);
        assert_eq!(top_k(&mut scores, &[0, 1, 2, 3, 4, 5], 2), Vec::<u32>::new());
        assert_eq!(top_k(&mut scores, &[], 0), Vec::<u32>::new());
    }

    #[test]
    fn top_k_ranks_nan_last_and_ties_both_zeros() {
        let mut scores = vec![f32::NAN, -0.0, 0.0, f32::NEG_INFINITY, -1.0];
        assert_eq!(top_k(&mut scores, &[], 5), vec![1, 2, 4, 0, 3]);
    }

    #[test]
    fn top_k_matches_a_full_sort() {
        // A deterministic pseudo-random vector with many ties.
        let mut scores: Vec<f32> = (0..500u32).map(|i| ((i * 7919) % 37) as f32).collect();
        let excluded: Vec<u32> = (0..500).filter(|i| i % 11 == 0).collect();
        let mut expected: Vec<u32> = (0..500).filter(|i| i % 11 != 0).collect();
        expected.sort_by(|&a, &b| scores[b as usize].total_cmp(&scores[a as usize]).then(a.cmp(&b)));
        expected.truncate(20);
        assert_eq!(top_k(&mut scores, &excluded, 20), expected);
    }

    #[test]
    fn the_closure_trainer_names_itself() {
        let named = trainer("constant", |_| Err("no model".into()));
        assert_eq!(named.name(), "constant");
        assert!(format!("{named:?}").contains("constant"));
    }

    #[test]
    fn cut_offs_must_be_positive() {
        assert!(matches!(check_ks(&[]), Err(RecsError::BadCutoffs { .. })));
        assert!(matches!(check_ks(&[10, 0]), Err(RecsError::BadCutoffs { .. })));
        assert!(check_ks(&[1]).is_ok());
    }
}
