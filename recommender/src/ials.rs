//! Implicit-feedback matrix factorisation by alternating least squares (iALS).
//!
//! The model is that of Hu, Koren and Volinsky, "Collaborative Filtering for Implicit Feedback
//! Datasets" (ICDM 2008): every (user, item) pair has a preference `p_ui` (1 when observed, 0
//! otherwise) and a confidence `c_ui` (the stored weight times `alpha` when observed, 1 otherwise),
//! and the factors minimise
//!
//! ```text
//! Σ_u Σ_i c_ui (p_ui − x_uᵀ y_i)² + λ (Σ_u ‖x_u‖² + Σ_i ‖y_i‖²).
//! ```
//!
//! It is solved the way the Python library `implicit` (`implicit/cpu/_als.pyx`) does, so that its
//! hyper-parameters carry over unchanged:
//! - confidence = `alpha × weight` for observed pairs (implicit ≥ 0.5; the paper's `1 + α r` is the
//!   same with the weights shifted); a negative weight means "disliked": preference 0 with
//!   confidence `|alpha × weight|`;
//! - each half-iteration fixes one side, precomputes `A = YᵀY + λI` once, and for every row runs
//!   `cg_steps` steps of conjugate gradient on `(A + Yᵀ(C_u − I)Y) x_u = YᵀC_u p_u`, warm-started
//!   from the previous `x_u` (Takács, Pilászy, Tikk, "Applications of the Conjugate Gradient Method
//!   for Implicit Feedback Collaborative Filtering", RecSys 2011). `Yᵀ(C_u − I)Y` is never formed:
//!   its product with a vector costs two passes over the row's items;
//! - factors start uniform in `[0, 0.01)`; a row without interactions gets the zero vector.
//!
//! Rows are solved in blocks of 64, blocks in parallel with rayon, each worker reusing its scratch
//! matrices (no allocation per row). Within a block the CG steps run in lockstep so that the dense
//! products `A·p` of all its rows are a single matrix product (`matrixmultiply`, which selects
//! AVX2/FMA kernels at run time); the sparse corrections are per-row dot/axpy loops written to
//! vectorise.
//!
//! [`IalsModel::fold_in`] solves the same normal equations exactly (Cholesky) for a list of items
//! against the fixed item factors: the vector of a user unseen at training time, or of a shopper's
//! current session or cart.

use std::ops::Range;
use std::sync::OnceLock;
use std::time::Instant;

use ndarray::linalg::{general_mat_mul, general_mat_vec_mul};
use ndarray::{Array1, Array2, ArrayView1, ArrayView2, ArrayViewMut1, ArrayViewMut2, Axis, Slice};
use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::matrix::Interactions;

/// Hyper-parameters of [`train`]. The names and meanings follow `implicit`'s
/// `AlternatingLeastSquares` (≥ 0.5).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IalsParams {
    /// Dimension of the user and item vectors.
    pub factors: usize,
    /// L2 penalty `λ` on every user and item vector.
    pub regularization: f32,
    /// Confidence of an observed pair = `alpha × weight`.
    pub alpha: f32,
    /// Number of alternations (each solves all users, then all items).
    pub iterations: usize,
    /// Conjugate-gradient steps per row and half-iteration (3 in `implicit`).
    pub cg_steps: usize,
    /// Seed of the random initial factors.
    pub seed: u64,
    /// Compute the training loss after each iteration (costs about half an iteration) and report
    /// it in [`IterationStats::loss`].
    pub calculate_loss: bool,
}

impl Default for IalsParams {
    fn default() -> Self {
        IalsParams {
            factors: 64,
            regularization: 0.1,
            alpha: 1.0,
            iterations: 15,
            cg_steps: 3,
            seed: 42,
            calculate_loss: false,
        }
    }
}

/// What [`train`] reports after each iteration.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IterationStats {
    /// Iteration number, starting at 0.
    pub iteration: usize,
    /// Wall-clock seconds of this iteration (both half-steps, without the loss computation).
    pub seconds: f64,
    /// Training loss after this iteration (normalised as in `implicit`), when
    /// [`IalsParams::calculate_loss`] is set.
    pub loss: Option<f32>,
}

