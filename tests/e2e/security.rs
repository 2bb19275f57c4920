//! The trust boundary (issue 17), attack by attack, on the real router with both keys set: what
//! the public search key, a scoped key and a shopper token can and cannot do. Each test repeats
//! an attack that worked on the release before the fix (refunds, cart takeover, checkout of a
//! stranger's cart, reading and wedging orders, oversized bodies, unlimited guessing) and asserts
//! it now fails, and that the legitimate path still works.

use axum::http::{HeaderName, Method, StatusCode};
use serde_json::{Value, json};

use crate::common::{ADMIN, Answer, SEARCH, Server, both_keys, request};

/// `method uri` with a credential, a JSON body and extra headers.
async fn send(
    server: &Server,
    method: Method,
    uri: &str,
    key: Option<&str>,
    body: Option<&Value>,
    headers: &[(&str, &str)],
) -> Answer {
    let text = body.map(Value::to_string);
    let mut request = request(method, uri, key, text.as_deref());
    for (name, value) in headers {
        request
            .headers_mut()
            .insert(HeaderName::from_bytes(name.as_bytes()).expect("header name"), value.parse().expect("value"));
    }
    server.call(request).await
}

async fn stock(server: &Server, product: &str, on_hand: i64) {
    let body = json!({"on_hand": on_hand, "price": 10.0});
    let answer = send(server, Method::PUT, &format!("/v1/admin/stock/{product}"), Some(ADMIN), Some(&body), &[]).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
}

/// A shopper token for `user`, minted by the admin key (a shop's backend).
async fn shopper_token(server: &Server, user: &str, filter: Option<Value>) -> String {
    let mut body = json!({"user_id": user});
    if let Some(filter) = filter {
        body["filter"] = filter;
    }
    let (status, answer) =
        send(server, Method::POST, "/v1/shopper-tokens", Some(ADMIN), Some(&body), &[]).await.parts();
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    answer["token"].as_str().expect("token").to_owned()
}

/// A cart (a guest's with the search key, a shopper's with a token) holding one `product`:
/// (id, cart token).
async fn cart(server: &Server, credential: &str, product: &str) -> (String, String) {
    let (status, body) = send(server, Method::POST, "/v1/carts", Some(credential), Some(&json!({})), &[]).await.parts();
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (id, token) = (body["id"].as_str().expect("id").to_owned(), body["token"].as_str().expect("token").to_owned());
    let line = json!({"product_id": product, "quantity": 1});
    let headers = [("x-cart-token", token.as_str())];
    let added =
        send(server, Method::POST, &format!("/v1/carts/{id}/items"), Some(credential), Some(&line), &headers).await;
    assert_eq!(added.status, StatusCode::OK, "{}", added.text);
    (id, token)
}

fn checkout_body(cart_id: &str) -> Value {
    json!({"cart_id": cart_id, "payment": {"payment_method": "pm_card_visa"}, "shipping_address": {"city": "Leeds"}})
}

/// Checks out the cart with its token: (order id, order token).
async fn ordered(server: &Server, credential: &str, cart: &(String, String)) -> (String, String) {
    let headers = [("x-cart-token", cart.1.as_str())];
    let answer =
        send(server, Method::POST, "/v1/checkout", Some(credential), Some(&checkout_body(&cart.0)), &headers).await;
    let (status, body) = answer.parts();
    assert_eq!(status, StatusCode::CREATED, "{body}");
    (
        body["order_id"].as_str().expect("order").to_owned(),
        body["order_token"].as_str().expect("order token").to_owned(),
    )
}

