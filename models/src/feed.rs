//! Reading products and interactions from files: JSON Lines or CSV.
//!
//! A bad line never stops a feed: the reader yields a [`LineError`] with the line number and the
//! reason, and goes on with the next line. Blank lines are skipped.
//!
//! **CSV columns for products**: `id`, `title` (required), `description`, `brand`, `category`
//! (`home/kitchen`), `price`, `currency`, `stock`, `popularity`, `margin`, `rating`,
//! `rating_count`, `image_url`, `url`, `parent_id`, `created_at` (RFC 3339), `version`, and any
//! number of `attr.NAME` columns (a value with `|` becomes a list: `cotton|elastane`).
//! Unknown columns are an error for the whole file, like unknown JSON fields.
//!
//! **CSV columns for interactions**: `user_id` or `session_id`, `product_id`, `kind` or `event`
//! (`view|click|add_to_cart|purchase`), `quantity` (default 1), `timestamp` (RFC 3339, or Unix
//! time: seconds, or milliseconds for values from 10¹¹ on). The same cells come from Parquet files
//! through [`interaction_from_cells`].

use std::collections::BTreeMap;
use std::fmt;
use std::io::BufRead;
use std::path::Path;

use serde::de::DeserializeOwned;

use crate::interaction::InteractionDraft;
use crate::product::{AttributeValue, CategoryInput, ProductDraft};
use crate::{Interaction, Product};

/// The file formats a feed may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedFormat {
    /// One JSON object per line.
    JsonLines,
    /// Comma-separated values with a header row.
    Csv,
}

impl FeedFormat {
    /// The format a file's extension names: `.jsonl`, `.ndjson`, `.json` or `.csv`.
    pub fn from_path(path: &Path) -> Result<FeedFormat, FeedError> {
        let extension = path.extension().and_then(|ext| ext.to_str()).unwrap_or_default().to_ascii_lowercase();
        match extension.as_str() {
            "jsonl" | "ndjson" | "json" => Ok(FeedFormat::JsonLines),
            "csv" => Ok(FeedFormat::Csv),
            _ => Err(FeedError::UnknownFormat(path.display().to_string())),
        }
    }
}

/// One line of a feed that could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    /// 1-based line number in the file (the CSV header is line 1).
    pub line: u64,
    /// Why it was refused.
    pub reason: String,
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.reason)
    }
}

/// A feed that cannot be read at all (as opposed to a bad line).
#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    /// The file's extension names no known format.
    #[error("cannot tell the format of {0}: use .jsonl, .ndjson, .json or .csv")]
    UnknownFormat(String),
    /// The CSV header has a column no field matches.
    #[error("unknown CSV column `{0}`")]
    UnknownColumn(String),
    /// The CSV header lacks a required column.
    #[error("the CSV header has no `{0}` column")]
    MissingColumn(&'static str),
    /// Reading failed.
    #[error("cannot read the feed: {0}")]
    Io(#[from] std::io::Error),
    /// The CSV header could not be read.
    #[error("cannot read the CSV header: {0}")]
    Csv(#[from] csv::Error),
}

/// A record type that a feed can carry.
trait FeedRecord: Sized {
    /// Its wire form.
    type Draft: DeserializeOwned;
    /// Required CSV columns.
    const REQUIRED_COLUMNS: &'static [&'static str];
    /// Known CSV columns (besides `attr.*` for products).
    const COLUMNS: &'static [&'static str];
    /// Whether `attr.NAME` columns are accepted.
    const ATTRIBUTE_COLUMNS: bool;
    /// Builds a draft from CSV cells by column name (empty cells are absent).
    fn draft_from_cells(cells: BTreeMap<&str, &str>) -> Result<Self::Draft, String>;
    /// Validates a draft.
    fn validate(draft: Self::Draft) -> Result<Self, String>;
}

fn parse_cell<T: std::str::FromStr>(cells: &BTreeMap<&str, &str>, column: &str) -> Result<Option<T>, String>
where
    T::Err: fmt::Display,
{
    cells
        .get(column)
        .map(|cell| cell.trim().parse::<T>().map_err(|err| format!("`{column}`: {cell:?}: {err}")))
        .transpose()
}

fn text_cell(cells: &BTreeMap<&str, &str>, column: &str) -> Option<String> {
    cells.get(column).map(|cell| (*cell).to_owned())
}

