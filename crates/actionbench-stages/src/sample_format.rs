//! The ingest framework: a [`SampleFormat`] says which input files it
//! reads, how one file becomes samples and what the table's columns are;
//! [`Ingest`] is the stage kind around it, which owns everything else —
//! listing the inputs, a bounded parallel read in a fixed order, the
//! `on-error` policy with its `rejects` table, the duplicate-id check,
//! shard writing and the `_ingest.json` summary. (DataFusion's
//! `FileFormat` under `ListingTable` is the model.)
//!
//! Columns are declared with the function that fills them ([`Columns`]),
//! so a table's schema and its builder cannot drift apart.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use actionbench_pipeline::{ParamError, StageContext, StageError, StageKind};
use actionbench_shards::tensor::VariableShapeTensorBuilder;
use arrow::array::{ArrayRef, BooleanArray, Int32Array, RecordBatch, StringArray};
use arrow::datatypes::{ArrowPrimitiveType, DataType, Field, Schema, SchemaRef};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::ingest::{BoxError, OnError, Reject, Source, collect_sources, finish_ingest, table_writer, with_hint};

/// Why one source gave no samples: a reader error (it names the file and
/// the line or byte) or any other message.
#[derive(Debug)]
pub enum SampleError {
    /// The file does not parse.
    Format(actionbench_formats::Error),
    /// The file parses but its content is unusable.
    Other(String),
}

impl From<actionbench_formats::Error> for SampleError {
    fn from(e: actionbench_formats::Error) -> Self {
        SampleError::Format(e)
    }
}

/// A file format an ingest stage reads.
pub trait SampleFormat: Send + Sync + 'static {
    /// The kind's params (see [`StageKind::Params`]).
    type Params: DeserializeOwned + Serialize + schemars::JsonSchema + Send + Sync + 'static;
    /// What the format reads once per run, before the sources (a label
    /// index named by a param, say).
    type Prepared: Send + Sync;
    /// One row of the table.
    type Sample: Send + Sync;

    /// The kind's name (`uses`).
    fn name(&self) -> &'static str;
    /// See [`StageKind::implementation_version`].
    fn implementation_version(&self) -> u32;
    /// See [`StageKind::description`].
    fn description(&self) -> &'static str;
    /// See [`StageKind::check`].
    fn check(&self, params: &Self::Params) -> Result<(), ParamError> {
        let _ = params;
        Ok(())
    }
    /// The `on-error` param.
    fn on_error(&self, params: &Self::Params) -> OnError;
    /// The `rows-per-shard` param.
    fn rows_per_shard(&self, params: &Self::Params) -> usize;
    /// Reads what the run needs before the sources; returns it with the
    /// input files it consumed (they are not sources).
    fn prepare(
        &self,
        ctx: &StageContext<'_>,
        params: &Self::Params,
    ) -> Result<(Self::Prepared, Vec<PathBuf>), BoxError>;
    /// Whether an input file is a source.
    fn accepts(&self, path: &Path, params: &Self::Params) -> bool;
    /// The id of the sample a source holds, from its path: sources are
    /// read, and rows written, in id order.
    fn sample_id(&self, source: &Source) -> String;
    /// Reads one source (its bytes are in hand) into its sample.
    fn read(
        &self,
        source: &Source,
        bytes: &[u8],
        params: &Self::Params,
        prepared: &Self::Prepared,
    ) -> Result<Self::Sample, SampleError>;
    /// The table's columns.
    fn columns(&self, params: &Self::Params) -> Result<Columns<Self::Sample>, BoxError>;
    /// Sources read at once, in parallel; their rows make one batch.
    fn sources_per_batch(&self) -> usize {
        256
    }
}

/// The stage kind of a [`SampleFormat`].
pub struct Ingest<F>(pub F);

impl<F: SampleFormat> StageKind for Ingest<F> {
    type Params = F::Params;

