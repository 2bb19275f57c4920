//! Reading the Home Depot relevance dataset: product titles and judged queries.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use super::metrics::GainMap;
use crate::EvalError;

/// The catalogue file of the dataset: `product_uid,title`.
pub const PRODUCTS_FILE: &str = "products.csv";

/// The judgments file of the dataset: `query_id,query,product_uid,relevance`.
pub const JUDGMENTS_FILE: &str = "judgments_dev.csv";

const PRODUCTS_HEADER: &str = "product_uid,title";
const JUDGMENTS_HEADER: &str = "query_id,query,product_uid,relevance";
const GENERIC_JUDGMENTS_HEADER: &str = "query_id,query,product_id,relevance";

/// A query with human relevance judgments.
#[derive(Debug, Clone, PartialEq)]
pub struct JudgedQuery {
    /// The query's id in the dataset.
    pub id: String,
    /// The query as the user typed it (typos included).
    pub text: String,
    /// Product id → relevance on the 1..=3 scale (the mean of the raters' grades).
    pub judgments: HashMap<String, f64>,
}

/// The Home Depot product-search relevance dataset, read from a directory holding
/// [`PRODUCTS_FILE`] and [`JUDGMENTS_FILE`].
#[derive(Debug, Clone, PartialEq)]
pub struct HomeDepot {
    /// `(product_uid, title)` in file order: the catalogue to index.
    pub products: Vec<(String, String)>,
    /// The judged queries, in the order of their first judgment in the file.
    pub queries: Vec<JudgedQuery>,
}

impl HomeDepot {
    /// Reads and checks both files of `dir`.
    ///
    /// Fails on the first problem, naming the file and line: a missing file, a wrong header, a row
    /// with the wrong number of fields, an empty id, a duplicate product or judgment, a relevance
    /// that is not a number in 1..=3, a judgment of a product that is not in the catalogue, or a
    /// query id used with two different texts.
    pub fn load(dir: &Path) -> Result<HomeDepot, EvalError> {
        let products_path = dir.join(PRODUCTS_FILE);
        let products = read_products(&products_path)?;
        let product_ids: HashSet<&str> = products.iter().map(|(uid, _)| uid.as_str()).collect();
        let queries = read_judgments(&dir.join(JUDGMENTS_FILE), |uid| product_ids.contains(uid))?;
        Ok(HomeDepot { products, queries })
    }
}

fn open(path: &Path) -> Result<File, EvalError> {
    File::open(path).map_err(|source| EvalError::Io { path: path.to_path_buf(), source })
}

/// Starts reading CSV text (named `path` in errors) and checks its header.
fn open_csv<R: Read>(input: R, path: &Path, expected_header: &'static str) -> Result<csv::Reader<R>, EvalError> {
    let mut reader = csv::ReaderBuilder::new().has_headers(true).from_reader(input);
    let header = reader.headers().map_err(|error| csv_error(path, error, 1))?;
    let found = header.iter().collect::<Vec<_>>().join(",");
    if found != expected_header {
        return Err(EvalError::BadHeader { path: path.to_path_buf(), expected: expected_header, found });
    }
    Ok(reader)
}

/// Turns a CSV error into an [`EvalError`]; `fallback_line` is used when the error has no position.
fn csv_error(path: &Path, error: csv::Error, fallback_line: u64) -> EvalError {
    let line = error.position().map_or(fallback_line, csv::Position::line);
    match error.into_kind() {
        csv::ErrorKind::Io(source) => EvalError::Io { path: path.to_path_buf(), source },
        csv::ErrorKind::UnequalLengths { expected_len, len, .. } => {
            bad_row(path, line, format!("{len} fields; expected {expected_len}"))
        }
        csv::ErrorKind::Utf8 { .. } => bad_row(path, line, "not valid UTF-8".to_string()),
        other => bad_row(path, line, format!("{other:?}")),
    }
}

fn bad_row(path: &Path, line: u64, reason: String) -> EvalError {
    EvalError::BadRow { path: path.to_path_buf(), line, reason }
}

