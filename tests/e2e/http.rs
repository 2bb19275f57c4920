//! The HTTP service through `app()`, without a socket: health, metrics, error bodies, API keys,
//! CORS and the documents endpoints, on a real data directory.

use std::time::Duration;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::json;

use crate::common::{ADMIN, SEARCH, Server, request};

#[tokio::test]
async fn health_reports_liveness_and_readiness() {
    let server = Server::open();
    let answer = server.get("/health", None).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.json()["status"], "available");

    server.state.set_ready(false);
    let answer = server.get("/health", None).await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(answer.json()["ready"], false);
    assert_eq!(server.get("/health/ready", None).await.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(server.get("/health/live", None).await.status, StatusCode::OK);
}

#[tokio::test]
async fn metrics_count_requests_and_latency_per_route_template() {
    let server = Server::open();
    for _ in 0..3 {
        server.get("/health", None).await;
    }
    server.get("/v1/indexes/shop-a", None).await;
    server.get("/v1/indexes/shop-b", None).await;
    server.get("/no/such/route", None).await;

    let answer = server.get("/metrics", None).await;
    assert_eq!(answer.status, StatusCode::OK);
    let text = answer.text;
    assert!(text.contains("vitrine_http_requests_total{method=\"GET\",route=\"/health\",status=\"200\"} 3"), "{text}");
    // Two concrete paths, one route template: label sets stay bounded.
    assert!(
        text.contains("vitrine_http_requests_total{method=\"GET\",route=\"/v1/indexes/{index}\",status=\"404\"} 2"),
        "{text}"
    );
    assert!(text.contains("route=\"unmatched\",status=\"404\"} 1"), "{text}");
    assert!(text.contains("vitrine_http_request_duration_seconds_count{method=\"GET\",route=\"/health\"} 3"), "{text}");
    assert!(text.contains("# TYPE vitrine_http_request_duration_seconds histogram"), "{text}");
}

