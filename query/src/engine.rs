//! Runs a search against one product index.
//!
//! The search orchestrates the other modules, request → response: the query's words
//! (`words.rs`) become the text query (`text.rs`, where the tiers that rank it are described),
//! AND the filters (`filters.rs`), minus what the merchandising rules hide (`rules.rs`), asking
//! for every word first and for fewer while too few products match (`text.rs`); the
//! matches are ranked (`ranking.rs`), collapsed by product family when the index has variants
//! (`collapse.rs`) and counted by facet (`facets.rs`: in the same pass, plus one pass per facet
//! the shopper filters on); pinned products are placed around the organic results (`pins.rs`),
//! and the page's hits are read and highlighted (`highlight.rs`).

use std::collections::BTreeMap;
use std::time::Instant;

use chrono::Utc;
use tantivy::collector::{Count, TopDocs};
use tantivy::schema::Facet;
use vitrine_indexer::ProductIndex;
use vitrine_models::settings::IndexSettings;

use crate::collapse::{CollapsedTop, has_variants};
use crate::error::QueryError;
use crate::facets::{FacetCounts, facet_collectors, read_facet_pass, selected_category};
use crate::filters::{FacetField, filtered, parse_filters};
use crate::highlight::Highlighter;
use crate::pins::{Placed, pinned_products, place};
use crate::ranking::sort_key_fn;
use crate::request::{Hit, SearchRequest, SearchResponse, SortOrder, check_filter_size};
use crate::rules::{Boosts, Merchandising};
use crate::text::{TextQuery, text_query};
use crate::words::query_words;

/// The products outside a restriction (a shopper token's filter), as one query to exclude: the
/// restriction then holds for the results, the pins and every facet pass alike.
fn outside_restriction(
    restriction: Option<&serde_json::Value>,
    fields: &vitrine_indexer::ProductFields,
    settings: &IndexSettings,
) -> Result<Option<Box<dyn tantivy::query::Query>>, QueryError> {
    use tantivy::query::{AllQuery, BooleanQuery, Occur};
    let clauses = parse_filters(restriction, fields, settings)?;
    if clauses.is_empty() {
        return Ok(None);
    }
    let inside = BooleanQuery::new(clauses.into_iter().map(|clause| (Occur::Must, clause.query)).collect());
    Ok(Some(Box::new(BooleanQuery::new(vec![(Occur::Must, Box::new(AllQuery)), (Occur::MustNot, Box::new(inside))]))))
}

/// Runs a search.
///
/// # Errors
/// A request out of bounds ([`SearchRequest::check`]) or naming unknown fields, or the engine
/// failed.
pub fn search(
    index: &ProductIndex,
    settings: &IndexSettings,
    request: &SearchRequest,
) -> Result<SearchResponse, QueryError> {
    search_unless_abandoned(index, settings, request, &|| false)
}

