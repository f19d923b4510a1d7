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
