//! Evaluation results as one self-contained HTML page with plots.
//!
//! [`recs_html`] renders a [`RecsReport`] (split counts, metric table, bars per model, Recall@K
//! curves, popularity bias); [`search_html`] renders one or more labelled [`RelevanceReport`]s
//! (summary, an optional draft-vs-live table, the per-query NDCG distribution, typo vs no typo,
//! the worst queries and every query).
//!
//! The page is a single file: CSS in a `<style>` element, plots as inline SVG drawn by plotters
//! into strings, no script and no reference to anything outside the file. Every text that comes
//! from the data (model names, query texts, run labels) is HTML-escaped, in the tables here and in
//! the plots by plotters' SVG backend.
//!
//! Text in plots: plotters is built without its `ttf` and `ab_glyph` features, so it uses its
//! built-in "naive" font, which only estimates text widths for the layout; the SVG backend writes
//! every caption, tick label and legend entry as an SVG `<text>` element that the browser sets in
//! its own sans-serif font. No font file is read and no system font is looked up.
//!
//! A plot that cannot be drawn (no data, a drawing error) becomes a one-line note; nothing here
//! panics on empty or odd input (NaN metrics, no models, no queries).

mod charts;
mod html;

use std::collections::{BTreeMap, HashMap};
use std::fmt::{self, Write as _};

use plotters::prelude::*;
use serde::Serialize;

use self::charts::{
    BarSeries, CHART_SIZE, LIGHT_GRID, Line, PlotResult, Reference, XAxis, defined, draw_legend, draw_svg, finite_span,
    grouped_bars, label_font, line_chart, palette, shorten, title_font, upper_bound,
};
use self::html::{Best, best_value, count, escape, figure, number, page_end, page_start, write_cell};
use crate::recs::{ModelReport, RecsReport};
use crate::search::{QueryResult, QueryVariant, RelevanceReport};

/// One row of a draft-vs-live settings comparison, computed elsewhere (this module only renders it).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ComparisonRow {
    /// The metric's name, e.g. `NDCG@10`.
    pub metric: String,
    /// The mean with the live settings.
    pub live: f64,
    /// The mean with the draft settings.
    pub draft: f64,
    /// `draft − live`.
    pub difference: f64,
    /// The two-sided p-value of the difference; below 0.05 it is shown as significant.
    pub p_value: f64,
    /// How many queries the comparison is over.
    pub queries: usize,
}

/// A labelled search run, e.g. ("live, as typed", &report).
#[derive(Debug, Clone)]
pub struct SearchRun<'a> {
    /// The run's name in tables, legends and headings.
    pub label: String,
    /// The run's results.
    pub report: &'a RelevanceReport,
}

/// The HTML page of a recommendation evaluation: the split's counts, the metric table (best value
/// of each column in bold), Recall/NDCG bars per model, Recall@K curves and the popularity bias
/// of every model (share per popularity tenth, and novelty against recall).
pub fn recs_html(title: &str, report: &RecsReport) -> String {
    let mut html = String::new();
    // Writing into a String cannot fail.
    let _ = write_recs_page(&mut html, title, report);
    html
}

