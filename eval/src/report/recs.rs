//! The recommendation report: the split's counts, the metric table and the plots of a
//! [`RecsReport`].

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};

use plotters::prelude::*;

use super::charts::{
    BarSeries, CHART_SIZE, LIGHT_GRID, Line, PlotResult, Reference, XAxis, chart_on, draw_svg, finite_span,
    grouped_bars, label_font, line_chart, palette, shorten, upper_bound,
};
use super::html::{Best, best_value, count, escape, figure, number, page_end, page_start, write_cell};
use crate::recs::{ModelReport, RecsReport};

/// The HTML page of a recommendation evaluation: the split's counts, the metric table (best value
/// of each column in bold), Recall/NDCG bars per model, Recall@K curves and the popularity bias
/// of every model (share per popularity tenth, and novelty against recall).
pub fn recs_html(title: &str, report: &RecsReport) -> String {
    let mut html = String::new();
    // Writing into a String cannot fail.
    let _ = write_recs_page(&mut html, title, report);
    html
}

/// A metric family of [`ModelReport::metrics`], one column per K.
#[derive(Debug)]
struct RecsMetric {
    /// The key prefix: `recall` for `recall@10`.
    key: &'static str,
    heading: &'static str,
    decimals: usize,
    best: Best,
}

/// The metric columns in table order. Gini (concentration of exposure) is best low; novelty (mean
/// popularity rank of the recommended items) is best high, like the accuracy metrics and coverage.
const RECS_METRICS: [RecsMetric; 7] = [
    RecsMetric { key: "recall", heading: "Recall", decimals: 4, best: Best::Highest },
    RecsMetric { key: "ndcg", heading: "NDCG", decimals: 4, best: Best::Highest },
    RecsMetric { key: "map", heading: "MAP", decimals: 4, best: Best::Highest },
    RecsMetric { key: "hitrate", heading: "HitRate", decimals: 4, best: Best::Highest },
    RecsMetric { key: "coverage", heading: "Coverage", decimals: 4, best: Best::Highest },
    RecsMetric { key: "gini", heading: "Gini", decimals: 4, best: Best::Lowest },
    RecsMetric { key: "novelty", heading: "Novelty", decimals: 1, best: Best::Highest },
];

fn write_recs_page(out: &mut String, title: &str, report: &RecsReport) -> fmt::Result {
    page_start(out, title)?;
    let ks = sorted_ks(&report.ks);

    let split = &report.split;
    writeln!(out, "<section>\n<h2>Split</h2>\n<table class=\"facts\">")?;
    let facts = [
        ("Cutoff", escape(&split.cutoff)),
        ("Train rows", count(split.train_rows)),
        ("Test rows", count(split.test_rows)),
        ("Train users", count(split.train_users)),
        ("Train items (candidates)", count(split.train_items)),
        ("Train user × item pairs", count(split.train_pairs)),
        ("Test users", count(split.test_users)),
        ("Test users scored (sample)", count(split.scored_test_users)),
        ("Mean relevant items per test user", number(split.mean_relevant_per_user, 2)),
        ("Relevant items never seen in train", count(split.relevant_unseen_in_train)),
    ];
    for (name, value) in facts {
        writeln!(out, "<tr><th>{name}</th><td class=\"num\">{value}</td></tr>")?;
    }
    writeln!(out, "</table>\n</section>")?;

    writeln!(out, "<section>\n<h2>Metrics</h2>")?;
    write_recs_table(out, report, &ks)?;
    writeln!(out, "</section>")?;

    if report.models.is_empty() {
        writeln!(out, "<p class=\"note\">No models were evaluated: nothing to plot.</p>")?;
        return page_end(out);
    }

    writeln!(out, "<section>\n<h2>Accuracy per model</h2>\n<div class=\"plots\">")?;
    let shown_ks = sorted_ks(&[ks.first().copied(), ks.last().copied()].into_iter().flatten().collect::<Vec<_>>());
    let bars_title = "Recall and NDCG per model";
    figure(out, bars_title, recs_bars_plot(bars_title, report, &shown_ks), "")?;
    let curves_title = "Recall@K";
    figure(out, curves_title, recall_curves_plot(curves_title, report, &ks), "K on a log scale.")?;
    writeln!(out, "</div>\n</section>")?;

    writeln!(out, "<section>\n<h2>Popularity bias</h2>\n<div class=\"plots\">")?;
    let bias_title = "Share of recommendations per popularity tenth";
    let bias_note = "Tenth 1 holds the 10% most popular items; a model without popularity bias gives each tenth 0.1.";
    figure(out, bias_title, popularity_plot(bias_title, report), bias_note)?;
    if let Some(&k) = ks.last() {
        let scatter_title = format!("Novelty@{k} vs Recall@{k}");
        let scatter_note = "Novelty = mean popularity rank of the recommended items (higher = less popular items).";
        figure(out, &scatter_title, novelty_plot(&scatter_title, report, k), scatter_note)?;
    }
    writeln!(out, "</div>\n</section>")?;
    page_end(out)
}

