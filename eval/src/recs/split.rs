//! The global temporal split: one cutoff for everybody, train strictly before, test at or after.

use std::fmt;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use polars::prelude::*;
use serde::Serialize;
use vitrine_recommender::matrix::Interactions;

use super::RecsError;
use super::data::{InteractionLog, log_columns, replicated_block};

/// The share of the timestamps before the default cutoff: the cutoff is the timestamp at index
/// `floor(0.8 × n)` of the `n` timestamps sorted ascending.
pub const DEFAULT_TRAIN_FRACTION: f64 = 0.8;

/// Where the log is cut in time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cutoff {
    /// The timestamp at index `floor(fraction × n)` (clamped to `n − 1`) of the `n` timestamps of
    /// the log sorted ascending. `Quantile(0.8)` is the default.
    Quantile(f64),
    /// A fixed time, in Unix seconds.
    At(i64),
}

impl Default for Cutoff {
    fn default() -> Cutoff {
        Cutoff::Quantile(DEFAULT_TRAIN_FRACTION)
    }
}

impl Cutoff {
    /// The cutoff used for Online Retail II: 2010-09-01 00:00:00 (the file's naive UK times are
    /// read as UTC).
    pub const ONLINE_RETAIL_II: Cutoff = Cutoff::At(1_283_299_200);

    /// Reads a fixed cutoff: Unix seconds (`1283299200`) or ISO 8601 (`2010-09-01`,
    /// `2010-09-01 00:00:00`, `2010-09-01T00:00:00`, `2010-09-01T00:00:00Z`, `…+02:00`). Times
    /// without an offset are UTC.
    pub fn parse(text: &str) -> Result<Cutoff, String> {
        let text = text.trim();
        if let Ok(seconds) = text.parse::<i64>() {
            return Ok(Cutoff::At(seconds));
        }
        if let Ok(time) = DateTime::parse_from_rfc3339(text) {
            return Ok(Cutoff::At(time.timestamp()));
        }
        for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"] {
            if let Ok(time) = NaiveDateTime::parse_from_str(text, format) {
                return Ok(Cutoff::At(time.and_utc().timestamp()));
            }
        }
        if let Some(midnight) =
            NaiveDate::parse_from_str(text, "%Y-%m-%d").ok().and_then(|day| day.and_hms_opt(0, 0, 0))
        {
            return Ok(Cutoff::At(midnight.and_utc().timestamp()));
        }
        Err(format!("`{text}` is neither Unix seconds nor an ISO 8601 date or time"))
    }

    /// The cutoff in Unix seconds for `log`.
    ///
    /// # Errors
    /// [`RecsError::EmptySplit`] for an empty log with a [`Cutoff::Quantile`] rule.
    pub fn resolve(self, log: &InteractionLog) -> Result<i64, RecsError> {
        let fraction = match self {
            Cutoff::At(seconds) => return Ok(seconds),
            Cutoff::Quantile(fraction) => fraction,
        };
        let n = log.len();
        if n == 0 {
            return Err(RecsError::EmptySplit { cutoff: self.to_string(), reason: "the log has no rows".to_string() });
        }
        let index = quantile_index(fraction, n);
        let sorted = log
            .frame()
            .clone()
            .lazy()
            .select([col(log_columns::TIMESTAMP).sort(SortOptions::default())])
            .slice(i64::try_from(index).unwrap_or(i64::MAX), 1)
            .collect()?;
        let cutoff = sorted.column(log_columns::TIMESTAMP)?.i64()?.get(0);
        cutoff.ok_or_else(|| RecsError::EmptySplit { cutoff: self.to_string(), reason: "no timestamp".to_string() })
    }
}

impl fmt::Display for Cutoff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cutoff::Quantile(fraction) => write!(f, "the timestamp at index floor({fraction} × n)"),
            Cutoff::At(seconds) => f.write_str(&iso_utc(*seconds)),
        }
    }
}

/// `floor(fraction × n)`, clamped to `0..n` (computed in `f64`, as the Python yardstick does).
pub fn quantile_index(fraction: f64, n: usize) -> usize {
    let index = (fraction * n as f64).floor();
    if index.is_nan() || index < 0.0 {
        return 0;
    }
    (index as usize).min(n.saturating_sub(1))
}

