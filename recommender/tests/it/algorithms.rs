//! Behaviour of the collaborative-filtering models on planted data: the structure put into the
//! data must come out of the model.

use std::collections::HashMap;

use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};
use vitrine_recommender::cooc::{self, BasketWeighting, CoocParams, Normalisation};
use vitrine_recommender::ease::{self, EaseModel, EaseParams, SparseEaseParams};
use vitrine_recommender::ials::{self, IalsModel, IalsParams};
use vitrine_recommender::matrix::Interactions;
use vitrine_recommender::popularity::{Popularity, PopularityParams};
use vitrine_recommender::serve::{HybridParts, HybridWeights, hybrid_scores};

fn rng(seed: u64) -> Xoshiro256PlusPlus {
    Xoshiro256PlusPlus::seed_from_u64(seed)
}

/// Items `0..CLUSTER` belong to cluster A, `CLUSTER..2·CLUSTER` to cluster B; users `0..USERS/2`
/// buy 6 random items of cluster A, the others 6 of cluster B.
const CLUSTER: u32 = 12;
const USERS: u32 = 60;

fn user_cluster(user: u32) -> u32 {
    u32::from(user >= USERS / 2)
}

fn two_clusters() -> Interactions {
    let mut rng = rng(1);
    let mut triplets = Vec::new();
    for user in 0..USERS {
        let offset = user_cluster(user) * CLUSTER;
        for _ in 0..6 {
            triplets.push((user, offset + rng.random_range(0..CLUSTER), 1.0));
        }
    }
    Interactions::from_triplets(USERS as usize, 2 * CLUSTER as usize, &triplets)
}

/// Asserts that every item of `cluster` scores above every item of the other cluster.
fn own_cluster_first(scores: &[f32], cluster: u32, context: &str) {
    let in_cluster = |item: usize| item as u32 / CLUSTER == cluster;
    let worst_own = (0..scores.len()).filter(|&i| in_cluster(i)).map(|i| scores[i]).fold(f32::INFINITY, f32::min);
    let best_other = (0..scores.len()).filter(|&i| !in_cluster(i)).map(|i| scores[i]).fold(f32::NEG_INFINITY, f32::max);
    assert!(worst_own > best_other, "{context}: own cluster min {worst_own} <= other cluster max {best_other}");
}

fn history(interactions: &Interactions, row: usize) -> Vec<(u32, f32)> {
    let (items, weights) = interactions.row(row);
    items.iter().copied().zip(weights.iter().copied()).collect()
}

#[test]
fn csr_transpose_twice_is_identity_and_duplicates_are_summed() {
    let mut rng = rng(2);
    let triplets: Vec<(u32, u32, f32)> = (0..2_000)
        .map(|_| (rng.random_range(0..50u32), rng.random_range(0..70u32), f32::from(rng.random_range(1..5u8))))
        .collect();
    let m = Interactions::from_triplets(50, 70, &triplets);
    assert_eq!(m.transpose().transpose(), m);

    let mut expected: HashMap<(u32, u32), f32> = HashMap::new();
    for &(r, c, v) in &triplets {
        *expected.entry((r, c)).or_default() += v;
    }
    assert_eq!(m.nnz(), expected.len());
    for (r, c, v) in m.iter() {
        assert_eq!(expected[&(r, c)], v);
    }
    for r in 0..m.n_rows() {
        assert!(m.row(r).0.windows(2).all(|w| w[0] < w[1]), "row {r} sorted and without duplicates");
    }
    let t = m.transpose();
    for (r, c, v) in m.iter() {
        let (rows, values) = t.row(c as usize);
        let at = rows.binary_search(&r).expect("entry present in the transpose");
        assert_eq!(values[at], v);
    }
}

