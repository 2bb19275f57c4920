//! What an experiment is: its variants, where it runs (the surface), what kind of test it is and
//! which metric decides it — as created over the API and stored (JSON) in the analytics database.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use vitrine_models::settings::IndexSettings;
use vitrine_recommender::serve::Kind;

/// The most variants of an A/B test (the control included).
pub const MAX_VARIANTS: usize = 5;
/// The longest name of an experiment or a variant.
pub const MAX_NAME_CHARS: usize = 100;
/// The name of the one "variant" an interleaved answer belongs to.
pub const INTERLEAVED: &str = "interleaved";

/// How the variants are compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ExperimentKind {
    /// Each shopper sees one variant; the variants' metrics are compared.
    Ab,
    /// Team-draft interleaving of two rankings: each shopper sees one list merged from both, and
    /// each click is credited to the ranking that contributed the item.
    Interleaving,
}

/// Where an experiment runs: the search, or one kind of recommendations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Surface {
    /// `POST …/search`.
    Search,
    /// `POST …/recommendations` of kind `similar`.
    Similar,
    /// Of kind `bought_together`.
    BoughtTogether,
    /// Of kind `for_user`.
    ForUser,
    /// Of kind `cart`.
    Cart,
    /// Of kind `trending`.
    Trending,
}

impl Surface {
    /// Its name, as stored and as in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Surface::Search => "search",
            Surface::Similar => "similar",
            Surface::BoughtTogether => "bought_together",
            Surface::ForUser => "for_user",
            Surface::Cart => "cart",
            Surface::Trending => "trending",
        }
    }

    /// The surface of a recommendation kind.
    pub fn of_kind(kind: Kind) -> Surface {
        match kind {
            Kind::Similar => Surface::Similar,
            Kind::BoughtTogether => Surface::BoughtTogether,
            Kind::ForUser => Surface::ForUser,
            Kind::Cart => Surface::Cart,
            Kind::Trending => Surface::Trending,
        }
    }
}

/// The metric that decides an A/B test (every metric is reported).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Searches (or lists) with at least one click ÷ searches.
    ClickThroughRate,
    /// Searches with at least one add-to-cart ÷ searches.
    AddToCartRate,
    /// Searches with at least one purchase ÷ searches.
    ConversionRate,
    /// Order revenue of the variant's shoppers after their first exposure ÷ searches.
    RevenuePerSearch,
}

impl Metric {
    /// Every metric, in the order results list them.
    pub const ALL: [Metric; 4] =
        [Metric::ClickThroughRate, Metric::AddToCartRate, Metric::ConversionRate, Metric::RevenuePerSearch];
}

/// `"live"`: the index's settings as they are when each request is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Live {
    /// The live settings.
    Live,
}

/// A variant's settings: the live ones, or a draft — settings parts laid over the live settings
/// when each request is answered (as `POST …/settings/preview` does).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum VariantSettings {
    /// `"live"`.
    Live(Live),
    /// Settings parts, e.g. `{"ranking": {…}, "synonyms": […]}`.
    Draft(Map<String, Value>),
}

impl Default for VariantSettings {
    fn default() -> Self {
        VariantSettings::Live(Live::Live)
    }
}

/// One variant. The first of an experiment is its control.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VariantSpec {
    /// Unique within the experiment.
    pub name: String,
    /// Its share of shoppers, relative to the others' (default 1: equal shares). Interleaving
    /// ignores it.
    #[serde(default = "one")]
    pub weight: f64,
    /// The search settings it answers with (search experiments): `"live"` (the default), or a
    /// draft — settings parts laid over the live settings, e.g. `{"synonyms": […]}`.
    #[serde(default)]
    #[schema(value_type = Value)]
    pub settings: VariantSettings,
    /// The model version it recommends with (recommendation experiments; default: the current).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_version: Option<String>,
}

impl VariantSpec {
    /// The settings this variant answers with on `index`: `None` for the live ones, else its
    /// draft laid over the live settings and checked against the index's fields (as a draft is
    /// for `POST …/settings/preview`).
    ///
    /// # Errors
    /// Why the draft does not fit the index (now).
    pub fn draft_over(&self, index: &vitrine_indexer::ProductIndex) -> Result<Option<IndexSettings>, String> {
        match &self.settings {
            VariantSettings::Live(_) => Ok(None),
            VariantSettings::Draft(parts) => match vitrine_eval::search::draft_settings(index, parts) {
                Ok(settings) => Ok(Some(settings)),
                Err(vitrine_indexer::CatalogError::InvalidSettings(reason)) => Err(reason),
                Err(other) => Err(other.to_string()),
            },
        }
    }
}

