//! The checkout saga on real databases (SQLite and PostgreSQL): no oversell under 200 concurrent
//! buyers, every card outcome, one checkout per cart, orders as events.

use std::sync::Arc;

use proptest::prelude::*;
use vitrine_commerce::{
    Checkout, CheckoutRequest, CheckoutSettings, CheckoutState, CommerceError, OrderStatus, PaymentProvider,
    ReturnItem, ReturnRequest, SimulatedGateway,
};

fn request(cart_id: &str, payment_method: &str) -> CheckoutRequest {
    CheckoutRequest {
        cart_id: cart_id.to_owned(),
        payment_method: payment_method.to_owned(),
        shipping_address: serde_json::json!({"line1": "1 High St", "city": "London", "postcode": "N1 9GU"}),
    }
}

use crate::common::{self, cart_with, gbp};

fn chair_back(reason: Option<&str>) -> ReturnRequest {
    ReturnRequest {
        items: vec![ReturnItem { product_id: "chair".into(), quantity: 1 }],
        reason: reason.map(str::to_owned),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_concurrent_checkouts_for_ten_units_make_ten_orders() {
    for test_store in common::both("two_hundred_concurrent_checkouts_for_ten_units_make_ten_orders").await {
        let store = test_store.store.clone();
        let gateway = SimulatedGateway::default();
        let checkout = Arc::new(Checkout::new(store.clone(), gateway.clone(), CheckoutSettings::default()));
        for round in 0..10 {
            let product = format!("last-{round}");
            store.seed_sku(&product, gbp(1_500), 10).await.expect("seed");
            let mut carts = Vec::new();
            for _ in 0..200 {
                carts.push(cart_with(&store, &product, 1).await);
            }
            let orders_before = store.count_orders().await.expect("count");
            let mut buyers = Vec::new();
            for cart_id in carts {
                let checkout = checkout.clone();
                buyers.push(tokio::spawn(async move { checkout.run(&request(&cart_id, "pm_card_visa")).await }));
            }
            let mut ordered = 0;
            for buyer in buyers {
                let outcome = buyer.await.expect("task").expect("a checkout ends in an outcome");
                match outcome.state {
                    CheckoutState::ConfirmationSent => ordered += 1,
                    CheckoutState::Failed => {
                        assert!(outcome.failure.as_deref().is_some_and(|f| f.starts_with("out_of_stock")))
                    }
                    other => panic!("unexpected end {other:?}"),
                }
            }
            let sku = store.sku(&product).await.expect("read").expect("exists");
            let orders = store.count_orders().await.expect("count") - orders_before;
            assert_eq!(
                (ordered, orders, sku.on_hand, sku.reserved),
                (10, 10, 0, 0),
                "{} round {round}",
                test_store.name
            );
        }
        assert_eq!(gateway.holds_made(), 100, "{}: one authorisation per order, none for the rest", test_store.name);
        test_store.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_card_outcome_ends_cleanly() {
    for test_store in common::both("every_card_outcome_ends_cleanly").await {
        let store = test_store.store.clone();
        store.seed_sku("mug", gbp(1_250), 50).await.expect("seed");
        let gateway = SimulatedGateway::default();
        let checkout = Checkout::new(store.clone(), gateway.clone(), CheckoutSettings::default());

        for (card, failure) in [
            ("pm_card_chargeDeclined", "card_declined"),
            ("pm_card_chargeDeclinedInsufficientFunds", "insufficient_funds"),
            ("pm_card_chargeDeclinedProcessingError", "payment_error"),
        ] {
            let cart_id = cart_with(&store, "mug", 2).await;
            let outcome = checkout.run(&request(&cart_id, card)).await.expect("an outcome");
            assert_eq!(
                (outcome.state, outcome.failure.as_deref()),
                (CheckoutState::Compensated, Some(failure)),
                "{card}"
            );
            assert_eq!(store.sku("mug").await.expect("read").expect("exists").reserved, 0, "{card}: holds released");
            // The cart stays open: the shopper can try another card.
            assert_eq!(store.cart(&cart_id).await.expect("cart").status, "open");
        }
        assert!(gateway.open_authorizations().await.expect("list").is_empty(), "no money held");

        // A timeout where the gateway did authorise: the key finds it, the order is made.
        let cart_id = cart_with(&store, "mug", 1).await;
        let outcome = checkout.run(&request(&cart_id, "pm_vitrine_timeout")).await.expect("an outcome");
        assert_eq!(outcome.state, CheckoutState::ConfirmationSent);

        // A normal order: priced from commerce (2 × 12.50 + shipping 4.95), events, number.
        let cart_id = cart_with(&store, "mug", 2).await;
        let outcome = checkout.run(&request(&cart_id, "pm_card_visa")).await.expect("an outcome");
        assert_eq!(outcome.state, CheckoutState::ConfirmationSent);
        assert_eq!(outcome.totals.total_cents, 2 * 1_250 + 495);
        assert!(outcome.order_number.as_deref().is_some_and(|number| number.starts_with("VT-")));
        let order = store.order(outcome.order_id.as_deref().expect("order")).await.expect("read").expect("exists");
        assert_eq!(order.status, OrderStatus::Authorized);
        assert_eq!(order.events.iter().map(|e| e.kind.as_str()).collect::<Vec<_>>(), ["placed", "authorized"]);
        assert_eq!(store.cart(&cart_id).await.expect("cart").status, "ordered");
        assert!(matches!(checkout.run(&request(&cart_id, "pm_card_visa")).await, Err(CommerceError::CartClosed(_))));
        assert_eq!(store.sku("mug").await.expect("read").expect("exists").on_hand, 50 - 3);

        // Orders and stock changes reached the outbox.
        let events = store.unsent_events(1_000).await.expect("outbox");
        let order_events: Vec<&str> = events
            .iter()
            .filter(|event| event.topic == vitrine_commerce::ORDERS_TOPIC)
            .filter_map(|event| event.payload["type"].as_str())
            .collect();
        assert_eq!(order_events, ["order_placed", "order_confirmation", "order_placed", "order_confirmation"]);

        // Bad carts are errors, not outcomes.
        let empty = store.create_cart(None).await.expect("cart");
        assert!(matches!(checkout.run(&request(&empty.id, "pm_card_visa")).await, Err(CommerceError::Invalid(_))));
        assert!(matches!(checkout.run(&request("nope", "pm_card_visa")).await, Err(CommerceError::CartNotFound(_))));
        test_store.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_cart_checked_out_twice_at_once_makes_one_order() {
    for test_store in common::both("one_cart_checked_out_twice_at_once_makes_one_order").await {
        let store = test_store.store.clone();
        store.seed_sku("lamp", gbp(2_000), 100).await.expect("seed");
        let gateway = SimulatedGateway::default();
        let checkout = Arc::new(Checkout::new(store.clone(), gateway.clone(), CheckoutSettings::default()));
        let cart_id = cart_with(&store, "lamp", 1).await;
        let mut attempts = Vec::new();
        for _ in 0..20 {
            let checkout = checkout.clone();
            let cart_id = cart_id.clone();
            attempts.push(tokio::spawn(async move { checkout.run(&request(&cart_id, "pm_card_visa")).await }));
        }
        let mut orders = 0;
        for attempt in attempts {
            match attempt.await.expect("task") {
                Ok(outcome) => orders += usize::from(outcome.order_id.is_some()),
                Err(CommerceError::CheckoutInProgress(_) | CommerceError::CartClosed(_)) => {}
                Err(other) => panic!("{other}"),
            }
        }
        assert_eq!(orders, 1, "{}", test_store.name);
        assert_eq!(gateway.holds_made(), 1, "{}: one authorisation", test_store.name);
        assert_eq!(store.sku("lamp").await.expect("read").expect("exists").on_hand, 99);
        test_store.cleanup().await;
    }
}

fn any_state() -> impl Strategy<Value = CheckoutState> {
    prop_oneof![
        Just(CheckoutState::CartValidated),
        Just(CheckoutState::InventoryReserved),
        Just(CheckoutState::PaymentAuthorized),
        Just(CheckoutState::OrderCreated),
        Just(CheckoutState::ConfirmationSent),
        Just(CheckoutState::Failed),
        Just(CheckoutState::Compensated),
    ]
}

proptest! {
    /// Random walks over the state machine: every walk ends in a final state within five steps,
    /// final states go nowhere, and once money can be held the only ways out are an order or a
    /// compensation (never a bare failure).
    #[test]
    fn the_state_machine_always_ends_and_never_drops_held_money(choices in proptest::collection::vec(0usize..4, 6), start in any_state()) {
        prop_assert_eq!(start.is_final(), start.successors().is_empty());
        let mut state = CheckoutState::CartValidated;
        let mut steps = 0;
        for choice in choices {
            let next = state.successors();
            if next.is_empty() {
                break;
            }
            let to = next[choice % next.len()];
            if matches!(state, CheckoutState::InventoryReserved | CheckoutState::PaymentAuthorized) {
                prop_assert!(to != CheckoutState::Failed, "{state:?} holds something: it must be compensated");
            }
            state = to;
            steps += 1;
        }
        prop_assert!(state.is_final(), "ended in {state:?}");
        prop_assert!(steps <= 5);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_are_captured_refunded_in_parts_and_returned() {
    for test_store in common::both("orders_are_captured_refunded_in_parts_and_returned").await {
        let store = test_store.store.clone();
        store.seed_sku("chair", gbp(10_000), 5).await.expect("seed");
        let checkout = Checkout::new(store.clone(), SimulatedGateway::default(), CheckoutSettings::default());
        let cart_id = cart_with(&store, "chair", 1).await;
        let outcome = checkout.run(&request(&cart_id, "pm_card_visa")).await.expect("ordered");
        let order_id = outcome.order_id.expect("order");
        assert!(
            matches!(checkout.refund(&order_id, Some(100)).await, Err(CommerceError::OrderState(_))),
            "not captured yet"
        );
        let order = checkout.capture(&order_id).await.expect("capture");
        assert_eq!(order.status, OrderStatus::Captured);
        assert!(matches!(checkout.capture(&order_id).await, Err(CommerceError::OrderState(_))), "captured once");
        // A return request before the goods left would wedge the order's fulfilment: refused.
        let early = checkout.request_return(&order_id, chair_back(None)).await;
        assert!(matches!(early, Err(CommerceError::OrderState(_))), "not shipped yet: {early:?}");
        for step in ["picked", "shipped", "delivered"] {
            checkout.fulfil(&order_id, step).await.expect(step);
        }
        let order = checkout.request_return(&order_id, chair_back(Some("too big"))).await.expect("return");
        assert_eq!(order.status, OrderStatus::ReturnRequested);
        let order = checkout.refund(&order_id, Some(4_000)).await.expect("part");
        assert_eq!((order.status, order.refunded_cents), (OrderStatus::PartiallyRefunded, 4_000));
        assert!(
            matches!(checkout.refund(&order_id, Some(6_001)).await, Err(CommerceError::Invalid(_))),
            "more than is left"
        );
        let left = order.total_cents - order.refunded_cents;
        let order = checkout.refund(&order_id, Some(left)).await.expect("the rest");
        assert_eq!((order.status, order.refunded_cents), (OrderStatus::Refunded, order.total_cents));
        let kinds: Vec<&str> = order.events.iter().map(|event| event.kind.as_str()).collect();
        assert_eq!(
            kinds,
            [
                "placed",
                "authorized",
                "captured",
                "picked",
                "shipped",
                "delivered",
                "return_requested",
                "refunded",
                "refunded"
            ]
        );
        assert!(matches!(checkout.capture("ord_nope").await, Err(CommerceError::OrderNotFound(_))));
        test_store.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn idempotency_keys_replay_conflict_and_refuse_other_parameters() {
    use vitrine_commerce::IdempotencyStart;
    for test_store in common::both("idempotency_keys_replay_conflict_and_refuse_other_parameters").await {
        let store = test_store.store.clone();
        // 50 requests at once with one key: exactly one proceeds.
        let mut claims = Vec::new();
        for _ in 0..50 {
            let store = store.clone();
            claims.push(tokio::spawn(async move { store.idempotency_begin("key:a", "k1", "hash-1").await }));
        }
        let mut proceeded = 0;
        for claim in claims {
            match claim.await.expect("task").expect("query") {
                IdempotencyStart::Proceed => proceeded += 1,
                IdempotencyStart::InFlight => {}
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(proceeded, 1, "{}", test_store.name);
        store.idempotency_finish("key:a", "k1", 201, r#"{"order_id":"x"}"#).await.expect("finish");
        assert_eq!(
            store.idempotency_begin("key:a", "k1", "hash-1").await.expect("replay"),
            IdempotencyStart::Replay { status: 201, body: r#"{"order_id":"x"}"#.into() }
        );
        assert_eq!(store.idempotency_begin("key:a", "k1", "hash-2").await.expect("other"), IdempotencyStart::Mismatch);
        assert_eq!(store.idempotency_begin("key:b", "k1", "hash-2").await.expect("scoped"), IdempotencyStart::Proceed);
        store.idempotency_abandon("key:b", "k1").await.expect("abandon");
        assert_eq!(store.idempotency_begin("key:b", "k1", "hash-2").await.expect("again"), IdempotencyStart::Proceed);
        // A request whose process died long ago no longer blocks its key.
        assert_eq!(store.idempotency_begin("key:c", "k9", "h").await.expect("claim"), IdempotencyStart::Proceed);
        sqlx::query("UPDATE idempotency_keys SET created_at = created_at - $1 WHERE scope = 'key:c'")
            .bind(vitrine_commerce::IN_FLIGHT_TIMEOUT_MS + 1)
            .execute(store.pool())
            .await
            .expect("age the claim");
        assert_eq!(store.idempotency_begin("key:c", "k9", "h").await.expect("take over"), IdempotencyStart::Proceed);
        assert_eq!(store.idempotency_begin("key:c", "k9", "h").await.expect("again"), IdempotencyStart::InFlight);
        let later = chrono::Utc::now().timestamp_millis() + vitrine_commerce::KEY_RETENTION_MS + 1_000;
        // After 24 h every key goes, finished or still marked in flight (a claim that old is dead).
        assert_eq!(store.idempotency_purge(later).await.expect("purge"), 3, "keys a, b and c, after 24 h");
        assert_eq!(store.idempotency_begin("key:a", "k1", "hash-2").await.expect("reused"), IdempotencyStart::Proceed);
        test_store.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_are_fulfilled_in_order_and_cancelled_with_their_money_and_stock_back() {
    for test_store in common::both("orders_are_fulfilled_in_order_and_cancelled_with_their_money_and_stock_back").await
    {
        let store = test_store.store.clone();
        store.seed_sku("desk", gbp(30_000), 4).await.expect("seed");
        let gateway = SimulatedGateway::default();
        let checkout = Checkout::new(store.clone(), gateway.clone(), CheckoutSettings::default());

        let shipped =
            checkout.run(&request(&cart_with(&store, "desk", 1).await, "pm_card_visa")).await.expect("ordered");
        let order_id = shipped.order_id.expect("order");
        assert!(matches!(checkout.fulfil(&order_id, "shipped").await, Err(CommerceError::OrderState(_))), "pick first");
        assert!(matches!(checkout.fulfil(&order_id, "lost").await, Err(CommerceError::Invalid(_))));
        checkout.fulfil(&order_id, "picked").await.expect("picked");
        let order = checkout.fulfil(&order_id, "shipped").await.expect("shipped");
        let kinds: Vec<&str> = order.events.iter().map(|event| event.kind.as_str()).collect();
        assert_eq!(kinds, ["placed", "authorized", "picked", "captured", "shipped"], "captured when it leaves");
        assert!(matches!(checkout.cancel(&order_id).await, Err(CommerceError::OrderState(_))), "too late");
        assert_eq!(checkout.fulfil(&order_id, "delivered").await.expect("delivered").status, OrderStatus::Delivered);

        // Cancelled before capture: voided; after capture: refunded. Stock comes back either way.
        let voided =
            checkout.run(&request(&cart_with(&store, "desk", 2).await, "pm_card_visa")).await.expect("ordered");
        assert_eq!(store.sku("desk").await.expect("read").expect("exists").on_hand, 1);
        let order = checkout.cancel(voided.order_id.as_deref().expect("order")).await.expect("cancel");
        assert_eq!(order.status, OrderStatus::Cancelled);
        assert_eq!(store.sku("desk").await.expect("read").expect("exists").on_hand, 3, "back on hand");
        let refunded =
            checkout.run(&request(&cart_with(&store, "desk", 1).await, "pm_card_visa")).await.expect("ordered");
        let refunded_id = refunded.order_id.expect("order");
        checkout.capture(&refunded_id).await.expect("capture");
        let order = checkout.cancel(&refunded_id).await.expect("cancel");
        assert_eq!(order.events.last().map(|event| event.data["refunded_cents"].as_i64()), Some(Some(30_000)));
        assert_eq!(store.sku("desk").await.expect("read").expect("exists").on_hand, 3);
        // Only the delivered order still holds money at the gateway (captured, not open).
        assert!(gateway.open_authorizations().await.expect("list").is_empty());
        test_store.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_coupon_limited_to_five_uses_discounts_exactly_five_of_forty_concurrent_checkouts() {
    use vitrine_commerce::CouponDiscount;
    for test_store in
        common::both("a_coupon_limited_to_five_uses_discounts_exactly_five_of_forty_concurrent_checkouts").await
    {
        let store = test_store.store.clone();
        store.seed_sku("kettle", gbp(4_000), 1_000).await.expect("seed");
        store.put_coupon("welcome10", CouponDiscount::Percent { percent: 10 }, 1_000, 5).await.expect("coupon");
        assert!(
            store.set_cart_coupon(&cart_with(&store, "kettle", 1).await, Some("nope")).await.is_err(),
            "unknown code"
        );
        let checkout = Arc::new(Checkout::new(store.clone(), SimulatedGateway::default(), CheckoutSettings::default()));
        let mut buyers = Vec::new();
        for _ in 0..40 {
            let cart_id = cart_with(&store, "kettle", 1).await;
            store.set_cart_coupon(&cart_id, Some("Welcome10")).await.expect("apply");
            let checkout = checkout.clone();
            buyers.push(tokio::spawn(async move { checkout.run(&request(&cart_id, "pm_card_visa")).await }));
        }
        let (mut discounted, mut refused) = (0, 0);
        for buyer in buyers {
            let outcome = buyer.await.expect("task").expect("an outcome");
            match (outcome.state, outcome.failure.as_deref()) {
                (CheckoutState::ConfirmationSent, _) => {
                    assert_eq!(outcome.totals.discount_cents, 400);
                    discounted += 1;
                }
                (CheckoutState::Compensated, Some("coupon_exhausted")) => refused += 1,
                other => panic!("{other:?}"),
            }
        }
        assert_eq!((discounted, refused), (5, 35), "{}", test_store.name);
        assert_eq!(store.coupon("WELCOME10").await.expect("read").expect("exists").used, 5);
        let sku = store.sku("kettle").await.expect("read").expect("exists");
        assert_eq!((sku.on_hand, sku.reserved), (995, 0), "{}: refused checkouts hold nothing", test_store.name);
        test_store.cleanup().await;
    }
}
