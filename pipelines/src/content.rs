//! Content embeddings: a dense, L2-normalised vector per product computed from its text, so that
//! products without interactions (new, rarely bought) still have a place in the similarity index.
//!
//! # Design
//!
//! 1. **TF-IDF** (linfa-preprocessing's [`TfIdfVectorizer`]): lower-cased, NFKD-normalised words of
//!    two or more characters, smoothed idf. The vocabulary keeps the terms found in at least
//!    [`ContentParams::min_df`] products and at most [`ContentParams::max_df`] of them, capped at the
//!    [`ContentParams::max_vocabulary`] most frequent. The output is a sparse CSR matrix.
//! 2. **Gaussian random projection** (linfa-reduction's [`GaussianRandomProjection`]) down to
//!    [`ContentParams::dims`] dimensions. A random projection preserves inner products in
//!    expectation (Johnson–Lindenstrauss), needs no fitting on the data and works for any catalog
//!    size. The sparse variant was rejected: with `p = 1/√vocabulary` non-zeros, most terms of a
//!    short product text would map to the zero vector. PCA / SVD would need the dense, centred
//!    TF-IDF matrix.
//! 3. Rows are L2-normalised, so the dot product of two embeddings is their cosine.
//!
//! linfa's projection only transforms **dense** arrays (`x.dot(&projection)` on an `ArrayBase`) and
//! keeps its matrix private. Rather than densifying the `products × vocabulary` TF-IDF matrix, the
//! projection matrix is recovered by projecting the identity (`P = I · P`) in blocks of rows —
//! cost `vocabulary² × dims`, independent of the catalog size, one 16 MiB block at a time — and
//! each product's embedding is the sum of its terms' rows weighted by TF-IDF (`non-zeros × dims`).
//! With the default vocabulary cap (8,192) that is about 4·10⁹ multiply-adds.
//!
//! # Determinism
//!
//! linfa orders the vocabulary as a `HashMap` iterates, which changes from run to run, and seeds
//! its projection with a fixed seed (42): it only accepts another generator from rand 0.8, which
//! this crate does not depend on. So each term is given its projection row here: terms are sorted
//! by a hash of `(seed, term)` and term number `r` in that order takes row `r`, and each
//! product's terms are summed in that order too. The embeddings are thus a function of the texts
//! and the seed only, bit for bit; another seed deals the rows out to other terms.
//!
//! A text with no vocabulary term (empty, or only rare or ubiquitous words) gets the zero vector.

use linfa::DatasetBase;
use linfa::traits::{Fit, Transformer};
use linfa_preprocessing::tf_idf_vectorization::TfIdfVectorizer;
use linfa_reduction::random_projection::GaussianRandomProjection;
use ndarray::{Array2, ArrayView1, Axis};
use rayon::prelude::{IndexedParallelIterator, IntoParallelIterator, ParallelIterator};
use serde::{Deserialize, Serialize};

use crate::PipelineError;

/// Parameters of [`content_embeddings`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ContentParams {
    /// Dimension of the embeddings (64 by default). Must be at least 1.
    pub dims: usize,
    /// Minimum number of products a term must appear in (2 by default: a term of a single product
    /// makes it similar to nothing, and only adds noise to the projection).
    pub min_df: usize,
    /// Maximum share of products a term may appear in, in `(0, 1]` (0.5 by default): terms in
    /// most products ("the", the shop's name) tell nothing apart.
    pub max_df: f32,
    /// Largest vocabulary kept, the most frequent terms first (8,192 by default). The projection
    /// costs `max_vocabulary² × dims` multiply-adds. Must be at least 1.
    pub max_vocabulary: usize,
    /// Seed of the random projection.
    pub seed: u64,
}

impl Default for ContentParams {
    fn default() -> Self {
        Self { dims: 64, min_df: 2, max_df: 0.5, max_vocabulary: 8_192, seed: 42 }
    }
}

/// Rows of the identity projected at once when recovering the projection matrix.
const IDENTITY_BLOCK: usize = 512;

