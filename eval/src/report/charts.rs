//! Charts drawn by plotters into SVG strings: line charts, grouped bars, the legend, colours and
//! fonts they share, and the value helpers their axes need.

use std::error::Error;

use plotters::coord::Shift;
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

/// An SVG document, or why there is no plot.
pub(super) type PlotResult = Result<String, Box<dyn Error>>;

/// The size of most charts, in SVG pixels.
pub(super) const CHART_SIZE: (u32, u32) = (760, 420);

/// Tableau 10: distinct, colour-blind-friendly enough, and the same order in every chart.
const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// The colour of the light mesh lines between the labelled ones.
pub(super) const LIGHT_GRID: RGBColor = RGBColor(245, 245, 245);

pub(super) fn palette(index: usize) -> RGBColor {
    PALETTE[index % PALETTE.len()]
}

pub(super) fn title_font() -> FontDesc<'static> {
    ("sans-serif", 22).into_font()
}

/// A chart on `root` in the reports' style: `title` above, the same margin and label areas for
/// every chart.
pub(super) fn chart_on<'a, 'b, DB: DrawingBackend>(
    root: &'a DrawingArea<DB, Shift>,
    title: &str,
) -> ChartBuilder<'a, 'b, DB> {
    let mut builder = ChartBuilder::on(root);
    builder.caption(title, title_font()).margin(12).x_label_area_size(44).y_label_area_size(60);
    builder
}

/// The legend of every chart: a translucent white box at `position`.
pub(super) fn draw_legend<'a, DB: DrawingBackend + 'a, CT: CoordTranslate>(
    chart: &mut ChartContext<'a, DB, CT>,
    position: SeriesLabelPosition,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    chart
        .configure_series_labels()
        .position(position)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.3))
        .label_font(label_font())
        .draw()
}

pub(super) fn label_font() -> FontDesc<'static> {
    ("sans-serif", 16).into_font()
}

/// Draws into a fresh SVG document of `size` pixels and returns it without its `xmlns` attribute
/// (inline SVG in HTML needs none; the page then holds no URL at all).
pub(super) fn draw_svg(
    size: (u32, u32),
    draw: impl FnOnce(&DrawingArea<SVGBackend<'_>, Shift>) -> Result<(), Box<dyn Error>>,
) -> PlotResult {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        root.fill(&WHITE)?;
        draw(&root)?;
        root.present()?;
    }
    Ok(svg.replacen(" xmlns=\"http://www.w3.org/2000/svg\"", "", 1))
}

/// A linear f64 axis with chosen tick positions.
///
/// plotters' own `(a..b).with_key_points(ticks)` keeps the f64 axis's "no default formatting"
/// option, so its mesh cannot take a label formatter; this axis can.
#[derive(Clone)]
struct TickedAxis {
    linear: RangedCoordf64,
    ticks: Vec<f64>,
}

impl TickedAxis {
    fn new(range: (f64, f64), ticks: Vec<f64>) -> TickedAxis {
        TickedAxis { linear: (range.0..range.1).into(), ticks }
    }
}

impl Ranged for TickedAxis {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.linear.map(value, limit)
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        // Ticks only; no light mesh lines between them.
        if hint.weight().allow_light_points() { Vec::new() } else { self.ticks.clone() }
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.linear.range()
    }
}

/// The x axis of a [`line_chart`]: its range, tick positions, tick labels and description.
pub(super) struct XAxis<'f> {
    pub(super) range: (f64, f64),
    pub(super) ticks: Vec<f64>,
    pub(super) label: &'f dyn Fn(&f64) -> String,
    pub(super) desc: &'static str,
}

/// A labelled polyline with markers.
pub(super) struct Line {
    pub(super) label: String,
    pub(super) color: RGBColor,
    pub(super) points: Vec<(f64, f64)>,
}

/// A dashed horizontal reference line.
pub(super) struct Reference {
    pub(super) label: String,
    pub(super) y: f64,
}

/// Each line with its markers and legend entry.
fn draw_lines<CT: CoordTranslate<From = (f64, f64)>>(
    chart: &mut ChartContext<'_, SVGBackend<'_>, CT>,
    lines: &[Line],
) -> Result<(), Box<dyn Error>> {
    for line in lines.iter().filter(|line| !line.points.is_empty()) {
        let style = line.color.stroke_width(2);
        chart
            .draw_series(LineSeries::new(line.points.iter().copied(), style))?
            .label(shorten(&line.label, 40))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], style));
        chart.draw_series(line.points.iter().map(|&point| Circle::new(point, 3, line.color.filled())))?;
    }
    Ok(())
}

