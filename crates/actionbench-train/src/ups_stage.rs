//! UPS in the `train` and `predict` stages: the task sources, the training
//! regimes (joint with task rotation then per-task fine-tuning, or each
//! task alone) and greedy-decoded predictions.
//!
//! ```toml
//! [stages.train.params]
//! model = { kind = "ups", num-classes = 20, size = "tiny", frames = 32 }
//! data = { batch-size = 32, ups = { regime = "joint", iterations = 100, finetune = { epochs = 1, lr = 0.0005 }, tasks = [
//!   { task = "pose", from = "@h36m_cpn", targets = "@h36m_3d", cameras = "@data/h36m/cameras.json", filter = "split = 'train'" },
//!   { task = "action2d", from = "@kinetics", filter = "split = 'train'" },
//!   { task = "early", from = "@ntu", filter = "xsub = 'train'" },
//!   { task = "action3d", from = "@ntu", filter = "xsub = 'train'" },
//! ] } }
//! ```
//!
//! `joint` writes `model.mpk` (the joint model) and `model-<task>.mpk` per
//! fine-tuned task; `separate` writes `model-<task>.mpk` only. `predict`
//! with `ups = { task = …, from = …, filter = … }` uses the task's own
//! weights when there are some, the joint ones otherwise.

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use actionbench_loader::{
    HostBatch, Loader, LoaderConfig, LoaderState, Mixture, MixtureMode, MixtureSource, SampleSource, SkeletonConfig,
    SkeletonSource, Table, TableSpec,
};
use actionbench_models::{Decoded, Routing, Ups, UpsConfig, UpsTask};
use actionbench_pipeline::{ResolvedInput, StageContext};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Tensor, TensorData};
use serde::{Deserialize, Serialize};

use crate::checkpoint::{load_module_bytes, module_bytes};
use crate::error::TrainError;
use crate::lifting::{LiftSource, read_cameras};
use crate::tasks::{UpsTrainTask, ups_layout};
use crate::trainer::{MetricRow, TrainReport, chain_order, train};

type StageResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

/// How a UPS run trains.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum UpsRegime {
    /// The tasks take turns batch by batch (§3.5), then each is fine-tuned
    /// alone from the joint model (`UPS`).
    Joint,
    /// Each task alone, from scratch (`UPS_separate`).
    Separate,
}

/// Fine-tuning after joint training.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Finetune {
    /// Epochs of `iterations` batches, per task.
    pub epochs: u64,
    /// Peak learning rate (cosine to `min-lr`, no warm-up).
    pub lr: f64,
}

fn one() -> usize {
    1
}

fn is_zero(v: &usize) -> bool {
    *v == 0
}

/// One task's data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct UpsTaskData {
    /// `pose`, `action2d`, `early` or `action3d`.
    pub task: UpsTask,
    /// `@stage` whose table feeds the task (the 2D table for `pose`).
    pub from: String,
    /// Table name inside that stage's output when it holds several.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table: Option<String>,
    /// SQL `WHERE` clause over the table.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
    /// `pose`: `@stage` of the matching 3D table.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub targets: Option<String>,
    /// `pose`: the camera file, an entry of `inputs` or `@stage/path`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cameras: Option<String>,
    /// `pose`: a window centres on every `stride`-th frame.
    #[serde(default = "one")]
    pub stride: usize,
    /// Action tasks: the table's label `l` is action token `label-offset +
    /// l` (datasets with their own class lists share one vocabulary:
    /// NTU120 at 0, Kinetics-400 at 120, with `num-classes = 520`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub label_offset: usize,
    /// Action tasks: skeleton decoding (`frames` follows the model, one
    /// body). `early` draws its observation ratio from `observe` (default
    /// `[0.2, 0.4, 0.6]`; predict with one ratio).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skeleton: Option<SkeletonConfig>,
}

/// The tasks of a UPS run and how it trains.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct UpsData {
    /// `joint` or `separate`.
    pub regime: UpsRegime,
    /// Batches per epoch: all tasks' together in joint training, one
    /// task's in fine-tuning and in `separate`.
    pub iterations: u64,
    /// `joint` only: fine-tune every task afterwards.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finetune: Option<Finetune>,
    /// The tasks, in rotation order.
    pub tasks: Vec<UpsTaskData>,
}

