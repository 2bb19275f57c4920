//! Reading interaction logs: a generic interactions CSV and the Online Retail II purchase log,
//! both normalised to one [`InteractionLog`] frame.

use std::io::Cursor;
use std::path::Path;

use polars::prelude::*;

use super::RecsError;

/// Column names of an [`InteractionLog`] frame.
pub mod log_columns {
    /// `String`: the user (customer) id.
    pub const USER_ID: &str = "user_id";
    /// `String`: the item (product) id.
    pub const ITEM_ID: &str = "item_id";
    /// `String`: the basket (invoice, order) id; the row number when the source has no baskets.
    pub const BASKET_ID: &str = "basket_id";
    /// `Int64`: Unix seconds (UTC; naive times are read as UTC).
    pub const TIMESTAMP: &str = "timestamp";
}

/// The Online Retail II file the evaluation uses, relative to the workspace root.
pub const ONLINE_RETAIL_II_PATH: &str = "../shared/datasets/online-retail-ii/online_retail_II_2009-2010.csv.gz";

/// Header names the generic CSV loader accepts, per role (the first found wins).
const USER_COLUMNS: &[&str] = &["user_id"];
const ITEM_COLUMNS: &[&str] = &["product_id", "item_id"];
const TIMESTAMP_COLUMNS: &[&str] = &["timestamp"];
const BASKET_COLUMNS: &[&str] = &["basket_id", "order_id"];
const WEIGHT_COLUMNS: &[&str] = &["weight", "quantity"];

/// The first two bytes of every gzip stream.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Online Retail II columns the loader reads.
mod retail_columns {
    pub const INVOICE: &str = "Invoice";
    pub const STOCK_CODE: &str = "StockCode";
    pub const QUANTITY: &str = "Quantity";
    pub const INVOICE_DATE: &str = "InvoiceDate";
    pub const CUSTOMER_ID: &str = "Customer ID";
    pub const DESCRIPTION: &str = "Description";
    pub const ALL: [&str; 5] = [INVOICE, STOCK_CODE, QUANTITY, INVOICE_DATE, CUSTOMER_ID];
}

/// Format of Online Retail II's `InvoiceDate` (`2009-12-01 07:45:00`, UK local time, read as UTC).
const INVOICE_DATE_FORMAT: &str = "%Y-%m-%d %H:%M:%S";

/// A purchase or interaction log, one row per (user, item, basket, time), ready to be split.
///
/// The frame has exactly the columns of [`log_columns`], none of them null.
#[derive(Debug, Clone)]
pub struct InteractionLog {
    frame: DataFrame,
    rows_read: usize,
}

impl InteractionLog {
    /// Wraps a frame that already has the columns of [`log_columns`] (extra columns are dropped).
    /// Rows with a null in any of them are dropped.
    ///
    /// # Errors
    /// [`RecsError::Polars`] if a column is missing or has another type.
    pub fn from_frame(frame: DataFrame) -> Result<InteractionLog, RecsError> {
        let rows_read = frame.height();
        let frame = frame
            .lazy()
            .select([
                col(log_columns::USER_ID).strict_cast(DataType::String),
                col(log_columns::ITEM_ID).strict_cast(DataType::String),
                col(log_columns::BASKET_ID).strict_cast(DataType::String),
                col(log_columns::TIMESTAMP).strict_cast(DataType::Int64),
            ])
            .drop_nulls(None)
            .collect()?;
        Ok(InteractionLog { frame, rows_read })
    }

    /// The rows, with the columns of [`log_columns`].
    pub fn frame(&self) -> &DataFrame {
        &self.frame
    }

    /// Number of rows kept.
    pub fn len(&self) -> usize {
        self.frame.height()
    }

    /// Whether no row was kept.
    pub fn is_empty(&self) -> bool {
        self.frame.height() == 0
    }

    /// Number of data rows in the source, before any filter.
    pub fn rows_read(&self) -> usize {
        self.rows_read
    }

