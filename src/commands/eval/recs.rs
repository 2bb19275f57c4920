//! `vitrine eval recs`: recommendation quality of every model under the temporal-split protocol
//! of `docs/evaluation.md`, with an optional hyper-parameter grid.

use std::path::Path;

use anyhow::Context;
use vitrine_models::DataDir;

use crate::cli::EvalRecsArgs;
use crate::commands::import;

/// Parameters of the models `vitrine eval recs` trains (`--params FILE`, JSON); unset parts keep
/// their defaults.
#[derive(Debug, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
struct RecsParams {
    ials: vitrine_recommender::ials::IalsParams,
    cooc: vitrine_recommender::cooc::CoocParams,
    ease: vitrine_recommender::ease::EaseParams,
    sparse_ease: vitrine_recommender::ease::SparseEaseParams,
    content: vitrine_pipelines::content::ContentParams,
    popularity: vitrine_recommender::popularity::PopularityParams,
    hybrid: vitrine_recommender::serve::HybridWeights,
    #[serde(deserialize_with = "vitrine_recommender::serve::HybridWeights::deserialize_without_ease")]
    hybrid_without_ease: vitrine_recommender::serve::HybridWeights,
}

impl Default for RecsParams {
    fn default() -> Self {
        RecsParams {
            ials: Default::default(),
            cooc: Default::default(),
            ease: Default::default(),
            sparse_ease: Default::default(),
            content: Default::default(),
            popularity: Default::default(),
            hybrid: Default::default(),
            hybrid_without_ease: vitrine_recommender::serve::HybridWeights::without_ease(),
        }
    }
}

/// `vitrine eval recs`: every model under the temporal-split protocol of `docs/evaluation.md`.
pub(in crate::commands) fn run(data_dir: &DataDir, args: &EvalRecsArgs) -> anyhow::Result<()> {
    use vitrine_eval::recs::{self, Cutoff, Trainer};

    let base: serde_json::Value = match &args.params {
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
            serde_json::from_str(&text).with_context(|| format!("{}: not JSON", path.display()))?
        }
        None => serde_json::json!({}),
    };
    let grid = match &args.grid {
        Some(path) => Grid::read(path)?,
        None => Grid::default(),
    };
    let (log, mut texts, default_cutoff) = match &args.interactions {
        Some(path) => (recs::load_interactions_csv(path)?, Default::default(), Cutoff::Quantile(0.8)),
        None => {
            let path = &args.online_retail;
            let log = recs::load_online_retail_ii(path)
                .with_context(|| format!("reading {} (give another with --online-retail)", path.display()))?;
            (log, recs::online_retail_ii_titles(path)?, Cutoff::ONLINE_RETAIL_II)
        }
    };
    if let Some(path) = &args.catalog {
        let (products, _) = import::read_feed_file(path, vitrine_models::feed::read_products)?;
        texts = products
            .iter()
            .map(|product| {
                let item = vitrine_pipelines::catalog_item(product);
                (item.id, item.text)
            })
            .collect();
        println!("{}: {} product texts for the content model", path.display(), texts.len());
    }
    let cutoff = match (&args.cutoff, args.test_fraction) {
        (Some(text), _) => Cutoff::parse(text).map_err(anyhow::Error::msg)?,
        (None, Some(fraction)) => {
            anyhow::ensure!(fraction > 0.0 && fraction < 1.0, "--test-fraction must be between 0 and 1");
            Cutoff::Quantile(1.0 - fraction)
        }
        (None, None) => default_cutoff,
    };
    let split = recs::split(&log, cutoff)?;
    let mut trainers: Vec<Box<dyn Trainer>> = Vec::new();
    for name in &args.models {
        let name = name.trim();
        for (suffix, params) in grid.combinations(&base, model_sections(name)?)? {
            let label = format!("{name}{suffix}");
            let trainer: Box<dyn Trainer> = match name {
                "pop" | "popularity" => Box::new(recs::Popularity),
                "cooc" => Box::new(recs::Cooc { name: label, params: params.cooc }),
                "ials" => Box::new(recs::Ials { name: label, params: params.ials }),
                "ease" => Box::new(recs::Ease { name: label, params: params.ease }),
                "content" => Box::new(recs::Content { name: label, params: params.content, texts: texts.clone() }),
                _ => Box::new(recs::Hybrid {
                    name: label,
                    ials: params.ials,
                    cooc: params.cooc,
                    ease: params.sparse_ease,
                    popularity: params.popularity,
                    weights: params.hybrid,
                    weights_without_ease: params.hybrid_without_ease,
                }),
            };
            trainers.push(trainer);
        }
    }
    let trainers: Vec<&dyn Trainer> = trainers.iter().map(Box::as_ref).collect();
    let report = recs::evaluate(&split, &trainers, &args.k, &indicatif::MultiProgress::new())?;
    println!("{report}");
    let out = args.out.clone().unwrap_or_else(|| data_dir.eval());
    std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
    let json_path = out.join("recs-report.json");
    std::fs::write(&json_path, serde_json::to_vec_pretty(&report)?)
        .with_context(|| format!("cannot write {}", json_path.display()))?;
    let html_path = out.join("recs-report.html");
    std::fs::write(&html_path, vitrine_eval::report::recs_html("Vitrine recommendation quality", &report))
        .with_context(|| format!("cannot write {}", html_path.display()))?;
    println!("report: {} (JSON: {})", html_path.display(), json_path.display());
    Ok(())
}

