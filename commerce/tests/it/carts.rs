//! Carts on real databases (SQLite and PostgreSQL): lines, validation, the atomic merge of a
//! guest cart into a shopper's on login, and the hold limits of a shop holding from add-to-cart.

use std::sync::Arc;

use vitrine_commerce::{Adjustment, Cart, CommerceError, CommerceHandle, HoldLimits, HoldScope, MAX_QUANTITY, Shop};

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

/// A shop holding stock from add-to-cart, with these hold limits, on SQLite and (when reachable)
/// PostgreSQL; the PostgreSQL schema to drop afterwards.
async fn holding_shops(test: &str, limits: HoldLimits) -> Vec<(Arc<Shop>, Option<String>, Option<tempfile::TempDir>)> {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite:{}", vitrine_models::DataDir::new(dir.path()).commerce_db().display());
    let sqlite = CommerceHandle::new(url).holding_at_add_to_cart(true).with_hold_limits(limits);
    let mut shops = vec![(sqlite.get().await.expect("SQLite shop"), None, Some(dir))];
    // `common::postgres` says whether a server answers (and skips, or fails under CI, when not).
    if let Some(probe) = common::postgres(test).await {
        probe.cleanup().await;
        let url =
            std::env::var("VITRINE_TEST_POSTGRES_URL").unwrap_or_else(|_| common::DEFAULT_POSTGRES_URL.to_owned());
        let schema = format!("vt_{}", uuid::Uuid::now_v7().simple());
        let postgres =
            CommerceHandle::with_schema(url, schema.clone()).holding_at_add_to_cart(true).with_hold_limits(limits);
        shops.push((postgres.get().await.expect("PostgreSQL shop"), Some(schema), None));
    }
    shops
}

fn line_limit(error: Result<Cart, CommerceError>, product: &str) -> (i64, i64) {
    match error {
        Err(CommerceError::HoldLimitExceeded { scope: HoldScope::Line { product_id }, requested, limit })
            if product_id == product =>
        {
            (requested, limit)
        }
        other => panic!("a line's hold limit expected, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_holds_at_add_to_cart_one_cart_holds_at_most_its_limits() {
    let limits = HoldLimits { per_line: 10, per_cart: 15 };
    for (shop, schema, _dir) in
        holding_shops("with_holds_at_add_to_cart_one_cart_holds_at_most_its_limits", limits).await
    {
        let store = &shop.store;
        store.seed_sku("vase", gbp(4_000), 100).await.expect("seed");
        store.seed_sku("mug", gbp(500), 100).await.expect("seed");
        let reserved =
            |product: &'static str| async move { store.sku(product).await.expect("read").expect("exists").reserved };

        // One anonymous cart asking for the whole stock holds nothing.
        let cart = store.create_cart(None).await.expect("guest cart");
        assert_eq!(line_limit(shop.add_to_cart(&cart, "vase", 100).await, "vase"), (100, 10));
        assert_eq!(reserved("vase").await, 0);
        // Up to the line's limit, then no further, one unit at a time as well.
        let mut cart = shop.add_to_cart(&cart, "vase", 10).await.expect("ten");
        assert_eq!(line_limit(shop.add_to_cart(&cart, "vase", 1).await, "vase"), (11, 10));
        assert_eq!(line_limit(shop.set_cart_quantity(&cart, "vase", 11).await, "vase"), (11, 10));
        assert_eq!((store.cart(&cart.id).await.expect("cart").lines[0].quantity, reserved("vase").await), (10, 10));
        cart = shop.set_cart_quantity(&cart, "vase", 6).await.expect("fewer is always fine");
        assert_eq!(reserved("vase").await, 6);

        // The cart's total: 6 vases + 9 mugs = 15; one more of anything is refused.
        cart = shop.add_to_cart(&cart, "mug", 9).await.expect("up to the cart's limit");
        for product in ["mug", "vase"] {
            match shop.add_to_cart(&cart, product, 1).await {
                Err(CommerceError::HoldLimitExceeded { scope: HoldScope::Cart, requested: 16, limit: 15 }) => {}
                other => panic!("the cart's hold limit expected, got {other:?}"),
            }
        }
        assert_eq!((reserved("vase").await, reserved("mug").await), (6, 9));

        // Logging in merges within the limits, reporting the caps rather than failing.
        let guest = store.create_cart(None).await.expect("guest cart");
        let guest = shop.add_to_cart(&guest, "mug", 7).await.expect("add");
        shop.add_to_cart(&guest, "vase", 3).await.expect("add");
        let mine = store.create_cart(Some("alice")).await.expect("alice's cart");
        shop.add_to_cart(&mine, "mug", 5).await.expect("add");
        let merged = shop.merge_carts(&guest.id, "alice").await.expect("merge");
        let quantities: Vec<(&str, i64)> =
            merged.cart.lines.iter().map(|line| (line.product_id.as_str(), line.quantity)).collect();
        assert_eq!(quantities, [("mug", 10), ("vase", 3)]);
        assert_eq!(merged.adjustments, [Adjustment { product_id: "mug".into(), requested: 12, kept: 10 }]);
        assert_eq!((reserved("vase").await, reserved("mug").await), (6 + 3, 9 + 10), "the merged cart is held");

        if let Some(schema) = schema {
            store.drop_schema(&schema).await.expect("drop the test schema");
        }
    }
}
