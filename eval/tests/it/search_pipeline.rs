//! The whole search-relevance pipeline on a made-up shop: CSV files → `HomeDepot::load` → a tiny
//! word-overlap engine → `evaluate` → means checked against hand-computed values.

use std::collections::HashSet;
use std::fs;

use vitrine_eval::search::{
    HomeDepot, JUDGMENTS_FILE, MetricMean, PRODUCTS_FILE, QueryVariant, SearchBackend, evaluate, mrr_at, ndcg_at,
    recall_at,
};

const PRODUCTS: &str = "\
product_uid,title
p1,Cordless Drill Kit
p2,Cordless Leaf Blower
p3,Garden Hose Reel
p4,Drill Bit Set
p5,Hose Nozzle
";

const JUDGMENTS: &str = "\
query_id,query,product_uid,relevance
q1,cordless drill,p1,3
q1,cordless drill,p4,2
q1,cordless drill,p2,1
q2,hose,p5,3
q2,hose,p3,2.33
q3,chainsaw,p2,2.67
q4,bit,p4,2
";

/// Ranks titles by the number of distinct query words they contain (ties: catalogue order) and
/// returns only titles that share a word with the query.
struct WordOverlap {
    products: Vec<(String, HashSet<String>)>,
}

fn words(text: &str) -> HashSet<String> {
    text.split_whitespace().map(str::to_lowercase).collect()
}

impl WordOverlap {
    fn new(products: &[(String, String)]) -> WordOverlap {
        WordOverlap { products: products.iter().map(|(uid, title)| (uid.clone(), words(title))).collect() }
    }
}

impl SearchBackend for WordOverlap {
    fn search(&self, query: &str, k: usize) -> Result<Vec<String>, Box<dyn std::error::Error + Send + Sync>> {
        let query = words(query);
        let mut scored: Vec<(usize, &str)> = self
            .products
            .iter()
            .map(|(uid, title)| (title.intersection(&query).count(), uid.as_str()))
            .filter(|(overlap, _)| *overlap > 0)
            .collect();
        scored.sort_by_key(|(overlap, _)| std::cmp::Reverse(*overlap)); // stable: ties keep catalogue order
        Ok(scored.into_iter().take(k).map(|(_, uid)| uid.to_string()).collect())
    }
}

fn made_up_shop() -> (tempfile::TempDir, HomeDepot) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    fs::write(dir.path().join(PRODUCTS_FILE), PRODUCTS).expect("write products");
    fs::write(dir.path().join(JUDGMENTS_FILE), JUDGMENTS).expect("write judgments");
    let shop = HomeDepot::load(dir.path()).expect("the made-up dataset is valid");
    (dir, shop)
}

fn assert_mean(metric: MetricMean, expected: f64, queries: usize) {
    let mean = metric.mean.expect("the metric is defined for some query");
    assert!((mean - expected).abs() < 1e-12, "mean {mean} != {expected}");
    assert_eq!(metric.queries, queries);
}

