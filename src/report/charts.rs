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

/// Okabe and Ito's palette, which readers with any common colour-vision deficiency tell apart
/// (plotters' default put yellow and cyan lines on white).
const PALETTE: [RGBColor; 7] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(86, 180, 233),
    RGBColor(230, 159, 0),
    RGBColor(0, 0, 0),
];

fn colour(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// A count for an axis: whole numbers with thousands separated (`20,000`, not `20000.0`).
fn count_label(value: &f64) -> String {
    let n = value.round() as i64;
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

/// `points` (sorted by x) thinned to what `columns` pixel columns can show: in each column,
/// the lowest and the highest point, in x order, and the series' first and last point. A
/// series of 6,000 commits drawn 500 pixels wide looks the same and weighs a tenth.
fn thin(points: &[(i64, f64)], columns: usize) -> Vec<(i64, f64)> {
    if points.len() <= 2 * columns.max(1) + 2 {
        return points.to_vec();
    }
    let (x0, x1) = (points[0].0, points[points.len() - 1].0);
    let span = (x1 - x0).max(1) as f64;
    let column = |x: i64| (((x - x0) as f64 / span) * (columns - 1) as f64) as usize;
    let mut out = vec![points[0]];
    let mut i = 0;
    while i < points.len() {
        let c = column(points[i].0);
        let mut j = i;
        let (mut low, mut high) = (i, i);
        while j < points.len() && column(points[j].0) == c {
            if points[j].1 < points[low].1 {
                low = j;
            }
            if points[j].1 > points[high].1 {
                high = j;
            }
            j += 1;
        }
        for k in if low <= high {
            [low, high]
        } else {
            [high, low]
        } {
            if out.last() != Some(&points[k]) {
                out.push(points[k]);
            }
        }
        i = j;
    }
    if out.last() != points.last() {
        out.push(points[points.len() - 1]);
    }
    out
}

/// Which of `marked` (sorted by time) get their label printed over a plot `width` pixels wide
/// spanning `x0..x1`: the newest always, then each older one whose label ends before the next
/// printed one starts (labels of 11 px sans-serif take about 7 px a character).
fn labelled(marked: &[&(String, i64)], (x0, x1): (i64, i64), width: u32) -> Vec<bool> {
    let span = (x1 - x0).max(1) as f64;
    let pixel = |at: i64| (at - x0) as f64 / span * f64::from(width);
    let mut show = vec![false; marked.len()];
    let mut next_start = f64::INFINITY;
    for (i, (label, at)) in marked.iter().enumerate().rev() {
        let x = pixel(*at);
        if x + 7.0 * label.chars().count() as f64 + 4.0 <= next_start {
            show[i] = true;
            next_start = x;
        }
    }
    show
}

/// The releases a time chart marks: the major and minor ones (`x.y.0`, not pre-releases), at
/// most the newest `MAX_MARKERS` of them, so that 240 tags do not turn the top of every chart
/// into a barcode. Tags that are not versions are kept only when they are few.
fn markers(releases: &[(String, i64)]) -> Vec<&(String, i64)> {
    const MAX_MARKERS: usize = 12;
    let versions: Vec<&(String, i64)> = releases
        .iter()
        .filter(|(name, _)| {
            crate::releases::Version::parse(name)
                .is_some_and(|v| !v.is_pre_release() && v.numbers[2] == 0)
        })
        .collect();
    let mut chosen = if versions.is_empty() && releases.len() <= MAX_MARKERS {
        releases.iter().collect()
    } else {
        versions
    };
    chosen.sort_by_key(|(_, at)| *at);
    let skip = chosen.len().saturating_sub(MAX_MARKERS);
    chosen.split_off(skip)
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
            .y_label_formatter(&count_label)
            .light_line_style(RGBColor(238, 238, 238))
            .draw()
            .map_err(|e| anyhow!("drawing {title}: {e}"))?;
        let marked = markers(releases);
        let labelled = labelled(&marked, (x0, x1), size.0.saturating_sub(80));
        for (&(label, at), show) in marked.iter().zip(labelled) {
            let x = date(*at);
            let top = (y1 * 1.08).max(1.0);
            chart
                .draw_series(std::iter::once(PathElement::new(
                    vec![(x, 0.0), (x, top)],
                    RGBColor(200, 200, 200).stroke_width(1),
                )))
                .map_err(|e| anyhow!("drawing {title}: {e}"))?;
            if !show {
                continue;
            }
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
        let columns = size.0.saturating_sub(80) as usize;
        for (i, s) in series.iter().enumerate() {
            let style = colour(i).stroke_width(2);
            chart
                .draw_series(LineSeries::new(
                    thin(&s.points, columns)
                        .into_iter()
                        .map(|(x, y)| (date(x), y)),
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
            .y_label_formatter(&count_label)
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
            let color = colour(j);
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
    fn a_long_series_is_thinned_to_its_columns_keeping_every_extreme() {
        // 6,000 points, a spike at 3,001 and a dip at 4,500, 100 columns.
        let points: Vec<(i64, f64)> = (0..6000)
            .map(|i| {
                let y = match i {
                    3001 => 1000.0,
                    4500 => -50.0,
                    _ => (i % 7) as f64,
                };
                (i as i64, y)
            })
            .collect();
        let thinned = thin(&points, 100);
        assert!(thinned.len() <= 2 * 100 + 2, "{}", thinned.len());
        for kept in [points[0], points[3001], points[4500], points[5999]] {
            assert!(thinned.contains(&kept), "{kept:?}");
        }
        assert!(thinned.windows(2).all(|w| w[0].0 < w[1].0), "in x order");
        // Short series are drawn as they are.
        assert_eq!(thin(&points[..50], 100), points[..50].to_vec());
    }

    #[test]
    fn releases_marked_are_the_newest_majors_and_minors_and_counts_read_as_counts() {
        let mut tags: Vec<(String, i64)> = (0..30)
            .flat_map(|minor| {
                [
                    (format!("v3.{minor}.0"), minor * 100),
                    (format!("v3.{minor}.1"), minor * 100 + 10),
                    (format!("v3.{minor}.0-beta.1"), minor * 100 - 5),
                ]
            })
            .collect();
        tags.push(("nightly".to_string(), 50));
        let marked: Vec<&str> = markers(&tags).iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(marked.len(), 12);
        assert_eq!(marked[0], "v3.18.0");
        assert_eq!(marked[11], "v3.29.0");
        let few = vec![("first".to_string(), 1), ("second".to_string(), 2)];
        assert_eq!(
            markers(&few).len(),
            2,
            "a few tags that are not versions stay"
        );
        // Labels that would overlap are left out, the newest kept.
        let close = [
            ("v4.0.0".to_string(), 0),
            ("v4.1.0".to_string(), 10),
            ("v5.0.0".to_string(), 1000),
        ];
        let marked: Vec<&(String, i64)> = close.iter().collect();
        assert_eq!(labelled(&marked, (0, 1000), 500), vec![false, true, true]);
        assert_eq!(count_label(&20000.0), "20,000");
        assert_eq!(count_label(&-1234567.4), "-1,234,567");
        assert_eq!(count_label(&12.0), "12");
    }

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
            let color = colour(j).to_rgba();
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
