//! The command line: every command and its arguments (clap). The options shared with the
//! environment and the config file (`--data-dir`, the server's and the Kafka indexer's options)
//! are defined in [`crate::config`], which layers them.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::config::{GlobalOptions, KafkaOptions, ServerOptions};

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
    /// Snapshots of the data directory: create one (while a server runs, too), restore, verify, list.
    #[command(subcommand)]
    Snapshot(SnapshotCommand),
    /// Write the data directory's catalogue as plain files a newer Vitrine loads: products (JSON
    /// Lines), settings with their history, synonyms, interactions (Parquet), aliases.
    Dump(DumpArgs),
    /// Load a dump into a new data directory (`--data-dir NEW`: it must not exist, or be empty),
    /// indexing its products with this version's analyzers.
    Load(LoadArgs),
    /// Print the API's OpenAPI 3.1 document (what `GET /openapi.json` answers; `docs/openapi.json`).
    Openapi,
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
    /// Import nothing and exit non-zero if any line is bad (by default the bad lines are
    /// reported and skipped, and only a feed without one usable line fails).
    #[arg(long)]
    pub strict: bool,
    /// Products: the currency of a price given without one (ISO 4217, `EUR`); by default the
    /// index's `default_currency` setting, if it has one.
    #[arg(long, value_name = "CODE")]
    pub currency: Option<String>,
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

/// What `vitrine snapshot` can do (docs/operations.md).
#[derive(Debug, Subcommand)]
pub enum SnapshotCommand {
    /// Write a snapshot of the data directory: every index at one commit point with its Kafka
    /// offsets, settings and histories, interaction logs, model versions, keys, aliases, and the
    /// analytics and SQLite commerce databases (online), with a manifest of checksums. Safe while a
    /// server serves and indexes.
    Create(SnapshotCreateArgs),
    /// Restore a snapshot as a new data directory (`--data-dir NEW`: it must not exist, or be
    /// empty), after checking every file and figure against its manifest.
    Restore(SnapshotArchiveArg),
    /// Check a snapshot as a restore would, without keeping anything.
    Verify(SnapshotArchiveArg),
    /// List the snapshots of a folder.
    List(SnapshotListArgs),
}

/// Arguments of `vitrine snapshot create`.
#[derive(Debug, Args)]
pub struct SnapshotCreateArgs {
    /// Where to write the archive [default: DATA_DIR/snapshots]
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Then keep only the newest N snapshots of that folder.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub keep: Option<u64>,
    /// The commerce database the server uses, if not the data directory's SQLite one (a
    /// PostgreSQL one is left out of the snapshot: back it up with `pg_dump`).
    #[arg(long, env = "VITRINE_COMMERCE_DB", value_name = "URL", hide_env_values = true)]
    pub commerce_db: Option<String>,
}

/// The archive of `vitrine snapshot restore` and `verify`.
#[derive(Debug, Args)]
pub struct SnapshotArchiveArg {
    /// The snapshot archive (`….tar.zst`).
    #[arg(value_name = "ARCHIVE")]
    pub archive: PathBuf,
}

/// Arguments of `vitrine snapshot list`.
#[derive(Debug, Args)]
pub struct SnapshotListArgs {
    /// The folder [default: DATA_DIR/snapshots]
    #[arg(value_name = "DIR")]
    pub folder: Option<PathBuf>,
}

