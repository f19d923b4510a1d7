use std::process::ExitCode;

use actionbench_pipeline::RunOptions;

use crate::output::{OutputFormat, TextTable, print_json};
use crate::progress::Progress;

/// Arguments of `actionbench run`.
#[derive(clap::Args)]
pub(crate) struct RunArgs {
    /// Pipeline name (a file in `pipelines/`, without `.toml`) or path.
    pub(crate) pipeline: String,
    /// Stages to bring up to date, with everything they need (default: all).
    stages: Vec<String>,
    /// Re-run the named stages (all stages when none is named) even if fresh.
    #[arg(long)]
    force: bool,
    /// Say what would run, run nothing.
    #[arg(long)]
    dry_run: bool,
    /// Stages run at the same time (default: the number of CPUs).
    #[arg(short = 'j', long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    jobs: Option<u16>,
    /// Change a param for this run only: `STAGE.params.KEY=VALUE` (TOML
    /// value; STAGE may be a matrix table, meaning every instance).
    /// Repeatable. The runs get new keys and are recorded for `exp show`;
    /// the lock file keeps the file's definition of the stages it changes, and
    /// a command stage downstream of it refuses to overwrite its `outs`.
    #[arg(short = 'S', long = "set", value_name = "STAGE.params.KEY=VALUE")]
    overrides: Vec<String>,
    /// Use the project's remote (`[remote]` in actionbench.toml): fetch a
    /// built-in stage's output from it instead of running the stage when
    /// it has that key, and store there what runs here.
    #[arg(long)]
    remote: bool,
    /// Where stages run: `local` is this machine; `slurm` submits one SLURM
    /// batch job per stale stage, with the stage's `resources` and
    /// dependencies between jobs, and Ctrl-C cancels them; docs/cluster.md
    /// has the details.
    #[arg(long, value_enum, default_value_t = Executor::Local)]
    executor: Executor,
    /// Run only part I (from 0) of the one stage named, a stage with
    /// `partitions = N`, into the cache, without taking the run lock; the
    /// stage's next `run` merges the parts. `--executor slurm` runs the
    /// parts as a job array this way; the stages it needs must be in the
    /// cache already.
    #[arg(long, value_name = "I", conflicts_with_all = ["dry_run", "remote", "force"])]
    part: Option<u32>,
}

/// `run --executor`.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Executor {
    /// This machine, `-j N` stages at a time.
    Local,
    /// SLURM batch jobs (docs/cluster.md).
    Slurm,
}

