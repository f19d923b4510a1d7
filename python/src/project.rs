//! `Project.run/status/sql/table`: the command line's engine and SQL
//! session, with the project root given instead of the working directory.

use std::path::{Path, PathBuf};

use actionbench_core::Diagnostic;
use actionbench_core::suggest::did_you_mean;
use actionbench_pipeline::{ProjectCatalog, TableFormat, TableRef};
use actionbench_shards::{ShardIndex, VerifiedShards};
use pyo3::prelude::*;

use crate::error::{embed_err, py_err};
use crate::stream::ArrowStream;

/// `actionbench run PIPELINE STAGES…` in `root`: the stage reports as JSON.
#[pyfunction]
#[pyo3(signature = (root, pipeline, stages, force=false, overrides=Vec::new()))]
pub(crate) fn run(
    py: Python<'_>,
    root: PathBuf,
    pipeline: String,
    stages: Vec<String>,
    force: bool,
    overrides: Vec<String>,
) -> PyResult<String> {
    let out = py.detach(|| actionbench_cli::embed::run(&root, &pipeline, &stages, force, &overrides));
    out.map(|v| v.to_string()).map_err(|e| embed_err(py, e))
}

/// `actionbench status PIPELINE STAGES… --format json` in `root`.
#[pyfunction]
#[pyo3(signature = (root, pipeline, stages=Vec::new()))]
pub(crate) fn status(py: Python<'_>, root: PathBuf, pipeline: String, stages: Vec<String>) -> PyResult<String> {
    let out = py.detach(|| actionbench_cli::embed::status(&root, &pipeline, &stages));
    out.map(|v| v.to_string()).map_err(|e| embed_err(py, e))
}

/// `actionbench sql QUERY` in `root`: the result as an Arrow stream.
#[pyfunction]
pub(crate) fn sql(py: Python<'_>, root: PathBuf, query: String) -> PyResult<ArrowStream> {
    let out = py.detach(|| -> anyhow::Result<_> {
        let session = actionbench_sql::SqlSession::open(&root, None)?;
        let (schema, batches) = session.query_with_schema(&query)?;
        Ok((schema, batches))
    });
    let (schema, batches) = out.map_err(|e| py_err(py, e))?;
    Ok(ArrowStream::new(schema, batches))
}

/// A table's format (`parquet`, `parquet-file`, `csv`) and files, the shards
/// checked against their index first (size, and blake3 when changed).
#[pyfunction]
pub(crate) fn table_files(py: Python<'_>, root: PathBuf, name: String) -> PyResult<(String, Vec<PathBuf>)> {
    let out = py.detach(|| -> anyhow::Result<_> {
        let table = resolve_table(&root, &name)?;
        let files = verified_files(&root, &table)?;
        Ok((table.format.name().to_string(), files))
    });
    out.map_err(|e| py_err(py, e))
}

/// The files of `table`: every shard of a shard directory (verified), or
/// the one Parquet or CSV file.
pub(crate) fn verified_files(root: &Path, table: &TableRef) -> anyhow::Result<Vec<PathBuf>> {
    if table.format != TableFormat::Shards {
        return Ok(vec![table.path.clone()]);
    }
    let catalog = ProjectCatalog::open(root, None)?;
    let index = ShardIndex::read(&table.path)?;
    let mut verified = VerifiedShards::load(&catalog.cache().state_file("sql-verified.json"));
    verified.check(&table.path, &index)?;
    verified.save();
    Ok(index.shards.iter().map(|s| table.path.join(&s.file)).collect())
}

/// `PIPELINE.TABLE` (the names `actionbench sql` shows: a stage, or
/// `STAGE_SUB` for a stage's sub-table such as `train@seed=0_metrics`).
pub(crate) fn resolve_table(root: &Path, name: &str) -> anyhow::Result<TableRef> {
    let catalog = ProjectCatalog::open(root, None)?;
    let pipelines = catalog.pipelines()?;
    let Some((pipeline, table)) = name.split_once('.') else {
        return Err(Diagnostic::hinted(
            format!("`{name}` does not name a table"),
            "name it `PIPELINE.TABLE`, e.g. `ntu60-xsub.skeletons`; `actionbench sql \"SELECT * FROM information_schema.tables\"` lists them",
        )
        .into());
    };
    if !pipelines.iter().any(|p| p == pipeline) {
        let hint = did_you_mean(pipeline, pipelines.iter().map(String::as_str)).unwrap_or_else(|| {
            format!(
                "run it first (`actionbench run {pipeline}`); pipelines that ran: {}",
                if pipelines.is_empty() { "none".to_string() } else { pipelines.join(", ") }
            )
        });
        return Err(
            Diagnostic::hinted(format!("pipeline `{pipeline}` has no lock file in {}", root.display()), hint).into()
        );
    }
    let mut tables = Vec::new();
    for stage in catalog.stages(pipeline)? {
        tables.extend(catalog.tables_of(&stage));
    }
    if let Some(t) = tables.iter().find(|t| t.name == table) {
        return Ok(t.clone());
    }
    let names: Vec<&str> = tables.iter().map(|t| t.name.as_str()).collect();
    let hint = did_you_mean(table, names.iter().copied())
        .unwrap_or_else(|| format!("the tables of `{pipeline}`: {}", names.join(", ")));
    Err(Diagnostic::hinted(format!("pipeline `{pipeline}` has no table `{table}`"), hint).into())
}
