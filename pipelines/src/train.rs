//! Training: from an index's interaction log and catalog to a [`ModelBundle`] of every model.
//!
//! 1. **Read** the interaction log (polars, every Parquet part; see [`crate::collect_interactions`])
//!    up to the run's **as-of** instant: rows dated after it are left out (and counted in the
//!    manifest's `rows_after_as_of`), never clamped, so events claiming a date in the future can
//!    neither dominate trending nor age every real event into insignificance. The as-of is the
//!    training time for a live shop, or the end of a historical dataset being replayed.
//!    The actor of a row is its user id, or `session:` + its session id for anonymous shoppers.
//! 2. **Weigh** each row by its kind ([`EventWeights`]: purchase > add to cart > click > view)
//!    and by its age: `2^(−age / half_life)`, the age counted back from the as-of instant (never
//!    from the newest row) in f64, so a shopper's taste of last year counts less than last
//!    week's.
//! 3. **Aggregate** with polars group-bys: users × items (the sum of weights) and baskets
//!    (one basket = one actor's rows of one calendar day, UTC: an order, or a visit).
//! 4. **Train** popularity and trending, item co-occurrence on the baskets, EASE on the users ×
//!    items recencies (up to [`SparseEaseParams::max_items`] items), implicit ALS on the users ×
//!    items weights (when there are enough interactions) and content vectors from the catalog's
//!    text (so that items nobody has bought yet have neighbours too).
//!
//! Items are every catalog product plus any product seen only in the log; users are every actor.

use std::collections::HashMap;
use std::time::Instant;

use chrono::{DateTime, SecondsFormat, Utc};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use polars::prelude::*;
use serde::{Deserialize, Serialize};
use vitrine_recommender::bundle::{Counts, Manifest, ModelBundle};
use vitrine_recommender::cooc::{self, CoocParams};
use vitrine_recommender::ease::{self, SparseEaseParams};
use vitrine_recommender::ials::{self, IalsParams};
use vitrine_recommender::matrix::Interactions;
use vitrine_recommender::popularity::{Popularity, PopularityParams};

use crate::content::{ContentParams, content_embeddings};
use crate::interaction_log::log_columns;
use crate::{PipelineError, collect_interactions};

const MILLIS_PER_DAY: f64 = 86_400_000.0;

/// How much each kind of interaction weighs in the users × items matrix and in popularity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EventWeights {
    /// A product page view.
    pub view: f32,
    /// A click on a search result or recommendation.
    pub click: f32,
    /// An add to cart.
    pub add_to_cart: f32,
    /// A purchase.
    pub purchase: f32,
}

impl Default for EventWeights {
    fn default() -> Self {
        EventWeights { view: 1.0, click: 2.0, add_to_cart: 4.0, purchase: 8.0 }
    }
}

/// Every parameter of a training run (stored in the model's manifest).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainParams {
    /// Weights of interaction kinds.
    pub event_weights: EventWeights,
    /// Half-life of an interaction's weight in the users × items matrix, in days (0 = no decay).
    pub half_life_days: f64,
    /// Popularity and trending.
    pub popularity: PopularityParams,
    /// Item co-occurrence.
    pub cooc: CoocParams,
    /// EASE on the users × items recencies (served sparse).
    pub ease: SparseEaseParams,
    /// Implicit ALS.
    pub ials: IalsParams,
    /// Fewest interactions for ALS to be trained (below, recommendations for users use
    /// co-occurrence and popularity).
    pub min_interactions_for_ials: usize,
    /// Content vectors.
    pub content: ContentParams,
}

impl TrainParams {
    /// The defaults, with a year-long half-life and ALS from 1,000 interactions.
    pub fn recommended() -> TrainParams {
        TrainParams { half_life_days: 365.0, min_interactions_for_ials: 1_000, ..TrainParams::default() }
    }
}

/// One catalog product as training sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct CatalogItem {
    /// Product id.
    pub id: String,
    /// Title, description, brand and category, joined: what content vectors are made of.
    pub text: String,
    /// Its group for diversification (the top-level category), if any.
    pub group: Option<String>,
}

