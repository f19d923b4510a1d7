//! `actionbench.runs` (one row per recorded stage run, from the cache's run
//! records) and `actionbench.run_metrics` (the `metrics` tables of those
//! runs, whether or not a lock file still points at them): what
//! `actionbench exp show` prints.

use std::collections::HashSet;
use std::sync::Arc;

use actionbench_pipeline::{ProjectCatalog, RunRecord, StageRef, TableFormat};
use actionbench_shards::{ShardIndex, VerifiedShards};
use arrow::array::{ArrayRef, BooleanArray, Float64Array, RecordBatch, StringArray, UInt64Array};
use arrow::datatypes::{DataType, Field, Schema};

use crate::error::{Error, Result};
use crate::session::SqlSession;

/// The columns of `actionbench.runs`, in order.
pub const RUN_COLUMNS: [&str; 14] = [
    "pipeline",
    "stage",
    "stage_table",
    "kind",
    "key",
    "outcome",
    "finished",
    "finished_ms",
    "seconds",
    "current",
    "overrides",
    "matrix",
    "params",
    "definition",
];

fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

impl SqlSession {
    /// Registers `actionbench.runs` and `actionbench.run_metrics`.
    pub(crate) fn register_runs(&mut self, project: &ProjectCatalog, verified: &mut VerifiedShards) -> Result<()> {
        let runs = RunRecord::list(project.cache(), None)?;
        let mut current = HashSet::new();
        for pipeline in project.pipelines()? {
            for stage in project.stages(&pipeline)? {
                current.insert((pipeline.clone(), stage.stage, stage.key));
            }
        }
        let text = |f: &dyn Fn(&RunRecord) -> String| -> ArrayRef {
            Arc::new(StringArray::from(runs.iter().map(f).collect::<Vec<_>>()))
        };
        let mut fields: Vec<Field> = RUN_COLUMNS.iter().map(|n| Field::new(*n, DataType::Utf8, false)).collect();
        fields[7] = Field::new("finished_ms", DataType::UInt64, false);
        fields[8] = Field::new("seconds", DataType::Float64, false);
        fields[9] = Field::new("current", DataType::Boolean, false);
        let columns: Vec<ArrayRef> = vec![
            text(&|r| r.pipeline.clone()),
            text(&|r| r.stage.clone()),
            text(&|r| r.table.clone()),
            text(&|r| r.definition.kind.clone()),
            text(&|r| r.key.to_hex()),
            text(&|r| r.outcome.clone()),
            text(&|r| r.finished_text()),
            Arc::new(UInt64Array::from(runs.iter().map(|r| r.finished_ms).collect::<Vec<_>>())),
            Arc::new(Float64Array::from(runs.iter().map(|r| r.seconds).collect::<Vec<_>>())),
            Arc::new(BooleanArray::from(
                runs.iter()
                    .map(|r| current.contains(&(r.pipeline.clone(), r.stage.clone(), r.key)))
                    .collect::<Vec<_>>(),
            )),
            text(&|r| json(&r.overrides)),
            text(&|r| json(&r.matrix)),
            text(&|r| json(&r.definition.params)),
            text(&|r| json(&r.definition)),
        ];
        let batch =
            RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).map_err(|e| Error::Output(e.to_string()))?;
        self.register_memory("runs", batch)?;

        let mut batches = Vec::new();
        let mut seen = HashSet::new();
        for r in &runs {
            let stage = if r.definition.kind == "cmd" {
                // A command stage's outs are project files each run replaces:
                // only the current run's (`log_metrics` in its script).
                if !current.contains(&(r.pipeline.clone(), r.stage.clone(), r.key)) || !seen.insert(r.key) {
                    continue;
                }
                match project.stage(&r.pipeline, &r.stage)? {
                    Some(s) if s.key == r.key => s,
                    _ => continue,
                }
            } else {
                let dir = project.cache().stage_dir(&r.key);
                if !seen.insert(r.key) || !dir.is_dir() {
                    continue;
                }
                StageRef {
                    pipeline: r.pipeline.clone(),
                    stage: r.stage.clone(),
                    kind: r.definition.kind.clone(),
                    key: r.key,
                    outputs: vec![dir],
                }
            };
            for table in project.tables_of(&stage) {
                if table.format != TableFormat::Shards || !table.name.ends_with("_metrics") {
                    continue;
                }
                let index = ShardIndex::read(&table.path)?;
                verified.check(&table.path, &index)?;
                for batch in self.read_parquet_dir(&table.path)? {
                    // DataFusion reads text as `Utf8View`: cast back to the
                    // table's declared schema.
                    let schema = actionbench_shards::metrics_schema();
                    let bad = |e: arrow::error::ArrowError| Error::Output(format!("{}: {e}", table.path.display()));
                    let columns = schema
                        .fields()
                        .iter()
                        .zip(batch.columns())
                        .map(|(f, c)| arrow::compute::cast(c, f.data_type()).map_err(bad))
                        .collect::<Result<Vec<_>>>()?;
                    batches.push(RecordBatch::try_new(schema, columns).map_err(bad)?);
                }
            }
        }
        let schema = actionbench_shards::metrics_schema();
        let batch = if batches.is_empty() {
            RecordBatch::new_empty(schema)
        } else {
            arrow::compute::concat_batches(&schema, &batches).map_err(|e| Error::Output(e.to_string()))?
        };
        self.register_memory("run_metrics", batch)
    }
}
