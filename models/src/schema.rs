//! The OpenAPI schemas of the types whose serde form is not their Rust shape (ids and codes
//! validated from strings, a product written as its draft): each says what is on the wire.
//! Every other type derives its schema (`utoipa::ToSchema`) beside its serde derive.

use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
use utoipa::openapi::{KnownFormat, RefOr, Schema, SchemaFormat};

/// A string schema with a description, lengths and an optional pattern or format.
pub(crate) fn string(
    description: &str,
    min_length: usize,
    max_length: usize,
    pattern: Option<&str>,
    format: Option<KnownFormat>,
) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(description))
        .min_length(Some(min_length))
        .max_length(Some(max_length))
        .pattern(pattern)
        .format(format.map(SchemaFormat::KnownFormat))
        .into()
}

/// Implements `utoipa::ToSchema` for `$type` with the schema `$schema` (an expression).
macro_rules! wire_schema {
    ($type:ty, $name:expr, $schema:expr) => {
        impl utoipa::PartialSchema for $type {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                $schema
            }
        }

        impl utoipa::ToSchema for $type {
            fn name() -> std::borrow::Cow<'static, str> {
                std::borrow::Cow::Borrowed($name)
            }
        }
    };
}
pub(crate) use wire_schema;

/// A category path as stored: its levels, root first.
pub(crate) fn levels() -> RefOr<Schema> {
    ArrayBuilder::new()
        .items(ObjectBuilder::new().schema_type(Type::String))
        .description(Some("Category levels, root first: `[\"home\", \"kitchen\"]`."))
        .into()
}
