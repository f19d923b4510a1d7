//! The `train` and `predict` stage kinds.
//!
//! ```toml
//! [stages.train]
//! uses = "train"
//! inputs = ["@shards"]                       # shard directories (any stage writing `_index.json` tables)
//! [stages.train.params]
//! device = "cpu"                             # or "cuda" (binary built with the `cuda` feature)
//! model = { kind = "stgcn", num-classes = 60, size = "small" }
//! data = { filter = "xsub = 'train'", batch-size = 16, skeleton = { frames = 64, augment = true } }
//! train = { optimizer = { kind = "sgd", momentum = 0.9, nesterov = true, weight-decay = 1e-4 }, lr = 0.1, epochs = 30, warmup-steps = 100, seed = 0 }
//!
//! [stages.predict]
//! uses = "predict"
//! inputs = ["@train", "@shards"]
//! params = { model = "@train", data = { filter = "xsub = 'val'" } }
//! ```
//!
//! `train` writes `model.mpk` (weights), `model.json` (model, data and
//! training config), the long-format `metrics` table and a one-row `runs`
//! table. Checkpoints go to `<cache>/train/<stage key>/` while it runs (the
//! cache is `$ACTIONBENCH_CACHE_DIR` or `.actionbench/`), so a killed run
//! resumes where its last checkpoint was; they are removed after success.
//! `predict` writes `predictions.parquet` (`sample_id`, `label`, `scores`
//! list) that `eval.classify` reads with `pred = "@predict"`.

use std::error::Error;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use actionbench_loader::{Loader, LoaderConfig, LoaderState, SkeletonConfig, SkeletonSource, Table, TableSpec};
use actionbench_models::{LartConfig, StGcnConfig};
use actionbench_pipeline::{ResolvedInput, StageContext, StageKind, typed_params};
use arrow::array::{ArrayRef, Float32Builder, Int64Array, ListBuilder, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use burn::module::{AutodiffModule, Module};
use burn::tensor::activation::softmax;
use burn::tensor::backend::{AutodiffBackend, Backend};
use serde::{Deserialize, Serialize};

use crate::checkpoint::{load_module_bytes, module_bytes};
use crate::error::TrainError;
use crate::tables::{RunIdentity, RunRow, write_metrics, write_runs};
use crate::tasks::StGcnTask;
use crate::trainer::{TrainConfig, train};

type StageResult = Result<(), Box<dyn Error + Send + Sync>>;

/// Which model, with its hyper-parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum ModelParams {
    /// ST-GCN skeleton classifier.
    Stgcn(StGcnConfig),
    /// LART tracklet transformer.
    Lart(LartConfig),
}

fn default_batch() -> usize {
    16
}

/// Which rows feed the model and how they are batched.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct DataParams {
    /// Name of the table directory inside the inputs when they hold several.
    #[serde(default)]
    pub table: Option<String>,
    /// SQL `WHERE` clause over the table's columns, e.g. `xsub = 'train'`.
    #[serde(default)]
    pub filter: Option<String>,
    /// Samples per batch.
    #[serde(default = "default_batch")]
    pub batch_size: usize,
    /// Decode threads (0 = one per core); results do not depend on it.
    #[serde(default)]
    pub threads: usize,
    /// Skeleton decoding and augmentation.
    #[serde(default)]
    pub skeleton: SkeletonConfig,
}

impl Default for DataParams {
    fn default() -> Self {
        Self { table: None, filter: None, batch_size: default_batch(), threads: 0, skeleton: SkeletonConfig::default() }
    }
}

fn default_device() -> String {
    "cpu".into()
}

/// Params of `train`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct TrainParams {
    model: ModelParams,
    #[serde(default)]
    data: DataParams,
    train: TrainConfig,
    #[serde(default = "default_device")]
    device: String,
}

/// What `train` records next to the weights so `predict` can rebuild the model.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct SavedModel {
    model: ModelParams,
    data: DataParams,
    train: TrainConfig,
}

fn check_device(device: &str) -> Result<(), String> {
    match device {
        "cpu" => Ok(()),
        "cuda" if cfg!(feature = "cuda") => Ok(()),
        "cuda" => {
            Err("`device = \"cuda\"` needs a binary built with `--features cuda` (actionbench-train/cuda)".into())
        }
        other => Err(format!("`device` must be \"cpu\" or \"cuda\", not \"{other}\"")),
    }
}