/// One row per model, one column per metric and K; the best value of each column in bold.
fn write_recs_table(out: &mut String, report: &RecsReport, ks: &[usize]) -> fmt::Result {
    if report.models.is_empty() {
        return writeln!(out, "<p class=\"note\">No models were evaluated.</p>");
    }
    let columns: Vec<(&RecsMetric, usize)> =
        RECS_METRICS.iter().flat_map(|metric| ks.iter().map(move |&k| (metric, k))).collect();
    writeln!(out, "<table class=\"data\">\n<thead><tr><th>Model</th>")?;
    for (metric, k) in &columns {
        write!(out, "<th>{}@{k}</th>", metric.heading)?;
    }
    writeln!(out, "<th>Train s</th><th>Eval s</th></tr></thead>\n<tbody>")?;
    let best: Vec<Option<f64>> = columns
        .iter()
        .map(|(metric, k)| {
            let key = format!("{}@{k}", metric.key);
            best_value(report.models.iter().map(|model| model.metric(&key)), metric.best)
        })
        .collect();
    for model in &report.models {
        write!(out, "<tr><th>{}</th>", escape(&model.model))?;
        for ((metric, k), best) in columns.iter().zip(&best) {
            let value = model.metric(&format!("{}@{k}", metric.key));
            write_cell(out, value, metric.decimals, value.is_some() && value == *best)?;
        }
        writeln!(
            out,
            "<td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            number(model.train_seconds, 3),
            number(model.eval_seconds, 3)
        )?;
    }
    writeln!(out, "</tbody>\n</table>")?;
    writeln!(out, "<p class=\"note\">Bold: the best value of each column (lowest for Gini, highest otherwise).</p>")
}

/// Grouped bars: one group per model, one bar per Recall@K and NDCG@K for each K of `ks`.
fn recs_bars_plot(title: &str, report: &RecsReport, ks: &[usize]) -> PlotResult {
    if ks.is_empty() {
        return Err("the report has no rank cut-off".into());
    }
    let groups: Vec<String> = report.models.iter().map(|model| model.model.clone()).collect();
    let series: Vec<BarSeries> = ["recall", "ndcg"]
        .iter()
        .flat_map(|key| ks.iter().map(move |k| (key, k)))
        .enumerate()
        .map(|(index, (key, k))| {
            let heading = if *key == "recall" { "Recall" } else { "NDCG" };
            let name = format!("{key}@{k}");
            BarSeries {
                label: format!("{heading}@{k}"),
                color: palette(index),
                values: report.models.iter().map(|model| model.metric(&name)).collect(),
            }
        })
        .collect();
    grouped_bars(title, &groups, &series, "value")
}

