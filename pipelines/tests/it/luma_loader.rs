//! The Luma loader on a 21-row excerpt of the real Magento Luma file, and on the whole committed file.
//!
//! The excerpt (`tests/fixtures/luma_excerpt.csv`) copies 18 real rows of `products.csv` in file
//! order: the configurable `MSH02` (Apollo Running Short) with all four of its variants, listed
//! before it; the configurable `MJ10` (`Mars HeatTech&trade; Pullover`, an HTML reference in its
//! name) with two of its variants; two variants of `MH02` **without** their parent (an excerpt
//! artefact that the loader must report); standalone gear — a bag sold at its `special_price`
//! (`24-WB05`), `24-UG02` with `&trade;`, the hidden colour/size item `24-WG081-gray` — and two
//! downloadable videos (one free, neither with a quantity). The gear rows write their flags as `1`.
//!
//! The last three rows are **edited copies** of real rows, each showing one drop rule:
//!
//! | line | copy of | edit | dropped as |
//! |---|---|---|---|
//! | 20 | `24-MB01` (line 12) | none: an exact repeat | duplicate id |
//! | 21 | `24-MG01` | name emptied | missing title |
//! | 22 | `24-MG03` | price written `$54` | unreadable value in `price` |

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use vitrine_models::{AttributeValue, Currency, Money, Product};
use vitrine_pipelines::{LoadReport, RowDropReason, load_luma};

use crate::common::{assert_every_product_revalidates, fixture, list, product, silent_progress, text};

fn excerpt_path() -> PathBuf {
    fixture("luma_excerpt.csv")
}

fn load_excerpt() -> (Vec<Product>, LoadReport) {
    load_luma(&excerpt_path(), &silent_progress()).expect("the excerpt loads")
}

fn usd(cents: i64) -> Option<Money> {
    Some(Money::from_minor_units(cents, Currency::USD))
}

#[test]
fn excerpt_rows_become_products_or_are_dropped_for_one_reason() {
    let (products, report) = load_excerpt();

    assert_eq!(report.rows_read, 21);
    assert_eq!(report.products, 16);
    assert_eq!(products.len(), 16);
    let expected: BTreeMap<RowDropReason, usize> = [
        (RowDropReason::MissingTitle, 1),
        (RowDropReason::UnreadableValue { column: "price" }, 1),
        (RowDropReason::UnknownParent, 2),
        (RowDropReason::DuplicateId, 1),
    ]
    .into();
    assert_eq!(report.dropped_per_reason(), expected);

    let dropped: Vec<(u64, Option<&str>, RowDropReason)> =
        report.dropped_rows.iter().map(|row| (row.line, row.id.as_deref(), row.reason)).collect();
    assert_eq!(
        dropped,
        [
            (2, Some("MH02-XS-Black"), RowDropReason::UnknownParent),
            (3, Some("MH02-XS-Purple"), RowDropReason::UnknownParent),
            (20, Some("24-MB01"), RowDropReason::DuplicateId),
            (21, Some("24-MG01"), RowDropReason::MissingTitle),
            (22, Some("24-MG03"), RowDropReason::UnreadableValue { column: "price" }),
        ]
    );
    assert!(report.dropped_rows[0].detail.contains("MH02"), "{:?}", report.dropped_rows[0]);
    assert!(report.to_string().contains("variant of an unknown parent"), "{report}");
}

#[test]
fn variants_link_to_their_parent_and_carry_its_title() {
    let (products, _) = load_excerpt();
    let parent = product(&products, "MSH02");
    assert_eq!(parent.parent_id, None);
    assert_eq!(parent.title, "Apollo Running Short");
    assert_eq!(parent.stock, None, "a configurable parent's stock is its variants'");
    assert_eq!(parent.attributes["product_type"], text("configurable"));
    assert_eq!(parent.attributes["visible_in_search"], AttributeValue::Bool(true));
    assert!(!parent.attributes.contains_key("variant_name"));

    let variants: Vec<&Product> = products
        .iter()
        .filter(|product| product.parent_id.as_ref().is_some_and(|parent_id| parent_id.as_str() == "MSH02"))
        .collect();
    let variant_ids: Vec<&str> = variants.iter().map(|variant| variant.id.as_str()).collect();
    assert_eq!(variant_ids, ["MSH02-32-Black", "MSH02-33-Black", "MSH02-34-Black", "MSH02-36-Black"]);
    for variant in &variants {
        assert_eq!(variant.title, parent.title);
        assert_eq!(variant.category, parent.category);
        assert_eq!(variant.price, usd(3250));
        assert_eq!(variant.stock, Some(100));
        assert_eq!(variant.attributes["visible_in_search"], AttributeValue::Bool(false));
        assert_eq!(variant.attributes["color"], text("Black"));
    }
    let first = variants[0];
    assert_eq!(first.attributes["variant_name"], text("Apollo Running Short-32-Black"));
    assert_eq!(first.attributes["size"], text("32"));
    assert_eq!(first.attributes["material"], list(&["Polyester", "Rayon"]));
    assert_eq!(first.attributes["eco_collection"], AttributeValue::Bool(false));
    assert_eq!(first.category.levels(), ["Men", "Bottoms", "Shorts"]);
    assert!(first.description.as_deref().is_some_and(|text| text.starts_with("Fleet of foot")), "{first:?}");
}

