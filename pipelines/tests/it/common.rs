//! Helpers shared by the catalog-loader tests.

use std::path::{Path, PathBuf};

use indicatif::{MultiProgress, ProgressDrawTarget};
use vitrine_models::{AttributeValue, Product, ProductDraft};

/// A fixture file under `tests/fixtures/`.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

/// Progress bars that draw nothing.
pub fn silent_progress() -> MultiProgress {
    MultiProgress::with_draw_target(ProgressDrawTarget::hidden())
}

/// The product with this id.
pub fn product<'a>(products: &'a [Product], id: &str) -> &'a Product {
    products.iter().find(|product| product.id.as_str() == id).unwrap_or_else(|| panic!("product {id} exists"))
}

/// A text attribute.
pub fn text(value: &str) -> AttributeValue {
    AttributeValue::Text(value.to_owned())
}

/// A list attribute.
pub fn list(values: &[&str]) -> AttributeValue {
    AttributeValue::List(values.iter().map(|value| (*value).to_owned()).collect())
}

/// Asserts that every loaded product survives a round trip through its wire form and validation.
pub fn assert_every_product_revalidates(products: &[Product]) {
    for product in products {
        let again = Product::try_from(ProductDraft::from(product.clone())).expect("a loaded product re-validates");
        assert_eq!(&again, product);
    }
}
