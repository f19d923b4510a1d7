//! `actionbench.log_metrics` inside a `cmd` stage: rows of the stage's
//! `metrics` table (the out the engine names in `ACTIONBENCH_METRICS_DIR`),
//! with the same columns as a `train` stage's, so SQL, `exp show` and the
//! leaderboard read a PyTorch run as they read a Burn one.

use std::path::PathBuf;
use std::sync::Mutex;

use actionbench_core::{Diagnostic, EnvVars};
use actionbench_shards::{ShardIndex, ShardWriter, ShardWriterOptions};
use pyo3::prelude::*;

use crate::error::py_err;

/// One logged value: split, metric, value, step.
type Row = (String, String, Option<f64>, Option<i64>);

/// Every row this process logged, and how many times the table was written.
static LOGGED: Mutex<(Vec<Row>, u64)> = Mutex::new((Vec::new(), 0));

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// Appends `rows` and rewrites the table: a new shard file, then the index
/// swapped in one rename, then the old file removed, so a script killed at
/// any moment leaves the previous complete table. Returns its directory.
#[pyfunction]
pub(crate) fn log_metrics(py: Python<'_>, rows: Vec<Row>) -> PyResult<PathBuf> {
    let (Some(pipeline), Some(stage), Some(key)) =
        (env(EnvVars::ACTIONBENCH_PIPELINE), env(EnvVars::ACTIONBENCH_STAGE), env(EnvVars::ACTIONBENCH_STAGE_KEY))
    else {
        return Err(py_err(
            py,
            Diagnostic::hinted(
                "`log_metrics` is called outside a pipeline stage (ACTIONBENCH_STAGE is not set)",
                "run the script as a `cmd` stage (`actionbench run PIPELINE`), whose `outs` include a `metrics` directory",
            ),
        ));
    };
    let Some(dir) = env(EnvVars::ACTIONBENCH_METRICS_DIR).map(PathBuf::from) else {
        return Err(py_err(
            py,
            Diagnostic::hinted(
                format!("stage `{stage}` of `{pipeline}` has no `metrics` out for `log_metrics` to write"),
                format!(
                    "add a directory named `metrics` to the stage's `outs`, e.g. `outs = [\"runs/{stage}/metrics\"]`"
                ),
            ),
        ));
    };
    let written = py.detach(|| -> anyhow::Result<()> {
        let mut logged = LOGGED.lock().map_err(|_| anyhow::anyhow!("an earlier log_metrics call panicked"))?;
        logged.0.extend(rows);
        logged.1 += 1;
        let (all, generation) = (&logged.0, logged.1);
        let rows: Vec<_> = all.iter().map(|r| (r.0.as_str(), r.1.as_str(), r.2, r.3)).collect();
        let batch = actionbench_shards::metrics_batch(&key, &pipeline, &stage, &rows)?;
        let options = ShardWriterOptions {
            stage_key: Some(key.clone()),
            file_prefix: format!("metrics-{generation:06}"),
            ..Default::default()
        };
        let mut writer = ShardWriter::new(&dir, batch.schema(), options)?;
        writer.write(&batch)?;
        let index: ShardIndex = writer.finish()?;
        for entry in std::fs::read_dir(&dir)? {
            let path = entry?.path();
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            if name.ends_with(".parquet") && !index.shards.iter().any(|s| s.file == name) {
                std::fs::remove_file(&path)?;
            }
        }
        Ok(())
    });
    written.map_err(|e| py_err(py, e))?;
    Ok(dir)
}