#[test]
fn ials_loss_decreases_and_clusters_are_recovered() {
    let interactions = two_clusters();
    let params =
        IalsParams { factors: 4, regularization: 5.0, iterations: 12, calculate_loss: true, ..IalsParams::default() };
    let mut losses = Vec::new();
    let model = ials::train(&interactions, &params, |stats| {
        assert!(stats.seconds >= 0.0);
        losses.push(stats.loss.expect("loss requested"));
    });
    assert_eq!(losses.len(), 12);
    for pair in losses.windows(2) {
        assert!(pair[1] <= pair[0] * (1.0 + 1e-4), "loss went up: {losses:?}");
    }
    assert!(losses[11] < 0.9 * losses[0], "loss barely moved: {losses:?}");
    assert!((model.loss(&interactions) - losses[11]).abs() < 1e-5);

    let mut scores = vec![0.0; model.n_items()];
    for user in 0..USERS {
        model.score_items(model.user_factors().row(user as usize), &mut scores);
        own_cluster_first(&scores, user_cluster(user), &format!("iALS user {user}"));
    }
}

#[test]
fn ials_fold_in_ranks_like_the_trained_user_vector() {
    let interactions = two_clusters();
    let params = IalsParams { factors: 4, regularization: 5.0, iterations: 15, ..IalsParams::default() };
    let model = ials::train(&interactions, &params, |_| {});
    let mut trained_scores = vec![0.0; model.n_items()];
    let mut folded_scores = vec![0.0; model.n_items()];
    for user in [0usize, 7, 31, 59] {
        let trained = model.user_factors().row(user).to_owned();
        let folded = model.fold_in(&history(&interactions, user));
        let cosine = trained.dot(&folded) / (trained.dot(&trained).sqrt() * folded.dot(&folded).sqrt());
        assert!(cosine > 0.95, "user {user}: cosine {cosine}");
        model.score_items(trained.view(), &mut trained_scores);
        model.score_items(folded.view(), &mut folded_scores);
        own_cluster_first(&folded_scores, user_cluster(user as u32), "fold-in");
        let top = |scores: &[f32]| {
            let mut items: Vec<usize> = (0..scores.len()).collect();
            items.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
            items.truncate(3);
            items
        };
        assert_eq!(top(&trained_scores), top(&folded_scores), "user {user}");
    }
}

#[test]
fn ials_model_survives_serde() {
    let interactions = two_clusters();
    let model = ials::train(&interactions, &IalsParams { factors: 4, iterations: 3, ..Default::default() }, |_| {});
    let json = serde_json::to_string(&model).expect("serialises");
    let back: IalsModel = serde_json::from_str(&json).expect("deserialises");
    assert_eq!(back.user_factors(), model.user_factors());
    assert_eq!(back.fold_in(&[(0, 1.0), (3, 2.0)]), model.fold_in(&[(0, 1.0), (3, 2.0)]));
}

/// 400 baskets: items 0 and 1 are bought together (and 0 alone as often), so are 2 and 3; item
/// 4 is in every basket; items 5..40 are noise, three per basket.
fn planted_baskets() -> Interactions {
    let mut rng = rng(3);
    let mut triplets = Vec::new();
    for basket in 0..400u32 {
        triplets.push((basket, 4, 1.0));
        match basket % 5 {
            0 => triplets.extend([(basket, 0, 1.0), (basket, 1, 1.0)]),
            1 => triplets.extend([(basket, 2, 1.0), (basket, 3, 1.0)]),
            // Item 0 also sells on its own, so it meets the best-seller twice as often as item 1.
            2 => triplets.push((basket, 0, 1.0)),
            _ => {}
        }
        for _ in 0..3 {
            triplets.push((basket, rng.random_range(5..40), 1.0));
        }
    }
    Interactions::from_triplets(400, 40, &triplets)
}

