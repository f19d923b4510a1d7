use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use actionbench_core::HashingWriter;
use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{DataType, Int32Type, Int64Type, Schema, SchemaRef, UInt32Type, UInt64Type};
use parquet::arrow::ArrowSchemaConverter;
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_writer::{ArrowColumnChunk, ArrowColumnWriter, ArrowRowGroupWriterFactory, compute_leaves};
use parquet::basic::{Compression, LogicalType, Type as PhysicalType, ZstdLevel};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::{EnabledStatistics, WriterProperties, WriterPropertiesBuilder};
use parquet::file::writer::SerializedFileWriter;
use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::index::{ShardIndex, WrittenShard};

/// The `created_by` written into every shard: fixed, so a new version of the
/// parquet crate does not change the bytes of the same data.
pub const CREATED_BY: &str = "actionbench";
/// Key-value metadata key holding the producing stage key.
pub const STAGE_KEY_METADATA: &str = "actionbench.stage_key";

/// How shards are cut and encoded.
#[derive(Debug, Clone)]
pub struct ShardWriterOptions {
    /// Rows per Parquet file (the last one may have fewer).
    pub target_rows: usize,
    /// Rows per row group: the unit a loader reads at once.
    pub row_group_rows: usize,
    /// zstd level (1–22).
    pub zstd_level: i32,
    /// Key of the producing stage, stored in each file's metadata.
    pub stage_key: Option<String>,
    /// Column whose min/max per shard go into the index.
    pub key_column: Option<String>,
    /// File names are `{prefix}-{n:05}.parquet`.
    pub file_prefix: String,
}

impl Default for ShardWriterOptions {
    fn default() -> Self {
        Self {
            target_rows: 10_000,
            row_group_rows: 1024,
            zstd_level: 3,
            stage_key: None,
            key_column: None,
            file_prefix: "part".into(),
        }
    }
}

type ShardFile = HashingWriter<BufWriter<File>>;

struct OpenShard {
    writer: SerializedFileWriter<ShardFile>,
    factory: ArrowRowGroupWriterFactory,
    leaves_per_field: Arc<[usize]>,
    /// Column writers of the row group being filled, grouped by top-level
    /// field; rows are encoded (and pages compressed) as they arrive.
    group: Option<Vec<Vec<ArrowColumnWriter>>>,
    group_rows: usize,
    row_groups: usize,
    file: String,
    rows: u64,
    key_min: Option<String>,
    key_max: Option<String>,
}

/// Writes record batches into size-bounded, deterministic Parquet shards
/// plus a shard index. Rows are written in the order given; the bytes are a
/// function of the batches written (rows and how they are split into
/// `write` calls, since pages are cut as rows arrive), never of the thread
/// count.
pub struct ShardWriter {
    dir: PathBuf,
    schema: SchemaRef,
    options: ShardWriterOptions,
    properties: WriterProperties,
    /// Parquet leaf columns of each top-level field, in schema order.
    leaves_per_field: Arc<[usize]>,
    open: Option<OpenShard>,
    shards: Vec<WrittenShard>,
    rows: u64,
}

