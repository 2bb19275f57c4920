//! Content embeddings: similar texts are near, rows are unit vectors, seeds are reproducible and
//! degenerate texts give zero rows without NaN.

use ndarray::{Array2, ArrayView1};
use vitrine_pipelines::content::{ContentParams, content_embeddings};

const CATEGORIES: [[&str; 6]; 4] = [
    ["cotton", "shirt", "sleeve", "crew", "neck", "tee"],
    ["steel", "knife", "pan", "chef", "kitchen", "blade"],
    ["coffee", "mug", "ceramic", "espresso", "beans", "roast"],
    ["garden", "hose", "shovel", "soil", "plant", "seeds"],
];
const COLOURS: [&str; 4] = ["red", "blue", "green", "black"];
const BRANDS: [&str; 2] = ["acme", "zenith"];

/// 40 products, 10 per category: three words of the category, a colour, a brand and a word
/// every product has (dropped by `max_df`). Product `i` is in category `i % 4`.
fn catalog() -> Vec<String> {
    (0..40)
        .map(|i| {
            let words = &CATEGORIES[i % 4];
            format!(
                "{} {} {} — {} product by {}",
                words[i % 6],
                words[(i + 1) % 6],
                words[(i + 3) % 6],
                COLOURS[(i / 4) % 4],
                BRANDS[(i / 3) % 2],
            )
        })
        .collect()
}

fn cosine(a: ArrayView1<f32>, b: ArrayView1<f32>) -> f32 {
    a.dot(&b)
}

fn norm(row: ArrayView1<f32>) -> f32 {
    row.dot(&row).sqrt()
}

#[test]
fn products_sharing_words_are_nearer() {
    let mut texts = catalog();
    texts.push("Red cotton crew neck shirt by Acme".to_owned());
    texts.push("Blue cotton crew neck shirt by Zenith".to_owned());
    texts.push("Black steel chef knife by Acme".to_owned());
    let embeddings = content_embeddings(&texts, &ContentParams::default()).expect("valid params");
    let [red_shirt, blue_shirt, knife] = [40, 41, 42].map(|i| embeddings.row(i));
    let shirts = cosine(red_shirt, blue_shirt);
    let shirt_knife = cosine(red_shirt, knife);
    assert!(shirts > shirt_knife + 0.3, "shirt–shirt {shirts}, shirt–knife {shirt_knife}");

    // Over the whole catalog: same-category pairs are much closer than cross-category pairs.
    let (mut same, mut n_same, mut other, mut n_other) = (0.0, 0, 0.0, 0);
    for i in 0..40 {
        for j in (i + 1)..40 {
            let similarity = cosine(embeddings.row(i), embeddings.row(j));
            if i % 4 == j % 4 {
                same += similarity;
                n_same += 1;
            } else {
                other += similarity;
                n_other += 1;
            }
        }
    }
    let (same, other) = (same / n_same as f32, other / n_other as f32);
    assert!(same > other + 0.25, "same category {same}, other categories {other}");
}

#[test]
fn nearest_neighbour_is_mostly_in_the_same_category() {
    let embeddings = content_embeddings(&catalog(), &ContentParams::default()).expect("valid params");
    let mut right = 0;
    for i in 0..40 {
        let nearest = (0..40)
            .filter(|&j| j != i)
            .max_by(|&a, &b| {
                cosine(embeddings.row(i), embeddings.row(a)).total_cmp(&cosine(embeddings.row(i), embeddings.row(b)))
            })
            .expect("40 products");
        if nearest % 4 == i % 4 {
            right += 1;
        }
    }
    assert!(right >= 36, "{right} of 40 nearest neighbours in the same category");
}

#[test]
fn rows_are_unit_length() {
    let params = ContentParams::default();
    let embeddings = content_embeddings(&catalog(), &params).expect("valid params");
    assert_eq!(embeddings.dim(), (40, params.dims));
    for row in embeddings.rows() {
        assert!((norm(row) - 1.0).abs() < 1e-5, "norm {}", norm(row));
    }
}

