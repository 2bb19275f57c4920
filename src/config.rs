//! The command line and the configuration it resolves to.
//!
//! One set of option structs derives both `clap::Args` and `serde::Deserialize`, so a setting has
//! one name everywhere: `--listen` on the command line, `VITRINE_LISTEN` in the environment and
//! `listen` in the `[server]` table of the config file. Precedence, lowest first:
//! built-in default < config file < environment < flag. Clap resolves env < flag (every field is
//! an `Option`, so "not given" is visible); [`ServerOptions::layered_over`] puts the file beneath.
//! The Kafka indexer's options ([`KafkaOptions`]: `--kafka-brokers`, `VITRINE_KAFKA_BROKERS`,
//! `brokers` in the `[kafka]` table) are layered the same way, by `serve` and `index` alike.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use serde::Deserialize;
use vitrine_models::IndexName;

/// The config file's current version; files must say `version = 1`.
pub const CONFIG_VERSION: u32 = 1;

/// Search, recommendations and checkout for online shops, in one binary.
#[derive(Debug, Parser)]
#[command(name = "vitrine", version, about, long_about = None)]
pub struct Cli {
    /// Options every command understands.
    #[command(flatten)]
    pub global: GlobalOptions,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command understands.
#[derive(Debug, Default, Clone, Args, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GlobalOptions {
    /// Where indexes, models, logs and commerce state live [default: ./vitrine-data]
    #[arg(long, global = true, env = "VITRINE_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// A TOML config file (`version = 1`, optional `data_dir`, optional `[server]` table).
    #[arg(long, global = true, env = "VITRINE_CONFIG", value_name = "FILE")]
    #[serde(skip)]
    pub config: Option<PathBuf>,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the HTTP API (and, with `--kafka-brokers` and `--kafka-topic`, keep an index fed
    /// from a Kafka topic of product events).
    Serve(ServeArgs),
    /// Load the bundled demo shop as the index `retail`, train what exists, serve, print the URLs.
    Demo(ServerOptions),
    /// Load a file into an index.
    #[command(subcommand)]
    Import(ImportCommand),
    /// Feed an index from a Kafka topic of product events, without serving, until Ctrl-C or SIGTERM.
    Index(IndexArgs),
    /// Publish product events to a Kafka topic.
    #[command(subcommand)]
    Publish(PublishCommand),
    /// Train the recommendation models of an index.
    Train(TrainArgs),
    /// Evaluate search relevance or recommendation quality offline.
    #[command(subcommand)]
    Eval(EvalCommand),
    /// Measure speed: HTTP search latency and throughput on loopback; the Kafka indexer's freshness and rates.
    #[command(subcommand)]
    Bench(BenchCommand),
}

/// What `vitrine import` can load.
#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Upsert products (JSON Lines or CSV; `id` and `title` required) into an index.
    Products(ImportArgs),
    /// Append interactions (JSON Lines or CSV) to an index's interaction log.
    Interactions(ImportArgs),
}

/// Arguments of the import commands.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The index to load into; created if it does not exist.
    #[arg(long, value_name = "NAME")]
    pub index: String,
    /// The file: `.jsonl`/`.ndjson`/`.json` for JSON Lines, `.csv` for CSV.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
}

/// Arguments of `vitrine serve`.
#[derive(Debug, Default, Clone, Args)]
pub struct ServeArgs {
    /// The server's options.
    #[command(flatten)]
    pub server: ServerOptions,
    /// The Kafka indexer's options (none: no indexer).
    #[command(flatten)]
    pub kafka: KafkaOptions,
}

/// Arguments of `vitrine index`.
#[derive(Debug, Clone, Args)]
pub struct IndexArgs {
    /// The Kafka indexer's options (`--kafka-brokers` and `--kafka-topic` are required).
    #[command(flatten)]
    pub kafka: KafkaOptions,
    /// Print a progress line (consumed, applied, dead-lettered, lag) this often, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 10)]
    pub report_every: u64,
}

/// What `vitrine publish` can publish.
#[derive(Debug, Subcommand)]
pub enum PublishCommand {
    /// Publish a product feed (JSON Lines or CSV) as `product_upserted` events keyed by product id.
    Products(PublishArgs),
}

