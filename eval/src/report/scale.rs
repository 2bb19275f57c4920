//! The scale report: how each cost `vitrine bench scale` measures grows with the catalogue, on
//! log-log plots (a straight line of slope 1 grows like the catalogue; the dashed line of each
//! plot shows it), a summary table and every latency cell.

use std::fmt::{self, Write as _};

use super::charts::{Line, log_log_chart, palette};
use super::html::{count, escape, figure, page_end, page_start, write_cell};
use crate::scale::ScaleRun;

/// The HTML page of scale runs: the latest run of each catalogue size, smallest first.
#[must_use]
pub fn scale_html(title: &str, runs: &[ScaleRun]) -> String {
    let mut latest: Vec<&ScaleRun> = Vec::new();
    for run in runs {
        match latest.iter_mut().find(|kept| kept.products == run.products) {
            Some(kept) => *kept = run,
            None => latest.push(run),
        }
    }
    latest.sort_by_key(|run| run.products);
    let mut html = String::new();
    // Writing into a String cannot fail.
    let _ = write_page(&mut html, title, &latest);
    html
}

/// The cell a summary reads, by (what, queries, facets, clients, pace).
type CellKey = (&'static str, &'static str, bool, usize, &'static str);

/// The headline latency: one typo, facets and filter on, one client, closed loop.
const HEADLINE: CellKey = ("search", "one_typo", true, 1, "closed");

fn p99_of(run: &ScaleRun, key: CellKey) -> Option<f64> {
    run.cell(key.0, key.1, key.2, key.3, key.4).map(|cell| cell.p99_ms)
}

fn p50_of(run: &ScaleRun, key: CellKey) -> Option<f64> {
    run.cell(key.0, key.1, key.2, key.3, key.4).map(|cell| cell.p50_ms)
}

fn line(index: usize, label: &str, runs: &[&ScaleRun], value: impl Fn(&ScaleRun) -> Option<f64>) -> Line {
    Line {
        label: label.to_owned(),
        color: palette(index),
        points: runs.iter().filter_map(|run| Some((run.products as f64, value(run)?))).collect(),
    }
}

fn write_page(out: &mut String, title: &str, runs: &[&ScaleRun]) -> fmt::Result {
    page_start(out, title)?;
    if runs.is_empty() {
        writeln!(out, "<p class=\"note\">No runs: nothing to plot.</p>")?;
        return page_end(out);
    }
    writeln!(out, "<section>\n<h2>Summary</h2>")?;
    write_summary(out, runs)?;
    writeln!(out, "</section>")?;

    writeln!(out, "<section>\n<h2>Costs against catalogue size (log-log)</h2>\n<div class=\"plots\">")?;
    let note = "A line steeper than the dashed one grows faster than the catalogue.";
    let search_lines = [
        line(0, "p50, as typed", runs, |run| p50_of(run, ("search", "typed", false, 1, "closed"))),
        line(1, "p99, as typed", runs, |run| p99_of(run, ("search", "typed", false, 1, "closed"))),
        line(2, "p50, one typo, facets + filter", runs, |run| p50_of(run, HEADLINE)),
        line(3, "p99, one typo, facets + filter", runs, |run| p99_of(run, HEADLINE)),
    ];
    let search_title = "Search latency, one client (ms)";
    figure(out, search_title, log_log_chart(search_title, "products", "ms", &search_lines, true), note)?;
    let load_lines: Vec<Line> = [1, 2, 16]
        .into_iter()
        .enumerate()
        .map(|(index, clients)| {
            line(index, &format!("p99, {clients} client(s), open loop"), runs, |run| {
                p99_of(run, ("search", "one_typo", true, clients, "open"))
            })
        })
        .collect();
    let load_title = "Search p99 under a fixed arrival rate (ms)";
    let load_note = "Open loop at a fraction of each cell's closed-loop throughput; one typo, facets + filter.";
    figure(out, load_title, log_log_chart(load_title, "products", "ms", &load_lines, true), load_note)?;
    let suggest_lines = [
        line(0, "p50", runs, |run| p50_of(run, ("suggest", "typed", false, 1, "closed"))),
        line(1, "p99", runs, |run| p99_of(run, ("suggest", "typed", false, 1, "closed"))),
    ];
    let suggest_title = "Autocomplete latency, one client (ms)";
    figure(out, suggest_title, log_log_chart(suggest_title, "products", "ms", &suggest_lines, true), note)?;
    let memory_lines = [
        line(0, "index on disk", runs, |run| Some(run.index_bytes as f64 / 1e6)),
        line(1, "resident memory", runs, |run| Some(run.resident_bytes as f64 / 1e6)),
    ];
    let memory_title = "Index and memory (MB)";
    figure(out, memory_title, log_log_chart(memory_title, "products", "MB", &memory_lines, true), note)?;
    let import_lines = [
        line(0, "bulk (vitrine import)", runs, |run| Some(run.import_products_per_second)),
        line(1, "documents API", runs, |run| run.api_import_products_per_second),
    ];
    let import_title = "Import speed (products/s)";
    let import_note = "Flat is ideal: the same speed at every size.";
    figure(
        out,
        import_title,
        log_log_chart(import_title, "products", "products/s", &import_lines, false),
        import_note,
    )?;
    writeln!(out, "</div>\n</section>")?;

    writeln!(out, "<section>\n<h2>Every latency cell</h2>")?;
    for run in runs {
        writeln!(
            out,
            "<h3>{} products</h3>\n<p class=\"note\">seed {}, {} timed requests per cell</p>",
            count(run.products),
            run.seed,
            count(run.requests_per_cell)
        )?;
        write_cells(out, run)?;
    }
    writeln!(out, "</section>")?;
    page_end(out)
}

fn write_summary(out: &mut String, runs: &[&ScaleRun]) -> fmt::Result {
    writeln!(
        out,
        "<table class=\"data\">\n<thead><tr><th>Products</th><th>Import (products/s)</th><th>Documents API (products/s)</th><th>Index (MB)</th>\
         <th>Resident (MB)</th><th>Search p50 (ms)</th><th>Search p99 (ms)</th>\
         <th>p99, 16 clients open loop (ms)</th><th>Suggest p99 (ms)</th></tr></thead>\n<tbody>"
    )?;
    for run in runs {
        write!(out, "<tr><th>{}</th>", count(run.products))?;
        write_cell(out, Some(run.import_products_per_second), 0, false)?;
        write_cell(out, run.api_import_products_per_second, 0, false)?;
        write_cell(out, Some(run.index_bytes as f64 / 1e6), 1, false)?;
        write_cell(out, Some(run.resident_bytes as f64 / 1e6), 0, false)?;
        write_cell(out, p50_of(run, HEADLINE), 2, false)?;
        write_cell(out, p99_of(run, HEADLINE), 2, false)?;
        write_cell(out, p99_of(run, ("search", "one_typo", true, 16, "open")), 2, false)?;
        write_cell(out, p99_of(run, ("suggest", "typed", false, 1, "closed")), 2, false)?;
        writeln!(out, "</tr>")?;
    }
    writeln!(
        out,
        "</tbody></table>\n<p class=\"note\">Search: queries with one typo, facets (brand, category, price) \
         and a filter (in stock, price below 500), one client, closed loop.</p>"
    )
}

fn write_cells(out: &mut String, run: &ScaleRun) -> fmt::Result {
    writeln!(
        out,
        "<table class=\"data\">\n<thead><tr><th>Request</th><th>Queries</th><th>Facets + filter</th><th>Clients</th>\
         <th>Pace</th><th>Offered/s</th><th>Answered/s</th><th>p50 (ms)</th><th>p99 (ms)</th><th>p99.9 (ms)</th>\
         </tr></thead>\n<tbody>"
    )?;
    for cell in &run.search {
        write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td>{}</td>",
            escape(&cell.what),
            escape(&cell.queries),
            if cell.facets_and_filter { "on" } else { "off" },
            cell.clients,
            escape(&cell.pace)
        )?;
        write_cell(out, cell.offered_per_second, 0, false)?;
        write_cell(out, Some(cell.per_second), 0, false)?;
        write_cell(out, Some(cell.p50_ms), 2, false)?;
        write_cell(out, Some(cell.p99_ms), 2, false)?;
        write_cell(out, Some(cell.p999_ms), 2, false)?;
        writeln!(out, "</tr>")?;
    }
    writeln!(out, "</tbody></table>")
}

