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
//!
//! An [`Ids::ByKey`] format can also run as parts (`partitions = N`):
//! every part lists and orders all sources (cheap: keys come from paths),
//! then reads only its share of the read chunks a single run would make —
//! a contiguous run of them — and keeps the batches it would have written
//! in an Arrow IPC file, with its rejects and counts. The merge writes
//! those batches, in part order, through the same shard writer: the batch
//! boundaries, and so the Parquet bytes, are the single run's.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use actionbench_core::Diagnostic;
use actionbench_pipeline::{ParamError, Part, StageContext, StageError, StageKind};
use actionbench_shards::tensor::VariableShapeTensorBuilder;
use arrow::array::{
    ArrayRef, BooleanArray, Float64Array, Int32Array, Int64Array, ListBuilder, RecordBatch, StringArray, StringBuilder,
};
use arrow::datatypes::{ArrowPrimitiveType, DataType, Field, Schema, SchemaRef};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

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

/// The counts a format keeps for its summary ([`SampleFormat::Tally`]):
/// a partitioned run keeps each part's in its part directory (JSON) and
/// the merge adds them up.
pub trait MergeTally: Default + Send + Serialize + DeserializeOwned {
    /// Adds the counts of a part to these.
    fn merge(&mut self, part: Self);
}

impl MergeTally for () {
    fn merge(&mut self, _: ()) {}
}

impl MergeTally for usize {
    fn merge(&mut self, part: usize) {
        *self += part;
    }
}

