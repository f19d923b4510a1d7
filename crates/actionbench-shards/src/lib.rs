//! Parquet shards: the storage format of every canonical table.
//!
//! A [`ShardWriter`] splits record batches (already in their final,
//! deterministic row order) into Parquet files of at most `target_rows`
//! rows, zstd-compressed, with a fixed `created_by` and the producing stage
//! key in the file's key-value metadata, so the same rows give
//! byte-identical files. It then writes a [`ShardIndex`] (`_index.json`:
//! rows, bytes, blake3 and key range of every shard). Readers verify each
//! file against the index before decoding it: a flipped bit is an error,
//! not a silently wrong number.
//!
//! Tensor columns use Arrow's canonical extension types
//! (`arrow.fixed_shape_tensor`, `arrow.variable_shape_tensor`) so pyarrow,
//! DuckDB and Polars read them; [`tensor`] builds them.

mod error;
mod index;
mod memo;
mod reader;
pub mod tensor;
mod writer;

pub use error::{Error, Result};
pub use index::{INDEX_FILE, ShardIndex, WrittenShard, read_verified};
pub use memo::VerifiedShards;
pub use reader::{read_all, read_shard, read_shard_columns};
pub use writer::{CREATED_BY, STAGE_KEY_METADATA, ShardWriter, ShardWriterOptions};

/// One row of a `metrics` table: split, metric, value, step (`None` for a
/// final value).
pub type MetricRecord<'a> = (&'a str, &'a str, Option<f64>, Option<i64>);

/// A batch of the `metrics` table ([`metrics_schema`]): `rows`, all from
/// run `run_id` (the stage key) of `stage` in `pipeline`. Evaluation and
/// training stages and Python's `log_metrics` all write through it.
pub fn metrics_batch(
    run_id: &str,
    pipeline: &str,
    stage: &str,
    rows: &[MetricRecord<'_>],
) -> std::result::Result<arrow::array::RecordBatch, arrow::error::ArrowError> {
    use arrow::array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
    use std::sync::Arc;
    let n = rows.len();
    let text = |v: &str| -> ArrayRef { Arc::new(StringArray::from(vec![v; n])) };
    RecordBatch::try_new(
        metrics_schema(),
        vec![
            text(run_id),
            text(pipeline),
            text(stage),
            Arc::new(StringArray::from(rows.iter().map(|r| r.0).collect::<Vec<_>>())),
            Arc::new(StringArray::from(rows.iter().map(|r| r.1).collect::<Vec<_>>())),
            Arc::new(Float64Array::from(rows.iter().map(|r| r.2).collect::<Vec<_>>())),
            Arc::new(Int64Array::from(rows.iter().map(|r| r.3).collect::<Vec<_>>())),
        ],
    )
}

/// Columns of the long-format `metrics` table that evaluation and training
/// stages write and `actionbench sql` gathers into `actionbench.metrics`:
/// `run_id, pipeline, stage, split, metric, value, step`.
pub fn metrics_schema() -> arrow::datatypes::SchemaRef {
    use arrow::datatypes::{DataType, Field, Schema};
    std::sync::Arc::new(Schema::new(vec![
        Field::new("run_id", DataType::Utf8, false),
        Field::new("pipeline", DataType::Utf8, false),
        Field::new("stage", DataType::Utf8, false),
        Field::new("split", DataType::Utf8, false),
        Field::new("metric", DataType::Utf8, false),
        Field::new("value", DataType::Float64, true),
        Field::new("step", DataType::Int64, true),
    ]))
}