    /// The log of `blocks` independent shops built from this one (block replication): block `b`
    /// is a copy of every row with `#b` appended to the user, item and basket ids, at the same
    /// time. Users and items of different blocks are disjoint, so a model that scales scores on
    /// each block what it scores on one; a temporal cutoff, a date or a quantile, falls at the
    /// same time. One block (or 0) is the log itself, ids unchanged.
    ///
    /// # Errors
    /// [`RecsError::Polars`] if polars fails.
    pub fn replicate(&self, blocks: usize) -> Result<InteractionLog, RecsError> {
        if blocks <= 1 {
            return Ok(self.clone());
        }
        let copies: Vec<LazyFrame> = (0..blocks)
            .map(|block| {
                let lines = self.frame.clone().lazy();
                let suffix = format!("#{block}");
                lines.with_columns([
                    (col(log_columns::USER_ID) + lit(suffix.clone())).alias(log_columns::USER_ID),
                    (col(log_columns::ITEM_ID) + lit(suffix.clone())).alias(log_columns::ITEM_ID),
                    (col(log_columns::BASKET_ID) + lit(suffix)).alias(log_columns::BASKET_ID),
                ])
            })
            .collect();
        let frame = concat(copies, UnionArgs::default())?.collect()?;
        Ok(InteractionLog { frame, rows_read: self.rows_read.saturating_mul(blocks) })
    }
}

/// A map from ids of a log (item id → title, say) for every block of
/// [`InteractionLog::replicate`]`(blocks)`: `id#b` gets the value of `id`.
pub fn replicated_ids<V: Clone>(
    ids: &std::collections::HashMap<String, V>,
    blocks: usize,
) -> std::collections::HashMap<String, V> {
    if blocks <= 1 {
        return ids.clone();
    }
    (0..blocks).flat_map(|block| ids.iter().map(move |(id, value)| (format!("{id}#{block}"), value.clone()))).collect()
}

/// The block and the original id of an id of [`InteractionLog::replicate`]`(blocks)`: `("u", 3)`
/// for `u#3`; the id itself in block 0 with one block.
pub fn replicated_block(id: &str, blocks: usize) -> Option<(&str, usize)> {
    if blocks <= 1 {
        return Some((id, 0));
    }
    let (base, block) = id.rsplit_once('#')?;
    let block: usize = block.parse().ok()?;
    (block < blocks).then_some((base, block))
}

/// Loads a generic interactions CSV (plain or gzip-compressed).
///
/// The header must name `user_id`, `product_id` (or `item_id`) and `timestamp`; optional are
/// `basket_id` (or `order_id`) and `weight` (or `quantity`). Other columns are ignored.
///
/// - `timestamp`: Unix seconds when every value is an integer, ISO 8601 otherwise (the format is
///   inferred from the first value: `2010-09-01`, `2010-09-01 10:00:00`, `2010-09-01T10:00:00Z`,
///   `…+02:00`…); times without an offset are read as UTC; fractions of a second are dropped.
/// - Rows with an empty user, item or timestamp are dropped; so are rows whose weight is present
///   and not positive (returns, cancellations). The weight plays no other part: the protocol
///   weighs a user × item pair by its number of distinct baskets.
/// - Without a basket column, every row is its own basket.
///
/// # Errors
/// [`RecsError::Io`] if the file cannot be read, [`RecsError::MissingColumn`] if a required column
/// is missing, [`RecsError::BadValue`] if the CSV is malformed or a timestamp or weight does not
/// parse.
pub fn load_interactions_csv(path: &Path) -> Result<InteractionLog, RecsError> {
    let raw = read_string_csv(path)?;
    let header: Vec<&str> = raw.get_column_names().into_iter().map(|name| name.as_str()).collect();
    let find = |names: &[&'static str]| names.iter().copied().find(|name| header.contains(name));
    let require = |names: &'static [&'static str], expected: &'static str| {
        find(names).ok_or_else(|| RecsError::MissingColumn {
            path: path.to_path_buf(),
            expected,
            found: header.join(","),
        })
    };
    let user = require(USER_COLUMNS, "user_id")?;
    let item = require(ITEM_COLUMNS, "product_id|item_id")?;
    let timestamp = require(TIMESTAMP_COLUMNS, "timestamp")?;
    let basket = find(BASKET_COLUMNS);
    let weight = find(WEIGHT_COLUMNS);

    let rows_read = raw.height();
    let seconds = timestamp_seconds(&raw, timestamp, path)?;
    let mut raw = raw;
    raw.with_column(seconds.with_name(log_columns::TIMESTAMP.into()).into_column())?;
    let mut lines = raw.lazy();
    if let Some(weight) = weight {
        let parsed = trimmed(weight).cast(DataType::Float64);
        let unparsed = trimmed(weight).is_not_null().and(parsed.clone().is_null());
        let bad = count_true(lines.clone(), unparsed)?;
        if bad > 0 {
            return Err(bad_value(path, weight, format!("{bad} values are not numbers")));
        }
        lines = lines.filter(parsed.clone().is_null().or(parsed.gt(lit(0.0))));
    }
    let basket_id = match basket {
        Some(basket) => trimmed(basket),
        None => col("__row").cast(DataType::String),
    };
    let frame = lines
        .with_row_index("__row", None)
        .select([
            non_empty(trimmed(user)).alias(log_columns::USER_ID),
            non_empty(trimmed(item)).alias(log_columns::ITEM_ID),
            basket_id.alias(log_columns::BASKET_ID),
            col(log_columns::TIMESTAMP),
        ])
        .drop_nulls(None)
        .collect()?;
    Ok(InteractionLog { frame, rows_read })
}