/// A trained iALS model: one vector per user and per item; the score of item `i` for user `u` is
/// `x_u · y_i`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IalsModel {
    user_factors: Array2<f32>,
    item_factors: Array2<f32>,
    /// The `λ` the factors were trained with (needed by [`IalsModel::fold_in`]).
    regularization: f32,
    /// The `alpha` the factors were trained with (needed by [`IalsModel::fold_in`]).
    alpha: f32,
    /// `YᵀY`, computed on the first fold-in.
    #[serde(skip)]
    item_gram: OnceLock<Array2<f32>>,
}

/// Trains an iALS model on `interactions` (rows = users, columns = items, values = weights),
/// calling `on_iteration` after every iteration.
pub fn train(
    interactions: &Interactions,
    params: &IalsParams,
    mut on_iteration: impl FnMut(IterationStats),
) -> IalsModel {
    let factors = params.factors.max(1);
    let confidences = interactions.map_values(|weight| params.alpha * weight);
    let confidences_by_item = confidences.transpose();

    let mut rng = Xoshiro256PlusPlus::seed_from_u64(params.seed);
    let mut random_factors = |rows: usize| Array2::from_shape_simple_fn((rows, factors), || rng.random::<f32>() * 0.01);
    let mut user_factors = random_factors(interactions.n_rows());
    let mut item_factors = random_factors(interactions.n_cols());

    for iteration in 0..params.iterations {
        let start = Instant::now();
        least_squares_cg(&confidences, &mut user_factors, &item_factors, params.regularization, params.cg_steps);
        least_squares_cg(
            &confidences_by_item,
            &mut item_factors,
            &user_factors,
            params.regularization,
            params.cg_steps,
        );
        let seconds = start.elapsed().as_secs_f64();
        let loss = params
            .calculate_loss
            .then(|| training_loss(&confidences, user_factors.view(), item_factors.view(), params.regularization));
        on_iteration(IterationStats { iteration, seconds, loss });
    }

    IalsModel {
        user_factors,
        item_factors,
        regularization: params.regularization,
        alpha: params.alpha,
        item_gram: OnceLock::new(),
    }
}

impl IalsModel {
    /// Builds a model from existing factors (e.g. trained elsewhere), with the `λ` and `alpha`
    /// that [`IalsModel::fold_in`] should use.
    ///
    /// # Panics
    /// If the two matrices do not have the same number of columns.
    pub fn from_factors(
        user_factors: Array2<f32>,
        item_factors: Array2<f32>,
        regularization: f32,
        alpha: f32,
    ) -> IalsModel {
        assert_eq!(user_factors.ncols(), item_factors.ncols(), "user and item factors differ in dimension");
        IalsModel { user_factors, item_factors, regularization, alpha, item_gram: OnceLock::new() }
    }

