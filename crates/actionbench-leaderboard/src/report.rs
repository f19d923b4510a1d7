//! The report people look at: one HTML page with the leaderboard and PNG
//! plots (training curves, per-class AP bars, metric vs seed), drawn with
//! plotters.

use std::path::{Path, PathBuf};

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

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

/// Size of a plot image, and of the font of bar labels.
const WIDTH: u32 = 900;
const HEIGHT: u32 = 480;
const LABEL_PX: u32 = 13;
/// Space a bar label gets besides its text: labels closer than this read as one.
const LABEL_GAP: u32 = 10;
/// Longest rotated bar label, in pixels; longer ones end in "…".
const MAX_LABEL_PX: u32 = 220;

/// How the x labels of a bar plot are laid out so that none overlaps
/// another: horizontal when each fits its bar's slot, else rotated a
/// quarter turn (read top to bottom), the image wide enough for a slot of
/// one line per bar and tall enough for the longest label.
#[derive(Debug, Clone, PartialEq)]
pub struct BarLabels {
    /// The labels as drawn (long ones cut, ending in "…").
    pub text: Vec<String>,
    /// Rotated a quarter turn.
    pub rotated: bool,
    /// Image width and height.
    pub size: (u32, u32),
    /// Height of the label area under the x axis.
    pub area: u32,
}

fn label_font() -> FontDesc<'static> {
    ("sans-serif", LABEL_PX as f64).into_font()
}

fn text_width(text: &str) -> u32 {
    label_font().box_size(text).map(|(w, _)| w).unwrap_or(LABEL_PX * text.chars().count() as u32)
}

/// `text` cut to at most `max` pixels wide, ending in "…" when cut.
fn fit(text: &str, max: u32) -> String {
    if text_width(text) <= max {
        return text.to_string();
    }
    let mut chars: Vec<char> = text.chars().collect();
    while !chars.is_empty() && text_width(&format!("{}…", chars.iter().collect::<String>())) > max {
        chars.pop();
    }
    format!("{}…", chars.iter().collect::<String>().trim_end())
}

/// Margins and the y label area of every plot.
const MARGIN: u32 = 16;
const Y_AREA: u32 = 64;

/// The label layout of a bar plot with these labels.
pub fn bar_labels(labels: &[String]) -> Result<BarLabels> {
    register_font().map_err(|message| Error::Plot { path: PathBuf::from("(font)"), message })?;
    let n = labels.len().max(1) as u32;
    let plot_width = |width: u32| width - 2 * MARGIN - Y_AREA;
    let slot = plot_width(WIDTH) / n;
    if labels.iter().all(|l| text_width(l) + LABEL_GAP <= slot) {
        return Ok(BarLabels { text: labels.to_vec(), rotated: false, size: (WIDTH, HEIGHT), area: 40 });
    }
    let line = label_font().box_size("Ag").map(|(_, h)| h).unwrap_or(LABEL_PX + 3);
    let width = WIDTH.max(2 * MARGIN + Y_AREA + n * (line + LABEL_GAP));
    let text: Vec<String> = labels.iter().map(|l| fit(l, MAX_LABEL_PX)).collect();
    let longest = text.iter().map(|l| text_width(l)).max().unwrap_or(0);
    let area = (longest + 16).max(40);
    Ok(BarLabels { text, rotated: true, size: (width, HEIGHT + area - 40), area })
}

/// Draws `plot` into a PNG at `path` (900×480, or larger where a bar
/// plot's labels need it); returns its size.
pub fn draw(plot: &Plot, path: &Path) -> Result<(u32, u32)> {
    let err = |message: String| Error::Plot { path: path.to_path_buf(), message };
    register_font().map_err(err)?;
    let layout = match plot {
        Plot::Bars { bars, .. } => Some(bar_labels(&bars.iter().map(|b| b.0.clone()).collect::<Vec<_>>())?),
        _ => None,
    };
    let size = layout.as_ref().map_or((WIDTH, HEIGHT), |l| l.size);
    let root = BitMapBackend::new(path, size).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(e.to_string()))?;
    let caption = (plot.title().to_string(), ("sans-serif", 22));
    match plot {
        Plot::Curves { y_label, series, .. } => {
            let (x0, x1) = bounds(series.iter().flat_map(|(_, p)| p.iter().map(|q| q.0)));
            let (y0, y1) = bounds(series.iter().flat_map(|(_, p)| p.iter().map(|q| q.1)));
            let mut chart = ChartBuilder::on(&root)
                .caption(caption.0, caption.1)
                .margin(MARGIN)
                .x_label_area_size(40)
                .y_label_area_size(Y_AREA)
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
            let layout = layout.expect("computed above for bars");
            let (_, y1) = bounds(bars.iter().map(|b| b.1).chain([0.0]));
            let n = bars.len().max(1) as i32;
            let mut chart = ChartBuilder::on(&root)
                .caption(caption.0, caption.1)
                .margin(MARGIN)
                .x_label_area_size(layout.area)
                .y_label_area_size(Y_AREA)
                // `0..n` would have n + 1 slots: the end is a slot too.
                .build_cartesian_2d((0..n - 1).into_segmented(), 0f64..y1)
                .map_err(|e| err(e.to_string()))?;
            // The x labels are drawn below, one per bar, laid out by `bar_labels`.
            chart
                .configure_mesh()
                .disable_x_mesh()
                .set_tick_mark_size(LabelAreaPosition::Bottom, 0)
                .x_label_formatter(&|_| String::new())
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
            let font = label_font().color(&BLACK);
            let style = if layout.rotated {
                font.transform(FontTransform::Rotate90).pos(Pos::new(HPos::Left, VPos::Center))
            } else {
                font.pos(Pos::new(HPos::Center, VPos::Top))
            };
            for (i, text) in layout.text.iter().enumerate() {
                let (x, y) = chart.backend_coord(&(SegmentValue::CenterOf(i as i32), 0.0));
                root.draw(&Text::new(text.as_str(), (x, y + 6), style.clone())).map_err(|e| err(e.to_string()))?;
            }
        }
        Plot::Seeds { values, expected, band, .. } => {
            let (y0, y1) = bounds(values.iter().map(|v| v.1).chain([expected - band, expected + band, *expected]));
            let n = values.len().max(1);
            let mut chart = ChartBuilder::on(&root)
                .caption(caption.0, caption.1)
                .margin(MARGIN)
                .x_label_area_size(40)
                .y_label_area_size(Y_AREA)
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
    Ok(size)
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
        let (w, h) = draw(plot, &plot_dir.join(&file))?;
        figures.push_str(&format!(
            "<figure><img src=\"plots/{file}\" alt=\"{t}\" width=\"{w}\" height=\"{h}\"><figcaption>{t}</figcaption></figure>\n",
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
Accuracies and mAP are in points (a fraction × 100, as papers print them), with 2 decimals and, for
trained models, ± the standard deviation over seeds.</p>
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
