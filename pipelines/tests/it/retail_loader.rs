//! The demo-shop loader on a 49-line excerpt of the real Online Retail II file.
//!
//! The excerpt (`tests/fixtures/online_retail_excerpt.csv`) copies real lines, in file order, chosen
//! so that every kind of dirt appears: 5 cancellations (among them a cancelled discount, a cancelled
//! bank charge and a duplicated cancelled line), 3 returns/adjustments with negative quantity, 13
//! non-product codes (POST, DOT, C2, M, m, S, B, BANK CHARGES, AMAZONFEE, ADJUST, TEST001, PADS, a gift
//! voucher), 2 lines without description, 3 at price zero, 1 exact duplicate, guest purchases, a
//! lower-case stock code (`85123a`), a code with a trailing space (`47503J `) and codes with two
//! spellings of their description.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use flate2::Compression;
use flate2::write::GzEncoder;
use polars::prelude::*;
use vitrine_models::{Actor, Currency, InteractionKind, Money, UserId};
use vitrine_pipelines::{
    CleaningReport, DropReason, PipelineError, RetailShop, catalog_columns, catalog_products, interaction_columns,
    interaction_records, load_online_retail, read_parquet, write_parquet,
};

use crate::common::{fixture, silent_progress};

fn excerpt_path() -> PathBuf {
    fixture("online_retail_excerpt.csv")
}

fn load_excerpt() -> RetailShop {
    load_online_retail(&excerpt_path(), &silent_progress()).expect("the excerpt loads")
}

/// The catalog row of one product, as a one-row frame.
fn catalog_row(shop: &RetailShop, product_id: &str) -> DataFrame {
    let row = shop
        .catalog
        .clone()
        .lazy()
        .filter(col(catalog_columns::PRODUCT_ID).eq(lit(product_id)))
        .collect()
        .expect("filter runs");
    assert_eq!(row.height(), 1, "exactly one catalog row for {product_id}");
    row
}

fn string_at(frame: &DataFrame, column: &str) -> String {
    frame.column(column).expect("column exists").str().expect("string column").get(0).expect("not null").to_owned()
}

fn f64_at(frame: &DataFrame, column: &str) -> f64 {
    frame.column(column).expect("column exists").f64().expect("f64 column").get(0).expect("not null")
}

fn u32_at(frame: &DataFrame, column: &str) -> u32 {
    frame.column(column).expect("column exists").u32().expect("u32 column").get(0).expect("not null")
}

fn i64_at(frame: &DataFrame, column: &str) -> i64 {
    frame.column(column).expect("column exists").i64().expect("i64 column").get(0).expect("not null")
}

/// A naive datetime column's first value, in microseconds since the epoch.
fn micros_at(frame: &DataFrame, column: &str) -> i64 {
    let values = frame
        .column(column)
        .expect("column exists")
        .cast(&DataType::Int64)
        .expect("datetime casts to its physical value");
    values.i64().expect("i64").get(0).expect("not null")
}

fn micros(year: i32, month: u32, day: u32, hour: u32, minute: u32) -> i64 {
    NaiveDate::from_ymd_opt(year, month, day)
        .and_then(|date| date.and_hms_opt(hour, minute, 0))
        .expect("valid date")
        .and_utc()
        .timestamp_micros()
}

#[test]
fn cleaning_counts_each_dropped_line_under_its_first_reason() {
    let shop = load_excerpt();

    assert_eq!(
        shop.report,
        CleaningReport {
            rows_read: 49,
            cancellations: 5,
            non_positive_quantities: 3,
            non_product_stock_codes: 13,
            missing_descriptions: 2,
            non_positive_prices: 3,
            duplicate_lines: 1,
            rows_kept: 22,
            kept_without_customer: 4,
        }
    );
    assert_eq!(shop.report.rows_dropped(), 27);
    assert_eq!(shop.report.dropped(DropReason::DuplicateLine), 1);
    assert_eq!(shop.report.kept_with_customer(), 18);
}

#[test]
fn catalog_has_one_row_per_normalised_stock_code() {
    let shop = load_excerpt();

    let product_ids: Vec<&str> = shop
        .catalog
        .column(catalog_columns::PRODUCT_ID)
        .expect("column exists")
        .str()
        .expect("string column")
        .iter()
        .map(|product_id| product_id.expect("not null"))
        .collect();
    // Sorted; `85123a` merged into `85123A`; `47503J ` trimmed; DCGS and SP codes are products.
    assert_eq!(
        product_ids,
        [
            "21232", "21523", "21871", "21912", "21913", "22041", "22064", "22686", "22878", "47503J", "79323P",
            "79323W", "85048", "85123A", "DCGS0058", "SP1002",
        ]
    );
    assert_eq!(
        shop.catalog.get_column_names(),
        [
            catalog_columns::PRODUCT_ID,
            catalog_columns::TITLE,
            catalog_columns::PRICE,
            catalog_columns::POPULARITY,
            catalog_columns::UNITS_SOLD,
            catalog_columns::FIRST_SOLD,
            catalog_columns::CUSTOMERS,
        ]
    );
}

