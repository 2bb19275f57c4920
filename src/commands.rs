//! What each command of the command line does.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use tokio::net::TcpListener;
use vitrine_indexer::Catalog;
use vitrine_models::feed::{self, FeedFormat, LineError};
use vitrine_models::{DataDir, IndexName};

use crate::analytics::Analytics;
use crate::config::{
    BenchCommand, Cli, Command, ConfigFile, EvalCommand, ImportArgs, ImportCommand, PublishCommand, ServeArgs,
    ServerConfig, ServerOptions,
};
use crate::http::{AppState, app};

mod bench;
mod bench_indexer;
mod demo;
mod eval;
mod index;
mod publish;
mod train;

pub use train::train_index;

/// The data directory used when neither flag, environment nor config file names one.
pub const DEFAULT_DATA_DIR: &str = "./vitrine-data";

/// Runs a parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    let file = match &cli.global.config {
        Some(path) => ConfigFile::read(path)?,
        None => ConfigFile { version: crate::config::CONFIG_VERSION, ..ConfigFile::default() },
    };
    let data_dir =
        DataDir::new(cli.global.data_dir.or(file.data_dir).unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR)));
    match cli.command {
        Command::Serve(ServeArgs { server, kafka }) => {
            serve(data_dir, server.layered_over(file.server), kafka.layered_over(file.kafka))
        }
        Command::Index(args) => index::run(&data_dir, args, file.kafka),
        Command::Publish(PublishCommand::Products(args)) => publish::products(&args, &file.kafka),
        Command::Demo(options) => demo::run(data_dir, options.layered_over(file.server)),
        Command::Import(ImportCommand::Products(args)) => import_products(&data_dir, &args),
        Command::Import(ImportCommand::Interactions(args)) => import_interactions(&data_dir, &args),
        Command::Train(args) => train::run(&data_dir, &args),
        Command::Eval(EvalCommand::Search(args)) => eval::search(&data_dir, &args),
        Command::Bench(BenchCommand::Search(args)) => bench::search(&data_dir, &args),
        Command::Bench(BenchCommand::Recs(args)) => bench::recs(&data_dir, &args),
        Command::Bench(BenchCommand::Ann(args)) => bench::ann(&args),
        Command::Bench(BenchCommand::Checkout(args)) => bench::checkout(&data_dir, &args),
        Command::Bench(BenchCommand::Indexer(args)) => bench_indexer::indexer(&data_dir, &args),
        Command::Eval(EvalCommand::Recs(args)) => eval::recs(&data_dir, &args),
    }
}

/// Resolves server options and warns when the server will run without keys.
fn server_config(options: ServerOptions) -> anyhow::Result<ServerConfig> {
    let config = options.resolve()?;
    if config.keys.is_open() {
        tracing::warn!(
            "no API keys configured: every endpoint is open to anyone who can reach {}; \
             set VITRINE_ADMIN_KEY and VITRINE_SEARCH_KEY (or run with --production to require them)",
            config.listen
        );
    }
    Ok(config)
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start the async runtime")
}

/// `vitrine serve`, with the Kafka indexer beside the API when Kafka options are given. The
/// server stops on Ctrl-C or SIGTERM, or when the indexer fails (and then exits with its error).
fn serve(data_dir: DataDir, options: ServerOptions, kafka: crate::config::KafkaOptions) -> anyhow::Result<()> {
    let config = server_config(options)?;
    let kafka = kafka.resolve()?;
    runtime()?.block_on(async move {
        let listener = bind(&config).await?;
        let analytics = open_analytics(&data_dir).await?;
        let state = AppState::with_analytics(config, Catalog::new(data_dir), analytics);
        state.recommenders.warm_up(&state.catalog);
        // Opening commerce recovers the checkouts a previous process left in flight.
        let shop =
            state.commerce.get().await.map_err(|error| anyhow::anyhow!("commerce database: {}", error.message))?;
        let Some(kafka) = kafka else {
            println!("Vitrine API on http://{}", listener.local_addr()?);
            return serve_until_shutdown(listener, state).await;
        };
        let indexer = index::start_in_server(&state, &kafka).await?;
        // Commerce's outbox: stock and price changes to the indexer's topic, orders beside it.
        let producer = crate::outbox_relay::producer(&kafka.brokers).context("the outbox relay's Kafka producer")?;
        let topics = crate::outbox_relay::RelayTopics::beside(&kafka.topic);
        println!("commerce events go to Kafka: products to `{}`, orders to `{}`", topics.products, topics.orders);
        let relay = tokio::spawn(crate::outbox_relay::run(shop.store.clone(), producer, topics));
        println!("Vitrine API on http://{}", listener.local_addr()?);
        let status = indexer.status();
        let shutdown = async move {
            tokio::select! {
                () = shutdown_signal() => {}
                () = index::ended(status) => tracing::error!("the Kafka indexer stopped; shutting the server down"),
            }
        };
        let served = serve_until(listener, state, shutdown).await;
        relay.abort();
        let indexed = tokio::task::spawn_blocking(move || indexer.stop_and_join()).await.context("indexer join")?;
        indexed.context("the Kafka indexer failed")?;
        served
    })
}

