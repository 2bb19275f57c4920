//! Settings sub-resources, merchandising rules and the documents formats, through `app()`.

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::common::{ADMIN, SEARCH, Server, request_as};

const LINES: &str = r#"{"id": "fan-desk", "title": "Desk fan", "brand": "Breeze", "price": 20.0, "currency": "GBP", "popularity": 50}
{"id": "fan-mini", "title": "Mini USB fan", "brand": "Tiny", "price": 8.0, "currency": "GBP", "popularity": 10}

{"id": "heater", "title": "Oil heater", "brand": "Warm", "price": 45.0, "currency": "GBP", "popularity": 40}
"#;

async fn shop() -> Server {
    let server = Server::keyed();
    let upload = request_as(
        Method::POST,
        "/v1/indexes/shop/documents",
        Some(ADMIN),
        Some(("application/x-ndjson", LINES.to_owned())),
    );
    let answer = server.call(upload).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert_eq!(answer.json()["inserted"], 3);
    server
}

#[tokio::test]
async fn documents_arrive_as_json_lines_or_csv_and_bad_lines_are_named() {
    let server = shop().await;
    let csv = "id,title,brand,price,currency\nlamp,Desk lamp,Glow,12.5,GBP\n";
    let answer = server
        .call(request_as(Method::POST, "/v1/indexes/shop/documents", Some(ADMIN), Some(("text/csv", csv.to_owned()))))
        .await;
    assert_eq!((answer.status, answer.json()["inserted"].clone()), (StatusCode::OK, json!(1)));
    assert_eq!(server.get("/v1/indexes/shop/documents/lamp", Some(SEARCH)).await.json()["brand"], "Glow");

    let bad = "{\"id\": \"ok\", \"title\": \"Fine\"}\n{\"id\": \"\", \"title\": \"No id\"}\n";
    let answer = server
        .call(request_as(
            Method::POST,
            "/v1/indexes/shop/documents",
            Some(ADMIN),
            Some(("application/x-ndjson", bad.to_owned())),
        ))
        .await;
    assert_eq!((answer.status, answer.error_code()), (StatusCode::BAD_REQUEST, "invalid_document".into()));
    assert!(answer.json()["message"].as_str().is_some_and(|m| m.starts_with("line 2:")), "{}", answer.text);
    assert_eq!(server.get("/v1/indexes/shop/documents/ok", Some(SEARCH)).await.status, StatusCode::NOT_FOUND);

    let answer = server
        .call(request_as(Method::POST, "/v1/indexes/shop/documents", Some(ADMIN), Some(("text/plain", "x".to_owned()))))
        .await;
    assert_eq!(
        (answer.status, answer.error_code()),
        (StatusCode::UNSUPPORTED_MEDIA_TYPE, "invalid_content_type".into())
    );
}

#[tokio::test]
async fn each_settings_part_is_read_replaced_and_reset_alone() {
    let server = shop().await;
    let synonyms = json!([{"type": "multi_way", "terms": ["fan", "ventilator"]}]);
    let answer = server.put("/v1/indexes/shop/settings/synonyms", Some(ADMIN), &synonyms).await;
    assert_eq!((answer.status, answer.json()), (StatusCode::OK, synonyms.clone()));
    let answer = server.put("/v1/indexes/shop/settings/facets", Some(ADMIN), &json!({"price_buckets": [10]})).await;
    assert_eq!(answer.json()["price_buckets"], json!([10.0]));
    let whole = server.get("/v1/indexes/shop/settings", Some(ADMIN)).await.json();
    assert_eq!(whole["synonyms"], synonyms, "replacing `facets` kept `synonyms`");
    let found = server.post("/v1/indexes/shop/search", Some(SEARCH), &json!({"q": "ventilator"})).await.json();
    assert_eq!(found["total"], 2, "the synonym applies at once: {found}");

    for part in ["typo_tolerance", "ranking", "facets", "synonyms", "rules", "variants"] {
        let answer = server.get(&format!("/v1/indexes/shop/settings/{part}"), Some(ADMIN)).await;
        assert_eq!(answer.status, StatusCode::OK, "{part}: {}", answer.text);
    }
    let answer = server.send(Method::DELETE, "/v1/indexes/shop/settings/synonyms", Some(ADMIN), None).await;
    assert_eq!(answer.json(), json!([]));
    assert_eq!(
        server.get("/v1/indexes/shop/settings/facets", Some(ADMIN)).await.json()["price_buckets"],
        json!([10.0])
    );
    let answer = server.send(Method::DELETE, "/v1/indexes/shop/settings", Some(ADMIN), None).await;
    assert_eq!(answer.json()["facets"]["price_buckets"].as_array().map(Vec::len), Some(9), "defaults again");

    let answer = server.get("/v1/indexes/shop/settings/colours", Some(ADMIN)).await;
    assert_eq!((answer.status, answer.error_code()), (StatusCode::NOT_FOUND, "route_not_found".into()));
    let answer = server.put("/v1/indexes/shop/settings/ranking", Some(ADMIN), &json!({"titel": 3})).await;
    assert_eq!((answer.status, answer.error_code()), (StatusCode::BAD_REQUEST, "invalid_settings".into()));
    let answer = server.put("/v1/indexes/shop/settings/rules", Some(SEARCH), &json!([])).await;
    assert_eq!(answer.error_code(), "forbidden_for_key");
    let answer = server.get("/v1/indexes/nope/settings/rules", Some(ADMIN)).await;
    assert_eq!(answer.error_code(), "index_not_found");
}