/// Lines with markers over `x_axis`, y from 0, an optional dashed reference line, a legend.
pub(super) fn line_chart(
    title: &str,
    x_axis: &XAxis<'_>,
    y_desc: &str,
    lines: &[Line],
    reference: Option<&Reference>,
    legend: SeriesLabelPosition,
) -> PlotResult {
    if lines.iter().all(|line| line.points.is_empty()) {
        return Err("no data".into());
    }
    if !(x_axis.range.0.is_finite() && x_axis.range.1.is_finite() && x_axis.range.0 < x_axis.range.1) {
        return Err("no x range".into());
    }
    let y_values = lines.iter().flat_map(|line| line.points.iter().map(|point| point.1));
    let y_top = upper_bound(y_values.chain(reference.map(|reference| reference.y)), 1.2);
    draw_svg(CHART_SIZE, |root| {
        let mut chart = chart_on(root, title)
            .build_cartesian_2d(TickedAxis::new(x_axis.range, x_axis.ticks.clone()), 0.0..y_top)?;
        chart
            .configure_mesh()
            .light_line_style(LIGHT_GRID)
            .x_label_formatter(x_axis.label)
            .x_desc(x_axis.desc)
            .y_desc(y_desc)
            .label_style(label_font())
            .draw()?;
        if let Some(reference) = reference {
            let style = BLACK.mix(0.6).stroke_width(1);
            chart
                .draw_series(DashedLineSeries::new(
                    vec![(x_axis.range.0, reference.y), (x_axis.range.1, reference.y)],
                    6,
                    4,
                    style,
                ))?
                .label(reference.label.as_str())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], style));
        }
        draw_lines(&mut chart, lines)?;
        draw_legend(&mut chart, legend)?;
        Ok(())
    })
}

/// Lines with markers on log-log axes (both ranges from the points, with some room), and (with
/// `proportional`) from the first point of the first line a dashed line growing in proportion
/// to x: a cost above it grows faster than x.
pub(super) fn log_log_chart(title: &str, x_desc: &str, y_desc: &str, lines: &[Line], proportional: bool) -> PlotResult {
    let positive = |values: Vec<f64>| finite_span(values.into_iter().filter(|value| *value > 0.0));
    let points = || lines.iter().flat_map(|line| line.points.iter().copied());
    let (Some((x_low, x_high)), Some((y_low, y_high))) =
        (positive(points().map(|p| p.0).collect()), positive(points().map(|p| p.1).collect()))
    else {
        return Err("no positive data".into());
    };
    let proportional = lines
        .iter()
        .find_map(|line| line.points.first().copied())
        .filter(|_| proportional)
        .filter(|&(x, y)| x > 0.0 && y > 0.0 && x_high > x)
        .map(|(x, y)| vec![(x, y), (x_high, y * x_high / x)]);
    let y_high = proportional.as_ref().map_or(y_high, |line| y_high.max(line[1].1));
    let x_range = (x_low / 1.5)..(x_high * 1.5);
    let y_range = (y_low / 2.0)..(y_high * 2.0);
    draw_svg(CHART_SIZE, |root| {
        let mut chart = chart_on(root, title).build_cartesian_2d(x_range.log_scale(), y_range.log_scale())?;
        chart
            .configure_mesh()
            .light_line_style(LIGHT_GRID)
            .x_desc(x_desc)
            .y_desc(y_desc)
            .x_label_formatter(&|x| compact(*x))
            .y_label_formatter(&|y| compact(*y))
            .label_style(label_font())
            .draw()?;
        if let Some(reference) = proportional {
            let style = BLACK.mix(0.5).stroke_width(1);
            chart
                .draw_series(DashedLineSeries::new(reference, 6, 4, style))?
                .label("grows like the catalogue")
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], style));
        }
        draw_lines(&mut chart, lines)?;
        draw_legend(&mut chart, SeriesLabelPosition::UpperLeft)?;
        Ok(())
    })
}