    /// The user vectors, one row per user of the training matrix.
    pub fn user_factors(&self) -> ArrayView2<'_, f32> {
        self.user_factors.view()
    }

    /// The item vectors, one row per item.
    pub fn item_factors(&self) -> ArrayView2<'_, f32> {
        self.item_factors.view()
    }

    /// Number of users the model was trained on.
    pub fn n_users(&self) -> usize {
        self.user_factors.nrows()
    }

    /// Number of items.
    pub fn n_items(&self) -> usize {
        self.item_factors.nrows()
    }

    /// Dimension of the vectors.
    pub fn factors(&self) -> usize {
        self.item_factors.ncols()
    }

    /// The vector of a user who interacted with `items` (`(item, weight)` pairs, weights as in the
    /// training matrix; repeated items are summed), solved exactly against the fixed item factors
    /// without retraining: `x = (YᵀY + λI + Yᵀ(C − I)Y)⁻¹ YᵀC p`, as `implicit`'s
    /// `recalculate_user`. Items outside the model are ignored; an empty list gives the zero
    /// vector.
    pub fn fold_in(&self, items: &[(u32, f32)]) -> Array1<f32> {
        let k = self.factors();
        let n_items = self.n_items();
        let gram = self.item_gram.get_or_init(|| self.item_factors.t().dot(&self.item_factors));

        let triplets: Vec<(u32, u32, f32)> = items
            .iter()
            .filter(|&&(item, _)| (item as usize) < n_items)
            .map(|&(item, weight)| (0, item, self.alpha * weight))
            .collect();
        let row = Interactions::from_triplets(1, n_items, &triplets);
        let (cols, confidences) = row.row(0);
        if cols.is_empty() {
            return Array1::zeros(k);
        }

        let mut system = gram.clone();
        for d in 0..k {
            system[[d, d]] += self.regularization;
        }
        let mut rhs = Array1::<f32>::zeros(k);
        for (&item, &confidence) in cols.iter().zip(confidences) {
            let (preference, confidence) = preference_confidence(confidence);
            let y = self.item_factors.row(item as usize);
            rhs.scaled_add(confidence * preference, &y);
            for a in 0..k {
                let scale = (confidence - 1.0) * y[a];
                for b in 0..k {
                    system[[a, b]] += scale * y[b];
                }
            }
        }
        // The system is positive definite for λ > 0; with λ ≤ 0 and degenerate factors it may
        // not be: retry with a small ridge, then give up on this history.
        let ridge = 1e-4 * (0..k).map(|d| system[[d, d]].abs()).sum::<f32>() / k as f32 + f32::MIN_POSITIVE;
        let mut ridged = system.clone();
        for d in 0..k {
            ridged[[d, d]] += ridge;
        }
        cholesky_solve(system, rhs.view())
            .or_else(|| cholesky_solve(ridged, rhs.view()))
            .unwrap_or_else(|| Array1::zeros(k))
    }

    /// Writes the score `x · y_i` of every item into `out` (length [`IalsModel::n_items`]) for the
    /// user vector `user_vector` (a row of [`IalsModel::user_factors`] or a [`IalsModel::fold_in`]).
    ///
    /// # Panics
    /// If `user_vector` does not have [`IalsModel::factors`] entries or `out` does not have
    /// [`IalsModel::n_items`] entries.
    pub fn score_items(&self, user_vector: ArrayView1<f32>, out: &mut [f32]) {
        let mut out = ArrayViewMut1::from(out);
        general_mat_vec_mul(1.0, &self.item_factors, &user_vector, 0.0, &mut out);
    }

    /// The training loss of these factors on `interactions` (weights, as given to [`train`]),
    /// normalised by the total confidence as `implicit`'s `calculate_loss`.
    pub fn loss(&self, interactions: &Interactions) -> f32 {
        let confidences = interactions.map_values(|weight| self.alpha * weight);
        training_loss(&confidences, self.user_factors.view(), self.item_factors.view(), self.regularization)
    }
}

/// `(preference, confidence)` of a stored confidence value: negative values mean "disliked".
fn preference_confidence(stored: f32) -> (f32, f32) {
    if stored > 0.0 { (1.0, stored) } else { (0.0, -stored) }
}

/// Rows solved together by [`solve_block_cg`].
const ROW_BLOCK: usize = 64;

/// One half-iteration: updates every row of `target` given the fixed factors `fixed`, with
/// `confidences` rows indexing rows of `fixed`. Blocks of [`ROW_BLOCK`] rows run in parallel.
fn least_squares_cg(
    confidences: &Interactions,
    target: &mut Array2<f32>,
    fixed: &Array2<f32>,
    regularization: f32,
    cg_steps: usize,
) {
    let k = fixed.ncols();
    let mut gram = fixed.t().dot(fixed);
    for d in 0..k {
        gram[[d, d]] += regularization;
    }
    let fixed = fixed.as_slice().expect("factors are created in standard layout");
    target.axis_chunks_iter_mut(Axis(0), ROW_BLOCK).into_par_iter().enumerate().for_each_init(
        || BlockScratch::new(k),
        |scratch, (block, x_block)| {
            let rows = block * ROW_BLOCK..block * ROW_BLOCK + x_block.nrows();
            solve_block_cg(gram.view(), fixed, confidences, rows, x_block, cg_steps, scratch);
        },
    );
}

/// Scratch matrices of one rayon worker for [`solve_block_cg`].
struct BlockScratch {
    residual: Array2<f32>,
    direction: Array2<f32>,
    a_direction: Array2<f32>,
    rs_old: Vec<f32>,
    active: Vec<bool>,
}

impl BlockScratch {
    fn new(k: usize) -> BlockScratch {
        BlockScratch {
            residual: Array2::zeros((ROW_BLOCK, k)),
            direction: Array2::zeros((ROW_BLOCK, k)),
            a_direction: Array2::zeros((ROW_BLOCK, k)),
            rs_old: vec![0.0; ROW_BLOCK],
            active: vec![false; ROW_BLOCK],
        }
    }
}

