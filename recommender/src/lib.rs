//! Recommendation models and their serving: the interaction matrix, implicit ALS (conjugate
//! gradient, ndarray + rayon) with fold-in, EASE (dense, or sparse approximate at any catalogue
//! size: [`sansa`]), item co-occurrence ("frequently bought together"),
//! time-decayed popularity and trending, and an HNSW index (hnsw_rs) over item embeddings with
//! filters applied during the search; the registry of loaded model versions per index
//! ([`registry::Recommenders`], swapped without downtime) and personalised re-ranking of search
//! hits ([`serve::Recommender::personalise`]).

pub mod ann;
pub mod bundle;
pub mod cooc;
pub mod diversify;
pub mod ease;
pub mod ials;
pub mod matrix;
pub mod neighbours;
mod personalise;
pub mod popularity;
pub mod registry;
pub mod sansa;
pub mod serve;
