//! Time-decayed popularity and trending items: the recommendations that need no user.
//!
//! Every event (an item, a weight such as a purchase count, a timestamp) contributes its weight
//! discounted by its age as of a chosen `now`: `w · 2^(−age / half_life)`. Summed per item this is
//! an exponentially weighted count, which equals `rate × half_life / ln 2` for an item selling at a
//! steady `rate` per day — so dividing by `half_life / ln 2` turns it into events per day.
//!
//! - **Popular** = the decayed count with [`PopularityParams::half_life_days`].
//! - **Trending** = how much faster an item sells lately than it used to: the rate measured with a
//!   short half-life against the rate measured with a long one, both smoothed by a prior rate
//!   (`smoothing ×` the shop's mean item rate) added to numerator and denominator:
//!   `(short_rate + prior) / (long_rate + prior)`. Without the prior one sale of a niche item
//!   yesterday would be a ten-fold surge; with it, a surge needs volume. Scores above 1 mean rising.
//!
//! Events after `now` are ignored, so a model fitted "as of" a date never sees the future (the
//! temporal split of the offline evaluation relies on it).

use serde::{Deserialize, Serialize};

const SECONDS_PER_DAY: f64 = 86_400.0;

/// Parameters of [`Popularity::fit`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PopularityParams {
    /// Half-life of the popularity decay, in days.
    pub half_life_days: f64,
    /// Half-life measuring the recent sales rate for trending, in days.
    pub trending_short_half_life_days: f64,
    /// Half-life measuring the baseline sales rate for trending, in days.
    pub trending_long_half_life_days: f64,
    /// Weight of the prior rate added to both sides of the trending ratio, as a multiple of the
    /// mean baseline rate of the items that have events.
    pub trending_smoothing: f64,
}

impl Default for PopularityParams {
    fn default() -> Self {
        PopularityParams {
            half_life_days: 30.0,
            trending_short_half_life_days: 3.0,
            trending_long_half_life_days: 30.0,
            trending_smoothing: 1.0,
        }
    }
}

/// Popularity and trending scores of every item, as of one instant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Popularity {
    /// Decayed count per item.
    popular: Vec<f32>,
    /// Smoothed short/long rate ratio per item (0 for items without any event).
    trending: Vec<f32>,
    /// The instant the scores refer to (seconds since the Unix epoch).
    now: i64,
    /// Time of each item's newest event (seconds since the Unix epoch), `None` without events.
    #[serde(default)]
    last_seen: Vec<Option<i64>>,
}

impl Popularity {
    /// Scores `n_items` items from `events` = `(item, weight, timestamp_seconds)` as of `now`.
    /// Events after `now`, with an item id `>= n_items`, or with a non-finite weight are ignored.
    pub fn fit(n_items: usize, events: &[(u32, f32, i64)], now: i64, params: &PopularityParams) -> Popularity {
        let decay_per_day = |half_life_days: f64| std::f64::consts::LN_2 / half_life_days.max(f64::MIN_POSITIVE);
        let popular_decay = decay_per_day(params.half_life_days);
        let short_decay = decay_per_day(params.trending_short_half_life_days);
        let long_decay = decay_per_day(params.trending_long_half_life_days);

        let mut popular = vec![0f64; n_items];
        let mut short = vec![0f64; n_items];
        let mut long = vec![0f64; n_items];
        let mut has_events = vec![false; n_items];
        let mut last_seen: Vec<Option<i64>> = vec![None; n_items];
        for &(item, weight, timestamp) in events {
            let item = item as usize;
            if item >= n_items || timestamp > now || !weight.is_finite() {
                continue;
            }
            let age_days = (now - timestamp) as f64 / SECONDS_PER_DAY;
            let weight = f64::from(weight);
            popular[item] += weight * (-popular_decay * age_days).exp();
            short[item] += weight * (-short_decay * age_days).exp();
            long[item] += weight * (-long_decay * age_days).exp();
            has_events[item] = true;
            last_seen[item] = Some(last_seen[item].map_or(timestamp, |seen| seen.max(timestamp)));
        }

        // Decayed sums → events per day (a steady rate r gives a decayed sum of r / decay).
        let short_rates = short.iter().map(|s| s * short_decay);
        let long_rates: Vec<f64> = long.iter().map(|l| l * long_decay).collect();
        let active = has_events.iter().filter(|&&active| active).count();
        let mean_rate = if active > 0 { long_rates.iter().sum::<f64>() / active as f64 } else { 0.0 };
        let prior = (params.trending_smoothing * mean_rate).max(f64::MIN_POSITIVE);
        let trending = short_rates
            .zip(&long_rates)
            .zip(&has_events)
            .map(
                |((short_rate, &long_rate), &active)| {
                    if active { ((short_rate.max(0.0) + prior) / (long_rate.max(0.0) + prior)) as f32 } else { 0.0 }
                },
            )
            .collect();

        Popularity { popular: popular.into_iter().map(|p| p as f32).collect(), trending, now, last_seen }
    }

    /// Decayed popularity of every item (indexed by item id).
    pub fn popular(&self) -> &[f32] {
        &self.popular
    }

    /// Trending score of every item: > 1 when it sells faster lately than its baseline, 0 when it
    /// has no events.
    pub fn trending(&self) -> &[f32] {
        &self.trending
    }

    /// The instant the scores refer to.
    pub fn now(&self) -> i64 {
        self.now
    }

