//! Facet-value search and facet value order on the bundled Magento Luma catalog (colours and
//! sizes of clothing variants).

use serde_json::{Value, json};
use vitrine_models::settings::{IndexSettings, NamedValueOrder, ValueOrder};
use vitrine_query::{FacetValuesRequest, QueryError, SearchRequest, facet_values, search};

use crate::variants::Luma;

fn settings() -> IndexSettings {
    let mut settings = IndexSettings::default();
    settings.facets.attributes = vec!["color".into(), "size".into()];
    settings
}

fn request(value: Value) -> FacetValuesRequest {
    serde_json::from_value(value).expect("request")
}

#[test]
fn typed_text_finds_facet_values_with_typos_and_counts_under_the_search() {
    let luma = Luma::load();
    let index = luma.catalog.get(&luma.name).expect("index");
    let settings = settings();
    let values = |value: Value| facet_values(&index, &settings, "color", &request(value)).expect("values").values;

    // A prefix, and a typo in a longer prefix, both find the colour.
    let prefix = values(json!({"q": "bla"}));
    assert_eq!(prefix.first().map(|value| value.value.as_str()), Some("Black"), "{prefix:?}");
    let typo = values(json!({"q": "blakc"}));
    assert!(typo.iter().any(|value| value.value == "Black"), "{typo:?}");
    assert!(values(json!({"q": "zzzz"})).is_empty());

    // The counts are the search's own: the same query and filter give the same colour counts,
    // the colour filter left out (disjunctive).
    let filter = json!({"color": ["White"], "size": ["M"]});
    let searched: SearchRequest =
        serde_json::from_value(json!({"q": "hoodie", "filter": filter, "facets": ["color"]})).expect("search");
    let counts = search(&index, &settings, &searched).expect("search").facets.remove("color").expect("colour counts");
    let found = values(json!({"q": "bl", "query": "hoodie", "filter": filter, "limit": 100}));
    assert!(!found.is_empty());
    for value in &found {
        assert_eq!(counts.get(&value.value), Some(&value.count), "{}", value.value);
    }
    // Without the query, more products have black.
    let everywhere = values(json!({"q": "black"}));
    assert!(everywhere[0].count > found.iter().find(|value| value.value == "Black").expect("black").count);

    // An empty text lists the most frequent values, `limit` at most.
    let top = values(json!({"limit": 3}));
    assert_eq!(top.len(), 3);
    assert!(top.windows(2).all(|pair| pair[0].count >= pair[1].count), "{top:?}");
}

#[test]
fn only_brand_and_attribute_values_are_searchable() {
    let luma = Luma::load();
    let index = luma.catalog.get(&luma.name).expect("index");
    let settings = settings();
    let error = facet_values(&index, &settings, "price", &request(json!({"q": "1"}))).expect_err("price");
    assert!(matches!(error, QueryError::FacetNotSearchable(_)), "{error:?}");
    let error = facet_values(&index, &settings, "flavour", &request(json!({}))).expect_err("unknown");
    assert!(matches!(error, QueryError::UnknownField(_)), "{error:?}");
    let error = facet_values(&index, &settings, "color", &request(json!({"limit": 0}))).expect_err("limit");
    assert!(matches!(error, QueryError::InvalidPagination(_)), "{error:?}");
}

#[test]
fn sizes_in_natural_order_and_colours_in_an_explicit_one() {
    let luma = Luma::load();
    let index = luma.catalog.get(&luma.name).expect("index");
    let mut settings = settings();
    settings.facets.value_order.insert("size".into(), ValueOrder::Named(NamedValueOrder::Natural));
    settings.facets.value_order.insert("color".into(), ValueOrder::Explicit(vec!["Red".into(), "Blue".into()]));
    let searched: SearchRequest =
        serde_json::from_value(json!({"facets": ["size", "color", "price"]})).expect("search");
    let response = search(&index, &settings, &searched).expect("search");
    let sizes = &response.facet_order["size"];
    // Letters first, then by the leading number (`6 foot` before `28`, `36` before `55 cm`).
    assert_eq!(sizes[..5], ["XS", "S", "M", "L", "XL"], "{sizes:?}");
    let numbers: Vec<f64> = sizes[5..]
        .iter()
        .map(|size| size.split(' ').next().and_then(|number| number.parse().ok()).expect("a leading number"))
        .collect();
    assert!(!numbers.is_empty() && numbers.is_sorted(), "{sizes:?}");
    assert!(sizes.iter().position(|size| size == "XL") < sizes.iter().position(|size| size == "28"), "{sizes:?}");
    let colours = &response.facet_order["color"];
    assert_eq!(&colours[..2], ["Red", "Blue"]);
    // The rest by count, as the counts say.
    let counts = &response.facets["color"];
    assert!(colours[2..].windows(2).all(|pair| counts[&pair[0]] >= counts[&pair[1]]), "{colours:?}");
    // A facet without a configured order is left to its counts.
    assert!(!response.facet_order.contains_key("price"));
}
