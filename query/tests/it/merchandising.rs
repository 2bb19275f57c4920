//! Merchandising rules on a real index: pin, hide, boost, bury, conditions and validity windows.

use serde_json::{Value, json};
use vitrine_indexer::Catalog;
use vitrine_models::settings::IndexSettings;
use vitrine_models::{DataDir, IndexName, Product};
use vitrine_query::{SearchRequest, SearchResponse, check_rule_filters, search};

struct Shop {
    catalog: Catalog,
    name: IndexName,
    _dir: tempfile::TempDir,
}

impl Shop {
    fn new() -> Shop {
        let dir = tempfile::tempdir().expect("temp dir");
        let catalog = Catalog::new(DataDir::new(dir.path()));
        let name = IndexName::new("shop").expect("name");
        let products = [
            json!({"id": "fan-desk", "title": "Desk fan", "brand": "Breeze", "price": 20.0, "currency": "GBP",
                   "popularity": 50}),
            json!({"id": "fan-tower", "title": "Tower fan with remote", "brand": "Breeze", "price": 60.0,
                   "currency": "GBP", "popularity": 30}),
            json!({"id": "fan-mini", "title": "Mini USB fan", "brand": "Tiny", "price": 8.0, "currency": "GBP",
                   "popularity": 10}),
            json!({"id": "fan-ceiling", "title": "Ceiling fan", "brand": "Loft", "price": 120.0, "currency": "GBP",
                   "popularity": 5}),
            json!({"id": "heater", "title": "Oil heater", "brand": "Warm", "price": 45.0, "currency": "GBP",
                   "popularity": 40}),
        ];
        let products = products.into_iter().map(|value| serde_json::from_value::<Product>(value).expect("product"));
        catalog.upsert(&name, products).expect("index");
        Shop { catalog, name, _dir: dir }
    }

    fn search_with(&self, rules: Value, request: Value) -> SearchResponse {
        let settings =
            IndexSettings { rules: serde_json::from_value(rules).expect("rules"), ..IndexSettings::default() };
        settings.check().expect("valid rules");
        let index = self.catalog.get(&self.name).expect("index");
        check_rule_filters(&settings, index.fields()).expect("rule filters");
        let request: SearchRequest = serde_json::from_value(request).expect("request");
        search(&index, &settings, &request).expect("search")
    }

    fn ids_with(&self, rules: Value, request: Value) -> Vec<String> {
        self.search_with(rules, request).hits.into_iter().map(|hit| hit.id).collect()
    }
}

#[test]
fn without_rules_fans_rank_by_popularity() {
    let shop = Shop::new();
    assert_eq!(shop.ids_with(json!([]), json!({"q": "fan"})), ["fan-desk", "fan-tower", "fan-mini", "fan-ceiling"]);
}

#[test]
fn a_pin_puts_a_product_at_its_position_even_when_it_does_not_match_the_words() {
    let shop = Shop::new();
    let rules = json!([{"id": "winter", "condition": {"query": "fan", "match": "exact"},
                        "pin": [{"id": "heater", "position": 2}, {"id": "fan-ceiling", "position": 1}]}]);
    let response = shop.search_with(rules.clone(), json!({"q": "fan"}));
    let ids: Vec<_> = response.hits.iter().map(|hit| hit.id.as_str()).collect();
    assert_eq!(ids, ["fan-ceiling", "heater", "fan-desk", "fan-tower", "fan-mini"]);
    assert!(response.hits[0].pinned && response.hits[1].pinned && !response.hits[2].pinned);
    assert_eq!(response.total, 5, "four fans (one pinned) and the pinned heater");
    assert_eq!(response.applied_rules, ["winter"]);
    // Positions count across pages.
    let second_page = shop.ids_with(rules.clone(), json!({"q": "fan", "per_page": 2, "page": 2}));
    assert_eq!(second_page, ["fan-desk", "fan-tower"]);
    // The condition is exact: a longer query does not trigger it.
    assert_eq!(shop.ids_with(rules, json!({"q": "desk fan"}))[0], "fan-desk");
}

