use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{ValidationError, clean_optional_text, clean_text};
use crate::ids::ProductId;
use crate::money::{Currency, Money};

/// Longest product title accepted, in bytes.
const MAX_TITLE_LEN: usize = 1_000;
/// Longest product description accepted, in bytes.
const MAX_DESCRIPTION_LEN: usize = 100_000;
/// Longest brand, category level, attribute name or attribute text value, in bytes.
const MAX_SHORT_TEXT_LEN: usize = 500;
/// Longest URL accepted, in bytes.
const MAX_URL_LEN: usize = 2_048;
/// Most attributes one product may carry.
const MAX_ATTRIBUTES: usize = 200;
/// Deepest category path accepted.
const MAX_CATEGORY_DEPTH: usize = 10;

/// A product as shops send it: the wire form of [`Product`] (JSON and CSV imports, Kafka events,
/// the documents API). Only `id` and `title` are required.
///
/// ```json
/// {"id": "85123A", "title": "White hanging heart T-light holder", "price": 2.55,
///  "currency": "GBP", "category": "home/candles", "brand": "Vitrine Gifts",
///  "attributes": {"colour": "white", "material": ["metal", "glass"]}, "stock": 12}
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductDraft {
    /// The shop's id for the product (SKU, stock code). Required.
    pub id: String,
    /// The product's name. Required.
    pub title: String,
    /// Long description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Brand or maker.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub brand: Option<String>,
    /// Category path, either `"home/kitchen/knives"` or `["home", "kitchen", "knives"]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<CategoryInput>,
    /// Unit price in major units (`12.5` for £12.50). Needs `currency`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<f64>,
    /// ISO 4217 code of `price`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// Free attributes: text, number, boolean or a list of texts.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, AttributeValue>,
    /// Units in stock; absent means the shop does not track stock for this product.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stock: Option<i64>,
    /// How much shoppers want it (sales, views); any non-negative scale, higher is more popular.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub popularity: Option<f64>,
    /// Profit margin as a fraction of the price, from -1 to 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub margin: Option<f64>,
    /// Average review rating, 0 to 5.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rating: Option<f64>,
    /// Number of reviews behind `rating`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rating_count: Option<u32>,
    /// Image URL (`http(s)://...` or a path starting with `/`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_url: Option<String>,
    /// Product page URL (`http(s)://...` or a path starting with `/`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// For a variant (a size or colour of a product), the id of its parent product.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<String>,
    /// When the product was first listed (RFC 3339); drives the "newest" sort.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<DateTime<Utc>>,
    /// Monotonic per product: a change whose version is not newer than the stored one is stale.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub version: u64,
}

fn is_zero(value: &u64) -> bool {
    *value == 0
}

/// The two accepted spellings of a category path.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum CategoryInput {
    /// Levels separated by `/`: `"home/kitchen"`.
    Path(String),
    /// Levels as a list: `["home", "kitchen"]`.
    Levels(Vec<String>),
}

/// An attribute's value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum AttributeValue {
    /// `true` / `false`.
    Bool(bool),
    /// A number (size 42, voltage 230).
    Number(f64),
    /// A text (`"red"`).
    Text(String),
    /// Several texts (`["cotton", "elastane"]`).
    List(Vec<String>),
}

/// A hierarchical category, root first: `home > kitchen > knives`. May be empty (uncategorised).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CategoryPath(Vec<String>);

crate::schema::wire_schema!(CategoryPath, "CategoryPath", crate::schema::levels());

impl CategoryPath {
    /// Validates a path given as levels. A level may not be blank or contain `/`.
    pub fn new<S: AsRef<str>>(levels: impl IntoIterator<Item = S>) -> Result<Self, ValidationError> {
        let levels = levels
            .into_iter()
            .map(|level| {
                let level = clean_text("category", level.as_ref(), MAX_SHORT_TEXT_LEN)?;
                if level.contains('/') {
                    return Err(ValidationError::BadCharacter {
                        field: "category",
                        what: "`/` inside a level (it separates levels)".to_owned(),
                    });
                }
                Ok(level)
            })
            .collect::<Result<Vec<_>, _>>()?;
        if levels.len() > MAX_CATEGORY_DEPTH {
            return Err(ValidationError::OutOfRange {
                field: "category",
                value: levels.len().to_string(),
                expected: "a category path may have at most 10 levels",
            });
        }
        Ok(CategoryPath(levels))
    }

