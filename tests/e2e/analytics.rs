//! Search analytics through `app()`, on a real data directory with its SQLite database: searches
//! are logged, events recorded, the report counts them exactly, autocomplete offers popular
//! queries, and the keys guard each endpoint.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use vitrine::config::ApiKeys;

use crate::common::{ADMIN, SEARCH, Server, both_keys};

/// What these tests add to the shared server.
trait ShopServer {
    async fn search(&self, q: &str, key: Option<&str>) -> (String, u64);
    async fn upsert_products(&self, key: Option<&str>);
}

impl ShopServer for Server {
    /// Searches and returns the answer's `query_id` and `total`.
    async fn search(&self, q: &str, key: Option<&str>) -> (String, u64) {
        let (status, body) = self.post("/v1/indexes/shop/search", key, &json!({"q": q})).await.parts();
        assert_eq!(status, StatusCode::OK, "{body}");
        let query_id = body["query_id"].as_str().expect("query_id").to_owned();
        (query_id, body["total"].as_u64().expect("total"))
    }

    async fn upsert_products(&self, key: Option<&str>) {
        let documents = json!([
            {"id": "85123A", "title": "WHITE HANGING HEART T-LIGHT HOLDER", "brand": "Heart & Home", "price": 2.55,
             "currency": "GBP", "category": "home/candles", "popularity": 3315},
            {"id": "21232", "title": "STRAWBERRY CERAMIC TRINKET BOX", "brand": "Berry", "price": 1.25,
             "currency": "GBP", "category": "home/storage", "popularity": 1200},
            {"id": "84879", "title": "ASSORTED COLOUR BIRD ORNAMENT", "brand": "Berry", "price": 1.69,
             "currency": "GBP", "category": "home/decor", "popularity": 2800}
        ]);
        let (status, body) = self.post("/v1/indexes/shop/documents", key, &documents).await.parts();
        assert_eq!(status, StatusCode::OK, "{body}");
    }
}

fn error_code(body: &Value) -> &str {
    body["code"].as_str().unwrap_or_else(|| panic!("no error code: {body}"))
}

