//! Cleaning the raw Online Retail II lines: the drop rules, in order, and the report that counts them.
//!
//! Every raw line is either kept or dropped for exactly one [`DropReason`]: the first rule in
//! [`DropReason::ALL`] that applies. The rules are polars expressions over the raw (all-string)
//! columns, so the whole file is classified in one vectorised pass.

use std::fmt;

use polars::prelude::*;

use super::raw_columns;

/// The regular expression a normalised (trimmed, upper-cased) stock code must match to be a product.
///
/// Online Retail II mixes real products with bookkeeping lines that share the `StockCode` column.
/// Looking at every code in the 2009–2010 sheet that is *not* five digits:
///
/// - **Products** (kept): five digits optionally followed by letters (`85123A`, `15056BL`, and
///   lower-case variants like `85123a`, which upper-casing merges into one product); `DCGS…` codes
///   (`DCGS0058` "MISO PRETTY GUM", `DCGSSBOY` "BOYS PARTY BAG": the dotcom gift shop's own goods);
///   `SP` followed by four digits (`SP1002` "KID'S CHALKBOARD/EASEL").
/// - **Non-products** (dropped): postage and carriage (`POST`, `DOT`, `C2`, `C3`), manual entries
///   and discounts (`M`, `D`), samples (`S`), fees and charges (`BANK CHARGES`, `AMAZONFEE`),
///   adjustments and bad debt (`ADJUST`, `ADJUST2`, `B`), test products (`TEST001`, `TEST002`),
///   gift vouchers (`gift_0001_10` … `gift_0001_90`, `GIFT`) and `PADS` ("PADS TO MATCH ALL
///   CUSHIONS", always sold at £0.001 as a free add-on).
///
/// The rule is an allow-list: a code that matches none of the product shapes is not a product, so
/// a new bookkeeping code in a later export is dropped (and counted) rather than sold.
pub const PRODUCT_STOCK_CODE_PATTERN: &str = r"^(?:[0-9]{5}[A-Z]*|DCGS[0-9A-Z]+|SP[0-9]{4})$";

/// Why a raw line was left out of the cleaned data. Listed in the order the rules are applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DropReason {
    /// The invoice number starts with `C`: the whole line cancels an earlier sale.
    Cancellation,
    /// Quantity is zero, negative (a return or stock adjustment) or missing.
    NonPositiveQuantity,
    /// The stock code is not a product (postage, fees, discounts, vouchers…): see
    /// [`PRODUCT_STOCK_CODE_PATTERN`].
    NonProductStockCode,
    /// The description is missing or blank, so the line cannot name a catalog product.
    MissingDescription,
    /// The unit price is zero, negative or missing (free samples, write-offs).
    NonPositivePrice,
    /// The line is an exact copy (every column, byte for byte) of an earlier kept line.
    DuplicateLine,
}

impl DropReason {
    /// Every reason, in the order the rules are applied: a line is counted under the first that applies.
    pub const ALL: [DropReason; 6] = [
        DropReason::Cancellation,
        DropReason::NonPositiveQuantity,
        DropReason::NonProductStockCode,
        DropReason::MissingDescription,
        DropReason::NonPositivePrice,
        DropReason::DuplicateLine,
    ];

    /// A short machine name, also the value of the internal `drop_reason` column.
    pub fn code(self) -> &'static str {
        match self {
            DropReason::Cancellation => "cancellation",
            DropReason::NonPositiveQuantity => "non_positive_quantity",
            DropReason::NonProductStockCode => "non_product_stock_code",
            DropReason::MissingDescription => "missing_description",
            DropReason::NonPositivePrice => "non_positive_price",
            DropReason::DuplicateLine => "duplicate_line",
        }
    }

    /// A human label for reports.
    pub fn label(self) -> &'static str {
        match self {
            DropReason::Cancellation => "cancellation (invoice starts with C)",
            DropReason::NonPositiveQuantity => "non-positive quantity (return/adjustment)",
            DropReason::NonProductStockCode => "non-product stock code",
            DropReason::MissingDescription => "missing description",
            DropReason::NonPositivePrice => "non-positive price",
            DropReason::DuplicateLine => "exact duplicate line",
        }
    }
}

