//! Property tests of what a shopper's request decodes into: random and mutated search requests
//! and filters give a value or a typed user error — never a panic, an engine error or a long
//! computation.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use proptest::prelude::*;
use serde_json::{Map, Value, json};
use vitrine_query::{ItemNumbers, QueryError, SearchRequest, allowed_items, search};

use crate::search::{Shop, catalog};

#[path = "../../../tests/support/byte_edits.rs"]
mod byte_edits;
use byte_edits::{edits, mutate};

/// Cases per property (each runs a real search on a small index).
const CASES: u32 = 512;
/// The longest one case may take (a search on seven products takes milliseconds).
const CASE_LIMIT: Duration = Duration::from_secs(2);

/// The shop every case searches (built once: the cases only read it).
fn shop() -> &'static Shop {
    static SHOP: OnceLock<Shop> = OnceLock::new();
    SHOP.get_or_init(|| Shop::new(catalog()))
}

/// Object keys: the request's and the filter grammar's own names, more often than random ones.
fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(vec![
            "q", "filter", "facets", "sort", "page", "per_page", "user_id", "brand", "category", "price", "in_stock",
            "rating", "colour", "gte", "gt", "lte", "lt",
        ])
        .prop_map(str::to_owned),
        1 => "[a-z_]{0,8}",
        1 => any::<String>(),
    ]
}

/// Any JSON, a few levels deep, with numbers and strings near the edges.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|number| json!(number)),
        any::<u64>().prop_map(|number| json!(number)),
        any::<f64>().prop_map(|number| serde_json::Number::from_f64(number).map_or(Value::Null, Value::Number)),
        prop::sample::select(vec![
            "",
            " ",
            "candle",
            "cand",
            "Glow",
            "home",
            "home/candles",
            "relevance",
            "price_asc",
            "popularity",
            "brand",
            "price",
            "colour",
            "u1",
        ])
        .prop_map(|text| Value::String(text.to_owned())),
        any::<String>().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((key(), inner), 0..6).prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
        ]
    })
}

/// A request object: known fields with random values.
fn request_value() -> impl Strategy<Value = Value> {
    prop::collection::vec((key(), json_value()), 0..6).prop_map(|pairs| Value::Object(pairs.into_iter().collect()))
}

/// A request whose fields have the right JSON types (so that most decode and reach the search),
/// with values anywhere in their ranges.
fn typed_request_value() -> impl Strategy<Value = Value> {
    let facet = prop_oneof![
        6 => prop::sample::select(vec!["brand", "price", "category", "colour", "rating", "in_stock"]).prop_map(str::to_owned),
        1 => prop_oneof![Just("size".to_owned()), any::<String>()],
    ];
    (
        prop::option::of(prop_oneof![3 => "[a-z ]{0,30}", 1 => any::<String>()]),
        prop::option::of(prop_oneof![3 => typed_filter_value(), 1 => filter_value()]),
        prop::option::of(prop_oneof![
            4 => prop::collection::vec(facet.clone(), 0..6),
            1 => prop::collection::vec(facet, 0..40),
        ]),
        prop::option::of(prop_oneof![
            4 => prop::sample::select(vec!["relevance", "price_asc", "price_desc", "popularity", "newest"]),
            1 => Just("cheapest"),
        ]),
        prop::option::of(prop_oneof![4 => 1u64..60, 1 => any::<u64>()]),
        prop::option::of(prop_oneof![4 => 1u64..=200, 1 => any::<u64>()]),
    )
        .prop_map(|(q, filter, facets, sort, page, per_page)| {
            let mut request = Map::new();
            let mut put = |name: &str, value: Option<Value>| {
                if let Some(value) = value {
                    request.insert(name.to_owned(), value);
                }
            };
            put("q", q.map(Value::String));
            put("filter", filter);
            put("facets", facets.map(|facets| json!(facets)));
            put("sort", sort.map(|sort| json!(sort)));
            put("page", page.map(|page| json!(page)));
            put("per_page", per_page.map(|per_page| json!(per_page)));
            Value::Object(request)
        })
}

