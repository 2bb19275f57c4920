//! The `grocery` demo catalog: Open Food Facts products (`data/openfoodfacts/products_core.csv.gz`)
//! as validated [`Product`]s.
//!
//! | product field | from the column | how |
//! |---|---|---|
//! | `id` | `code` | the barcode as written (leading zeros kept) |
//! | `title` | `title` | in the product's own language |
//! | `brand` | `brand` | the first of `brands` |
//! | `category` | `category_path` | split on ` > `; `/` inside a level becomes ` & ` |
//! | `description` | `generic_name` | (`ingredients_text` is not used) |
//! | `image_url`, `url` | `image_url`, `url` | |
//! | attribute `nutriscore_grade`, `ecoscore_grade` | same | text; OFF's `unknown` and `not-applicable` are kept |
//! | attribute `nova_group` | same | number |
//! | attributes `labels`, `countries`, `allergens` | `labels_tags`, `countries_tags`, `allergens_tags` | lists of OFF tags without their language prefix: `en:organic` → `organic` |
//! | attribute `stores` | `stores` | list, comma-separated |
//! | attribute `quantity` | `quantity` | text (`500 g`) |
//! | attributes `energy_kcal_100g` … `salt_100g` | same | numbers, per 100 g or 100 ml |
//!
//! Open Food Facts records **no price** and no stock, so products have neither; none is invented.
//! Text cells are cleaned like in every catalog loader (HTML character references
//! decoded, whitespace collapsed).
//!
//! **Rows dropped** (each counted in the [`LoadReport`] with its line): an empty `code`
//! ([`RowDropReason::MissingId`]), a code that is not a barcode of 6 to 14 digits such as the
//! `3.01762E+12` that spreadsheets make of barcodes ([`RowDropReason::InvalidId`]), an empty title,
//! a nutriment or `nova_group` that is not a number, a value the models refuse, and a barcode an
//! earlier product already has. Barcodes are compared without their leading zeros, as Open Food
//! Facts does (`0000010205679` and `10205679` are one product); the first row wins.

use std::path::Path;

use indicatif::MultiProgress;
use vitrine_models::{CategoryInput, Product, ProductDraft};

use crate::PipelineError;
use crate::catalog_csv::{
    Attributes, CatalogBuilder, LoadReport, Row, RowDrop, RowDropReason, category_levels, distinct, read_csv_source,
};

/// Column names of the Open Food Facts CSV that the loader reads.
mod columns {
    pub const CODE: &str = "code";
    pub const TITLE: &str = "title";
    pub const GENERIC_NAME: &str = "generic_name";
    pub const BRAND: &str = "brand";
    pub const CATEGORY_PATH: &str = "category_path";
    pub const NUTRISCORE_GRADE: &str = "nutriscore_grade";
    pub const NOVA_GROUP: &str = "nova_group";
    pub const ECOSCORE_GRADE: &str = "ecoscore_grade";
    pub const LABELS_TAGS: &str = "labels_tags";
    pub const COUNTRIES_TAGS: &str = "countries_tags";
    pub const ALLERGENS_TAGS: &str = "allergens_tags";
    pub const STORES: &str = "stores";
    pub const QUANTITY: &str = "quantity";
    pub const IMAGE_URL: &str = "image_url";
    pub const URL: &str = "url";

    /// Nutriments per 100 g (or 100 ml); each becomes a number attribute of the same name.
    pub const NUTRIMENTS: [&str; 9] = [
        "energy_kcal_100g",
        "energy_kj_100g",
        "fat_100g",
        "saturated_fat_100g",
        "carbohydrates_100g",
        "sugars_100g",
        "fiber_100g",
        "proteins_100g",
        "salt_100g",
    ];

    /// Every column the loader reads: a file without one of them is refused as a whole.
    pub const REQUIRED: [&str; 24] = [
        CODE,
        TITLE,
        GENERIC_NAME,
        BRAND,
        CATEGORY_PATH,
        NUTRISCORE_GRADE,
        NOVA_GROUP,
        ECOSCORE_GRADE,
        LABELS_TAGS,
        COUNTRIES_TAGS,
        ALLERGENS_TAGS,
        STORES,
        QUANTITY,
        IMAGE_URL,
        URL,
        NUTRIMENTS[0],
        NUTRIMENTS[1],
        NUTRIMENTS[2],
        NUTRIMENTS[3],
        NUTRIMENTS[4],
        NUTRIMENTS[5],
        NUTRIMENTS[6],
        NUTRIMENTS[7],
        NUTRIMENTS[8],
    ];
}

/// Shortest and longest barcode accepted (OFF's short internal codes up to GTIN-14).
const BARCODE_DIGITS: std::ops::RangeInclusive<usize> = 6..=14;

