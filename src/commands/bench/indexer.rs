//! `vitrine bench indexer`: the figures the Kafka indexer is held to — partial updates/s,
//! freshness (produced → visible in search) at a given event rate, and sustained events/s.
//!
//! Everything runs in this process, on a scratch folder `DATA_DIR/bench-indexer` (deleted before
//! and after), against real brokers:
//!
//! 1. **Partial updates/s, without Kafka.** `--products` synthetic products are loaded with
//!    [`ProductIndex::apply`] (bulk upserts/s), then `price_changed` and `stock_changed` events of
//!    random products are applied in batches of 5,000 for about 5 s. Only the `apply` calls are
//!    timed.
//! 2. **Freshness.** A topic of 3 partitions is created; a [`KafkaIndexer`] feeds the index of
//!    phase 1 from it; a producer paces `price_changed` events and whole upserts of existing
//!    products at `--rate` for `--seconds`, noting each message's send instant, and its partition
//!    and offset from its delivery report. A watcher reads the index's checkpoint every
//!    millisecond and notes when it changes. `apply` reloads the readers before it publishes the
//!    new checkpoint, so a message is searchable from the first observed checkpoint whose next
//!    offset for its partition is past its offset: freshness = that instant − the send instant.
//!    At each new checkpoint the watcher also searches for a newly covered message (its product by
//!    id, then a price filter on its new price), so the figure is about search, not bookkeeping.
//! 3. **Sustained events/s.** 50,000 events (upserts of every product, then price and stock
//!    changes) are produced to a fresh topic first; then a fresh indexer on a fresh index is
//!    timed, from when it consumes until its checkpoint covers the last offset of every partition
//!    (from the delivery reports: the brokers' high watermarks are not trusted).
//!
//! The results are printed as a table and as one JSON line.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::Utc;
use indicatif::{ProgressBar, ProgressStyle};
use prometheus_client::registry::Registry;
use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{DeliveryResult, Message};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer, ProducerContext};
use rdkafka::{ClientConfig, ClientContext};
use serde::Serialize;
use serde_json::json;
use vitrine_indexer::{DeadLetterSink, IndexerStats, KafkaIndexer, KafkaIndexerConfig, ProductIndex};
use vitrine_models::{Change, DataDir, IndexName, Product, ProductEvent, ProductId};
use vitrine_query::SearchRequest;

use crate::cli::BenchIndexerArgs;

/// Events per `apply` call in phase 1 (the indexer's own batch limit).
const PARTIAL_BATCH: usize = 5_000;
/// How long phase 1 applies partial updates.
const PARTIAL_DURATION: Duration = Duration::from_secs(5);
/// Events produced before the sustained-rate indexer starts.
const SUSTAINED_EVENTS: usize = 50_000;
/// Partitions of each bench topic.
const PARTITIONS: i32 = 3;
/// How often the watcher reads the checkpoint.
const WATCH_EVERY: Duration = Duration::from_millis(1);
/// The longest wait for the brokers to acknowledge, or for the indexer to catch up.
const CATCH_UP_TIMEOUT: Duration = Duration::from_secs(120);
/// Newly visible messages checked by searching, at most, per checkpoint.
const CHECKS_PER_CHECKPOINT: usize = 2;

const ADJECTIVES: &[&str] = &[
    "vintage", "rustic", "modern", "classic", "small", "large", "folding", "hanging", "round", "square", "striped",
    "floral", "glazed", "polished", "handmade", "compact",
];
const MATERIALS: &[&str] =
    &["ceramic", "oak", "bamboo", "steel", "copper", "glass", "linen", "cotton", "wool", "marble", "enamel", "wicker"];
const NOUNS: &[&str] = &[
    "mug", "teapot", "lamp", "basket", "cushion", "vase", "clock", "mirror", "tray", "bowl", "candle", "shelf",
    "stool", "planter", "jug", "blanket", "coaster", "frame",
];
const BRANDS: &[&str] = &["Northwind", "Acme Home", "Hearth & Co", "Kiln", "Maison Verte", "Oddments"];
const CATEGORIES: &[&str] = &["home/kitchen", "home/decor", "home/lighting", "home/textiles", "garden"];

/// A synthetic product and its current state at the source.
#[derive(Debug, Clone)]
struct Item {
    id: ProductId,
    title: String,
    brand: &'static str,
    category: &'static str,
    price_cents: u64,
    stock: u64,
    version: u64,
}