pub(crate) fn run(
    args: &RunArgs,
    binary: super::Binary,
    format: OutputFormat,
    progress: &Progress,
) -> anyhow::Result<ExitCode> {
    // Before the pipeline: the variable is the user's shell's, not a param.
    actionbench_train::backend::check_cpu_threads().map_err(anyhow::Error::msg)?;
    let engine = super::open_engine_with(&args.pipeline, &args.overrides, binary)?;
    if let Some(index) = args.part {
        return run_part(args, &engine, index, format, progress);
    }
    if args.executor == Executor::Slurm {
        return run_on_slurm(args, &engine, format, progress);
    }
    let jobs =
        args.jobs.map(usize::from).unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let shared: Option<std::sync::Arc<dyn actionbench_pipeline::SharedCache>> = if args.remote {
        Some(std::sync::Arc::new(actionbench_remote::Remote::open(&engine.pipeline().root)?))
    } else {
        None
    };
    let opts = RunOptions { targets: args.stages.clone(), force: args.force, dry_run: args.dry_run, jobs, shared };
    let reports = engine.run(&opts, progress)?;
    progress.clear();
    match format {
        OutputFormat::Json => print_json(&serde_json::to_value(&reports)?)?,
        _ => {
            let mut table = TextTable::new(["stage", "status", "key", "seconds"]);
            for r in &reports {
                table.push(vec![
                    r.stage.clone(),
                    r.outcome.label().to_string(),
                    r.key.map(|k| if format == OutputFormat::Csv { k.to_hex() } else { k.short() }).unwrap_or_default(),
                    format!("{:.2}", r.seconds),
                ]);
            }
            table.print(format)?;
        }
    }
    let failed = super::print_failed_stages(&engine.pipeline().display_path, &reports);
    Ok(if failed { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

/// `run STAGE --part I`: one part of a partitioned stage.
fn run_part(
    args: &RunArgs,
    engine: &actionbench_pipeline::Engine,
    index: u32,
    format: OutputFormat,
    progress: &Progress,
) -> anyhow::Result<ExitCode> {
    let [stage] = args.stages.as_slice() else {
        anyhow::bail!(
            "`--part {index}` runs a part of one stage: name exactly one stage (a stage with `partitions = N`), not {}",
            args.stages.len()
        );
    };
    if args.executor == Executor::Slurm {
        anyhow::bail!("`--part` runs here; `--executor slurm` submits every part as a job array by itself");
    }
    let report = engine.run_part(stage, index, progress)?;
    progress.clear();
    match format {
        OutputFormat::Json => print_json(&serde_json::to_value(&report)?)?,
        _ => {
            let mut table = TextTable::new(["stage", "part", "status", "key", "seconds"]);
            let key = if format == OutputFormat::Csv { report.key.to_hex() } else { report.key.short() };
            table.push(vec![
                report.stage.clone(),
                format!("{} of {}", report.part, report.parts),
                report.outcome.label().to_string(),
                key,
                format!("{:.2}", report.seconds),
            ]);
            table.print(format)?;
        }
    }
    let as_stage = actionbench_pipeline::StageReport {
        stage: report.stage.clone(),
        outcome: report.outcome.clone(),
        key: Some(report.key),
        seconds: report.seconds,
    };
    let failed = super::print_failed_stages(&engine.pipeline().display_path, &[as_stage]);
    Ok(if failed { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

/// `run --executor slurm`.
fn run_on_slurm(
    args: &RunArgs,
    engine: &actionbench_pipeline::Engine,
    format: OutputFormat,
    progress: &Progress,
) -> anyhow::Result<ExitCode> {
    use actionbench_core::EnvVars;
    if args.dry_run {
        anyhow::bail!("`--dry-run` with `--executor slurm`: `actionbench status` says what would be submitted");
    }
    let interrupted = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = interrupted.clone();
    ctrlc::set_handler(move || flag.store(true, std::sync::atomic::Ordering::SeqCst))?;
    let env_number = |name: &str, default: u64| -> anyhow::Result<u64> {
        match std::env::var(name) {
            Ok(v) => v.parse().map_err(|_| anyhow::anyhow!("{name}=`{v}` is not a whole number")),
            Err(_) => Ok(default),
        }
    };
    let opts = actionbench_slurm::SlurmOptions {
        targets: args.stages.clone(),
        force: args.force,
        overrides: args.overrides.clone(),
        remote: args.remote,
        binary: std::env::current_exe()?,
        // At least 10 ms: a zero would ask squeue in a busy loop.
        poll: std::time::Duration::from_millis(env_number(EnvVars::ACTIONBENCH_SLURM_POLL_MS, 5000)?.max(10)),
        marker_grace: std::time::Duration::from_secs(env_number(EnvVars::ACTIONBENCH_SLURM_MARKER_GRACE_S, 60)?),
        interrupted,
    };
    let run = actionbench_slurm::run_on_slurm(engine, &opts, progress)?;
    progress.clear();
    match format {
        OutputFormat::Json => print_json(&serde_json::to_value(&run.stages)?)?,
        _ => {
            let mut table = TextTable::new(["stage", "status", "key", "job", "seconds"]);
            for r in &run.stages {
                let key = r.report.key.map(|k| if format == OutputFormat::Csv { k.to_hex() } else { k.short() });
                table.push(vec![
                    r.report.stage.clone(),
                    r.report.outcome.label().to_string(),
                    key.unwrap_or_default(),
                    match (&r.job, &r.array) {
                        (Some(job), Some(a)) => format!("{job} after {}_[0-{}]", a.job, a.parts.saturating_sub(1)),
                        (Some(job), None) => job.clone(),
                        (None, _) => "-".into(),
                    },
                    format!("{:.2}", r.report.seconds),
                ]);
            }
            table.print(format)?;
        }
    }
    let reports: Vec<actionbench_pipeline::StageReport> = run.stages.iter().map(|r| r.report.clone()).collect();
    let failed = super::print_failed_stages(&engine.pipeline().display_path, &reports);
    if run.interrupted {
        eprintln!(
            "interrupted: the submitted jobs that had not ended were cancelled; job files are in {}",
            run.dir.display()
        );
        return Ok(ExitCode::from(130));
    }
    Ok(if failed { ExitCode::from(1) } else { ExitCode::SUCCESS })
}
