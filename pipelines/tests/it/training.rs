//! Training as of an instant: ages are measured from the training time (or a replayed dataset's
//! end), never from the newest row, and rows dated after it are left out.

use chrono::{DateTime, Duration, TimeZone, Utc};
use vitrine_models::{Actor, Interaction, InteractionKind, ProductId, UserId};
use vitrine_pipelines::{CatalogItem, TrainParams, append_interactions, train};
use vitrine_recommender::bundle::ModelBundle;

use crate::common::silent_progress;

fn purchase(user: &str, product: &str, at: DateTime<Utc>) -> Interaction {
    let user = Actor::User(UserId::new(user).expect("user"));
    Interaction::new(user, ProductId::new(product).expect("product"), InteractionKind::Purchase, 1, at).expect("valid")
}

/// An ordinary shop as of `as_of`: product `p{n}` bought `n + 1` times a day over the last
/// `2 + 3n` days, and as many times long before that, so every product has its own popularity
/// and trend.
fn ordinary_log(as_of: DateTime<Utc>) -> Vec<Interaction> {
    let mut log = Vec::new();
    for product in 0..6i64 {
        for day in 0..(2 + 3 * product) {
            for unit in 0..=product {
                let user = format!("u{product}-{day}-{unit}");
                log.push(purchase(&user, &format!("p{product}"), as_of - Duration::days(day) - Duration::hours(1)));
                log.push(purchase(&user, &format!("p{product}"), as_of - Duration::days(60 + 4 * day)));
            }
        }
    }
    log
}

fn catalog() -> Vec<CatalogItem> {
    (0..6)
        .map(|n| format!("p{n}"))
        .chain(["attack".to_owned()])
        .map(|id| CatalogItem { text: format!("product {id}"), id, group: None })
        .collect()
}

fn train_as_of(folder: &std::path::Path, as_of: DateTime<Utc>) -> ModelBundle {
    let mut params = TrainParams::recommended();
    params.min_interactions_for_ials = usize::MAX;
    params.content.min_df = 1;
    train("shop", folder, &catalog(), &params, ("m1", "2026-06-01T00:00:00Z"), as_of, &silent_progress())
        .expect("training")
}

/// Item id → score, for the products of the ordinary log.
fn scores(bundle: &ModelBundle, of: impl Fn(&ModelBundle) -> &[f32]) -> Vec<(String, f32)> {
    bundle.items.iter().zip(of(bundle)).map(|(id, score)| (id.clone(), *score)).collect()
}

fn all_distinct(values: &[f32]) -> bool {
    let mut sorted = values.to_vec();
    sorted.sort_by(f32::total_cmp);
    sorted.windows(2).all(|pair| pair[0] != pair[1])
}

#[test]
fn a_thousand_purchases_dated_2099_neither_take_over_trending_nor_flatten_the_other_scores() {
    let dir = tempfile::tempdir().expect("temp dir");
    let folder = dir.path().join("interactions");
    let as_of = Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 0).single().expect("time");
    append_interactions(&folder, &ordinary_log(as_of)).expect("ordinary events");
    let attack: Vec<Interaction> = (0..1_000)
        .map(|n| purchase(&format!("bot-{n}"), "attack", Utc.with_ymd_and_hms(2099, 1, 1, 0, 0, 0).unwrap()))
        .collect();
    append_interactions(&folder, &attack).expect("the attack");

    let bundle = train_as_of(&folder, as_of);
    let trending = scores(&bundle, |bundle| bundle.popularity.trending());
    let popular = scores(&bundle, |bundle| bundle.popularity.popular());
    let top = trending.iter().max_by(|a, b| a.1.total_cmp(&b.1)).expect("a top item");
    assert_ne!(top.0, "attack", "trending is not taken over: {trending:?}");
    let attack_scores = |scores: &[(String, f32)]| scores.iter().find(|(id, _)| id == "attack").map(|(_, s)| *s);
    assert_eq!(attack_scores(&trending), Some(0.0), "rows after the as-of instant are left out");
    assert_eq!(attack_scores(&popular), Some(0.0));

    let ordinary = |scores: &[(String, f32)]| -> Vec<f32> {
        scores.iter().filter(|(id, _)| id != "attack").map(|(_, score)| *score).collect()
    };
    assert!(all_distinct(&ordinary(&trending)), "every product keeps its own trend: {trending:?}");
    assert!(ordinary(&trending).iter().all(|&score| score > 0.0 && score != 1.0), "{trending:?}");
    assert!(all_distinct(&ordinary(&popular)), "{popular:?}");
    assert!(ordinary(&popular).iter().all(|&score| score > 0.1), "ages count from the as-of, not 2099: {popular:?}");
    assert_eq!(bundle.manifest.metrics.get("rows_after_as_of"), Some(&1_000.0));
    assert_eq!(bundle.manifest.counts.interactions, ordinary_log(as_of).len() as u64);
    assert_eq!(bundle.manifest.as_of.as_deref(), Some("2026-06-01T12:00:00.000Z"));
    assert_eq!(bundle.popularity.now(), as_of.timestamp());

    // Without the attack, the same scores: the future rows changed nothing.
    let clean = tempfile::tempdir().expect("temp dir");
    let clean_folder = clean.path().join("interactions");
    append_interactions(&clean_folder, &ordinary_log(as_of)).expect("ordinary events");
    let clean_bundle = train_as_of(&clean_folder, as_of);
    assert_eq!(scores(&clean_bundle, |bundle| bundle.popularity.trending()), trending);
    assert_eq!(scores(&clean_bundle, |bundle| bundle.popularity.popular()), popular);
}

#[test]
fn a_historical_dataset_trains_as_of_its_own_end() {
    let dir = tempfile::tempdir().expect("temp dir");
    let folder = dir.path().join("interactions");
    let end = Utc.with_ymd_and_hms(2010, 12, 9, 20, 0, 0).single().expect("time");
    append_interactions(&folder, &ordinary_log(end)).expect("a 2010 log");

    let (first, last) = vitrine_pipelines::interaction_time_range(&folder).expect("read").expect("rows");
    assert!(last <= end && last > end - Duration::days(1), "{last}");
    assert!(first < last);
    let replayed = train_as_of(&folder, last);
    let trending = scores(&replayed, |bundle| bundle.popularity.trending());
    assert!(all_distinct(&trending.iter().filter(|(id, _)| id != "attack").map(|(_, s)| *s).collect::<Vec<_>>()));
    assert_eq!(replayed.manifest.metrics.get("rows_after_as_of"), Some(&0.0));
    // Measured from 2026, the same purchases are 16 years old.
    let today = train_as_of(&folder, Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).single().expect("time"));
    assert!(today.manifest.metrics.get("days_since_newest_row").is_some_and(|&days| days > 5_000.0));
    assert!(replayed.manifest.metrics.get("days_since_newest_row").is_some_and(|&days| days < 1.0));
}
