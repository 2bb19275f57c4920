//! Failure injection into the checkout saga (feature `failpoints`): the process "dies" (a panic
//! at a failpoint) after each step; recovery and reconciliation must leave no stock held and no
//! money held without an order. Run on SQLite and PostgreSQL.
//!
//! `cargo test -p vitrine-commerce --features failpoints --test failpoints`

// The helpers of the `it` binary; this binary stays apart because failpoints are process-global.
#[path = "../it/common.rs"]
mod common;

use vitrine_commerce::{Checkout, CheckoutRequest, CheckoutSettings, CheckoutState, PaymentProvider, SimulatedGateway};

const STEPS: [&str; 4] = [
    "checkout::after_validated",
    "checkout::after_reserved",
    "checkout::after_authorized",
    "checkout::after_order_created",
];

use common::{cart_with, gbp};

/// Every failpoint, on both databases. One test function: failpoints are process-global.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_after_any_step_leaves_nothing_held_without_an_order() {
    let scenario = fail::FailScenario::setup();
    for test_store in common::both("a_crash_after_any_step_leaves_nothing_held_without_an_order").await {
        let store = test_store.store.clone();
        store.seed_sku("lamp", gbp(2_000), 100).await.expect("seed");
        let gateway = SimulatedGateway::default();
        for (n, step) in STEPS.iter().enumerate() {
            let cart_id = cart_with(&store, "lamp", 2).await;
            let checkout = Checkout::new(store.clone(), gateway.clone(), CheckoutSettings::default());
            let request = CheckoutRequest {
                cart_id: cart_id.clone(),
                payment_method: "pm_card_visa".into(),
                shipping_address: serde_json::json!({"line1": "1 High St", "city": "London"}),
            };
            fail::cfg(*step, "panic").expect("failpoint");
            let crashed = tokio::spawn(async move { checkout.run(&request).await }).await;
            fail::remove(*step);
            assert!(crashed.is_err(), "{} {step}: the checkout died", test_store.name);

            // A new process: recover, then reconcile with the gateway.
            let restarted = Checkout::new(store.clone(), gateway.clone(), CheckoutSettings::default());
            let report = restarted.recover().await.expect("recover");
            let reconciled = restarted.reconcile().await.expect("reconcile");
            let expected_order = n >= 2; // money was held: the order is completed, not undone
            assert_eq!(report.completed, usize::from(expected_order), "{} {step}: {report:?}", test_store.name);
            assert_eq!(report.compensated, usize::from(!expected_order), "{} {step}: {report:?}", test_store.name);
            assert_eq!(reconciled.voided, 0, "recovery left no orphan for reconciliation");

            // Nothing held without an order; stock consistent; the saga ended.
            let open = gateway.open_authorizations().await.expect("list");
            let orders = store.count_orders().await.expect("count");
            assert_eq!(open.len() as i64, orders, "{} {step}: every open authorisation has an order", test_store.name);
            let sku = store.sku("lamp").await.expect("read").expect("exists");
            assert_eq!(sku.reserved, 0, "{} {step}: no hold left", test_store.name);
            assert_eq!(sku.on_hand, 100 - 2 * orders, "{} {step}", test_store.name);
            assert!(restarted.recover().await.expect("again") == Default::default(), "nothing left in flight");
            let state = sqlx::query_scalar::<_, String>("SELECT state FROM checkouts ORDER BY id DESC LIMIT 1")
                .fetch_one(store.pool())
                .await
                .expect("state");
            let expected = if expected_order { CheckoutState::ConfirmationSent } else { CheckoutState::Compensated };
            assert_eq!(state, expected.as_str(), "{} {step}", test_store.name);
        }

        // An authorisation the shop never recorded (a crash inside the gateway call): the
        // reconciliation voids it.
        let orphan = vitrine_commerce::AuthorizeRequest {
            idempotency_key: "co_lost".into(),
            amount_cents: 999,
            currency: "GBP".into(),
            payment_method: "pm_card_visa".into(),
        };
        gateway.authorize(&orphan).await.expect("authorised");
        let checkout = Checkout::new(store.clone(), gateway.clone(), CheckoutSettings::default());
        assert_eq!(checkout.reconcile().await.expect("reconcile").voided, 1);
        test_store.cleanup().await;
    }
    scenario.teardown();
}