#[test]
fn a_pinned_product_that_fails_the_shoppers_filters_is_not_shown() {
    let shop = Shop::new();
    let rules = json!([{"id": "push-loft", "condition": {"query": "fan", "match": "contains"},
                        "pin": [{"id": "fan-ceiling", "position": 1}]}]);
    let cheap = shop.search_with(rules.clone(), json!({"q": "fan", "filter": {"price": {"lt": 50}}}));
    let ids: Vec<_> = cheap.hits.iter().map(|hit| hit.id.as_str()).collect();
    assert_eq!(ids, ["fan-desk", "fan-mini"]);
    assert_eq!(cheap.total, 2);
    assert_eq!(shop.ids_with(rules, json!({"q": "usb fan"}))[0], "fan-ceiling", "`contains` triggers");
}

#[test]
fn hidden_products_leave_results_totals_and_facets() {
    let shop = Shop::new();
    let rules = json!([{"id": "recall", "hide": ["fan-mini"]}]);
    let response = shop.search_with(rules, json!({"q": "fan", "facets": ["brand"]}));
    assert!(response.hits.iter().all(|hit| hit.id != "fan-mini"));
    assert_eq!(response.total, 3);
    assert!(!response.facets["brand"].contains_key("Tiny"), "{:?}", response.facets["brand"]);
}

#[test]
fn boosts_and_buries_move_products_matching_a_filter() {
    let shop = Shop::new();
    let rules = json!([{"id": "loft-week", "condition": {"query": "fan", "match": "contains"},
                        "boost": [{"filter": {"brand": ["Loft"]}}],
                        "bury": [{"filter": {"price": {"lt": 30}}, "weight": 2}]}]);
    assert_eq!(shop.ids_with(rules.clone(), json!({"q": "fan"})), ["fan-ceiling", "fan-tower", "fan-desk", "fan-mini"]);
    // Ten units outweigh a matched word: a weight-1 boost does not lift a product that matches fewer words.
    assert_eq!(shop.ids_with(rules, json!({"q": "tower fan"}))[0], "fan-tower");
    // Browsing: boosted first, buried last, popularity in between.
    let browse = json!([{"id": "browse", "condition": {"query": "", "match": "exact"},
                         "boost": [{"filter": {"brand": ["Loft"]}}], "bury": [{"filter": {"brand": ["Breeze"]}}]}]);
    assert_eq!(shop.ids_with(browse, json!({"q": ""})), ["fan-ceiling", "heater", "fan-mini", "fan-desk", "fan-tower"]);
}

#[test]
fn a_sort_the_shopper_chose_keeps_its_order_and_only_hides_apply() {
    let shop = Shop::new();
    let rules = json!([{"id": "all", "pin": [{"id": "fan-ceiling", "position": 1}], "hide": ["fan-mini"],
                        "boost": [{"filter": {"brand": ["Loft"]}, "weight": 50}]}]);
    assert_eq!(
        shop.ids_with(rules, json!({"q": "fan", "sort": "price_asc"})),
        ["fan-desk", "fan-tower", "fan-ceiling"]
    );
}

#[test]
fn rules_outside_their_window_or_disabled_do_nothing() {
    let shop = Shop::new();
    let expired = json!([{"id": "old", "valid_until": "2020-01-01T00:00:00Z", "hide": ["fan-desk"]},
                         {"id": "off", "enabled": false, "hide": ["fan-tower"]},
                         {"id": "future", "valid_from": "2999-01-01T00:00:00Z", "hide": ["fan-mini"]}]);
    let response = shop.search_with(expired, json!({"q": "fan"}));
    assert_eq!(response.total, 4);
    assert!(response.applied_rules.is_empty());
}

#[test]
fn rule_filters_are_checked_against_the_index() {
    let shop = Shop::new();
    let index = shop.catalog.get(&shop.name).expect("index");
    let settings: IndexSettings =
        serde_json::from_value(json!({"rules": [{"id": "bad", "boost": [{"filter": {"colour": ["red"]}}]}]}))
            .expect("shape");
    let error = check_rule_filters(&settings, index.fields()).expect_err("colour is not a facet");
    assert!(error.to_string().contains("rule `bad`"), "{error}");
}