/// One L2-normalised embedding row per text (`texts.len() × params.dims`). The caller joins each
/// product's title, description, brand and category into its text. A text without any vocabulary
/// term gets a zero row; no value is ever NaN.
///
/// # Errors
///
/// [`PipelineError::InvalidValue`] (column `content_params.<field>`, row 0) if `dims` or
/// `max_vocabulary` is 0 or `max_df` is outside `(0, 1]`, and (column `content`) if linfa
/// rejects its inputs, which these checks should prevent.
pub fn content_embeddings(texts: &[String], params: &ContentParams) -> Result<Array2<f32>, PipelineError> {
    validate(params)?;
    let n_texts = texts.len();
    if n_texts == 0 {
        return Ok(Array2::zeros((0, params.dims)));
    }

    // linfa keeps a term when `floor(min × n) ≤ df ≤ floor(max × n)`, with relative bounds.
    let max_df_count = (params.max_df * n_texts as f32) as usize;
    if params.min_df > max_df_count {
        // No term can be in at least `min_df` and at most `max_df_count` texts (tiny catalogs).
        return Ok(Array2::zeros((n_texts, params.dims)));
    }
    let vectorizer = TfIdfVectorizer::default()
        .document_frequency(min_relative_df(params.min_df, n_texts).min(params.max_df), params.max_df)
        .max_features(Some(params.max_vocabulary));
    let texts = ArrayView1::from(texts);
    let fitted = vectorizer.fit(&texts).map_err(linfa_error)?;
    let vocabulary = fitted.vocabulary();
    if vocabulary.is_empty() {
        return Ok(Array2::zeros((n_texts, params.dims)));
    }
    let tf_idf = fitted.transform(&texts).map_err(linfa_error)?;

    // Each document's terms as (projection row, weight), sorted by projection row: the sums below
    // then run in the same order whatever order linfa gave the vocabulary, so the floats are
    // reproducible to the last bit.
    let (projection, row_of_term) = projection_rows(vocabulary, params)?;
    let documents: Vec<Vec<(usize, f32)>> = tf_idf
        .outer_iterator()
        .map(|document| {
            let mut terms: Vec<(usize, f32)> =
                document.iter().map(|(term, &weight)| (row_of_term[term], weight as f32)).collect();
            terms.sort_unstable_by_key(|&(row, _)| row);
            terms
        })
        .collect();

    let mut embeddings = Array2::<f32>::zeros((n_texts, params.dims));
    embeddings.axis_iter_mut(Axis(0)).into_par_iter().zip(&documents).for_each(|(mut embedding, terms)| {
        for &(row, weight) in terms {
            embedding.scaled_add(weight, &projection.row(row));
        }
        let norm = embedding.iter().map(|&v| f64::from(v) * f64::from(v)).sum::<f64>().sqrt();
        if norm > 0.0 {
            embedding.mapv_inplace(|v| (f64::from(v) / norm) as f32);
        }
    });
    Ok(embeddings)
}

/// The projection matrix (`vocabulary.len() × dims`, in seeded-hash order) and, for each
/// vocabulary term (in linfa's order), the row of the matrix it projects to.
fn projection_rows(vocabulary: &[String], params: &ContentParams) -> Result<(Array2<f32>, Vec<usize>), PipelineError> {
    let n_terms = vocabulary.len();
    // linfa refuses to project to more dimensions than there are features: a small vocabulary is
    // padded with features no term uses.
    let n_features = n_terms.max(params.dims);
    // Fitting only reads the number of features (and draws the matrix): no data is needed.
    let shape_only = DatasetBase::from(Array2::<f32>::zeros((0, n_features)));
    let projection =
        GaussianRandomProjection::<f32>::params().target_dim(params.dims).fit(&shape_only).map_err(linfa_error)?;

    // Projection row of every term: its rank in the seeded hash order.
    let mut by_hash: Vec<usize> = (0..n_terms).collect();
    by_hash.sort_by_cached_key(|&term| (seeded_hash(params.seed, &vocabulary[term]), vocabulary[term].as_str()));
    let mut row_of_term = vec![0; n_terms];
    for (row, &term) in by_hash.iter().enumerate() {
        row_of_term[term] = row;
    }

    // P = I · P, block by block: only the first `n_terms` rows of P are used.
    let blocks: Vec<Array2<f32>> = (0..n_terms.div_ceil(IDENTITY_BLOCK))
        .into_par_iter()
        .map(|block| {
            let first = block * IDENTITY_BLOCK;
            let rows = IDENTITY_BLOCK.min(n_terms - first);
            let mut identity = Array2::<f32>::zeros((rows, n_features));
            for i in 0..rows {
                identity[[i, first + i]] = 1.0;
            }
            projection.transform(&identity)
        })
        .collect();
    let views: Vec<_> = blocks.iter().map(Array2::view).collect();
    let matrix = ndarray::concatenate(Axis(0), &views).map_err(|error| content_error(error.to_string()))?;
    Ok((matrix, row_of_term))
}