#[test]
fn word_overlap_scores_as_computed_by_hand() {
    let (_dir, shop) = made_up_shop();
    let engine = WordOverlap::new(&shop.products);
    let report = evaluate(&engine, &shop.queries, QueryVariant::AsTyped, None).expect("the engine never fails");

    // q1 "cordless drill" → p1 (2 words), p2, p4 (1 word each). Gains p1 = 2, p2 = 0, p4 = 1.
    //    DCG = 2/log2 2 + 0/log2 3 + 1/log2 4 = 2.5; IDCG = 2 + 1/log2 3 ≈ 2.6309; NDCG ≈ 0.9502.
    //    Relevant (≥ 2.5): p1, at rank 1: RR 1, recall 1.
    // q2 "hose" → p3, p5. Gains p3 = 1.33, p5 = 2.
    //    DCG = 1.33 + 2/log2 3 ≈ 2.5919; IDCG = 2 + 1.33/log2 3 ≈ 2.8391; NDCG ≈ 0.9129.
    //    Relevant: p5, at rank 2: RR 0.5, recall 1.
    // q3 "chainsaw" → nothing: NDCG 0, RR 0, recall 0, a zero-result query.
    // q4 "bit" → p4 (gain 1, the only judged product): NDCG 1; nothing reaches 2.5, so RR and
    //    recall are undefined and q4 is left out of their means.
    let log2_3 = 3f64.log2();
    let ndcg = [2.5 / (2.0 + 1.0 / log2_3), (1.33 + 2.0 / log2_3) / (2.0 + 1.33 / log2_3), 0.0, 1.0];
    assert_mean(report.ndcg, ndcg.iter().sum::<f64>() / 4.0, 4);
    assert_mean(report.mrr, (1.0 + 0.5 + 0.0) / 3.0, 3);
    assert_mean(report.recall, (1.0 + 1.0 + 0.0) / 3.0, 3);
    assert_mean(report.zero_results, 0.25, 4);
    assert_eq!(report.typo_unchanged, 0);

    let per_query: Vec<(&str, Option<f64>, Option<f64>, bool)> =
        report.per_query.iter().map(|r| (r.id.as_str(), r.mrr, r.recall, r.zero_result)).collect();
    assert_eq!(
        per_query,
        [
            ("q1", Some(1.0), Some(1.0), false),
            ("q2", Some(0.5), Some(1.0), false),
            ("q3", Some(0.0), Some(0.0), true),
            ("q4", None, None, false),
        ]
    );
    let worst: Vec<&str> = report.worst(2).iter().map(|r| r.id.as_str()).collect();
    assert_eq!(worst, ["q3", "q2"]);
}

#[test]
fn one_typo_per_query_is_deterministic_and_counts_unchanged_queries() {
    let (_dir, shop) = made_up_shop();
    let engine = WordOverlap::new(&shop.products);
    let variant = QueryVariant::OneTypo { seed: 2024 };
    let report = evaluate(&engine, &shop.queries, variant, None).expect("the engine never fails");
    let again = evaluate(&engine, &shop.queries, variant, None).expect("the engine never fails");
    assert_eq!(report, again);

    // "bit" has no word of four letters: it is sent as typed, and counted.
    assert_eq!(report.typo_unchanged, 1);
    assert_eq!(report.per_query[3].typo_query.as_deref(), Some("bit"));
    for (result, judged) in report.per_query.iter().zip(&shop.queries) {
        let typo = result.typo_query.as_deref().expect("every query has a typo'd text");
        if result.query != "bit" {
            assert_eq!(strsim::damerau_levenshtein(&result.query, typo), 1, "{typo:?}");
        }
        // The scores are those of the typo'd text, not of the original.
        let ranking = engine.search(typo, 10).expect("the engine never fails");
        assert_eq!(result.ndcg, ndcg_at(10, &ranking, &judged.judgments));
        assert_eq!(result.mrr, mrr_at(10, &ranking, &judged.judgments, 2.5));
        assert_eq!(result.recall, recall_at(10, &ranking, &judged.judgments, 2.5));
        assert_eq!(result.zero_result, ranking.is_empty());
    }
}

#[test]
fn the_report_serialises_to_json() {
    let (_dir, shop) = made_up_shop();
    let engine = WordOverlap::new(&shop.products);
    let report =
        evaluate(&engine, &shop.queries, QueryVariant::OneTypo { seed: 1 }, None).expect("the engine never fails");
    let json = serde_json::to_value(&report).expect("a report is plain data");
    assert_eq!(json["variant"], serde_json::json!({"kind": "one_typo", "seed": 1}));
    assert_eq!(json["cutoff"], 10);
    assert_eq!(json["relevance_threshold"], 2.5);
    assert_eq!(json["zero_results"]["queries"], 4);
    assert_eq!(json["per_query"].as_array().map(Vec::len), Some(4));
    assert_eq!(json["per_query"][3]["mrr"], serde_json::Value::Null);
    assert_eq!(json["per_query"][3]["typo_query"], "bit");
}