impl ShardWriter {
    /// Starts writing shards of `schema` into `dir` (created if needed).
    pub fn new(dir: &Path, schema: SchemaRef, options: ShardWriterOptions) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|source| Error::Io { path: dir.to_path_buf(), source })?;
        let level = ZstdLevel::try_new(options.zstd_level)
            .map_err(|source| Error::Parquet { path: dir.to_path_buf(), source })?;
        let mut builder = WriterProperties::builder()
            .set_created_by(CREATED_BY.to_string())
            .set_compression(Compression::ZSTD(level))
            .set_max_row_group_row_count(Some(options.row_group_rows.max(1)))
            // Min/max per column chunk is what readers prune on; page-level
            // statistics on tensor payloads only cost time.
            .set_statistics_enabled(EnabledStatistics::Chunk);
        builder = without_dictionary_for_payloads(builder, &schema)
            .map_err(|source| Error::Parquet { path: dir.to_path_buf(), source })?;
        if let Some(key) = &options.stage_key {
            builder = builder.set_key_value_metadata(Some(vec![KeyValue::new(STAGE_KEY_METADATA.into(), key.clone())]));
        }
        let leaves_per_field = schema
            .fields()
            .iter()
            .map(|f| ArrowSchemaConverter::new().convert(&Schema::new(vec![f.clone()])).map(|d| d.num_columns()))
            .collect::<parquet::errors::Result<_>>()
            .map_err(|source| Error::Parquet { path: dir.to_path_buf(), source })?;
        Ok(Self {
            dir: dir.to_path_buf(),
            schema,
            options,
            properties: builder.build(),
            leaves_per_field,
            open: None,
            shards: Vec::new(),
            rows: 0,
        })
    }

    /// Appends a batch (split across shard boundaries as needed).
    pub fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        if batch.schema().fields() != self.schema.fields() {
            return Err(Error::SchemaMismatch {
                expected: format!("{:?}", self.schema.fields()),
                found: format!("{:?}", batch.schema().fields()),
            });
        }
        let mut offset = 0;
        while offset < batch.num_rows() {
            let target = self.options.target_rows.max(1);
            let room = target - self.ensure_open()?.rows as usize;
            let take = room.min(batch.num_rows() - offset);
            let slice = batch.slice(offset, take);
            let (min, max) = key_range(&slice, self.options.key_column.as_deref());
            let row_group_rows = self.options.row_group_rows.max(1);
            let open = self.open.as_mut().expect("opened above");
            open.rows += take as u64;
            open.key_min = match (open.key_min.take(), min) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            open.key_max = match (open.key_max.take(), max) {
                (Some(a), Some(b)) => Some(a.max(b)),
                (a, b) => a.or(b),
            };
            offset += take;
            // Row groups are cut at `row_group_rows` inside the slice too.
            let mut at = 0;
            while at < slice.num_rows() {
                let n = (row_group_rows - open.group_rows).min(slice.num_rows() - at);
                open.encode(&slice.slice(at, n), &self.dir)?;
                open.group_rows += n;
                at += n;
                if open.group_rows == row_group_rows {
                    open.flush_row_group(&self.dir)?;
                }
            }
            if open.rows as usize >= self.options.target_rows.max(1) {
                self.close_open()?;
            }
        }
        Ok(())
    }

    fn ensure_open(&mut self) -> Result<&mut OpenShard> {
        if self.open.is_none() {
            let file = format!("{}-{:05}.parquet", self.options.file_prefix, self.shards.len());
            let path = self.dir.join(&file);
            let file_handle = File::create(&path).map_err(|source| Error::Io { path: path.clone(), source })?;
            let handle = HashingWriter::new(BufWriter::with_capacity(1 << 20, file_handle));
            // ArrowWriter embeds the Arrow schema (extension types included)
            // in the footer; its lower-level halves let columns encode in
            // parallel.
            let (writer, factory) = ArrowWriter::try_new(handle, self.schema.clone(), Some(self.properties.clone()))
                .and_then(ArrowWriter::into_serialized_writer)
                .map_err(|source| Error::Parquet { path, source })?;
            self.open = Some(OpenShard {
                writer,
                factory,
                leaves_per_field: self.leaves_per_field.clone(),
                group: None,
                group_rows: 0,
                row_groups: 0,
                file,
                rows: 0,
                key_min: None,
                key_max: None,
            });
        }
        Ok(self.open.as_mut().expect("just opened"))
    }

    fn close_open(&mut self) -> Result<()> {
        let Some(mut open) = self.open.take() else { return Ok(()) };
        open.flush_row_group(&self.dir)?;
        let path = self.dir.join(&open.file);
        let hashing = open.writer.into_inner().map_err(|source| Error::Parquet { path: path.clone(), source })?;
        // The checksum is taken of the bytes as they are written, so the file
        // is not read back.
        let (mut buffered, blake3, bytes) = hashing.finish();
        buffered.flush().map_err(|source| Error::Io { path: path.clone(), source })?;
        self.shards.push(WrittenShard {
            file: open.file,
            rows: open.rows,
            bytes,
            blake3,
            first_row: self.rows,
            key_min: open.key_min,
            key_max: open.key_max,
        });
        self.rows += open.rows;
        Ok(())
    }

    /// Closes the last shard and writes the index. A table with no rows
    /// still gets one (empty) shard, so its schema is on disk.
    pub fn finish(mut self) -> Result<ShardIndex> {
        if self.shards.is_empty() && self.open.is_none() {
            self.ensure_open()?;
        }
        self.close_open()?;
        let index = ShardIndex::new(self.options.stage_key.clone(), self.options.key_column.clone(), self.shards);
        index.write(&self.dir)?;
        Ok(index)
    }
}

