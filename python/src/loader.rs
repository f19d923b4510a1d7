//! `actionbench.Loader`: the Rust loader (same order, augmentation and
//! batches as a `train` stage for the same seed), its batches handed to
//! Python as Arrow record batches whose tensor columns numpy views
//! without a copy.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use actionbench_loader::{
    ClipConfig, ClipSource, HostBatch, Loader, LoaderConfig, LoaderState, SampleSource, Sequential, SkeletonConfig,
    SkeletonSource, Table, TableSpec, TrackletConfig, TrackletSource,
};
use actionbench_pipeline::TableFormat;
use arrow::array::{
    Array, ArrayRef, BooleanArray, FixedSizeListArray, Float32Array, Int64Array, RecordBatch, StringArray,
};
use arrow::datatypes::{DataType, Field, Schema};
use pyo3::prelude::*;

use crate::error::{hinted, py_err};
use crate::project::resolve_table;
use crate::stream::ArrowStream;

/// Field metadata key holding a tensor column's full shape (batch first), JSON.
const SHAPE_KEY: &str = "actionbench.shape";

/// The Rust half of `actionbench.Loader`.
#[pyclass(module = "actionbench._native")]
pub(crate) struct NativeLoader {
    loader: Mutex<Loader>,
    seed: u64,
}

/// The decoder for `source` over `table`, its settings parsed from JSON
/// with the same names as a `train` stage's `data.skeleton` /
/// `data.tracklet` / `data.clip`.
fn make_source(
    source: &str,
    dirs: Vec<PathBuf>,
    filter: Option<String>,
    config: &str,
) -> anyhow::Result<Arc<dyn SampleSource>> {
    let bad = |what: &str, e: serde_json::Error| {
        actionbench_core::Diagnostic::hinted(
            format!("bad `config` for the {what} source: {e}"),
            format!(
                "use the keys of a train stage's `data.{what}` table (`actionbench reference stage-kinds`, kind `train`)"
            ),
        )
    };
    let open = |columns: Vec<String>| -> anyhow::Result<Arc<Table>> {
        let table = Table::open(&TableSpec { dirs: dirs.clone(), columns, filter: filter.clone() })?;
        if table.is_empty() {
            return Err(actionbench_core::Diagnostic::hinted(
                format!("no row of {} passes the filter `{}`", table.origin(), filter.clone().unwrap_or_default()),
                "check the filter's column names and values with `actionbench sql`",
            )
            .into());
        }
        Ok(Arc::new(table))
    };
    Ok(match source {
        "skeleton" => {
            let c: SkeletonConfig = serde_json::from_str(config).map_err(|e| bad("skeleton", e))?;
            Arc::new(SkeletonSource::new(open(Vec::new())?, c)?)
        }
        "tracklet" => {
            let c: TrackletConfig = serde_json::from_str(config).map_err(|e| bad("tracklet", e))?;
            Arc::new(TrackletSource::new(open(Vec::new())?, c)?)
        }
        "clip" => {
            let c: ClipConfig = serde_json::from_str(config).map_err(|e| bad("clip", e))?;
            let available = TableSpec { dirs: dirs.clone(), ..Default::default() }.available_columns()?;
            Arc::new(ClipSource::new(open(c.columns(&available))?, c)?)
        }
        other => {
            return Err(actionbench_core::Diagnostic::hinted(
                format!("unknown source `{other}`"),
                "use `skeleton` (ingest.ntu, ingest.skeletons), `tracklet` (ingest.ava) or `clip` (ingest.video, ingest.renders)",
            )
            .into());
        }
    })
}

