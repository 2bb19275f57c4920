//! Indexes in other languages than English: their products are stemmed in their language, and so
//! are query words; accents and typos work alike in every language.

use serde_json::{Value, json};
use vitrine_indexer::Catalog;
use vitrine_models::settings::{IndexSettings, Language};
use vitrine_models::{DataDir, IndexName, Product};
use vitrine_query::{SearchRequest, search};

/// An index created with `settings`, then filled with `products`.
struct Shop {
    catalog: Catalog,
    name: IndexName,
    _dir: tempfile::TempDir,
}

impl Shop {
    fn new(settings: IndexSettings, products: &[Value]) -> Shop {
        let dir = tempfile::tempdir().expect("temp dir");
        let catalog = Catalog::new(DataDir::new(dir.path()));
        let name = IndexName::new("shop").expect("name");
        catalog.get_or_create(&name).expect("create").set_settings(settings).expect("settings of an empty index");
        let products =
            products.iter().map(|product| serde_json::from_value::<Product>(product.clone()).expect("product"));
        catalog.upsert(&name, products).expect("index");
        Shop { catalog, name, _dir: dir }
    }

    fn ids(&self, q: &str) -> Vec<String> {
        let index = self.catalog.get(&self.name).expect("index");
        let request = SearchRequest { q: q.to_owned(), ..SearchRequest::default() };
        search(&index, &index.settings(), &request).expect("search").hits.into_iter().map(|hit| hit.id).collect()
    }
}

fn in_language(language: Language) -> IndexSettings {
    IndexSettings { language, ..IndexSettings::default() }
}

fn epicerie() -> Vec<Value> {
    vec![
        json!({"id": "eau", "title": "Eau minérale gazeuse", "brand": "Source"}),
        json!({"id": "pommes", "title": "Pommes Golden", "brand": "Verger"}),
        json!({"id": "pate", "title": "Pâte de fruits à la framboise", "brand": "Verger"}),
        json!({"id": "creme", "title": "Crème fraîche épaisse", "brand": "Laiterie"}),
        json!({"id": "chocolat", "title": "Chocolat noir", "brand": "Cacao"}),
        json!({"id": "animaux", "title": "Animaux en guimauve", "brand": "Bonbons"}),
    ]
}

#[test]
fn french_words_find_their_other_forms_in_a_french_index_only() {
    let french = Shop::new(in_language(Language::French), &epicerie());
    let english = Shop::new(IndexSettings::default(), &epicerie());
    // `gazeux` and `gazeuse` share their French stem; no typo reaches from one to the other.
    assert_eq!(french.ids("gazeux "), ["eau"]);
    assert_eq!(english.ids("gazeux "), Vec::<String>::new(), "English stems them apart");
    assert_eq!(french.ids("animal "), ["animaux"]);
    assert_eq!(english.ids("animal "), Vec::<String>::new());
    // What English stemming already found is still found.
    assert_eq!(french.ids("pomme "), ["pommes"]);
    assert_eq!(english.ids("pomme "), ["pommes"]);
}

#[test]
fn french_stop_words_are_not_required_in_a_french_index() {
    let french = Shop::new(in_language(Language::French), &epicerie());
    let english = Shop::new(IndexSettings::default(), &epicerie());
    assert_eq!(french.ids("pommes de la "), ["pommes"], "`de` and `la` are French stop words");
    // In English they are words: the product with both matches more of the query's words.
    assert_eq!(english.ids("pommes de la ").first().map(String::as_str), Some("pate"));
}

#[test]
fn accents_and_typos_match_in_every_language() {
    for language in [Language::French, Language::English, Language::German] {
        let shop = Shop::new(in_language(language), &epicerie());
        assert_eq!(shop.ids("creme fraiche "), ["creme"], "{language}: no accents typed");
        assert_eq!(shop.ids("chocolt "), ["chocolat"], "{language}: a typo");
        assert_eq!(shop.ids("pate de fruit "), ["pate"], "{language}");
    }
}

#[test]
fn german_words_with_or_without_umlauts_find_their_other_forms() {
    let products = [
        json!({"id": "kaese", "title": "Käse gerieben", "brand": "Alpen"}),
        json!({"id": "kraeuter", "title": "Gemischte Kräuter", "brand": "Garten"}),
        json!({"id": "nudeln", "title": "Frische Nudeln", "brand": "Mühle"}),
        json!({"id": "tee", "title": "Tee mit Zitrone", "brand": "Garten"}),
    ];
    let german = Shop::new(in_language(Language::German), &products);
    let english = Shop::new(IndexSettings::default(), &products);
    assert_eq!(german.ids("kase "), ["kaese"]);
    assert_eq!(german.ids("Käse "), ["kaese"]);
    assert_eq!(german.ids("kraut "), ["kraeuter"], "`Kräuter` stems to `kraut`");
    assert_eq!(english.ids("kraut "), Vec::<String>::new());
    assert_eq!(german.ids("nudel mit "), ["nudeln"], "`mit` is a German stop word");
    assert_eq!(english.ids("nudeln mit ").len(), 2, "in English `mit` is a word, which the tea has");
}

#[test]
fn a_field_with_its_own_language_is_indexed_and_searched_in_it() {
    let products = [json!({"id": "sauce", "title": "Sauce provençale", "description": "Getrocknete Tomaten"})];
    let mut mixed = in_language(Language::French);
    mixed.field_languages.description = Some(Language::German);
    let shop = Shop::new(mixed, &products);
    // Descriptions have no typo tier: only the German stem reaches `Tomaten` from `tomate`.
    assert_eq!(shop.ids("tomate "), ["sauce"]);
    assert_eq!(Shop::new(in_language(Language::French), &products).ids("tomate "), Vec::<String>::new());
    assert_eq!(shop.ids("sauces provencales "), ["sauce"], "the title is still French");
}
