//! Search behaviour on a real tantivy index built from products written here.

use serde_json::{Value, json};
use vitrine_indexer::Catalog;
use vitrine_models::settings::IndexSettings;
use vitrine_models::{DataDir, IndexName, Product};
use vitrine_query::{QueryError, SearchRequest, SearchResponse, search};

fn product(value: Value) -> Product {
    serde_json::from_value(value).expect("valid product")
}

pub(crate) struct Shop {
    pub(crate) catalog: Catalog,
    pub(crate) name: IndexName,
    pub(crate) settings: IndexSettings,
    _dir: tempfile::TempDir,
}

impl Shop {
    pub(crate) fn new(products: Vec<Value>) -> Shop {
        let dir = tempfile::tempdir().expect("temp dir");
        let catalog = Catalog::new(DataDir::new(dir.path()));
        let name = IndexName::new("shop").expect("name");
        catalog.upsert(&name, products.into_iter().map(product)).expect("index");
        let mut settings = IndexSettings::default();
        settings.facets.attributes = vec!["colour".into()];
        settings.facets.price_buckets = vec![5.0, 10.0];
        Shop { catalog, name, settings, _dir: dir }
    }

    pub(crate) fn search(&self, request: Value) -> Result<SearchResponse, QueryError> {
        let request: SearchRequest = serde_json::from_value(request).expect("request shape");
        search(&self.catalog.get(&self.name).expect("index"), &self.settings, &request)
    }

    fn ids(&self, request: Value) -> Vec<String> {
        self.search(request).expect("search").hits.into_iter().map(|hit| hit.id).collect()
    }
}

pub(crate) fn catalog() -> Vec<Value> {
    vec![
        json!({"id": "candle", "title": "Vanilla scented candle", "brand": "Glow", "category": "home/candles",
               "price": 4.0, "currency": "GBP", "popularity": 10, "attributes": {"colour": "white"}}),
        json!({"id": "candles", "title": "Set of three candles", "brand": "Glow", "category": "home/candles",
               "price": 9.5, "currency": "GBP", "popularity": 5, "attributes": {"colour": "red"}}),
        json!({"id": "handle", "title": "Brass door handle", "brand": "Forge", "category": "home/hardware",
               "price": 12.0, "currency": "GBP", "popularity": 50, "attributes": {"colour": "gold"}}),
        json!({"id": "sprinkler", "title": "Lawn sprinkler with timer", "brand": "Rain", "category": "garden/watering",
               "price": 25.0, "currency": "GBP", "popularity": 1, "attributes": {"colour": "green"}}),
        json!({"id": "mug", "title": "Red ceramic mug", "brand": "Forge", "category": "home/kitchen",
               "price": 6.0, "currency": "GBP", "popularity": 30, "stock": 0, "attributes": {"colour": "red"}}),
        json!({"id": "mug-2", "title": "Blue ceramic mug", "brand": "Glow", "category": "home/kitchen",
               "price": 7.0, "currency": "GBP", "popularity": 1, "stock": 8, "attributes": {"colour": "blue"}}),
        json!({"id": "rug", "title": "Wool rug"}),
    ]
}

#[test]
fn exact_matches_rank_above_one_typo_above_two_typos() {
    let shop = Shop::new(catalog());
    // "candle" is exact for `candle`, stemmed-exact for `candles` ("candl"), one typo from `handle`.
    let response = shop.search(json!({"q": "candle"})).expect("search");
    let highlights: Vec<_> = response.hits.iter().map(|hit| hit.highlight["title"].as_str()).collect();
    assert!(highlights.contains(&"Set of three <em>candles</em>"), "stemmed match: {highlights:?}");
    assert!(highlights.contains(&"Vanilla scented <em>candle</em>"), "{highlights:?}");
    let ids = shop.ids(json!({"q": "candle "}));
    assert_eq!(ids.len(), 3, "{ids:?}");
    assert_eq!(ids[2], "handle", "the one-typo match comes after the exact ones: {ids:?}");
    // Two typos on a 9-letter word still find it; a 4-letter word allows none.
    assert_eq!(shop.ids(json!({"q": "sprnkiler "})), ["sprinkler"]);
    assert_eq!(shop.ids(json!({"q": "rug "})), ["rug"], "`rug` is in the index: no typo, so no `mug`");
    assert_eq!(shop.ids(json!({"q": "mgu "})), ["mug-2", "mug"], "one typo on a short word no product contains");
}

