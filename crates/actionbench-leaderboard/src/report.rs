//! The report people look at: one HTML page with the leaderboard and PNG
//! plots (training curves, per-class AP bars, metric vs seed), drawn with
//! plotters.

use std::path::{Path, PathBuf};

use plotters::prelude::*;

use crate::board::{Row, value_text};
use crate::error::{Error, Result};

/// Where the report's font comes from: Debian's `fonts-dejavu-core`.
/// plotters' `ab_glyph` backend needs TrueType bytes, and reading a system
/// font at run time keeps fontconfig and freetype out of the build.
pub const FONT_PATHS: &[&str] =
    &["/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "/usr/share/fonts/TTF/DejaVuSans.ttf"];

fn register_font() -> std::result::Result<(), String> {
    static REGISTERED: std::sync::OnceLock<std::result::Result<(), String>> = std::sync::OnceLock::new();
    REGISTERED
        .get_or_init(|| {
            let bytes = FONT_PATHS.iter().find_map(|p| std::fs::read(p).ok()).ok_or_else(|| {
                format!("no TrueType font found at {} (install Debian's fonts-dejavu-core)", FONT_PATHS.join(" or "))
            })?;
            // plotters keeps registered fonts for the life of the process.
            let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
            plotters::style::register_font("sans-serif", FontStyle::Normal, bytes)
                .map_err(|_| "the DejaVu font could not be parsed".to_string())
        })
        .clone()
}

/// One plot's data.
#[derive(Debug, Clone)]
pub enum Plot {
    /// Lines of (step, value), e.g. training loss per run.
    Curves {
        /// Title.
        title: String,
        /// Y axis label.
        y_label: String,
        /// (series name, points).
        series: Vec<(String, Vec<(f64, f64)>)>,
    },
    /// Bars of (class, value), e.g. per-class AP.
    Bars {
        /// Title.
        title: String,
        /// Y axis label.
        y_label: String,
        /// (label, value).
        bars: Vec<(String, f64)>,
    },
    /// A metric per seed with the expected value and its band.
    Seeds {
        /// Title.
        title: String,
        /// (seed, value).
        values: Vec<(u64, f64)>,
        /// Expected value.
        expected: f64,
        /// Half-width of the band.
        band: f64,
    },
}

impl Plot {
    fn title(&self) -> &str {
        match self {
            Self::Curves { title, .. } | Self::Bars { title, .. } | Self::Seeds { title, .. } => title,
        }
    }
}

fn bounds(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values.filter(|v| v.is_finite()).fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if lo > hi {
        return (0.0, 1.0);
    }
    let pad = ((hi - lo) * 0.08).max(1e-6);
    (lo - pad, hi + pad)
}

/// Draws `plot` into a 900×480 PNG at `path`.
pub fn draw(plot: &Plot, path: &Path) -> Result<()> {
    let err = |message: String| Error::Plot { path: path.to_path_buf(), message };
    register_font().map_err(err)?;
    let root = BitMapBackend::new(path, (900, 480)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(e.to_string()))?;
    let caption = (plot.title().to_string(), ("sans-serif", 22));
    match plot {
        Plot::Curves { y_label, series, .. } => {
            let (x0, x1) = bounds(series.iter().flat_map(|(_, p)| p.iter().map(|q| q.0)));
            let (y0, y1) = bounds(series.iter().flat_map(|(_, p)| p.iter().map(|q| q.1)));
            let mut chart = ChartBuilder::on(&root)
                .caption(caption.0, caption.1)
                .margin(16)
                .x_label_area_size(40)
                .y_label_area_size(64)
                .build_cartesian_2d(x0..x1, y0..y1)
                .map_err(|e| err(e.to_string()))?;
            chart.configure_mesh().x_desc("step").y_desc(y_label.as_str()).draw().map_err(|e| err(e.to_string()))?;
            for (i, (name, points)) in series.iter().enumerate() {
                let color = Palette99::pick(i).to_rgba();
                chart
                    .draw_series(LineSeries::new(points.iter().copied(), color.stroke_width(2)))
                    .map_err(|e| err(e.to_string()))?
                    .label(name.as_str())
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2)));
            }
            chart
                .configure_series_labels()
                .background_style(WHITE.mix(0.8))
                .border_style(BLACK)
                .draw()
                .map_err(|e| err(e.to_string()))?;
        }
        Plot::Bars { y_label, bars, .. } => {
            let (_, y1) = bounds(bars.iter().map(|b| b.1).chain([0.0]));
            let n = bars.len().max(1) as i32;
            let mut chart = ChartBuilder::on(&root)
                .caption(caption.0, caption.1)
                .margin(16)
                .x_label_area_size(40)
                .y_label_area_size(64)
                .build_cartesian_2d((0..n).into_segmented(), 0f64..y1)
                .map_err(|e| err(e.to_string()))?;
            let labels: Vec<String> = bars.iter().map(|b| b.0.clone()).collect();
            chart
                .configure_mesh()
                .disable_x_mesh()
                .x_labels(bars.len().min(30))
                .x_label_formatter(&|v| match v {
                    SegmentValue::CenterOf(i) => labels.get(*i as usize).cloned().unwrap_or_default(),
                    _ => String::new(),
                })
                .y_desc(y_label.as_str())
                .draw()
                .map_err(|e| err(e.to_string()))?;
            chart
                .draw_series(
                    Histogram::vertical(&chart)
                        .style(BLUE.mix(0.7).filled())
                        .margin(8)
                        .data(bars.iter().enumerate().map(|(i, (_, v))| (i as i32, *v))),
                )
                .map_err(|e| err(e.to_string()))?;
        }
        Plot::Seeds { values, expected, band, .. } => {
            let (y0, y1) = bounds(values.iter().map(|v| v.1).chain([expected - band, expected + band, *expected]));
            let n = values.len().max(1);
            let mut chart = ChartBuilder::on(&root)
                .caption(caption.0, caption.1)
                .margin(16)
                .x_label_area_size(40)
                .y_label_area_size(64)
                .build_cartesian_2d(-0.5f64..n as f64 - 0.5, y0..y1)
                .map_err(|e| err(e.to_string()))?;
            let seeds: Vec<u64> = values.iter().map(|v| v.0).collect();
            chart
                .configure_mesh()
                .x_labels(n)
                .x_label_formatter(&|x| {
                    seeds.get(x.round().max(0.0) as usize).map(|s| format!("seed {s}")).unwrap_or_default()
                })
                .draw()
                .map_err(|e| err(e.to_string()))?;
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(-0.5, expected - band), (n as f64 - 0.5, expected + band)],
                    GREEN.mix(0.15).filled(),
                )))
                .map_err(|e| err(e.to_string()))?;
            chart
                .draw_series(LineSeries::new([(-0.5, *expected), (n as f64 - 0.5, *expected)], GREEN.stroke_width(2)))
                .map_err(|e| err(e.to_string()))?;
            chart
                .draw_series(values.iter().enumerate().map(|(i, (_, v))| Circle::new((i as f64, *v), 6, RED.filled())))
                .map_err(|e| err(e.to_string()))?;
        }
    }
    root.present().map_err(|e| err(e.to_string()))?;
    Ok(())
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// Writes `dir/index.html` and `dir/plots/*.png`; returns the page's path.
pub fn write_report(dir: &Path, title: &str, rows: &[Row], plots: &[Plot]) -> Result<PathBuf> {
    let plot_dir = dir.join("plots");
    std::fs::create_dir_all(&plot_dir).map_err(|source| Error::Io { path: plot_dir.clone(), source })?;
    let mut figures = String::new();
    for (i, plot) in plots.iter().enumerate() {
        let file = format!("plot-{i:02}.png");
        draw(plot, &plot_dir.join(&file))?;
        figures.push_str(&format!(
            "<figure><img src=\"plots/{file}\" alt=\"{t}\" width=\"900\" height=\"480\"><figcaption>{t}</figcaption></figure>\n",
            t = html_escape(plot.title())
        ));
    }
    let mut table = String::new();
    for row in rows {
        let value = if row.unit.is_empty() { value_text(row) } else { format!("{} {}", value_text(row), row.unit) };
        table.push_str(&format!(
            "<tr class=\"{state}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td>\
             <td><span class=\"state\">{state}</span></td><td class=\"protocol\">{}</td><td>{}</td></tr>\n",
            html_escape(&row.benchmark),
            html_escape(&row.dataset),
            html_escape(&row.split),
            html_escape(&row.model),
            html_escape(&row.metric),
            html_escape(&value),
            html_escape(&row.protocol),
            html_escape(&row.source),
            state = row.state.as_str(),
        ));
    }
    let page = format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: DejaVu Sans, sans-serif; margin: 2em; color: #222; background: #fff; }}
table {{ border-collapse: collapse; width: 100%; font-size: 14px; }}
th, td {{ border: 1px solid #bbb; padding: 6px 8px; text-align: left; vertical-align: top; }}
th {{ background: #2d4a7a; color: #fff; }}
td.num {{ text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }}
td.protocol {{ font-size: 12px; color: #555; }}
.state {{ padding: 1px 6px; border-radius: 4px; }}
tr.reproduced .state, tr.verified-eval .state {{ background: #c9f2c9; }}
tr.regressed .state {{ background: #f6b8b8; }}
tr.claimed .state {{ background: #e4e4f7; }}
tr.not-run .state {{ background: #eee; }}
figure {{ display: inline-block; margin: 1em 1em 0 0; }}
</style></head>
<body>
<h1>{title}</h1>
<p>Rows: <b>reproduced</b> (training or throughput checks passed here), <b>verified-eval</b> (evaluator or
inference checks passed here), <b>claimed</b> (a paper's number), <b>regressed</b> (a check failed).
Values are rounded to 4 decimals.</p>
<table id="leaderboard">
<thead><tr><th>benchmark</th><th>dataset</th><th>split</th><th>model</th><th>metric</th><th>value</th><th>state</th><th>protocol</th><th>source</th></tr></thead>
<tbody>
{table}</tbody>
</table>
{figures}</body></html>
"#,
        title = html_escape(title)
    );
    let path = dir.join("index.html");
    std::fs::write(&path, page).map_err(|source| Error::Io { path: path.clone(), source })?;
    Ok(path)
}
