//! What the catalog loaders ([`load_grocery`](crate::load_grocery), [`load_luma`](crate::load_luma))
//! share: reading a CSV source into rows, reading cells, and the [`LoadReport`] that counts every row
//! left out and why.
//!
//! - **Reading.** The file (gzip-compressed or plain, told apart by its first bytes) is decompressed
//!   in memory (these catalogs are a few megabytes) and parsed by the `csv` crate, which keeps quoted
//!   line breaks inside their field; each row keeps the line it starts on. A record that cannot be
//!   read (another field count than the header, bytes that are not UTF-8) is dropped as
//!   [`RowDropReason::MalformedRecord`] and the rest loads; only an unreadable file or header stops
//!   the load.
//! - **Cells.** Every text cell is cleaned the same way: HTML character references are decoded
//!   (`&quot;` → `"`, `&#261;` → `ą`, `&trade;` → `™`: both sources carry some, left by web
//!   exports) and runs of whitespace, line breaks included, become one space. No field the loaders
//!   keep needs its line breaks.
//! - **Categories.** Paths are written `Root > Child > Leaf`. A level may not contain `/` (it
//!   separates levels in Vitrine), so `/` inside a level becomes ` & `: `Fruits/Vegetables` →
//!   `Fruits & Vegetables`.
//! - **Report.** Each row either becomes a product or is dropped for one [`RowDropReason`], with its
//!   line number and the details ([`DroppedRow`]). Nothing is left out silently.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;

use std::path::Path;

use csv::StringRecord;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use vitrine_models::{AttributeValue, Product, ValidationError};

use crate::PipelineError;
use crate::source::{Source, read_source};

/// How many dropped rows [`LoadReport`]'s `Display` lists one by one.
const LISTED_DROPPED_ROWS: usize = 10;

/// Why a source row did not become a product. Listed in the order the loaders check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RowDropReason {
    /// The CSV record could not be read: another number of fields than the header, or bytes that
    /// are not UTF-8.
    MalformedRecord,
    /// The id column (`code`, `sku`) is empty.
    MissingId,
    /// The id does not have the shape the source uses (Open Food Facts: a barcode of 6 to 14 digits).
    InvalidId,
    /// The title column (`title`, `name`) is empty.
    MissingTitle,
    /// A cell that must hold a number or a yes/no flag holds something else.
    UnreadableValue {
        /// The source column of the cell.
        column: &'static str,
    },
    /// A variant names a parent that is not in the file or did not become a product itself.
    UnknownParent,
    /// vitrine-models refused the product ([`DroppedRow::detail`] has the refusal).
    Refused {
        /// The product field the models named (`title`, `category`, `attributes`…).
        field: &'static str,
    },
    /// An earlier row already became a product with this id.
    DuplicateId,
}

impl fmt::Display for RowDropReason {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RowDropReason::MalformedRecord => formatter.write_str("malformed CSV record"),
            RowDropReason::MissingId => formatter.write_str("missing id"),
            RowDropReason::InvalidId => formatter.write_str("invalid id"),
            RowDropReason::MissingTitle => formatter.write_str("missing title"),
            RowDropReason::UnreadableValue { column } => write!(formatter, "unreadable value in `{column}`"),
            RowDropReason::UnknownParent => formatter.write_str("variant of an unknown parent"),
            RowDropReason::Refused { field } => write!(formatter, "refused by the models: `{field}`"),
            RowDropReason::DuplicateId => formatter.write_str("duplicate id"),
        }
    }
}

/// One source row that did not become a product.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DroppedRow {
    /// The 1-based line of the file where the row starts (the header is line 1; a row whose text
    /// fields hold line breaks spans several lines).
    pub line: u64,
    /// The row's id as written, when it has one.
    pub id: Option<String>,
    /// Why it was dropped.
    pub reason: RowDropReason,
    /// The details: the models' refusal, the unreadable value, the CSV error.
    pub detail: String,
}

