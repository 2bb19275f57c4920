//! `kill -9` of the real `vitrine index` process, again and again during a 50,000-event load: the
//! index must end with exactly the products, versions, prices, stock and tombstones the events
//! describe — nothing lost, nothing applied twice — and resume each time from its last commit.
//! It also measures how long the indexer takes to recover after each kill (reported, not asserted).
//!
//! After every kill, while no indexer runs, the last commit must hold exactly what the events its
//! checkpoint covers make; at the end, after a clean stop, the whole load. The expected states are
//! folds of the events in offset order (`fold`), kept small enough to check by eye.
//!
//! Progress is read from the index's last commit (its payload, the [`Checkpoint`]) without
//! opening a writer, and compared with the (partition, offset) of each delivered message; never
//! with the broker's high watermark, which tansu's memory storage gets wrong.

use std::collections::{BTreeMap, VecDeque};
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::DeliveryResult;
use rdkafka::producer::{BaseRecord, Producer, ProducerContext, ThreadedProducer};
use rdkafka::{ClientConfig, ClientContext, Message, Offset, TopicPartitionList};
use serde_json::json;
use tantivy::schema::Value;
use tantivy::{DocAddress, IndexReader, ReloadPolicy, TantivyDocument};
use vitrine_e2e::{kafka_brokers, unique_topic, vitrine_bin};
use vitrine_indexer::{Catalog, Checkpoint, ProductFields};
use vitrine_models::{Change, Currency, DataDir, IndexName, Money, Product, ProductEvent, ProductId};

use crate::kafka_support::create_topic;

/// Products in the load, and events per product: 50,000 events.
const PRODUCTS: usize = 5_000;
const EVENTS_PER_PRODUCT: usize = 10;
const PARTITIONS: i32 = 3;
/// Produced before the indexer first starts; the rest arrive while it runs and is killed.
const PRODUCED_BEFORE_START: usize = 15_000;
/// The rest is produced in chunks of this many events, one chunk per pause.
const CHUNK: usize = 1_000;
const CHUNK_PAUSE: Duration = Duration::from_millis(150);
/// `kill -9`s in the test (each followed by a restart).
const KILLS: usize = 5;
/// How long each run lasts before its kill, in milliseconds (uniform).
const RUN_MS: std::ops::RangeInclusive<u64> = 300..=1_500;
/// The index the topic feeds.
const INDEX: &str = "products";
/// The seed of everything random here; `VITRINE_CRASH_SEED` replays another.
const DEFAULT_SEED: u64 = 0x5eed_c4a5_0000_0009;
/// How long the indexer may take to print `indexer started:`, to catch up at the end, and to stop.
const START_DEADLINE: Duration = Duration::from_secs(60);
const CATCH_UP_DEADLINE: Duration = Duration::from_secs(120);
const STOP_DEADLINE: Duration = Duration::from_secs(30);

// ---------------------------------------------------------------------------------------------
// The load and the state it must produce.

/// One product's events in the order they are produced: an upsert (version 10), then each 10
/// versions later a price or stock change, a delete, a re-upsert (after a delete too), or now and
/// then a late upsert older than the event before it.
fn product_events(n: usize, occurred_at: DateTime<Utc>, rng: &mut Xoshiro256PlusPlus) -> Vec<ProductEvent> {
    let id = format!("p{n:05}");
    let eur = Currency::new("EUR").expect("EUR");
    let mut events = Vec::with_capacity(EVENTS_PER_PRODUCT);
    for step in 1..=EVENTS_PER_PRODUCT as u64 {
        let roll = if step == 1 { 0 } else { rng.random_range(0..100) };
        let (version, change) = match roll {
            0..20 => (step * 10, upsert(&id, step * 10, rng)),
            20..22 => (step * 10 - 15, upsert(&id, step * 10 - 15, rng)), // late: older than the last event
            22..50 => {
                let price = (rng.random_range(0..10) > 0).then(|| f64::from(rng.random_range(100..20_000_u32)) / 100.0);
                (step * 10, Change::PriceChanged { price, currency: Some(eur) })
            }
            50..85 => {
                let stock = (rng.random_range(0..10) > 0).then(|| rng.random_range(0..50));
                (step * 10, Change::StockChanged { stock })
            }
            _ => (step * 10, Change::Deleted),
        };
        events.push(ProductEvent {
            event_id: format!("{id}-{step}"),
            product_id: ProductId::new(&id).expect("product id"),
            version,
            occurred_at,
            change,
        });
    }
    events
}