impl UpsData {
    /// Checks the values.
    pub fn validate(&self) -> Result<(), String> {
        if self.tasks.is_empty() || self.iterations == 0 {
            return Err("`data.ups` needs at least one task and `iterations` >= 1".into());
        }
        for (i, t) in self.tasks.iter().enumerate() {
            if self.tasks[..i].iter().any(|o| o.task == t.task) {
                return Err(format!("task `{}` is listed twice in `data.ups.tasks`", t.task.name()));
            }
            t.validate()?;
        }
        if self.regime == UpsRegime::Separate && self.finetune.is_some() {
            return Err("`finetune` follows joint training; `regime = \"separate\"` has none".into());
        }
        if let Some(f) = &self.finetune
            && (f.epochs == 0 || !(f.lr > 0.0 && f.lr.is_finite()))
        {
            return Err("`finetune` needs `epochs` >= 1 and a positive `lr`".into());
        }
        Ok(())
    }
}

impl UpsTaskData {
    fn validate(&self) -> Result<(), String> {
        let name = self.task.name();
        if !self.from.starts_with('@') {
            return Err(format!("task `{name}`: `from` must name a stage as \"@stage\", not \"{}\"", self.from));
        }
        if self.task == UpsTask::Pose && (self.targets.is_none() || self.cameras.is_none()) {
            return Err("task `pose` needs `targets` (the 3D table's `@stage`) and `cameras` (the camera file)".into());
        }
        if self.stride == 0 {
            return Err(format!("task `{name}`: `stride` must be at least 1"));
        }
        if self.task == UpsTask::Pose && self.label_offset != 0 {
            return Err("task `pose` has no labels; `label-offset` is for the action tasks".into());
        }
        Ok(())
    }
}

/// Shard directories of stage `entry` (`@name`) among the inputs.
fn stage_tables(ctx: &StageContext<'_>, entry: &str, table: Option<&str>) -> Result<Vec<PathBuf>, TrainError> {
    let name = entry.trim_start_matches('@');
    let paths = ctx
        .inputs
        .iter()
        .find_map(|i| match i {
            ResolvedInput::Stage { stage, paths, .. } if stage == name => Some(paths),
            _ => None,
        })
        .ok_or_else(|| {
            TrainError::config(
                format!("`{entry}` is not in the stage's `inputs`"),
                format!("add \"{entry}\" to `inputs` so its data is part of the key"),
            )
        })?;
    let mut dirs: Vec<PathBuf> = paths.iter().flat_map(|p| actionbench_pipeline::shard_dirs_under(p, 3)).collect();
    dirs.retain(|d| {
        let n = d.file_name().and_then(|n| n.to_str()).unwrap_or("");
        !matches!(n, "metrics" | "runs" | "rejects") && table.is_none_or(|t| t == n)
    });
    if dirs.is_empty() {
        return Err(TrainError::config(
            format!("stage `{name}` has no shard table{}", table.map(|t| format!(" named `{t}`")).unwrap_or_default()),
            "point `from` / `targets` at an `ingest.*` stage",
        ));
    }
    Ok(dirs)
}

/// A file named by an `inputs` entry or by `@stage/path`.
fn input_file(ctx: &StageContext<'_>, entry: &str) -> Result<PathBuf, TrainError> {
    if let Some(rest) = entry.strip_prefix('@') {
        let (name, sub) = rest.split_once('/').unwrap_or((rest, ""));
        for input in ctx.inputs {
            if let ResolvedInput::Stage { stage, paths, .. } = input
                && stage == name
            {
                if let Some(p) = paths.iter().map(|p| p.join(sub)).find(|p| p.is_file()) {
                    return Ok(p);
                }
                return Err(TrainError::config(
                    format!("stage `{name}` has no file `{sub}`"),
                    "check the path after the stage name",
                ));
            }
        }
    } else if ctx.inputs.iter().any(|i| matches!(i, ResolvedInput::Files { entry: e, .. } if e == entry)) {
        return Ok(ctx.root.join(entry));
    }
    Err(TrainError::config(
        format!("`{entry}` is not one of the stage's `inputs`"),
        format!("add \"{}\" to `inputs` so the file is part of the key", entry.split('/').next().unwrap_or(entry)),
    ))
}

fn open(dirs: Vec<PathBuf>, filter: Option<String>) -> Result<Arc<Table>, TrainError> {
    let table = Table::open(&TableSpec { dirs, columns: Vec::new(), filter: filter.clone() })?;
    if table.is_empty() {
        return Err(TrainError::config(
            format!("no row of {} passes the filter `{}`", table.origin(), filter.unwrap_or_default()),
            "check the filter's column names and values with `actionbench sql`",
        ));
    }
    Ok(Arc::new(table))
}