impl fmt::Display for DroppedRow {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "line {}", self.line)?;
        if let Some(id) = &self.id {
            write!(formatter, " ({id})")?;
        }
        write!(formatter, ": {}: {}", self.reason, self.detail)
    }
}

/// What a catalog loader did with its source: rows read, products produced, and every dropped row
/// with its reason.
///
/// Invariant: `rows_read == products + rows_dropped()`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadReport {
    /// Data records in the file (the header excluded; a record may span several lines).
    pub rows_read: usize,
    /// Products produced.
    pub products: usize,
    /// The rows that did not become products, in file order.
    pub dropped_rows: Vec<DroppedRow>,
}

impl LoadReport {
    /// How many rows were dropped, all reasons together.
    pub fn rows_dropped(&self) -> usize {
        self.dropped_rows.len()
    }

    /// How many rows were dropped for each reason (reasons without drops are absent).
    pub fn dropped_per_reason(&self) -> BTreeMap<RowDropReason, usize> {
        let mut counts = BTreeMap::new();
        for dropped in &self.dropped_rows {
            *counts.entry(dropped.reason).or_insert(0) += 1;
        }
        counts
    }

    /// How many rows were dropped for `reason`.
    pub fn dropped(&self, reason: RowDropReason) -> usize {
        self.dropped_rows.iter().filter(|dropped| dropped.reason == reason).count()
    }
}

impl fmt::Display for LoadReport {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        const LABEL_WIDTH: usize = 54;
        const COUNT_WIDTH: usize = 10;
        let rule = "-".repeat(LABEL_WIDTH + COUNT_WIDTH + 1);

        writeln!(formatter, "{:<LABEL_WIDTH$} {:>COUNT_WIDTH$}", "rows", "count")?;
        writeln!(formatter, "{rule}")?;
        writeln!(formatter, "{:<LABEL_WIDTH$} {:>COUNT_WIDTH$}", "read", self.rows_read)?;
        for (reason, rows) in self.dropped_per_reason() {
            writeln!(formatter, "{:<LABEL_WIDTH$} {rows:>COUNT_WIDTH$}", format!("dropped: {reason}"))?;
        }
        writeln!(formatter, "{:<LABEL_WIDTH$} {:>COUNT_WIDTH$}", "dropped in total", self.rows_dropped())?;
        write!(formatter, "{:<LABEL_WIDTH$} {:>COUNT_WIDTH$}", "products", self.products)?;
        if !self.dropped_rows.is_empty() {
            write!(formatter, "\n\ndropped rows:")?;
            for dropped in self.dropped_rows.iter().take(LISTED_DROPPED_ROWS) {
                write!(formatter, "\n  {dropped}")?;
            }
            let unlisted = self.rows_dropped().saturating_sub(LISTED_DROPPED_ROWS);
            if unlisted > 0 {
                write!(formatter, "\n  … and {unlisted} more")?;
            }
        }
        Ok(())
    }
}

/// Why one row is dropped: the reason and its details. Returned by the loaders' per-row mappings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RowDrop {
    pub reason: RowDropReason,
    pub detail: String,
}

impl RowDrop {
    pub(crate) fn new(reason: RowDropReason, detail: impl Into<String>) -> Self {
        RowDrop { reason, detail: detail.into() }
    }
}

impl From<ValidationError> for RowDrop {
    fn from(error: ValidationError) -> Self {
        RowDrop::new(RowDropReason::Refused { field: error.field() }, error.to_string())
    }
}

/// A CSV source held in memory: its header and its readable records.
#[derive(Debug)]
pub(crate) struct SourceTable {
    /// Column name → field position.
    columns: HashMap<String, usize>,
    /// Readable records with the line each starts on.
    records: Vec<(u64, StringRecord)>,
}

impl SourceTable {
    /// The readable rows, in file order.
    pub(crate) fn rows(&self) -> impl Iterator<Item = Row<'_>> {
        self.records.iter().map(|(line, record)| Row { line: *line, record, columns: &self.columns })
    }

    /// How many readable rows there are.
    pub(crate) fn len(&self) -> usize {
        self.records.len()
    }
}