#[test]
fn catalog_figures_merge_spellings_of_one_code() {
    let shop = load_excerpt();

    // Lines: 489442 (6 @ 2.95, 13635), 489446 (32 @ 2.55, 13758), 489597 (3 @ 6.04, guest),
    // 511508 as `85123a` (4 @ 5.91, guest). The return line 489467 (-192) is dropped.
    let hanging_heart = catalog_row(&shop, "85123A");
    assert_eq!(string_at(&hanging_heart, catalog_columns::TITLE), "WHITE HANGING HEART T-LIGHT HOLDER");
    let median_price = f64_at(&hanging_heart, catalog_columns::PRICE);
    assert!((median_price - 4.43).abs() < 1e-9, "median of 2.55, 2.95, 5.91, 6.04 is 4.43, got {median_price}");
    assert_eq!(u32_at(&hanging_heart, catalog_columns::POPULARITY), 4);
    assert_eq!(i64_at(&hanging_heart, catalog_columns::UNITS_SOLD), 45);
    assert_eq!(u32_at(&hanging_heart, catalog_columns::CUSTOMERS), 2);
    assert_eq!(micros_at(&hanging_heart, catalog_columns::FIRST_SOLD), micros(2009, 12, 1, 9, 46));
}

#[test]
fn catalog_title_is_the_most_common_trimmed_description() {
    let shop = load_excerpt();

    // Two lines say "…, No", one says "… No" (the zero-price line saying "… No" is dropped).
    let door_sign = catalog_row(&shop, "22686");
    assert_eq!(string_at(&door_sign, catalog_columns::TITLE), "FRENCH BLUE METAL DOOR SIGN, No");
    assert_eq!(f64_at(&door_sign, catalog_columns::PRICE), 1.25);
    assert_eq!(u32_at(&door_sign, catalog_columns::POPULARITY), 3);
    assert_eq!(i64_at(&door_sign, catalog_columns::UNITS_SOLD), 26);

    // Leading space in the file: " WHITE CHERRY LIGHTS".
    let cherry_lights = catalog_row(&shop, "79323W");
    assert_eq!(string_at(&cherry_lights, catalog_columns::TITLE), "WHITE CHERRY LIGHTS");
}

#[test]
fn catalog_title_ties_go_to_the_alphabetically_first_spelling() {
    let shop = load_excerpt();

    // One line each: "NUMBER TILE COTTAGE GARDEN, No" and "NUMBER TILE COTTAGE GARDEN No";
    // ' ' sorts before ','. The cancelled line C536820 does not count.
    let number_tile = catalog_row(&shop, "22878");
    assert_eq!(string_at(&number_tile, catalog_columns::TITLE), "NUMBER TILE COTTAGE GARDEN No");
    assert_eq!(f64_at(&number_tile, catalog_columns::PRICE), 2.1);
    assert_eq!(u32_at(&number_tile, catalog_columns::POPULARITY), 2);
    assert_eq!(u32_at(&number_tile, catalog_columns::CUSTOMERS), 2);
}

#[test]
fn interactions_are_the_kept_lines_with_a_customer() {
    let shop = load_excerpt();
    let interactions = &shop.interactions;

    assert_eq!(interactions.height(), 18);
    assert_eq!(
        interactions.get_column_names(),
        [
            interaction_columns::USER_ID,
            interaction_columns::PRODUCT_ID,
            interaction_columns::INVOICE,
            interaction_columns::QUANTITY,
            interaction_columns::TIMESTAMP,
            interaction_columns::PRICE,
        ]
    );
    let schema = interactions.schema();
    assert_eq!(
        schema.get(interaction_columns::TIMESTAMP),
        Some(&DataType::Datetime(TimeUnit::Microseconds, None)),
        "naive UK local time"
    );
    assert_eq!(schema.get(interaction_columns::QUANTITY), Some(&DataType::UInt32));
    assert_eq!(interactions.column(interaction_columns::USER_ID).expect("column exists").null_count(), 0);

    // File order: the first line of the file comes first, times untouched.
    assert_eq!(string_at(interactions, interaction_columns::USER_ID), "13085");
    assert_eq!(string_at(interactions, interaction_columns::PRODUCT_ID), "85048");
    assert_eq!(string_at(interactions, interaction_columns::INVOICE), "489434");
    assert_eq!(u32_at(interactions, interaction_columns::QUANTITY), 12);
    assert_eq!(f64_at(interactions, interaction_columns::PRICE), 6.95);
    assert_eq!(micros_at(interactions, interaction_columns::TIMESTAMP), micros(2009, 12, 1, 7, 45));

    // The duplicated line of invoice 489517 appears once.
    let snakes_and_ladders = interactions
        .clone()
        .lazy()
        .filter(col(interaction_columns::PRODUCT_ID).eq(lit("21912")))
        .collect()
        .expect("filter runs");
    assert_eq!(snakes_and_ladders.height(), 1);
}

