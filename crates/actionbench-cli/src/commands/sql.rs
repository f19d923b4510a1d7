use std::process::ExitCode;

use anyhow::Context;

use crate::output::OutputFormat;

/// Arguments of `actionbench sql`.
#[derive(clap::Args)]
pub(crate) struct SqlArgs {
    /// The query, e.g. "SELECT label, count(*) FROM ntu60.skeletons GROUP BY label".
    /// `SHOW TABLES` lists what there is.
    query: String,
    /// How `--format csv` writes tensor cells: `summary` (`float32[100, 3, 25, 3]`) or
    /// `json` (every value). Tables always summarise them; JSON output keeps every value.
    #[arg(long, value_enum, default_value_t = TensorCells::Summary)]
    tensors: TensorCells,
    /// Also read, in place, the tables of stages whose output is not in the
    /// local cache but on the project's remote (`[remote]` in
    /// actionbench.toml); each shard is checked against its blake3 first.
    #[arg(long)]
    remote: bool,
}

/// Values of `--tensors`.
#[derive(Clone, Copy, clap::ValueEnum)]
pub(crate) enum TensorCells {
    /// Type and shape, values elided.
    Summary,
    /// Every value, as a JSON cell.
    Json,
}

pub(crate) fn run(args: &SqlArgs, format: OutputFormat) -> anyhow::Result<ExitCode> {
    let cwd = std::env::current_dir()?;
    let root = actionbench_pipeline::find_project_root(&cwd)?;
    let session =
        actionbench_sql::SqlSession::open_with(&root, None, args.remote).context("Cannot open the project's tables")?;
    let batches = match session.query(&args.query) {
        Ok(b) => b,
        Err(e) => {
            // The message, the query with a caret under the position, the hint.
            let mut failure = actionbench_core::Failure::from_error(&e, &|e| {
                e.downcast_ref::<actionbench_sql::Error>().map(|e| e as &dyn actionbench_core::Diagnose)
            });
            if let Some(pointer) = e.pointer(&args.query) {
                failure.message = format!("{}\n\n{pointer}", failure.message);
            }
            super::print_failure(&failure);
            return Ok(ExitCode::from(1));
        }
    };
    let text = match format {
        OutputFormat::Table => actionbench_sql::render_table(&batches)?,
        OutputFormat::Csv => actionbench_sql::render_csv_with(
            &batches,
            match args.tensors {
                TensorCells::Summary => actionbench_sql::NestedCells::Summary,
                TensorCells::Json => actionbench_sql::NestedCells::Json,
            },
        )?,
        OutputFormat::Json => actionbench_sql::render_json(&batches)?,
    };
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", text.trim_end())?;
    Ok(ExitCode::SUCCESS)
}