/// One record of a [`SourceTable`], read by column name.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Row<'a> {
    /// The 1-based line the record starts on.
    pub line: u64,
    record: &'a StringRecord,
    columns: &'a HashMap<String, usize>,
}

impl<'a> Row<'a> {
    /// The cell as written (`""` when empty).
    pub(crate) fn raw(&self, column: &str) -> &'a str {
        debug_assert!(self.columns.contains_key(column), "column `{column}` was not declared as required");
        self.columns.get(column).and_then(|position| self.record.get(*position)).unwrap_or_default()
    }

    /// The cleaned cell (see the module docs), or `None` when it is blank.
    pub(crate) fn text(&self, column: &str) -> Option<String> {
        let cleaned = clean_cell(self.raw(column));
        (!cleaned.is_empty()).then_some(cleaned)
    }

    /// The cell split on `separator`, each item cleaned; blank items and repeats are left out.
    pub(crate) fn list(&self, column: &str, separator: char) -> Vec<String> {
        distinct(self.raw(column).split(separator).map(clean_cell))
    }

    /// The cell as a finite number (`12.5`; a decimal comma, `12,5`, is read too), `None` when blank.
    pub(crate) fn number(&self, column: &'static str) -> Result<Option<f64>, RowDrop> {
        let cell = self.raw(column).trim();
        if cell.is_empty() {
            return Ok(None);
        }
        parse_number(cell).map(Some).ok_or_else(|| unreadable(column, cell, "a number"))
    }

    /// The cell as a whole number (`100`, or `100.0` as some exports write it), `None` when blank.
    pub(crate) fn integer(&self, column: &'static str) -> Result<Option<i64>, RowDrop> {
        let cell = self.raw(column).trim();
        if cell.is_empty() {
            return Ok(None);
        }
        let whole = cell.parse::<i64>().ok().or_else(|| {
            parse_number(cell)
                .filter(|number| number.fract() == 0.0 && number.abs() < 2f64.powi(53))
                .map(|number| number as i64)
        });
        whole.map(Some).ok_or_else(|| unreadable(column, cell, "a whole number"))
    }

    /// The cell as a flag: `Yes`/`true`/`1` or `No`/`false`/`0` (any case), `None` when blank.
    pub(crate) fn flag(&self, column: &'static str) -> Result<Option<bool>, RowDrop> {
        let cell = self.raw(column).trim();
        match cell.to_ascii_lowercase().as_str() {
            "" => Ok(None),
            "yes" | "true" | "1" => Ok(Some(true)),
            "no" | "false" | "0" => Ok(Some(false)),
            _ => Err(unreadable(column, cell, "Yes or No")),
        }
    }
}

fn unreadable(column: &'static str, cell: &str, expected: &str) -> RowDrop {
    RowDrop::new(RowDropReason::UnreadableValue { column }, format!("{cell:?} is not {expected}"))
}

/// A finite number, accepting one decimal comma when there is no decimal point.
fn parse_number(cell: &str) -> Option<f64> {
    let with_point: Cow<'_, str> = if !cell.contains('.') && cell.matches(',').count() == 1 {
        Cow::Owned(cell.replace(',', "."))
    } else {
        Cow::Borrowed(cell)
    };
    with_point.parse::<f64>().ok().filter(|number| number.is_finite())
}

