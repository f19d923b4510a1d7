//! The ingest framework: a [`SampleFormat`] says which input files it
//! reads, how one source becomes samples and what the table's columns are;
//! [`Ingest`] is the stage kind around it, which owns everything else —
//! listing the inputs, a bounded pipelined read in a fixed order, the
//! `on-error` policy with its `rejects` table, the duplicate-id check,
//! shard writing and the `_ingest.json` summary. (DataFusion's
//! `FileFormat` under `ListingTable` is the model.)
//!
//! Rows are sorted by sample id. Where ids come from decides how memory
//! is bounded ([`Ids`]): a format whose ids are known from the sources'
//! paths (or a small file beside them) is read a chunk of sources at a time
//! in id order, the next chunk read on the pool while the last is encoded
//! and written — memory holds two chunks whatever the input size. A format
//! whose ids are inside its files (a pickle listing annotations, a table of
//! tracks) reads every source, then sorts: memory holds the table.
//!
//! Columns are declared with the function that fills them ([`Columns`]),
//! so a table's schema and its builder cannot drift apart.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use actionbench_core::Diagnostic;
use actionbench_pipeline::{ParamError, StageContext, StageError, StageKind};
use actionbench_shards::tensor::VariableShapeTensorBuilder;
use arrow::array::{
    ArrayRef, BooleanArray, Float64Array, Int32Array, Int64Array, ListBuilder, RecordBatch, StringArray, StringBuilder,
};
use arrow::datatypes::{ArrowPrimitiveType, DataType, Field, Schema, SchemaRef};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::ingest::{
    BoxError, OnError, Reject, Source, StageWriter, collect_sources, parallel_map, table_writer, with_hint,
    write_rejects, write_summary,
};

/// Why a source gave no samples: a reader error (it names the file and
/// the line or byte), any other diagnosed error, or a message.
#[derive(Debug)]
pub enum SampleError {
    /// The file does not parse.
    Format(actionbench_formats::Error),
    /// An error with its hint (a video that does not decode, say).
    Diagnosed(Diagnostic),
    /// The file parses but its content is unusable.
    Other(String),
}

impl From<actionbench_formats::Error> for SampleError {
    fn from(e: actionbench_formats::Error) -> Self {
        SampleError::Format(e)
    }
}

/// Where a format's sample ids are, which decides how it is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ids {
    /// Each source has a key known without reading its bulk
    /// ([`SampleFormat::key`]): its sample's id, or the prefix of its
    /// samples' ids. Sources are read in key order, a chunk at a time.
    ByKey,
    /// The ids are inside the sources: all are read, then the samples are
    /// sorted ([`SampleFormat::compare`]).
    Inside,
}

/// How written rows are cut into batches. Batch boundaries are part of the
/// Parquet bytes, so a format keeps the cut it has always had.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Batching {
    /// One batch per chunk of sources read together ([`Ids::ByKey`]).
    PerRead,
    /// One batch per source (its samples), whatever the chunk size.
    PerSource,
    /// Batches of this many rows.
    Rows(usize),
}

/// The counts every summary starts from.
#[derive(Debug, Clone, Copy)]
pub struct Counts {
    /// Rows written.
    pub rows: u64,
    /// Rows of `rejects` (sources, and anything `prepare` rejected).
    pub rejected: usize,
    /// Sources found (before rejects).
    pub files: usize,
    /// Input files that are not sources.
    pub ignored: usize,
}

/// What `prepare` may add besides its value: input files that are not
/// sources (a label index) and rows for `rejects`.
#[derive(Debug, Default)]
pub struct Preparing {
    /// Files the format read itself; they are not listed as sources.
    pub consumed: Vec<PathBuf>,
    /// Rows of `rejects` found while preparing (AVA rows filtered out).
    pub rejects: Vec<Reject>,
}

