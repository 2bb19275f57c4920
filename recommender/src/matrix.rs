//! The interaction matrix every collaborative-filtering model trains on.
//!
//! [`Interactions`] is a compressed sparse row (CSR) matrix of `f32` weights: one row per user (or
//! basket, or session), one column per item. Row `r` owns the slice `indptr[r]..indptr[r + 1]` of
//! `indices` (item ids, strictly increasing) and `values` (their weights). CSR gives the two access
//! patterns the models need for free: a user's items in one contiguous slice (ALS user half-step,
//! fold-in, co-occurrence) and, after [`Interactions::transpose`], an item's users (ALS item
//! half-step).
//!
//! Invariants (checked when a matrix is deserialised, kept by every constructor):
//! - `indptr.len() == n_rows + 1`, `indptr[0] == 0`, `indptr` is non-decreasing and ends at `nnz`;
//! - `indices.len() == values.len() == nnz`, every index is `< n_cols`;
//! - within a row, column indices are strictly increasing (no duplicates).

use serde::{Deserialize, Serialize};

/// A sparse `n_rows × n_cols` matrix of `f32` weights in CSR layout (rows = users or baskets,
/// columns = items). See the module documentation for the invariants.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawInteractions")]
pub struct Interactions {
    n_rows: usize,
    n_cols: usize,
    indptr: Vec<usize>,
    indices: Vec<u32>,
    values: Vec<f32>,
}

impl Interactions {
    /// Builds the matrix from `(row, column, weight)` triplets, in any order.
    ///
    /// Duplicate `(row, column)` pairs are summed; column indices come out sorted within each row.
    /// Explicit zero weights are kept as stored entries (a zero-weight interaction is still an
    /// observed pair for binary models).
    ///
    /// Precondition: every `row < n_rows` and `column < n_cols`. It is checked with `debug_assert!`;
    /// in release builds out-of-range triplets are skipped rather than causing a panic.
    pub fn from_triplets(n_rows: usize, n_cols: usize, triplets: &[(u32, u32, f32)]) -> Interactions {
        debug_assert!(
            triplets.iter().all(|&(row, col, _)| (row as usize) < n_rows && (col as usize) < n_cols),
            "from_triplets: a triplet lies outside the {n_rows} × {n_cols} matrix"
        );
        let in_range = |&&(row, col, _): &&(u32, u32, f32)| (row as usize) < n_rows && (col as usize) < n_cols;

        // Counting sort by row: count, prefix-sum, scatter.
        let mut row_starts = vec![0usize; n_rows + 1];
        for &(row, _, _) in triplets.iter().filter(in_range) {
            row_starts[row as usize + 1] += 1;
        }
        for r in 0..n_rows {
            row_starts[r + 1] += row_starts[r];
        }
        let total = row_starts[n_rows];
        let mut cursor = row_starts.clone();
        let mut scattered: Vec<(u32, f32)> = vec![(0, 0.0); total];
        for &(row, col, weight) in triplets.iter().filter(in_range) {
            let slot = &mut cursor[row as usize];
            scattered[*slot] = (col, weight);
            *slot += 1;
        }

        // Sort each row by column and merge duplicates.
        let mut indptr = Vec::with_capacity(n_rows + 1);
        let mut indices = Vec::with_capacity(total);
        let mut values = Vec::with_capacity(total);
        indptr.push(0);
        for r in 0..n_rows {
            let row = &mut scattered[row_starts[r]..row_starts[r + 1]];
            row.sort_unstable_by_key(|&(col, _)| col);
            let row_begin = indices.len();
            for &(col, weight) in row.iter() {
                if indices.len() > row_begin && indices.last() == Some(&col) {
                    if let Some(last) = values.last_mut() {
                        *last += weight;
                    }
                } else {
                    indices.push(col);
                    values.push(weight);
                }
            }
            indptr.push(indices.len());
        }
        Interactions { n_rows, n_cols, indptr, indices, values }
    }

