//! A floor for search relevance: how far plain word overlap gets on the Home Depot queries.
//!
//! ```text
//! cargo run --release -p vitrine-eval --example homedepot_word_overlap -- [DATASET_DIR]
//! ```
//!
//! `DATASET_DIR` holds `products.csv` and `judgments_dev.csv` (default:
//! `../shared/datasets/homedepot-relevance`). The dataset is for internal evaluation only and is
//! never copied into the repository.
//!
//! The engine here is deliberately trivial, so that any real engine can be compared with it: a
//! title scores one point per distinct query word it contains (words are lowercase runs of
//! letters and digits), ties go to the shorter title and then to catalogue order, and titles
//! sharing no word with the query are not returned. No stemming, no typo tolerance, no synonyms.

use std::collections::HashMap;
use std::error::Error;
use std::path::PathBuf;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use vitrine_eval::search::{HomeDepot, QueryVariant, SearchBackend, evaluate};

/// An inverted index from word to the products whose title contains it.
struct WordOverlap {
    uids: Vec<String>,
    title_lengths: Vec<usize>,
    postings: HashMap<String, Vec<u32>>,
}

fn words(text: &str) -> Vec<String> {
    let mut words: Vec<String> =
        text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase).collect();
    words.sort_unstable();
    words.dedup();
    words
}

impl WordOverlap {
    fn new(products: &[(String, String)]) -> WordOverlap {
        let mut postings: HashMap<String, Vec<u32>> = HashMap::new();
        let mut title_lengths = Vec::with_capacity(products.len());
        for (position, (_, title)) in products.iter().enumerate() {
            let title_words = words(title);
            title_lengths.push(title_words.len());
            let position = u32::try_from(position).expect("fewer than 4 billion products");
            for word in title_words {
                postings.entry(word).or_default().push(position);
            }
        }
        WordOverlap { uids: products.iter().map(|(uid, _)| uid.clone()).collect(), title_lengths, postings }
    }
}

impl SearchBackend for WordOverlap {
    fn search(&self, query: &str, k: usize) -> Result<Vec<String>, Box<dyn Error + Send + Sync>> {
        let mut overlap: HashMap<u32, usize> = HashMap::new();
        for word in words(query) {
            for &position in self.postings.get(&word).into_iter().flatten() {
                *overlap.entry(position).or_default() += 1;
            }
        }
        let mut hits: Vec<(u32, usize)> = overlap.into_iter().collect();
        hits.sort_by_key(|&(position, score)| {
            (std::cmp::Reverse(score), self.title_lengths[position as usize], position)
        });
        Ok(hits.into_iter().take(k).map(|(position, _)| self.uids[position as usize].clone()).collect())
    }
}

fn main() -> Result<(), Box<dyn Error>> {
    let dir = std::env::args_os()
        .nth(1)
        .map_or_else(|| PathBuf::from("../shared/datasets/homedepot-relevance"), PathBuf::from);

    let started = Instant::now();
    let shop = HomeDepot::load(&dir)?;
    println!(
        "loaded {} products and {} judged queries in {:.2?}",
        shop.products.len(),
        shop.queries.len(),
        started.elapsed()
    );

    let started = Instant::now();
    let engine = WordOverlap::new(&shop.products);
    println!("indexed {} distinct words in {:.2?}\n", engine.postings.len(), started.elapsed());

    for variant in [QueryVariant::AsTyped, QueryVariant::OneTypo { seed: 42 }] {
        let progress = ProgressBar::new(shop.queries.len() as u64)
            .with_style(ProgressStyle::with_template("{msg} {bar:40} {pos}/{len} queries")?)
            .with_message(variant.to_string());
        let started = Instant::now();
        let report = evaluate(&engine, &shop.queries, variant, Some(&progress))?;
        let elapsed = started.elapsed();
        progress.finish_and_clear();
        println!("{report}evaluated in {elapsed:.2?}\nworst queries:");
        for result in report.worst(5) {
            println!("  {:>6}  {:?}  NDCG {:.3}", result.id, result.sent_query(), result.ndcg.unwrap_or_default());
        }
        println!();
    }
    Ok(())
}