impl Item {
    fn product(&self) -> anyhow::Result<Product> {
        let product = json!({
            "id": self.id.as_str(), "title": self.title, "brand": self.brand, "category": self.category,
            "price": price(self.price_cents), "currency": "GBP", "stock": self.stock, "version": self.version,
        });
        serde_json::from_value(product).context("a synthetic product is invalid")
    }
}

fn price(cents: u64) -> f64 {
    cents as f64 / 100.0
}

/// What a generated event changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Price,
    Stock,
    Upsert,
}

/// The synthetic shop: its products as the source knows them, and the generator of changes.
#[derive(Debug)]
struct Shop {
    items: Vec<Item>,
    rng: Xoshiro256PlusPlus,
    events: u64,
}

impl Shop {
    fn new(products: usize) -> anyhow::Result<Self> {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(20);
        let items = (0..products)
            .map(|n| {
                let pick =
                    |words: &[&'static str], rng: &mut Xoshiro256PlusPlus| words[rng.random_range(0..words.len())];
                let title =
                    format!("{} {} {}", pick(ADJECTIVES, &mut rng), pick(MATERIALS, &mut rng), pick(NOUNS, &mut rng));
                Ok(Item {
                    id: ProductId::new(format!("p{n:05}"))?,
                    title,
                    brand: pick(BRANDS, &mut rng),
                    category: pick(CATEGORIES, &mut rng),
                    price_cents: rng.random_range(100..100_000),
                    stock: rng.random_range(0..500),
                    version: 1,
                })
            })
            .collect::<anyhow::Result<_>>()?;
        Ok(Shop { items, rng, events: 0 })
    }

    fn event(&mut self, item: usize, change: Change) -> ProductEvent {
        self.events += 1;
        ProductEvent {
            event_id: format!("bench-{}", self.events),
            product_id: self.items[item].id.clone(),
            version: self.items[item].version,
            occurred_at: Utc::now(),
            change,
        }
    }

    /// An upsert of a product at its next version.
    fn upsert(&mut self, item: usize) -> anyhow::Result<ProductEvent> {
        self.items[item].version += 1;
        let product = self.items[item].product()?;
        Ok(self.event(item, Change::Upserted(Box::new(product))))
    }

    /// A change of a random product at its next version, with its position.
    fn change(&mut self, kind: Kind) -> anyhow::Result<(usize, ProductEvent)> {
        let item = self.rng.random_range(0..self.items.len());
        let event = match kind {
            Kind::Upsert => {
                self.items[item].price_cents = self.rng.random_range(100..100_000);
                self.items[item].stock = self.rng.random_range(0..500);
                self.upsert(item)?
            }
            Kind::Price => {
                self.items[item].version += 1;
                self.items[item].price_cents = self.rng.random_range(100..100_000);
                let change = Change::PriceChanged { price: Some(price(self.items[item].price_cents)), currency: None };
                self.event(item, change)
            }
            Kind::Stock => {
                self.items[item].version += 1;
                self.items[item].stock = self.rng.random_range(0..500);
                self.event(item, Change::StockChanged { stock: Some(self.items[item].stock) })
            }
        };
        Ok((item, event))
    }
}

/// A message to produce, and what it should make searchable.
#[derive(Debug)]
struct Planned {
    key: String,
    value: Vec<u8>,
    product: ProductId,
    version: u64,
    /// The product's price after the event, when the event sets it.
    price_cents: Option<u64>,
}

impl Planned {
    fn new(event: &ProductEvent, price_cents: Option<u64>) -> Self {
        Planned {
            key: event.product_id.to_string(),
            value: event.to_json().to_string().into_bytes(),
            product: event.product_id.clone(),
            version: event.version,
            price_cents,
        }
    }
}

/// Where each produced message landed, by its position in the plan (-1 until its delivery report).
#[derive(Debug)]
struct Deliveries {
    partitions: Vec<AtomicI32>,
    offsets: Vec<AtomicI64>,
    failed: AtomicU64,
    first_error: Mutex<Option<String>>,
}

impl Deliveries {
    fn new(messages: usize) -> Arc<Self> {
        Arc::new(Deliveries {
            partitions: (0..messages).map(|_| AtomicI32::new(-1)).collect(),
            offsets: (0..messages).map(|_| AtomicI64::new(-1)).collect(),
            failed: AtomicU64::new(0),
            first_error: Mutex::new(None),
        })
    }

