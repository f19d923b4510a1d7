//! `actionbench demo`: the whole toolkit on generated data, in one command.
//!
//! Writes a demo project into `--dir` (default `actionbench-demo/`): the
//! pipelines and benchmark definitions of this repository, embedded in the
//! binary so the demo needs nothing but the binary. Then it runs the
//! skeleton pipeline (`synth` small → `ingest.ntu` → ST-GCN, 3 seeds →
//! `predict` → `eval.classify`) and the AVA/LART pipeline (`synth` small →
//! `ingest.ava` → LART, 3 seeds → `predict` → `eval.ava`) and the video
//! pipeline (`synth` renders → `ingest.renders` → MViTv2 tiny, 3 seeds, and
//! the frame-linear baseline → multi-view `predict` → `eval.classify`), records and
//! checks the leaderboard, and writes the HTML report. Every step is a
//! cached pipeline stage, so running it again is a no-op that takes seconds.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use actionbench_pipeline::{Engine, PipelineDef, RunOptions, StageOutcome};
use anyhow::Context;

use super::leaderboard::{LeaderboardCommand, ReportArgs, Select, run_in};
use crate::output::OutputFormat;
use crate::progress::Progress;

/// Arguments of `actionbench demo`.
#[derive(clap::Args)]
pub(crate) struct DemoArgs {
    /// Project directory to create (or reuse).
    #[arg(long, value_name = "DIR", default_value = "actionbench-demo")]
    dir: PathBuf,
    /// Stages run at the same time (default: the number of CPUs).
    #[arg(short = 'j', long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    jobs: Option<u16>,
}

/// The demo project's files: `(path in the project, contents)`.
const FILES: &[(&str, &str)] = &[
    ("pipelines/ntu60-xsub.toml", include_str!("../../../../pipelines/ntu60-xsub.toml")),
    ("pipelines/ava-lart.toml", include_str!("../../../../pipelines/ava-lart.toml")),
    ("pipelines/synth-video.toml", include_str!("../../../../pipelines/synth-video.toml")),
    ("benchmarks/ntu60-xsub/benchmark.toml", include_str!("../../../../benchmarks/ntu60-xsub/benchmark.toml")),
    ("benchmarks/ava-lart/benchmark.toml", include_str!("../../../../benchmarks/ava-lart/benchmark.toml")),
    ("benchmarks/ava-chance/benchmark.toml", include_str!("../../../../benchmarks/ava-chance/benchmark.toml")),
    (
        "benchmarks/synth-video-mvit/benchmark.toml",
        include_str!("../../../../benchmarks/synth-video-mvit/benchmark.toml"),
    ),
    ("benchmarks/claimed.toml", include_str!("../../../../benchmarks/claimed.toml")),
];

/// The pipelines, in the order they run.
const PIPELINES: &[&str] = &["ntu60-xsub", "ava-lart", "synth-video"];

/// Writes the project files that are missing; a file that differs (edited,
/// or written by another version) is kept and named.
fn write_project(dir: &Path) -> anyhow::Result<()> {
    for (rel, text) in FILES {
        let path = dir.join(rel);
        match std::fs::read_to_string(&path) {
            Ok(existing) if existing == *text => {}
            Ok(_) => eprintln!(
                "note: `{}` differs from this binary's version; keeping it (delete it to get the current one)",
                path.display()
            ),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent).with_context(|| format!("cannot create `{}`", parent.display()))?;
                }
                std::fs::write(&path, text).with_context(|| format!("cannot write `{}`", path.display()))?;
            }
            Err(e) => return Err(e).with_context(|| format!("cannot read `{}`", path.display())),
        }
    }
    Ok(())
}

pub(crate) fn run(
    args: &DemoArgs,
    ffmpeg: &'static crate::Ffmpeg,
    format: OutputFormat,
    progress: &Progress,
) -> anyhow::Result<ExitCode> {
    let binary = super::Binary { ffmpeg: Some(ffmpeg) };
    let started = Instant::now();
    write_project(&args.dir)?;
    let root = args.dir.canonicalize().with_context(|| format!("cannot open `{}`", args.dir.display()))?;
    let jobs =
        args.jobs.map(usize::from).unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    for name in PIPELINES {
        eprintln!("==> actionbench run {name}");
        let def = PipelineDef::load(name, &root)?;
        let engine = Engine::new(def, binary.registry(), None::<PathBuf>)?;
        let reports = engine.run(&RunOptions { jobs, ..Default::default() }, progress)?;
        progress.clear();
        let (mut ran, mut cached) = (0, 0);
        for r in &reports {
            match &r.outcome {
                StageOutcome::Failed { error, .. } => {
                    anyhow::bail!("pipeline `{name}`: stage `{}` failed: {error}", r.stage)
                }
                StageOutcome::Cached | StageOutcome::Pulled => cached += 1,
                _ => ran += 1,
            }
        }
        let seconds: f64 = reports.iter().map(|r| r.seconds).sum();
        eprintln!("    {ran} stages ran, {cached} cached ({seconds:.1} s of stage time)");
    }
    eprintln!("==> actionbench leaderboard run");
    let checked = run_in(&root, &LeaderboardCommand::Run(Select::default()), binary, format, progress)?;
    eprintln!("==> actionbench leaderboard report");
    let report = ReportArgs { select: Select::default(), out: None };
    run_in(&root, &LeaderboardCommand::Report(report), binary, format, progress)?;
    eprintln!(
        "demo finished in {:.0} s in `{}`; open the report above, or query it all: cd {} && actionbench sql \"SHOW TABLES\"",
        started.elapsed().as_secs_f64(),
        args.dir.display(),
        args.dir.display()
    );
    Ok(checked)
}
