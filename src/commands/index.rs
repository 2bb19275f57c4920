//! The Kafka indexer from the command line: `vitrine index` runs it alone, `vitrine serve` runs it
//! beside the API (its metrics on the server's `/metrics`).

use std::collections::BTreeMap;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use prometheus_client::registry::Registry;
use vitrine_indexer::{
    Catalog, DeadLetterSink, IndexerHandle, IndexerStats, IndexerStatus, KafkaIndexer, KafkaIndexerConfig,
    ProductIndex, dead_letter_topic,
};
use vitrine_models::DataDir;

use super::runtime::{runtime, shutdown_signal};
use crate::cli::IndexArgs;
use crate::config::{DeadLetterChoice, KafkaConfig, KafkaOptions};
use crate::http::AppState;

/// The indexer's configuration for `kafka` over `data_dir`.
fn indexer_config(data_dir: &DataDir, kafka: &KafkaConfig) -> KafkaIndexerConfig {
    let mut config = KafkaIndexerConfig::new(&kafka.brokers, &kafka.topic);
    config.commit_interval = kafka.commit_interval;
    config.max_batch = kafka.max_batch;
    config.dead_letters = match kafka.dead_letters {
        DeadLetterChoice::Topic => DeadLetterSink::Topic(dead_letter_topic(&kafka.topic)),
        DeadLetterChoice::Local => DeadLetterSink::Local(data_dir.dead_letters(&kafka.index)),
    };
    config
}

/// Where the sink puts dead letters, for people.
fn describe_sink(sink: &DeadLetterSink) -> String {
    match sink {
        DeadLetterSink::Topic(topic) => format!("topic `{topic}`"),
        DeadLetterSink::Local(path) => path.display().to_string(),
    }
}

/// Where the index resumes in the topic: "the beginning" or `partition: offset` pairs.
fn resume_point(index: &ProductIndex, topic: &str) -> String {
    let offsets: BTreeMap<i32, i64> = index.checkpoint().offsets.get(topic).cloned().unwrap_or_default();
    if offsets.is_empty() {
        return "the beginning".to_owned();
    }
    let pairs: Vec<String> = offsets.iter().map(|(partition, next)| format!("{partition}:{next}")).collect();
    format!("offsets {}", pairs.join(", "))
}

/// Starts the indexer of a server: opens (or creates) the index off the async workers, and
/// registers the indexer's metrics with the server's.
pub(super) async fn start_in_server(state: &AppState, kafka: &KafkaConfig) -> anyhow::Result<IndexerHandle> {
    let catalog = state.catalog.clone();
    let name = kafka.index.clone();
    let index = tokio::task::spawn_blocking(move || catalog.get_or_create(&name))
        .await
        .context("opening the index")?
        .with_context(|| format!("cannot open the index `{}`", kafka.index))?;
    let config = indexer_config(state.catalog.data_dir(), kafka);
    tracing::info!(
        topic = %kafka.topic,
        index = %kafka.index,
        resume_at = %resume_point(&index, &kafka.topic),
        dead_letters = %describe_sink(&config.dead_letters),
        "starting the Kafka indexer"
    );
    let handle = KafkaIndexer::spawn(config, index, &mut state.metrics.registry())?;
    Ok(handle)
}

/// Completes when the indexer has ended (a stop, or a failure).
pub(super) async fn ended(status: IndexerStatus) {
    while !status.has_ended() {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn stats_line(stats: &IndexerStats) -> String {
    let lag = stats.lag.map_or_else(|| "unknown".to_owned(), |lag| lag.to_string());
    format!(
        "consumed {}, applied {}, stale {}, dead-lettered {}, batches {}, lag {lag}",
        stats.consumed, stats.applied, stats.stale, stats.dead_lettered, stats.batches
    )
}

/// `vitrine index`: the indexer alone, until Ctrl-C or SIGTERM (or its failure). Prints
/// `indexer started: …` once it consumes, then a progress line every `--report-every` seconds.
pub(super) fn run(data_dir: &DataDir, args: IndexArgs, file: KafkaOptions) -> anyhow::Result<()> {
    let Some(kafka) = args.kafka.layered_over(file).resolve()? else {
        anyhow::bail!("`vitrine index` needs --kafka-brokers and --kafka-topic (or VITRINE_KAFKA_*, or [kafka])");
    };
    let catalog = Catalog::new(data_dir.clone());
    let index: Arc<ProductIndex> =
        catalog.get_or_create(&kafka.index).with_context(|| format!("cannot open the index `{}`", kafka.index))?;
    let config = indexer_config(data_dir, &kafka);
    let sink = describe_sink(&config.dead_letters);
    let resume_at = resume_point(&index, &kafka.topic);
    let mut registry = Registry::with_prefix("vitrine");
    let handle = KafkaIndexer::spawn(config, index, &mut registry)?;
    let status = handle.status();
    let every = Duration::from_secs(args.report_every.max(1));
    runtime()?.block_on(async {
        let mut shutdown = pin!(shutdown_signal());
        let mut watch = tokio::time::interval(Duration::from_millis(50));
        let mut report = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        let mut announced = false;
        loop {
            tokio::select! {
                () = &mut shutdown => break,
                _ = watch.tick() => {
                    if !announced && status.is_running() {
                        announced = true;
                        println!(
                            "indexer started: topic `{}` on {} -> index `{}` in {}, from {resume_at}; dead letters to {sink}",
                            kafka.topic,
                            kafka.brokers,
                            kafka.index,
                            data_dir.root().display()
                        );
                    }
                    if status.has_ended() {
                        break;
                    }
                }
                _ = report.tick() => {
                    let state = if status.is_running() { "indexer" } else { "indexer (waiting for the topic)" };
                    println!("{state}: {}", stats_line(&status.stats()));
                }
            }
        }
    });
    let stats = handle.stop_and_join().context("the Kafka indexer failed")?;
    println!("indexer stopped: {}", stats_line(&stats));
    Ok(())
}
