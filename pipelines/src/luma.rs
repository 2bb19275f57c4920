//! The Magento Luma demo catalog (`data/magento-luma/products.csv.gz`) as validated [`Product`]s,
//! variants linked to their parents.
//!
//! Every SKU becomes a product. Configurable parents (`visible_in_search` = 1), gear and
//! downloadable videos have no parent; a variant (a row with `parent_sku`) gets
//! `parent_id = parent_sku` and its **parent's title**, keeping its own name (`Chaz Kangeroo
//! Hoodie-XS-Black`) as the attribute `variant_name`.
//!
//! | product field | from the column | how |
//! |---|---|---|
//! | `id` | `sku` | |
//! | `title` | `name` | the parent's title for a variant |
//! | `description` | `description` | |
//! | `category` | `category_path` | split on ` > ` |
//! | `price` | `special_price`, else `price` | USD |
//! | `stock` | `qty` | none for configurable parents (see below) and for videos (no `qty`) |
//! | `rating`, `rating_count` | `rating_avg`, `review_count` | |
//! | `parent_id` | `parent_sku` | |
//! | attributes `color`, `size`, `product_type` | same | text |
//! | attribute `variant_name` | `name` | variants only |
//! | attributes `material`, `pattern`, `climate`, `style`, `activity`, `gender`, `category_gear`, `features_bags`, `strap_bags`, `format` | same | lists, `\|`-separated |
//! | attributes `eco_collection`, `performance_fabric`, `erin_recommends`, `new`, `sale`, `visible_in_search` | same | booleans (`Yes`/`No`; the gear files write `1`) |
//! | attribute `collections` | `all_category_paths` | the paths other than `category_path`: `Collections > Eco Friendly`, `Promotions > Pants` |
//!
//! **Stock of configurable parents.** Magento keeps a configurable product's own quantity at 0:
//! its stock is its variants'. Read literally, every parent would be out of stock, so parents get
//! no stock (not tracked) and each variant keeps its own.
//!
//! **Not mapped.** The catalog has no brand (everything is the Luma house brand; none is invented).
//! `image` and `url_key` are paths inside a Magento installation whose images are not bundled, so
//! products get no `image_url` or `url`. `parent_name` repeats the parent row's `name`;
//! `weight` and `source_file` are provenance.
//!
//! **Rows dropped** (each counted in the [`LoadReport`] with its line): an empty `sku` or `name`,
//! a price, quantity, rating or flag that cannot be read, a variant whose parent is not in the file
//! (or was itself dropped), a value the models refuse, and a SKU an earlier product already has.
//! Parents are built before variants, so a variant can come before its parent in the file; the
//! products are returned in file order.

use std::collections::HashMap;
use std::path::Path;

use indicatif::MultiProgress;
use vitrine_models::{CategoryInput, Product, ProductDraft};

use crate::PipelineError;
use crate::catalog_csv::{
    Attributes, CatalogBuilder, LoadReport, Row, RowDrop, RowDropReason, category_levels, clean_cell, read_csv_source,
};

/// The currency of the Luma sample store.
const LUMA_CURRENCY: &str = "USD";

/// The `product_type` of a parent whose stock is its variants'.
const CONFIGURABLE: &str = "configurable";

/// Column names of the Luma CSV that the loader reads.
mod columns {
    pub const SKU: &str = "sku";
    pub const PARENT_SKU: &str = "parent_sku";
    pub const PRODUCT_TYPE: &str = "product_type";
    pub const VISIBLE_IN_SEARCH: &str = "visible_in_search";
    pub const NAME: &str = "name";
    pub const DESCRIPTION: &str = "description";
    pub const PRICE: &str = "price";
    pub const SPECIAL_PRICE: &str = "special_price";
    pub const CATEGORY_PATH: &str = "category_path";
    pub const ALL_CATEGORY_PATHS: &str = "all_category_paths";
    pub const COLOR: &str = "color";
    pub const SIZE: &str = "size";
    pub const RATING_AVG: &str = "rating_avg";
    pub const REVIEW_COUNT: &str = "review_count";
    pub const QTY: &str = "qty";

    /// Multi-valued attributes (`|`-separated); each becomes a list attribute of the same name.
    pub const LISTS: [&str; 10] = [
        "material",
        "pattern",
        "climate",
        "style",
        "activity",
        "gender",
        "category_gear",
        "features_bags",
        "strap_bags",
        "format",
    ];

    /// Yes/No columns; each becomes a boolean attribute of the same name.
    pub const FLAGS: [&str; 5] = ["eco_collection", "performance_fabric", "erin_recommends", "new", "sale"];

    /// The single-valued columns the loader reads; with [`LISTS`] and [`FLAGS`], every column it
    /// needs (a file without one of them is refused as a whole).
    pub const SINGLE: [&str; 15] = [
        SKU,
        PARENT_SKU,
        PRODUCT_TYPE,
        VISIBLE_IN_SEARCH,
        NAME,
        DESCRIPTION,
        PRICE,
        SPECIAL_PRICE,
        CATEGORY_PATH,
        ALL_CATEGORY_PATHS,
        COLOR,
        SIZE,
        RATING_AVG,
        REVIEW_COUNT,
        QTY,
    ];
}

