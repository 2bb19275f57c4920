//! The tantivy schema derived from the product model, and the analyzers it uses.
//!
//! Every text field exists twice: **stemmed** (in the field's language: stemming and stop words,
//! `mugs` finds `mug`) for recall and BM25, and **exact** (lower-cased and ASCII-folded only) for
//! typo matching, prefixes and the exactness bonus; `analysis.rs` has the analyzers. Numbers that ranking and filters read are fast
//! fields; facets are a hierarchical facet field (category), a fast string field (brand) and a
//! JSON fast field holding every attribute (`attrs.colour`).

use std::collections::BTreeMap;

use tantivy::TantivyDocument;
use tantivy::schema::{
    FAST, FacetOptions, Field, IndexRecordOption, JsonObjectOptions, OwnedValue, STORED, STRING, Schema,
    TextFieldIndexing, TextOptions,
};
use vitrine_models::{AttributeValue, Product};

/// Analyzer of the exact text fields (and of query words matched against them).
pub const EXACT_ANALYZER: &str = "vitrine_exact";
/// Analyzer name of every stemmed field of an index created before text fields had their own
/// languages: all five share it, so such an index has one language for all its fields. Newer
/// indexes have one name per field (`vitrine_stemmed_title`), registered in the field's language
/// (`analysis.rs`).
pub const STEMMED_ANALYZER: &str = "vitrine_stemmed";

/// The searchable text fields, each with a stemmed and an exact copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TextField {
    /// The product title.
    Title,
    /// The brand.
    Brand,
    /// The category levels.
    Category,
    /// Attribute values.
    Attributes,
    /// The long description.
    Description,
}

impl TextField {
    /// Every text field, most important first.
    pub const ALL: [TextField; 5] =
        [TextField::Title, TextField::Brand, TextField::Category, TextField::Attributes, TextField::Description];

    /// The field's name in settings and highlights.
    pub fn name(self) -> &'static str {
        match self {
            TextField::Title => "title",
            TextField::Brand => "brand",
            TextField::Category => "category",
            TextField::Attributes => "attributes",
            TextField::Description => "description",
        }
    }

    /// The name of its stemmed copy in the schema.
    pub(crate) fn stemmed_field_name(self) -> &'static str {
        TEXT_FIELD_NAMES[self as usize].0
    }

    /// The analyzer name of its stemmed copy in the schema of an index created now: one per field
    /// (`vitrine_stemmed_title`), so that each field can have its own language.
    fn stemmed_analyzer_name(self) -> String {
        format!("{STEMMED_ANALYZER}_{}", self.name())
    }
}

/// Handles to every field of the product schema.
#[derive(Debug, Clone, Copy)]
pub struct ProductFields {
    /// The product id (raw string, stored, fast).
    pub id: Field,
    /// The whole validated product as JSON bytes (stored): what the API returns.
    pub source: Field,
    stemmed: [Field; 5],
    exact: [Field; 5],
    /// Unit price in major units (fast, f64); absent when the product has no price.
    pub price: Field,
    /// Units in stock (fast, u64); absent when stock is not tracked.
    pub stock: Field,
    /// 1 unless stock is tracked and zero (fast, u64).
    pub in_stock: Field,
    /// Popularity signal (fast, f64).
    pub popularity: Field,
    /// Margin signal (fast, f64); absent when unknown.
    pub margin: Field,
    /// Rating signal (fast, f64); absent when unknown.
    pub rating: Field,
    /// First listed, seconds since the epoch (fast, i64); absent when unknown.
    pub created_at: Field,
    /// The product's version (fast, u64).
    pub version: Field,
    /// Hierarchical category facet (`/home/kitchen`).
    pub category: Field,
    /// Brand as one raw value (fast string), for facet counts and filters.
    pub brand: Field,
    /// Every attribute as a raw value under its name (JSON, fast): `attrs.colour`.
    pub attrs: Field,
    /// The parent product of a variant (raw string, fast).
    pub parent_id: Field,
    /// The product family (fast, u64): [`group_key`] of the parent id for a variant, of the
    /// product's own id otherwise, so a parent and its variants share it (variant collapsing).
    pub group: Field,
}