impl OpenShard {
    /// Encodes `batch` into the open row group's column writers, each
    /// top-level field on its own rayon task (tensor tables have several
    /// heavy columns). Encoding as rows arrive lets a stage parse the next
    /// samples while these are compressed. The bytes depend only on the
    /// sequence of batches written, not on the thread count.
    fn encode(&mut self, batch: &RecordBatch, dir: &Path) -> Result<()> {
        let path = dir.join(&self.file);
        let parquet_err = |source| Error::Parquet { path: path.clone(), source };
        let schema = batch.schema();
        if self.group.is_none() {
            let mut writers = self.factory.create_column_writers(self.row_groups).map_err(parquet_err)?;
            let mut per_field = Vec::with_capacity(self.leaves_per_field.len());
            for &leaves in self.leaves_per_field.iter() {
                let rest = writers.split_off(leaves.min(writers.len()));
                per_field.push(std::mem::replace(&mut writers, rest));
            }
            self.group = Some(per_field);
        }
        let group = self.group.as_mut().expect("created above");
        group
            .par_iter_mut()
            .zip(schema.fields().par_iter().zip(batch.columns()))
            .try_for_each(|(writers, (field, column))| {
                for (writer, leaf) in writers.iter_mut().zip(compute_leaves(field, column)?) {
                    writer.write(&leaf)?;
                }
                Ok(())
            })
            .map_err(parquet_err)
    }

    /// Closes the open row group (the last pages are compressed per field
    /// in parallel) and appends its column chunks in schema order.
    fn flush_row_group(&mut self, dir: &Path) -> Result<()> {
        let Some(group) = self.group.take() else { return Ok(()) };
        self.group_rows = 0;
        let path = dir.join(&self.file);
        let parquet_err = |source| Error::Parquet { path: path.clone(), source };
        let chunks: Vec<Vec<ArrowColumnChunk>> = group
            .into_par_iter()
            .map(|writers| writers.into_iter().map(ArrowColumnWriter::close).collect())
            .collect::<parquet::errors::Result<_>>()
            .map_err(parquet_err)?;
        let mut row_group = self.writer.next_row_group().map_err(parquet_err)?;
        for chunk in chunks.into_iter().flatten() {
            chunk.append_to_row_group(&mut row_group).map_err(parquet_err)?;
        }
        row_group.close().map_err(parquet_err)?;
        self.row_groups += 1;
        Ok(())
    }
}

/// Turns dictionary encoding and statistics off for float leaves and raw
/// binary leaves (tensor payloads, encoded images): their values almost
/// never repeat, so the writer would build a dictionary only to throw it
/// away, and min/max of a tensor's elements prunes nothing. Strings and
/// integers (ids, labels, split names) keep both.
fn without_dictionary_for_payloads(
    mut builder: WriterPropertiesBuilder,
    schema: &SchemaRef,
) -> parquet::errors::Result<WriterPropertiesBuilder> {
    let descriptor = ArrowSchemaConverter::new().convert(schema)?;
    for column in descriptor.columns() {
        let payload = match column.physical_type() {
            PhysicalType::FLOAT | PhysicalType::DOUBLE => true,
            PhysicalType::BYTE_ARRAY => !matches!(column.logical_type_ref(), Some(LogicalType::String)),
            _ => false,
        };
        if payload {
            builder = builder
                .set_column_dictionary_enabled(column.path().clone(), false)
                .set_column_statistics_enabled(column.path().clone(), EnabledStatistics::None);
        }
    }
    Ok(builder)
}

/// Text min/max of the key column (strings and integers; other types: none).
fn key_range(batch: &RecordBatch, column: Option<&str>) -> (Option<String>, Option<String>) {
    let Some(col) = column.and_then(|c| batch.column_by_name(c)) else { return (None, None) };
    let col: Arc<dyn Array> = col.clone();
    macro_rules! prim {
        ($t:ty) => {{
            let a = col.as_primitive::<$t>();
            let vals = a.iter().flatten();
            let (mut lo, mut hi) = (None, None);
            for v in vals {
                lo = Some(lo.map_or(v, |l: <$t as arrow::datatypes::ArrowPrimitiveType>::Native| l.min(v)));
                hi = Some(hi.map_or(v, |h: <$t as arrow::datatypes::ArrowPrimitiveType>::Native| h.max(v)));
            }
            (lo.map(|v| v.to_string()), hi.map(|v| v.to_string()))
        }};
    }
    match col.data_type() {
        DataType::Utf8 => {
            let a = col.as_string::<i32>();
            (a.iter().flatten().min().map(str::to_string), a.iter().flatten().max().map(str::to_string))
        }
        DataType::Int32 => prim!(Int32Type),
        DataType::Int64 => prim!(Int64Type),
        DataType::UInt32 => prim!(UInt32Type),
        DataType::UInt64 => prim!(UInt64Type),
        _ => (None, None),
    }
}