fn check_model(model: &ModelParams) -> Result<(), String> {
    match model {
        ModelParams::Stgcn(c) => c.validate(),
        ModelParams::Lart(c) => c.validate(),
    }
}

/// The `train` kind.
pub struct TrainStage;

/// The `predict` kind.
pub struct PredictStage;

/// Shard directories (holding `_index.json`) under the stage's inputs
/// except stage `exclude`, optionally only those named `table`.
fn shard_dirs(ctx: &StageContext<'_>, exclude: Option<&str>, table: Option<&str>) -> Result<Vec<PathBuf>, TrainError> {
    fn walk(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) {
        if dir.join(actionbench_shards::INDEX_FILE).is_file() {
            out.push(dir.to_path_buf());
            return;
        }
        if depth == 0 {
            return;
        }
        if let Ok(entries) = std::fs::read_dir(dir) {
            let mut subdirs: Vec<PathBuf> = entries.flatten().map(|e| e.path()).filter(|p| p.is_dir()).collect();
            subdirs.sort();
            for d in subdirs {
                walk(&d, depth - 1, out);
            }
        }
    }
    let mut out = Vec::new();
    for input in ctx.inputs {
        let roots: Vec<PathBuf> = match input {
            ResolvedInput::Stage { stage, paths, .. } if exclude != Some(stage.as_str()) => paths.clone(),
            ResolvedInput::Files { entry, .. } => vec![ctx.root.join(entry)],
            _ => continue,
        };
        for r in roots {
            walk(&r, 3, &mut out);
        }
    }
    // Tables a training stage writes about itself are not training data.
    out.retain(|d| {
        let name = d.file_name().and_then(|n| n.to_str()).unwrap_or("");
        !matches!(name, "metrics" | "runs" | "rejects") && table.is_none_or(|t| t == name)
    });
    if out.is_empty() {
        return Err(TrainError::config(
            format!(
                "no shard table{} found in the stage's inputs",
                table.map(|t| format!(" named `{t}`")).unwrap_or_default()
            ),
            "list a stage that writes shards (e.g. `@shards` of `shard.parquet`, or an `ingest.*` stage) in `inputs`",
        ));
    }
    Ok(out)
}

fn cache_dir(root: &Path) -> PathBuf {
    actionbench_pipeline::default_cache_dir(root, None)
}

fn input_hashes(ctx: &StageContext<'_>) -> String {
    ctx.inputs
        .iter()
        .map(|i| match i {
            ResolvedInput::Stage { stage, key, .. } => format!("@{stage}={}", key.to_hex()),
            ResolvedInput::Files { entry, hash, .. } => format!("{entry}={}", hash.to_hex()),
        })
        .collect::<Vec<_>>()
        .join(";")
}

fn open_table(dirs: Vec<PathBuf>, filter: Option<String>) -> Result<Arc<Table>, TrainError> {
    let table = Table::open(&TableSpec { dirs, columns: Vec::new(), filter: filter.clone() })?;
    if table.is_empty() {
        return Err(TrainError::config(
            format!("no row of {} passes the filter `{}`", table.origin(), filter.unwrap_or_default()),
            "check the filter's column names and values with `actionbench sql`",
        ));
    }
    Ok(Arc::new(table))
}