/// The parts of the parameters (`--params`, `--grid`) a model reads.
fn model_sections(model: &str) -> anyhow::Result<&'static [&'static str]> {
    Ok(match model {
        "pop" | "popularity" => &[],
        "cooc" => &["cooc"],
        "ials" => &["ials"],
        "ease" => &["ease"],
        "content" => &["content"],
        "hybrid" => &["ials", "cooc", "sparse_ease", "popularity", "hybrid", "hybrid_without_ease"],
        other => anyhow::bail!("unknown model `{other}`: use pop, cooc, ials, ease, content or hybrid"),
    })
}

/// A hyper-parameter grid (`--grid FILE`): a JSON object from dotted parameter paths to lists of
/// values, `{"ials.factors": [32, 64, 128], "sparse_ease.lambda": [100, 150, 200]}`. Every model
/// is evaluated once per combination of the values of the paths in its sections.
#[derive(Debug, Default)]
struct Grid {
    axes: Vec<(String, Vec<serde_json::Value>)>,
}

impl Grid {
    fn read(path: &Path) -> anyhow::Result<Grid> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let value: serde_json::Value =
            serde_json::from_str(&text).with_context(|| format!("{}: not JSON", path.display()))?;
        let object = value.as_object().with_context(|| format!("{}: a grid is a JSON object", path.display()))?;
        let mut axes = Vec::new();
        for (key, values) in object {
            let values = values
                .as_array()
                .filter(|values| !values.is_empty())
                .with_context(|| format!("{}: `{key}` needs a non-empty list of values", path.display()))?;
            anyhow::ensure!(key.contains('.'), "{}: `{key}` is not a dotted path like `ials.factors`", path.display());
            axes.push((key.clone(), values.clone()));
        }
        Ok(Grid { axes })
    }

    /// Every combination of the axes in `sections` laid over `base`, with its label suffix
    /// (empty without axes), as parsed parameters.
    fn combinations(&self, base: &serde_json::Value, sections: &[&str]) -> anyhow::Result<Vec<(String, RecsParams)>> {
        let axes: Vec<&(String, Vec<serde_json::Value>)> = self
            .axes
            .iter()
            .filter(|(key, _)| key.split('.').next().is_some_and(|section| sections.contains(&section)))
            .collect();
        let total: usize = axes.iter().map(|(_, values)| values.len()).product();
        let mut combinations = Vec::with_capacity(total);
        for mut number in 0..total {
            let mut params = base.clone();
            let mut labels = Vec::new();
            for (key, values) in &axes {
                let value = &values[number % values.len()];
                number /= values.len();
                set_path(&mut params, key, value.clone())?;
                labels.push(format!("{key}={value}"));
            }
            let suffix = if labels.is_empty() { String::new() } else { format!(" [{}]", labels.join(", ")) };
            let parsed: RecsParams =
                serde_json::from_value(params).with_context(|| format!("model parameters{suffix} are not valid"))?;
            combinations.push((suffix, parsed));
        }
        Ok(combinations)
    }
}