#[tokio::test]
async fn rules_set_over_http_shape_the_next_search() {
    let server = shop().await;
    let rules = json!([{"id": "winter", "condition": {"query": "fan", "match": "contains"},
                        "pin": [{"id": "heater", "position": 1}], "hide": ["fan-mini"]}]);
    let answer = server.put("/v1/indexes/shop/settings/rules", Some(ADMIN), &rules).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    let saved = answer.json();
    assert_eq!((saved[0]["enabled"].clone(), saved[0]["pin"].clone()), (json!(true), rules[0]["pin"].clone()));
    let found = server.post("/v1/indexes/shop/search", Some(SEARCH), &json!({"q": "fan"})).await.json();
    let ids: Vec<&str> = found["hits"].as_array().expect("hits").iter().filter_map(|hit| hit["id"].as_str()).collect();
    assert_eq!(ids, ["heater", "fan-desk"]);
    assert_eq!(found["hits"][0]["pinned"], true);
    assert_eq!(found["applied_rules"], json!(["winter"]));

    let unknown_field = json!([{"id": "bad", "boost": [{"filter": {"colour": ["red"]}}]}]);
    let answer = server.put("/v1/indexes/shop/settings/rules", Some(ADMIN), &unknown_field).await;
    assert_eq!((answer.status, answer.error_code()), (StatusCode::BAD_REQUEST, "invalid_settings".into()));
    assert!(answer.text.contains("rule `bad`"), "{}", answer.text);
    let clash = json!([{"id": "x", "pin": [{"id": "a", "position": 1}, {"id": "b", "position": 1}]}]);
    let answer = server.put("/v1/indexes/shop/settings/rules", Some(ADMIN), &clash).await;
    assert_eq!(answer.error_code(), "invalid_settings");
    assert_eq!(
        server.get("/v1/indexes/shop/settings/rules", Some(ADMIN)).await.json(),
        saved,
        "refusals change nothing"
    );
}