/// The params every ingest kind has: `on-error` and `rows-per-shard`
/// ([`ingest_params!`](crate::ingest_params) implements this for a params
/// struct with both fields).
pub trait IngestParams {
    /// What to do with a source that cannot be read (`fail` for kinds
    /// without the param).
    fn on_error(&self) -> OnError;
    /// Rows per Parquet file.
    fn rows_per_shard(&self) -> usize;
    /// Whether inputs that hold no file the kind reads make an empty table
    /// (`allow-empty = true`) instead of an error.
    fn allow_empty(&self) -> bool;
}

/// Implements [`IngestParams`] for params structs with `on_error` and
/// `rows_per_shard` fields.
#[macro_export]
macro_rules! ingest_params {
    ($($params:ty),+ $(,)?) => {$(
        impl $crate::sample_format::IngestParams for $params {
            fn on_error(&self) -> $crate::ingest::OnError {
                self.on_error
            }
            fn rows_per_shard(&self) -> usize {
                self.rows_per_shard
            }
            fn allow_empty(&self) -> bool {
                self.allow_empty
            }
        }
    )+};
}

/// A file format an ingest stage reads.
pub trait SampleFormat: Send + Sync + 'static {
    /// The kind's params (see [`StageKind::Params`]).
    type Params: IngestParams + DeserializeOwned + Serialize + schemars::JsonSchema + Send + Sync + 'static;
    /// What the format reads once per run, before the sources (a label
    /// index named by a param, say).
    type Prepared: Send + Sync;
    /// One row of the table.
    type Sample: Send + Sync;
    /// Counts the format keeps for its summary.
    type Tally: Default + Send;
    /// Where the sample ids are.
    const IDS: Ids;
    /// The kind's name (`uses`).
    const NAME: &'static str;
    /// See [`StageKind::implementation_version`].
    const VERSION: u32;
    /// See [`StageKind::description`].
    const DESCRIPTION: &'static str;

    /// See [`StageKind::check`].
    fn check(&self, params: &Self::Params) -> Result<(), ParamError> {
        let _ = params;
        Ok(())
    }
    /// See [`StageKind::tool_versions`].
    fn tool_versions(&self) -> BTreeMap<String, String> {
        BTreeMap::new()
    }
    /// Reads what the run needs before the sources.
    fn prepare(
        &self,
        ctx: &StageContext<'_>,
        params: &Self::Params,
        preparing: &mut Preparing,
    ) -> Result<Self::Prepared, BoxError>;
    /// Whether a listed input file is a source.
    fn accepts(&self, path: &Path, params: &Self::Params) -> bool;
    /// The input files that are sources, sorted, and how many were not:
    /// by default every accepted file of every input.
    fn list(&self, ctx: &StageContext<'_>, params: &Self::Params) -> Result<(Vec<Source>, Vec<String>), BoxError> {
        collect_sources(ctx, |path| self.accepts(path, params))
    }
    /// The source an accepted file stands for (itself by default;
    /// `ingest.renders` accepts `clip.json` and reads the clip's folder).
    fn source(&self, file: Source) -> Source {
        file
    }
    /// [`Ids::ByKey`]: the source's key — its sample's id, or the prefix
    /// its samples' ids share — from its path or a small part of it, never
    /// its bulk.
    fn key(&self, source: &Source, params: &Self::Params) -> Result<String, SampleError> {
        let _ = params;
        Ok(source.stem())
    }
    /// [`Ids::ByKey`]: whether a keyed source is read (and counts the ones
    /// that are not); called in listing order, before the duplicate check.
    fn admit(
        &self,
        key: &str,
        source: &Source,
        params: &Self::Params,
        prepared: &Self::Prepared,
        tally: &mut Self::Tally,
    ) -> bool {
        let _ = (key, source, params, prepared, tally);
        true
    }
    /// Reads one source into its samples.
    fn read(
        &self,
        source: &Source,
        params: &Self::Params,
        prepared: &Self::Prepared,
    ) -> Result<Vec<Self::Sample>, SampleError>;
    /// A sample's id.
    fn sample_id<'s>(&self, sample: &'s Self::Sample) -> &'s str;
    /// [`Ids::Inside`]: the row order (sample ids by default). Two samples
    /// that compare equal are duplicates.
    fn compare(&self, a: &Self::Sample, b: &Self::Sample) -> Ordering {
        self.sample_id(a).cmp(self.sample_id(b))
    }
    /// [`Ids::Inside`]: a last look at every sample, sorted, before any is
    /// written (AVA's labels need all tracks of a video).
    fn gathered(
        &self,
        samples: &mut [Self::Sample],
        prepared: &mut Self::Prepared,
        tally: &mut Self::Tally,
    ) -> Result<(), BoxError> {
        let _ = (samples, prepared, tally);
        Ok(())
    }
    /// The table's columns.
    fn columns(&self, params: &Self::Params, prepared: &Self::Prepared) -> Result<Columns<Self::Sample>, BoxError>;
    /// How rows are cut into batches ([`Ids::Inside`] formats always cut
    /// `rows-per-shard` rows).
    fn batching(&self, params: &Self::Params) -> Batching {
        let _ = params;
        Batching::PerRead
    }
    /// [`Ids::ByKey`]: how many of the `remaining` sources to read at once.
    fn read_chunk(&self, params: &Self::Params, remaining: usize) -> usize {
        let _ = params;
        remaining.min(256)
    }
    /// Called after each batch is written (side files such as LART exports).
    fn written(&self, ctx: &StageContext<'_>, params: &Self::Params, samples: &[Self::Sample]) -> Result<(), BoxError> {
        let _ = (ctx, params, samples);
        Ok(())
    }
    /// The `sample` of a source's row in `rejects`: its key, or its stem
    /// when neither key nor id could be read.
    fn reject_name(&self, key: Option<&str>, source: &Source) -> String {
        key.map_or_else(|| source.stem(), str::to_string)
    }
    /// The error for two sources (or samples) with one id.
    fn duplicate(&self, id: &str, first: &Source, second: &Source) -> String {
        format!("sample `{id}` appears twice: `{}` and `{}`", first.display, second.display)
    }
    /// What the kind reads, for the error when the inputs hold none of it:
    /// "`.npz` files (VideoPose3D)".
    fn reads(&self, params: &Self::Params) -> String;
    /// Whether `rejects/` is written (by default under `on-error = "skip"`).
    fn writes_rejects(&self, params: &Self::Params) -> bool {
        params.on_error() == OnError::Skip
    }
    /// Counts the samples of one read source (in row order for
    /// [`Ids::ByKey`], in source order for [`Ids::Inside`]).
    fn tally(&self, tally: &mut Self::Tally, samples: &[Self::Sample]) {
        let _ = (tally, samples);
    }
    /// `_ingest.json`: by default the kind, rows, rejected samples and
    /// ignored input files.
    fn summary(
        &self,
        counts: Counts,
        params: &Self::Params,
        prepared: &Self::Prepared,
        tally: Self::Tally,
    ) -> serde_json::Value {
        let _ = (params, prepared, tally);
        serde_json::json!({
            "kind": Self::NAME, "rows": counts.rows, "rejected": counts.rejected, "ignored_files": counts.ignored,
        })
    }
}