/// What cleaning did to the raw file: rows read, rows dropped per [`DropReason`], rows kept.
///
/// Invariant: `rows_read == rows_kept + rows_dropped()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CleaningReport {
    /// Data lines in the input file (header excluded).
    pub rows_read: usize,
    /// Lines dropped as [`DropReason::Cancellation`].
    pub cancellations: usize,
    /// Lines dropped as [`DropReason::NonPositiveQuantity`].
    pub non_positive_quantities: usize,
    /// Lines dropped as [`DropReason::NonProductStockCode`].
    pub non_product_stock_codes: usize,
    /// Lines dropped as [`DropReason::MissingDescription`].
    pub missing_descriptions: usize,
    /// Lines dropped as [`DropReason::NonPositivePrice`].
    pub non_positive_prices: usize,
    /// Lines dropped as [`DropReason::DuplicateLine`].
    pub duplicate_lines: usize,
    /// Lines that passed every rule: they feed the catalog.
    pub rows_kept: usize,
    /// Kept lines without a customer id (guest purchases): in the catalog figures, but not in the
    /// interaction log.
    pub kept_without_customer: usize,
}

impl CleaningReport {
    /// How many lines were dropped for `reason`.
    pub fn dropped(&self, reason: DropReason) -> usize {
        match reason {
            DropReason::Cancellation => self.cancellations,
            DropReason::NonPositiveQuantity => self.non_positive_quantities,
            DropReason::NonProductStockCode => self.non_product_stock_codes,
            DropReason::MissingDescription => self.missing_descriptions,
            DropReason::NonPositivePrice => self.non_positive_prices,
            DropReason::DuplicateLine => self.duplicate_lines,
        }
    }

    /// How many lines were dropped, all reasons together.
    pub fn rows_dropped(&self) -> usize {
        DropReason::ALL.iter().map(|reason| self.dropped(*reason)).sum()
    }

    /// Kept lines that carry a customer id: the size of the interaction log.
    pub fn kept_with_customer(&self) -> usize {
        self.rows_kept - self.kept_without_customer
    }

    fn dropped_mut(&mut self, reason: DropReason) -> &mut usize {
        match reason {
            DropReason::Cancellation => &mut self.cancellations,
            DropReason::NonPositiveQuantity => &mut self.non_positive_quantities,
            DropReason::NonProductStockCode => &mut self.non_product_stock_codes,
            DropReason::MissingDescription => &mut self.missing_descriptions,
            DropReason::NonPositivePrice => &mut self.non_positive_prices,
            DropReason::DuplicateLine => &mut self.duplicate_lines,
        }
    }
}

impl fmt::Display for CleaningReport {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        const LABEL_WIDTH: usize = 54;
        const COUNT_WIDTH: usize = 10;
        let percent_of_read = |rows: usize| {
            if self.rows_read == 0 {
                return 0.0;
            }
            100.0 * rows as f64 / self.rows_read as f64
        };
        let rule = "-".repeat(LABEL_WIDTH + COUNT_WIDTH + 10);

        writeln!(formatter, "{:<LABEL_WIDTH$} {:>COUNT_WIDTH$} {:>8}", "rows", "count", "share")?;
        writeln!(formatter, "{rule}")?;
        writeln!(formatter, "{:<LABEL_WIDTH$} {:>COUNT_WIDTH$}", "read", self.rows_read)?;
        for (position, reason) in DropReason::ALL.iter().enumerate() {
            let rows = self.dropped(*reason);
            let label = format!("dropped {}. {}", position + 1, reason.label());
            writeln!(formatter, "{label:<LABEL_WIDTH$} {rows:>COUNT_WIDTH$} {:>7.2}%", percent_of_read(rows))?;
        }
        writeln!(formatter, "{rule}")?;
        let dropped = self.rows_dropped();
        writeln!(
            formatter,
            "{:<LABEL_WIDTH$} {dropped:>COUNT_WIDTH$} {:>7.2}%",
            "dropped in total",
            percent_of_read(dropped)
        )?;
        writeln!(
            formatter,
            "{:<LABEL_WIDTH$} {:>COUNT_WIDTH$} {:>7.2}%",
            "kept (catalog lines)",
            self.rows_kept,
            percent_of_read(self.rows_kept)
        )?;
        write!(
            formatter,
            "{:<LABEL_WIDTH$} {:>COUNT_WIDTH$} {:>7.2}%",
            "  of which guests (not in interactions)",
            self.kept_without_customer,
            percent_of_read(self.kept_without_customer)
        )
    }
}

/// Names of the normalised columns cleaning adds next to the raw ones.
pub(super) mod clean_columns {
    pub const INVOICE: &str = "invoice";
    pub const PRODUCT_ID: &str = "product_id";
    pub const TITLE: &str = "title";
    pub const QUANTITY: &str = "quantity";
    pub const TIMESTAMP: &str = "timestamp";
    pub const PRICE: &str = "price";
    pub const USER_ID: &str = "user_id";
    pub const DROP_REASON: &str = "drop_reason";
}

