//! The `metrics` (long format, `actionbench_shards::metrics_schema()`) and
//! `runs` tables a training stage writes, as shard directories so
//! `actionbench sql` sees them.

use std::path::Path;
use std::sync::Arc;

use actionbench_shards::{ShardWriter, ShardWriterOptions};
use arrow::array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};

use crate::error::Result;
use crate::trainer::MetricRow;

/// Who wrote a table: run id (the stage key), pipeline and stage.
#[derive(Debug, Clone)]
pub struct RunIdentity {
    /// The stage key (hex).
    pub run_id: String,
    /// Pipeline name.
    pub pipeline: String,
    /// Stage name.
    pub stage: String,
}

fn write_table(dir: &Path, batch: RecordBatch, key: &str) -> Result<()> {
    let options = ShardWriterOptions { stage_key: Some(key.to_string()), ..Default::default() };
    let mut writer = ShardWriter::new(dir, batch.schema(), options)?;
    writer.write(&batch)?;
    writer.finish()?;
    Ok(())
}

/// Writes `rows` as the `metrics` table in `dir`.
pub fn write_metrics(dir: &Path, who: &RunIdentity, rows: &[MetricRow]) -> Result<()> {
    let rows: Vec<_> = rows.iter().map(|r| (r.split.as_str(), r.metric.as_str(), r.value, r.step)).collect();
    let batch = actionbench_shards::metrics_batch(&who.run_id, &who.pipeline, &who.stage, &rows)?;
    write_table(dir, batch, &who.run_id)
}

/// One row of the `runs` table.
#[derive(Debug, Clone)]
pub struct RunRow {
    /// Model kind (`stgcn`, `lart`).
    pub model: String,
    /// The full config as JSON.
    pub config: String,
    /// blake3 of `config`.
    pub config_hash: String,
    /// Content hashes of the inputs (`@stage=key` / `path=hash`, `;`-separated).
    pub data_hashes: String,
    /// Hash of the sample ids in the order they were fed ([`crate::trainer::chain_order`]).
    pub data_order: String,
    /// `cpu` or `cuda`.
    pub device: String,
    /// Burn version and backend, e.g. `burn 0.21.0 ndarray`.
    pub backend: String,
    /// Seed.
    pub seed: u64,
    /// Optimiser steps.
    pub steps: u64,
    /// Trainable parameters.
    pub parameters: u64,
    /// Step resumed from, if any.
    pub resumed_from: Option<u64>,
    /// Mean training loss of the last epoch.
    pub final_loss: f64,
    /// Wall-clock seconds of this process's part of the run.
    pub seconds: f64,
}

/// Writes the one-row `runs` table in `dir`.
pub fn write_runs(dir: &Path, who: &RunIdentity, row: &RunRow) -> Result<()> {
    let s = |n: &str| Field::new(n, DataType::Utf8, false);
    let i = |n: &str, null: bool| Field::new(n, DataType::Int64, null);
    let schema = Arc::new(Schema::new(vec![
        s("run_id"),
        s("pipeline"),
        s("stage"),
        s("model"),
        s("config"),
        s("config_hash"),
        s("data_hashes"),
        s("data_order"),
        s("device"),
        s("backend"),
        i("seed", false),
        i("steps", false),
        i("parameters", false),
        i("resumed_from", true),
        Field::new("final_loss", DataType::Float64, true),
        Field::new("seconds", DataType::Float64, false),
    ]));
    let text = |v: &str| -> ArrayRef { Arc::new(StringArray::from(vec![v])) };
    let int = |v: Option<u64>| -> ArrayRef { Arc::new(Int64Array::from(vec![v.map(|v| v as i64)])) };
    let batch = RecordBatch::try_new(
        schema,
        vec![
            text(&who.run_id),
            text(&who.pipeline),
            text(&who.stage),
            text(&row.model),
            text(&row.config),
            text(&row.config_hash),
            text(&row.data_hashes),
            text(&row.data_order),
            text(&row.device),
            text(&row.backend),
            int(Some(row.seed)),
            int(Some(row.steps)),
            int(Some(row.parameters)),
            int(row.resumed_from),
            Arc::new(Float64Array::from(vec![row.final_loss.is_finite().then_some(row.final_loss)])),
            Arc::new(Float64Array::from(vec![row.seconds])),
        ],
    )?;
    write_table(dir, batch, &who.run_id)
}