/// The rows of CSV text (named `path` in errors) after its header, each with its line number.
fn rows<R: Read>(
    input: R,
    path: &Path,
    expected_header: &'static str,
) -> Result<impl Iterator<Item = Result<(u64, csv::StringRecord), EvalError>>, EvalError> {
    let reader = open_csv(input, path, expected_header)?;
    let path: PathBuf = path.to_path_buf();
    let mut last_line = 1;
    Ok(reader.into_records().map(move |record| {
        let record = record.map_err(|error| csv_error(&path, error, last_line + 1))?;
        last_line = record.position().map_or(last_line + 1, csv::Position::line);
        Ok((last_line, record))
    }))
}

/// `(product_uid, title)` of every product.
fn read_products(path: &Path) -> Result<Vec<(String, String)>, EvalError> {
    let mut products = Vec::new();
    let mut first_line: HashMap<String, u64> = HashMap::new();
    for row in rows(open(path)?, path, PRODUCTS_HEADER)? {
        let (line, record) = row?;
        let uid = record[0].trim();
        if uid.is_empty() {
            return Err(bad_row(path, line, "empty product_uid".to_string()));
        }
        if let Some(first) = first_line.insert(uid.to_string(), line) {
            return Err(bad_row(path, line, format!("product_uid {uid} already appears on line {first}")));
        }
        products.push((uid.to_string(), record[1].to_string()));
    }
    if products.is_empty() {
        return Err(EvalError::Empty { path: path.to_path_buf() });
    }
    Ok(products)
}

/// Judgments of any catalogue: a CSV `query_id,query,product_id,relevance` (`product_uid` is
/// accepted for the product column), read with the same checks as the Home Depot file, each grade
/// turned into its gain by `gains`. Judged products the catalogue does not have (`is_product`
/// false) are left out and counted: the second value.
///
/// The grades in the returned queries are `gain + 1`, so that the metrics (gain = grade − 1;
/// relevant for Recall and MRR = grade ≥ [`DEFAULT_RELEVANCE_THRESHOLD`](super::metrics::DEFAULT_RELEVANCE_THRESHOLD))
/// see the mapped gains; with the default mapping this is the grade itself.
pub fn read_judgments_csv(
    path: &Path,
    gains: &GainMap,
    is_product: impl Fn(&str) -> bool,
) -> Result<(Vec<JudgedQuery>, usize), EvalError> {
    let text = std::fs::read(path).map_err(|source| EvalError::Io { path: path.to_path_buf(), source })?;
    parse_judgments_csv(&text, path, gains, is_product)
}

/// [`read_judgments_csv`] of CSV text already in memory (an upload); `name` names it in errors.
pub fn parse_judgments_csv(
    text: &[u8],
    name: &Path,
    gains: &GainMap,
    is_product: impl Fn(&str) -> bool,
) -> Result<(Vec<JudgedQuery>, usize), EvalError> {
    let header = {
        let mut reader = csv::ReaderBuilder::new().has_headers(true).from_reader(text);
        reader.headers().map_err(|error| csv_error(name, error, 1))?.iter().collect::<Vec<_>>().join(",")
    };
    // Home Depot's header is accepted as it is; any other is held to the generic one.
    let expected = if header == JUDGMENTS_HEADER { JUDGMENTS_HEADER } else { GENERIC_JUDGMENTS_HEADER };
    let mut unknown = 0;
    let read = read_judgment_rows(
        text,
        name,
        expected,
        |uid| {
            let known = is_product(uid);
            unknown += usize::from(!known);
            Ok(known)
        },
        |field| gains.parse_grade(field),
    );
    let mut queries = match read {
        // Rows there were, but none of a product of the catalogue: the caller says so.
        Err(EvalError::Empty { .. }) if unknown > 0 => Vec::new(),
        other => other?,
    };
    for query in &mut queries {
        for grade in query.judgments.values_mut() {
            *grade = gains.gain(*grade) + 1.0;
        }
    }
    queries.retain(|query| !query.judgments.is_empty());
    Ok((queries, unknown))
}