    /// Number of rows (users or baskets).
    pub fn n_rows(&self) -> usize {
        self.n_rows
    }

    /// Number of columns (items).
    pub fn n_cols(&self) -> usize {
        self.n_cols
    }

    /// Number of stored entries.
    pub fn nnz(&self) -> usize {
        self.indices.len()
    }

    /// The column indices (strictly increasing) and weights of row `r`.
    ///
    /// # Panics
    /// If `r >= n_rows()`.
    pub fn row(&self, r: usize) -> (&[u32], &[f32]) {
        let range = self.indptr[r]..self.indptr[r + 1];
        (&self.indices[range.clone()], &self.values[range])
    }

    /// Number of stored entries in row `r`.
    ///
    /// # Panics
    /// If `r >= n_rows()`.
    pub fn row_count(&self, r: usize) -> usize {
        self.indptr[r + 1] - self.indptr[r]
    }

    /// The row-pointer array: row `r` occupies `indptr()[r]..indptr()[r + 1]`.
    pub fn indptr(&self) -> &[usize] {
        &self.indptr
    }

    /// Iterates over `(row, column, weight)` of every stored entry, row by row.
    pub fn iter(&self) -> impl Iterator<Item = (u32, u32, f32)> + '_ {
        (0..self.n_rows).flat_map(move |r| {
            let (cols, vals) = self.row(r);
            cols.iter().zip(vals).map(move |(&c, &v)| (r as u32, c, v))
        })
    }

    /// The transposed matrix (`n_cols × n_rows`), in CSR layout, so its rows are this matrix's
    /// columns. Rows come out sorted because this matrix is scanned in row order.
    pub fn transpose(&self) -> Interactions {
        let mut indptr = vec![0usize; self.n_cols + 1];
        for &col in &self.indices {
            indptr[col as usize + 1] += 1;
        }
        for c in 0..self.n_cols {
            indptr[c + 1] += indptr[c];
        }
        let mut cursor = indptr.clone();
        let mut indices = vec![0u32; self.nnz()];
        let mut values = vec![0f32; self.nnz()];
        for r in 0..self.n_rows {
            let (cols, vals) = self.row(r);
            for (&col, &val) in cols.iter().zip(vals) {
                let slot = &mut cursor[col as usize];
                indices[*slot] = r as u32;
                values[*slot] = val;
                *slot += 1;
            }
        }
        Interactions { n_rows: self.n_cols, n_cols: self.n_rows, indptr, indices, values }
    }

    /// A matrix with the same sparsity pattern and `f` applied to every stored weight (e.g.
    /// `|_| 1.0` to binarise, `f32::ln_1p` to damp repeat purchases).
    pub fn map_values(&self, f: impl Fn(f32) -> f32) -> Interactions {
        Interactions { values: self.values.iter().map(|&v| f(v)).collect(), ..self.clone() }
    }

    /// Sum of the weights of each column (item popularity for a weighted matrix, number of
    /// rows containing the item for a binary one).
    pub fn column_sums(&self) -> Vec<f32> {
        let mut sums = vec![0f32; self.n_cols];
        for (&col, &val) in self.indices.iter().zip(&self.values) {
            sums[col as usize] += val;
        }
        sums
    }

    /// Number of stored entries in each column.
    pub fn column_counts(&self) -> Vec<u32> {
        let mut counts = vec![0u32; self.n_cols];
        for &col in &self.indices {
            counts[col as usize] += 1;
        }
        counts
    }
}

/// The serialised form, validated before it becomes an [`Interactions`].
#[derive(Deserialize)]
struct RawInteractions {
    n_rows: usize,
    n_cols: usize,
    indptr: Vec<usize>,
    indices: Vec<u32>,
    values: Vec<f32>,
}

impl TryFrom<RawInteractions> for Interactions {
    type Error = String;