    /// How alive each item is: `2^(−days since its newest event / half_life_days)`, 0 for an item
    /// without events; all 1 with a half-life of 0 (or for a model saved before this was kept).
    /// Items that stopped selling (discontinued, out of season) fade out of the blend.
    pub fn liveness(&self, half_life_days: f64) -> Vec<f32> {
        if half_life_days <= 0.0 || self.last_seen.len() != self.popular.len() {
            return vec![1.0; self.popular.len()];
        }
        self.last_seen
            .iter()
            .map(|seen| match seen {
                Some(seen) => (-((self.now - seen).max(0) as f64 / SECONDS_PER_DAY) / half_life_days).exp2() as f32,
                None => 0.0,
            })
            .collect()
    }

    /// The `k` most popular items accepted by `filter`, best first (ties by item id). Items with a
    /// zero score (never seen) are left out, so fewer than `k` may come back.
    pub fn top(&self, k: usize, filter: impl Fn(u32) -> bool) -> Vec<(u32, f32)> {
        top_k(&self.popular, k, filter)
    }

    /// The `k` most trending items accepted by `filter`, best first; items without events are left
    /// out.
    pub fn top_trending(&self, k: usize, filter: impl Fn(u32) -> bool) -> Vec<(u32, f32)> {
        top_k(&self.trending, k, filter)
    }
}

/// The `k` largest positive scores accepted by `filter`, as `(index, score)` best first, ties
/// broken by the smaller index.
pub(crate) fn top_k(scores: &[f32], k: usize, filter: impl Fn(u32) -> bool) -> Vec<(u32, f32)> {
    let mut candidates: Vec<(u32, f32)> = scores
        .iter()
        .enumerate()
        .filter(|&(item, &score)| score > 0.0 && filter(item as u32))
        .map(|(item, &score)| (item as u32, score))
        .collect();
    let better = |a: &(u32, f32), b: &(u32, f32)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
    if k < candidates.len() {
        candidates.select_nth_unstable_by(k, better);
        candidates.truncate(k);
    }
    candidates.sort_unstable_by(better);
    candidates
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400;

    #[test]
    fn recent_item_beats_old_item_with_the_same_count() {
        let now = 100 * DAY;
        let events = [(0, 1.0, now - 60 * DAY), (0, 1.0, now - 61 * DAY), (1, 1.0, now - DAY), (1, 1.0, now - 2 * DAY)];
        let popularity = Popularity::fit(3, &events, now, &PopularityParams::default());
        let scores = popularity.popular();
        assert!(scores[1] > scores[0]);
        assert_eq!(scores[2], 0.0);
        // One half-life ago counts half.
        let half = Popularity::fit(1, &[(0, 2.0, now - 30 * DAY)], now, &PopularityParams::default());
        assert!((half.popular()[0] - 1.0).abs() < 1e-5);
        assert_eq!(popularity.top(5, |_| true).iter().map(|&(item, _)| item).collect::<Vec<_>>(), vec![1, 0]);
        assert_eq!(popularity.top(5, |item| item != 1).len(), 1);
    }

    #[test]
    fn liveness_halves_per_half_life_since_the_newest_event() {
        let now = 100 * DAY;
        let events = [(0, 1.0, now - 90 * DAY), (0, 1.0, now - 30 * DAY), (1, 1.0, now), (2, 1.0, now + DAY)];
        let popularity = Popularity::fit(4, &events, now, &PopularityParams::default());
        let liveness = popularity.liveness(30.0);
        assert!((liveness[0] - 0.5).abs() < 1e-6);
        assert_eq!(liveness[1], 1.0);
        // Only a future event, and no event at all: dead.
        assert_eq!(&liveness[2..], &[0.0, 0.0]);
        assert_eq!(popularity.liveness(0.0), vec![1.0; 4]);
    }

    #[test]
    fn future_events_are_ignored() {
        let popularity = Popularity::fit(2, &[(0, 1.0, 10), (1, 5.0, 11)], 10, &PopularityParams::default());
        assert!(popularity.popular()[0] > 0.0);
        assert_eq!(popularity.popular()[1], 0.0);
    }

    #[test]
    fn trending_needs_volume_not_one_niche_sale() {
        let now = 400 * DAY;
        let mut events = Vec::new();
        for day in 0..365 {
            // Item 0: steady best-seller, 10 a day.
            events.push((0, 10.0, now - day * DAY));
            // Item 1: 5 a day until last week, 25 a day since.
            events.push((1, if day < 7 { 25.0 } else { 5.0 }, now - day * DAY));
            // Items 3..: a background of steady sellers, 2 a day.
            for item in 3..20 {
                events.push((item, 2.0, now - day * DAY));
            }
        }
        // Item 2: one single sale yesterday, nothing before.
        events.push((2, 1.0, now - DAY));
        let popularity = Popularity::fit(20, &events, now, &PopularityParams::default());
        let trending = popularity.trending();
        assert!(trending[1] > 1.5, "surging item: {}", trending[1]);
        // Daily events make the short half-life read a little high (the event of today counts whole).
        assert!((trending[0] - 1.0).abs() < 0.15, "steady item: {}", trending[0]);
        assert!(trending[2] < trending[1], "niche {} vs surge {}", trending[2], trending[1]);
        assert_eq!(popularity.top_trending(1, |_| true)[0].0, 1);
    }

    #[test]
    fn top_k_orders_and_breaks_ties_by_id() {
        let scores = [0.5, 2.0, 0.0, 2.0, 1.0];
        assert_eq!(top_k(&scores, 3, |_| true), vec![(1, 2.0), (3, 2.0), (4, 1.0)]);
        assert_eq!(top_k(&scores, 10, |_| true).len(), 4);
        assert_eq!(top_k(&scores, 0, |_| true), vec![]);
    }
}