/// The judged queries, in order of first appearance.
fn read_judgments(path: &Path, is_product: impl Fn(&str) -> bool) -> Result<Vec<JudgedQuery>, EvalError> {
    read_judgment_rows(
        open(path)?,
        path,
        JUDGMENTS_HEADER,
        |uid| {
            if is_product(uid) { Ok(true) } else { Err(format!("product_uid {uid:?} is not in {PRODUCTS_FILE}")) }
        },
        parse_relevance,
    )
}

/// The rows of a judgments file: `keep` decides on each product (an error stops the reading),
/// `grade` parses each relevance.
fn read_judgment_rows<R: Read>(
    input: R,
    path: &Path,
    header: &'static str,
    mut keep: impl FnMut(&str) -> Result<bool, String>,
    grade: impl Fn(&str) -> Result<f64, String>,
) -> Result<Vec<JudgedQuery>, EvalError> {
    let mut queries: Vec<JudgedQuery> = Vec::new();
    let mut position_of: HashMap<String, usize> = HashMap::new();
    for row in rows(input, path, header)? {
        let (line, record) = row?;
        let (query_id, text, uid) = (record[0].trim(), &record[1], record[2].trim());
        if query_id.is_empty() {
            return Err(bad_row(path, line, "empty query_id".to_string()));
        }
        let relevance = grade(&record[3]).map_err(|reason| bad_row(path, line, reason))?;
        if !keep(uid).map_err(|reason| bad_row(path, line, reason))? {
            continue;
        }

        let position = *position_of.entry(query_id.to_string()).or_insert_with(|| {
            queries.push(JudgedQuery { id: query_id.to_string(), text: text.to_string(), judgments: HashMap::new() });
            queries.len() - 1
        });
        let query = &mut queries[position];
        if query.text != text {
            return Err(bad_row(
                path,
                line,
                format!("query_id {query_id} is {text:?} here but {:?} on an earlier line", query.text),
            ));
        }
        match query.judgments.entry(uid.to_string()) {
            Entry::Occupied(_) => {
                return Err(bad_row(path, line, format!("query {query_id} judges product {uid} a second time")));
            }
            Entry::Vacant(slot) => {
                slot.insert(relevance);
            }
        }
    }
    if queries.is_empty() {
        return Err(EvalError::Empty { path: path.to_path_buf() });
    }
    Ok(queries)
}