/// Arguments of `vitrine publish products`.
#[derive(Debug, Args)]
pub struct PublishArgs {
    /// The index the events are meant for (informative: the indexer reading the topic decides).
    #[arg(long, value_name = "NAME")]
    pub index: String,
    /// The feed: `.jsonl`/`.ndjson`/`.json` for JSON Lines, `.csv` for CSV.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Kafka bootstrap servers, `HOST:PORT[,HOST:PORT…]` [default: the config file's `[kafka]` table]
    #[arg(long, env = "VITRINE_KAFKA_BROKERS", value_name = "HOST:PORT")]
    pub kafka_brokers: Option<String>,
    /// The topic to publish to [default: the config file's `[kafka]` table]
    #[arg(long, env = "VITRINE_KAFKA_TOPIC", value_name = "TOPIC")]
    pub kafka_topic: Option<String>,
    /// Create the topic with this many partitions if it does not exist [default: it must exist]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(i32).range(1..))]
    pub partitions: Option<i32>,
}

/// Where the Kafka indexer puts events it cannot use.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeadLetterChoice {
    /// The topic `TOPIC.dead-letter`.
    #[default]
    Topic,
    /// The file `DATA_DIR/indexes/NAME/dead-letters.jsonl`.
    Local,
}

/// The Kafka indexer's options: flags of `serve` and `index`, `VITRINE_KAFKA_*` variables, or the
/// `[kafka]` table of the config file.
#[derive(Debug, Default, Clone, Args, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaOptions {
    /// Kafka bootstrap servers, `HOST:PORT[,HOST:PORT…]`; with `--kafka-topic`, runs the indexer.
    #[arg(long = "kafka-brokers", env = "VITRINE_KAFKA_BROKERS", value_name = "HOST:PORT")]
    pub brokers: Option<String>,
    /// The topic of product events to index.
    #[arg(long = "kafka-topic", env = "VITRINE_KAFKA_TOPIC", value_name = "TOPIC")]
    pub topic: Option<String>,
    /// The index the topic feeds [default: the topic's name]
    #[arg(long = "kafka-index", env = "VITRINE_KAFKA_INDEX", value_name = "NAME")]
    pub index: Option<String>,
    /// The longest a batch of events waits before it is committed, in milliseconds [default: 100]
    #[arg(long = "kafka-commit-interval-ms", env = "VITRINE_KAFKA_COMMIT_INTERVAL_MS", value_name = "MS")]
    pub commit_interval_ms: Option<u64>,
    /// The most events in one batch (one commit) [default: 5000]
    #[arg(long = "kafka-max-batch", env = "VITRINE_KAFKA_MAX_BATCH", value_name = "N")]
    pub max_batch: Option<usize>,
    /// Where events that cannot be used go: the topic `TOPIC.dead-letter`, or
    /// `DATA_DIR/indexes/NAME/dead-letters.jsonl` [default: topic]
    #[arg(long = "kafka-dead-letters", env = "VITRINE_KAFKA_DEAD_LETTERS", value_name = "SINK")]
    pub dead_letters: Option<DeadLetterChoice>,
}

impl KafkaOptions {
    /// These options over `file`: each setting given here wins; the rest come from the file.
    pub fn layered_over(self, file: KafkaOptions) -> KafkaOptions {
        KafkaOptions {
            brokers: self.brokers.or(file.brokers),
            topic: self.topic.or(file.topic),
            index: self.index.or(file.index),
            commit_interval_ms: self.commit_interval_ms.or(file.commit_interval_ms),
            max_batch: self.max_batch.or(file.max_batch),
            dead_letters: self.dead_letters.or(file.dead_letters),
        }
    }

    /// Fills in the defaults and checks the result: `None` when neither brokers nor a topic is
    /// given (no indexer).
    pub fn resolve(self) -> Result<Option<KafkaConfig>, ConfigError> {
        let non_blank = |value: Option<String>| value.map(|value| value.trim().to_owned()).filter(|v| !v.is_empty());
        let (brokers, topic) = match (non_blank(self.brokers), non_blank(self.topic)) {
            (None, None) => return Ok(None),
            (Some(brokers), Some(topic)) => (brokers, topic),
            (None, Some(_)) => return Err(ConfigError::KafkaIncomplete("--kafka-topic needs --kafka-brokers")),
            (Some(_), None) => return Err(ConfigError::KafkaIncomplete("--kafka-brokers needs --kafka-topic")),
        };
        let name = self.index.unwrap_or_else(|| topic.clone());
        let index = IndexName::new(&name)
            .map_err(|error| ConfigError::KafkaIndex { name: name.clone(), reason: error.to_string() })?;
        let commit_interval_ms = self.commit_interval_ms.unwrap_or(100);
        if commit_interval_ms == 0 {
            return Err(ConfigError::KafkaIncomplete("--kafka-commit-interval-ms must be at least 1"));
        }
        let max_batch = self.max_batch.unwrap_or(5_000);
        if max_batch == 0 {
            return Err(ConfigError::KafkaIncomplete("--kafka-max-batch must be at least 1"));
        }
        Ok(Some(KafkaConfig {
            brokers,
            topic,
            index,
            commit_interval: Duration::from_millis(commit_interval_ms),
            max_batch,
            dead_letters: self.dead_letters.unwrap_or_default(),
        }))
    }
}