    /// Parses `"home/kitchen/knives"`; empty segments (`"home//kitchen/"`) are ignored.
    pub fn parse(path: &str) -> Result<Self, ValidationError> {
        CategoryPath::new(path.split('/').filter(|level| !level.trim().is_empty()))
    }

    /// The levels, root first.
    pub fn levels(&self) -> &[String] {
        &self.0
    }

    /// True for an uncategorised product.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for CategoryPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join("/"))
    }
}

/// Business signals that ranking blends with text relevance.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Signals {
    /// Non-negative; higher is more popular.
    pub popularity: f64,
    /// Profit margin, -1 to 1, if known.
    pub margin: Option<f64>,
    /// Average rating, 0 to 5, if known.
    pub rating: Option<f64>,
    /// Reviews behind the rating.
    pub rating_count: u32,
}

/// A validated product. Built only from a [`ProductDraft`] (`Product::try_from(draft)` or by
/// deserialising), so every `Product` in the system has passed the same checks.
///
/// Its fields are public to read; `#[non_exhaustive]` keeps code outside this crate from building
/// one without validation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "ProductDraft", into = "ProductDraft")]
#[non_exhaustive]
pub struct Product {
    /// The shop's id.
    pub id: ProductId,
    /// The name shoppers see.
    pub title: String,
    /// Long description.
    pub description: Option<String>,
    /// Brand or maker.
    pub brand: Option<String>,
    /// Category path, root first.
    pub category: CategoryPath,
    /// Unit price.
    pub price: Option<Money>,
    /// Free attributes, by name.
    pub attributes: BTreeMap<String, AttributeValue>,
    /// Units in stock; `None` when not tracked.
    pub stock: Option<u64>,
    /// Ranking signals.
    pub signals: Signals,
    /// Image URL.
    pub image_url: Option<String>,
    /// Product page URL.
    pub url: Option<String>,
    /// Parent product of a variant.
    pub parent_id: Option<ProductId>,
    /// When it was first listed.
    pub created_at: Option<DateTime<Utc>>,
    /// Monotonic per product.
    pub version: u64,
}

impl Product {
    /// True when stock is tracked and none is left.
    pub fn is_out_of_stock(&self) -> bool {
        self.stock == Some(0)
    }
}

fn check_range(
    field: &'static str,
    value: Option<f64>,
    range: std::ops::RangeInclusive<f64>,
    expected: &'static str,
) -> Result<Option<f64>, ValidationError> {
    match value {
        Some(number) if !number.is_finite() || !range.contains(&number) => {
            Err(ValidationError::OutOfRange { field, value: number.to_string(), expected })
        }
        other => Ok(other),
    }
}

fn check_url(field: &'static str, value: Option<String>) -> Result<Option<String>, ValidationError> {
    let Some(url) = clean_optional_text(field, value, MAX_URL_LEN)? else {
        return Ok(None);
    };
    let accepted = url.starts_with("https://") || url.starts_with("http://") || url.starts_with('/');
    if !accepted || url.chars().any(char::is_whitespace) {
        return Err(ValidationError::Malformed {
            field,
            reason: "expected an http(s) URL or a path starting with `/`, without spaces".to_owned(),
        });
    }
    Ok(Some(url))
}

fn check_attributes(
    attributes: BTreeMap<String, AttributeValue>,
) -> Result<BTreeMap<String, AttributeValue>, ValidationError> {
    if attributes.len() > MAX_ATTRIBUTES {
        return Err(ValidationError::OutOfRange {
            field: "attributes",
            value: attributes.len().to_string(),
            expected: "a product may have at most 200 attributes",
        });
    }
    attributes
        .into_iter()
        .map(|(name, value)| {
            let name = clean_text("attributes", &name, MAX_SHORT_TEXT_LEN)?;
            let value = match value {
                AttributeValue::Text(text) => {
                    AttributeValue::Text(clean_text("attributes", &text, MAX_SHORT_TEXT_LEN)?)
                }
                AttributeValue::List(items) => AttributeValue::List(
                    items
                        .iter()
                        .map(|item| clean_text("attributes", item, MAX_SHORT_TEXT_LEN))
                        .collect::<Result<_, _>>()?,
                ),
                AttributeValue::Number(number) if !number.is_finite() => {
                    return Err(ValidationError::OutOfRange {
                        field: "attributes",
                        value: number.to_string(),
                        expected: "attribute numbers must be finite",
                    });
                }
                other => other,
            };
            Ok((name, value))
        })
        .collect()
}

