//! Team-draft interleaving (Radlinski, Kurup and Joachims, CIKM 2008): two rankings merged into
//! one list in which every item is credited to the ranking ("team") that contributed it, so that
//! a shopper's clicks on one list say which ranking they prefer.
//!
//! Like two captains picking players: in each round the team with fewer picks so far — or, when
//! both have as many, the one a coin toss names — adds its best-ranked item not yet in the list.
//! An item both rankings place high is taken by whichever picks first; the other team then moves
//! on to its next item. Each team's items keep their own ranking's order, and each position is
//! equally likely to come from either team, so a team's clicks compare fairly with the other's.
//! The coin tosses come from a seed, so the same seed gives the same list (a shopper paging
//! through one query sees one merged ranking).

use std::collections::HashSet;
use std::hash::Hash;

use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};

/// Which ranking contributed an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Team {
    /// The first ranking (the control).
    A,
    /// The second ranking.
    B,
}

/// Merges `a` and `b` into at most `limit` items, each with the team that contributed it; an
/// item is the same as another when `key` gives the same value. Deterministic for a `seed`.
pub fn team_draft<T: Clone, K: Eq + Hash>(
    a: &[T],
    b: &[T],
    key: impl Fn(&T) -> K,
    limit: usize,
    seed: u64,
) -> Vec<(T, Team)> {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut taken: HashSet<K> = HashSet::new();
    let mut merged = Vec::with_capacity(limit.min(a.len() + b.len()));
    let (mut next_a, mut next_b) = (0, 0);
    let (mut picks_a, mut picks_b) = (0usize, 0usize);
    // The next item of `ranking` from `*next` on that is not taken yet.
    let next_free = |ranking: &[T], next: &mut usize, taken: &HashSet<K>| {
        while *next < ranking.len() && taken.contains(&key(&ranking[*next])) {
            *next += 1;
        }
        ranking.get(*next).cloned()
    };
    while merged.len() < limit {
        let a_first = picks_a < picks_b || (picks_a == picks_b && rng.random::<bool>());
        let order = if a_first { [Team::A, Team::B] } else { [Team::B, Team::A] };
        let mut picked = false;
        for team in order {
            let (ranking, next) = match team {
                Team::A => (a, &mut next_a),
                Team::B => (b, &mut next_b),
            };
            if let Some(item) = next_free(ranking, next, &taken) {
                taken.insert(key(&item));
                merged.push((item, team));
                match team {
                    Team::A => picks_a += 1,
                    Team::B => picks_b += 1,
                }
                picked = true;
                break;
            }
        }
        if !picked {
            break; // both rankings are used up
        }
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;

    fn merge(a: &[u32], b: &[u32], limit: usize, seed: u64) -> Vec<(u32, Team)> {
        team_draft(a, b, |item| *item, limit, seed)
    }

    #[test]
    fn every_item_appears_once_credited_to_the_team_that_took_it() {
        let (a, b) = ([1, 2, 3, 4, 5], [3, 1, 6, 7, 2]);
        for seed in 0..50 {
            let merged = merge(&a, &b, 10, seed);
            let ids: Vec<u32> = merged.iter().map(|(item, _)| *item).collect();
            let unique: HashSet<u32> = ids.iter().copied().collect();
            assert_eq!(unique.len(), ids.len(), "no duplicates: {merged:?}");
            assert_eq!(unique, HashSet::from([1, 2, 3, 4, 5, 6, 7]), "all items of both once both are used up");
            // Each team's items keep their ranking's relative order.
            for (team, ranking) in [(Team::A, &a[..]), (Team::B, &b[..])] {
                let positions: Vec<usize> = merged
                    .iter()
                    .filter(|(_, owner)| *owner == team)
                    .map(|(item, _)| ranking.iter().position(|x| x == item).expect("a team picks from its ranking"))
                    .collect();
                assert!(positions.windows(2).all(|pair| pair[0] < pair[1]), "{team:?} in order: {merged:?}");
            }
        }
    }

    #[test]
    fn teams_stay_balanced_and_the_first_pick_is_a_fair_coin() {
        let a: Vec<u32> = (0..20).collect();
        let b: Vec<u32> = (100..120).collect();
        let mut a_first = 0;
        for seed in 0..1_000 {
            let merged = merge(&a, &b, 10, seed);
            assert_eq!(merged.len(), 10);
            // After every second pick both teams have as many.
            for round in merged.chunks(2) {
                assert_ne!(round[0].1, round[1].1, "{merged:?}");
            }
            if merged[0].1 == Team::A {
                a_first += 1;
            }
        }
        assert!((430..=570).contains(&a_first), "A first in {a_first} of 1000");
    }

    #[test]
    fn identical_rankings_give_that_ranking_and_the_same_seed_the_same_list() {
        let ranking = [5, 4, 3, 2, 1];
        let merged = merge(&ranking, &ranking, 5, 7);
        assert_eq!(merged.iter().map(|(item, _)| *item).collect::<Vec<_>>(), ranking);
        assert_eq!(merge(&[1, 2, 3], &[3, 2, 1], 3, 11), merge(&[1, 2, 3], &[3, 2, 1], 3, 11));
        // One ranking empty: the other fills the list alone.
        assert_eq!(merge(&[], &[9, 8], 5, 1), vec![(9, Team::B), (8, Team::B)]);
        assert!(merge(&[1], &[2], 0, 1).is_empty());
    }
}