/// Loads the Online Retail II purchase log (`.csv.gz` or `.csv`) under the evaluation's rule:
///
/// - keep rows with a customer (`Customer ID` not empty; a float suffix `.0` is stripped),
///   a positive `Quantity`, an `Invoice` that does not start with `C` (not a cancellation) and a
///   `StockCode` that starts with a digit (a product, not postage, fees or vouchers);
/// - user = `Customer ID`, item = `StockCode` (trimmed, case kept), basket = `Invoice`,
///   timestamp = `InvoiceDate` (UK local time, read as UTC).
///
/// This is deliberately not the demo-shop cleaning of `vitrine_pipelines::load_online_retail`
/// (which also drops zero prices and duplicates and upper-cases codes): it is the rule the
/// reference figures of `docs/evaluation.md` were measured with.
///
/// # Errors
/// [`RecsError::Io`] if the file cannot be read or decompressed, [`RecsError::MissingColumn`]
/// if an Online Retail II column is missing, [`RecsError::BadValue`] if a quantity or date does
/// not parse.
pub fn load_online_retail_ii(path: &Path) -> Result<InteractionLog, RecsError> {
    let raw = read_string_csv(path)?;
    let header: Vec<String> = raw.get_column_names().into_iter().map(|name| name.to_string()).collect();
    if let Some(missing) = retail_columns::ALL.iter().find(|name| !header.iter().any(|found| found == *name)) {
        return Err(RecsError::MissingColumn { path: path.to_path_buf(), expected: missing, found: header.join(",") });
    }
    let rows_read = raw.height();
    let customer = non_empty(trimmed(retail_columns::CUSTOMER_ID).str().strip_suffix(lit(".0")));
    let quantity = trimmed(retail_columns::QUANTITY).cast(DataType::Int64);
    let lines = raw.lazy();
    let bad_quantities = count_true(lines.clone(), quantity.clone().is_null())?;
    if bad_quantities > 0 {
        return Err(bad_value(
            path,
            retail_columns::QUANTITY,
            format!("{bad_quantities} values are missing or not integers"),
        ));
    }
    let date_options =
        StrptimeOptions { format: Some(INVOICE_DATE_FORMAT.into()), strict: true, exact: true, cache: true };
    let timestamp = unix_seconds(trimmed(retail_columns::INVOICE_DATE).str().to_datetime(
        Some(TimeUnit::Milliseconds),
        None,
        date_options,
        lit("raise"),
    ));
    let invoice = trimmed(retail_columns::INVOICE);
    let stock_code = trimmed(retail_columns::STOCK_CODE);
    let frame = lines
        .filter(
            customer
                .clone()
                .is_not_null()
                .and(quantity.gt(lit(0_i64)))
                .and(invoice.clone().str().starts_with(lit("C")).not())
                .and(stock_code.clone().str().contains(lit("^[0-9]"), true)),
        )
        .select([
            customer.alias(log_columns::USER_ID),
            stock_code.alias(log_columns::ITEM_ID),
            invoice.alias(log_columns::BASKET_ID),
            timestamp.alias(log_columns::TIMESTAMP),
        ])
        .collect()
        .map_err(|error| bad_value(path, retail_columns::INVOICE_DATE, error.to_string()))?;
    InteractionLog::from_frame(frame).map(|log| InteractionLog { rows_read, ..log })
}

/// A string column with surrounding white space removed.
fn trimmed(name: &str) -> Expr {
    col(name).str().strip_chars(lit(NULL))
}