/// The resolved Kafka indexer configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KafkaConfig {
    /// Bootstrap servers.
    pub brokers: String,
    /// The topic of product events.
    pub topic: String,
    /// The index it feeds.
    pub index: IndexName,
    /// The longest a batch waits before it is committed.
    pub commit_interval: Duration,
    /// The most events in one batch.
    pub max_batch: usize,
    /// Where unusable events go.
    pub dead_letters: DeadLetterChoice,
}

/// Arguments of `vitrine train`.
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// The index whose interactions to train on.
    #[arg(long, value_name = "NAME", default_value = "retail")]
    pub index: String,
    /// Training parameters (JSON: event weights, half-life, `ials`, `cooc`, `content`,
    /// `popularity`); unset fields keep their defaults.
    #[arg(long, value_name = "FILE")]
    pub params: Option<PathBuf>,
    /// Model versions kept on disk (older ones are deleted; the current one always stays).
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub keep: usize,
    /// Append these interactions to the index's log first (CSV, JSON Lines or Parquet with
    /// `user_id`, `product_id`, `event`, `quantity`, `timestamp`; see `docs/recommendations.md`).
    #[arg(long, value_name = "FILE")]
    pub interactions: Option<PathBuf>,
}

/// What `vitrine eval` can evaluate.
#[derive(Debug, Subcommand)]
pub enum EvalCommand {
    /// Search relevance on the Home Depot judgments: NDCG@10, MRR@10, Recall@10, zero results,
    /// as typed and with one injected typo per query, against a plain BM25 baseline.
    Search(EvalSearchArgs),
    /// Recommendation quality under a global temporal split, full-catalogue ranking:
    /// popularity, co-occurrence, iALS, EASE, content and the hybrid blend.
    Recs(EvalRecsArgs),
}

/// What `vitrine bench` can measure.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Search over HTTP on loopback: typo-tolerant faceted queries from concurrent clients.
    Search(BenchSearchArgs),
    /// Recommendations over HTTP on loopback: the five kinds in turn on the demo shop's model
    /// (loaded and trained first if needed).
    Recs(BenchRecsArgs),
    /// HNSW against an exact scan on real vectors: the content vectors of the Home Depot titles
    /// (cosine): recall@10 and queries/s, for several beam widths.
    Ann(BenchAnnArgs),
    /// Checkouts over HTTP on loopback from many clients (each a full saga), on a scratch SQLite
    /// database or a scratch schema of `--commerce-db`: checkouts/s and latency percentiles.
    Checkout(BenchCheckoutArgs),
    /// The Kafka indexer: partial updates/s, freshness (produced → searchable) at a given event
    /// rate, and sustained events/s, against real brokers, on a scratch index.
    Indexer(BenchIndexerArgs),
}

/// Arguments of `vitrine bench search`.
#[derive(Debug, Args)]
pub struct BenchSearchArgs {
    /// The catalog: `homedepot` (54,667 titles, read from `--dataset`) or `retail` (the demo shop).
    #[arg(long, default_value = "homedepot")]
    pub catalog: String,
    /// The Home Depot relevance folder (for `--catalog homedepot`).
    #[arg(long, value_name = "DIR", default_value = "../shared/datasets/homedepot-relevance")]
    pub dataset: PathBuf,
    /// Requests to time (after a warm-up of 500).
    #[arg(long, default_value_t = 20_000)]
    pub requests: usize,
    /// Concurrent clients.
    #[arg(long, default_value_t = 2)]
    pub concurrency: usize,
}

/// Arguments of `vitrine bench recs`.
#[derive(Debug, Args)]
pub struct BenchRecsArgs {
    /// Requests to time (after a warm-up of 500).
    #[arg(long, default_value_t = 20_000)]
    pub requests: usize,
    /// Concurrent clients.
    #[arg(long, default_value_t = 2)]
    pub concurrency: usize,
}

