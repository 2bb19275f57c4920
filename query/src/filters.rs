//! The filter object: `{"brand": ["A", "B"], "price": {"gte": 10, "lt": 50},
//! "category": "home/kitchen", "in_stock": true, "colour": ["red"]}`.
//!
//! Values in a list are OR; fields are AND. Each field becomes one tantivy query, kept apart so
//! that facet counts can leave out the facet's own filter (disjunctive faceting).
//!
//! The grammar is two levels deep and no deeper: a field holds a string, a flag, a list of
//! strings or a range object of numbers; any other nesting is refused as a wrong value type (and
//! the JSON parser itself stops at 128 levels). A shopper's filter holds at most
//! [`MAX_FILTER_VALUES`](crate::MAX_FILTER_VALUES) values (`request.rs`); the filters of
//! merchandising rules, written by the shop, have no such bound.

use std::ops::Bound;

use serde_json::{Map, Value};
use tantivy::Term;
use tantivy::query::{AllQuery, BooleanQuery, ConstScoreQuery, Occur, Query, RangeQuery, TermQuery};
use tantivy::schema::{Facet, Field, IndexRecordOption};
use vitrine_indexer::ProductFields;
use vitrine_models::CategoryPath;
use vitrine_models::settings::IndexSettings;

use crate::error::QueryError;

/// A field that can be filtered and faceted on.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FacetField {
    /// The brand.
    Brand,
    /// The category tree.
    Category,
    /// The price.
    Price,
    /// Whether the product is in stock.
    InStock,
    /// The rating.
    Rating,
    /// A facetable attribute, by name.
    Attribute(String),
}

impl FacetField {
    /// Resolves a name from a request against the built-in fields and the index's facetable
    /// attributes.
    pub fn resolve(name: &str, settings: &IndexSettings) -> Result<FacetField, QueryError> {
        match name {
            "brand" => Ok(FacetField::Brand),
            "category" => Ok(FacetField::Category),
            "price" => Ok(FacetField::Price),
            "in_stock" => Ok(FacetField::InStock),
            "rating" => Ok(FacetField::Rating),
            other if settings.facets.attributes.iter().any(|attribute| attribute == other) => {
                Ok(FacetField::Attribute(other.to_owned()))
            }
            other => Err(QueryError::UnknownField(other.to_owned())),
        }
    }

    /// The name used in requests and responses.
    pub fn name(&self) -> &str {
        match self {
            FacetField::Brand => "brand",
            FacetField::Category => "category",
            FacetField::Price => "price",
            FacetField::InStock => "in_stock",
            FacetField::Rating => "rating",
            FacetField::Attribute(name) => name,
        }
    }
}

/// One field's filter, as a query.
#[derive(Debug)]
pub struct FilterClause {
    /// The field it filters.
    pub field: FacetField,
    /// The documents it keeps.
    pub query: Box<dyn Query>,
}

/// Parses a filter object into one clause per field.
pub fn parse_filters(
    filter: Option<&Value>,
    fields: &ProductFields,
    settings: &IndexSettings,
) -> Result<Vec<FilterClause>, QueryError> {
    let object = match filter {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Object(object)) => object,
        Some(_) => return Err(QueryError::InvalidFilter("`filter` must be an object".to_owned())),
    };
    object
        .iter()
        .map(|(name, value)| {
            let field = FacetField::resolve(name, settings)?;
            let query = match &field {
                FacetField::Brand => any_of(name, value, |text| Ok(raw_term(fields.brand, text)))?,
                FacetField::Category => any_of(name, value, |path| {
                    let category = CategoryPath::parse(path)
                        .map_err(|error| QueryError::InvalidFilter(format!("`category`: {error}")))?;
                    Ok(Term::from_facet(fields.category, &Facet::from_path(category.levels())))
                })?,
                FacetField::Price => range(name, value, fields.price)?,
                FacetField::Rating => range(name, value, fields.rating)?,
                FacetField::InStock => match value {
                    Value::Bool(in_stock) => {
                        let flag = u64::from(*in_stock);
                        Box::new(RangeQuery::new(
                            Bound::Included(Term::from_field_u64(fields.in_stock, flag)),
                            Bound::Included(Term::from_field_u64(fields.in_stock, flag)),
                        )) as Box<dyn Query>
                    }
                    _ => return Err(QueryError::InvalidFilter("`in_stock` must be true or false".to_owned())),
                },
                FacetField::Attribute(attribute) => any_of(name, value, |text| {
                    let mut term = Term::from_field_json_path(fields.attrs, attribute, false);
                    term.append_type_and_str(text);
                    Ok(term)
                })?,
            };
            Ok(FilterClause { field, query })
        })
        .collect()
}