/// Loads the Magento Luma catalog (`.csv.gz` or plain `.csv`) as products, variants linked to their
/// parents, reporting every row it drops and why (see the module docs for the mapping and the rules).
///
/// Progress bars are added to `progress`; pass
/// `MultiProgress::with_draw_target(ProgressDrawTarget::hidden())` to stay silent.
///
/// # Errors
/// [`PipelineError::Io`] if the file cannot be read or decompressed, and
/// [`PipelineError::MissingColumn`] if its header lacks a column the loader reads. Bad rows are
/// not errors: they are dropped and counted in the [`LoadReport`].
pub fn load_luma(path: &Path, progress: &MultiProgress) -> Result<(Vec<Product>, LoadReport), PipelineError> {
    let required: Vec<&str> = columns::SINGLE.iter().chain(&columns::LISTS).chain(&columns::FLAGS).copied().collect();
    let (table, report) = read_csv_source(path, &required, progress)?;
    let mut catalog = CatalogBuilder::new(&table, report, |sku| sku, progress, "building products");

    // Parents and standalone products first, so that each variant finds its parent's title.
    let mut parent_titles: HashMap<String, String> = HashMap::new();
    for row in table.rows().filter(|row| !is_variant(row)) {
        if let Some(product) = catalog.add(&row, columns::SKU, luma_product(&row, None)) {
            parent_titles.insert(product.id.as_str().to_owned(), product.title.clone());
        }
    }
    for row in table.rows().filter(is_variant) {
        let parent_sku = row.text(columns::PARENT_SKU).unwrap_or_default();
        let outcome = match parent_titles.get(&parent_sku) {
            Some(parent_title) => luma_product(&row, Some(Parent { sku: &parent_sku, title: parent_title })),
            None => Err(RowDrop::new(
                RowDropReason::UnknownParent,
                format!("no product of this file has the SKU `{parent_sku}`"),
            )),
        };
        catalog.add(&row, columns::SKU, outcome);
    }
    Ok(catalog.finish())
}

fn is_variant(row: &Row<'_>) -> bool {
    row.text(columns::PARENT_SKU).is_some()
}

/// The parent of a variant: a product of the same file.
#[derive(Debug, Clone, Copy)]
struct Parent<'a> {
    sku: &'a str,
    title: &'a str,
}

/// One Luma row as a product; `parent` is given for a variant.
fn luma_product(row: &Row<'_>, parent: Option<Parent<'_>>) -> Result<Product, RowDrop> {
    let sku = row.text(columns::SKU).ok_or_else(|| RowDrop::new(RowDropReason::MissingId, "`sku` is empty"))?;
    let name = row.text(columns::NAME).ok_or_else(|| RowDrop::new(RowDropReason::MissingTitle, "`name` is empty"))?;
    let product_type = row.text(columns::PRODUCT_TYPE);

    let mut attributes = Attributes::default();
    let title = match parent {
        Some(parent) => {
            attributes.text("variant_name", Some(name));
            parent.title.to_owned()
        }
        None => name,
    };
    attributes.text("color", row.text(columns::COLOR));
    attributes.text("size", row.text(columns::SIZE));
    for column in columns::LISTS {
        attributes.list(column, row.list(column, '|'));
    }
    for column in columns::FLAGS {
        attributes.flag(column, row.flag(column)?);
    }
    attributes.flag(columns::VISIBLE_IN_SEARCH, row.flag(columns::VISIBLE_IN_SEARCH)?);
    let primary_path = clean_cell(row.raw(columns::CATEGORY_PATH));
    let collections = row.list(columns::ALL_CATEGORY_PATHS, '|').into_iter().filter(|path| *path != primary_path);
    attributes.list("collections", collections.collect());
    let is_configurable = product_type.as_deref() == Some(CONFIGURABLE);
    attributes.text(columns::PRODUCT_TYPE, product_type);

    let regular_price = row.number(columns::PRICE)?;
    let price = row.number(columns::SPECIAL_PRICE)?.or(regular_price);
    let quantity = row.integer(columns::QTY)?;
    let rating_count = row
        .integer(columns::REVIEW_COUNT)?
        .map(|count| {
            u32::try_from(count).map_err(|_| {
                RowDrop::new(
                    RowDropReason::UnreadableValue { column: columns::REVIEW_COUNT },
                    format!("{count} is not a count of reviews"),
                )
            })
        })
        .transpose()?;

    let category = category_levels(row.raw(columns::CATEGORY_PATH));
    let draft = ProductDraft {
        id: sku,
        title,
        description: row.text(columns::DESCRIPTION),
        category: (!category.is_empty()).then_some(CategoryInput::Levels(category)),
        price,
        currency: price.map(|_| LUMA_CURRENCY.to_owned()),
        attributes: attributes.into_map(),
        stock: if is_configurable { None } else { quantity },
        rating: row.number(columns::RATING_AVG)?,
        rating_count,
        parent_id: parent.map(|parent| parent.sku.to_owned()),
        ..ProductDraft::default()
    };
    Ok(Product::try_from(draft)?)
}
