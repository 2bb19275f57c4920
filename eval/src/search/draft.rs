//! A draft of an index's settings against its live settings, on the same judged queries: the
//! comparison the merchandiser console (`POST …/settings/evaluate`) and `vitrine eval search
//! --settings` both show.
//!
//! A draft is any subset of the settings' parts (`synonyms`, `rules`, `ranking`,
//! `typo_tolerance`, …) laid over the live settings ([`IndexSettings::with_parts`]) and checked
//! against the index's fields ([`draft_settings`]). Both are run through [`evaluate`] (see
//! [`VitrineSearch::with_settings`]), per query variant; [`compare_draft`] turns the pairs of
//! reports into each metric's difference with its paired randomization test
//! ([`compare_reports`]) and the queries whose NDCG@10 the draft changes, most changed first.
//!
//! [`evaluate`]: super::evaluate
//! [`VitrineSearch::with_settings`]: super::VitrineSearch::with_settings

use serde::Serialize;
use serde_json::{Map, Value};
use vitrine_indexer::{CatalogError, ProductIndex, language_change};
use vitrine_models::settings::IndexSettings;

use super::evaluate::{QueryVariant, RelevanceReport};
use super::significance::{ComparisonRow, compare_reports};

/// The live settings of `index` with the parts of `draft` laid over them, checked like settings
/// being saved (rule filters against the index's fields). A draft cannot change the language of
/// the text (`language`, `field_languages`): the index's terms were analysed in the live one, and
/// query words stemmed in another would find nothing; a language is tried on a new index.
///
/// # Errors
/// [`CatalogError::InvalidSettings`] with the draft's reason for being refused, for the person who
/// wrote it; [`CatalogError::LanguageChangeRequiresReindex`] for a draft changing the language.
pub fn draft_settings(index: &ProductIndex, draft: &Map<String, Value>) -> Result<IndexSettings, CatalogError> {
    let live = index.settings();
    let settings = live.with_parts(draft).map_err(CatalogError::InvalidSettings)?;
    vitrine_query::check_rule_filters(&settings, index.fields())
        .map_err(|reason| CatalogError::InvalidSettings(reason.to_string()))?;
    if let Some(change) = language_change(&live, &settings) {
        return Err(CatalogError::LanguageChangeRequiresReindex(format!(
            "a draft cannot change the language of the text ({change}): the index's products were analysed in \
             the live one. Reindex into a new index with the new language and compare the two"
        )));
    }
    Ok(settings)
}

/// One judged query whose NDCG@10 the draft changes.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ChangedQuery {
    /// The query's id in the judgments.
    pub id: String,
    /// The text sent (with its typo, for the one-typo variant).
    pub query: String,
    /// `as typed` or `one typo`.
    pub variant: &'static str,
    /// NDCG@10 with the live settings.
    pub live_ndcg: f64,
    /// NDCG@10 with the draft.
    pub draft_ndcg: f64,
}

/// What a draft changes, over every query variant run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DraftComparison {
    /// Each metric of each variant, live against draft, with its p-value.
    pub rows: Vec<ComparisonRow>,
    /// The queries whose NDCG@10 differs, most changed first.
    pub changed: Vec<ChangedQuery>,
}

/// Compares the live and draft reports of each variant (both runs of the same judged queries,
/// in the same order).
pub fn compare_draft<'a>(
    runs: impl IntoIterator<Item = (QueryVariant, &'a RelevanceReport, &'a RelevanceReport)>,
) -> DraftComparison {
    let mut comparison = DraftComparison::default();
    for (variant, live, draft) in runs {
        comparison.rows.extend(compare_reports(live, draft, variant.label()));
        comparison.changed.extend(live.per_query.iter().zip(&draft.per_query).filter_map(|(live, draft)| {
            let (live_ndcg, draft_ndcg) = (live.ndcg?, draft.ndcg?);
            (live_ndcg != draft_ndcg).then(|| ChangedQuery {
                id: live.id.clone(),
                query: live.typo_query.clone().unwrap_or_else(|| live.query.clone()),
                variant: variant.label(),
                live_ndcg,
                draft_ndcg,
            })
        }));
    }
    comparison
        .changed
        .sort_by(|a, b| (b.draft_ndcg - b.live_ndcg).abs().total_cmp(&(a.draft_ndcg - a.live_ndcg).abs()));
    comparison
}