// A product is written as its draft.
impl utoipa::PartialSchema for Product {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        <ProductDraft as utoipa::PartialSchema>::schema()
    }
}

impl utoipa::ToSchema for Product {
    fn schemas(schemas: &mut Vec<(String, utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>)>) {
        <ProductDraft as utoipa::ToSchema>::schemas(schemas);
    }
}

impl ProductDraft {
    /// This draft with `currency` set to `default_currency` when it has a price and no currency
    /// (an index's `default_currency` setting); otherwise unchanged.
    #[must_use]
    pub fn with_default_currency(mut self, default_currency: Option<&str>) -> Self {
        if self.price.is_some() && self.currency.is_none() {
            self.currency = default_currency.map(str::to_owned);
        }
        self
    }
}

impl TryFrom<ProductDraft> for Product {
    type Error = ValidationError;

    fn try_from(draft: ProductDraft) -> Result<Self, Self::Error> {
        let id = ProductId::new(&draft.id)?;
        let title = clean_text("title", &draft.title, MAX_TITLE_LEN)?;
        let description = clean_optional_text("description", draft.description, MAX_DESCRIPTION_LEN)?;
        let brand = clean_optional_text("brand", draft.brand, MAX_SHORT_TEXT_LEN)?;
        let category = match draft.category {
            None => CategoryPath::default(),
            Some(CategoryInput::Path(path)) => CategoryPath::parse(&path)?,
            Some(CategoryInput::Levels(levels)) => CategoryPath::new(levels)?,
        };
        let price = match (draft.price, draft.currency.as_deref()) {
            (None, _) => None,
            (Some(_), None) => {
                return Err(ValidationError::Malformed {
                    field: "currency",
                    reason: "a price needs its currency (or the index's `default_currency` setting)".to_owned(),
                });
            }
            (Some(amount), Some(code)) => {
                if amount < 0.0 {
                    return Err(ValidationError::OutOfRange {
                        field: "price",
                        value: amount.to_string(),
                        expected: "it must be at least 0",
                    });
                }
                Some(Money::from_decimal(amount, Currency::new(code)?)?)
            }
        };
        let stock = match draft.stock {
            None => None,
            Some(units) => Some(u64::try_from(units).map_err(|_| ValidationError::OutOfRange {
                field: "stock",
                value: units.to_string(),
                expected: "it must be at least 0",
            })?),
        };
        let popularity =
            check_range("popularity", draft.popularity, 0.0..=f64::MAX, "it must be a finite number of at least 0")?;
        let signals = Signals {
            popularity: popularity.unwrap_or(0.0),
            margin: check_range("margin", draft.margin, -1.0..=1.0, "it must be between -1 and 1")?,
            rating: check_range("rating", draft.rating, 0.0..=5.0, "it must be between 0 and 5")?,
            rating_count: draft.rating_count.unwrap_or(0),
        };
        let parent_id = match draft.parent_id {
            Some(parent) if !parent.trim().is_empty() => Some(ProductId::new(parent)?),
            _ => None,
        };
        if parent_id.as_ref() == Some(&id) {
            return Err(ValidationError::Malformed {
                field: "parent_id",
                reason: "a product cannot be its own parent".to_owned(),
            });
        }
        Ok(Product {
            id,
            title,
            description,
            brand,
            category,
            price,
            attributes: check_attributes(draft.attributes)?,
            stock,
            signals,
            image_url: check_url("image_url", draft.image_url)?,
            url: check_url("url", draft.url)?,
            parent_id,
            created_at: draft.created_at,
            version: draft.version,
        })
    }
}

