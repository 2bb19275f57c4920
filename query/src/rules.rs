//! Merchandising rules at query time: which rules a search triggers, and what they do to it.
//!
//! A rule triggers when its condition matches the query's words (`exact`: the same words;
//! `contains`: its words together and in order inside the query; no condition: every search)
//! and it is live (enabled, inside its validity window). Then:
//! - **hide**: the products (and the variants of a hidden parent) are left out of the results,
//!   the total and the facet counts;
//! - **pin**: each product is put at its position if it passes the shopper's filters (it need not
//!   match the query words); the first rule to claim a position keeps it;
//! - **boost / bury**: products matching the rule's filter gain (lose) `weight` units: under
//!   relevance ranking a unit is a typo tier, so 10 units outweigh one matched query word; when
//!   browsing, boosted products come first and buried ones last.
//!
//! Pins, boosts and buries shape the shop's own order (relevance, or browsing's default); a sort
//! the shopper chose (price, newest…) is kept as chosen, and only hides apply.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use tantivy::index::SegmentId;
use tantivy::query::{EnableScoring, Query, TermQuery};
use tantivy::schema::IndexRecordOption;
use tantivy::{BitSet, DocId, Searcher, SegmentReader, Term};
use vitrine_indexer::ProductFields;
use vitrine_models::ProductId;
use vitrine_models::settings::{IndexSettings, QueryMatch, Rule};

use crate::error::QueryError;
use crate::filters::{FilterClause, parse_filters};
use crate::words::{QueryWord, exact_words};

/// What the live rules triggered by one search ask for.
#[derive(Debug, Default)]
pub(crate) struct Merchandising {
    /// The ids of the rules applied, in settings order.
    pub(crate) applied: Vec<String>,
    /// Pinned products with their 1-based positions, by position.
    pub(crate) pins: Vec<(ProductId, usize)>,
    /// Products left out.
    pub(crate) hidden: Vec<ProductId>,
    /// Filter queries with signed weights (negative buries).
    pub(crate) boosts: Vec<(Box<dyn Query>, f32)>,
}

/// The exact-analyzer words of a text, for comparing queries.
fn normalised(text: &str) -> Vec<String> {
    exact_words(text)
}

/// Whether a live rule's condition matches the query's words.
fn triggers(rule: &Rule, words: &[String]) -> bool {
    let Some(condition) = &rule.condition else {
        return true;
    };
    let wanted = normalised(&condition.query);
    match condition.matching {
        QueryMatch::Exact => wanted == words,
        QueryMatch::Contains => {
            wanted.is_empty() || words.windows(wanted.len()).any(|window| window == wanted.as_slice())
        }
    }
}

/// Every filter of a rule as one query (all fields must match).
fn filter_query(
    filter: &serde_json::Value,
    fields: &ProductFields,
    settings: &IndexSettings,
) -> Result<Box<dyn Query>, QueryError> {
    let clauses: Vec<FilterClause> = parse_filters(Some(filter), fields, settings)?;
    Ok(Box::new(tantivy::query::BooleanQuery::new(
        clauses.into_iter().map(|clause| (tantivy::query::Occur::Must, clause.query)).collect(),
    )))
}

impl Merchandising {
    /// The rules a search for `words` triggers at `now`.
    pub(crate) fn for_query(
        settings: &IndexSettings,
        fields: &ProductFields,
        words: &[QueryWord],
        now: DateTime<Utc>,
    ) -> Result<Merchandising, QueryError> {
        let mut merchandising = Merchandising::default();
        if settings.rules.is_empty() {
            return Ok(merchandising);
        }
        let words: Vec<String> = words.iter().map(|word| word.exact.clone()).collect();
        for rule in settings.rules.iter().filter(|rule| rule.is_live(now) && triggers(rule, &words)) {
            merchandising.applied.push(rule.id.clone());
            for pin in &rule.pin {
                let taken = merchandising.pins.iter().any(|(id, position)| *id == pin.id || *position == pin.position)
                    || merchandising.hidden.contains(&pin.id);
                if !taken {
                    merchandising.pins.push((pin.id.clone(), pin.position));
                }
            }
            for id in &rule.hide {
                merchandising.pins.retain(|(pinned, _)| pinned != id);
                merchandising.hidden.push(id.clone());
            }
            for boost in &rule.boost {
                merchandising.boosts.push((filter_query(&boost.filter, fields, settings)?, boost.weight));
            }
            for bury in &rule.bury {
                merchandising.boosts.push((filter_query(&bury.filter, fields, settings)?, -bury.weight));
            }
        }
        merchandising.pins.sort_by_key(|(_, position)| *position);
        Ok(merchandising)
    }

    /// Queries for what must not be found: hidden products and their variants.
    pub(crate) fn exclusions(&self, fields: &ProductFields) -> Vec<Box<dyn Query>> {
        self.hidden.iter().flat_map(|id| [fields.id, fields.parent_id].map(|field| id_query(field, id))).collect()
    }
}

/// The documents whose `field` (id or parent id) is `id`.
pub(crate) fn id_query(field: tantivy::schema::Field, id: &ProductId) -> Box<dyn Query> {
    Box::new(TermQuery::new(Term::from_field_text(field, id.as_str()), IndexRecordOption::Basic))
}