fn upsert(id: &str, version: u64, rng: &mut Xoshiro256PlusPlus) -> Change {
    let cents = rng.random_range(100..20_000_u32);
    let product: Product = serde_json::from_value(json!({
        "id": id, "title": format!("lamp {id} v{version}"), "price": f64::from(cents) / 100.0, "currency": "EUR",
        "stock": rng.random_range(0..50_u64)
    }))
    .expect("a product");
    Change::Upserted(Box::new(product))
}

/// Every product's events, interleaved at random across products (each product's in order).
fn load(rng: &mut Xoshiro256PlusPlus) -> Vec<ProductEvent> {
    let occurred_at = Utc::now();
    let mut queues: Vec<VecDeque<ProductEvent>> =
        (0..PRODUCTS).map(|n| product_events(n, occurred_at, rng).into()).collect();
    let mut open: Vec<usize> = (0..PRODUCTS).collect();
    let mut events = Vec::with_capacity(PRODUCTS * EVENTS_PER_PRODUCT);
    while !open.is_empty() {
        let pick = rng.random_range(0..open.len());
        let queue = &mut queues[open[pick]];
        events.extend(queue.pop_front());
        if queue.is_empty() {
            open.swap_remove(pick);
        }
    }
    events
}

/// A live product as the test compares it: (version, title, price, stock).
type Row = (u64, String, Option<Money>, Option<u64>);

/// What an index holds, or must hold: live products and tombstones (deleted products' versions).
#[derive(Debug, Default, PartialEq)]
struct State {
    live: BTreeMap<String, Row>,
    tombstones: BTreeMap<String, u64>,
}

/// Folds events in the order the indexer reads them, with the rules of `docs/events.md`: an event
/// applies only when its version is newer than the product's known one (live or tombstoned); a
/// delete of a live product leaves a tombstone; deletes and partial changes of a product that is
/// not live are skipped.
fn fold<'a>(events: impl IntoIterator<Item = &'a ProductEvent>) -> State {
    let mut state = State::default();
    for event in events {
        let id = event.product_id.to_string();
        let known = state.live.get(&id).map(|row| row.0).or_else(|| state.tombstones.get(&id).copied());
        if known.is_some_and(|version| event.version <= version) {
            continue;
        }
        match (&event.change, state.live.get_mut(&id)) {
            (Change::Upserted(product), _) => {
                state.tombstones.remove(&id);
                state.live.insert(id, (event.version, product.title.clone(), product.price, product.stock));
            }
            (Change::Deleted, Some(_)) => {
                state.live.remove(&id);
                state.tombstones.insert(id, event.version);
            }
            (Change::PriceChanged { price, currency }, Some(row)) => {
                let currency = currency.or(row.2.map(|money| money.currency)).expect("a currency");
                row.2 = price.map(|amount| Money::from_decimal(amount, currency).expect("a price"));
                row.0 = event.version;
            }
            (Change::StockChanged { stock }, Some(row)) => {
                row.3 = *stock;
                row.0 = event.version;
            }
            (_, None) => {} // a delete or partial change of a product that is not live
        }
    }
    state
}

// ---------------------------------------------------------------------------------------------
// Producing, keeping every message's (partition, offset).

/// Each delivered event's (partition, offset), by its place in the load.
#[derive(Debug)]
struct Deliveries {
    positions: Mutex<Vec<Option<(i32, i64)>>>,
    delivered: AtomicUsize,
    failures: Mutex<Vec<String>>,
}

impl ClientContext for Deliveries {}

