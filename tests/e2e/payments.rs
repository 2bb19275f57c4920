//! Money safety over HTTP, on the real router against real SQLite and PostgreSQL (a fresh schema
//! of the server at `VITRINE_TEST_POSTGRES_URL`; under `CI=true` a missing server fails): no card
//! data reaches the server, Stripe's test payment methods end as Stripe documents, 3-D Secure,
//! every order change a compare-and-set (parallel cancels, cancel racing capture and ship,
//! parallel refunds — each repeated 20 times), checkouts that finish without their request,
//! Stripe's idempotency, signed provider webhooks applied once, and bounded returns.

use std::time::Duration;

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::Row;
use vitrine::config::ServerConfig;
use vitrine_commerce::{DatabaseUrl, PaymentProvider, ProviderEvent, Store, sign_webhook};

use crate::commerce::{send, stock};
use crate::common::{Answer, Server, request};

const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// A server over one commerce backend.
struct Backend {
    name: &'static str,
    server: Server,
    /// The PostgreSQL schema made for it (dropped at the end).
    schema: Option<(Store, String)>,
}

impl Backend {
    async fn cleanup(self) {
        if let Some((store, schema)) = self.schema {
            store.drop_schema(&schema).await.expect("drop the test schema");
        }
    }
}

/// The same server over SQLite and over a fresh PostgreSQL schema (when a server answers; under
/// `CI=true` it must).
async fn backends(test: &str, configure: impl Fn(&mut ServerConfig)) -> Vec<Backend> {
    let mut all = vec![Backend { name: "sqlite", server: Server::with(&configure), schema: None }];
    let url = std::env::var("VITRINE_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_owned());
    let schema = format!("vt_pay_{}_{}", std::process::id(), rand::random::<u32>());
    match Store::connect(&url, Some(&schema)).await {
        Ok(store) => {
            let separator = if url.contains('?') { '&' } else { '?' };
            let scoped = format!("{url}{separator}options=-c%20search_path%3D{schema}");
            let server = Server::with(|config| {
                configure(config);
                config.commerce_db = Some(DatabaseUrl::new(scoped.clone()));
            });
            all.push(Backend { name: "postgres", server, schema: Some((store, schema)) });
        }
        Err(error) => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "{test}: PostgreSQL at {url} is required under CI=true: {error}"
            );
            eprintln!("SKIPPED {test} on PostgreSQL: {url}: {error}");
        }
    }
    all
}

async fn on_hand(server: &Server, product: &str) -> (i64, i64) {
    let shop = server.state.commerce.get().await.expect("shop");
    let sku = shop.store.sku(product).await.expect("read").expect("exists");
    (sku.on_hand, sku.reserved)
}

/// A guest cart holding `quantity` of `product`: (id, token).
async fn cart(server: &Server, product: &str, quantity: i64) -> (String, String) {
    crate::commerce::cart(server, &[(product, quantity)]).await
}

fn checkout_body(cart_id: &str, payment_method: &str) -> Value {
    json!({"cart_id": cart_id, "payment": {"payment_method": payment_method}, "shipping_address": {"city": "Leeds"}})
}

async fn checkout(server: &Server, cart: &(String, String), payment_method: &str, key: Option<&str>) -> Answer {
    let mut headers = vec![("x-cart-token", cart.1.as_str())];
    headers.extend(key.map(|key| ("idempotency-key", key)));
    send(server, Method::POST, "/v1/checkout", Some(&checkout_body(&cart.0, payment_method)), &headers).await
}

/// A placed order of `quantity` × `product`: its id.
async fn place(server: &Server, product: &str, quantity: i64) -> String {
    let placed = checkout(server, &cart(server, product, quantity).await, "pm_card_visa", None).await;
    assert_eq!(placed.status, StatusCode::CREATED, "{}", placed.text);
    placed.json()["order_id"].as_str().expect("order id").to_owned()
}

async fn admin(server: &Server, order_id: &str, action: &str, body: Option<&Value>) -> Answer {
    let uri = match action {
        "refunds" => format!("/v1/orders/{order_id}/refunds"),
        "picked" | "shipped" | "delivered" => format!("/v1/admin/orders/{order_id}/events"),
        other => format!("/v1/admin/orders/{order_id}/{other}"),
    };
    let step = json!({"kind": action});
    let body = if matches!(action, "picked" | "shipped" | "delivered") { Some(&step) } else { body };
    send(server, Method::POST, &uri, body, &[]).await
}

async fn read_order(server: &Server, order_id: &str) -> vitrine_commerce::Order {
    let shop = server.state.commerce.get().await.expect("shop");
    shop.order(order_id).await.expect("order")
}

/// Runs `count` copies of a request at once; their answers.
async fn parallel(
    server: &Server,
    count: usize,
    make: impl Fn(usize) -> (Method, String, Option<Value>),
) -> Vec<Answer> {
    let mut tasks = Vec::new();
    for n in 0..count {
        let (method, uri, body) = make(n);
        let router = server.router.clone();
        tasks.push(tokio::spawn(async move {
            let text = body.map(|body| body.to_string());
            let request = request(method, &uri, None, text.as_deref());
            let response = tower::ServiceExt::oneshot(router, request).await.expect("infallible");
            let status = response.status();
            let headers = response.headers().clone();
            let bytes = http_body_util::BodyExt::collect(response.into_body()).await.expect("body").to_bytes();
            Answer { status, headers, text: String::from_utf8(bytes.to_vec()).expect("utf-8") }
        }));
    }
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.expect("task"));
    }
    answers
}