/// Arguments of `vitrine bench ann`.
#[derive(Debug, Args)]
pub struct BenchAnnArgs {
    /// The Home Depot relevance folder (its product titles are embedded).
    #[arg(long, value_name = "DIR", default_value = "../shared/datasets/homedepot-relevance")]
    pub dataset: PathBuf,
    /// Beam widths (ef_search) to measure.
    #[arg(long, value_delimiter = ',', default_value = "64,128,256")]
    pub ef: Vec<usize>,
    /// Queries (products whose neighbours are searched, every n-th of the catalog).
    #[arg(long, default_value_t = 1_000)]
    pub queries: usize,
}

/// Arguments of `vitrine bench checkout`.
#[derive(Debug, Args)]
pub struct BenchCheckoutArgs {
    /// Concurrent clients.
    #[arg(long, default_value_t = 200)]
    pub clients: usize,
    /// Checkouts to time (after a warm-up of 500).
    #[arg(long, default_value_t = 4_000)]
    pub checkouts: usize,
    /// A PostgreSQL URL (a scratch schema is made and dropped) [default: a scratch SQLite file]
    #[arg(long, value_name = "URL")]
    pub commerce_db: Option<String>,
}

/// Arguments of `vitrine bench indexer`.
#[derive(Debug, Args)]
pub struct BenchIndexerArgs {
    /// Kafka bootstrap servers, `HOST:PORT[,HOST:PORT…]`; topics `vitrine-bench-…` are created
    /// there, and deleted at the end.
    #[arg(long, value_name = "HOST:PORT")]
    pub kafka_brokers: String,
    /// Events per second produced while freshness is measured.
    #[arg(long, value_name = "EVENTS", default_value_t = 1_000)]
    pub rate: u32,
    /// How long events are produced while freshness is measured, in seconds.
    #[arg(long, default_value_t = 20)]
    pub seconds: u64,
    /// Synthetic products in the index.
    #[arg(long, default_value_t = 20_000)]
    pub products: usize,
    /// The indexer's commit interval, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 100)]
    pub commit_interval_ms: u64,
}

