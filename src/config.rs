//! The layered configuration: the server's and the Kafka indexer's options, the config file, and
//! what they resolve to. (The commands and their own arguments are in [`crate::cli`].)
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

use clap::{Args, ValueEnum};
use serde::Deserialize;
use vitrine_commerce::DatabaseUrl;
use vitrine_commerce::HoldLimits;
use vitrine_models::IndexName;

use crate::interactions::EventCaps;

/// The config file's current version; files must say `version = 1`.
pub const CONFIG_VERSION: u32 = 1;

/// How long a client may take to send a request's headers, by default (`--header-read-timeout-ms`).
pub const DEFAULT_HEADER_READ_TIMEOUT_MS: u64 = 10_000;
/// How many connections may be open at once, by default (`--max-connections`).
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;

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
    /// How log lines are written on standard error: `text` for people, `json` (one object per
    /// line: time, level, target, fields, span) for log collectors.
    #[arg(long, global = true, env = "VITRINE_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    #[serde(skip)]
    pub log_format: LogFormat,
}

/// The form of the log lines (`--log-format`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
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

/// Server options: flags of `serve` and `demo`, `VITRINE_*` variables, or the `[server]` table.
#[derive(Debug, Default, Clone, Args, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerOptions {
    /// Address to listen on [default: 127.0.0.1:8080]
    #[arg(long, env = "VITRINE_LISTEN", value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// The admin key (id `admin`): every action (docs/security.md); sent as `Authorization: Bearer KEY`.
    #[arg(long, env = "VITRINE_ADMIN_KEY", value_name = "KEY", hide_env_values = true)]
    pub admin_key: Option<String>,
    /// The public search key (id `search`): search, suggest, recommendations, events, guest carts and
    /// checkout, never as a named shopper; storefront pages may embed it.
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
    /// Commerce database: `sqlite:PATH` or `postgres://…` (several replicas need PostgreSQL); its
    /// password is never printed [default: sqlite:DATA_DIR/commerce.db]
    #[arg(long, env = "VITRINE_COMMERCE_DB", value_name = "URL", hide_env_values = true)]
    pub commerce_db: Option<DatabaseUrl>,
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

    // Abuse limits (docs/security.md). A rate is per credential (key or shopper) and client
    // address; 0 turns a budget off.
    /// Searches, suggestions and recommendations per second per key and client address
    /// (bursts of 3× allowed; 0: no limit) [default: 20]
    #[arg(long, env = "VITRINE_RATE_LIMIT_SEARCH", value_name = "PER_SECOND")]
    pub rate_limit_search: Option<u32>,
    /// Event requests per second per key and client address (bursts of 3×; 0: no limit) [default: 10]
    #[arg(long, env = "VITRINE_RATE_LIMIT_EVENTS", value_name = "PER_SECOND")]
    pub rate_limit_events: Option<u32>,
    /// Cart, checkout and order requests per second per key and client address (bursts of 3×;
    /// 0: no limit) [default: 5]
    #[arg(long, env = "VITRINE_RATE_LIMIT_CARTS", value_name = "PER_SECOND")]
    pub rate_limit_carts: Option<u32>,
    /// Failed authentications per minute per client address before it is answered 429 (0: no
    /// limit) [default: 10]
    #[arg(long, env = "VITRINE_RATE_LIMIT_FAILED_AUTH", value_name = "PER_MINUTE")]
    pub rate_limit_failed_auth: Option<u32>,
    /// Largest body of a search, suggestion, recommendation, cart, checkout, order or key
    /// request, in bytes [default: 65536]
    #[arg(long, env = "VITRINE_MAX_QUERY_BODY_BYTES", value_name = "BYTES")]
    pub max_query_body_bytes: Option<usize>,
    /// Largest body of an events request, in bytes [default: 1048576]
    #[arg(long, env = "VITRINE_MAX_EVENTS_BODY_BYTES", value_name = "BYTES")]
    pub max_events_body_bytes: Option<usize>,
    // Connection limits (the accept loop of `http::serve`).
    /// Longest a client may take to send a request's headers, in milliseconds, after which the
    /// connection is closed; it also closes keep-alive connections idle that long [default: 10000]
    #[arg(long, env = "VITRINE_HEADER_READ_TIMEOUT_MS", value_name = "MS")]
    pub header_read_timeout_ms: Option<u64>,
    /// Most connections open at once; at the cap the server stops accepting until one closes
    /// (new ones wait in the listen backlog) [default: 1024]
    #[arg(long, env = "VITRINE_MAX_CONNECTIONS", value_name = "N")]
    pub max_connections: Option<usize>,
    // ---- Interactions you can trust: what one shopper may add to the interaction log, and
    // ---- what one cart may hold. Budgets refill continuously (GCRA): a burst of N, then N an hour.
    /// Most rows one shopper (user id, else session id) may add to an index's interaction log
    /// (what recommendations train on) per hour; events past it are still counted in analytics
    /// but kept out of the log, and the answer says how many (`capped`); 0: no cap [default: 600]
    #[arg(long, env = "VITRINE_EVENTS_MAX_PER_SHOPPER_PER_HOUR", value_name = "N")]
    pub events_max_per_shopper_per_hour: Option<u32>,
    /// Most interaction-log rows one shopper may add about one product per hour; 0: no cap
    /// [default: 20]
    #[arg(long, env = "VITRINE_EVENTS_MAX_PER_SHOPPER_PRODUCT_PER_HOUR", value_name = "N")]
    pub events_max_per_shopper_product_per_hour: Option<u32>,
    /// Most interaction-log rows one client address may add per hour, all its shoppers together
    /// (a client inventing a session id per event); applies when the server knows the peer
    /// address; behind a reverse proxy every shopper shares the proxy's, so raise it or use 0
    /// (no cap) there [default: 6000]
    #[arg(long, env = "VITRINE_EVENTS_MAX_PER_CLIENT_PER_HOUR", value_name = "N")]
    pub events_max_per_client_per_hour: Option<u32>,
    /// Most interaction-log rows one client address may add about one product per hour; 0: no
    /// cap [default: 200]
    #[arg(long, env = "VITRINE_EVENTS_MAX_PER_CLIENT_PRODUCT_PER_HOUR", value_name = "N")]
    pub events_max_per_client_product_per_hour: Option<u32>,
    /// With --commerce-hold-at-add-to-cart: most units of one product one cart may hold; more
    /// is refused with 409 `hold_limit_exceeded` [default: 10]
    #[arg(long, env = "VITRINE_COMMERCE_MAX_HELD_PER_LINE", value_name = "UNITS")]
    pub commerce_max_held_per_line: Option<i64>,
    /// With --commerce-hold-at-add-to-cart: most units one cart may hold, all products together
    /// (a signed-in shopper has one open cart: this is their cap); more is refused with 409
    /// `hold_limit_exceeded` [default: 50]
    #[arg(long, env = "VITRINE_COMMERCE_MAX_HELD_PER_CART", value_name = "UNITS")]
    pub commerce_max_held_per_cart: Option<i64>,
    /// The highest price a product may have, in its currency's major units (`5000`: £5,000 for a
    /// product in GBP); a higher one is refused with 400 `amount_too_large` [default: the payment
    /// providers' limit, 99,999,999 minor units: £999,999.99]
    #[arg(long, env = "VITRINE_COMMERCE_MAX_PRICE", value_name = "AMOUNT")]
    pub commerce_max_price: Option<f64>,
    // ---- Operations (docs/operations.md).
    /// Write a snapshot of the data directory this often while serving (`6h`, `30m`, `1d`;
    /// the first one interval after the start) [default: never]
    #[arg(long, env = "VITRINE_SNAPSHOT_INTERVAL", value_name = "DURATION")]
    pub snapshot_interval: Option<String>,
    /// Keep only the newest N snapshots of the snapshot folder: older ones are deleted once a
    /// scheduled snapshot is written [default: keep all]
    #[arg(long, env = "VITRINE_SNAPSHOT_KEEP", value_name = "N")]
    pub snapshot_keep: Option<usize>,
    /// Where snapshots are written (scheduled ones and `POST /v1/admin/snapshots`)
    /// [default: DATA_DIR/snapshots]
    #[arg(long, env = "VITRINE_SNAPSHOT_DIR", value_name = "DIR")]
    pub snapshot_dir: Option<PathBuf>,
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
            rate_limit_search: self.rate_limit_search.or(file.rate_limit_search),
            rate_limit_events: self.rate_limit_events.or(file.rate_limit_events),
            rate_limit_carts: self.rate_limit_carts.or(file.rate_limit_carts),
            rate_limit_failed_auth: self.rate_limit_failed_auth.or(file.rate_limit_failed_auth),
            max_query_body_bytes: self.max_query_body_bytes.or(file.max_query_body_bytes),
            max_events_body_bytes: self.max_events_body_bytes.or(file.max_events_body_bytes),

            // Connection limits.
            header_read_timeout_ms: self.header_read_timeout_ms.or(file.header_read_timeout_ms),
            max_connections: self.max_connections.or(file.max_connections),
            // Interactions you can trust.
            events_max_per_shopper_per_hour: self
                .events_max_per_shopper_per_hour
                .or(file.events_max_per_shopper_per_hour),
            events_max_per_shopper_product_per_hour: self
                .events_max_per_shopper_product_per_hour
                .or(file.events_max_per_shopper_product_per_hour),
            events_max_per_client_per_hour: self.events_max_per_client_per_hour.or(file.events_max_per_client_per_hour),
            events_max_per_client_product_per_hour: self
                .events_max_per_client_product_per_hour
                .or(file.events_max_per_client_product_per_hour),
            commerce_max_held_per_line: self.commerce_max_held_per_line.or(file.commerce_max_held_per_line),
            commerce_max_held_per_cart: self.commerce_max_held_per_cart.or(file.commerce_max_held_per_cart),
            commerce_max_price: self.commerce_max_price.or(file.commerce_max_price),
            snapshot_interval: self.snapshot_interval.or(file.snapshot_interval),
            snapshot_keep: self.snapshot_keep.or(file.snapshot_keep),
            snapshot_dir: self.snapshot_dir.or(file.snapshot_dir),
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

        // Connection limits.
        let header_read_timeout_ms = self.header_read_timeout_ms.unwrap_or(DEFAULT_HEADER_READ_TIMEOUT_MS);
        if header_read_timeout_ms == 0 {
            return Err(ConfigError::ConnectionLimit("--header-read-timeout-ms must be at least 1"));
        }
        let max_connections = self.max_connections.unwrap_or(DEFAULT_MAX_CONNECTIONS);
        if max_connections == 0 {
            return Err(ConfigError::ConnectionLimit("--max-connections must be at least 1"));
        }
        // Interactions you can trust.
        let event_defaults = EventCaps::default();
        let event_caps = EventCaps {
            per_shopper: self.events_max_per_shopper_per_hour.unwrap_or(event_defaults.per_shopper),
            per_shopper_product: self
                .events_max_per_shopper_product_per_hour
                .unwrap_or(event_defaults.per_shopper_product),
            per_client: self.events_max_per_client_per_hour.unwrap_or(event_defaults.per_client),
            per_client_product: self
                .events_max_per_client_product_per_hour
                .unwrap_or(event_defaults.per_client_product),
        };
        let hold_defaults = HoldLimits::default();
        let commerce_hold_limits = HoldLimits {
            per_line: self.commerce_max_held_per_line.unwrap_or(hold_defaults.per_line),
            per_cart: self.commerce_max_held_per_cart.unwrap_or(hold_defaults.per_cart),
        };
        if commerce_hold_limits.per_line < 1 || commerce_hold_limits.per_cart < 1 {
            return Err(ConfigError::HoldLimits);
        }
        if let Some(price) = self.commerce_max_price
            && !(price.is_finite() && price > 0.0)
        {
            return Err(ConfigError::MaxPrice(price));
        }
        let snapshot_interval = match self.snapshot_interval.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(text) => {
                let interval = humantime::parse_duration(text)
                    .map_err(|error| ConfigError::Snapshots(format!("--snapshot-interval `{text}`: {error}")))?;
                if interval < Duration::from_secs(1) {
                    return Err(ConfigError::Snapshots("--snapshot-interval must be at least 1s".to_owned()));
                }
                Some(interval)
            }
        };
        if self.snapshot_keep == Some(0) {
            return Err(ConfigError::Snapshots("--snapshot-keep must be at least 1".to_owned()));
        }
        Ok(ServerConfig {
            listen: self.listen.unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080))),
            keys: ApiKeys { admin: admin_key, search: search_key },
            cors_origins: self.cors_origins.into_iter().map(|origin| origin.trim().to_owned()).collect(),
            request_timeout: Duration::from_millis(self.request_timeout_ms.unwrap_or(30_000)),
            max_body_bytes: self.max_body_bytes.unwrap_or(100 * 1024 * 1024),
            commerce_db: self
                .commerce_db
                .map(|url| DatabaseUrl::new(url.expose().trim()))
                .filter(|url| !url.expose().is_empty()),
            commerce_hold_at_add_to_cart: self.commerce_hold_at_add_to_cart,
            payment_gateway: vitrine_commerce::GatewaySettings {
                latency: Duration::from_millis(self.payment_latency_ms.unwrap_or(0)),
                failure_rate,
                ..vitrine_commerce::GatewaySettings::default()
            },
            rate_limits: RateLimitConfig {
                search_per_second: self.rate_limit_search.unwrap_or(20),
                events_per_second: self.rate_limit_events.unwrap_or(10),
                carts_per_second: self.rate_limit_carts.unwrap_or(5),
                failed_auth_per_minute: self.rate_limit_failed_auth.unwrap_or(10),
            },
            max_query_body_bytes: self.max_query_body_bytes.unwrap_or(64 * 1024),
            max_events_body_bytes: self.max_events_body_bytes.unwrap_or(1024 * 1024),

            // Connection limits.
            header_read_timeout: Duration::from_millis(header_read_timeout_ms),
            max_connections,
            event_caps,
            commerce_hold_limits,
            commerce_max_price: self.commerce_max_price,
            commerce_deadlines: CommerceDeadlines::default(),
            snapshot_interval,
            snapshot_keep: self.snapshot_keep,
            snapshot_dir: self.snapshot_dir,
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

