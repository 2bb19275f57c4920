//! The HTTP load driver of `vitrine bench search`, `recs` and `checkout`: the server is this
//! binary's own `app()`, listening on 127.0.0.1 (an ephemeral port); the clients are HTTP/1.1
//! connections from the same process, `--concurrency` of them, each sending its share of the
//! requests one after another.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Request, header};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use indicatif::{ProgressBar, ProgressStyle};

use crate::http::AppState;

/// Requests sent before timing starts.
pub(super) const WARM_UP_REQUESTS: usize = 500;

/// One request of a benchmark.
pub(super) struct Planned {
    /// Its kind, for per-kind figures.
    pub(super) label: &'static str,
    /// Path on the server.
    pub(super) path: String,
    /// JSON body (POST).
    pub(super) body: serde_json::Value,
}

/// How many requests, from how many clients.
pub(super) struct Load {
    pub(super) requests: usize,
    pub(super) concurrency: usize,
    pub(super) message: &'static str,
}

/// What was timed.
pub(super) struct Timings {
    /// `(label, latency)` of every timed request.
    latencies: Vec<(&'static str, Duration)>,
    elapsed: Duration,
}

impl Timings {
    /// The latency at percentile `p` (0–100) over every timed request, in milliseconds
    /// (nearest rank).
    pub(super) fn percentile_ms(&self, p: f64) -> f64 {
        let mut all: Vec<Duration> = self.latencies.iter().map(|&(_, latency)| latency).collect();
        all.sort_unstable();
        let rank = ((p / 100.0) * all.len() as f64).ceil() as usize;
        all.get(rank.clamp(1, all.len().max(1)) - 1).map_or(0.0, |latency| latency.as_secs_f64() * 1000.0)
    }

    /// Requests per second over the timed part.
    pub(super) fn per_second(&self) -> f64 {
        self.latencies.len() as f64 / self.elapsed.as_secs_f64()
    }
}

/// Serves `state` on an ephemeral loopback port, warms up with [`WARM_UP_REQUESTS`], then sends
/// `load.requests` of `requests` (cycling through them) from `load.concurrency` clients.
pub(super) async fn time_requests(state: AppState, requests: Vec<Planned>, load: &Load) -> anyhow::Result<Timings> {
    anyhow::ensure!(!requests.is_empty(), "nothing to send");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    // Loads the models on a thread of its own; the warm-up requests below wait for them if need be.
    state.warm_up_recommenders();
    let server = tokio::spawn(crate::http::serve(listener, state, std::future::pending()));
    let base = Arc::new(format!("http://{address}"));
    let requests = Arc::new(requests);

    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let send = move |n: usize| {
        let client = client.clone();
        let base = base.clone();
        let requests = requests.clone();
        async move {
            let planned = &requests[n % requests.len()];
            let request = Request::post(format!("{base}{}", planned.path))
                .header(header::CONTENT_TYPE, "application/json")
                .body(Full::new(Bytes::from(planned.body.to_string())))?;
            let started = Instant::now();
            let response = client.request(request).await?;
            let status = response.status();
            let body = response.into_body().collect().await?.to_bytes();
            let elapsed = started.elapsed();
            anyhow::ensure!(
                status.is_success(),
                "{} answered {status}: {}",
                planned.path,
                String::from_utf8_lossy(&body)
            );
            Ok::<(&'static str, Duration), anyhow::Error>((planned.label, elapsed))
        }
    };

    for n in 0..WARM_UP_REQUESTS {
        send(n).await.context("warm-up request")?;
    }
    let bar = ProgressBar::new(load.requests as u64);
    bar.set_style(ProgressStyle::with_template("{msg:>12} [{bar:40}] {pos}/{len} ({eta})")?.progress_chars("=> "));
    bar.set_message(load.message);
    let started = Instant::now();
    let mut clients = Vec::new();
    for client_number in 0..load.concurrency {
        let send = send.clone();
        let bar = bar.clone();
        let count = load.requests / load.concurrency + usize::from(client_number < load.requests % load.concurrency);
        let stride = load.concurrency;
        clients.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(count);
            for i in 0..count {
                latencies.push(send(WARM_UP_REQUESTS + client_number + i * stride).await?);
                bar.inc(1);
            }
            Ok::<_, anyhow::Error>(latencies)
        }));
    }
    let mut latencies = Vec::with_capacity(load.requests);
    for client in clients {
        latencies.extend(client.await??);
    }
    let elapsed = started.elapsed();
    bar.finish_and_clear();
    server.abort();
    Ok(Timings { latencies, elapsed })
}

/// Prints throughput and latency percentiles, overall and (with `per_label`) per label.
pub(super) fn report(timings: &Timings, per_label: bool) {
    let line = |latencies: &mut Vec<Duration>| {
        latencies.sort_unstable();
        let percentile = |p: f64| {
            let rank = ((p / 100.0) * latencies.len() as f64).ceil() as usize;
            latencies[rank.clamp(1, latencies.len()) - 1].as_secs_f64() * 1000.0
        };
        format!(
            "latency p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            percentile(50.0),
            percentile(90.0),
            percentile(99.0),
            percentile(100.0)
        )
    };
    let mut all: Vec<Duration> = timings.latencies.iter().map(|&(_, latency)| latency).collect();
    println!(
        "{} requests in {:.2} s: {:.0} requests/s; {}",
        all.len(),
        timings.elapsed.as_secs_f64(),
        all.len() as f64 / timings.elapsed.as_secs_f64(),
        line(&mut all)
    );
    if per_label {
        let mut labels: Vec<&'static str> = timings.latencies.iter().map(|&(label, _)| label).collect();
        labels.sort_unstable();
        labels.dedup();
        for label in labels {
            let mut latencies: Vec<Duration> =
                timings.latencies.iter().filter(|&&(l, _)| l == label).map(|&(_, latency)| latency).collect();
            println!("  {label:<16} {:>6} requests; {}", latencies.len(), line(&mut latencies));
        }
    }
}