/// The samples of one task: skeletons (action tasks) or lifting windows.
pub(crate) fn task_source(
    ctx: &StageContext<'_>,
    data: &UpsTaskData,
    model: &UpsConfig,
    augment: bool,
) -> Result<Arc<dyn SampleSource>, TrainError> {
    let dirs = stage_tables(ctx, &data.from, data.table.as_deref())?;
    let table = open(dirs, data.filter.clone())?;
    if data.task == UpsTask::Pose {
        let targets = data.targets.as_deref().expect("validated");
        let positions = open(stage_tables(ctx, targets, None)?, None)?;
        let cameras = read_cameras(&input_file(ctx, data.cameras.as_deref().expect("validated"))?)?;
        let source = LiftSource::new(&table, &positions, &cameras, model.frames, data.stride)?;
        return Ok(Arc::new(source));
    }
    let mut skel = data.skeleton.clone().unwrap_or_else(|| match data.task {
        UpsTask::Action2d => SkeletonConfig {
            joints_column: "pose".into(),
            rotate_degrees: 0.0,
            flip_pairs: Vec::new(),
            ..Default::default()
        },
        _ => SkeletonConfig::default(),
    });
    skel.frames = model.frames;
    skel.bodies = 1;
    skel.augment = augment;
    if data.task == UpsTask::Early && skel.observe.is_empty() {
        skel.observe = vec![0.2, 0.4, 0.6];
    }
    Ok(Arc::new(SkeletonSource::new(table, skel)?))
}

/// Batches of `tasks` in rotation, `iterations` per epoch.
fn rotation(
    ctx: &StageContext<'_>,
    p: &crate::TrainParams,
    data: &UpsData,
    model: &UpsConfig,
    tasks: &[UpsTask],
) -> Result<Loader, TrainError> {
    let mut sources = Vec::new();
    for t in tasks {
        let entry = data.tasks.iter().find(|d| d.task == *t).expect("a listed task");
        sources.push(MixtureSource {
            name: t.name().into(),
            source: task_source(ctx, entry, model, true)?,
            tasks: vec![t.name().into()],
        });
    }
    let batch = p.data.batch_size;
    let mixture = Mixture::new(sources, MixtureMode::TaskRotation, data.iterations, batch)?;
    let config =
        LoaderConfig { batch_size: batch, drop_last: false, shuffle: true, threads: p.data.threads, prefetch: 2 };
    Ok(mixture.into_loader(&config, LoaderState::new(p.train.seed, 0))?)
}

/// The `[vocab, d_text]` text features a config names, read from `path`.
pub(crate) fn read_text_features(path: &Path, vocab: usize) -> Result<(Vec<f32>, [usize; 2]), TrainError> {
    let array = actionbench_formats::npy::read_npy(path).map_err(|e| {
        TrainError::config(e.to_string(), "write the features with numpy: np.save(path, features.astype(np.float32))")
    })?;
    match array.shape.as_slice() {
        [rows, cols] if *rows == vocab && *cols > 0 => {
            Ok((array.data.iter().map(|v| *v as f32).collect(), [*rows, *cols]))
        }
        shape => Err(TrainError::config(
            format!(
                "`{}` has shape {shape:?}; the vocabulary has {vocab} tokens, so it must be [{vocab}, d]",
                path.display()
            ),
            "compute one row per prompt of `actionbench_models::Vocab::prompts` (docs/training.md, \"UPS\")",
        )),
    }
}

/// One finished training phase.
pub(crate) struct Phase {
    pub name: String,
    pub report: TrainReport,
}

