//! Reading the analytics back: an index's report (top queries, queries without results,
//! click-through and conversion rates, events by kind; the rates are defined in the
//! [module documentation](super)) and the popular past queries autocomplete offers.

use std::collections::BTreeMap;

use chrono::Utc;
use serde::Serialize;
use sqlx::SqlitePool;
use vitrine_models::{IndexName, InteractionKind};

use super::store::AnalyticsError;

/// A past query is offered as a suggestion once it was searched this many times (with results),
/// so a query typed once by one shopper is not shown to everyone.
pub const MIN_SEARCHES_TO_SUGGEST: i64 = 2;

/// Which searches a report covers, and how long its lists are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportParams {
    /// Only the last `days` days (searches by their time, events by theirs); `None` is all time.
    pub days: Option<u32>,
    /// The most entries in each list (top queries, queries without results).
    pub limit: u32,
}

/// An index's search analytics. Rates are defined in the [module documentation](self).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct AnalyticsReport {
    /// The window in days, `None` for all time.
    pub days: Option<u32>,
    /// Searches answered.
    pub total_searches: u64,
    /// Searches that returned at least one result.
    pub searches_with_results: u64,
    /// Searches that returned nothing.
    pub searches_without_results: u64,
    /// Searches with results that got at least one click.
    pub clicked_searches: u64,
    /// Searches with results that led to at least one add-to-cart or purchase.
    pub converted_searches: u64,
    /// `clicked_searches / searches_with_results`.
    pub click_through_rate: Option<f64>,
    /// `converted_searches / searches_with_results`.
    pub conversion_rate: Option<f64>,
    /// Events received, by kind (every kind present, zero included).
    pub events: BTreeMap<InteractionKind, u64>,
    /// The most frequent queries, most frequent first.
    pub top_queries: Vec<TopQuery>,
    /// The most frequent queries that returned nothing, most frequent first.
    pub zero_result_queries: Vec<ZeroResultQuery>,
}

/// One of the most frequent queries.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct TopQuery {
    /// The normalized query.
    pub query: String,
    /// How many times it was searched.
    pub count: u64,
    /// The average number of results it returned.
    pub average_result_count: f64,
    /// Its searches with results that got at least one click.
    pub clicked_searches: u64,
    /// `clicked_searches` ÷ its searches with results; `None` if it never returned anything.
    pub click_through_rate: Option<f64>,
}

/// A query that returned nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ZeroResultQuery {
    /// The normalized query.
    pub query: String,
    /// How many times it was searched (and found nothing).
    pub count: u64,
}

