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
}

pub(crate) fn run(
    args: &RunArgs,
    binary: super::Binary,
    format: OutputFormat,
    progress: &Progress,
) -> anyhow::Result<ExitCode> {
    let engine = super::open_engine_with(&args.pipeline, &args.overrides, binary)?;
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