/// The stage kind of a [`SampleFormat`].
pub struct Ingest<F>(pub F);

impl<F: SampleFormat> StageKind for Ingest<F> {
    type Params = F::Params;

    fn name(&self) -> &'static str {
        F::NAME
    }

    fn implementation_version(&self) -> u32 {
        F::VERSION
    }

    fn description(&self) -> &'static str {
        F::DESCRIPTION
    }

    fn check(&self, params: &F::Params) -> Result<(), ParamError> {
        self.0.check(params)
    }

    fn tool_versions(&self) -> BTreeMap<String, String> {
        self.0.tool_versions()
    }

    fn run(&self, ctx: &StageContext<'_>, p: &F::Params) -> Result<(), StageError> {
        let format = &self.0;
        let (files, ignored) = format.list(ctx, p)?;
        let mut preparing = Preparing::default();
        let mut prepared = format.prepare(ctx, p, &mut preparing)?;
        let sources: Vec<Source> =
            files.into_iter().filter(|s| !preparing.consumed.contains(&s.path)).map(|s| format.source(s)).collect();
        if sources.is_empty() && !p.allow_empty() {
            return Err(read_nothing(F::NAME, &format.reads(p), &ignored).into());
        }
        let ignored = ignored.len();
        let mut out = Output {
            format,
            ctx,
            p,
            on_error: p.on_error(),
            rejects: preparing.rejects,
            tally: F::Tally::default(),
            rows: 0,
            table: None,
            pending: Vec::new(),
        };
        match F::IDS {
            Ids::ByKey => out.by_key(&sources, &prepared)?,
            Ids::Inside => out.inside(&sources, &mut prepared)?,
        }
        let Output { rejects, tally, rows, table, .. } = out;
        let writer = match table {
            Some(table) => table.writer,
            None => Table::open(format, ctx, p, &prepared)?.writer,
        };
        writer.finish()?;
        let counts = Counts { rows, rejected: rejects.len(), files: sources.len(), ignored };
        if format.writes_rejects(p) {
            write_rejects(ctx, rejects)?;
        }
        write_summary(ctx, format.summary(counts, p, &prepared, tally))?;
        Ok(())
    }
}

