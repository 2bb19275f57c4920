//! Deriving the demo shop's catalog and interaction log from the cleaned invoice lines.

use polars::prelude::*;

use super::cleaning::clean_columns;

/// Column names of the catalog frame ([`super::RetailShop::catalog`]), one row per product.
pub mod catalog_columns {
    /// `String`: the normalised stock code (trimmed, upper case), unique per row.
    pub const PRODUCT_ID: &str = "product_id";
    /// `String`: the most common trimmed description of the code (ties: alphabetically first).
    pub const TITLE: &str = "title";
    /// `Float64`: the median unit price over the kept lines, in GBP.
    pub const PRICE: &str = "price";
    /// `UInt32`: the number of distinct invoices containing the product.
    pub const POPULARITY: &str = "popularity";
    /// `Int64`: the total quantity sold over the kept lines.
    pub const UNITS_SOLD: &str = "units_sold";
    /// `Datetime(μs)`, naive UK local time: the earliest invoice date of the product.
    pub const FIRST_SOLD: &str = "first_sold";
    /// `UInt32`: the number of distinct known customers who bought the product (guests not counted).
    pub const CUSTOMERS: &str = "customers";
}

/// Column names of the interaction frame ([`super::RetailShop::interactions`]), one row per kept
/// invoice line that has a customer id, in file (chronological) order.
pub mod interaction_columns {
    /// `String`: the customer id as written in the file, without a float suffix (`"13085"`).
    pub const USER_ID: &str = "user_id";
    /// `String`: the normalised stock code, a key of the catalog.
    pub const PRODUCT_ID: &str = "product_id";
    /// `String`: the invoice number; the lines of one invoice form a basket.
    pub const INVOICE: &str = "invoice";
    /// `UInt32`: units bought on this line (always ≥ 1).
    pub const QUANTITY: &str = "quantity";
    /// `Datetime(μs)`, naive: the invoice time in UK local time, exactly as the file has it (no
    /// time zone is attached, so no DST conversion happens; ordering is correct except within the
    /// repeated hour of an October DST change, which has no sales in this shop).
    pub const TIMESTAMP: &str = "timestamp";
    /// `Float64`: the unit price on this line, in GBP (always > 0).
    pub const PRICE: &str = "price";
}

/// Builds the catalog: one row per product, sorted by product id.
pub(super) fn derive_catalog(kept_lines: &DataFrame) -> PolarsResult<DataFrame> {
    const LINE_COUNT: &str = "line_count";
    let lines = kept_lines.clone().lazy();

    // The most common spelling wins; among equally common spellings, the alphabetically first.
    let titles = lines
        .clone()
        .group_by([col(clean_columns::PRODUCT_ID), col(clean_columns::TITLE)])
        .agg([len().alias(LINE_COUNT)])
        .group_by([col(clean_columns::PRODUCT_ID)])
        .agg([col(clean_columns::TITLE)
            .sort_by(
                [col(LINE_COUNT), col(clean_columns::TITLE)],
                SortMultipleOptions::default().with_order_descending_multi([true, false]),
            )
            .first()
            .alias(catalog_columns::TITLE)]);

    let figures = lines.group_by([col(clean_columns::PRODUCT_ID)]).agg([
        col(clean_columns::PRICE).median().alias(catalog_columns::PRICE),
        col(clean_columns::INVOICE).n_unique().cast(DataType::UInt32).alias(catalog_columns::POPULARITY),
        col(clean_columns::QUANTITY).sum().cast(DataType::Int64).alias(catalog_columns::UNITS_SOLD),
        col(clean_columns::TIMESTAMP).min().alias(catalog_columns::FIRST_SOLD),
        col(clean_columns::USER_ID).drop_nulls().n_unique().cast(DataType::UInt32).alias(catalog_columns::CUSTOMERS),
    ]);

    titles
        .join(
            figures,
            [col(clean_columns::PRODUCT_ID)],
            [col(clean_columns::PRODUCT_ID)],
            JoinArgs::new(JoinType::Inner),
        )
        .select([
            col(clean_columns::PRODUCT_ID).alias(catalog_columns::PRODUCT_ID),
            col(catalog_columns::TITLE),
            col(catalog_columns::PRICE),
            col(catalog_columns::POPULARITY),
            col(catalog_columns::UNITS_SOLD),
            col(catalog_columns::FIRST_SOLD),
            col(catalog_columns::CUSTOMERS),
        ])
        .sort([catalog_columns::PRODUCT_ID], SortMultipleOptions::default())
        .collect()
}

/// Builds the interaction log: the kept lines that have a customer id, in file order.
pub(super) fn derive_interactions(kept_lines: &DataFrame) -> PolarsResult<DataFrame> {
    kept_lines
        .clone()
        .lazy()
        .filter(col(clean_columns::USER_ID).is_not_null())
        .select([
            col(clean_columns::USER_ID).alias(interaction_columns::USER_ID),
            col(clean_columns::PRODUCT_ID).alias(interaction_columns::PRODUCT_ID),
            col(clean_columns::INVOICE).alias(interaction_columns::INVOICE),
            col(clean_columns::QUANTITY).strict_cast(DataType::UInt32).alias(interaction_columns::QUANTITY),
            col(clean_columns::TIMESTAMP).alias(interaction_columns::TIMESTAMP),
            col(clean_columns::PRICE).alias(interaction_columns::PRICE),
        ])
        .collect()
}