/// The HTML page of one or more search relevance runs: a summary table, the draft-vs-live table
/// when `comparison` is given, the per-query NDCG histogram, typo vs no-typo plots, and per run
/// the 20 worst queries and (folded) every query.
///
/// Each [`QueryVariant::OneTypo`] run is compared query by query with the nearest
/// [`QueryVariant::AsTyped`] run before it in `runs` (or the first one, if none comes before).
pub fn search_html(title: &str, runs: &[SearchRun<'_>], comparison: Option<&[ComparisonRow]>) -> String {
    let mut html = String::new();
    // Writing into a String cannot fail.
    let _ = write_search_page(&mut html, title, runs, comparison);
    html
}

// ---------------------------------------------------------------------------------------------
// Recommendations
// ---------------------------------------------------------------------------------------------

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
        let mut chart = ChartBuilder::on(root)
            .caption(title, title_font())
            .margin(12)
            .x_label_area_size(44)
            .y_label_area_size(60)
            .build_cartesian_2d(x_range.0..x_range.1, 0.0..y_top)?;
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

// ---------------------------------------------------------------------------------------------
// Search
// ---------------------------------------------------------------------------------------------

/// How many of the worst queries are listed per run.
const WORST_QUERIES: usize = 20;

/// The p-value under which a difference is marked significant.
const SIGNIFICANCE_LEVEL: f64 = 0.05;

fn write_search_page(
    out: &mut String,
    title: &str,
    runs: &[SearchRun<'_>],
    comparison: Option<&[ComparisonRow]>,
) -> fmt::Result {
    page_start(out, title)?;
    let at = match shared_cutoff(runs) {
        Some(cutoff) => format!("@{cutoff}"),
        None => "@k".to_string(),
    };

    writeln!(out, "<section>\n<h2>Summary</h2>")?;
    write_search_summary(out, runs, &at)?;
    writeln!(out, "</section>")?;

    if let Some(rows) = comparison {
        writeln!(out, "<section>\n<h2>Draft vs live</h2>")?;
        write_comparison(out, rows)?;
        writeln!(out, "</section>")?;
    }

    if runs.is_empty() {
        writeln!(out, "<p class=\"note\">No runs: nothing to plot.</p>")?;
        return page_end(out);
    }

    writeln!(out, "<section>\n<h2>Per-query NDCG{at}</h2>\n<div class=\"plots\">")?;
    let left_out: Vec<String> = runs
        .iter()
        .map(|run| {
            let undefined = run.report.per_query.iter().filter(|result| defined(result.ndcg).is_none()).count();
            format!("{}: {}", escape(&run.label), count(undefined))
        })
        .collect();
    let note =
        format!("Queries without an NDCG (no judged product with a gain) are left out — {}.", left_out.join("; "));
    let histogram_title = format!("Distribution of NDCG{at} per query");
    figure(out, &histogram_title, ndcg_histogram(&histogram_title, runs), &note)?;
    writeln!(out, "</div>\n</section>")?;

    writeln!(out, "<section>\n<h2>Typos</h2>\n<div class=\"plots\">")?;
    let pairs = typo_pairs(runs);
    if pairs.is_empty() {
        writeln!(
            out,
            "<p class=\"note\">No pair of an as-typed run and a one-typo run to compare query by query.</p>"
        )?;
    }
    for (typed, typo) in pairs {
        let scatter_title =
            format!("NDCG{at} per query: {} vs {}", shorten(&typo.label, 30), shorten(&typed.label, 30));
        let (plot, note) = typo_scatter(&scatter_title, typed, typo);
        figure(out, &scatter_title, plot, &note)?;
    }
    let bars_title = "Mean metrics per run";
    figure(out, bars_title, search_bars_plot(bars_title, runs, &at), "")?;
    writeln!(out, "</div>\n</section>")?;

    for run in runs {
        let report = run.report;
        writeln!(out, "<section>\n<h2>{}</h2>", escape(&run.label))?;
        writeln!(out, "<p class=\"note\">{}; NDCG, recall and MRR at {}.</p>", report.variant, report.cutoff)?;
        let worst = report.worst(WORST_QUERIES);
        writeln!(out, "<h3>The {} worst queries by NDCG</h3>", worst.len())?;
        if worst.is_empty() {
            writeln!(out, "<p class=\"note\">No query has an NDCG.</p>")?;
        } else {
            write_query_table(out, &worst)?;
        }
        let every: Vec<&QueryResult> = report.per_query.iter().collect();
        writeln!(out, "<details>\n<summary>All {} queries</summary>", count(every.len()))?;
        write_query_table(out, &every)?;
        writeln!(out, "</details>\n</section>")?;
    }
    page_end(out)
}

/// The cut-off of every run, if they all share one.
fn shared_cutoff(runs: &[SearchRun<'_>]) -> Option<usize> {
    let first = runs.first()?.report.cutoff;
    runs.iter().all(|run| run.report.cutoff == first).then_some(first)
}

/// Reads one mean of a run.
type MeanOf = fn(&RelevanceReport) -> Option<f64>;

/// One row per run; the best mean of each column in bold (lowest for the zero-result rate).
fn write_search_summary(out: &mut String, runs: &[SearchRun<'_>], at: &str) -> fmt::Result {
    if runs.is_empty() {
        return writeln!(out, "<p class=\"note\">No runs.</p>");
    }
    let cutoff_column = shared_cutoff(runs).is_none();
    writeln!(out, "<table class=\"data\">\n<thead><tr><th>Run</th><th>Queries sent</th>")?;
    if cutoff_column {
        write!(out, "<th>k</th>")?;
    }
    writeln!(
        out,
        "<th>NDCG{at}</th><th>Recall{at}</th><th>MRR{at}</th><th>Zero-result rate</th><th>Queries</th></tr></thead>\n<tbody>"
    )?;
    let columns: [(MeanOf, Best); 4] = [
        (|report| report.ndcg.mean, Best::Highest),
        (|report| report.recall.mean, Best::Highest),
        (|report| report.mrr.mean, Best::Highest),
        (|report| report.zero_results.mean, Best::Lowest),
    ];
    let best: Vec<Option<f64>> =
        columns.iter().map(|(mean, best)| best_value(runs.iter().map(|run| mean(run.report)), *best)).collect();
    for run in runs {
        write!(out, "<tr><th>{}</th><td>{}</td>", escape(&run.label), run.report.variant)?;
        if cutoff_column {
            write!(out, "<td class=\"num\">{}</td>", run.report.cutoff)?;
        }
        for ((mean, _), best) in columns.iter().zip(&best) {
            let value = mean(run.report);
            write_cell(out, value, 4, defined(value).is_some() && value == *best)?;
        }
        writeln!(out, "<td class=\"num\">{}</td></tr>", count(run.report.per_query.len()))?;
    }
    writeln!(out, "</tbody>\n</table>")?;
    writeln!(
        out,
        "<p class=\"note\">Means over the queries where each metric is defined; bold: the best run per column.</p>"
    )
}

/// The draft-vs-live table; rows with p < 0.05 are marked significant.
fn write_comparison(out: &mut String, rows: &[ComparisonRow]) -> fmt::Result {
    if rows.is_empty() {
        return writeln!(out, "<p class=\"note\">No metric was compared.</p>");
    }
    writeln!(
        out,
        "<table class=\"data\">\n<thead><tr><th>Metric</th><th>Live</th><th>Draft</th><th>Difference</th>\
         <th>p-value</th><th>Queries</th><th>Significant</th></tr></thead>\n<tbody>"
    )?;
    for row in rows {
        let significant = row.p_value.is_finite() && row.p_value < SIGNIFICANCE_LEVEL;
        let class = match (significant, row.difference > 0.0) {
            (false, _) => "",
            (true, true) => " class=\"significant better\"",
            (true, false) => " class=\"significant worse\"",
        };
        let difference = if row.difference.is_finite() { format!("{:+.4}", row.difference) } else { "—".to_string() };
        let p_value = match row.p_value {
            p if !p.is_finite() => "—".to_string(),
            p if p < 0.001 => "&lt; 0.001".to_string(),
            p => format!("{p:.3}"),
        };
        let mark = if significant { "<strong>yes</strong> (p &lt; 0.05)" } else { "no" };
        writeln!(
            out,
            "<tr{class}><th>{}</th><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{difference}</td>\
             <td class=\"num\">{p_value}</td><td class=\"num\">{}</td><td>{mark}</td></tr>",
            escape(&row.metric),
            number(row.live, 4),
            number(row.draft, 4),
            count(row.queries),
        )?;
    }
    writeln!(out, "</tbody>\n</table>")?;
    writeln!(out, "<p class=\"note\">Difference = draft − live; significant when p &lt; 0.05.</p>")
}

/// A table of query results; the typo column only when some result has a typo text.
fn write_query_table(out: &mut String, results: &[&QueryResult]) -> fmt::Result {
    let typo_column = results.iter().any(|result| result.typo_query.is_some());
    write!(out, "<table class=\"data queries\">\n<thead><tr><th>Id</th><th>Query</th>")?;
    if typo_column {
        write!(out, "<th>Typo query</th>")?;
    }
    writeln!(out, "<th>NDCG</th><th>Recall</th><th>MRR</th><th>Zero result</th></tr></thead>\n<tbody>")?;
    for result in results {
        write!(out, "<tr><td>{}</td><td>{}</td>", escape(&result.id), escape(&result.query))?;
        if typo_column {
            write!(out, "<td>{}</td>", escape(result.typo_query.as_deref().unwrap_or("")))?;
        }
        for value in [result.ndcg, result.recall, result.mrr] {
            write_cell(out, value, 4, false)?;
        }
        writeln!(out, "<td>{}</td></tr>", if result.zero_result { "yes" } else { "" })?;
    }
    writeln!(out, "</tbody>\n</table>")
}

/// Overlaid histograms of the per-query NDCG of every run, in bins of 0.1 over [0, 1].
fn ndcg_histogram(title: &str, runs: &[SearchRun<'_>]) -> PlotResult {
    let bins: Vec<[u32; 10]> = runs
        .iter()
        .map(|run| {
            let mut bins = [0u32; 10];
            for ndcg in run.report.per_query.iter().filter_map(|result| defined(result.ndcg)) {
                // NDCG is in [0, 1]; 1.0 goes in the last bin.
                let bin = ((ndcg.clamp(0.0, 1.0) * 10.0).floor() as usize).min(9);
                bins[bin] = bins[bin].saturating_add(1);
            }
            bins
        })
        .collect();
    let tallest = bins.iter().flatten().copied().max().unwrap_or(0);
    if tallest == 0 {
        return Err("no query has an NDCG".into());
    }
    let y_top = tallest.saturating_add((tallest / 5).max(1));
    let bin_label = |value: &SegmentValue<u32>| match value {
        SegmentValue::Exact(bin) | SegmentValue::CenterOf(bin) => {
            format!("{:.1}–{:.1}", f64::from(*bin) / 10.0, f64::from(bin + 1) / 10.0)
        }
        SegmentValue::Last => String::new(),
    };
    draw_svg(CHART_SIZE, |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(title, title_font())
            .margin(12)
            .x_label_area_size(44)
            .y_label_area_size(60)
            .build_cartesian_2d((0u32..9).into_segmented(), 0u32..y_top)?;
        chart
            .configure_mesh()
            .light_line_style(LIGHT_GRID)
            .disable_x_mesh()
            .x_labels(10)
            .x_label_formatter(&bin_label)
            .x_desc("NDCG")
            .y_desc("queries")
            .label_style(label_font())
            .draw()?;
        for (index, (run, run_bins)) in runs.iter().zip(&bins).enumerate() {
            let color = palette(index);
            chart
                .draw_series(
                    Histogram::vertical(&chart)
                        .style(color.mix(0.45).filled())
                        .margin(3)
                        .data((0u32..).zip(run_bins.iter().copied())),
                )?
                .label(shorten(&run.label, 40))
                .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], color.mix(0.45).filled()));
        }
        draw_legend(&mut chart, SeriesLabelPosition::UpperLeft)?;
        Ok(())
    })
}

/// Every one-typo run with the as-typed run it is compared with: the nearest one before it in
/// `runs`, else the first one.
fn typo_pairs<'r, 'a>(runs: &'r [SearchRun<'a>]) -> Vec<(&'r SearchRun<'a>, &'r SearchRun<'a>)> {
    let as_typed = |run: &&SearchRun<'a>| run.report.variant == QueryVariant::AsTyped;
    runs.iter()
        .enumerate()
        .filter(|(_, run)| matches!(run.report.variant, QueryVariant::OneTypo { .. }))
        .filter_map(|(index, typo)| {
            let before = runs[..index].iter().rev().find(as_typed);
            before.or_else(|| runs.iter().find(as_typed)).map(|typed| (typed, typo))
        })
        .collect()
}