#[tokio::test]
async fn every_settings_change_is_a_version_with_its_author_and_an_old_one_can_be_restored() {
    let server = shop().await;
    let as_alice = |method: Method, uri: &str, body: &serde_json::Value| {
        let mut request = request_as(method, uri, Some(ADMIN), Some(("application/json", body.to_string())));
        request.headers_mut().insert("x-vitrine-actor", "Alice".parse().expect("value"));
        request
    };
    let fans = json!([{"type": "multi_way", "terms": ["fan", "ventilator"]}]);
    assert_eq!(
        server.call(as_alice(Method::PUT, "/v1/indexes/shop/settings/synonyms", &fans)).await.status,
        StatusCode::OK
    );
    let typos = json!({"enabled": false});
    assert_eq!(
        server.put("/v1/indexes/shop/settings/typo_tolerance", Some(ADMIN), &typos).await.status,
        StatusCode::OK
    );

    let history = server.get("/v1/indexes/shop/settings/history", Some(ADMIN)).await.json();
    let versions = history.as_array().expect("a list");
    assert_eq!(versions.len(), 3, "the settings before the first change, then each change: {history}");
    assert_eq!(
        (versions[0]["version"].as_u64(), versions[0]["actor"].as_str()),
        (Some(3), Some("admin")),
        "newest first"
    );
    assert_eq!(versions[0]["changed"], json!(["typo_tolerance"]));
    assert_eq!((versions[1]["actor"].as_str(), versions[1]["changed"].clone()), (Some("Alice"), json!(["synonyms"])));
    assert_eq!((versions[2]["version"].as_u64(), versions[2]["actor"].as_str()), (Some(1), Some("vitrine")));
    assert_eq!((versions[2]["changed"].clone(), versions[2]["settings"]["synonyms"].clone()), (json!([]), json!([])));

    // Roll back to version 2: typos are tolerated again, the synonym stays; recorded as version 4.
    let restored = server.call(as_alice(Method::POST, "/v1/indexes/shop/settings/history/2/restore", &json!({}))).await;
    assert_eq!(restored.status, StatusCode::OK, "{}", restored.text);
    assert_eq!(restored.json()["typo_tolerance"]["enabled"], true);
    let history = server.get("/v1/indexes/shop/settings/history", Some(ADMIN)).await.json();
    assert_eq!((history[0]["version"].as_u64(), history[0]["restored_from"].as_u64()), (Some(4), Some(2)), "{history}");
    let found = server.post("/v1/indexes/shop/search", Some(SEARCH), &json!({"q": "heatr"})).await.json();
    assert_eq!(found["total"], 1, "typo tolerance is back: {found}");
    let found = server.post("/v1/indexes/shop/search", Some(SEARCH), &json!({"q": "ventilator"})).await.json();
    assert_eq!(found["total"], 2, "the synonym is kept: {found}");
    // And to version 1, the settings before any recorded change: the synonym goes too.
    let restored = server.call(as_alice(Method::POST, "/v1/indexes/shop/settings/history/1/restore", &json!({}))).await;
    assert_eq!(restored.json()["synonyms"], json!([]), "{}", restored.text);
    let found = server.post("/v1/indexes/shop/search", Some(SEARCH), &json!({"q": "ventilator"})).await.json();
    assert_eq!(found["total"], 0, "the first change is rolled back: {found}");

    let missing = server.call(as_alice(Method::POST, "/v1/indexes/shop/settings/history/99/restore", &json!({}))).await;
    assert_eq!((missing.status, missing.error_code().as_str()), (StatusCode::NOT_FOUND, "settings_version_not_found"));
    let forbidden = server.get("/v1/indexes/shop/settings/history", Some(SEARCH)).await;
    assert_eq!(forbidden.error_code(), "forbidden_for_key");
}

