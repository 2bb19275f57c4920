//! `vitrine bench experiments`: how the online experiments' statistics behave, measured by
//! replaying simulated shoppers over HTTP against a running server — the in-process one on
//! 127.0.0.1 (an ephemeral port) over the Home Depot index that `vitrine eval search` builds, or
//! one given with `--server`. Every search, event and experiment call is a real HTTP request.
//!
//! **Shoppers.** Each shopper is a new `session_id` and makes 1–3 searches (uniformly), each a
//! query drawn at random from the judged queries of the development half (`judgments_dev.csv`),
//! sent as typed with a trailing space (a submitted query: no prefix expansion of its last word,
//! as `vitrine eval search` sends them), a page of 10. The shopper's clicks follow a cascade
//! model with position bias ([`ClickModel`]): the results are examined top-down; an examined
//! result is clicked with a probability set by its judged relevance ([`click_probability`]), and
//! the shopper goes on to the next one with probability γ (0.9), or γ′ (0.5) after a click. The
//! clicks are sent as one `POST …/events` per shopper, each with its search's `query_id` and its
//! 1-based position.
//!
//! **Configurations.** A/A: an A/B test of the live settings against themselves (every
//! significant result is a false positive). A/B: a "plain BM25" draft ([`bm25_draft`]: no phrase
//! bonus, no popularity, rating or margin, no typo tolerance) as the control against the live
//! settings, a known better ranking (checked first with `POST …/settings/evaluate` on the same
//! judgments: both NDCG@10 are printed). Interleaving: the same pair, team-draft interleaved.
//!
//! **Runs.** Each configuration runs `--runs` experiments, one after the other (one experiment
//! runs per index and surface at a time): each a new experiment (a new id, hence a new random
//! split) with new session ids and its own seeded stream of shoppers, up to `--max-searches`
//! searches. The results are read (`GET …/experiments/{id}`) every `--look-every` searches, with
//! the shoppers of that slice finished and their events sent; a shopper whose searches straddle a
//! look finishes after it, under the same session. Recorded per look: the primary metric's
//! (interleaving: the preference's) always-valid and fixed-horizon p-values, `significant` and
//! the effect's sign. Reported per configuration and traffic size: the share of runs significant
//! by then (A/A: the false-positive rate, with its 95 % Wilson interval; otherwise the power,
//! counted only in the right direction), the fixed-horizon test's rejections at one look of that
//! size (valid) and at any look so far (peeking, invalid), and the searches needed. Every run's
//! record is written as JSON (`DATA_DIR/eval/experiments-bench.json` by default).

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::Context;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};
use hyper::{Method, Request, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use indicatif::{ProgressBar, ProgressStyle};
use rand::rngs::Xoshiro256PlusPlus;
use rand::{Rng, RngExt, SeedableRng};
use serde::Serialize;
use serde_json::{Value, json};
use vitrine_eval::search::{HomeDepot, JUDGMENTS_FILE, JudgedQuery};
use vitrine_indexer::Catalog;
use vitrine_models::settings::IndexSettings;
use vitrine_models::{DataDir, IndexName, Product, ProductDraft};

use crate::cli::{BenchExperimentsArgs, ExperimentConfiguration};
use crate::commands::runtime::runtime;
use crate::commands::{eval, serve};
use crate::config::ServerConfig;
use crate::http::AppState;

/// Results per search page.
const PAGE_SIZE: usize = 10;
/// The most searches one shopper makes (each makes 1 to this many, uniformly).
const MAX_SEARCHES_PER_SHOPPER: usize = 3;
/// The index `vitrine eval search` builds from the Home Depot titles.
const HOMEDEPOT_INDEX: &str = "homedepot";
/// Every experiment this benchmark starts is named so; a running one left by an interrupted run
/// is stopped at the start of the next.
const NAME_PREFIX: &str = "bench experiments: ";
/// How often a request answered `429 too_many_requests` is tried again.
const MAX_RETRIES: usize = 30;

/// P(click | examined) of an unjudged product, or one judged not relevant (a mean grade up to
/// [`NOT_RELEVANT_UP_TO`]): shoppers sometimes click what does not answer their query.
const NOISE_CLICK: f64 = 0.05;
/// Mean grades up to this are "not relevant" (1 = not, 2 = partly, 3 = highly relevant).
const NOT_RELEVANT_UP_TO: f64 = 1.5;
/// P(click | examined) of a product judged highly relevant (grade 3).
const TOP_CLICK: f64 = 0.6;

/// The probability that a shopper who examines a result clicks it, by the product's judged
/// relevance for the query (Home Depot's mean grade, 1–3; `None`: not judged): [`NOISE_CLICK`]
/// (0.05) up to a grade of 1.5, then linear up to [`TOP_CLICK`] (0.6) at 3 — a grade of 2
/// ("partly relevant") 0.23, 2.33 0.36, 2.67 0.48.
fn click_probability(relevance: Option<f64>) -> f64 {
    match relevance {
        None => NOISE_CLICK,
        Some(grade) if grade <= NOT_RELEVANT_UP_TO => NOISE_CLICK,
        Some(grade) => {
            let above = ((grade - NOT_RELEVANT_UP_TO) / (3.0 - NOT_RELEVANT_UP_TO)).min(1.0);
            NOISE_CLICK + above * (TOP_CLICK - NOISE_CLICK)
        }
    }
}

/// A cascade click model with position bias: the shopper examines the results from the top; at
/// each examined result they click with [`click_probability`], then examine the next with
/// probability `continue_probability` (γ), or `continue_after_click` (γ′, lower: a click often
/// satisfies) after a click; the first "no" ends the page.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
struct ClickModel {
    /// γ: P(examine result i + 1 | examined i and did not click it).
    continue_probability: f64,
    /// γ′: P(examine result i + 1 | clicked i).
    continue_after_click: f64,
}

impl ClickModel {
    /// The positions (0-based) clicked on a page whose results have these judged relevances.
    fn clicks(&self, relevances: &[Option<f64>], rng: &mut impl Rng) -> Vec<usize> {
        let mut clicked = Vec::new();
        for (position, relevance) in relevances.iter().enumerate() {
            let click = rng.random_bool(click_probability(*relevance));
            if click {
                clicked.push(position);
            }
            let go_on = if click { self.continue_after_click } else { self.continue_probability };
            if !rng.random_bool(go_on) {
                break;
            }
        }
        clicked
    }
}

/// The "plain BM25" draft the live settings are tested against: text relevance only — no phrase
/// bonus, no popularity, rating or margin (the Home Depot products have none of these signals
/// anyway), and no typo tolerance (words match exactly).
fn bm25_draft() -> Value {
    json!({
        "ranking": {"phrase": 0.0, "popularity": 0.0, "rating": 0.0, "margin": 0.0},
        "typo_tolerance": {"enabled": false}
    })
}

fn configuration_label(configuration: ExperimentConfiguration) -> &'static str {
    match configuration {
        ExperimentConfiguration::Aa => "A/A (live vs live)",
        ExperimentConfiguration::Ab => "A/B (BM25 draft vs live)",
        ExperimentConfiguration::Interleaving => "interleaving (BM25 draft vs live)",
    }
}