    /// The partition and offset of a delivered message.
    fn get(&self, position: usize) -> Option<(i32, i64)> {
        let offset = self.offsets[position].load(Ordering::Acquire);
        (offset >= 0).then(|| (self.partitions[position].load(Ordering::Relaxed), offset))
    }

    /// Per partition, the offset after the last message: what the indexer's checkpoint must reach.
    fn targets(&self) -> anyhow::Result<BTreeMap<i32, i64>> {
        let failed = self.failed.load(Ordering::Relaxed);
        if failed > 0 {
            let first = self.first_error.lock().unwrap_or_else(PoisonError::into_inner).clone();
            anyhow::bail!("{failed} messages were not delivered: {}", first.unwrap_or_default());
        }
        let mut targets = BTreeMap::new();
        for position in 0..self.offsets.len() {
            let (partition, offset) =
                self.get(position).with_context(|| format!("message {position} has no delivery report"))?;
            let next = targets.entry(partition).or_insert(0);
            *next = (*next).max(offset + 1);
        }
        Ok(targets)
    }
}

/// The producer's context: records each delivery report.
struct DeliveryContext(Arc<Deliveries>);

impl ClientContext for DeliveryContext {}

impl ProducerContext for DeliveryContext {
    type DeliveryOpaque = usize;

    fn delivery(&self, delivery_result: &DeliveryResult<'_>, position: usize) {
        match delivery_result {
            Ok(message) => {
                self.0.partitions[position].store(message.partition(), Ordering::Relaxed);
                self.0.offsets[position].store(message.offset(), Ordering::Release);
            }
            Err((error, _)) => {
                self.0.failed.fetch_add(1, Ordering::Relaxed);
                self.0
                    .first_error
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .get_or_insert_with(|| error.to_string());
            }
        }
    }
}

fn producer(brokers: &str, deliveries: Arc<Deliveries>) -> anyhow::Result<BaseProducer<DeliveryContext>> {
    ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("linger.ms", "5")
        .set("message.timeout.ms", "30000")
        .set("queue.buffering.max.messages", "200000")
        .create_with_context(DeliveryContext(deliveries))
        .context("cannot create the Kafka producer")
}

/// Queues one message, waiting while the producer's queue is full.
fn send(
    producer: &BaseProducer<DeliveryContext>,
    topic: &str,
    planned: &Planned,
    position: usize,
) -> anyhow::Result<()> {
    let mut record =
        BaseRecord::with_opaque_to(topic, position).key(planned.key.as_str()).payload(planned.value.as_slice());
    loop {
        match producer.send(record) {
            Ok(()) => return Ok(()),
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), returned)) => {
                record = returned;
                producer.poll(Duration::from_millis(10));
            }
            Err((error, _)) => return Err(error).context("cannot produce"),
        }
    }
}

/// Creates and deletes the bench topics.
struct Topics {
    admin: AdminClient<DefaultClientContext>,
    runtime: tokio::runtime::Runtime,
    created: Vec<String>,
}

impl Topics {
    fn new(brokers: &str) -> anyhow::Result<Self> {
        let admin = ClientConfig::new()
            .set("bootstrap.servers", brokers)
            .create()
            .context("cannot create the Kafka admin client")?;
        let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build()?;
        Ok(Topics { admin, runtime, created: Vec::new() })
    }

    /// Creates a topic of [`PARTITIONS`] partitions with a unique name ending in `purpose`.
    fn create(&mut self, purpose: &str) -> anyhow::Result<String> {
        let name = format!("vitrine-bench-{}-{}-{purpose}", std::process::id(), Utc::now().timestamp_millis());
        let options = AdminOptions::new().request_timeout(Some(Duration::from_secs(10)));
        let topic = NewTopic::new(&name, PARTITIONS, TopicReplication::Fixed(1));
        let results = self.runtime.block_on(self.admin.create_topics([&topic], &options))?;
        match results.into_iter().next() {
            Some(Ok(_)) => {}
            Some(Err((_, code))) => anyhow::bail!("cannot create the topic `{name}`: {code}"),
            None => anyhow::bail!("the brokers did not answer for the topic `{name}`"),
        }
        self.created.push(name.clone());
        Ok(name)
    }

