//! `actionbench`: reproducible data pipelines, loaders, evaluators and
//! leaderboards for human action understanding.
//!
//! Output meant for machines goes to stdout; logs and progress to stderr.
//! Exit codes: 0 success, 1 a user-facing error, 2 a usage error.

mod commands;
mod output;
mod progress;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::output::OutputFormat;

// Ingest allocates and frees large per-sample buffers; mimalloc keeps them
// instead of returning them to the kernel (`scripts/bench skeletons`).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Reproducible data pipelines, evaluators and leaderboards for human action
/// understanding research.
#[derive(Parser)]
#[command(name = "actionbench", version, about, long_about = None, propagate_version = true)]
#[command(after_help = "Environment: ACTIONBENCH_CACHE_DIR (cache location, default `.actionbench/` in the project), \
ACTIONBENCH_NO_PROGRESS or NO_COLOR (hide progress bars).")]
struct Cli {
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
    /// Generate the `small` dataset, train ST-GCN and LART, evaluate, check the leaderboard, write the report.
    Demo(commands::demo::DemoArgs),
    /// Run the stale stages of a pipeline (all, or what the named stages need).
    Run(commands::run::RunArgs),
    /// Say which stages are stale and why.
    Status(commands::status::StatusArgs),
    /// Query the project's tables, shard indexes and metrics with SQL.
    Sql(commands::sql::SqlArgs),
    /// Remove cache entries no lock file refers to.
    Gc(commands::gc::GcArgs),
    /// List the built-in stage kinds.
    Kinds,
    /// Evaluate predictions with the official protocols (AVA frame-mAP, MPJPE, top-k).
    #[command(subcommand)]
    Eval(commands::eval::EvalCommand),
    /// Run, check and show the regression-checked leaderboard (`benchmarks/`).
    #[command(subcommand)]
    Leaderboard(commands::leaderboard::LeaderboardCommand),
    /// Decode a file (pickle, joblib, npy/npz, .skeleton, AVA CSV, label map, Parquet) and print it.
    Inspect(commands::inspect::InspectArgs),
    /// Generate the embedded default dataset (NTU, Kinetics, PHALP/AVA, Human3.6M files and renders).
    Synth(commands::synth::SynthArgs),
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

fn main() -> ExitCode {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    keep_c_allocations_in_the_heap();
    let cli = Cli::parse();
    let progress = progress::Progress::new(cli.quiet);
    let result = match &cli.command {
        Command::Demo(args) => commands::demo::run(args, cli.format, &progress),
        Command::Run(args) => commands::run::run(args, cli.format, &progress),
        Command::Status(args) => commands::status::run(args, cli.format),
        Command::Sql(args) => commands::sql::run(args, cli.format),
        Command::Gc(args) => commands::gc::run(args, cli.format, &progress),
        Command::Kinds => commands::kinds::run(cli.format),
        Command::Eval(cmd) => commands::eval::run(cmd, cli.format).map(|()| ExitCode::SUCCESS),
        Command::Leaderboard(cmd) => commands::leaderboard::run(cmd, cli.format, &progress),
        Command::Inspect(args) => commands::inspect::run(args, cli.format).map(|()| ExitCode::SUCCESS),
        Command::Synth(args) => commands::synth::run(args, cli.format, cli.quiet),
    };
    match result {
        Ok(code) => code,
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            progress.clear();
            commands::print_error(&err);
            ExitCode::from(1)
        }
    }
}

/// `actionbench ... | head` closes stdout early; that is not an error.
fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain()
        .any(|e| e.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe))
}
