use std::process::ExitCode;

use crate::output::{OutputFormat, TextTable, print_json};
use crate::progress::Progress;

/// Arguments of `actionbench gc`.
#[derive(clap::Args)]
pub(crate) struct GcArgs {
    /// Say what would be removed, remove nothing.
    #[arg(long, conflicts_with = "apply")]
    dry_run: bool,
    /// Clean the project's remote instead of the local cache: stage
    /// records no lock file refers to, then blobs no kept record refers
    /// to. A dry run unless `--apply` is given.
    #[arg(long)]
    remote: bool,
    /// With `--remote`: really remove.
    #[arg(long, requires = "remote")]
    apply: bool,
    /// With `--remote`: keep unreferenced blobs younger than this many
    /// seconds, since a push uploads its blobs before its record.
    #[arg(long, value_name = "SECONDS", default_value_t = 3600, requires = "remote")]
    grace: u64,
}

pub(crate) fn run(args: &GcArgs, format: OutputFormat, progress: &Progress) -> anyhow::Result<ExitCode> {
    let cwd = std::env::current_dir()?;
    let root = actionbench_pipeline::find_project_root(&cwd)?;
    if args.remote {
        return remote(args, &root, format);
    }
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

fn remote(args: &GcArgs, root: &std::path::Path, format: OutputFormat) -> anyhow::Result<ExitCode> {
    let remote = actionbench_remote::Remote::open(root)?;
    let mut keep = std::collections::HashSet::new();
    for (_, lock) in actionbench_pipeline::project_lock_files(root)? {
        keep.extend(lock.stages.into_values().filter(|s| s.definition.kind != "cmd").map(|s| s.key));
    }
    let dry_run = !args.apply;
    let report = remote.gc(&keep, std::time::Duration::from_secs(args.grace), dry_run)?;
    match format {
        OutputFormat::Json => print_json(&serde_json::json!({
            "remote": remote.url(), "dry_run": dry_run, "removed": report
        }))?,
        _ => {
            let mut table = TextTable::new(["what", if dry_run { "would remove" } else { "removed" }]);
            table.push(vec!["stage records".into(), report.records.to_string()]);
            table.push(vec!["blobs".into(), report.blobs.to_string()]);
            table.push(vec!["bytes".into(), report.bytes.to_string()]);
            table.print(format)?;
            eprintln!(
                "{} records kept (a lock file refers to them); {} unreferenced blobs younger than {} s kept",
                report.kept_records, report.young_blobs, args.grace
            );
            if dry_run {
                eprintln!("Dry run: nothing was removed on {}; `--apply` removes it", remote.url());
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
