//! The product's models under the evaluation protocol: each adapter trains the real model code of
//! vitrine-recommender / vitrine-pipelines on the [`TrainSet`] and scores with it.
//!
//! - `cooc`: item co-occurrence on the train baskets, a user's score = Σ neighbour similarity of
//!   their items ([`ItemNeighbours::score_items`]);
//! - `ials`: implicit ALS on the users × items weights, score = `x_u · y_i`;
//! - `ease`: Steck's dense EASE on the binary matrix (the yardstick; serving uses the sparse,
//!   recency-weighted form inside the hybrid);
//! - `content`: TF-IDF + random-projection vectors of the item titles, a user's profile = the
//!   weighted mean of their items' vectors, score = cosine;
//! - `sparse_ease`: the served EASE alone (recency-weighted, strongest weights per item; the
//!   sparse approximate inverse above `max_items`);
//! - `hybrid`: the serving blend ([`hybrid_scores`]): sparse recency-weighted EASE + ALS +
//!   co-occurrence + popularity, each scaled to a maximum of 1 and weighted, times liveness.

use std::collections::HashMap;

use ndarray::{Array1, Array2};
use vitrine_pipelines::content::{ContentParams, content_embeddings};
use vitrine_recommender::cooc::{self, CoocParams};
use vitrine_recommender::ease::{self, EaseModel, EaseParams, SparseEase, SparseEaseParams};
use vitrine_recommender::ials::{self, IalsModel, IalsParams};
use vitrine_recommender::neighbours::ItemNeighbours;
use vitrine_recommender::popularity::{Popularity, PopularityParams};
use vitrine_recommender::serve::{HybridParts, HybridWeights, hybrid_scores};

use super::evaluate::{Recommender, TrainError, Trainer};
use super::split::TrainSet;

fn pairs(history: (&[u32], &[f32])) -> Vec<(u32, f32)> {
    history.0.iter().copied().zip(history.1.iter().copied()).collect()
}

/// Co-occurrence ("frequently bought together") as a user recommender.
#[derive(Debug, Clone)]
pub struct Cooc {
    /// Its name in reports.
    pub name: String,
    /// Its parameters.
    pub params: CoocParams,
}

struct CoocScorer(ItemNeighbours);

impl Recommender for CoocScorer {
    fn score_user(&self, _user: u32, history: (&[u32], &[f32]), scores: &mut [f32]) {
        self.0.score_items(&pairs(history), scores);
    }
}

impl Trainer for Cooc {
    fn name(&self) -> &str {
        &self.name
    }

    fn train(&self, train: &TrainSet) -> Result<Box<dyn Recommender>, TrainError> {
        Ok(Box::new(CoocScorer(cooc::fit(&train.baskets, &self.params))))
    }
}

/// Implicit ALS.
#[derive(Debug, Clone)]
pub struct Ials {
    /// Its name in reports.
    pub name: String,
    /// Its parameters.
    pub params: IalsParams,
}

struct IalsScorer(IalsModel);

impl Recommender for IalsScorer {
    fn score_user(&self, user: u32, _history: (&[u32], &[f32]), scores: &mut [f32]) {
        let factors = self.0.user_factors();
        self.0.score_items(factors.row(user as usize), scores);
    }
}

impl Trainer for Ials {
    fn name(&self) -> &str {
        &self.name
    }

    fn train(&self, train: &TrainSet) -> Result<Box<dyn Recommender>, TrainError> {
        Ok(Box::new(IalsScorer(ials::train(&train.interactions, &self.params, |_| {}))))
    }
}

/// EASE.
#[derive(Debug, Clone)]
pub struct Ease {
    /// Its name in reports.
    pub name: String,
    /// Its parameters.
    pub params: EaseParams,
}

/// The model, and whether histories count 1 per item (Steck's binary setting, as trained).
struct EaseScorer(EaseModel, bool);

impl Recommender for EaseScorer {
    fn score_user(&self, _user: u32, history: (&[u32], &[f32]), scores: &mut [f32]) {
        let mut profile = pairs(history);
        if self.1 {
            profile.iter_mut().for_each(|entry| entry.1 = 1.0);
        }
        self.0.score_items(&profile, scores);
    }
}

impl Trainer for Ease {
    fn name(&self) -> &str {
        &self.name
    }

    fn train(&self, train: &TrainSet) -> Result<Box<dyn Recommender>, TrainError> {
        Ok(Box::new(EaseScorer(EaseModel::fit(&train.interactions, &self.params), self.params.binarize)))
    }
}

/// EASE as the hybrid serves it, alone: recency-weighted (or binary with a half-life of 0),
/// cut to its strongest weights per item; exact up to `max_items` items, the sparse approximate
/// inverse above.
#[derive(Debug, Clone)]
pub struct SparseEaseModel {
    /// Its name in reports.
    pub name: String,
    /// Its parameters.
    pub params: SparseEaseParams,
}

