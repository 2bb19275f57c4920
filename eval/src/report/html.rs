//! The page around the plots: its skeleton and CSS, figures, table cells, number formatting and
//! HTML escaping.

use std::fmt::{self, Write as _};

use super::charts::{PlotResult, defined};

const STYLE: &str = "
body { font-family: system-ui, -apple-system, 'Segoe UI', sans-serif; margin: 2rem auto; max-width: 1280px;
  padding: 0 1rem; color: #222; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.25rem; margin-top: 2rem; border-bottom: 1px solid #ddd; }
h3 { font-size: 1.05rem; }
table { border-collapse: collapse; margin: 0.5rem 0; font-size: 0.9rem; }
th, td { border: 1px solid #ddd; padding: 0.25rem 0.5rem; text-align: left; vertical-align: top; }
thead th { background: #f4f4f4; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.significant.better td, tr.significant.better th { background: #e8f5e9; }
tr.significant.worse td, tr.significant.worse th { background: #fdecea; }
.plots { display: flex; flex-wrap: wrap; gap: 1rem; }
figure { margin: 0; max-width: 100%; }
figure svg { max-width: 100%; height: auto; }
figcaption, .note { color: #555; font-size: 0.85rem; max-width: 760px; }
.no-plot { color: #777; font-style: italic; }
details { margin: 0.5rem 0 1rem; } summary { cursor: pointer; }
";

pub(super) fn page_start(out: &mut String, title: &str) -> fmt::Result {
    let title = escape(title);
    writeln!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{title}</title>\n\
         <style>{STYLE}</style>\n</head>\n<body>\n<h1>{title}</h1>"
    )
}

pub(super) fn page_end(out: &mut String) -> fmt::Result {
    writeln!(out, "</body>\n</html>")
}

/// A plot with its note (HTML, escaped by the caller), or a one-line note saying why there is no
/// plot.
pub(super) fn figure(out: &mut String, title: &str, plot: PlotResult, note: &str) -> fmt::Result {
    match plot {
        Ok(svg) if note.is_empty() => writeln!(out, "<figure>\n{svg}</figure>"),
        Ok(svg) => writeln!(out, "<figure>\n{svg}<figcaption>{note}</figcaption>\n</figure>"),
        Err(why) => {
            writeln!(out, "<p class=\"no-plot\">{}: no plot ({}).</p>", escape(title), escape(&why.to_string()))
        }
    }
}

/// A right-aligned number cell, `—` for a missing or non-finite value, bold if `bold`.
pub(super) fn write_cell(out: &mut String, value: Option<f64>, decimals: usize, bold: bool) -> fmt::Result {
    let text = value.map_or_else(|| "—".to_string(), |value| number(value, decimals));
    if bold {
        write!(out, "<td class=\"num\"><strong>{text}</strong></td>")
    } else {
        write!(out, "<td class=\"num\">{text}</td>")
    }
}

/// `value` with `decimals` decimals, or `—` when it is not finite.
pub(super) fn number(value: f64, decimals: usize) -> String {
    if value.is_finite() { format!("{value:.decimals$}") } else { "—".to_string() }
}

/// A count with thin-space thousands separators: `12 345`.
pub(super) fn count(value: usize) -> String {
    let digits = value.to_string();
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            grouped.push('\u{202f}');
        }
        grouped.push(digit);
    }
    grouped
}

/// Which end of a metric column is best.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Best {
    Highest,
    Lowest,
}

/// The best finite value of a column.
pub(super) fn best_value(values: impl Iterator<Item = Option<f64>>, best: Best) -> Option<f64> {
    values.filter_map(defined).reduce(|a, b| match best {
        Best::Highest => a.max(b),
        Best::Lowest => a.min(b),
    })
}

/// `text` with the HTML special characters escaped, for element content and quoted attributes.
pub(super) fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            other => escaped.push(other),
        }
    }
    escaped
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// One document, nothing fetched from the network.
    pub(crate) fn assert_self_contained(html: &str) {
        assert!(html.starts_with("<!DOCTYPE html>"), "{}", &html[..html.len().min(80)]);
        assert!(html.trim_end().ends_with("</html>"));
        assert_eq!(html.matches("<html").count(), 1);
        assert_eq!(html.matches("</body>").count(), 1);
        for network in ["http://", "https://", "src=", "href=", "url(", "@import", "<script"] {
            assert!(!html.contains(network), "the page contains {network}");
        }
    }

    pub(crate) fn svg_count(html: &str) -> usize {
        html.matches("<svg").count()
    }

    #[test]
    fn helpers() {
        assert_eq!(escape("<a href=\"x\">'&'</a>"), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
        assert_eq!(count(1_234_567), "1\u{202f}234\u{202f}567");
        assert_eq!(count(999), "999");
        assert_eq!(number(f64::NAN, 2), "—");
        assert_eq!(best_value([Some(0.2), None, Some(f64::NAN), Some(0.1)].into_iter(), Best::Lowest), Some(0.1));
    }
}