/// The family key of a product id: 64-bit FNV-1a of its bytes, stable across versions and
/// platforms because it is stored in the index.
pub fn group_key(id: &str) -> u64 {
    id.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3))
}

const TEXT_FIELD_NAMES: [(&str, &str); 5] = [
    ("title", "title_exact"),
    ("brand_text", "brand_exact"),
    ("category_text", "category_exact"),
    ("attributes_text", "attributes_exact"),
    ("description", "description_exact"),
];

impl ProductFields {
    /// The product schema and its field handles.
    pub fn schema() -> (Schema, ProductFields) {
        Self::schema_with(TextField::stemmed_analyzer_name)
    }

    /// The product schema with the stemmed fields' analyzer names from `stemmed_analyzer`.
    pub(crate) fn schema_with(stemmed_analyzer: impl Fn(TextField) -> String) -> (Schema, ProductFields) {
        let mut builder = Schema::builder();
        let text = |analyzer: &str| {
            TextOptions::default().set_indexing_options(
                TextFieldIndexing::default()
                    .set_tokenizer(analyzer)
                    .set_index_option(IndexRecordOption::WithFreqsAndPositions),
            )
        };
        let stemmed = TextField::ALL
            .map(|field| builder.add_text_field(field.stemmed_field_name(), text(&stemmed_analyzer(field))));
        let exact = TEXT_FIELD_NAMES.map(|(_, exact)| builder.add_text_field(exact, text(EXACT_ANALYZER)));
        let fields = ProductFields {
            id: builder.add_text_field("id", STRING | STORED | FAST),
            source: builder.add_bytes_field("source", STORED),
            stemmed,
            exact,
            price: builder.add_f64_field("price", FAST),
            stock: builder.add_u64_field("stock", FAST),
            in_stock: builder.add_u64_field("in_stock", FAST),
            popularity: builder.add_f64_field("popularity", FAST),
            margin: builder.add_f64_field("margin", FAST),
            rating: builder.add_f64_field("rating", FAST),
            created_at: builder.add_i64_field("created_at", FAST),
            version: builder.add_u64_field("version", FAST),
            category: builder.add_facet_field("category", FacetOptions::default()),
            brand: builder.add_text_field("brand", STRING | FAST),
            attrs: builder.add_json_field("attrs", JsonObjectOptions::from(STRING | FAST)),
            parent_id: builder.add_text_field("parent_id", STRING | FAST),
            group: builder.add_u64_field("group", FAST),
        };
        (builder.build(), fields)
    }

    /// The field handles of an existing index's schema, which must be the product schema.
    pub fn from_schema(schema: &Schema) -> tantivy::Result<ProductFields> {
        let field = |name: &str| schema.get_field(name);
        let pairs = TEXT_FIELD_NAMES.map(|(stemmed, exact)| (field(stemmed), field(exact)));
        let mut stemmed = Vec::new();
        let mut exact = Vec::new();
        for (stemmed_field, exact_field) in pairs {
            stemmed.push(stemmed_field?);
            exact.push(exact_field?);
        }
        let array = |fields: Vec<Field>| -> [Field; 5] {
            fields.try_into().unwrap_or_else(|_| unreachable!("five text fields"))
        };
        Ok(ProductFields {
            id: field("id")?,
            source: field("source")?,
            stemmed: array(stemmed),
            exact: array(exact),
            price: field("price")?,
            stock: field("stock")?,
            in_stock: field("in_stock")?,
            popularity: field("popularity")?,
            margin: field("margin")?,
            rating: field("rating")?,
            created_at: field("created_at")?,
            version: field("version")?,
            category: field("category")?,
            brand: field("brand")?,
            attrs: field("attrs")?,
            parent_id: field("parent_id")?,
            group: field("group")?,
        })
    }

    /// The stemmed copy of a text field.
    pub fn stemmed(&self, text_field: TextField) -> Field {
        self.stemmed[text_field as usize]
    }