/// Implements [`MergeTally`] for a struct of counters (`+=` on each field,
/// `extend` for the list fields named after `lists`).
#[macro_export]
macro_rules! merge_tally {
    ($tally:ty { $($field:ident),* $(,)? } $(lists { $($list:ident),* $(,)? })?) => {
        impl $crate::sample_format::MergeTally for $tally {
            fn merge(&mut self, part: Self) {
                $(self.$field += part.$field;)*
                $($(self.$list.extend(part.$list);)*)?
            }
        }
    };
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
    type Tally: MergeTally;
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
    /// Only [`Ids::Inside`] formats may write files here: an
    /// [`Ids::ByKey`] format can run as parts, whose files stay in the part.
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
        let Start { sources, ignored, mut prepared, rejects } = self.start(ctx, p)?;
        let mut out = Output::new(&self.0, ctx, p, rejects);
        match F::IDS {
            Ids::ByKey => {
                let order = out.plan(&sources, &prepared)?;
                out.table = Some(Table::open(&self.0, ctx, p, &prepared, None)?);
                let chunks = out.chunks(order.len(), None);
                out.write_keyed(&order, &chunks, &prepared)?;
            }
            Ids::Inside => out.inside(&sources, &mut prepared)?,
        }
        out.finish(sources.len(), ignored, &prepared)
    }

    fn partitioning(&self) -> Result<(), String> {
        match F::IDS {
            Ids::ByKey => Ok(()),
            Ids::Inside => Err(format!(
                "`{}` finds its sample ids inside its files and sorts every sample before writing, \
                 so a part could not write its share of the table without reading all of it",
                F::NAME
            )),
        }
    }

    /// Lists and orders every source as a run does, reads this part's
    /// share of the read chunks, and keeps their batches (`rows.arrow`),
    /// rejects and counts (`part.json`) for the merge.
    fn run_part(&self, ctx: &StageContext<'_>, p: &F::Params, part: Part) -> Result<(), StageError> {
        self.partitioning()?;
        let Start { sources, prepared, .. } = self.start(ctx, p)?;
        let mut out = Output::new(&self.0, ctx, p, Vec::new());
        let order = out.plan(&sources, &prepared)?;
        // What planning counted and rejected is the merge's to record (it
        // plans too); a part keeps only what its reads add.
        out.tally = F::Tally::default();
        out.rejects.clear();
        let mine = &out.chunks(order.len(), Some(part));
        let rows_file = ctx.out_dir.join(PART_ROWS);
        out.table = Some(Table::open(&self.0, ctx, p, &prepared, Some(&rows_file))?);
        out.write_keyed(&order, mine, &prepared)?;
        let Output { rejects, tally, rows, table, .. } = out;
        if let Some(table) = table {
            table.sink.finish()?;
        }
        let summary = PartSummary {
            sources: mine.iter().map(ExactSizeIterator::len).sum(),
            rows,
            rejects: rejects.into_iter().map(PartReject::from).collect(),
            tally,
        };
        let path = ctx.out_dir.join(PART_SUMMARY);
        std::fs::write(&path, serde_json::to_vec(&summary)?)
            .map_err(|e| format!("Failed to write `{}`: {e}", path.display()))?;
        Ok(())
    }

    /// Plans as a run does (so the listing counts and key rejects are its
    /// own), then writes each part's batches in order through one shard
    /// writer and adds up their rejects and counts.
    fn merge_parts(&self, ctx: &StageContext<'_>, p: &F::Params, parts: &[PathBuf]) -> Result<(), StageError> {
        self.partitioning()?;
        let Start { sources, ignored, prepared, rejects } = self.start(ctx, p)?;
        let format = &self.0;
        let mut out = Output::new(format, ctx, p, rejects);
        let order = out.plan(&sources, &prepared)?;
        let mut table = Table::open(format, ctx, p, &prepared, None)?;
        let recut = match format.batching(p) {
            Batching::Rows(n) => Some(n.max(1)),
            Batching::PerRead | Batching::PerSource => None,
        };
        let mut carry: Vec<RecordBatch> = Vec::new();
        let mut merged = 0usize;
        for (index, dir) in parts.iter().enumerate() {
            let part = Part { index: index as u32, count: parts.len() as u32 };
            let summary_path = dir.join(PART_SUMMARY);
            let text = std::fs::read(&summary_path)
                .map_err(|e| format!("{part}: cannot read `{}`: {e}", summary_path.display()))?;
            let summary: PartSummary<F::Tally> = serde_json::from_slice(&text)
                .map_err(|e| format!("{part}: `{}` is not a part summary: {e}", summary_path.display()))?;
            let expected: usize = out.chunks(order.len(), Some(part)).iter().map(ExactSizeIterator::len).sum();
            if summary.sources != expected {
                return Err(format!(
                    "{part} (`{}`) read {} sources where this run's listing gives it {expected}; \
                     delete that directory to run the part again",
                    dir.display(),
                    summary.sources
                )
                .into());
            }
            let rows_path = dir.join(PART_ROWS);
            if rows_path.exists() {
                let file = std::fs::File::open(&rows_path)
                    .map_err(|e| format!("{part}: cannot open `{}`: {e}", rows_path.display()))?;
                let reader = arrow::ipc::reader::FileReader::try_new(std::io::BufReader::new(file), None)
                    .map_err(|e| format!("{part}: `{}`: {e}", rows_path.display()))?;
                for batch in reader {
                    let batch = batch.map_err(|e| format!("{part}: `{}`: {e}", rows_path.display()))?;
                    // The table's own schema (with its field metadata), checked.
                    let batch = RecordBatch::try_new(table.schema.clone(), batch.columns().to_vec())
                        .map_err(|e| format!("{part}: its rows do not fit the table: {e}"))?;
                    match recut {
                        None => table.sink.write(&batch)?,
                        Some(n) => {
                            carry.push(batch);
                            write_full_batches(&mut table, &mut carry, n, false)?;
                        }
                    }
                }
            }
            out.rows += summary.rows;
            out.rejects.extend(summary.rejects.into_iter().map(Reject::from));
            out.tally.merge(summary.tally);
            merged += expected;
            ctx.progress(merged as u64, Some(order.len() as u64));
        }
        if let Some(n) = recut {
            write_full_batches(&mut table, &mut carry, n, true)?;
        }
        out.table = Some(table);
        out.finish(sources.len(), ignored, &prepared)
    }
}

/// The file of a part's batches (Arrow IPC: written and read back as is).
const PART_ROWS: &str = "rows.arrow";
/// The file of a part's counts and rejects.
const PART_SUMMARY: &str = "part.json";

/// What a part read, besides its rows.
#[derive(Serialize, Deserialize)]
#[serde(bound(serialize = "T: Serialize", deserialize = "T: DeserializeOwned"))]
struct PartSummary<T> {
    /// Sources this part was given.
    sources: usize,
    /// Rows it wrote.
    rows: u64,
    /// Its sources that gave no sample (`on-error = "skip"`).
    rejects: Vec<PartReject>,
    /// The format's counts of its reads.
    tally: T,
}

