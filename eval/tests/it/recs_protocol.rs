//! The recommendation protocol on hand-made logs: CSV → load → split → rank → metrics, each step
//! checked against values computed by hand.

use std::fs;
use std::path::{Path, PathBuf};

use indicatif::{MultiProgress, ProgressDrawTarget};
use tempfile::TempDir;
use vitrine_eval::recs::{
    Cutoff, Hybrid, Ials, InteractionLog, Popularity, Recommender, RecsError, SparseEaseModel, Split, TrainSet,
    Trainer, evaluate, load_interactions_csv, load_online_retail_ii, rank_test_users, score_rankings, split, trainer,
};
use vitrine_recommender::cooc::CoocParams;
use vitrine_recommender::ease::SparseEaseParams;
use vitrine_recommender::ials::IalsParams;
use vitrine_recommender::popularity::PopularityParams;
use vitrine_recommender::serve::HybridWeights;

fn write(dir: &TempDir, name: &str, contents: &str) -> PathBuf {
    let path = dir.path().join(name);
    fs::write(&path, contents).expect("the temporary directory is writable");
    path
}

fn load(contents: &str) -> InteractionLog {
    let dir = TempDir::new().expect("a temporary directory");
    load_interactions_csv(&write(&dir, "interactions.csv", contents)).expect("the fixture loads")
}

fn silent() -> MultiProgress {
    MultiProgress::with_draw_target(ProgressDrawTarget::hidden())
}

fn assert_close(actual: f64, expected: f64) {
    assert!((actual - expected).abs() < 1e-12, "{actual} != {expected}");
}

/// Scores every train item by a fixed table of item id → score (missing items score 0).
struct FixedScores(Vec<f32>);

impl FixedScores {
    fn new(train: &TrainSet, table: &[(&str, f32)]) -> FixedScores {
        let mut scores = vec![0.0; train.n_items()];
        for (item, score) in table {
            let index = train.item_index(item).expect("the item is in train");
            scores[index as usize] = *score;
        }
        FixedScores(scores)
    }
}

impl Recommender for FixedScores {
    fn score_user(&self, _user: u32, _history: (&[u32], &[f32]), scores: &mut [f32]) {
        scores.copy_from_slice(&self.0);
    }
}

#[test]
fn the_default_cutoff_is_the_timestamp_at_floor_of_0_8_n() {
    // Ten rows, unsorted: sorted timestamps are 100, 200, …, 1000; floor(0.8 · 10) = 8 → 900.
    let ten = load(
        "user_id,product_id,timestamp\n\
         u1,a,500\nu1,b,100\nu2,a,1000\nu2,c,300\nu3,a,900\nu3,b,200\nu1,c,700\nu2,b,400\nu3,c,800\nu1,d,600\n",
    );
    assert_eq!(Cutoff::default().resolve(&ten).expect("rows"), 900);
    // Seven rows: floor(0.8 · 7) = floor(5.6) = 5 → the sixth smallest, 60.
    let seven = load("user_id,item_id,timestamp\nu,a,70\nu,a,10\nu,b,60\nu,a,30\nu,b,20\nu,c,50\nu,a,40\n");
    assert_eq!(Cutoff::default().resolve(&seven).expect("rows"), 60);
    assert_eq!(Cutoff::Quantile(0.0).resolve(&seven).expect("rows"), 10);
    assert_eq!(Cutoff::Quantile(1.0).resolve(&seven).expect("rows"), 70);

    let split = split(&ten, Cutoff::default()).expect("test users exist");
    assert_eq!(split.stats.cutoff_unix, 900);
    assert_eq!((split.stats.train_rows, split.stats.test_rows), (8, 2));
}

#[test]
fn a_row_exactly_at_the_cutoff_goes_to_test() {
    let log = load("user_id,product_id,timestamp\nu1,a,99\nu1,b,100\nu2,b,99\nu2,a,101\n");
    let split = split(&log, Cutoff::At(100)).expect("test users exist");
    assert_eq!((split.stats.train_rows, split.stats.test_rows), (2, 2));
    // u1's b (at the cutoff) is a test item, not a train one.
    assert_eq!(split.train.interactions.row(0).0.len(), 1);
    assert_eq!(split.test[0].relevant, vec!["b".to_string()]);
    // One second later and it is train: u1 has no new test item left.
    let later = vitrine_eval::recs::split(&log, Cutoff::At(101)).expect("u2 is still a test user");
    assert_eq!(later.stats.train_rows, 3);
    assert_eq!(later.test.len(), 1);
    assert_eq!(later.train.user_ids[later.test[0].user as usize], "u2");
}