/// Per-query NDCG as typed (x) against with one typo (y), matched by query id, with the diagonal;
/// and a note counting the queries below, on and above it.
fn typo_scatter(title: &str, typed: &SearchRun<'_>, typo: &SearchRun<'_>) -> (PlotResult, String) {
    let typed_ndcg: HashMap<&str, f64> = typed
        .report
        .per_query
        .iter()
        .filter_map(|result| defined(result.ndcg).map(|ndcg| (result.id.as_str(), ndcg)))
        .collect();
    let points: Vec<(f64, f64)> = typo
        .report
        .per_query
        .iter()
        .filter_map(|result| Some((*typed_ndcg.get(result.id.as_str())?, defined(result.ndcg)?)))
        .collect();
    let worse = points.iter().filter(|(as_typed, with_typo)| with_typo < as_typed).count();
    let better = points.iter().filter(|(as_typed, with_typo)| with_typo > as_typed).count();
    let note = format!(
        "{} queries matched by id (both NDCGs defined): {} worse with the typo (below the diagonal), {} unchanged, {} better.",
        count(points.len()),
        count(worse),
        count(points.len() - worse - better),
        count(better)
    );
    if points.is_empty() {
        return (Err("no query has an NDCG in both runs".into()), note);
    }
    let x_desc = format!("NDCG, {}", shorten(&typed.label, 40));
    let y_desc = format!("NDCG, {}", shorten(&typo.label, 40));
    let plot = draw_svg((560, 520), |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(title, title_font())
            .margin(12)
            .x_label_area_size(44)
            .y_label_area_size(60)
            .build_cartesian_2d(-0.02..1.02, -0.02..1.02)?;
        chart
            .configure_mesh()
            .light_line_style(LIGHT_GRID)
            .x_desc(x_desc)
            .y_desc(y_desc)
            .label_style(label_font())
            .draw()?;
        chart
            .draw_series(DashedLineSeries::new(vec![(0.0, 0.0), (1.0, 1.0)], 6, 4, BLACK.mix(0.6).stroke_width(1)))?
            .label("same NDCG")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], BLACK.mix(0.6).stroke_width(1)));
        let color = palette(0);
        chart.draw_series(points.iter().map(|&point| Circle::new(point, 4, color.mix(0.45).filled())))?;
        draw_legend(&mut chart, SeriesLabelPosition::UpperLeft)?;
        Ok(())
    });
    (plot, note)
}

