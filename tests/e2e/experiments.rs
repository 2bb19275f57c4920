//! Online experiments end to end through `app()`, on a real data directory and its SQLite
//! analytics database: an A/B test of a settings draft and a team-draft interleaving test, fed
//! by storefront-like traffic (searches with session ids, clicks with their `query_id`), read
//! back as results whose counts are checked exactly, then promoted.

use std::collections::{HashMap, HashSet};

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::common::{ADMIN, SEARCH, Server, both_keys};

const INDEX: &str = "/v1/indexes/shop";

/// Twenty candle holders, most popular first (`p0` … `p19`), half of them by Berry.
async fn shop() -> Server {
    let server = Server::with_analytics(both_keys()).await;
    let products: Vec<Value> = (0..20)
        .map(|i| {
            json!({"id": format!("p{i}"), "title": format!("Candle holder model {i}"),
                   "brand": if i % 2 == 0 { "Berry" } else { "Heart" }, "price": 2.5, "currency": "GBP",
                   "category": "home/candles", "popularity": 1000 - 10 * i})
        })
        .collect();
    let (status, body) = server.post(&format!("{INDEX}/documents"), Some(ADMIN), &json!(products)).await.parts();
    assert_eq!(status, StatusCode::OK, "{body}");
    server
}

async fn create(server: &Server, definition: &Value) -> (StatusCode, Value) {
    server.post(&format!("{INDEX}/experiments"), Some(ADMIN), definition).await.parts()
}

async fn search(server: &Server, body: &Value) -> Value {
    let (status, answer) = server.post(&format!("{INDEX}/search"), Some(SEARCH), body).await.parts();
    assert_eq!(status, StatusCode::OK, "{answer}");
    answer
}

fn ids(answer: &Value) -> Vec<String> {
    answer["hits"].as_array().expect("hits").iter().map(|hit| hit["id"].as_str().expect("id").to_owned()).collect()
}

async fn click(server: &Server, query_id: &str, product: &str, session: &str) {
    let event = json!({"type": "click", "product_id": product, "query_id": query_id, "session_id": session});
    let (status, body) = server.post(&format!("{INDEX}/events"), Some(SEARCH), &event).await.parts();
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
}

