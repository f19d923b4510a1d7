//! `actionbench synth`: generate the embedded default dataset (all formats)
//! into a folder, with a progress bar per part on stderr.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Mutex;

use actionbench_core::EnvVars;
use actionbench_synth::{Format, Preset, SynthConfig};
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
}

/// One indicatif bar per part, hidden when stderr is not a terminal.
struct Bars {
    visible: bool,
    bar: Mutex<Option<ProgressBar>>,
}

impl actionbench_synth::Progress for Bars {
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

fn synth_error(e: actionbench_synth::SynthError) -> anyhow::Error {
    match e.hint() {
        Some(h) => anyhow::anyhow!("{e}\n\nhint: {h}"),
        None => anyhow::Error::new(e),
    }
}

pub(crate) fn run(args: &SynthArgs, format: OutputFormat, quiet: bool) -> anyhow::Result<ExitCode> {
    let preset = match (args.preset_pos, args.preset) {
        (Some(a), Some(b)) if a != b => {
            anyhow::bail!("two different presets given (`{a:?}` and `--preset {b:?}`)\n\nhint: Give the preset once")
        }
        (a, b) => a.or(b).unwrap_or(PresetArg::Small),
    };
    let preset = match preset {
        PresetArg::Tiny => Preset::Tiny,
        PresetArg::Small => Preset::Small,
        PresetArg::Large => Preset::Large,
    };
    let mut config = SynthConfig::new(preset, args.seed).with_class_names(&args.classes).map_err(synth_error)?;
    if !args.formats.is_empty() {
        config.formats =
            args.formats.iter().map(|f| Format::parse(f)).collect::<Result<_, _>>().map_err(synth_error)?;
    }
    let visible = !quiet
        && std::io::stderr().is_terminal()
        && std::env::var_os(EnvVars::ACTIONBENCH_NO_PROGRESS).is_none()
        && std::env::var_os(EnvVars::NO_COLOR).is_none();
    let bars = Bars { visible, bar: Mutex::new(None) };
    let start = std::time::Instant::now();
    let summary = actionbench_synth::generate(&config, &args.out, &bars).map_err(synth_error)?;
    let seconds = start.elapsed().as_secs_f64();
    match format {
        OutputFormat::Json => {
            let mut value = serde_json::to_value(&summary)?;
            value["out"] = serde_json::Value::String(args.out.display().to_string());
            print_json(&value)?
        }
        _ => {
            let mut table = TextTable::new(["format", "written"]);
            for (name, value) in &summary.outputs {
                let counts: Vec<String> = value
                    .as_object()
                    .map(|o| o.iter().filter(|(_, v)| v.is_u64()).map(|(k, v)| format!("{k}={v}")).collect())
                    .unwrap_or_default();
                table.push(vec![name.clone(), counts.join(" ")]);
            }
            table.print(format)?;
            eprintln!(
                "Generated preset `{}` (seed {}) into `{}` in {seconds:.1}s",
                preset.name(),
                args.seed,
                args.out.display()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