#[test]
fn iso_timestamps_and_the_cutoff_parser_agree() {
    let log = load(
        "user_id,product_id,timestamp\n\
         u1,a,2010-08-31T23:59:59Z\nu1,b,2010-09-01T00:00:00Z\nu2,a,2010-08-01T10:00:00Z\nu2,b,2010-09-02T00:00:00Z\n",
    );
    let cutoff = Cutoff::parse("2010-09-01").expect("an ISO date");
    assert_eq!(cutoff, Cutoff::ONLINE_RETAIL_II);
    assert_eq!(Cutoff::parse("2010-09-01 00:00:00"), Ok(Cutoff::ONLINE_RETAIL_II));
    assert_eq!(Cutoff::parse("2010-09-01T02:00:00+02:00"), Ok(Cutoff::ONLINE_RETAIL_II));
    assert_eq!(Cutoff::parse("1283299200"), Ok(Cutoff::ONLINE_RETAIL_II));
    assert!(Cutoff::parse("next tuesday").is_err());
    let split = split(&log, cutoff).expect("test users exist");
    assert_eq!((split.stats.train_rows, split.stats.test_rows), (2, 2));
    assert_eq!(split.stats.cutoff, "2010-09-01T00:00:00Z");
}

#[test]
fn weights_count_distinct_baskets() {
    // u1 × a: two lines in basket b1 and one in b2 → 2 baskets; u1 × c: one line.
    let log = load(
        "user_id,product_id,basket_id,timestamp,quantity\n\
         u1,a,b1,10,1\nu1,a,b1,10,5\nu1,a,b2,20,1\nu1,c,b2,20,2\nu1,d,b3,25,0\nu1,b,b4,100,1\n",
    );
    let split = split(&log, Cutoff::At(100)).expect("u1 has a new test item");
    let train = &split.train;
    assert_eq!(train.item_ids, vec!["a", "c"], "d has quantity 0 and is dropped");
    assert_eq!(train.interactions.row(0), (&[0u32, 1][..], &[2.0f32, 1.0][..]));
    assert_eq!(train.last_seen, vec![20, 20]);
    // Baskets by time: b1 = {a}, b2 = {a, c}; binary.
    assert_eq!(train.baskets.n_rows(), 2);
    assert_eq!(train.baskets.row(1), (&[0u32, 1][..], &[1.0f32, 1.0][..]));
    assert_eq!(train.basket_timestamps, vec![10, 20]);
    assert_eq!(train.basket_users, vec![0, 0]);
    assert_eq!(split.stats.train_baskets, 2);

    // Without a basket column every row is its own basket: the weight counts rows.
    let rows = load("user_id,product_id,timestamp\nu1,a,10\nu1,a,10\nu1,a,20\nu1,b,100\n");
    let split = vitrine_eval::recs::split(&rows, Cutoff::At(100)).expect("u1 has a new test item");
    assert_eq!(split.train.interactions.row(0), (&[0u32][..], &[3.0f32][..]));
    assert_eq!(split.train.baskets.n_rows(), 3);
}

/// Train (before 100): u1 {a}, u2 {b}, u3 {a}, u4 {c, d, e}, u5 {b}.
/// Test (from 100): u1 {b, c, x}, u2 {a}, u3 {a, e}, u5 {b}, u6 {a}.
const METRICS_FIXTURE: &str = "\
user_id,product_id,timestamp
u1,a,10
u2,b,11
u3,a,12
u4,c,13
u4,d,14
u4,e,15
u5,b,16
u1,b,100
u1,c,101
u1,x,102
u2,a,103
u3,a,104
u3,e,105
u5,b,106
u6,a,107
";

fn metrics_split() -> Split {
    split(&load(METRICS_FIXTURE), Cutoff::At(100)).expect("test users exist")
}