#[tokio::test]
async fn an_ab_test_of_a_synonyms_draft_counts_every_search_and_click_and_promotes_the_winner() {
    let server = shop().await;
    let definition = json!({
        "name": "lantern synonym", "kind": "ab", "primary_metric": "click_through_rate",
        "variants": [
            {"name": "control", "settings": "live"},
            {"name": "lanterns", "settings": {"synonyms": [{"type": "multi_way", "terms": ["lantern", "candle holder"]}]}}
        ]
    });
    // The search key may not start experiments; bad definitions get stable codes.
    let answer = server.post(&format!("{INDEX}/experiments"), Some(SEARCH), &definition).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    for (bad, code) in [
        (json!({"name": "x", "kind": "ab", "variants": [{"name": "a"}]}), "invalid_experiment"),
        (
            json!({"name": "x", "kind": "ab", "variants": [{"name": "a"}, {"name": "b", "settings": {"colours": []}}]}),
            "invalid_experiment",
        ),
        (
            json!({"name": "x", "kind": "ab", "surface": "similar", "variants": [{"name": "a"}, {"name": "b"}]}),
            "model_not_trained",
        ),
        (json!({"kind": "ab"}), "invalid_experiment"),
    ] {
        let (status, body) = create(&server, &bad).await;
        assert_eq!(body["code"], code, "{status} {body}");
    }
    let (status, created) = create(&server, &definition).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().expect("id").to_owned();
    assert_eq!(
        (created["status"].as_str(), created["results"]["variants"][0]["searches"].as_u64()),
        (Some("running"), Some(0))
    );
    let (status, body) = create(&server, &definition).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::CONFLICT, Some("experiment_already_running")));

    // A search without an identity is the control's, and not counted.
    let anonymous = search(&server, &json!({"q": "lantern"})).await;
    assert!(anonymous.get("experiment").is_none() && anonymous["total"] == 0, "{anonymous}");

    // 300 guests search "lantern" twice each; of those who see results, four in five click the
    // first one.
    let mut expected: HashMap<String, (u64, u64, u64)> = HashMap::new(); // searches, identities, clicked
    for guest in 0..300 {
        let session = format!("guest-{guest}");
        let first = search(&server, &json!({"q": "lantern", "session_id": session})).await;
        let again = search(&server, &json!({"q": "lantern", "session_id": session})).await;
        let variant = first["experiment"]["variant"].as_str().expect("an experiment answer").to_owned();
        assert_eq!(first["experiment"]["id"], id.as_str());
        assert_eq!(again["experiment"]["variant"], variant.as_str(), "assignment is sticky");
        // The draft is what the variant answers with: only its synonym finds the holders.
        assert_eq!(first["total"].as_u64() > Some(0), variant == "lanterns", "{variant}: {first}");
        let entry = expected.entry(variant).or_default();
        entry.0 += 2;
        entry.1 += 1;
        for answer in [&first, &again] {
            if let Some(product) = ids(answer).first().filter(|_| guest % 5 != 0) {
                click(&server, answer["query_id"].as_str().expect("query_id"), product, &session).await;
                entry.2 += 1;
            }
        }
    }
    let (status, results) = server.get(&format!("{INDEX}/experiments/{id}"), Some(ADMIN)).await.parts();
    assert_eq!(status, StatusCode::OK, "{results}");
    for variant in results["results"]["variants"].as_array().expect("variants") {
        let name = variant["name"].as_str().expect("name");
        let (searches, identities, clicked) = expected[name];
        assert_eq!(
            (variant["searches"].as_u64(), variant["identities"].as_u64(), variant["clicked_searches"].as_u64()),
            (Some(searches), Some(identities), Some(clicked)),
            "{name}: {variant}"
        );
    }
    let primary = &results["results"]["comparisons"][0];
    assert_eq!((primary["metric"].as_str(), primary["primary"].as_bool()), (Some("click_through_rate"), Some(true)));
    let treatment = &expected["lanterns"];
    let difference = treatment.2 as f64 / treatment.0 as f64;
    assert!(
        (primary["difference"].as_f64().expect("difference") - difference).abs() < 1e-12,
        "no control search was clicked: {primary}"
    );
    assert_eq!(primary["significant"], true, "{primary}");
    assert!(primary["always_valid_p_value"].as_f64().expect("p") < 1e-6, "{primary}");
    assert_eq!(results["results"]["sample_ratio"]["mismatch"], false, "{results}");
    assert!(results["results"]["verdict"].as_str().expect("verdict").contains("`lanterns` is better"), "{results}");
    let (_, listed) = server.get(&format!("{INDEX}/experiments"), Some(ADMIN)).await.parts();
    assert_eq!(listed["results"][0]["id"], id.as_str());

    // Promote the winner: its draft becomes a new settings version that names the experiment.
    let (status, promoted) = server
        .post(&format!("{INDEX}/experiments/{id}/promote"), Some(ADMIN), &json!({"variant": "lanterns"}))
        .await
        .parts();
    assert_eq!(status, StatusCode::OK, "{promoted}");
    assert_eq!(
        (promoted["experiment"]["status"].as_str(), promoted["experiment"]["promoted"].as_str()),
        (Some("stopped"), Some("lanterns"))
    );
    let (_, history) = server.get(&format!("{INDEX}/settings/history"), Some(ADMIN)).await.parts();
    assert_eq!(history[0]["version"], promoted["settings_version"]);
    assert!(history[0]["actor"].as_str().expect("actor").contains(&id), "{history}");
    // Everyone gets the synonym now, outside any experiment.
    let after = search(&server, &json!({"q": "lantern", "session_id": "guest-1"})).await;
    assert!(after.get("experiment").is_none() && after["total"].as_u64() > Some(0), "{after}");
    for again in ["promote", "stop"] {
        let answer = server
            .post(&format!("{INDEX}/experiments/{id}/{again}"), Some(ADMIN), &json!({"variant": "lanterns"}))
            .await;
        assert_eq!(
            (answer.status, answer.error_code().as_str()),
            (StatusCode::CONFLICT, "invalid_experiment_state"),
            "{again}"
        );
    }
    let answer = server.get(&format!("{INDEX}/experiments/0190a0b0-0000-7000-8000-000000000000"), Some(ADMIN)).await;
    assert_eq!(answer.error_code(), "experiment_not_found");
}

