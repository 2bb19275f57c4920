//! `vitrine publish products`: a product feed, published as `product_upserted` events.

use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::Utc;
use indicatif::{ProgressBar, ProgressStyle};
use vitrine_indexer::EventPublisher;
use vitrine_models::feed;
use vitrine_models::{IndexName, ProductEvent};

use super::import::read_feed_file;
use crate::cli::PublishArgs;
use crate::config::KafkaOptions;

/// How long to wait for the brokers to acknowledge the last events.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(60);

/// Reads the feed (bad lines reported with their numbers, the rest published), publishes one
/// event per product keyed by its id — version: the product's, or the publish time in
/// milliseconds when it has none — and waits for every delivery.
pub(super) fn products(args: &PublishArgs, file: &KafkaOptions) -> anyhow::Result<()> {
    let brokers = args
        .kafka_brokers
        .clone()
        .or_else(|| file.brokers.clone())
        .context("`vitrine publish` needs --kafka-brokers (or VITRINE_KAFKA_BROKERS, or [kafka] brokers)")?;
    let topic = args
        .kafka_topic
        .clone()
        .or_else(|| file.topic.clone())
        .context("`vitrine publish` needs --kafka-topic (or VITRINE_KAFKA_TOPIC, or [kafka] topic)")?;
    let index = IndexName::new(&args.index)?;
    let started = Instant::now();
    let (products, bad) = read_feed_file(&args.file, feed::read_products)?;
    let publisher = EventPublisher::new(&brokers, &topic)?;
    let partitions = publisher.ensure_topic(args.partitions)?;
    let now = Utc::now();
    let now_ms = u64::try_from(now.timestamp_millis()).unwrap_or(0);
    let unversioned = products.iter().filter(|product| product.version == 0).count();

    let bar = ProgressBar::new(products.len() as u64).with_message("publishing");
    bar.set_style(
        ProgressStyle::with_template("{msg:>12} [{bar:40}] {pos}/{len} delivered ({eta})")
            .context("progress template")?
            .progress_chars("=> "),
    );
    let show = |bar: &ProgressBar, publisher: &EventPublisher| {
        let progress = publisher.progress();
        bar.set_position(progress.delivered + progress.failed);
    };
    for (position, mut product) in products.into_iter().enumerate() {
        if product.version == 0 {
            product.version = now_ms;
        }
        let event = ProductEvent::upserted(product, uuid::Uuid::now_v7().to_string(), now);
        publisher.send(&event)?;
        if position % 512 == 0 {
            show(&bar, &publisher);
        }
    }
    let delivered =
        publisher.finish(DELIVERY_TIMEOUT, |progress| bar.set_position(progress.delivered + progress.failed));
    bar.finish_and_clear();
    let report = delivered?;
    println!(
        "index `{index}`: {} product_upserted events delivered to topic `{topic}` ({partitions} partitions; \
         {unversioned} without a version got {now_ms}), {} bad lines skipped, in {:.2} s",
        report.delivered,
        bad.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