/// Unix seconds as ISO 8601 UTC (`2010-09-01T00:00:00Z`).
pub fn iso_utc(seconds: i64) -> String {
    DateTime::<Utc>::from_timestamp(seconds, 0)
        .map_or_else(|| format!("{seconds} s"), |time| time.format("%Y-%m-%dT%H:%M:%SZ").to_string())
}

/// What the models train on: the interactions strictly before the cutoff, with dense ids.
///
/// Users and items get dense ids `0..n` in the byte order of their string ids, so "ties by id"
/// means the same in every implementation of the protocol.
#[derive(Debug, Clone)]
pub struct TrainSet {
    /// Dense user id → the user's id in the log, sorted.
    pub user_ids: Vec<String>,
    /// Dense item id → the item's id in the log, sorted. These are the candidates of every
    /// ranking.
    pub item_ids: Vec<String>,
    /// Users × items; the weight of a pair is its number of distinct train baskets.
    pub interactions: Interactions,
    /// The last train time (Unix seconds) of every stored entry of `interactions`, in the order
    /// of [`Interactions::iter`] (row by row, columns increasing).
    pub last_seen: Vec<i64>,
    /// Train baskets × items, weight 1. A basket is a (user, basket id) pair, numbered by time
    /// (then user id, then basket id).
    pub baskets: Interactions,
    /// The dense user of every basket row.
    pub basket_users: Vec<u32>,
    /// The time (Unix seconds, earliest line) of every basket row.
    pub basket_timestamps: Vec<i64>,
    /// The cutoff, Unix seconds: every train time is strictly before it.
    pub cutoff: i64,
}

impl TrainSet {
    /// Number of train users (rows of `interactions`).
    pub fn n_users(&self) -> usize {
        self.user_ids.len()
    }

    /// Number of train items: the candidates of every ranking.
    pub fn n_items(&self) -> usize {
        self.item_ids.len()
    }

    /// The dense id of an item, if it was seen in train.
    pub fn item_index(&self, item_id: &str) -> Option<u32> {
        self.item_ids.binary_search_by(|probe| probe.as_str().cmp(item_id)).ok().and_then(|i| u32::try_from(i).ok())
    }
}

/// A user the models are evaluated on.
#[derive(Debug, Clone, PartialEq)]
pub struct TestUser {
    /// The dense train id of the user.
    pub user: u32,
    /// The items the user interacted with at or after the cutoff and never before it, sorted.
    /// Items never seen in train are included: they count in `|relevant|` though no model can
    /// recommend them.
    pub relevant: Vec<String>,
}

/// Counts that describe a split, reported beside the metrics.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SplitStats {
    /// The cutoff, ISO 8601 UTC.
    pub cutoff: String,
    /// The cutoff, Unix seconds.
    pub cutoff_unix: i64,
    /// Rows of the source file before any filter.
    pub rows_read: usize,
    /// Rows after the loader's filters: `train_rows + test_rows`.
    pub rows: usize,
    /// Rows strictly before the cutoff.
    pub train_rows: usize,
    /// Rows at or after the cutoff.
    pub test_rows: usize,
    /// Users with at least one train row.
    pub train_users: usize,
    /// Items with at least one train row: the candidates.
    pub train_items: usize,
    /// Distinct train user × item pairs (stored entries of the train matrix).
    pub train_pairs: usize,
    /// Distinct train baskets.
    pub train_baskets: usize,
    /// Users with a train interaction and at least one new item in test.
    pub test_users: usize,
    /// The test users scored: all of them, or one copy of each on a replicated log
    /// ([`Split::one_copy_per_test_user`]).
    pub scored_test_users: usize,
    /// Mean `|relevant|` over the test users.
    pub mean_relevant_per_user: f64,
    /// Relevant (user, item) pairs whose item was never seen in train (unreachable hits).
    pub relevant_unseen_in_train: usize,
}

/// A log split in time: the train set, the test users and the counts.
#[derive(Debug, Clone)]
pub struct Split {
    /// The interactions before the cutoff.
    pub train: TrainSet,
    /// The test users, by increasing dense id.
    pub test: Vec<TestUser>,
    /// Counts.
    pub stats: SplitStats,
}