/// Arguments of `vitrine eval search`.
#[derive(Debug, Args)]
pub struct EvalSearchArgs {
    /// The Home Depot relevance folder (`products.csv`, `judgments_dev.csv`), used without
    /// `--index`: its titles are indexed afresh and compared with plain BM25.
    #[arg(long, value_name = "DIR", default_value = "../shared/datasets/homedepot-relevance")]
    pub dataset: PathBuf,
    /// An existing index to evaluate (with `--judgments`).
    #[arg(long, value_name = "NAME", requires = "judgments")]
    pub index: Option<String>,
    /// Judgments CSV `query_id,query,product_id,relevance` (`product_uid` also accepted).
    #[arg(long, value_name = "FILE", requires = "index")]
    pub judgments: Option<PathBuf>,
    /// Also run every query with one injected typo (always on for Home Depot).
    #[arg(long)]
    pub typos: bool,
    /// A draft of the index settings (JSON; the parts it has replace the live ones) evaluated
    /// beside the live settings, with a paired significance test per metric.
    #[arg(long, value_name = "FILE")]
    pub settings: Option<PathBuf>,
    /// Gain of each relevance grade, `grade:gain` pairs, linear in between [default: 1:0,3:2,
    /// i.e. relevance − 1].
    #[arg(long, value_name = "G:GAIN,…")]
    pub gain: Option<String>,
    /// Seed of the injected typos.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Folder of the reports, `search-report.json` and `search-report.html` [default: DATA_DIR/eval]
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// Arguments of `vitrine eval recs`.
#[derive(Debug, Args)]
pub struct EvalRecsArgs {
    /// Interactions CSV (`user_id`, `product_id` or `item_id`, `timestamp`, optional `basket_id`,
    /// `weight` or `quantity`)
    /// [default: the Online Retail II file, with its purchase rules]
    #[arg(long, value_name = "FILE")]
    pub interactions: Option<PathBuf>,
    /// The Online Retail II file (used when `--interactions` is not given).
    #[arg(
        long,
        value_name = "FILE",
        default_value = "../shared/datasets/online-retail-ii/online_retail_II_2009-2010.csv.gz"
    )]
    pub online_retail: PathBuf,
    /// Split time (ISO 8601 or Unix seconds) [default: 2010-09-01 for Online Retail II, else the
    /// timestamp at index floor(0.8 n)]
    #[arg(long, value_name = "DATETIME")]
    pub cutoff: Option<String>,
    /// Cut-offs of the metrics.
    #[arg(long, value_name = "K,K", value_delimiter = ',', default_value = "10,20")]
    pub k: Vec<usize>,
    /// Models to evaluate: pop, cooc, ials, ease, content, hybrid.
    #[arg(long, value_name = "NAME,NAME", value_delimiter = ',', default_value = "pop,cooc,ials,ease,content,hybrid")]
    pub models: Vec<String>,
    /// Parameters of the models (JSON: `ials`, `cooc`, `ease`, `sparse_ease`, `content`,
    /// `popularity`, `hybrid`, `hybrid_without_ease`).
    #[arg(long, value_name = "FILE")]
    pub params: Option<PathBuf>,
    /// A hyper-parameter grid (JSON: dotted paths to lists, `{"ials.factors": [32, 64]}`): every
    /// model is evaluated once per combination of the values of its parameters.
    #[arg(long, value_name = "FILE")]
    pub grid: Option<PathBuf>,
    /// Product catalog (CSV or JSON Lines, as `vitrine import products`) whose texts feed the
    /// content model [default: the Online Retail II descriptions, or none].
    #[arg(long, value_name = "FILE")]
    pub catalog: Option<PathBuf>,
    /// The share of the log's timestamps after the cutoff (instead of `--cutoff`): 0.2 puts the
    /// cutoff at the timestamp at index floor(0.8 n).
    #[arg(long, value_name = "F", conflicts_with = "cutoff")]
    pub test_fraction: Option<f64>,
    /// Folder of the reports, `recs-report.json` and `recs-report.html` [default: DATA_DIR/eval]
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// Server options: flags of `serve` and `demo`, `VITRINE_*` variables, or the `[server]` table.
#[derive(Debug, Default, Clone, Args, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerOptions {
    /// Address to listen on [default: 127.0.0.1:8080]
    #[arg(long, env = "VITRINE_LISTEN", value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// Key for admin endpoints (document and settings writes); sent as `Authorization: Bearer KEY`.
    #[arg(long, env = "VITRINE_ADMIN_KEY", value_name = "KEY", hide_env_values = true)]
    pub admin_key: Option<String>,
    /// Key for read and shopper endpoints (search, suggest, recommendations, events, carts, checkout).
    #[arg(long, env = "VITRINE_SEARCH_KEY", value_name = "KEY", hide_env_values = true)]
    pub search_key: Option<String>,
    /// Refuse to start without both API keys.
    #[arg(long, env = "VITRINE_PRODUCTION")]
    #[serde(default)]
    pub production: bool,
    /// Origins allowed to call the API from a browser (comma-separated, or `*`) [default: none]
    #[arg(long = "cors-origin", env = "VITRINE_CORS_ORIGINS", value_name = "ORIGIN", value_delimiter = ',')]
    #[serde(default)]
    pub cors_origins: Vec<String>,
    /// Longest a request may take before it is answered 408, in milliseconds [default: 30000]
    #[arg(long, env = "VITRINE_REQUEST_TIMEOUT_MS", value_name = "MS")]
    pub request_timeout_ms: Option<u64>,
    /// Largest request body accepted, in bytes [default: 104857600, 100 MiB]
    #[arg(long, env = "VITRINE_MAX_BODY_BYTES", value_name = "BYTES")]
    pub max_body_bytes: Option<usize>,
    /// Commerce database: `sqlite:PATH` or `postgres://…` (several replicas need PostgreSQL)
    /// [default: sqlite:DATA_DIR/commerce.db]
    #[arg(long, env = "VITRINE_COMMERCE_DB", value_name = "URL", hide_env_values = true)]
    pub commerce_db: Option<String>,
    /// Delay of every call to the simulated payment gateway, in milliseconds [default: 0]
    #[arg(long, env = "VITRINE_PAYMENT_LATENCY_MS", value_name = "MS")]
    pub payment_latency_ms: Option<u64>,
    /// Share (0–1) of authorisations the simulated gateway fails with `processing_error` [default: 0]
    #[arg(long, env = "VITRINE_PAYMENT_FAILURE_RATE", value_name = "RATE")]
    pub payment_failure_rate: Option<f64>,
    /// Hold stock from add-to-cart (the cart's units are kept for it) instead of from checkout.
    #[arg(long, env = "VITRINE_COMMERCE_HOLD_AT_ADD_TO_CART")]
    #[serde(default)]
    pub commerce_hold_at_add_to_cart: bool,
}

