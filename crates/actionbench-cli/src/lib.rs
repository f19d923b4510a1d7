//! The `actionbench` command line: reproducible data pipelines, loaders,
//! evaluators and leaderboards for human action understanding.
//!
//! Output meant for machines goes to stdout; logs and progress to stderr.
//! Exit codes: 0 success, 1 a user-facing error, 2 a usage error.
//!
//! # Two binaries
//! Debian's FFmpeg pulls in about 130 shared libraries, and the dynamic
//! loader takes about 35 ms to map and relocate them — longer than most
//! commands take to run (`--version`: 39.3 ms with them, 5.2 ms without,
//! `perf stat -r 30` on a release build). So the package builds the same
//! command line twice:
//! - `actionbench` ([`main_without_ffmpeg`], this crate's binary) has no
//!   dependency that reaches FFmpeg: it registers the stage kinds of
//!   `actionbench-stages` and the trainer's. When a command needs FFmpeg —
//!   `demo`, `leaderboard run`, `synth`, `kinds`, `reference stage-kinds`,
//!   `inspect` of a video, or
//!   `run`/`status` of a pipeline with a kind it does not have — it
//!   replaces itself with `actionbench-ffmpeg` from its own directory (or
//!   `ACTIONBENCH_FFMPEG_BIN`), same arguments.
//! - `actionbench-ffmpeg` (the crate of that name) calls
//!   [`main_with_ffmpeg`] with an [`Ffmpeg`]: the video stage kinds of
//!   `actionbench-video-stages`, the generator and the prober.
//!
//! Tests (`tests/it`) check that `actionbench`'s dependency graph has no
//! path to `ffmpeg-next` and that it loads no FFmpeg library.

mod commands;
pub mod embed;
mod output;
mod progress;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::output::OutputFormat;

/// Reproducible data pipelines, evaluators and leaderboards for human action
/// understanding research.
#[derive(Parser)]
#[command(name = "actionbench", version, long_about = None, propagate_version = true)]
#[command(after_help = "Environment: ACTIONBENCH_CACHE_DIR (cache location, default `.actionbench/` in the project), \
ACTIONBENCH_NO_PROGRESS or NO_COLOR (hide progress bars), \
ACTIONBENCH_FFMPEG_BIN (`actionbench-ffmpeg`, which runs the video commands; default: next to this binary).")]
pub(crate) struct Cli {
    /// How results are printed on stdout.
    #[arg(long, global = true, value_enum, default_value_t = OutputFormat::Table)]
    format: OutputFormat,
    /// Hide progress bars.
    #[arg(long, short, global = true)]
    quiet: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate the `small` dataset, train ST-GCN, LART and MViTv2, evaluate, check the leaderboard, write the report.
    Demo(commands::demo::DemoArgs),
    /// Run the stale stages of a pipeline (all, or what the named stages need).
    Run(commands::run::RunArgs),
    /// Say which stages are stale and why.
    Status(commands::status::StatusArgs),
    /// Query the project's tables, shard indexes and metrics with SQL.
    Sql(commands::sql::SqlArgs),
    /// Remove cache entries (or, with `--remote`, remote records and blobs) no lock file refers to.
    Gc(commands::gc::GcArgs),
    /// Upload built-in stage outputs the lock files record to the project's remote (`[remote]` in actionbench.toml).
    Push(commands::remote::TransferArgs),
    /// Download (and verify) the stage outputs the lock files record from the project's remote.
    Pull(commands::remote::TransferArgs),
    /// Dataset manifests: publish a stage's samples as an immutable version, show, diff, verify source files.
    #[command(subcommand)]
    Manifest(commands::manifest::ManifestCommand),
    /// Compare experiments: every recorded stage run, the params that differ, metrics; `--diff` two runs.
    #[command(subcommand)]
    Exp(commands::exp::ExpCommand),
    /// List the built-in stage kinds.
    Kinds,
    /// Evaluate predictions with the official protocols (AVA frame-mAP, MPJPE, top-k).
    #[command(subcommand)]
    Eval(commands::eval::EvalCommand),
    /// Run, check and show the regression-checked leaderboard (`benchmarks/`).
    #[command(subcommand)]
    Leaderboard(commands::leaderboard::LeaderboardCommand),
    /// Decode a file (pickle, joblib, npy/npz, .skeleton, AVA CSV, label map, Parquet; a video: its stream) and print it.
    Inspect(commands::inspect::InspectArgs),
    /// Generate the embedded default dataset (NTU, Kinetics, PHALP/AVA, Human3.6M files and renders).
    Synth(commands::synth::SynthArgs),
    /// Print a reference page generated from the code (Markdown): stage kinds or the command line.
    #[command(subcommand)]
    Reference(commands::reference::ReferenceCommand),
}