impl Split {
    /// On a log of `blocks` replicated shops ([`InteractionLog::replicate`]), scores one copy of
    /// every original test user: the copy in block `FNV-1a 64(original id) mod blocks`. The
    /// scored users are then the ×1 test users with the same relevant items, spread over all
    /// the blocks, so a model that scales scores what it scores on one shop, and the ranking
    /// (over the whole catalogue) costs `blocks` times less than scoring every copy.
    /// `bench/implicit_baseline.py --replicate` draws the same users. Nothing changes with one
    /// block.
    pub fn one_copy_per_test_user(&mut self, blocks: usize) {
        if blocks <= 1 {
            return;
        }
        let ids = &self.train.user_ids;
        self.test.retain(|user| {
            replicated_block(&ids[user.user as usize], blocks)
                .is_some_and(|(base, block)| fnv1a_64(base.as_bytes()) % blocks as u64 == block as u64)
        });
        self.stats.scored_test_users = self.test.len();
    }
}

/// FNV-1a, 64 bits: the hash that picks the scored copy, simple to restate in any language.
fn fnv1a_64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &byte| (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3))
}

/// Internal column names of the split's frames.
mod columns {
    pub const USER_INDEX: &str = "user_index";
    pub const ITEM_INDEX: &str = "item_index";
    pub const BASKET_INDEX: &str = "basket_index";
    pub const WEIGHT: &str = "weight";
    pub const LAST_SEEN: &str = "last_seen";
    pub const BASKET_TIME: &str = "basket_time";
    pub const SEEN_IN_TRAIN: &str = "seen_in_train";
    pub const RELEVANT: &str = "relevant";
    pub const UNSEEN: &str = "unseen";
}