fn code(answer: &Answer) -> (StatusCode, String) {
    (answer.status, answer.error_code())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_search_key_cannot_refund_capture_or_cancel_an_order() {
    let server = Server::keyed();
    stock(&server, "mug", 5).await;
    let (order, _) = ordered(&server, SEARCH, &cart(&server, SEARCH, "mug").await).await;
    let admin_call = |path: &str| format!("/v1/admin/orders/{order}/{path}");
    for uri in [admin_call("capture"), admin_call("cancel")] {
        let answer = send(&server, Method::POST, &uri, Some(SEARCH), None, &[]).await;
        assert_eq!(code(&answer), (StatusCode::FORBIDDEN, "forbidden_for_key".into()), "{uri}");
    }
    let captured = send(&server, Method::POST, &admin_call("capture"), Some(ADMIN), None, &[]).await;
    assert_eq!(captured.status, StatusCode::OK, "{}", captured.text);
    let refund_uri = format!("/v1/orders/{order}/refunds");
    let refund = send(&server, Method::POST, &refund_uri, Some(SEARCH), Some(&json!({})), &[]).await;
    assert_eq!(code(&refund), (StatusCode::FORBIDDEN, "forbidden_for_key".into()), "the attack refunded 790 in full");
    let shop = server.state.commerce.get().await.expect("shop");
    assert_eq!(shop.order(&order).await.expect("order").refunded_cents, 0);
    let refund = send(&server, Method::POST, &refund_uri, Some(ADMIN), Some(&json!({"amount_cents": 100})), &[]).await;
    assert_eq!(refund.status, StatusCode::CREATED, "{}", refund.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_user_id_cannot_take_over_a_shoppers_cart() {
    let server = Server::keyed();
    stock(&server, "mug", 5).await;
    let alice = shopper_token(&server, "alice", None).await;
    let bob = shopper_token(&server, "bob", None).await;
    let alice_cart = cart(&server, &alice, "mug").await;

    // The attack: the search key naming alice got alice's cart and its secret token.
    let takeover =
        send(&server, Method::POST, "/v1/carts", Some(SEARCH), Some(&json!({"user_id": "alice"})), &[]).await;
    assert_eq!(code(&takeover), (StatusCode::FORBIDDEN, "forbidden_for_key".into()));
    assert!(!takeover.text.contains(&alice_cart.1), "no token leaks");
    let (guest, guest_token) = cart(&server, SEARCH, "mug").await;
    let merge_uri = format!("/v1/carts/{guest}/merge");
    let headers = [("x-cart-token", guest_token.as_str())];
    let merge = send(&server, Method::POST, &merge_uri, Some(SEARCH), Some(&json!({"user_id": "bob"})), &headers).await;
    assert_eq!(code(&merge), (StatusCode::FORBIDDEN, "forbidden_for_key".into()));
    let mismatch = send(&server, Method::POST, "/v1/carts", Some(&alice), Some(&json!({"user_id": "bob"})), &[]).await;
    assert_eq!(code(&mismatch), (StatusCode::FORBIDDEN, "user_mismatch".into()));

    // Alice's token opens her cart without its cart token; bob's does not.
    let alice_uri = format!("/v1/carts/{}", alice_cart.0);
    let own = send(&server, Method::GET, &alice_uri, Some(&alice), None, &[]).await;
    assert_eq!((own.status, own.json()["user_id"].as_str()), (StatusCode::OK, Some("alice")), "{}", own.text);
    let stranger = send(&server, Method::GET, &alice_uri, Some(&bob), None, &[]).await;
    assert_eq!(code(&stranger), (StatusCode::FORBIDDEN, "invalid_cart_token".into()));
    // Logging in: the guest cart merges into the token's shopper's cart, no body needed.
    let merged = send(&server, Method::POST, &merge_uri, Some(&alice), None, &headers).await;
    assert_eq!(merged.status, StatusCode::OK, "{}", merged.text);
    assert_eq!(merged.json()["cart"]["id"], alice_cart.0.as_str());

    // A server-side key that may act for users names the shopper in the body.
    let new_key = json!({"name": "backend", "actions": ["carts", "act_as_user"], "indexes": ["*"]});
    let (status, made) = send(&server, Method::POST, "/v1/keys", Some(ADMIN), Some(&new_key), &[]).await.parts();
    assert_eq!(status, StatusCode::CREATED, "{made}");
    let backend = made["key"].as_str().expect("secret");
    let (status, view) =
        send(&server, Method::POST, "/v1/carts", Some(backend), Some(&json!({"user_id": "alice"})), &[]).await.parts();
    assert_eq!((status, view["id"].as_str()), (StatusCode::CREATED, Some(alice_cart.0.as_str())), "{view}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkout_needs_the_carts_token_or_its_owner() {
    let server = Server::keyed();
    stock(&server, "mug", 5).await;
    let (guest, token) = cart(&server, SEARCH, "mug").await;
    for headers in [vec![], vec![("x-cart-token", "not-the-token")]] {
        let answer =
            send(&server, Method::POST, "/v1/checkout", Some(SEARCH), Some(&checkout_body(&guest)), &headers).await;
        assert_eq!(code(&answer), (StatusCode::FORBIDDEN, "invalid_cart_token".into()), "{headers:?}");
    }
    // Not even a replay of someone's idempotency key reveals their order.
    let keyed = [("idempotency-key", "attempt-1")];
    let answer = send(&server, Method::POST, "/v1/checkout", Some(SEARCH), Some(&checkout_body(&guest)), &keyed).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    let shop = server.state.commerce.get().await.expect("shop");
    assert_eq!(shop.store.count_orders().await.expect("count"), 0, "the attack checked out a stranger's cart");
    ordered(&server, SEARCH, &(guest, token)).await;

    // A shopper's own cart: the token is enough.
    let alice = shopper_token(&server, "alice", None).await;
    let (alice_cart, _) = cart(&server, &alice, "mug").await;
    let answer =
        send(&server, Method::POST, "/v1/checkout", Some(&alice), Some(&checkout_body(&alice_cart)), &[]).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_are_read_and_returned_by_their_owner_only_and_a_return_cannot_wedge_one() {
    let server = Server::keyed();
    stock(&server, "mug", 5).await;
    let (order, order_token) = ordered(&server, SEARCH, &cart(&server, SEARCH, "mug").await).await;
    let uri = format!("/v1/orders/{order}");
    let read = |headers: Vec<(&'static str, String)>, key: &'static str| {
        let uri = uri.clone();
        let server = &server;
        async move {
            let headers: Vec<(&str, &str)> = headers.iter().map(|(name, value)| (*name, value.as_str())).collect();
            send(server, Method::GET, &uri, Some(key), None, &headers).await
        }
    };
    assert_eq!(code(&read(vec![], SEARCH).await), (StatusCode::NOT_FOUND, "order_not_found".into()));
    let wrong = read(vec![("x-order-token", "0".repeat(64))], SEARCH).await;
    assert_eq!(code(&wrong), (StatusCode::NOT_FOUND, "order_not_found".into()));
    assert_eq!(read(vec![("x-order-token", order_token.clone())], SEARCH).await.status, StatusCode::OK);
    assert_eq!(read(vec![], ADMIN).await.status, StatusCode::OK);

    // A shopper's order: theirs alone.
    let alice = shopper_token(&server, "alice", None).await;
    let bob = shopper_token(&server, "bob", None).await;
    let (alice_order, _) = ordered(&server, &alice, &cart(&server, &alice, "mug").await).await;
    let alice_uri = format!("/v1/orders/{alice_order}");
    assert_eq!(send(&server, Method::GET, &alice_uri, Some(&alice), None, &[]).await.status, StatusCode::OK);
    let stranger = send(&server, Method::GET, &alice_uri, Some(&bob), None, &[]).await;
    assert_eq!(code(&stranger), (StatusCode::NOT_FOUND, "order_not_found".into()));

    // Returns: not for strangers, not 2 MB, not before shipping (it wedged capture, pick and cancel).
    let returns = format!("/v1/orders/{order}/returns");
    let body = json!({"items": [{"product_id": "mug", "quantity": 1}], "reason": "chipped"});
    let stranger = send(&server, Method::POST, &returns, Some(SEARCH), Some(&body), &[]).await;
    assert_eq!(code(&stranger), (StatusCode::NOT_FOUND, "order_not_found".into()));
    let owner = [("x-order-token", order_token.as_str())];
    let huge = json!({"items": [{"product_id": "mug", "quantity": 1}], "reason": "x".repeat(2 * 1024 * 1024)});
    let answer = send(&server, Method::POST, &returns, Some(SEARCH), Some(&huge), &owner).await;
    assert_eq!(code(&answer), (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large".into()));
    let early = send(&server, Method::POST, &returns, Some(SEARCH), Some(&body), &owner).await;
    assert_eq!(code(&early), (StatusCode::CONFLICT, "invalid_order_state".into()));
    let capture =
        send(&server, Method::POST, &format!("/v1/admin/orders/{order}/capture"), Some(ADMIN), None, &[]).await;
    assert_eq!(capture.status, StatusCode::OK, "the order is not wedged: {}", capture.text);
    for kind in ["picked", "shipped"] {
        let uri = format!("/v1/admin/orders/{order}/events");
        let step = send(&server, Method::POST, &uri, Some(ADMIN), Some(&json!({"kind": kind})), &[]).await;
        assert_eq!(step.status, StatusCode::OK, "{kind}: {}", step.text);
    }
    let returned = send(&server, Method::POST, &returns, Some(SEARCH), Some(&body), &owner).await;
    assert_eq!(returned.status, StatusCode::CREATED, "{}", returned.text);
}

async fn index_two_brands(server: &Server, index: &str) {
    let documents = json!([
        {"id": "a1", "title": "red enamel mug", "brand": "Acme", "price": 5.0, "currency": "GBP", "category": "kitchen"},
        {"id": "b1", "title": "blue enamel mug", "brand": "Bolt", "price": 6.0, "currency": "GBP", "category": "kitchen"},
    ]);
    let uri = format!("/v1/indexes/{index}/documents");
    let answer = send(server, Method::POST, &uri, Some(ADMIN), Some(&documents), &[]).await;
    assert!(answer.status.is_success(), "{}", answer.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scoped_keys_reach_only_their_actions_and_indexes_and_are_revocable() {
    let server = Server::keyed();
    index_two_brands(&server, "shop-uk").await;
    index_two_brands(&server, "retail").await;
    let new_key = json!({"name": "uk storefront", "actions": ["search"], "indexes": ["shop-*"]});
    let (status, made) = send(&server, Method::POST, "/v1/keys", Some(ADMIN), Some(&new_key), &[]).await.parts();
    assert_eq!(status, StatusCode::CREATED, "{made}");
    let (id, secret) = (made["id"].as_str().expect("id").to_owned(), made["key"].as_str().expect("key").to_owned());

    let search = |index: &str| format!("/v1/indexes/{index}/search");
    let query = json!({"q": "mug"});
    assert_eq!(
        send(&server, Method::POST, &search("shop-uk"), Some(&secret), Some(&query), &[]).await.status,
        StatusCode::OK
    );
    let other_index = send(&server, Method::POST, &search("retail"), Some(&secret), Some(&query), &[]).await;
    assert_eq!(code(&other_index), (StatusCode::FORBIDDEN, "forbidden_for_key".into()));
    let write =
        send(&server, Method::POST, "/v1/indexes/shop-uk/documents", Some(&secret), Some(&json!([])), &[]).await;
    assert_eq!(code(&write), (StatusCode::FORBIDDEN, "forbidden_for_key".into()));
    for key in [secret.as_str(), SEARCH] {
        assert_eq!(code(&send(&server, Method::GET, "/v1/keys", Some(key), None, &[]).await).1, "forbidden_for_key");
        let mint =
            send(&server, Method::POST, "/v1/shopper-tokens", Some(key), Some(&json!({"user_id": "x"})), &[]).await;
        assert_eq!(code(&mint).1, "forbidden_for_key", "a public key mints no identities");
    }
    let (status, me) = send(&server, Method::GET, "/v1/keys/self", Some(&secret), None, &[]).await.parts();
    assert_eq!(
        (status, me["actions"].clone(), me["indexes"].clone()),
        (StatusCode::OK, json!(["search"]), json!(["shop-*"]))
    );

    // Listed without its secret, stored without it.
    let listed = send(&server, Method::GET, "/v1/keys", Some(ADMIN), None, &[]).await;
    assert!(
        listed.text.contains(&id) && !listed.text.contains(&secret) && !listed.text.contains("sha256"),
        "{}",
        listed.text
    );
    let stored = std::fs::read_to_string(server.state.catalog.data_dir().access().join("keys.json")).expect("key file");
    assert!(!stored.contains(&secret));
    let bad = json!({"name": "x", "actions": ["search.everything"], "indexes": ["*"]});
    assert_eq!(
        code(&send(&server, Method::POST, "/v1/keys", Some(ADMIN), Some(&bad), &[]).await).0,
        StatusCode::BAD_REQUEST
    );

    // Revoked: 401, and so are the shopper tokens it signed.
    let signer = json!({"name": "backend", "actions": ["search", "carts", "shopper_tokens"], "indexes": ["*"]});
    let (_, signer) = send(&server, Method::POST, "/v1/keys", Some(ADMIN), Some(&signer), &[]).await.parts();
    let signer_key = signer["key"].as_str().expect("key");
    let minted =
        send(&server, Method::POST, "/v1/shopper-tokens", Some(signer_key), Some(&json!({"user_id": "zoe"})), &[])
            .await;
    assert_eq!(minted.status, StatusCode::CREATED, "{}", minted.text);
    let token = minted.json()["token"].as_str().expect("token").to_owned();
    assert_eq!(
        send(&server, Method::POST, &search("retail"), Some(&token), Some(&query), &[]).await.status,
        StatusCode::OK
    );
    for revoked in [id.as_str(), signer["id"].as_str().expect("id")] {
        let deleted = send(&server, Method::DELETE, &format!("/v1/keys/{revoked}"), Some(ADMIN), None, &[]).await;
        assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.text);
    }
    let after = send(&server, Method::POST, &search("shop-uk"), Some(&secret), Some(&query), &[]).await;
    assert_eq!(code(&after), (StatusCode::UNAUTHORIZED, "api_key_revoked".into()));
    let orphan = send(&server, Method::POST, &search("retail"), Some(&token), Some(&query), &[]).await;
    assert_eq!(code(&orphan), (StatusCode::UNAUTHORIZED, "invalid_shopper_token".into()));

    // Expired: 401.
    let soon = (chrono::Utc::now() + chrono::Duration::milliseconds(1500)).to_rfc3339();
    let brief = json!({"name": "brief", "actions": ["search"], "indexes": ["*"], "expires_at": soon});
    let (_, brief) = send(&server, Method::POST, "/v1/keys", Some(ADMIN), Some(&brief), &[]).await.parts();
    let brief_key = brief["key"].as_str().expect("key");
    assert_eq!(
        send(&server, Method::POST, &search("retail"), Some(brief_key), Some(&query), &[]).await.status,
        StatusCode::OK
    );
    tokio::time::sleep(std::time::Duration::from_millis(1600)).await;
    let expired = send(&server, Method::POST, &search("retail"), Some(brief_key), Some(&query), &[]).await;
    assert_eq!(code(&expired), (StatusCode::UNAUTHORIZED, "api_key_expired".into()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shopper_tokens_carry_the_identity_and_a_filter_the_shopper_cannot_lift() {
    let server = Server::keyed();
    index_two_brands(&server, "retail").await;
    let acme_only = shopper_token(&server, "b2b-buyer", Some(json!({"brand": ["Acme"]}))).await;
    let search = "/v1/indexes/retail/search";
    let ids = |answer: &Answer| -> Vec<String> {
        answer.json()["hits"]
            .as_array()
            .expect("hits")
            .iter()
            .map(|hit| hit["id"].as_str().expect("id").to_owned())
            .collect()
    };
    let everything = send(&server, Method::POST, search, Some(SEARCH), Some(&json!({"q": "mug"})), &[]).await;
    assert_eq!(ids(&everything).len(), 2, "{}", everything.text);
    let restricted = json!({"q": "mug", "facets": ["brand"]});
    let answer = send(&server, Method::POST, search, Some(&acme_only), Some(&restricted), &[]).await;
    assert_eq!(ids(&answer), ["a1"], "{}", answer.text);
    assert!(!answer.text.contains("Bolt"), "facet counts keep the restriction too: {}", answer.text);
    let lifted = json!({"q": "mug", "filter": {"brand": ["Bolt"]}});
    let answer = send(&server, Method::POST, search, Some(&acme_only), Some(&lifted), &[]).await;
    assert!(ids(&answer).is_empty(), "the body's filter only narrows: {}", answer.text);

    // Nobody else's identity from a body; a tampered token is refused; `bearer` in any case.
    let posing =
        send(&server, Method::POST, search, Some(SEARCH), Some(&json!({"q": "mug", "user_id": "alice"})), &[]).await;
    assert_eq!(code(&posing), (StatusCode::FORBIDDEN, "forbidden_for_key".into()));
    let recommend = json!({"kind": "for_user", "user_id": "alice"});
    let posing =
        send(&server, Method::POST, "/v1/indexes/retail/recommendations", Some(SEARCH), Some(&recommend), &[]).await;
    assert_eq!(code(&posing), (StatusCode::FORBIDDEN, "forbidden_for_key".into()));
    let mut tampered = acme_only.clone();
    let last = tampered.pop().expect("a character");
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    let answer = send(&server, Method::POST, search, Some(&tampered), Some(&json!({"q": "mug"})), &[]).await;
    assert_eq!(code(&answer), (StatusCode::UNAUTHORIZED, "invalid_shopper_token".into()));
    let mut lower = request(Method::POST, search, None, Some(r#"{"q": "mug"}"#));
    lower.headers_mut().insert("authorization", format!("bearer {SEARCH}").parse().expect("value"));
    assert_eq!(server.call(lower).await.status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_answer_429_with_retry_after_per_budget() {
    let server = Server::with(|config| {
        config.keys = both_keys();
        config.rate_limits.search_per_second = 1;
        config.rate_limits.failed_auth_per_minute = 2;
    });
    index_two_brands(&server, "retail").await;
    let search = "/v1/indexes/retail/search";
    let query = json!({"q": "mug"});
    for _ in 0..3 {
        assert_eq!(send(&server, Method::POST, search, Some(SEARCH), Some(&query), &[]).await.status, StatusCode::OK);
    }
    let limited = send(&server, Method::POST, search, Some(SEARCH), Some(&query), &[]).await;
    assert_eq!(code(&limited), (StatusCode::TOO_MANY_REQUESTS, "too_many_requests".into()));
    let retry_after: u64 = limited.headers["retry-after"].to_str().expect("ascii").parse().expect("seconds");
    assert!((1..=2).contains(&retry_after), "{retry_after}");
    // Another credential has its own budget; other budgets are untouched.
    assert_eq!(send(&server, Method::POST, search, Some(ADMIN), Some(&query), &[]).await.status, StatusCode::OK);
    assert_eq!(send(&server, Method::GET, "/v1/indexes/retail", Some(SEARCH), None, &[]).await.status, StatusCode::OK);

    // Guessing keys: two failures a minute, then 429 even for a further guess.
    for _ in 0..2 {
        assert_eq!(
            code(&send(&server, Method::GET, "/v1/indexes", Some("guess"), None, &[]).await).1,
            "invalid_api_key"
        );
    }
    let limited = send(&server, Method::GET, "/v1/indexes", Some("guess"), None, &[]).await;
    assert_eq!(code(&limited), (StatusCode::TOO_MANY_REQUESTS, "too_many_requests".into()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shopper_request_bodies_are_bounded_per_route() {
    let server = Server::keyed();
    index_two_brands(&server, "retail").await;
    // The attack buffered 90 MB search bodies; a search is now at most 64 KiB.
    let big = json!({"q": "mug", "facets": vec!["brand"; 20_000]});
    let answer = send(&server, Method::POST, "/v1/indexes/retail/search", Some(SEARCH), Some(&big), &[]).await;
    assert_eq!(code(&answer), (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large".into()));
    // Documents keep the configured (large) limit.
    let many: Vec<Value> = (0..3_000)
        .map(|i| json!({"id": format!("p{i}"), "title": format!("mug number {i}"), "price": 1.0, "currency": "GBP"}))
        .collect();
    let answer =
        send(&server, Method::POST, "/v1/indexes/retail/documents", Some(ADMIN), Some(&Value::Array(many)), &[]).await;
    assert!(answer.status.is_success(), "{}", answer.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_storefront_embeds_the_search_key_and_never_the_admin_key() {
    let server = Server::keyed();
    let page = server.get("/", None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text.contains(&format!(r#"<meta name="vitrine-search-key" content="{SEARCH}">"#)), "{}", page.text);
    assert!(!page.text.contains(ADMIN));
    let open = Server::open().get("/", None).await;
    assert!(!open.text.contains("vitrine-search-key"), "no key to embed on an open server");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_are_the_credentials_shoppers_never_a_bodys() {
    let server = Server::keyed();
    index_two_brands(&server, "retail").await;
    let events = "/v1/indexes/retail/events";
    // The attack: the public key named a user, and its events trained that user's recommendations.
    let posing = json!({"type": "purchase", "product_id": "a1", "user_id": "alice"});
    let answer = send(&server, Method::POST, events, Some(SEARCH), Some(&posing), &[]).await;
    assert_eq!(code(&answer), (StatusCode::FORBIDDEN, "forbidden_for_key".into()));
    let bob = shopper_token(&server, "bob", None).await;
    let answer = send(&server, Method::POST, events, Some(&bob), Some(&posing), &[]).await;
    assert_eq!(code(&answer), (StatusCode::FORBIDDEN, "user_mismatch".into()));
    let own = json!({"type": "purchase", "product_id": "b1"});
    let answer = send(&server, Method::POST, events, Some(&bob), Some(&own), &[]).await;
    assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.text);

    server.state.interactions.flush().await;
    let folder =
        server.state.catalog.data_dir().interactions(&vitrine_models::IndexName::new("retail").expect("index"));
    let log = vitrine_pipelines::collect_interactions(&folder, |log| log).expect("read").expect("rows");
    let users = log.column(vitrine_pipelines::log_columns::USER_ID).expect("column").str().expect("text").clone();
    assert_eq!((log.height(), users.get(0)), (1, Some("bob")), "one row, the token's shopper's");
}