#[tokio::test]
async fn an_interleaving_test_merges_both_rankings_and_credits_each_click_to_its_team() {
    let server = shop().await;
    // The treatment pins the least popular holders on top.
    let pins: Vec<Value> = (0..10).map(|i| json!({"id": format!("p{}", 19 - i), "position": i + 1})).collect();
    let draft = json!({"rules": [{"id": "unpopular-first", "pin": pins}]});
    let definition = json!({"name": "pins", "kind": "interleaving",
        "variants": [{"name": "live"}, {"name": "pinned", "settings": draft}]});
    let (status, created) = create(&server, &definition).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().expect("id").to_owned();
    let preview = server
        .post(
            &format!("{INDEX}/settings/preview"),
            Some(ADMIN),
            &json!({"q": "holder", "draft": draft, "per_page": 20}),
        )
        .await
        .json();
    let (live, pinned) = (ids(&preview["live"]), ids(&preview["draft"]));

    let mut expected_wins = [0u64; 2]; // control, treatment
    for guest in 0..60 {
        let session = format!("shopper-{guest}");
        let page = search(&server, &json!({"q": "holder", "per_page": 10, "session_id": session})).await;
        assert_eq!(page["experiment"]["variant"], "interleaved", "{page}");
        let hits = ids(&page);
        assert_eq!(hits.len(), 10);
        // Team draft: the first k of the merged list hold each ranking's first picks, so every
        // hit is among the top 10 of one of the rankings, and both contribute 5.
        let from_live = hits.iter().filter(|id| live[..10].contains(id)).count();
        let from_pinned = hits.iter().filter(|id| pinned[..10].contains(id)).count();
        assert!(from_live >= 5 && from_pinned >= 5, "{hits:?}");
        // The next page continues the same merged list: no product twice.
        let next = search(&server, &json!({"q": "holder", "per_page": 10, "page": 2, "session_id": session})).await;
        let seen: HashSet<&String> = hits.iter().collect();
        assert!(ids(&next).iter().all(|id| !seen.contains(id)), "{hits:?} then {:?}", ids(&next));
        // Three shoppers in four click the first pinned-only product they see (a win for the
        // treatment), the others the first live-only one (a win for the control).
        let prefers_pinned = guest % 4 != 0;
        let (mine, theirs) = if prefers_pinned { (&pinned, &live) } else { (&live, &pinned) };
        if let Some(product) = hits.iter().find(|id| mine[..10].contains(id) && !theirs[..10].contains(id)) {
            click(&server, page["query_id"].as_str().expect("query_id"), product, &session).await;
            expected_wins[usize::from(prefers_pinned)] += 1;
        }
    }
    let (status, results) = server.get(&format!("{INDEX}/experiments/{id}"), Some(ADMIN)).await.parts();
    assert_eq!(status, StatusCode::OK, "{results}");
    let interleaving = &results["results"]["interleaving"];
    assert_eq!(
        (interleaving["control_wins"].as_u64(), interleaving["treatment_wins"].as_u64()),
        (Some(expected_wins[0]), Some(expected_wins[1])),
        "{results}"
    );
    assert_eq!(expected_wins, [15, 45]);
    assert_eq!(interleaving["preference"]["share"], 0.75);
    assert_eq!(interleaving["preference"]["significant"], true, "{interleaving}");
    assert_eq!(results["results"]["variants"][0]["searches"], 120, "both pages of 60 shoppers");
    assert!(results["results"]["verdict"].as_str().expect("verdict").contains("prefer `pinned`"), "{results}");

    let (status, stopped) =
        server.post(&format!("{INDEX}/experiments/{id}/stop"), Some(ADMIN), &json!({})).await.parts();
    assert_eq!((status, stopped["status"].as_str()), (StatusCode::OK, Some("stopped")), "{stopped}");
    let after = search(&server, &json!({"q": "holder", "session_id": "shopper-1"})).await;
    assert!(after.get("experiment").is_none());
    assert_eq!(ids(&after)[..10], live[..10], "the live ranking again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_placed_through_the_storefronts_checkout_count_as_their_variants_revenue() {
    use axum::http::Method;

    use crate::commerce::{cart, send, stock};

    let server = Server::with_analytics(vitrine::config::ApiKeys::default()).await;
    let products = json!([{"id": "p1", "title": "Candle holder", "price": 2.95, "currency": "GBP"}]);
    let (status, body) = server.post(&format!("{INDEX}/documents"), None, &products).await.parts();
    assert_eq!(status, StatusCode::OK, "{body}");
    stock(&server, "p1", 100, 2.95).await;
    let definition = json!({"name": "a/a", "kind": "ab", "primary_metric": "revenue_per_search",
        "variants": [{"name": "a"}, {"name": "b"}]});
    let (status, created) = server.post(&format!("{INDEX}/experiments"), None, &definition).await.parts();
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().expect("id").to_owned();

    let mut revenue: HashMap<String, i64> = HashMap::new();
    for guest in 0..12 {
        let session = format!("buyer-{guest}");
        let (status, answer) =
            server.post(&format!("{INDEX}/search"), None, &json!({"q": "candle", "session_id": session})).await.parts();
        assert_eq!(status, StatusCode::OK, "{answer}");
        let variant = answer["experiment"]["variant"].as_str().expect("variant").to_owned();
        revenue.entry(variant.clone()).or_default();
        if guest % 3 == 0 {
            continue; // a third leave without buying
        }
        let (cart_id, token) = cart(&server, &[("p1", 1 + guest % 2)]).await;
        let body = json!({"cart_id": cart_id, "index": "shop", "session_id": session,
            "payment": {"payment_method": "pm_card_visa"}, "shipping_address": {"city": "London"}});
        let key = format!("order-{guest}");
        let headers = [("idempotency-key", key.as_str()), ("x-cart-token", token.as_str())];
        let (status, order) = send(&server, Method::POST, "/v1/checkout", Some(&body), &headers).await.parts();
        assert_eq!(status, StatusCode::CREATED, "{order}");
        *revenue.entry(variant).or_default() += order["totals"]["total_cents"].as_i64().expect("total");
    }
    // An order by someone who never searched counts nowhere.
    let (cart_id, token) = cart(&server, &[("p1", 1)]).await;
    let body = json!({"cart_id": cart_id, "index": "shop", "session_id": "never-searched",
        "payment": {"payment_method": "pm_card_visa"}, "shipping_address": {"city": "London"}});
    let answer = send(
        &server,
        Method::POST,
        "/v1/checkout",
        Some(&body),
        &[("idempotency-key", "stranger"), ("x-cart-token", &token)],
    )
    .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);

    let (_, results) = server.get(&format!("{INDEX}/experiments/{id}"), None).await.parts();
    assert_eq!(results["results"]["currency"], "GBP");
    for variant in results["results"]["variants"].as_array().expect("variants") {
        let name = variant["name"].as_str().expect("name");
        assert_eq!(variant["revenue"].as_i64(), Some(revenue[name]), "{name}: {results}");
        let searches = variant["searches"].as_f64().expect("searches");
        assert!((variant["revenue_per_search"].as_f64().expect("rps") - revenue[name] as f64 / searches).abs() < 1e-9);
    }
    assert_eq!(results["results"]["comparisons"][0]["metric"], "revenue_per_search");
}
