//! Carts on real databases (SQLite and PostgreSQL): lines, validation, and the atomic merge of a
//! guest cart into a shopper's on login.

use vitrine_commerce::{Adjustment, CommerceError, MAX_QUANTITY};

use crate::common::{self, gbp};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lines_are_added_changed_and_removed() {
    for test_store in common::both("lines_are_added_changed_and_removed").await {
        let store = &test_store.store;
        store.seed_sku("mug", gbp(500), 10).await.expect("seed");
        store.seed_sku("lamp", gbp(2_000), 2).await.expect("seed");
        let cart = store.create_cart(None).await.expect("guest cart");
        assert_eq!((cart.status.as_str(), cart.user_id.as_deref(), cart.lines.len()), ("open", None, 0));
        assert_eq!(cart.token.len(), 32);

        store.add_to_cart(&cart.id, "mug", 2).await.expect("add");
        let cart = store.add_to_cart(&cart.id, "mug", 3).await.expect("add more");
        assert_eq!(cart.lines[0].quantity, 5, "added to the line");
        let cart = store.add_to_cart(&cart.id, "lamp", 1).await.expect("add another");
        assert_eq!(cart.lines.iter().map(|line| line.product_id.as_str()).collect::<Vec<_>>(), ["lamp", "mug"]);
        let cart = store.set_cart_quantity(&cart.id, "mug", 1).await.expect("set");
        assert_eq!(cart.lines[1].quantity, 1);
        let cart = store.set_cart_quantity(&cart.id, "lamp", 0).await.expect("remove");
        assert_eq!(cart.lines.len(), 1);

        assert!(matches!(store.add_to_cart(&cart.id, "nope", 1).await, Err(CommerceError::UnknownProduct(_))));
        assert!(matches!(store.add_to_cart(&cart.id, "mug", 0).await, Err(CommerceError::Invalid(_))));
        assert!(matches!(store.add_to_cart(&cart.id, "mug", MAX_QUANTITY).await, Err(CommerceError::Invalid(_))));
        assert!(matches!(store.set_cart_quantity(&cart.id, "lamp", 1).await, Err(CommerceError::Invalid(_))));
        assert!(matches!(store.cart("no-such-cart").await, Err(CommerceError::CartNotFound(_))));

        // A shopper has one open cart: asking again gives the same one.
        let first = store.create_cart(Some("u-1")).await.expect("user cart");
        let again = store.create_cart(Some("u-1")).await.expect("user cart again");
        assert_eq!(first.id, again.id);
        assert_eq!(first.user_id.as_deref(), Some("u-1"));
        test_store.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merging_sums_caps_by_stock_reports_and_closes_the_guest_cart() {
    for test_store in common::both("merging_sums_caps_by_stock_reports_and_closes_the_guest_cart").await {
        let store = &test_store.store;
        store.seed_sku("mug", gbp(500), 10).await.expect("seed");
        store.seed_sku("lamp", gbp(2_000), 3).await.expect("seed");
        store.seed_sku("vase", gbp(900), 1).await.expect("seed");
        store.seed_sku("gone", gbp(900), 1).await.expect("seed");

        let mine = store.create_cart(Some("alice")).await.expect("user cart");
        store.add_to_cart(&mine.id, "mug", 4).await.expect("add");
        store.add_to_cart(&mine.id, "lamp", 2).await.expect("add");
        let guest = store.create_cart(None).await.expect("guest cart");
        store.add_to_cart(&guest.id, "mug", 3).await.expect("add");
        store.add_to_cart(&guest.id, "lamp", 2).await.expect("add");
        store.add_to_cart(&guest.id, "vase", 1).await.expect("add");
        store.add_to_cart(&guest.id, "gone", 1).await.expect("add");
        // Someone else's checkout holds the last "gone".
        store
            .hold(
                "other",
                &[vitrine_commerce::StockLine { product_id: "gone".into(), quantity: 1 }],
                std::time::Duration::from_secs(60),
            )
            .await
            .expect("hold");

        let merged = store.merge_carts(&guest.id, "alice").await.expect("merge");
        assert_eq!(merged.cart.id, mine.id, "into the shopper's own cart");
        let quantities: Vec<(&str, i64)> =
            merged.cart.lines.iter().map(|line| (line.product_id.as_str(), line.quantity)).collect();
        assert_eq!(quantities, [("lamp", 3), ("mug", 7), ("vase", 1)]);
        let mut adjustments = merged.adjustments.clone();
        adjustments.sort_by(|a, b| a.product_id.cmp(&b.product_id));
        assert_eq!(
            adjustments,
            [
                Adjustment { product_id: "gone".into(), requested: 1, kept: 0 },
                Adjustment { product_id: "lamp".into(), requested: 4, kept: 3 },
            ]
        );
        assert_eq!(merged.adjustments.len(), 2);
        assert_eq!(store.cart(&guest.id).await.expect("guest").status, "merged");
        assert!(matches!(store.add_to_cart(&guest.id, "mug", 1).await, Err(CommerceError::CartClosed(_))));
        assert!(matches!(store.merge_carts(&guest.id, "alice").await, Err(CommerceError::CartClosed(_))));
        test_store.cleanup().await;
    }
}