#[tokio::test]
async fn every_error_has_the_uniform_json_shape_and_a_stable_code() {
    let server = Server::with(|config| config.max_body_bytes = 1024);
    let answer = server.get("/nowhere", None).await;
    assert_eq!((answer.status, answer.error_code()), (StatusCode::NOT_FOUND, "route_not_found".into()));
    assert_eq!(answer.json()["type"], "invalid_request");

    let answer = server.call(request(Method::PUT, "/health", None, None)).await;
    assert_eq!((answer.status, answer.error_code()), (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed".into()));

    let answer = server.call(request(Method::POST, "/v1/indexes/shop/documents", None, Some("[{\"id\": 1,"))).await;
    assert_eq!((answer.status, answer.error_code()), (StatusCode::BAD_REQUEST, "malformed_payload".into()));

    let answer = server.call(request(Method::POST, "/v1/indexes/shop/documents", None, Some("{\"id\": \"1\"}"))).await;
    assert_eq!((answer.status, answer.error_code()), (StatusCode::BAD_REQUEST, "malformed_payload".into()));

    let no_content_type = Request::post("/v1/indexes/shop/documents").body(Body::from("[]")).expect("request");
    let answer = server.call(no_content_type).await;
    assert_eq!(
        (answer.status, answer.error_code()),
        (StatusCode::UNSUPPORTED_MEDIA_TYPE, "invalid_content_type".into())
    );

    let big = format!("[{}]", vec!["{\"id\":\"1\",\"title\":\"t\"}"; 100].join(","));
    let answer = server.call(request(Method::POST, "/v1/indexes/shop/documents", None, Some(&big))).await;
    assert_eq!((answer.status, answer.error_code()), (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large".into()));

    let answer = server.get("/v1/indexes/not%20valid", None).await;
    assert_eq!((answer.status, answer.error_code()), (StatusCode::BAD_REQUEST, "invalid_index_name".into()));

    let answer = server.get("/v1/indexes/missing", None).await;
    assert_eq!((answer.status, answer.error_code()), (StatusCode::NOT_FOUND, "index_not_found".into()));

    let bad_product =
        "[{\"id\": \"1\", \"title\": \"ok\"}, {\"id\": \"2\", \"title\": \"x\", \"price\": -3, \"currency\": \"GBP\"}]";
    let answer = server.call(request(Method::POST, "/v1/indexes/shop/documents", None, Some(bad_product))).await;
    assert_eq!((answer.status, answer.error_code()), (StatusCode::BAD_REQUEST, "invalid_document".into()));
    assert!(answer.json()["message"].as_str().is_some_and(|m| m.contains("document 1") && m.contains("price")));
    assert_eq!(server.get("/v1/indexes/shop", None).await.status, StatusCode::NOT_FOUND, "nothing half-applied");
}

#[tokio::test]
async fn slow_requests_are_answered_408_in_the_error_shape() {
    let server = Server::with(|config| config.request_timeout = Duration::from_millis(100));
    // A client that starts a body and never finishes it: the handler waits for the body until
    // the timeout answers for it.
    let never_ending = futures_util::stream::pending::<Result<axum::body::Bytes, std::io::Error>>();
    let slow_upload = Request::post("/v1/indexes/shop/documents")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from_stream(never_ending))
        .expect("request");
    let answer = server.call(slow_upload).await;
    assert_eq!((answer.status, answer.error_code()), (StatusCode::REQUEST_TIMEOUT, "request_timeout".into()));
    assert_eq!(answer.json()["type"], "system");
}

#[tokio::test]
async fn documents_are_upserted_and_read_back() {
    let server = Server::open();
    let body = json!([
        {"id": "85123A", "title": "WHITE HANGING HEART T-LIGHT HOLDER", "price": 2.55, "currency": "GBP", "version": 2},
        {"id": "22041", "title": "RECORD FRAME 7\" SINGLE SIZE", "category": "home/frames", "stock": 0}
    ])
    .to_string();
    let answer = server.call(request(Method::POST, "/v1/indexes/shop/documents", None, Some(&body))).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert_eq!(answer.json(), json!({"inserted": 2, "updated": 0, "stale": 0}));

    let stale = json!([{"id": "85123A", "title": "OLD TITLE", "version": 1}]).to_string();
    let answer = server.call(request(Method::POST, "/v1/indexes/shop/documents", None, Some(&stale))).await;
    assert_eq!(answer.json(), json!({"inserted": 0, "updated": 0, "stale": 1}));

    let answer = server.get("/v1/indexes/shop/documents/85123A", None).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.json()["title"], "WHITE HANGING HEART T-LIGHT HOLDER");
    assert_eq!(answer.json()["price"], 2.55);
    let answer = server.get("/v1/indexes/shop/documents/nope", None).await;
    assert_eq!((answer.status, answer.error_code()), (StatusCode::NOT_FOUND, "document_not_found".into()));

    let delete = |id: &str| request(Method::DELETE, &format!("/v1/indexes/shop/documents/{id}"), None, None);
    assert_eq!(server.call(delete("22041")).await.status, StatusCode::NO_CONTENT);
    assert_eq!(server.call(delete("22041")).await.error_code(), "document_not_found");
    assert_eq!(server.get("/v1/indexes/shop/documents/22041", None).await.status, StatusCode::NOT_FOUND);

    let answer = server.get("/v1/indexes", None).await;
    assert_eq!(
        answer.json()["results"][0],
        json!({"name": "shop", "products": 1, "interaction_parts": 0, "display": {"facet_labels": {}}})
    );
    assert_eq!(
        server.call(request(Method::DELETE, "/v1/indexes/shop", None, None)).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(server.get("/v1/indexes", None).await.json()["total"], 0);
}

#[tokio::test]
async fn api_keys_separate_shoppers_from_admins() {
    let server = Server::keyed();
    let body = json!([{"id": "1", "title": "Mug"}]).to_string();
    let upsert = |key: Option<&'static str>| request(Method::POST, "/v1/indexes/shop/documents", key, Some(&body));

    // Health stays open for load balancers.
    assert_eq!(server.get("/health", None).await.status, StatusCode::OK);

    let answer = server.get("/v1/indexes", None).await;
    assert_eq!((answer.status, answer.error_code()), (StatusCode::UNAUTHORIZED, "missing_authorization_header".into()));
    assert_eq!(answer.json()["type"], "auth");
    let answer = server.get("/v1/indexes", Some("wrong")).await;
    assert_eq!((answer.status, answer.error_code()), (StatusCode::FORBIDDEN, "invalid_api_key".into()));

    // The search key reads; it cannot write or see metrics.
    assert_eq!(server.get("/v1/indexes", Some(SEARCH)).await.status, StatusCode::OK);
    let answer = server.call(upsert(Some(SEARCH))).await;
    assert_eq!((answer.status, answer.error_code()), (StatusCode::FORBIDDEN, "forbidden_for_key".into()));
    let answer = server.get("/metrics", Some(SEARCH)).await;
    assert_eq!((answer.status, answer.error_code()), (StatusCode::FORBIDDEN, "forbidden_for_key".into()));
    let answer = server.call(request(Method::DELETE, "/v1/indexes/shop", Some(SEARCH), None)).await;
    assert_eq!(answer.error_code(), "forbidden_for_key");

    let search = json!({"q": "mug"}).to_string();
    let answer = server.call(request(Method::POST, "/v1/indexes/shop/search", Some(SEARCH), Some(&search))).await;
    assert_eq!(answer.error_code(), "index_not_found", "the search key may search");
    let settings = request(Method::PUT, "/v1/indexes/shop/settings", Some(SEARCH), Some("{}"));
    assert_eq!(server.call(settings).await.error_code(), "forbidden_for_key");

    // The admin key does everything.
    assert_eq!(server.call(upsert(Some(ADMIN))).await.status, StatusCode::OK);
    assert_eq!(server.get("/v1/indexes/shop/documents/1", Some(SEARCH)).await.status, StatusCode::OK);
    assert_eq!(server.get("/metrics", Some(ADMIN)).await.status, StatusCode::OK);
}

#[tokio::test]
async fn cors_admits_only_the_configured_storefront_origins() {
    let server = Server::with(|config| config.cors_origins = vec!["https://shop.example".into()]);
    let preflight = |origin: &str| {
        Request::builder()
            .method(Method::OPTIONS)
            .uri("/v1/indexes")
            .header(header::ORIGIN, origin)
            .header(header::ACCESS_CONTROL_REQUEST_METHOD, "GET")
            .header(header::ACCESS_CONTROL_REQUEST_HEADERS, "authorization")
            .body(Body::empty())
            .expect("request")
    };
    let allowed = server.call(preflight("https://shop.example")).await;
    assert_eq!(
        allowed.headers.get(header::ACCESS_CONTROL_ALLOW_ORIGIN).and_then(|v| v.to_str().ok()),
        Some("https://shop.example")
    );
    let refused = server.call(preflight("https://evil.example")).await;
    assert!(refused.headers.get(header::ACCESS_CONTROL_ALLOW_ORIGIN).is_none());

    let no_cors = Server::open();
    let answer = no_cors.call(preflight("https://shop.example")).await;
    assert!(answer.headers.get(header::ACCESS_CONTROL_ALLOW_ORIGIN).is_none(), "no origins configured: no CORS");
}

#[tokio::test]
async fn the_plugin_and_the_storefront_are_served_and_a_storefront_elsewhere_may_check_out() {
    let server = Server::with(|config| config.cors_origins = vec!["https://shop.example".into()]);
    let script = server.get("/plugin/vitrine.js", None).await;
    assert_eq!(script.status, StatusCode::OK);
    assert!(
        script
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/javascript")),
        "{:?}",
        script.headers
    );
    for element in ["vitrine-search", "vitrine-results", "vitrine-recommendations", "vitrine-cart"] {
        assert!(script.text.contains(&format!("define(\"{element}\"")), "{element} is registered");
    }
    let page = server.get("/", None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.text.contains("/plugin/vitrine.js") && page.text.contains("<vitrine-results"),
        "built from the plug-in"
    );

    // The cart and checkout headers pass a preflight from the storefront's origin.
    let preflight = Request::builder()
        .method(Method::OPTIONS)
        .uri("/v1/checkout")
        .header(header::ORIGIN, "https://shop.example")
        .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
        .header(header::ACCESS_CONTROL_REQUEST_HEADERS, "content-type,idempotency-key,x-cart-token")
        .body(Body::empty())
        .expect("request");
    let answer = server.call(preflight).await;
    let allowed =
        answer.headers.get(header::ACCESS_CONTROL_ALLOW_HEADERS).and_then(|v| v.to_str().ok()).unwrap_or_default();
    assert!(allowed.contains("idempotency-key") && allowed.contains("x-cart-token"), "{allowed}");
}

async fn seeded_server() -> Server {
    let server = Server::open();
    let documents = json!([
        {"id": "85123A", "title": "WHITE HANGING HEART T-LIGHT HOLDER", "brand": "Heart & Home", "price": 2.55,
         "currency": "GBP", "category": "home/candles", "popularity": 3315, "attributes": {"colour": "white"}},
        {"id": "21232", "title": "STRAWBERRY CERAMIC TRINKET BOX", "brand": "Berry", "price": 1.25,
         "currency": "GBP", "category": "home/storage", "popularity": 1200, "attributes": {"colour": "red"}},
        {"id": "84879", "title": "ASSORTED COLOUR BIRD ORNAMENT", "brand": "Berry", "price": 1.69,
         "currency": "GBP", "category": "home/decor", "popularity": 2800, "stock": 0}
    ]);
    let answer = server.post("/v1/indexes/shop/documents", None, &documents).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    server
}

#[tokio::test]
async fn search_answers_in_the_documented_shape() {
    let server = seeded_server().await;
    let settings = json!({"facets": {"attributes": ["colour"], "price_buckets": [2.0]}});
    let answer =
        server.call(request(Method::PUT, "/v1/indexes/shop/settings", None, Some(&settings.to_string()))).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert_eq!(server.get("/v1/indexes/shop/settings", None).await.json()["facets"]["attributes"], json!(["colour"]));

    let answer = server
        .post(
            "/v1/indexes/shop/search",
            None,
            &json!({"q": "heart holdr", "facets": ["brand", "colour", "price", "category"], "per_page": 5}),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    let body = answer.json();
    assert_eq!(body["total"], 1);
    let hit = &body["hits"][0];
    assert_eq!(hit["id"], "85123A");
    assert!(hit["score"].is_number() && hit["highlight"].is_object());
    assert_eq!(hit["document"]["title"], "WHITE HANGING HEART T-LIGHT HOLDER");
    assert_eq!(body["facets"]["brand"], json!({"Heart & Home": 1}));
    assert_eq!(body["facets"]["colour"], json!({"white": 1}));
    assert_eq!(body["facet_stats"]["price"]["min"], 2.55);
    assert!(body["took_ms"].is_number());
    assert!(body["query_id"].as_str().is_some_and(|id| id.len() == 36));

    let answer = server.get("/v1/indexes/shop/suggest?q=ceramic%20trin&limit=3", None).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert_eq!(answer.json()["queries"], json!(["ceramic trinket"]));
    assert_eq!(answer.json()["products"][0]["id"], "21232");
    let answer = server.get("/v1/indexes/shop/suggest?q=x&limit=500", None).await;
    assert_eq!((answer.status, answer.error_code()), (StatusCode::BAD_REQUEST, "invalid_pagination".into()));
    let answer = server.get("/v1/indexes/shop/suggest?q=x&limit=many", None).await;
    assert_eq!((answer.status, answer.error_code()), (StatusCode::BAD_REQUEST, "invalid_parameter".into()));

    let browse = server.post("/v1/indexes/shop/search", None, &json!({"q": ""})).await.json();
    let ids: Vec<_> = browse["hits"].as_array().expect("hits").iter().map(|hit| hit["id"].clone()).collect();
    assert_eq!(ids, [json!("85123A"), json!("84879"), json!("21232")], "an empty query browses by popularity");
}

#[tokio::test]
async fn bad_searches_get_stable_codes_never_a_500() {
    let server = seeded_server().await;
    let long_query = "x".repeat(10_000);
    let cases = [
        ("/v1/indexes/nope/search", json!({"q": "mug"}), StatusCode::NOT_FOUND, "index_not_found"),
        (
            "/v1/indexes/shop/search",
            json!({"q": "mug", "filter": {"size": "M"}}),
            StatusCode::BAD_REQUEST,
            "unknown_field",
        ),
        ("/v1/indexes/shop/search", json!({"q": "", "facets": ["size"]}), StatusCode::BAD_REQUEST, "unknown_field"),
        (
            "/v1/indexes/shop/search",
            json!({"q": "mug", "filter": {"price": {"gte": "cheap"}}}),
            StatusCode::BAD_REQUEST,
            "invalid_filter",
        ),
        ("/v1/indexes/shop/search", json!({"q": "mug", "filter": 3}), StatusCode::BAD_REQUEST, "invalid_filter"),
        ("/v1/indexes/shop/search", json!({"q": "mug", "page": 0}), StatusCode::BAD_REQUEST, "invalid_pagination"),
        ("/v1/indexes/shop/search", json!({"q": "mug", "page": 99999}), StatusCode::BAD_REQUEST, "invalid_pagination"),
        ("/v1/indexes/shop/search", json!({"q": "mug", "sort": "best"}), StatusCode::BAD_REQUEST, "invalid_sort"),
        ("/v1/indexes/shop/search", json!({"q": long_query}), StatusCode::BAD_REQUEST, "query_too_long"),
        ("/v1/indexes/shop/search", json!({"query": "mug"}), StatusCode::BAD_REQUEST, "malformed_payload"),
        ("/v1/indexes/shop/search", json!({"q": 42}), StatusCode::BAD_REQUEST, "malformed_payload"),
    ];
    for (uri, body, status, code) in cases {
        let answer = server.post(uri, None, &body).await;
        assert_eq!((answer.status, answer.error_code()), (status, code.to_owned()), "{body}");
    }
    for q in ["ünïcödé", "日本語の検索", "🙂", "\u{0}", "\"'; DROP TABLE", "*", "a AND OR NOT (", "-"] {
        let answer = server.post("/v1/indexes/shop/search", None, &json!({"q": q})).await;
        assert_eq!(answer.status, StatusCode::OK, "{q:?}: {}", answer.text);
    }

    let bad_settings = json!({"facets": {"price_buckets": [10, 5]}});
    let answer =
        server.call(request(Method::PUT, "/v1/indexes/shop/settings", None, Some(&bad_settings.to_string()))).await;
    assert_eq!((answer.status, answer.error_code()), (StatusCode::BAD_REQUEST, "invalid_settings".into()));
    let lonely_synonym = json!({"synonyms": [{"type": "multi_way", "terms": ["tv"]}]});
    let answer =
        server.call(request(Method::PUT, "/v1/indexes/shop/settings", None, Some(&lonely_synonym.to_string()))).await;
    assert_eq!((answer.status, answer.error_code()), (StatusCode::BAD_REQUEST, "invalid_settings".into()));
    let unknown_key = json!({"typos": {}});
    let answer =
        server.call(request(Method::PUT, "/v1/indexes/shop/settings", None, Some(&unknown_key.to_string()))).await;
    assert_eq!((answer.status, answer.error_code()), (StatusCode::BAD_REQUEST, "invalid_settings".into()));
}