/// Decodes HTML character references, then makes every run of whitespace one space and trims.
pub(crate) fn clean_cell(cell: &str) -> String {
    decode_html_entities(cell).split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The items in order, without blanks and repeats.
pub(crate) fn distinct(items: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut seen = HashSet::new();
    items.into_iter().filter(|item| !item.is_empty() && seen.insert(item.clone())).collect()
}

/// The levels of a `Root > Child > Leaf` path, cleaned, with `/` inside a level written ` & `.
pub(crate) fn category_levels(path: &str) -> Vec<String> {
    path.split(" > ").map(|level| clean_cell(&level.replace('/', " & "))).filter(|level| !level.is_empty()).collect()
}

/// Decodes the HTML character references found in shop exports: numeric ones (`&#261;`,
/// `&#x105;`) and the common named ones. Anything else, a lone `&` included, is kept as written.
fn decode_html_entities(text: &str) -> Cow<'_, str> {
    /// The longest reference name looked at (`&#x10FFFF;` has 8 characters between `&` and `;`).
    const LONGEST_REFERENCE: usize = 8;
    if !text.contains('&') {
        return Cow::Borrowed(text);
    }
    let mut decoded = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(ampersand) = rest.find('&') {
        decoded.push_str(&rest[..ampersand]);
        let after = &rest[ampersand + 1..];
        let reference = after
            .find(';')
            .filter(|end| *end <= LONGEST_REFERENCE)
            .and_then(|end| decode_reference(&after[..end]).map(|character| (character, end)));
        match reference {
            Some((character, end)) => {
                decoded.push(character);
                rest = &after[end + 1..];
            }
            None => {
                decoded.push('&');
                rest = after;
            }
        }
    }
    decoded.push_str(rest);
    Cow::Owned(decoded)
}

/// The character a reference name (between `&` and `;`) stands for.
fn decode_reference(name: &str) -> Option<char> {
    if let Some(number) = name.strip_prefix('#') {
        let code = match number.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => number.parse().ok()?,
        };
        return char::from_u32(code);
    }
    let character = match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        "nbsp" => '\u{a0}',
        "trade" => '™',
        "reg" => '®',
        "copy" => '©',
        _ => return None,
    };
    Some(character)
}

/// Attributes of one product, added only when they have a value.
#[derive(Debug, Default)]
pub(crate) struct Attributes(BTreeMap<String, AttributeValue>);

impl Attributes {
    pub(crate) fn text(&mut self, name: &str, value: Option<String>) {
        if let Some(value) = value {
            self.0.insert(name.to_owned(), AttributeValue::Text(value));
        }
    }

    pub(crate) fn list(&mut self, name: &str, values: Vec<String>) {
        if !values.is_empty() {
            self.0.insert(name.to_owned(), AttributeValue::List(values));
        }
    }

    pub(crate) fn number(&mut self, name: &str, value: Option<f64>) {
        if let Some(value) = value {
            self.0.insert(name.to_owned(), AttributeValue::Number(value));
        }
    }

    pub(crate) fn flag(&mut self, name: &str, value: Option<bool>) {
        if let Some(value) = value {
            self.0.insert(name.to_owned(), AttributeValue::Bool(value));
        }
    }

    pub(crate) fn into_map(self) -> BTreeMap<String, AttributeValue> {
        self.0
    }
}

/// Reads a CSV source (gzip-compressed or plain) into memory, checking that its header has every
/// column in `required_columns`. The report counts the records read and the malformed ones.
pub(crate) fn read_csv_source(
    path: &Path,
    required_columns: &[&str],
    progress: &MultiProgress,
) -> Result<(SourceTable, LoadReport), PipelineError> {
    let Source { bytes: csv_bytes, bar: reading, file_name } = read_source(path, progress)?;
    let mut reader = csv::ReaderBuilder::new().has_headers(true).from_reader(csv_bytes.as_slice());

    let header = match reader.headers() {
        Ok(header) => header,
        Err(error) => {
            reading.abandon_with_message(format!("reading {file_name} failed"));
            return Err(header_error(path, error));
        }
    };
    let mut columns = HashMap::new();
    for (position, name) in header.iter().enumerate() {
        columns.entry(name.trim_start_matches('\u{feff}').trim().to_owned()).or_insert(position);
    }
    if let Some(missing) = required_columns.iter().find(|name| !columns.contains_key(**name)) {
        reading.abandon_with_message(format!("reading {file_name} failed"));
        return Err(PipelineError::MissingColumn { path: path.to_path_buf(), column: (*missing).to_owned() });
    }

    let mut lines = LineCounter::new(&csv_bytes);
    let mut records = Vec::new();
    let mut report = LoadReport::default();
    for result in reader.records() {
        match result {
            Ok(record) => {
                let line = lines.line_at(record.position().map_or(0, csv::Position::byte));
                records.push((line, record));
            }
            Err(error) => {
                let line = lines.line_at(error.position().map_or(0, csv::Position::byte));
                let detail = match error.kind() {
                    csv::ErrorKind::UnequalLengths { expected_len, len, .. } => {
                        format!("{len} fields where the header has {expected_len}")
                    }
                    csv::ErrorKind::Utf8 { .. } => "the record is not valid UTF-8".to_owned(),
                    _ => error.to_string(),
                };
                report.dropped_rows.push(DroppedRow { line, id: None, reason: RowDropReason::MalformedRecord, detail });
            }
        }
    }
    report.rows_read = records.len() + report.dropped_rows.len();
    reading.finish_with_message(format!("read {file_name}: {} rows", report.rows_read));
    Ok((SourceTable { columns, records }, report))
}

