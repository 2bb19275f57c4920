//! Property tests of the settings decoder (`settings.json`, `PUT …/settings` and its parts):
//! random and mutated documents give settings that pass [`IndexSettings::check`] or an error —
//! never a panic — and what passes survives a round trip.

use std::time::{Duration, Instant};

use proptest::prelude::*;
use serde_json::{Map, Value, json};
use vitrine_models::settings::{IndexSettings, SETTINGS_PARTS};

#[path = "../../../tests/support/byte_edits.rs"]
mod byte_edits;
use byte_edits::{edits, mutate};

/// Cases per property.
const CASES: u32 = 2048;
/// The longest one case may take.
const CASE_LIMIT: Duration = Duration::from_secs(1);

/// The settings' own names, more often than random ones.
fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(vec![
            "typo_tolerance", "ranking", "facets", "synonyms", "rules", "variants", "enabled",
            "min_word_len_one_typo", "min_word_len_two_typos", "min_word_len_unknown_word_typo", "disable_on_words",
            "disable_on_attributes", "disable_on_numbers", "title", "description", "brand", "category", "popularity",
            "rating", "margin", "phrase", "out_of_stock_penalty", "personalization", "attributes", "price_buckets",
            "max_values_per_facet", "type", "terms", "input", "synonyms", "id", "condition", "query", "match", "pin",
            "hide", "boost", "bury", "filter", "weight", "position", "valid_from", "valid_until", "collapse",
            "language", "field_languages",
        ])
        .prop_map(str::to_owned),
        1 => "[a-z_]{0,8}",
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-3i64..40).prop_map(|number| json!(number)),
        any::<i64>().prop_map(|number| json!(number)),
        any::<f64>().prop_map(|number| serde_json::Number::from_f64(number).map_or(Value::Null, Value::Number)),
        prop::sample::select(vec![
            "",
            "tv",
            "television",
            "sofa bed",
            "multi_way",
            "one_way",
            "exact",
            "contains",
            "p1",
            "rule-1",
            "2026-01-01T00:00:00Z",
            "not a date",
            "colour",
            "fr",
            "de",
        ])
        .prop_map(|text| Value::String(text.to_owned())),
        any::<String>().prop_map(Value::String),
    ];
    leaf.prop_recursive(5, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((key(), inner), 0..6).prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
        ]
    })
}

/// A valid settings document, as text, to mutate.
const VALID: &str = r#"{"typo_tolerance": {"enabled": true, "min_word_len_one_typo": 5, "min_word_len_two_typos": 9},
 "ranking": {"title": 3, "popularity": 0.5, "out_of_stock_penalty": 0.5},
 "facets": {"attributes": ["colour", "size"], "price_buckets": [5, 10, 50], "max_values_per_facet": 20},
 "synonyms": [{"type": "multi_way", "terms": ["tv", "television"]}, {"type": "one_way", "input": "phone", "synonyms": ["smartphone"]}],
 "rules": [{"id": "r1", "condition": {"query": "lamp", "match": "contains"}, "pin": [{"id": "p1", "position": 1}],
   "hide": ["p2"], "boost": [{"filter": {"brand": ["Glow"]}, "weight": 2}], "valid_from": "2026-01-01T00:00:00Z"}],
 "variants": {"collapse": false}, "language": "fr", "field_languages": {"category": "en"}}"#;

/// Decoded settings that pass their check serialise and decode back to themselves.
fn checked_settings_round_trip(settings: &IndexSettings) -> Result<(), TestCaseError> {
    if settings.check().is_ok() {
        let text = serde_json::to_string(settings).expect("settings serialise");
        let again: IndexSettings = serde_json::from_str(&text).expect("what was written reads back");
        prop_assert_eq!(&again, settings);
        prop_assert!(again.check().is_ok());
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn random_settings_documents_decode_or_are_refused(pairs in prop::collection::vec((key(), json_value()), 0..7)) {
        let started = Instant::now();
        let document = Value::Object(pairs.into_iter().collect());
        if let Ok(settings) = serde_json::from_value::<IndexSettings>(document) {
            checked_settings_round_trip(&settings)?;
        }
        prop_assert!(started.elapsed() < CASE_LIMIT);
    }

    #[test]
    fn mutated_settings_documents_decode_or_are_refused(edits in edits()) {
        let started = Instant::now();
        if let Ok(settings) = serde_json::from_slice::<IndexSettings>(&mutate(VALID, &edits)) {
            checked_settings_round_trip(&settings)?;
        }
        prop_assert!(started.elapsed() < CASE_LIMIT);
    }

    #[test]
    fn random_parts_replace_parts_or_are_refused(
        parts in prop::collection::vec((prop::sample::select(SETTINGS_PARTS.to_vec()), json_value()), 0..4),
        unknown in prop::option::of("[a-z]{1,6}"),
    ) {
        let live: IndexSettings = serde_json::from_str(VALID).expect("valid settings");
        let mut map: Map<String, Value> = parts.into_iter().map(|(part, value)| (part.to_owned(), value)).collect();
        if let Some(name) = unknown.filter(|name| !SETTINGS_PARTS.contains(&name.as_str())) {
            map.insert(name, json!({}));
            prop_assert!(live.with_parts(&map).is_err(), "an unknown part is refused");
        } else if let Ok(settings) = live.with_parts(&map) {
            prop_assert!(settings.check().is_ok(), "with_parts checks the whole");
            checked_settings_round_trip(&settings)?;
        }
    }
}

#[test]
fn the_valid_document_is_valid() {
    let settings: IndexSettings = serde_json::from_str(VALID).expect("valid settings");
    assert!(settings.check().is_ok());
    assert_ne!(settings, IndexSettings::default());
}