#[test]
fn deterministic_for_a_seed_and_different_across_seeds() {
    let texts = catalog();
    let params = ContentParams { seed: 7, ..ContentParams::default() };
    let first = content_embeddings(&texts, &params).expect("valid params");
    let second = content_embeddings(&texts, &params).expect("valid params");
    assert_eq!(first, second);

    let other_seed = content_embeddings(&texts, &ContentParams { seed: 8, ..params }).expect("valid params");
    let largest_difference = (&first - &other_seed).iter().fold(0.0_f32, |max, d| max.max(d.abs()));
    assert!(largest_difference > 0.1, "seeds 7 and 8 gave nearly the same vectors");
    // ... but the same geometry, up to the projection's noise.
    let shirts = |e: &Array2<f32>| cosine(e.row(0), e.row(4));
    assert!((shirts(&first) - shirts(&other_seed)).abs() < 0.4);
}

#[test]
fn empty_and_meaningless_texts_give_zero_rows_without_nan() {
    let mut texts = catalog();
    texts.extend(["", "   ", "a", "¿?!"].map(String::from));
    let embeddings = content_embeddings(&texts, &ContentParams::default()).expect("valid params");
    assert!(embeddings.iter().all(|v| v.is_finite()));
    for (text, embedding) in texts.iter().zip(embeddings.rows()).skip(40) {
        assert!(embedding.iter().all(|&v| v == 0.0), "text {text:?} is not a zero row");
    }
}

#[test]
fn degenerate_corpora_give_zero_matrices() {
    let params = ContentParams::default();
    let none = content_embeddings(&[], &params).expect("valid params");
    assert_eq!(none.dim(), (0, params.dims));

    let blank = vec![String::new(); 5];
    let zeros = content_embeddings(&blank, &params).expect("valid params");
    assert_eq!(zeros.dim(), (5, params.dims));
    assert!(zeros.iter().all(|&v| v == 0.0));

    // Two products: with min_df = 2 and max_df = 0.5 no term can qualify.
    let two = vec!["red shirt".to_owned(), "red knife".to_owned()];
    assert!(content_embeddings(&two, &params).expect("valid params").iter().all(|&v| v == 0.0));
    // Relaxing the document-frequency bounds gives them vectors.
    let relaxed = ContentParams { min_df: 1, max_df: 1.0, ..params };
    let vectors = content_embeddings(&two, &relaxed).expect("valid params");
    assert!((norm(vectors.row(0)) - 1.0).abs() < 1e-5);
    assert!(cosine(vectors.row(0), vectors.row(1)) > 0.1, "the two products share `red`");
}

#[test]
fn vocabulary_cap_and_wide_embeddings() {
    // More dimensions than vocabulary terms, and a cap below the vocabulary size.
    let params = ContentParams { dims: 200, max_vocabulary: 10, ..ContentParams::default() };
    let embeddings = content_embeddings(&catalog(), &params).expect("valid params");
    assert_eq!(embeddings.dim(), (40, 200));
    assert!(embeddings.iter().all(|v| v.is_finite()));
    let non_zero_rows = embeddings.rows().into_iter().filter(|row| norm(*row) > 0.5).count();
    assert!(non_zero_rows > 20, "only {non_zero_rows} rows have a vocabulary term");
}

/// Timing on a catalog of realistic size; run with
/// `cargo test --release -p vitrine-pipelines --test it -- content:: --ignored --nocapture`.
#[test]
#[ignore = "timing on 50,000 products, run in release mode"]
fn fifty_thousand_products() {
    // Zipf-like word draws from a 40,000-word vocabulary, 12 words per product.
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let texts: Vec<String> = (0..50_000)
        .map(|_| {
            (0..12)
                .map(|_| {
                    let uniform = (next() >> 11) as f64 / (1_u64 << 53) as f64;
                    format!("w{}", (40_000_f64.powf(uniform)) as u64)
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    let start = std::time::Instant::now();
    let embeddings = content_embeddings(&texts, &ContentParams::default()).expect("valid params");
    println!("50,000 products, default params: {:.2} s", start.elapsed().as_secs_f64());
    assert_eq!(embeddings.dim(), (50_000, 64));
    assert!(embeddings.iter().all(|v| v.is_finite()));
}