/// A header that cannot be read (not UTF-8), as [`PipelineError::Io`] with `InvalidData`.
fn header_error(path: &Path, error: csv::Error) -> PipelineError {
    match error.into_kind() {
        csv::ErrorKind::Io(io_error) => PipelineError::io(path, io_error),
        other => PipelineError::io(
            path,
            std::io::Error::new(std::io::ErrorKind::InvalidData, format!("unreadable CSV header: {other:?}")),
        ),
    }
}

/// Turns byte offsets into 1-based line numbers by counting `\n`. (The `csv` crate's own line
/// numbers skip line breaks inside quoted fields, so they drift after a multi-line field.) Offsets
/// must be asked in increasing order, as records come.
#[derive(Debug)]
struct LineCounter<'a> {
    bytes: &'a [u8],
    offset: usize,
    line: u64,
}

impl<'a> LineCounter<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        LineCounter { bytes, offset: 0, line: 1 }
    }

    /// The line of the record starting at `byte`. The `csv` crate may place a record's start on
    /// the line break that ends the previous one (the `\n` of `\r\n`, or a blank line it skips);
    /// a record never starts with a line break, so those are skipped first.
    fn line_at(&mut self, byte: u64) -> u64 {
        let mut target = usize::try_from(byte).unwrap_or(usize::MAX).min(self.bytes.len());
        while self.bytes.get(target).is_some_and(|byte| matches!(byte, b'\r' | b'\n')) {
            target += 1;
        }
        if target > self.offset {
            self.line += self.bytes[self.offset..target].iter().filter(|byte| **byte == b'\n').count() as u64;
            self.offset = target;
        }
        self.line
    }
}

/// Collects the products of a loader and the rows it drops, in file order, refusing a second
/// product with the same id.
#[derive(Debug)]
pub(crate) struct CatalogBuilder {
    report: LoadReport,
    products: Vec<(u64, Product)>,
    /// Normalised ids of the products kept so far.
    seen_ids: HashSet<String>,
    /// How two ids are compared: two ids with the same normalised form are the same product.
    normalise_id: fn(&str) -> &str,
    progress: ProgressBar,
}

impl CatalogBuilder {
    /// Starts from the reading report; `message` labels the progress bar over the table's rows.
    pub(crate) fn new(
        table: &SourceTable,
        report: LoadReport,
        normalise_id: fn(&str) -> &str,
        progress: &MultiProgress,
        message: &'static str,
    ) -> Self {
        let bar = progress.add(ProgressBar::new(table.len() as u64).with_style(rows_style()).with_message(message));
        CatalogBuilder { report, products: Vec::new(), seen_ids: HashSet::new(), normalise_id, progress: bar }
    }

