//! `vitrine eval recs`: recommendation quality of every model under the temporal-split protocol
//! of `docs/evaluation.md`, with an optional hyper-parameter grid ([`vitrine_eval::recs::ParamGrid`]).

use anyhow::Context;
use vitrine_models::DataDir;

use crate::cli::EvalRecsArgs;
use crate::commands::import;

/// `vitrine eval recs`: every model under the temporal-split protocol of `docs/evaluation.md`.
pub(in crate::commands) fn run(data_dir: &DataDir, args: &EvalRecsArgs) -> anyhow::Result<()> {
    use vitrine_eval::recs::{self, Cutoff, ParamGrid, Trainer};

    let base: serde_json::Value = match &args.params {
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
            serde_json::from_str(&text).with_context(|| format!("{}: not JSON", path.display()))?
        }
        None => serde_json::json!({}),
    };
    let grid = match &args.grid {
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
            let value: serde_json::Value =
                serde_json::from_str(&text).with_context(|| format!("{}: not JSON", path.display()))?;
            ParamGrid::parse(&value).map_err(|reason| anyhow::anyhow!("{}: {reason}", path.display()))?
        }
        None => ParamGrid::default(),
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
    anyhow::ensure!(args.replicate >= 1, "--replicate must be at least 1");
    let log = log.replicate(args.replicate)?;
    let texts = recs::replicated_ids(&texts, args.replicate);
    let mut split = recs::split(&log, cutoff)?;
    split.one_copy_per_test_user(args.replicate);
    let trainers = grid.trainers(&args.models, &base, &texts).map_err(anyhow::Error::msg)?;
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