/// The Recall@K points of a model: its recall curve and its `recall@K` metrics (K > 0, finite).
fn recall_points(model: &ModelReport, ks: &[usize]) -> BTreeMap<usize, f64> {
    let mut points: BTreeMap<usize, f64> = model.recall_curve.iter().copied().collect();
    for &k in ks {
        if let Some(recall) = model.metric(&format!("recall@{k}")) {
            points.insert(k, recall);
        }
    }
    points.retain(|&k, recall| k > 0 && recall.is_finite());
    points
}

/// One line per model: Recall@K over every K of the model's recall curve and of `ks`, log x.
fn recall_curves_plot(title: &str, report: &RecsReport, ks: &[usize]) -> PlotResult {
    let per_model: Vec<BTreeMap<usize, f64>> = report.models.iter().map(|model| recall_points(model, ks)).collect();
    let all_ks: Vec<usize> = sorted_ks(&per_model.iter().flat_map(|points| points.keys().copied()).collect::<Vec<_>>());
    let (Some(&first), Some(&last)) = (all_ks.first(), all_ks.last()) else {
        return Err("no model has a Recall@K value".into());
    };
    let lines: Vec<Line> = report
        .models
        .iter()
        .zip(&per_model)
        .enumerate()
        .map(|(index, (model, points))| Line {
            label: model.model.clone(),
            color: palette(index),
            points: points.iter().map(|(&k, &recall)| ((k as f64).ln(), recall)).collect(),
        })
        .collect();
    let x_axis = XAxis {
        range: ((first as f64 / 1.3).ln(), (last as f64 * 1.3).ln()),
        ticks: all_ks.iter().map(|&k| (k as f64).ln()).collect(),
        label: &|log_k| format!("{:.0}", log_k.exp()),
        desc: "K",
    };
    line_chart(title, &x_axis, "Recall@K", &lines, None, SeriesLabelPosition::UpperLeft)
}

/// One line per model: the share of its recommendations in each popularity tenth, most popular
/// first, and a dashed line at 0.1 (no bias).
fn popularity_plot(title: &str, report: &RecsReport) -> PlotResult {
    let lines: Vec<Line> = report
        .models
        .iter()
        .enumerate()
        .map(|(index, model)| Line {
            label: model.model.clone(),
            color: palette(index),
            points: (1..)
                .zip(&model.popularity_deciles)
                .filter(|(_, share)| share.is_finite())
                .map(|(tenth, &share)| (f64::from(tenth), share))
                .collect(),
        })
        .collect();
    let tenths = report.models.iter().map(|model| model.popularity_deciles.len()).max().unwrap_or(0).max(10);
    let x_axis = XAxis {
        range: (0.5, tenths as f64 + 0.5),
        ticks: (1..=tenths).map(|tenth| tenth as f64).collect(),
        label: &|tenth| format!("{tenth:.0}"),
        desc: "popularity tenth of the catalogue (1 = most popular)",
    };
    let reference = Reference { label: "no bias (0.1)".to_string(), y: 0.1 };
    line_chart(title, &x_axis, "share of recommendations", &lines, Some(&reference), SeriesLabelPosition::UpperRight)
}