/// `cg_steps` conjugate-gradient steps on `(A + Yᵀ(C_u − I)Y) x_u = YᵀC_u p_u` for every row `u`
/// of a block, warm-started from the current `x_u` (`implicit`'s `least_squares_cg`).
///
/// The rows advance in lockstep so that the dense products `A·p` of the whole block are one
/// matrix product (`P·A`, `A` symmetric), which `matrixmultiply` runs with the widest SIMD the
/// CPU offers; the sparse term `Yᵀ(C_u − I)Y p` is two passes over the row's items. A row whose
/// residual vanishes stops (its direction is zeroed so the shared product leaves it alone); a
/// row without interactions gets the zero vector.
fn solve_block_cg(
    gram: ArrayView2<f32>,
    fixed: &[f32],
    confidences: &Interactions,
    rows: Range<usize>,
    mut x_block: ArrayViewMut2<f32>,
    cg_steps: usize,
    scratch: &mut BlockScratch,
) {
    let k = gram.nrows();
    let n = rows.len();
    let item = |i: u32| &fixed[i as usize * k..(i as usize + 1) * k];
    let mut residual = scratch.residual.slice_axis_mut(Axis(0), Slice::from(0..n));
    let mut direction = scratch.direction.slice_axis_mut(Axis(0), Slice::from(0..n));
    let mut a_direction = scratch.a_direction.slice_axis_mut(Axis(0), Slice::from(0..n));
    let rs_old = &mut scratch.rs_old[..n];
    let active = &mut scratch.active[..n];

    // R = X·(−A) + Σ_i (c_i p_i − (c_i − 1) y_i·x) y_i
    general_mat_mul(-1.0, &x_block, &gram, 0.0, &mut residual);
    for (local, row) in rows.clone().enumerate() {
        let (cols, values) = confidences.row(row);
        let x = x_block.row_mut(local).into_slice().expect("rows of a standard-layout block are contiguous");
        let r = residual.row_mut(local).into_slice().expect("rows of a standard-layout block are contiguous");
        let p = direction.row_mut(local).into_slice().expect("rows of a standard-layout block are contiguous");
        if cols.is_empty() {
            x.fill(0.0);
            p.fill(0.0);
            active[local] = false;
            continue;
        }
        for (&i, &stored) in cols.iter().zip(values) {
            let (preference, confidence) = preference_confidence(stored);
            let y = item(i);
            axpy(confidence * preference - (confidence - 1.0) * dot(y, x), y, r);
        }
        p.copy_from_slice(r);
        rs_old[local] = dot(r, r);
        active[local] = rs_old[local] >= 1e-20;
        if !active[local] {
            p.fill(0.0);
        }
    }

    for _ in 0..cg_steps {
        if !active.iter().any(|&a| a) {
            break;
        }
        general_mat_mul(1.0, &direction, &gram, 0.0, &mut a_direction);
        for (local, row) in rows.clone().enumerate() {
            if !active[local] {
                continue;
            }
            let (cols, values) = confidences.row(row);
            let x = x_block.row_mut(local).into_slice().expect("rows of a standard-layout block are contiguous");
            let r = residual.row_mut(local).into_slice().expect("rows of a standard-layout block are contiguous");
            let p = direction.row_mut(local).into_slice().expect("rows of a standard-layout block are contiguous");
            let ap = a_direction.row_mut(local).into_slice().expect("rows of a standard-layout block are contiguous");
            for (&i, &stored) in cols.iter().zip(values) {
                let (_, confidence) = preference_confidence(stored);
                let y = item(i);
                axpy((confidence - 1.0) * dot(y, p), y, ap);
            }
            let step = rs_old[local] / dot(p, ap);
            axpy(step, p, x);
            axpy(-step, ap, r);
            let rs_new = dot(r, r);
            if rs_new < 1e-20 {
                active[local] = false;
                p.fill(0.0);
                continue;
            }
            let ratio = rs_new / rs_old[local];
            for (pj, &rj) in p.iter_mut().zip(r.iter()) {
                *pj = rj + ratio * *pj;
            }
            rs_old[local] = rs_new;
        }
    }
}