/// Grouped bars: one group per metric (NDCG, Recall, MRR, zero-result rate), one bar per run.
fn search_bars_plot(title: &str, runs: &[SearchRun<'_>], at: &str) -> PlotResult {
    let groups = vec![format!("NDCG{at}"), format!("Recall{at}"), format!("MRR{at}"), "zero-result rate".to_string()];
    let series: Vec<BarSeries> = runs
        .iter()
        .enumerate()
        .map(|(index, run)| {
            let report = run.report;
            BarSeries {
                label: run.label.clone(),
                color: palette(index),
                values: vec![report.ndcg.mean, report.recall.mean, report.mrr.mean, report.zero_results.mean],
            }
        })
        .collect();
    grouped_bars(title, &groups, &series, "mean")
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
    use crate::search::MetricMean;

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

    fn result(id: &str, query: &str, typo: Option<&str>, ndcg: Option<f64>) -> QueryResult {
        QueryResult {
            id: id.to_string(),
            query: query.to_string(),
            typo_query: typo.map(str::to_string),
            ndcg,
            mrr: ndcg,
            recall: ndcg,
            zero_result: ndcg == Some(0.0),
        }
    }

    fn relevance_report(variant: QueryVariant, per_query: Vec<QueryResult>) -> RelevanceReport {
        let mean = |values: Vec<Option<f64>>| {
            let defined: Vec<f64> = values.into_iter().flatten().collect();
            let queries = defined.len();
            MetricMean { mean: (queries > 0).then(|| defined.iter().sum::<f64>() / queries as f64), queries }
        };
        RelevanceReport {
            variant,
            cutoff: 10,
            relevance_threshold: 2.0,
            ndcg: mean(per_query.iter().map(|result| result.ndcg).collect()),
            mrr: mean(per_query.iter().map(|result| result.mrr).collect()),
            recall: mean(per_query.iter().map(|result| result.recall).collect()),
            zero_results: mean(per_query.iter().map(|result| Some(f64::from(u8::from(result.zero_result)))).collect()),
            typo_unchanged: 0,
            per_query,
        }
    }

    fn as_typed() -> RelevanceReport {
        relevance_report(
            QueryVariant::AsTyped,
            vec![
                result("1", "angle bracket", None, Some(0.9)),
                result("2", "<script>alert('x')</script> drill", None, Some(0.4)),
                result("3", "deck screws", None, Some(1.0)),
                result("4", "nothing judged", None, None),
                result("5", "ceiling fan", None, Some(0.0)),
            ],
        )
    }

    fn one_typo() -> RelevanceReport {
        relevance_report(
            QueryVariant::OneTypo { seed: 7 },
            vec![
                result("1", "angle bracket", Some("angel bracket"), Some(0.7)),
                result("2", "<script>alert('x')</script> drill", Some("<script>alert('x')</script> dril"), Some(0.4)),
                result("3", "deck screws", Some("dekc screws"), Some(0.2)),
                result("4", "nothing judged", Some("nothing jduged"), None),
                result("5", "ceiling fan", Some("cieling fan"), Some(0.1)),
            ],
        )
    }

    /// One document, nothing fetched from the network.
    fn assert_self_contained(html: &str) {
        assert!(html.starts_with("<!DOCTYPE html>"), "{}", &html[..html.len().min(80)]);
        assert!(html.trim_end().ends_with("</html>"));
        assert_eq!(html.matches("<html").count(), 1);
        assert_eq!(html.matches("</body>").count(), 1);
        for network in ["http://", "https://", "src=", "href=", "url(", "@import", "<script"] {
            assert!(!html.contains(network), "the page contains {network}");
        }
    }

    fn svg_count(html: &str) -> usize {
        html.matches("<svg").count()
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

    #[test]
    fn search_page_with_typo_run_and_comparison() {
        let (typed, typo) = (as_typed(), one_typo());
        let runs = [
            SearchRun { label: "live, as typed".to_string(), report: &typed },
            SearchRun { label: "live, one typo <i>".to_string(), report: &typo },
        ];
        let comparison = [
            ComparisonRow {
                metric: "NDCG@10".to_string(),
                live: 0.5,
                draft: 0.56,
                difference: 0.06,
                p_value: 0.01,
                queries: 4,
            },
            ComparisonRow {
                metric: "Recall@10".to_string(),
                live: 0.5,
                draft: 0.49,
                difference: -0.01,
                p_value: 0.6,
                queries: 4,
            },
        ];
        let html = search_html("Search & relevance", &runs, Some(&comparison));
        assert_self_contained(&html);
        assert_eq!(svg_count(&html), 3, "histogram, typo scatter, mean bars");
        assert!(html.contains("<h1>Search &amp; relevance</h1>"));
        // Query texts, typo texts and labels are escaped.
        assert!(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; drill"));
        assert!(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; dril<"));
        assert!(html.contains("live, one typo &lt;i&gt;"));
        assert!(!html.contains("<i>"));
        // Summary headers at the shared cutoff; comparison with signs and significance.
        for header in ["NDCG@10", "Recall@10", "MRR@10", "Zero-result rate"] {
            assert!(html.contains(&format!("<th>{header}</th>")), "{header}");
        }
        assert!(html.contains(">+0.0600<"));
        assert!(html.contains(">-0.0100<"));
        assert_eq!(html.matches("<strong>yes</strong>").count(), 1);
        assert!(html.contains("class=\"significant better\""));
        // Undefined NDCGs are counted, the typo scatter is summarised.
        assert!(html.contains("live, as typed: 1"));
        assert!(html.contains("4 queries matched by id"));
        assert!(html.contains("2 worse with the typo (below the diagonal), 1 unchanged, 1 better"));
        // Worst queries (4 with an NDCG) and every query (5) folded.
        assert!(html.contains("The 4 worst queries by NDCG"));
        assert!(html.contains("<summary>All 5 queries</summary>"));
        assert!(html.contains("<th>Typo query</th>"));
        // Best summary means in bold: as typed has the higher NDCG mean (0.575 vs 0.35).
        assert!(html.contains("<strong>0.5750</strong>"));
    }

    #[test]
    fn search_page_without_typo_run_or_comparison() {
        let typed = as_typed();
        let runs = [SearchRun { label: "bm25".to_string(), report: &typed }];
        let html = search_html("bm25", &runs, None);
        assert_self_contained(&html);
        assert_eq!(svg_count(&html), 2, "histogram and mean bars");
        assert!(!html.contains("Draft vs live"));
        assert!(html.contains("No pair of an as-typed run and a one-typo run"));
    }

    #[test]
    fn search_page_with_nothing_does_not_panic() {
        let html = search_html("empty", &[], Some(&[]));
        assert_self_contained(&html);
        assert_eq!(svg_count(&html), 0);
        assert!(html.contains("No runs"));
        assert!(html.contains("No metric was compared"));

        let (typed, typo) = (
            relevance_report(QueryVariant::AsTyped, Vec::new()),
            relevance_report(QueryVariant::OneTypo { seed: 1 }, vec![result("9", "x", Some("y"), None)]),
        );
        let runs = [
            SearchRun { label: "typo first".to_string(), report: &typo },
            SearchRun { label: "typed".to_string(), report: &typed },
        ];
        let html = search_html("no queries", &runs, None);
        assert_self_contained(&html);
        assert_eq!(svg_count(&html), 1, "only the mean bars: the zero-result rate 0 of the typo run");
        assert!(html.contains("no plot"));
        assert!(html.contains("<summary>All 0 queries</summary>"));
    }

    #[test]
    fn typo_runs_pair_with_the_nearest_as_typed_run_before_them() {
        let (typed, typo) = (as_typed(), one_typo());
        let runs = [
            SearchRun { label: "typo 0".to_string(), report: &typo },
            SearchRun { label: "live".to_string(), report: &typed },
            SearchRun { label: "typo 2".to_string(), report: &typo },
            SearchRun { label: "draft".to_string(), report: &typed },
            SearchRun { label: "typo 4".to_string(), report: &typo },
        ];
        let pairs: Vec<(&str, &str)> =
            typo_pairs(&runs).into_iter().map(|(typed, typo)| (typed.label.as_str(), typo.label.as_str())).collect();
        assert_eq!(pairs, [("live", "typo 0"), ("live", "typo 2"), ("draft", "typo 4")]);
    }
}
