//! From derived frames to validated domain types ([`Product`], [`Interaction`]) of vitrine-models.
//!
//! Every row passes through the models' validating constructors, so a bad value in a frame (an
//! empty id, a negative price) is refused here with its row number rather than later in the index.
//!
//! **Time zones.** The Online Retail II times are naive UK local time; the domain types carry
//! `DateTime<Utc>`. The naive value is *labelled* UTC without shifting it (`2009-12-01 07:45:00`
//! becomes `2009-12-01T07:45:00Z`). The file has no zone information, and shifting summer times
//! by an hour would change nothing a recommender or a temporal split relies on: labelling keeps
//! the order of events exactly as the shop recorded it.

use chrono::{DateTime, Utc};
use polars::prelude::{Column, DataFrame, DataType, TimeUnit};
use vitrine_models::{Actor, Interaction, InteractionKind, Product, ProductDraft, ProductId, UserId};

use crate::PipelineError;
use crate::retail::{catalog_columns, interaction_columns};

/// The currency of the Online Retail II shop.
const RETAIL_CURRENCY: &str = "GBP";

/// Turns a catalog frame (columns of [`catalog_columns`]) into validated products.
///
/// Each product gets its id, title, price in GBP, `popularity` (distinct invoices) as its
/// popularity signal and `first_sold` as its listing date (see the module docs on time zones).
///
/// # Errors
/// [`PipelineError::Polars`] if a column is missing or has another type,
/// [`PipelineError::InvalidValue`] for a null, and [`PipelineError::InvalidRecord`] when the
/// models refuse a row.
pub fn catalog_products(catalog: &DataFrame) -> Result<Vec<Product>, PipelineError> {
    let product_ids = catalog.column(catalog_columns::PRODUCT_ID)?.str()?;
    let titles = catalog.column(catalog_columns::TITLE)?.str()?;
    let prices = as_dtype(catalog.column(catalog_columns::PRICE)?, &DataType::Float64)?;
    let prices = prices.f64()?;
    let popularities = as_dtype(catalog.column(catalog_columns::POPULARITY)?, &DataType::Float64)?;
    let popularities = popularities.f64()?;
    let first_sold = timestamp_micros(catalog.column(catalog_columns::FIRST_SOLD)?)?;
    let first_sold = first_sold.i64()?;

    (0..catalog.height())
        .map(|row| {
            let draft = ProductDraft {
                id: required(product_ids.get(row), catalog_columns::PRODUCT_ID, row)?.to_owned(),
                title: required(titles.get(row), catalog_columns::TITLE, row)?.to_owned(),
                price: prices.get(row),
                currency: Some(RETAIL_CURRENCY.to_owned()),
                popularity: popularities.get(row),
                created_at: first_sold
                    .get(row)
                    .map(|micros| utc_from_micros(micros, catalog_columns::FIRST_SOLD, row))
                    .transpose()?,
                ..ProductDraft::default()
            };
            Product::try_from(draft).map_err(|source| PipelineError::InvalidRecord { row, source })
        })
        .collect()
}

/// Turns an interaction frame (columns of [`interaction_columns`]) into validated purchases by
/// signed-in users, in frame order.
///
/// # Errors
/// As [`catalog_products`].
pub fn interaction_records(interactions: &DataFrame) -> Result<Vec<Interaction>, PipelineError> {
    let user_ids = interactions.column(interaction_columns::USER_ID)?.str()?;
    let product_ids = interactions.column(interaction_columns::PRODUCT_ID)?.str()?;
    let quantities = as_dtype(interactions.column(interaction_columns::QUANTITY)?, &DataType::UInt32)?;
    let quantities = quantities.u32()?;
    let timestamps = timestamp_micros(interactions.column(interaction_columns::TIMESTAMP)?)?;
    let timestamps = timestamps.i64()?;

    (0..interactions.height())
        .map(|row| {
            let invalid_record = |source| PipelineError::InvalidRecord { row, source };
            let user_id = required(user_ids.get(row), interaction_columns::USER_ID, row)?;
            let product_id = required(product_ids.get(row), interaction_columns::PRODUCT_ID, row)?;
            let quantity = required(quantities.get(row), interaction_columns::QUANTITY, row)?;
            let micros = required(timestamps.get(row), interaction_columns::TIMESTAMP, row)?;
            Interaction::new(
                Actor::User(UserId::new(user_id).map_err(invalid_record)?),
                ProductId::new(product_id).map_err(invalid_record)?,
                InteractionKind::Purchase,
                quantity,
                utc_from_micros(micros, interaction_columns::TIMESTAMP, row)?,
            )
            .map_err(invalid_record)
        })
        .collect()
}

/// The value, or [`PipelineError::InvalidValue`] naming the null cell.
fn required<T>(value: Option<T>, column: &str, row: usize) -> Result<T, PipelineError> {
    value.ok_or_else(|| PipelineError::InvalidValue {
        column: column.to_owned(),
        row,
        message: "missing value".to_owned(),
    })
}

/// The column cast to `dtype` (strictly: a value that does not fit is an error, not a null).
fn as_dtype(column: &Column, dtype: &DataType) -> Result<Column, PipelineError> {
    Ok(column.strict_cast(dtype)?)
}

/// A datetime column as microseconds since the epoch, whatever its stored time unit.
fn timestamp_micros(column: &Column) -> Result<Column, PipelineError> {
    let in_micros = column.strict_cast(&DataType::Datetime(TimeUnit::Microseconds, None))?;
    as_dtype(&in_micros, &DataType::Int64)
}

/// Labels a naive timestamp (microseconds since the epoch) as UTC.
fn utc_from_micros(micros: i64, column: &str, row: usize) -> Result<DateTime<Utc>, PipelineError> {
    DateTime::<Utc>::from_timestamp_micros(micros).ok_or_else(|| PipelineError::InvalidValue {
        column: column.to_owned(),
        row,
        message: format!("{micros} µs is outside the representable time range"),
    })
}