impl ProducerContext for Deliveries {
    type DeliveryOpaque = usize;

    fn delivery(&self, result: &DeliveryResult<'_>, place: usize) {
        match result {
            Ok(message) => {
                self.positions.lock().unwrap_or_else(PoisonError::into_inner)[place] =
                    Some((message.partition(), message.offset()));
                self.delivered.fetch_add(1, Ordering::Relaxed);
            }
            Err((error, _)) => {
                self.failures.lock().unwrap_or_else(PoisonError::into_inner).push(format!("event {place}: {error}"));
            }
        }
    }
}

/// Queues `events`, the load's from place `first` on (key: product id; value: its JSON), `CHUNK`
/// at a time with a pause after each chunk when `paced`.
fn produce(producer: &ThreadedProducer<Deliveries>, topic: &str, events: &[ProductEvent], first: usize, paced: bool) {
    for (chunk_start, chunk) in events.chunks(CHUNK).enumerate() {
        for (offset_in_chunk, event) in chunk.iter().enumerate() {
            let place = first + chunk_start * CHUNK + offset_in_chunk;
            let value = event.to_json().to_string();
            let mut record = BaseRecord::with_opaque_to(topic, place).key(event.product_id.as_str()).payload(&value);
            loop {
                match producer.send(record) {
                    Ok(()) => break,
                    Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), returned)) => {
                        record = returned;
                        std::thread::sleep(Duration::from_millis(10));
                    }
                    Err((error, _)) => panic!("cannot queue event {place}: {error}"),
                }
            }
        }
        if paced {
            std::thread::sleep(CHUNK_PAUSE);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The indexer process.

/// One `vitrine index` process; a thread reads its stdout lines, its stderr goes to a log file.
struct IndexerProcess {
    child: Child,
    lines: Receiver<(Instant, String)>,
    reader: Option<JoinHandle<()>>,
    log: PathBuf,
    seen: Vec<String>,
}

impl IndexerProcess {
    fn spawn(bin: &Path, data: &Path, brokers: &str, topic: &str, log: PathBuf) -> IndexerProcess {
        let stderr = File::create(&log).expect("log file");
        let mut child = Command::new(bin)
            .arg("--data-dir")
            .arg(data)
            .args(["index", "--kafka-brokers", brokers, "--kafka-topic", topic, "--kafka-index", INDEX])
            .args(["--kafka-commit-interval-ms", "50", "--report-every", "1"])
            .env_remove("VITRINE_CONFIG")
            .env_remove("VITRINE_KAFKA_MAX_BATCH")
            .env_remove("VITRINE_KAFKA_DEAD_LETTERS")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("spawn vitrine index");
        let stdout = child.stdout.take().expect("stdout");
        let (sender, lines) = std::sync::mpsc::channel();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if sender.send((Instant::now(), line)).is_err() {
                    break;
                }
            }
        });
        IndexerProcess { child, lines, reader: Some(reader), log, seen: Vec::new() }
    }

    /// The time a line starting with `prefix` was read, and the line; fails the test when the
    /// process ends or `timeout` passes first.
    fn wait_for_line(&mut self, prefix: &str, timeout: Duration) -> (Instant, String) {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok((at, line)) => {
                    self.seen.push(line.clone());
                    if line.starts_with(prefix) {
                        return (at, line);
                    }
                }
                Err(RecvTimeoutError::Timeout) => self.fail(&format!("no `{prefix}` line within {timeout:?}")),
                Err(RecvTimeoutError::Disconnected) => {
                    let status = self.child.wait().expect("wait");
                    self.fail(&format!("the process ended ({status}) before a `{prefix}` line"));
                }
            }
        }
    }

    /// Fails unless the process still runs.
    fn assert_running(&mut self) {
        if let Some(status) = self.child.try_wait().expect("try_wait") {
            self.fail(&format!("the indexer exited on its own: {status}"));
        }
    }

    /// `kill -9` (SIGKILL), and waits for the process to end.
    fn kill(&mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("wait after SIGKILL");
        if let Some(reader) = self.reader.take() {
            reader.join().expect("stdout reader");
        }
    }

    /// SIGTERM, then waits for the process to end: its exit status, and its last lines.
    fn terminate(&mut self) -> ExitStatus {
        let signalled = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status().expect("kill");
        assert!(signalled.success(), "kill -TERM failed");
        let deadline = Instant::now() + STOP_DEADLINE;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                break status;
            }
            if Instant::now() > deadline {
                self.fail(&format!("did not stop within {STOP_DEADLINE:?} of SIGTERM"));
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        if let Some(reader) = self.reader.take() {
            reader.join().expect("stdout reader");
        }
        self.seen.extend(self.lines.try_iter().map(|(_, line)| line));
        status
    }

    fn fail(&self, what: &str) -> ! {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(40).collect::<Vec<_>>().into_iter().rev().collect();
        panic!(
            "vitrine index: {what}\n--- stdout so far:\n{}\n--- last lines of {}:\n{}",
            self.seen.join("\n"),
            self.log.display(),
            tail.join("\n")
        );
    }
}