/// Checks every rule's filters against the index's fields, so a rule that could never apply is
/// refused when it is saved rather than failing searches later.
pub fn check_rule_filters(settings: &IndexSettings, fields: &ProductFields) -> Result<(), QueryError> {
    for rule in &settings.rules {
        for boost in rule.boost.iter().chain(&rule.bury) {
            filter_query(&boost.filter, fields, settings).map_err(|error| match error {
                QueryError::InvalidFilter(reason) => QueryError::InvalidFilter(format!("rule `{}`: {reason}", rule.id)),
                QueryError::UnknownField(field) => {
                    QueryError::InvalidFilter(format!("rule `{}`: unknown filter field `{field}`", rule.id))
                }
                other => other,
            })?;
        }
    }
    Ok(())
}

/// The boost of every document, per segment: which documents each boost filter matches.
#[derive(Clone, Default)]
pub(crate) struct Boosts {
    by_segment: Arc<HashMap<SegmentId, Vec<(BitSet, f32)>>>,
}

impl Boosts {
    /// Evaluates the boost filters on every segment of `searcher`.
    pub(crate) fn compute(searcher: &Searcher, boosts: &[(Box<dyn Query>, f32)]) -> tantivy::Result<Boosts> {
        if boosts.is_empty() {
            return Ok(Boosts::default());
        }
        let mut by_segment: HashMap<SegmentId, Vec<(BitSet, f32)>> = HashMap::new();
        for (query, weight) in boosts {
            let compiled = query.weight(EnableScoring::disabled_from_searcher(searcher))?;
            for segment in searcher.segment_readers() {
                let mut matching = BitSet::with_max_value(segment.max_doc());
                compiled.for_each_no_score(segment, &mut |docs| {
                    for doc in docs {
                        matching.insert(*doc);
                    }
                })?;
                by_segment.entry(segment.segment_id()).or_default().push((matching, *weight));
            }
        }
        Ok(Boosts { by_segment: Arc::new(by_segment) })
    }

    /// Whether any boost or bury applies.
    pub(crate) fn is_empty(&self) -> bool {
        self.by_segment.is_empty()
    }

    /// The summed signed weight of a document of `segment`.
    pub(crate) fn for_segment(&self, segment: &SegmentReader) -> impl Fn(DocId) -> f64 + use<> {
        let boosts = self.by_segment.clone();
        let id = segment.segment_id();
        move |doc| {
            boosts.get(&id).map_or(0.0, |sets| {
                sets.iter().filter(|(matching, _)| matching.contains(doc)).map(|(_, weight)| f64::from(*weight)).sum()
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use vitrine_models::settings::{Pin, RuleCondition};

    use super::*;
    use crate::words::query_words;

    fn rule(id: &str, query: Option<(&str, QueryMatch)>) -> Rule {
        Rule {
            id: id.into(),
            enabled: true,
            condition: query.map(|(query, matching)| RuleCondition { query: query.into(), matching }),
            valid_from: None,
            valid_until: None,
            pin: Vec::new(),
            hide: Vec::new(),
            boost: Vec::new(),
            bury: Vec::new(),
        }
    }

    #[test]
    fn conditions_compare_normalised_words() {
        let words = normalised("Red  FAN heater!");
        assert!(triggers(&rule("a", Some(("fan heater", QueryMatch::Contains))), &words));
        assert!(!triggers(&rule("b", Some(("heater fan", QueryMatch::Contains))), &words), "order matters");
        assert!(!triggers(&rule("c", Some(("fan heater", QueryMatch::Exact))), &words));
        assert!(triggers(&rule("d", Some(("red fan heater", QueryMatch::Exact))), &words));
        assert!(triggers(&rule("e", None), &words), "no condition: every search");
        assert!(triggers(&rule("f", Some(("", QueryMatch::Exact))), &[]), "an empty exact query is browsing");
        assert!(!triggers(&rule("g", Some(("", QueryMatch::Exact))), &words));
    }

    #[test]
    fn the_first_rule_keeps_a_position_and_hides_win_over_pins() {
        let (_, fields) = ProductFields::schema();
        let id = |text: &str| ProductId::new(text).expect("id");
        let mut first = rule("first", None);
        first.pin = vec![Pin { id: id("a"), position: 1 }, Pin { id: id("b"), position: 3 }];
        let mut second = rule("second", None);
        second.pin = vec![Pin { id: id("c"), position: 1 }, Pin { id: id("d"), position: 2 }];
        second.hide = vec![id("b")];
        let mut later = rule("later", Some(("lamp", QueryMatch::Exact)));
        later.hide = vec![id("a")];
        let settings = IndexSettings { rules: vec![first, second, later], ..IndexSettings::default() };
        let merchandising =
            Merchandising::for_query(&settings, &fields, &query_words("fan", &settings).0, Utc::now()).expect("rules");
        assert_eq!(merchandising.applied, ["first", "second"]);
        let pins: Vec<(&str, usize)> = merchandising.pins.iter().map(|(id, at)| (id.as_str(), *at)).collect();
        assert_eq!(pins, [("a", 1), ("d", 2)]);
        assert_eq!(merchandising.hidden, [id("b")]);
        assert_eq!(merchandising.exclusions(&fields).len(), 2, "the product and its variants");
    }
}
