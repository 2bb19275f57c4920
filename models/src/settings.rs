//! Per-index settings: the text's language, typo tolerance, ranking weights, facets, synonyms,
//! merchandising rules. Stored beside each index as `settings.json`; every field has a default, so `{}` is a valid
//! settings document and unknown keys are refused.

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::ids::ProductId;

/// All settings of one index.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct IndexSettings {
    /// How many typos a query word may have.
    pub typo_tolerance: TypoTolerance,
    /// How text relevance and business signals are blended.
    pub ranking: RankingWeights,
    /// Which attributes are facets, and the price buckets.
    pub facets: FacetSettings,
    /// Query-time synonyms: an edit applies to the next search, nothing is reindexed.
    pub synonyms: Vec<Synonym>,
    /// Merchandising rules: pin, hide, boost or bury products for chosen queries.
    pub rules: Vec<Rule>,
    /// How variants (products with a `parent_id`) are shown.
    pub variants: VariantSettings,
    /// The currency of a product sent with a `price` and no `currency` (an ISO 4217 code such as
    /// `"EUR"`); `null` (the default) refuses such a product.
    pub default_currency: Option<String>,
    /// How a storefront presents the index: the search box's placeholder, facet labels, a title.
    pub display: DisplaySettings,
    /// The language of the index's text, as an ISO 639-1 code (default `"en"`): how its stemmed
    /// copy of every text field is analysed (that language's stemmer and stop words) and how query
    /// words are stemmed to match it. Accents and case never matter (`creme` finds `crème`, typos
    /// included): see `docs/languages.md`. Analysis happens when a product is indexed, so the
    /// language of an index that holds products cannot change: refused with
    /// `language_change_requires_reindex` (reindex into a new index instead); it can be set when
    /// the index is created or while it is empty.
    pub language: Language,
    /// A language per text field (`title`, `brand`, `category`, `attributes`, `description`) for
    /// catalogues whose fields are in different languages, e.g. `{"description": "de"}`; a field
    /// not named here is in `language`. Changes like `language`.
    pub field_languages: FieldLanguages,
}

/// A language the text of an index can be analysed in: the languages tantivy has a Snowball
/// stemmer for, named by their ISO 639-1 codes. Stop words are removed from the stemmed copy of
/// the text too, except in Arabic, Greek, Romanian, Tamil and Turkish, which tantivy has no list
/// for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, utoipa::ToSchema)]
pub enum Language {
    /// Arabic (stemming only).
    #[serde(rename = "ar")]
    Arabic,
    /// Danish.
    #[serde(rename = "da")]
    Danish,
    /// German.
    #[serde(rename = "de")]
    German,
    /// Greek (stemming only).
    #[serde(rename = "el")]
    Greek,
    /// English (the default).
    #[default]
    #[serde(rename = "en")]
    English,
    /// Spanish.
    #[serde(rename = "es")]
    Spanish,
    /// Finnish.
    #[serde(rename = "fi")]
    Finnish,
    /// French.
    #[serde(rename = "fr")]
    French,
    /// Hungarian.
    #[serde(rename = "hu")]
    Hungarian,
    /// Italian.
    #[serde(rename = "it")]
    Italian,
    /// Dutch.
    #[serde(rename = "nl")]
    Dutch,
    /// Norwegian (Bokmål).
    #[serde(rename = "no")]
    Norwegian,
    /// Portuguese.
    #[serde(rename = "pt")]
    Portuguese,
    /// Romanian (stemming only).
    #[serde(rename = "ro")]
    Romanian,
    /// Russian.
    #[serde(rename = "ru")]
    Russian,
    /// Swedish.
    #[serde(rename = "sv")]
    Swedish,
    /// Tamil (stemming only).
    #[serde(rename = "ta")]
    Tamil,
    /// Turkish (stemming only).
    #[serde(rename = "tr")]
    Turkish,
}

impl Language {
    /// Every language, by code.
    pub const ALL: [Language; 18] = [
        Language::Arabic,
        Language::Danish,
        Language::German,
        Language::Greek,
        Language::English,
        Language::Spanish,
        Language::Finnish,
        Language::French,
        Language::Hungarian,
        Language::Italian,
        Language::Dutch,
        Language::Norwegian,
        Language::Portuguese,
        Language::Romanian,
        Language::Russian,
        Language::Swedish,
        Language::Tamil,
        Language::Turkish,
    ];