    /// Keeps the product built from `row`, or records why the row is dropped (its own reason, or
    /// [`RowDropReason::DuplicateId`] when an earlier product has the same id). Returns the kept product.
    pub(crate) fn add(
        &mut self,
        row: &Row<'_>,
        id_column: &str,
        outcome: Result<Product, RowDrop>,
    ) -> Option<&Product> {
        self.progress.inc(1);
        let drop = match outcome {
            Ok(product) if self.seen_ids.insert((self.normalise_id)(product.id.as_str()).to_owned()) => {
                self.products.push((row.line, product));
                return self.products.last().map(|(_, product)| product);
            }
            Ok(product) => RowDrop::new(
                RowDropReason::DuplicateId,
                format!("an earlier row already has the id `{}`", product.id.as_str()),
            ),
            Err(drop) => drop,
        };
        self.report.dropped_rows.push(DroppedRow {
            line: row.line,
            id: row.text(id_column),
            reason: drop.reason,
            detail: drop.detail,
        });
        None
    }

    /// The products and the report, both in file order.
    pub(crate) fn finish(mut self) -> (Vec<Product>, LoadReport) {
        self.products.sort_by_key(|(line, _)| *line);
        self.report.dropped_rows.sort_by_key(|dropped| dropped.line);
        self.report.products = self.products.len();
        debug_assert_eq!(
            self.report.rows_read,
            self.report.products + self.report.rows_dropped(),
            "every row becomes a product or is dropped for one reason"
        );
        self.progress.finish_with_message(format!(
            "built {} products ({} rows dropped)",
            self.report.products,
            self.report.rows_dropped()
        ));
        (self.products.into_iter().map(|(_, product)| product).collect(), self.report)
    }
}

