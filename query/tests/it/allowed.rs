//! The model items a recommendation filter keeps: the in-stock default, filters and a shopper
//! restriction combined, products that are no item and items that are no product, and a product
//! that was replaced (its old document deleted in an older segment) judged by its live version
//! only, with the numbering of the older segment reused.

use serde_json::json;
use vitrine_models::Product;
use vitrine_query::{ItemNumbers, allowed_items};

use crate::search::{Shop, catalog};

/// The model's items: the shop's products but `rug`, and one that is no product.
const ITEMS: [&str; 8] = ["candle", "candles", "handle", "sprinkler", "mug", "mug-2", "no-such-product", "lamp"];

fn passing(shop: &Shop, numbers: &ItemNumbers, filters: &[Option<&serde_json::Value>]) -> Vec<&'static str> {
    let index = shop.catalog.get(&shop.name).expect("index");
    let number_of = |id: &str| ITEMS.iter().position(|item| *item == id).and_then(|n| u32::try_from(n).ok());
    let mask = allowed_items(&index, filters, numbers, &number_of).expect("filter");
    let kept: Vec<&str> = (0..).zip(ITEMS).filter(|&(item, _)| mask.contains(item)).map(|(_, id)| id).collect();
    assert_eq!(mask.len(), kept.len(), "the count agrees with the bits: {kept:?}");
    assert!(!mask.contains(u32::MAX), "nothing beyond the model's items");
    kept
}

#[test]
fn in_stock_by_default_and_every_filter_applies() {
    let shop = Shop::new(catalog());
    let numbers = ItemNumbers::new("model-1", ITEMS.len());
    // `mug` has no stock: left out unless the filter speaks about stock itself.
    assert_eq!(passing(&shop, &numbers, &[None]), ["candle", "candles", "handle", "sprinkler", "mug-2"]);
    assert_eq!(passing(&shop, &numbers, &[Some(&json!({"in_stock": false}))]), ["mug"]);
    let glow = json!({"brand": "Glow"});
    assert_eq!(passing(&shop, &numbers, &[Some(&glow)]), ["candle", "candles", "mug-2"]);
    // A shopper restriction narrows the request's filter; neither widens the other.
    let cheap = json!({"price": {"lt": 8}});
    assert_eq!(passing(&shop, &numbers, &[Some(&glow), Some(&cheap)]), ["candle", "mug-2"]);
    assert_eq!(passing(&shop, &numbers, &[Some(&json!({"brand": "Rain"})), Some(&cheap)]), Vec::<&str>::new());
}

#[test]
fn a_replaced_product_passes_by_its_live_version() {
    let shop = Shop::new(catalog());
    let numbers = ItemNumbers::new("model-1", ITEMS.len());
    assert_eq!(passing(&shop, &numbers, &[None]), ["candle", "candles", "handle", "sprinkler", "mug-2"]);
    let product = |value: serde_json::Value| -> Product { serde_json::from_value(value).expect("product") };
    // Each upsert commits a segment of its own; the replaced documents stay, deleted, in the first.
    shop.catalog
        .upsert(
            &shop.name,
            [
                product(json!({"id": "mug", "title": "Red ceramic mug", "price": 6.0, "currency": "GBP", "stock": 4})),
                product(
                    json!({"id": "mug-2", "title": "Blue ceramic mug", "price": 7.0, "currency": "GBP", "stock": 0}),
                ),
            ],
        )
        .expect("upsert");
    let index = shop.catalog.get(&shop.name).expect("index");
    assert!(index.searcher().segment_readers().len() >= 2, "the replacement lives in another segment");
    assert_eq!(passing(&shop, &numbers, &[None]), ["candle", "candles", "handle", "sprinkler", "mug"]);
    assert_eq!(passing(&shop, &numbers, &[Some(&json!({"in_stock": false}))]), ["mug-2"]);
}