/// The text query AND every filter except `without` (for disjunctive facet counts), minus the
/// `excluded` documents (hidden by merchandising rules).
pub(crate) fn filtered(
    text: Option<&dyn Query>,
    filters: &[FilterClause],
    without: Option<&FacetField>,
    excluded: &[Box<dyn Query>],
) -> Box<dyn Query> {
    let mut clauses: Vec<(Occur, Box<dyn Query>)> =
        vec![(Occur::Must, text.map_or_else(|| Box::new(AllQuery) as Box<dyn Query>, |text| text.box_clone()))];
    for clause in filters.iter().filter(|clause| Some(&clause.field) != without) {
        clauses.push((Occur::Must, Box::new(ConstScoreQuery::new(clause.query.box_clone(), 0.0))));
    }
    clauses.extend(excluded.iter().map(|query| (Occur::MustNot, query.box_clone())));
    Box::new(BooleanQuery::new(clauses))
}

fn raw_term(field: Field, text: &str) -> Term {
    Term::from_field_text(field, text)
}

/// A string or a list of strings, OR-ed.
fn any_of(
    name: &str,
    value: &Value,
    term: impl Fn(&str) -> Result<Term, QueryError>,
) -> Result<Box<dyn Query>, QueryError> {
    let values: Vec<&str> = match value {
        Value::String(text) => vec![text.as_str()],
        Value::Array(items) if !items.is_empty() => items
            .iter()
            .map(|item| {
                item.as_str().ok_or_else(|| QueryError::InvalidFilter(format!("`{name}`: values must be strings")))
            })
            .collect::<Result<_, _>>()?,
        _ => {
            return Err(QueryError::InvalidFilter(format!("`{name}` must be a string or a non-empty list of strings")));
        }
    };
    let clauses = values
        .into_iter()
        .map(|text| {
            let query: Box<dyn Query> = Box::new(TermQuery::new(term(text)?, IndexRecordOption::Basic));
            Ok((Occur::Should, query))
        })
        .collect::<Result<Vec<_>, QueryError>>()?;
    Ok(Box::new(BooleanQuery::new(clauses)))
}

/// `{"gte": 10, "lt": 50}` (any of gt, gte, lt, lte) on an f64 fast field.
fn range(name: &str, value: &Value, field: Field) -> Result<Box<dyn Query>, QueryError> {
    let Value::Object(bounds) = value else {
        return Err(QueryError::InvalidFilter(format!(
            "`{name}` must be an object such as {{\"gte\": 10, \"lt\": 50}}"
        )));
    };
    let bound = |bounds: &Map<String, Value>, inclusive: &str, exclusive: &str| -> Result<Bound<Term>, QueryError> {
        let number = |key: &str| {
            bounds.get(key).map(|value| {
                value
                    .as_f64()
                    .filter(|number| number.is_finite())
                    .ok_or_else(|| QueryError::InvalidFilter(format!("`{name}.{key}` must be a number")))
            })
        };
        match (number(inclusive).transpose()?, number(exclusive).transpose()?) {
            (Some(_), Some(_)) => {
                Err(QueryError::InvalidFilter(format!("`{name}`: give `{inclusive}` or `{exclusive}`, not both")))
            }
            (Some(value), None) => Ok(Bound::Included(Term::from_field_f64(field, value))),
            (None, Some(value)) => Ok(Bound::Excluded(Term::from_field_f64(field, value))),
            (None, None) => Ok(Bound::Unbounded),
        }
    };
    if let Some(unknown) = bounds.keys().find(|key| !matches!(key.as_str(), "gt" | "gte" | "lt" | "lte")) {
        return Err(QueryError::InvalidFilter(format!("`{name}.{unknown}`: use gt, gte, lt or lte")));
    }
    let lower = bound(bounds, "gte", "gt")?;
    let upper = bound(bounds, "lte", "lt")?;
    if matches!((&lower, &upper), (Bound::Unbounded, Bound::Unbounded)) {
        return Err(QueryError::InvalidFilter(format!("`{name}` needs at least one of gt, gte, lt, lte")));
    }
    Ok(Box::new(RangeQuery::new(lower, upper)))
}
