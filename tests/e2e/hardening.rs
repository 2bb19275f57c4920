//! The server's own limits (issue 17, "abuse limits" and "the rest of the audit"), each tried as
//! an attacker would: over a real socket where the attack is on connections (slow headers, too
//! many connections), through `app()` otherwise (custom methods in metrics, bounded searches, the
//! console's headers), through the `vitrine` binary for what it prints.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::http::{Method, StatusCode, header};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use vitrine::AppState;
use vitrine::config::ServerConfig;
use vitrine_indexer::Catalog;
use vitrine_models::DataDir;

use crate::common::{Server, request};

/// `vitrine::http::serve` on an ephemeral loopback port, as `vitrine serve` runs it.
struct Listening {
    address: SocketAddr,
    state: AppState,
    stop: Option<oneshot::Sender<()>>,
    served: tokio::task::JoinHandle<std::io::Result<()>>,
    _data: tempfile::TempDir,
}

impl Listening {
    async fn start(configure: impl FnOnce(&mut ServerConfig)) -> Listening {
        let data = tempfile::tempdir().expect("temp dir");
        let mut config = ServerConfig::default();
        configure(&mut config);
        let state = AppState::new(config, Catalog::new(DataDir::new(data.path())));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        let (stop, stopped) = oneshot::channel::<()>();
        let shutdown = async move {
            stopped.await.ok();
        };
        let served = tokio::spawn(vitrine::http::serve(listener, state.clone(), shutdown));
        Listening { address, state, stop: Some(stop), served, _data: data }
    }

    async fn connect(&self) -> TcpStream {
        TcpStream::connect(self.address).await.expect("connect")
    }

    /// The connections the server has open, from its metrics.
    fn open_connections(&self) -> Option<u64> {
        let text = self.state.metrics.render().expect("metrics");
        text.lines()
            .find_map(|line| line.strip_prefix("vitrine_http_open_connections "))
            .and_then(|count| count.trim().parse().ok())
    }