async fn bind(config: &ServerConfig) -> anyhow::Result<TcpListener> {
    TcpListener::bind(config.listen).await.with_context(|| format!("cannot listen on {}", config.listen))
}

/// Opens the data directory's analytics database, so that one that cannot be opened stops the
/// server before it serves.
async fn open_analytics(data_dir: &DataDir) -> anyhow::Result<Analytics> {
    let path = data_dir.analytics_db();
    Analytics::open(&path).await.with_context(|| format!("cannot open the analytics database {}", path.display()))
}

/// Serves until Ctrl-C or SIGTERM, then finishes the requests in flight and writes the searches
/// still queued for analytics.
async fn serve_until_shutdown(listener: TcpListener, state: AppState) -> anyhow::Result<()> {
    serve_until(listener, state, shutdown_signal()).await
}

/// Serves until `shutdown` completes, then as [`serve_until_shutdown`].
async fn serve_until(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let analytics = state.analytics.clone();
    let served = axum::serve(listener, app(state)).with_graceful_shutdown(shutdown).await.context("server failed");
    analytics.flush().await;
    served
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
    tracing::info!("shutting down");
}

/// A progress bar over a file's bytes, hidden when stderr is not a terminal.
fn file_progress(path: &Path, message: &'static str) -> anyhow::Result<ProgressBar> {
    let length = std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?.len();
    let bar = ProgressBar::new(length).with_message(message);
    bar.set_style(
        ProgressStyle::with_template("{msg:>12} [{bar:40}] {bytes}/{total_bytes} ({eta})")
            .context("progress template")?
            .progress_chars("=> "),
    );
    Ok(bar)
}

/// Reads a feed file with a progress bar, printing each bad line (the first 20) and keeping the rest.
fn read_feed_file<T>(
    path: &Path,
    read: impl FnOnce(
        BufReader<indicatif::ProgressBarIter<File>>,
        FeedFormat,
    ) -> Result<Box<dyn Iterator<Item = Result<T, LineError>>>, feed::FeedError>,
) -> anyhow::Result<(Vec<T>, Vec<LineError>)> {
    const SHOWN_ERRORS: usize = 20;
    let format = FeedFormat::from_path(path)?;
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let bar = file_progress(path, "reading")?;
    let records = read(BufReader::new(bar.wrap_read(file)), format)?;
    let (mut good, mut bad) = (Vec::new(), Vec::new());
    for record in records {
        match record {
            Ok(record) => good.push(record),
            Err(error) => {
                if bad.len() < SHOWN_ERRORS {
                    bar.suspend(|| eprintln!("{}: skipped {error}", path.display()));
                }
                bad.push(error);
            }
        }
    }
    bar.finish_and_clear();
    if bad.len() > SHOWN_ERRORS {
        eprintln!("{}: ... and {} more bad lines", path.display(), bad.len() - SHOWN_ERRORS);
    }
    Ok((good, bad))
}

/// `vitrine import products`.
fn import_products(data_dir: &DataDir, args: &ImportArgs) -> anyhow::Result<()> {
    let index = IndexName::new(&args.index)?;
    let started = std::time::Instant::now();
    let (products, bad) = read_feed_file(&args.file, feed::read_products)?;
    let report = Catalog::new(data_dir.clone()).upsert(&index, products)?;
    println!(
        "index `{index}`: {} inserted, {} updated, {} stale (older version) ignored, {} bad lines skipped, in {:.2} s",
        report.inserted,
        report.updated,
        report.stale,
        bad.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// `vitrine import interactions`.
fn import_interactions(data_dir: &DataDir, args: &ImportArgs) -> anyhow::Result<()> {
    let index = IndexName::new(&args.index)?;
    append_interaction_file(data_dir, &index, &args.file)?;
    Ok(())
}

/// Appends the interactions of `path` (CSV, JSON Lines or Parquet) to the log of `index`
/// (created if needed), reports bad lines and the outcome; returns how many were appended.
pub(crate) fn append_interaction_file(data_dir: &DataDir, index: &IndexName, path: &Path) -> anyhow::Result<usize> {
    let started = std::time::Instant::now();
    let is_parquet = path.extension().is_some_and(|extension| extension.eq_ignore_ascii_case("parquet"));
    let (interactions, bad) = if is_parquet {
        let (good, bad) = vitrine_pipelines::read_interactions_parquet(path)?;
        for error in bad.iter().take(20) {
            eprintln!("{}: skipped {error}", path.display());
        }
        (good, bad)
    } else {
        read_feed_file(path, feed::read_interactions)?
    };
    let catalog = Catalog::new(data_dir.clone());
    catalog.get_or_create(index)?;
    let part = vitrine_pipelines::append_interactions(&data_dir.interactions(index), &interactions)?;
    println!(
        "index `{index}`: {} interactions appended to {}, {} bad lines skipped, in {:.2} s",
        interactions.len(),
        part.display(),
        bad.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(interactions.len())
}