fn configuration_key(configuration: ExperimentConfiguration) -> &'static str {
    match configuration {
        ExperimentConfiguration::Aa => "aa",
        ExperimentConfiguration::Ab => "ab",
        ExperimentConfiguration::Interleaving => "interleaving",
    }
}

/// The name of the variant whose effect is measured against the control.
fn treatment_name(configuration: ExperimentConfiguration) -> &'static str {
    match configuration {
        ExperimentConfiguration::Aa => "b",
        ExperimentConfiguration::Ab | ExperimentConfiguration::Interleaving => "live",
    }
}

/// The body of `POST …/experiments` for one run.
fn definition(configuration: ExperimentConfiguration, run: usize, alpha: f64) -> Value {
    let name = format!("{NAME_PREFIX}{} run {}", configuration_key(configuration), run + 1);
    let (kind, variants) = match configuration {
        ExperimentConfiguration::Aa => {
            ("ab", json!([{"name": "a", "settings": "live"}, {"name": "b", "settings": "live"}]))
        }
        ExperimentConfiguration::Ab | ExperimentConfiguration::Interleaving => (
            if configuration == ExperimentConfiguration::Ab { "ab" } else { "interleaving" },
            json!([{"name": "bm25", "settings": bm25_draft()}, {"name": "live", "settings": "live"}]),
        ),
    };
    json!({"name": name, "kind": kind, "variants": variants, "primary_metric": "click_through_rate", "alpha": alpha})
}

/// Which key a request is sent with.
#[derive(Debug, Clone, Copy)]
enum Key {
    Admin,
    Search,
}

/// The server under test, reached over HTTP only. Cheap to clone.
#[derive(Debug, Clone)]
struct Api {
    client: Client<HttpConnector, Full<Bytes>>,
    base: Arc<str>,
    index: Arc<str>,
    admin_key: Option<Arc<str>>,
    search_key: Option<Arc<str>>,
}

impl Api {
    fn new(base: &str, index: &str, admin_key: Option<&str>, search_key: Option<&str>) -> Api {
        // Idle connections are dropped before the server's header-read timeout (10 s by default)
        // would close them under a request.
        let client = Client::builder(TokioExecutor::new()).pool_idle_timeout(Duration::from_secs(5)).build_http();
        Api {
            client,
            base: base.trim_end_matches('/').into(),
            index: index.into(),
            admin_key: admin_key.map(Into::into),
            search_key: search_key.map(Into::into),
        }
    }

    /// `/v1/indexes/{index}{rest}`.
    fn path(&self, rest: &str) -> String {
        format!("/v1/indexes/{}{rest}", self.index)
    }

    /// Sends one request (again after `Retry-After` while it is answered 429) and reads the JSON
    /// answer (`Null` for an empty body).
    async fn send(
        &self,
        method: &Method,
        path: &str,
        key: Key,
        body: Option<&Value>,
    ) -> anyhow::Result<(StatusCode, Value)> {
        let body = body.map(|body| Bytes::from(body.to_string()));
        let key = match key {
            Key::Admin => self.admin_key.as_deref(),
            Key::Search => self.search_key.as_deref(),
        };
        let mut attempts = 0;
        loop {
            let mut request = Request::builder().method(method.clone()).uri(format!("{}{path}", self.base));
            if let Some(key) = key {
                request = request.header(AUTHORIZATION, format!("Bearer {key}"));
            }
            let request = match &body {
                Some(bytes) => request.header(CONTENT_TYPE, "application/json").body(Full::new(bytes.clone()))?,
                None => request.body(Full::new(Bytes::new()))?,
            };
            let response = self.client.request(request).await.with_context(|| format!("{method} {path}"))?;
            let status = response.status();
            let retry_after =
                response.headers().get(RETRY_AFTER).and_then(|value| value.to_str().ok()?.trim().parse::<u64>().ok());
            let bytes = response.into_body().collect().await.with_context(|| format!("{method} {path}"))?.to_bytes();
            if status == StatusCode::TOO_MANY_REQUESTS && attempts < MAX_RETRIES {
                attempts += 1;
                tokio::time::sleep(Duration::from_secs(retry_after.unwrap_or(1).clamp(1, 10))).await;
                continue;
            }
            let value = if bytes.is_empty() {
                Value::Null
            } else {
                serde_json::from_slice(&bytes).with_context(|| {
                    format!(
                        "{method} {path} answered {status} with a body that is not JSON: {}",
                        String::from_utf8_lossy(&bytes)
                    )
                })?
            };
            return Ok((status, value));
        }
    }

    /// [`Api::send`], failing unless the answer has the `expected` status.
    async fn expect(
        &self,
        method: &Method,
        path: &str,
        key: Key,
        body: Option<&Value>,
        expected: StatusCode,
    ) -> anyhow::Result<Value> {
        let (status, answer) = self.send(method, path, key, body).await?;
        anyhow::ensure!(status == expected, "{method} {path} answered {status} (expected {expected}): {answer}");
        Ok(answer)
    }
}

/// A number at `pointer` in `value`.
fn number(value: &Value, pointer: &str) -> anyhow::Result<f64> {
    value.pointer(pointer).and_then(Value::as_f64).with_context(|| format!("no number at {pointer} in {value}"))
}

/// One planned search of a run.
#[derive(Debug, Clone, Copy)]
struct PlannedSearch {
    /// The shopper (its number within the run).
    shopper: usize,
    /// The judged query (its position among the development queries).
    query: usize,
}

/// The searches of one run, in order: shoppers of 1–[`MAX_SEARCHES_PER_SHOPPER`] searches, each a
/// random judged query, cut at `searches`.
fn plan(searches: usize, queries: usize, rng: &mut impl Rng) -> Vec<PlannedSearch> {
    let mut planned = Vec::with_capacity(searches + MAX_SEARCHES_PER_SHOPPER);
    let mut shopper = 0;
    while planned.len() < searches {
        for _ in 0..rng.random_range(1..=MAX_SEARCHES_PER_SHOPPER) {
            planned.push(PlannedSearch { shopper, query: rng.random_range(0..queries) });
        }
        shopper += 1;
    }
    planned.truncate(searches);
    planned
}

/// The searches (numbers in the run's plan) one shopper makes between two looks.
#[derive(Debug, Clone)]
struct Part {
    shopper: usize,
    searches: std::ops::Range<usize>,
}

/// The shoppers' parts of the plan's searches `range`: runs of consecutive searches by one shopper.
fn parts(plan: &[PlannedSearch], range: std::ops::Range<usize>) -> Vec<Part> {
    let mut parts: Vec<Part> = Vec::new();
    for number in range {
        let shopper = plan[number].shopper;
        match parts.last_mut() {
            Some(part) if part.shopper == shopper => part.searches.end = number + 1,
            _ => parts.push(Part { shopper, searches: number..number + 1 }),
        }
    }
    parts
}

/// The points (searches sent) at which the results are read: every `every`, and at `max`.
fn look_points(max: usize, every: usize) -> Vec<usize> {
    let mut points: Vec<usize> = (1..).map(|k| k * every).take_while(|&point| point < max).collect();
    points.push(max);
    points
}

