//! The HTTP load driver of `vitrine bench search`, `recs`, `checkout` and `scale`: the server is
//! this binary's own `app()`, listening on 127.0.0.1 (an ephemeral port); the clients are
//! HTTP/1.1 connections from the same process, `--concurrency` of them, each sending its share
//! of the requests one after another.
//!
//! Closed loop ([`Pace::Closed`]): each client sends its next request when the last is answered,
//! so a slow answer also delays the requests behind it, unseen (coordinated omission: closed-loop
//! clients understate the tail). Open loop ([`Pace::Open`]): each client has a fixed schedule
//! (the rate split between the clients) and a request's latency runs from the moment it was due,
//! so the time it waited behind a slow one counts, as wrk2 measures. Latencies go into an
//! HdrHistogram (microseconds, 3 significant digits).

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
#[derive(Clone)]
pub(super) struct Planned {
    /// Its kind, for per-kind figures.
    pub(super) label: &'static str,
    /// Path on the server.
    pub(super) path: String,
    /// JSON body of a POST; `Null` for a GET (`path` then carries the query string).
    pub(super) body: serde_json::Value,
}

impl Planned {
    /// A GET of `path` (with its query string).
    pub(super) fn get(label: &'static str, path: String) -> Self {
        Planned { label, path, body: serde_json::Value::Null }
    }
}

/// How the clients send their requests.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Pace {
    /// Each client sends its next request when the last is answered.
    Closed,
    /// The clients together send this many requests per second on a fixed schedule; latency
    /// runs from the moment a request was due.
    Open { per_second: f64 },
}

/// How many requests, from how many clients, at what pace.
pub(super) struct Load {
    pub(super) requests: usize,
    pub(super) concurrency: usize,
    pub(super) message: &'static str,
    pub(super) pace: Pace,
    /// Requests sent before timing starts.
    pub(super) warm_up: usize,
}

impl Load {
    /// Closed-loop clients, after [`WARM_UP_REQUESTS`].
    pub(super) fn closed(requests: usize, concurrency: usize, message: &'static str) -> Self {
        Load { requests, concurrency, message, pace: Pace::Closed, warm_up: WARM_UP_REQUESTS }
    }
}

/// What was timed.
pub(super) struct Timings {
    /// `(label, latency)` of every timed request.
    latencies: Vec<(&'static str, Duration)>,
    /// The same latencies in microseconds.
    histogram: hdrhistogram::Histogram<u64>,
    elapsed: Duration,
}

impl Timings {
    fn new(latencies: Vec<(&'static str, Duration)>, elapsed: Duration) -> anyhow::Result<Self> {
        // From 1 µs to 10 minutes, 3 significant digits.
        let mut histogram = hdrhistogram::Histogram::new_with_bounds(1, 600_000_000, 3)?;
        for (_, latency) in &latencies {
            let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX).max(1);
            histogram.saturating_record(micros);
        }
        Ok(Timings { latencies, histogram, elapsed })
    }

    /// The latency at percentile `p` (0–100) over every timed request, in milliseconds.
    pub(super) fn percentile_ms(&self, p: f64) -> f64 {
        if self.histogram.is_empty() {
            return 0.0;
        }
        self.histogram.value_at_quantile(p / 100.0) as f64 / 1000.0
    }

    /// Seconds the timed part took.
    pub(super) fn elapsed_seconds(&self) -> f64 {
        self.elapsed.as_secs_f64()
    }

    /// Requests per second over the timed part.
    pub(super) fn per_second(&self) -> f64 {
        self.latencies.len() as f64 / self.elapsed.as_secs_f64()
    }
}

/// Serves `state` on an ephemeral loopback port, warms up with `load.warm_up` requests, then sends
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
            let uri = format!("{base}{}", planned.path);
            let request = match &planned.body {
                serde_json::Value::Null => Request::get(uri).body(Full::new(Bytes::new()))?,
                body => Request::post(uri)
                    .header(header::CONTENT_TYPE, "application/json")
                    .body(Full::new(Bytes::from(body.to_string())))?,
            };
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

    for n in 0..load.warm_up {
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
        let (stride, warm_up) = (load.concurrency, load.warm_up);
        // Open loop: this client's requests are due every `interval`, the clients staggered.
        let schedule = match load.pace {
            Pace::Closed => None,
            Pace::Open { per_second } => {
                anyhow::ensure!(per_second > 0.0 && per_second.is_finite(), "the rate must be positive");
                let interval = Duration::from_secs_f64(load.concurrency as f64 / per_second);
                let first = started + Duration::from_secs_f64(client_number as f64 / per_second);
                Some((first, interval))
            }
        };
        clients.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(count);
            for i in 0..count {
                let n = warm_up + client_number + i * stride;
                match schedule {
                    None => latencies.push(send(n).await?),
                    Some((first, interval)) => {
                        let due = first + interval * u32::try_from(i).unwrap_or(u32::MAX);
                        tokio::time::sleep_until(due.into()).await;
                        let (label, _) = send(n).await?;
                        latencies.push((label, due.elapsed()));
                    }
                }
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
    Timings::new(latencies, elapsed)
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
