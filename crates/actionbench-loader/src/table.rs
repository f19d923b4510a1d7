//! The rows a loader draws from: shard directories (checked against their
//! index) filtered by a `WHERE` clause, or the result of a SQL query.

use std::path::{Path, PathBuf};

use actionbench_shards::{ShardIndex, WrittenShard};
use arrow::array::{Array, AsArray, RecordBatch};
use arrow::compute::filter_record_batch;
use arrow::datatypes::{DataType, SchemaRef};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use rayon::prelude::*;

use crate::error::LoaderError;
use crate::filter::RowFilter;

/// Selected rows of a table, in table order, held as Arrow batches: decoding
/// to floats happens per sample in the loader's threads.
#[derive(Debug, Clone)]
pub struct Table {
    origin: String,
    batches: Vec<RecordBatch>,
    /// `starts[i]` = first row of `batches[i]`; one extra entry = total.
    starts: Vec<usize>,
}

/// Which shards, columns and rows to read.
#[derive(Debug, Clone, Default)]
pub struct TableSpec {
    /// Shard directories (each with an `_index.json`), read in order.
    pub dirs: Vec<PathBuf>,
    /// Columns to read (all when empty); the filter's columns are added.
    pub columns: Vec<String>,
    /// SQL `WHERE` clause, e.g. `xsub = 'train'`.
    pub filter: Option<String>,
}

impl TableSpec {
    /// The column names of the table, from the first shard's footer (no data
    /// read): what a source picks its columns from before `Table::open`.
    pub fn available_columns(&self) -> Result<Vec<String>, LoaderError> {
        for dir in &self.dirs {
            let index = ShardIndex::read(dir)?;
            if let Some(shard) = index.shards.first() {
                let path = dir.join(&shard.file);
                let file =
                    std::fs::File::open(&path).map_err(|source| LoaderError::Io { path: path.clone(), source })?;
                let builder = ParquetRecordBatchReaderBuilder::try_new(file)
                    .map_err(|source| LoaderError::Parquet { path: path.clone(), source })?;
                return Ok(builder.schema().fields().iter().map(|f| f.name().clone()).collect());
            }
        }
        Ok(Vec::new())
    }
}

impl Table {
    /// Reads `spec`: every shard is checked against its index (size and
    /// blake3) before decoding, shards are decoded in parallel, and only the
    /// rows passing the filter are kept.
    pub fn open(spec: &TableSpec) -> Result<Self, LoaderError> {
        let filter = spec.filter.as_deref().map(RowFilter::parse).transpose()?;
        let mut columns = spec.columns.clone();
        if !columns.is_empty()
            && let Some(f) = &filter
        {
            columns.extend(f.columns());
        }
        let mut jobs: Vec<(PathBuf, WrittenShard)> = Vec::new();
        for dir in &spec.dirs {
            let index = ShardIndex::read(dir)?;
            jobs.extend(index.shards.into_iter().map(|s| (dir.clone(), s)));
        }
        let parts = jobs
            .par_iter()
            .map(|(dir, shard)| read_shard(dir, shard, &columns, filter.as_ref()))
            .collect::<Result<Vec<_>, _>>()?;
        let origin = spec.dirs.iter().map(|d| d.display().to_string()).collect::<Vec<_>>().join(", ");
        Ok(Self::from_batches(parts.into_iter().flatten().collect(), origin))
    }

    /// The rows of `sql` run through `actionbench-sql` (any table of the
    /// project, any `WHERE`, joins with manifests…), e.g.
    /// `SELECT * FROM ntu.shard WHERE xsub = 'train' ORDER BY sample_id`.
    /// Add an `ORDER BY`: without one the row order is DataFusion's.
    #[cfg(feature = "sql")]
    pub fn from_sql(session: &actionbench_sql::SqlSession, sql: &str) -> Result<Self, LoaderError> {
        let batches = session.query(sql)?;
        Ok(Self::from_batches(batches, format!("query `{sql}`")))
    }

    /// Wraps batches already in memory (`origin` names them in errors).
    pub fn from_batches(batches: Vec<RecordBatch>, origin: impl Into<String>) -> Self {
        let batches: Vec<RecordBatch> = batches.into_iter().filter(|b| b.num_rows() > 0).collect();
        let mut starts = Vec::with_capacity(batches.len() + 1);
        let mut total = 0;
        for b in &batches {
            starts.push(total);
            total += b.num_rows();
        }
        starts.push(total);
        Self { origin: origin.into(), batches, starts }
    }

    /// Keeps the rows `keep` marks in each batch (a mask per batch, as
    /// long as the batch): e.g. the samples of a pinned manifest.
    pub fn select(
        &self,
        mut keep: impl FnMut(&RecordBatch) -> Result<arrow::array::BooleanArray, LoaderError>,
        what: &str,
    ) -> Result<Self, LoaderError> {
        let mut out = Vec::with_capacity(self.batches.len());
        for b in &self.batches {
            let mask = keep(b)?;
            out.push(
                filter_record_batch(b, &mask)
                    .map_err(|source| LoaderError::Arrow { context: "selecting rows".into(), source })?,
            );
        }
        Ok(Self::from_batches(out, format!("{} ({what})", self.origin)))
    }