/// The traffic sizes reported: those asked for (by default an eighth, a quarter, a half and all
/// of `max`), each moved down to the look at or below it.
fn report_sizes(requested: &[usize], looks: &[usize], max: usize) -> Vec<usize> {
    let wanted = if requested.is_empty() { vec![max / 8, max / 4, max / 2, max] } else { requested.to_vec() };
    let mut sizes: Vec<usize> =
        wanted.iter().filter_map(|&size| looks.iter().copied().filter(|&point| point <= size).max()).collect();
    sizes.sort_unstable();
    sizes.dedup();
    sizes
}

/// What one run shares between its shoppers.
#[derive(Debug)]
struct RunContext {
    experiment_id: String,
    plan: Vec<PlannedSearch>,
    queries: Arc<Vec<JudgedQuery>>,
    model: ClickModel,
    /// The seed of the run's clicks (each search's generator is seeded from it and its number).
    seed: u64,
    /// The variant each shopper was answered by (A/B tests are sticky per shopper).
    variant_of: Mutex<HashMap<usize, String>>,
}

impl RunContext {
    fn session(&self, shopper: usize) -> String {
        format!("sim-{}-{shopper}", self.experiment_id)
    }
}

/// What the shoppers of a run did (and what looked wrong in the answers).
#[derive(Debug, Clone, Copy, Default, Serialize)]
struct Traffic {
    searches: u64,
    clicked_searches: u64,
    clicks: u64,
    /// Answers without this run's `experiment` tag.
    untagged_answers: u64,
    /// A/B answers whose variant differed from the shopper's earlier answers.
    variant_switches: u64,
}

impl Traffic {
    fn add(&mut self, other: Traffic) {
        self.searches += other.searches;
        self.clicked_searches += other.clicked_searches;
        self.clicks += other.clicks;
        self.untagged_answers += other.untagged_answers;
        self.variant_switches += other.variant_switches;
    }
}

