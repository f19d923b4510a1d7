use std::path::Path;

use arrow::array::RecordBatch;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::error::{Error, Result};
use crate::index::{ShardIndex, WrittenShard, read_verified};

/// Reads one shard after checking its size and blake3 against the index.
pub fn read_shard(dir: &Path, shard: &WrittenShard) -> Result<Vec<RecordBatch>> {
    let path = dir.join(&shard.file);
    let bytes = bytes::Bytes::from(read_verified(dir, shard)?);
    let reader = ParquetRecordBatchReaderBuilder::try_new(bytes)
        .and_then(|b| b.build())
        .map_err(|source| Error::Parquet { path: path.clone(), source })?;
    reader
        .collect::<Result<Vec<_>, _>>()
        .map_err(|source| Error::Arrow { context: format!("Reading `{}`", path.display()), source })
}

/// Reads every shard of a directory, in order, verifying each.
pub fn read_all(dir: &Path) -> Result<Vec<RecordBatch>> {
    let index = ShardIndex::read(dir)?;
    let mut out = Vec::new();
    for shard in &index.shards {
        out.extend(read_shard(dir, shard)?);
    }
    Ok(out)
}

/// Reads only `columns` (those the shard has) of one shard, after checking
/// its size and blake3: what a reader of a few id columns needs, without
/// decoding the tensors beside them.
pub fn read_shard_columns(dir: &Path, shard: &WrittenShard, columns: &[&str]) -> Result<Vec<RecordBatch>> {
    let path = dir.join(&shard.file);
    let bytes = bytes::Bytes::from(read_verified(dir, shard)?);
    let builder = ParquetRecordBatchReaderBuilder::try_new(bytes)
        .map_err(|source| Error::Parquet { path: path.clone(), source })?;
    let schema = builder.parquet_schema();
    let wanted: Vec<usize> = builder
        .schema()
        .fields()
        .iter()
        .enumerate()
        .filter(|(_, f)| columns.contains(&f.name().as_str()))
        .map(|(i, _)| i)
        .collect();
    let mask = parquet::arrow::ProjectionMask::roots(schema, wanted);
    let reader =
        builder.with_projection(mask).build().map_err(|source| Error::Parquet { path: path.clone(), source })?;
    reader
        .collect::<Result<Vec<_>, _>>()
        .map_err(|source| Error::Arrow { context: format!("Reading `{}`", path.display()), source })
}