#[pymethods]
impl NativeLoader {
    /// A loader over `table` (`PIPELINE.TABLE`, or a shard directory
    /// relative to `root`) of the project at `root`.
    #[new]
    #[pyo3(signature = (root, table, source, config, batch_size, seed, epoch, rank, world_size, filter, shuffle, drop_last, threads, prefetch))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        root: PathBuf,
        table: String,
        source: String,
        config: String,
        batch_size: usize,
        seed: u64,
        epoch: u64,
        rank: usize,
        world_size: usize,
        filter: Option<String>,
        shuffle: bool,
        drop_last: bool,
        threads: usize,
        prefetch: usize,
    ) -> PyResult<Self> {
        let made = py.detach(|| -> anyhow::Result<Loader> {
            // A shard directory (`{@stage}` in a `cmd`), else a catalog name.
            let under = actionbench_pipeline::shard_dirs_under(&root.join(&table), 1);
            let dir = if let [one] = under.as_slice() {
                one.clone()
            } else {
                let t = resolve_table(&root, &table)?;
                if t.format != TableFormat::Shards {
                    return Err(actionbench_core::Diagnostic::hinted(
                        format!("`{table}` is a {} table, not a shard directory", t.format.name()),
                        "load the shards an ingest stage wrote (`actionbench sql \"SELECT * FROM actionbench.stages\"`)",
                    )
                    .into());
                }
                t.path
            };
            let source = make_source(&source, vec![dir], filter, &config)?;
            let plan = Sequential::new(source.len(), shuffle).sharded(rank, world_size)?;
            let config = LoaderConfig { batch_size, drop_last, shuffle, threads, prefetch };
            Ok(Loader::with_plan(vec![source], Arc::new(plan), &config, LoaderState::new(seed, epoch))?)
        });
        let loader = made.map_err(|e| py_err(py, e))?;
        Ok(Self { loader: Mutex::new(loader), seed })
    }

    /// The next batch of this epoch as one Arrow record batch, or `None` at
    /// its end.
    fn next_batch(&self, py: Python<'_>) -> PyResult<Option<ArrowStream>> {
        let next = py.detach(|| self.loader.lock().ok().map(|mut l| l.next()));
        let Some(next) = next else { return Err(hinted(py, "the loader failed earlier", "make a new one")) };
        match next {
            None => Ok(None),
            Some(Err(e)) => Err(py_err(py, actionbench_core::Diagnostic::new(e))),
            Some(Ok(batch)) => {
                let rb = to_record_batch(batch).map_err(|e| py_err(py, e))?;
                Ok(Some(ArrowStream::new(rb.schema(), vec![rb])))
            }
        }
    }

    /// `(seed, epoch, position)`: enough to resume right after the last batch.
    fn state(&self, py: Python<'_>) -> PyResult<(u64, u64, u64)> {
        let loader = self.loader.lock().map_err(|_| hinted(py, "the loader failed earlier", "make a new one"))?;
        let s = loader.state();
        Ok((s.seed, s.epoch, s.position))
    }

    /// Continues from `(epoch, position)` (a state saved with the same seed,
    /// table, filter and batch settings).
    fn resume(&self, py: Python<'_>, seed: u64, epoch: u64, position: u64) -> PyResult<()> {
        if seed != self.seed {
            return Err(hinted(
                py,
                format!("the state was saved by a loader with seed {seed}, this one has seed {}", self.seed),
                "make the loader with the seed of the run the state comes from",
            ));
        }
        let mut loader = self.loader.lock().map_err(|_| hinted(py, "the loader failed earlier", "make a new one"))?;
        loader
            .resume(LoaderState { seed, epoch, position })
            .map_err(|e| py_err(py, actionbench_core::Diagnostic::new(e)))
    }

    /// Batches in one epoch (of this rank).
    fn batches_per_epoch(&self) -> u64 {
        self.loader.lock().map(|l| l.batches_per_epoch()).unwrap_or(0)
    }

    /// Samples in one epoch (of this rank).
    fn samples_per_epoch(&self) -> u64 {
        self.loader.lock().map(|l| l.samples_per_epoch()).unwrap_or(0)
    }

    /// Batches left in this epoch.
    fn remaining_batches(&self) -> u64 {
        self.loader.lock().map(|l| l.remaining_batches()).unwrap_or(0)
    }
}

/// A batch as columns of `N` rows: `sample_id`, `label`, every tensor as a
/// fixed-size list of its per-sample values (shape in the field metadata;
/// the values buffer is the loader's, moved, not copied), `multi_labels`
/// likewise, and `mask.TASK` per label-availability mask.
pub(crate) fn to_record_batch(batch: HostBatch) -> anyhow::Result<RecordBatch> {
    let n = batch.sample_ids.len();
    let mut fields = vec![Field::new("sample_id", DataType::Utf8, false), Field::new("label", DataType::Int64, false)];
    let mut columns: Vec<ArrayRef> =
        vec![Arc::new(StringArray::from(batch.sample_ids)), Arc::new(Int64Array::from(batch.labels))];
    let tensors = batch.tensors.into_iter().chain(batch.multi_labels.map(|m| ("multi_labels".to_string(), m)));
    for (name, t) in tensors {
        let per_row = t.data.len().checked_div(n).unwrap_or(0);
        let item = Arc::new(Field::new("item", DataType::Float32, false));
        let values = Float32Array::from(t.data);
        let list = FixedSizeListArray::try_new(item.clone(), i32::try_from(per_row)?, Arc::new(values), None)?;
        let meta = [(SHAPE_KEY.to_string(), serde_json::to_string(&t.shape)?)].into_iter().collect();
        fields.push(Field::new(&name, list.data_type().clone(), false).with_metadata(meta));
        columns.push(Arc::new(list));
    }
    for (task, mask) in batch.label_masks {
        fields.push(Field::new(format!("mask.{task}"), DataType::Boolean, false));
        columns.push(Arc::new(BooleanArray::from(mask)));
    }
    Ok(RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)?)
}
