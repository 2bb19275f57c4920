//! Per-index settings: typo tolerance, ranking weights, facets. Stored beside each index as
//! `settings.json`; every field has a default, so `{}` is a valid settings document and unknown
//! keys are refused.

use serde::{Deserialize, Serialize};

/// All settings of one index.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
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
}

impl IndexSettings {
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
        if self.synonyms.len() > 10_000 {
            return Err("at most 10,000 synonym rules".into());
        }
        for (position, synonym) in self.synonyms.iter().enumerate() {
            synonym.check().map_err(|reason| format!("synonyms[{position}]: {reason}"))?;
        }
        Ok(())
    }
}

/// A synonym rule. Terms may be several words (`"sofa bed"`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
        }
    }
}

/// Facet settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FacetSettings {
    /// Attributes that may be filtered on and counted (besides `brand`, `category`, `price`).
    pub attributes: Vec<String>,
    /// Boundaries of the price buckets, ascending (`[10, 50]` gives <10, 10–50, ≥50).
    pub price_buckets: Vec<f64>,
    /// Most values returned per facet.
    pub max_values_per_facet: usize,
}

impl Default for FacetSettings {
    fn default() -> Self {
        FacetSettings {
            attributes: Vec::new(),
            price_buckets: vec![1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0],
            max_values_per_facet: 100,
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

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
