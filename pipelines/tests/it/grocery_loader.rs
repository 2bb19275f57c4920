//! The grocery loader on a 26-row excerpt of the real Open Food Facts file, and on the whole
//! committed file.
//!
//! The excerpt (`tests/fixtures/openfoodfacts_excerpt.csv`) copies 21 real rows of
//! `products_core.csv` in file order, chosen for their dirt: HTML references in titles and brands
//! (`&quot;`, `&#261;`), runs of spaces in titles, ingredient lists with line breaks (three rows span
//! several lines), a trailing comma and a URL in `stores`, labels and countries with non-English
//! prefixes, `unknown` and `not-applicable` grades, 6-, 8- and 14-digit barcodes and a 9-level
//! category path.
//!
//! The real file has no row a loader must drop (its build already removed them), so the last five
//! rows are **edited copies** of real rows, each showing one drop rule:
//!
//! | line | copy of | edit | dropped as |
//! |---|---|---|---|
//! | 28 | `3017620422003` | code written `3.01762E+12`, as spreadsheets do | invalid id |
//! | 29 | `0000010205679` (line 6) | the same barcode without leading zeros, `10205679` | duplicate id |
//! | 30 | `148214` | title emptied | missing title |
//! | 31 | `5900531000522` | a BEL control character (U+0007) in the title | refused by the models: `title` |
//! | 32 | `7891079013052` | `fat_100g` = `traces` | unreadable value in `fat_100g` |

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use vitrine_models::{AttributeValue, Product};
use vitrine_pipelines::{LoadReport, PipelineError, RowDropReason, load_grocery};

use crate::common::{assert_every_product_revalidates, fixture, list, product, silent_progress, text};

fn excerpt_path() -> PathBuf {
    fixture("openfoodfacts_excerpt.csv")
}

fn load_excerpt() -> (Vec<Product>, LoadReport) {
    load_grocery(&excerpt_path(), &silent_progress()).expect("the excerpt loads")
}

#[test]
fn excerpt_rows_become_products_or_are_dropped_for_one_reason() {
    let (products, report) = load_excerpt();

    assert_eq!(report.rows_read, 26);
    assert_eq!(report.products, 21);
    assert_eq!(products.len(), 21);
    let expected: BTreeMap<RowDropReason, usize> = [
        (RowDropReason::InvalidId, 1),
        (RowDropReason::MissingTitle, 1),
        (RowDropReason::UnreadableValue { column: "fat_100g" }, 1),
        (RowDropReason::Refused { field: "title" }, 1),
        (RowDropReason::DuplicateId, 1),
    ]
    .into();
    assert_eq!(report.dropped_per_reason(), expected);
    assert_eq!(report.rows_read, report.products + report.rows_dropped());
}

#[test]
fn dropped_rows_name_their_line_id_and_reason() {
    let (_, report) = load_excerpt();
    let dropped: Vec<(u64, Option<&str>, RowDropReason)> =
        report.dropped_rows.iter().map(|row| (row.line, row.id.as_deref(), row.reason)).collect();
    assert_eq!(
        dropped,
        [
            (28, Some("3.01762E+12"), RowDropReason::InvalidId),
            (29, Some("10205679"), RowDropReason::DuplicateId),
            (30, Some("148214"), RowDropReason::MissingTitle),
            (31, Some("5900531000522"), RowDropReason::Refused { field: "title" }),
            (32, Some("7891079013052"), RowDropReason::UnreadableValue { column: "fat_100g" }),
        ]
    );
    assert!(
        report.dropped_rows[3].detail.contains("U+0007"),
        "the models' refusal is kept: {:?}",
        report.dropped_rows[3]
    );
    assert!(report.dropped_rows[4].detail.contains("traces"), "{:?}", report.dropped_rows[4]);

    let table = report.to_string();
    assert!(table.contains("refused by the models: `title`"), "{table}");
    assert!(table.contains("line 29 (10205679): duplicate id"), "{table}");
}