/// A relevance grade: a finite number in 1..=3.
fn parse_relevance(field: &str) -> Result<f64, String> {
    let relevance: f64 = field.trim().parse().map_err(|_| format!("relevance {field:?} is not a number"))?;
    if !(1.0..=3.0).contains(&relevance) {
        return Err(format!("relevance {field} is outside 1..=3"));
    }
    Ok(relevance)
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;

    const PRODUCTS: &str = "product_uid,title\n\
        1,Cordless Drill 18V\n\
        2,\"Deck Stain, Cedar, 1 gal.\"\n\
        3,Garden Hose 50 ft.\n";

    const JUDGMENTS: &str = "query_id,query,product_uid,relevance\n\
        10,cordless drill,1,3\n\
        20,deck stain,2,2.67\n\
        10,cordless drill,3,1\n\
        20,deck stain,1,1.33\n";

    fn dataset(products: &str, judgments: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("a temporary directory");
        fs::write(dir.path().join(PRODUCTS_FILE), products).expect("write products");
        fs::write(dir.path().join(JUDGMENTS_FILE), judgments).expect("write judgments");
        dir
    }

    fn load_error(products: &str, judgments: &str) -> EvalError {
        let dir = dataset(products, judgments);
        HomeDepot::load(dir.path()).expect_err("the dataset is broken")
    }

    #[test]
    fn loads_products_and_groups_judgments_by_query() {
        let dir = dataset(PRODUCTS, JUDGMENTS);
        let home_depot = HomeDepot::load(dir.path()).expect("a valid dataset");
        assert_eq!(
            home_depot.products,
            [
                ("1".to_string(), "Cordless Drill 18V".to_string()),
                ("2".to_string(), "Deck Stain, Cedar, 1 gal.".to_string()),
                ("3".to_string(), "Garden Hose 50 ft.".to_string()),
            ]
        );
        let queries: Vec<(&str, &str, usize)> =
            home_depot.queries.iter().map(|q| (q.id.as_str(), q.text.as_str(), q.judgments.len())).collect();
        assert_eq!(queries, [("10", "cordless drill", 2), ("20", "deck stain", 2)]);
        assert_eq!(home_depot.queries[0].judgments["1"], 3.0);
        assert_eq!(home_depot.queries[0].judgments["3"], 1.0);
        assert_eq!(home_depot.queries[1].judgments["2"], 2.67);
    }

    #[test]
    fn a_missing_file_is_named() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        fs::write(dir.path().join(PRODUCTS_FILE), PRODUCTS).expect("write products");
        let error = HomeDepot::load(dir.path()).expect_err("no judgments file");
        let EvalError::Io { path, source } = &error else { panic!("{error:?}") };
        assert_eq!(path, &dir.path().join(JUDGMENTS_FILE));
        assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
        assert!(error.to_string().contains("judgments_dev.csv"), "{error}");
    }

    #[test]
    fn a_wrong_header_is_refused() {
        let error = load_error("uid,name\n1,Drill\n", JUDGMENTS);
        assert!(matches!(&error, EvalError::BadHeader { found, .. } if found == "uid,name"), "{error:?}");
    }

    fn assert_bad_row(error: &EvalError, file: &str, expected_line: u64, reason_part: &str) {
        let EvalError::BadRow { path, line, reason } = error else { panic!("{error:?}") };
        assert!(path.ends_with(file), "{path:?}");
        assert_eq!(*line, expected_line, "{error}");
        assert!(reason.contains(reason_part), "{reason:?} lacks {reason_part:?}");
    }

    #[test]
    fn bad_rows_are_reported_with_their_line() {
        let judgments = |row: &str| format!("query_id,query,product_uid,relevance\n10,cordless drill,1,3\n{row}\n");
        let cases = [
            ("20,deck stain,2,high", "is not a number"),
            ("20,deck stain,2,4", "outside 1..=3"),
            ("20,deck stain,2,0.5", "outside 1..=3"),
            ("20,deck stain,2,NaN", "outside 1..=3"),
            ("20,deck stain,99,3", "not in products.csv"),
            (",deck stain,2,3", "empty query_id"),
            ("20,deck stain,2", "3 fields; expected 4"),
            ("10,cordless drills,2,3", "earlier line"),
            ("10,cordless drill,1,2", "a second time"),
        ];
        for (row, reason) in cases {
            assert_bad_row(&load_error(PRODUCTS, &judgments(row)), JUDGMENTS_FILE, 3, reason);
        }
        assert_bad_row(&load_error("product_uid,title\n1,Drill\n1,Saw\n", JUDGMENTS), PRODUCTS_FILE, 3, "line 2");
        assert_bad_row(&load_error("product_uid,title\n1,Drill\n,Saw\n", JUDGMENTS), PRODUCTS_FILE, 3, "empty");
    }

    #[test]
    fn line_numbers_count_physical_lines_of_quoted_fields() {
        let products = "product_uid,title\n1,\"Drill\nwith a newline\"\n2,Saw,extra\n";
        assert_bad_row(&load_error(products, JUDGMENTS), PRODUCTS_FILE, 4, "3 fields; expected 2");
    }

    #[test]
    fn files_without_rows_are_refused() {
        let error = load_error(PRODUCTS, "query_id,query,product_uid,relevance\n");
        assert!(matches!(&error, EvalError::Empty { path } if path.ends_with(JUDGMENTS_FILE)), "{error:?}");
    }
}