#[test]
fn test_users_are_train_users_with_a_new_test_item() {
    let split = metrics_split();
    let test: Vec<(&str, Vec<&str>)> = split
        .test
        .iter()
        .map(|user| {
            (split.train.user_ids[user.user as usize].as_str(), user.relevant.iter().map(String::as_str).collect())
        })
        .collect();
    // u5 only re-bought b; u6 has no train interaction; u3's a is not new; x was never in train
    // but still counts as relevant.
    assert_eq!(test, vec![("u1", vec!["b", "c", "x"]), ("u2", vec!["a"]), ("u3", vec!["e"])]);
    let stats = &split.stats;
    assert_eq!((stats.train_users, stats.train_items, stats.train_pairs), (5, 5, 7));
    assert_eq!(stats.test_users, 3);
    assert_close(stats.mean_relevant_per_user, 5.0 / 3.0);
    assert_eq!(stats.relevant_unseen_in_train, 1);
}

#[test]
fn train_items_are_excluded_from_rankings() {
    let split = metrics_split();
    // A model that loves what the user already has: it may never show it again.
    struct LovesHistory;
    impl Recommender for LovesHistory {
        fn score_user(&self, _user: u32, history: (&[u32], &[f32]), scores: &mut [f32]) {
            for &item in history.0 {
                scores[item as usize] = 1000.0;
            }
        }
    }
    let rankings = rank_test_users(&split, &LovesHistory, 10, None);
    for (user, ranking) in split.test.iter().zip(&rankings) {
        let history = split.train.interactions.row(user.user as usize).0;
        assert!(ranking.iter().all(|item| !history.contains(item)), "{ranking:?} shows {history:?}");
        // Full catalogue: every other train item is ranked (5 items, 1 owned).
        assert_eq!(ranking.len(), split.train.n_items() - history.len());
    }
}

#[test]
fn metrics_match_a_hand_computed_example() {
    let split = metrics_split();
    // Scores a 5, c 4, b 3, d 2, e 1. Rankings at K = 3, own items excluded:
    // u1 (has a, wants b c x): c b d  → hits at 1 and 2
    // u2 (has b, wants a):     a c d  → hit at 1
    // u3 (has a, wants e):     c b d  → no hit
    let model = FixedScores::new(&split.train, &[("a", 5.0), ("c", 4.0), ("b", 3.0), ("d", 2.0), ("e", 1.0)]);
    let rankings = rank_test_users(&split, &model, 3, None);
    let item = |name: &str| split.train.item_index(name).expect("a train item");
    assert_eq!(rankings[0], vec![item("c"), item("b"), item("d")]);
    assert_eq!(rankings[1], vec![item("a"), item("c"), item("d")]);

    let metrics = score_rankings(&split, &rankings, &[1, 3]).expect("valid cut-offs");
    let m = |name: &str| metrics[name];
    // Recall@3: u1 2/3, u2 1, u3 0.
    assert_close(m("recall@3"), (2.0 / 3.0 + 1.0) / 3.0);
    // NDCG@3: u1 DCG = 1 + 1/log2(3), ideal over min(3, 3) = 3 items; u2 1; u3 0.
    let u1_ndcg = (1.0 + 1.0 / 3f64.log2()) / (1.0 + 1.0 / 3f64.log2() + 0.5);
    assert_close(m("ndcg@3"), (u1_ndcg + 1.0) / 3.0);
    // MAP@3: u1 (1/1 + 2/2) / min(3, 3); u2 1; u3 0.
    assert_close(m("map@3"), (2.0 / 3.0 + 1.0) / 3.0);
    assert_close(m("hitrate@3"), 2.0 / 3.0);
    // @1: u1 shows c (1 of 3 relevant; the ideal is min(1, 3) = 1 item), u2 shows a, u3 c.
    assert_close(m("recall@1"), (1.0 / 3.0 + 1.0) / 3.0);
    assert_close(m("ndcg@1"), 2.0 / 3.0);
    assert_close(m("map@1"), 2.0 / 3.0);
    // Coverage: @3 shows a b c d of 5 candidates, @1 shows a and c.
    assert_close(m("coverage@3"), 0.8);
    assert_close(m("coverage@1"), 0.4);
    // Gini of exposure over the 5 candidates. @3: a 1, b 2, c 3, d 3, e 0 → sorted 0 1 2 3 3:
    // (−4·0 − 2·1 + 0·2 + 2·3 + 4·3) / (5 · 9) = 16/45. @1: c 2, a 1 → (2·1 + 4·2) / (5 · 3).
    assert_close(m("gini@3"), 16.0 / 45.0);
    assert_close(m("gini@1"), 10.0 / 15.0);
    // Popularity ranks (train users per item a 2, b 2, c 1, d 1, e 1; ties by id): a 1, b 2, c 3,
    // d 4, e 5. @1: c a c → 7/3; @3: (3+2+4) + (1+3+4) + (3+2+4) over 9 slots.
    assert_close(m("novelty@1"), 7.0 / 3.0);
    assert_close(m("novelty@3"), 26.0 / 9.0);
}