    /// Its ISO 639-1 code (`"fr"`).
    pub fn code(self) -> &'static str {
        match self {
            Language::Arabic => "ar",
            Language::Danish => "da",
            Language::German => "de",
            Language::Greek => "el",
            Language::English => "en",
            Language::Spanish => "es",
            Language::Finnish => "fi",
            Language::French => "fr",
            Language::Hungarian => "hu",
            Language::Italian => "it",
            Language::Dutch => "nl",
            Language::Norwegian => "no",
            Language::Portuguese => "pt",
            Language::Romanian => "ro",
            Language::Russian => "ru",
            Language::Swedish => "sv",
            Language::Tamil => "ta",
            Language::Turkish => "tr",
        }
    }

    /// The language of an ISO 639-1 code, if Vitrine can analyse it.
    pub fn from_code(code: &str) -> Option<Language> {
        Language::ALL.into_iter().find(|language| language.code() == code)
    }
}

impl std::fmt::Display for Language {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

impl<'de> Deserialize<'de> for Language {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let code = String::deserialize(deserializer)?;
        Language::from_code(&code).ok_or_else(|| {
            let codes: Vec<&str> = Language::ALL.iter().map(|language| language.code()).collect();
            serde::de::Error::custom(format!(
                "`{code}` is not a language Vitrine can analyse; the languages are (ISO 639-1 codes) {}",
                codes.join(", ")
            ))
        })
    }
}

/// The language of each text field that is not in the index's `language`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct FieldLanguages {
    /// The product title.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<Language>,
    /// The brand.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub brand: Option<Language>,
    /// The category names.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<Language>,
    /// The text attribute values.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attributes: Option<Language>,
    /// The description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<Language>,
}

/// How a storefront presents an index (read by the plug-in from `GET /v1/indexes/{index}`, which
/// the public search key may read).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct DisplaySettings {
    /// The shop's name for this catalogue (`"Luma fashion"`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The search box's placeholder (`"Search 2,000 hoodies, tees and bags"`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub search_placeholder: Option<String>,
    /// A label per facet name (`{"color": "Colour"}`); a facet without one shows its name.
    pub facet_labels: BTreeMap<String, String>,
}

/// The order in which a facet's values are listed (`facets.value_order`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum ValueOrder {
    /// `"count"` (most products first; the default), `"alpha"` (A to Z, ignoring case) or
    /// `"natural"` (clothing sizes from XXS to XXXL, then numbers ascending, then A to Z).
    Named(NamedValueOrder),
    /// The listed values first, in this order; the others after them by count.
    Explicit(Vec<String>),
}

/// The named facet value orders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NamedValueOrder {
    /// Most products first, ties A to Z.
    Count,
    /// A to Z, ignoring case.
    Alpha,
    /// Clothing sizes in size order, then numbers ascending, then the rest A to Z.
    Natural,
}

impl ValueOrder {
    /// Orders `values` (value, count) as this order says.
    pub fn sort(&self, values: &mut [(String, u64)]) {
        let by_count = |a: &(String, u64), b: &(String, u64)| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0));
        match self {
            ValueOrder::Named(NamedValueOrder::Count) => values.sort_by(by_count),
            ValueOrder::Named(NamedValueOrder::Alpha) => {
                values.sort_by(|a, b| a.0.to_lowercase().cmp(&b.0.to_lowercase()).then_with(|| a.0.cmp(&b.0)));
            }
            ValueOrder::Named(NamedValueOrder::Natural) => {
                values.sort_by(|a, b| {
                    let (a_key, b_key) = (natural_key(&a.0), natural_key(&b.0));
                    (a_key.0.cmp(&b_key.0))
                        .then(a_key.1.total_cmp(&b_key.1))
                        .then_with(|| a_key.2.cmp(&b_key.2))
                        .then_with(|| a.0.cmp(&b.0))
                });
            }
            ValueOrder::Explicit(listed) => values.sort_by(|a, b| {
                let position = |value: &str| listed.iter().position(|listed| listed == value).unwrap_or(usize::MAX);
                position(&a.0).cmp(&position(&b.0)).then_with(|| by_count(a, b))
            }),
        }
    }
}

/// Clothing sizes, smallest first.
const SIZES: [&str; 12] = ["XXXS", "XXS", "XS", "S", "M", "L", "XL", "XXL", "XXXL", "2XL", "3XL", "4XL"];

/// The sort key of a value in natural order: sizes (by their place in [`SIZES`]; `2XL` with
/// `XXL`), then numbers (a leading number: `32`, `7.5`, `10 cm`) ascending, then the rest A to Z.
fn natural_key(value: &str) -> (u8, f64, String) {
    let upper = value.trim().to_uppercase();
    let size = match upper.as_str() {
        "2XL" => SIZES.iter().position(|size| *size == "XXL"),
        "3XL" => SIZES.iter().position(|size| *size == "XXXL"),
        other => SIZES.iter().position(|size| *size == other),
    };
    if let Some(position) = size {
        return (0, position as f64, String::new());
    }
    let digits: String = upper
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == ',')
        .collect::<String>()
        .replace(',', ".");
    match digits.parse::<f64>() {
        Ok(number) if number.is_finite() => (1, number, upper),
        _ => (2, 0.0, value.to_lowercase()),
    }
}

