//! How fast does iALS train? Seconds per iteration on a shop-sized interaction matrix.
//!
//! ```text
//! cargo run --release -p vitrine-recommender --example ials_speed            # synthetic matrix
//! cargo run --release -p vitrine-recommender --example ials_speed -- log.csv # `user,item,weight` lines
//! RAYON_NUM_THREADS=2 cargo run --release ...                                # fix the thread count
//! ```
//!
//! The synthetic matrix has the shape of the Online Retail II demo shop: about 4,300 customers,
//! 3,900 products and 150,000 distinct (customer, product) pairs, with heavy-tailed activity on
//! both sides (a few best-sellers and heavy buyers, a long tail of both), weights = purchase counts.
//! The reference point is the Python library `implicit` (0.042 s per iteration at 64 factors on
//! 2 threads on that data).

use std::collections::HashMap;
use std::error::Error;

use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};
use vitrine_recommender::ials::{self, IalsParams};
use vitrine_recommender::matrix::Interactions;

fn main() -> Result<(), Box<dyn Error>> {
    let interactions = match std::env::args().nth(1) {
        Some(path) => read_csv(&path)?,
        None => synthetic(4_300, 3_900, 150_000, 7),
    };
    println!(
        "matrix: {} users × {} items, {} non-zeros; {} rayon threads",
        interactions.n_rows(),
        interactions.n_cols(),
        interactions.nnz(),
        rayon::current_num_threads()
    );

    for factors in [32, 64, 128] {
        let params = IalsParams { factors, iterations: 15, ..IalsParams::default() };
        let mut seconds = Vec::new();
        let cpu_before = process_cpu_seconds();
        ials::train(&interactions, &params, |stats| seconds.push(stats.seconds));
        let cpu_per_iteration =
            process_cpu_seconds().zip(cpu_before).map(|(after, before)| (after - before) / params.iterations as f64);
        seconds.sort_by(f64::total_cmp);
        let median = seconds[seconds.len() / 2];
        println!(
            "factors {factors:>3}: median {median:.4} s/iteration (min {:.4}, max {:.4}, {} iterations){}",
            seconds[0],
            seconds[seconds.len() - 1],
            seconds.len(),
            cpu_per_iteration.map_or(String::new(), |cpu| format!("; {cpu:.4} CPU-s/iteration"))
        );
    }
    Ok(())
}

/// CPU time (user + system, all threads) of this process so far, on Linux: on a shared machine it
/// tells how much work an iteration is when the wall-clock time is inflated by other processes.
fn process_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let after_name = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0) // USER_HZ, 100 on Linux
}

/// A random `n_users × n_items` matrix with about `target_nnz` distinct entries. Users and items
/// are drawn log-uniformly (probability of rank `r` ∝ 1/r), which gives the power-law popularity
/// of a real catalogue; repeated draws of the same pair add up, like repeat purchases.
fn synthetic(n_users: usize, n_items: usize, target_nnz: usize, seed: u64) -> Interactions {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut log_uniform = |n: usize| -> u32 {
        let rank = ((n as f64 + 1.0).ln() * rng.random::<f64>()).exp() - 1.0;
        (rank as usize).min(n - 1) as u32
    };
    let mut triplets = Vec::with_capacity(target_nnz * 2);
    let mut distinct = std::collections::HashSet::with_capacity(target_nnz);
    while distinct.len() < target_nnz {
        let pair = (log_uniform(n_users), log_uniform(n_items));
        distinct.insert(pair);
        triplets.push((pair.0, pair.1, 1.0));
    }
    Interactions::from_triplets(n_users, n_items, &triplets)
}

/// Reads `user,item,weight` lines (ids are any strings; a header line is skipped if its weight
/// does not parse).
fn read_csv(path: &str) -> Result<Interactions, Box<dyn Error>> {
    let text = std::fs::read_to_string(path)?;
    let mut users = HashMap::new();
    let mut items = HashMap::new();
    let mut triplets = Vec::new();
    for line in text.lines() {
        let mut fields = line.split(',');
        let (Some(user), Some(item), Some(weight)) = (fields.next(), fields.next(), fields.next()) else {
            continue;
        };
        let Ok(weight) = weight.trim().parse::<f32>() else { continue };
        let next_user = users.len() as u32;
        let user = *users.entry(user.to_owned()).or_insert(next_user);
        let next_item = items.len() as u32;
        let item = *items.entry(item.to_owned()).or_insert(next_item);
        triplets.push((user, item, weight));
    }
    Ok(Interactions::from_triplets(users.len(), items.len(), &triplets))
}
