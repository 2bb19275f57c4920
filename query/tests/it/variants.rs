//! Variant collapsing on the bundled Magento Luma catalog (size × colour variants of configurable
//! parents): one result per family, the parent shown with its best-matching variant, variant
//! attributes as facets.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use indicatif::{MultiProgress, ProgressDrawTarget};
use serde_json::{Value, json};
use vitrine_indexer::Catalog;
use vitrine_models::settings::IndexSettings;
use vitrine_models::{AttributeValue, DataDir, IndexName, ProductId};
use vitrine_query::{SearchRequest, SearchResponse, search};

/// The bundled Luma catalog in a scratch index (also used by `facet_values.rs`).
pub(crate) struct Luma {
    pub(crate) catalog: Catalog,
    pub(crate) name: IndexName,
    _dir: tempfile::TempDir,
}

impl Luma {
    pub(crate) fn load() -> Luma {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/magento-luma/products.csv.gz");
        let progress = MultiProgress::with_draw_target(ProgressDrawTarget::hidden());
        let (products, _) = vitrine_pipelines::load_luma(&path, &progress).expect("Luma loads");
        let dir = tempfile::tempdir().expect("temp dir");
        let catalog = Catalog::new(DataDir::new(dir.path()));
        let name = IndexName::new("luma").expect("name");
        catalog.upsert(&name, products).expect("index");
        Luma { catalog, name, _dir: dir }
    }

    fn search(&self, collapse: bool, request: Value) -> SearchResponse {
        let mut settings = IndexSettings::default();
        settings.facets.attributes = vec!["color".into(), "size".into()];
        settings.variants.collapse = collapse;
        let request: SearchRequest = serde_json::from_value(request).expect("request");
        search(&self.catalog.get(&self.name).expect("index"), &settings, &request).expect("search")
    }

    /// Every hit of a search, page by page.
    fn all_hits(&self, collapse: bool, q: &str, filter: &Value) -> Vec<vitrine_query::Hit> {
        let mut hits = Vec::new();
        for page in 1.. {
            let response = self.search(collapse, json!({"q": q, "filter": filter, "per_page": 200, "page": page}));
            let done = response.hits.len() < 200;
            hits.extend(response.hits);
            if done {
                return hits;
            }
        }
        unreachable!("pages end")
    }

    fn color(&self, id: &str) -> Option<String> {
        let product = self.catalog.product(&self.name, &ProductId::new(id).expect("id")).expect("read")?;
        match product.attributes.get("color") {
            Some(AttributeValue::Text(color)) => Some(color.clone()),
            _ => None,
        }
    }
}

#[test]
fn each_family_is_shown_once_as_its_parent() {
    let luma = Luma::load();
    let skus = luma.all_hits(false, "hoodie", &Value::Null);
    let families: BTreeSet<String> =
        skus.iter().map(|hit| hit.document.parent_id.as_ref().unwrap_or(&hit.document.id).to_string()).collect();
    assert!(skus.len() > 5 * families.len(), "hoodies come in many sizes and colours");

    let collapsed = luma.search(true, json!({"q": "hoodie", "per_page": 200}));
    assert_eq!(collapsed.total, families.len(), "the total counts families");
    let shown: BTreeSet<String> = collapsed.hits.iter().map(|hit| hit.id.clone()).collect();
    assert_eq!(shown, families, "each family once");
    assert!(collapsed.hits.iter().all(|hit| hit.document.parent_id.is_none()), "parents are shown");

    let exact = luma.search(true, json!({"q": "chaz kangeroo hoodie"}));
    assert_eq!(exact.hits[0].id, "MH01");
}

#[test]
fn a_variant_filter_shows_the_parent_with_the_matching_variant() {
    let luma = Luma::load();
    let black = luma.all_hits(true, "hoodie", &json!({"color": ["Black"]}));
    assert!(!black.is_empty());
    for hit in &black {
        let variant = hit.variant_id.as_deref().unwrap_or_else(|| panic!("{} names its variant", hit.id));
        assert_eq!(luma.color(variant).as_deref(), Some("Black"), "{variant}");
        let parent = luma.catalog.product(&luma.name, &ProductId::new(variant).expect("id")).expect("read");
        assert_eq!(parent.and_then(|p| p.parent_id).map(String::from).as_deref(), Some(hit.id.as_str()));
    }
}

#[test]
fn variant_attributes_are_facets_counting_skus() {
    let luma = Luma::load();
    let request = json!({"q": "jacket", "facets": ["color", "size"]});
    let collapsed = luma.search(true, request.clone());
    let flat = luma.search(false, request);
    assert_eq!(collapsed.facets, flat.facets, "facet counts count variants either way");
    let mut expected: BTreeMap<String, u64> = BTreeMap::new();
    for hit in luma.all_hits(false, "jacket", &Value::Null) {
        if let Some(AttributeValue::Text(color)) = hit.document.attributes.get("color") {
            *expected.entry(color.clone()).or_default() += 1;
        }
    }
    assert_eq!(collapsed.facets["color"], expected);
    assert!(collapsed.facets["size"].contains_key("XL"), "{:?}", collapsed.facets["size"]);
}

#[test]
fn small_pages_of_families_follow_the_one_big_page() {
    // Browsing the whole catalogue: about two hundred families, so a page of 10 (84 kept at the
    // most) makes the collector drop the families that can no longer reach the page as it goes.
    let luma = Luma::load();
    let big = luma.search(true, json!({"q": "", "per_page": 200}));
    assert!(big.total > 100, "enough families to prune: {}", big.total);
    let mut paged = Vec::new();
    for page in 1.. {
        let response = luma.search(true, json!({"q": "", "per_page": 10, "page": page}));
        assert_eq!(response.total, big.total, "the total counts every family on every page");
        if response.hits.is_empty() {
            break;
        }
        paged.extend(response.hits.into_iter().map(|hit| (hit.id, hit.variant_id)));
    }
    let expected: Vec<_> = big.hits.into_iter().map(|hit| (hit.id, hit.variant_id)).collect();
    assert_eq!(paged, expected, "page by page as in one page");
}