/// The two API keys. With neither set the server is open (and says so in its log). Its `Debug`
/// says which keys are set, never what they are.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ApiKeys {
    /// Grants everything.
    pub admin: Option<String>,
    /// Grants read and shopper endpoints.
    pub search: Option<String>,
}

impl std::fmt::Debug for ApiKeys {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shown = |key: &Option<String>| key.as_ref().map(|_| "***");
        formatter
            .debug_struct("ApiKeys")
            .field("admin", &shown(&self.admin))
            .field("search", &shown(&self.search))
            .finish()
    }
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
    /// The commerce database URL (printed without its password); `None`: SQLite in the data
    /// directory.
    pub commerce_db: Option<DatabaseUrl>,
    /// Stock is held from add-to-cart.
    pub commerce_hold_at_add_to_cart: bool,
    /// The simulated payment gateway's behaviour.
    pub payment_gateway: vitrine_commerce::GatewaySettings,
    /// Rate limits.
    pub rate_limits: RateLimitConfig,
    /// Largest body of the shopper-facing JSON routes (search, recommendations, carts, …).
    pub max_query_body_bytes: usize,
    /// Largest body of an events request.
    pub max_events_body_bytes: usize,

    // Connection limits.
    /// A client that has not sent a request's headers this long after the connection opened (or
    /// after its previous answer) is disconnected.
    pub header_read_timeout: Duration,
    /// At most this many connections are open at once; the next ones wait to be accepted.
    pub max_connections: usize,
    /// What one shopper or client address may add to the interaction log per hour.
    pub event_caps: EventCaps,
    /// What one cart may hold, with stock held from add-to-cart.
    pub commerce_hold_limits: HoldLimits,
    /// The highest price a product may have, in its currency's major units (`None`: the payment
    /// providers' limit).
    pub commerce_max_price: Option<f64>,
    /// When the background sweep finishes or compensates a checkout that stopped moving.
    pub commerce_deadlines: CommerceDeadlines,
    /// A snapshot is written this often while serving (`None`: only on request).
    pub snapshot_interval: Option<Duration>,
    /// Scheduled snapshots keep the newest this many (`None`: all).
    pub snapshot_keep: Option<usize>,
    /// Where snapshots go (`None`: `DATA_DIR/snapshots`).
    pub snapshot_dir: Option<PathBuf>,
}