#[test]
fn evaluate_reports_every_metric_under_its_stable_name() {
    let split = metrics_split();
    let fixed = trainer("fixed", |train: &TrainSet| {
        Ok(Box::new(FixedScores::new(train, &[("a", 5.0), ("c", 4.0), ("b", 3.0), ("d", 2.0), ("e", 1.0)]))
            as Box<dyn Recommender>)
    });
    let trainers: [&dyn Trainer; 2] = [&Popularity, &fixed];
    let report = evaluate(&split, &trainers, &[10, 20], &silent()).expect("both models train");
    let json = serde_json::to_value(&report).expect("the report serialises");
    for line in json["models"].as_array().expect("a list of models") {
        for key in [
            "model",
            "train_seconds",
            "ndcg@10",
            "recall@20",
            "map@10",
            "hitrate@10",
            "coverage@10",
            "gini@10",
            "novelty@10",
        ] {
            assert!(line.get(key).is_some(), "{key} missing from {line}");
        }
    }
    assert_eq!(json["split"]["test_users"], 3);
    assert_eq!(json["split"]["cutoff_unix"], 100);
    // Popularity: a (2 users) b (2) c d e, ties by id. u1 gets b c d e (hits b, c), u2 a c d e
    // (hit a), u3 b c d e (hit e at rank 4).
    let popularity = report.model("popularity").expect("popularity ran");
    assert_close(popularity.metric("recall@10").expect("present"), (2.0 / 3.0 + 1.0 + 1.0) / 3.0);
    assert_close(popularity.metric("coverage@10").expect("present"), 1.0);
    assert!(report.to_string().contains("popularity"));

    let failing = trainer("broken", |_: &TrainSet| Err("out of memory".into()));
    let error = evaluate(&split, &[&failing], &[10], &silent()).expect_err("training fails");
    assert!(matches!(&error, RecsError::Training { model, .. } if model == "broken"), "{error}");
    assert!(matches!(evaluate(&split, &[], &[], &silent()), Err(RecsError::BadCutoffs { .. })));
}

/// 60 users of two tastes buying over 60 days: enough for ALS, EASE and co-occurrence to learn.
fn synthetic_log() -> InteractionLog {
    let mut csv = String::from("user_id,product_id,timestamp,basket_id\n");
    for user in 0..60u32 {
        let taste = user % 2;
        for day in 0..6u32 {
            let item = taste * 10 + (user * 7 + day * 3) % 10;
            let time = i64::from(day * 10 + user % 10) * 86_400;
            csv.push_str(&format!("u{user},i{item},{time},b{user}-{day}\n"));
        }
    }
    load(&csv)
}