/// Novelty@K (x) against Recall@K (y), one labelled point per model.
fn novelty_plot(title: &str, report: &RecsReport, k: usize) -> PlotResult {
    let (novelty_key, recall_key) = (format!("novelty@{k}"), format!("recall@{k}"));
    let points: Vec<(usize, &str, f64, f64)> = report
        .models
        .iter()
        .enumerate()
        .filter_map(|(index, model)| {
            let novelty = model.metric(&novelty_key).filter(|value| value.is_finite())?;
            let recall = model.metric(&recall_key).filter(|value| value.is_finite())?;
            Some((index, model.model.as_str(), novelty, recall))
        })
        .collect();
    if points.is_empty() {
        return Err(format!("no model has both Novelty@{k} and Recall@{k}").into());
    }
    let (low, high) = finite_span(points.iter().map(|point| point.2)).unwrap_or((0.0, 1.0));
    let pad = if high > low { (high - low) * 0.15 } else { high.abs().max(1.0) * 0.1 };
    // More room on the right: the labels are written to the right of their points.
    let x_range = (low - pad, high + 2.5 * pad);
    let y_top = upper_bound(points.iter().map(|point| point.3), 1.25);
    let recall_desc = format!("Recall@{k}");
    let novelty_desc = format!("Novelty@{k} (mean popularity rank)");
    let decimals = if x_range.1 - x_range.0 >= 10.0 { 0 } else { 2 };
    let novelty_label = |rank: &f64| format!("{rank:.decimals$}");
    draw_svg(CHART_SIZE, |root| {
        let mut chart = chart_on(root, title).build_cartesian_2d(x_range.0..x_range.1, 0.0..y_top)?;
        chart
            .configure_mesh()
            .light_line_style(LIGHT_GRID)
            .x_label_formatter(&novelty_label)
            .x_desc(novelty_desc)
            .y_desc(recall_desc)
            .label_style(label_font())
            .draw()?;
        chart.draw_series(points.iter().map(|&(index, name, novelty, recall)| {
            EmptyElement::at((novelty, recall))
                + Circle::new((0, 0), 5, palette(index).filled())
                + Text::new(shorten(name, 28), (8, -14), label_font())
        }))?;
        Ok(())
    })
}