impl Drop for IndexerProcess {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The event id of every message of the topic, by (partition, offset), read back from the broker.
fn read_back(brokers: &str, topic: &str, counts: &BTreeMap<i32, i64>) -> BTreeMap<(i32, i64), String> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", format!("{topic}-check"))
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    let mut assignment = TopicPartitionList::new();
    for &partition in counts.keys() {
        assignment.add_partition_offset(topic, partition, Offset::Beginning).expect("partition");
    }
    consumer.assign(&assignment).expect("assign");
    let total: i64 = counts.values().sum();
    let mut found = BTreeMap::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while (found.len() as i64) < total && Instant::now() < deadline {
        let Some(message) = consumer.poll(Duration::from_millis(200)) else { continue };
        let message = message.expect("a message");
        let event = ProductEvent::parse(message.key(), message.payload().unwrap_or_default()).expect("an event");
        found.insert((message.partition(), message.offset()), event.event_id);
    }
    found
}

/// The checkpoint of the index's last commit, read from its metas without opening a writer
/// (the default before the first commit).
fn committed(search: &Path) -> Checkpoint {
    if !search.join("meta.json").exists() {
        return Checkpoint::default();
    }
    let metas = tantivy::Index::open_in_dir(search).and_then(|index| index.load_metas()).expect("the index's metas");
    metas.payload.map(|payload| serde_json::from_str(&payload).expect("a checkpoint")).unwrap_or_default()
}

/// The next offset of each partition in a checkpoint.
fn next_offsets(checkpoint: &Checkpoint, topic: &str) -> BTreeMap<i32, i64> {
    checkpoint.offsets.get(topic).cloned().unwrap_or_default()
}

/// Messages a checkpoint covers.
fn covered(checkpoint: &Checkpoint, topic: &str) -> i64 {
    next_offsets(checkpoint, topic).values().sum()
}

/// What the index's last commit holds, read without opening a writer: live products and the ids
/// found more than once, with the checkpoint's tombstones.
fn committed_state(search: &Path) -> (State, Vec<String>) {
    let index = tantivy::Index::open_in_dir(search).expect("open the index");
    let fields = ProductFields::from_schema(&index.schema()).expect("the product fields");
    let reader: IndexReader = index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into().expect("reader");
    let searcher = reader.searcher();
    let mut state = State { live: BTreeMap::new(), tombstones: committed(search).tombstones };
    let mut duplicated = Vec::new();
    for (segment_ord, segment) in searcher.segment_readers().iter().enumerate() {
        for doc in segment.doc_ids_alive() {
            let address = DocAddress::new(u32::try_from(segment_ord).expect("segment"), doc);
            let document: TantivyDocument = searcher.doc(address).expect("a stored document");
            let source = document.get_first(fields.source).and_then(|value| value.as_bytes()).expect("its source");
            let product: Product = serde_json::from_slice(source).expect("a stored product");
            let id = product.id.to_string();
            if state.live.insert(id.clone(), (product.version, product.title, product.price, product.stock)).is_some() {
                duplicated.push(id);
            }
        }
    }
    (state, duplicated)
}