#[test]
fn names_are_decoded_for_parents_and_variants() {
    let (products, _) = load_excerpt();
    let pullover = product(&products, "MJ10");
    assert_eq!(pullover.title, "Mars HeatTech™ Pullover");
    assert_eq!(pullover.signals.rating, Some(3.5));
    assert_eq!(pullover.signals.rating_count, 2);
    assert_eq!(pullover.attributes["style"], list(&["Lightweight", "Rain Coat", "Hard Shell", "Windbreaker", "¼ zip"]));

    let variant = product(&products, "MJ10-XS-Orange");
    assert_eq!(variant.title, "Mars HeatTech™ Pullover");
    assert_eq!(variant.parent_id.as_ref().map(|id| id.as_str()), Some("MJ10"));
    assert_eq!(variant.attributes["variant_name"], text("Mars HeatTech™ Pullover-XS-Orange"));
    assert_eq!(product(&products, "24-UG02").title, "Pursuit Lumaflex™ Tone Band");
}

#[test]
fn standalone_gear_and_videos_map_prices_stock_flags_and_collections() {
    let (products, _) = load_excerpt();

    let tote = product(&products, "24-WB05");
    assert_eq!(tote.parent_id, None);
    assert_eq!(tote.title, "Savvy Shoulder Tote");
    assert_eq!(tote.price, usd(2400), "special_price 24 wins over price 32");
    assert_eq!(tote.stock, Some(100));
    assert_eq!(tote.brand, None, "Luma has no brand");
    assert_eq!(tote.category.levels(), ["Gear", "Bags"]);
    assert_eq!(tote.attributes["sale"], AttributeValue::Bool(true), "the gear files write flags as 1");
    assert_eq!(tote.attributes["erin_recommends"], AttributeValue::Bool(true));
    assert!(!tote.attributes.contains_key("new"), "an empty flag adds no attribute");
    assert_eq!(tote.attributes["collections"], list(&["Collections > Erin Recommends"]));
    assert_eq!(tote.signals.rating, Some(4.0));
    assert_eq!(tote.signals.rating_count, 2);

    let ball = product(&products, "24-WG081-gray");
    assert_eq!(ball.parent_id, None);
    assert_eq!(ball.attributes["visible_in_search"], AttributeValue::Bool(false));
    assert_eq!(ball.attributes["size"], text("55 cm"));
    assert_eq!(ball.attributes["color"], text("Gray"));
    assert_eq!(ball.signals.rating, None);

    let free_video = product(&products, "240-LV09");
    assert_eq!(free_video.price, usd(0));
    assert_eq!(free_video.stock, None, "a download has no quantity");
    assert_eq!(free_video.attributes["format"], list(&["Download"]));
    assert_eq!(free_video.attributes["product_type"], text("downloadable"));
    assert_eq!(free_video.category.levels(), ["Training", "Video Download"]);
}

#[test]
fn products_come_in_file_order_even_when_variants_precede_their_parent() {
    let (products, _) = load_excerpt();
    let ids: Vec<&str> = products.iter().map(|product| product.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "MJ10-XS-Black",
            "MJ10-XS-Orange",
            "MJ10",
            "MSH02-32-Black",
            "MSH02-33-Black",
            "MSH02-34-Black",
            "MSH02-36-Black",
            "MSH02",
            "24-MB01",
            "24-WB05",
            "24-UG02",
            "24-WG081-gray",
            "24-MG04",
            "24-WG02",
            "240-LV04",
            "240-LV09",
        ]
    );
}

#[test]
fn every_product_passes_validation_again() {
    let (products, _) = load_excerpt();
    assert_every_product_revalidates(&products);
}

#[test]
fn the_committed_catalog_loads_whole() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/magento-luma/products.csv.gz");
    let started = Instant::now();
    let (products, report) = load_luma(&path, &silent_progress()).expect("the committed file loads");
    println!("loaded {} in {:?}\n{report}", path.display(), started.elapsed());

    assert_eq!(report.rows_read, 2_044);
    assert_eq!(products.len(), 2_044, "every SKU becomes a product");
    assert_eq!(report.rows_dropped(), 0, "{report}");
    let variants = products.iter().filter(|product| product.parent_id.is_some()).count();
    assert_eq!(variants, 1_847);
    let listed = products
        .iter()
        .filter(|product| product.attributes.get("visible_in_search") == Some(&AttributeValue::Bool(true)));
    assert_eq!(listed.count(), 185);
    assert!(products.iter().all(|product| product.price.is_some_and(|price| price.currency == Currency::USD)));
}