    /// Deletes the topics created (best effort).
    fn delete_all(&mut self) {
        if self.created.is_empty() {
            return;
        }
        let names: Vec<&str> = self.created.iter().map(String::as_str).collect();
        let options = AdminOptions::new().request_timeout(Some(Duration::from_secs(10)));
        match self.runtime.block_on(self.admin.delete_topics(&names, &options)) {
            Ok(results) => {
                for result in results {
                    if let Err((topic, code)) = result {
                        tracing::warn!(topic, %code, "cannot delete a bench topic");
                    }
                }
            }
            Err(error) => tracing::warn!(%error, "cannot delete the bench topics"),
        }
        self.created.clear();
    }
}

fn progress(length: u64, message: &'static str, template: &str) -> anyhow::Result<ProgressBar> {
    let bar = ProgressBar::new(length).with_message(message);
    bar.set_style(ProgressStyle::with_template(template).context("progress template")?.progress_chars("=> "));
    Ok(bar)
}

fn count_bar(length: u64, message: &'static str) -> anyhow::Result<ProgressBar> {
    progress(length, message, "{msg:>12} [{bar:40}] {pos}/{len} ({eta})")
}

/// The scratch index `name` in the scratch folder `root` (laid out as a data directory).
fn open_index(root: &Path, name: &str) -> anyhow::Result<Arc<ProductIndex>> {
    let scratch = DataDir::new(root);
    let name = IndexName::new(name)?;
    let index = ProductIndex::open_or_create(&scratch.search_index(&name), &scratch.settings(&name))
        .with_context(|| format!("cannot create an index in {}", scratch.index(&name).display()))?;
    Ok(Arc::new(index))
}

fn covers(next_offsets: &BTreeMap<i32, i64>, partition: i32, offset: i64) -> bool {
    next_offsets.get(&partition).is_some_and(|&next| next > offset)
}

fn checkpoint_of(index: &ProductIndex, topic: &str) -> BTreeMap<i32, i64> {
    index.checkpoint().offsets.remove(topic).unwrap_or_default()
}

/// Phase 1 figures.
#[derive(Debug, Clone, Copy, Serialize)]
struct PartialFigures {
    bulk_upserts_per_s: f64,
    partial_updates: u64,
    partial_updates_per_s: f64,
}

/// Phase 1: loads the shop, then applies price and stock changes in batches.
fn partial_updates(index: &ProductIndex, shop: &mut Shop) -> anyhow::Result<PartialFigures> {
    let bar = count_bar(shop.items.len() as u64, "loading")?;
    let mut loading = Duration::ZERO;
    for start in (0..shop.items.len()).step_by(PARTIAL_BATCH) {
        let end = (start + PARTIAL_BATCH).min(shop.items.len());
        let events: Vec<ProductEvent> = (start..end)
            .map(|item| Ok(ProductEvent::upserted(shop.items[item].product()?, String::new(), Utc::now())))
            .collect::<anyhow::Result<_>>()?;
        let started = Instant::now();
        let report = index.apply(events, None)?;
        loading += started.elapsed();
        anyhow::ensure!(report.inserted == (end - start) as u64, "loading inserted only {report:?}");
        bar.set_position(end as u64);
    }
    bar.finish_and_clear();

    let bar = progress(PARTIAL_DURATION.as_millis() as u64, "partial", "{msg:>12} [{bar:40}] {elapsed} {prefix}")?;
    let (mut applying, mut applied) = (Duration::ZERO, 0);
    while applying < PARTIAL_DURATION {
        let events: Vec<ProductEvent> = (0..PARTIAL_BATCH)
            .map(|n| Ok(shop.change(if n % 2 == 0 { Kind::Price } else { Kind::Stock })?.1))
            .collect::<anyhow::Result<_>>()?;
        let started = Instant::now();
        let report = index.apply(events, None)?;
        applying += started.elapsed();
        anyhow::ensure!(report.partial == PARTIAL_BATCH as u64, "not every partial update applied: {report:?}");
        applied += report.partial;
        bar.set_position(applying.as_millis() as u64);
        bar.set_prefix(format!("{applied} updates"));
    }
    bar.finish_and_clear();
    Ok(PartialFigures {
        bulk_upserts_per_s: shop.items.len() as f64 / loading.as_secs_f64(),
        partial_updates: applied,
        partial_updates_per_s: applied as f64 / applying.as_secs_f64(),
    })
}