/// zstd (inside the Parquet writer) makes a compression context for every
/// column chunk, through the C allocator. glibc serves blocks that large
/// with a fresh `mmap` and unmaps them on free, so the kernel faults in
/// and zeroes the same megabytes again for every chunk: half the page
/// faults of `scripts/bench skeletons`' ingest. Raising the thresholds keeps
/// those blocks in the heap for reuse.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn keep_c_allocations_in_the_heap() {
    // SAFETY: `mallopt` only sets allocator thresholds; it is called first
    // thing in `main`, before any thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 128 << 20);
    }
}

/// What `actionbench-ffmpeg` links in and `actionbench` does not: the
/// stage kinds and commands that decode or encode video. This crate never
/// depends on FFmpeg; the `actionbench-ffmpeg` crate fills this in.
pub struct Ffmpeg {
    /// Every built-in stage kind, the video ones included (the trainer's
    /// are added by the command line).
    pub stages: fn() -> actionbench_pipeline::Registry,
    /// FFmpeg's library versions, recorded with leaderboard runs.
    pub libav_version: fn() -> String,
    /// `inspect` of a video: the stream as FFmpeg describes it.
    pub probe_video: fn(&std::path::Path) -> anyhow::Result<serde_json::Value>,
    /// `synth`: generates a preset, reporting progress; returns the
    /// generator's summary (its `outputs` counts per format).
    pub generate: fn(&SynthRequest, &dyn SynthProgress) -> anyhow::Result<serde_json::Value>,
}

pub use commands::synth::{SynthProgress, SynthRequest};

/// The entry point of `actionbench`: runs every command that does not need
/// FFmpeg, and hands the others over to `actionbench-ffmpeg`.
pub fn main_without_ffmpeg() -> ExitCode {
    start(|cli, progress| {
        if let Some(reason) = needs_ffmpeg(cli) {
            return Err(hand_over(reason));
        }
        dispatch(cli, progress, commands::Binary { ffmpeg: None })
    })
}

/// The entry point of `actionbench-ffmpeg`: every command, every stage kind.
pub fn main_with_ffmpeg(ffmpeg: &'static Ffmpeg) -> ExitCode {
    start(|cli, progress| dispatch(cli, progress, commands::Binary { ffmpeg: Some(ffmpeg) }))
}

/// Parses the arguments, runs `command`, prints its error.
fn start(command: impl FnOnce(&Cli, &progress::Progress) -> anyhow::Result<ExitCode>) -> ExitCode {
    // LibTorch builds: idle OpenMP threads sleep rather than spin, so
    // stages side by side do not starve each other (re-executes once).
    actionbench_train::backend::passive_openmp();
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    keep_c_allocations_in_the_heap();
    let cli = Cli::parse();
    let progress = progress::Progress::new(cli.quiet);
    match command(&cli, &progress) {
        Ok(code) => code,
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            progress.clear();
            commands::print_error(&err);
            ExitCode::from(1)
        }
    }
}

/// Runs a command in `binary` (`actionbench` reaches here only with the
/// commands [`needs_ffmpeg`] lets through).
fn dispatch(cli: &Cli, progress: &progress::Progress, binary: commands::Binary) -> anyhow::Result<ExitCode> {
    match &cli.command {
        Command::Run(args) => commands::run::run(args, binary, cli.format, progress),
        Command::Status(args) => commands::status::run(args, binary, cli.format),
        Command::Sql(args) => commands::sql::run(args, cli.format),
        Command::Gc(args) => commands::gc::run(args, cli.format, progress),
        Command::Push(args) => commands::remote::push(args, cli.format, progress),
        Command::Pull(args) => commands::remote::pull(args, cli.format, progress),
        Command::Exp(cmd) => commands::exp::run(cmd, cli.format),
        Command::Manifest(cmd) => commands::manifest::run(cmd, cli.format),
        Command::Eval(cmd) => commands::eval::run(cmd, cli.format).map(|()| ExitCode::SUCCESS),
        Command::Inspect(args) => {
            commands::inspect::run(args, cli.format, binary.ffmpeg.map(|f| f.probe_video)).map(|()| ExitCode::SUCCESS)
        }
        Command::Leaderboard(cmd) => commands::leaderboard::run(cmd, binary, cli.format, progress),
        Command::Demo(args) => commands::demo::run(args, binary.ffmpeg("`demo`")?, cli.format, progress),
        Command::Kinds => commands::kinds::run(binary, cli.format),
        Command::Synth(args) => commands::synth::run(args, binary.ffmpeg("`synth`")?, cli.format, cli.quiet),
        Command::Reference(cmd) => commands::reference::run(cmd, binary),
    }
}

