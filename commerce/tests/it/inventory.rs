//! Inventory on real databases: holds and sales never oversell, under 200 concurrent buyers, on
//! SQLite and PostgreSQL; holds expire; stock and price changes go to the outbox.

use std::sync::Arc;
use std::time::Duration;

use vitrine_commerce::{CommerceError, PRODUCTS_TOPIC, StockLine};

use crate::common::{self, gbp};

fn line(product_id: &str, quantity: i64) -> Vec<StockLine> {
    vec![StockLine { product_id: product_id.to_owned(), quantity }]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_buyers_for_ten_units_make_exactly_ten_sales() {
    for test_store in common::both("two_hundred_buyers_for_ten_units_make_exactly_ten_sales").await {
        let store = Arc::new(test_store.store.clone());
        for round in 0..10 {
            let product = format!("last-units-{round}");
            assert!(store.seed_sku(&product, gbp(1_250), 10).await.expect("seed"));
            let mut buyers = Vec::new();
            for buyer in 0..200 {
                let store = store.clone();
                let product = product.clone();
                buyers.push(tokio::spawn(async move {
                    let checkout = format!("checkout-{buyer}");
                    match store.hold(&checkout, &line(&product, 1), Duration::from_secs(60)).await {
                        Ok(()) => {
                            let sold = store.sell_held(&checkout).await.expect("a held unit sells");
                            assert_eq!(sold, line(&product, 1));
                            true
                        }
                        Err(CommerceError::OutOfStock { available, .. }) => {
                            assert!(available >= 0, "available never negative");
                            false
                        }
                        Err(other) => panic!("buyer {buyer}: {other}"),
                    }
                }));
            }
            let mut sales = 0;
            for buyer in buyers {
                sales += usize::from(buyer.await.expect("buyer task"));
            }
            let sku = store.sku(&product).await.expect("read").expect("exists");
            assert_eq!(
                (sales, sku.on_hand, sku.reserved),
                (10, 0, 0),
                "{} round {round}: exactly 10 sales, stock 0",
                test_store.name
            );
        }
        test_store.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn holds_are_all_or_nothing_expire_and_release() {
    for test_store in common::both("holds_are_all_or_nothing_expire_and_release").await {
        let store = &test_store.store;
        store.seed_sku("mug", gbp(500), 3).await.expect("seed");
        store.seed_sku("lamp", gbp(2_000), 1).await.expect("seed");
        assert!(!store.seed_sku("mug", gbp(1), 99).await.expect("seed again"), "seeding keeps what exists");

        // Two lines, the second short: nothing is held.
        let both_lines = vec![
            StockLine { product_id: "mug".into(), quantity: 2 },
            StockLine { product_id: "lamp".into(), quantity: 2 },
        ];
        let error = store.hold("c1", &both_lines, Duration::from_secs(60)).await.expect_err("lamp is short");
        assert!(
            matches!(&error, CommerceError::OutOfStock { product_id, requested: 2, available: 1 } if product_id == "lamp"),
            "{error}"
        );
        assert_eq!(store.sku("mug").await.expect("read").expect("exists").reserved, 0, "all or nothing");
        assert!(matches!(
            store.hold("c1", &line("nope", 1), Duration::from_secs(60)).await,
            Err(CommerceError::UnknownProduct(_))
        ));

        // A hold that expired is swept; a live one is not.
        store.hold("expired", &line("mug", 2), Duration::from_millis(0)).await.expect("hold");
        store.hold("live", &line("mug", 1), Duration::from_secs(600)).await.expect("hold");
        assert_eq!(store.sku("mug").await.expect("read").expect("exists").available(), 0);
        tokio::time::sleep(Duration::from_millis(5)).await;
        let swept = store.sweep_expired_holds(chrono::Utc::now().timestamp_millis()).await.expect("sweep");
        assert_eq!(swept, 1);
        assert_eq!(store.sku("mug").await.expect("read").expect("exists").available(), 2);
        assert!(store.sell_held("expired").await.expect("sell").is_empty(), "an expired hold sells nothing");
        assert_eq!(store.release_holds("live").await.expect("release"), line("mug", 1));
        assert_eq!(store.sku("mug").await.expect("read").expect("exists").reserved, 0);
        test_store.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stock_and_price_changes_are_published_through_the_outbox() {
    for test_store in common::both("stock_and_price_changes_are_published_through_the_outbox").await {
        let store = &test_store.store;
        store.seed_sku("85123A", gbp(295), 10).await.expect("seed");
        store.hold("c", &line("85123A", 4), Duration::from_secs(60)).await.expect("hold");
        let refused = store.set_stock("85123A", 3, None).await.expect_err("below the held units");
        assert!(refused.to_string().contains("held"), "{refused}");
        let sku = store.set_stock("85123A", 20, Some(gbp(310))).await.expect("restock and reprice");
        assert_eq!((sku.on_hand, sku.price.minor_units, sku.reserved), (20, 310, 4));
        store.sell_held("c").await.expect("sell");

        let events = store.unsent_events(100).await.expect("outbox");
        let kinds: Vec<&str> = events.iter().filter_map(|event| event.payload["type"].as_str()).collect();
        assert_eq!(kinds, vec!["stock_changed", "price_changed", "stock_changed"], "{events:?}");
        assert!(events.iter().all(|event| event.topic == PRODUCTS_TOPIC && event.key == "85123A"));
        assert_eq!(events[0].payload["payload"]["stock"], 20);
        assert_eq!(events[1].payload["payload"]["price"], 3.1);
        assert_eq!(events[2].payload["payload"]["stock"], 16);
        let versions: Vec<u64> = events.iter().filter_map(|event| event.payload["version"].as_u64()).collect();
        assert!(versions.windows(2).all(|pair| pair[0] < pair[1]) && versions[0] > 1_000_000_000_000, "{versions:?}");
        // The indexer's own parser accepts them.
        for event in &events {
            vitrine_models::ProductEvent::parse(Some(event.key.as_bytes()), event.payload.to_string().as_bytes())
                .expect("a valid product event");
        }
        store.mark_sent(&events.iter().map(|event| event.id.clone()).collect::<Vec<_>>()).await.expect("mark");
        assert!(store.unsent_events(100).await.expect("outbox").is_empty());

        // A new SKU is created with its stock in one transaction; a refused change leaves none.
        let created = store.set_stock("lamp", 7, Some(gbp(1_999))).await.expect("create with stock");
        assert_eq!((created.on_hand, created.price.minor_units), (7, 1_999));
        assert!(store.set_stock("rug", -1, Some(gbp(5_000))).await.is_err(), "negative stock");
        assert!(store.sku("rug").await.expect("read").is_none(), "a refused change leaves no SKU");
        assert!(matches!(store.set_stock("rug", 1, None).await, Err(CommerceError::UnknownProduct(_))));

        // Housekeeping prunes published events older than the retention, never unpublished ones.
        let unsent = store.unsent_events(100).await.expect("outbox");
        assert_eq!(unsent.len(), 1, "the lamp's stock: {unsent:?}");
        let later = chrono::Utc::now().timestamp_millis() + 1_000;
        assert_eq!(store.prune_sent_outbox(later).await.expect("prune"), 3, "the three published events");
        assert_eq!(store.prune_sent_outbox(later).await.expect("prune again"), 0);
        assert_eq!(store.unsent_events(100).await.expect("outbox").len(), 1, "the unpublished event stays");
        test_store.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hold_can_replace_another_atomically() {
    for test_store in common::both("a_hold_can_replace_another_atomically").await {
        let store = &test_store.store;
        store.seed_sku("vase", gbp(900), 3).await.expect("seed");
        let cart = vitrine_commerce::cart_holder("c1");
        store.hold(&cart, &line("vase", 2), Duration::from_secs(60)).await.expect("cart hold");
        // Raising the cart to 4 fails and leaves its 2 held.
        let error = store.hold_replacing(&cart, &line("vase", 4), Duration::from_secs(60), Some(&cart)).await;
        assert!(matches!(error, Err(CommerceError::OutOfStock { available: 3, .. })), "3 for this cart: {error:?}");
        assert_eq!(store.sku("vase").await.expect("read").expect("exists").reserved, 2, "unchanged");
        // The checkout takes the cart's hold over: still 2 reserved, now the checkout's.
        store.hold_replacing("co-1", &line("vase", 2), Duration::from_secs(60), Some(&cart)).await.expect("take over");
        assert_eq!(store.sku("vase").await.expect("read").expect("exists").reserved, 2);
        assert!(store.release_holds(&cart).await.expect("release").is_empty(), "the cart holds nothing now");
        assert_eq!(store.sell_held("co-1").await.expect("sell"), line("vase", 2));
        test_store.cleanup().await;
    }
}