/// The report for `index` over the window of `params`.
pub(super) async fn report(
    pool: &SqlitePool,
    index: &IndexName,
    params: &ReportParams,
) -> Result<AnalyticsReport, AnalyticsError> {
    const MILLIS_PER_DAY: i64 = 24 * 60 * 60 * 1000;
    let since_ms =
        params.days.map_or(i64::MIN, |days| Utc::now().timestamp_millis() - i64::from(days) * MILLIS_PER_DAY);
    let limit = i64::from(params.limit);

    // A search counts as clicked (converted) when its id is among the ids of this index's
    // click (add-to-cart or purchase) events; `IN` counts each search once however many
    // events it got.
    let (total, without_results, clicked, converted): (i64, i64, i64, i64) = sqlx::query_as(
        "SELECT COUNT(*),
                COALESCE(SUM(result_count = 0), 0),
                COALESCE(SUM(result_count > 0 AND query_id IN (
                    SELECT query_id FROM events
                    WHERE index_name = ?1 AND kind = 'click' AND query_id IS NOT NULL)), 0),
                COALESCE(SUM(result_count > 0 AND query_id IN (
                    SELECT query_id FROM events
                    WHERE index_name = ?1 AND kind IN ('add_to_cart', 'purchase') AND query_id IS NOT NULL)), 0)
         FROM searches
         WHERE index_name = ?1 AND at_ms >= ?2",
    )
    .bind(index.as_str())
    .bind(since_ms)
    .fetch_one(pool)
    .await?;

    let top: Vec<(String, i64, f64, i64, i64)> = sqlx::query_as(
        "SELECT query,
                COUNT(*) AS searches,
                AVG(result_count),
                SUM(result_count > 0),
                SUM(result_count > 0 AND query_id IN (
                    SELECT query_id FROM events
                    WHERE index_name = ?1 AND kind = 'click' AND query_id IS NOT NULL))
         FROM searches
         WHERE index_name = ?1 AND at_ms >= ?2
         GROUP BY query
         ORDER BY searches DESC, query
         LIMIT ?3",
    )
    .bind(index.as_str())
    .bind(since_ms)
    .bind(limit)
    .fetch_all(pool)
    .await?;

    let zero: Vec<(String, i64)> = sqlx::query_as(
        "SELECT query, COUNT(*) AS searches
         FROM searches
         WHERE index_name = ?1 AND at_ms >= ?2 AND result_count = 0
         GROUP BY query
         ORDER BY searches DESC, query
         LIMIT ?3",
    )
    .bind(index.as_str())
    .bind(since_ms)
    .bind(limit)
    .fetch_all(pool)
    .await?;

    let by_kind: Vec<(String, i64)> =
        sqlx::query_as("SELECT kind, COUNT(*) FROM events WHERE index_name = ?1 AND at_ms >= ?2 GROUP BY kind")
            .bind(index.as_str())
            .bind(since_ms)
            .fetch_all(pool)
            .await?;

    let mut events: BTreeMap<InteractionKind, u64> = InteractionKind::ALL.into_iter().map(|kind| (kind, 0)).collect();
    for (kind, count) in by_kind {
        // Only this module writes `kind`, always from an `InteractionKind`.
        if let Ok(kind) = kind.parse::<InteractionKind>() {
            events.insert(kind, count_of(count));
        }
    }
    let with_results = total - without_results;
    Ok(AnalyticsReport {
        days: params.days,
        total_searches: count_of(total),
        searches_with_results: count_of(with_results),
        searches_without_results: count_of(without_results),
        clicked_searches: count_of(clicked),
        converted_searches: count_of(converted),
        click_through_rate: rate(clicked, with_results),
        conversion_rate: rate(converted, with_results),
        events,
        top_queries: top
            .into_iter()
            .map(|(query, count, average_result_count, with_results, clicked)| TopQuery {
                query,
                count: count_of(count),
                average_result_count,
                clicked_searches: count_of(clicked),
                click_through_rate: rate(clicked, with_results),
            })
            .collect(),
        zero_result_queries: zero
            .into_iter()
            .map(|(query, count)| ZeroResultQuery { query, count: count_of(count) })
            .collect(),
    })
}

/// Past queries of `index` starting with `prefix` (normalized: see
/// [`vitrine_query::query_prefix`]) that returned results, searched at least
/// [`MIN_SEARCHES_TO_SUGGEST`] times, most searched first; at most `limit`.
pub(super) async fn popular_queries(
    pool: &SqlitePool,
    index: &IndexName,
    prefix: &str,
    limit: u32,
) -> Result<Vec<String>, AnalyticsError> {
    // `query >= prefix AND query < prefix + U+10FFFF` is "starts with prefix" as a range on
    // the (index_name, query, result_count) index (text compares by code point); unlike
    // LIKE it needs no escaping and stays case-sensitive, as stored queries are lower-case.
    let upper = format!("{prefix}{}", char::MAX);
    let queries: Vec<(String,)> = sqlx::query_as(
        "SELECT query
         FROM searches
         WHERE index_name = ?1 AND query >= ?2 AND query < ?3 AND query <> '' AND result_count > 0
         GROUP BY query
         HAVING COUNT(*) >= ?4
         ORDER BY COUNT(*) DESC, query
         LIMIT ?5",
    )
    .bind(index.as_str())
    .bind(prefix)
    .bind(upper)
    .bind(MIN_SEARCHES_TO_SUGGEST)
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await?;
    Ok(queries.into_iter().map(|(query,)| query).collect())
}

/// A `COUNT`/`SUM` from SQLite (never negative) as a count.
fn count_of(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

/// `part / whole`, or `None` when `whole` is zero.
fn rate(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}
