//! Recommendations end to end: products and shoppers' events go in over HTTP, `train_index`
//! (what `vitrine train` runs) trains every model from the interaction log the events endpoint
//! fed, and `POST /v1/indexes/{index}/recommendations` answers each kind from the trained
//! version, with filters, versions and rollback.

use axum::http::StatusCode;
use indicatif::{MultiProgress, ProgressDrawTarget};
use serde_json::{Value, json};
use vitrine::config::ApiKeys;
use vitrine_models::IndexName;
use vitrine_pipelines::TrainParams;

use crate::common::Server;

/// Three families of products; shoppers of a family buy its products together.
fn products() -> Value {
    let mut products = Vec::new();
    let families = [
        (
            "candle",
            "home/candles",
            ["vanilla scented candle", "rose scented candle", "tea light candle holder", "candle wick trimmer"],
        ),
        (
            "mug",
            "kitchen/mugs",
            ["ceramic coffee mug", "enamel camping mug", "travel mug with lid", "espresso cup and saucer"],
        ),
        (
            "card",
            "paper/cards",
            ["birthday greeting card", "christmas greeting card", "thank you card pack", "gift wrap paper roll"],
        ),
    ];
    for (family, category, titles) in families {
        for (number, title) in titles.iter().enumerate() {
            products.push(json!({
                "id": format!("{family}-{number}"), "title": title, "category": category,
                "price": 2.5, "currency": "GBP", "stock": 10
            }));
        }
    }
    // Bought with the candles, but sold out.
    products.push(json!({"id": "candle-sold-out", "title": "soy scented candle", "category": "home/candles",
        "price": 4.0, "currency": "GBP", "stock": 0}));
    Value::Array(products)
}

/// Purchases: user `u-{family}-{n}` buys products 0, 1 and 2 (and the sold-out candle) of their
/// family on one day; the `-3` products are bought by a few only.
fn events() -> Value {
    let mut events = Vec::new();
    for family in ["candle", "mug", "card"] {
        for shopper in 0..6 {
            let user = format!("u-{family}-{shopper}");
            let mut bought = vec![format!("{family}-0"), format!("{family}-1"), format!("{family}-2")];
            if shopper < 2 {
                bought.push(format!("{family}-3"));
            }
            if family == "candle" {
                bought.push("candle-sold-out".to_owned());
            }
            for product in bought {
                events.push(json!({"type": "purchase", "product_id": product, "user_id": user,
                    "timestamp": "2026-11-01T10:00:00Z"}));
            }
        }
    }
    Value::Array(events)
}

fn params() -> TrainParams {
    let mut params = TrainParams::recommended();
    params.min_interactions_for_ials = 1;
    params.ials.factors = 8;
    params.ials.iterations = 10;
    params.content.min_df = 1;
    params.content.max_df = 1.0;
    params.cooc.min_count = 1;
    params
}

async fn trained_shop() -> Server {
    let server = Server::with_analytics(ApiKeys::default()).await;
    let (status, body) = server.post("/v1/indexes/shop/documents", None, &products()).await.parts();
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = server.post("/v1/indexes/shop/events", None, &events()).await.parts();
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    // Interaction-log rows are written within a second; training reads what is written.
    server.state.interactions.flush().await;
    train(&server);
    server
}

fn train(server: &Server) -> String {
    let hidden = MultiProgress::with_draw_target(ProgressDrawTarget::hidden());
    let index = IndexName::new("shop").expect("index name");
    let catalog = &server.state.catalog;
    let products = catalog.products(&index).expect("the catalog");
    vitrine_pipelines::train_index(catalog.data_dir(), &index, &products, &params(), 5, chrono::Utc::now(), &hidden)
        .expect("training")
}

async fn recommend(server: &Server, body: &Value) -> (StatusCode, Value) {
    server.post("/v1/indexes/shop/recommendations", None, body).await.parts()
}