/// A filter in the grammar's shapes (a string or a list of them, a range, a flag), values
/// anywhere: up to 120 of them, across the 100-value bound.
fn typed_filter_value() -> impl Strategy<Value = Value> {
    let strings = || {
        prop_oneof![
            2 => prop::sample::select(vec!["Glow", "Forge", "home", "home/candles", "red", "x"]).prop_map(|text| json!(text)),
            2 => prop::collection::vec(prop_oneof![3 => "[A-Za-z/]{0,10}", 1 => any::<String>()], 1..12)
                .prop_map(|values| json!(values)),
            1 => prop::collection::vec("[a-z]{1,4}", 80..120).prop_map(|values| json!(values)),
        ]
    };
    let bound = prop_oneof![4 => -10.0f64..100.0, 1 => any::<f64>()];
    let range = (
        prop::sample::select(vec!["gt", "gte", "lt", "lte"]),
        bound.clone(),
        prop::option::of((prop::sample::select(vec!["gt", "gte", "lt", "lte"]), bound)),
    )
        .prop_map(|(first, low, second)| {
            let mut range = Map::new();
            range.insert(first.to_owned(), serde_json::Number::from_f64(low).map_or(Value::Null, Value::Number));
            if let Some((name, high)) = second {
                range.insert(name.to_owned(), serde_json::Number::from_f64(high).map_or(Value::Null, Value::Number));
            }
            Value::Object(range)
        });
    (
        prop::option::of(strings()),
        prop::option::of(strings()),
        prop::option::of(strings()),
        prop::option::of(range.clone()),
        prop::option::of(range),
        prop::option::of(any::<bool>()),
    )
        .prop_map(|(brand, category, colour, price, rating, in_stock)| {
            let mut filter = Map::new();
            let mut put = |name: &str, value: Option<Value>| {
                if let Some(value) = value {
                    filter.insert(name.to_owned(), value);
                }
            };
            put("brand", brand);
            put("category", category);
            put("colour", colour);
            put("price", price);
            put("rating", rating);
            put("in_stock", in_stock.map(Value::Bool));
            Value::Object(filter)
        })
}

/// A filter object over the filter grammar's fields.
fn filter_value() -> impl Strategy<Value = Value> {
    prop::collection::vec((key(), json_value()), 0..5).prop_map(|pairs| Value::Object(pairs.into_iter().collect()))
}

/// A valid request, as text, to mutate.
const VALID: &str = r#"{"q": "scented candle", "filter": {"brand": ["Glow", "Forge"], "price": {"gte": 2, "lt": 20},
    "category": "home", "in_stock": true, "colour": "red"}, "facets": ["brand", "price", "category", "colour"],
    "sort": "price_asc", "page": 1, "per_page": 5, "user_id": "u1"}"#;

/// A search of `request` is an answer or a user error, in bounded time.
fn searched(shop: &Shop, request: &SearchRequest) -> Result<(), TestCaseError> {
    let index = shop.catalog.get(&shop.name).expect("index");
    let started = Instant::now();
    let checked = request.check();
    let outcome = search(&index, &shop.settings, request);
    prop_assert!(started.elapsed() < CASE_LIMIT, "took {:?}: {request:?}", started.elapsed());
    match outcome {
        Ok(response) => {
            prop_assert!(checked.is_ok(), "answered a request its own check refuses: {request:?}");
            let (_, limit) = request.window().expect("answered, so in bounds");
            prop_assert!(response.hits.len() <= limit);
        }
        Err(error) => prop_assert!(error.is_user_error(), "not a user error: {error} for {request:?}"),
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn random_search_requests_decode_to_a_request_or_an_error(value in request_value()) {
        let shop = shop();
        // A shape error is serde's: the HTTP layer answers it `malformed_payload`.
        if let Ok(request) = serde_json::from_value::<SearchRequest>(value) {
            searched(shop, &request)?;
        }
    }

    #[test]
    fn typed_random_search_requests_are_answered_or_refused(value in typed_request_value()) {
        let request: SearchRequest = serde_json::from_value(value).expect("the fields have their types");
        searched(shop(), &request)?;
    }

    #[test]
    fn mutated_search_requests_decode_to_a_request_or_an_error(edits in edits()) {
        let shop = shop();
        let bytes = mutate(VALID, &edits);
        if let Ok(request) = serde_json::from_slice::<SearchRequest>(&bytes) {
            searched(shop, &request)?;
        }
    }

    #[test]
    fn random_filters_filter_or_are_refused(
        filter in prop_oneof![typed_filter_value(), filter_value()],
        recommend in any::<bool>(),
    ) {
        let shop = shop();
        if recommend {
            let index = shop.catalog.get(&shop.name).expect("index");
            let started = Instant::now();
            // Every product an item of its own (a hash of its id).
            let number_of = |id: &str| Some(id.bytes().fold(7_u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b))) % 65_536);
            match allowed_items(&index, &[Some(&filter)], &ItemNumbers::new("m", 65_536), &number_of) {
                Ok(allowed) => prop_assert!(allowed.len() <= 7),
                Err(error) => prop_assert!(error.is_user_error(), "{error} for {filter}"),
            }
            prop_assert!(started.elapsed() < CASE_LIMIT);
        } else {
            let request = SearchRequest { filter: Some(filter), facets: vec!["brand".into()], ..SearchRequest::default() };
            searched(shop, &request)?;
        }
    }
}

#[test]
fn a_filter_of_any_other_json_type_is_a_filter_error() {
    let shop = shop();
    for filter in [json!(3), json!("brand"), json!([{"brand": "Glow"}]), json!(true), Value::Object(Map::new())] {
        let request = SearchRequest { filter: Some(filter.clone()), ..SearchRequest::default() };
        let index = shop.catalog.get(&shop.name).expect("index");
        match search(&index, &shop.settings, &request) {
            Ok(_) => assert_eq!(filter, json!({}), "only the empty object filters nothing"),
            Err(error) => assert!(matches!(error, QueryError::InvalidFilter(_)), "{filter}: {error}"),
        }
    }
}
