//! SVG charts (plotters): line charts with dates on the x axis, one line per series and
//! release markers; grouped bar charts for discrete steps such as releases.

use anyhow::{Result, anyhow};
use chrono::{DateTime, Utc};
use plotters::prelude::*;

/// One named series of (unix seconds, value) points.
pub struct Series<'a> {
    pub name: &'a str,
    pub points: Vec<(i64, f64)>,
}

fn date(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap_or_default()
}

/// A line chart as an SVG string. `releases` are (label, unix seconds) drawn as vertical lines.
pub fn line_chart(
    title: &str,
    y_label: &str,
    series: &[Series<'_>],
    releases: &[(String, i64)],
    size: (u32, u32),
) -> Result<String> {
    let all: Vec<(i64, f64)> = series
        .iter()
        .flat_map(|s| s.points.iter().copied())
        .collect();
    let (mut x0, mut x1) = (i64::MAX, i64::MIN);
    let mut y1 = 0f64;
    for &(x, y) in &all {
        x0 = x0.min(x);
        x1 = x1.max(x);
        y1 = y1.max(y);
    }
    if all.is_empty() {
        (x0, x1) = (0, 86_400);
    }
    if x1 <= x0 {
        x1 = x0 + 86_400;
    }
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        root.fill(&WHITE)
            .map_err(|e| anyhow!("drawing {title}: {e}"))?;
        let mut chart = frame(&root, title, 32)
            .build_cartesian_2d(date(x0)..date(x1), 0f64..(y1 * 1.08).max(1.0))
            .map_err(|e| anyhow!("drawing {title}: {e}"))?;
        chart
            .configure_mesh()
            .x_labels(6)
            .y_labels(6)
            .y_desc(y_label)
            .x_label_formatter(&|d| d.format("%Y-%m").to_string())
            .light_line_style(RGBColor(238, 238, 238))
            .draw()
            .map_err(|e| anyhow!("drawing {title}: {e}"))?;
        for (label, at) in releases {
            let x = date(*at);
            let top = (y1 * 1.08).max(1.0);
            chart
                .draw_series(std::iter::once(PathElement::new(
                    vec![(x, 0.0), (x, top)],
                    RGBColor(200, 200, 200).stroke_width(1),
                )))
                .map_err(|e| anyhow!("drawing {title}: {e}"))?;
            chart
                .draw_series(std::iter::once(Text::new(
                    label.clone(),
                    (x, top * 0.98),
                    ("sans-serif", 11)
                        .into_font()
                        .color(&RGBColor(120, 120, 120)),
                )))
                .map_err(|e| anyhow!("drawing {title}: {e}"))?;
        }
        for (i, s) in series.iter().enumerate() {
            let style = Palette99::pick(i).stroke_width(2);
            chart
                .draw_series(LineSeries::new(
                    s.points.iter().map(|&(x, y)| (date(x), y)),
                    style,
                ))
                .map_err(|e| anyhow!("drawing {title}: {e}"))?
                .label(s.name)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], style));
        }
        if series.len() > 1 || series.first().is_some_and(|s| !s.name.is_empty()) {
            draw_legend(&mut chart, SeriesLabelPosition::UpperLeft, title)?;
        }
        root.present()
            .map_err(|e| anyhow!("drawing {title}: {e}"))?;
    }
    Ok(svg)
}

/// A chart's caption, margin and label areas, alike in every chart; `x_labels` is the height
/// of the x axis' label area.
fn frame<'a, 'b>(
    root: &'a DrawingArea<SVGBackend<'b>, plotters::coord::Shift>,
    title: &str,
    x_labels: u32,
) -> ChartBuilder<'a, 'b, SVGBackend<'b>> {
    let mut builder = ChartBuilder::on(root);
    builder
        .caption(title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(x_labels)
        .y_label_area_size(56);
    builder
}