/// Where `vitrine index` says it resumes, for a checkpoint.
fn resume_point(checkpoint: &Checkpoint, topic: &str) -> String {
    let offsets = next_offsets(checkpoint, topic);
    if offsets.is_empty() {
        return "the beginning".to_owned();
    }
    let pairs: Vec<String> = offsets.iter().map(|(partition, next)| format!("{partition}:{next}")).collect();
    format!("offsets {}", pairs.join(", "))
}

/// One restart after a kill.
#[derive(Debug)]
struct Recovery {
    /// Messages committed when killed, and delivered to the topic by then.
    covered_at_kill: i64,
    delivered_at_kill: usize,
    /// From spawn to `indexer started:`.
    to_started: Duration,
    /// From spawn to the first commit past the checkpoint of the kill, if one came before the next
    /// kill (or, after the last kill, at all: none when nothing was left to consume).
    to_first_commit: Option<Duration>,
    /// From spawn to the next kill (none for the last run).
    lived: Option<Duration>,
}

fn millis(duration: Duration) -> u128 {
    duration.as_millis()
}

/// Checks, while no indexer runs, that the last commit holds exactly what the events its
/// checkpoint covers make (no more, no less), and nothing twice.
fn assert_commit_is_exact(
    search: &Path,
    topic: &str,
    checkpoint: &Checkpoint,
    events: &[ProductEvent],
    producer: &ThreadedProducer<Deliveries>,
) {
    let next = next_offsets(checkpoint, topic);
    // Whatever the indexer read was delivered; its report may reach the producer a little later.
    let deadline = Instant::now() + Duration::from_secs(30);
    let covered_events = loop {
        let positions = producer.context().positions.lock().unwrap_or_else(PoisonError::into_inner).clone();
        let mut covered_events: Vec<((i32, i64), usize)> = positions
            .iter()
            .enumerate()
            .filter_map(|(place, position)| position.map(|position| (position, place)))
            .filter(|((partition, offset), _)| next.get(partition).is_some_and(|next| offset < next))
            .collect();
        if covered_events.len() as i64 == covered(checkpoint, topic) {
            covered_events.sort_unstable();
            break covered_events;
        }
        assert!(Instant::now() < deadline, "the checkpoint {next:?} covers messages never delivered");
        std::thread::sleep(Duration::from_millis(20));
    };
    let expected = fold(covered_events.iter().map(|&(_, place)| &events[place]));
    let (committed, duplicated) = committed_state(search);
    assert!(duplicated.is_empty(), "products indexed twice in the commit at {next:?}: {duplicated:?}");
    let differ: Vec<_> = expected
        .live
        .keys()
        .chain(committed.live.keys())
        .filter(|id| expected.live.get(*id) != committed.live.get(*id))
        .take(5)
        .map(|id| (id, expected.live.get(id), committed.live.get(id)))
        .collect();
    assert!(differ.is_empty(), "the commit at {next:?} differs from its events (id, expected, indexed): {differ:?}");
    assert!(committed == expected, "the commit at {next:?}: its tombstones differ from its events");
}

// ---------------------------------------------------------------------------------------------