/// Arguments of `vitrine dump`.
#[derive(Debug, Args)]
pub struct DumpArgs {
    /// The folder to write (it must not exist, or be empty).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

/// Arguments of `vitrine load`.
#[derive(Debug, Args)]
pub struct LoadArgs {
    /// The dump folder (`vitrine dump --out DIR`).
    #[arg(value_name = "DUMP")]
    pub dump: PathBuf,
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
    /// The instant to train as of (RFC 3339, e.g. `2010-12-09T20:01:00Z`): ages are measured
    /// from it and interactions dated after it are left out. Give a historical dataset's own end
    /// to replay it [default: now]
    #[arg(long, value_name = "RFC3339", value_parser = parse_instant)]
    pub as_of: Option<chrono::DateTime<chrono::Utc>>,
}

/// An RFC 3339 instant, in UTC.
fn parse_instant(text: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|instant| instant.with_timezone(&chrono::Utc))
        .map_err(|error| format!("not an RFC 3339 instant ({error}), e.g. 2010-12-09T20:01:00Z"))
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
    /// How costs grow with the catalogue: deterministic catalogues of each `--sizes` built from
    /// the Home Depot titles (variants, brands, a category tree, prices, stock), each imported on
    /// a scratch index: import products/s, index size on disk, resident memory, and search
    /// latency percentiles (p50/p99/p99.9) over HTTP for the judged queries as typed and with one
    /// typo, with and without facets and a filter, at 1, 2 and 16 clients. A table, and a JSON
    /// line per size appended to `--out`.
    Scale(BenchScaleArgs),
    /// What a snapshot costs: snapshot the data directory (or a generated catalogue of
    /// `--products N`), restore and verify it; sizes and times.
    Snapshot(BenchSnapshotArgs),
    /// The online experiments' statistics, by simulated shoppers over HTTP (in-process server on
    /// the Home Depot index, or `--server`): queries from the development judgments, clicks from a
    /// position-biased cascade model of the judged relevance. Over repeated experiments: the A/A
    /// false-positive rate, and the power of A/B and interleaving to find a known better ranking
    /// (live vs a plain BM25 draft) at several traffic sizes, with the searches each needs.
    Experiments(BenchExperimentsArgs),
}

/// The experiments `vitrine bench experiments` runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExperimentConfiguration {
    /// An A/B test of the live settings against themselves.
    Aa,
    /// An A/B test: a plain BM25 draft (control) against the live settings.
    Ab,
    /// Team-draft interleaving of the same pair.
    Interleaving,
}