/// Sets `value` at a dotted `path` of a JSON object, creating objects on the way.
fn set_path(target: &mut serde_json::Value, path: &str, value: serde_json::Value) -> anyhow::Result<()> {
    let mut node = target;
    let parts: Vec<&str> = path.split('.').collect();
    for (position, part) in parts.iter().enumerate() {
        let object = node.as_object_mut().with_context(|| format!("`{path}`: `{part}` is inside a non-object"))?;
        if position + 1 == parts.len() {
            object.insert((*part).to_owned(), value);
            return Ok(());
        }
        node = object.entry((*part).to_owned()).or_insert_with(|| serde_json::json!({}));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partial_blend_without_ease_in_the_parameters_keeps_its_own_defaults() {
        let params: RecsParams = serde_json::from_str(r#"{"hybrid_without_ease": {"cooc": 0.5}}"#).expect("valid");
        let expected = vitrine_recommender::serve::HybridWeights {
            cooc: 0.5,
            ..vitrine_recommender::serve::HybridWeights::without_ease()
        };
        assert_eq!(params.hybrid_without_ease, expected);
        let empty: RecsParams = serde_json::from_str("{}").expect("valid");
        assert_eq!(empty.hybrid_without_ease, vitrine_recommender::serve::HybridWeights::without_ease());
    }

    #[test]
    fn a_grid_gives_each_model_the_combinations_of_its_own_parameters() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("grid.json");
        std::fs::write(
            &path,
            r#"{"ials.factors": [8, 16], "ials.regularization": [0.1, 1.0], "cooc.neighbours": [5]}"#,
        )
        .expect("write");
        let grid = Grid::read(&path).expect("valid grid");
        let base = serde_json::json!({"ials": {"iterations": 3}});
        let ials = grid.combinations(&base, model_sections("ials").expect("known")).expect("valid");
        assert_eq!(ials.len(), 4);
        assert!(ials.iter().all(|(_, params)| params.ials.iterations == 3), "the base parameters stay");
        let factors: Vec<usize> = ials.iter().map(|(_, params)| params.ials.factors).collect();
        assert_eq!(factors, vec![8, 16, 8, 16]);
        assert!(
            ials[3].0.contains("ials.factors=16") && ials[3].0.contains("ials.regularization=1.0"),
            "{}",
            ials[3].0
        );
        let cooc = grid.combinations(&base, model_sections("cooc").expect("known")).expect("valid");
        assert_eq!(cooc.len(), 1);
        assert_eq!(cooc[0].1.cooc.neighbours, 5);
        let popularity = grid.combinations(&base, model_sections("pop").expect("known")).expect("valid");
        assert_eq!(popularity.len(), 1);
        assert_eq!(popularity[0].0, "", "no axis, no suffix");

        std::fs::write(&path, r#"{"ials.factors": []}"#).expect("write");
        assert!(Grid::read(&path).is_err(), "an empty list");
        std::fs::write(&path, r#"{"ials.nope": [1]}"#).expect("write");
        let grid = Grid::read(&path).expect("parses");
        assert!(grid.combinations(&base, &["ials"]).is_err(), "unknown parameters are refused");
        assert!(model_sections("nope").is_err());
    }
}