/// The error of an ingest whose inputs hold no file it reads: a stage that
/// "ran" and wrote 0 rows is how a wrong `inputs` entry goes unnoticed.
fn read_nothing(kind: &str, reads: &str, ignored: &[String]) -> actionbench_core::Diagnostic {
    const SHOWN: usize = 5;
    let message = match ignored {
        [] => format!("`{kind}` read no file: the inputs are empty, and it reads {reads}"),
        _ => {
            let mut names: Vec<String> = ignored.iter().take(SHOWN).map(|f| format!("`{f}`")).collect();
            if ignored.len() > SHOWN {
                names.push(format!("and {} more", ignored.len() - SHOWN));
            }
            format!(
                "`{kind}` read no file: it reads {reads}, and the inputs hold {} it ignored: {}",
                plural(ignored.len(), "file"),
                names.join(", ")
            )
        }
    };
    actionbench_core::Diagnostic::hinted(
        message,
        "point `inputs` at the files this kind reads (`actionbench kinds` describes each kind), \
         or set `allow-empty = true` in `params` if an empty table is what you want",
    )
}

fn plural(n: usize, what: &str) -> String {
    if n == 1 { format!("1 {what}") } else { format!("{n} {what}s") }
}

/// The open table: its columns and writer.
struct Table<'c, 'a, S> {
    columns: Columns<S>,
    schema: SchemaRef,
    writer: StageWriter<'c, 'a>,
}

impl<'c, 'a, S: 'static> Table<'c, 'a, S> {
    fn open<F: SampleFormat<Sample = S>>(
        format: &F,
        ctx: &'c StageContext<'a>,
        p: &F::Params,
        prepared: &F::Prepared,
    ) -> Result<Self, BoxError> {
        let columns = format.columns(p, prepared)?;
        let schema = columns.schema();
        let writer = table_writer(ctx, schema.clone(), p.rows_per_shard())?;
        Ok(Self { columns, schema, writer })
    }
}

/// The writing half of a run: rejects, counts and the table.
struct Output<'f, 'c, 'a, F: SampleFormat> {
    format: &'f F,
    ctx: &'c StageContext<'a>,
    p: &'f F::Params,
    on_error: OnError,
    rejects: Vec<Reject>,
    tally: F::Tally,
    rows: u64,
    table: Option<Table<'c, 'a, F::Sample>>,
    pending: Vec<F::Sample>,
}