/// Timestamp format of the `InvoiceDate` column (`2009-12-01 07:45:00`).
const INVOICE_DATE_FORMAT: &str = "%Y-%m-%d %H:%M:%S";

/// The result of [`clean`]: the kept lines and the report.
pub(super) struct CleanedLines {
    /// Kept lines with the normalised columns of [`clean_columns`] (no drop reason).
    pub lines: DataFrame,
    pub report: CleaningReport,
}

/// `true` where a normalised stock code is a product, per [`PRODUCT_STOCK_CODE_PATTERN`].
pub(super) fn is_product_stock_code(normalised_code: Expr) -> Expr {
    normalised_code.str().contains(lit(PRODUCT_STOCK_CODE_PATTERN), true).fill_null(lit(false))
}

/// Trims and upper-cases a raw stock code: `" 85123a"` and `"85123A"` are one product.
pub(super) fn normalise_stock_code(raw_code: Expr) -> Expr {
    raw_code.str().strip_chars(lit(NULL)).str().to_uppercase()
}

/// Adds the normalised columns (typed, trimmed) to the raw all-string lines.
fn with_normalised_columns(raw: LazyFrame) -> LazyFrame {
    let trimmed = |name: &str| col(name).str().strip_chars(lit(NULL));
    // Some exports of this dataset write customer ids as floats ("13085.0"); strip that suffix.
    let user_id = trimmed(raw_columns::CUSTOMER_ID).str().strip_suffix(lit(".0"));
    let timestamp_options =
        StrptimeOptions { format: Some(INVOICE_DATE_FORMAT.into()), strict: true, exact: true, cache: true };
    raw.with_columns([
        trimmed(raw_columns::INVOICE).str().to_uppercase().alias(clean_columns::INVOICE),
        normalise_stock_code(col(raw_columns::STOCK_CODE)).alias(clean_columns::PRODUCT_ID),
        trimmed(raw_columns::DESCRIPTION).alias(clean_columns::TITLE),
        trimmed(raw_columns::QUANTITY).strict_cast(DataType::Int64).alias(clean_columns::QUANTITY),
        trimmed(raw_columns::INVOICE_DATE)
            .str()
            .to_datetime(Some(TimeUnit::Microseconds), None, timestamp_options, lit("raise"))
            .alias(clean_columns::TIMESTAMP),
        trimmed(raw_columns::PRICE).strict_cast(DataType::Float64).alias(clean_columns::PRICE),
        when(user_id.clone().eq(lit("")))
            .then(lit(NULL).cast(DataType::String))
            .otherwise(user_id)
            .alias(clean_columns::USER_ID),
    ])
}

/// The first rule that drops a line, as a `drop_reason` string column (null for lines that pass
/// every row-level rule). Duplicates are found afterwards, among the survivors.
fn drop_reason() -> Expr {
    let is_missing_or_non_positive = |name: &str, zero: Expr| col(name).is_null().or(col(name).lt_eq(zero));
    let is_cancellation = col(clean_columns::INVOICE).str().starts_with(lit("C")).fill_null(lit(false));
    let is_missing_description = col(clean_columns::TITLE).is_null().or(col(clean_columns::TITLE).eq(lit("")));
    let reason = |reason: DropReason| lit(reason.code());

    when(is_cancellation)
        .then(reason(DropReason::Cancellation))
        .when(is_missing_or_non_positive(clean_columns::QUANTITY, lit(0_i64)))
        .then(reason(DropReason::NonPositiveQuantity))
        .when(is_product_stock_code(col(clean_columns::PRODUCT_ID)).not())
        .then(reason(DropReason::NonProductStockCode))
        .when(is_missing_description)
        .then(reason(DropReason::MissingDescription))
        .when(is_missing_or_non_positive(clean_columns::PRICE, lit(0.0_f64)))
        .then(reason(DropReason::NonPositivePrice))
        .otherwise(lit(NULL).cast(DataType::String))
        .alias(clean_columns::DROP_REASON)
}

