//! Evaluation results as one self-contained HTML page with plots.
//!
//! [`recs_html`] renders a [`RecsReport`] (split counts, metric table, bars per model, Recall@K
//! curves, popularity bias); [`search_html`] renders one or more labelled [`RelevanceReport`]s
//! (summary, an optional draft-vs-live table, the per-query NDCG distribution, typo vs no typo,
//! the worst queries and every query); [`scale_html`] renders `vitrine bench scale` runs (each
//! cost against catalogue size, log-log).
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
//!
//! [`RecsReport`]: crate::recs::RecsReport
//! [`RelevanceReport`]: crate::search::RelevanceReport

mod charts;
mod html;
mod recs;
mod scale;
mod search;

/// Re-exported where reports have always found it; it lives beside [`compare_reports`](crate::search::compare_reports).
pub use crate::search::ComparisonRow;
pub use recs::recs_html;
pub use scale::scale_html;
pub use search::{SearchRun, search_html};