fn one() -> f64 {
    1.0
}

fn default_alpha() -> f64 {
    0.05
}

/// The body of `POST /v1/indexes/{index}/experiments`, and the definition stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExperimentSpec {
    /// What it is for people.
    pub name: String,
    /// `ab` or `interleaving`.
    pub kind: ExperimentKind,
    /// Where it runs (default `search`).
    #[serde(default = "search")]
    pub surface: Surface,
    /// Two or more (interleaving: exactly two); the first is the control.
    pub variants: Vec<VariantSpec>,
    /// What decides it (default `click_through_rate`; interleaving decides by click preference).
    #[serde(default = "click_through_rate")]
    pub primary_metric: Metric,
    /// The significance level of its tests and intervals (default 0.05).
    #[serde(default = "default_alpha")]
    #[schema(minimum = 0.001, maximum = 0.2)]
    pub alpha: f64,
}

/// The scale τ of each metric's sequential test (the mixture SPRT's prior on the difference),
/// fixed when the experiment is created — from the index's own rates over the 30 days before,
/// or typical rates when it has too little history — so that it does not move with the data it
/// judges. τ = 0.1 × the baseline rate: the test is most sensitive to lifts of about 10 %.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Priors {
    /// Searches of the index the baselines were measured on (0: typical rates were used).
    pub baseline_searches: u64,
    /// τ of the click-through rate's difference.
    pub click_through_rate: f64,
    /// τ of the add-to-cart rate's difference.
    pub add_to_cart_rate: f64,
    /// τ of the conversion rate's difference.
    pub conversion_rate: f64,
    /// τ of revenue per search (minor units); none without past orders, then taken from the
    /// experiment's own data (both arms pooled).
    pub revenue_per_search: Option<f64>,
}

/// Past searches an index needs for its own rates to set the priors.
pub const MIN_BASELINE_SEARCHES: u64 = 100;

impl Priors {
    /// The priors from an index's past rates (`searches` searches; revenue in minor units per
    /// search), each falling back to a typical shop's rate when there is too little history.
    pub fn from_baselines(searches: u64, rates: [f64; 3], revenue_per_search: f64) -> Priors {
        const TYPICAL: [f64; 3] = [0.3, 0.1, 0.03];
        let enough = searches >= MIN_BASELINE_SEARCHES;
        let tau = |position: usize| {
            let rate = rates[position];
            let baseline = if enough && rate > 0.0 { rate } else { TYPICAL[position] };
            vitrine_eval::experiments::default_tau(baseline, vitrine_eval::experiments::DEFAULT_RELATIVE_EFFECT)
        };
        Priors {
            baseline_searches: if enough { searches } else { 0 },
            click_through_rate: tau(0),
            add_to_cart_rate: tau(1),
            conversion_rate: tau(2),
            revenue_per_search: (enough && revenue_per_search > 0.0).then(|| {
                vitrine_eval::experiments::default_tau(
                    revenue_per_search,
                    vitrine_eval::experiments::DEFAULT_RELATIVE_EFFECT,
                )
            }),
        }
    }

    /// τ for `metric`, if fixed.
    pub fn tau(&self, metric: Metric) -> Option<f64> {
        match metric {
            Metric::ClickThroughRate => Some(self.click_through_rate),
            Metric::AddToCartRate => Some(self.add_to_cart_rate),
            Metric::ConversionRate => Some(self.conversion_rate),
            Metric::RevenuePerSearch => self.revenue_per_search,
        }
    }
}

fn search() -> Surface {
    Surface::Search
}

fn click_through_rate() -> Metric {
    Metric::ClickThroughRate
}