/// Applies the drop rules to the raw all-string lines and counts what each rule removed.
pub(super) fn clean(raw: DataFrame) -> PolarsResult<CleanedLines> {
    let rows_read = raw.height();
    let annotated = with_normalised_columns(raw.lazy()).with_column(drop_reason()).collect()?;

    let row_level_reasons = DropReason::ALL.iter().filter(|reason| **reason != DropReason::DuplicateLine);
    let reason_counts = annotated
        .clone()
        .lazy()
        .select(
            row_level_reasons
                .clone()
                .map(|reason| {
                    col(clean_columns::DROP_REASON)
                        .eq(lit(reason.code()))
                        .fill_null(lit(false))
                        .sum()
                        .cast(DataType::UInt64)
                        .alias(reason.code())
                })
                .collect::<Vec<_>>(),
        )
        .collect()?;

    let survivors = annotated.lazy().filter(col(clean_columns::DROP_REASON).is_null());
    let survivor_count = survivors.clone().select([len()]).collect()?;
    let kept_lines = survivors
        .unique_stable_generic(
            Some(raw_columns::ALL.iter().map(|name| col(*name)).collect()),
            UniqueKeepStrategy::First,
        )
        .select([
            col(clean_columns::INVOICE),
            col(clean_columns::PRODUCT_ID),
            col(clean_columns::TITLE),
            col(clean_columns::QUANTITY),
            col(clean_columns::TIMESTAMP),
            col(clean_columns::PRICE),
            col(clean_columns::USER_ID),
        ])
        .collect()?;

    let mut report = CleaningReport {
        rows_read,
        rows_kept: kept_lines.height(),
        kept_without_customer: kept_lines.column(clean_columns::USER_ID)?.null_count(),
        ..CleaningReport::default()
    };
    for reason in row_level_reasons {
        *report.dropped_mut(*reason) = single_count(&reason_counts, reason.code())?;
    }
    let survivors_before_deduplication = single_count(&survivor_count, "len")?;
    report.duplicate_lines = survivors_before_deduplication - report.rows_kept;
    debug_assert_eq!(
        report.rows_read,
        report.rows_kept + report.rows_dropped(),
        "every line is kept or dropped for exactly one reason"
    );

    Ok(CleanedLines { lines: kept_lines, report })
}

/// Reads the one value of a one-row count column.
fn single_count(frame: &DataFrame, column: &str) -> PolarsResult<usize> {
    let counts = frame.column(column)?.cast(&DataType::UInt64)?;
    let count = counts.u64()?.get(0).unwrap_or(0);
    usize::try_from(count).map_err(|_| polars_err!(ComputeError: "row count {count} does not fit in usize"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Evaluates the product rule on raw codes, the way the loader does (normalise, then match).
    fn product_flags(raw_codes: &[&str]) -> Vec<bool> {
        let codes = df!("code" => raw_codes).expect("valid frame");
        let flags = codes
            .lazy()
            .select([is_product_stock_code(normalise_stock_code(col("code"))).alias("is_product")])
            .collect()
            .expect("rule evaluates");
        flags
            .column("is_product")
            .expect("column exists")
            .bool()
            .expect("boolean column")
            .iter()
            .map(|flag| flag.expect("never null"))
            .collect()
    }

    #[test]
    fn product_rule_keeps_real_product_codes() {
        let products = [
            "85123A",
            "85123a",
            "22041",
            "15056BL",
            "47503J ",
            " 79323W",
            "DCGS0058",
            "DCGSSBOY",
            "dcgs0066n",
            "SP1002",
        ];
        assert_eq!(product_flags(&products), vec![true; products.len()]);
    }

    #[test]
    fn product_rule_drops_bookkeeping_codes() {
        let non_products = [
            "POST",
            "DOT",
            "C2",
            "C3",
            "M",
            "m",
            "D",
            "S",
            "B",
            "BANK CHARGES",
            "AMAZONFEE",
            "ADJUST",
            "ADJUST2",
            "TEST001",
            "TEST002",
            "gift_0001_30",
            "GIFT",
            "PADS",
            "1234",
            "123456",
            "",
        ];
        assert_eq!(product_flags(&non_products), vec![false; non_products.len()]);
    }

    #[test]
    fn report_display_lists_every_reason_in_order() {
        let report = CleaningReport {
            rows_read: 100,
            cancellations: 6,
            non_positive_quantities: 5,
            non_product_stock_codes: 4,
            missing_descriptions: 3,
            non_positive_prices: 2,
            duplicate_lines: 1,
            rows_kept: 79,
            kept_without_customer: 9,
        };
        let table = report.to_string();
        let positions: Vec<usize> =
            DropReason::ALL.iter().map(|reason| table.find(reason.label()).expect("every reason is listed")).collect();
        assert!(positions.windows(2).all(|pair| pair[0] < pair[1]));
        assert!(table.contains("21"), "total dropped is shown: {table}");
        assert_eq!(report.rows_dropped() + report.rows_kept, report.rows_read);
    }
}