/// Trains per the regime; writes the weights and returns the phases and
/// the parameter count.
pub(crate) fn run_ups<B: AutodiffBackend>(
    ctx: &StageContext<'_>,
    p: &crate::TrainParams,
    data: &UpsData,
    config: &UpsConfig,
    device: &B::Device,
) -> Result<(Vec<Phase>, usize), Box<dyn std::error::Error + Send + Sync>> {
    let vocab = config.vocab();
    let text = match &config.text_features {
        Some(entry) => {
            let path = input_file(ctx, entry)?;
            std::fs::copy(&path, ctx.out_dir.join("text-features.npy")).map_err(|e| TrainError::io(&path, e))?;
            Some(read_text_features(&path, vocab.len())?)
        }
        None => None,
    };
    let tasks: Vec<UpsTask> = data.tasks.iter().map(|t| t.task).collect();
    let with_offsets = |only: &[UpsTask]| -> Vec<(UpsTask, usize)> {
        data.tasks.iter().filter(|t| only.contains(&t.task)).map(|t| (t.task, t.label_offset)).collect()
    };
    let checkpoints = ctx.cache_dir.join("train").join(ctx.key.to_hex());
    let mut phases = Vec::new();
    let mut progress = |done: u64, total: u64| ctx.progress(done, Some(total));
    let mut parameters = 0;
    match data.regime {
        UpsRegime::Joint => {
            let model = UpsTrainTask::new(config.init::<B>(text.clone(), device), config, with_offsets(&tasks), device);
            let mut loader = rotation(ctx, p, data, config, &tasks)?;
            let (joint, report) =
                train(model, &mut loader, &p.train, Some(&checkpoints.join("joint")), device, &mut progress, None)?;
            let joint = joint.model;
            std::fs::write(ctx.out_dir.join("model.mpk"), module_bytes(&burn::module::AutodiffModule::valid(&joint))?)?;
            parameters = burn::module::Module::num_params(&joint);
            phases.push(Phase { name: "joint".into(), report });
            if let Some(ft) = &data.finetune {
                let mut ft_config = p.train.clone();
                ft_config.lr = ft.lr;
                ft_config.min_lr = ft_config.min_lr.min(ft.lr);
                ft_config.epochs = ft.epochs;
                ft_config.warmup_steps = 0;
                for &t in &tasks {
                    let model = UpsTrainTask::new(joint.clone(), config, with_offsets(&[t]), device);
                    let mut loader = rotation(ctx, p, data, config, &[t])?;
                    let dir = checkpoints.join(format!("finetune-{}", t.name()));
                    let (tuned, report) =
                        train(model, &mut loader, &ft_config, Some(&dir), device, &mut progress, None)?;
                    let bytes = module_bytes(&burn::module::AutodiffModule::valid(&tuned.model))?;
                    std::fs::write(ctx.out_dir.join(format!("model-{}.mpk", t.name())), bytes)?;
                    phases.push(Phase { name: format!("finetune-{}", t.name()), report });
                }
            }
        }
        UpsRegime::Separate => {
            for &t in &tasks {
                // The same initial weights for every task.
                B::seed(device, p.train.seed);
                let model =
                    UpsTrainTask::new(config.init::<B>(text.clone(), device), config, with_offsets(&[t]), device);
                let mut loader = rotation(ctx, p, data, config, &[t])?;
                let dir = checkpoints.join(format!("separate-{}", t.name()));
                let (alone, report) = train(model, &mut loader, &p.train, Some(&dir), device, &mut progress, None)?;
                parameters = burn::module::Module::num_params(&alone.model);
                let bytes = module_bytes(&burn::module::AutodiffModule::valid(&alone.model))?;
                std::fs::write(ctx.out_dir.join(format!("model-{}.mpk", t.name())), bytes)?;
                phases.push(Phase { name: format!("separate-{}", t.name()), report });
            }
        }
    }
    Ok((phases, parameters))
}

/// The phases as one report: metrics of later phases carry the phase in
/// their split (`train:finetune-pose`), steps and seconds add up, the data
/// order chains.
pub(crate) fn merge_phases(phases: Vec<Phase>) -> TrainReport {
    let mut out = TrainReport {
        steps: 0,
        resumed_from: None,
        metrics: Vec::new(),
        seconds: 0.0,
        final_loss: f64::NAN,
        data_order: String::new(),
    };
    for (i, phase) in phases.into_iter().enumerate() {
        let r = phase.report;
        out.resumed_from = out.resumed_from.or(r.resumed_from.map(|s| out.steps + s));
        out.steps += r.steps;
        out.seconds += r.seconds;
        out.final_loss = r.final_loss;
        out.data_order = chain_order(&out.data_order, &[r.data_order]);
        let suffix = if i == 0 && phase.name == "joint" { String::new() } else { format!(":{}", phase.name) };
        out.metrics.extend(r.metrics.into_iter().map(|m| MetricRow { split: format!("{}{suffix}", m.split), ..m }));
    }
    out
}