impl ExperimentSpec {
    /// Checks the definition's shape (what the engines must check — drafts against the index,
    /// model versions against the store — is the caller's).
    ///
    /// # Errors
    /// Why it is not valid, for people.
    pub fn check(&self) -> Result<(), String> {
        if self.name.trim().is_empty() || self.name.chars().count() > MAX_NAME_CHARS {
            return Err(format!("`name` must be 1 to {MAX_NAME_CHARS} characters"));
        }
        if !(0.001..=0.2).contains(&self.alpha) {
            return Err("`alpha` must be between 0.001 and 0.2".to_owned());
        }
        match self.kind {
            ExperimentKind::Interleaving if self.variants.len() != 2 => {
                return Err("an interleaving experiment has exactly two variants".to_owned());
            }
            ExperimentKind::Ab if !(2..=MAX_VARIANTS).contains(&self.variants.len()) => {
                return Err(format!("an A/B test has 2 to {MAX_VARIANTS} variants (the first is the control)"));
            }
            _ => {}
        }
        let mut names = std::collections::HashSet::new();
        for variant in &self.variants {
            let name = variant.name.trim();
            if name.is_empty() || name.chars().count() > MAX_NAME_CHARS || name != variant.name {
                return Err(format!(
                    "variant name `{}`: 1 to {MAX_NAME_CHARS} characters, no space at either end",
                    variant.name
                ));
            }
            if name == INTERLEAVED {
                return Err(format!("`{INTERLEAVED}` is not a variant name (interleaved answers are called so)"));
            }
            if !names.insert(name) {
                return Err(format!("two variants are called `{name}`"));
            }
            if !(variant.weight.is_finite() && variant.weight > 0.0 && variant.weight <= 1e6) {
                return Err(format!("variant `{name}`: `weight` must be positive (at most 1,000,000)"));
            }
            match self.surface {
                Surface::Search if variant.model_version.is_some() => {
                    return Err(format!("variant `{name}`: a search experiment varies settings, not `model_version`"));
                }
                Surface::Search => {}
                _ if matches!(variant.settings, VariantSettings::Draft(_)) => {
                    return Err(format!(
                        "variant `{name}`: a recommendation experiment varies `model_version`, not settings"
                    ));
                }
                _ => {}
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn spec(value: Value) -> Result<ExperimentSpec, String> {
        let spec: ExperimentSpec = serde_json::from_value(value).map_err(|error| error.to_string())?;
        spec.check().map(|()| spec)
    }

    #[test]
    fn a_definition_reads_with_its_defaults_and_is_checked() {
        let ab = spec(json!({"name": "synonyms", "kind": "ab", "variants": [
            {"name": "control"}, {"name": "draft", "settings": {"synonyms": []}}]}))
        .expect("valid");
        assert_eq!((ab.surface, ab.primary_metric, ab.alpha), (Surface::Search, Metric::ClickThroughRate, 0.05));
        assert_eq!(ab.variants[0].settings, VariantSettings::Live(Live::Live));
        assert_eq!(ab.variants[1].weight, 1.0);
        let live =
            spec(json!({"name": "x", "kind": "ab", "variants": [{"name": "a", "settings": "live"}, {"name": "b"}]}))
                .expect("\"live\" is a setting");
        assert_eq!(live.variants[0].settings, VariantSettings::default());

        for (bad, why) in [
            (json!({"name": "x", "kind": "ab", "variants": [{"name": "a"}]}), "one variant"),
            (
                json!({"name": "x", "kind": "interleaving", "variants": [{"name": "a"}, {"name": "b"}, {"name": "c"}]}),
                "three interleaved",
            ),
            (json!({"name": "x", "kind": "ab", "variants": [{"name": "a"}, {"name": "a"}]}), "same names"),
            (
                json!({"name": "x", "kind": "ab", "variants": [{"name": "a", "weight": 0}, {"name": "b"}]}),
                "zero weight",
            ),
            (
                json!({"name": "x", "kind": "ab", "variants": [{"name": "a"}, {"name": "b", "model_version": "m1"}]}),
                "model on search",
            ),
            (
                json!({"name": "x", "kind": "ab", "surface": "similar", "variants": [{"name": "a"}, {"name": "b", "settings": {"ranking": {}}}]}),
                "draft on recs",
            ),
            (json!({"name": "", "kind": "ab", "variants": [{"name": "a"}, {"name": "b"}]}), "no name"),
            (json!({"name": "x", "kind": "ab", "alpha": 0.5, "variants": [{"name": "a"}, {"name": "b"}]}), "alpha"),
            (
                json!({"name": "x", "kind": "ab", "variants": [{"name": "a"}, {"name": "b"}], "extra": 1}),
                "unknown field",
            ),
            (
                json!({"name": "x", "kind": "ab", "variants": [{"name": "a"}, {"name": "b", "settings": "draft"}]}),
                "not live",
            ),
        ] {
            assert!(spec(bad).is_err(), "{why}");
        }
    }
}