/// The legend of a chart's labelled series, in one style for every chart.
fn draw_legend<'a, CT: plotters::coord::CoordTranslate>(
    chart: &mut ChartContext<'a, SVGBackend<'a>, CT>,
    position: SeriesLabelPosition,
    title: &str,
) -> Result<()> {
    chart
        .configure_series_labels()
        .position(position)
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(210, 210, 210))
        .label_font(("sans-serif", 11))
        .draw()
        .map_err(|e| anyhow!("drawing {title}: {e}"))
}

/// A grouped bar chart as an SVG string: for each of `labels` (the x axis, in order), one bar
/// per group of `groups`, each group a (name, value per label).
pub fn bar_chart(
    title: &str,
    y_label: &str,
    labels: &[String],
    groups: &[(&str, Vec<f64>)],
    size: (u32, u32),
) -> Result<String> {
    // Each label owns `unit` integer steps of the x axis: a bar per group and a gap, so that
    // the axis can name each label at its middle step.
    let unit = groups.len() as i32 + 1;
    let steps = (labels.len().max(1) as i32) * unit;
    let y1 = groups
        .iter()
        .flat_map(|(_, values)| values.iter().copied())
        .fold(0f64, f64::max);
    // Headroom above the tallest bar for the legend.
    let top = (y1 * 1.7).max(1.0);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        root.fill(&WHITE)
            .map_err(|e| anyhow!("drawing {title}: {e}"))?;
        let mut chart = frame(&root, title, 40)
            .build_cartesian_2d(0..steps, 0f64..top)
            .map_err(|e| anyhow!("drawing {title}: {e}"))?;
        let middle = (unit - 1) / 2;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(steps as usize + 1)
            .y_labels(6)
            .y_desc(y_label)
            .y_label_formatter(&|y| format!("{y:.0}"))
            .x_label_formatter(&|&x| {
                if x % unit == middle {
                    labels.get((x / unit) as usize).cloned().unwrap_or_default()
                } else {
                    String::new()
                }
            })
            .x_label_style(("sans-serif", 10))
            .light_line_style(RGBColor(238, 238, 238))
            .draw()
            .map_err(|e| anyhow!("drawing {title}: {e}"))?;
        for (j, (name, values)) in groups.iter().enumerate() {
            let color = Palette99::pick(j);
            chart
                .draw_series(values.iter().enumerate().map(|(i, &v)| {
                    let x = i as i32 * unit + j as i32;
                    Rectangle::new([(x, 0.0), (x + 1, v)], color.filled())
                }))
                .map_err(|e| anyhow!("drawing {title}: {e}"))?
                .label(*name)
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 10, y + 5)], color.filled())
                });
        }
        draw_legend(&mut chart, SeriesLabelPosition::UpperRight, title)?;
        root.present()
            .map_err(|e| anyhow!("drawing {title}: {e}"))?;
    }
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bar_chart_has_a_bar_per_label_and_group() {
        let labels = vec!["v1.0".to_string(), "v2.0".to_string()];
        let svg = bar_chart(
            "Releases",
            "patterns",
            &labels,
            &[("new", vec![3.0, 5.0]), ("gone", vec![1.0, 0.0])],
            (640, 360),
        )
        .unwrap();
        assert!(svg.starts_with("<svg"));
        assert!(svg.contains("v1.0") && svg.contains("v2.0") && svg.contains("gone"));
        // Four bars and a legend swatch per group, in the groups' colours.
        for (j, bars) in [(0, 3), (1, 3)] {
            let color = Palette99::pick(j).to_rgba();
            let fill = format!("fill=\"#{:02X}{:02X}{:02X}\"", color.0, color.1, color.2);
            assert_eq!(svg.matches(&fill).count(), bars, "{fill}: {svg}");
        }
    }

    #[test]
    fn a_chart_is_an_svg_with_its_title_and_a_line() {
        let s = Series {
            name: "const",
            points: vec![(1_672_531_200, 1.0), (1_704_067_200, 5.0)],
        };
        let svg = line_chart(
            "Declarations",
            "count",
            &[s],
            &[("v1.0".into(), 1_690_000_000)],
            (640, 360),
        )
        .unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..80]);
        assert!(svg.contains("Declarations") && svg.contains("v1.0") && svg.contains("<polyline"));
    }
}