/// One chunk of keyed sources and what reading them gave.
type Chunk<'s, S> = (&'s [(String, &'s Source)], Vec<Result<Vec<S>, SampleError>>);

impl<'f, 'c, 'a, F: SampleFormat> Output<'f, 'c, 'a, F> {
    /// A source that gave no sample: the stage's error under `on-error =
    /// "fail"`, a row of `rejects` under `skip`.
    fn reject(&mut self, key: Option<&str>, source: &Source, error: SampleError) -> Result<(), BoxError> {
        let name = self.format.reject_name(key, source);
        match (error, self.on_error) {
            (SampleError::Format(e), OnError::Fail) => Err(with_hint(e)),
            (SampleError::Diagnosed(e), OnError::Fail) => Err(Box::new(e)),
            (SampleError::Other(m), OnError::Fail) => Err(m.into()),
            (SampleError::Format(e), OnError::Skip) => {
                self.rejects.push(Reject::from_error(&name, source, &e));
                Ok(())
            }
            (SampleError::Diagnosed(e), OnError::Skip) => {
                self.rejects.push(Reject::other(&name, source, e.to_string()));
                Ok(())
            }
            (SampleError::Other(m), OnError::Skip) => {
                self.rejects.push(Reject::other(&name, source, m));
                Ok(())
            }
        }
    }

    /// Writes the pending samples as one batch.
    fn flush(&mut self) -> Result<(), BoxError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let table = self.table.as_mut().ok_or("the table is not open")?;
        table.writer.write(&table.columns.batch(&table.schema, &self.pending)?)?;
        self.format.written(self.ctx, self.p, &self.pending)?;
        self.rows += self.pending.len() as u64;
        self.pending.clear();
        Ok(())
    }

    /// Queues one source's samples, writing batches as `batching` cuts them.
    fn push(&mut self, samples: Vec<F::Sample>, batching: Batching) -> Result<(), BoxError> {
        match batching {
            Batching::Rows(n) => {
                for sample in samples {
                    self.pending.push(sample);
                    if self.pending.len() >= n.max(1) {
                        self.flush()?;
                    }
                }
                Ok(())
            }
            Batching::PerSource => {
                self.pending.extend(samples);
                self.flush()
            }
            Batching::PerRead => {
                self.pending.extend(samples);
                Ok(())
            }
        }
    }

    /// [`Ids::ByKey`]: keys first (cheap), then the sources in key order,
    /// a chunk at a time; while one chunk is read on the pool, the one
    /// before is encoded and written.
    fn by_key(&mut self, sources: &[Source], prepared: &F::Prepared) -> Result<(), BoxError> {
        let (format, p) = (self.format, self.p);
        let keys = parallel_map(sources, |source| format.key(source, p));
        let mut order: Vec<(String, &Source)> = Vec::with_capacity(sources.len());
        for (source, key) in sources.iter().zip(keys) {
            match key {
                Ok(key) if format.admit(&key, source, p, prepared, &mut self.tally) => order.push((key, source)),
                Ok(_) => {}
                Err(e) => self.reject(None, source, e)?,
            }
        }
        order.sort_by(|a, b| (&a.0, &a.1.display).cmp(&(&b.0, &b.1.display)));
        if let Some(w) = order.windows(2).find(|w| w[0].0 == w[1].0) {
            return Err(format.duplicate(&w[0].0, w[0].1, w[1].1).into());
        }
        self.table = Some(Table::open(format, self.ctx, p, prepared)?);
        let batching = format.batching(p);
        let total = order.len();
        let mut rest = &order[..];
        let mut pending: Option<Chunk<'_, F::Sample>> = None;
        let mut done = 0;
        loop {
            let n = if rest.is_empty() { 0 } else { format.read_chunk(p, rest.len()).clamp(1, rest.len()) };
            let (chunk, tail) = rest.split_at(n);
            rest = tail;
            let (written, read) = rayon::join(
                || pending.take().map(|(chunk, read)| self.take_chunk(chunk, read, batching)).transpose(),
                || parallel_map(chunk, |(_, source)| format.read(source, p, prepared)),
            );
            written?;
            if chunk.is_empty() {
                return self.flush();
            }
            pending = Some((chunk, read));
            done += chunk.len();
            self.ctx.progress(done as u64, Some(total as u64));
        }
    }

    /// Writes one chunk's samples (or rejects its sources).
    fn take_chunk(
        &mut self,
        chunk: &[(String, &Source)],
        read: Vec<Result<Vec<F::Sample>, SampleError>>,
        batching: Batching,
    ) -> Result<(), BoxError> {
        for ((key, source), result) in chunk.iter().zip(read) {
            match result {
                Ok(samples) => {
                    self.format.tally(&mut self.tally, &samples);
                    self.push(samples, batching)?;
                }
                Err(e) => self.reject(Some(key), source, e)?,
            }
        }
        match batching {
            Batching::PerRead => self.flush(),
            _ => Ok(()),
        }
    }

    /// [`Ids::Inside`]: every source read (in parallel), the samples
    /// sorted and checked, then written in `rows-per-shard` batches.
    fn inside(&mut self, sources: &[Source], prepared: &mut F::Prepared) -> Result<(), BoxError> {
        let (format, p) = (self.format, self.p);
        let shared: &F::Prepared = prepared;
        let results = parallel_map(sources, |source| format.read(source, p, shared));
        let mut samples: Vec<(usize, F::Sample)> = Vec::new();
        for (i, (source, result)) in sources.iter().zip(results).enumerate() {
            match result {
                Ok(list) => {
                    format.tally(&mut self.tally, &list);
                    samples.extend(list.into_iter().map(|s| (i, s)));
                }
                Err(e) => self.reject(None, source, e)?,
            }
            self.ctx.progress(i as u64 + 1, Some(sources.len() as u64));
        }
        samples.sort_by(|a, b| format.compare(&a.1, &b.1).then(a.0.cmp(&b.0)));
        if let Some(w) = samples.windows(2).find(|w| format.compare(&w[0].1, &w[1].1) == Ordering::Equal) {
            let id = format.sample_id(&w[0].1);
            return Err(format.duplicate(id, &sources[w[0].0], &sources[w[1].0]).into());
        }
        let mut samples: Vec<F::Sample> = samples.into_iter().map(|(_, s)| s).collect();
        format.gathered(&mut samples, prepared, &mut self.tally)?;
        self.table = Some(Table::open(format, self.ctx, p, prepared)?);
        let rows = Batching::Rows(p.rows_per_shard().max(1));
        self.push(samples, rows)?;
        self.flush()
    }
}

type Build<S> = Box<dyn Fn(&[S]) -> Result<ArrayRef, BoxError> + Send + Sync>;

/// A table's columns, each declared with how a batch of samples fills it.
pub struct Columns<S> {
    fields: Vec<Field>,
    builds: Vec<Build<S>>,
}

impl<S: 'static> Default for Columns<S> {
    fn default() -> Self {
        Self { fields: Vec::new(), builds: Vec::new() }
    }
}