/// How variants are shown in results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct VariantSettings {
    /// One result per product family (a parent and its variants), ranked by its best match and
    /// shown as the parent with the best-matching variant's id (default on). Facet counts count
    /// variants, so `colour` and `size` count the SKUs that have them.
    pub collapse: bool,
}

impl Default for VariantSettings {
    fn default() -> Self {
        VariantSettings { collapse: true }
    }
}

/// The settings' parts, each readable and replaceable on its own
/// (`/v1/indexes/{index}/settings/{part}`).
pub const SETTINGS_PARTS: [&str; 10] = [
    "typo_tolerance",
    "ranking",
    "facets",
    "synonyms",
    "rules",
    "variants",
    "default_currency",
    "display",
    "language",
    "field_languages",
];

impl IndexSettings {
    /// These settings with some parts replaced (a draft laid over live settings): each key of
    /// `parts` names a part ([`SETTINGS_PARTS`]) and holds its new value; the other parts stay.
    /// The result is checked like a whole document ([`IndexSettings::check`]).
    pub fn with_parts(&self, parts: &serde_json::Map<String, Value>) -> Result<IndexSettings, String> {
        let mut whole = serde_json::to_value(self).map_err(|error| error.to_string())?;
        for (part, value) in parts {
            if !SETTINGS_PARTS.contains(&part.as_str()) {
                return Err(format!("the settings have no part `{part}`; they are: {}", SETTINGS_PARTS.join(", ")));
            }
            whole[part] = value.clone();
        }
        let settings: IndexSettings = serde_json::from_value(whole).map_err(|error| {
            let names: Vec<&str> = parts.keys().map(String::as_str).collect();
            format!("`{}`: {error}", names.join("`, `"))
        })?;
        settings.check()?;
        Ok(settings)
    }

    /// Checks values serde cannot: ascending finite price buckets, consistent typo lengths,
    /// bounded facet sizes, well-formed synonym rules. Returns what is wrong.
    pub fn check(&self) -> Result<(), String> {
        let buckets = &self.facets.price_buckets;
        if buckets.iter().any(|bound| !bound.is_finite()) || buckets.windows(2).any(|pair| pair[0] >= pair[1]) {
            return Err("`facets.price_buckets` must be finite and strictly ascending".into());
        }
        let typos = &self.typo_tolerance;
        if typos.min_word_len_one_typo == 0 || typos.min_word_len_two_typos < typos.min_word_len_one_typo {
            return Err("typo word lengths must satisfy 1 <= min_word_len_one_typo <= min_word_len_two_typos".into());
        }
        if self.facets.max_values_per_facet == 0 || self.facets.max_values_per_facet > 1_000 {
            return Err("`facets.max_values_per_facet` must be between 1 and 1000".into());
        }
        let ranking = &self.ranking;
        let weights = [
            ("title", ranking.title),
            ("brand", ranking.brand),
            ("category", ranking.category),
            ("attributes", ranking.attributes),
            ("description", ranking.description),
            ("phrase", ranking.phrase),
            ("popularity", ranking.popularity),
            ("rating", ranking.rating),
            ("margin", ranking.margin),
            ("out_of_stock_penalty", ranking.out_of_stock_penalty),
        ];
        // A number too large for f32 (`1e300`) decodes as infinity, which JSON cannot write back.
        if let Some((name, _)) = weights.iter().find(|(_, weight)| !weight.is_finite()) {
            return Err(format!("`ranking.{name}` must be a finite number"));
        }
        if !(0.0..=100.0).contains(&self.ranking.personalization) {
            return Err("`ranking.personalization` must be between 0 and 100".into());
        }
        if let Some(code) = &self.default_currency {
            crate::money::Currency::new(code).map_err(|error| format!("`default_currency`: {error}"))?;
        }
        let display = &self.display;
        let texts = display.title.iter().chain(&display.search_placeholder).chain(display.facet_labels.values());
        if texts.clone().any(|text| text.chars().count() > 200) || display.facet_labels.len() > 1_000 {
            return Err("`display`: texts of at most 200 characters, at most 1,000 facet labels".into());
        }
        if self.facets.value_order.len() > 1_000
            || self
                .facets
                .value_order
                .values()
                .any(|order| matches!(order, ValueOrder::Explicit(list) if list.len() > 1_000))
        {
            return Err("`facets.value_order`: at most 1,000 facets, each with at most 1,000 listed values".into());
        }
        if self.synonyms.len() > 10_000 {
            return Err("at most 10,000 synonym rules".into());
        }
        for (position, synonym) in self.synonyms.iter().enumerate() {
            synonym.check().map_err(|reason| format!("synonyms[{position}]: {reason}"))?;
        }
        if self.rules.len() > MAX_RULES {
            return Err(format!("at most {MAX_RULES} merchandising rules"));
        }
        let mut ids = HashSet::new();
        for (position, rule) in self.rules.iter().enumerate() {
            rule.check().map_err(|reason| format!("rules[{position}] (`{}`): {reason}", rule.id))?;
            if !ids.insert(rule.id.as_str()) {
                return Err(format!("rules[{position}]: the id `{}` is used twice", rule.id));
            }
        }
        Ok(())
    }
}

