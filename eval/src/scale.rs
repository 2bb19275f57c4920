//! Catalogues of any size built deterministically from real product titles, for `vitrine bench
//! scale`: the same titles, seed and size give the same products, byte for byte.
//!
//! Product `i` of a catalogue of `n`:
//! - belongs to a family of [`FAMILY`] consecutive products; about half the families are one
//!   product in several variants (the first is the parent, the others carry its `parent_id`
//!   and differ by colour and size), the others are [`FAMILY`] unrelated products;
//! - takes its title from the real titles, spread over them; once the titles are used up, later
//!   rounds get a model series (`… Series 3`), so titles stay distinct as a real range would;
//! - gets a brand (the title's first word, as most real titles start with it), a two-level
//!   category (a department by keyword, then the title's last word: the kind of product), a
//!   price (log-uniform from 1 to 1,100, ending in .99), stock (one in ten sold out), a
//!   popularity (heavy-tailed), and colour, size and material attributes.

use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};
use vitrine_models::{AttributeValue, CategoryInput, ProductDraft};

/// Products per family.
pub const FAMILY: usize = 4;

const COLOURS: [&str; 12] =
    ["Black", "White", "Grey", "Silver", "Brown", "Red", "Blue", "Green", "Beige", "Bronze", "Chrome", "Yellow"];
const SIZES: [&str; 6] = ["XS", "S", "M", "L", "XL", "XXL"];
const MATERIALS: [&str; 8] = ["Steel", "Aluminium", "Wood", "Plastic", "Brass", "Ceramic", "Glass", "Vinyl"];

/// Departments by a keyword of the title; a title with none goes to one picked by its hash.
const DEPARTMENTS: [(&str, &[&str]); 14] = [
    ("Lighting", &["light", "lamp", "bulb", "led", "fixture", "chandelier", "sconce"]),
    ("Plumbing", &["faucet", "pipe", "valve", "toilet", "sink", "drain", "shower"]),
    ("Electrical", &["wire", "outlet", "switch", "breaker", "cord", "plug", "volt"]),
    ("Tools", &["drill", "saw", "wrench", "hammer", "driver", "bit", "blade", "tool"]),
    ("Outdoors", &["garden", "lawn", "patio", "mower", "hose", "grill", "sprinkler"]),
    ("Paint", &["paint", "stain", "primer", "brush", "roller", "caulk"]),
    ("Flooring", &["floor", "tile", "carpet", "laminate", "rug", "vinyl"]),
    ("Hardware", &["screw", "bolt", "nut", "hinge", "lock", "bracket", "nail", "anchor"]),
    ("Kitchen", &["kitchen", "cabinet", "range", "refrigerator", "dishwasher", "microwave"]),
    ("Bath", &["bath", "vanity", "towel", "mirror", "tub"]),
    ("Heating & Cooling", &["heater", "fan", "air", "thermostat", "filter", "vent"]),
    ("Building Materials", &["lumber", "board", "panel", "concrete", "drywall", "insulation"]),
    ("Storage", &["shelf", "shelving", "storage", "rack", "organizer", "bin"]),
    ("Decor", &["curtain", "blind", "shade", "decor", "frame", "clock"]),
];

/// The generator: real titles, a seed.
#[derive(Debug, Clone, Copy)]
pub struct ScaleCatalog<'a> {
    titles: &'a [String],
    seed: u64,
}

impl<'a> ScaleCatalog<'a> {
    /// A generator over `titles` (at least one) and `seed`.
    ///
    /// # Panics
    /// With no titles.
    pub fn new(titles: &'a [String], seed: u64) -> Self {
        assert!(!titles.is_empty(), "a scale catalogue needs titles");
        ScaleCatalog { titles, seed }
    }

    /// The id of product `i`.
    pub fn id(i: usize) -> String {
        format!("s{i:08}")
    }

    /// Whether family `family` is one product in variants.
    fn has_variants(&self, family: usize) -> bool {
        mix(self.seed ^ family as u64).is_multiple_of(2)
    }

    /// The title product `i` takes its words from, and the round (how often the titles were
    /// used up before it).
    fn base_title(&self, i: usize) -> (&str, usize) {
        let family = i / FAMILY;
        // Variants share their parent's title; unrelated products each take their own.
        let slot = if self.has_variants(family) { family * FAMILY } else { i };
        let n = self.titles.len();
        // A stride coprime with most sizes spreads neighbours over the whole list.
        let spread = (slot % n).wrapping_mul(7_919) % n;
        (self.titles[spread].as_str(), slot / n)
    }