    /// Waits until the server has `count` connections open.
    async fn wait_for_open_connections(&self, count: u64) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while self.open_connections() != Some(count) {
            assert!(Instant::now() < deadline, "{:?} connections open, {count} expected", self.open_connections());
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// Reads until the server closes the connection (a reset counts as closed).
async fn read_to_close(stream: &mut TcpStream) -> String {
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        match stream.read(&mut buffer).await {
            Ok(0) | Err(_) => return String::from_utf8_lossy(&received).into_owned(),
            Ok(read) => received.extend_from_slice(&buffer[..read]),
        }
    }
}

/// Whether the server closes the connection within `limit`.
async fn closed_within(stream: &mut TcpStream, limit: Duration) -> bool {
    tokio::time::timeout(limit, read_to_close(stream)).await.is_ok()
}

const GET_HEALTH_AND_CLOSE: &[u8] = b"GET /health HTTP/1.1\r\nHost: vitrine\r\nConnection: close\r\n\r\n";

#[tokio::test]
async fn clients_stalling_in_their_headers_are_disconnected_after_the_header_timeout() {
    let server = Listening::start(|config| config.header_read_timeout = Duration::from_millis(300)).await;
    // A slowloris: many sockets, each with half a request head, then silence.
    let mut stalled = Vec::new();
    for _ in 0..20 {
        let mut stream = server.connect().await;
        stream.write_all(b"GET /health HTTP/1.1\r\nHost: vitrine\r\nX-Slow: ").await.expect("write");
        stalled.push(stream);
    }
    let started = Instant::now();
    for stream in &mut stalled {
        assert!(closed_within(stream, Duration::from_secs(5)).await, "a half-sent request is still open after 5 s");
    }
    assert!(started.elapsed() >= Duration::from_millis(200), "closed before the timeout: {:?}", started.elapsed());
    server.wait_for_open_connections(0).await;

    // A whole request is answered; the connection left idle afterwards is closed the same way.
    let mut client = server.connect().await;
    client.write_all(b"GET /health HTTP/1.1\r\nHost: vitrine\r\n\r\n").await.expect("write");
    let mut head = [0u8; 12];
    client.read_exact(&mut head).await.expect("an answer");
    assert_eq!(&head, b"HTTP/1.1 200");
    assert!(closed_within(&mut client, Duration::from_secs(5)).await, "an idle keep-alive connection stays open");
}

#[tokio::test]
async fn connections_over_the_cap_wait_until_one_closes() {
    let server = Listening::start(|config| {
        config.max_connections = 2;
        config.header_read_timeout = Duration::from_secs(30);
    })
    .await;
    let mut holders = Vec::new();
    for _ in 0..2 {
        let mut stream = server.connect().await;
        stream.write_all(b"GET /health HTTP/1.1\r\n").await.expect("write");
        holders.push(stream);
    }
    server.wait_for_open_connections(2).await;

    // The third connects (the kernel's backlog takes it) but is not served while two are open.
    let mut third = server.connect().await;
    third.write_all(GET_HEALTH_AND_CLOSE).await.expect("write");
    let mut byte = [0u8; 1];
    let early = tokio::time::timeout(Duration::from_millis(500), third.read(&mut byte)).await;
    assert!(early.is_err(), "a connection over the cap was served: {early:?}");
    assert_eq!(server.open_connections(), Some(2));

    // One closes: the third is accepted and answered.
    drop(holders.pop());
    let answer = tokio::time::timeout(Duration::from_secs(5), read_to_close(&mut third)).await.expect("served");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[tokio::test]
async fn shutdown_answers_the_requests_in_flight_then_stops() {
    let mut server = Listening::start(|_| {}).await;
    // A search whose body is half sent when the shutdown starts, and a connection with nothing sent.
    let body = r#"{"q": "lamp", "per_page": 5}"#;
    let mut in_flight = server.connect().await;
    let head = format!(
        "POST /v1/indexes/shop/search HTTP/1.1\r\nHost: vitrine\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n",
        body.len()
    );
    in_flight.write_all(head.as_bytes()).await.expect("write");
    in_flight.write_all(&body.as_bytes()[..8]).await.expect("write");
    let mut idle = server.connect().await;
    server.wait_for_open_connections(2).await;

    server.stop.take().expect("running").send(()).expect("the server listens for its shutdown");
    assert!(closed_within(&mut idle, Duration::from_secs(5)).await, "an idle connection is closed at shutdown");
    let deadline = Instant::now() + Duration::from_secs(5);
    while TcpStream::connect(server.address).await.is_ok() {
        assert!(Instant::now() < deadline, "new connections are still accepted after the shutdown started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(!server.served.is_finished(), "the server waits for the request in flight");

    in_flight.write_all(&body.as_bytes()[8..]).await.expect("the rest of the body");
    let answer = tokio::time::timeout(Duration::from_secs(5), read_to_close(&mut in_flight)).await.expect("answered");
    assert!(answer.starts_with("HTTP/1.1 404"), "the search is answered (no index yet): {answer}");
    assert!(answer.contains("index_not_found"), "{answer}");
    let served = tokio::time::timeout(Duration::from_secs(5), server.served).await.expect("the server stops");
    served.expect("join").expect("served without error");
}

#[tokio::test]
async fn custom_methods_share_one_metric_label() {
    let server = Server::open();
    let health_series = |text: &str| {
        text.lines().filter(|line| line.starts_with("vitrine_http_requests_total{") && line.contains("/health")).count()
    };
    let before = health_series(&server.get("/metrics", None).await.text);
    // A method is any token: a hundred different ones, each answered 405.
    let mut seed = 0x9E37_79B9_7F4A_7C15_u64;
    for _ in 0..100 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let method = Method::from_bytes(format!("M{seed:016X}").as_bytes()).expect("a method token");
        let answer = server.call(request(method, "/health", None, None)).await;
        assert_eq!(answer.status, StatusCode::METHOD_NOT_ALLOWED);
    }
    let text = server.get("/metrics", None).await.text;
    assert!(health_series(&text) <= before + 1, "custom methods grow /metrics:\n{text}");
    assert!(text.contains(r#"vitrine_http_requests_total{method="OTHER",route="/health",status="405"} 100"#), "{text}");
    let latency_series =
        text.lines().filter(|line| line.starts_with("vitrine_http_request_duration_seconds_count")).count();
    assert!(latency_series <= 3, "GET /health, GET /metrics and OTHER /health at most:\n{text}");
}

#[tokio::test]
async fn the_console_is_served_with_a_strict_policy_and_every_page_unsniffed() {
    let server = Server::open();
    for path in ["/console", "/console/console.js"] {
        let answer = server.get(path, None).await;
        assert_eq!(answer.status, StatusCode::OK, "{path}");
        let header =
            |name| answer.headers.get(name).and_then(|value| value.to_str().ok()).unwrap_or_default().to_owned();
        let policy = header(header::CONTENT_SECURITY_POLICY);
        let directives: Vec<&str> = policy.split(';').map(str::trim).collect();
        for directive in ["default-src 'none'", "script-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"] {
            assert!(directives.contains(&directive), "{path}: `{directive}` missing from `{policy}`");
        }
        assert_eq!(header(header::X_FRAME_OPTIONS), "DENY", "{path}");
        assert_eq!(header(header::X_CONTENT_TYPE_OPTIONS), "nosniff", "{path}");
        assert_eq!(header(header::REFERRER_POLICY), "no-referrer", "{path}");
    }
    for path in ["/", "/plugin/vitrine.js"] {
        let answer = server.get(path, None).await;
        assert_eq!(answer.status, StatusCode::OK, "{path}");
        assert_eq!(answer.headers.get(header::X_CONTENT_TYPE_OPTIONS).map(|v| v.as_bytes()), Some(&b"nosniff"[..]));
    }

    // The policy does not break the console: no inline script or handler, one script of its own.
    let page = server.get("/console", None).await.text;
    let script_tags: Vec<&str> = page
        .match_indices("<script")
        .map(|(at, _)| &page[at..page[at..].find('>').map_or(page.len(), |end| at + end)])
        .collect();
    assert_eq!(script_tags, [r#"<script src="/console/console.js" defer"#], "only the console's own script");
    let script = server.get("/console/console.js", None).await.text;
    for markup in [&page, &script] {
        for handler in [" onclick=", " onload=", " onerror=", " oninput=", " onchange=", " onsubmit=", "javascript:"] {
            assert!(!markup.contains(handler), "`{handler}` would be blocked by the policy");
        }
    }
    for forbidden in ["eval(", "new Function", "setTimeout(\"", "http://", "https://"] {
        assert!(!script.contains(forbidden), "console.js uses `{forbidden}`, which the policy blocks");
    }
}

/// A catalog of three brands, for the search bounds.
async fn shop() -> Server {
    let server = Server::open();
    let products: Vec<Value> = (0..30)
        .map(|n| {
            let brand = ["Glow", "Forge", "Rain"][n % 3];
            json!({"id": format!("p{n}"), "title": format!("lamp number {n}"), "brand": brand,
                   "price": 5.0 + n as f64, "currency": "GBP", "stock": 3})
        })
        .collect();
    let (status, body) = server.post("/v1/indexes/shop/documents", None, &Value::Array(products)).await.parts();
    assert_eq!(status, StatusCode::OK, "{body}");
    server
}

#[tokio::test]
async fn searches_are_bounded_facets_folded_and_the_excess_refused_with_stable_codes() {
    let server = shop().await;
    // The attack of the issue: one facet four thousand times, with a filter on it.
    let facets = vec!["brand"; 4000];
    let repeated = json!({"q": "lamp", "facets": facets, "filter": {"brand": ["Glow", "Rain"]}});
    let started = Instant::now();
    let (status, body) = server.post("/v1/indexes/shop/search", None, &repeated).await.parts();
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["facets"]["brand"], json!({"Forge": 10, "Glow": 10, "Rain": 10}), "counted once: {body}");
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());

    let distinct: Vec<String> = (0..21).map(|n| format!("facet_{n}")).collect();
    let brands: Vec<String> = (0..101).map(|n| format!("brand {n}")).collect();
    let cases = [
        (json!({"q": "lamp", "facets": distinct}), "too_many_facets"),
        (json!({"q": "lamp", "filter": {"brand": brands}}), "too_many_filter_values"),
        (json!({"q": "lamp", "page": 51, "per_page": 20}), "invalid_pagination"),
        (json!({"q": "lamp", "page": 6, "per_page": 200}), "invalid_pagination"),
    ];
    for (request, code) in cases {
        let answer = server.post("/v1/indexes/shop/search", None, &request).await;
        assert_eq!((answer.status, answer.error_code().as_str()), (StatusCode::BAD_REQUEST, code), "{request}");
    }
    // The last page inside the first 1,000 results is served, cut short at the window's end.
    let (status, body) =
        server.post("/v1/indexes/shop/search", None, &json!({"q": "lamp", "page": 50, "per_page": 20})).await.parts();
    assert_eq!((status, body["total"].as_u64()), (StatusCode::OK, Some(30)), "{body}");
}

#[tokio::test]
async fn database_passwords_never_reach_answers_or_the_start_up_output() {
    const URL: &str = "mysql://shop:s3cret-pw@db.example/shop";
    // Over HTTP: the commerce database cannot be opened; the answer says nothing of it.
    let server = Server::with(|config| config.commerce_db = Some(URL.parse().expect("a URL")));
    assert!(!format!("{:?}", server.state.config).contains("s3cret-pw"), "the configuration prints the password");
    let answer = server.post("/v1/carts", None, &json!({})).await;
    assert_eq!((answer.status, answer.error_code().as_str()), (StatusCode::INTERNAL_SERVER_ERROR, "internal"));
    assert!(!answer.text.contains("s3cret-pw"), "{}", answer.text);

    // `vitrine serve` stops on it, naming the URL without its password.
    let Some(bin) = vitrine_e2e::vitrine_bin("database_passwords_never_reach_answers_or_the_start_up_output") else {
        return;
    };
    let data = tempfile::tempdir().expect("temp dir");
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new(bin)
            .arg("--data-dir")
            .arg(data.path())
            .args(["serve", "--listen", "127.0.0.1:0", "--commerce-db", URL])
            .output()
            .expect("vitrine runs")
    })
    .await
    .expect("join");
    let printed = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(!output.status.success(), "{printed}");
    assert!(!printed.contains("s3cret-pw"), "the password is printed:\n{printed}");
    assert!(printed.contains("mysql://shop:***@db.example/shop"), "the URL is named, redacted:\n{printed}");
}

/// Reads one answer (head and `Content-Length` body) from a connection that may stay open;
/// lower-cased. Gives up after 10 s.
async fn read_answer(stream: &mut TcpStream) -> String {
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let text = String::from_utf8_lossy(&received).to_lowercase();
        if let Some(end) = text.find("\r\n\r\n") {
            let length = text[..end]
                .lines()
                .find_map(|line| line.strip_prefix("content-length:"))
                .and_then(|length| length.trim().parse::<usize>().ok())
                .unwrap_or(0);
            if received.len() >= end + 4 + length {
                return text;
            }
        }
        match tokio::time::timeout_at(deadline, stream.read(&mut buffer)).await {
            Ok(Ok(read)) if read > 0 => received.extend_from_slice(&buffer[..read]),
            _ => return text,
        }
    }
}

#[tokio::test]
async fn an_answer_given_before_the_body_is_read_says_the_connection_closes() {
    let server = Listening::start(|config| config.keys = crate::common::both_keys()).await;
    let body = r#"[{"id": "a", "title": "A"}]"#;
    let post = |path: &str, key: Option<&str>| {
        let authorization = key.map(|key| format!("Authorization: Bearer {key}\r\n")).unwrap_or_default();
        format!(
            "POST {path} HTTP/1.1\r\nHost: vitrine\r\n{authorization}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
    };
    // Refused by the guard, the body unread: the answer says the connection closes (it did not,
    // and a client reusing the connection lost its next request).
    let mut refused = server.connect().await;
    refused.write_all(post("/v1/indexes/shop/documents", None).as_bytes()).await.expect("write");
    let answer = read_answer(&mut refused).await;
    assert!(answer.starts_with("http/1.1 401"), "{answer}");
    assert!(answer.contains("connection: close"), "{answer}");
    // A body read by its handler keeps the connection open for the next request.
    let mut kept = server.connect().await;
    kept.write_all(post("/v1/indexes/shop/documents", Some(crate::common::ADMIN)).as_bytes()).await.expect("write");
    let answer = read_answer(&mut kept).await;
    assert!(answer.starts_with("http/1.1 200"), "{answer}");
    assert!(!answer.contains("connection: close"), "{answer}");
    kept.write_all(GET_HEALTH_AND_CLOSE).await.expect("the connection is still open");
    assert!(read_to_close(&mut kept).await.to_lowercase().starts_with("http/1.1 200"));
}