/// Trains every model of index `index` from its interaction log in `log_folder` and `catalog`,
/// as of the instant `as_of`: ages are measured from it and rows dated after it are left out.
/// `model_id` and `trained_at` name the version. Progress goes to `progress`.
///
/// # Errors
/// A log that cannot be read, or content vectors that cannot be computed.
pub fn train(
    index: &str,
    log_folder: &std::path::Path,
    catalog: &[CatalogItem],
    params: &TrainParams,
    version: (&str, &str),
    as_of: DateTime<Utc>,
    progress: &MultiProgress,
) -> Result<ModelBundle, PipelineError> {
    let (model_id, trained_at) = version;
    let mut metrics = std::collections::BTreeMap::new();
    let step = Step::new(progress);

    let started = Instant::now();
    step.start("reading the interaction log");
    let as_of_ms = as_of.timestamp_millis();
    let (log, rows_after_as_of) = weighted_log(log_folder, params, as_of_ms)?;
    metrics.insert("rows_after_as_of".to_owned(), rows_after_as_of as f64);
    let interactions = log.height() as u64;
    let actors = log.column("actor")?.str()?;
    let products = log.column(log_columns::PRODUCT_ID)?.str()?;
    let timestamps = log.column(log_columns::TIMESTAMP_MS)?.i64()?;
    let weights = log.column("weight")?.f32()?;

    // Dense ids: catalog items first (in catalog order), then products seen only in the log.
    let mut item_ids: HashMap<String, u32> = HashMap::with_capacity(catalog.len());
    let mut items: Vec<String> = Vec::with_capacity(catalog.len());
    let mut item_groups: Vec<Option<String>> = Vec::with_capacity(catalog.len());
    let mut texts: Vec<String> = Vec::with_capacity(catalog.len());
    for item in catalog {
        if !item_ids.contains_key(&item.id) {
            item_ids.insert(item.id.clone(), items.len() as u32);
            items.push(item.id.clone());
            item_groups.push(item.group.clone());
            texts.push(item.text.clone());
        }
    }
    let mut user_ids: HashMap<String, u32> = HashMap::new();
    let mut users: Vec<String> = Vec::new();
    let mut rows: Vec<(u32, u32, f32, i64)> = Vec::with_capacity(log.height());
    for (((actor, product), timestamp), weight) in
        actors.iter().zip(products.iter()).zip(timestamps.iter()).zip(weights.iter())
    {
        let (Some(actor), Some(product), Some(timestamp), Some(weight)) = (actor, product, timestamp, weight) else {
            continue;
        };
        let item = *item_ids.entry(product.to_owned()).or_insert_with(|| {
            items.push(product.to_owned());
            item_groups.push(None);
            texts.push(String::new());
            (items.len() - 1) as u32
        });
        let user = *user_ids.entry(actor.to_owned()).or_insert_with(|| {
            users.push(actor.to_owned());
            (users.len() - 1) as u32
        });
        rows.push((user, item, weight, timestamp));
    }
    let (n_users, n_items) = (users.len(), items.len());
    if let Some(newest_ms) = rows.iter().map(|row| row.3).max() {
        // How stale the data is as of the run: a replayed dataset trained as of today shows here.
        metrics.insert("days_since_newest_row".to_owned(), (as_of_ms - newest_ms) as f64 / MILLIS_PER_DAY);
    }

    // Users × items, decayed from the as-of instant; baskets = actor × day.
    let decayed: Vec<(u32, u32, f32)> = rows
        .iter()
        .map(|&(user, item, weight, timestamp)| {
            (user, item, (f64::from(weight) * decay(as_of_ms, timestamp, params.half_life_days)) as f32)
        })
        .collect();
    let history = Interactions::from_triplets(n_users, n_items, &decayed);
    let mut basket_ids: HashMap<(u32, i64), u32> = HashMap::new();
    let basket_entries: Vec<(u32, u32, f32)> = rows
        .iter()
        .map(|&(user, item, _, timestamp)| {
            let next = basket_ids.len() as u32;
            let basket = *basket_ids.entry((user, timestamp.div_euclid(MILLIS_PER_DAY as i64))).or_insert(next);
            (basket, item, 1.0)
        })
        .collect();
    let baskets = Interactions::from_triplets(basket_ids.len(), n_items, &basket_entries).map_values(|_| 1.0);
    metrics.insert("read_seconds".to_owned(), started.elapsed().as_secs_f64());
    step.finish(format!("{interactions} interactions, {n_users} users, {n_items} items, {} baskets", baskets.n_rows()));

    step.start("popularity and trending");
    let started = Instant::now();
    let events: Vec<(u32, f32, i64)> =
        rows.iter().map(|&(_, item, weight, timestamp)| (item, weight, timestamp.div_euclid(1_000))).collect();
    let popularity = Popularity::fit(n_items, &events, as_of_ms.div_euclid(1_000), &params.popularity);
    metrics.insert("popularity_seconds".to_owned(), started.elapsed().as_secs_f64());
    step.finish("done".to_owned());

    step.start("co-occurrence");
    let started = Instant::now();
    let cooc = cooc::fit(&baskets, &params.cooc);
    metrics.insert("cooc_seconds".to_owned(), started.elapsed().as_secs_f64());
    step.finish("done".to_owned());

    let ease = if n_users > 0 && !rows.is_empty() {
        step.start(if n_items <= params.ease.max_items { "EASE" } else { "EASE (sparse approximate)" });
        let started = Instant::now();
        let pairs = rows.iter().map(|&(user, item, _, timestamp)| (user, item, timestamp.div_euclid(1_000)));
        let recency =
            ease::recency_matrix(n_users, n_items, pairs, as_of_ms.div_euclid(1_000), params.ease.half_life_days);
        let model = ease::fit_sparse(recency, &params.ease);
        metrics.insert("ease_seconds".to_owned(), started.elapsed().as_secs_f64());
        step.finish(format!("{n_items} items, {} weights kept", model.weights.len()));
        Some(model)
    } else {
        None
    };

    let ials = if rows.len() >= params.min_interactions_for_ials && n_users > 0 {
        let bar = progress.add(ProgressBar::new(params.ials.iterations as u64));
        bar.set_style(bar_style());
        bar.set_message("implicit ALS");
        let started = Instant::now();
        let mut iteration_seconds = Vec::new();
        let model = ials::train(&history, &params.ials, |stats| {
            iteration_seconds.push(stats.seconds);
            bar.inc(1);
        });
        bar.finish_with_message(format!("implicit ALS: {} factors", params.ials.factors));
        metrics.insert("ials_seconds".to_owned(), started.elapsed().as_secs_f64());
        iteration_seconds.sort_by(f64::total_cmp);
        if let Some(median) = iteration_seconds.get(iteration_seconds.len() / 2) {
            metrics.insert("ials_seconds_per_iteration".to_owned(), *median);
        }
        Some(model)
    } else {
        None
    };

    let content = if catalog.is_empty() {
        None
    } else {
        step.start("content vectors (TF-IDF)");
        let started = Instant::now();
        // Items seen only in the log have no text: their content vector is the zero vector.
        let vectors = content_embeddings(&texts, &params.content)?;
        metrics.insert("content_seconds".to_owned(), started.elapsed().as_secs_f64());
        step.finish(format!("{} dimensions", vectors.ncols()));
        Some(vectors)
    };

    let items_with_interactions = history.column_sums().iter().filter(|&&sum| sum > 0.0).count() as u64;
    let manifest = Manifest {
        model_id: model_id.to_owned(),
        index: index.to_owned(),
        trained_at: trained_at.to_owned(),
        as_of: Some(as_of.to_rfc3339_opts(SecondsFormat::Millis, true)),
        format: vitrine_recommender::bundle::FORMAT_VERSION,
        parameters: serde_json::to_value(params).unwrap_or_default(),
        counts: Counts {
            interactions,
            users: n_users as u64,
            items: n_items as u64,
            items_with_interactions,
            baskets: baskets.n_rows() as u64,
        },
        metrics,
    };
    Ok(ModelBundle { manifest, items, users, item_groups, history, popularity, cooc, ease, ials, content })
}