/// Newly visible messages checked by searching.
#[derive(Debug, Clone, Copy, Default, Serialize)]
struct SearchChecks {
    /// The product had the message's version, and a price filter on its new price found it.
    found: u64,
    /// The product had a newer version already (a later message applied in the same commit).
    superseded: u64,
    /// Not found although the checkpoint covered the message.
    missing: u64,
}

/// Looks for what a message changed: the product by id, then by a filter on its new price.
fn check_visible(index: &ProductIndex, planned: &Planned, checks: &mut SearchChecks) -> anyhow::Result<()> {
    let Some(product) = index.get(&planned.product)? else {
        checks.missing += 1;
        return Ok(());
    };
    if product.version > planned.version {
        checks.superseded += 1;
        return Ok(());
    }
    let Some(cents) = planned.price_cents.filter(|_| product.version == planned.version) else {
        checks.missing += 1;
        return Ok(());
    };
    let amount = price(cents);
    let request = SearchRequest {
        filter: Some(json!({"price": {"gte": amount - 0.001, "lte": amount + 0.001}})),
        per_page: Some(vitrine_query::MAX_PER_PAGE),
        ..SearchRequest::default()
    };
    let response = vitrine_query::search(index, &index.settings(), &request)?;
    if response.hits.iter().any(|hit| hit.id == planned.product.as_str()) {
        checks.found += 1;
    } else {
        checks.missing += 1;
    }
    Ok(())
}

/// Each checkpoint the watcher saw, with when it first saw it.
type History = Vec<(Instant, BTreeMap<i32, i64>)>;

/// The watcher: notes each new checkpoint with the instant it was first seen, and checks by
/// searching a few of the messages it newly covers, until `stop`.
fn watch(
    index: &ProductIndex,
    topic: &str,
    plan: &[Planned],
    deliveries: &Deliveries,
    stop: &AtomicBool,
) -> anyhow::Result<(History, SearchChecks)> {
    let mut history = History::new();
    let mut checks = SearchChecks::default();
    let mut unchecked = 0;
    loop {
        let stopping = stop.load(Ordering::Acquire);
        let next_offsets = checkpoint_of(index, topic);
        let seen = Instant::now();
        if history.last().is_none_or(|(_, last)| *last != next_offsets) {
            // The messages now covered, in plan order, up to the first one not (yet) known covered.
            let start = unchecked;
            while unchecked < plan.len()
                && deliveries.get(unchecked).is_some_and(|(partition, offset)| covers(&next_offsets, partition, offset))
            {
                unchecked += 1;
            }
            history.push((seen, next_offsets));
            let newly = unchecked - start;
            for k in 0..CHECKS_PER_CHECKPOINT.min(newly) {
                // The last covered (the freshest), then spread back towards the first.
                check_visible(index, &plan[unchecked - 1 - k * newly / CHECKS_PER_CHECKPOINT], &mut checks)?;
            }
        }
        if stopping {
            return Ok((history, checks));
        }
        std::thread::sleep(WATCH_EVERY);
    }
}

/// Percentiles of freshness, in milliseconds.
#[derive(Debug, Clone, Copy, Default, Serialize)]
struct Percentiles {
    p50: f64,
    p95: f64,
    p99: f64,
    max: f64,
}

impl Percentiles {
    fn of(mut samples: Vec<Duration>) -> Percentiles {
        if samples.is_empty() {
            return Percentiles::default();
        }
        samples.sort_unstable();
        let at = |p: f64| {
            let rank = ((p / 100.0) * samples.len() as f64).ceil() as usize;
            samples[rank.clamp(1, samples.len()) - 1].as_secs_f64() * 1000.0
        };
        Percentiles { p50: at(50.0), p95: at(95.0), p99: at(99.0), max: at(100.0) }
    }
}

/// Phase 2 figures.
#[derive(Debug, Clone, Serialize)]
struct FreshnessFigures {
    target_rate: u32,
    events: usize,
    achieved_rate: f64,
    freshness_ms: Percentiles,
    search_checks: SearchChecks,
    indexer: IndexerStats,
    /// The indexer's mean time to apply and commit a batch (its metrics).
    mean_batch_apply_ms: Option<f64>,
}

/// The mean of the indexer's `batch_apply_seconds` histogram, in milliseconds.
fn mean_batch_apply_ms(registry: &Registry) -> Option<f64> {
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, registry).ok()?;
    let value = |name: &str| {
        text.lines().find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.trim().parse::<f64>().ok())
    };
    let (sum, count) =
        (value("indexer_kafka_batch_apply_seconds_sum")?, value("indexer_kafka_batch_apply_seconds_count")?);
    (count > 0.0).then(|| sum / count * 1000.0)
}