#[test]
fn a_replicated_log_scores_one_copy_of_every_test_user_and_block_models_score_as_on_one_shop() {
    let log = synthetic_log();
    let one = split(&log, Cutoff::Quantile(0.8)).expect("a split with test users");
    let mut four = split(&log.replicate(4).expect("replicates"), Cutoff::Quantile(0.8)).expect("a split");
    assert_eq!((four.stats.train_items, four.stats.test_users), (4 * one.stats.train_items, 4 * one.stats.test_users));
    four.one_copy_per_test_user(4);
    assert_eq!(four.stats.scored_test_users, one.stats.test_users);
    let relevant = |split: &Split| -> Vec<(String, Vec<String>)> {
        let mut users: Vec<(String, Vec<String>)> = split
            .test
            .iter()
            .map(|user| {
                let id = &split.train.user_ids[user.user as usize];
                let strip = |id: &str| id.rsplit_once('#').map_or(id, |(base, _)| base).to_owned();
                (strip(id), user.relevant.iter().map(|item| strip(item)).collect())
            })
            .collect();
        users.sort();
        users
    };
    assert_eq!(relevant(&four), relevant(&one), "the same users with the same relevant items");
    let blocks: std::collections::HashSet<&str> = four
        .test
        .iter()
        .filter_map(|user| four.train.user_ids[user.user as usize].rsplit_once('#').map(|(_, block)| block))
        .collect();
    assert!(blocks.len() > 1, "the scored copies are spread over the blocks: {blocks:?}");

    // EASE (exact at this size, the Gram matrix block-diagonal) scores the four shops as one.
    let ease =
        SparseEaseModel { name: "ease".into(), params: SparseEaseParams { half_life_days: 0.0, ..Default::default() } };
    let trainers: [&dyn Trainer; 1] = [&ease];
    let on_one = evaluate(&one, &trainers, &[5], &silent()).expect("trains");
    let on_four = evaluate(&four, &trainers, &[5], &silent()).expect("trains");
    for metric in ["recall@5", "ndcg@5"] {
        let value = |report: &vitrine_eval::recs::RecsReport| report.models[0].metric(metric).expect("present");
        assert!((value(&on_one) - value(&on_four)).abs() < 1e-9, "{metric}: {on_one} vs {on_four}");
    }
}

#[test]
fn the_same_seed_gives_the_same_numbers() {
    let log = synthetic_log();
    let split = split(&log, Cutoff::Quantile(0.8)).expect("a split with test users");
    let run = || {
        let ials = Ials { name: "ials".into(), params: IalsParams { factors: 8, ..IalsParams::default() } };
        let hybrid = Hybrid {
            name: "hybrid".into(),
            ials: IalsParams { factors: 8, ..IalsParams::default() },
            cooc: CoocParams { min_count: 1, ..CoocParams::default() },
            ease: SparseEaseParams::default(),
            popularity: PopularityParams::default(),
            weights: HybridWeights::default(),
            weights_without_ease: HybridWeights::without_ease(),
        };
        let trainers: [&dyn Trainer; 3] = [&Popularity, &ials, &hybrid];
        evaluate(&split, &trainers, &[5, 10], &silent()).expect("every model trains")
    };
    let (first, second) = (run(), run());
    for (a, b) in first.models.iter().zip(&second.models) {
        assert_eq!(a.metrics, b.metrics, "{} differs between two runs", a.model);
        assert_eq!(a.popularity_deciles, b.popularity_deciles);
        assert_eq!(a.recall_curve, b.recall_curve);
    }
    // And the learnt models find something popularity does not: the users' taste.
    let recall = |model: &str| first.model(model).and_then(|line| line.metric("recall@5")).expect("present");
    assert!(recall("hybrid") > recall("popularity"), "{first}");
}

#[test]
fn a_split_without_test_users_is_an_error() {
    let log = load("user_id,product_id,timestamp\nu1,a,10\nu1,a,200\nu2,b,300\n");
    let error = split(&log, Cutoff::At(100)).expect_err("u1 re-buys a, u2 is new");
    assert!(matches!(error, RecsError::EmptySplit { .. }), "{error}");
    let error = split(&log, Cutoff::At(5)).expect_err("nothing before 5");
    assert!(matches!(error, RecsError::EmptySplit { .. }), "{error}");
}

#[test]
fn the_generic_loader_names_a_missing_column_and_a_bad_timestamp() {
    let dir = TempDir::new().expect("a temporary directory");
    let no_item = write(&dir, "no_item.csv", "user_id,sku,timestamp\nu1,a,1\n");
    let error = load_interactions_csv(&no_item).expect_err("no item column");
    assert!(matches!(&error, RecsError::MissingColumn { expected, .. } if *expected == "product_id|item_id"));
    let bad_time = write(&dir, "bad_time.csv", "user_id,item_id,timestamp\nu1,a,2010-01-01\nu1,b,yesterday\n");
    let error = load_interactions_csv(&bad_time).expect_err("an unparsable timestamp");
    assert!(matches!(&error, RecsError::BadValue { column, .. } if column == "timestamp"), "{error}");
    assert!(matches!(load_interactions_csv(Path::new("/no/such/file.csv")), Err(RecsError::Io { .. })));
}