/// `2^(−age / half_life)` in f64 for an event at `timestamp_ms` as of `as_of_ms` (an age below 0,
/// which the as-of filter leaves out anyway, counts as 0); 1 with a half-life of 0.
fn decay(as_of_ms: i64, timestamp_ms: i64, half_life_days: f64) -> f64 {
    if half_life_days <= 0.0 {
        return 1.0;
    }
    let age_days = (as_of_ms.saturating_sub(timestamp_ms)).max(0) as f64 / MILLIS_PER_DAY;
    (-age_days / half_life_days).exp2()
}

/// The log up to `as_of_ms` with its actor and each row's kind weight (columns `actor`,
/// `product_id`, `timestamp_ms`, `weight`), and how many rows were dated after `as_of_ms`.
fn weighted_log(
    log_folder: &std::path::Path,
    params: &TrainParams,
    as_of_ms: i64,
) -> Result<(DataFrame, u64), PipelineError> {
    let weights = &params.event_weights;
    let kind = || col(log_columns::KIND);
    let weight = when(kind().eq(lit("purchase")))
        .then(lit(weights.purchase))
        .when(kind().eq(lit("add_to_cart")))
        .then(lit(weights.add_to_cart))
        .when(kind().eq(lit("click")))
        .then(lit(weights.click))
        .otherwise(lit(weights.view));
    let actor = when(col(log_columns::USER_ID).is_not_null())
        .then(col(log_columns::USER_ID))
        .otherwise(lit("session:") + col(log_columns::SESSION_ID));
    let in_time = col(log_columns::TIMESTAMP_MS).lt_eq(lit(as_of_ms));
    let log = collect_interactions(log_folder, |log| {
        log.select([
            actor.clone().alias("actor"),
            col(log_columns::PRODUCT_ID),
            col(log_columns::TIMESTAMP_MS),
            weight.clone().cast(DataType::Float32).alias("weight"),
            in_time.clone().alias("in_time"),
        ])
    })?;
    let Some(log) = log else {
        let empty = DataFrame::new(
            0,
            vec![
                Column::new("actor".into(), Vec::<String>::new()),
                Column::new(log_columns::PRODUCT_ID.into(), Vec::<String>::new()),
                Column::new(log_columns::TIMESTAMP_MS.into(), Vec::<i64>::new()),
                Column::new("weight".into(), Vec::<f32>::new()),
            ],
        )?;
        return Ok((empty, 0));
    };
    let in_time = log.column("in_time")?.bool()?.clone();
    let after = (in_time.len() - in_time.num_trues()) as u64;
    let log = log.filter(&in_time)?.drop("in_time")?;
    Ok((log, after))
}

fn bar_style() -> ProgressStyle {
    ProgressStyle::with_template("{msg:32} [{bar:30}] {pos}/{len} {elapsed}")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
}

/// A spinner per training step.
struct Step<'a> {
    progress: &'a MultiProgress,
    current: std::cell::RefCell<Option<ProgressBar>>,
}

impl<'a> Step<'a> {
    fn new(progress: &'a MultiProgress) -> Self {
        Step { progress, current: std::cell::RefCell::new(None) }
    }

    fn start(&self, name: &'static str) {
        let spinner = self.progress.add(ProgressBar::new_spinner());
        spinner.set_style(
            ProgressStyle::with_template("{spinner} {prefix:32} {msg} {elapsed}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        spinner.set_prefix(name);
        spinner.enable_steady_tick(std::time::Duration::from_millis(120));
        *self.current.borrow_mut() = Some(spinner);
    }

    fn finish(&self, message: String) {
        if let Some(spinner) = self.current.borrow_mut().take() {
            spinner.finish_with_message(message);
        }
    }
}