/// What `predict` reports about its decodes (`decode.json`).
#[derive(Debug, Default, Serialize)]
struct DecodeReport {
    task: String,
    weights: String,
    samples: usize,
    /// Samples whose unrestricted greedy decode is not a well-formed answer
    /// (scored with the decode restricted to well-formed sequences).
    malformed: usize,
    /// The first of them, with what is wrong.
    malformed_examples: Vec<String>,
    /// The encoder block of each layer.
    route: Vec<usize>,
    /// Pose: the error of quantising the ground truth alone.
    #[serde(skip_serializing_if = "Option::is_none")]
    dequantisation: Option<Dequantisation>,
}

/// The quantisation floor of the pose task.
#[derive(Debug, Default, Serialize)]
struct Dequantisation {
    /// MPJPE of the de-quantised ground truth against the ground truth, mm.
    mpjpe_mm: f64,
    /// Largest per-axis error, mm.
    max_axis_error_mm: f64,
    /// Half a bin, mm (the bound inside the range).
    half_bin_mm: f64,
    /// Coordinates outside the range (clamped).
    clamped: usize,
}

impl DecodeReport {
    fn record(&mut self, id: &str, outcome: &actionbench_models::DecodeOutcome) {
        self.samples += 1;
        if let Err(e) = &outcome.free {
            self.malformed += 1;
            if self.malformed_examples.len() < 10 {
                self.malformed_examples.push(format!("{id}: {e}"));
            }
        }
    }
}