/// The most merchandising rules per index.
pub const MAX_RULES: usize = 1_000;
/// The deepest position a product can be pinned at (1-based).
pub const MAX_PIN_POSITION: usize = 1_000;

/// A merchandising rule: when a query matches its condition (and today is inside its validity
/// window), it pins, hides, boosts or buries products. Rules act after the shopper's filters:
/// a pinned product that fails them is not shown.
///
/// ```json
/// {"id": "summer-fans", "condition": {"query": "fan", "match": "contains"},
///  "pin": [{"id": "22138", "position": 1}], "hide": ["21094"],
///  "boost": [{"filter": {"brand": ["Acme"]}, "weight": 2}], "bury": [{"filter": {"in_stock": false}}],
///  "valid_from": "2026-06-01T00:00:00Z", "valid_until": "2026-09-01T00:00:00Z"}
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// The merchant's name for the rule; unique within the index, reported in `applied_rules`.
    pub id: String,
    /// Off: the rule is kept but never applied.
    #[serde(default = "enabled")]
    pub enabled: bool,
    /// Which queries trigger the rule; none means every search, browsing included.
    #[serde(default)]
    pub condition: Option<RuleCondition>,
    /// Not applied before this instant.
    #[serde(default)]
    pub valid_from: Option<DateTime<Utc>>,
    /// Not applied from this instant on.
    #[serde(default)]
    pub valid_until: Option<DateTime<Utc>>,
    /// Products put at fixed positions.
    #[serde(default)]
    pub pin: Vec<Pin>,
    /// Products never shown (nor counted) for the matching queries; hiding a parent product
    /// hides its variants too.
    #[serde(default)]
    pub hide: Vec<ProductId>,
    /// Products matching a filter, ranked higher.
    #[serde(default)]
    pub boost: Vec<FilterBoost>,
    /// Products matching a filter, ranked lower.
    #[serde(default)]
    pub bury: Vec<FilterBoost>,
}

fn enabled() -> bool {
    true
}

impl Rule {
    /// Checks what serde cannot: a name, positions, weights, a consistent window, some effect.
    /// Filters are checked against the index's fields by the query crate.
    pub fn check(&self) -> Result<(), String> {
        if self.id.trim().is_empty() || self.id.len() > 200 {
            return Err("`id` must be 1 to 200 bytes and not blank".into());
        }
        if self.pin.is_empty() && self.hide.is_empty() && self.boost.is_empty() && self.bury.is_empty() {
            return Err("a rule needs at least one of `pin`, `hide`, `boost`, `bury`".into());
        }
        if let (Some(from), Some(until)) = (self.valid_from, self.valid_until)
            && from >= until
        {
            return Err("`valid_from` must be before `valid_until`".into());
        }
        if let Some(condition) = &self.condition
            && condition.query.len() > 512
        {
            return Err("`condition.query` is longer than 512 bytes".into());
        }
        let mut positions = HashSet::new();
        for pin in &self.pin {
            if !(1..=MAX_PIN_POSITION).contains(&pin.position) {
                return Err(format!("pin positions are 1 to {MAX_PIN_POSITION}; got {}", pin.position));
            }
            if !positions.insert(pin.position) {
                return Err(format!("two products are pinned at position {}", pin.position));
            }
            if self.hide.contains(&pin.id) {
                return Err(format!("`{}` is both pinned and hidden", pin.id));
            }
        }
        let mut pinned = HashSet::new();
        if let Some(pin) = self.pin.iter().find(|pin| !pinned.insert(&pin.id)) {
            return Err(format!("`{}` is pinned twice", pin.id));
        }
        for boost in self.boost.iter().chain(&self.bury) {
            if !boost.weight.is_finite() || boost.weight <= 0.0 || boost.weight > 100.0 {
                return Err("a boost or bury `weight` must be above 0 and at most 100".into());
            }
            if !boost.filter.is_object() {
                return Err("a boost or bury `filter` must be a filter object".into());
            }
        }
        Ok(())
    }