fn run_train<B: AutodiffBackend>(ctx: &StageContext<'_>, p: &TrainParams, device: &B::Device) -> StageResult {
    let dirs = shard_dirs(ctx, None, p.data.table.as_deref())?;
    let table = open_table(dirs, p.data.filter.clone())?;
    let ModelParams::Stgcn(model_config) = &p.model else {
        return Err(TrainError::config(
            "LART training from tracklet shards is not wired into the `train` stage yet",
            "train LART through actionbench_train::trainer::train with a tracklet loader",
        )
        .into());
    };
    let mut skel = p.data.skeleton.clone();
    skel.bodies = model_config.max_persons;
    let source = SkeletonSource::new(table, skel)?;
    let loader_config = LoaderConfig {
        batch_size: p.data.batch_size,
        drop_last: false,
        shuffle: true,
        threads: p.data.threads,
        prefetch: 2,
    };
    let mut loader = Loader::new(Arc::new(source), &loader_config, LoaderState::new(p.train.seed, 0))?;
    B::seed(device, p.train.seed);
    let model = StGcnTask::<B>::new(model_config, device);
    let checkpoints = cache_dir(ctx.root).join("train").join(ctx.key.to_hex());
    let mut progress = |done: u64, total: u64| ctx.progress(done, Some(total));
    let (model, report) = train(model, &mut loader, &p.train, Some(&checkpoints), device, &mut progress, None)?;
    let inner = model.valid();
    std::fs::write(ctx.out_dir.join("model.mpk"), module_bytes(&inner.model)?)?;
    let saved = SavedModel { model: p.model.clone(), data: p.data.clone(), train: p.train.clone() };
    let config_json = serde_json::to_string_pretty(&saved)?;
    std::fs::write(ctx.out_dir.join("model.json"), format!("{config_json}\n"))?;
    let who = RunIdentity { run_id: ctx.key.to_hex(), pipeline: ctx.pipeline.into(), stage: ctx.stage.into() };
    write_metrics(&ctx.out_dir.join("metrics"), &who, &report.metrics)?;
    let row = RunRow {
        model: "stgcn".into(),
        config_hash: actionbench_core::Fingerprint::of_bytes(config_json.as_bytes()).to_hex(),
        config: config_json,
        data_hashes: input_hashes(ctx),
        device: p.device.clone(),
        seed: p.train.seed,
        steps: report.steps,
        parameters: inner.num_params() as u64,
        resumed_from: report.resumed_from,
        final_loss: report.final_loss,
        seconds: report.seconds,
    };
    write_runs(&ctx.out_dir.join("runs"), &who, &row)?;
    // The run is complete: its checkpoints are no longer needed.
    let _ = std::fs::remove_dir_all(&checkpoints);
    Ok(())
}

impl StageKind for TrainStage {
    fn name(&self) -> &'static str {
        "train"
    }
    fn implementation_version(&self) -> u32 {
        1
    }
    fn canonical_params(&self, params: &toml::Table) -> Result<toml::Table, String> {
        let (p, canonical): (TrainParams, _) = typed_params(params)?;
        check_device(&p.device)?;
        check_model(&p.model)?;
        p.train.validate().map_err(|e| e.to_string())?;
        if p.data.batch_size == 0 {
            return Err("`data.batch-size` must be at least 1".into());
        }
        Ok(canonical)
    }
    fn run(&self, ctx: &StageContext<'_>) -> StageResult {
        let (p, _): (TrainParams, _) = typed_params(ctx.params)?;
        match p.device.as_str() {
            #[cfg(feature = "cuda")]
            "cuda" => run_train::<burn::backend::Autodiff<burn_cuda::Cuda>>(ctx, &p, &Default::default()),
            _ => run_train::<burn::backend::Autodiff<burn::backend::NdArray>>(ctx, &p, &Default::default()),
        }
    }
}

/// Params of `predict`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct PredictParams {
    /// `@stage` of the `train` stage (also in `inputs`).
    model: String,
    /// Table name inside the data inputs.
    #[serde(default)]
    table: Option<String>,
    /// Rows to predict, e.g. `xsub = 'val'`.
    #[serde(default)]
    filter: Option<String>,
    /// Samples per batch.
    #[serde(default = "default_batch")]
    batch_size: usize,
    #[serde(default = "default_device")]
    device: String,
}

fn model_dir(ctx: &StageContext<'_>, entry: &str) -> Result<PathBuf, TrainError> {
    let name = entry.strip_prefix('@').ok_or_else(|| {
        TrainError::config(format!("`model = \"{entry}\"` is not a stage reference"), "write `model = \"@train\"`")
    })?;
    for input in ctx.inputs {
        if let ResolvedInput::Stage { stage, paths, .. } = input
            && stage == name
        {
            if let Some(p) = paths.iter().find(|p| p.join("model.json").is_file()) {
                return Ok(p.clone());
            }
            return Err(TrainError::config(
                format!("stage `{name}` has no `model.json` in its output"),
                "point `model` at a `train` stage",
            ));
        }
    }
    Err(TrainError::config(
        format!("`model = \"{entry}\"` is not in the stage's `inputs`"),
        format!("add \"{entry}\" to `inputs` so the weights are part of the key"),
    ))
}

