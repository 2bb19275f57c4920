//! Running judged queries against a search backend and averaging the metrics.

use std::fmt;

use indicatif::ProgressBar;
use rand::SeedableRng;
use rand::rngs::Xoshiro256PlusPlus;
use rayon::prelude::*;
use serde::Serialize;

use super::dataset::JudgedQuery;
use super::metrics::{DEFAULT_CUTOFF, DEFAULT_RELEVANCE_THRESHOLD, is_zero_result, mrr_at, ndcg_at, recall_at};
use super::typo::{MIN_TYPO_WORD_LETTERS, inject_typo};
use crate::EvalError;

/// A search engine under evaluation.
///
/// Implementations index the catalogue beforehand (for Home Depot: every
/// [`HomeDepot::products`](super::HomeDepot::products) title); [`evaluate`] only sends queries.
/// It calls `search` from several threads at once, hence `Sync`.
pub trait SearchBackend: Sync {
    /// At most `k` product ids for `query`, best first. An empty list is a valid answer (a
    /// zero-result query); an error stops the evaluation.
    fn search(&self, query: &str, k: usize) -> Result<Vec<String>, Box<dyn std::error::Error + Send + Sync>>;
}

/// Which text of each judged query is sent to the backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum QueryVariant {
    /// The query exactly as the user typed it.
    AsTyped,
    /// The query with one injected typo ([`inject_typo`]). The typo of a query depends only on
    /// `seed` and the query's id and text — not on the order of the queries, the other queries or
    /// the number of threads — so two runs with the same seed send the same texts.
    OneTypo {
        /// The seed of the typo generator.
        seed: u64,
    },
}

impl QueryVariant {
    /// A short label: `as typed` or `one typo`.
    pub fn label(self) -> &'static str {
        match self {
            QueryVariant::AsTyped => "as typed",
            QueryVariant::OneTypo { .. } => "one typo",
        }
    }
}

impl fmt::Display for QueryVariant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QueryVariant::AsTyped => f.write_str("queries as typed"),
            QueryVariant::OneTypo { seed } => write!(f, "one typo per query (seed {seed})"),
        }
    }
}

/// The outcome of one judged query.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueryResult {
    /// The query's id in the dataset.
    pub id: String,
    /// The query as the user typed it.
    pub query: String,
    /// The text sent instead, for [`QueryVariant::OneTypo`]; equal to `query` when the query has
    /// no word long enough to misspell.
    pub typo_query: Option<String>,
    /// NDCG@k ([`ndcg_at`]); `None` when no judged product has a gain.
    pub ndcg: Option<f64>,
    /// Reciprocal rank @k ([`mrr_at`]); `None` when no judged product is relevant.
    pub mrr: Option<f64>,
    /// Recall@k ([`recall_at`]); `None` when no judged product is relevant.
    pub recall: Option<f64>,
    /// The backend returned nothing ([`is_zero_result`]).
    pub zero_result: bool,
}

impl QueryResult {
    /// The text that was sent to the backend.
    pub fn sent_query(&self) -> &str {
        self.typo_query.as_deref().unwrap_or(&self.query)
    }
}

/// The mean of a per-query metric over the queries where it is defined.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct MetricMean {
    /// The mean; `None` when the metric is defined for no query.
    pub mean: Option<f64>,
    /// How many queries the mean is over.
    pub queries: usize,
}

impl MetricMean {
    fn of(values: impl Iterator<Item = Option<f64>>) -> MetricMean {
        let (sum, queries) = values.flatten().fold((0.0, 0), |(sum, count), value| (sum + value, count + 1));
        MetricMean { mean: (queries > 0).then(|| sum / queries as f64), queries }
    }
}

/// The relevance of one backend on a set of judged queries: the means and every query's scores.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RelevanceReport {
    /// Which query texts were sent.
    pub variant: QueryVariant,
    /// The rank cut-off `k` of every metric.
    pub cutoff: usize,
    /// The relevance from which a product counts as relevant for MRR and recall.
    pub relevance_threshold: f64,
    /// Mean NDCG@k over the queries with at least one judged product of relevance above 1.
    pub ndcg: MetricMean,
    /// MRR@k over the queries with at least one relevant product.
    pub mrr: MetricMean,
    /// Mean Recall@k over the queries with at least one relevant product.
    pub recall: MetricMean,
    /// The zero-result rate, over all queries.
    pub zero_results: MetricMean,
    /// For [`QueryVariant::OneTypo`]: how many queries had no word long enough to misspell and
    /// were sent as typed (they still count in every mean). 0 for [`QueryVariant::AsTyped`].
    pub typo_unchanged: usize,
    /// Every query's outcome, in the order the queries were given.
    pub per_query: Vec<QueryResult>,
}

