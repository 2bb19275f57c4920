//! The bounds on one search's work: repeated facets folded, and too many facets, too many filter
//! values or too deep a page refused before any work — the same for recommendation filters.

use std::time::Instant;

use serde_json::{Value, json};
use vitrine_query::{
    ItemNumbers, MAX_FACETS, MAX_FILTER_VALUES, MAX_RESULT_WINDOW, QueryError, SearchRequest, allowed_items,
    search_unless_abandoned,
};

use crate::search::{Shop, catalog};

fn request(value: Value) -> SearchRequest {
    serde_json::from_value(value).expect("request shape")
}

#[test]
fn repeated_facets_are_counted_once() {
    let shop = Shop::new(catalog());
    let once = shop.search(json!({"q": "", "facets": ["brand"], "filter": {"brand": "Glow"}})).expect("search");
    // The attack: one facet filtered on, asked for again and again (each a pass of its own).
    let facets = vec!["brand"; 50_000];
    let repeated = json!({"q": "", "facets": facets, "filter": {"brand": "Glow"}});
    let started = Instant::now();
    let folded = shop.search(repeated).expect("repeats are folded, not refused");
    let elapsed = started.elapsed();
    assert_eq!(folded.facets, once.facets);
    assert_eq!(folded.facets.len(), 1);
    assert!(elapsed.as_millis() < 1_000, "fifty thousand passes were run: {elapsed:?}");

    let names = request(json!({"facets": ["brand", "price", "brand", "colour", "price"]}));
    assert_eq!(names.facet_names().expect("within bounds"), ["brand", "price", "colour"], "first-asked order");
}

#[test]
fn too_many_facets_are_refused_before_any_is_resolved() {
    let shop = Shop::new(catalog());
    let distinct: Vec<String> = (0..=MAX_FACETS).map(|n| format!("unknown_{n}")).collect();
    let error = shop.search(json!({"q": "", "facets": distinct})).expect_err("refused");
    assert!(matches!(error, QueryError::TooManyFacets { max: MAX_FACETS }), "{error}");
    assert!(error.is_user_error());
    // As many as allowed, repeated: resolved (and the unknown one named).
    let mut at_the_cap: Vec<String> = (1..MAX_FACETS).map(|n| format!("unknown_{n}")).collect();
    at_the_cap.insert(0, "brand".into());
    at_the_cap.extend(at_the_cap.clone());
    let error = shop.search(json!({"q": "", "facets": at_the_cap})).expect_err("unknown facet");
    assert!(matches!(error, QueryError::UnknownField(ref field) if field == "unknown_1"), "{error}");
}

#[test]
fn filter_values_are_bounded_for_searches_and_recommendations_alike() {
    let shop = Shop::new(catalog());
    let index = shop.catalog.get(&shop.name).expect("index");
    let brands = |count: usize| -> Vec<String> { (0..count).map(|n| format!("brand {n}")).collect() };
    let within = json!({"brand": brands(MAX_FILTER_VALUES)});
    assert!(shop.search(json!({"q": "", "filter": within})).is_ok());
    assert!(allowed_items(&index, &[Some(&within)], &ItemNumbers::new("m", 1), &|_| None).is_ok());

    let over = [
        json!({"brand": brands(MAX_FILTER_VALUES + 1)}),
        // All fields together: 60 brands, 40 colours and a price range.
        json!({"brand": brands(60), "colour": brands(40), "price": {"gte": 1}}),
    ];
    for filter in over {
        let error = shop.search(json!({"q": "", "filter": filter})).expect_err("refused");
        assert!(matches!(error, QueryError::TooManyFilterValues { max: MAX_FILTER_VALUES }), "{error}");
        let error = allowed_items(&index, &[Some(&filter)], &ItemNumbers::new("m", 1), &|_| None).expect_err("refused");
        assert!(matches!(error, QueryError::TooManyFilterValues { .. }), "{error}");
    }
}

#[test]
fn filters_nest_two_levels_and_deeper_is_a_filter_error() {
    let shop = Shop::new(catalog());
    let mut deep = json!("Glow");
    for _ in 0..100 {
        deep = json!([deep]);
    }
    for filter in [json!({"brand": deep}), json!({"price": {"gte": {"lt": 3}}}), json!({"in_stock": [true]})] {
        let error = shop.search(json!({"q": "", "filter": filter})).expect_err("refused");
        assert!(matches!(error, QueryError::InvalidFilter(_)), "{filter}: {error}");
    }
}

#[test]
fn pages_reach_the_first_thousand_results_and_no_further() {
    let window = |page: usize, per_page: usize| request(json!({"page": page, "per_page": per_page})).window();
    assert_eq!(MAX_RESULT_WINDOW, 1_000);
    assert_eq!(window(50, 20).expect("last page inside"), (980, 20));
    assert_eq!(window(5, 200).expect("last page inside"), (800, 200));
    assert_eq!(window(7, 150).expect("cut short"), (900, 100), "a page across the window's end is cut short");
    for (page, per_page) in [(51, 20), (6, 200), (usize::MAX, 200)] {
        let error = window(page, per_page).expect_err("refused");
        assert!(matches!(error, QueryError::InvalidPagination(_)), "page {page} of {per_page}: {error}");
    }
    let shop = Shop::new(catalog());
    assert!(shop.search(json!({"q": "", "page": 51, "per_page": 20})).is_err());
    let last = shop.search(json!({"q": "", "page": 50, "per_page": 20})).expect("served");
    assert!(last.hits.is_empty() && last.total == 7, "{} hits of {}", last.hits.len(), last.total);
}

#[test]
fn an_abandoned_search_stops_and_is_no_user_error() {
    let shop = Shop::new(catalog());
    let index = shop.catalog.get(&shop.name).expect("index");
    let request = request(json!({"q": "candle", "facets": ["brand"], "filter": {"brand": "Glow"}}));
    let error = search_unless_abandoned(&index, &shop.settings, &request, &|| true).expect_err("abandoned");
    assert!(matches!(error, QueryError::Abandoned) && !error.is_user_error(), "{error}");
    assert!(search_unless_abandoned(&index, &shop.settings, &request, &|| false).is_ok());
}