impl<S: 'static> Columns<S> {
    /// No columns yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// A column: its field and how a batch of samples fills it.
    pub fn column(
        mut self,
        field: Field,
        build: impl Fn(&[S]) -> Result<ArrayRef, BoxError> + Send + Sync + 'static,
    ) -> Self {
        self.fields.push(field);
        self.builds.push(Box::new(build));
        self
    }

    /// A column only when `present` (tables whose shape follows a param).
    pub fn when(self, present: bool, add: impl FnOnce(Self) -> Self) -> Self {
        if present { add(self) } else { self }
    }

    /// A non-null text column.
    pub fn utf8(self, name: &str, value: impl Fn(&S) -> &str + Send + Sync + 'static) -> Self {
        self.column(Field::new(name, DataType::Utf8, false), move |s| {
            Ok(Arc::new(StringArray::from_iter_values(s.iter().map(&value))))
        })
    }

    /// A nullable text column.
    pub fn utf8_opt(self, name: &str, value: impl Fn(&S) -> Option<&str> + Send + Sync + 'static) -> Self {
        self.column(Field::new(name, DataType::Utf8, true), move |s| {
            Ok(Arc::new(s.iter().map(&value).collect::<StringArray>()))
        })
    }

    /// A non-null list-of-text column (nullable items).
    pub fn utf8_list(self, name: &str, value: impl Fn(&S) -> &[String] + Send + Sync + 'static) -> Self {
        let item = Arc::new(Field::new_list_field(DataType::Utf8, true));
        self.column(Field::new(name, DataType::List(item), false), move |s| {
            let mut list = ListBuilder::new(StringBuilder::new());
            for sample in s {
                list.append_value(value(sample).iter().map(Some));
            }
            Ok(Arc::new(list.finish()))
        })
    }

    /// A non-null int32 column.
    pub fn int32(self, name: &str, value: impl Fn(&S) -> i32 + Send + Sync + 'static) -> Self {
        self.column(Field::new(name, DataType::Int32, false), move |s| {
            Ok(Arc::new(Int32Array::from_iter_values(s.iter().map(&value))))
        })
    }

    /// A nullable int32 column.
    pub fn int32_opt(self, name: &str, value: impl Fn(&S) -> Option<i32> + Send + Sync + 'static) -> Self {
        self.column(Field::new(name, DataType::Int32, true), move |s| {
            Ok(Arc::new(s.iter().map(&value).collect::<Int32Array>()))
        })
    }

    /// A non-null int64 column.
    pub fn int64(self, name: &str, value: impl Fn(&S) -> i64 + Send + Sync + 'static) -> Self {
        self.column(Field::new(name, DataType::Int64, false), move |s| {
            Ok(Arc::new(Int64Array::from_iter_values(s.iter().map(&value))))
        })
    }

    /// A nullable int64 column.
    pub fn int64_opt(self, name: &str, value: impl Fn(&S) -> Option<i64> + Send + Sync + 'static) -> Self {
        self.column(Field::new(name, DataType::Int64, true), move |s| {
            Ok(Arc::new(s.iter().map(&value).collect::<Int64Array>()))
        })
    }

    /// A non-null boolean column.
    pub fn bool(self, name: &str, value: impl Fn(&S) -> bool + Send + Sync + 'static) -> Self {
        self.column(Field::new(name, DataType::Boolean, false), move |s| {
            Ok(Arc::new(BooleanArray::from(s.iter().map(&value).collect::<Vec<_>>())))
        })
    }

    /// A nullable boolean column.
    pub fn bool_opt(self, name: &str, value: impl Fn(&S) -> Option<bool> + Send + Sync + 'static) -> Self {
        self.column(Field::new(name, DataType::Boolean, true), move |s| {
            Ok(Arc::new(s.iter().map(&value).collect::<BooleanArray>()))
        })
    }

    /// A non-null float64 column.
    pub fn float64(self, name: &str, value: impl Fn(&S) -> f64 + Send + Sync + 'static) -> Self {
        self.column(Field::new(name, DataType::Float64, false), move |s| {
            Ok(Arc::new(Float64Array::from_iter_values(s.iter().map(&value))))
        })
    }

    /// A variable-shape tensor column (`field` from
    /// [`actionbench_shards::tensor::variable_shape_tensor_field`], rank
    /// `ndim`); `value` gives a sample's shape and its values, row-major.
    /// Room for the whole batch is reserved first: each value is copied once.
    pub fn tensor<T: ArrowPrimitiveType, Shape: AsRef<[usize]>>(
        self,
        field: Field,
        ndim: usize,
        value: impl Fn(&S) -> (Shape, &[T::Native]) + Send + Sync + 'static,
    ) -> Self {
        self.column(field, move |s| {
            let mut builder = VariableShapeTensorBuilder::<T>::new(ndim);
            builder.reserve(s.len(), s.iter().map(|x| value(x).1.len()).sum());
            for sample in s {
                let (shape, data) = value(sample);
                builder.push(shape.as_ref(), data)?;
            }
            Ok(builder.finish()?)
        })
    }

    /// The schema of these columns.
    pub fn schema(&self) -> SchemaRef {
        Arc::new(Schema::new(self.fields.clone()))
    }

    /// One batch of `samples`.
    pub fn batch(&self, schema: &SchemaRef, samples: &[S]) -> Result<RecordBatch, BoxError> {
        let arrays = self.builds.iter().map(|build| build(samples)).collect::<Result<Vec<_>, _>>()?;
        Ok(RecordBatch::try_new(schema.clone(), arrays)?)
    }
}
