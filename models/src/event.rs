//! Product change events: the contract between a shop and Vitrine's indexer (`docs/events.md`).
//!
//! On Kafka the message key is the product id and the value a JSON object:
//!
//! ```json
//! {"event_id": "0193…", "type": "product_upserted", "product_id": "85123A", "version": 7,
//!  "occurred_at": "2026-11-24T10:00:00Z", "payload": {"id": "85123A", "title": "…", …}}
//! ```
//!
//! | `type` | `payload` |
//! |---|---|
//! | `product_upserted` | the full product (its `id` must be `product_id`; its `version` is set to the event's) |
//! | `product_deleted` | absent, `null` or `{}` |
//! | `price_changed` | `{"price": 2.95, "currency": "GBP"}` (`price: null` removes it; `currency` defaults to the product's) |
//! | `stock_changed` | `{"stock": 12}` (`stock: null` stops tracking it) |
//!
//! [`ProductEvent::parse`] turns bytes into a validated event or a [`DeadLetter`] reason with a
//! stable code; the documents API and the demo build the same events in code, so every change
//! takes one path into the index.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::ids::ProductId;
use crate::money::Currency;
use crate::product::{Product, ProductDraft};

/// The largest event accepted, in bytes; larger ones are dead-lettered as `oversize`.
pub const MAX_EVENT_BYTES: usize = 1 << 20;

/// A validated product change.
#[derive(Debug, Clone, PartialEq)]
pub struct ProductEvent {
    /// The producer's id of the event (for tracing; not used for ordering).
    pub event_id: String,
    /// The product it changes.
    pub product_id: ProductId,
    /// Monotonic per product: an event not newer than what is indexed is skipped as stale.
    pub version: u64,
    /// When the change happened at the source.
    pub occurred_at: DateTime<Utc>,
    /// What changed.
    pub change: Change,
}

/// What an event changes.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// The whole product, created or replaced.
    Upserted(Box<Product>),
    /// The product is gone.
    Deleted,
    /// Only the price: amount in major units (`None` removes the price) and, if given, currency.
    PriceChanged {
        /// The new price in major units, or `None`.
        price: Option<f64>,
        /// The currency; the product's own when absent.
        currency: Option<Currency>,
    },
    /// Only the stock (`None`: not tracked).
    StockChanged {
        /// Units in stock.
        stock: Option<u64>,
    },
}

impl Change {
    /// The event `type` naming this change.
    pub fn type_name(&self) -> &'static str {
        match self {
            Change::Upserted(_) => "product_upserted",
            Change::Deleted => "product_deleted",
            Change::PriceChanged { .. } => "price_changed",
            Change::StockChanged { .. } => "stock_changed",
        }
    }
}

/// Why an event could not be used; it goes to the dead-letter store with this code and detail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadLetter {
    /// A stable code: `oversize`, `malformed_json`, `missing_field`, `unknown_type`,
    /// `invalid_product`, `invalid_payload`, `id_mismatch`, `key_mismatch`.
    pub code: String,
    /// What exactly was wrong.
    pub reason: String,
}

impl DeadLetter {
    fn new(code: &str, reason: impl Into<String>) -> Self {
        DeadLetter { code: code.to_owned(), reason: reason.into() }
    }
}

impl std::fmt::Display for DeadLetter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.reason)
    }
}