impl ServerOptions {
    /// These options over `file`: each setting given here wins; the rest come from the file.
    pub fn layered_over(self, file: ServerOptions) -> ServerOptions {
        ServerOptions {
            listen: self.listen.or(file.listen),
            admin_key: self.admin_key.or(file.admin_key),
            search_key: self.search_key.or(file.search_key),
            production: self.production || file.production,
            cors_origins: if self.cors_origins.is_empty() { file.cors_origins } else { self.cors_origins },
            request_timeout_ms: self.request_timeout_ms.or(file.request_timeout_ms),
            max_body_bytes: self.max_body_bytes.or(file.max_body_bytes),
            commerce_db: self.commerce_db.or(file.commerce_db),
            commerce_hold_at_add_to_cart: self.commerce_hold_at_add_to_cart || file.commerce_hold_at_add_to_cart,
            payment_latency_ms: self.payment_latency_ms.or(file.payment_latency_ms),
            payment_failure_rate: self.payment_failure_rate.or(file.payment_failure_rate),
        }
    }

    /// Fills in the defaults and checks the result.
    pub fn resolve(self) -> Result<ServerConfig, ConfigError> {
        let non_blank = |key: Option<String>, name: &'static str| match key {
            Some(key) if key.trim().is_empty() => Err(ConfigError::BlankKey(name)),
            other => Ok(other),
        };
        let admin_key = non_blank(self.admin_key, "admin key")?;
        let search_key = non_blank(self.search_key, "search key")?;
        if self.production && (admin_key.is_none() || search_key.is_none()) {
            return Err(ConfigError::ProductionWithoutKeys);
        }
        if admin_key.is_some() && admin_key == search_key {
            return Err(ConfigError::SameKeys);
        }
        let failure_rate = self.payment_failure_rate.unwrap_or(0.0);
        if !(0.0..=1.0).contains(&failure_rate) {
            return Err(ConfigError::PaymentFailureRate(failure_rate));
        }
        Ok(ServerConfig {
            listen: self.listen.unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080))),
            keys: ApiKeys { admin: admin_key, search: search_key },
            cors_origins: self.cors_origins.into_iter().map(|origin| origin.trim().to_owned()).collect(),
            request_timeout: Duration::from_millis(self.request_timeout_ms.unwrap_or(30_000)),
            max_body_bytes: self.max_body_bytes.unwrap_or(100 * 1024 * 1024),
            commerce_db: self.commerce_db.map(|url| url.trim().to_owned()).filter(|url| !url.is_empty()),
            commerce_hold_at_add_to_cart: self.commerce_hold_at_add_to_cart,
            payment_gateway: vitrine_commerce::GatewaySettings {
                latency: Duration::from_millis(self.payment_latency_ms.unwrap_or(0)),
                failure_rate,
                ..vitrine_commerce::GatewaySettings::default()
            },
        })
    }
}

/// The config file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// Must be [`CONFIG_VERSION`].
    pub version: u32,
    /// Same as `--data-dir`.
    pub data_dir: Option<PathBuf>,
    /// Same as the flags of `serve`.
    #[serde(default)]
    pub server: ServerOptions,
    /// Same as the `--kafka-*` flags of `serve` and `index`.
    #[serde(default)]
    pub kafka: KafkaOptions,
}

impl ConfigFile {
    /// Reads and checks a config file.
    pub fn read(path: &Path) -> Result<ConfigFile, ConfigError> {
        let text =
            std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.to_owned(), source })?;
        let file: ConfigFile =
            toml::from_str(&text).map_err(|source| ConfigError::Parse { path: path.to_owned(), source })?;
        if file.version != CONFIG_VERSION {
            return Err(ConfigError::Version { path: path.to_owned(), found: file.version });
        }
        Ok(file)
    }
}

/// The two API keys. With neither set the server is open (and says so in its log).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApiKeys {
    /// Grants everything.
    pub admin: Option<String>,
    /// Grants read and shopper endpoints.
    pub search: Option<String>,
}

impl ApiKeys {
    /// True when no key is configured: every request is allowed.
    pub fn is_open(&self) -> bool {
        self.admin.is_none() && self.search.is_none()
    }
}

/// The resolved server configuration.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Where to listen.
    pub listen: SocketAddr,
    /// API keys.
    pub keys: ApiKeys,
    /// Browser origins allowed by CORS; `*` allows any.
    pub cors_origins: Vec<String>,
    /// Requests taking longer are answered 408.
    pub request_timeout: Duration,
    /// Larger bodies are answered 413.
    pub max_body_bytes: usize,
    /// The commerce database URL; `None`: SQLite in the data directory.
    pub commerce_db: Option<String>,
    /// Stock is held from add-to-cart.
    pub commerce_hold_at_add_to_cart: bool,
    /// The simulated payment gateway's behaviour.
    pub payment_gateway: vitrine_commerce::GatewaySettings,
}

