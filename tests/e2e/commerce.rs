//! Carts, checkout and orders over HTTP, end to end on the real router and a real SQLite
//! database: stock from the admin API, a guest cart with its token, an idempotent checkout
//! (replayed, refused with other parameters, 50 parallel retries making one order and one
//! authorisation), stock-outs and declines as stable error codes, capture, refunds, returns.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::{Answer, Server, request};

/// `method uri` with a JSON body and extra headers (any bytes: a test may send a non-ASCII one).
pub(crate) async fn send(
    server: &Server,
    method: Method,
    uri: &str,
    body: Option<&Value>,
    headers: &[(&str, &str)],
) -> Answer {
    let text = body.map(Value::to_string);
    let mut request = request(method, uri, None, text.as_deref());
    for (name, value) in headers {
        request.headers_mut().insert(
            axum::http::HeaderName::from_bytes(name.as_bytes()).expect("header name"),
            axum::http::HeaderValue::from_bytes(value.as_bytes()).expect("header value"),
        );
    }
    server.call(request).await
}

/// Sets `product`'s stock and price through the admin API.
pub(crate) async fn stock(server: &Server, product: &str, on_hand: i64, price: f64) {
    let answer =
        server.put(&format!("/v1/admin/stock/{product}"), None, &json!({"on_hand": on_hand, "price": price})).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
}

/// A guest cart holding `lines`; returns (id, token).
pub(crate) async fn cart(server: &Server, lines: &[(&str, i64)]) -> (String, String) {
    let (status, body) = send(server, Method::POST, "/v1/carts", None, &[]).await.parts();
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (id, token) = (body["id"].as_str().expect("id").to_owned(), body["token"].as_str().expect("token").to_owned());
    for (product, quantity) in lines {
        let answer = send(
            server,
            Method::POST,
            &format!("/v1/carts/{id}/items"),
            Some(&json!({"product_id": product, "quantity": quantity})),
            &[("x-cart-token", &token)],
        )
        .await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    }
    (id, token)
}