/// The relative lower bound linfa needs for "at least `min_df` documents". linfa keeps a term when
/// `df ≥ floor(min_relative × n)`; the half document guards the floor against float rounding. When
/// the result exceeds `max_df` the caller clamps it to `max_df`: then `floor(max_df × n) = min_df`
/// (it was checked to be at least `min_df` and is below `min_df + 0.5`), so the bound is unchanged.
fn min_relative_df(min_df: usize, n_texts: usize) -> f32 {
    if min_df == 0 { 0.0 } else { (min_df as f32 + 0.5) / n_texts as f32 }
}

/// FNV-1a over the term's bytes, started from the seed and finished with the splitmix64 mixer:
/// stable across runs, platforms and Rust versions (unlike `std`'s hashers).
fn seeded_hash(seed: u64, term: &str) -> u64 {
    let mut hash = 0xcbf2_9ce4_8422_2325 ^ seed.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    for &byte in term.as_bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash ^= hash >> 30;
    hash = hash.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    hash ^= hash >> 27;
    hash = hash.wrapping_mul(0x94d0_49bb_1331_11eb);
    hash ^ (hash >> 31)
}

fn validate(params: &ContentParams) -> Result<(), PipelineError> {
    let invalid = |field: &str, message: &str| PipelineError::InvalidValue {
        column: format!("content_params.{field}"),
        row: 0,
        message: message.to_owned(),
    };
    if params.dims == 0 {
        return Err(invalid("dims", "the embedding dimension must be at least 1"));
    }
    if params.max_vocabulary == 0 {
        return Err(invalid("max_vocabulary", "the vocabulary cap must be at least 1"));
    }
    if !(params.max_df > 0.0 && params.max_df <= 1.0) {
        return Err(invalid("max_df", "the maximum document share must be in (0, 1]"));
    }
    Ok(())
}

fn linfa_error(error: impl std::fmt::Display) -> PipelineError {
    content_error(format!("linfa: {error}"))
}

fn content_error(message: String) -> PipelineError {
    PipelineError::InvalidValue { column: "content".to_owned(), row: 0, message }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn min_df_maps_to_the_same_absolute_threshold() {
        for n_texts in [2, 3, 7, 10, 1_000, 49_999, 50_000, 1_000_000] {
            for min_df in [1, 2, 3, 5] {
                let relative = min_relative_df(min_df, n_texts);
                assert_eq!((relative * n_texts as f32) as usize, min_df, "n = {n_texts}, min_df = {min_df}");
            }
        }
        assert_eq!(min_relative_df(0, 10), 0.0);
    }

    #[test]
    fn seeded_hash_depends_on_seed_and_term() {
        assert_eq!(seeded_hash(1, "shirt"), seeded_hash(1, "shirt"));
        assert_ne!(seeded_hash(1, "shirt"), seeded_hash(2, "shirt"));
        assert_ne!(seeded_hash(1, "shirt"), seeded_hash(1, "shirts"));
    }

    #[test]
    fn projection_rows_follow_terms_not_vocabulary_order() {
        let params = ContentParams { dims: 4, ..ContentParams::default() };
        let forward: Vec<String> = ["cotton", "shirt", "steel", "knife", "mug"].map(String::from).to_vec();
        let mut backward = forward.clone();
        backward.reverse();
        let (a, a_rows) = projection_rows(&forward, &params).expect("valid params");
        let (b, b_rows) = projection_rows(&backward, &params).expect("valid params");
        for (i, term) in forward.iter().enumerate() {
            let j = backward.iter().position(|t| t == term).expect("same terms");
            assert_eq!(a.row(a_rows[i]), b.row(b_rows[j]), "term {term}");
        }
        // Two seeds give two projections.
        let (c, c_rows) = projection_rows(&forward, &ContentParams { seed: 1, ..params }).expect("valid params");
        assert!((0..5).any(|i| a.row(a_rows[i]) != c.row(c_rows[i])));
        assert_eq!(a.dim(), (5, 4));
    }

    #[test]
    fn invalid_params_are_rejected() {
        let texts = vec!["red shirt".to_owned()];
        for params in [
            ContentParams { dims: 0, ..ContentParams::default() },
            ContentParams { max_vocabulary: 0, ..ContentParams::default() },
            ContentParams { max_df: 0.0, ..ContentParams::default() },
            ContentParams { max_df: 1.5, ..ContentParams::default() },
        ] {
            assert!(
                matches!(content_embeddings(&texts, &params), Err(PipelineError::InvalidValue { .. })),
                "{params:?}"
            );
        }
    }
}