    /// Whether the rule may apply at `now` (enabled and inside its window).
    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        self.enabled
            && self.valid_from.is_none_or(|from| from <= now)
            && self.valid_until.is_none_or(|until| now < until)
    }
}

/// The queries a rule applies to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleCondition {
    /// The query text, compared word by word after the same normalisation as searches (case,
    /// accents and punctuation do not matter). An empty `exact` query matches browsing.
    pub query: String,
    /// `exact` (the whole query) or `contains` (these words, in this order, inside the query).
    #[serde(default, rename = "match")]
    pub matching: QueryMatch,
}

/// How a rule's query is compared with the shopper's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum QueryMatch {
    /// The same words.
    #[default]
    Exact,
    /// The rule's words appear together, in order, in the query.
    Contains,
}

/// A product pinned at a position.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Pin {
    /// The product.
    pub id: ProductId,
    /// Its position, 1-based, counted across pages.
    pub position: usize,
}

/// Products matching a filter (the search filter syntax), moved up (`boost`) or down (`bury`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FilterBoost {
    /// Which products, as a search filter object: `{"brand": ["Acme"], "in_stock": true}`.
    pub filter: Value,
    /// How strongly (default 1): under relevance ranking each unit is worth one typo tier, and
    /// 10 units one matched query word; when browsing, boosted products come first and buried
    /// ones last, by weight.
    #[serde(default = "unit_weight")]
    pub weight: f32,
}

fn unit_weight() -> f32 {
    1.0
}

/// A synonym rule. Terms may be several words (`"sofa bed"`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Synonym {
    /// Every term stands for every other: `["tv", "television"]`.
    MultiWay {
        /// At least two terms.
        terms: Vec<String>,
    },
    /// The input also finds the synonyms, not the other way round: `phone` → `smartphone`.
    OneWay {
        /// What the shopper types.
        input: String,
        /// What it also finds.
        synonyms: Vec<String>,
    },
}

impl Synonym {
    /// Each phrase that triggers the rule, with the phrases it also searches for.
    pub fn expansions(&self) -> Vec<(&str, Vec<&str>)> {
        match self {
            Synonym::MultiWay { terms } => terms
                .iter()
                .map(|term| (term.as_str(), terms.iter().filter(|other| *other != term).map(String::as_str).collect()))
                .collect(),
            Synonym::OneWay { input, synonyms } => {
                vec![(input.as_str(), synonyms.iter().map(String::as_str).collect())]
            }
        }
    }

    /// Checks the rule: enough terms, none blank.
    pub fn check(&self) -> Result<(), String> {
        let terms: Vec<&String> = match self {
            Synonym::MultiWay { terms } if terms.len() < 2 => return Err("a multi-way synonym needs two terms".into()),
            Synonym::MultiWay { terms } => terms.iter().collect(),
            Synonym::OneWay { synonyms, .. } if synonyms.is_empty() => {
                return Err("a one-way synonym needs at least one synonym".into());
            }
            Synonym::OneWay { input, synonyms } => std::iter::once(input).chain(synonyms).collect(),
        };
        match terms.iter().find(|term| term.trim().is_empty() || term.len() > 200) {
            Some(bad) => Err(format!("synonym term {bad:?} must be 1 to 200 bytes and not blank")),
            None => Ok(()),
        }
    }
}

/// Typo tolerance: an edit budget per query word by its length.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct TypoTolerance {
    /// Off: every word must match exactly (or as a prefix, for the last one).
    pub enabled: bool,
    /// Words at least this long may have one typo (default 5).
    pub min_word_len_one_typo: usize,
    /// Words at least this long may have two typos (default 9).
    pub min_word_len_two_typos: usize,
    /// A word that no product contains (certainly misspelled, like `dck`) may have one typo
    /// from this length even when it is shorter than `min_word_len_one_typo` (default 3; 0 turns
    /// this off).
    pub min_word_len_unknown_word_typo: usize,
    /// Words that must always match exactly (brand names, model codes), lower case.
    pub disable_on_words: Vec<String>,
    /// Text fields where typos are not accepted (`title`, `brand`, `category`, `attributes`).
    pub disable_on_attributes: Vec<String>,
    /// Words with a digit must match exactly (`a4` is not `a5`); default on.
    pub disable_on_numbers: bool,
}

impl Default for TypoTolerance {
    fn default() -> Self {
        TypoTolerance {
            enabled: true,
            min_word_len_one_typo: 5,
            min_word_len_two_typos: 9,
            min_word_len_unknown_word_typo: 3,
            disable_on_words: Vec::new(),
            disable_on_attributes: Vec::new(),
            disable_on_numbers: true,
        }
    }
}