impl FeedRecord for Product {
    type Draft = ProductDraft;
    const REQUIRED_COLUMNS: &'static [&'static str] = &["id", "title"];
    const COLUMNS: &'static [&'static str] = &[
        "id",
        "title",
        "description",
        "brand",
        "category",
        "price",
        "currency",
        "stock",
        "popularity",
        "margin",
        "rating",
        "rating_count",
        "image_url",
        "url",
        "parent_id",
        "created_at",
        "version",
    ];
    const ATTRIBUTE_COLUMNS: bool = true;

    fn draft_from_cells(cells: BTreeMap<&str, &str>) -> Result<ProductDraft, String> {
        let attributes = cells
            .iter()
            .filter_map(|(column, cell)| column.strip_prefix("attr.").map(|name| (name, cell)))
            .map(|(name, cell)| {
                let value = if cell.contains('|') {
                    AttributeValue::List(cell.split('|').map(|item| item.trim().to_owned()).collect())
                } else {
                    AttributeValue::Text((*cell).to_owned())
                };
                (name.to_owned(), value)
            })
            .collect();
        Ok(ProductDraft {
            id: text_cell(&cells, "id").unwrap_or_default(),
            title: text_cell(&cells, "title").unwrap_or_default(),
            description: text_cell(&cells, "description"),
            brand: text_cell(&cells, "brand"),
            category: text_cell(&cells, "category").map(CategoryInput::Path),
            price: parse_cell(&cells, "price")?,
            currency: text_cell(&cells, "currency"),
            attributes,
            stock: parse_cell(&cells, "stock")?,
            popularity: parse_cell(&cells, "popularity")?,
            margin: parse_cell(&cells, "margin")?,
            rating: parse_cell(&cells, "rating")?,
            rating_count: parse_cell(&cells, "rating_count")?,
            image_url: text_cell(&cells, "image_url"),
            url: text_cell(&cells, "url"),
            parent_id: text_cell(&cells, "parent_id"),
            created_at: parse_cell(&cells, "created_at")?,
            version: parse_cell(&cells, "version")?.unwrap_or(0),
        })
    }

    fn validate(draft: ProductDraft) -> Result<Product, String> {
        Product::try_from(draft).map_err(|err| err.to_string())
    }
}

/// Milliseconds from which an integer timestamp is read as milliseconds (10¹¹ s is in the year
/// 5138; 10¹¹ ms is in 1973).
const UNIX_MILLIS_FROM: i64 = 100_000_000_000;

/// A timestamp cell: RFC 3339, or Unix seconds / milliseconds.
fn timestamp_cell(cells: &BTreeMap<&str, &str>) -> Result<chrono::DateTime<chrono::Utc>, String> {
    let cell = cells.get("timestamp").map(|cell| cell.trim()).ok_or("`timestamp` is empty")?;
    if let Ok(number) = cell.parse::<i64>() {
        let time = if number.abs() >= UNIX_MILLIS_FROM {
            chrono::DateTime::from_timestamp_millis(number)
        } else {
            chrono::DateTime::from_timestamp(number, 0)
        };
        return time.ok_or_else(|| format!("`timestamp`: {cell:?} is out of range"));
    }
    cell.parse().map_err(|err| format!("`timestamp`: {cell:?}: {err}"))
}

/// One interaction from its cells (column name → text), as in a CSV row: for other tabular
/// sources (Parquet) that read cells themselves.
pub fn interaction_from_cells(cells: BTreeMap<&str, &str>) -> Result<Interaction, String> {
    Interaction::draft_from_cells(cells).and_then(Interaction::validate)
}

/// The interaction columns a tabular file may have (`event` is another name for `kind`).
pub const INTERACTION_COLUMNS: &[&str] =
    &["user_id", "session_id", "product_id", "kind", "event", "quantity", "timestamp"];

impl FeedRecord for Interaction {
    type Draft = InteractionDraft;
    const REQUIRED_COLUMNS: &'static [&'static str] = &["product_id", "timestamp"];
    const COLUMNS: &'static [&'static str] = INTERACTION_COLUMNS;
    const ATTRIBUTE_COLUMNS: bool = false;

    fn draft_from_cells(cells: BTreeMap<&str, &str>) -> Result<InteractionDraft, String> {
        let kind = match parse_cell(&cells, "kind")? {
            Some(kind) => kind,
            None => parse_cell(&cells, "event")?.ok_or("`kind` (or `event`) is empty")?,
        };
        Ok(InteractionDraft {
            user_id: text_cell(&cells, "user_id"),
            session_id: text_cell(&cells, "session_id"),
            product_id: text_cell(&cells, "product_id").unwrap_or_default(),
            kind,
            quantity: parse_cell(&cells, "quantity")?.unwrap_or(1),
            timestamp: timestamp_cell(&cells)?,
        })
    }

    fn validate(draft: InteractionDraft) -> Result<Interaction, String> {
        Interaction::try_from(draft).map_err(|err| err.to_string())
    }
}