fn run_predict<B: Backend>(ctx: &StageContext<'_>, p: &PredictParams, device: &B::Device) -> StageResult {
    let dir = model_dir(ctx, &p.model)?;
    let saved: SavedModel = serde_json::from_str(&std::fs::read_to_string(dir.join("model.json"))?)
        .map_err(|e| TrainError::Checkpoint { path: dir.join("model.json"), message: e.to_string() })?;
    let ModelParams::Stgcn(config) = &saved.model else {
        return Err(TrainError::config(
            "`predict` for LART is not wired into the stage yet",
            "predict LART through actionbench_train::tasks::LartTask",
        )
        .into());
    };
    let weights = dir.join("model.mpk");
    let bytes = std::fs::read(&weights).map_err(|e| TrainError::io(&weights, e))?;
    let net = load_module_bytes(config.init::<B>(device), bytes, device, &weights)?;
    let mut task = StGcnTask::<B>::new(config, device);
    task.model = net;
    let name = p.model.trim_start_matches('@').to_string();
    let dirs = shard_dirs(ctx, Some(&name), p.table.as_deref())?;
    let table = open_table(dirs, p.filter.clone())?;
    let mut skel = saved.data.skeleton.clone();
    skel.augment = false;
    skel.bodies = config.max_persons;
    let source = SkeletonSource::new(table, skel)?;
    let loader_config =
        LoaderConfig { batch_size: p.batch_size, drop_last: false, shuffle: false, threads: 0, prefetch: 2 };
    let loader = Loader::new(Arc::new(source), &loader_config, LoaderState::new(0, 0))?;
    let total = loader.batches_per_epoch();
    let (mut ids, mut labels) = (Vec::new(), Vec::new());
    let mut scores = ListBuilder::new(Float32Builder::new()).with_field(Field::new("item", DataType::Float32, false));
    for (i, batch) in loader.enumerate() {
        let batch = batch?;
        let probs = softmax(task.logits(&batch, device)?, 1);
        let [n, k] = probs.dims();
        let values = probs.into_data().to_vec::<f32>().map_err(|e| TrainError::Arrow(format!("{e:?}")))?;
        for r in 0..n {
            scores.values().append_slice(&values[r * k..(r + 1) * k]);
            scores.append(true);
        }
        ids.extend(batch.sample_ids.iter().cloned());
        labels.extend(batch.labels.iter().copied());
        ctx.progress(i as u64 + 1, Some(total));
    }
    let schema = Arc::new(Schema::new(vec![
        Field::new("sample_id", DataType::Utf8, false),
        Field::new("label", DataType::Int64, false),
        Field::new("scores", DataType::List(Arc::new(Field::new("item", DataType::Float32, false))), false),
    ]));
    let columns: Vec<ArrayRef> =
        vec![Arc::new(StringArray::from(ids)), Arc::new(Int64Array::from(labels)), Arc::new(scores.finish())];
    let batch = RecordBatch::try_new(schema, columns)?;
    write_parquet(&ctx.out_dir.join("predictions.parquet"), &batch)?;
    Ok(())
}

/// One deterministic Parquet file (fixed `created_by`, zstd).
fn write_parquet(path: &Path, batch: &RecordBatch) -> Result<(), TrainError> {
    use parquet::arrow::ArrowWriter;
    use parquet::basic::{Compression, ZstdLevel};
    use parquet::file::properties::WriterProperties;
    let file = std::fs::File::create(path).map_err(|e| TrainError::io(path, e))?;
    let props = WriterProperties::builder()
        .set_created_by(actionbench_shards::CREATED_BY.into())
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .build();
    let mut w = ArrowWriter::try_new(file, batch.schema(), Some(props))?;
    w.write(batch)?;
    w.close()?;
    Ok(())
}

impl StageKind for PredictStage {
    fn name(&self) -> &'static str {
        "predict"
    }
    fn implementation_version(&self) -> u32 {
        1
    }
    fn canonical_params(&self, params: &toml::Table) -> Result<toml::Table, String> {
        let (p, canonical): (PredictParams, _) = typed_params(params)?;
        check_device(&p.device)?;
        if !p.model.starts_with('@') {
            return Err(format!("`model` must name the train stage as \"@stage\", not \"{}\"", p.model));
        }
        if p.batch_size == 0 {
            return Err("`batch-size` must be at least 1".into());
        }
        Ok(canonical)
    }
    fn run(&self, ctx: &StageContext<'_>) -> StageResult {
        let (p, _): (PredictParams, _) = typed_params(ctx.params)?;
        match p.device.as_str() {
            #[cfg(feature = "cuda")]
            "cuda" => run_predict::<burn_cuda::Cuda>(ctx, &p, &Default::default()),
            _ => run_predict::<burn::backend::NdArray>(ctx, &p, &Default::default()),
        }
    }
}