    fn try_from(raw: RawInteractions) -> Result<Self, Self::Error> {
        let RawInteractions { n_rows, n_cols, indptr, indices, values } = raw;
        if indptr.len() != n_rows + 1 || indptr.first() != Some(&0) {
            return Err(format!("indptr must have n_rows + 1 = {} entries starting at 0", n_rows + 1));
        }
        if indices.len() != values.len() || indptr.last() != Some(&indices.len()) {
            return Err("indptr, indices and values disagree on the number of entries".to_owned());
        }
        for r in 0..n_rows {
            if indptr[r] > indptr[r + 1] {
                return Err(format!("indptr decreases at row {r}"));
            }
            let cols = &indices[indptr[r]..indptr[r + 1]];
            if cols.windows(2).any(|pair| pair[0] >= pair[1]) {
                return Err(format!("column indices of row {r} are not strictly increasing"));
            }
            if cols.last().is_some_and(|&c| c as usize >= n_cols) {
                return Err(format!("row {r} has a column index >= n_cols = {n_cols}"));
            }
        }
        Ok(Interactions { n_rows, n_cols, indptr, indices, values })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Interactions {
        Interactions::from_triplets(
            3,
            4,
            &[(2, 1, 1.0), (0, 3, 2.0), (0, 1, 1.0), (2, 1, 0.5), (1, 0, 4.0), (0, 3, 1.0)],
        )
    }

    #[test]
    fn duplicates_are_summed_and_rows_sorted() {
        let m = sample();
        assert_eq!(m.nnz(), 4);
        assert_eq!(m.row(0), (&[1u32, 3][..], &[1.0f32, 3.0][..]));
        assert_eq!(m.row(1), (&[0u32][..], &[4.0f32][..]));
        assert_eq!(m.row(2), (&[1u32][..], &[1.5f32][..]));
        assert_eq!(m.row_count(0), 2);
        assert_eq!(m.indptr(), &[0, 2, 3, 4]);
    }

    #[test]
    fn transpose_moves_entries_and_twice_is_identity() {
        let m = sample();
        let t = m.transpose();
        assert_eq!((t.n_rows(), t.n_cols()), (4, 3));
        assert_eq!(t.row(1), (&[0u32, 2][..], &[1.0f32, 1.5][..]));
        assert_eq!(t.row(2), (&[][..], &[][..]));
        assert_eq!(t.transpose(), m);
    }

    #[test]
    fn column_statistics_and_map_values() {
        let m = sample();
        assert_eq!(m.column_sums(), vec![4.0, 2.5, 0.0, 3.0]);
        assert_eq!(m.column_counts(), vec![1, 2, 0, 1]);
        let binary = m.map_values(|_| 1.0);
        assert_eq!(binary.column_sums(), vec![1.0, 2.0, 0.0, 1.0]);
        assert_eq!(binary.indptr(), m.indptr());
        let entries: Vec<_> = m.iter().collect();
        assert_eq!(entries, vec![(0, 1, 1.0), (0, 3, 3.0), (1, 0, 4.0), (2, 1, 1.5)]);
    }

    #[test]
    fn empty_matrix() {
        let m = Interactions::from_triplets(2, 0, &[]);
        assert_eq!(m.nnz(), 0);
        assert_eq!(m.row_count(1), 0);
        assert_eq!(m.transpose().n_rows(), 0);
    }

    #[test]
    fn serde_round_trip_and_validation() {
        let m = sample();
        let json = serde_json::to_string(&m).expect("serialises");
        let back: Interactions = serde_json::from_str(&json).expect("deserialises");
        assert_eq!(back, m);
        let corrupt = r#"{"n_rows":1,"n_cols":2,"indptr":[0,2],"indices":[1,0],"values":[1.0,1.0]}"#;
        assert!(serde_json::from_str::<Interactions>(corrupt).is_err());
        let out_of_range = r#"{"n_rows":1,"n_cols":2,"indptr":[0,1],"indices":[2],"values":[1.0]}"#;
        assert!(serde_json::from_str::<Interactions>(out_of_range).is_err());
    }
}