/// When the commerce sweep acts: a checkout whose state has not moved for `stuck_after` lost its
/// request or its process and is finished or compensated; one waiting for the shopper's 3-D
/// Secure authentication (or the provider's late answer) longer than `authentication_timeout` is
/// compensated; the sweep runs every `sweep_every`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommerceDeadlines {
    /// A checkout that has not moved for this long is swept.
    pub stuck_after: Duration,
    /// A checkout waiting for an authentication this long is compensated.
    pub authentication_timeout: Duration,
    /// How often the sweep runs.
    pub sweep_every: Duration,
}

impl Default for CommerceDeadlines {
    fn default() -> Self {
        CommerceDeadlines {
            stuck_after: Duration::from_secs(60),
            authentication_timeout: Duration::from_secs(15 * 60),
            sweep_every: Duration::from_secs(5),
        }
    }
}

impl Default for ServerConfig {
    /// The configuration of an in-process server (tests, benchmarks): the defaults of
    /// `vitrine serve` without rate limits, which a test of the limits turns on.
    fn default() -> Self {
        // The defaults cannot fail to resolve: no keys, not production.
        let config = ServerOptions::default().resolve().unwrap_or_else(|_| unreachable!("defaults are valid"));
        ServerConfig { rate_limits: RateLimitConfig::OFF, ..config }
    }
}