fn checkout_body(cart_id: &str, payment_method: &str) -> Value {
    json!({"cart_id": cart_id, "payment": {"payment_method": payment_method}, "shipping_address": {"line1": "1 High St", "city": "London"}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guest_buys_idempotently_and_the_order_is_captured_refunded_and_returned() {
    let server = Server::open();
    stock(&server, "85123A", 10, 2.95).await;
    stock(&server, "22423", 2, 12.75).await;

    let (cart_id, token) = cart(&server, &[("85123A", 2)]).await;
    // The token guards the cart.
    let stranger = send(&server, Method::GET, &format!("/v1/carts/{cart_id}"), None, &[("x-cart-token", "nope")]).await;
    assert_eq!((stranger.status, stranger.error_code().as_str()), (StatusCode::FORBIDDEN, "invalid_cart_token"));
    let unknown = send(
        &server,
        Method::POST,
        &format!("/v1/carts/{cart_id}/items"),
        Some(&json!({"product_id": "ghost", "quantity": 1})),
        &[("x-cart-token", &token)],
    )
    .await;
    assert_eq!(unknown.error_code(), "product_not_for_sale");
    let patched = send(
        &server,
        Method::PATCH,
        &format!("/v1/carts/{cart_id}/items/85123A"),
        Some(&json!({"quantity": 3})),
        &[("x-cart-token", &token)],
    )
    .await;
    let (status, body) = patched.parts();
    assert_eq!(status, StatusCode::OK, "{body}");
    // Prices come from commerce: 3 × 2.95 + 4.95 shipping.
    assert_eq!(body["totals"]["total_cents"], 3 * 295 + 495, "{body}");
    assert_eq!(body["currency"], "GBP", "{body}");

    let key = [("idempotency-key", "order-attempt-1"), ("x-cart-token", token.as_str())];
    let first = send(&server, Method::POST, "/v1/checkout", Some(&checkout_body(&cart_id, "pm_card_visa")), &key).await;
    let (status, order) = first.parts();
    assert_eq!(status, StatusCode::CREATED, "{order}");
    let order_id = order["order_id"].as_str().expect("order id").to_owned();
    assert!(order["order_number"].as_str().is_some_and(|number| number.starts_with("VT-")));
    let replay =
        send(&server, Method::POST, "/v1/checkout", Some(&checkout_body(&cart_id, "pm_card_visa")), &key).await;
    assert_eq!((replay.status, replay.text.as_str()), (StatusCode::CREATED, first.text.as_str()), "replayed as is");
    assert_eq!(replay.headers.get("idempotent-replayed").and_then(|v| v.to_str().ok()), Some("true"));
    let mut elsewhere = checkout_body(&cart_id, "pm_card_visa");
    elsewhere["shipping_address"]["city"] = "Leeds".into();
    let other = send(&server, Method::POST, "/v1/checkout", Some(&elsewhere), &key).await;
    assert_eq!(
        (other.status, other.error_code().as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "idempotency_key_reused")
    );

    let (status, placed) = server.get(&format!("/v1/orders/{order_id}"), None).await.parts();
    assert_eq!((status, placed["status"].as_str()), (StatusCode::OK, Some("authorized")), "{placed}");
    let early = send(
        &server,
        Method::POST,
        &format!("/v1/orders/{order_id}/refunds"),
        Some(&json!({"amount_cents": 100})),
        &[],
    )
    .await;
    assert_eq!(early.error_code(), "invalid_order_state");
    let captured = send(&server, Method::POST, &format!("/v1/admin/orders/{order_id}/capture"), None, &[]).await;
    assert_eq!(captured.parts().1["status"], "captured", "{}", captured.text);
    for kind in ["picked", "shipped", "delivered"] {
        let step = send(
            &server,
            Method::POST,
            &format!("/v1/admin/orders/{order_id}/events"),
            Some(&json!({"kind": kind})),
            &[],
        )
        .await;
        assert_eq!(step.status, StatusCode::OK, "{kind}: {}", step.text);
    }
    let returned = send(
        &server,
        Method::POST,
        &format!("/v1/orders/{order_id}/returns"),
        Some(&json!({"items": [{"product_id": "85123A", "quantity": 1}], "reason": "broken"})),
        &[],
    )
    .await;
    assert_eq!(returned.parts().1["status"], "return_requested");
    let refund_key = [("idempotency-key", "refund-1")];
    let refund = send(
        &server,
        Method::POST,
        &format!("/v1/orders/{order_id}/refunds"),
        Some(&json!({"amount_cents": 295})),
        &refund_key,
    )
    .await;
    let (status, refunded) = refund.parts();
    assert_eq!(
        (status, refunded["status"].as_str(), refunded["refunded_cents"].as_i64()),
        (StatusCode::CREATED, Some("partially_refunded"), Some(295))
    );
    let again = send(
        &server,
        Method::POST,
        &format!("/v1/orders/{order_id}/refunds"),
        Some(&json!({"amount_cents": 295})),
        &refund_key,
    )
    .await;
    assert_eq!(again.text, refund.text, "a retried refund moves no more money");

    // Stock-outs and declines: stable codes, nothing held.
    let short_cart = cart(&server, &[("22423", 2)]).await;
    let other_cart = cart(&server, &[("22423", 2)]).await;
    let ok = send(
        &server,
        Method::POST,
        "/v1/checkout",
        Some(&checkout_body(&short_cart.0, "pm_card_visa")),
        &[("x-cart-token", &short_cart.1)],
    )
    .await;
    assert_eq!(ok.status, StatusCode::CREATED, "{}", ok.text);
    let fulfilled = ok.parts().1["order_id"].as_str().expect("order").to_owned();
    // Fulfilment over HTTP: out of order is refused, shipping after picking.
    let early_ship = send(
        &server,
        Method::POST,
        &format!("/v1/admin/orders/{fulfilled}/events"),
        Some(&json!({"kind": "shipped"})),
        &[],
    )
    .await;
    assert_eq!(early_ship.error_code(), "invalid_order_state");
    for kind in ["picked", "shipped", "delivered"] {
        let step = send(
            &server,
            Method::POST,
            &format!("/v1/admin/orders/{fulfilled}/events"),
            Some(&json!({"kind": kind})),
            &[],
        )
        .await;
        assert_eq!(step.status, StatusCode::OK, "{kind}: {}", step.text);
    }
    let late = send(&server, Method::POST, &format!("/v1/admin/orders/{fulfilled}/cancel"), None, &[]).await;
    assert_eq!(late.error_code(), "invalid_order_state");

    let out = send(
        &server,
        Method::POST,
        "/v1/checkout",
        Some(&checkout_body(&other_cart.0, "pm_card_visa")),
        &[("x-cart-token", &other_cart.1)],
    )
    .await;
    assert_eq!((out.status, out.error_code().as_str()), (StatusCode::CONFLICT, "out_of_stock"));
    stock(&server, "22423", 5, 12.75).await;
    let declined = send(
        &server,
        Method::POST,
        "/v1/checkout",
        Some(&checkout_body(&other_cart.0, "pm_card_chargeDeclined")),
        &[("x-cart-token", &other_cart.1)],
    )
    .await;
    assert_eq!((declined.status, declined.error_code().as_str()), (StatusCode::PAYMENT_REQUIRED, "payment_declined"));
    assert!(declined.text.contains("card_declined"), "{}", declined.text);
    let (status, sku) = server.put("/v1/admin/stock/22423", None, &json!({"on_hand": 5})).await.parts();
    assert_eq!(
        (status, sku["reserved"].as_i64()),
        (StatusCode::OK, Some(0)),
        "the declined checkout holds nothing: {sku}"
    );
    // A coupon with one use: the first cart gets it, the second is refused at checkout.
    let coupon = server.put("/v1/admin/coupons/spring", None, &json!({"percent": 20, "max_uses": 1})).await;
    assert_eq!(coupon.status, StatusCode::OK, "{}", coupon.text);
    let mut coupon_carts = Vec::new();
    for _ in 0..2 {
        let (id, token) = cart(&server, &[("85123A", 1)]).await;
        let applied = send(
            &server,
            Method::PUT,
            &format!("/v1/carts/{id}/coupon"),
            Some(&json!({"code": "SPRING"})),
            &[("x-cart-token", &token)],
        )
        .await;
        let (status, view) = applied.parts();
        assert_eq!(
            (status, view["coupon"].as_str(), view["totals"]["discount_cents"].as_i64()),
            (StatusCode::OK, Some("SPRING"), Some(59))
        );
        coupon_carts.push((id, token));
    }
    let first = send(
        &server,
        Method::POST,
        "/v1/checkout",
        Some(&checkout_body(&coupon_carts[0].0, "pm_card_visa")),
        &[("x-cart-token", &coupon_carts[0].1)],
    )
    .await;
    assert_eq!((first.status, first.parts().1["totals"]["discount_cents"].as_i64()), (StatusCode::CREATED, Some(59)));
    let second = send(
        &server,
        Method::POST,
        "/v1/checkout",
        Some(&checkout_body(&coupon_carts[1].0, "pm_card_visa")),
        &[("x-cart-token", &coupon_carts[1].1)],
    )
    .await;
    assert_eq!((second.status, second.error_code().as_str()), (StatusCode::CONFLICT, "coupon_exhausted"));

    let bad = send(
        &server,
        Method::POST,
        "/v1/checkout",
        Some(&json!({"cart_id": other_cart.0})),
        &[("idempotency-key", "k-bad"), ("x-cart-token", &other_cart.1)],
    )
    .await;
    assert_eq!((bad.status, bad.error_code().as_str()), (StatusCode::BAD_REQUEST, "malformed_payload"));
    // A request that failed validation leaves its key free: a retry runs (and is judged) again.
    let again = send(
        &server,
        Method::POST,
        "/v1/checkout",
        Some(&json!({"cart_id": other_cart.0})),
        &[("idempotency-key", "k-bad"), ("x-cart-token", &other_cart.1)],
    )
    .await;
    assert_eq!(again.error_code(), "malformed_payload", "the same bad body runs again, it is not a replay");
    assert!(again.headers.get("idempotent-replayed").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_parallel_retries_with_one_key_make_one_order_and_one_authorisation() {
    let server = Server::open();
    stock(&server, "lamp", 100, 20.0).await;
    let (cart_id, cart_token) = cart(&server, &[("lamp", 1)]).await;
    let body = checkout_body(&cart_id, "pm_card_visa");
    let mut attempts = Vec::new();
    for _ in 0..50 {
        let router = server.router.clone();
        let text = body.to_string();
        let cart_token = cart_token.clone();
        attempts.push(tokio::spawn(async move {
            let mut request = request(Method::POST, "/v1/checkout", None, Some(&text));
            request.headers_mut().insert("idempotency-key", "the-one-key".parse().expect("value"));
            request.headers_mut().insert("x-cart-token", cart_token.parse().expect("value"));
            let response = tower::ServiceExt::oneshot(router, request).await.expect("infallible");
            let status = response.status();
            let bytes = http_body_util::BodyExt::collect(response.into_body()).await.expect("body").to_bytes();
            (status, String::from_utf8(bytes.to_vec()).expect("utf-8"))
        }));
    }
    let mut created = Vec::new();
    for attempt in attempts {
        let (status, text) = attempt.await.expect("task");
        match status {
            StatusCode::CREATED => created.push(text),
            StatusCode::CONFLICT => assert!(text.contains("idempotency_key_in_use"), "{text}"),
            other => panic!("{other}: {text}"),
        }
    }
    assert!(!created.is_empty());
    assert!(created.windows(2).all(|pair| pair[0] == pair[1]), "every success is the same answer");
    let shop = server.state.commerce.get().await.expect("shop");
    assert_eq!(shop.store.count_orders().await.expect("count"), 1);
    assert_eq!(shop.checkout.gateway().holds_made(), 1, "one authorisation");
    assert_eq!(shop.store.sku("lamp").await.expect("read").expect("exists").on_hand, 99);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn holding_from_add_to_cart_keeps_the_last_unit_for_the_first_cart() {
    let server = Server::with(|config| config.commerce_hold_at_add_to_cart = true);
    stock(&server, "last-vase", 1, 40.0).await;
    let first = cart(&server, &[("last-vase", 1)]).await;
    // The second shopper cannot even put it in a cart: the unit is held for the first.
    let (second, token) = cart(&server, &[]).await;
    let refused = send(
        &server,
        Method::POST,
        &format!("/v1/carts/{second}/items"),
        Some(&json!({"product_id": "last-vase", "quantity": 1})),
        &[("x-cart-token", &token)],
    )
    .await;
    assert_eq!((refused.status, refused.error_code().as_str()), (StatusCode::CONFLICT, "out_of_stock"));
    let (status, sku) = server.put("/v1/admin/stock/last-vase", None, &json!({"on_hand": 1})).await.parts();
    assert_eq!((status, sku["reserved"].as_i64()), (StatusCode::OK, Some(1)), "{sku}");
    // The checkout takes the cart's hold over and sells it.
    let bought = send(
        &server,
        Method::POST,
        "/v1/checkout",
        Some(&checkout_body(&first.0, "pm_card_visa")),
        &[("x-cart-token", &first.1)],
    )
    .await;
    assert_eq!(bought.status, StatusCode::CREATED, "{}", bought.text);
    let shop = server.state.commerce.get().await.expect("shop");
    let sku = shop.store.sku("last-vase").await.expect("read").expect("exists");
    assert_eq!((sku.on_hand, sku.reserved), (0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_anonymous_cart_cannot_hold_a_products_whole_stock() {
    let server = Server::with(|config| {
        config.commerce_hold_at_add_to_cart = true;
        config.commerce_hold_limits = vitrine_commerce::HoldLimits { per_line: 10, per_cart: 50 };
    });
    stock(&server, "vase", 500, 40.0).await;
    let (cart_id, token) = cart(&server, &[("vase", 10)]).await;
    let refused = send(
        &server,
        Method::POST,
        &format!("/v1/carts/{cart_id}/items"),
        Some(&json!({"product_id": "vase", "quantity": 490})),
        &[("x-cart-token", &token)],
    )
    .await;
    assert_eq!((refused.status, refused.error_code().as_str()), (StatusCode::CONFLICT, "hold_limit_exceeded"));
    let shop = server.state.commerce.get().await.expect("shop");
    assert_eq!(shop.store.sku("vase").await.expect("read").expect("exists").reserved, 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_gateway_charges_nothing_and_holds_nothing() {
    let server = Server::with(|config| config.payment_gateway.failure_rate = 1.0);
    stock(&server, "lamp", 3, 20.0).await;
    let (cart_id, cart_token) = cart(&server, &[("lamp", 1)]).await;
    let body = json!({
        "cart_id": cart_id, "shipping_address": {"city": "Leeds"},
        "payment": {"payment_method": "pm_card_visa"},
    });
    let failed = send(&server, Method::POST, "/v1/checkout", Some(&body), &[("x-cart-token", &cart_token)]).await;
    assert_eq!((failed.status, failed.error_code().as_str()), (StatusCode::BAD_GATEWAY, "payment_gateway_error"));
    let shop = server.state.commerce.get().await.expect("shop");
    assert_eq!(shop.store.sku("lamp").await.expect("read").expect("exists").reserved, 0);
    assert_eq!(shop.checkout.gateway().holds_made(), 0);
}
