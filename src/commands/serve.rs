//! `vitrine serve`: the HTTP API, with the Kafka indexer and the outbox relay beside it when
//! Kafka options are given; and the serving helpers `demo` and the benchmarks share.

use anyhow::Context;
use tokio::net::TcpListener;
use vitrine_indexer::Catalog;
use vitrine_models::DataDir;

use super::index;
use super::runtime::{runtime, shutdown_signal};
use crate::analytics::Analytics;
use crate::config::{KafkaOptions, ServerConfig, ServerOptions};
use crate::http::AppState;

/// `vitrine serve`, with the Kafka indexer beside the API when Kafka options are given. The
/// server stops on Ctrl-C or SIGTERM, or when the indexer fails (and then exits with its error).
pub(super) fn run(data_dir: DataDir, options: ServerOptions, kafka: KafkaOptions) -> anyhow::Result<()> {
    let config = server_config(options)?;
    let kafka = kafka.resolve()?;
    runtime()?.block_on(async move {
        let listener = bind(&config).await?;
        let analytics = open_analytics(&data_dir).await?;
        let state = AppState::with_analytics(config, Catalog::new(data_dir), analytics);
        state.access.store().context("cannot open the API key store")?;
        state.warm_up_recommenders();
        // Opening commerce recovers the checkouts a previous process left in flight.
        let shop = state.commerce.get().await.context("cannot open the commerce database")?;
        let Some(kafka) = kafka else {
            let shutdown = shutdown_signal();
            println!("Vitrine API on http://{}", listener.local_addr()?);
            return serve_until(listener, state, shutdown).await;
        };
        let indexer = index::start_in_server(&state, &kafka).await?;
        // Commerce's outbox: stock and price changes to the indexer's topic, orders beside it.
        let producer = crate::outbox_relay::producer(&kafka.brokers).context("the outbox relay's Kafka producer")?;
        let topics = crate::outbox_relay::RelayTopics::beside(&kafka.topic);
        println!("commerce events go to Kafka: products to `{}`, orders to `{}`", topics.products, topics.orders);
        let relay = tokio::spawn(crate::outbox_relay::run(shop.store.clone(), producer, topics));
        let signal = shutdown_signal();
        println!("Vitrine API on http://{}", listener.local_addr()?);
        let status = indexer.status();
        let shutdown = async move {
            tokio::select! {
                () = signal => {}
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

/// Resolves server options and warns when the server will run without keys.
pub(super) fn server_config(options: ServerOptions) -> anyhow::Result<ServerConfig> {
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

pub(super) async fn bind(config: &ServerConfig) -> anyhow::Result<TcpListener> {
    TcpListener::bind(config.listen).await.with_context(|| format!("cannot listen on {}", config.listen))
}

/// Opens the data directory's analytics database, so that one that cannot be opened stops the
/// server before it serves.
pub(super) async fn open_analytics(data_dir: &DataDir) -> anyhow::Result<Analytics> {
    let path = data_dir.analytics_db();
    Analytics::open(&path).await.with_context(|| format!("cannot open the analytics database {}", path.display()))
}

/// Serves until `shutdown` completes (see [`shutdown_signal`]), then finishes the requests in
/// flight and writes the searches still queued for analytics and the interactions still queued
/// for the interaction logs. Scheduled snapshots (`--snapshot-interval`) run while it serves.
pub(super) async fn serve_until(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let (analytics, interactions) = (state.analytics.clone(), state.interactions.clone());
    let snapshots = state.config.snapshot_interval.map(|interval| {
        let plan = crate::snapshots::SnapshotSchedule {
            interval,
            keep: state.config.snapshot_keep,
            folder: state.snapshot_folder(),
        };
        println!(
            "a snapshot every {} into {}{}",
            humantime::format_duration(interval),
            plan.folder.display(),
            plan.keep.map(|keep| format!(", keeping the newest {keep}")).unwrap_or_default()
        );
        tokio_util::task::AbortOnDropHandle::new(crate::snapshots::schedule(
            state.catalog.data_dir().clone(),
            state.snapshot_commerce(),
            plan,
        ))
    });
    let served = crate::http::serve(listener, state, shutdown).await.context("server failed");
    drop(snapshots);
    analytics.flush().await;
    interactions.flush().await;
    served
}