/// Signs `event` as the simulated provider does and posts it to the webhook route.
async fn deliver(server: &Server, event: &ProviderEvent) -> Answer {
    let secret = server.state.access.simulated_webhook_secret().expect("secret");
    let body = serde_json::to_string(event).expect("event");
    let signature = sign_webhook(secret.as_bytes(), chrono::Utc::now().timestamp(), body.as_bytes());
    let mut request = request(Method::POST, "/v1/webhooks/payments/simulated", None, Some(&body));
    request.headers_mut().insert("vitrine-signature", signature.parse().expect("header"));
    server.call(request).await
}

/// Every text the commerce tables hold, as one string (to look for card data).
async fn database_text(server: &Server) -> String {
    let shop = server.state.commerce.get().await.expect("shop");
    let mut all = String::new();
    for (table, columns) in [
        ("checkouts", "id, state, pricing, card_last4, shipping_address, payment_method, card_brand"),
        ("idempotency_keys", "scope, idempotency_key, request_hash, body"),
        ("order_events", "kind, data"),
        ("outbox", "payload"),
        ("checkout_transitions", "state, detail"),
    ] {
        let rows =
            sqlx::query(&format!("SELECT {columns} FROM {table}")).fetch_all(shop.store.pool()).await.expect(table);
        for row in rows {
            for index in 0..columns.split(',').count() {
                let value: Option<String> = row.try_get(index).expect("text column");
                all.push_str(&value.unwrap_or_default());
                all.push('\n');
            }
        }
    }
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn card_numbers_never_reach_the_server_nor_its_database() {
    for backend in backends("card_numbers_never_reach_the_server_nor_its_database", |_| {}).await {
        let server = &backend.server;
        stock(server, "mug", 10, 4.5).await;
        let cart = cart(server, "mug", 1).await;
        let headers = [("x-cart-token", cart.1.as_str()), ("idempotency-key", "first")];
        for payment in [
            json!({"card_number": "4242424242424242"}),
            json!({"payment_method": "pm_card_visa", "cvc": "123"}),
            json!({"payment_method": "4242 4242 4242 4242"}),
        ] {
            let body = json!({"cart_id": cart.0, "payment": payment, "shipping_address": {"city": "Leeds"}});
            let refused = send(server, Method::POST, "/v1/checkout", Some(&body), &headers).await;
            assert_eq!(
                (refused.status, refused.error_code().as_str()),
                (StatusCode::BAD_REQUEST, "card_data_refused"),
                "{}: {payment}",
                backend.name
            );
        }
        let placed = checkout(server, &cart, "pm_card_visa", Some("first")).await;
        assert_eq!(placed.status, StatusCode::CREATED, "{}: {}", backend.name, placed.text);
        // The fingerprint holds no payment field: the same key with another method is the same
        // request (replayed), so nothing about the card is in it.
        let replay = checkout(server, &cart, "pm_card_mastercard", Some("first")).await;
        assert_eq!((replay.status, &replay.text), (StatusCode::CREATED, &placed.text), "{}", backend.name);
        let shop = server.state.commerce.get().await.expect("shop");
        let row =
            sqlx::query("SELECT request_hash FROM idempotency_keys").fetch_one(shop.store.pool()).await.expect("key");
        let fingerprint: String = row.try_get("request_hash").expect("hash");
        assert!(fingerprint.len() == 64 && fingerprint.chars().all(|c| c.is_ascii_hexdigit()), "{fingerprint}");
        let row = sqlx::query("SELECT card_brand, card_last4, payment_method FROM checkouts")
            .fetch_one(shop.store.pool())
            .await
            .expect("checkout");
        let card: (String, String, String) =
            (row.try_get(0).expect("brand"), row.try_get(1).expect("last4"), row.try_get(2).expect("method"));
        assert_eq!(card, ("visa".into(), "4242".into(), "pm_card_visa".into()), "{}", backend.name);
        // Nothing stored holds the card number, spaced or not, nor its middle digits.
        let stored = database_text(server).await;
        for digits in ["4242424242424242", "4242 4242 4242 4242", "42424242"] {
            assert!(!stored.contains(digits), "{}: `{digits}` is stored", backend.name);
        }
        backend.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stripe_test_payment_methods_end_as_stripe_documents() {
    for backend in backends("stripe_test_payment_methods_end_as_stripe_documents", |_| {}).await {
        let server = &backend.server;
        stock(server, "lamp", 100, 20.0).await;
        let mut table = Vec::new();
        for (method, status, outcome) in [
            ("pm_card_visa", StatusCode::CREATED, "placed"),
            ("pm_card_mastercard", StatusCode::CREATED, "placed"),
            ("pm_card_chargeDeclined", StatusCode::PAYMENT_REQUIRED, "card_declined"),
            ("pm_card_chargeDeclinedInsufficientFunds", StatusCode::PAYMENT_REQUIRED, "insufficient_funds"),
            ("pm_card_chargeDeclinedFraudulent", StatusCode::PAYMENT_REQUIRED, "fraudulent"),
            ("pm_card_chargeDeclinedExpiredCard", StatusCode::PAYMENT_REQUIRED, "expired_card"),
            ("pm_card_chargeDeclinedProcessingError", StatusCode::BAD_GATEWAY, "payment_error"),
            ("pm_card_authenticationRequired", StatusCode::ACCEPTED, "requires_action"),
            ("pm_card_unknownToTheProvider", StatusCode::PAYMENT_REQUIRED, "payment_method_invalid"),
        ] {
            let answer = checkout(server, &cart(server, "lamp", 1).await, method, None).await;
            let body = answer.json();
            let seen = body["status"].as_str().map_or_else(|| body["message"].to_string(), str::to_owned);
            assert_eq!(answer.status, status, "{}: {method}: {}", backend.name, answer.text);
            assert!(seen.contains(outcome), "{}: {method}: {}", backend.name, answer.text);
            table.push(format!("| `{method}` | {} | {seen} |", answer.status.as_u16()));
        }
        // Failures hold nothing: 2 orders sold 2 units, the 3-D Secure checkout holds 1.
        assert_eq!(on_hand(server, "lamp").await, (98, 1), "{}", backend.name);
        let shop = server.state.commerce.get().await.expect("shop");
        assert_eq!(shop.checkout.gateway().holds_made(), 2, "{}: money held for the two orders only", backend.name);
        eprintln!("{} outcomes:\n{}", backend.name, table.join("\n"));
        backend.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_d_secure_waits_for_the_shopper_then_places_or_releases() {
    for backend in backends("three_d_secure_waits_for_the_shopper_then_places_or_releases", |_| {}).await {
        let server = &backend.server;
        stock(server, "vase", 5, 30.0).await;
        for passes in [true, false] {
            let cart = cart(server, "vase", 1).await;
            let asked = checkout(server, &cart, "pm_card_authenticationRequired", Some("3ds")).await;
            let (status, body) = asked.parts();
            assert_eq!((status, body["status"].as_str()), (StatusCode::ACCEPTED, Some("requires_action")), "{body}");
            let checkout_id = body["checkout_id"].as_str().expect("checkout").to_owned();
            let url = body["next_action"]["url"].as_str().expect("a redirect").to_owned();
            let token = [("x-cart-token", cart.1.as_str())];
            let confirm = format!("/v1/checkout/{checkout_id}/confirm");
            // Before the shopper answers, confirming changes nothing; a stranger sees no checkout.
            let early = send(server, Method::POST, &confirm, None, &token).await;
            assert_eq!(
                (early.status, early.json()["status"].as_str()),
                (StatusCode::ACCEPTED, Some("requires_action"))
            );
            let stranger = send(server, Method::POST, &confirm, None, &[("x-cart-token", "nope")]).await;
            assert_eq!(stranger.error_code(), "checkout_not_found");
            let page = send(server, Method::GET, &url, None, &[]).await;
            assert!(page.status == StatusCode::OK && page.text.contains("Complete authentication"), "{}", page.text);
            let result = if passes { "passed" } else { "failed" };
            let answered = send(server, Method::POST, &url, Some(&json!({"result": result})), &[]).await;
            assert_eq!(answered.status, StatusCode::OK, "{}", answered.text);
            let done = send(server, Method::POST, &confirm, None, &token).await;
            if passes {
                let (status, placed) = done.parts();
                assert_eq!((status, placed["status"].as_str()), (StatusCode::CREATED, Some("placed")), "{placed}");
                assert!(placed["order_token"].is_string());
                let seen = send(server, Method::GET, &format!("/v1/checkout/{checkout_id}"), None, &token).await;
                assert_eq!(seen.json()["status"], "placed");
            } else {
                assert_eq!(
                    (done.status, done.error_code().as_str()),
                    (StatusCode::PAYMENT_REQUIRED, "payment_declined")
                );
                assert!(done.text.contains("authentication_failed"), "{}", done.text);
                let seen = send(server, Method::GET, &format!("/v1/checkout/{checkout_id}"), None, &token).await;
                assert_eq!(
                    (seen.json()["status"].as_str(), seen.json()["failure"].as_str()),
                    (Some("failed"), Some("authentication_failed"))
                );
            }
        }
        // One sold, one released; nothing held at the provider without an order.
        assert_eq!(on_hand(server, "vase").await, (4, 0), "{}", backend.name);
        let shop = server.state.commerce.get().await.expect("shop");
        let open = shop.checkout.gateway().open_authorizations().await.expect("list");
        assert_eq!(open.len(), 1, "{}: the placed order's authorisation only", backend.name);
        backend.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_parallel_cancels_restock_once_twenty_times_over() {
    for backend in backends("fifty_parallel_cancels_restock_once_twenty_times_over", |_| {}).await {
        let server = &backend.server;
        stock(server, "chair", 1_000, 45.0).await;
        for repetition in 0..20 {
            let order_id = place(server, "chair", 4).await;
            let before = on_hand(server, "chair").await;
            let uri = format!("/v1/admin/orders/{order_id}/cancel");
            let answers = parallel(server, 50, |_| (Method::POST, uri.clone(), None)).await;
            let succeeded = answers.iter().filter(|answer| answer.status == StatusCode::OK).count();
            for answer in answers.iter().filter(|answer| answer.status != StatusCode::OK) {
                let code = answer.error_code();
                assert!(code == "order_busy" || code == "invalid_order_state", "{}: {}", backend.name, answer.text);
            }
            assert_eq!(succeeded, 1, "{} #{repetition}: one cancel", backend.name);
            assert_eq!(
                on_hand(server, "chair").await,
                (before.0 + 4, 0),
                "{} #{repetition}: restocked once",
                backend.name
            );
            let order = read_order(server, &order_id).await;
            assert_eq!(order.events.iter().filter(|event| event.kind == "cancelled").count(), 1);
        }
        backend.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cancel_racing_capture_or_ship_ends_in_one_of_them_twenty_times_over() {
    let slow_provider = |config: &mut ServerConfig| config.payment_gateway.latency = Duration::from_millis(20);
    for backend in backends("cancel_racing_capture_or_ship_ends_in_one_of_them_twenty_times_over", slow_provider).await
    {
        let server = &backend.server;
        stock(server, "desk", 1_000, 120.0).await;
        let shop = server.state.commerce.get().await.expect("shop");
        let mut tally = std::collections::BTreeMap::<String, usize>::new();
        for repetition in 0..20 {
            // An authorised order: cancel and capture at once.
            let order_id = place(server, "desk", 1).await;
            let before = on_hand(server, "desk").await.0;
            let answers = parallel(server, 2, |n| {
                let action = if n == 0 { "cancel" } else { "capture" };
                (Method::POST, format!("/v1/admin/orders/{order_id}/{action}"), None)
            })
            .await;
            let order = read_order(server, &order_id).await;
            let authorization = shop.checkout.gateway().authorization(&order.authorization_id).expect("provider");
            let won: Vec<bool> = answers.iter().map(|answer| answer.status == StatusCode::OK).collect();
            let cancelled = order.status == vitrine_commerce::OrderStatus::Cancelled;
            assert!(won.iter().any(|&won| won), "{} #{repetition}: one of them", backend.name);
            assert_eq!(
                on_hand(server, "desk").await.0,
                before + i64::from(cancelled),
                "{} #{repetition}",
                backend.name
            );
            assert_eq!(
                (authorization.captured_cents, authorization.refunded_cents),
                (order.captured_cents, order.refunded_cents),
                "{} #{repetition}: the provider and the order agree",
                backend.name
            );
            *tally.entry(format!("cancel {} / capture {}", won[0], won[1])).or_default() += 1;

            // A picked order: cancel and ship at once — exactly one.
            let order_id = place(server, "desk", 1).await;
            assert_eq!(admin(server, &order_id, "picked", None).await.status, StatusCode::OK);
            let before = on_hand(server, "desk").await.0;
            let answers = parallel(server, 2, |n| {
                if n == 0 {
                    (Method::POST, format!("/v1/admin/orders/{order_id}/cancel"), None)
                } else {
                    (Method::POST, format!("/v1/admin/orders/{order_id}/events"), Some(json!({"kind": "shipped"})))
                }
            })
            .await;
            let won: Vec<bool> = answers.iter().map(|answer| answer.status == StatusCode::OK).collect();
            assert_eq!(won.iter().filter(|&&won| won).count(), 1, "{} #{repetition}: exactly one", backend.name);
            let order = read_order(server, &order_id).await;
            let cancelled = order.status == vitrine_commerce::OrderStatus::Cancelled;
            assert_eq!(cancelled, won[0], "{} #{repetition}", backend.name);
            assert_eq!(
                on_hand(server, "desk").await.0,
                before + i64::from(cancelled),
                "{} #{repetition}",
                backend.name
            );
            *tally.entry(format!("cancel {} / ship {}", won[0], won[1])).or_default() += 1;
        }
        eprintln!("{}: {tally:?}", backend.name);
        backend.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_parallel_refunds_never_exceed_the_capture_twenty_times_over() {
    for backend in backends("twenty_parallel_refunds_never_exceed_the_capture_twenty_times_over", |_| {}).await {
        let server = &backend.server;
        stock(server, "rug", 1_000, 99.0).await;
        let shop = server.state.commerce.get().await.expect("shop");
        for repetition in 0..20 {
            let order_id = place(server, "rug", 1).await;
            assert_eq!(admin(server, &order_id, "capture", None).await.status, StatusCode::OK);
            let total = read_order(server, &order_id).await.total_cents;
            let part = total / 3 + 1;
            let answers = parallel(server, 20, |_| {
                (Method::POST, format!("/v1/orders/{order_id}/refunds"), Some(json!({"amount_cents": part})))
            })
            .await;
            let succeeded = answers.iter().filter(|answer| answer.status == StatusCode::CREATED).count();
            let order = read_order(server, &order_id).await;
            let provider = shop.checkout.gateway().authorization(&order.authorization_id).expect("provider");
            assert!(order.refunded_cents <= total, "{} #{repetition}: refunded more than captured", backend.name);
            assert_eq!(order.refunded_cents, part * i64::try_from(succeeded).expect("count"), "{}", backend.name);
            assert_eq!(provider.refunded_cents, order.refunded_cents, "{} #{repetition}", backend.name);
            assert!(succeeded <= 2, "{} #{repetition}: {succeeded} refunds of a third and a penny", backend.name);
        }
        backend.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_checkout_cut_off_mid_authorisation_finishes_and_its_retry_gets_the_answer() {
    let slow = |config: &mut ServerConfig| {
        config.payment_gateway.latency = Duration::from_millis(400);
        config.request_timeout = Duration::from_millis(250);
    };
    for backend in backends("a_checkout_cut_off_mid_authorisation_finishes_and_its_retry_gets_the_answer", slow).await {
        let server = &backend.server;
        stock(server, "bowl", 10, 8.0).await;
        // The client hangs up; the server's own timeout cuts the next one.
        for (cut, key) in [("hang-up", "cut-1"), ("timeout", "cut-2")] {
            let cart = cart(server, "bowl", 2).await;
            let body = checkout_body(&cart.0, "pm_card_visa");
            if cut == "hang-up" {
                let router = server.router.clone();
                let mut first = request(Method::POST, "/v1/checkout", None, Some(&body.to_string()));
                first.headers_mut().insert("idempotency-key", key.parse().expect("key"));
                first.headers_mut().insert("x-cart-token", cart.1.parse().expect("token"));
                let hung_up =
                    tokio::time::timeout(Duration::from_millis(50), tower::ServiceExt::oneshot(router, first)).await;
                assert!(hung_up.is_err(), "the client went away before the answer");
            } else {
                let timed_out = checkout(server, &cart, "pm_card_visa", Some(key)).await;
                assert_eq!(timed_out.status, StatusCode::REQUEST_TIMEOUT, "{}", timed_out.text);
            }
            // The client retries after a pause (a retry sooner waits for the first, within its
            // own timeout).
            tokio::time::sleep(Duration::from_millis(500)).await;
            let retry = checkout(server, &cart, "pm_card_visa", Some(key)).await;
            let (status, placed) = retry.parts();
            assert_eq!(
                (status, placed["status"].as_str()),
                (StatusCode::CREATED, Some("placed")),
                "{}: {cut}: {placed}",
                backend.name
            );
        }
        let shop = server.state.commerce.get().await.expect("shop");
        assert_eq!(shop.store.count_orders().await.expect("count"), 2, "{}: one order per cart", backend.name);
        assert_eq!(on_hand(server, "bowl").await, (6, 0), "{}: stock exact", backend.name);
        assert_eq!(shop.checkout.gateway().holds_made(), 2, "{}: one authorisation each", backend.name);
        assert_eq!(shop.checkout.gateway().open_authorizations().await.expect("list").len(), 2);
        backend.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_checkout_stuck_past_its_deadline_is_swept_without_a_restart() {
    let stuck = |config: &mut ServerConfig| {
        config.payment_gateway.latency = Duration::from_millis(1_500);
        config.commerce_deadlines.stuck_after = Duration::from_millis(500);
        config.commerce_deadlines.sweep_every = Duration::from_millis(100);
    };
    for backend in backends("a_checkout_stuck_past_its_deadline_is_swept_without_a_restart", stuck).await {
        let server = &backend.server;
        stock(server, "jug", 3, 12.0).await;
        let cart = cart(server, "jug", 1).await;
        // The provider hangs past the deadline: the sweep takes the checkout over and
        // compensates it; what the provider authorises afterwards is voided. The request answers
        // where the checkout stands (202 while the sweep finishes, or its failure).
        let answer = checkout(server, &cart, "pm_card_visa", None).await;
        let body = answer.json();
        assert!(
            matches!(body["status"].as_str(), Some("in_progress")) || body["code"] == "payment_declined",
            "{}: {body}",
            backend.name
        );
        let mut seen = Value::Null;
        for _ in 0..100 {
            let shop = server.state.commerce.get().await.expect("shop");
            let checkout_id = sqlx::query("SELECT id FROM checkouts").fetch_one(shop.store.pool()).await.expect("row");
            let checkout_id: String = checkout_id.try_get("id").expect("id");
            seen =
                send(server, Method::GET, &format!("/v1/checkout/{checkout_id}"), None, &[("x-cart-token", &cart.1)])
                    .await
                    .json();
            if seen["status"] == "failed" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(
            (seen["status"].as_str(), seen["failure"].as_str()),
            (Some("failed"), Some("interrupted")),
            "{seen}"
        );
        assert_eq!(on_hand(server, "jug").await, (3, 0), "{}", backend.name);
        let shop = server.state.commerce.get().await.expect("shop");
        assert_eq!(shop.store.count_orders().await.expect("count"), 0);
        assert!(
            shop.checkout.gateway().open_authorizations().await.expect("list").is_empty(),
            "{}: nothing held",
            backend.name
        );
        backend.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn idempotency_keys_behave_as_stripe_documents() {
    let slow = |config: &mut ServerConfig| config.payment_gateway.latency = Duration::from_millis(300);
    for backend in backends("idempotency_keys_behave_as_stripe_documents", slow).await {
        let server = &backend.server;
        stock(server, "cup", 100, 3.0).await;
        let order_id = place(server, "cup", 2).await;
        assert_eq!(admin(server, &order_id, "capture", None).await.status, StatusCode::OK);
        // A key that is not printable ASCII is refused, never ignored: no refund at all.
        let refund = format!("/v1/orders/{order_id}/refunds");
        for key in ["café-1", "tab\tkey", &"k".repeat(256)] {
            let refused =
                send(server, Method::POST, &refund, Some(&json!({"amount_cents": 100})), &[("idempotency-key", key)])
                    .await;
            assert_eq!(
                (refused.status, refused.error_code().as_str()),
                (StatusCode::BAD_REQUEST, "invalid_idempotency_key")
            );
        }
        assert_eq!(read_order(server, &order_id).await.refunded_cents, 0, "{}", backend.name);

        // A conflict is not stored: the key is free once the other checkout is done.
        let cart = cart(server, "cup", 1).await;
        let first = {
            let router = server.router.clone();
            let body = checkout_body(&cart.0, "pm_card_visa").to_string();
            let token = cart.1.clone();
            tokio::spawn(async move {
                let mut first = request(Method::POST, "/v1/checkout", None, Some(&body));
                first.headers_mut().insert("idempotency-key", "conflict-0".parse().expect("key"));
                first.headers_mut().insert("x-cart-token", token.parse().expect("token"));
                tower::ServiceExt::oneshot(router, first).await.expect("infallible").status()
            })
        };
        tokio::time::sleep(Duration::from_millis(100)).await;
        let conflict = checkout(server, &cart, "pm_card_visa", Some("conflict-1")).await;
        assert_eq!(conflict.error_code(), "checkout_in_progress", "{}", conflict.text);
        assert_eq!(first.await.expect("first"), StatusCode::CREATED);
        let again = checkout(server, &cart, "pm_card_visa", Some("conflict-1")).await;
        assert_eq!(again.error_code(), "cart_closed", "not a replay of the conflict: {}", again.text);
        assert!(again.headers.get("idempotent-replayed").is_none());

        // Scopes: two shoppers' carts with one key never collide.
        let (a, b) = (self::cart(server, "cup", 1).await, self::cart(server, "cup", 3).await);
        assert_eq!(checkout(server, &a, "pm_card_visa", Some("my-order")).await.status, StatusCode::CREATED);
        let other = checkout(server, &b, "pm_card_visa", Some("my-order")).await;
        assert_eq!(other.status, StatusCode::CREATED, "{}: {}", backend.name, other.text);

        // Keys expire after 24 hours: an old key is a new request; old rows are pruned.
        let shop = server.state.commerce.get().await.expect("shop");
        let key = [("idempotency-key", "refund-k")];
        let first = send(server, Method::POST, &refund, Some(&json!({"amount_cents": 100})), &key).await;
        assert_eq!(first.status, StatusCode::CREATED, "{}", first.text);
        let reused = send(server, Method::POST, &refund, Some(&json!({"amount_cents": 200})), &key).await;
        assert_eq!(reused.error_code(), "idempotency_key_reused");
        let day_ago = chrono::Utc::now().timestamp_millis() - 25 * 3600 * 1000;
        sqlx::query("UPDATE idempotency_keys SET created_at = $1 WHERE idempotency_key IN ('refund-k', 'my-order')")
            .bind(day_ago)
            .execute(shop.store.pool())
            .await
            .expect("age the keys");
        let renewed = send(server, Method::POST, &refund, Some(&json!({"amount_cents": 200})), &key).await;
        assert_eq!(renewed.status, StatusCode::CREATED, "{}", renewed.text);
        assert!(renewed.headers.get("idempotent-replayed").is_none());
        assert_eq!(read_order(server, &order_id).await.refunded_cents, 300);
        let purged = shop.store.idempotency_purge(chrono::Utc::now().timestamp_millis()).await.expect("purge");
        assert_eq!(purged, 2, "{}: the two aged checkout keys", backend.name);
        backend.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provider_webhooks_are_verified_and_applied_once() {
    let late = |config: &mut ServerConfig| config.payment_gateway.late_answer = Duration::from_millis(100);
    for backend in backends("provider_webhooks_are_verified_and_applied_once", late).await {
        let server = &backend.server;
        stock(server, "clock", 10, 25.0).await;
        let shop = server.state.commerce.get().await.expect("shop");
        let gateway = shop.checkout.gateway().clone();
        let order_id = place(server, "clock", 1).await;
        assert_eq!(admin(server, &order_id, "capture", None).await.status, StatusCode::OK);
        let captured = gateway.take_events();
        assert_eq!(captured.len(), 1);

        // Signatures: wrong, stale, missing → refused; a provider we do not have → 404.
        let body = serde_json::to_value(&captured[0]).expect("event");
        let secret = server.state.access.simulated_webhook_secret().expect("secret");
        let now = chrono::Utc::now().timestamp();
        let bytes = serde_json::to_vec(&captured[0]).expect("bytes");
        for header in [
            sign_webhook(b"not the secret", now, &bytes),
            sign_webhook(secret.as_bytes(), now - 600, &bytes),
            String::new(),
        ] {
            let refused = send(
                server,
                Method::POST,
                "/v1/webhooks/payments/simulated",
                Some(&body),
                &[("vitrine-signature", &header)],
            )
            .await;
            assert_eq!(
                (refused.status, refused.error_code().as_str()),
                (StatusCode::BAD_REQUEST, "invalid_webhook_signature")
            );
        }
        let unknown = send(server, Method::POST, "/v1/webhooks/payments/stripe", Some(&body), &[]).await;
        assert_eq!(unknown.status, StatusCode::NOT_FOUND);

        // Our own capture reported back: already recorded; the same event again: a duplicate.
        let (status, first) = deliver(server, &captured[0]).await.parts();
        assert_eq!((status, first["outcome"]["result"].as_str()), (StatusCode::OK, Some("noted")), "{first}");
        assert_eq!(deliver(server, &captured[0]).await.json()["outcome"]["result"], "duplicate");

        // A refund made in the provider's dashboard: recorded once, however often delivered.
        let order = read_order(server, &order_id).await;
        gateway.refund_outside(&order.authorization_id, 500).expect("refund");
        let refunded = gateway.take_events();
        for _ in 0..3 {
            assert_eq!(deliver(server, &refunded[0]).await.status, StatusCode::OK);
        }
        let order = read_order(server, &order_id).await;
        assert_eq!((order.status, order.refunded_cents), (vitrine_commerce::OrderStatus::PartiallyRefunded, 500));
        // A dispute.
        gateway.dispute(&order.authorization_id).expect("dispute");
        assert_eq!(deliver(server, &gateway.take_events()[0]).await.json()["outcome"]["result"], "applied");
        assert_eq!(read_order(server, &order_id).await.status, vitrine_commerce::OrderStatus::Disputed);

        // A late answer: the checkout waits (202 processing), the webhook places the order.
        let cart = cart(server, "clock", 1).await;
        let waiting = checkout(server, &cart, "pm_vitrine_late", None).await;
        let (status, body) = waiting.parts();
        assert_eq!((status, body["status"].as_str()), (StatusCode::ACCEPTED, Some("processing")), "{body}");
        let events =
            tokio::time::timeout(Duration::from_secs(10), gateway.next_events()).await.expect("the late answer");
        assert_eq!(deliver(server, &events[0]).await.status, StatusCode::OK);
        let checkout_id = body["checkout_id"].as_str().expect("checkout");
        let seen =
            send(server, Method::GET, &format!("/v1/checkout/{checkout_id}"), None, &[("x-cart-token", &cart.1)]).await;
        assert_eq!(seen.json()["status"], "placed", "{}", seen.text);

        // An authorisation that ran out: the order says so, and a cancel needs no void.
        let expiring = place(server, "clock", 2).await;
        gateway.expire(chrono::Utc::now().timestamp_millis() + 30 * 24 * 3600 * 1000);
        for event in gateway.take_events() {
            assert_eq!(deliver(server, &event).await.status, StatusCode::OK);
        }
        assert_eq!(read_order(server, &expiring).await.status, vitrine_commerce::OrderStatus::AuthorizationExpired);
        let before = on_hand(server, "clock").await.0;
        assert_eq!(admin(server, &expiring, "cancel", None).await.status, StatusCode::OK);
        assert_eq!(on_hand(server, "clock").await.0, before + 2);
        backend.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn returns_are_for_shipped_orders_with_their_own_items() {
    for backend in backends("returns_are_for_shipped_orders_with_their_own_items", |_| {}).await {
        let server = &backend.server;
        stock(server, "plate", 10, 6.0).await;
        let order_id = place(server, "plate", 2).await;
        let returns = format!("/v1/orders/{order_id}/returns");
        let item = |product: &str, quantity: i64| json!({"items": [{"product_id": product, "quantity": quantity}]});
        let early = send(server, Method::POST, &returns, Some(&item("plate", 1)), &[]).await;
        assert_eq!(early.error_code(), "invalid_order_state");
        for step in ["picked", "shipped", "delivered"] {
            assert_eq!(admin(server, &order_id, step, None).await.status, StatusCode::OK, "{step}");
        }
        for (body, why) in [
            (item("bowl", 1), "not in the order"),
            (item("plate", 3), "more than ordered"),
            (item("plate", 0), "nothing"),
            (json!({"items": []}), "no items"),
            (json!({"items": [{"product_id": "plate", "quantity": 1}], "reason": "x".repeat(501)}), "reason too long"),
            (json!({"items": ["plate"]}), "not an item"),
        ] {
            let refused = send(server, Method::POST, &returns, Some(&body), &[]).await;
            assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{why}: {}", refused.text);
        }
        let returned = send(server, Method::POST, &returns, Some(&item("plate", 2)), &[]).await;
        assert_eq!(
            (returned.status, returned.json()["status"].as_str()),
            (StatusCode::CREATED, Some("return_requested"))
        );
        let twice = send(server, Method::POST, &returns, Some(&item("plate", 1)), &[]).await;
        assert_eq!(twice.error_code(), "invalid_order_state");
        backend.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn money_inputs_are_positive_exact_iso_and_bounded() {
    for backend in backends("money_inputs_are_positive_exact_iso_and_bounded", |_| {}).await {
        let server = &backend.server;
        let put = |product: &'static str, body: Value| async move {
            server.put(&format!("/v1/admin/stock/{product}"), None, &body).await
        };
        for (body, code, why) in [
            (json!({"on_hand": 5, "price": 1e300}), "amount_too_large", "an absurd price"),
            (json!({"on_hand": 5, "price": 1_000_000.0}), "amount_too_large", "above the providers' limit"),
            (json!({"on_hand": 5, "price": 0.004}), "invalid_amount", "finer than a penny"),
            (json!({"on_hand": 5, "price": 0.0}), "invalid_amount", "free"),
            (json!({"on_hand": 5, "price": -2.5}), "invalid_amount", "negative"),
            (json!({"on_hand": 5, "price": 3.0, "currency": "ZZZ"}), "invalid_currency", "not a currency"),
            (json!({"on_hand": 5, "price": 3.0, "currency": "XAU"}), "invalid_currency", "gold is not money here"),
            (json!({"on_hand": -1, "price": 3.0}), "invalid_amount", "negative stock"),
            (json!({"on_hand": 2_000_000_000_i64, "price": 3.0}), "invalid_amount", "absurd stock"),
            (json!({"on_hand": 5, "price": 12.5, "currency": "JPY"}), "invalid_amount", "yen have no minor unit"),
        ] {
            let refused = put("rug", body).await;
            assert_eq!((refused.status, refused.error_code()), (StatusCode::BAD_REQUEST, code.to_owned()), "{why}");
            let shop = server.state.commerce.get().await.expect("shop");
            assert!(shop.store.sku("rug").await.expect("read").is_none(), "{why}: a refused write leaves no SKU");
        }
        // The stock as the admin reads it back; a product without a SKU is not for sale.
        let read = send(server, Method::GET, "/v1/admin/stock/rug", None, &[]).await;
        assert_eq!((read.status, read.error_code()), (StatusCode::NOT_FOUND, "product_not_for_sale".to_owned()));
        // Exact amounts pass, in the currency's own minor unit.
        let yen = put("tea", json!({"on_hand": 5, "price": 1500, "currency": "jpy"})).await;
        assert_eq!((yen.status, yen.json()["currency"].as_str()), (StatusCode::OK, Some("JPY")), "{}", yen.text);
        let dinar = put("oud", json!({"on_hand": 5, "price": 12.345, "currency": "KWD"})).await;
        assert_eq!(dinar.json()["price"], 12.345, "{}", dinar.text);
        let repriced = put("tea", json!({"on_hand": 5, "price": 1600, "currency": "EUR"})).await;
        assert_eq!(repriced.error_code(), "invalid_currency", "a SKU keeps its currency");
        let tea = send(server, Method::GET, "/v1/admin/stock/tea", None, &[]).await.json();
        assert_eq!(
            (tea["on_hand"].as_i64(), tea["price"].as_f64(), tea["currency"].as_str()),
            (Some(5), Some(1500.0), Some("JPY"))
        );

        // The most a product may cost is accepted; a cart above what a payment may take is
        // refused before anything is held or charged.
        stock(server, "piano", 3, 999_999.99).await;
        let cart = cart(server, "piano", 2).await;
        let refused = checkout(server, &cart, "pm_card_visa", Some("big-order")).await;
        assert_eq!((refused.status, refused.error_code()), (StatusCode::BAD_REQUEST, "amount_too_large".to_owned()));
        assert_eq!(on_hand(server, "piano").await, (3, 0), "nothing held");
        let shop = server.state.commerce.get().await.expect("shop");
        assert!(shop.checkout.gateway().open_authorizations().await.expect("list").is_empty(), "nothing authorised");

        // Coupons: a percentage between 1 and 100, an exact positive amount, at least one use.
        for (body, code) in [
            (json!({"percent": 0, "max_uses": 5}), "invalid_commerce_request"),
            (json!({"percent": 150, "max_uses": 5}), "invalid_commerce_request"),
            (json!({"amount": 0.001, "max_uses": 5}), "invalid_amount"),
            (json!({"amount": 5.0, "max_uses": 0}), "invalid_commerce_request"),
            (json!({"amount": 5.0, "min_subtotal": -1.0, "max_uses": 5}), "invalid_amount"),
        ] {
            let refused = server.put("/v1/admin/coupons/SAVE", None, &body).await;
            assert_eq!(refused.error_code(), code, "{body}");
        }
        let coupon = server.put("/v1/admin/coupons/SAVE", None, &json!({"percent": 100, "max_uses": 5})).await;
        assert_eq!(coupon.status, StatusCode::OK, "{}", coupon.text);
        backend.cleanup().await;
    }
    // Prices that came in before the ceiling (a catalog seed) cannot make a total wrap: 100
    // lines of 999 units at 10^14 pence each overflow i64, and the checkout says so (400).
    let server = Server::open();
    let shop = server.state.commerce.get().await.expect("shop");
    let seeds: Vec<_> = (0..100)
        .map(|i| vitrine_commerce::SkuSeed {
            product_id: format!("gold-{i}"),
            price: vitrine_models::Money::from_minor_units(100_000_000_000_000, vitrine_models::Currency::GBP),
            on_hand: 1_000,
        })
        .collect();
    shop.store.seed_skus(&seeds).await.expect("seed");
    let lines: Vec<(String, i64)> = (0..100).map(|i| (format!("gold-{i}"), 999)).collect();
    let lines: Vec<(&str, i64)> = lines.iter().map(|(id, quantity)| (id.as_str(), *quantity)).collect();
    let hoard = crate::commerce::cart(&server, &lines).await;
    let refused = checkout(&server, &hoard, "pm_card_visa", None).await;
    assert_eq!((refused.status, refused.error_code()), (StatusCode::BAD_REQUEST, "amount_too_large".to_owned()));
    assert_eq!(shop.store.count_orders().await.expect("count"), 0);
    assert_eq!(on_hand(&server, "gold-7").await, (1_000, 0), "nothing held");

    // A shop's own, lower ceiling (--commerce-max-price), in each product's major units.
    let server = Server::with(|config| config.commerce_max_price = Some(5_000.0));
    stock(&server, "chair", 5, 5_000.0).await;
    let above = server.put("/v1/admin/stock/sofa", None, &json!({"on_hand": 5, "price": 5_000.01})).await;
    assert_eq!((above.status, above.error_code()), (StatusCode::BAD_REQUEST, "amount_too_large".to_owned()));
    let shop = server.state.commerce.get().await.expect("shop");
    assert!(shop.store.sku("sofa").await.expect("read").is_none());
}
