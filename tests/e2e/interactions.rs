//! Interactions you can trust, over HTTP: events from the future are refused, one shopper (or one
//! client address inventing sessions) cannot flood the interaction log recommendations train on,
//! and hundreds of event requests become a few Parquet parts holding every row exactly once.

use std::net::SocketAddr;

use axum::extract::ConnectInfo;
use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use vitrine::config::ApiKeys;
use vitrine_models::IndexName;
use vitrine_pipelines::{MAX_LOG_PARTS, collect_interactions, interaction_parts, log_columns};

use crate::common::{Server, request};

async fn shop() -> Server {
    let server = Server::with_analytics(ApiKeys::default()).await;
    let documents = json!([
        {"id": "mug", "title": "enamel camping mug", "price": 8.5, "currency": "GBP"},
        {"id": "lamp", "title": "desk lamp", "price": 30.0, "currency": "GBP"},
    ]);
    let (status, body) = server.post("/v1/indexes/shop/documents", None, &documents).await.parts();
    assert_eq!(status, StatusCode::OK, "{body}");
    server
}

/// The interaction log's rows as (user or session, product), after the writer's queue is written.
async fn logged(server: &Server) -> Vec<(String, String)> {
    server.state.interactions.flush().await;
    let folder = server.state.catalog.data_dir().interactions(&IndexName::new("shop").expect("index"));
    let Some(log) = collect_interactions(&folder, |log| log).expect("read the log") else { return Vec::new() };
    let text =
        |column: &str, row: usize| log.column(column).expect("column").str().expect("text").get(row).map(str::to_owned);
    (0..log.height())
        .map(|row| {
            let who = text(log_columns::USER_ID, row).or_else(|| text(log_columns::SESSION_ID, row));
            (who.expect("a shopper"), text(log_columns::PRODUCT_ID, row).expect("a product"))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_dated_in_the_future_are_refused_naming_their_position() {
    let server = shop().await;
    let events = json!([
        {"type": "purchase", "product_id": "mug", "user_id": "alice"},
        {"type": "purchase", "product_id": "mug", "user_id": "alice", "timestamp": "2099-01-01T00:00:00Z"},
    ]);
    let answer = server.post("/v1/indexes/shop/events", None, &events).await;
    assert_eq!((answer.status, answer.error_code().as_str()), (StatusCode::BAD_REQUEST, "invalid_event"));
    assert!(
        answer.json()["message"].as_str().is_some_and(|m| m.starts_with("event 1: `timestamp` 2099")),
        "{}",
        answer.text
    );
    assert!(logged(&server).await.is_empty(), "nothing of a refused request is logged");

    // A client clock a minute fast, and a historical import, are fine.
    let soon = (chrono::Utc::now() + chrono::Duration::minutes(1)).to_rfc3339();
    let events = json!([
        {"type": "view", "product_id": "mug", "session_id": "s-1", "timestamp": soon},
        {"type": "purchase", "product_id": "lamp", "user_id": "bob", "timestamp": "2010-12-01T08:26:00Z"},
    ]);
    let (status, body) = server.post("/v1/indexes/shop/events", None, &events).await.parts();
    assert_eq!((status, body), (StatusCode::ACCEPTED, json!({"recorded": 2, "capped": 0})));
    assert_eq!(logged(&server).await.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_shopper_posting_a_thousand_purchases_of_one_product_adds_at_most_the_cap() {
    let server = shop().await;
    let per_product = server.state.config.event_caps.per_shopper_product as usize;
    let flood = Value::Array(vec![json!({"type": "purchase", "product_id": "mug", "user_id": "mallory"}); 1_000]);
    let (status, body) = server.post("/v1/indexes/shop/events", None, &flood).await.parts();
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body, json!({"recorded": 1_000, "capped": 1_000 - per_product}));
    // Again: the budget is spent for the hour.
    let (_, body) = server.post("/v1/indexes/shop/events", None, &flood).await.parts();
    assert_eq!(body["capped"], 1_000);
    let rows = logged(&server).await;
    assert_eq!(rows.len(), per_product, "at most the per-product cap reaches the interaction log");
    // Other shoppers are not affected.
    let (_, body) = server
        .post("/v1/indexes/shop/events", None, &json!({"type": "purchase", "product_id": "mug", "user_id": "alice"}))
        .await
        .parts();
    assert_eq!(body["capped"], 0);

    let metrics = server.get("/metrics", None).await.text;
    assert!(metrics.contains(&format!("vitrine_interactions_capped_total {}", 2_000 - per_product)), "{metrics}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_inventing_a_session_per_event_is_held_to_its_address_budget() {
    let server = shop().await;
    let per_client_product = server.state.config.event_caps.per_client_product as usize;
    let flood: Vec<Value> = (0..1_000)
        .map(|n| json!({"type": "purchase", "product_id": "mug", "session_id": format!("fresh-{n}")}))
        .collect();
    let mut flood_request =
        request(Method::POST, "/v1/indexes/shop/events", None, Some(&Value::Array(flood).to_string()));
    let attacker: SocketAddr = "203.0.113.7:51000".parse().expect("address");
    flood_request.extensions_mut().insert(ConnectInfo(attacker));
    let (status, body) = server.call(flood_request).await.parts();
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["capped"], 1_000 - per_client_product);
    assert_eq!(logged(&server).await.len(), per_client_product);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_hundred_event_requests_become_a_few_parts_holding_every_row_once() {
    let server = shop().await;
    for n in 0..300 {
        let event = json!({"type": "click", "product_id": if n % 2 == 0 { "mug" } else { "lamp" },
            "user_id": format!("shopper-{n}")});
        let (status, body) = server.post("/v1/indexes/shop/events", None, &event).await.parts();
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    }
    let mut rows = logged(&server).await;
    rows.sort();
    rows.dedup();
    assert_eq!(rows.len(), 300, "every row, once");
    let folder = server.state.catalog.data_dir().interactions(&IndexName::new("shop").expect("index"));
    let parts = interaction_parts(&folder).expect("parts").len();
    assert!((1..=MAX_LOG_PARTS).contains(&parts), "{parts} parts for 300 requests");
    let (_, summary) = server.get("/v1/indexes/shop", None).await.parts();
    assert!(summary["interaction_parts"].as_u64().is_some_and(|count| count <= MAX_LOG_PARTS as u64), "{summary}");

    // Deleting the index deletes its log; nothing queued brings it back.
    let (status, _) = server.send(Method::DELETE, "/v1/indexes/shop", None, None).await.parts();
    assert_eq!(status, StatusCode::NO_CONTENT);
    server.state.interactions.flush().await;
    assert!(!folder.exists());
}