#[test]
fn the_last_word_matches_as_a_prefix_while_typing() {
    let shop = Shop::new(catalog());
    assert_eq!(shop.ids(json!({"q": "sprin"})), ["sprinkler"]);
    assert!(shop.ids(json!({"q": "sprin "})).is_empty(), "a finished word is not a prefix");
    assert_eq!(shop.ids(json!({"q": "lawn sprinkel"})), ["sprinkler"], "typo on the prefix");
}

#[test]
fn products_must_match_every_word_until_too_few_do() {
    let mut products = catalog();
    for n in 0..12 {
        products
            .push(json!({"id": format!("red-{n}"), "title": format!("Red enamel tray {n}"), "category": "home/trays"}));
    }
    let shop = Shop::new(products);
    // Every word: enough red ceramic things for a page of 1; the red trays and the blue mug are out.
    let both = shop.search(json!({"q": "red ceramic ", "per_page": 1})).expect("search");
    assert_eq!((both.total, both.hits[0].id.as_str()), (1, "mug"), "only the red ceramic mug has both words");
    // A page of 5 cannot be filled by products with both words: those with one of them come
    // after, most words first.
    let one = shop.search(json!({"q": "red ceramic ", "per_page": 5, "facets": ["category"]})).expect("search");
    assert_eq!(one.total, 15, "the red mug, the blue mug, the red candles and twelve red trays");
    assert_eq!(one.hits[0].id, "mug");
    assert_eq!(one.facets["category"]["home"], 15, "the counts follow what matched");
    // Three words: all of them, then all but one, then half (here: one).
    let three = shop.search(json!({"q": "blue ceramic tray ", "per_page": 1})).expect("search");
    assert_eq!((three.total, three.hits[0].id.as_str()), (1, "mug-2"), "two of three words: the blue mug");
    let wide = shop.search(json!({"q": "blue ceramic tray ", "per_page": 3})).expect("search");
    assert_eq!(wide.total, 14, "any word: the blue mug, the red mug and the twelve trays");
    assert_eq!(wide.hits[0].id, "mug-2");
    // A word no product has is not required.
    assert_eq!(shop.ids(json!({"q": "ceramic zzzqqq ", "per_page": 2})), ["mug-2", "mug"]);
}

#[test]
fn out_of_stock_products_are_demoted_not_hidden() {
    let shop = Shop::new(catalog());
    let ids = shop.ids(json!({"q": "ceramic mug"}));
    assert_eq!(ids, ["mug-2", "mug"], "the popular red mug is out of stock");
    let in_stock = shop.ids(json!({"q": "ceramic mug", "filter": {"in_stock": true}}));
    assert_eq!(in_stock, ["mug-2"]);
}