#[test]
fn kill_9_during_a_50000_event_load_loses_and_duplicates_nothing() {
    const TEST: &str = "kill_9_during_a_50000_event_load_loses_and_duplicates_nothing";
    let Some(brokers) = kafka_brokers(TEST) else { return };
    let Some(bin) = vitrine_bin(TEST) else { return };
    let began = Instant::now();
    let seed = std::env::var("VITRINE_CRASH_SEED").ok().and_then(|seed| seed.parse().ok()).unwrap_or(DEFAULT_SEED);
    eprintln!("{TEST}: seed {seed} (VITRINE_CRASH_SEED replays it), binary {}", bin.display());
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);

    let topic = unique_topic("vitrine-crash");
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(create_topic(&brokers, &topic, PARTITIONS));
    let temp = tempfile::tempdir().expect("temp dir");
    let data = temp.path().join("data");
    let name = IndexName::new(INDEX).expect("index name");
    let search = DataDir::new(&data).search_index(&name);

    let events = load(&mut rng);
    assert_eq!(events.len(), PRODUCTS * EVENTS_PER_PRODUCT);
    let deliveries = Deliveries {
        positions: Mutex::new(vec![None; events.len()]),
        delivered: AtomicUsize::new(0),
        failures: Mutex::default(),
    };
    let producer: ThreadedProducer<Deliveries> = ClientConfig::new()
        .set("bootstrap.servers", &brokers)
        .set("message.timeout.ms", "300000")
        .set("linger.ms", "5")
        // One record per record batch: tansu 0.6's storage answers a fetch from an offset inside a
        // batch with the batches *after* it (`offsets.split_off(&offset)` over batch base offsets in
        // tansu-storage's dynostore.rs), so a restart resuming mid-batch would silently skip the
        // rest of that batch. Real Kafka returns the batch holding the offset.
        .set("batch.num.messages", "1")
        .create_with_context(deliveries)
        .expect("producer");
    let (before, rest) = events.split_at(PRODUCED_BEFORE_START);
    produce(&producer, &topic, before, 0, false);
    producer.flush(Duration::from_secs(120)).expect("the first events delivered");
    eprintln!(
        "{TEST}: {PRODUCED_BEFORE_START} events delivered in {} ms before the first start",
        millis(began.elapsed())
    );
    let delivered = || producer.context().delivered.load(Ordering::Relaxed);

    let mut recoveries: Vec<Recovery> = Vec::new();
    let mut cold_start = Duration::ZERO;
    let mut last: Option<IndexerProcess> = None;
    let mut last_spawned = Instant::now();
    std::thread::scope(|scope| {
        let production = scope.spawn(|| produce(&producer, &topic, rest, PRODUCED_BEFORE_START, true));
        for round in 0..=KILLS {
            let at_spawn = committed(&search);
            let spawned = Instant::now();
            let log = temp.path().join(format!("indexer-{round}.log"));
            let mut process = IndexerProcess::spawn(&bin, &data, &brokers, &topic, log);
            let (started, line) = process.wait_for_line("indexer started:", START_DEADLINE);
            let resume = format!("from {};", resume_point(&at_spawn, &topic));
            assert!(line.contains(&resume), "the indexer resumes from its last commit ({resume}): {line}");
            if round == 0 {
                cold_start = started - spawned;
            } else {
                recoveries.last_mut().expect("a kill before").to_started = started - spawned;
            }
            // The first commit past the one the run started from: watched until the kill, and in
            // the last run until it comes (or nothing is left to consume).
            let run_for = (round < KILLS).then(|| Duration::from_millis(rng.random_range(RUN_MS)));
            let mut first_commit = None;
            loop {
                process.assert_running();
                let now = covered(&committed(&search), &topic);
                if first_commit.is_none() && now > covered(&at_spawn, &topic) {
                    first_commit = Some(spawned.elapsed());
                }
                match run_for {
                    Some(run_for) if started.elapsed() >= run_for => break,
                    Some(_) => {}
                    None if first_commit.is_some() => break,
                    None if production.is_finished() && usize::try_from(now).is_ok_and(|now| now >= delivered()) => {
                        break;
                    }
                    None => assert!(spawned.elapsed() < CATCH_UP_DEADLINE, "no commit after the last restart"),
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            if round > 0 {
                recoveries.last_mut().expect("a kill before").to_first_commit = first_commit;
            }
            let Some(run_for) = run_for else {
                last = Some(process);
                last_spawned = spawned;
                break;
            };
            process.kill();
            if round > 0 {
                recoveries.last_mut().expect("a kill before").lived = Some(spawned.elapsed());
            }
            let at_kill = committed(&search);
            assert_commit_is_exact(&search, &topic, &at_kill, &events, &producer);
            recoveries.push(Recovery {
                covered_at_kill: covered(&at_kill, &topic),
                delivered_at_kill: delivered(),
                to_started: Duration::ZERO,
                to_first_commit: None,
                lived: None,
            });
            eprintln!(
                "{TEST}: kill -9 #{} after {} ms of running: {} of {} delivered events committed",
                round + 1,
                millis(run_for),
                covered(&at_kill, &topic),
                delivered()
            );
        }
        production.join().expect("production");
    });
    producer.flush(Duration::from_secs(180)).expect("every event delivered");
    let failures = producer.context().failures.lock().unwrap_or_else(PoisonError::into_inner).clone();
    assert!(failures.is_empty(), "undelivered events: {failures:?}");
    let positions: Vec<(i32, i64)> = producer
        .context()
        .positions
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .iter()
        .map(|position| position.expect("every event delivered"))
        .collect();
    let produced_in = began.elapsed();

    // Each partition's messages: offsets 0..count, each once.
    let mut per_partition: BTreeMap<i32, Vec<i64>> = BTreeMap::new();
    for &(partition, offset) in &positions {
        per_partition.entry(partition).or_default().push(offset);
    }
    let mut counts: BTreeMap<i32, i64> = BTreeMap::new();
    for (partition, offsets) in &mut per_partition {
        offsets.sort_unstable();
        let count = i64::try_from(offsets.len()).expect("count");
        assert!(offsets.iter().copied().eq(0..count), "partition {partition}: offsets 0..{count}, each once");
        counts.insert(*partition, count);
    }
    eprintln!("{TEST}: produced {} events, per partition {counts:?}", events.len());

    // Wait until the last indexer's commit covers every message.
    let mut process = last.expect("the last indexer");
    let deadline = Instant::now() + CATCH_UP_DEADLINE;
    let caught_up = loop {
        let checkpoint = committed(&search);
        if next_offsets(&checkpoint, &topic) == counts {
            break checkpoint;
        }
        process.assert_running();
        if Instant::now() > deadline {
            process.fail(&format!(
                "not caught up within {CATCH_UP_DEADLINE:?}: committed {:?}, messages {counts:?}",
                next_offsets(&checkpoint, &topic)
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let caught_up_after = last_spawned.elapsed();
    let status = process.terminate();
    assert!(status.success(), "a clean stop after SIGTERM: {status}; stdout: {:?}", process.seen);
    assert!(
        process.seen.iter().any(|line| line.starts_with("indexer stopped:")),
        "`indexer stopped:` after SIGTERM: {:?}",
        process.seen
    );
    assert_eq!(committed(&search), caught_up, "nothing committed after the catch-up");

    // The state: every product's events folded in the order of their offsets.
    let mut order: Vec<usize> = (0..events.len()).collect();
    order.sort_by_key(|&place| positions[place]);
    let expected = fold(order.iter().map(|&place| &events[place]));
    let topic_holds = read_back(&brokers, &topic, &counts);
    let mismatched: Vec<_> = order
        .iter()
        .filter(|&&place| topic_holds.get(&positions[place]) != Some(&events[place].event_id))
        .map(|&place| (positions[place], &events[place].event_id, topic_holds.get(&positions[place])))
        .take(10)
        .collect();
    assert!(
        mismatched.is_empty() && topic_holds.len() == events.len(),
        "the topic holds what the delivery reports say ({} read): {mismatched:?}",
        topic_holds.len()
    );
    let catalog = Catalog::new(DataDir::new(&data));
    let mut live: BTreeMap<String, Row> = BTreeMap::new();
    let mut duplicated = Vec::new();
    for product in catalog.products(&name).expect("the products") {
        let id = product.id.to_string();
        if live.insert(id.clone(), (product.version, product.title, product.price, product.stock)).is_some() {
            duplicated.push(id);
        }
    }
    let tombstones = catalog.get(&name).expect("the index").checkpoint().tombstones;
    let actual = State { live, tombstones };
    let lost: Vec<&String> = expected.live.keys().filter(|id| !actual.live.contains_key(*id)).take(10).collect();
    let extra: Vec<&String> = actual.live.keys().filter(|id| !expected.live.contains_key(*id)).take(10).collect();
    let wrong: Vec<(&String, &Row, Option<&Row>)> = expected
        .live
        .iter()
        .filter(|(id, row)| actual.live.get(*id).is_some_and(|found| found != *row))
        .map(|(id, row)| (id, row, actual.live.get(id)))
        .take(10)
        .collect();
    assert!(duplicated.is_empty(), "products indexed twice: {duplicated:?}");
    let history = |id: &str| -> Vec<String> {
        order
            .iter()
            .filter(|&&place| events[place].product_id.as_str() == id)
            .map(|&place| format!("{:?} v{} {:?}", positions[place], events[place].version, events[place].change))
            .collect()
    };
    let first_wrong = lost.iter().chain(&extra).copied().chain(wrong.iter().map(|(id, ..)| *id)).next();
    assert!(
        lost.is_empty() && extra.is_empty() && wrong.is_empty(),
        "lost {lost:?}, extra {extra:?}, wrong (expected, indexed) {wrong:?}; the events of {first_wrong:?} by \
         (partition, offset): {:#?}",
        first_wrong.map(|id| history(id))
    );
    let tombstones_differ: Vec<(&String, Option<&u64>, Option<&u64>)> = expected
        .tombstones
        .keys()
        .chain(actual.tombstones.keys())
        .filter(|id| expected.tombstones.get(*id) != actual.tombstones.get(*id))
        .map(|id| (id, expected.tombstones.get(id), actual.tombstones.get(id)))
        .take(10)
        .collect();
    assert!(tombstones_differ.is_empty(), "tombstones (id, expected, indexed): {tombstones_differ:?}");
    assert!(actual == expected, "the same products and tombstones");
    assert!(expected.live.len() > PRODUCTS / 2 && !expected.tombstones.is_empty(), "a load with both");

    // Recovery times, for the notes.
    eprintln!(
        "{TEST}: {} live products, {} tombstones; {} kills; cold start {} ms; last restart caught up in {} ms; \
         whole test {} s (production done at {} s)",
        expected.live.len(),
        expected.tombstones.len(),
        recoveries.len(),
        millis(cold_start),
        millis(caught_up_after),
        began.elapsed().as_secs_f64(),
        produced_in.as_secs_f64()
    );
    for (kill, recovery) in recoveries.iter().enumerate() {
        let first_commit = match (recovery.to_first_commit, recovery.lived) {
            (Some(time), _) => format!("{} ms", millis(time)),
            (None, Some(lived)) => format!("none before the next kill, {} ms after spawn", millis(lived)),
            (None, None) => "none (nothing left to consume)".to_owned(),
        };
        eprintln!(
            "RECOVERY after kill -9 #{}: `indexer started:` {} ms after spawn; first commit past the kill's checkpoint: \
             {first_commit} (at the kill: {} of {} delivered events committed)",
            kill + 1,
            millis(recovery.to_started),
            recovery.covered_at_kill,
            recovery.delivered_at_kill
        );
    }
    let started: Vec<u128> = recoveries.iter().map(|recovery| millis(recovery.to_started)).collect();
    let committed_after: Vec<u128> =
        recoveries.iter().filter_map(|recovery| recovery.to_first_commit.map(millis)).collect();
    let average = |values: &[u128]| values.iter().sum::<u128>() / values.len().max(1) as u128;
    eprintln!(
        "RECOVERY average over {} kills (debug build): spawn -> `indexer started:` {} ms (max {}); spawn -> first \
         commit past the kill's checkpoint {} ms (max {}, over {} measured)",
        recoveries.len(),
        average(&started),
        started.iter().max().copied().unwrap_or(0),
        average(&committed_after),
        committed_after.iter().max().copied().unwrap_or(0),
        committed_after.len()
    );
    assert!(recoveries.len() >= 5, "at least 5 kills");
}
