//! The parameters of the models an evaluation trains, and hyper-parameter grids over them: what
//! `vitrine eval recs --params FILE --grid FILE` reads, turned into one [`Trainer`] per model and
//! combination.

use serde::Deserialize;
use serde_json::Value;
use vitrine_pipelines::content::ContentParams;
use vitrine_recommender::cooc::CoocParams;
use vitrine_recommender::ease::{EaseParams, SparseEaseParams};
use vitrine_recommender::ials::IalsParams;
use vitrine_recommender::popularity::PopularityParams;
use vitrine_recommender::serve::HybridWeights;

use super::evaluate::Trainer;
use super::models::{Content, Cooc, Ease, Hybrid, Ials, SparseEaseModel};
use super::popularity::Popularity;

/// Parameters of the models an evaluation trains (JSON); unset parts keep their defaults.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RecsParams {
    /// Implicit ALS.
    pub ials: IalsParams,
    /// Item co-occurrence.
    pub cooc: CoocParams,
    /// Dense EASE (the yardstick).
    pub ease: EaseParams,
    /// Sparse EASE, as the hybrid serves it.
    pub sparse_ease: SparseEaseParams,
    /// Content vectors.
    pub content: ContentParams,
    /// Popularity and trending.
    pub popularity: PopularityParams,
    /// The hybrid blend with EASE.
    pub hybrid: HybridWeights,
    /// The hybrid blend without EASE (unset fields from [`HybridWeights::without_ease`]).
    #[serde(deserialize_with = "HybridWeights::deserialize_without_ease")]
    pub hybrid_without_ease: HybridWeights,
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
            hybrid_without_ease: HybridWeights::without_ease(),
        }
    }
}

/// The parts of the parameters (and of a grid) a model reads.
///
/// # Errors
/// An unknown model name.
pub fn model_sections(model: &str) -> Result<&'static [&'static str], String> {
    Ok(match model {
        "pop" | "popularity" => &[],
        "cooc" => &["cooc"],
        "ials" => &["ials"],
        "ease" => &["ease"],
        "sparse_ease" => &["sparse_ease"],
        "content" => &["content"],
        "hybrid" => &["ials", "cooc", "sparse_ease", "popularity", "hybrid", "hybrid_without_ease"],
        other => {
            return Err(format!("unknown model `{other}`: use pop, cooc, ials, ease, sparse_ease, content or hybrid"));
        }
    })
}

/// A hyper-parameter grid: a JSON object from dotted parameter paths to lists of values,
/// `{"ials.factors": [32, 64, 128], "sparse_ease.lambda": [100, 150, 200]}`. Every model is
/// evaluated once per combination of the values of the paths in its sections.
#[derive(Debug, Clone, Default)]
pub struct ParamGrid {
    axes: Vec<(String, Vec<Value>)>,
}

impl ParamGrid {
    /// The grid a JSON value describes.
    ///
    /// # Errors
    /// Not an object, a path without values, a path that is not dotted.
    pub fn parse(value: &Value) -> Result<ParamGrid, String> {
        let object = value.as_object().ok_or("a grid is a JSON object")?;
        let mut axes = Vec::new();
        for (key, values) in object {
            let values = values
                .as_array()
                .filter(|values| !values.is_empty())
                .ok_or_else(|| format!("`{key}` needs a non-empty list of values"))?;
            if !key.contains('.') {
                return Err(format!("`{key}` is not a dotted path like `ials.factors`"));
            }
            axes.push((key.clone(), values.clone()));
        }
        Ok(ParamGrid { axes })
    }

    /// Every combination of the axes in `sections` laid over `base`, with its label suffix
    /// (empty without axes), as parsed parameters.
    ///
    /// # Errors
    /// A combination that is not valid parameters.
    pub fn combinations(&self, base: &Value, sections: &[&str]) -> Result<Vec<(String, RecsParams)>, String> {
        let axes: Vec<&(String, Vec<Value>)> = self
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
            let parsed: RecsParams = serde_json::from_value(params)
                .map_err(|error| format!("model parameters{suffix} are not valid: {error}"))?;
            combinations.push((suffix, parsed));
        }
        Ok(combinations)
    }

    /// One trainer per model of `models` (`pop`, `cooc`, `ials`, `ease`, `sparse_ease`, `content`,
    /// `hybrid`) and combination of its axes, with `base` beneath; content models read `texts`
    /// (id → text).
    ///
    /// # Errors
    /// An unknown model, a combination that is not valid parameters.
    pub fn trainers(
        &self,
        models: &[String],
        base: &Value,
        texts: &std::collections::HashMap<String, String>,
    ) -> Result<Vec<Box<dyn Trainer>>, String> {
        let mut trainers: Vec<Box<dyn Trainer>> = Vec::new();
        for name in models {
            let name = name.trim();
            for (suffix, params) in self.combinations(base, model_sections(name)?)? {
                let label = format!("{name}{suffix}");
                let trainer: Box<dyn Trainer> = match name {
                    "pop" | "popularity" => Box::new(Popularity),
                    "cooc" => Box::new(Cooc { name: label, params: params.cooc }),
                    "ials" => Box::new(Ials { name: label, params: params.ials }),
                    "ease" => Box::new(Ease { name: label, params: params.ease }),
                    "sparse_ease" => Box::new(SparseEaseModel { name: label, params: params.sparse_ease }),
                    "content" => Box::new(Content { name: label, params: params.content, texts: texts.clone() }),
                    _ => Box::new(Hybrid {
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
        Ok(trainers)
    }
}

/// Sets `value` at a dotted `path` of a JSON object, creating objects on the way.
fn set_path(target: &mut Value, path: &str, value: Value) -> Result<(), String> {
    let mut node = target;
    let parts: Vec<&str> = path.split('.').collect();
    for (position, part) in parts.iter().enumerate() {
        let object = node.as_object_mut().ok_or_else(|| format!("`{path}`: `{part}` is inside a non-object"))?;
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
        let expected = HybridWeights { cooc: 0.5, ..HybridWeights::without_ease() };
        assert_eq!(params.hybrid_without_ease, expected);
        let empty: RecsParams = serde_json::from_str("{}").expect("valid");
        assert_eq!(empty.hybrid_without_ease, HybridWeights::without_ease());
    }

    #[test]
    fn a_grid_gives_each_model_the_combinations_of_its_own_parameters() {
        let grid = ParamGrid::parse(&serde_json::json!(
            {"ials.factors": [8, 16], "ials.regularization": [0.1, 1.0], "cooc.neighbours": [5]}
        ))
        .expect("valid grid");
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
        let names = ["ials".to_owned(), "pop".to_owned()];
        assert_eq!(grid.trainers(&names, &base, &Default::default()).expect("valid").len(), 5);

        assert!(ParamGrid::parse(&serde_json::json!({"ials.factors": []})).is_err(), "an empty list");
        let grid = ParamGrid::parse(&serde_json::json!({"ials.nope": [1]})).expect("parses");
        assert!(grid.combinations(&base, &["ials"]).is_err(), "unknown parameters are refused");
        assert!(model_sections("nope").is_err());
    }
}