/// `value`, or null where it is the empty string.
fn non_empty(value: Expr) -> Expr {
    when(value.clone().eq(lit(""))).then(lit(NULL).cast(DataType::String)).otherwise(value)
}

/// A datetime as whole Unix seconds, rounded down (polars' integer division floors, also before
/// 1970).
fn unix_seconds(datetime: Expr) -> Expr {
    datetime.dt().timestamp(TimeUnit::Milliseconds) / lit(1000_i64)
}

/// Number of rows of `frame` where the boolean `predicate` holds.
fn count_true(frame: LazyFrame, predicate: Expr) -> Result<usize, RecsError> {
    let counted = frame.select([predicate.fill_null(lit(false)).sum().cast(DataType::UInt64).alias("n")]).collect()?;
    let count = counted.column("n")?.u64()?.get(0).unwrap_or(0);
    Ok(usize::try_from(count).unwrap_or(usize::MAX))
}

fn bad_value(path: &Path, column: &str, reason: String) -> RecsError {
    RecsError::BadValue { path: path.to_path_buf(), column: column.to_string(), reason }
}

/// The timestamps of `column` as Unix seconds: integers as they are, other values as ISO 8601.
fn timestamp_seconds(raw: &DataFrame, column: &str, path: &Path) -> Result<Series, RecsError> {
    let value = trimmed(column);
    let as_integer = value.clone().cast(DataType::Int64);
    let lines = raw.clone().lazy();
    let not_integers = count_true(lines.clone(), value.clone().is_not_null().and(as_integer.clone().is_null()))?;
    let seconds = if not_integers == 0 {
        as_integer
    } else {
        let options = StrptimeOptions { format: None, strict: true, exact: true, cache: true };
        unix_seconds(value.str().to_datetime(Some(TimeUnit::Milliseconds), None, options, lit("raise")))
    };
    let parsed = lines
        .select([seconds.alias(column)])
        .collect()
        .map_err(|error| bad_value(path, column, format!("neither Unix seconds nor ISO 8601: {error}")))?;
    Ok(parsed.column(column)?.as_materialized_series().clone())
}

/// Reads a CSV file (decompressing gzip) with every column as a string, exactly as written.
fn read_string_csv(path: &Path) -> Result<DataFrame, RecsError> {
    let bytes = read_maybe_gzip(path).map_err(|source| RecsError::Io { path: path.to_path_buf(), source })?;
    CsvReadOptions::default()
        .with_has_header(true)
        .with_infer_schema_length(Some(0))
        .into_reader_with_file_handle(Cursor::new(bytes))
        .finish()
        .map_err(|error| bad_value(path, "*", format!("malformed CSV: {error}")))
}

/// The bytes of `path`, decompressed when the file starts with the gzip magic bytes.
fn read_maybe_gzip(path: &Path) -> std::io::Result<Vec<u8>> {
    let bytes = std::fs::read(path)?;
    if !bytes.starts_with(&GZIP_MAGIC) {
        return Ok(bytes);
    }
    let mut decoded = Vec::with_capacity(bytes.len() * 8);
    std::io::Read::read_to_end(&mut flate2::read::MultiGzDecoder::new(bytes.as_slice()), &mut decoded)?;
    Ok(decoded)
}