impl From<Product> for ProductDraft {
    fn from(product: Product) -> ProductDraft {
        ProductDraft {
            id: product.id.into(),
            title: product.title,
            description: product.description,
            brand: product.brand,
            category: (!product.category.is_empty()).then_some(CategoryInput::Levels(product.category.0)),
            price: product.price.map(|money| money.to_decimal()),
            currency: product.price.map(|money| money.currency.to_string()),
            attributes: product.attributes,
            stock: product.stock.map(|units| units.min(i64::MAX as u64) as i64),
            popularity: Some(product.signals.popularity),
            margin: product.signals.margin,
            rating: product.signals.rating,
            rating_count: (product.signals.rating_count > 0).then_some(product.signals.rating_count),
            image_url: product.image_url,
            url: product.url,
            parent_id: product.parent_id.map(String::from),
            created_at: product.created_at,
            version: product.version,
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;

    fn draft() -> ProductDraft {
        ProductDraft { id: "85123A".into(), title: "WHITE HANGING HEART T-LIGHT HOLDER".into(), ..Default::default() }
    }

    #[test]
    fn id_and_title_are_enough() {
        let product = Product::try_from(draft()).expect("valid");
        assert_eq!(product.id.as_str(), "85123A");
        assert!(product.category.is_empty());
        assert_eq!(product.stock, None);
        assert!(!product.is_out_of_stock());
    }

    #[test]
    fn a_full_product_parses_from_json_and_round_trips() {
        let value = json!({
            "id": "22041", "title": "RECORD FRAME 7\" SINGLE SIZE", "description": "A frame.",
            "brand": "Acme", "category": "home/frames", "price": 2.1, "currency": "gbp",
            "attributes": {"colour": "black", "size_cm": 18, "fragile": true, "material": ["wood", "glass"]},
            "stock": 0, "popularity": 311.0, "margin": 0.4, "rating": 4.5, "rating_count": 12,
            "image_url": "https://example.com/22041.jpg", "url": "/p/22041",
            "created_at": "2009-12-01T07:45:00Z", "version": 3
        });
        let product: Product = serde_json::from_value(value).expect("valid product");
        assert_eq!(product.category.levels(), ["home", "frames"]);
        assert_eq!(product.price, Some(Money::from_minor_units(210, Currency::GBP)));
        assert!(product.is_out_of_stock());
        assert_eq!(product.attributes["size_cm"], AttributeValue::Number(18.0));
        assert_eq!(product.attributes["material"], AttributeValue::List(vec!["wood".into(), "glass".into()]));
        let again: Product =
            serde_json::from_value(serde_json::to_value(&product).expect("serialise")).expect("reparse");
        assert_eq!(again, product);
    }

    #[test]
    fn each_bad_field_is_named_in_its_error() {
        let cases: Vec<(ProductDraft, &str)> = vec![
            (ProductDraft { title: " ".into(), ..draft() }, "title"),
            (ProductDraft { id: "".into(), ..draft() }, "product_id"),
            (ProductDraft { price: Some(3.0), ..draft() }, "currency"),
            (ProductDraft { price: Some(-1.0), currency: Some("GBP".into()), ..draft() }, "price"),
            (ProductDraft { price: Some(f64::INFINITY), currency: Some("GBP".into()), ..draft() }, "price"),
            (ProductDraft { stock: Some(-2), ..draft() }, "stock"),
            (ProductDraft { rating: Some(7.0), ..draft() }, "rating"),
            (ProductDraft { margin: Some(f64::NAN), ..draft() }, "margin"),
            (ProductDraft { image_url: Some("javascript:alert(1)".into()), ..draft() }, "image_url"),
            (ProductDraft { parent_id: Some("85123A".into()), ..draft() }, "parent_id"),
            (ProductDraft { category: Some(CategoryInput::Levels(vec!["a/b".into()])), ..draft() }, "category"),
        ];
        for (bad, field) in cases {
            let error = Product::try_from(bad.clone()).expect_err(field);
            assert_eq!(error.field(), field, "{bad:?} gave {error}");
        }
    }

    #[test]
    fn unknown_fields_are_refused() {
        let error = serde_json::from_value::<Product>(json!({"id": "1", "title": "t", "prise": 3}))
            .expect_err("typo in a field name");
        assert!(error.to_string().contains("prise"), "{error}");
    }

    proptest! {
        #[test]
        fn category_paths_parse_back_from_their_display(levels in proptest::collection::vec("[a-z][a-z ]{0,8}[a-z]", 0..5)) {
            let path = CategoryPath::new(&levels).expect("valid levels");
            prop_assert_eq!(CategoryPath::parse(&path.to_string()).expect("parse"), path);
        }
    }
}