/// The wire form, every field optional so that a missing one gets its own reason.
#[derive(Debug, Deserialize, Serialize)]
struct Wire {
    event_id: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    product_id: Option<String>,
    version: Option<u64>,
    occurred_at: Option<DateTime<Utc>>,
    #[serde(default)]
    payload: Option<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PricePayload {
    price: Option<f64>,
    #[serde(default)]
    currency: Option<Currency>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StockPayload {
    stock: Option<u64>,
}

fn required<T>(value: Option<T>, field: &str) -> Result<T, DeadLetter> {
    value.ok_or_else(|| DeadLetter::new("missing_field", format!("`{field}` is missing")))
}

fn payload<T: serde::de::DeserializeOwned>(value: Option<Value>, kind: &str) -> Result<T, DeadLetter> {
    let value = required(value, "payload")?;
    serde_json::from_value(value).map_err(|error| DeadLetter::new("invalid_payload", format!("{kind}: {error}")))
}

impl ProductEvent {
    /// Parses and validates a message: `key` is the Kafka key (the product id, when present).
    pub fn parse(key: Option<&[u8]>, value: &[u8]) -> Result<ProductEvent, DeadLetter> {
        ProductEvent::parse_in(key, value, None)
    }

    /// As [`ProductEvent::parse`], a product's price sent without its currency being in
    /// `default_currency` (the index's `default_currency` setting), if any.
    pub fn parse_in(
        key: Option<&[u8]>,
        value: &[u8],
        default_currency: Option<&str>,
    ) -> Result<ProductEvent, DeadLetter> {
        if value.len() > MAX_EVENT_BYTES {
            return Err(DeadLetter::new("oversize", format!("{} bytes; the limit is {MAX_EVENT_BYTES}", value.len())));
        }
        let wire: Wire =
            serde_json::from_slice(value).map_err(|error| DeadLetter::new("malformed_json", error.to_string()))?;
        let event_id = required(wire.event_id, "event_id")?;
        let kind = required(wire.kind, "type")?;
        let product_id = ProductId::new(required(wire.product_id, "product_id")?)
            .map_err(|error| DeadLetter::new("invalid_payload", format!("product_id: {error}")))?;
        let version = required(wire.version, "version")?;
        let occurred_at = required(wire.occurred_at, "occurred_at")?;
        if let Some(key) = key
            && key != product_id.as_str().as_bytes()
        {
            return Err(DeadLetter::new(
                "key_mismatch",
                format!("the message key {:?} is not the product id `{product_id}`", String::from_utf8_lossy(key)),
            ));
        }
        let change = match kind.as_str() {
            "product_upserted" => {
                let invalid = |error: String| DeadLetter::new("invalid_product", error);
                let draft: ProductDraft = serde_json::from_value(required(wire.payload, "payload")?)
                    .map_err(|error| invalid(error.to_string()))?;
                let mut product = Product::try_from(draft.with_default_currency(default_currency))
                    .map_err(|error| invalid(error.to_string()))?;
                if product.id != product_id {
                    return Err(DeadLetter::new(
                        "id_mismatch",
                        format!("the payload's id `{}` is not the event's product_id `{product_id}`", product.id),
                    ));
                }
                product.version = version;
                Change::Upserted(Box::new(product))
            }
            "product_deleted" => match wire.payload {
                None | Some(Value::Null) => Change::Deleted,
                Some(Value::Object(object)) if object.is_empty() => Change::Deleted,
                Some(_) => return Err(DeadLetter::new("invalid_payload", "product_deleted carries no payload")),
            },
            "price_changed" => {
                let PricePayload { price, currency } = payload(wire.payload, "price_changed")?;
                if price.is_some_and(|price| !price.is_finite() || price < 0.0) {
                    return Err(DeadLetter::new("invalid_payload", "price_changed: `price` must be 0 or more"));
                }
                Change::PriceChanged { price, currency }
            }
            "stock_changed" => {
                let StockPayload { stock } = payload(wire.payload, "stock_changed")?;
                Change::StockChanged { stock }
            }
            other => {
                return Err(DeadLetter::new(
                    "unknown_type",
                    format!("`{other}`; expected product_upserted, product_deleted, price_changed or stock_changed"),
                ));
            }
        };
        Ok(ProductEvent { event_id, product_id, version, occurred_at, change })
    }

    /// The event of a product upsert (the product's own version).
    pub fn upserted(product: Product, event_id: String, occurred_at: DateTime<Utc>) -> ProductEvent {
        ProductEvent {
            event_id,
            product_id: product.id.clone(),
            version: product.version,
            occurred_at,
            change: Change::Upserted(Box::new(product)),
        }
    }

    /// The JSON value of the event, as published on Kafka.
    pub fn to_json(&self) -> Value {
        let payload = match &self.change {
            Change::Upserted(product) => serde_json::to_value(product).ok(),
            Change::Deleted => None,
            Change::PriceChanged { price, currency } => {
                Some(serde_json::json!({ "price": price, "currency": currency.as_ref().map(Currency::as_str) }))
            }
            Change::StockChanged { stock } => Some(serde_json::json!({ "stock": stock })),
        };
        let wire = Wire {
            event_id: Some(self.event_id.clone()),
            kind: Some(self.change.type_name().to_owned()),
            product_id: Some(self.product_id.to_string()),
            version: Some(self.version),
            occurred_at: Some(self.occurred_at),
            payload,
        };
        serde_json::to_value(wire).unwrap_or(Value::Null)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn event(value: &Value) -> Result<ProductEvent, DeadLetter> {
        ProductEvent::parse(Some(b"85123A"), value.to_string().as_bytes())
    }

    fn base(kind: &str, payload: &Value) -> Value {
        json!({"event_id": "e-1", "type": kind, "product_id": "85123A", "version": 7,
               "occurred_at": "2026-11-24T10:00:00Z", "payload": payload})
    }

    #[test]
    fn each_type_parses_and_the_upsert_takes_the_events_version() {
        let upsert = event(&base("product_upserted", &json!({"id": "85123A", "title": "Heart holder"}))).expect("ok");
        match &upsert.change {
            Change::Upserted(product) => assert_eq!(product.version, 7),
            other => panic!("{other:?}"),
        }
        assert_eq!(event(&base("product_deleted", &Value::Null)).expect("ok").change, Change::Deleted);
        let price = event(&base("price_changed", &json!({"price": 2.95}))).expect("ok");
        assert_eq!(price.change, Change::PriceChanged { price: Some(2.95), currency: None });
        let stock = event(&base("stock_changed", &json!({"stock": 0}))).expect("ok");
        assert_eq!(stock.change, Change::StockChanged { stock: Some(0) });
        // What we publish is what we parse.
        for parsed in [upsert, price, stock] {
            let again = ProductEvent::parse(None, parsed.to_json().to_string().as_bytes()).expect("round trip");
            assert_eq!(again, parsed);
        }
    }

    #[test]
    fn bad_events_get_stable_codes() {
        let code = |result: Result<ProductEvent, DeadLetter>| result.expect_err("refused").code;
        assert_eq!(code(ProductEvent::parse(None, b"{not json")), "malformed_json");
        assert_eq!(code(ProductEvent::parse(None, &vec![b' '; MAX_EVENT_BYTES + 1])), "oversize");
        let mut no_version = base("stock_changed", &json!({"stock": 1}));
        no_version.as_object_mut().map(|object| object.remove("version"));
        assert_eq!(code(event(&no_version)), "missing_field");
        assert_eq!(code(event(&base("product_renamed", &json!({})))), "unknown_type");
        assert_eq!(code(event(&base("product_upserted", &json!({"id": "85123A"})))), "invalid_product");
        assert_eq!(code(event(&base("product_upserted", &json!({"id": "other", "title": "x"})))), "id_mismatch");
        assert_eq!(code(event(&base("price_changed", &json!({"price": -1.0})))), "invalid_payload");
        assert_eq!(code(event(&base("stock_changed", &json!({"stok": 1})))), "invalid_payload");
        let other_key = ProductEvent::parse(Some(b"X"), base("product_deleted", &Value::Null).to_string().as_bytes());
        assert_eq!(code(other_key), "key_mismatch");
    }
}