/// Why `actionbench` cannot run this command itself, if it cannot (a
/// pipeline's kinds are checked when it is opened, see
/// [`commands::open_engine`]).
fn needs_ffmpeg(cli: &Cli) -> Option<&'static str> {
    match &cli.command {
        Command::Demo(_) => Some("`demo` renders clips and runs the leaderboard"),
        Command::Kinds => Some("`kinds` lists the video kinds too"),
        Command::Leaderboard(commands::leaderboard::LeaderboardCommand::Run(_)) => {
            Some("`leaderboard run` runs pipelines that may render clips, and records the FFmpeg version")
        }
        Command::Synth(_) => Some("`synth` encodes rendered clips"),
        Command::Reference(commands::reference::ReferenceCommand::StageKinds) => {
            Some("`reference stage-kinds` lists the video kinds too")
        }
        Command::Inspect(args) if args.is_video() => Some("`inspect` of a video probes it"),
        Command::Run(_)
        | Command::Status(_)
        | Command::Sql(_)
        | Command::Gc(_)
        | Command::Push(_)
        | Command::Pull(_)
        | Command::Exp(_)
        | Command::Manifest(_)
        | Command::Eval(_)
        | Command::Leaderboard(_)
        | Command::Reference(_)
        | Command::Inspect(_) => None,
    }
}

/// Replaces this process with `actionbench-ffmpeg` and the same arguments
/// (elsewhere than Unix: runs it and exits with its code); returns only
/// the error that it could not start.
pub(crate) fn hand_over(reason: &str) -> anyhow::Error {
    let exe = std::env::current_exe();
    let path = match std::env::var_os(actionbench_core::EnvVars::ACTIONBENCH_FFMPEG_BIN) {
        Some(path) => std::path::PathBuf::from(path),
        None => match &exe {
            Ok(exe) => exe.with_file_name(format!("actionbench-ffmpeg{}", std::env::consts::EXE_SUFFIX)),
            Err(e) => return anyhow::anyhow!("{reason}, which needs FFmpeg, but this binary's path is unknown: {e}"),
        },
    };
    // Pointing the variable at `actionbench` itself would exec forever.
    if path.canonicalize().ok() == exe.ok().and_then(|exe| exe.canonicalize().ok()) {
        return actionbench_core::Diagnostic::hinted(
            format!(
                "{reason}, which needs FFmpeg, but {} names `actionbench` itself",
                actionbench_core::EnvVars::ACTIONBENCH_FFMPEG_BIN
            ),
            "Point it at `actionbench-ffmpeg`",
        )
        .into();
    }
    let mut command = std::process::Command::new(&path);
    command.args(std::env::args_os().skip(1));
    #[cfg(unix)]
    let failure = {
        use std::os::unix::process::CommandExt;
        command.exec()
    };
    #[cfg(not(unix))]
    let failure = match command.status() {
        Ok(status) => std::process::exit(status.code().unwrap_or(1)),
        Err(e) => e,
    };
    actionbench_core::Diagnostic::hinted(
        format!(
            "{reason}, which needs FFmpeg: that runs in `actionbench-ffmpeg`, and `{}` cannot be started: {failure}",
            path.display()
        ),
        "Install both binaries side by side (`cargo install --path crates/actionbench-cli` and \
         `cargo install --path crates/actionbench-ffmpeg`), or point ACTIONBENCH_FFMPEG_BIN at `actionbench-ffmpeg`",
    )
    .into()
}

/// `actionbench ... | head` closes stdout early; that is not an error.
fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain()
        .any(|e| e.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe))
}
