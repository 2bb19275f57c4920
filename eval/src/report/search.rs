//! The search report: a summary of labelled [`RelevanceReport`] runs, the draft-vs-live table, the
//! NDCG and typo plots, and the query tables of every run.

use std::collections::HashMap;
use std::fmt::{self, Write as _};

use plotters::prelude::*;

use super::charts::{
    BarSeries, CHART_SIZE, LIGHT_GRID, PlotResult, chart_on, defined, draw_legend, draw_svg, grouped_bars, label_font,
    palette, shorten,
};
use super::html::{Best, best_value, count, escape, figure, number, page_end, page_start, write_cell};
use crate::search::{ComparisonRow, QueryResult, QueryVariant, RelevanceReport};

/// A labelled search run, e.g. ("live, as typed", &report).
#[derive(Debug, Clone)]
pub struct SearchRun<'a> {
    /// The run's name in tables, legends and headings.
    pub label: String,
    /// The run's results.
    pub report: &'a RelevanceReport,
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
        let mut chart = chart_on(root, title).build_cartesian_2d((0u32..9).into_segmented(), 0u32..y_top)?;
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
        let mut chart = chart_on(root, title).build_cartesian_2d(-0.02..1.02, -0.02..1.02)?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::html::tests::{assert_self_contained, svg_count};
    use crate::search::MetricMean;

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