#[test]
fn filters_and_disjunctive_facet_counts() {
    let shop = Shop::new(catalog());
    let response = shop
        .search(json!({
            "q": "", "filter": {"brand": ["Glow"], "price": {"lt": 9}},
            "facets": ["brand", "colour", "price", "category"]
        }))
        .expect("search");
    let ids: Vec<_> = response.hits.iter().map(|hit| hit.id.as_str()).collect();
    assert_eq!(ids, ["candle", "mug-2"], "Glow under 9, by popularity");
    assert_eq!(response.total, 2);
    // Brand counts ignore the brand filter (checkboxes) but keep the price filter.
    assert_eq!(response.facets["brand"], [("Forge".into(), 1), ("Glow".into(), 2)].into());
    // Price counts ignore the price filter but keep the brand filter: Glow has 4.0, 7.0, 9.5.
    let price: u64 = response.facets["price"].values().sum();
    assert_eq!(price, 3, "{:?}", response.facets["price"]);
    // Other facets see every filter.
    assert_eq!(response.facets["colour"], [("blue".into(), 1), ("white".into(), 1)].into());
    assert_eq!(response.facets["category"], [("home".into(), 2)].into());
    assert_eq!(response.facet_stats["price"]["min"], 4.0);
    assert_eq!(response.facet_stats["price"]["max"], 9.5);
    // Nothing matched: no price range to offer.
    let none = shop.search(json!({"q": "", "filter": {"brand": ["Nobody"]}, "facets": ["price"]})).expect("search");
    assert_eq!(none.total, 0);
    assert!(none.facet_stats.is_empty(), "{:?}", none.facet_stats);
}

#[test]
fn category_counts_show_the_children_of_the_selected_node() {
    let shop = Shop::new(catalog());
    let response =
        shop.search(json!({"q": "", "filter": {"category": "home"}, "facets": ["category"]})).expect("search");
    assert_eq!(response.total, 5);
    assert_eq!(
        response.facets["category"],
        [("home/candles".into(), 2), ("home/hardware".into(), 1), ("home/kitchen".into(), 2)].into()
    );
}

#[test]
fn facet_counts_equal_a_brute_force_count() {
    let shop = Shop::new(catalog());
    let products = shop.catalog.products(&shop.name).expect("products");
    for brand in ["Glow", "Forge", "Rain"] {
        let response =
            shop.search(json!({"q": "", "filter": {"brand": [brand]}, "facets": ["colour"]})).expect("search");
        let mut expected = std::collections::BTreeMap::new();
        for product in products.iter().filter(|p| p.brand.as_deref() == Some(brand)) {
            if let Some(vitrine_models::AttributeValue::Text(colour)) = product.attributes.get("colour") {
                *expected.entry(colour.clone()).or_insert(0_u64) += 1;
            }
        }
        assert_eq!(response.facets["colour"], expected, "{brand}");
    }
}

#[test]
fn sorts_and_pages() {
    let shop = Shop::new(catalog());
    assert_eq!(shop.ids(json!({"q": "", "sort": "price_asc", "per_page": 3})), ["candle", "mug", "mug-2"]);
    assert_eq!(shop.ids(json!({"q": "", "sort": "price_desc", "per_page": 2})), ["sprinkler", "handle"]);
    assert_eq!(shop.ids(json!({"q": "", "sort": "price_asc", "per_page": 2, "page": 2})), ["mug-2", "candles"]);
    assert_eq!(shop.ids(json!({"q": ""}))[0], "handle", "browsing sorts by popularity");
}

#[test]
fn bad_requests_are_user_errors() {
    let shop = Shop::new(catalog());
    let cases = [
        json!({"q": "x", "filter": {"size": ["M"]}}),
        json!({"q": "x", "filter": {"price": {"gte": "ten"}}}),
        json!({"q": "x", "filter": {"price": {}}}),
        json!({"q": "x", "filter": ["brand"]}),
        json!({"q": "x", "filter": {"in_stock": "yes"}}),
        json!({"q": "x", "facets": ["size"]}),
        json!({"q": "x", "sort": "cheapest"}),
        json!({"q": "x", "page": 0}),
        json!({"q": "x", "per_page": 1000}),
        json!({"q": "x", "page": 600, "per_page": 20}),
        json!({"q": "x".repeat(10_000)}),
    ];
    for case in cases {
        let error = shop.search(case.clone()).expect_err("refused");
        assert!(error.is_user_error(), "{case}: {error}");
    }
    // Any Unicode is a query, not an error.
    for q in ["日本語", "🙂🙂", "ﬁ ß İ", "\u{200b}", "a\u{0301}"] {
        assert!(shop.search(json!({"q": q})).is_ok(), "{q}");
    }
}

