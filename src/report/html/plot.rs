//! Owns the pages' plots: line charts drawn as SVG text with `plotters`
//! (its SVG backend only; labels stay SVG `<text>`, so no font file is
//! read), inserted inline. A plot that cannot be drawn becomes a line
//! saying so; the page renders without it.

use maud::{Markup, PreEscaped, html};
use plotters::prelude::*;

/// The most points a trend shows: a longer history keeps its newest runs
/// (the caption says how many were left out), so 1,000 runs stay readable.
pub const TREND_WINDOW: usize = 200;

/// One line of a chart: its name and its points.
pub struct Series<'a> {
    pub name: &'a str,
    pub points: Vec<(f64, f64)>,
}

/// A horizontal line at `y`, named (a threshold).
pub struct Level<'a> {
    pub name: &'a str,
    pub y: f64,
}

/// What a chart shows.
pub struct Chart<'a> {
    pub title: &'a str,
    pub x_label: &'a str,
    pub y_label: &'a str,
    pub series: Vec<Series<'a>>,
    pub levels: Vec<Level<'a>>,
}

const COLOURS: [RGBColor; 4] = [
    RGBColor(31, 119, 180),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];

/// The chart as inline SVG, or a note when there is nothing to draw or
/// drawing failed.
pub fn svg(chart: &Chart<'_>) -> Markup {
    match draw(chart) {
        Some(svg) => html! { div class="plot" { (PreEscaped(svg)) } },
        None => html! { p class="missing" { "No plot of " (chart.title) ": nothing to draw." } },
    }
}

fn draw(chart: &Chart<'_>) -> Option<String> {
    let points = || chart.series.iter().flat_map(|s| s.points.iter());
    let xs = points().map(|p| p.0);
    let ys = points()
        .map(|p| p.1)
        .chain(chart.levels.iter().map(|l| l.y))
        .filter(|y| y.is_finite());
    let (x0, x1) = bounds(xs)?;
    let (y0, y1) = bounds(ys)?;
    let pad = ((y1 - y0) * 0.05).max(1e-6);
    let (y0, y1) = (y0 - pad, y1 + pad);
    let x1 = if x1 > x0 { x1 } else { x0 + 1.0 };
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (640, 260)).into_drawing_area();
        root.fill(&WHITE).ok()?;
        let mut c = ChartBuilder::on(&root)
            .caption(chart.title, ("sans-serif", 16))
            .margin(8)
            .x_label_area_size(32)
            .y_label_area_size(56)
            .build_cartesian_2d(x0..x1, y0..y1)
            .ok()?;
        c.configure_mesh()
            .x_desc(chart.x_label)
            .y_desc(chart.y_label)
            .light_line_style(WHITE.mix(0.0))
            .draw()
            .ok()?;
        for (i, s) in chart.series.iter().enumerate() {
            let colour = COLOURS[i % COLOURS.len()];
            c.draw_series(LineSeries::new(
                s.points.iter().copied(),
                colour.stroke_width(2),
            ))
            .ok()?
            .label(s.name)
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 16, y)], colour));
        }
        for l in &chart.levels {
            c.draw_series(LineSeries::new([(x0, l.y), (x1, l.y)], RED.stroke_width(1)))
                .ok()?
                .label(l.name)
                .legend(|(x, y)| PathElement::new([(x, y), (x + 16, y)], RED));
        }
        c.configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK.mix(0.3))
            .position(SeriesLabelPosition::LowerLeft)
            .draw()
            .ok()?;
        root.present().ok()?;
    }
    Some(out)
}

/// The smallest and largest finite value, `None` for none.
fn bounds(values: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    values
        .filter(|v| v.is_finite())
        .fold(None, |acc, v| match acc {
            None => Some((v, v)),
            Some((lo, hi)) => Some((f64::min(lo, v), f64::max(hi, v))),
        })
}

/// The index of the first of the newest [`TREND_WINDOW`] of `n` items
/// (also how many are left out).
pub fn window_start(n: usize) -> usize {
    n.saturating_sub(TREND_WINDOW)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chart_is_svg_with_its_title_and_threshold() {
        let chart = Chart {
            title: "SSIM per frame",
            x_label: "frame",
            y_label: "SSIM",
            series: vec![Series {
                name: "out.mp4",
                points: vec![(0.0, 0.99), (1.0, 0.97), (2.0, 0.5)],
            }],
            levels: vec![Level {
                name: "min SSIM 0.9",
                y: 0.9,
            }],
        };
        let text = svg(&chart).into_string();
        assert!(text.contains("<svg"), "{text}");
        assert!(text.contains("SSIM per frame"), "{text}");
        assert!(text.contains("min SSIM 0.9"), "{text}");
    }

    #[test]
    fn nothing_to_draw_says_so() {
        let chart = Chart {
            title: "empty",
            x_label: "x",
            y_label: "y",
            series: vec![],
            levels: vec![],
        };
        assert!(svg(&chart).into_string().contains("nothing to draw"));
    }

    #[test]
    fn a_long_history_keeps_its_newest_runs() {
        assert_eq!(window_start(1000), 800);
        assert_eq!(window_start(10), 0);
    }
}