#[cfg(test)]
mod tests {
    use super::super::html::tests::{assert_self_contained, svg_count};
    use super::*;
    use crate::scale::LatencyCell;

    fn run(products: usize, p99: f64) -> ScaleRun {
        let cell = |what: &str, queries: &str, facets: bool, clients: usize, pace: &str| LatencyCell {
            what: what.to_owned(),
            clients,
            queries: queries.to_owned(),
            facets_and_filter: facets,
            pace: pace.to_owned(),
            offered_per_second: (pace == "open").then_some(100.0),
            per_second: 150.0,
            p50_ms: p99 / 4.0,
            p99_ms: p99,
            p999_ms: p99 * 1.5,
        };
        ScaleRun {
            products,
            seed: 42,
            requests_per_cell: 1000,
            import_products_per_second: 30_000.0,
            api_import_products_per_second: Some(25_000.0),
            index_bytes: products as u64 * 270,
            resident_bytes: 300_000_000 + products as u64 * 600,
            search: vec![
                cell("search", "typed", false, 1, "closed"),
                cell("search", "one_typo", true, 1, "closed"),
                cell("search", "one_typo", true, 16, "open"),
                cell("suggest", "typed", false, 1, "closed"),
            ],
        }
    }

    #[test]
    fn the_page_plots_each_cost_and_keeps_the_latest_run_of_each_size() {
        let runs = [run(1_000_000, 40.0), run(100_000, 8.0), run(1_000_000, 12.0)];
        let html = scale_html("Scale <1M>", &runs);
        assert_self_contained(&html);
        assert!(html.contains("Scale &lt;1M&gt;"));
        assert_eq!(svg_count(&html), 5, "five log-log plots");
        assert!(html.contains("<td class=\"num\">12.00</td>"), "the later 1M run is shown");
        assert!(!html.contains("<td class=\"num\">40.00</td>"), "the earlier 1M run is not");
        assert!(
            html.find("100\u{202f}000 products").expect("test setup")
                < html.find("1\u{202f}000\u{202f}000 products").expect("test setup")
        );
    }

    #[test]
    fn no_runs_no_plots() {
        let html = scale_html("Scale", &[]);
        assert_self_contained(&html);
        assert_eq!(svg_count(&html), 0);
    }

    #[test]
    fn a_json_line_of_an_earlier_version_still_reads() {
        let line = r#"{"products": 100000, "seed": 42, "requests_per_cell": 1000, "import_products_per_second": 29119.0,
            "index_bytes": 27700000, "resident_bytes": 341000000, "search": [{"clients": 1, "queries": "typed",
            "facets_and_filter": false, "per_second": 213.0, "p50_ms": 3.8, "p99_ms": 15.8, "p999_ms": 24.1}]}"#;
        let run: ScaleRun = serde_json::from_str(line).expect("test setup");
        let cell = run.cell("search", "typed", false, 1, "closed").expect("test setup");
        assert_eq!((cell.p99_ms, cell.offered_per_second), (15.8, None));
    }
}
