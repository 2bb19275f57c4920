//! Serves recommendations ("you may also like", "frequently bought together", personalised
//! feeds) from the model artefacts `vitrine-pipelines` trains, through an HNSW index (hnsw_rs),
//! with masking for deleted or out-of-stock products.
//!
//! Not built yet: it arrives with the recommendations issue.
