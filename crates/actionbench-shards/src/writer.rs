use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use actionbench_core::Fingerprint;
use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{DataType, Int32Type, Int64Type, SchemaRef, UInt32Type, UInt64Type};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;

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

struct OpenShard {
    writer: ArrowWriter<File>,
    file: String,
    rows: u64,
    key_min: Option<String>,
    key_max: Option<String>,
}

/// Writes record batches into size-bounded, deterministic Parquet shards
/// plus a shard index. Rows are written in the order given.
pub struct ShardWriter {
    dir: PathBuf,
    schema: SchemaRef,
    options: ShardWriterOptions,
    properties: WriterProperties,
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
            .set_max_row_group_row_count(Some(options.row_group_rows.max(1)));
        if let Some(key) = &options.stage_key {
            builder = builder.set_key_value_metadata(Some(vec![KeyValue::new(STAGE_KEY_METADATA.into(), key.clone())]));
        }
        Ok(Self {
            dir: dir.to_path_buf(),
            schema,
            options,
            properties: builder.build(),
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
            let open = self.open.as_mut().expect("opened above");
            let path = self.dir.join(&open.file);
            open.writer.write(&slice).map_err(|source| Error::Parquet { path, source })?;
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
            let handle = File::create(&path).map_err(|source| Error::Io { path: path.clone(), source })?;
            let writer = ArrowWriter::try_new(handle, self.schema.clone(), Some(self.properties.clone()))
                .map_err(|source| Error::Parquet { path, source })?;
            self.open = Some(OpenShard { writer, file, rows: 0, key_min: None, key_max: None });
        }
        Ok(self.open.as_mut().expect("just opened"))
    }

    fn close_open(&mut self) -> Result<()> {
        let Some(open) = self.open.take() else { return Ok(()) };
        let path = self.dir.join(&open.file);
        open.writer.close().map_err(|source| Error::Parquet { path: path.clone(), source })?;
        let bytes = std::fs::read(&path).map_err(|source| Error::Io { path: path.clone(), source })?;
        self.shards.push(WrittenShard {
            file: open.file,
            rows: open.rows,
            bytes: bytes.len() as u64,
            blake3: Fingerprint::of_bytes(&bytes),
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