/// As [`search`], giving up with [`QueryError::Abandoned`] between its passes once `abandoned`
/// says the answer is no longer wanted (its HTTP request timed out or its client left).
///
/// # Errors
/// As [`search`], and [`QueryError::Abandoned`].
pub fn search_unless_abandoned(
    index: &ProductIndex,
    settings: &IndexSettings,
    request: &SearchRequest,
    abandoned: &dyn Fn() -> bool,
) -> Result<SearchResponse, QueryError> {
    let started = Instant::now();
    let (offset, limit) = request.window()?;
    check_filter_size(request.filter.as_ref())?;
    let fields = index.fields();
    let filters = parse_filters(request.filter.as_ref(), fields, settings)?;
    let requested: Vec<FacetField> =
        request.facet_names()?.into_iter().map(|name| FacetField::resolve(name, settings)).collect::<Result<_, _>>()?;
    let give_up_if_abandoned = || if abandoned() { Err(QueryError::Abandoned) } else { Ok(()) };
    give_up_if_abandoned()?;
    let (words, ignored_words) = query_words(&request.q, settings);
    let default_sort = if words.is_empty() { "popularity" } else { "relevance" };
    let sort = SortOrder::parse(Some(request.sort.as_deref().unwrap_or(default_sort)))?;
    let searcher = index.searcher();
    let text = text_query(index, &searcher, settings, &words)?;

    // Merchandising: hides always apply; pins, boosts and buries shape the shop's own order
    // (relevance, or browsing's default), never a sort the shopper chose.
    let merchandising = Merchandising::for_query(settings, fields, &words, Utc::now())?;
    let shop_order = request.sort.is_none() || sort == SortOrder::Relevance;
    let mut excluded = merchandising.exclusions(fields);
    excluded.extend(outside_restriction(request.restriction.as_ref(), fields, settings)?);
    let collapse = settings.variants.collapse && has_variants(&searcher, fields)?;
    let boosts = match shop_order {
        true => Boosts::compute(&searcher, &merchandising.boosts)?,
        false => Boosts::default(),
    };

    // Facets with a selected value are counted without their own filter (disjunctive faceting:
    // checkboxes show what else could be ticked), one extra pass each; the others are counted
    // in the main pass.
    let (own_filter, shared): (Vec<&FacetField>, Vec<&FacetField>) =
        requested.iter().partition(|field| filters.iter().any(|clause| &clause.field == *field));
    let category_node = Facet::from_path(selected_category(request.filter.as_ref()));

    // Products matching every word; while fewer than a page match, products matching one word
    // fewer (`text.rs`). The page size alone decides, so the total a first page shows holds on
    // every later page.
    let mut required = text.as_ref().map_or(0, TextQuery::word_count);
    let (text, pinned, organic, organic_total, (shared_results, shared_categories)) = loop {
        let text = text.as_ref().map(|text| text.matching(required));
        let query = filtered(text.as_deref(), &filters, None, &excluded);
        let pinned = match shop_order {
            true => pinned_products(index, &searcher, query.as_ref(), &filters, &excluded, &merchandising, collapse)?,
            false => Vec::new(),
        };
        let key_fn = sort_key_fn(sort, settings, boosts.clone());
        let shared_collectors = facet_collectors(index, settings, &shared, &category_node)?;
        // Enough organic results to fill the page around the pins (pinned ones are dropped).
        let organic_wanted = offset + limit + pinned.len();
        let (organic, organic_total, facets) = if collapse {
            let ((families, total), facets) =
                searcher.search(&query, &(CollapsedTop::new(organic_wanted, key_fn), shared_collectors))?;
            let organic = families
                .into_iter()
                .map(|family| Placed {
                    address: family.address,
                    group: Some(family.group),
                    key: Some(family.key),
                    pinned: false,
                })
                .collect::<Vec<_>>();
            (organic, total, facets)
        } else {
            let top = TopDocs::with_limit(organic_wanted).tweak_score(key_fn);
            let ((ranked, total), facets) = searcher.search(&query, &((top, Count), shared_collectors))?;
            let organic = ranked
                .into_iter()
                .map(|(key, address)| Placed { address, group: None, key: Some(key), pinned: false })
                .collect::<Vec<_>>();
            (organic, total, facets)
        };
        if required > 1 && organic_total < limit {
            required -= 1;
            give_up_if_abandoned()?;
            continue;
        }
        break (text, pinned, organic, organic_total, facets);
    };
    let total = organic_total + pinned.iter().filter(|pin| !pin.matches_query).count();

    let mut counts = FacetCounts::default();
    if !shared.is_empty() {
        read_facet_pass(&shared, shared_results.as_ref(), shared_categories.as_ref(), &mut counts)?;
    }
    for field in own_filter {
        give_up_if_abandoned()?;
        let pass_query = filtered(text.as_deref(), &filters, Some(field), &excluded);
        let collectors = facet_collectors(index, settings, &[field], &category_node)?;
        let (results, categories) = searcher.search(&pass_query, &collectors)?;
        read_facet_pass(&[field], results.as_ref(), categories.as_ref(), &mut counts)?;
    }

    give_up_if_abandoned()?;
    let highlighter = text.as_deref().map(|text| Highlighter::new(&searcher, text, fields)).transpose()?;
    let hits = place(organic, &pinned, offset + limit)
        .into_iter()
        .skip(offset)
        .map(|placed| {
            let found = index.product_at(&searcher, placed.address)?;
            // A collapsed family shows its parent, naming the variant that matched best.
            let (document, variant_id) = match (&found.parent_id, collapse && !placed.pinned) {
                (Some(parent), true) => match index.get(parent)? {
                    Some(parent) => (parent, Some(found.id.to_string())),
                    None => (found, None),
                },
                _ => (found, None),
            };
            let highlight =
                highlighter.as_ref().map(|highlighter| highlighter.highlight(&document)).unwrap_or_default();
            Ok(Hit {
                id: document.id.to_string(),
                score: placed.key.map_or(0.0, |key| key.key),
                document,
                highlight,
                variant_id,
                pinned: placed.pinned,
            })
        })
        .collect::<Result<Vec<_>, tantivy::TantivyError>>()?;
    Ok(SearchResponse {
        hits,
        total,
        facet_order: facet_order(&counts.facets, settings),
        facets: counts.facets,
        facet_stats: counts.stats,
        took_ms: started.elapsed().as_secs_f64() * 1000.0,
        ignored_words,
        applied_rules: merchandising.applied,
    })
}

/// The values of each counted facet that has a configured order, in that order.
fn facet_order(
    facets: &BTreeMap<String, BTreeMap<String, u64>>,
    settings: &IndexSettings,
) -> BTreeMap<String, Vec<String>> {
    facets
        .iter()
        .filter_map(|(name, values)| {
            let order = settings.facets.value_order.get(name)?;
            let mut listed: Vec<(String, u64)> = values.iter().map(|(value, count)| (value.clone(), *count)).collect();
            order.sort(&mut listed);
            Some((name.clone(), listed.into_iter().map(|(value, _)| value).collect()))
        })
        .collect()
}