fn indexer_config(
    brokers: &str,
    topic: &str,
    commit_interval: Duration,
    root: &Path,
) -> anyhow::Result<KafkaIndexerConfig> {
    let mut config = KafkaIndexerConfig::new(brokers, topic);
    config.commit_interval = commit_interval;
    config.dead_letters = DeadLetterSink::Local(DataDir::new(root).dead_letters(&IndexName::new("bench")?));
    config.topic_wait = Duration::from_secs(30);
    Ok(config)
}

/// Waits until the checkpoint covers `targets`; `None` when the indexer ends or time runs out.
fn wait_covered(
    index: &ProductIndex,
    topic: &str,
    targets: &BTreeMap<i32, i64>,
    ended: impl Fn() -> bool,
    bar: &ProgressBar,
) -> Option<Instant> {
    let deadline = Instant::now() + CATCH_UP_TIMEOUT;
    while Instant::now() < deadline && !ended() {
        let next_offsets = checkpoint_of(index, topic);
        if targets.iter().all(|(partition, &target)| next_offsets.get(partition).is_some_and(|&next| next >= target)) {
            return Some(Instant::now());
        }
        bar.set_position(next_offsets.values().map(|&next| u64::try_from(next).unwrap_or(0)).sum());
        std::thread::sleep(WATCH_EVERY);
    }
    None
}

/// Phase 2: freshness at a paced rate.
fn freshness(
    args: &BenchIndexerArgs,
    index: &Arc<ProductIndex>,
    shop: &mut Shop,
    topics: &mut Topics,
    root: &Path,
) -> anyhow::Result<FreshnessFigures> {
    let total = usize::try_from(u64::from(args.rate) * args.seconds)?;
    let mut plan = Vec::with_capacity(total);
    for n in 0..total {
        let kind = if n % 4 == 3 { Kind::Upsert } else { Kind::Price };
        let (item, event) = shop.change(kind)?;
        plan.push(Planned::new(&event, Some(shop.items[item].price_cents)));
    }
    let topic = topics.create("freshness")?;
    let config = indexer_config(&args.kafka_brokers, &topic, Duration::from_millis(args.commit_interval_ms), root)?;
    let mut registry = Registry::default();
    let handle = KafkaIndexer::spawn(config, index.clone(), &mut registry)?;
    anyhow::ensure!(handle.wait_running(Duration::from_secs(30)), "the indexer did not start consuming `{topic}`");

    let deliveries = Deliveries::new(total);
    let producer = producer(&args.kafka_brokers, deliveries.clone())?;
    let stop = AtomicBool::new(false);
    let mut sent: Vec<Instant> = Vec::with_capacity(total);
    let bar = count_bar(total as u64, "producing")?;
    let (watched, caught_up) = std::thread::scope(|scope| {
        let watcher = scope.spawn(|| watch(index, &topic, &plan, &deliveries, &stop));
        let produced = (|| {
            let interval = Duration::from_secs_f64(1.0 / f64::from(args.rate));
            let started = Instant::now();
            for (position, planned) in plan.iter().enumerate() {
                let due = started + interval * u32::try_from(position)?;
                loop {
                    let now = Instant::now();
                    if now >= due {
                        break;
                    }
                    producer.poll(due - now);
                }
                sent.push(Instant::now());
                send(&producer, &topic, planned, position)?;
                producer.poll(Duration::ZERO);
                if position % 100 == 0 {
                    bar.set_position(position as u64);
                }
            }
            bar.finish_and_clear();
            producer.flush(Duration::from_secs(30)).context("the brokers did not acknowledge every message")?;
            let targets = deliveries.targets()?;
            let bar = count_bar(total as u64, "catching up")?;
            let caught_up = wait_covered(index, &topic, &targets, || handle.is_finished(), &bar);
            bar.finish_and_clear();
            anyhow::Ok(caught_up)
        })();
        stop.store(true, Ordering::Release);
        let watched = watcher.join().map_err(|_| anyhow::anyhow!("the watcher panicked"));
        (watched, produced)
    });
    let caught_up = caught_up?;
    let stats = handle.stop_and_join().context("the Kafka indexer failed")?;
    anyhow::ensure!(caught_up.is_some(), "the indexer did not apply every message within {CATCH_UP_TIMEOUT:?}");
    let (history, search_checks) = watched??;

    let mut latencies = Vec::with_capacity(total);
    for (position, sent_at) in sent.iter().enumerate() {
        let (partition, offset) = deliveries.get(position).context("a message has no delivery report")?;
        let first = history.partition_point(|(_, next_offsets)| !covers(next_offsets, partition, offset));
        let (visible_at, _) = history.get(first).context("a message never became visible")?;
        latencies.push(visible_at.saturating_duration_since(*sent_at));
    }
    let span = match (sent.first(), sent.last()) {
        (Some(first), Some(last)) if total > 1 => last.duration_since(*first).as_secs_f64(),
        _ => 0.0,
    };
    Ok(FreshnessFigures {
        target_rate: args.rate,
        events: total,
        achieved_rate: if span > 0.0 { (total - 1) as f64 / span } else { 0.0 },
        freshness_ms: Percentiles::of(latencies),
        search_checks,
        indexer: stats,
        mean_batch_apply_ms: mean_batch_apply_ms(&registry),
    })
}