/// Rate limits: requests per second (per credential and client address) for each budget, and
/// failed authentications per minute per client address. 0 turns a budget off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitConfig {
    /// Searches, suggestions, recommendations.
    pub search_per_second: u32,
    /// Event requests.
    pub events_per_second: u32,
    /// Cart, checkout and order requests.
    pub carts_per_second: u32,
    /// Failed authentications.
    pub failed_auth_per_minute: u32,
}

impl RateLimitConfig {
    /// No limits.
    pub const OFF: RateLimitConfig =
        RateLimitConfig { search_per_second: 0, events_per_second: 0, carts_per_second: 0, failed_auth_per_minute: 0 };
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
    /// A snapshot option is not valid.
    #[error("{0}")]
    Snapshots(String),
    /// A key was given but is blank.
    #[error("the {0} is blank")]
    BlankKey(&'static str),
    /// The admin and search keys are equal, which would give shoppers admin rights.
    #[error("the admin key and the search key must differ")]
    SameKeys,
    /// A price ceiling that is not a positive number.
    #[error("--commerce-max-price must be a positive amount, got {0}")]
    MaxPrice(f64),
    /// A hold limit below one unit.
    #[error("--commerce-max-held-per-line and --commerce-max-held-per-cart must be at least 1")]
    HoldLimits,
    /// The Kafka options are incomplete or out of range.
    #[error("{0}")]
    KafkaIncomplete(&'static str),
    /// A connection limit is out of range.
    #[error("{0}")]
    ConnectionLimit(&'static str),
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
    use clap::Parser;

    use super::*;
    use crate::cli::{Cli, Command};

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
    fn connection_limits_have_defaults_layer_and_refuse_zero() {
        let defaults = ServerConfig::default();
        assert_eq!(defaults.header_read_timeout, Duration::from_millis(DEFAULT_HEADER_READ_TIMEOUT_MS));
        assert_eq!(defaults.max_connections, DEFAULT_MAX_CONNECTIONS);
        let file: ConfigFile =
            toml::from_str("version = 1\n[server]\nheader_read_timeout_ms = 2500\nmax_connections = 64\n")
                .expect("valid file");
        let Command::Serve(flags) = parse(&["serve", "--max-connections", "8"]).command else {
            panic!("serve expected");
        };
        let config = flags.server.layered_over(file.server).resolve().expect("valid");
        assert_eq!(config.header_read_timeout, Duration::from_millis(2500));
        assert_eq!(config.max_connections, 8, "the flag wins over the file");
        for zero in [
            ServerOptions { header_read_timeout_ms: Some(0), ..Default::default() },
            ServerOptions { max_connections: Some(0), ..Default::default() },
        ] {
            assert!(matches!(zero.resolve(), Err(ConfigError::ConnectionLimit(_))));
        }
    }

    #[test]
    fn the_commerce_database_password_is_never_printed() {
        let Command::Serve(flags) =
            parse(&["serve", "--commerce-db", " postgres://shop:s3cret-pw@db.example/shop "]).command
        else {
            panic!("serve expected");
        };
        assert!(!format!("{flags:?}").contains("s3cret-pw"), "{flags:?}");
        let config = flags.server.resolve().expect("valid");
        assert!(!format!("{config:?}").contains("s3cret-pw"), "{config:?}");
        let url = config.commerce_db.expect("a URL");
        assert_eq!(url.to_string(), "postgres://shop:***@db.example/shop");
        assert_eq!(url.expose(), "postgres://shop:s3cret-pw@db.example/shop", "connects with the password, trimmed");
    }

    #[test]
    fn event_budgets_and_hold_limits_have_defaults_and_layer_like_the_rest() {
        let config = ServerConfig::default();
        assert_eq!(config.event_caps, EventCaps::default());
        assert_eq!(config.commerce_hold_limits, HoldLimits { per_line: 10, per_cart: 50 });
        let file: ConfigFile = toml::from_str(
            "version = 1\n[server]\nevents_max_per_shopper_product_per_hour = 5\ncommerce_max_held_per_line = 3\n",
        )
        .expect("valid file");
        let Command::Serve(flags) =
            parse(&["serve", "--events-max-per-client-per-hour", "0", "--commerce-max-held-per-cart", "7"]).command
        else {
            panic!("serve expected");
        };
        let config = flags.server.layered_over(file.server).resolve().expect("valid");
        assert_eq!(
            config.event_caps,
            EventCaps { per_shopper: 600, per_shopper_product: 5, per_client: 0, per_client_product: 200 }
        );
        assert_eq!(config.commerce_hold_limits, HoldLimits { per_line: 3, per_cart: 7 });
        let none = ServerOptions { commerce_max_held_per_line: Some(0), ..Default::default() };
        assert!(matches!(none.resolve(), Err(ConfigError::HoldLimits)));
    }

    #[test]
    fn the_price_ceiling_is_a_positive_amount() {
        assert_eq!(ServerConfig::default().commerce_max_price, None);
        let Command::Serve(flags) = parse(&["serve", "--commerce-max-price", "5000"]).command else {
            panic!("serve expected");
        };
        assert_eq!(flags.server.resolve().expect("valid").commerce_max_price, Some(5000.0));
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            let options = ServerOptions { commerce_max_price: Some(bad), ..Default::default() };
            assert!(matches!(options.resolve(), Err(ConfigError::MaxPrice(_))), "{bad}");
        }
    }

    #[test]
    fn snapshot_schedules_read_durations_and_refuse_nonsense() {
        let Command::Serve(flags) =
            parse(&["serve", "--snapshot-interval", "6h", "--snapshot-keep", "28", "--snapshot-dir", "/backups"])
                .command
        else {
            panic!("serve expected");
        };
        let config = flags.server.resolve().expect("valid");
        assert_eq!(config.snapshot_interval, Some(Duration::from_secs(6 * 3600)));
        assert_eq!((config.snapshot_keep, config.snapshot_dir), (Some(28), Some(PathBuf::from("/backups"))));
        assert_eq!(ServerConfig::default().snapshot_interval, None);
        let file: ServerOptions = toml::from_str("snapshot_interval = \"90m\"").expect("toml");
        assert_eq!(file.resolve().expect("valid").snapshot_interval, Some(Duration::from_secs(5400)));
        for (interval, keep) in [(Some("soon"), None), (Some("10ms"), None), (None, Some(0))] {
            let options = ServerOptions {
                snapshot_interval: interval.map(str::to_owned),
                snapshot_keep: keep,
                ..Default::default()
            };
            assert!(matches!(options.resolve(), Err(ConfigError::Snapshots(_))), "{interval:?} {keep:?}");
        }
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
    fn keys_and_the_commerce_handle_never_print_their_secrets() {
        let keys = ApiKeys { admin: Some("admin-s3cret".into()), search: None };
        assert_eq!(format!("{keys:?}"), r#"ApiKeys { admin: Some("***"), search: None }"#);
        let handle = vitrine_commerce::CommerceHandle::new("postgres://shop:pw-s3cret@db.example/shop");
        let shown = format!("{handle:?}");
        assert!(!shown.contains("pw-s3cret") && shown.contains("db.example"), "{shown}");
    }
}