impl Default for ServerConfig {
    fn default() -> Self {
        // The defaults cannot fail to resolve: no keys, not production.
        ServerOptions::default().resolve().unwrap_or_else(|_| unreachable!("defaults are valid"))
    }
}

/// A configuration that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A payment failure rate outside 0–1.
    #[error("--payment-failure-rate must be between 0 and 1, got {0}")]
    PaymentFailureRate(f64),
    /// The config file could not be read.
    #[error("cannot read the config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The config file is not valid TOML of the expected shape.
    #[error("invalid config file {path}: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// Why.
        source: toml::de::Error,
    },
    /// The config file has another version.
    #[error("the config file {path} has version {found}; this Vitrine reads version 1")]
    Version {
        /// The file.
        path: PathBuf,
        /// The version it gave.
        found: u32,
    },
    /// `--production` without both keys.
    #[error(
        "--production needs both an admin key (--admin-key / VITRINE_ADMIN_KEY) and a search key (--search-key / VITRINE_SEARCH_KEY)"
    )]
    ProductionWithoutKeys,
    /// A key was given but is blank.
    #[error("the {0} is blank")]
    BlankKey(&'static str),
    /// The admin and search keys are equal, which would give shoppers admin rights.
    #[error("the admin key and the search key must differ")]
    SameKeys,
    /// The Kafka options are incomplete or out of range.
    #[error("{0}")]
    KafkaIncomplete(&'static str),
    /// The index the Kafka topic feeds has no valid name.
    #[error("`{name}` is not a valid index name for the Kafka indexer ({reason}); name one with --kafka-index")]
    KafkaIndex {
        /// The name (the topic's, unless `--kafka-index` was given).
        name: String,
        /// Why it is not valid.
        reason: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Cli {
        Cli::try_parse_from(std::iter::once("vitrine").chain(args.iter().copied())).expect("valid command line")
    }

    #[test]
    fn flags_win_over_the_file_and_the_file_over_defaults() {
        let file: ConfigFile = toml::from_str(
            "version = 1\n[server]\nlisten = \"127.0.0.1:9000\"\nadmin_key = \"from-file\"\nrequest_timeout_ms = 5\n",
        )
        .expect("valid file");
        let Command::Serve(flags) = parse(&["serve", "--admin-key", "from-flag"]).command else {
            panic!("serve expected");
        };
        let config = flags.server.layered_over(file.server).resolve().expect("valid");
        assert_eq!(config.keys.admin.as_deref(), Some("from-flag"));
        assert_eq!(config.listen, "127.0.0.1:9000".parse().expect("addr"));
        assert_eq!(config.request_timeout, Duration::from_millis(5));
        assert_eq!(config.max_body_bytes, 100 * 1024 * 1024);
    }

    #[test]
    fn config_files_refuse_unknown_keys_and_other_versions() {
        assert!(toml::from_str::<ConfigFile>("version = 1\nlisten = \"x\"\n").is_err());
        assert!(toml::from_str::<ConfigFile>("version = 1\n[server]\nlisen = \"x\"\n").is_err());
        let dir = std::env::temp_dir().join(format!("vitrine-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("vitrine.toml");
        std::fs::write(&path, "version = 2\n").expect("write");
        assert!(matches!(ConfigFile::read(&path), Err(ConfigError::Version { found: 2, .. })));
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn payment_simulation_settings_are_checked() {
        let slow =
            ServerOptions { payment_latency_ms: Some(80), payment_failure_rate: Some(0.25), ..Default::default() };
        let config = slow.resolve().expect("valid");
        assert_eq!(config.payment_gateway.latency, Duration::from_millis(80));
        assert_eq!(config.payment_gateway.failure_rate, 0.25);
        let wrong = ServerOptions { payment_failure_rate: Some(1.5), ..Default::default() };
        assert!(matches!(wrong.resolve(), Err(ConfigError::PaymentFailureRate(_))));
    }

    #[test]
    fn production_refuses_to_run_open() {
        let options = ServerOptions { production: true, admin_key: Some("a".into()), ..Default::default() };
        assert!(matches!(options.resolve(), Err(ConfigError::ProductionWithoutKeys)));
        let same = ServerOptions { admin_key: Some("k".into()), search_key: Some("k".into()), ..Default::default() };
        assert!(matches!(same.resolve(), Err(ConfigError::SameKeys)));
        assert!(ServerConfig::default().keys.is_open());
    }

    #[test]
    fn kafka_options_layer_like_server_options_and_name_the_index_after_the_topic() {
        let file: ConfigFile = toml::from_str(
            "version = 1\n[kafka]\nbrokers = \"10.0.0.1:9092\"\ntopic = \"products\"\ncommit_interval_ms = 250\n\
             dead_letters = \"local\"\n",
        )
        .expect("valid file");
        let Command::Serve(flags) = parse(&["serve", "--kafka-topic", "shop-events"]).command else {
            panic!("serve expected");
        };
        let config = flags.kafka.layered_over(file.kafka).resolve().expect("valid").expect("an indexer");
        assert_eq!(config.brokers, "10.0.0.1:9092");
        assert_eq!(config.topic, "shop-events");
        assert_eq!(config.index.as_str(), "shop-events", "the index is named after the topic");
        assert_eq!(config.commit_interval, Duration::from_millis(250));
        assert_eq!(config.dead_letters, DeadLetterChoice::Local);
        assert_eq!(config.max_batch, 5_000);

        assert!(KafkaOptions::default().resolve().expect("valid").is_none(), "no Kafka options: no indexer");
        let only_topic = KafkaOptions { topic: Some("t".into()), ..Default::default() };
        assert!(matches!(only_topic.resolve(), Err(ConfigError::KafkaIncomplete(_))));
        let dotted =
            KafkaOptions { brokers: Some("b:1".into()), topic: Some("shop.products".into()), ..Default::default() };
        assert!(matches!(dotted.clone().resolve(), Err(ConfigError::KafkaIndex { .. })));
        let named = KafkaOptions { index: Some("shop".into()), ..dotted };
        assert_eq!(named.resolve().expect("valid").expect("an indexer").index.as_str(), "shop");
        assert!(toml::from_str::<ConfigFile>("version = 1\n[kafka]\nbroker = \"x\"\n").is_err());
    }

    #[test]
    fn every_command_is_on_the_command_line() {
        for args in [
            &["serve", "--listen", "127.0.0.1:0"][..],
            &["demo"],
            &["import", "products", "--index", "shop", "p.jsonl"],
            &["import", "interactions", "--index", "shop", "i.csv"],
            &["train"],
            &["eval", "search", "--seed", "7"],
            &["eval", "recs", "--k", "10,20", "--models", "pop,ials"],
            &["eval", "search", "--index", "shop", "--judgments", "j.csv", "--typos", "--settings", "d.json"],
            &["eval", "search", "--index", "shop", "--judgments", "j.csv", "--gain", "0:0,1:1,2:3", "--out", "/tmp/r"],
            &[
                "eval",
                "recs",
                "--interactions",
                "i.csv",
                "--test-fraction",
                "0.2",
                "--grid",
                "g.json",
                "--out",
                "/tmp/r",
            ],
            &["eval", "recs", "--interactions", "i.csv", "--catalog", "p.jsonl", "--models", "content"],
            &["train", "--index", "shop", "--keep", "3"],
            &["train", "--index", "shop", "--interactions", "events.parquet"],
            &["bench", "search", "--catalog", "retail", "--requests", "10"],
            &["bench", "recs", "--requests", "10", "--concurrency", "1"],
            &["bench", "ann", "--ef", "64,128", "--queries", "100"],
            &["bench", "checkout", "--clients", "200", "--commerce-db", "postgres://postgres@127.0.0.1/test"],
            &["serve", "--commerce-hold-at-add-to-cart", "--payment-latency-ms", "80", "--payment-failure-rate", "0.1"],
            &["bench", "indexer", "--kafka-brokers", "127.0.0.1:9092", "--rate", "500", "--commit-interval-ms", "50"],
            &["--data-dir", "/tmp/x", "serve"],
            &[
                "serve",
                "--kafka-brokers",
                "127.0.0.1:9092",
                "--kafka-topic",
                "products",
                "--kafka-dead-letters",
                "local",
            ],
            &["index", "--kafka-brokers", "127.0.0.1:9092", "--kafka-topic", "products", "--kafka-index", "shop"],
            &["publish", "products", "--index", "shop", "p.jsonl", "--kafka-brokers", "b:9092", "--kafka-topic", "t"],
        ] {
            assert!(Cli::try_parse_from(std::iter::once("vitrine").chain(args.iter().copied())).is_ok(), "{args:?}");
        }
        for refused in [
            &["eval", "search", "--index", "shop"][..],
            &["eval", "search", "--judgments", "j.csv"],
            &["eval", "recs", "--cutoff", "2010-09-01", "--test-fraction", "0.2"],
        ] {
            assert!(
                Cli::try_parse_from(std::iter::once("vitrine").chain(refused.iter().copied())).is_err(),
                "{refused:?}"
            );
        }
    }
}