/// Arguments of `vitrine bench experiments`.
#[derive(Debug, Args)]
pub struct BenchExperimentsArgs {
    /// The Home Depot relevance folder (judged queries; titles for the in-process index).
    #[arg(long, value_name = "DIR", default_value = "../shared/datasets/homedepot-relevance")]
    pub dataset: PathBuf,
    /// Experiments per configuration (each a new experiment, split and set of shoppers).
    #[arg(long, default_value_t = 20)]
    pub runs: usize,
    /// Searches per experiment.
    #[arg(long, default_value_t = 4_000)]
    pub max_searches: usize,
    /// The results are read every this many searches.
    #[arg(long, value_name = "SEARCHES", default_value_t = 250)]
    pub look_every: usize,
    /// Traffic sizes reported, comma-separated (each at the look at or below it) [default: an
    /// eighth, a quarter, a half and all of --max-searches]
    #[arg(long, value_delimiter = ',')]
    pub sizes: Vec<usize>,
    /// The configurations to run, comma-separated.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "aa,ab,interleaving")]
    pub configurations: Vec<ExperimentConfiguration>,
    /// Significance level of every experiment.
    #[arg(long, default_value_t = 0.05)]
    pub alpha: f64,
    /// Click model: probability of examining the next result after one not clicked (γ).
    #[arg(long, default_value_t = 0.9)]
    pub continue_probability: f64,
    /// Click model: probability of examining the next result after a click (γ′).
    #[arg(long, default_value_t = 0.5)]
    pub continue_after_click: f64,
    /// Shoppers searching at once.
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
    /// Seed of the shoppers' queries and clicks.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// A running server (`http://HOST:PORT`) whose index holds the Home Depot titles, instead of
    /// the in-process one.
    #[arg(long, value_name = "URL")]
    pub server: Option<String>,
    /// The index of `--server` [default: homedepot]
    #[arg(long, value_name = "NAME", requires = "server")]
    pub index: Option<String>,
    /// The admin key of `--server` (experiments, settings evaluation).
    #[arg(long, env = "VITRINE_ADMIN_KEY", hide_env_values = true, value_name = "KEY")]
    pub admin_key: Option<String>,
    /// The search key of `--server` (searches, events).
    #[arg(long, env = "VITRINE_SEARCH_KEY", hide_env_values = true, value_name = "KEY")]
    pub search_key: Option<String>,
    /// Build the in-process index afresh even when one with every title exists.
    #[arg(long, conflicts_with = "server")]
    pub rebuild: bool,
    /// The JSON file of every run's looks [default: DATA_DIR/eval/experiments-bench.json]
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// Arguments of `vitrine bench scale`.
#[derive(Debug, Args)]
pub struct BenchScaleArgs {
    /// Catalogue sizes, comma-separated.
    #[arg(long, value_delimiter = ',', default_values_t = [100_000_usize, 1_000_000])]
    pub sizes: Vec<usize>,
    /// The Home Depot relevance folder (titles and judged queries; read, never copied).
    #[arg(long, value_name = "DIR", default_value = "../shared/datasets/homedepot-relevance")]
    pub dataset: PathBuf,
    /// Timed searches per (clients, query set, facets) cell, after a warm-up of 500.
    #[arg(long, default_value_t = 2_000)]
    pub requests: usize,
    /// Seed of the catalogue and of the injected typos.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// After each closed-loop cell, the same requests open-loop (a fixed arrival rate) at this
    /// fraction of the closed loop's throughput; 0 skips the open-loop cells.
    #[arg(long, default_value_t = 0.7)]
    pub open_load: f64,
    /// Keep each size's scratch data directory (DATA_DIR/bench-scale-SIZE) instead of deleting it.
    #[arg(long)]
    pub keep: bool,
    /// File the JSON lines are appended to [default: DATA_DIR/eval/scale.jsonl].
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// Arguments of `vitrine bench snapshot`.
#[derive(Debug, Args)]
pub struct BenchSnapshotArgs {
    /// Snapshot a scratch data directory holding this many generated products (from the Home
    /// Depot titles) instead of the data directory itself.
    #[arg(long, value_name = "N")]
    pub products: Option<usize>,
    /// The Home Depot relevance folder (titles; read, never copied), with `--products`.
    #[arg(long, value_name = "DIR", default_value = "../shared/datasets/homedepot-relevance")]
    pub dataset: PathBuf,
    /// Seed of the generated catalogue.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// The commerce database, if not the data directory's SQLite one.
    #[arg(long, value_name = "URL")]
    pub commerce_db: Option<String>,
    /// Keep the scratch folder (DATA_DIR/bench-snapshot: archive, restore, generated data).
    #[arg(long)]
    pub keep: bool,
    /// File the JSON line is appended to [default: DATA_DIR/eval/snapshot.jsonl].
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
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
    /// Also time the same searches while an experiment runs on the index — an A/B test (live
    /// against a draft) and an interleaving test — in the same run, each shopper a session id.
    #[arg(long)]
    pub with_experiments: bool,
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
    /// Block replication: instead of the demo shop, a scratch index (`DATA_DIR/bench-recs-xK`)
    /// holding K disjoint copies of its catalogue and purchase log (ids `id#b`), trained first.
    #[arg(long, value_name = "K", default_value_t = 1)]
    pub replicate: usize,
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
    /// A PostgreSQL URL (a scratch schema is made and dropped; its password is never printed)
    /// [default: a scratch SQLite file]
    #[arg(long, value_name = "URL")]
    pub commerce_db: Option<vitrine_commerce::DatabaseUrl>,
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
    /// Models to evaluate: pop, cooc, ials, ease, sparse_ease, content, hybrid.
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
    /// Block replication: train on K independent copies of the log (disjoint user, item and
    /// basket ids `id#b`, same times), a catalogue K times larger, and score one copy of every
    /// test user (the block is picked by a hash of the id), ranked over the whole catalogue.
    #[arg(long, value_name = "K", default_value_t = 1)]
    pub replicate: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

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
            &["eval", "recs", "--replicate", "30", "--models", "hybrid"],
            &["bench", "recs", "--replicate", "10", "--requests", "2000"],
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
            &["bench", "scale", "--sizes", "1000,10000", "--requests", "100"],
            &["bench", "experiments", "--runs", "3", "--max-searches", "600", "--configurations", "aa,interleaving"],
            &["bench", "experiments", "--server", "http://127.0.0.1:7700", "--index", "hd", "--admin-key", "k"],
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
            &["bench", "experiments", "--index", "hd"],
        ] {
            assert!(
                Cli::try_parse_from(std::iter::once("vitrine").chain(refused.iter().copied())).is_err(),
                "{refused:?}"
            );
        }
    }
}