#[test]
fn synonyms_apply_at_query_time_with_typos_and_multi_word_phrases() {
    let mut shop = Shop::new(vec![
        json!({"id": "tv", "title": "Samsung 55 inch television", "popularity": 5}),
        json!({"id": "sleeper", "title": "Grey sleeper sofa", "popularity": 5}),
        json!({"id": "stand", "title": "Wooden stand", "popularity": 1}),
        json!({"id": "phone", "title": "Android smartphone", "popularity": 1}),
    ]);
    assert!(shop.ids(json!({"q": "tv "})).is_empty(), "no synonyms yet");

    shop.settings.synonyms = serde_json::from_value(json!([
        {"type": "multi_way", "terms": ["tv", "television"]},
        {"type": "multi_way", "terms": ["sofa bed", "sleeper sofa"]},
        {"type": "one_way", "input": "phone", "synonyms": ["smartphone"]}
    ]))
    .expect("synonym rules");
    // The same index, new settings: no reindexing.
    assert_eq!(shop.ids(json!({"q": "tv "})), ["tv"]);
    assert_eq!(shop.ids(json!({"q": "samsung tv "})), ["tv"]);
    assert_eq!(shop.ids(json!({"q": "sofa bed "})), ["sleeper"], "multi-word, one way round");
    assert_eq!(shop.ids(json!({"q": "grey sofa beds "})), ["sleeper"], "by stem");
    assert_eq!(shop.ids(json!({"q": "wooden tv stnad "}))[0], "stand", "a typo beside a synonym");
    assert_eq!(shop.ids(json!({"q": "samsng tv "})), ["tv"], "typo on one word, synonym on the other");
    assert_eq!(shop.ids(json!({"q": "phone "})), ["phone"]);
    let response = shop.search(json!({"q": "samsng tv"})).expect("search");
    assert_eq!(
        response.hits[0].highlight["title"], "<em>Samsung</em> 55 inch <em>television</em>",
        "typo and synonym matches are highlighted"
    );
    assert!(shop.ids(json!({"q": "smartphone "})).contains(&"phone".to_owned()));
    shop.settings.synonyms.clear();
    assert!(shop.ids(json!({"q": "tv "})).is_empty(), "removing a rule takes effect at once");
}

#[test]
fn suggest_completes_the_last_word_with_typos_and_offers_products() {
    let shop = Shop::new(catalog());
    let index = shop.catalog.get(&shop.name).expect("index");
    let suggestions = vitrine_query::suggest(&index, &shop.settings, "lawn sprin", 5).expect("suggest");
    assert_eq!(suggestions.queries, ["lawn sprinkler"]);
    assert_eq!(suggestions.products[0].id, "sprinkler");
    let typo = vitrine_query::suggest(&index, &shop.settings, "ceramc", 5).expect("suggest");
    assert_eq!(typo.queries, ["ceramic"], "a typo in the prefix");
    assert_eq!(typo.products.len(), 2);
    let candles = vitrine_query::suggest(&index, &shop.settings, "cand", 5).expect("suggest");
    assert_eq!(candles.queries, ["candle", "candles"], "equally frequent: alphabetical");
    let corrected = vitrine_query::suggest(&index, &shop.settings, "lwan sprin", 5).expect("suggest");
    assert_eq!(corrected.queries, ["lawn sprinkler"], "a misspelled earlier word is corrected");
    let kept = vitrine_query::suggest(&index, &shop.settings, "zzz sprin", 5).expect("suggest");
    assert_eq!(kept.queries, ["zzz sprinkler"], "a word nothing resembles is kept as typed");
    assert!(vitrine_query::suggest(&index, &shop.settings, "", 5).expect("suggest").products.is_empty());
    assert!(vitrine_query::suggest(&index, &shop.settings, "mug", 0).is_err());
}