/// `predict` for a UPS model.
pub(crate) fn predict_ups<B: Backend>(
    ctx: &StageContext<'_>,
    dir: &Path,
    config: &UpsConfig,
    data: &UpsTaskData,
    batch_size: usize,
    device: &B::Device,
) -> StageResult {
    data.validate()?;
    if data.label_offset >= config.num_classes {
        return Err(TrainError::config(
            format!(
                "`label-offset = {}` is not below the model's `num-classes = {}`",
                data.label_offset, config.num_classes
            ),
            "label offsets place a dataset's classes inside the vocabulary's action tokens",
        )
        .into());
    }
    let vocab = config.vocab();
    let text = match config.text_features {
        Some(_) => Some(read_text_features(&dir.join("text-features.npy"), vocab.len())?),
        None => None,
    };
    let task = data.task;
    let own = dir.join(format!("model-{}.mpk", task.name()));
    let weights = if own.is_file() { own } else { dir.join("model.mpk") };
    if !weights.is_file() {
        return Err(TrainError::config(
            format!("the train stage has no weights for task `{}`", task.name()),
            "train that task (list it in `data.ups.tasks`)",
        )
        .into());
    }
    let bytes = std::fs::read(&weights).map_err(|e| TrainError::io(&weights, e))?;
    let model: Ups<B> = load_module_bytes(config.init::<B>(text, device), bytes, device, &weights)?;
    let source = task_source(ctx, data, config, false)?;
    let loader_config = LoaderConfig { batch_size, drop_last: false, shuffle: false, threads: 0, prefetch: 2 };
    let loader = Loader::new(source.clone(), &loader_config, LoaderState::new(0, 0))?;
    let report = RefCell::new(DecodeReport {
        task: task.name().into(),
        weights: weights.file_name().and_then(|n| n.to_str()).unwrap_or_default().into(),
        ..Default::default()
    });
    let joints_of = |batch: &HostBatch| -> Result<Tensor<B, 4>, TrainError> {
        let shape = batch.tensors.get("joints").map(|t| t.shape.clone()).unwrap_or_default();
        let fits = |c: usize, t: usize, v: usize| c <= 3 && t == config.frames && v <= config.max_joints;
        let [n, c, t, v, 1] = shape[..] else {
            return Err(TrainError::Batch {
                sample: batch.sample_ids.first().cloned().unwrap_or_default(),
                message: format!("`joints` has shape {shape:?}; UPS takes [N, C, T, V, 1]"),
            });
        };
        if !fits(c, t, v) {
            return Err(TrainError::Batch {
                sample: batch.sample_ids.first().cloned().unwrap_or_default(),
                message: format!(
                    "`joints` has shape {shape:?}; the model takes [N, C <= 3, {}, V <= {}, 1]",
                    config.frames, config.max_joints
                ),
            });
        }
        Ok(batch.tensor::<B, 5>("joints", device)?.reshape([n, c, t, v]))
    };
    if task != UpsTask::Pose {
        let logits = |batch: &HostBatch| -> crate::Result<Tensor<B, 2>> {
            let encoded = model.encode(joints_of(batch)?, ups_layout(task), task, &Routing::Argmax);
            let outcomes = model.greedy(&encoded, &vocab, config.pose_joints);
            let mut r = report.borrow_mut();
            r.route.clone_from(&encoded.route);
            // The task's own classes: its slice of the action tokens.
            let (from, k) = (data.label_offset, vocab.classes - data.label_offset);
            let mut rows = Vec::with_capacity(outcomes.len() * k);
            for (id, o) in batch.sample_ids.iter().zip(&outcomes) {
                r.record(id, o);
                rows.extend_from_slice(&o.first_logits[from..from + k]);
            }
            Ok(Tensor::from_data(TensorData::new(rows, [outcomes.len(), k]), device))
        };
        crate::stages::predict_classes(ctx, logits, loader, 1)?;
        return write_report(ctx, &report.into_inner());
    }
    let (mut pred, mut gt, mut actions) = (Vec::new(), Vec::new(), String::new());
    let mut order = String::new();
    let total = loader.batches_per_epoch();
    let mut deq = Dequantisation { half_bin_mm: f64::from(vocab.bin_width()) * 500.0, ..Default::default() };
    let mut deq_frames = 0usize;
    for (i, batch) in loader.enumerate() {
        let batch = batch?;
        order = chain_order(&order, &batch.sample_ids);
        let encoded = model.encode(joints_of(&batch)?, ups_layout(task), task, &Routing::Argmax);
        let outcomes = model.greedy(&encoded, &vocab, config.pose_joints);
        let target = batch.tensors.get("target3d").ok_or_else(|| TrainError::Batch {
            sample: batch.sample_ids.first().cloned().unwrap_or_default(),
            message: "no tensor `target3d`".into(),
        })?;
        let mut r = report.borrow_mut();
        r.route.clone_from(&encoded.route);
        let j = config.pose_joints;
        for (b, (id, o)) in batch.sample_ids.iter().zip(&outcomes).enumerate() {
            r.record(id, o);
            let Ok(Decoded::Pose(joints)) = vocab.parse(task, j, &o.tokens) else {
                unreachable!("the restricted decode is well-formed")
            };
            let truth = &target.data[b * 3 * j..(b + 1) * 3 * j];
            pred.extend(joints.iter().flat_map(|p| p.map(|v| f64::from(v) * 1000.0)));
            gt.extend(truth.iter().map(|v| f64::from(*v) * 1000.0));
            // The ids are `S9/Walking 1/54138969#00012`: the action is the middle part.
            actions.push_str(id.split('/').nth(1).unwrap_or(""));
            actions.push('\n');
            // Quantisation floor.
            let mut err = 0.0;
            for q in truth.chunks(3) {
                let mut d2 = 0.0;
                for v in q {
                    let back = vocab.dequantise(vocab.quantise(*v));
                    let e = f64::from((back - v).abs()) * 1000.0;
                    deq.max_axis_error_mm = deq.max_axis_error_mm.max(e);
                    deq.clamped += usize::from(v.abs() > vocab.range);
                    d2 += e * e;
                }
                err += d2.sqrt();
            }
            deq.mpjpe_mm += err / j as f64;
            deq_frames += 1;
        }
        ctx.progress(i as u64 + 1, Some(total));
    }
    deq.mpjpe_mm /= deq_frames.max(1) as f64;
    let frames = deq_frames;
    let j = config.pose_joints;
    let write = |name: &str, values: &[f64]| -> Result<(), TrainError> {
        let path = ctx.out_dir.join(name);
        let bytes = actionbench_formats::npy::write_npy_bytes(
            &[frames, j, 3],
            values,
            actionbench_formats::npy::NpyDtype::Float32,
        );
        std::fs::write(&path, bytes).map_err(|e| TrainError::io(&path, e))
    };
    write("pred.npy", &pred)?;
    write("gt.npy", &gt)?;
    let path = ctx.out_dir.join("actions.txt");
    std::fs::write(&path, actions).map_err(|e| TrainError::io(&path, e))?;
    crate::stages::write_order(ctx, &order)?;
    let mut r = report.into_inner();
    r.dequantisation = Some(deq);
    write_report(ctx, &r)
}

fn write_report(ctx: &StageContext<'_>, report: &DecodeReport) -> StageResult {
    let path = ctx.out_dir.join("decode.json");
    std::fs::write(&path, format!("{}\n", serde_json::to_string_pretty(report)?))
        .map_err(|e| TrainError::io(&path, e))?;
    Ok(())
}