/// Splits `log` at `cutoff`: train = rows strictly before, test = rows at or after.
///
/// Train users and items get dense ids (sorted string order); a pair's weight is its number of
/// distinct train baskets. Test users are the train users with at least one test item they did not
/// have in train; those items are their relevant set.
///
/// # Errors
/// [`RecsError::EmptySplit`] when the train part or the set of test users is empty.
pub fn split(log: &InteractionLog, cutoff: Cutoff) -> Result<Split, RecsError> {
    use columns::*;
    use log_columns::{BASKET_ID, ITEM_ID, TIMESTAMP, USER_ID};

    let cutoff_unix = cutoff.resolve(log)?;
    let empty = |reason: &str| RecsError::EmptySplit { cutoff: iso_utc(cutoff_unix), reason: reason.to_string() };
    let lines = log.frame().clone().lazy();
    let train = lines.clone().filter(col(TIMESTAMP).lt(lit(cutoff_unix))).collect()?;
    let test = lines.filter(col(TIMESTAMP).gt_eq(lit(cutoff_unix))).collect()?;
    if train.height() == 0 {
        return Err(empty("no row is before the cutoff"));
    }

    let users = dense_ids(&train, USER_ID, USER_INDEX)?;
    let items = dense_ids(&train, ITEM_ID, ITEM_INDEX)?;
    let inner = || JoinArgs::new(JoinType::Inner);
    let on = |names: &[&str]| names.iter().map(|name| col(*name)).collect::<Vec<_>>();

    // The train matrix: distinct baskets per user × item, and the last time of each pair.
    let pairs = train
        .clone()
        .lazy()
        .group_by(on(&[USER_ID, ITEM_ID]))
        .agg([col(BASKET_ID).n_unique().cast(DataType::Float32).alias(WEIGHT), col(TIMESTAMP).max().alias(LAST_SEEN)])
        .join(users.clone().lazy(), on(&[USER_ID]), on(&[USER_ID]), inner())
        .join(items.clone().lazy(), on(&[ITEM_ID]), on(&[ITEM_ID]), inner())
        .select(on(&[USER_INDEX, ITEM_INDEX, WEIGHT, LAST_SEEN]))
        .sort([USER_INDEX, ITEM_INDEX], SortMultipleOptions::default())
        .collect()?;
    let pair_users = u32_values(&pairs, USER_INDEX)?;
    let pair_items = u32_values(&pairs, ITEM_INDEX)?;
    let weights: Vec<f32> = pairs.column(WEIGHT)?.f32()?.no_null_iter().collect();
    let last_seen: Vec<i64> = pairs.column(LAST_SEEN)?.i64()?.no_null_iter().collect();
    let triplets: Vec<(u32, u32, f32)> = pair_users
        .iter()
        .zip(&pair_items)
        .zip(&weights)
        .map(|((&user, &item), &weight)| (user, item, weight))
        .collect();
    let interactions = Interactions::from_triplets(users.height(), items.height(), &triplets);
    debug_assert_eq!(interactions.nnz(), last_seen.len(), "one entry per distinct pair");

    // The baskets matrix: one row per (user, basket id), numbered by time.
    let baskets = train
        .clone()
        .lazy()
        .group_by(on(&[USER_ID, BASKET_ID]))
        .agg([col(TIMESTAMP).min().alias(BASKET_TIME)])
        .sort([BASKET_TIME, USER_ID, BASKET_ID], SortMultipleOptions::default())
        .with_row_index(BASKET_INDEX, None)
        .join(users.clone().lazy(), on(&[USER_ID]), on(&[USER_ID]), inner())
        .select([
            col(BASKET_INDEX).cast(DataType::UInt32),
            col(USER_ID),
            col(BASKET_ID),
            col(USER_INDEX),
            col(BASKET_TIME),
        ])
        .sort([BASKET_INDEX], SortMultipleOptions::default())
        .collect()?;
    let basket_lines = train
        .clone()
        .lazy()
        .select(on(&[USER_ID, BASKET_ID, ITEM_ID]))
        .unique(None, UniqueKeepStrategy::Any)
        .join(baskets.clone().lazy(), on(&[USER_ID, BASKET_ID]), on(&[USER_ID, BASKET_ID]), inner())
        .join(items.clone().lazy(), on(&[ITEM_ID]), on(&[ITEM_ID]), inner())
        .select(on(&[BASKET_INDEX, ITEM_INDEX]))
        .collect()?;
    let basket_triplets: Vec<(u32, u32, f32)> = u32_values(&basket_lines, BASKET_INDEX)?
        .into_iter()
        .zip(u32_values(&basket_lines, ITEM_INDEX)?)
        .map(|(basket, item)| (basket, item, 1.0))
        .collect();
    let basket_matrix = Interactions::from_triplets(baskets.height(), items.height(), &basket_triplets);

    // Test users: train users with test items they did not have in train.
    let seen = train
        .clone()
        .lazy()
        .select(on(&[USER_ID, ITEM_ID]))
        .unique(None, UniqueKeepStrategy::Any)
        .with_column(lit(true).alias(SEEN_IN_TRAIN));
    let relevant = test
        .clone()
        .lazy()
        .select(on(&[USER_ID, ITEM_ID]))
        .unique(None, UniqueKeepStrategy::Any)
        .join(users.clone().lazy(), on(&[USER_ID]), on(&[USER_ID]), inner())
        .join(seen, on(&[USER_ID, ITEM_ID]), on(&[USER_ID, ITEM_ID]), JoinArgs::new(JoinType::Left))
        .filter(col(SEEN_IN_TRAIN).is_null())
        .join(items.clone().lazy(), on(&[ITEM_ID]), on(&[ITEM_ID]), JoinArgs::new(JoinType::Left))
        .group_by(on(&[USER_INDEX]))
        .agg([
            col(ITEM_ID).sort(SortOptions::default()).alias(RELEVANT),
            col(ITEM_INDEX).is_null().sum().cast(DataType::UInt64).alias(UNSEEN),
        ])
        .sort([USER_INDEX], SortMultipleOptions::default())
        .collect()?;
    let test_user_ids = u32_values(&relevant, USER_INDEX)?;
    let relevant_lists = relevant.column(RELEVANT)?.list()?;
    let mut test_users = Vec::with_capacity(test_user_ids.len());
    for (user, items_of_user) in test_user_ids.into_iter().zip(relevant_lists.series_iter()) {
        let relevant = match items_of_user {
            Some(series) => series.str()?.no_null_iter().map(str::to_string).collect(),
            None => Vec::new(),
        };
        test_users.push(TestUser { user, relevant });
    }
    if test_users.is_empty() {
        return Err(empty("no train user has a new item at or after the cutoff"));
    }
    let relevant_unseen_in_train: u64 = relevant.column(UNSEEN)?.u64()?.no_null_iter().sum();
    let relevant_total: usize = test_users.iter().map(|user| user.relevant.len()).sum();

    let stats = SplitStats {
        cutoff: iso_utc(cutoff_unix),
        cutoff_unix,
        rows_read: log.rows_read(),
        rows: log.len(),
        train_rows: train.height(),
        test_rows: test.height(),
        train_users: users.height(),
        train_items: items.height(),
        train_pairs: interactions.nnz(),
        train_baskets: baskets.height(),
        test_users: test_users.len(),
        scored_test_users: test_users.len(),
        mean_relevant_per_user: relevant_total as f64 / test_users.len() as f64,
        relevant_unseen_in_train: usize::try_from(relevant_unseen_in_train).unwrap_or(usize::MAX),
    };
    let train = TrainSet {
        user_ids: string_values(&users, USER_ID)?,
        item_ids: string_values(&items, ITEM_ID)?,
        interactions,
        last_seen,
        baskets: basket_matrix,
        basket_users: u32_values(&baskets, USER_INDEX)?,
        basket_timestamps: baskets.column(BASKET_TIME)?.i64()?.no_null_iter().collect(),
        cutoff: cutoff_unix,
    };
    Ok(Split { train, test: test_users, stats })
}

