//! The popularity baseline: every user gets the items with the most train interactions.

use super::evaluate::{Recommender, TrainError, Trainer};
use super::split::TrainSet;

/// Trains [`PopularityModel`]: an item's score is its number of train interactions (distinct
/// users × item pairs, [`Interactions::column_counts`](vitrine_recommender::matrix::Interactions::column_counts)),
/// ties broken by increasing item id by the ranking itself.
#[derive(Debug, Clone, Copy, Default)]
pub struct Popularity;

impl Trainer for Popularity {
    fn name(&self) -> &str {
        "popularity"
    }

    fn train(&self, train: &TrainSet) -> Result<Box<dyn Recommender>, TrainError> {
        let counts = train.interactions.column_counts().into_iter().map(|count| count as f32).collect();
        Ok(Box::new(PopularityModel { counts }))
    }
}

/// The same scores for every user: the train interaction count of each item.
#[derive(Debug, Clone, PartialEq)]
pub struct PopularityModel {
    counts: Vec<f32>,
}

impl Recommender for PopularityModel {
    fn score_user(&self, _user: u32, _history: (&[u32], &[f32]), scores: &mut [f32]) {
        for (score, &count) in scores.iter_mut().zip(&self.counts) {
            *score = count;
        }
    }
}
