use std::process::ExitCode;

use anyhow::Context;

use crate::output::OutputFormat;

/// Arguments of `actionbench sql`.
#[derive(clap::Args)]
pub(crate) struct SqlArgs {
    /// The query, e.g. "SELECT label, count(*) FROM ntu60.skeletons GROUP BY label".
    /// `SHOW TABLES` lists what there is.
    query: String,
}

pub(crate) fn run(args: &SqlArgs, format: OutputFormat) -> anyhow::Result<ExitCode> {
    let cwd = std::env::current_dir()?;
    let root = actionbench_pipeline::find_project_root(&cwd)?;
    let session = actionbench_sql::SqlSession::open(&root, None).context("Cannot open the project's tables")?;
    let batches = match session.query(&args.query) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("error: {e}");
            if let Some(pointer) = e.pointer(&args.query) {
                eprintln!("\n{pointer}");
            }
            eprintln!(
                "\nhint: `actionbench sql \"SHOW TABLES\"` lists the tables; pipeline tables are `PIPELINE.STAGE` (quote names with `-`: \"ntu60-xsub\".skeletons)"
            );
            return Ok(ExitCode::from(1));
        }
    };
    let text = match format {
        OutputFormat::Table => actionbench_sql::render_table(&batches)?,
        OutputFormat::Csv => actionbench_sql::render_csv(&batches)?,
        OutputFormat::Json => actionbench_sql::render_json(&batches)?,
    };
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", text.trim_end())?;
    Ok(ExitCode::SUCCESS)
}