/// Loads the Open Food Facts catalog (`.csv.gz` or plain `.csv`) as products, reporting every row
/// it drops and why (see the module docs for the mapping and the rules).
///
/// Progress bars are added to `progress`; pass
/// `MultiProgress::with_draw_target(ProgressDrawTarget::hidden())` to stay silent.
///
/// # Errors
/// [`PipelineError::Io`] if the file cannot be read or decompressed, and
/// [`PipelineError::MissingColumn`] if its header lacks a column the loader reads. Bad rows are
/// not errors: they are dropped and counted in the [`LoadReport`].
pub fn load_grocery(path: &Path, progress: &MultiProgress) -> Result<(Vec<Product>, LoadReport), PipelineError> {
    let (table, report) = read_csv_source(path, &columns::REQUIRED, progress)?;
    let mut catalog = CatalogBuilder::new(&table, report, barcode_without_leading_zeros, progress, "building products");
    for row in table.rows() {
        catalog.add(&row, columns::CODE, grocery_product(&row));
    }
    Ok(catalog.finish())
}

/// One Open Food Facts row as a product.
fn grocery_product(row: &Row<'_>) -> Result<Product, RowDrop> {
    let code = row.text(columns::CODE).ok_or_else(|| RowDrop::new(RowDropReason::MissingId, "`code` is empty"))?;
    if !is_barcode(&code) {
        return Err(RowDrop::new(
            RowDropReason::InvalidId,
            format!("`{code}` is not a barcode of {} to {} digits", BARCODE_DIGITS.start(), BARCODE_DIGITS.end()),
        ));
    }
    let title =
        row.text(columns::TITLE).ok_or_else(|| RowDrop::new(RowDropReason::MissingTitle, "`title` is empty"))?;

    let mut attributes = Attributes::default();
    attributes.text("nutriscore_grade", row.text(columns::NUTRISCORE_GRADE));
    attributes.number("nova_group", row.number(columns::NOVA_GROUP)?);
    attributes.text("ecoscore_grade", row.text(columns::ECOSCORE_GRADE));
    attributes.list("labels", tag_names(row.list(columns::LABELS_TAGS, ',')));
    attributes.list("countries", tag_names(row.list(columns::COUNTRIES_TAGS, ',')));
    attributes.list("allergens", tag_names(row.list(columns::ALLERGENS_TAGS, ',')));
    attributes.list("stores", row.list(columns::STORES, ','));
    attributes.text("quantity", row.text(columns::QUANTITY));
    for nutriment in columns::NUTRIMENTS {
        attributes.number(nutriment, row.number(nutriment)?);
    }

    let category = category_levels(row.raw(columns::CATEGORY_PATH));
    let draft = ProductDraft {
        id: code,
        title,
        description: row.text(columns::GENERIC_NAME),
        brand: row.text(columns::BRAND),
        category: (!category.is_empty()).then_some(CategoryInput::Levels(category)),
        attributes: attributes.into_map(),
        image_url: row.text(columns::IMAGE_URL),
        url: row.text(columns::URL),
        ..ProductDraft::default()
    };
    Ok(Product::try_from(draft)?)
}

fn is_barcode(code: &str) -> bool {
    BARCODE_DIGITS.contains(&code.len()) && code.bytes().all(|byte| byte.is_ascii_digit())
}

/// The barcode as Open Food Facts compares them: without leading zeros.
fn barcode_without_leading_zeros(code: &str) -> &str {
    code.trim_start_matches('0')
}

/// OFF tags without their language prefix (`en:organic` → `organic`, `fr:ab-agriculture-biologique`
/// → `ab-agriculture-biologique`), without repeats.
fn tag_names(tags: Vec<String>) -> Vec<String> {
    distinct(tags.into_iter().map(|tag| without_language_prefix(&tag).to_owned()))
}

/// `en:organic` → `organic`: strips a prefix of two or three lower-case letters and a colon.
fn without_language_prefix(tag: &str) -> &str {
    match tag.split_once(':') {
        Some((language, name))
            if (2..=3).contains(&language.len()) && language.bytes().all(|b| b.is_ascii_lowercase()) =>
        {
            name.trim()
        }
        _ => tag,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn barcodes_are_six_to_fourteen_digits() {
        for good in ["000147", "10205679", "0000000000100", "00012345678905"] {
            assert!(is_barcode(good), "{good}");
        }
        for bad in ["12345", "3.01762E+12", "000000000001000", "12345a", ""] {
            assert!(!is_barcode(bad), "{bad}");
        }
        assert_eq!(barcode_without_leading_zeros("0000010205679"), "10205679");
    }

    #[test]
    fn tags_lose_their_language_prefix() {
        let tags = vec!["en:organic".to_owned(), "fr:organic".to_owned(), "pl:bez-glutenu".to_owned(), "vegan".into()];
        assert_eq!(tag_names(tags), ["organic", "bez-glutenu", "vegan"]);
        assert_eq!(without_language_prefix("https://example.org"), "https://example.org");
    }
}