/// One shopper's searches of `part`, their clicks, and one `POST …/events` with the clicks.
async fn shop(api: &Api, run: &RunContext, part: &Part, bar: &ProgressBar) -> anyhow::Result<Traffic> {
    let session = run.session(part.shopper);
    let search_path = api.path("/search");
    let mut traffic = Traffic::default();
    let mut events = Vec::new();
    for number in part.searches.clone() {
        let query = &run.queries[run.plan[number].query];
        let body = json!({"q": format!("{} ", query.text), "per_page": PAGE_SIZE, "session_id": session});
        let answer = api.expect(&Method::POST, &search_path, Key::Search, Some(&body), StatusCode::OK).await?;
        let query_id = answer["query_id"].as_str().context("a search answer without `query_id`")?.to_owned();
        match (answer["experiment"]["id"].as_str(), answer["experiment"]["variant"].as_str()) {
            (Some(id), Some(variant)) if id == run.experiment_id => {
                let mut variant_of = run.variant_of.lock().unwrap_or_else(PoisonError::into_inner);
                let first = variant_of.entry(part.shopper).or_insert_with(|| variant.to_owned());
                traffic.variant_switches += u64::from(first != variant);
            }
            _ => traffic.untagged_answers += 1,
        }
        let ids: Vec<&str> = answer["hits"]
            .as_array()
            .context("a search answer without `hits`")?
            .iter()
            .filter_map(|hit| hit["id"].as_str())
            .collect();
        let relevances: Vec<Option<f64>> = ids.iter().map(|id| query.judgments.get(*id).copied()).collect();
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(run.seed ^ (number as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let clicked = run.model.clicks(&relevances, &mut rng);
        traffic.searches += 1;
        traffic.clicked_searches += u64::from(!clicked.is_empty());
        traffic.clicks += clicked.len() as u64;
        for position in clicked {
            events.push(json!({"type": "click", "product_id": ids[position], "query_id": query_id,
                "session_id": session, "position": position + 1}));
        }
        bar.inc(1);
    }
    if !events.is_empty() {
        let answer = api
            .expect(&Method::POST, &api.path("/events"), Key::Search, Some(&Value::Array(events)), StatusCode::ACCEPTED)
            .await?;
        anyhow::ensure!(answer["recorded"].as_u64() == Some(traffic.clicks), "events not all recorded: {answer}");
    }
    Ok(traffic)
}

/// Runs the shoppers' `parts` from `concurrency` clients at once; returns when all are done.
async fn run_slice(
    api: &Api,
    run: &Arc<RunContext>,
    parts: Vec<Part>,
    concurrency: usize,
    bar: &ProgressBar,
) -> anyhow::Result<Traffic> {
    let parts = Arc::new(parts);
    let next = Arc::new(AtomicUsize::new(0));
    let mut clients = tokio::task::JoinSet::new();
    for _ in 0..concurrency.min(parts.len()) {
        let (api, run, parts, next, bar) = (api.clone(), run.clone(), parts.clone(), next.clone(), bar.clone());
        clients.spawn(async move {
            let mut traffic = Traffic::default();
            while let Some(part) = parts.get(next.fetch_add(1, Ordering::Relaxed)) {
                traffic.add(shop(&api, &run, part, &bar).await?);
            }
            anyhow::Ok(traffic)
        });
    }
    let mut traffic = Traffic::default();
    while let Some(done) = clients.join_next().await {
        traffic.add(done.context("a shopper's task failed")??);
    }
    Ok(traffic)
}

/// The statistics of one look at an experiment's results.
#[derive(Debug, Clone, Serialize)]
struct Look {
    /// Searches sent so far.
    searches: usize,
    /// Searches the server counted (its variants' `searches`).
    counted: u64,
    /// A/B: the primary metric's `difference` (treatment − control click-through rate);
    /// interleaving: the treatment's preference `share` − ½.
    effect: f64,
    always_valid_p_value: f64,
    fixed_p_value: f64,
    /// The server's `significant` (always-valid p ≤ α).
    significant: bool,
    /// Milliseconds the `GET` took.
    milliseconds: f64,
}

/// The look in `answer` (a `GET …/experiments/{id}`), after `searches` searches.
fn read_look(answer: &Value, configuration: ExperimentConfiguration, searches: usize) -> anyhow::Result<Look> {
    let counted = answer["results"]["variants"]
        .as_array()
        .context("results without `variants`")?
        .iter()
        .filter_map(|variant| variant["searches"].as_u64())
        .sum();
    let (effect, tested) = match configuration {
        ExperimentConfiguration::Interleaving => {
            let preference = &answer["results"]["interleaving"]["preference"];
            (number(preference, "/share")? - 0.5, preference)
        }
        ExperimentConfiguration::Aa | ExperimentConfiguration::Ab => {
            let treatment = treatment_name(configuration);
            let primary = answer["results"]["comparisons"]
                .as_array()
                .context("results without `comparisons`")?
                .iter()
                .find(|row| row["primary"] == true && row["variant"] == treatment)
                .with_context(|| format!("no primary comparison of `{treatment}` in {answer}"))?;
            (number(primary, "/difference")?, primary)
        }
    };
    Ok(Look {
        searches,
        counted,
        effect,
        always_valid_p_value: number(tested, "/always_valid_p_value")?,
        fixed_p_value: number(tested, "/fixed_p_value")?,
        significant: tested["significant"].as_bool().context("no `significant`")?,
        milliseconds: 0.0,
    })
}

/// The first look at which the server said `significant`.
#[derive(Debug, Clone, Copy, Serialize)]
struct FirstSignificant {
    searches: usize,
    /// The effect had the expected sign (treatment better); for A/A, whichever sign it had.
    right_direction: bool,
}

/// Everything one run recorded.
#[derive(Debug, Clone, Serialize)]
struct RunRecord {
    configuration: &'static str,
    run: usize,
    experiment_id: String,
    seed: u64,
    looks: Vec<Look>,
    first_significant: Option<FirstSignificant>,
    traffic: Traffic,
    /// The final results' variants, sample-ratio check and interleaving counts, as the server
    /// answered them when the experiment was stopped.
    final_variants: Value,
    final_sample_ratio: Value,
    final_interleaving: Value,
    /// Milliseconds `POST …/experiments` took.
    create_milliseconds: f64,
    seconds: f64,
}

impl RunRecord {
    /// Whether this run counts as significant by `size` searches (for A/A: either direction).
    fn significant_by(&self, size: usize, configuration: ExperimentConfiguration) -> bool {
        self.first_significant.is_some_and(|first| {
            first.searches <= size && (configuration == ExperimentConfiguration::Aa || first.right_direction)
        })
    }

    fn wrong_direction_by(&self, size: usize) -> bool {
        self.first_significant.is_some_and(|first| first.searches <= size && !first.right_direction)
    }

    /// A fixed-horizon rejection (in the counted direction) at `look`.
    fn fixed_rejects(look: &Look, alpha: f64, configuration: ExperimentConfiguration) -> bool {
        look.fixed_p_value <= alpha && (configuration == ExperimentConfiguration::Aa || look.effect > 0.0)
    }

    /// Times the always-valid p-value rose from one look to the next (it should never), and the
    /// largest rise.
    fn p_value_rises(&self) -> (usize, f64) {
        let rises: Vec<f64> = self
            .looks
            .windows(2)
            .map(|pair| pair[1].always_valid_p_value - pair[0].always_valid_p_value)
            .filter(|rise| *rise > 1e-12)
            .collect();
        (rises.len(), rises.iter().copied().fold(0.0, f64::max))
    }

    /// Whether a look said `significant` and a later one did not.
    fn lost_significance(&self) -> bool {
        self.looks
            .iter()
            .position(|look| look.significant)
            .is_some_and(|first| self.looks[first..].iter().any(|look| !look.significant))
    }
}

/// What is fixed for every run of a configuration.
#[derive(Debug, Clone, Copy)]
struct Settings<'a> {
    args: &'a BenchExperimentsArgs,
    model: ClickModel,
    looks: &'a [usize],
}

/// One experiment: created, fed and read at every look, stopped (also when feeding failed).
async fn run_experiment(
    api: &Api,
    queries: &Arc<Vec<JudgedQuery>>,
    configuration: ExperimentConfiguration,
    run: usize,
    settings: Settings<'_>,
    bar: &ProgressBar,
) -> anyhow::Result<RunRecord> {
    let started = Instant::now();
    let args = settings.args;
    let body = definition(configuration, run, args.alpha);
    let created =
        api.expect(&Method::POST, &api.path("/experiments"), Key::Admin, Some(&body), StatusCode::CREATED).await?;
    let create_milliseconds = started.elapsed().as_secs_f64() * 1000.0;
    let experiment_id = created["id"].as_str().context("a created experiment without `id`")?.to_owned();
    let experiment_path = api.path(&format!("/experiments/{experiment_id}"));
    // Each run its own stream of shoppers, whatever the order the runs are made in.
    let seed = args.seed ^ ((configuration as u64 + 1) << 48) ^ (run as u64).wrapping_mul(0xA076_1D64_78BD_642F);
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let context = Arc::new(RunContext {
        experiment_id: experiment_id.clone(),
        plan: plan(args.max_searches, queries.len(), &mut rng),
        queries: queries.clone(),
        model: settings.model,
        seed: rng.random(),
        variant_of: Mutex::default(),
    });
    let mut traffic = Traffic::default();
    let fed: anyhow::Result<Vec<Look>> = async {
        let mut looks = Vec::with_capacity(settings.looks.len());
        let mut sent = 0;
        for &point in settings.looks {
            traffic.add(run_slice(api, &context, parts(&context.plan, sent..point), args.concurrency, bar).await?);
            sent = point;
            let asked = Instant::now();
            let answer = api.expect(&Method::GET, &experiment_path, Key::Admin, None, StatusCode::OK).await?;
            let mut look = read_look(&answer, configuration, sent)?;
            look.milliseconds = asked.elapsed().as_secs_f64() * 1000.0;
            looks.push(look);
        }
        Ok(looks)
    }
    .await;
    // Stopped whatever happened: the next experiment on this index and surface needs it.
    let stopped = api.expect(&Method::POST, &format!("{experiment_path}/stop"), Key::Admin, None, StatusCode::OK).await;
    let looks = fed?;
    let stopped = stopped?;
    let first_significant = looks.iter().find(|look| look.significant).map(|look| FirstSignificant {
        searches: look.searches,
        right_direction: configuration == ExperimentConfiguration::Aa || look.effect > 0.0,
    });
    Ok(RunRecord {
        configuration: configuration_key(configuration),
        run: run + 1,
        experiment_id,
        seed,
        looks,
        first_significant,
        traffic,
        final_variants: stopped["results"]["variants"].clone(),
        final_sample_ratio: stopped["results"]["sample_ratio"].clone(),
        final_interleaving: stopped["results"]["interleaving"].clone(),
        create_milliseconds,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Stops the experiments an interrupted run of this benchmark left running on the index's search;
/// fails if another experiment runs there (it would refuse ours).
async fn stop_leftovers(api: &Api) -> anyhow::Result<()> {
    let list = api.expect(&Method::GET, &api.path("/experiments"), Key::Admin, None, StatusCode::OK).await?;
    for experiment in list["results"].as_array().context("an experiment list without `results`")? {
        if experiment["status"] != "running" || experiment["surface"] != "search" {
            continue;
        }
        let (id, name) =
            (experiment["id"].as_str().unwrap_or_default(), experiment["name"].as_str().unwrap_or_default());
        anyhow::ensure!(
            name.starts_with(NAME_PREFIX),
            "experiment `{name}` ({id}) runs on the index's search: stop it first (one runs at a time)"
        );
        println!("stopping experiment `{name}` ({id}), left running by an earlier run");
        let path = api.path(&format!("/experiments/{id}/stop"));
        api.expect(&Method::POST, &path, Key::Admin, None, StatusCode::OK).await?;
    }
    Ok(())
}

/// The offline check of the pair under test, through `POST …/settings/evaluate` on the same
/// judgments: the BM25 draft against the live settings.
#[derive(Debug, Clone, Serialize)]
struct OfflineCheck {
    queries: u64,
    /// `(metric, live, draft, p-value)` of each metric, as the server answered.
    rows: Vec<(String, f64, f64, f64)>,
}

impl OfflineCheck {
    fn ndcg(&self) -> Option<(f64, f64, f64)> {
        self.rows.iter().find(|row| row.0.starts_with("NDCG@10")).map(|row| (row.1, row.2, row.3))
    }
}

/// The check, on `judgments` (the text of the judgments file).
async fn offline_check(api: &Api, judgments: &str) -> anyhow::Result<OfflineCheck> {
    let body = json!({"draft": bm25_draft(), "judgments": judgments, "typos": false});
    let path = api.path("/settings/evaluate");
    let answer = api.expect(&Method::POST, &path, Key::Admin, Some(&body), StatusCode::OK).await?;
    let rows = answer["comparison"]
        .as_array()
        .context("an evaluation without `comparison`")?
        .iter()
        .map(|row| {
            let metric = row["metric"].as_str().context("a row without `metric`")?.to_owned();
            Ok((metric, number(row, "/live")?, number(row, "/draft")?, number(row, "/p_value")?))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(OfflineCheck { queries: answer["queries"].as_u64().unwrap_or_default(), rows })
}

/// The Home Depot index of `vitrine eval search` (`DATA_DIR/eval`, index `homedepot`), reused when
/// it holds every valid title with the default settings (else built afresh, as that command
/// does), and the development half's judged queries.
fn prepare_homedepot(
    data_dir: &DataDir,
    dataset_dir: &Path,
    rebuild: bool,
) -> anyhow::Result<(Vec<JudgedQuery>, Catalog)> {
    let catalog = Catalog::new(data_dir.eval_data());
    let name = IndexName::new(HOMEDEPOT_INDEX)?;
    if !rebuild && catalog.exists(&name) {
        let dataset = HomeDepot::load(dataset_dir)
            .with_context(|| format!("cannot load the Home Depot judgments from {}", dataset_dir.display()))?;
        let valid = dataset
            .products
            .iter()
            .filter(|(uid, title)| {
                Product::try_from(ProductDraft { id: uid.clone(), title: title.clone(), ..ProductDraft::default() })
                    .is_ok()
            })
            .count() as u64;
        let products = catalog.summary(&name)?.products;
        let default_settings = *catalog.get(&name)?.settings() == IndexSettings::default();
        if products == valid && default_settings {
            println!(
                "reusing the index `{HOMEDEPOT_INDEX}` in {} ({products} products); {} judged queries",
                data_dir.eval().display(),
                dataset.queries.len()
            );
            return Ok((dataset.queries, catalog));
        }
        println!(
            "the index `{HOMEDEPOT_INDEX}` has {products} products (expected {valid}){}: rebuilding it",
            if default_settings { "" } else { " and settings changed from the defaults" }
        );
    }
    drop(catalog);
    let (dataset, _) = eval::search::build_homedepot(data_dir, dataset_dir)?;
    Ok((dataset.queries, Catalog::new(data_dir.eval_data())))
}

/// The runs of one configuration, summarised at each traffic size.
#[derive(Debug, Clone, Serialize)]
struct SizeSummary {
    searches: usize,
    /// Runs significant (always-valid) by then: for A/A in either direction, else in the right one.
    significant: usize,
    /// The share's 95 % Wilson interval.
    wilson_95: (f64, f64),
    /// Runs significant by then in the wrong direction (A/B, interleaving).
    wrong_direction: usize,
    /// Runs whose look at this size (one look, fixed horizon) had fixed p ≤ α.
    fixed_at_this_look: usize,
    /// Runs with fixed p ≤ α at any look so far (peeking).
    fixed_at_any_look: usize,
}

fn summarise(
    records: &[RunRecord],
    configuration: ExperimentConfiguration,
    sizes: &[usize],
    alpha: f64,
) -> Vec<SizeSummary> {
    sizes
        .iter()
        .map(|&size| {
            let significant = records.iter().filter(|record| record.significant_by(size, configuration)).count();
            let rejects = |look: &Look| RunRecord::fixed_rejects(look, alpha, configuration);
            SizeSummary {
                searches: size,
                significant,
                wilson_95: wilson(significant, records.len()),
                wrong_direction: if configuration == ExperimentConfiguration::Aa {
                    0
                } else {
                    records.iter().filter(|record| record.wrong_direction_by(size)).count()
                },
                fixed_at_this_look: records
                    .iter()
                    .filter(|record| record.looks.iter().any(|look| look.searches == size && rejects(look)))
                    .count(),
                fixed_at_any_look: records
                    .iter()
                    .filter(|record| record.looks.iter().any(|look| look.searches <= size && rejects(look)))
                    .count(),
            }
        })
        .collect()
}

/// The 95 % Wilson score interval of a binomial share `successes / n`.
fn wilson(successes: usize, n: usize) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    const Z: f64 = 1.959_963_984_540_054;
    let (n, p) = (n as f64, successes as f64 / n as f64);
    let denominator = 1.0 + Z * Z / n;
    let centre = (p + Z * Z / (2.0 * n)) / denominator;
    let half = Z * (p * (1.0 - p) / n + Z * Z / (4.0 * n * n)).sqrt() / denominator;
    ((centre - half).max(0.0), (centre + half).min(1.0))
}

fn median(values: &mut [usize]) -> Option<f64> {
    values.sort_unstable();
    let middle = values.len() / 2;
    match values.len() {
        0 => None,
        n if n % 2 == 1 => Some(values[middle] as f64),
        _ => Some((values[middle - 1] + values[middle]) as f64 / 2.0),
    }
}

fn percent(count: usize, of: usize) -> String {
    if of == 0 { "-".to_owned() } else { format!("{count}/{of} ({:.0} %)", 100.0 * count as f64 / of as f64) }
}

/// The mean over runs of the final click-through rate of each variant (A/B) or of the treatment's
/// preference share (interleaving), for people.
fn final_effect(records: &[RunRecord], configuration: ExperimentConfiguration) -> String {
    let runs = records.len().max(1) as f64;
    match configuration {
        ExperimentConfiguration::Interleaving => {
            let mean = |field: &str| {
                records
                    .iter()
                    .filter_map(|record| record.final_interleaving.get(field).and_then(Value::as_f64))
                    .sum::<f64>()
                    / runs
            };
            let share: f64 = records
                .iter()
                .filter_map(|record| record.final_interleaving["preference"]["share"].as_f64())
                .sum::<f64>()
                / runs;
            format!(
                "live's share of decided searches {share:.3} (wins {:.0} live / {:.0} BM25, {:.0} ties per run)",
                mean("treatment_wins"),
                mean("control_wins"),
                mean("ties")
            )
        }
        ExperimentConfiguration::Aa | ExperimentConfiguration::Ab => {
            let mut rates: Vec<(String, f64)> = Vec::new();
            for record in records {
                for variant in record.final_variants.as_array().into_iter().flatten() {
                    let name = variant["name"].as_str().unwrap_or_default();
                    let rate = variant["click_through_rate"].as_f64().unwrap_or_default() / runs;
                    match rates.iter_mut().find(|(known, _)| known == name) {
                        Some((_, sum)) => *sum += rate,
                        None => rates.push((name.to_owned(), rate)),
                    }
                }
            }
            let rates: Vec<String> = rates.iter().map(|(name, rate)| format!("{name} {rate:.4}")).collect();
            format!("CTR {}", rates.join(", "))
        }
    }
}

/// The whole report, as written to the JSON file.
#[derive(Debug, Serialize)]
struct Report<'a> {
    command: String,
    server: String,
    index: &'a str,
    alpha: f64,
    runs: usize,
    max_searches: usize,
    look_every: usize,
    concurrency: usize,
    seed: u64,
    click_model: ClickModel,
    click_probabilities: Vec<(&'static str, f64)>,
    bm25_draft: Value,
    offline: &'a OfflineCheck,
    configurations: Vec<ConfigurationReport<'a>>,
    seconds: f64,
}

#[derive(Debug, Serialize)]
struct ConfigurationReport<'a> {
    configuration: &'static str,
    label: &'static str,
    seconds: f64,
    sizes: Vec<SizeSummary>,
    runs: &'a [RunRecord],
}

/// Where the benchmark's server is.
#[derive(Debug)]
enum Target {
    /// This process's own server over the eval data directory's Home Depot index.
    InProcess(Catalog),
    /// One already running.
    Remote,
}

pub(in crate::commands) fn run(data_dir: &DataDir, args: &BenchExperimentsArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.runs >= 1 && args.max_searches >= 1, "--runs and --max-searches must be at least 1");
    anyhow::ensure!(args.look_every >= 1 && args.concurrency >= 1, "--look-every and --concurrency must be at least 1");
    anyhow::ensure!((0.001..=0.2).contains(&args.alpha), "--alpha must be between 0.001 and 0.2 (as the server's)");
    for (flag, value) in
        [("--continue-probability", args.continue_probability), ("--continue-after-click", args.continue_after_click)]
    {
        anyhow::ensure!((0.0..=1.0).contains(&value), "{flag} is a probability (0 to 1)");
    }
    let mut configurations = args.configurations.clone();
    configurations.dedup();
    let model =
        ClickModel { continue_probability: args.continue_probability, continue_after_click: args.continue_after_click };
    let looks = look_points(args.max_searches, args.look_every);
    let sizes = report_sizes(&args.sizes, &looks, args.max_searches);
    let started = Instant::now();

    let (queries, target, base, index) = match &args.server {
        None => {
            let (queries, catalog) = prepare_homedepot(data_dir, &args.dataset, args.rebuild)?;
            (queries, Target::InProcess(catalog), None, HOMEDEPOT_INDEX.to_owned())
        }
        Some(url) => {
            anyhow::ensure!(
                url.starts_with("http://"),
                "--server takes an http:// URL (this client speaks plain HTTP/1.1)"
            );
            let dataset = HomeDepot::load(&args.dataset)
                .with_context(|| format!("cannot load the Home Depot judgments from {}", args.dataset.display()))?;
            let index = args.index.clone().unwrap_or_else(|| HOMEDEPOT_INDEX.to_owned());
            (dataset.queries, Target::Remote, Some(url.clone()), index)
        }
    };
    let queries = Arc::new(queries);
    let judgments_path = args.dataset.join(JUDGMENTS_FILE);
    let judgments = std::fs::read_to_string(&judgments_path)
        .with_context(|| format!("cannot read {}", judgments_path.display()))?;
    let runtime = runtime()?;
    let (offline, records, server_name) = runtime.block_on(async {
        // The in-process server: `vitrine serve`'s, without keys or rate limits, on an ephemeral port.
        let (base, server, shutdown) = match target {
            Target::Remote => (base.unwrap_or_default(), None, None),
            Target::InProcess(catalog) => {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
                let address = listener.local_addr()?;
                let analytics = serve::open_analytics(catalog.data_dir()).await?;
                // The offline evaluation of every judged query is one request: more time for it.
                let config = ServerConfig { request_timeout: Duration::from_secs(600), ..ServerConfig::default() };
                let state = AppState::with_analytics(config, catalog, analytics);
                let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
                let server = tokio::spawn(serve::serve_until(listener, state, async move {
                    let _ = stopped.await;
                }));
                (format!("http://{address}"), Some(server), Some(stop))
            }
        };
        // The keys are `--server`'s; the in-process server has none.
        let keys = |key: &Option<String>| if args.server.is_some() { key.clone() } else { None };
        let api = Api::new(&base, &index, keys(&args.admin_key).as_deref(), keys(&args.search_key).as_deref());
        let settings = Settings { args, model, looks: &looks };
        let measured = measure(&api, &queries, &judgments, &configurations, settings).await;
        drop(api);
        if let Some(shutdown) = shutdown {
            let _ = shutdown.send(());
        }
        if let Some(server) = server {
            server.await.context("the in-process server's task")??;
        }
        let (offline, records) = measured?;
        let server_name = if args.server.is_some() { base } else { format!("in-process ({base})") };
        anyhow::Ok((offline, records, server_name))
    })?;
    let seconds = started.elapsed().as_secs_f64();

    // The report.
    let summaries: Vec<(ExperimentConfiguration, f64, Vec<SizeSummary>)> = records
        .iter()
        .map(|(configuration, seconds, runs)| {
            (*configuration, *seconds, summarise(runs, *configuration, &sizes, args.alpha))
        })
        .collect();
    print_report(args, &offline, &records, &summaries, model, seconds);
    let out = args.out.clone().unwrap_or_else(|| data_dir.eval().join("experiments-bench.json"));
    if let Some(parent) = out.parent()
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
    }
    let report = Report {
        command: std::env::args().collect::<Vec<_>>().join(" "),
        server: server_name,
        index: &index,
        alpha: args.alpha,
        runs: args.runs,
        max_searches: args.max_searches,
        look_every: args.look_every,
        concurrency: args.concurrency,
        seed: args.seed,
        click_model: model,
        click_probabilities: [
            ("unjudged", None),
            ("1.0", Some(1.0)),
            ("1.5", Some(1.5)),
            ("2.0", Some(2.0)),
            ("2.33", Some(2.33)),
            ("2.67", Some(2.67)),
            ("3.0", Some(3.0)),
        ]
        .into_iter()
        .map(|(grade, relevance)| (grade, click_probability(relevance)))
        .collect(),
        bm25_draft: bm25_draft(),
        offline: &offline,
        configurations: records
            .iter()
            .zip(&summaries)
            .map(|((configuration, seconds, runs), (_, _, sizes))| ConfigurationReport {
                configuration: configuration_key(*configuration),
                label: configuration_label(*configuration),
                seconds: *seconds,
                sizes: sizes.clone(),
                runs,
            })
            .collect(),
        seconds,
    };
    std::fs::write(&out, serde_json::to_vec_pretty(&report)?)
        .with_context(|| format!("cannot write {}", out.display()))?;
    println!("\nevery run's looks: {}", out.display());
    Ok(())
}

/// The runs of one configuration: `(configuration, seconds, records)`.
type ConfigurationRuns = (ExperimentConfiguration, f64, Vec<RunRecord>);

/// The offline check, then every run of every configuration.
async fn measure(
    api: &Api,
    queries: &Arc<Vec<JudgedQuery>>,
    judgments: &str,
    configurations: &[ExperimentConfiguration],
    settings: Settings<'_>,
) -> anyhow::Result<(OfflineCheck, Vec<ConfigurationRuns>)> {
    let args = settings.args;
    let summary = api.expect(&Method::GET, &api.path(""), Key::Admin, None, StatusCode::OK).await?;
    println!(
        "server {}: index `{}` with {} products; {} judged queries (development half)",
        api.base,
        api.index,
        summary["products"],
        queries.len()
    );
    stop_leftovers(api).await?;
    let checking = Instant::now();
    // A server that cannot evaluate (a timeout on a large file) leaves the check out, not the runs.
    let offline = offline_check(api, judgments).await.unwrap_or_else(|error| {
        println!("warning: no offline check of the BM25 draft: {error:#}");
        OfflineCheck { queries: 0, rows: Vec::new() }
    });
    match offline.ndcg() {
        Some((live, draft, p_value)) => {
            println!(
                "offline, {} judged queries (POST …/settings/evaluate, {:.1} s): NDCG@10 live {live:.4}, BM25 draft {draft:.4} ({:+.4}, p = {p_value:.4})",
                offline.queries,
                checking.elapsed().as_secs_f64(),
                draft - live
            );
            if draft >= live {
                println!(
                    "warning: the BM25 draft does not rank worse than the live settings: the A/B and interleaving runs measure no known difference"
                );
            }
        }
        None if offline.rows.is_empty() => {}
        None => println!("warning: the evaluation answered no NDCG@10 row"),
    }
    let mut all = Vec::new();
    for &configuration in configurations {
        let started = Instant::now();
        let bar = ProgressBar::new((args.runs * args.max_searches) as u64);
        bar.set_style(
            ProgressStyle::with_template("{msg:>40} [{bar:40}] {pos}/{len} searches ({eta})")?.progress_chars("=> "),
        );
        let mut records = Vec::with_capacity(args.runs);
        for run in 0..args.runs {
            bar.set_message(format!("{} run {}/{}", configuration_key(configuration), run + 1, args.runs));
            let record = run_experiment(api, queries, configuration, run, settings, &bar).await?;
            let last = record.looks.last();
            // Printed above the bar (and printed at all when there is no terminal to draw it on).
            let line = format!(
                "{} run {:>2}: {}; at {} searches: always-valid p {:.3}, fixed p {:.3}, effect {:+.4} ({:.1} s)",
                configuration_key(configuration),
                run + 1,
                match record.first_significant {
                    Some(first) => format!(
                        "significant at {} searches{}",
                        first.searches,
                        if configuration == ExperimentConfiguration::Aa || first.right_direction {
                            ""
                        } else {
                            " (wrong direction)"
                        }
                    ),
                    None => "never significant".to_owned(),
                },
                last.map_or(0, |look| look.searches),
                last.map_or(1.0, |look| look.always_valid_p_value),
                last.map_or(1.0, |look| look.fixed_p_value),
                last.map_or(0.0, |look| look.effect),
                record.seconds
            );
            bar.suspend(|| println!("{line}"));
            records.push(record);
        }
        bar.finish_and_clear();
        all.push((configuration, started.elapsed().as_secs_f64(), records));
    }
    Ok((offline, all))
}

fn print_report(
    args: &BenchExperimentsArgs,
    offline: &OfflineCheck,
    records: &[ConfigurationRuns],
    summaries: &[(ExperimentConfiguration, f64, Vec<SizeSummary>)],
    model: ClickModel,
    seconds: f64,
) {
    println!(
        "\n## Online experiments: {} runs per configuration, up to {} searches, looks every {}, α = {}\n",
        args.runs, args.max_searches, args.look_every, args.alpha
    );
    println!(
        "Significant = the server's always-valid `significant` at some look by then (A/A: either direction, the false-positive rate; \
         A/B and interleaving: the power, right direction only). Fixed p = the fixed-horizon p-value ≤ α: at the one look of that \
         size (valid), and at any look so far (peeking: invalid).\n"
    );
    println!(
        "| configuration | searches | always-valid significant by then | 95 % Wilson interval | fixed p ≤ α, one look at this size | fixed p ≤ α at any look so far |"
    );
    println!("|---|---:|---:|---:|---:|---:|");
    for ((configuration, _, runs), (_, _, sizes)) in records.iter().zip(summaries) {
        for size in sizes {
            let wrong = if size.wrong_direction > 0 {
                format!(" (+{} wrong direction)", size.wrong_direction)
            } else {
                String::new()
            };
            println!(
                "| {} | {} | {}{wrong} | {:.1}–{:.1} % | {} | {} |",
                configuration_label(*configuration),
                size.searches,
                percent(size.significant, runs.len()),
                100.0 * size.wilson_95.0,
                100.0 * size.wilson_95.1,
                percent(size.fixed_at_this_look, runs.len()),
                percent(size.fixed_at_any_look, runs.len()),
            );
        }
    }
    println!(
        "\n| configuration | significant by {} | wrong direction | never | searches to significance: median (min–max) | at the end (mean of runs) | time |",
        args.max_searches
    );
    println!("|---|---:|---:|---:|---:|---|---:|");
    for ((configuration, seconds, runs), _) in records.iter().zip(summaries) {
        let counted: Vec<&RunRecord> =
            runs.iter().filter(|record| record.significant_by(args.max_searches, *configuration)).collect();
        let mut needed: Vec<usize> =
            counted.iter().filter_map(|record| record.first_significant.map(|first| first.searches)).collect();
        let wrong =
            runs.iter().filter(|record| record.first_significant.is_some_and(|first| !first.right_direction)).count();
        let range = match (needed.iter().min(), needed.iter().max()) {
            (Some(min), Some(max)) => format!(" ({min}–{max})"),
            _ => String::new(),
        };
        let searches: u64 = runs.iter().map(|record| record.traffic.searches).sum();
        println!(
            "| {} | {} | {wrong} | {} | {}{range} | {} | {seconds:.0} s ({:.0} searches/s) |",
            configuration_label(*configuration),
            percent(counted.len(), runs.len()),
            runs.len() - counted.len() - wrong,
            median(&mut needed).map_or("-".to_owned(), |median| format!("{median:.0}")),
            final_effect(runs, *configuration),
            searches as f64 / seconds.max(1e-9),
        );
    }

    if !offline.rows.is_empty() {
        println!(
            "\nOffline, on the same judgments (POST …/settings/evaluate, BM25 draft vs live, {} queries):",
            offline.queries
        );
    }
    for (metric, live, draft, p_value) in &offline.rows {
        println!("  {metric:<26} live {live:.4}  BM25 draft {draft:.4}  ({:+.4}, p = {p_value:.4})", draft - live);
    }
    println!(
        "\nClick model: cascade, γ = {} (examine the next result), γ′ = {} after a click; P(click | examined) by judged relevance: \
         unjudged or ≤ {NOT_RELEVANT_UP_TO} → {NOISE_CLICK}, linear to {TOP_CLICK} at 3 (2.0 → {:.3}, 2.33 → {:.3}, 2.67 → {:.3}); \
         shoppers of 1–{MAX_SEARCHES_PER_SHOPPER} searches, pages of {PAGE_SIZE}, {} clients.",
        model.continue_probability,
        model.continue_after_click,
        click_probability(Some(2.0)),
        click_probability(Some(2.33)),
        click_probability(Some(2.67)),
        args.concurrency
    );

    // What the answers said that they should not have.
    let all: Vec<&RunRecord> = records.iter().flat_map(|(_, _, runs)| runs).collect();
    let rises: Vec<(usize, f64)> = all.iter().map(|record| record.p_value_rises()).collect();
    let runs_with_rises = rises.iter().filter(|(count, _)| *count > 0).count();
    let largest_rise = rises.iter().map(|(_, rise)| *rise).fold(0.0, f64::max);
    let lost = all.iter().filter(|record| record.lost_significance()).count();
    let miscounted =
        all.iter().filter(|record| record.looks.iter().any(|look| look.counted != look.searches as u64)).count();
    let untagged: u64 = all.iter().map(|record| record.traffic.untagged_answers).sum();
    let switches: u64 = all.iter().map(|record| record.traffic.variant_switches).sum();
    let mismatches = all.iter().filter(|record| record.final_sample_ratio["mismatch"] == true).count();
    let create_ms: f64 = all.iter().map(|record| record.create_milliseconds).sum::<f64>() / all.len().max(1) as f64;
    let look_ms: Vec<f64> = all.iter().flat_map(|record| record.looks.iter().map(|look| look.milliseconds)).collect();
    println!(
        "\nChecks over {} runs: always-valid p-value rose between two looks in {runs_with_rises} runs (largest rise {largest_rise:.3}); \
         significance lost after being reached in {lost}; looks whose counted searches ≠ searches sent in {miscounted} runs; \
         {untagged} answers without the experiment's tag; {switches} A/B variant switches within a shopper; \
         {mismatches} sample-ratio mismatches flagged. POST …/experiments took {create_ms:.0} ms on average, GET results {:.0} ms.",
        all.len(),
        look_ms.iter().sum::<f64>() / look_ms.len().max(1) as f64,
    );
    println!("Total time {seconds:.0} s.");
}

#[cfg(test)]
mod tests {
    use super::*;

    const MODEL: ClickModel = ClickModel { continue_probability: 0.9, continue_after_click: 0.5 };

    /// Clicks per position over `pages` simulated pages of `relevances`.
    fn click_counts(relevances: &[Option<f64>], pages: usize, seed: u64) -> Vec<usize> {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        let mut counts = vec![0; relevances.len()];
        for _ in 0..pages {
            for position in MODEL.clicks(relevances, &mut rng) {
                counts[position] += 1;
            }
        }
        counts
    }

    #[test]
    fn the_click_probability_follows_the_judged_relevance() {
        assert_eq!(click_probability(None), NOISE_CLICK);
        assert_eq!(click_probability(Some(1.0)), NOISE_CLICK);
        assert_eq!(click_probability(Some(1.5)), NOISE_CLICK);
        assert!((click_probability(Some(3.0)) - TOP_CLICK).abs() < 1e-12);
        let grades = [1.67, 2.0, 2.33, 2.67, 3.0];
        assert!(grades.windows(2).all(|pair| click_probability(Some(pair[0])) < click_probability(Some(pair[1]))));
    }

    #[test]
    fn clicks_follow_relevance_and_position() {
        let pages = 20_000;
        // The first result alone is always examined: it is clicked as often as its relevance says.
        let top = click_counts(&[Some(3.0)], pages, 1)[0] as f64 / pages as f64;
        assert!((top - TOP_CLICK).abs() < 0.02, "{top}");
        let unjudged = click_counts(&[None], pages, 2)[0] as f64 / pages as f64;
        assert!((unjudged - NOISE_CLICK).abs() < 0.01, "{unjudged}");

        // Ten equally relevant results: fewer clicks further down (position bias).
        let counts = click_counts(&[Some(2.5); 10], pages, 3);
        assert!(counts.windows(2).all(|pair| pair[0] > pair[1]), "{counts:?}");
        // The same relevant product gets fewer clicks at position 6 than at position 1.
        let mut page = vec![None; 10];
        page[5] = Some(3.0);
        let lower = click_counts(&page, pages, 4)[5];
        page.swap(0, 5);
        let higher = click_counts(&page, pages, 4)[0];
        assert!(higher as f64 > 1.5 * lower as f64, "position 1: {higher}, position 6: {lower}");
        // The exact clicks are a function of the seed.
        assert_eq!(click_counts(&page, 100, 9), click_counts(&page, 100, 9));
        assert!(MODEL.clicks(&[], &mut Xoshiro256PlusPlus::seed_from_u64(5)).is_empty());
    }

    #[test]
    fn a_click_lowers_the_chance_of_examining_the_next_result() {
        // Position 2 is examined with γ = 0.9 after a miss but γ′ = 0.5 after a click: its clicks
        // are rarer behind a highly relevant first result than behind an irrelevant one.
        let pages = 20_000;
        let behind_relevant = click_counts(&[Some(3.0), Some(3.0)], pages, 6)[1] as f64 / pages as f64;
        let behind_irrelevant = click_counts(&[Some(1.0), Some(3.0)], pages, 6)[1] as f64 / pages as f64;
        let expected_relevant = (0.6 * 0.5 + 0.4 * 0.9) * TOP_CLICK;
        let expected_irrelevant = (0.05 * 0.5 + 0.95 * 0.9) * TOP_CLICK;
        assert!((behind_relevant - expected_relevant).abs() < 0.02, "{behind_relevant}");
        assert!((behind_irrelevant - expected_irrelevant).abs() < 0.02, "{behind_irrelevant}");
    }

    #[test]
    fn plans_split_shoppers_at_the_looks() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(7);
        let planned = plan(100, 50, &mut rng);
        assert_eq!(planned.len(), 100);
        let looks = look_points(100, 30);
        assert_eq!(looks, [30, 60, 90, 100]);
        let mut covered = 0;
        let mut sent = 0;
        for point in looks {
            for part in parts(&planned, sent..point) {
                assert!(part.searches.len() <= MAX_SEARCHES_PER_SHOPPER);
                assert!(planned[part.searches.clone()].iter().all(|search| search.shopper == part.shopper));
                covered += part.searches.len();
            }
            sent = point;
        }
        assert_eq!(covered, 100);
        assert_eq!(report_sizes(&[], &look_points(4_000, 250), 4_000), [500, 1_000, 2_000, 4_000]);
        assert_eq!(report_sizes(&[], &look_points(600, 250), 600), [250, 600]);
        let (low, high) = wilson(1, 20);
        assert!((low - 0.0089).abs() < 1e-3 && (high - 0.2361).abs() < 1e-3, "{low} {high}");
    }
}