#[tokio::test]
async fn the_report_counts_searches_clicks_and_purchases_exactly() {
    let server = Server::with_analytics(ApiKeys::default()).await;
    server.upsert_products(None).await;

    let (heart, heart_total) = server.search("Heart holder", None).await;
    let (heart_again, _) = server.search("heart   HOLDER", None).await;
    let (trinket, _) = server.search("trinket", None).await;
    let (nothing, nothing_total) = server.search("zzzzzz", None).await;
    assert!(heart_total > 0);
    assert_eq!(nothing_total, 0);

    let events = json!([
        {"type": "click", "product_id": "85123A", "query_id": heart, "position": 1},
        {"type": "click", "product_id": "85123A", "query_id": heart, "position": 1},
        {"type": "add_to_cart", "product_id": "85123A", "query_id": heart_again, "session_id": "s-1"},
        {"type": "purchase", "product_id": "21232", "query_id": trinket, "user_id": "u-7",
         "timestamp": "2020-01-15T10:00:00Z"},
        {"type": "view", "product_id": "84879"},
        // A click after a search that found nothing does not make that search count as clicked:
        // the rate's denominator is searches with results.
        {"type": "click", "product_id": "84879", "query_id": nothing}
    ]);
    let (status, body) = server.post("/v1/indexes/shop/events", None, &events).await.parts();
    assert_eq!((status, &body), (StatusCode::ACCEPTED, &json!({"recorded": 6, "capped": 0})));
    let (status, body) =
        server.post("/v1/indexes/shop/events", None, &json!({"type": "view", "product_id": "21232"})).await.parts();
    assert_eq!((status, &body), (StatusCode::ACCEPTED, &json!({"recorded": 1, "capped": 0})));

    server.state.analytics.flush().await;
    let (status, report) = server.get("/v1/indexes/shop/analytics", None).await.parts();
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["days"], Value::Null);
    assert_eq!(report["total_searches"], 4);
    assert_eq!(report["searches_with_results"], 3);
    assert_eq!(report["searches_without_results"], 1);
    assert_eq!(report["clicked_searches"], 1);
    assert_eq!(report["converted_searches"], 2);
    assert_eq!(report["click_through_rate"], json!(1.0 / 3.0));
    assert_eq!(report["conversion_rate"], json!(2.0 / 3.0));
    assert_eq!(report["events"], json!({"view": 2, "click": 3, "add_to_cart": 1, "purchase": 1}));
    let top = &report["top_queries"];
    assert_eq!(top[0]["query"], "heart holder");
    assert_eq!(top[0]["count"], 2);
    assert_eq!(top[0]["clicked_searches"], 1);
    assert_eq!(top[0]["click_through_rate"], 0.5);
    assert_eq!(top[0]["average_result_count"], json!(heart_total as f64));
    assert_eq!(top.as_array().map(Vec::len), Some(3));
    assert_eq!(report["zero_result_queries"], json!([{"query": "zzzzzz", "count": 1}]));

    let (status, recent) = server.get("/v1/indexes/shop/analytics?days=30&limit=1", None).await.parts();
    assert_eq!(status, StatusCode::OK, "{recent}");
    assert_eq!(recent["days"], 30);
    assert_eq!(recent["total_searches"], 4);
    // The purchase was sent with a January 2020 timestamp: outside the last 30 days' events.
    assert_eq!(recent["events"]["purchase"], 0);
    assert_eq!(recent["top_queries"].as_array().map(Vec::len), Some(1));

    for uri in [
        "/v1/indexes/shop/analytics?days=0",
        "/v1/indexes/shop/analytics?limit=lots",
        "/v1/indexes/shop/analytics?limit=0",
        "/v1/indexes/shop/analytics?colour=red",
    ] {
        let (status, body) = server.get(uri, None).await.parts();
        assert_eq!((status, error_code(&body)), (StatusCode::BAD_REQUEST, "invalid_parameter"), "{uri}");
    }
    let (status, body) = server.get("/v1/indexes/nope/analytics", None).await.parts();
    assert_eq!((status, error_code(&body)), (StatusCode::NOT_FOUND, "index_not_found"));

    // Deleting the index deletes its analytics: a new index of the same name starts empty.
    let (status, _) = server.send(Method::DELETE, "/v1/indexes/shop", None, None).await.parts();
    assert_eq!(status, StatusCode::NO_CONTENT);
    server.upsert_products(None).await;
    let (_, report) = server.get("/v1/indexes/shop/analytics", None).await.parts();
    assert_eq!(report["total_searches"], 0);
    assert_eq!(report["events"]["click"], 0);
}