impl TypoTolerance {
    /// The edit budget of a query word (0, 1 or 2), by its length in characters;
    /// `known_in_index` is false when no product contains the word.
    pub fn budget(&self, word: &str, known_in_index: bool) -> u8 {
        let length = word.chars().count();
        let refused = !self.enabled
            || (self.disable_on_numbers && word.chars().any(|c| c.is_ascii_digit()))
            || self.disable_on_words.iter().any(|refused| refused == word);
        let unknown_word_typo =
            !known_in_index && self.min_word_len_unknown_word_typo > 0 && length >= self.min_word_len_unknown_word_typo;
        match length {
            _ if refused => 0,
            n if n >= self.min_word_len_two_typos => 2,
            n if n >= self.min_word_len_one_typo => 1,
            _ if unknown_word_typo => 1,
            _ => 0,
        }
    }
}

/// Field weights for text relevance and weights of the business signals.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct RankingWeights {
    /// BM25 weight of the title.
    pub title: f32,
    /// BM25 weight of the brand.
    pub brand: f32,
    /// BM25 weight of the category names.
    pub category: f32,
    /// BM25 weight of attribute values.
    pub attributes: f32,
    /// BM25 weight of the description.
    pub description: f32,
    /// Bonus when the query's words appear close together in the title.
    pub phrase: f32,
    /// Weight of `ln(1 + popularity)`.
    pub popularity: f32,
    /// Weight of `rating / 5`.
    pub rating: f32,
    /// Weight of the margin (-1..1).
    pub margin: f32,
    /// Subtracted from out-of-stock products: demoted below in-stock ones that match as many
    /// query words, but still shown.
    pub out_of_stock_penalty: f32,
    /// Personalised search: when a search names a `user_id` the recommendation model knows
    /// (or can fold in), the page's results are re-ranked by `rank score + personalization ×
    /// affinity` (both scaled to 0..1). 0 (the default) turns it off.
    pub personalization: f32,
}

impl Default for RankingWeights {
    fn default() -> Self {
        RankingWeights {
            title: 3.0,
            brand: 2.0,
            category: 1.5,
            attributes: 1.0,
            description: 0.3,
            phrase: 4.0,
            popularity: 1.0,
            rating: 2.0,
            margin: 2.0,
            out_of_stock_penalty: 5_000.0,
            personalization: 0.0,
        }
    }
}

/// Facet settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct FacetSettings {
    /// Attributes that may be filtered on and counted (besides `brand`, `category`, `price`).
    pub attributes: Vec<String>,
    /// Boundaries of the price buckets, ascending (`[10, 50]` gives <10, 10–50, ≥50).
    pub price_buckets: Vec<f64>,
    /// Most values returned per facet.
    pub max_values_per_facet: usize,
    /// The order of each facet's values (`{"size": "natural", "color": "alpha", "badge": ["new",
    /// "sale"]}`); a facet not named here lists its values by count.
    pub value_order: BTreeMap<String, ValueOrder>,
}