    /// Product `i`.
    pub fn product(&self, i: usize) -> ProductDraft {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(mix(self.seed.wrapping_add(i as u64)));
        let family = i / FAMILY;
        let (base, round) = self.base_title(i);
        let series = if round > 0 { format!(" Series {round}") } else { String::new() };
        let mut attributes = std::collections::BTreeMap::new();
        let material = MATERIALS[rng.random_range(0..MATERIALS.len())];
        attributes.insert("material".to_owned(), AttributeValue::Text(material.to_owned()));
        let (title, parent_id) = if self.has_variants(family) {
            let colour = COLOURS[(i + family) % COLOURS.len()];
            let size = SIZES[(i % FAMILY + family) % SIZES.len()];
            attributes.insert("color".to_owned(), AttributeValue::Text(colour.to_owned()));
            attributes.insert("size".to_owned(), AttributeValue::Text(size.to_owned()));
            let parent = (!i.is_multiple_of(FAMILY)).then(|| Self::id(family * FAMILY));
            (format!("{base}{series} - {colour}, {size}"), parent)
        } else {
            let colour = COLOURS[rng.random_range(0..COLOURS.len())];
            attributes.insert("color".to_owned(), AttributeValue::Text(colour.to_owned()));
            (format!("{base}{series}"), None)
        };
        // Log-uniform from 1 to 1,100, ending in .99.
        let price = (rng.random_range(0.0_f64..7.0).exp()).floor() + 0.99;
        let stock = if rng.random_range(0..10) == 0 { 0 } else { rng.random_range(1..500) };
        let popularity = rng.random_range(0.0_f64..1.0).powi(4) * 1_000.0;
        ProductDraft {
            id: Self::id(i),
            title,
            brand: Some(brand(base)),
            category: Some(CategoryInput::Levels(vec![department(base).to_owned(), kind(base)])),
            price: Some(price),
            currency: Some("USD".to_owned()),
            attributes,
            stock: Some(stock),
            popularity: Some(popularity),
            parent_id,
            ..ProductDraft::default()
        }
    }
}

/// SplitMix64's finaliser: neighbouring seeds give unrelated numbers.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The title's first word when it reads as a name, else "Generic".
fn brand(title: &str) -> String {
    match title.split_whitespace().next() {
        Some(word) if word.len() >= 2 && word.chars().all(|c| c.is_alphabetic() || c == '-' || c == '&') => {
            word.to_owned()
        }
        _ => "Generic".to_owned(),
    }
}

/// The department of a title: the first whose keyword it contains, else one by its hash.
fn department(title: &str) -> &'static str {
    let lower = title.to_lowercase();
    let words: Vec<&str> = lower.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).collect();
    for (department, keywords) in DEPARTMENTS {
        if keywords.iter().any(|keyword| words.contains(keyword)) {
            return department;
        }
    }
    let hash = lower.bytes().fold(0_u64, |hash, byte| mix(hash ^ u64::from(byte)));
    DEPARTMENTS[(hash % DEPARTMENTS.len() as u64) as usize].0
}

/// One catalogue size measured by `vitrine bench scale`: one JSON line of its output.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ScaleRun {
    /// Products in the catalogue.
    pub products: usize,
    /// Seed of the catalogue and of the injected typos.
    pub seed: u64,
    /// Timed requests per latency cell.
    pub requests_per_cell: usize,
    /// Products imported per second (bulk upserts of 100,000).
    pub import_products_per_second: f64,
    /// Products imported per second through `POST /v1/indexes/{index}/documents` (one client,
    /// JSON arrays of 10,000); absent from runs before it was measured.
    #[serde(default)]
    pub api_import_products_per_second: Option<f64>,
    /// The index on disk.
    pub index_bytes: u64,
    /// The process's resident memory after the first latency cell (warmed up).
    pub resident_bytes: u64,
    /// Latency cells.
    pub search: Vec<LatencyCell>,
}

/// The latency of one kind of request under one load.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LatencyCell {
    /// `search` or `suggest`.
    #[serde(default = "search_kind")]
    pub what: String,
    /// Concurrent clients.
    pub clients: usize,
    /// `typed` or `one_typo`.
    pub queries: String,
    /// Whether the searches asked for facets (brand, category, price) and filtered (in stock, price).
    pub facets_and_filter: bool,
    /// `closed` (each client waits for its answer) or `open` (a fixed arrival rate).
    #[serde(default = "closed_pace")]
    pub pace: String,
    /// The arrival rate of an open-loop cell.
    #[serde(default)]
    pub offered_per_second: Option<f64>,
    /// Answers per second.
    pub per_second: f64,
    /// Median latency, milliseconds.
    pub p50_ms: f64,
    /// 99th percentile latency, milliseconds.
    pub p99_ms: f64,
    /// 99.9th percentile latency, milliseconds.
    pub p999_ms: f64,
}