/// A [`Reject`] as a part keeps it.
#[derive(Serialize, Deserialize)]
struct PartReject {
    sample: String,
    file: String,
    line: Option<u64>,
    message: String,
}

impl From<Reject> for PartReject {
    fn from(r: Reject) -> Self {
        Self { sample: r.sample, file: r.file, line: r.line, message: r.message }
    }
}

impl From<PartReject> for Reject {
    fn from(r: PartReject) -> Self {
        Self { sample: r.sample, file: r.file, line: r.line, message: r.message }
    }
}

/// Writes the rows of `carry` as batches of `n` rows, as a single run cuts
/// them; the rest stays in `carry`, unless `last` (then it is written too).
fn write_full_batches<S: 'static>(
    table: &mut Table<'_, '_, S>,
    carry: &mut Vec<RecordBatch>,
    n: usize,
    last: bool,
) -> Result<(), BoxError> {
    let rows: usize = carry.iter().map(RecordBatch::num_rows).sum();
    if rows < n && !(last && rows > 0) {
        return Ok(());
    }
    let all = arrow::compute::concat_batches(&table.schema, carry.iter())?;
    carry.clear();
    let mut offset = 0;
    while all.num_rows() - offset >= n {
        table.sink.write(&all.slice(offset, n))?;
        offset += n;
    }
    if offset < all.num_rows() {
        let rest = all.slice(offset, all.num_rows() - offset);
        if last { table.sink.write(&rest)? } else { carry.push(rest) }
    }
    Ok(())
}

/// What every run of a format starts from.
struct Start<P> {
    sources: Vec<Source>,
    ignored: usize,
    prepared: P,
    rejects: Vec<Reject>,
}