fn ids(body: &Value) -> Vec<String> {
    body["items"]
        .as_array()
        .unwrap_or_else(|| panic!("no items: {body}"))
        .iter()
        .map(|item| item["id"].as_str().expect("id").to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kind_answers_from_the_trained_model() {
    let server = trained_shop().await;

    let (status, body) =
        recommend(&server, &json!({"kind": "bought_together", "product_id": "candle-0", "k": 3})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let together = ids(&body);
    assert_eq!(together.len(), 3, "{body}");
    assert!(together[..2].iter().all(|id| id == "candle-1" || id == "candle-2"), "{body}");
    assert!(!together.contains(&"candle-sold-out".to_owned()), "out of stock is filtered: {body}");
    assert!(body["model_version"].as_str().is_some_and(|version| !version.is_empty()), "{body}");
    assert!(body["took_ms"].as_f64().is_some(), "{body}");
    assert_eq!(body["items"][0]["reason"], "bought_together", "{body}");

    // A shopper who bought three candle products is offered the fourth, never what they have.
    let (status, body) = recommend(&server, &json!({"kind": "for_user", "user_id": "u-candle-4", "k": 2})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let for_user = ids(&body);
    assert_eq!(for_user.first().map(String::as_str), Some("candle-3"), "{body}");
    assert!(!for_user.iter().any(|id| ["candle-0", "candle-1", "candle-2"].contains(&id.as_str())), "{body}");

    // A cart of mugs gets mugs; an unknown shopper gets popular products, not an error.
    let (status, body) = recommend(&server, &json!({"kind": "cart", "product_ids": ["mug-0", "mug-1"], "k": 2})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(ids(&body).iter().all(|id| id.starts_with("mug-")), "{body}");
    assert_eq!(body["items"][0]["reason"], "goes_with_cart", "{body}");
    let (status, body) = recommend(&server, &json!({"kind": "for_user", "user_id": "never-seen", "k": 4})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(ids(&body).len(), 4, "{body}");
    assert_eq!(body["items"][0]["reason"], "popular", "{body}");

    // Similar: the other candles share words with a candle; a category filter keeps to it.
    let (status, body) = recommend(
        &server,
        &json!({"kind": "similar", "product_id": "card-0", "k": 3, "filter": {"category": "paper"}}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let similar = ids(&body);
    assert!(!similar.is_empty() && similar.iter().all(|id| id.starts_with("card-") && id != "card-0"), "{body}");

    let (status, body) = recommend(&server, &json!({"kind": "trending", "k": 5})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(!ids(&body).is_empty(), "{body}");
    assert!(body["items"][0].get("document").is_none(), "documents only when asked: {body}");

    // With `documents`, each item carries its product: a carousel in one request.
    let (status, body) = recommend(&server, &json!({"kind": "trending", "k": 5, "documents": true})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let items = body["items"].as_array().expect("items");
    assert!(!items.is_empty(), "{body}");
    for item in items {
        assert_eq!(item["document"]["id"], item["id"], "{body}");
        assert!(item["document"]["title"].as_str().is_some_and(|title| !title.is_empty()), "{body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_stable_codes() {
    let server = trained_shop().await;
    for (body, status, code) in [
        (json!({"kind": "similar"}), StatusCode::BAD_REQUEST, "invalid_recommendation_request"),
        (json!({"kind": "cart", "product_ids": []}), StatusCode::BAD_REQUEST, "invalid_recommendation_request"),
        (json!({"kind": "sideways"}), StatusCode::BAD_REQUEST, "malformed_payload"),
        (json!({"kind": "trending", "k": 0}), StatusCode::BAD_REQUEST, "invalid_parameter"),
        (json!({"kind": "trending", "filter": {"colour": "red"}}), StatusCode::BAD_REQUEST, "unknown_field"),
    ] {
        let answer = server.post("/v1/indexes/shop/recommendations", None, &body).await;
        assert_eq!((answer.status, answer.error_code().as_str()), (status, code), "{body}: {}", answer.text);
    }
    // An index that exists but was never trained.
    let (status, _) =
        server.post("/v1/indexes/empty/documents", None, &json!([{"id": "x", "title": "x"}])).await.parts();
    assert_eq!(status, StatusCode::OK);
    let answer = server.post("/v1/indexes/empty/recommendations", None, &json!({"kind": "trending"})).await;
    assert_eq!((answer.status, answer.error_code().as_str()), (StatusCode::CONFLICT, "model_not_trained"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_version_is_served_and_the_old_one_can_be_rolled_back_to() {
    let server = trained_shop().await;
    let (_, body) = recommend(&server, &json!({"kind": "trending"})).await;
    let first = body["model_version"].as_str().expect("version").to_owned();

    // Train again; after the next check the new version is swapped in (in the background).
    let second = train(&server);
    assert_ne!(first, second);
    let mut served = String::new();
    for _ in 0..50 {
        let (_, body) = recommend(&server, &json!({"kind": "trending"})).await;
        served = body["model_version"].as_str().expect("version").to_owned();
        if served == second {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(served, second, "the new version is served without a restart");

    let (status, body) = server.get("/v1/indexes/shop/models", None).await.parts();
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["current"], second.as_str());
    assert_eq!(body["versions"].as_array().map(Vec::len), Some(2), "{body}");
    assert_eq!(body["versions"][0]["counts"]["users"], 18, "{body}");
    // Every model was trained, EASE (the main part of the "for you" blend) included.
    for step in ["cooc_seconds", "ease_seconds", "ials_seconds", "content_seconds"] {
        assert!(body["versions"][0]["metrics"][step].is_number(), "{step}: {body}");
    }

    let uri = format!("/v1/indexes/shop/models/{first}/activate");
    let (status, body) = server.post(&uri, None, &json!({})).await.parts();
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, body) = recommend(&server, &json!({"kind": "trending"})).await;
    assert_eq!(body["model_version"], first.as_str(), "rolled back at once");

    let answer = server.post("/v1/indexes/shop/models/nope/activate", None, &json!({})).await;
    assert_eq!((answer.status, answer.error_code().as_str()), (StatusCode::NOT_FOUND, "model_version_not_found"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn personalised_search_reranks_by_the_shoppers_taste_when_turned_on() {
    let server = trained_shop().await;
    let top3 = |body: &Value| -> Vec<String> {
        body["hits"].as_array().expect("hits")[..3]
            .iter()
            .map(|hit| hit["id"].as_str().expect("id").to_owned())
            .collect()
    };
    let browse = json!({"q": "", "user_id": "u-mug-1"});
    let (status, unpersonalised) = server.post("/v1/indexes/shop/search", None, &browse).await.parts();
    assert_eq!(status, StatusCode::OK, "{unpersonalised}");
    assert!(!top3(&unpersonalised).iter().all(|id| id.starts_with("mug-")), "off by default: {unpersonalised}");

    let (status, body) =
        server.put("/v1/indexes/shop/settings/ranking", None, &json!({"personalization": 5.0})).await.parts();
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, personalised) = server.post("/v1/indexes/shop/search", None, &browse).await.parts();
    assert!(top3(&personalised).iter().all(|id| id.starts_with("mug-")), "{personalised}");
    assert_eq!(personalised["total"], unpersonalised["total"]);

    // An unknown shopper, or none, gets the shop's own order.
    let (_, stranger) =
        server.post("/v1/indexes/shop/search", None, &json!({"q": "", "user_id": "nobody"})).await.parts();
    assert_eq!(top3(&stranger), top3(&unpersonalised));
    let answer = server.put("/v1/indexes/shop/settings/ranking", None, &json!({"personalization": -1.0})).await;
    assert_eq!((answer.status, answer.error_code().as_str()), (StatusCode::BAD_REQUEST, "invalid_settings"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn activation_takes_only_versions_of_the_index_and_recommendation_filters_are_bounded() {
    let server = trained_shop().await;
    let (status, body) = server.get("/v1/indexes/shop/models", None).await.parts();
    assert_eq!(status, StatusCode::OK, "{body}");
    let version = body["current"].as_str().expect("a current version").to_owned();
    // Another index, with a model folder and no version of its own.
    let (status, body) =
        server.post("/v1/indexes/other/documents", None, &json!([{"id": "x", "title": "x"}])).await.parts();
    assert_eq!(status, StatusCode::OK, "{body}");
    let data_dir = server.state.catalog.data_dir();
    let other_models = data_dir.models(&IndexName::new("other").expect("name"));
    std::fs::create_dir_all(&other_models).expect("model folder");
    let absolute = data_dir.models(&IndexName::new("shop").expect("name")).join(&version);

    // The shop's version, reached from the other index's folder: relative, encoded twice over,
    // absolute. Each is one path segment once `/` is percent-encoded.
    for id in [
        format!("..%2F..%2Fshop%2Fmodels%2F{version}"),
        format!("%2E%2E%2F%2E%2E%2Fshop%2Fmodels%2F{version}"),
        absolute.display().to_string().replace('/', "%2F"),
        "..".to_owned(),
        "%2E%2E".to_owned(),
    ] {
        let answer = server.post(&format!("/v1/indexes/other/models/{id}/activate"), None, &json!({})).await;
        assert_eq!(
            (answer.status, answer.error_code().as_str()),
            (StatusCode::NOT_FOUND, "model_version_not_found"),
            "{id}: {}",
            answer.text
        );
    }
    // Unencoded, the dots are more segments: no route has them.
    let answer =
        server.post(&format!("/v1/indexes/other/models/../../shop/models/{version}/activate"), None, &json!({})).await;
    assert_eq!((answer.status, answer.error_code().as_str()), (StatusCode::NOT_FOUND, "route_not_found"));
    assert!(!other_models.join("CURRENT").exists(), "nothing was activated for `other`");
    let answer = server.post("/v1/indexes/other/recommendations", None, &json!({"kind": "trending"})).await;
    assert_eq!((answer.status, answer.error_code().as_str()), (StatusCode::CONFLICT, "model_not_trained"));

    // Recommendation filters have the search's bound on values.
    let categories: Vec<String> = (0..101).map(|n| format!("home/c{n}")).collect();
    let answer = server
        .post(
            "/v1/indexes/shop/recommendations",
            None,
            &json!({"kind": "trending", "filter": {"category": categories}}),
        )
        .await;
    assert_eq!((answer.status, answer.error_code().as_str()), (StatusCode::BAD_REQUEST, "too_many_filter_values"));
    let (status, body) =
        recommend(&server, &json!({"kind": "trending", "filter": {"category": ["home/candles"]}})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_experiment_serves_each_shopper_their_variants_model_version_and_promotes_one() {
    let server = trained_shop().await;
    let first =
        server.get("/v1/indexes/shop/models", None).await.json()["current"].as_str().expect("current").to_owned();
    let second = train(&server);
    let (status, body) =
        server.post(&format!("/v1/indexes/shop/models/{first}/activate"), None, &json!({})).await.parts();
    assert_eq!(status, StatusCode::OK, "{body}");

    let definition = json!({"name": "new model", "kind": "ab", "surface": "similar",
        "variants": [{"name": "current", "model_version": first}, {"name": "retrained", "model_version": second}]});
    let (status, created) = server.post("/v1/indexes/shop/experiments", None, &definition).await.parts();
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().expect("id").to_owned();
    let unknown = json!({"name": "x", "kind": "ab", "surface": "trending",
        "variants": [{"name": "a"}, {"name": "b", "model_version": "no-such-version"}]});
    let (status, body) = server.post("/v1/indexes/shop/experiments", None, &unknown).await.parts();
    assert_eq!((status, body["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_experiment")), "{body}");

    let mut seen = std::collections::HashSet::new();
    for session in 0..40 {
        let request = json!({"kind": "similar", "product_id": "candle-0", "session_id": format!("s-{session}")});
        let (status, body) = recommend(&server, &request).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let variant = body["experiment"]["variant"].as_str().expect("an experiment answer");
        let expected = if variant == "current" { &first } else { &second };
        assert_eq!(body["model_version"], expected.as_str(), "the variant's version answers: {body}");
        assert!(body["query_id"].is_string(), "{body}");
        seen.insert(variant.to_owned());
    }
    assert_eq!(seen.len(), 2, "both variants serve");
    // Other kinds, and requests without a shopper, are outside the experiment.
    let (_, body) = recommend(&server, &json!({"kind": "trending", "session_id": "s-1"})).await;
    assert!(body.get("experiment").is_none() && body.get("query_id").is_none(), "{body}");
    let (_, body) = recommend(&server, &json!({"kind": "similar", "product_id": "candle-0"})).await;
    assert_eq!((body.get("experiment"), body["model_version"].as_str()), (None, Some(first.as_str())));

    let (status, promoted) = server
        .post(&format!("/v1/indexes/shop/experiments/{id}/promote"), None, &json!({"variant": "retrained"}))
        .await
        .parts();
    assert_eq!((status, promoted["model_version"].as_str()), (StatusCode::OK, Some(second.as_str())), "{promoted}");
    assert_eq!(server.get("/v1/indexes/shop/models", None).await.json()["current"], second.as_str());

    // Interleaving two versions: one list, every item from one of theirs.
    let definition = json!({"name": "blend", "kind": "interleaving", "surface": "similar",
        "variants": [{"name": "a", "model_version": first}, {"name": "b", "model_version": second}]});
    let (status, created) = server.post("/v1/indexes/shop/experiments", None, &definition).await.parts();
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let (_, body) =
        recommend(&server, &json!({"kind": "similar", "product_id": "mug-0", "k": 4, "session_id": "s-9"})).await;
    assert_eq!(body["experiment"]["variant"], "interleaved", "{body}");
    let merged = ids(&body);
    assert!(!merged.is_empty() && merged.len() <= 4, "{body}");
    let unique: std::collections::HashSet<&String> = merged.iter().collect();
    assert_eq!(unique.len(), merged.len(), "no item twice: {merged:?}");
}