#[test]
fn gzip_and_plain_csv_give_the_same_shop() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let gzip_path = directory.path().join("excerpt.csv.gz");
    let plain_csv = std::fs::read(excerpt_path()).expect("fixture readable");
    let mut encoder = GzEncoder::new(File::create(&gzip_path).expect("create gzip"), Compression::default());
    encoder.write_all(&plain_csv).expect("compress");
    encoder.finish().expect("finish gzip");

    let from_plain = load_excerpt();
    let from_gzip = load_online_retail(&gzip_path, &silent_progress()).expect("gzip loads");

    assert_eq!(from_gzip.report, from_plain.report);
    assert!(from_gzip.catalog.equals_missing(&from_plain.catalog));
    assert!(from_gzip.interactions.equals_missing(&from_plain.interactions));
}

#[test]
fn a_missing_column_is_named_in_the_error() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let path = directory.path().join("no_price.csv");
    std::fs::write(
        &path,
        "Invoice,StockCode,Description,Quantity,InvoiceDate,Customer ID,Country\n\
         489434,85048,15CM CHRISTMAS GLASS BALL 20 LIGHTS,12,2009-12-01 07:45:00,13085,United Kingdom\n",
    )
    .expect("write csv");

    let error = load_online_retail(&path, &silent_progress()).expect_err("Price is missing");

    assert!(
        matches!(&error, PipelineError::MissingColumn { column, .. } if column == "Price"),
        "unexpected error: {error}"
    );
}

#[test]
fn a_missing_file_is_an_io_error_with_its_path() {
    let path = Path::new("/nonexistent/online_retail.csv.gz");

    let error = load_online_retail(path, &silent_progress()).expect_err("no such file");

    assert!(matches!(&error, PipelineError::Io { path: error_path, .. } if error_path == path));
}

#[test]
fn derived_frames_round_trip_through_parquet() {
    let shop = load_excerpt();
    let directory = tempfile::tempdir().expect("temporary directory");
    let catalog_path = directory.path().join("demo/catalog.parquet");
    let interactions_path = directory.path().join("demo/interactions.parquet");

    write_parquet(&shop.catalog, &catalog_path).expect("write catalog");
    write_parquet(&shop.interactions, &interactions_path).expect("write interactions");

    assert!(read_parquet(&catalog_path).expect("read catalog").equals_missing(&shop.catalog));
    assert!(read_parquet(&interactions_path).expect("read interactions").equals_missing(&shop.interactions));
}

#[test]
fn report_prints_a_table_with_every_reason() {
    let report = load_excerpt().report;

    let table = report.to_string();

    for reason in DropReason::ALL {
        let line = table
            .lines()
            .find(|line| line.contains(reason.label()))
            .unwrap_or_else(|| panic!("no line for {reason:?} in\n{table}"));
        assert!(line.contains(&format!(" {} ", report.dropped(reason))), "{line}");
    }
    assert!(table.contains("49"), "{table}");
}

#[test]
fn catalog_rows_become_validated_products() {
    let shop = load_excerpt();

    let products = catalog_products(&shop.catalog).expect("every catalog row is a valid product");

    assert_eq!(products.len(), 16);
    let hanging_heart =
        products.iter().find(|product| product.id.as_str() == "85123A").expect("85123A is in the catalog");
    assert_eq!(hanging_heart.title, "WHITE HANGING HEART T-LIGHT HOLDER");
    assert_eq!(hanging_heart.price, Some(Money::from_minor_units(443, Currency::GBP)));
    assert_eq!(hanging_heart.signals.popularity, 4.0);
    assert_eq!(
        hanging_heart.created_at.map(|listed| listed.timestamp_micros()),
        Some(micros(2009, 12, 1, 9, 46)),
        "naive UK time labelled UTC, unshifted"
    );
}

#[test]
fn interaction_rows_become_purchases_by_users() {
    let shop = load_excerpt();

    let records = interaction_records(&shop.interactions).expect("every interaction row is valid");

    assert_eq!(records.len(), 18);
    assert!(records.iter().all(|record| record.kind == InteractionKind::Purchase));
    let first = &records[0];
    assert_eq!(first.actor, Actor::User(UserId::new("13085").expect("valid id")));
    assert_eq!(first.product_id.as_str(), "85048");
    assert_eq!(first.quantity, 12);
    assert_eq!(first.timestamp.timestamp_micros(), micros(2009, 12, 1, 7, 45));
}

#[test]
fn conversion_names_the_row_and_column_of_a_null() {
    let shop = load_excerpt();
    let mut interactions = shop.interactions.head(Some(3));
    let user_ids = Series::new(interaction_columns::USER_ID.into(), [Some("13085"), None, Some("13085")]);
    interactions.replace(interaction_columns::USER_ID, user_ids.into()).expect("same length");

    let error = interaction_records(&interactions).expect_err("row 1 has no user");

    assert!(
        matches!(&error, PipelineError::InvalidValue { column, row: 1, .. } if column == interaction_columns::USER_ID),
        "unexpected error: {error}"
    );
}