fn search_kind() -> String {
    "search".to_owned()
}

fn closed_pace() -> String {
    "closed".to_owned()
}

impl ScaleRun {
    /// The cell of `what` (`search`/`suggest`) for these queries, facets, clients and pace.
    #[must_use]
    pub fn cell(&self, what: &str, queries: &str, facets: bool, clients: usize, pace: &str) -> Option<&LatencyCell> {
        self.search.iter().find(|cell| {
            cell.what == what
                && cell.queries == queries
                && cell.facets_and_filter == facets
                && cell.clients == clients
                && cell.pace == pace
        })
    }
}

/// The kind of product: the title's last alphabetic word, capitalised ("Drill", "Faucet").
fn kind(title: &str) -> String {
    let word =
        title.split(|c: char| !c.is_alphabetic()).rev().find(|word| word.len() >= 3).unwrap_or("Other").to_lowercase();
    let mut chars = word.chars();
    chars.next().map(|first| first.to_uppercase().chain(chars).collect()).unwrap_or_else(|| "Other".to_owned())
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use vitrine_models::Product;

    use super::*;

    fn titles() -> Vec<String> {
        [
            "Simpson Strong-Tie 12-Gauge Angle",
            "BEHR Premium Textured DeckOver 1-gal. #SC-141 Tugboat Wood and Concrete Coating",
            "Delta Vero 1-Handle Shower Only Faucet Trim Kit in Chrome",
            "Hampton Bay 3-Light Brushed Nickel Vanity Light",
            "DEWALT 20-Volt MAX Lithium-Ion Cordless Drill",
            "1/2 in. x 10 ft. Copper Pipe",
        ]
        .map(String::from)
        .to_vec()
    }

    #[test]
    fn the_same_seed_gives_the_same_catalogue_and_another_seed_another() {
        let titles = titles();
        let a = ScaleCatalog::new(&titles, 42);
        let b = ScaleCatalog::new(&titles, 42);
        let c = ScaleCatalog::new(&titles, 43);
        let same = (0..200).all(|i| a.product(i) == b.product(i));
        assert!(same);
        assert!((0..200).any(|i| a.product(i) != c.product(i)));
    }

    #[test]
    fn products_are_valid_distinct_and_variants_point_at_their_parent() {
        let titles = titles();
        let catalog = ScaleCatalog::new(&titles, 7);
        let products: Vec<ProductDraft> = (0..400).map(|i| catalog.product(i)).collect();
        let ids: HashSet<&str> = products.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(ids.len(), 400);
        // Six titles, 400 products: later rounds are new series, so no two products share a title.
        let distinct: HashSet<&str> = products.iter().map(|p| p.title.as_str()).collect();
        assert_eq!(distinct.len(), 400, "titles are distinct");
        let variants: Vec<&ProductDraft> = products.iter().filter(|p| p.parent_id.is_some()).collect();
        assert!(variants.len() > 100 && variants.len() < 200, "about half the families: {}", variants.len());
        for variant in variants {
            let parent = variant.parent_id.as_deref().expect("parent");
            let parent = products.iter().find(|p| p.id == parent).expect("the parent exists");
            assert!(parent.parent_id.is_none());
            let stem = |title: &str| title.split(" - ").next().unwrap_or_default().to_owned();
            assert_eq!(stem(&variant.title), stem(&parent.title), "variants share the parent's name");
            assert!(variant.attributes.contains_key("size") && variant.attributes.contains_key("color"));
        }
        for draft in products {
            let product = Product::try_from(draft.clone()).expect("valid");
            assert!(product.price.is_some() && product.brand.is_some());
            assert_eq!(product.category.levels().len(), 2, "{:?}", draft.category);
        }
        let sold_out = (0..1_000).filter(|&i| catalog.product(i).stock == Some(0)).count();
        assert!((50..150).contains(&sold_out), "one in ten sold out: {sold_out}");
    }

    #[test]
    fn departments_and_kinds_come_from_the_title() {
        assert_eq!(department("DEWALT 20-Volt MAX Lithium-Ion Cordless Drill"), "Electrical");
        assert_eq!(department("Delta Vero 1-Handle Shower Only Faucet Trim Kit in Chrome"), "Plumbing");
        assert_eq!(kind("DEWALT 20-Volt MAX Lithium-Ion Cordless Drill"), "Drill");
        assert_eq!(kind("1/2 in. x 10 ft. Copper Pipe"), "Pipe");
        assert_eq!(brand("1/2 in. x 10 ft. Copper Pipe"), "Generic");
        assert_eq!(brand("Simpson Strong-Tie 12-Gauge Angle"), "Simpson");
    }
}