#[test]
fn cooc_finds_planted_pairs_and_the_best_seller_does_not_dominate() {
    let baskets = planted_baskets();
    for (name, params) in [
        ("cosine", CoocParams::default()),
        ("asymmetric", CoocParams { normalisation: Normalisation::Asymmetric { beta: 0.8 }, ..Default::default() }),
        ("lift", CoocParams { normalisation: Normalisation::Lift, min_count: 3, ..Default::default() }),
        ("bm25 cosine", CoocParams { weighting: BasketWeighting::Bm25 { k1: 100.0, b: 0.8 }, ..Default::default() }),
    ] {
        let model = cooc::fit(&baskets, &params);
        for (item, partner) in [(0, 1), (1, 0), (2, 3), (3, 2)] {
            assert_eq!(model.neighbours(item)[0].0, partner, "{name}: top neighbour of {item}");
        }
        let topped_by_best_seller =
            (0..40).filter(|&i| model.neighbours(i).first().is_some_and(|&(j, _)| j == 4)).count();
        assert!(topped_by_best_seller < 39, "{name}: the best-seller tops {topped_by_best_seller} lists");
        let mut scores = vec![0.0; 40];
        model.score_items(&[(0, 1.0)], &mut scores);
        let best = (0..40).max_by(|&a, &b| scores[a].total_cmp(&scores[b])).expect("40 items");
        assert_eq!(best, 1, "{name}: a cart with item 0 should be offered item 1");
    }

    // Without normalisation, raw counts let the best-seller top the planted items' lists.
    let raw = cooc::fit(&baskets, &CoocParams { normalisation: Normalisation::None, ..Default::default() });
    assert_eq!(raw.neighbours(0)[0].0, 4);
}

#[test]
fn ease_ranks_co_occurring_items() {
    let baskets = planted_baskets();
    let model = EaseModel::fit(&baskets, &EaseParams { lambda: 10.0, ..Default::default() });
    assert_eq!(model.n_items(), 40);
    let mut scores = vec![0.0; 40];
    for (item, partner) in [(0u32, 1usize), (2, 3)] {
        model.score_items(&[(item, 1.0)], &mut scores);
        let best = (0..40).filter(|&j| j != item as usize).max_by(|&a, &b| scores[a].total_cmp(&scores[b]));
        assert_eq!(best, Some(partner), "EASE scores for a history of {item}: {scores:?}");
    }

    let interactions = two_clusters();
    let model = EaseModel::fit(&interactions, &EaseParams::default());
    for user in 0..USERS {
        model.score_items(&history(&interactions, user as usize), &mut scores[..24]);
        own_cluster_first(&scores[..24], user_cluster(user), &format!("EASE user {user}"));
    }
}

