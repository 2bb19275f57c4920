//! Property tests of what feeds, document requests and Kafka messages decode into, and of
//! indexing it: random and mutated inputs give products and events the index takes, or a typed
//! refusal (a line error, a serde error, a dead letter) — never a panic, and in bounded time.

use std::io::Cursor;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use proptest::prelude::*;
use serde_json::{Value, json};
use vitrine_indexer::Catalog;
use vitrine_models::feed::{FeedFormat, read_products};
use vitrine_models::{DataDir, IndexName, Product, ProductEvent};

#[path = "../../../tests/support/byte_edits.rs"]
mod byte_edits;
use byte_edits::{edits, mutate};

/// Cases per property (each decoded value is indexed for real).
const CASES: u32 = 512;
/// The longest one case may take (a commit of a few products takes milliseconds).
const CASE_LIMIT: Duration = Duration::from_secs(5);

/// The index every case writes to (its own folder; cases add products and events to it).
fn catalog() -> &'static (Catalog, IndexName, tempfile::TempDir) {
    static CATALOG: OnceLock<(Catalog, IndexName, tempfile::TempDir)> = OnceLock::new();
    CATALOG.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temp dir");
        (Catalog::new(DataDir::new(dir.path())), IndexName::new("shop").expect("name"), dir)
    })
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(vec![
            "id", "title", "description", "brand", "category", "price", "currency", "attributes", "stock",
            "popularity", "margin", "rating", "rating_count", "image_url", "url", "parent_id", "created_at",
            "version", "event_id", "type", "product_id", "occurred_at", "payload", "colour",
        ])
        .prop_map(str::to_owned),
        1 => "[a-z_]{0,8}",
        1 => any::<String>(),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-3i64..100).prop_map(|number| json!(number)),
        any::<i64>().prop_map(|number| json!(number)),
        any::<u64>().prop_map(|number| json!(number)),
        any::<f64>().prop_map(|number| serde_json::Number::from_f64(number).map_or(Value::Null, Value::Number)),
        prop::sample::select(vec![
            "",
            "p1",
            "p2",
            "Lamp",
            "home/kitchen",
            "home//x",
            "/",
            "GBP",
            "EUR",
            "XXX",
            "product_upserted",
            "product_deleted",
            "price_changed",
            "stock_changed",
            "2026-01-01T00:00:00Z",
            "1700000000",
            "red",
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

fn object() -> impl Strategy<Value = Value> {
    prop::collection::vec((key(), json_value()), 0..9).prop_map(|pairs| Value::Object(pairs.into_iter().collect()))
}

/// A product document whose fields have their JSON types, values mostly in their ranges and
/// sometimes anywhere (so that most decode and reach the index, and the edges are tried too).
fn typed_product() -> impl Strategy<Value = Value> {
    let float = |low: f64, high: f64| {
        prop_oneof![
            4 => (low..high).prop_map(|n| json!(n)),
            1 => any::<f64>().prop_map(|n| serde_json::Number::from_f64(n).map_or(Value::Null, Value::Number)),
            1 => any::<i64>().prop_map(|n| json!(n)),
        ]
    };
    let text = || prop_oneof![4 => "[A-Za-z][A-Za-z0-9 _-]{0,20}", 1 => any::<String>()];
    let id = prop_oneof![
        4 => prop::sample::select(vec!["p1", "p2", "p3"]).prop_map(str::to_owned),
        1 => prop::sample::select(vec!["".to_owned(), " ".into(), "a/b".into(), "x".repeat(300)]),
    ];
    let category = prop_oneof![
        3 => "[a-z]{1,8}(/[a-z]{1,8}){0,3}".prop_map(Value::String),
        1 => prop::collection::vec(text(), 0..4).prop_map(|levels| json!(levels)),
        1 => text().prop_map(Value::String),
    ];
    let attribute = prop_oneof![
        3 => "[a-z]{1,8}".prop_map(Value::String),
        2 => prop::collection::vec("[a-z]{1,8}", 0..4).prop_map(|values| json!(values)),
        1 => json_value(),
    ];
    let count = prop_oneof![4 => (0u64..100).prop_map(|n| json!(n)), 1 => any::<i64>().prop_map(|n| json!(n))];
    (
        (id, text(), prop::option::of(text()), prop::option::of(category)),
        (
            prop::option::of(float(0.0, 500.0)),
            prop::option::of(prop_oneof![
                4 => prop::sample::select(vec!["GBP", "EUR", "JPY"]),
                1 => prop::sample::select(vec!["gbp", "XXX", ""]),
            ]),
            prop::option::of(count),
            prop::option::of(prop::collection::btree_map("[a-z]{1,6}", attribute, 0..4)),
        ),
        (
            prop::option::of(float(1.0, 5.0)),
            prop::option::of(any::<u64>()),
            prop::option::of(prop::sample::select(vec!["p1", "p2", "", "2026-01-01T00:00:00Z"])),
        ),
    )
        .prop_map(
            |((id, title, brand, category), (price, currency, stock, attributes), (rating, version, parent))| {
                let mut product = serde_json::Map::new();
                product.insert("id".into(), json!(id));
                product.insert("title".into(), json!(title));
                let mut put = |name: &str, value: Option<Value>| {
                    if let Some(value) = value {
                        product.insert(name.to_owned(), value);
                    }
                };
                put("brand", brand.map(Value::String));
                put("category", category);
                put("price", price);
                put("currency", currency.map(|currency| json!(currency)));
                put("stock", stock);
                put("attributes", attributes.map(|attributes| json!(attributes)));
                put("rating", rating);
                put("version", version.map(|version| json!(version)));
                put("parent_id", parent.map(|parent| json!(parent)));
                Value::Object(product)
            },
        )
}

/// A Kafka message whose fields have their JSON types; the payload mostly fits the type (an
/// upserted product with the event's id, nothing for a deletion, a price, a stock) and sometimes
/// does not.
fn typed_message() -> impl Strategy<Value = Value> {
    let kind = prop_oneof![
        4 => prop::sample::select(vec!["product_upserted", "product_deleted", "price_changed", "stock_changed"]),
        1 => Just("other"),
    ];
    let fitting = |kind: &str| -> BoxedStrategy<Value> {
        match kind {
            "product_upserted" => typed_product().boxed(),
            "product_deleted" => prop_oneof![Just(Value::Null), Just(json!({}))].boxed(),
            "price_changed" => (
                prop::option::of(prop_oneof![4 => 0.0f64..500.0, 1 => any::<f64>()]),
                prop::option::of(prop::sample::select(vec!["GBP", "EUR", "XXX"])),
            )
                .prop_map(|(price, currency)| {
                    json!({"price": price.and_then(serde_json::Number::from_f64), "currency": currency})
                })
                .boxed(),
            _ => prop::option::of(any::<u64>()).prop_map(|stock| json!({"stock": stock})).boxed(),
        }
    };
    kind.prop_flat_map(move |kind| {
        (
            Just(kind),
            prop::sample::select(vec!["p1", "p2", ""]),
            any::<u64>(),
            prop_oneof![
                4 => prop::sample::select(vec!["2026-01-01T00:00:00Z", "1970-01-01T00:00:00Z", "9999-12-31T23:59:59Z"]),
                1 => Just("now"),
            ],
            prop_oneof![4 => fitting(kind), 1 => object(), 1 => typed_product()],
        )
    })
    .prop_map(|(kind, product_id, version, occurred_at, mut payload)| {
        if let Value::Object(fields) = &mut payload
            && fields.contains_key("title")
            && product_id != "p2"
        {
            // Mostly the event's own product; `p2` events carry whichever id was drawn.
            fields.insert("id".into(), json!(product_id));
        }
        json!({"event_id": "e", "type": kind, "product_id": product_id, "version": version,
               "occurred_at": occurred_at, "payload": payload})
    })
}

const VALID_JSONL: &str = concat!(
    r#"{"id": "p1", "title": "Desk lamp", "brand": "Glow", "category": "home/lighting", "price": 12.5, "currency": "GBP", "stock": 3, "attributes": {"colour": ["red", "blue"]}, "created_at": "2026-01-01T00:00:00Z", "version": 2}"#,
    "\n",
    r#"{"id": "p2", "title": "Lamp shade", "parent_id": "p1", "rating": 4.5, "rating_count": 10, "popularity": 3}"#,
    "\n"
);

const VALID_CSV: &str = "id,title,brand,category,price,currency,stock,attr.colour,created_at,version\n\
    p1,Desk lamp,Glow,home/lighting,12.5,GBP,3,red|blue,2026-01-01T00:00:00Z,2\n\
    p2,Lamp shade,,home,4,GBP,,white,,\n";

const VALID_EVENT: &str = r#"{"event_id": "e1", "type": "product_upserted", "product_id": "p1", "version": 7,
    "occurred_at": "2026-01-01T00:00:00Z", "payload": {"id": "p1", "title": "Desk lamp", "price": 12.5,
    "currency": "GBP", "stock": 2}}"#;

/// Indexes the products a decoder produced: the index takes every one.
fn indexed(products: Vec<Product>, started: Instant) -> Result<(), TestCaseError> {
    let (catalog, name, _) = catalog();
    if !products.is_empty() {
        let report = catalog.upsert(name, products);
        prop_assert!(report.is_ok(), "a decoded product was not indexed: {report:?}");
    }
    prop_assert!(started.elapsed() < CASE_LIMIT, "took {:?}", started.elapsed());
    Ok(())
}

/// A feed's products, the bad lines left out (each reported with its reason).
fn feed_products(bytes: &[u8], format: FeedFormat) -> Result<Vec<Product>, TestCaseError> {
    let Ok(records) = read_products(Cursor::new(bytes.to_vec()), format) else {
        return Ok(Vec::new()); // the whole file refused (a CSV header with unknown columns)
    };
    let mut products = Vec::new();
    for record in records {
        match record {
            Ok(product) => products.push(product),
            Err(error) => prop_assert!(error.line >= 1 && !error.reason.is_empty(), "{error}"),
        }
    }
    Ok(products)
}

/// A Kafka message: an event the index applies, or a dead letter with a reason.
fn consumed(key: Option<&[u8]>, value: &[u8], started: Instant) -> Result<(), TestCaseError> {
    match ProductEvent::parse(key, value) {
        Ok(event) => {
            let (catalog, name, _) = catalog();
            let index = catalog.get_or_create(name).expect("index");
            let applied = index.apply([event], None);
            prop_assert!(applied.is_ok(), "a parsed event was not applied: {applied:?}");
        }
        Err(dead_letter) => {
            let text = format!("{dead_letter:?}");
            prop_assert!(!text.is_empty());
        }
    }
    prop_assert!(started.elapsed() < CASE_LIMIT, "took {:?}", started.elapsed());
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn random_documents_decode_to_products_the_index_takes(documents in prop::collection::vec(object(), 1..4)) {
        let started = Instant::now();
        // `POST …/documents` decodes each element of the array as a product.
        let products: Vec<Product> =
            documents.into_iter().filter_map(|document| serde_json::from_value(document).ok()).collect();
        indexed(products, started)?;
    }

    #[test]
    fn typed_random_documents_decode_to_products_the_index_takes(documents in prop::collection::vec(typed_product(), 1..4)) {
        let started = Instant::now();
        let products: Vec<Product> =
            documents.into_iter().filter_map(|document| serde_json::from_value(document).ok()).collect();
        indexed(products, started)?;
    }

    #[test]
    fn typed_random_kafka_messages_give_events_or_dead_letters(message in typed_message(), keyed in any::<bool>()) {
        let started = Instant::now();
        let key = message["product_id"].as_str().map(str::to_owned);
        let bytes = serde_json::to_vec(&message).expect("JSON");
        consumed(key.as_deref().filter(|_| keyed).map(str::as_bytes), &bytes, started)?;
    }

    #[test]
    fn mutated_json_lines_feeds_give_products_or_line_errors(edits in edits()) {
        let started = Instant::now();
        let products = feed_products(&mutate(VALID_JSONL, &edits), FeedFormat::JsonLines)?;
        indexed(products, started)?;
    }

    #[test]
    fn mutated_csv_feeds_give_products_or_line_errors(edits in edits()) {
        let started = Instant::now();
        let products = feed_products(&mutate(VALID_CSV, &edits), FeedFormat::Csv)?;
        indexed(products, started)?;
    }

    #[test]
    fn random_kafka_messages_give_events_or_dead_letters(
        wire in object(),
        payload in object(),
        key in prop::option::of(prop::sample::select(vec!["p1", "p2", ""])),
    ) {
        let started = Instant::now();
        let mut message = wire;
        if let Value::Object(fields) = &mut message && !fields.contains_key("payload") {
            fields.insert("payload".into(), payload);
        }
        let bytes = serde_json::to_vec(&message).expect("JSON");
        consumed(key.map(str::as_bytes), &bytes, started)?;
    }

    #[test]
    fn mutated_kafka_messages_give_events_or_dead_letters(edits in edits(), keyed in any::<bool>()) {
        let started = Instant::now();
        consumed(keyed.then_some(b"p1".as_slice()), &mutate(VALID_EVENT, &edits), started)?;
    }
}

#[test]
fn the_valid_inputs_are_valid() {
    let products = feed_products(VALID_JSONL.as_bytes(), FeedFormat::JsonLines).expect("read");
    assert_eq!(products.len(), 2);
    let products = feed_products(VALID_CSV.as_bytes(), FeedFormat::Csv).expect("read");
    assert_eq!(products.len(), 2);
    assert!(ProductEvent::parse(Some(b"p1"), VALID_EVENT.as_bytes()).is_ok());
}