#[tokio::test]
async fn bad_events_are_refused_with_stable_codes() {
    let server = Server::with_analytics(ApiKeys::default()).await;
    server.upsert_products(None).await;

    let (status, body) = server
        .post(
            "/v1/indexes/shop/events",
            None,
            &json!([{"type": "click", "product_id": "85123A"}, {"type": "clik", "product_id": "85123A"}]),
        )
        .await
        .parts();
    assert_eq!((status, error_code(&body)), (StatusCode::BAD_REQUEST, "invalid_event"));
    assert!(body["message"].as_str().is_some_and(|message| message.starts_with("event 1: ")), "{body}");

    for bad in [
        json!({"type": "click"}),
        json!({"type": "click", "product_id": ""}),
        json!({"type": "click", "product_id": "85123A", "price": 3}),
        json!({"type": "click", "product_id": "85123A", "query_id": "not-a-uuid"}),
        json!({"type": "click", "product_id": "85123A", "position": -1}),
        json!({"type": "click", "product_id": "85123A", "timestamp": "15/01/2025"}),
        json!({"type": "click", "product_id": "85123A", "user_id": "\u{0007}"}),
        json!(42),
    ] {
        let (status, body) = server.post("/v1/indexes/shop/events", None, &bad).await.parts();
        assert_eq!((status, error_code(&body)), (StatusCode::BAD_REQUEST, "invalid_event"), "{bad}");
    }

    let (status, body) = server.send(Method::POST, "/v1/indexes/shop/events", None, Some("[{")).await.parts();
    assert_eq!((status, error_code(&body)), (StatusCode::BAD_REQUEST, "malformed_payload"));
    let too_many = Value::Array(vec![json!({"type": "view", "product_id": "85123A"}); 1_001]);
    let (status, body) = server.post("/v1/indexes/shop/events", None, &too_many).await.parts();
    assert_eq!((status, error_code(&body)), (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"));
    let (status, body) =
        server.post("/v1/indexes/nope/events", None, &json!({"type": "view", "product_id": "85123A"})).await.parts();
    assert_eq!((status, error_code(&body)), (StatusCode::NOT_FOUND, "index_not_found"));

    // Nothing of the refused requests was recorded.
    let (_, report) = server.get("/v1/indexes/shop/analytics", None).await.parts();
    assert_eq!(report["events"], json!({"view": 0, "click": 0, "add_to_cart": 0, "purchase": 0}));
}

#[tokio::test]
async fn storefronts_send_events_with_the_search_key_and_only_admins_read_analytics() {
    let server = Server::with_analytics(both_keys()).await;
    server.upsert_products(Some(ADMIN)).await;
    let (query_id, _) = server.search("heart", Some(SEARCH)).await;

    let click = json!({"type": "click", "product_id": "85123A", "query_id": query_id});
    let (status, _) = server.post("/v1/indexes/shop/events", None, &click).await.parts();
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, body) = server.post("/v1/indexes/shop/events", Some(SEARCH), &click).await.parts();
    assert_eq!((status, &body), (StatusCode::ACCEPTED, &json!({"recorded": 1, "capped": 0})));

    server.state.analytics.flush().await;
    let (status, body) = server.get("/v1/indexes/shop/analytics", None).await.parts();
    assert_eq!((status, error_code(&body)), (StatusCode::UNAUTHORIZED, "missing_authorization_header"));
    let (status, body) = server.get("/v1/indexes/shop/analytics", Some(SEARCH)).await.parts();
    assert_eq!((status, error_code(&body)), (StatusCode::FORBIDDEN, "forbidden_for_key"));
    let (status, report) = server.get("/v1/indexes/shop/analytics", Some(ADMIN)).await.parts();
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["click_through_rate"], 1.0);

    // The counters are in the metrics.
    let text = server.get("/metrics", Some(ADMIN)).await.text;
    assert!(text.contains("vitrine_analytics_searches_logged_total 1"), "{text}");
    assert!(text.contains("vitrine_analytics_searches_dropped_total 0"), "{text}");
}

#[tokio::test]
async fn autocomplete_offers_popular_queries_that_found_something() {
    let server = Server::with_analytics(ApiKeys::default()).await;
    server.upsert_products(None).await;
    for q in ["heart holder", "Heart Holder", "heart ornament bird", "heartzzz qqq", "heartzzz qqq"] {
        server.search(q, None).await;
    }
    server.state.analytics.flush().await;

    let (status, body) = server.get("/v1/indexes/shop/suggest?q=Hea", None).await.parts();
    assert_eq!(status, StatusCode::OK, "{body}");
    let queries = body["queries"].as_array().expect("queries");
    // Searched twice with results: first. Searched once, or without results: not offered.
    assert_eq!(queries[0], "heart holder", "{body}");
    assert!(!queries.contains(&json!("heart ornament bird")), "{body}");
    assert!(!queries.contains(&json!("heartzzz qqq")), "{body}");
    assert!(queries.contains(&json!("heart")), "the index's completions follow: {body}");

    let (_, body) = server.get("/v1/indexes/shop/suggest?q=heart%20", None).await.parts();
    assert_eq!(body["queries"][0], "heart holder", "{body}");
    let (_, body) = server.get("/v1/indexes/shop/suggest?q=holder", None).await.parts();
    assert!(!body["queries"].as_array().expect("queries").contains(&json!("heart holder")), "{body}");
}