impl Default for FacetSettings {
    fn default() -> Self {
        FacetSettings {
            attributes: Vec::new(),
            price_buckets: vec![1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0],
            max_values_per_facet: 100,
            value_order: BTreeMap::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;

    #[test]
    fn a_ranking_weight_too_large_for_f32_is_refused() {
        // 1e300 decodes into an f32 as infinity; written back it would be `null`.
        let parts: serde_json::Map<String, Value> =
            serde_json::from_str(r#"{"ranking": {"margin": 1e300}}"#).expect("json");
        let refused = IndexSettings::default().with_parts(&parts).expect_err("an infinite weight");
        assert!(refused.contains("ranking.margin"), "{refused}");
        let parts: serde_json::Map<String, Value> =
            serde_json::from_str(r#"{"ranking": {"margin": 3.5}}"#).expect("json");
        assert_eq!(IndexSettings::default().with_parts(&parts).expect("finite").ranking.margin, 3.5);
    }

    #[test]
    fn budgets_follow_word_length_and_exceptions() {
        let typos = TypoTolerance { disable_on_words: vec!["makita".into()], ..TypoTolerance::default() };
        assert_eq!(typos.budget("mug", true), 0);
        assert_eq!(typos.budget("lamp", true), 0);
        assert_eq!(typos.budget("candle", true), 1);
        assert_eq!(typos.budget("sprinkler", true), 2);
        assert_eq!(typos.budget("makita", true), 0);
        assert_eq!(typos.budget("a4paper", true), 0);
        let numbers_allowed = TypoTolerance { disable_on_numbers: false, ..TypoTolerance::default() };
        assert_eq!(numbers_allowed.budget("a4paper", true), 1);
        assert_eq!(TypoTolerance { enabled: false, ..TypoTolerance::default() }.budget("sprinkler", true), 0);
        // A word no product contains is misspelled: one typo from 3 letters.
        assert_eq!(typos.budget("dck", false), 1);
        assert_eq!(typos.budget("dk", false), 0);
        assert_eq!(typos.budget("makita", false), 0, "refused words stay exact");
        let off = TypoTolerance { min_word_len_unknown_word_typo: 0, ..TypoTolerance::default() };
        assert_eq!(off.budget("dck", false), 0);
    }

    #[test]
    fn a_draft_replaces_only_its_parts_and_is_checked_like_the_whole() {
        let live = IndexSettings {
            synonyms: vec![Synonym::MultiWay { terms: vec!["tv".into(), "television".into()] }],
            ..IndexSettings::default()
        };
        let draft = serde_json::json!({"ranking": {"title": 9.0}});
        let drafted = live.with_parts(draft.as_object().expect("an object")).expect("a valid draft");
        assert_eq!(drafted.ranking.title, 9.0);
        assert_eq!(drafted.ranking.brand, RankingWeights::default().brand, "unset weights take their defaults");
        assert_eq!(drafted.synonyms, live.synonyms, "parts the draft lacks stay live");
        let refuse = |draft: Value| live.with_parts(draft.as_object().expect("an object")).expect_err("bad");
        assert!(refuse(serde_json::json!({"colours": []})).contains("no part `colours`"));
        assert!(refuse(serde_json::json!({"ranking": {"titel": 1}})).contains("`ranking`"));
        let one_term = serde_json::json!({"synonyms": [{"type": "multi_way", "terms": ["tv"]}]});
        assert!(refuse(one_term).contains("two terms"), "checked like a whole document");
    }

    #[test]
    fn settings_default_every_field_and_refuse_unknown_ones() {
        let settings: IndexSettings = serde_json::from_str("{}").expect("empty settings");
        assert_eq!(settings, IndexSettings::default());
        let partial: IndexSettings =
            serde_json::from_str(r#"{"typo_tolerance": {"min_word_len_one_typo": 4}}"#).expect("partial");
        assert_eq!(partial.typo_tolerance.min_word_len_one_typo, 4);
        assert_eq!(partial.typo_tolerance.min_word_len_two_typos, 9);
        assert!(serde_json::from_str::<IndexSettings>(r#"{"typos": {}}"#).is_err());
    }

    #[test]
    fn the_language_is_an_iso_code_defaulting_to_english_with_optional_field_languages() {
        let settings: IndexSettings = serde_json::from_str("{}").expect("empty settings");
        assert_eq!((settings.language, settings.field_languages), (Language::English, FieldLanguages::default()));
        let written = serde_json::to_value(&settings).expect("json");
        assert_eq!((written["language"].clone(), written["field_languages"].clone()), (json!("en"), json!({})));

        let mixed: IndexSettings =
            serde_json::from_str(r#"{"language": "fr", "field_languages": {"description": "de"}}"#).expect("mixed");
        assert_eq!(mixed.language, Language::French);
        assert_eq!(mixed.field_languages, FieldLanguages { description: Some(Language::German), ..Default::default() });
        assert_eq!(serde_json::to_value(mixed.field_languages).expect("json"), json!({"description": "de"}));

        let refused = serde_json::from_str::<IndexSettings>(r#"{"language": "pl"}"#).expect_err("no Polish stemmer");
        assert!(refused.to_string().contains("`pl` is not a language Vitrine can analyse"), "{refused}");
        assert!(refused.to_string().contains("de, el, en, es"), "the message lists the codes: {refused}");
        assert!(serde_json::from_str::<IndexSettings>(r#"{"language": "French"}"#).is_err(), "codes, not names");
        let field = serde_json::from_str::<IndexSettings>(r#"{"field_languages": {"colour": "de"}}"#);
        assert!(field.expect_err("not a text field").to_string().contains("unknown field `colour`"));

        for language in Language::ALL {
            assert_eq!(Language::from_code(language.code()), Some(language));
            assert_eq!(serde_json::to_value(language).expect("json"), json!(language.code()));
        }
        let parts = json!({"language": "de", "field_languages": {"category": "en"}});
        let drafted = settings.with_parts(parts.as_object().expect("an object")).expect("both are parts");
        assert_eq!((drafted.language, drafted.field_languages.category), (Language::German, Some(Language::English)));
    }

    #[test]
    fn synonyms_expand_every_way_or_one_way() {
        let tv = Synonym::MultiWay { terms: vec!["tv".into(), "television".into(), "telly".into()] };
        assert_eq!(tv.expansions()[1], ("television", vec!["tv", "telly"]));
        let phone = Synonym::OneWay { input: "phone".into(), synonyms: vec!["smartphone".into()] };
        assert_eq!(phone.expansions(), vec![("phone", vec!["smartphone"])]);
        let parsed: IndexSettings = serde_json::from_str(
            r#"{"synonyms": [{"type": "multi_way", "terms": ["sofa bed", "sleeper sofa"]},
                             {"type": "one_way", "input": "phone", "synonyms": ["smartphone"]}]}"#,
        )
        .expect("synonym settings");
        assert_eq!(parsed.synonyms.len(), 2);
        assert!(Synonym::MultiWay { terms: vec!["tv".into()] }.check().is_err());
        assert!(Synonym::OneWay { input: " ".into(), synonyms: vec!["x".into()] }.check().is_err());
        assert!(tv.check().is_ok());
    }

    #[test]
    fn settings_checks_catch_what_serde_cannot() {
        assert!(IndexSettings::default().check().is_ok());
        let mut descending = IndexSettings::default();
        descending.facets.price_buckets = vec![10.0, 5.0];
        assert!(descending.check().is_err());
        let mut lengths = IndexSettings::default();
        lengths.typo_tolerance.min_word_len_two_typos = 3;
        assert!(lengths.check().is_err());
        let lonely = IndexSettings {
            synonyms: vec![Synonym::MultiWay { terms: vec!["tv".into()] }],
            ..IndexSettings::default()
        };
        assert_eq!(lonely.check(), Err("synonyms[0]: a multi-way synonym needs two terms".into()));
    }

    #[test]
    fn rules_parse_and_refuse_what_cannot_work() {
        let parsed: IndexSettings = serde_json::from_str(
            r#"{"rules": [{"id": "fans", "condition": {"query": "fan", "match": "contains"},
                           "pin": [{"id": "22138", "position": 1}], "hide": ["21094"],
                           "boost": [{"filter": {"brand": ["Acme"]}, "weight": 2}],
                           "bury": [{"filter": {"in_stock": false}}],
                           "valid_from": "2026-06-01T00:00:00Z", "valid_until": "2026-09-01T00:00:00Z"}]}"#,
        )
        .expect("rule settings");
        assert!(parsed.check().is_ok());
        let rule = &parsed.rules[0];
        assert_eq!(rule.condition.as_ref().map(|c| c.matching), Some(QueryMatch::Contains));
        assert_eq!(rule.bury[0].weight, 1.0, "weight defaults to 1");
        let at = |text: &str| text.parse::<DateTime<Utc>>().expect("instant");
        assert!(rule.is_live(at("2026-07-01T00:00:00Z")));
        assert!(!rule.is_live(at("2026-05-31T23:59:59Z")));
        assert!(!rule.is_live(at("2026-09-01T00:00:00Z")), "the end of the window is excluded");
        assert!(!Rule { enabled: false, ..rule.clone() }.is_live(at("2026-07-01T00:00:00Z")));

        let refused = |edit: &dyn Fn(&mut Rule)| {
            let mut settings = parsed.clone();
            edit(&mut settings.rules[0]);
            settings.check().expect_err("refused")
        };
        assert!(refused(&|rule| rule.pin[0].position = 0).contains("positions"));
        assert!(refused(&|rule| rule.hide.push(rule.pin[0].id.clone())).contains("both pinned and hidden"));
        assert!(refused(&|rule| rule.boost[0].weight = f32::NAN).contains("weight"));
        assert!(refused(&|rule| std::mem::swap(&mut rule.valid_from, &mut rule.valid_until)).contains("before"));
        assert!(
            refused(&|rule| {
                rule.pin.clear();
                rule.hide.clear();
                rule.boost.clear();
                rule.bury.clear();
            })
            .contains("at least one")
        );
        let mut twice = parsed.clone();
        twice.rules.push(parsed.rules[0].clone());
        assert!(twice.check().expect_err("same id").contains("used twice"));
        assert!(serde_json::from_str::<IndexSettings>(r#"{"rules": [{"id": "x", "hide": ["  "]}]}"#).is_err());
    }

    proptest! {
        #[test]
        fn longer_words_never_get_a_smaller_budget(word in "[a-z]{1,20}", extra in "[a-z]{1,5}") {
            let typos = TypoTolerance::default();
            let longer = format!("{word}{extra}");
            for known in [true, false] {
                prop_assert!(typos.budget(&longer, known) >= typos.budget(&word, known));
                prop_assert!(typos.budget(&word, known) <= 2);
                prop_assert!(typos.budget(&word, false) >= typos.budget(&word, true));
            }
        }
    }
}