const RETAIL_FIXTURE: &str = "\
Invoice,StockCode,Description,Quantity,InvoiceDate,Price,Customer ID,Country
489434,85048,GLASS BALL,12,2010-08-01 07:45:00,6.95,13085,United Kingdom
489434,79323P,PINK LIGHTS,12,2010-08-01 07:45:00,6.75,13085,United Kingdom
489435,85048,GLASS BALL,1,2010-08-02 10:00:00,6.95,13085,United Kingdom
C489436,85048,GLASS BALL,-1,2010-08-03 10:00:00,6.95,13085,United Kingdom
489437,85048,GLASS BALL,-3,2010-08-03 11:00:00,6.95,13085,United Kingdom
489438,POST,POSTAGE,1,2010-08-03 12:00:00,18.00,13085,United Kingdom
489439,85048,GLASS BALL,2,2010-08-04 12:00:00,6.95,,United Kingdom
489440,21232,MUG,4,2010-09-01 00:00:00,1.25,13085.0,United Kingdom
489441,21232,MUG,4,2010-09-05 09:00:00,1.25,12000,France
";

#[test]
fn the_online_retail_loader_keeps_customers_purchases_of_products() {
    let dir = TempDir::new().expect("a temporary directory");
    let path = write(&dir, "retail.csv", RETAIL_FIXTURE);
    let log = load_online_retail_ii(&path).expect("the fixture loads");
    // Dropped: the cancellation, the negative quantity, postage, the guest purchase.
    assert_eq!((log.rows_read(), log.len()), (9, 5));
    let split = split(&log, Cutoff::ONLINE_RETAIL_II).expect("13085 buys a mug at the cutoff");
    assert_eq!(split.train.item_ids, vec!["79323P", "85048"]);
    // The glass ball is in two invoices.
    assert_eq!(split.train.interactions.row(0), (&[0u32, 1][..], &[1.0f32, 2.0][..]));
    assert_eq!(split.test.len(), 1);
    assert_eq!(split.test[0].relevant, vec!["21232".to_string()]);
    assert_eq!(split.stats.relevant_unseen_in_train, 1);

    // The same file gzip-compressed loads the same rows.
    let status = std::process::Command::new("gzip").arg("-k").arg(&path).status().expect("gzip runs");
    assert!(status.success());
    let gzipped = load_online_retail_ii(&path.with_extension("csv.gz")).expect("the gzip file loads");
    assert_eq!(gzipped.frame(), log.frame());
}

/// The reference figures of `docs/evaluation.md` on the real Online Retail II file (run with
/// `cargo test --release -p vitrine-eval --test it -- recs_protocol:: --ignored`).
#[test]
#[ignore = "needs ../shared/datasets/online-retail-ii (45 MB)"]
fn online_retail_ii_popularity_reproduces_the_reference_figures() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(vitrine_eval::recs::ONLINE_RETAIL_II_PATH);
    let log = load_online_retail_ii(&path).expect("the dataset is present");
    let split = split(&log, Cutoff::ONLINE_RETAIL_II).expect("test users exist");
    let report = evaluate(&split, &[&Popularity], &[10, 20], &silent()).expect("popularity trains");
    println!("{}", serde_json::to_string_pretty(&report).expect("serialises"));
    println!("{report}");
    let popularity = report.model("popularity").expect("popularity ran");
    assert_eq!((split.stats.train_rows, split.stats.test_rows), (247_866, 158_457));
    assert_eq!((split.stats.train_users, split.stats.train_items, split.stats.test_users), (3299, 3735, 1917));
    assert!((popularity.metric("recall@20").expect("present") - 0.032).abs() < 0.0005);
    assert!((popularity.metric("ndcg@10").expect("present") - 0.059).abs() < 0.0005);
}