#[test]
fn sparse_recency_ease_keeps_the_clusters_and_the_blend_fades_items_that_stopped_selling() {
    let interactions = two_clusters();
    let day = 86_400;
    let now = 400 * day;
    // Every purchase a day old, except that item 0 (cluster A) last sold 300 days ago.
    let pairs: Vec<(u32, u32, i64)> = interactions
        .iter()
        .map(|(user, item, _)| (user, item, if item == 0 { now - 300 * day } else { now - day }))
        .collect();
    let recency = ease::recency_matrix(USERS as usize, 24, pairs.iter().copied(), now, 180.0);
    let model = ease::fit_sparse(recency, &SparseEaseParams { lambda: 10.0, neighbours: 12, ..Default::default() });
    assert!((0..24).all(|item| model.weights.neighbours(item).len() <= 12));
    let mut scores = vec![0.0; 24];
    for user in 0..USERS {
        model.score_items(&history(&model.recency, user as usize), &mut scores);
        // The three best items the user does not have are of their cluster (weights cut to 12
        // per item leave the other cluster at 0, so the full order is not asserted).
        let owned = interactions.row(user as usize).0;
        let mut unowned: Vec<u32> = (0..24).filter(|item| !owned.contains(item)).collect();
        unowned.sort_by(|&a, &b| scores[b as usize].total_cmp(&scores[a as usize]));
        assert!(unowned[..3].iter().all(|&item| item / CLUSTER == user_cluster(user)), "user {user}: {scores:?}");
    }

    // The blend: a cluster-A shopper who never bought item 0 is offered it by EASE without decay,
    // but lower once liveness (30-day half-life) counts its 300 days without a sale.
    let binary = ease::recency_matrix(USERS as usize, 24, pairs.iter().copied(), now, 0.0);
    let model = ease::fit_sparse(binary, &SparseEaseParams { lambda: 10.0, neighbours: 12, ..Default::default() });
    let events: Vec<(u32, f32, i64)> = pairs.iter().map(|&(_, item, time)| (item, 1.0, time)).collect();
    let popularity = Popularity::fit(24, &events, now, &PopularityParams::default());
    let cooc = cooc::fit(&interactions, &CoocParams::default());
    let user = (0..USERS / 2).find(|&u| !interactions.row(u as usize).0.contains(&0)).expect("a user without item 0");
    let profile = history(&model.recency, user as usize);
    let blended = |weights: &HybridWeights| {
        let liveness = popularity.liveness(weights.liveness_half_life_days);
        let parts = HybridParts {
            ials: None,
            ease: Some((&model, &profile)),
            cooc: &cooc,
            popularity: &popularity,
            liveness: &liveness,
        };
        let mut scores = vec![0.0; 24];
        hybrid_scores(&parts, &history(&interactions, user as usize), weights, &mut scores);
        scores
    };
    let without = blended(&HybridWeights { liveness_half_life_days: 0.0, ..HybridWeights::default() });
    let with = blended(&HybridWeights::default());
    assert!(without[0] > 0.0 && with[0] < 0.01 * without[0], "300 days without a sale: {without:?} -> {with:?}");
    for item in 1..CLUSTER as usize {
        assert!(with[item] >= 0.97 * without[item], "sold yesterday, item {item}: {without:?} -> {with:?}");
    }
    let owned = interactions.row(user as usize).0;
    let above_0 = (1..CLUSTER).filter(|item| !owned.contains(item) && with[*item as usize] > with[0]).count();
    let lacking = (1..CLUSTER).filter(|item| !owned.contains(item)).count();
    assert_eq!(above_0, lacking, "the stale item comes after every live item of its cluster the user lacks");
}

#[test]
fn popularity_prefers_recent_sales() {
    let day = 86_400;
    let now = 1_000 * day;
    let events = [(0, 3.0, now - 90 * day), (1, 3.0, now - 2 * day), (2, 1.0, now + day)];
    let popularity = Popularity::fit(3, &events, now, &PopularityParams::default());
    let top = popularity.top(3, |_| true);
    assert_eq!(top.iter().map(|&(item, _)| item).collect::<Vec<_>>(), vec![1, 0], "future sale of 2 ignored");
}

/// Timing of EASE at the size of the demo shop (4,000 items); run with
/// `cargo test --release -p vitrine-recommender --test it -- algorithms:: --ignored --nocapture`.
#[test]
#[ignore = "a timing, run in release mode"]
fn ease_speed_on_4000_items() {
    let mut rng = rng(4);
    let (n_users, n_items) = (4_300u32, 4_000u32);
    let mut log_uniform =
        |n: u32| (((f64::from(n) + 1.0).ln() * rng.random::<f64>()).exp() - 1.0).min(f64::from(n - 1)) as u32;
    let triplets: Vec<(u32, u32, f32)> =
        (0..170_000).map(|_| (log_uniform(n_users), log_uniform(n_items), 1.0)).collect();
    let interactions = Interactions::from_triplets(n_users as usize, n_items as usize, &triplets);
    let start = std::time::Instant::now();
    let model = EaseModel::fit(&interactions, &EaseParams::default());
    println!(
        "EASE on {n_users} × {n_items} ({} non-zeros): {:.2} s on {} threads",
        interactions.nnz(),
        start.elapsed().as_secs_f64(),
        rayon::current_num_threads()
    );
    assert_eq!(model.n_items(), n_items as usize);
}