/// The distinct values of `ks`, ascending.
fn sorted_ks(ks: &[usize]) -> Vec<usize> {
    let mut ks = ks.to_vec();
    ks.sort_unstable();
    ks.dedup();
    ks
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::recs::SplitStats;
    use crate::report::html::tests::{assert_self_contained, svg_count};

    fn split_stats() -> SplitStats {
        SplitStats {
            cutoff: "2010-09-01T00:00:00Z".to_string(),
            cutoff_unix: 1_283_299_200,
            rows_read: 1200,
            rows: 1000,
            train_rows: 800,
            test_rows: 200,
            train_users: 50,
            train_items: 120,
            train_pairs: 700,
            train_baskets: 300,
            test_users: 30,
            scored_test_users: 30,
            mean_relevant_per_user: 3.5,
            relevant_unseen_in_train: 4,
        }
    }

    fn model(name: &str, recall_10: f64, recall_20: f64, novelty: f64) -> ModelReport {
        let mut metrics = BTreeMap::new();
        for (k, recall) in [(10, recall_10), (20, recall_20)] {
            metrics.insert(format!("recall@{k}"), recall);
            metrics.insert(format!("ndcg@{k}"), recall * 0.8);
            metrics.insert(format!("map@{k}"), recall * 0.5);
            metrics.insert(format!("hitrate@{k}"), recall * 2.0);
            metrics.insert(format!("coverage@{k}"), recall);
            metrics.insert(format!("gini@{k}"), 1.0 - recall);
            metrics.insert(format!("novelty@{k}"), novelty);
        }
        ModelReport {
            model: name.to_string(),
            train_seconds: 1.25,
            eval_seconds: 0.5,
            metrics,
            popularity_deciles: vec![0.5, 0.2, 0.1, 0.05, 0.05, 0.04, 0.03, 0.02, 0.01, 0.0],
            recall_curve: vec![(1, recall_10 / 4.0), (5, recall_10 / 2.0), (10, recall_10), (20, recall_20)],
        }
    }

    fn recs_report(models: Vec<ModelReport>) -> RecsReport {
        RecsReport { split: split_stats(), ks: vec![20, 10], models }
    }

    #[test]
    fn recs_page_has_tables_and_four_plots() {
        let report = recs_report(vec![
            model("popularity", 0.02, 0.03, 12.0),
            model("ease(l=500) <b>&</b>", 0.09, 0.12, 140.0),
            model("ials", 0.07, 0.10, 90.5),
        ]);
        let html = recs_html("Recs <Online Retail II>", &report);
        assert_self_contained(&html);
        assert!(html.contains("<title>Recs &lt;Online Retail II&gt;</title>"));
        assert_eq!(svg_count(&html), 4, "bars, curves, popularity lines, novelty scatter");
        assert_eq!(html.matches("</svg>").count(), 4);
        // The split's counts.
        for fact in ["2010-09-01T00:00:00Z", "800", "200", "3.50", "Test users"] {
            assert!(html.contains(fact), "{fact}");
        }
        // Columns for every metric and K, K ascending.
        let recall_10 = html.find("<th>Recall@10</th>").expect("Recall@10 column");
        let recall_20 = html.find("<th>Recall@20</th>").expect("Recall@20 column");
        assert!(recall_10 < recall_20);
        for column in ["NDCG@10", "MAP@20", "HitRate@10", "Coverage@20", "Gini@10", "Novelty@20", "Train s"] {
            assert!(html.contains(&format!("<th>{column}</th>")), "{column}");
        }
        // The best value of each column in bold: recall@10 0.09 (ease), gini lowest (ease again),
        // novelty highest (140.0); the others' values are not bold.
        assert!(html.contains("<strong>0.0900</strong>"));
        assert!(html.contains("<strong>0.9100</strong>"), "the lowest Gini@10");
        assert!(html.contains("<strong>140.0</strong>"));
        assert!(!html.contains("<strong>0.0700</strong>"));
        assert!(!html.contains("<strong>0.0200</strong>"));
        // Model names are escaped in the table and in the plots' legends.
        assert!(!html.contains("<b>&</b>"));
        assert!(html.contains("ease(l=500) &lt;b&gt;&amp;&lt;/b&gt;"));
        // The reference line of the popularity plot and K ticks of the curve (1, 5 from the curve).
        assert!(html.contains("no bias (0.1)"));
        assert!(html.contains(">\n1\n</text>"), "the K = 1 tick");
    }

    #[test]
    fn recs_page_without_models_or_ks_has_no_plot_and_does_not_panic() {
        let html = recs_html("", &recs_report(Vec::new()));
        assert_self_contained(&html);
        assert_eq!(svg_count(&html), 0);
        assert!(html.contains("No models were evaluated"));

        let mut empty_model = model("empty", 0.0, 0.0, 0.0);
        empty_model.metrics.clear();
        empty_model.popularity_deciles.clear();
        empty_model.recall_curve.clear();
        let html = recs_html("x", &RecsReport { split: split_stats(), ks: Vec::new(), models: vec![empty_model] });
        assert_self_contained(&html);
        assert_eq!(svg_count(&html), 0);
        assert!(html.contains("no plot"));
    }

    #[test]
    fn recs_page_survives_degenerate_values() {
        // One model, NaN and zero metrics, all-zero shares, a curve point at K = 0 and an infinite one.
        let mut odd = model("odd", 0.0, f64::NAN, 5.0);
        odd.popularity_deciles = vec![0.0; 10];
        odd.recall_curve = vec![(0, 0.5), (3, f64::INFINITY)];
        let report = RecsReport { split: split_stats(), ks: vec![10, 20], models: vec![odd] };
        let html = recs_html("odd", &report);
        assert_self_contained(&html);
        assert_eq!(svg_count(&html), 3, "no novelty scatter: Recall@20 is NaN");
        assert!(html.contains("Novelty@20 vs Recall@20: no plot (no model has both Novelty@20 and Recall@20)."));
        assert!(html.contains("—"), "NaN shows as a dash");

        // One K only: the curve has a single point.
        let mut single = model("single", 0.1, 0.2, 5.0);
        single.recall_curve.clear();
        let html = recs_html("single", &RecsReport { split: split_stats(), ks: vec![10], models: vec![single] });
        assert_self_contained(&html);
        assert_eq!(svg_count(&html), 4);
    }
}