/// Phase 3 figures.
#[derive(Debug, Clone, Serialize)]
struct SustainedFigures {
    events: usize,
    events_per_s: f64,
    startup_ms: f64,
    indexer: IndexerStats,
    /// The indexer's mean time to apply and commit a batch (its metrics).
    mean_batch_apply_ms: Option<f64>,
}

/// Phase 3: a backlog of events, consumed by a fresh indexer into a fresh index.
fn sustained(
    args: &BenchIndexerArgs,
    shop: &mut Shop,
    topics: &mut Topics,
    root: &Path,
) -> anyhow::Result<SustainedFigures> {
    let mut plan = Vec::with_capacity(SUSTAINED_EVENTS);
    for item in 0..shop.items.len().min(SUSTAINED_EVENTS) {
        let event = shop.upsert(item)?;
        plan.push(Planned::new(&event, Some(shop.items[item].price_cents)));
    }
    while plan.len() < SUSTAINED_EVENTS {
        let kind = if plan.len() % 2 == 0 { Kind::Price } else { Kind::Stock };
        let (item, event) = shop.change(kind)?;
        let price_cents = (kind == Kind::Price).then_some(shop.items[item].price_cents);
        plan.push(Planned::new(&event, price_cents));
    }
    let topic = topics.create("sustained")?;
    let deliveries = Deliveries::new(plan.len());
    let producer = producer(&args.kafka_brokers, deliveries.clone())?;
    let bar = count_bar(plan.len() as u64, "producing")?;
    for (position, planned) in plan.iter().enumerate() {
        send(&producer, &topic, planned, position)?;
        producer.poll(Duration::ZERO);
        if position % 500 == 0 {
            bar.set_position(position as u64);
        }
    }
    producer.flush(Duration::from_secs(60)).context("the brokers did not acknowledge every message")?;
    bar.finish_and_clear();
    let targets = deliveries.targets()?;

    let index = open_index(root, "sustained")?;
    let config = indexer_config(&args.kafka_brokers, &topic, Duration::from_millis(args.commit_interval_ms), root)?;
    let spawned = Instant::now();
    let mut registry = Registry::default();
    let handle = KafkaIndexer::spawn(config, index.clone(), &mut registry)?;
    anyhow::ensure!(handle.wait_running(Duration::from_secs(30)), "the indexer did not start consuming `{topic}`");
    let running = Instant::now();
    let bar = count_bar(plan.len() as u64, "indexing")?;
    let covered = wait_covered(&index, &topic, &targets, || handle.is_finished(), &bar);
    bar.finish_and_clear();
    let stats = handle.stop_and_join().context("the Kafka indexer failed")?;
    let covered =
        covered.with_context(|| format!("the indexer did not apply every message within {CATCH_UP_TIMEOUT:?}"))?;
    Ok(SustainedFigures {
        events: plan.len(),
        events_per_s: plan.len() as f64 / covered.duration_since(running).as_secs_f64(),
        startup_ms: running.duration_since(spawned).as_secs_f64() * 1000.0,
        indexer: stats,
        mean_batch_apply_ms: mean_batch_apply_ms(&registry),
    })
}

/// Everything measured, as printed on the JSON line.
#[derive(Debug, Serialize)]
struct Report {
    bench: &'static str,
    build: &'static str,
    products: usize,
    commit_interval_ms: u64,
    #[serde(flatten)]
    partial: PartialFigures,
    freshness: FreshnessFigures,
    sustained: SustainedFigures,
}

