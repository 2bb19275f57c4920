//! Offline evaluation: search relevance from human judgments (NDCG, recall, MRR, zero-result
//! rate, with injected typos) and recommendation quality under a global temporal split with
//! full-catalogue ranking and baselines, with plotted reports. `vitrine eval` drives it.
//!
//! Not built yet: it arrives with the evaluation issue.
