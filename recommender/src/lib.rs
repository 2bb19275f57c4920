//! Recommendation models and their serving: the interaction matrix, implicit ALS (conjugate
//! gradient, ndarray + rayon) with fold-in, item co-occurrence ("frequently bought together"),
//! time-decayed popularity and trending, and an HNSW index (hnsw_rs) over item embeddings with
//! filters applied during the search.

pub mod ann;
pub mod bundle;
pub mod cooc;
pub mod diversify;
pub mod ease;
pub mod ials;
pub mod matrix;
pub mod neighbours;
pub mod popularity;
pub mod serve;