/// `Σ a_i b_i` with eight independent accumulators, so that it vectorises.
#[inline]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut lanes = [0f32; 8];
    let (a_chunks, b_chunks) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = a_chunks.remainder().iter().zip(b_chunks.remainder()).map(|(x, y)| x * y).sum();
    for (ca, cb) in a_chunks.zip(b_chunks) {
        for lane in 0..8 {
            lanes[lane] += ca[lane] * cb[lane];
        }
    }
    lanes.iter().sum::<f32>() + tail
}

/// `y += alpha x`.
#[inline]
fn axpy(alpha: f32, x: &[f32], y: &mut [f32]) {
    for (yi, &xi) in y.iter_mut().zip(x) {
        *yi += alpha * xi;
    }
}

/// The loss of `implicit`'s `calculate_loss`: the full weighted squared error over all pairs plus
/// the penalty, divided by the sum of confidences (unobserved pairs counting 1).
fn training_loss(
    confidences: &Interactions,
    user_factors: ArrayView2<f32>,
    item_factors: ArrayView2<f32>,
    regularization: f32,
) -> f32 {
    let gram = item_factors.t().dot(&item_factors);
    let (loss, total_confidence, user_norm) = (0..confidences.n_rows())
        .into_par_iter()
        .map(|u| {
            let x = user_factors.row(u);
            // xᵀ(YᵀY + Yᵀ(C − I)Y)x − 2 xᵀYᵀCp + pᵀCp
            let mut gram_x = gram.dot(&x);
            let (cols, values) = confidences.row(u);
            let mut loss = 0f64;
            let mut total_confidence = 0f64;
            for (&i, &stored) in cols.iter().zip(values) {
                let (preference, confidence) = preference_confidence(stored);
                let y = item_factors.row(i as usize);
                let score = y.dot(&x);
                gram_x.scaled_add((confidence - 1.0) * score, &y);
                total_confidence += f64::from(confidence);
                loss += f64::from(confidence * preference * preference - 2.0 * confidence * preference * score);
            }
            loss += f64::from(gram_x.dot(&x));
            (loss, total_confidence, f64::from(x.dot(&x)))
        })
        .reduce(|| (0.0, 0.0, 0.0), |a, b| (a.0 + b.0, a.1 + b.1, a.2 + b.2));
    let item_norm: f64 = item_factors.rows().into_iter().map(|y| f64::from(y.dot(&y))).sum();
    let loss = loss + f64::from(regularization) * (item_norm + user_norm);
    let n_pairs = confidences.n_rows() as f64 * confidences.n_cols() as f64;
    let denominator = total_confidence + n_pairs - confidences.nnz() as f64;
    if denominator > 0.0 { (loss / denominator) as f32 } else { 0.0 }
}