impl RelevanceReport {
    /// The `n` queries with the lowest NDCG, worst first; ties keep the input order. Queries
    /// without an NDCG (nothing to rank well) are not listed.
    pub fn worst(&self, n: usize) -> Vec<&QueryResult> {
        let mut scored: Vec<(f64, &QueryResult)> =
            self.per_query.iter().filter_map(|result| result.ndcg.map(|ndcg| (ndcg, result))).collect();
        scored.sort_by(|a, b| a.0.total_cmp(&b.0));
        scored.into_iter().take(n).map(|(_, result)| result).collect()
    }
}

impl fmt::Display for RelevanceReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let k = self.cutoff;
        writeln!(
            f,
            "search relevance, {}: {} queries, relevant = relevance >= {}",
            self.variant,
            self.per_query.len(),
            self.relevance_threshold
        )?;
        writeln!(f, "{:<14}{:>8}{:>10}", "metric", "mean", "queries")?;
        for (name, metric) in [
            (format!("NDCG@{k}"), self.ndcg),
            (format!("MRR@{k}"), self.mrr),
            (format!("Recall@{k}"), self.recall),
            ("zero results".to_string(), self.zero_results),
        ] {
            let mean = metric.mean.map_or_else(|| "-".to_string(), |mean| format!("{mean:.4}"));
            writeln!(f, "{name:<14}{mean:>8}{:>10}", metric.queries)?;
        }
        if let QueryVariant::OneTypo { .. } = self.variant {
            writeln!(
                f,
                "{} queries have no word of {MIN_TYPO_WORD_LETTERS}+ letters and were sent as typed",
                self.typo_unchanged
            )?;
        }
        Ok(())
    }
}

/// Sends every query of `queries` to `backend` (in parallel, on rayon's global pool) and scores the
/// top [`DEFAULT_CUTOFF`] results with [`ndcg_at`], [`mrr_at`] and [`recall_at`] (relevant =
/// relevance ≥ [`DEFAULT_RELEVANCE_THRESHOLD`]) and [`is_zero_result`].
///
/// `progress`, if given, is advanced by one per query; the caller sets its length.
///
/// Fails with [`EvalError::Backend`] if the backend fails on any query.
pub fn evaluate(
    backend: &dyn SearchBackend,
    queries: &[JudgedQuery],
    variant: QueryVariant,
    progress: Option<&ProgressBar>,
) -> Result<RelevanceReport, EvalError> {
    let (cutoff, threshold) = (DEFAULT_CUTOFF, DEFAULT_RELEVANCE_THRESHOLD);
    let per_query = queries
        .par_iter()
        .map(|judged| {
            let typo_query = match variant {
                QueryVariant::AsTyped => None,
                QueryVariant::OneTypo { seed } => Some(inject_typo(&judged.text, &mut query_rng(seed, judged))),
            };
            let sent = typo_query.as_deref().unwrap_or(&judged.text);
            let ranking = backend.search(sent, cutoff).map_err(|source| EvalError::Backend {
                query_id: judged.id.clone(),
                query: sent.to_string(),
                source,
            })?;
            if let Some(progress) = progress {
                progress.inc(1);
            }
            Ok(QueryResult {
                id: judged.id.clone(),
                query: judged.text.clone(),
                ndcg: ndcg_at(cutoff, &ranking, &judged.judgments),
                mrr: mrr_at(cutoff, &ranking, &judged.judgments, threshold),
                recall: recall_at(cutoff, &ranking, &judged.judgments, threshold),
                zero_result: is_zero_result(&ranking),
                typo_query,
            })
        })
        .collect::<Result<Vec<QueryResult>, EvalError>>()?;

    let typo_unchanged =
        per_query.iter().filter(|result| result.typo_query.as_ref().is_some_and(|typo| *typo == result.query)).count();
    Ok(RelevanceReport {
        variant,
        cutoff,
        relevance_threshold: threshold,
        ndcg: MetricMean::of(per_query.iter().map(|result| result.ndcg)),
        mrr: MetricMean::of(per_query.iter().map(|result| result.mrr)),
        recall: MetricMean::of(per_query.iter().map(|result| result.recall)),
        zero_results: MetricMean::of(per_query.iter().map(|result| Some(f64::from(u8::from(result.zero_result))))),
        typo_unchanged,
        per_query,
    })
}