/// The distinct values of `column` in `frame`, sorted, with their dense index `0..n` as `UInt32`
/// column `index_name`.
fn dense_ids(frame: &DataFrame, column: &str, index_name: &str) -> PolarsResult<DataFrame> {
    frame
        .clone()
        .lazy()
        .select([col(column)])
        .unique(None, UniqueKeepStrategy::Any)
        .sort([column], SortMultipleOptions::default())
        .with_row_index(index_name, None)
        .select([col(column), col(index_name).cast(DataType::UInt32)])
        .collect()
}

fn u32_values(frame: &DataFrame, column: &str) -> PolarsResult<Vec<u32>> {
    Ok(frame.column(column)?.u32()?.no_null_iter().collect())
}

fn string_values(frame: &DataFrame, column: &str) -> PolarsResult<Vec<String>> {
    Ok(frame.column(column)?.str()?.no_null_iter().map(str::to_string).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_matches_the_published_test_vectors() {
        assert_eq!(fnv1a_64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a_64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a_64(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn quantile_index_is_floor_of_fraction_times_n_within_bounds() {
        assert_eq!(quantile_index(0.8, 10), 8);
        assert_eq!(quantile_index(0.8, 7), 5);
        assert_eq!(quantile_index(0.8, 1), 0);
        assert_eq!(quantile_index(1.0, 4), 3);
        assert_eq!(quantile_index(-1.0, 4), 0);
        assert_eq!(quantile_index(f64::NAN, 4), 0);
        // The same f64 arithmetic as Python's int(0.8 * n) for a large n.
        assert_eq!(quantile_index(0.8, 406_323), 325_058);
    }

    #[test]
    fn cutoffs_print_as_iso_utc() {
        assert_eq!(iso_utc(1_283_299_200), "2010-09-01T00:00:00Z");
        assert_eq!(Cutoff::ONLINE_RETAIL_II.to_string(), "2010-09-01T00:00:00Z");
        assert_eq!(Cutoff::default(), Cutoff::Quantile(DEFAULT_TRAIN_FRACTION));
    }

    #[test]
    fn the_cutoff_parser_reads_seconds_dates_and_times() {
        assert_eq!(Cutoff::parse("2010-09-01T00:00"), Ok(Cutoff::ONLINE_RETAIL_II));
        assert_eq!(Cutoff::parse(" 2010-09-01T00:00:00.000Z "), Ok(Cutoff::ONLINE_RETAIL_II));
        assert_eq!(Cutoff::parse("-5"), Ok(Cutoff::At(-5)));
        assert!(Cutoff::parse("2010-13-01").is_err());
    }
}