fn rows_style() -> ProgressStyle {
    ProgressStyle::with_template("{msg:32} [{bar:30}] {pos}/{len} rows")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row_of<'a>(columns: &'a HashMap<String, usize>, record: &'a StringRecord) -> Row<'a> {
        Row { line: 2, record, columns }
    }

    #[test]
    fn cells_are_decoded_and_their_whitespace_collapsed() {
        assert_eq!(clean_cell("Galletas &quot;Hogareñas 7 semillas&quot;"), "Galletas \"Hogareñas 7 semillas\"");
        assert_eq!(clean_cell("Pi&#261;tnica Serek"), "Piątnica Serek");
        assert_eq!(clean_cell("Pi&#x105;tnica"), "Piątnica");
        assert_eq!(clean_cell("Quest Lumaflex&trade; Band"), "Quest Lumaflex™ Band");
        assert_eq!(clean_cell("  Jogurt    Brzoskwinia\n  light "), "Jogurt Brzoskwinia light");
        assert_eq!(clean_cell("Hoodies & Sweatshirts"), "Hoodies & Sweatshirts");
        assert_eq!(clean_cell("Tom & Jerry; fun &unknown; &#xZZ; &"), "Tom & Jerry; fun &unknown; &#xZZ; &");
        assert_eq!(clean_cell("a&nbsp;b"), "a b");
    }

    #[test]
    fn slashes_inside_category_levels_become_ampersands() {
        assert_eq!(
            category_levels("Plant-based foods > Fruits/Vegetables"),
            ["Plant-based foods", "Fruits & Vegetables"]
        );
        assert_eq!(category_levels("Drinks >  Beers / Ciders "), ["Drinks", "Beers & Ciders"]);
        assert_eq!(category_levels(""), Vec::<String>::new());
        let levels = category_levels("A/B > C");
        assert!(vitrine_models::CategoryPath::new(&levels).is_ok(), "{levels:?} validates");
    }

    #[test]
    fn cells_are_read_as_numbers_flags_and_lists() {
        let columns: HashMap<String, usize> =
            ["n", "comma", "bad", "whole", "float_whole", "yes", "one", "no", "maybe", "list", "empty"]
                .iter()
                .enumerate()
                .map(|(position, name)| ((*name).to_owned(), position))
                .collect();
        let record = StringRecord::from(vec![
            " 12.5 ",
            "46,7",
            "traces",
            "100",
            "100.0",
            "Yes",
            "1",
            "No",
            "Maybe",
            "Lidl, tegut,,Lidl",
            "",
        ]);
        let row = row_of(&columns, &record);
        assert_eq!(row.number("n"), Ok(Some(12.5)));
        assert_eq!(row.number("comma"), Ok(Some(46.7)));
        assert_eq!(row.number("empty"), Ok(None));
        let error = row.number("bad").expect_err("not a number");
        assert_eq!(error.reason, RowDropReason::UnreadableValue { column: "bad" });
        assert_eq!(row.integer("whole"), Ok(Some(100)));
        assert_eq!(row.integer("float_whole"), Ok(Some(100)));
        assert!(row.integer("n").is_err());
        assert_eq!(row.flag("yes"), Ok(Some(true)));
        assert_eq!(row.flag("one"), Ok(Some(true)));
        assert_eq!(row.flag("no"), Ok(Some(false)));
        assert_eq!(row.flag("empty"), Ok(None));
        assert!(row.flag("maybe").is_err());
        assert_eq!(row.list("list", ','), ["Lidl", "tegut"]);
        assert_eq!(row.text("empty"), None);
    }

    #[test]
    fn infinities_and_nans_are_not_numbers() {
        assert_eq!(parse_number("inf"), None);
        assert_eq!(parse_number("NaN"), None);
        assert_eq!(parse_number("1e3"), Some(1000.0));
    }

    fn hidden() -> MultiProgress {
        MultiProgress::with_draw_target(indicatif::ProgressDrawTarget::hidden())
    }

    #[test]
    fn sources_keep_line_numbers_across_line_breaks_and_drop_malformed_records() {
        let mut csv_bytes =
            b"id,title\r\n1,\"two\nlines\"\r\n2,short,extra\r\n3,\"three\r\nmore\r\nlines\"\r\n".to_vec();
        csv_bytes.extend_from_slice(b"4,caf\xe9\r\n5,last\r\n");
        let directory = tempfile::tempdir().expect("temporary directory");
        let plain = directory.path().join("source.csv");
        std::fs::write(&plain, &csv_bytes).expect("write plain");
        let gzipped = directory.path().join("source.csv.gz");
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut encoder, &csv_bytes).expect("compress");
        std::fs::write(&gzipped, encoder.finish().expect("finish")).expect("write gzip");

        for path in [plain, gzipped] {
            let (table, report) = read_csv_source(&path, &["id", "title"], &hidden()).expect("readable");
            let rows: Vec<(u64, String)> = table.rows().map(|row| (row.line, row.raw("title").to_owned())).collect();
            assert_eq!(
                rows,
                [(2, "two\nlines".to_owned()), (5, "three\r\nmore\r\nlines".to_owned()), (9, "last".to_owned())]
            );
            let malformed: Vec<u64> = report.dropped_rows.iter().map(|dropped| dropped.line).collect();
            assert_eq!(malformed, [4, 8], "{report}");
            assert!(report.dropped_rows.iter().all(|dropped| dropped.reason == RowDropReason::MalformedRecord));
            assert_eq!(report.rows_read, 5);
        }

        let missing = read_csv_source(&directory.path().join("source.csv"), &["id", "sku"], &hidden());
        assert!(matches!(missing, Err(PipelineError::MissingColumn { column, .. }) if column == "sku"));
    }

    #[test]
    fn report_display_counts_each_reason_and_lists_rows() {
        let dropped = |line, reason| DroppedRow { line, id: Some(format!("id{line}")), reason, detail: "why".into() };
        let report = LoadReport {
            rows_read: 10,
            products: 7,
            dropped_rows: vec![
                dropped(3, RowDropReason::MissingTitle),
                dropped(5, RowDropReason::DuplicateId),
                dropped(8, RowDropReason::DuplicateId),
            ],
        };
        assert_eq!(report.dropped(RowDropReason::DuplicateId), 2);
        assert_eq!(report.dropped(RowDropReason::InvalidId), 0);
        assert_eq!(report.rows_read, report.products + report.rows_dropped());
        let table = report.to_string();
        assert!(table.contains("dropped: missing title"), "{table}");
        assert!(table.contains("line 5 (id5): duplicate id: why"), "{table}");
    }
}
