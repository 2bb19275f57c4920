//! Recommendation quality, offline: a global temporal split, full-catalogue ranking and the
//! popularity baseline, against any model plugged in through [`Trainer`] and [`Recommender`].
//!
//! The protocol (written out with its rationale in `docs/evaluation.md`):
//!
//! 1. **load** an interaction log: [`load_interactions_csv`] (a generic CSV) or
//!    [`load_online_retail_ii`] (customers' purchases, cancellations, returns and non-products
//!    dropped; baskets = invoices), both to an [`InteractionLog`];
//! 2. **split** it globally in time ([`split`]): one cutoff for everybody ([`Cutoff`]; by default
//!    the timestamp at index `floor(0.8 n)` of the sorted timestamps), train = strictly before,
//!    test = at or after. Train users and items get dense ids; a pair's weight is its number of
//!    distinct train baskets ([`TrainSet`]);
//! 3. **test users** are train users with at least one item in test they did not have in train;
//!    those new items are their relevant set ([`TestUser`]), items never seen in train included;
//! 4. **rank** every train item for every test user, the user's train items excluded, never a
//!    sample of negatives ([`rank_test_users`], [`top_k`]);
//! 5. **score** at every K ([`score_rankings`]): NDCG, Recall, MAP and HitRate per user (NDCG and
//!    Recall are the search module's own functions, with binary gains), coverage, the Gini index of
//!    exposure and the mean popularity rank over all lists; [`evaluate`] adds training time and
//!    gathers it all in a [`RecsReport`].
//!
//! A model is two small pieces: a [`Trainer`] (name + `train(&TrainSet)`, timed) and the
//! [`Recommender`] it returns (`score_user` fills one score per item). [`Popularity`] is the
//! reference adapter; [`trainer`] turns a closure into a trainer. The product's models are
//! adapted in `models.rs`; [`ParamGrid`] makes one trainer per model and combination of
//! hyper-parameters ([`RecsParams`]).

mod data;
mod error;
mod evaluate;
mod metrics;
mod models;
mod params;
mod popularity;
mod split;

pub use data::{
    InteractionLog, ONLINE_RETAIL_II_PATH, load_interactions_csv, load_online_retail_ii, log_columns,
    online_retail_ii_titles, replicated_block, replicated_ids,
};
pub use error::RecsError;
pub use evaluate::{
    CURVE_KS, DEFAULT_KS, FnTrainer, ModelReport, Recommender, RecsReport, TrainError, Trainer, evaluate,
    rank_test_users, score_rankings, top_k, trainer,
};
pub use metrics::{
    RELEVANT, average_precision_at, binary_judgments, coverage, exposure, gini, hit_at, mean_popularity_rank,
    popularity_deciles, popularity_ranks,
};
pub use models::{Content, Cooc, Ease, Hybrid, Ials, SparseEaseModel};
pub use params::{ParamGrid, RecsParams, model_sections};
pub use popularity::{Popularity, PopularityModel};
pub use split::{
    Cutoff, DEFAULT_TRAIN_FRACTION, Split, SplitStats, TestUser, TrainSet, iso_utc, quantile_index, split,
};