/// Reads a product feed. See the module docs for the formats.
pub fn read_products(
    reader: impl BufRead,
    format: FeedFormat,
) -> Result<Box<dyn Iterator<Item = Result<Product, LineError>>>, FeedError> {
    read_feed(reader, format, &|draft| draft)
}

/// Reads a product feed whose prices may come without their currency: such a price is in
/// `default_currency` (an index's `default_currency` setting, or `import --currency`); with
/// `None`, as [`read_products`].
pub fn read_products_in(
    reader: impl BufRead,
    format: FeedFormat,
    default_currency: Option<&str>,
) -> Result<Box<dyn Iterator<Item = Result<Product, LineError>>>, FeedError> {
    read_feed(reader, format, &|draft: ProductDraft| draft.with_default_currency(default_currency))
}

/// Reads an interaction feed. See the module docs for the formats.
pub fn read_interactions(
    reader: impl BufRead,
    format: FeedFormat,
) -> Result<Box<dyn Iterator<Item = Result<Interaction, LineError>>>, FeedError> {
    read_feed(reader, format, &|draft| draft)
}

/// Reads a feed; `prepare` completes each draft before it is validated.
fn read_feed<R: FeedRecord + 'static>(
    reader: impl BufRead,
    format: FeedFormat,
    prepare: &dyn Fn(R::Draft) -> R::Draft,
) -> Result<Box<dyn Iterator<Item = Result<R, LineError>>>, FeedError> {
    // Feeds are read to the end up front: the iterator must not borrow the reader, and a
    // catalog is small next to the memory a search index needs anyway.
    match format {
        FeedFormat::JsonLines => {
            let mut records = Vec::new();
            for (index, line) in reader.lines().enumerate() {
                let line_number = index as u64 + 1;
                let line = line?;
                if line.trim().is_empty() {
                    continue;
                }
                let record = serde_json::from_str::<R::Draft>(&line)
                    .map_err(|err| err.to_string())
                    .map(prepare)
                    .and_then(R::validate)
                    .map_err(|reason| LineError { line: line_number, reason });
                records.push(record);
            }
            Ok(Box::new(records.into_iter()))
        }
        FeedFormat::Csv => {
            let mut csv_reader = csv::ReaderBuilder::new().flexible(false).from_reader(reader);
            let headers: Vec<String> = csv_reader.headers()?.iter().map(|header| header.trim().to_owned()).collect();
            for column in &headers {
                let known =
                    R::COLUMNS.contains(&column.as_str()) || (R::ATTRIBUTE_COLUMNS && column.starts_with("attr."));
                if !known {
                    return Err(FeedError::UnknownColumn(column.clone()));
                }
            }
            if let Some(missing) = R::REQUIRED_COLUMNS.iter().find(|required| !headers.iter().any(|h| h == *required)) {
                return Err(FeedError::MissingColumn(missing));
            }
            let mut records = Vec::new();
            for row in csv_reader.records() {
                let record = match row {
                    Err(err) => {
                        let line = err.position().map_or(0, |position| position.line());
                        Err(LineError { line, reason: err.to_string() })
                    }
                    Ok(row) => {
                        let line = row.position().map_or(0, |position| position.line());
                        let cells = headers
                            .iter()
                            .map(String::as_str)
                            .zip(row.iter())
                            .filter(|(_, cell)| !cell.trim().is_empty())
                            .collect();
                        R::draft_from_cells(cells)
                            .map(prepare)
                            .and_then(R::validate)
                            .map_err(|reason| LineError { line, reason })
                    }
                };
                records.push(record);
            }
            Ok(Box::new(records.into_iter()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_lines_report_bad_lines_by_number_and_keep_the_rest() {
        let feed = "{\"id\":\"1\",\"title\":\"Mug\"}\n\nnot json\n{\"id\":\"2\",\"title\":\"\"}\n{\"id\":\"3\",\"title\":\"Cup\",\"price\":2,\"currency\":\"GBP\"}\n";
        let results: Vec<_> = read_products(feed.as_bytes(), FeedFormat::JsonLines).expect("readable").collect();
        assert_eq!(results.len(), 4);
        assert_eq!(results[0].as_ref().map(|p| p.id.as_str()), Ok("1"));
        assert_eq!(results[1].as_ref().map_err(|e| e.line), Err(3));
        assert_eq!(results[2].as_ref().map_err(|e| e.line), Err(4));
        assert!(results[2].as_ref().expect_err("blank title").reason.contains("title"));
        assert!(results[3].is_ok());
    }

    #[test]
    fn csv_products_map_columns_and_attributes() {
        let feed = "id,title,category,price,currency,stock,attr.colour,attr.material\n\
                    22041,RECORD FRAME,home/frames,2.1,GBP,5,black,wood|glass\n\
                    22042,,home,1,GBP,,,\n\
                    22043,FRAME,home,abc,GBP,,,\n";
        let results: Vec<_> = read_products(feed.as_bytes(), FeedFormat::Csv).expect("readable").collect();
        let product = results[0].as_ref().expect("first row is valid");
        assert_eq!(product.category.levels(), ["home", "frames"]);
        assert_eq!(product.stock, Some(5));
        assert_eq!(product.attributes["material"], AttributeValue::List(vec!["wood".into(), "glass".into()]));
        assert_eq!(results[1].as_ref().map_err(|e| e.line), Err(3));
        let price_error = results[2].as_ref().expect_err("bad price");
        assert_eq!(price_error.line, 4);
        assert!(price_error.reason.contains("price"), "{price_error}");
    }

    #[test]
    fn csv_headers_are_checked_before_any_row() {
        assert!(matches!(
            read_products("id,title,colour\n1,a,red\n".as_bytes(), FeedFormat::Csv),
            Err(FeedError::UnknownColumn(column)) if column == "colour"
        ));
        assert!(matches!(
            read_products("id,name\n1,a\n".as_bytes(), FeedFormat::Csv),
            Err(FeedError::UnknownColumn(_)) | Err(FeedError::MissingColumn(_))
        ));
    }

    #[test]
    fn interactions_read_from_csv_and_json_lines() {
        let csv = "user_id,session_id,product_id,kind,quantity,timestamp\n\
                   13085,,85048,purchase,12,2009-12-01T07:45:00Z\n\
                   ,s1,85048,view,,2009-12-01T07:46:00Z\n\
                   13085,,85048,like,1,2009-12-01T07:45:00Z\n";
        let rows: Vec<_> = read_interactions(csv.as_bytes(), FeedFormat::Csv).expect("readable").collect();
        assert_eq!(rows[0].as_ref().map(|i| i.quantity), Ok(12));
        assert_eq!(rows[1].as_ref().map(|i| i.quantity), Ok(1));
        assert_eq!(rows[2].as_ref().map_err(|e| e.line), Err(4));
        let jsonl =
            "{\"session_id\":\"s\",\"product_id\":\"1\",\"kind\":\"click\",\"timestamp\":\"2010-01-01T00:00:00Z\"}\n";
        assert_eq!(read_interactions(jsonl.as_bytes(), FeedFormat::JsonLines).expect("readable").count(), 1);
        assert_eq!(FeedFormat::from_path(Path::new("a.NDJSON")).ok(), Some(FeedFormat::JsonLines));
        assert!(FeedFormat::from_path(Path::new("a.xlsx")).is_err());
    }

    #[test]
    fn the_documented_schema_with_event_and_unix_times_is_read() {
        let csv = "user_id,product_id,event,quantity,timestamp\n\
                   u1,p1,purchase,2,1283299200\n\
                   u1,p2,add_to_cart,1,1283299200123\n\
                   u1,p3,,1,1283299200\n";
        let rows: Vec<_> = read_interactions(csv.as_bytes(), FeedFormat::Csv).expect("readable").collect();
        let first = rows[0].as_ref().expect("valid");
        assert_eq!(first.kind, crate::InteractionKind::Purchase);
        assert_eq!(first.timestamp.timestamp(), 1_283_299_200);
        assert_eq!(rows[1].as_ref().expect("valid").timestamp.timestamp_millis(), 1_283_299_200_123);
        assert!(rows[2].as_ref().expect_err("no event").reason.contains("event"));
        let jsonl =
            "{\"user_id\":\"u\",\"product_id\":\"1\",\"event\":\"view\",\"timestamp\":\"2010-01-01T00:00:00Z\"}\n";
        assert!(read_interactions(jsonl.as_bytes(), FeedFormat::JsonLines).expect("readable").all(|row| row.is_ok()));
    }
}