/// The title of every stock code of an Online Retail II file: its most frequent description
/// (content vectors are made of it).
///
/// # Errors
/// As [`load_online_retail_ii`].
pub fn online_retail_ii_titles(path: &Path) -> Result<std::collections::HashMap<String, String>, RecsError> {
    let raw = read_string_csv(path)?;
    let titles = raw
        .lazy()
        .select([
            trimmed(retail_columns::STOCK_CODE).alias("item"),
            trimmed(retail_columns::DESCRIPTION).alias("title"),
        ])
        .drop_nulls(None)
        .group_by([col("item"), col("title")])
        .agg([len().alias("n")])
        .sort_by_exprs([col("n")], SortMultipleOptions::default().with_order_descending(true))
        .group_by([col("item")])
        .agg([col("title").first()])
        .collect()?;
    let items = titles.column("item")?.str()?;
    let texts = titles.column("title")?.str()?;
    Ok(items.iter().zip(texts.iter()).filter_map(|(item, text)| Some((item?.to_owned(), text?.to_owned()))).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seconds_of(timestamps: &[&str]) -> Result<Vec<i64>, RecsError> {
        let dir = tempfile::TempDir::new().expect("a temporary directory");
        let path = dir.path().join("log.csv");
        let mut csv = String::from("user_id,item_id,timestamp\n");
        for timestamp in timestamps {
            csv.push_str(&format!("u,i,{timestamp}\n"));
        }
        std::fs::write(&path, csv).expect("writable");
        let log = load_interactions_csv(&path)?;
        Ok(log.frame().column(log_columns::TIMESTAMP)?.i64()?.no_null_iter().collect())
    }

    #[test]
    fn integer_timestamps_are_unix_seconds() {
        assert_eq!(seconds_of(&["1283299200", " 5", "-3"]).expect("integers"), vec![1_283_299_200, 5, -3]);
    }

    #[test]
    fn iso_timestamps_of_every_common_shape_parse_as_utc() {
        let midnight = 1_283_299_200;
        for shape in [
            ["2010-09-01", "2010-09-02"],
            ["2010-09-01 00:00:00", "2010-09-02 00:00:00"],
            ["2010-09-01T00:00:00", "2010-09-02T00:00:00"],
            ["2010-09-01T00:00:00Z", "2010-09-02T00:00:00Z"],
            ["2010-09-01T02:00:00+02:00", "2010-09-02T02:00:00+02:00"],
            ["2010-09-01T00:00:00.900", "2010-09-02T00:00:00.250"],
        ] {
            assert_eq!(seconds_of(&shape).expect("ISO 8601"), vec![midnight, midnight + 86_400], "{shape:?}");
        }
    }

    #[test]
    fn times_before_1970_round_down_to_the_second() {
        assert_eq!(seconds_of(&["1969-12-31T23:59:59.500"]).expect("ISO 8601"), vec![-1]);
    }

    #[test]
    fn replication_copies_every_row_with_disjoint_ids_at_the_same_times() {
        let dir = tempfile::TempDir::new().expect("a temporary directory");
        let path = dir.path().join("log.csv");
        std::fs::write(&path, "user_id,item_id,basket_id,timestamp\nu,a,o1,10\nv,a,o2,20\n").expect("writable");
        let log = load_interactions_csv(&path).expect("loads").replicate(3).expect("replicates");
        assert_eq!((log.len(), log.rows_read()), (6, 6));
        let strings = |name: &str| -> Vec<String> {
            let column = log.frame().column(name).expect("column");
            column.str().expect("strings").no_null_iter().map(str::to_owned).collect()
        };
        assert_eq!(strings(log_columns::USER_ID), ["u#0", "v#0", "u#1", "v#1", "u#2", "v#2"]);
        assert_eq!(strings(log_columns::ITEM_ID), ["a#0", "a#0", "a#1", "a#1", "a#2", "a#2"]);
        assert_eq!(strings(log_columns::BASKET_ID), ["o1#0", "o2#0", "o1#1", "o2#1", "o1#2", "o2#2"]);
        assert_eq!(replicated_block("u#2", 3), Some(("u", 2)));
        assert_eq!(replicated_block("x#1#0", 3), Some(("x#1", 0)), "an original id may hold a #");
        assert_eq!(replicated_block("u#3", 3), None);
        assert_eq!(replicated_block("u#3", 1), Some(("u#3", 0)), "one block: ids as they are");
        let times: Vec<i64> =
            log.frame().column(log_columns::TIMESTAMP).expect("column").i64().expect("ints").no_null_iter().collect();
        assert_eq!(times, [10, 20, 10, 20, 10, 20]);
        assert_eq!(log.replicate(1).expect("one block").len(), 6, "one block is the log itself");
    }

    #[test]
    fn rows_without_user_item_or_a_positive_weight_are_dropped() {
        let dir = tempfile::TempDir::new().expect("a temporary directory");
        let path = dir.path().join("log.csv");
        std::fs::write(&path, "user_id,item_id,timestamp,weight\nu,a,1,2\n,a,1,1\nu,,1,1\nu,b,1,0\nu,c,1,-1\nu,d,1,\n")
            .expect("writable");
        let log = load_interactions_csv(&path).expect("loads");
        assert_eq!((log.rows_read(), log.len()), (6, 2));
        let bad = dir.path().join("bad.csv");
        std::fs::write(&bad, "user_id,item_id,timestamp,weight\nu,a,1,lots\n").expect("writable");
        assert!(matches!(load_interactions_csv(&bad), Err(RecsError::BadValue { column, .. }) if column == "weight"));
    }
}
