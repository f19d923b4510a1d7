//! `shard.parquet`: (re)writes a table as Parquet shards with a chosen
//! layout — rows sorted by a key, a target shard size, row-group size and
//! zstd level — so loaders and SQL read it efficiently. Its input is the
//! output of another stage (a shard directory, checked against its index)
//! or Parquet/CSV files.
//!
//! The whole table is sorted in memory; tables larger than memory should be
//! sharded by the ingest stage that produces them.

use std::error::Error;
use std::path::Path;
use std::sync::Arc;

use actionbench_pipeline::{ParamError, ResolvedInput, StageContext, StageError, StageKind};
use actionbench_shards::{INDEX_FILE, ShardWriterOptions, read_all};
use arrow::array::RecordBatch;
use arrow::compute::{SortColumn, SortOptions, concat_batches, lexsort_to_indices, take_record_batch};
use arrow::datatypes::SchemaRef;
use serde::{Deserialize, Serialize};

use crate::ingest::StageWriter;

/// Params of `shard.parquet`.
#[derive(Debug, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ShardParquetParams {
    /// Rows per shard file.
    #[serde(default = "default_target_rows")]
    target_rows: usize,
    /// Rows per row group.
    #[serde(default = "default_row_group_rows")]
    row_group_rows: usize,
    /// zstd level, 1–22.
    #[serde(default = "default_zstd_level")]
    zstd_level: i32,
    /// Columns to sort rows by (in order); empty keeps the input order.
    #[serde(default)]
    sort_by: Vec<String>,
}

fn default_target_rows() -> usize {
    10_000
}
fn default_row_group_rows() -> usize {
    1024
}
fn default_zstd_level() -> i32 {
    3
}

/// The `shard.parquet` kind.
pub struct ShardParquet;

fn read_csv(path: &Path) -> Result<Vec<RecordBatch>, Box<dyn Error + Send + Sync>> {
    let format = arrow::csv::reader::Format::default().with_header(true);
    let mut file = std::fs::File::open(path).map_err(|e| format!("`{}`: {e}", path.display()))?;
    let (schema, _) = format.infer_schema(&mut file, Some(1000)).map_err(|e| format!("`{}`: {e}", path.display()))?;
    let file = std::fs::File::open(path)?;
    let reader = arrow::csv::ReaderBuilder::new(Arc::new(schema)).with_format(format).build(file)?;
    Ok(reader.collect::<Result<Vec<_>, _>>().map_err(|e| format!("`{}`: {e}", path.display()))?)
}

fn read_parquet_file(path: &Path) -> Result<Vec<RecordBatch>, Box<dyn Error + Send + Sync>> {
    let file = std::fs::File::open(path).map_err(|e| format!("`{}`: {e}", path.display()))?;
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
        .and_then(|b| b.build())
        .map_err(|e| format!("`{}`: {e}", path.display()))?;
    Ok(reader.collect::<Result<Vec<_>, _>>()?)
}

impl StageKind for ShardParquet {
    fn name(&self) -> &'static str {
        "shard.parquet"
    }

    fn implementation_version(&self) -> u32 {
        1
    }
    fn description(&self) -> &'static str {
        "(Re)writes a table as Parquet shards with a chosen layout — rows sorted by a key, a target shard size, row-group size and zstd level — so loaders and SQL read it efficiently. Its input is the output of another stage (a shard directory, checked against its index) or Parquet/CSV files."
    }

    type Params = ShardParquetParams;
    fn check(&self, p: &ShardParquetParams) -> Result<(), ParamError> {
        if p.target_rows == 0 || p.row_group_rows == 0 {
            return Err("`target-rows` and `row-group-rows` must be at least 1".into());
        }
        if !(1..=22).contains(&p.zstd_level) {
            return Err(format!("`zstd-level` must be between 1 and 22, not {}", p.zstd_level).into());
        }
        Ok(())
    }

    fn run(&self, ctx: &StageContext<'_>, p: &ShardParquetParams) -> Result<(), StageError> {
        let mut batches = Vec::new();
        for input in ctx.inputs {
            match input {
                ResolvedInput::Stage { stage, paths, .. } => {
                    for dir in paths {
                        if !dir.join(INDEX_FILE).is_file() {
                            return Err(format!(
                                "stage `{stage}` wrote no shard table (no `{INDEX_FILE}` in its output)"
                            )
                            .into());
                        }
                        batches.extend(read_all(dir)?);
                    }
                }
                ResolvedInput::Files { files, .. } => {
                    for f in files {
                        match f.path.extension().and_then(|e| e.to_str()) {
                            Some("parquet") => batches.extend(read_parquet_file(&f.path)?),
                            Some("csv") => batches.extend(read_csv(&f.path)?),
                            _ => return Err(format!("`{}` is neither Parquet nor CSV", f.display).into()),
                        }
                    }
                }
            }
        }
        let Some(first) = batches.first() else { return Err("no input rows: the inputs hold no table".into()) };
        let schema: SchemaRef = first.schema();
        let table = concat_batches(&schema, &batches).map_err(|e| format!("inputs do not share one schema: {e}"))?;
        let table = if p.sort_by.is_empty() {
            table
        } else {
            let mut columns = Vec::new();
            for name in &p.sort_by {
                let values = table.column_by_name(name).ok_or_else(|| {
                    let known: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
                    format!(
                        "`sort-by` names column `{name}`, which the table does not have (columns: {})",
                        known.join(", ")
                    )
                })?;
                columns.push(SortColumn { values: values.clone(), options: Some(SortOptions::default()) });
            }
            let order = lexsort_to_indices(&columns, None)?;
            take_record_batch(&table, &order)?
        };
        let options = ShardWriterOptions {
            target_rows: p.target_rows,
            row_group_rows: p.row_group_rows,
            zstd_level: p.zstd_level,
            stage_key: Some(ctx.key.to_hex()),
            key_column: p.sort_by.first().cloned(),
            ..Default::default()
        };
        let mut writer = StageWriter::new(ctx, ctx.out_dir, schema, options)?;
        let step = p.target_rows.max(1);
        let mut offset = 0;
        while offset < table.num_rows() {
            let n = step.min(table.num_rows() - offset);
            writer.write(&table.slice(offset, n))?;
            offset += n;
            ctx.progress(offset as u64, Some(table.num_rows() as u64));
        }
        writer.finish()?;
        Ok(())
    }
}