    /// Keeps the rows passing `filter` (a `WHERE` clause).
    pub fn filter(&self, filter: &str) -> Result<Self, LoaderError> {
        let f = RowFilter::parse(filter)?;
        let batches = self.batches.iter().map(|b| apply(b, &f)).collect::<Result<Vec<_>, _>>()?;
        Ok(Self::from_batches(batches, format!("{} where {filter}", self.origin)))
    }

    /// Rows.
    pub fn len(&self) -> usize {
        *self.starts.last().expect("one entry at least")
    }

    /// Whether no row was selected.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Where the rows came from.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The schema (of the first batch), if any row was selected.
    pub fn schema(&self) -> Option<SchemaRef> {
        self.batches.first().map(|b| b.schema())
    }

    /// The batch holding row `i` and the row's position in it.
    pub fn locate(&self, i: usize) -> Option<(&RecordBatch, usize)> {
        if i >= self.len() {
            return None;
        }
        let b = self.starts.partition_point(|&s| s <= i) - 1;
        Some((&self.batches[b], i - self.starts[b]))
    }

    /// A string column's value at row `i` (ids, split names).
    pub fn string(&self, column: &str, i: usize) -> Result<String, LoaderError> {
        let (b, r) = self.locate(i).ok_or_else(|| self.out_of_range(i))?;
        let c = self.column(b, column)?;
        if let Some(s) = c.as_string_opt::<i32>() {
            return Ok(if s.is_null(r) { String::new() } else { s.value(r).to_string() });
        }
        let c = arrow::compute::cast(c.slice(r, 1).as_ref(), &DataType::Utf8)
            .map_err(|source| LoaderError::Arrow { context: format!("column `{column}` as text"), source })?;
        let s = c.as_string::<i32>();
        Ok(if s.is_null(0) { String::new() } else { s.value(0).to_string() })
    }

    /// An integer column's value at row `i` (`None` when null).
    pub fn int(&self, column: &str, i: usize) -> Result<Option<i64>, LoaderError> {
        let (b, r) = self.locate(i).ok_or_else(|| self.out_of_range(i))?;
        let c = self.column(b, column)?;
        let c = c.slice(r, 1);
        let c = arrow::compute::cast(c.as_ref(), &DataType::Int64).map_err(|_| LoaderError::Column {
            column: column.into(),
            message: format!("is {}, not an integer, in {}", c.data_type(), self.origin),
            hint: "name an integer column".into(),
        })?;
        let c = c.as_primitive::<arrow::datatypes::Int64Type>();
        Ok(c.is_valid(0).then(|| c.value(0)))
    }

    /// Checks that `column` exists.
    pub fn require(&self, column: &str) -> Result<(), LoaderError> {
        match self.batches.first() {
            Some(b) => self.column(b, column).map(|_| ()),
            None => Ok(()),
        }
    }

    pub(crate) fn column<'a>(&self, b: &'a RecordBatch, name: &str) -> Result<&'a arrow::array::ArrayRef, LoaderError> {
        b.column_by_name(name).ok_or_else(|| {
            let names: Vec<String> = b.schema().fields().iter().map(|f| f.name().clone()).collect();
            LoaderError::Column {
                column: name.into(),
                message: format!("is not in {}", self.origin),
                hint: format!("the columns are: {}", names.join(", ")),
            }
        })
    }

    fn out_of_range(&self, i: usize) -> LoaderError {
        LoaderError::config(format!("row {i} is out of range: {} has {} rows", self.origin, self.len()), "")
    }
}

fn apply(batch: &RecordBatch, filter: &RowFilter) -> Result<RecordBatch, LoaderError> {
    let mask = filter.evaluate(batch)?;
    filter_record_batch(batch, &mask).map_err(|source| LoaderError::Arrow { context: "filtering rows".into(), source })
}

fn read_shard(
    dir: &Path,
    shard: &WrittenShard,
    columns: &[String],
    filter: Option<&RowFilter>,
) -> Result<Vec<RecordBatch>, LoaderError> {
    let path = dir.join(&shard.file);
    let bytes = actionbench_shards::read_verified(dir, shard)?;
    let parquet_err = |source| LoaderError::Parquet { path: path.clone(), source };
    let mut builder = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(bytes)).map_err(parquet_err)?;
    if !columns.is_empty() {
        let schema = builder.schema().clone();
        let mut roots = Vec::new();
        for c in columns {
            let i = schema
                .index_of(c)
                .ok()
                .or_else(|| schema.fields().iter().position(|f| f.name().eq_ignore_ascii_case(c)))
                .ok_or_else(|| LoaderError::Column {
                    column: c.clone(),
                    message: format!("is not in `{}`", path.display()),
                    hint: format!(
                        "the columns are: {}",
                        schema.fields().iter().map(|f| f.name().as_str()).collect::<Vec<_>>().join(", ")
                    ),
                })?;
            roots.push(i);
        }
        roots.sort_unstable();
        roots.dedup();
        let mask = ProjectionMask::roots(builder.parquet_schema(), roots);
        builder = builder.with_projection(mask);
    }
    let reader = builder.build().map_err(parquet_err)?;
    let mut out = Vec::new();
    for b in reader {
        let b = b.map_err(|source| LoaderError::Arrow { context: format!("Reading `{}`", path.display()), source })?;
        out.push(match filter {
            Some(f) => apply(&b, f)?,
            None => b,
        });
    }
    Ok(out)
}