#[test]
fn a_full_row_maps_to_every_field() {
    let (products, _) = load_excerpt();
    let mustard = product(&products, "0000000000100");

    assert_eq!(mustard.title, "moutarde au moût de raisin");
    assert_eq!(mustard.brand.as_deref(), Some("courte paille"));
    assert_eq!(mustard.category.levels(), ["Condiments", "Mustards"]);
    assert_eq!(mustard.description, None, "no generic_name");
    assert_eq!(
        mustard.image_url.as_deref(),
        Some("https://images.openfoodfacts.org/images/products/000/000/000/0100/front.3.400.jpg")
    );
    assert_eq!(mustard.url.as_deref(), Some("https://world.openfoodfacts.org/product/0000000000100"));
    assert_eq!(mustard.price, None, "Open Food Facts has no prices");
    assert_eq!(mustard.stock, None);
    assert_eq!(mustard.parent_id, None);

    let attributes = &mustard.attributes;
    assert_eq!(attributes["nutriscore_grade"], text("d"));
    assert_eq!(attributes["ecoscore_grade"], text("c"));
    assert!(!attributes.contains_key("nova_group"), "empty cells add no attribute");
    assert_eq!(attributes["labels"], list(&["delois-france"]));
    assert_eq!(attributes["countries"], list(&["france"]));
    assert_eq!(attributes["allergens"], list(&["mustard"]));
    assert_eq!(attributes["stores"], list(&["courte paille"]));
    assert_eq!(attributes["quantity"], text("100g"));
    assert_eq!(attributes["energy_kj_100g"], AttributeValue::Number(936.0));
    assert_eq!(attributes["fat_100g"], AttributeValue::Number(8.2));
    assert_eq!(attributes["salt_100g"], AttributeValue::Number(4.6));
    assert!(!attributes.contains_key("energy_kcal_100g"));
}

#[test]
fn tags_lists_and_numbers_are_cleaned() {
    let (products, _) = load_excerpt();

    let rice = product(&products, "20620387");
    assert_eq!(rice.attributes["nova_group"], AttributeValue::Number(1.0));
    assert_eq!(
        rice.attributes["labels"],
        list(&["organic", "eu-organic", "eu-agriculture", "it-bio-007", "made-in-italy"])
    );
    assert_eq!(rice.attributes["countries"], list(&["belgium", "france", "poland", "spain", "switzerland"]));
    assert_eq!(rice.description.as_deref(), Some("Arroz integral de grano largo ecológico"));

    let nutella = product(&products, "4008400402222");
    assert_eq!(nutella.attributes["stores"], list(&["Lidl", "tegut"]), "the trailing comma adds no store");
    assert_eq!(nutella.attributes["allergens"], list(&["milk", "nuts", "soybeans"]));

    let russian = product(&products, "2000000133919");
    assert_eq!(russian.attributes["countries"], list(&["russia", "nyl"]), "`ru:` prefixes go too");
    assert_eq!(russian.attributes["nutriscore_grade"], text("unknown"), "OFF's own values are kept");

    let coloring = product(&products, "0000010205679");
    assert_eq!(coloring.attributes["nutriscore_grade"], text("not-applicable"));

    let beans = product(&products, "5901713010322");
    assert_eq!(beans.category.levels().len(), 9);
    assert_eq!(beans.category.levels().last().map(String::as_str), Some("Canned black beans"));
}

#[test]
fn html_references_and_whitespace_runs_are_cleaned() {
    let (products, _) = load_excerpt();
    assert_eq!(product(&products, "10926727").title, "Galletas \"Hogareñas 7 semillas\"");
    assert_eq!(product(&products, "5900531000546").title, "Piątnica Serek Twój Smak Ze Szczypiorkiem");
    assert_eq!(product(&products, "5901529054787").brand.as_deref(), Some("ZPH \"Wojna\""));
    assert_eq!(product(&products, "5900512990095").title, "Jogurt Brzoskwinia");
}

#[test]
fn rows_with_line_breaks_keep_their_place() {
    let (products, _) = load_excerpt();
    let ids: Vec<&str> = products.iter().map(|product| product.id.as_str()).collect();
    // 0751011023853 and 2000000018904 have multi-line ingredient lists; their neighbours are intact.
    let honey = ids.iter().position(|id| *id == "0751011023853").expect("honey loads");
    assert_eq!(ids[honey + 1], "10926727");
    assert_eq!(ids.first(), Some(&"0000000000100"));
    assert_eq!(ids.last(), Some(&"8076809513753"), "products come in file order");
}

#[test]
fn every_product_passes_validation_again() {
    let (products, _) = load_excerpt();
    assert_every_product_revalidates(&products);
}

#[test]
fn a_file_without_a_required_column_is_refused() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let path = directory.path().join("no_code.csv");
    let excerpt = fs::read_to_string(excerpt_path()).expect("excerpt readable");
    fs::write(&path, excerpt.replacen("code,", "barcode,", 1)).expect("write");
    let error = load_grocery(&path, &silent_progress()).expect_err("no `code` column");
    assert!(matches!(error, PipelineError::MissingColumn { ref column, .. } if column == "code"), "{error}");
}

#[test]
fn the_committed_catalog_loads_whole() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/openfoodfacts/products_core.csv.gz");
    let started = Instant::now();
    let (products, report) = load_grocery(&path, &silent_progress()).expect("the committed file loads");
    println!("loaded {} in {:?}\n{report}", path.display(), started.elapsed());

    assert_eq!(report.rows_read, 8_316);
    assert_eq!(products.len(), 8_316);
    assert_eq!(report.rows_dropped(), 0, "{report}");
    assert!(products.iter().all(|product| product.price.is_none() && product.brand.is_some()));
}
