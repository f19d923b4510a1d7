use std::process::ExitCode;

use crate::output::{OutputFormat, TextTable, print_json};
use crate::progress::Progress;

/// Arguments of `actionbench gc`.
#[derive(clap::Args)]
pub(crate) struct GcArgs {
    /// Say what would be removed, remove nothing.
    #[arg(long)]
    dry_run: bool,
}

pub(crate) fn run(args: &GcArgs, format: OutputFormat, progress: &Progress) -> anyhow::Result<ExitCode> {
    let cwd = std::env::current_dir()?;
    let root = actionbench_pipeline::find_project_root(&cwd)?;
    let report = actionbench_pipeline::gc_project(&root, None, args.dry_run, progress)?;
    match format {
        OutputFormat::Json => print_json(&serde_json::json!({"dry_run": args.dry_run, "removed": report}))?,
        _ => {
            let mut table = TextTable::new(["what", "removed"]);
            table.push(vec!["stage outputs".into(), report.stage_outputs.to_string()]);
            table.push(vec!["input listings".into(), report.listings.to_string()]);
            table.push(vec!["work directories".into(), report.temp_dirs.to_string()]);
            table.push(vec!["bytes".into(), report.bytes.to_string()]);
            table.print(format)?;
            if args.dry_run {
                eprintln!("Dry run: nothing was removed");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