impl Report {
    fn print_table(&self) {
        let fresh = &self.freshness;
        let ms = &fresh.freshness_ms;
        let rows = [
            ("bulk upserts/s", format!("{:.0}", self.partial.bulk_upserts_per_s), String::new()),
            ("partial updates/s", format!("{:.0}", self.partial.partial_updates_per_s), "≥ 20000".to_owned()),
            ("events/s produced", format!("{:.0}", fresh.achieved_rate), format!("{}", fresh.target_rate)),
            ("freshness p50 (ms)", format!("{:.1}", ms.p50), String::new()),
            ("freshness p95 (ms)", format!("{:.1}", ms.p95), String::new()),
            ("freshness p99 (ms)", format!("{:.1}", ms.p99), "≤ 500".to_owned()),
            ("freshness max (ms)", format!("{:.1}", ms.max), String::new()),
            ("sustained events/s", format!("{:.0}", self.sustained.events_per_s), String::new()),
        ];
        println!(
            "{} products, commit interval {} ms, {} build; freshness over {} events, sustained over {}",
            self.products, self.commit_interval_ms, self.build, fresh.events, self.sustained.events
        );
        println!("{:<22} {:>10}  goal", "measure", "value");
        for (name, value, goal) in rows {
            println!("{name:<22} {value:>10}  {goal}");
        }
        let checks = &fresh.search_checks;
        println!(
            "searched at visibility: {} found by id and price filter, {} already superseded, {} missing",
            checks.found, checks.superseded, checks.missing
        );
        let mean = |ms: Option<f64>| ms.map_or_else(|| "?".to_owned(), |ms| format!("{ms:.0} ms"));
        println!(
            "indexer batches: {} while fresh (mean apply + commit {}), {} while sustained (mean {})",
            fresh.indexer.batches,
            mean(fresh.mean_batch_apply_ms),
            self.sustained.indexer.batches,
            mean(self.sustained.mean_batch_apply_ms)
        );
    }
}

/// `vitrine bench indexer`.
pub(in crate::commands) fn run(data_dir: &DataDir, args: &BenchIndexerArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.rate >= 1 && args.seconds >= 1 && args.products >= 1,
        "--rate, --seconds and --products must be at least 1"
    );
    let root = data_dir.bench_scratch("indexer");
    if root.exists() {
        std::fs::remove_dir_all(&root).with_context(|| format!("cannot delete {}", root.display()))?;
    }
    std::fs::create_dir_all(&root).with_context(|| format!("cannot create {}", root.display()))?;
    let mut topics = Topics::new(&args.kafka_brokers)?;
    let result = measure(args, &root, &mut topics);
    topics.delete_all();
    if let Err(error) = std::fs::remove_dir_all(&root) {
        tracing::warn!(%error, folder = %root.display(), "cannot delete the bench folder");
    }
    let report = result?;
    report.print_table();
    println!("{}", serde_json::to_string(&report)?);
    Ok(())
}

/// The three phases, on the scratch folder `root`.
fn measure(args: &BenchIndexerArgs, root: &Path, topics: &mut Topics) -> anyhow::Result<Report> {
    let mut shop = Shop::new(args.products)?;
    let index = open_index(root, "index")?;
    let partial = partial_updates(&index, &mut shop)?;
    println!(
        "phase 1: {:.0} bulk upserts/s, {:.0} partial updates/s ({} updates)",
        partial.bulk_upserts_per_s, partial.partial_updates_per_s, partial.partial_updates
    );
    let freshness = freshness(args, &index, &mut shop, topics, root)?;
    println!(
        "phase 2: {} events at {:.0}/s, freshness p50 {:.1} ms, p99 {:.1} ms",
        freshness.events, freshness.achieved_rate, freshness.freshness_ms.p50, freshness.freshness_ms.p99
    );
    drop(index);
    let sustained = sustained(args, &mut shop, topics, root)?;
    println!("phase 3: {} events at {:.0} events/s", sustained.events, sustained.events_per_s);
    Ok(Report {
        bench: "indexer",
        build: if cfg!(debug_assertions) { "debug" } else { "release" },
        products: args.products,
        commit_interval_ms: args.commit_interval_ms,
        partial,
        freshness,
        sustained,
    })
}