struct SparseEaseScorer(SparseEase);

impl Recommender for SparseEaseScorer {
    fn score_user(&self, user: u32, _history: (&[u32], &[f32]), scores: &mut [f32]) {
        self.0.score_items(&pairs(self.0.recency.row(user as usize)), scores);
    }
}

impl Trainer for SparseEaseModel {
    fn name(&self) -> &str {
        &self.name
    }

    fn train(&self, train: &TrainSet) -> Result<Box<dyn Recommender>, TrainError> {
        Ok(Box::new(SparseEaseScorer(ease::fit_sparse(recencies(train, self.params.half_life_days), &self.params))))
    }
}

/// The users × items recencies of the train set at its cutoff ([`ease::recency_matrix`]).
fn recencies(train: &TrainSet, half_life_days: f64) -> vitrine_recommender::matrix::Interactions {
    let seen = train.interactions.iter().zip(&train.last_seen);
    ease::recency_matrix(
        train.n_users(),
        train.n_items(),
        seen.map(|((user, item, _), &time)| (user, item, time)),
        train.cutoff,
        half_life_days,
    )
}

/// Content vectors of the item texts.
#[derive(Debug, Clone)]
pub struct Content {
    /// Its name in reports.
    pub name: String,
    /// Its parameters.
    pub params: ContentParams,
    /// The text of each item id (items without one get the zero vector).
    pub texts: HashMap<String, String>,
}

struct ContentScorer(Array2<f32>);

impl Recommender for ContentScorer {
    fn score_user(&self, _user: u32, history: (&[u32], &[f32]), scores: &mut [f32]) {
        let mut profile = Array1::<f32>::zeros(self.0.ncols());
        for (&item, &weight) in history.0.iter().zip(history.1) {
            profile.scaled_add(weight, &self.0.row(item as usize));
        }
        for (score, row) in scores.iter_mut().zip(self.0.rows()) {
            *score = row.dot(&profile);
        }
    }
}

impl Trainer for Content {
    fn name(&self) -> &str {
        &self.name
    }

    fn train(&self, train: &TrainSet) -> Result<Box<dyn Recommender>, TrainError> {
        let texts: Vec<String> =
            train.item_ids.iter().map(|id| self.texts.get(id).cloned().unwrap_or_default()).collect();
        Ok(Box::new(ContentScorer(content_embeddings(&texts, &self.params)?)))
    }
}

/// The serving blend.
#[derive(Debug, Clone)]
pub struct Hybrid {
    /// Its name in reports.
    pub name: String,
    /// ALS part.
    pub ials: IalsParams,
    /// Co-occurrence part.
    pub cooc: CoocParams,
    /// EASE part.
    pub ease: SparseEaseParams,
    /// Popularity part.
    pub popularity: PopularityParams,
    /// The blend with EASE (used when EASE is fitted).
    pub weights: HybridWeights,
    /// The blend without EASE (read from parameter files; EASE is now fitted at every size).
    pub weights_without_ease: HybridWeights,
}

struct HybridScorer {
    ials: IalsModel,
    cooc: ItemNeighbours,
    ease: Option<SparseEase>,
    popularity: Popularity,
    liveness: Vec<f32>,
    weights: HybridWeights,
}

impl Recommender for HybridScorer {
    fn score_user(&self, user: u32, history: (&[u32], &[f32]), scores: &mut [f32]) {
        let factors = self.ials.user_factors();
        let profile: Option<Vec<(u32, f32)>> = self.ease.as_ref().map(|ease| pairs(ease.recency.row(user as usize)));
        let parts = HybridParts {
            ials: Some((&self.ials, factors.row(user as usize))),
            ease: self.ease.as_ref().zip(profile.as_deref()),
            cooc: &self.cooc,
            popularity: &self.popularity,
            liveness: &self.liveness,
        };
        hybrid_scores(&parts, &pairs(history), &self.weights, scores);
    }
}

impl Trainer for Hybrid {
    fn name(&self) -> &str {
        &self.name
    }

    fn train(&self, train: &TrainSet) -> Result<Box<dyn Recommender>, TrainError> {
        let ials = ials::train(&train.interactions, &self.ials, |_| {});
        let cooc = cooc::fit(&train.baskets, &self.cooc);
        let ease = Some(ease::fit_sparse(recencies(train, self.ease.half_life_days), &self.ease));
        let seen = train.interactions.iter().zip(&train.last_seen);
        let events: Vec<(u32, f32, i64)> = seen.map(|((_, item, weight), &time)| (item, weight, time)).collect();
        let popularity = Popularity::fit(train.n_items(), &events, train.cutoff, &self.popularity);
        let weights = if ease.is_some() { self.weights.clone() } else { self.weights_without_ease.clone() };
        let liveness = popularity.liveness(weights.liveness_half_life_days);
        Ok(Box::new(HybridScorer { ials, cooc, ease, popularity, liveness, weights }))
    }
}