/// The typo generator of one query: seeded from `seed` and the query's id and text only, with a
/// named algorithm, so the typo is stable across runs, thread counts and query subsets.
fn query_rng(seed: u64, query: &JudgedQuery) -> Xoshiro256PlusPlus {
    // FNV-1a: a fixed, documented hash (std's `DefaultHasher` may change between Rust releases).
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in query.id.bytes().chain([0xff]).chain(query.text.bytes()) {
        hash = (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    Xoshiro256PlusPlus::seed_from_u64(seed ^ hash)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    /// Returns a fixed ranking per query text.
    struct Canned(HashMap<&'static str, Vec<&'static str>>);

    impl SearchBackend for Canned {
        fn search(&self, query: &str, k: usize) -> Result<Vec<String>, Box<dyn std::error::Error + Send + Sync>> {
            let ranking = self.0.get(query).ok_or_else(|| format!("no canned answer for {query:?}"))?;
            Ok(ranking.iter().take(k).map(|id| id.to_string()).collect())
        }
    }

    fn judged(id: &str, text: &str, judgments: &[(&str, f64)]) -> JudgedQuery {
        JudgedQuery {
            id: id.to_string(),
            text: text.to_string(),
            judgments: judgments.iter().map(|(uid, relevance)| (uid.to_string(), *relevance)).collect(),
        }
    }

    fn queries() -> Vec<JudgedQuery> {
        vec![
            // Perfect: NDCG 1, RR 1, recall 1.
            judged("1", "drill", &[("a", 3.0), ("b", 1.0)]),
            // Nothing found: NDCG 0, RR 0, recall 0, zero result.
            judged("2", "saw", &[("c", 3.0)]),
            // Only partly relevant products: NDCG 1 with b first, MRR and recall undefined.
            judged("3", "hose", &[("b", 2.0), ("d", 1.0)]),
            // No gain at all: every metric undefined.
            judged("4", "xyz", &[("d", 1.0)]),
        ]
    }

    fn backend() -> Canned {
        Canned(HashMap::from([
            ("drill", vec!["a", "b"]),
            ("saw", vec![]),
            ("hose", vec!["b", "d"]),
            ("xyz", vec!["a"]),
        ]))
    }

    #[test]
    fn means_are_over_the_queries_where_each_metric_is_defined() {
        let report = evaluate(&backend(), &queries(), QueryVariant::AsTyped, None).expect("all queries answered");
        assert_eq!(report.ndcg, MetricMean { mean: Some(2.0 / 3.0), queries: 3 });
        assert_eq!(report.mrr, MetricMean { mean: Some(0.5), queries: 2 });
        assert_eq!(report.recall, MetricMean { mean: Some(0.5), queries: 2 });
        assert_eq!(report.zero_results, MetricMean { mean: Some(0.25), queries: 4 });
        assert_eq!(report.typo_unchanged, 0);
        let ids: Vec<&str> = report.per_query.iter().map(|result| result.id.as_str()).collect();
        assert_eq!(ids, ["1", "2", "3", "4"]);
        assert!(report.per_query.iter().all(|result| result.typo_query.is_none()));
    }

    #[test]
    fn worst_lists_the_lowest_ndcg_first_and_skips_undefined_ones() {
        let report = evaluate(&backend(), &queries(), QueryVariant::AsTyped, None).expect("all queries answered");
        let worst: Vec<&str> = report.worst(10).iter().map(|result| result.id.as_str()).collect();
        assert_eq!(worst, ["2", "1", "3"]);
        assert_eq!(report.worst(1)[0].id, "2");
        assert!(report.worst(0).is_empty());
    }

    #[test]
    fn a_backend_error_names_the_query() {
        let mut queries = queries();
        queries.push(judged("5", "unknown", &[("a", 3.0)]));
        let error = evaluate(&backend(), &queries, QueryVariant::AsTyped, None).expect_err("no answer for 5");
        let EvalError::Backend { query_id, query, .. } = &error else { panic!("{error:?}") };
        assert_eq!((query_id.as_str(), query.as_str()), ("5", "unknown"));
    }

    #[test]
    fn an_empty_query_set_gives_undefined_means() {
        let report = evaluate(&backend(), &[], QueryVariant::AsTyped, None).expect("nothing to fail");
        assert_eq!(report.ndcg, MetricMean { mean: None, queries: 0 });
        assert_eq!(report.zero_results, MetricMean { mean: None, queries: 0 });
        assert!(report.to_string().contains("NDCG@10"));
    }

    #[test]
    fn the_progress_bar_advances_once_per_query() {
        let progress = ProgressBar::hidden();
        evaluate(&backend(), &queries(), QueryVariant::AsTyped, Some(&progress)).expect("all queries answered");
        assert_eq!(progress.position(), 4);
    }

    #[test]
    fn the_typo_of_a_query_does_not_depend_on_the_other_queries() {
        let query = judged("7", "cordless drill", &[]);
        let alone = inject_typo(&query.text, &mut query_rng(3, &query));
        let again = inject_typo(&query.text, &mut query_rng(3, &query));
        assert_eq!(alone, again);
        assert_ne!(alone, query.text);
        // Another id with the same text gets its own typo stream.
        let twin = judged("8", "cordless drill", &[]);
        let typos_of = |query: &JudgedQuery| {
            (0..20).map(|seed| inject_typo(&query.text, &mut query_rng(seed, query))).collect::<Vec<_>>()
        };
        assert_ne!(typos_of(&query), typos_of(&twin));
    }

    #[test]
    fn the_report_reads_as_a_table() {
        let report = evaluate(&backend(), &queries(), QueryVariant::AsTyped, None).expect("all queries answered");
        let expected = "\
search relevance, queries as typed: 4 queries, relevant = relevance >= 2.5
metric            mean   queries
NDCG@10         0.6667         3
MRR@10          0.5000         2
Recall@10       0.5000         2
zero results    0.2500         4
";
        assert_eq!(report.to_string(), expected);
    }
}