#[tokio::test]
async fn a_draft_is_previewed_beside_the_live_settings_and_nothing_is_saved() {
    let server = shop().await;
    let draft = json!({"synonyms": [{"type": "one_way", "input": "ventilator", "synonyms": ["fan"]}]});
    let answer = server
        .post("/v1/indexes/shop/settings/preview", Some(ADMIN), &json!({"q": "ventilator", "draft": draft}))
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    let preview = answer.json();
    assert_eq!(preview["live"]["total"], 0, "{preview}");
    assert_eq!(preview["draft"]["total"], 2, "{preview}");
    let ids: Vec<&str> =
        preview["draft"]["hits"].as_array().expect("hits").iter().filter_map(|hit| hit["id"].as_str()).collect();
    assert!(ids.contains(&"fan-desk") && ids.contains(&"fan-mini"), "{ids:?}");

    // Nothing was saved: the live search, the settings and their history are as before.
    let found = server.post("/v1/indexes/shop/search", Some(SEARCH), &json!({"q": "ventilator"})).await.json();
    assert_eq!(found["total"], 0);
    assert_eq!(server.get("/v1/indexes/shop/settings/history", Some(ADMIN)).await.json(), json!([]));

    let bad = json!({"q": "fan", "draft": {"colours": []}});
    let answer = server.post("/v1/indexes/shop/settings/preview", Some(ADMIN), &bad).await;
    assert_eq!((answer.status, answer.error_code()), (StatusCode::BAD_REQUEST, "invalid_settings".into()));
    let bad = json!({"q": "fan", "draft": {"rules": [{"id": "r", "boost": [{"filter": {"colour": ["red"]}}]}]}});
    let answer = server.post("/v1/indexes/shop/settings/preview", Some(ADMIN), &bad).await;
    assert_eq!(answer.error_code(), "invalid_settings", "a rule filter on an unknown field: {}", answer.text);
    let answer = server.post("/v1/indexes/shop/settings/preview", Some(SEARCH), &json!({"q": "fan"})).await;
    assert_eq!(answer.error_code(), "forbidden_for_key");
    let answer = server.post("/v1/indexes/nowhere/settings/preview", Some(ADMIN), &json!({"q": "fan"})).await;
    assert_eq!(answer.error_code(), "index_not_found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_draft_is_evaluated_on_uploaded_judgments_with_a_paired_test() {
    let server = shop().await;
    let judgments = "query_id,query,product_id,relevance\n\
        1,ventilator,fan-desk,3\n\
        1,ventilator,fan-mini,3\n\
        2,heater,heater,3\n\
        3,lamp,no-such-product,3\n";
    let draft = json!({"synonyms": [{"type": "multi_way", "terms": ["fan", "ventilator"]}]});
    let body = json!({"draft": draft, "judgments": judgments, "typos": true});
    let answer = server.post("/v1/indexes/shop/settings/evaluate", Some(ADMIN), &body).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    let evaluation = answer.json();
    assert_eq!((evaluation["queries"].as_u64(), evaluation["unknown_judgments"].as_u64()), (Some(2), Some(1)));
    let rows = evaluation["comparison"].as_array().expect("rows");
    assert_eq!(rows.len(), 8, "four metrics, as typed and with one typo: {evaluation}");
    let ndcg = &rows[0];
    assert_eq!(ndcg["metric"], "NDCG@10, as typed");
    // `ventilator` finds nothing live and both fans with the draft; `heater` is found by both.
    assert_eq!((ndcg["live"].as_f64(), ndcg["draft"].as_f64()), (Some(0.5), Some(1.0)), "{ndcg}");
    assert_eq!(ndcg["queries"], 2);
    let p_value = ndcg["p_value"].as_f64().expect("a p-value");
    assert!(p_value > 0.0 && p_value <= 1.0, "{p_value}");
    let changed = &evaluation["per_query"][0];
    assert_eq!((changed["id"].as_str(), changed["live_ndcg"].as_f64()), (Some("1"), Some(0.0)), "{evaluation}");
    assert_eq!(changed["draft_ndcg"].as_f64(), Some(1.0));
    assert_eq!(server.get("/v1/indexes/shop/settings/history", Some(ADMIN)).await.json(), json!([]), "nothing saved");

    let bad = json!({"draft": {}, "judgments": "query,product\nfan,fan-desk\n"});
    let answer = server.post("/v1/indexes/shop/settings/evaluate", Some(ADMIN), &bad).await;
    assert_eq!((answer.status, answer.error_code()), (StatusCode::BAD_REQUEST, "invalid_judgments".into()));
    assert!(
        answer.json()["message"]
            .as_str()
            .is_some_and(|message| message.contains("query_id,query,product_id,relevance")),
        "the generic header is named: {}",
        answer.text
    );
    let none_known = json!({"judgments": "query_id,query,product_id,relevance\n1,lamp,nope,3\n"});
    let answer = server.post("/v1/indexes/shop/settings/evaluate", Some(ADMIN), &none_known).await;
    assert_eq!(answer.error_code(), "invalid_judgments", "{}", answer.text);
    assert!(answer.text.contains("no judged query names a product of `shop`"), "{}", answer.text);
}

#[tokio::test]
async fn the_console_page_and_its_script_are_served() {
    let server = shop().await;
    let page = server.get("/console", None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text.contains("/console/console.js"), "the page loads its script");
    let script = server.get("/console/console.js", None).await;
    assert_eq!(script.status, StatusCode::OK);
    assert!(script.text.contains("/settings/preview"), "the script calls the preview endpoint");
}

#[tokio::test]
async fn a_default_currency_prices_documents_sent_without_one() {
    let server = shop().await;
    let lines = "{\"id\": \"kettle\", \"title\": \"Kettle\", \"price\": 12.5}\n";
    let send = |lines: &str| {
        request_as(
            Method::POST,
            "/v1/indexes/shop/documents",
            Some(ADMIN),
            Some(("application/x-ndjson", lines.into())),
        )
    };
    let refused = server.call(send(lines)).await;
    assert_eq!((refused.status, refused.error_code()), (StatusCode::BAD_REQUEST, "invalid_document".to_owned()));
    assert!(refused.text.contains("default_currency"), "{}", refused.text);

    let answer = server.put("/v1/indexes/shop/settings/default_currency", Some(ADMIN), &json!("eur")).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    let answer = server.put("/v1/indexes/shop/settings/default_currency", Some(ADMIN), &json!("ZZZ")).await;
    assert_eq!(answer.error_code(), "invalid_settings", "{}", answer.text);

    let answer = server.call(send(lines)).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    let kettle = server.get("/v1/indexes/shop/documents/kettle", Some(SEARCH)).await.json();
    assert_eq!((kettle["price"].clone(), kettle["currency"].clone()), (json!(12.5), json!("EUR")));
    // A JSON array too; a currency sent with the price stays the product's own.
    let array = json!([{"id": "mug", "title": "Mug", "price": 3}, {"id": "cup", "title": "Cup", "price": 2, "currency": "GBP"}]);
    assert_eq!(server.post("/v1/indexes/shop/documents", Some(ADMIN), &array).await.status, StatusCode::OK);
    assert_eq!(server.get("/v1/indexes/shop/documents/mug", Some(SEARCH)).await.json()["currency"], "EUR");
    assert_eq!(server.get("/v1/indexes/shop/documents/cup", Some(SEARCH)).await.json()["currency"], "GBP");
}

#[tokio::test]
async fn the_search_key_reads_an_index_display_and_searches_facet_values() {
    let server = shop().await;
    let display =
        json!({"title": "Fans and heaters", "search_placeholder": "Search fans", "facet_labels": {"brand": "Maker"}});
    let answer = server.put("/v1/indexes/shop/settings/display", Some(ADMIN), &display).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    let index = server.get("/v1/indexes/shop", Some(SEARCH)).await;
    assert_eq!((index.status, index.json()["display"].clone()), (StatusCode::OK, display));

    // POST and GET, a typo in the typed text, counts under the query.
    let body = json!({"q": "breez", "query": "fan"});
    let posted = server.post("/v1/indexes/shop/facets/brand/values", Some(SEARCH), &body).await;
    assert_eq!(posted.status, StatusCode::OK, "{}", posted.text);
    assert_eq!(posted.json()["values"], json!([{"value": "Breeze", "count": 1}]));
    let got = server.get("/v1/indexes/shop/facets/brand/values?q=brese&query=fan", Some(SEARCH)).await;
    assert_eq!(got.json()["values"], posted.json()["values"], "{}", got.text);
    // The filter as JSON text; the brand's own filter does not narrow its values (disjunctive).
    let filter = "%7B%22brand%22%3A%5B%22Tiny%22%5D%7D"; // {"brand":["Tiny"]}
    let got = server.get(&format!("/v1/indexes/shop/facets/brand/values?filter={filter}"), Some(SEARCH)).await;
    assert_eq!(got.json()["values"].as_array().map(Vec::len), Some(3), "{}", got.text);

    let bad = server.get("/v1/indexes/shop/facets/brand/values?filter=%7Bnot", Some(SEARCH)).await;
    assert_eq!((bad.status, bad.error_code()), (StatusCode::BAD_REQUEST, "invalid_filter".to_owned()));
    let bad = server.post("/v1/indexes/shop/facets/price/values", Some(SEARCH), &json!({"q": "1"})).await;
    assert_eq!(bad.error_code(), "facet_not_searchable");
    let bad = server.post("/v1/indexes/shop/facets/brand/values", Some(SEARCH), &json!({"qq": "1"})).await;
    assert_eq!(bad.error_code(), "malformed_payload");
    let missing = server.post("/v1/indexes/nowhere/facets/brand/values", Some(SEARCH), &json!({})).await;
    assert_eq!(missing.error_code(), "index_not_found");
}

#[tokio::test]
async fn a_settings_version_that_is_not_a_number_is_named_in_the_refusal() {
    let server = shop().await;
    let answer = server.post("/v1/indexes/shop/settings/history/abc/restore", Some(ADMIN), &json!({})).await;
    assert_eq!((answer.status, answer.error_code()), (StatusCode::BAD_REQUEST, "invalid_parameter".to_owned()));
    assert!(answer.json()["message"].as_str().is_some_and(|message| message.contains("abc")), "{}", answer.text);
}