    /// The exact copy of a text field.
    pub fn exact(&self, text_field: TextField) -> Field {
        self.exact[text_field as usize]
    }

    /// The tantivy document of a product.
    pub fn document(&self, product: &Product) -> TantivyDocument {
        let mut document = TantivyDocument::new();
        document.add_text(self.id, product.id.as_str());
        document.add_bytes(self.source, &serde_json::to_vec(product).unwrap_or_default());
        let mut add_text = |text_field: TextField, text: &str| {
            document.add_text(self.stemmed(text_field), text);
            document.add_text(self.exact(text_field), text);
        };
        add_text(TextField::Title, &product.title);
        if let Some(brand) = &product.brand {
            add_text(TextField::Brand, brand);
        }
        for level in product.category.levels() {
            add_text(TextField::Category, level);
        }
        for value in product.attributes.values() {
            match value {
                AttributeValue::Text(text) => add_text(TextField::Attributes, text),
                AttributeValue::List(items) => items.iter().for_each(|item| add_text(TextField::Attributes, item)),
                AttributeValue::Number(_) | AttributeValue::Bool(_) => {}
            }
        }
        if let Some(description) = &product.description {
            add_text(TextField::Description, description);
        }
        if let Some(price) = product.price {
            document.add_f64(self.price, price.to_decimal());
        }
        if let Some(stock) = product.stock {
            document.add_u64(self.stock, stock);
        }
        document.add_u64(self.in_stock, u64::from(!product.is_out_of_stock()));
        document.add_f64(self.popularity, product.signals.popularity);
        if let Some(margin) = product.signals.margin {
            document.add_f64(self.margin, margin);
        }
        if let Some(rating) = product.signals.rating {
            document.add_f64(self.rating, rating);
        }
        if let Some(created_at) = product.created_at {
            document.add_i64(self.created_at, created_at.timestamp());
        }
        document.add_u64(self.version, product.version);
        if !product.category.is_empty() {
            document.add_facet(self.category, tantivy::schema::Facet::from_path(product.category.levels()));
        }
        if let Some(brand) = &product.brand {
            document.add_text(self.brand, brand);
        }
        if !product.attributes.is_empty() {
            document.add_object(self.attrs, attribute_object(&product.attributes));
        }
        if let Some(parent) = &product.parent_id {
            document.add_text(self.parent_id, parent.as_str());
        }
        document.add_u64(self.group, group_key(product.parent_id.as_ref().unwrap_or(&product.id).as_str()));
        document
    }
}

/// Attributes as the JSON object stored in `attrs`: texts and lists as raw strings (facet
/// values), numbers as f64 and booleans as booleans (range and term filters).
fn attribute_object(attributes: &BTreeMap<String, AttributeValue>) -> BTreeMap<String, OwnedValue> {
    attributes
        .iter()
        .map(|(name, value)| {
            let value = match value {
                AttributeValue::Text(text) => OwnedValue::Str(text.clone()),
                AttributeValue::List(items) => {
                    OwnedValue::Array(items.iter().map(|item| OwnedValue::Str(item.clone())).collect())
                }
                AttributeValue::Number(number) => OwnedValue::F64(*number),
                AttributeValue::Bool(flag) => OwnedValue::Bool(*flag),
            };
            (name.clone(), value)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schema_round_trips_through_its_field_names() {
        let (schema, fields) = ProductFields::schema();
        let again = ProductFields::from_schema(&schema).expect("product schema");
        assert_eq!(again.stemmed(TextField::Description), fields.stemmed(TextField::Description));
        assert_eq!(again.exact(TextField::Brand), fields.exact(TextField::Brand));
        assert_eq!(again.parent_id, fields.parent_id);
        assert_eq!(again.group, fields.group);
    }

    #[test]
    fn group_keys_are_stable_fnv1a() {
        // Reference values of 64-bit FNV-1a: a changed key would split families of stored indexes.
        assert_eq!(group_key(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(group_key("a"), 0xaf63_dc4c_8601_ec8c);
        assert_ne!(group_key("MH01"), group_key("MH02"));
    }
}