/// A tick label: 1.5k, 2M, 0.25, 12.
fn compact(value: f64) -> String {
    let magnitude = value.abs();
    let (scaled, suffix) = if magnitude >= 1e9 {
        (value / 1e9, "G")
    } else if magnitude >= 1e6 {
        (value / 1e6, "M")
    } else if magnitude >= 1e3 {
        (value / 1e3, "k")
    } else {
        (value, "")
    };
    let text = if scaled.abs() >= 10.0 || scaled.fract().abs() < 1e-9 {
        format!("{scaled:.0}")
    } else if scaled.abs() >= 1.0 {
        format!("{scaled:.1}")
    } else {
        format!("{scaled:.2}")
    };
    format!("{text}{suffix}")
}

/// One bar per group of a [`grouped_bars`] chart; `None` or non-finite values draw no bar.
pub(super) struct BarSeries {
    pub(super) label: String,
    pub(super) color: RGBColor,
    pub(super) values: Vec<Option<f64>>,
}

/// Grouped bars: `groups` along x (group `i` spans `i..i + 1`), one bar of each series per group.
pub(super) fn grouped_bars(title: &str, groups: &[String], series: &[BarSeries], y_desc: &str) -> PlotResult {
    let values = || series.iter().flat_map(|series| series.values.iter().filter_map(|value| defined(*value)));
    if groups.is_empty() || values().next().is_none() {
        return Err("no data".into());
    }
    let y_bottom = values().fold(0.0, f64::min);
    let y_top = upper_bound(values(), 1.3);
    let width = (220 + groups.len() * (series.len() * 20 + 30)).clamp(640, 1200);
    let label_chars = ((width - 100) / groups.len() / 7).max(6);
    let group_label = |x: &f64| match groups.get(x.floor().max(0.0) as usize) {
        Some(group) => shorten(group, label_chars),
        None => String::new(),
    };
    let centres: Vec<f64> = (0..groups.len()).map(|group| group as f64 + 0.5).collect();
    let bar_width = 0.8 / series.len().max(1) as f64;
    draw_svg((u32::try_from(width).unwrap_or(1200), 420), |root| {
        let mut chart = chart_on(root, title)
            .build_cartesian_2d(TickedAxis::new((0.0, groups.len() as f64), centres), y_bottom..y_top)?;
        chart
            .configure_mesh()
            .light_line_style(LIGHT_GRID)
            .disable_x_mesh()
            .x_label_formatter(&group_label)
            .y_desc(y_desc)
            .label_style(label_font())
            .draw()?;
        for (index, series) in series.iter().enumerate() {
            let color = series.color;
            let bars = series.values.iter().enumerate().filter_map(|(group, value)| {
                let value = defined(*value)?;
                let left = group as f64 + 0.1 + index as f64 * bar_width;
                Some(Rectangle::new([(left, 0.0), (left + bar_width * 0.9, value)], color.filled()))
            });
            chart
                .draw_series(bars)?
                .label(shorten(&series.label, 40))
                .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], color.filled()));
        }
        draw_legend(&mut chart, SeriesLabelPosition::UpperRight)?;
        Ok(())
    })
}

/// The value if it is there and finite.
pub(super) fn defined(value: Option<f64>) -> Option<f64> {
    value.filter(|value| value.is_finite())
}

/// The smallest and largest finite values.
pub(super) fn finite_span(values: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    values.filter(|value| value.is_finite()).fold(None, |span, value| match span {
        None => Some((value, value)),
        Some((low, high)) => Some((f64::min(low, value), f64::max(high, value))),
    })
}

/// The top of a y axis from 0: the largest finite value times `headroom`, or 1 when there is no
/// positive value.
pub(super) fn upper_bound(values: impl Iterator<Item = f64>, headroom: f64) -> f64 {
    match finite_span(values) {
        Some((_, high)) if high > 0.0 => high * headroom,
        _ => 1.0,
    }
}

/// At most `max_chars` characters of `text`, with `…` when cut.
pub(super) fn shorten(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        return text.to_string();
    }
    let mut short: String = text.chars().take(max_chars.saturating_sub(1)).collect();
    short.push('…');
    short
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers() {
        assert_eq!(shorten("abcdef", 4), "abc…");
        assert_eq!(shorten("abc", 4), "abc");
        assert_eq!(upper_bound([0.0, -1.0].into_iter(), 1.2), 1.0);
        assert_eq!(
            [compact(100_000.0), compact(1_500_000.0), compact(2.5), compact(0.25), compact(20.0)],
            ["100k", "1.5M", "2.5", "0.25", "20"]
        );
    }
}