/// Solves the symmetric positive definite system `a x = b` by Cholesky; `None` when `a` is not
/// positive definite (numerically).
fn cholesky_solve(mut a: Array2<f32>, b: ArrayView1<f32>) -> Option<Array1<f32>> {
    let n = a.nrows();
    // In place: the lower triangle becomes L with A = L Lᵀ (computed in f64 for accuracy).
    for j in 0..n {
        let mut diagonal = f64::from(a[[j, j]]);
        for p in 0..j {
            diagonal -= f64::from(a[[j, p]]) * f64::from(a[[j, p]]);
        }
        if diagonal <= 0.0 || !diagonal.is_finite() {
            return None;
        }
        let diagonal = diagonal.sqrt();
        a[[j, j]] = diagonal as f32;
        for i in j + 1..n {
            let mut value = f64::from(a[[i, j]]);
            for p in 0..j {
                value -= f64::from(a[[i, p]]) * f64::from(a[[j, p]]);
            }
            a[[i, j]] = (value / diagonal) as f32;
        }
    }
    // L z = b, then Lᵀ x = z.
    let mut x: Vec<f64> = b.iter().map(|&v| f64::from(v)).collect();
    for i in 0..n {
        let mut value = x[i];
        for p in 0..i {
            value -= f64::from(a[[i, p]]) * x[p];
        }
        x[i] = value / f64::from(a[[i, i]]);
    }
    for i in (0..n).rev() {
        let mut value = x[i];
        for p in i + 1..n {
            value -= f64::from(a[[p, i]]) * x[p];
        }
        x[i] = value / f64::from(a[[i, i]]);
    }
    Some(x.into_iter().map(|v| v as f32).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cholesky_solves_a_small_system() {
        let a = ndarray::arr2(&[[4.0f32, 2.0, 0.0], [2.0, 5.0, 1.0], [0.0, 1.0, 3.0]]);
        let x_true = ndarray::arr1(&[1.0f32, -2.0, 0.5]);
        let b = a.dot(&x_true);
        let x = cholesky_solve(a, b.view()).expect("positive definite");
        for (got, want) in x.iter().zip(&x_true) {
            assert!((got - want).abs() < 1e-5, "{x} vs {x_true}");
        }
        assert!(
            cholesky_solve(ndarray::arr2(&[[1.0f32, 2.0], [2.0, 1.0]]), ndarray::arr1(&[1.0f32, 1.0]).view()).is_none()
        );
    }

    #[test]
    fn vector_kernels_match_naive_loops() {
        let a: Vec<f32> = (0..19).map(|v| v as f32 * 0.5).collect();
        let b: Vec<f32> = (0..19).map(|v| 1.0 - v as f32).collect();
        let naive: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        assert!((dot(&a, &b) - naive).abs() < 1e-3);
        let mut y = vec![1.0f32; 19];
        axpy(2.0, &a, &mut y);
        assert_eq!(y[3], 4.0);
    }

    #[test]
    fn many_cg_steps_reach_the_exact_solution() {
        // With k CG steps from any start the solution is exact (up to rounding): compare the
        // user half-step against fold-in's Cholesky solve, over several blocks of rows (the last
        // one partial) and with a disliked item (negative weight).
        let n_users = 2 * ROW_BLOCK + 21;
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(9);
        let mut triplets = Vec::new();
        for user in 0..n_users as u32 {
            for _ in 0..rng.random_range(1..6) {
                triplets.push((user, rng.random_range(0..12u32), rng.random_range(1..4u8) as f32));
            }
        }
        triplets.push((5, 11, -2.0));
        let interactions = Interactions::from_triplets(n_users, 12, &triplets);
        let params = IalsParams { factors: 4, iterations: 3, regularization: 0.5, alpha: 2.0, ..Default::default() };
        let model = train(&interactions, &params, |_| {});
        let mut user_factors = model.user_factors.clone();
        let confidences = interactions.map_values(|w| params.alpha * w);
        least_squares_cg(&confidences, &mut user_factors, &model.item_factors, params.regularization, 4);
        for u in 0..n_users {
            let (cols, weights) = interactions.row(u);
            let items: Vec<(u32, f32)> = cols.iter().copied().zip(weights.iter().copied()).collect();
            let exact = model.fold_in(&items);
            for (got, want) in user_factors.row(u).iter().zip(&exact) {
                assert!((got - want).abs() < 1e-3 * (1.0 + want.abs()), "user {u}: {} vs {exact}", user_factors.row(u));
            }
        }
    }

    #[test]
    fn empty_rows_get_zero_vectors_and_fold_in_of_nothing_is_zero() {
        let interactions = Interactions::from_triplets(3, 3, &[(0, 0, 1.0), (2, 1, 1.0)]);
        let model = train(&interactions, &IalsParams { factors: 3, iterations: 2, ..Default::default() }, |_| {});
        assert!(model.user_factors().row(1).iter().all(|&v| v == 0.0));
        assert!(model.item_factors().row(2).iter().all(|&v| v == 0.0));
        assert!(model.fold_in(&[]).iter().all(|&v| v == 0.0));
        assert!(model.fold_in(&[(99, 1.0)]).iter().all(|&v| v == 0.0));
    }

    #[test]
    fn training_is_deterministic_for_a_seed() {
        let interactions = Interactions::from_triplets(3, 4, &[(0, 0, 1.0), (1, 1, 2.0), (2, 3, 1.0), (0, 3, 1.0)]);
        let params = IalsParams { factors: 3, iterations: 4, ..Default::default() };
        let a = train(&interactions, &params, |_| {});
        let b = train(&interactions, &params, |_| {});
        assert_eq!(a.user_factors(), b.user_factors());
        assert_eq!(a.item_factors(), b.item_factors());
    }
}
