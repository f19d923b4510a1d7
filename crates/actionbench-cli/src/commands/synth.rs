//! `actionbench synth`: generate the embedded default dataset (all formats)
//! into a folder, with a progress bar per part on stderr.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Mutex;

use actionbench_core::EnvVars;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::output::{OutputFormat, TextTable, print_json};

/// Size presets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum PresetArg {
    /// Seconds; for tests.
    Tiny,
    /// The demo: enough data for models to learn.
    Small,
    /// Benchmarks: ≥ 50k skeleton sequences and ≥ 2k videos.
    Large,
}

/// Arguments of `actionbench synth`.
#[derive(clap::Args)]
pub(crate) struct SynthArgs {
    /// Size preset (also accepted as `--preset`); default `small`.
    #[arg(value_enum)]
    preset_pos: Option<PresetArg>,
    /// Size preset.
    #[arg(long, value_enum)]
    preset: Option<PresetArg>,
    /// Seed of every random stream (same preset + seed ⇒ same bytes).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Output folder (created; existing files are overwritten).
    #[arg(long)]
    out: PathBuf,
    /// Comma-separated output families: ntu, kinetics, phalp (with the AVA files), h36m, renders. Default: all.
    #[arg(long, value_delimiter = ',')]
    formats: Vec<String>,
    /// Comma-separated class names to generate (default: all).
    #[arg(long, value_delimiter = ',')]
    classes: Vec<String>,
    /// Render clips instead of the preset's count (small: 100).
    #[arg(long)]
    render_clips: Option<usize>,
}

/// What `actionbench synth` asks the generator for (the generator itself
/// is linked only into `actionbench-ffmpeg`: it encodes clips).
#[derive(Debug, Clone)]
pub struct SynthRequest {
    /// `tiny`, `small` or `large`.
    pub preset: String,
    /// Seed of every random stream.
    pub seed: u64,
    /// Output folder.
    pub out: PathBuf,
    /// Output families (empty: all).
    pub formats: Vec<String>,
    /// Class names (empty: all).
    pub classes: Vec<String>,
    /// Render clips instead of the preset's count.
    pub render_clips: Option<usize>,
}

/// Progress of a generation, one part (output family) at a time.
pub trait SynthProgress: Sync {
    /// A part starts with `total` items.
    fn start(&self, part: &str, total: u64);
    /// `n` more items of the current part are done.
    fn advance(&self, n: u64);
    /// The current part is done.
    fn finish(&self, part: &str);
}

/// One indicatif bar per part, hidden when stderr is not a terminal.
struct Bars {
    visible: bool,
    bar: Mutex<Option<ProgressBar>>,
}

impl SynthProgress for Bars {
    fn start(&self, part: &str, total: u64) {
        if !self.visible {
            return;
        }
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template("{prefix:>10.bold} {elapsed:>4} [{bar:30.cyan/blue}] {pos}/{len} ({eta})")
                .expect("valid template")
                .progress_chars("=> "),
        );
        bar.set_prefix(part.to_string());
        *self.bar.lock().expect("bar lock") = Some(bar);
    }

    fn advance(&self, n: u64) {
        if let Some(bar) = self.bar.lock().expect("bar lock").as_ref() {
            bar.inc(n);
        }
    }

    fn finish(&self, _part: &str) {
        if let Some(bar) = self.bar.lock().expect("bar lock").take() {
            bar.finish();
        }
    }
}

pub(crate) fn run(
    args: &SynthArgs,
    ffmpeg: &crate::Ffmpeg,
    format: OutputFormat,
    quiet: bool,
) -> anyhow::Result<ExitCode> {
    let preset = match (args.preset_pos, args.preset) {
        (Some(a), Some(b)) if a != b => {
            return Err(actionbench_core::Diagnostic::hinted(
                format!("two different presets given (`{a:?}` and `--preset {b:?}`)"),
                "Give the preset once",
            )
            .into());
        }
        (a, b) => a.or(b).unwrap_or(PresetArg::Small),
    };
    let preset = match preset {
        PresetArg::Tiny => "tiny",
        PresetArg::Small => "small",
        PresetArg::Large => "large",
    };
    let request = SynthRequest {
        preset: preset.to_string(),
        seed: args.seed,
        out: args.out.clone(),
        formats: args.formats.clone(),
        classes: args.classes.clone(),
        render_clips: args.render_clips,
    };
    let visible = !quiet
        && std::io::stderr().is_terminal()
        && std::env::var_os(EnvVars::ACTIONBENCH_NO_PROGRESS).is_none()
        && std::env::var_os(EnvVars::NO_COLOR).is_none();
    let bars = Bars { visible, bar: Mutex::new(None) };
    let start = std::time::Instant::now();
    let summary = (ffmpeg.generate)(&request, &bars)?;
    let seconds = start.elapsed().as_secs_f64();
    match format {
        OutputFormat::Json => {
            let mut value = summary;
            value["out"] = serde_json::Value::String(args.out.display().to_string());
            print_json(&value)?
        }
        _ => {
            let mut table = TextTable::new(["format", "written"]);
            let outputs = summary.get("outputs").and_then(|o| o.as_object()).cloned().unwrap_or_default();
            for (name, value) in &outputs {
                let counts: Vec<String> = value
                    .as_object()
                    .map(|o| o.iter().filter(|(_, v)| v.is_u64()).map(|(k, v)| format!("{k}={v}")).collect())
                    .unwrap_or_default();
                table.push(vec![name.clone(), counts.join(" ")]);
            }
            table.print(format)?;
            eprintln!(
                "Generated preset `{}` (seed {}) into `{}` in {seconds:.1}s",
                preset,
                args.seed,
                args.out.display()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