    fn name(&self) -> &'static str {
        self.0.name()
    }

    fn implementation_version(&self) -> u32 {
        self.0.implementation_version()
    }

    fn description(&self) -> &'static str {
        self.0.description()
    }

    fn check(&self, params: &F::Params) -> Result<(), ParamError> {
        self.0.check(params)
    }

    fn run(&self, ctx: &StageContext<'_>, p: &F::Params) -> Result<(), StageError> {
        let format = &self.0;
        let on_error = format.on_error(p);
        let (prepared, consumed) = format.prepare(ctx, p)?;
        let (sources, ignored) = collect_sources(ctx, |path| format.accepts(path, p))?;
        let mut sources: Vec<(String, Source)> =
            sources.into_iter().filter(|s| !consumed.contains(&s.path)).map(|s| (format.sample_id(&s), s)).collect();
        sources.sort_by(|a, b| (&a.0, &a.1.display).cmp(&(&b.0, &b.1.display)));
        if let Some(w) = sources.windows(2).find(|w| w[0].0 == w[1].0) {
            return Err(
                format!("sample `{}` appears twice: `{}` and `{}`", w[0].0, w[0].1.display, w[1].1.display).into()
            );
        }
        let columns = format.columns(p)?;
        let schema = columns.schema();
        let mut writer = table_writer(ctx, schema.clone(), format.rows_per_shard(p))?;
        let mut rejects = Vec::new();
        let mut rows = 0u64;
        let per_batch = format.sources_per_batch().max(1);
        for (i, chunk) in sources.chunks(per_batch).enumerate() {
            let results = crate::ingest::parallel_map(chunk, |(_, source)| {
                crate::ingest::read_source(source)
                    .map_err(SampleError::Format)
                    .and_then(|bytes| format.read(source, &bytes, p, &prepared))
            });
            let mut samples = Vec::with_capacity(chunk.len());
            for ((id, source), result) in chunk.iter().zip(results) {
                match (result, on_error) {
                    (Ok(sample), _) => samples.push(sample),
                    (Err(SampleError::Format(e)), OnError::Fail) => return Err(with_hint(e)),
                    (Err(SampleError::Other(m)), OnError::Fail) => return Err(m.into()),
                    (Err(SampleError::Format(e)), OnError::Skip) => rejects.push(Reject::from_error(id, source, &e)),
                    (Err(SampleError::Other(m)), OnError::Skip) => rejects.push(Reject::other(id, source, m)),
                }
            }
            if !samples.is_empty() {
                rows += samples.len() as u64;
                writer.write(&columns.batch(&schema, &samples)?)?;
            }
            ctx.progress(((i + 1) * per_batch).min(sources.len()) as u64, Some(sources.len() as u64));
        }
        finish_ingest(
            ctx,
            writer,
            rejects,
            on_error,
            |rejected| serde_json::json!({ "kind": format.name(), "rows": rows, "rejected": rejected, "ignored_files": ignored }),
        )
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

    /// A nullable boolean column.
    pub fn bool_opt(self, name: &str, value: impl Fn(&S) -> Option<bool> + Send + Sync + 'static) -> Self {
        self.column(Field::new(name, DataType::Boolean, true), move |s| {
            Ok(Arc::new(s.iter().map(&value).collect::<BooleanArray>()))
        })
    }

    /// A variable-shape tensor column (`field` from
    /// [`actionbench_shards::tensor::variable_shape_tensor_field`], rank `ndim`).
    pub fn tensor<T: ArrowPrimitiveType>(
        self,
        field: Field,
        ndim: usize,
        value: impl Fn(&S) -> (&[usize], &[T::Native]) + Send + Sync + 'static,
    ) -> Self {
        self.column(field, move |s| {
            let mut builder = VariableShapeTensorBuilder::<T>::new(ndim);
            for sample in s {
                let (shape, data) = value(sample);
                builder.push(shape, data)?;
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