impl<F: SampleFormat> Ingest<F> {
    /// Lists the sources and prepares: the same in a run, a part and a merge.
    fn start(&self, ctx: &StageContext<'_>, p: &F::Params) -> Result<Start<F::Prepared>, BoxError> {
        let format = &self.0;
        let (files, ignored) = format.list(ctx, p)?;
        let mut preparing = Preparing::default();
        let prepared = format.prepare(ctx, p, &mut preparing)?;
        let sources: Vec<Source> =
            files.into_iter().filter(|s| !preparing.consumed.contains(&s.path)).map(|s| format.source(s)).collect();
        if sources.is_empty() && !p.allow_empty() {
            return Err(read_nothing(F::NAME, &format.reads(p), &ignored).into());
        }
        Ok(Start { sources, ignored: ignored.len(), prepared, rejects: preparing.rejects })
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

/// Where a table's batches go: its shards, or a part's IPC file.
enum Sink<'c, 'a> {
    Shards(Box<StageWriter<'c, 'a>>),
    Part(Box<arrow::ipc::writer::FileWriter<std::io::BufWriter<std::fs::File>>>),
}

impl Sink<'_, '_> {
    fn write(&mut self, batch: &RecordBatch) -> Result<(), BoxError> {
        match self {
            Sink::Shards(w) => w.write(batch)?,
            Sink::Part(w) => w.write(batch)?,
        }
        Ok(())
    }

    fn finish(self) -> Result<(), BoxError> {
        match self {
            Sink::Shards(w) => {
                w.finish()?;
            }
            Sink::Part(mut w) => {
                w.finish()?;
                (*w).into_inner()?.into_inner().map_err(|e| e.into_error())?.sync_all()?;
            }
        }
        Ok(())
    }
}

/// The open table: its columns and where its batches go.
struct Table<'c, 'a, S> {
    columns: Columns<S>,
    schema: SchemaRef,
    sink: Sink<'c, 'a>,
}

impl<'c, 'a, S: 'static> Table<'c, 'a, S> {
    /// The table's shards, or (`part`) a part's IPC file at that path.
    fn open<F: SampleFormat<Sample = S>>(
        format: &F,
        ctx: &'c StageContext<'a>,
        p: &F::Params,
        prepared: &F::Prepared,
        part: Option<&Path>,
    ) -> Result<Self, BoxError> {
        let columns = format.columns(p, prepared)?;
        let schema = columns.schema();
        let sink = match part {
            None => Sink::Shards(Box::new(table_writer(ctx, schema.clone(), p.rows_per_shard())?)),
            Some(path) => {
                let file =
                    std::fs::File::create(path).map_err(|e| format!("Failed to create `{}`: {e}", path.display()))?;
                Sink::Part(Box::new(arrow::ipc::writer::FileWriter::try_new(std::io::BufWriter::new(file), &schema)?))
            }
        };
        Ok(Self { columns, schema, sink })
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
    fn new(format: &'f F, ctx: &'c StageContext<'a>, p: &'f F::Params, rejects: Vec<Reject>) -> Self {
        Output {
            format,
            ctx,
            p,
            on_error: p.on_error(),
            rejects,
            tally: F::Tally::default(),
            rows: 0,
            table: None,
            pending: Vec::new(),
        }
    }

    /// Closes the table (an empty one when nothing opened it), then writes
    /// `rejects/` and `_ingest.json`.
    fn finish(self, files: usize, ignored: usize, prepared: &F::Prepared) -> Result<(), StageError> {
        let Output { format, ctx, p, rejects, tally, rows, table, .. } = self;
        let sink = match table {
            Some(table) => table.sink,
            None => Table::open(format, ctx, p, prepared, None)?.sink,
        };
        sink.finish()?;
        let counts = Counts { rows, rejected: rejects.len(), files, ignored };
        if format.writes_rejects(p) {
            write_rejects(ctx, rejects)?;
        }
        write_summary(ctx, format.summary(counts, p, prepared, tally))?;
        Ok(())
    }

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
        table.sink.write(&table.columns.batch(&table.schema, &self.pending)?)?;
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

    /// [`Ids::ByKey`]: every source's key (cheap, on the pool), the ones
    /// `admit` takes, in key order, checked for duplicates.
    fn plan<'s>(
        &mut self,
        sources: &'s [Source],
        prepared: &F::Prepared,
    ) -> Result<Vec<(String, &'s Source)>, BoxError> {
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
        Ok(order)
    }

    /// [`Ids::ByKey`]: the read chunks (index ranges of the `total`
    /// ordered sources) of a run, or of one part of it. Where each chunk is
    /// one batch ([`Batching::PerRead`]), a part takes a contiguous run of
    /// the run's own chunks, so the batches are the run's; otherwise a part
    /// takes a contiguous run of sources and cuts it into chunks itself
    /// (chunk sizes may follow the machine's cores, the parts must not).
    fn chunks(&self, total: usize, part: Option<Part>) -> Vec<Range<usize>> {
        let cut = |range: Range<usize>| {
            let mut out = Vec::new();
            let mut start = range.start;
            while start < range.end {
                let rest = range.end - start;
                let n = self.format.read_chunk(self.p, rest).clamp(1, rest);
                out.push(start..start + n);
                start += n;
            }
            out
        };
        match (part, self.format.batching(self.p)) {
            (None, _) => cut(0..total),
            (Some(part), Batching::PerRead) => {
                let all = cut(0..total);
                all[part.range(all.len())].to_vec()
            }
            (Some(part), Batching::PerSource | Batching::Rows(_)) => cut(part.range(total)),
        }
    }

    /// [`Ids::ByKey`]: reads the sources of `chunks` (ranges of `order`)
    /// into the open table, a chunk at a time; while one chunk is read on
    /// the pool, the one before is encoded and written.
    fn write_keyed(
        &mut self,
        order: &[(String, &Source)],
        chunks: &[Range<usize>],
        prepared: &F::Prepared,
    ) -> Result<(), BoxError> {
        let (format, p) = (self.format, self.p);
        let batching = format.batching(p);
        let total: usize = chunks.iter().map(ExactSizeIterator::len).sum();
        let mut pending: Option<Chunk<'_, F::Sample>> = None;
        let mut done = 0;
        let mut next = chunks.iter();
        loop {
            let chunk = next.next().map_or(&order[..0], |r| &order[r.clone()]);
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
        self.table = Some(Table::open(format, self.ctx, p, prepared, None)?);
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
