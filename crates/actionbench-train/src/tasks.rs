//! The trainable models with their losses: ST-GCN, MViTv2 and R3D (single-label
//! cross-entropy), LART (multi-label BCE on the person of interest's
//! tokens, with random token masking) and UPS (token-level NLL of the
//! target sequence of the batch's task).

use actionbench_loader::HostBatch;
use actionbench_models::{
    FrameLinear, FrameLinearConfig, Lart, LartConfig, LartInput, Layout, Mvit, MvitConfig, R3d, R3dConfig, Routing,
    StGcn, StGcnConfig, Ups, UpsConfig, UpsTask,
};
use burn::module::Module;
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Bool, Int, Tensor, TensorData};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::error::{Result, TrainError};
use crate::losses::{bce_with_logits_per_sample, cross_entropy_per_sample, masked_mean};
use crate::multitask::{LossCombiner, Weighting};
use crate::trainer::{StepLosses, TrainModel};

pub(crate) fn batch_error(batch: &HostBatch, message: impl Into<String>) -> TrainError {
    TrainError::Batch { sample: batch.sample_ids.first().cloned().unwrap_or_default(), message: message.into() }
}

fn shape_of(batch: &HostBatch, name: &str) -> Result<Vec<usize>> {
    batch.tensors.get(name).map(|t| t.shape.clone()).ok_or_else(|| {
        batch_error(
            batch,
            format!("no tensor `{name}` (has: {})", batch.tensors.keys().cloned().collect::<Vec<_>>().join(", ")),
        )
    })
}

/// ST-GCN with its loss.
#[derive(Module, Debug)]
pub struct StGcnTask<B: Backend> {
    /// The network.
    pub model: StGcn<B>,
    /// Single-task combiner (kept for a uniform trainer).
    pub combiner: LossCombiner<B>,
    #[module(skip)]
    config: StGcnConfig,
}

impl<B: Backend> StGcnTask<B> {
    /// A fresh model.
    pub fn new(config: &StGcnConfig, device: &B::Device) -> Self {
        Self {
            model: config.init(device),
            combiner: LossCombiner::new(Weighting::Average, 1, device),
            config: config.clone(),
        }
    }

    /// Checks `joints` is `[N, C, T, V, M]` with the model's C, V, M.
    pub fn input(&self, batch: &HostBatch, device: &B::Device) -> Result<Tensor<B, 5>> {
        let shape = shape_of(batch, "joints")?;
        let want_v = actionbench_models::Graph::new(self.config.layout).num_nodes;
        match shape.as_slice() {
            [_, c, _, v, m] if *c == self.config.in_channels && *v == want_v && *m == self.config.max_persons => {}
            _ => {
                return Err(batch_error(
                    batch,
                    format!(
                        "`joints` has shape {shape:?}; the model takes [N, {}, T, {want_v}, {}]",
                        self.config.in_channels, self.config.max_persons
                    ),
                ));
            }
        }
        Ok(batch.tensor::<B, 5>("joints", device)?)
    }

    /// Class logits `[N, K]`.
    pub fn logits(&self, batch: &HostBatch, device: &B::Device) -> Result<Tensor<B, 2>> {
        Ok(self.model.forward(self.input(batch, device)?))
    }
}

/// The video classifiers: clips `[N, 3, T, S, S]` → class logits.
// One network per run, built once: the variants' size difference costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum VideoNet<B: Backend> {
    /// MViTv2.
    Mvit(Mvit<B>),
    /// The frame-averaged linear baseline.
    FrameLinear(FrameLinear<B>),
    /// ResNet-3D.
    R3d(R3d<B>),
}

impl<B: Backend> VideoNet<B> {
    /// A fresh network for `model` (a video model), with its
    /// `(classes, frames, crop)`.
    pub fn new(config: VideoConfig<'_>, device: &B::Device) -> (Self, [usize; 3]) {
        match config {
            VideoConfig::Mvit(c) => (Self::Mvit(c.init(device)), [c.num_classes, c.num_frames, c.crop_size]),
            VideoConfig::FrameLinear(c) => {
                (Self::FrameLinear(c.init(device)), [c.num_classes, c.num_frames, c.crop_size])
            }
            VideoConfig::R3d(c) => (Self::R3d(c.init(device)), [c.num_classes, c.num_frames, c.crop_size]),
        }
    }

    fn forward(&self, clip: Tensor<B, 5>) -> Tensor<B, 2> {
        match self {
            Self::Mvit(m) => m.forward(clip),
            Self::FrameLinear(m) => m.forward(clip),
            Self::R3d(m) => m.forward(clip),
        }
    }
}

/// The config of a video model.
#[derive(Debug, Clone, Copy)]
pub enum VideoConfig<'a> {
    /// MViTv2.
    Mvit(&'a MvitConfig),
    /// The frame-linear baseline.
    FrameLinear(&'a FrameLinearConfig),
    /// ResNet-3D.
    R3d(&'a R3dConfig),
}

/// A video classifier with its loss (single-label cross-entropy).
#[derive(Module, Debug)]
pub struct VideoTask<B: Backend> {
    /// The network.
    pub model: VideoNet<B>,
    /// Single-task combiner (kept for a uniform trainer).
    pub combiner: LossCombiner<B>,
    /// `(classes, frames, crop)`.
    #[module(skip)]
    dims: [usize; 3],
}

impl<B: Backend> VideoTask<B> {
    /// A fresh model.
    pub fn new(config: VideoConfig<'_>, device: &B::Device) -> Self {
        let (model, dims) = VideoNet::new(config, device);
        Self { model, combiner: LossCombiner::new(Weighting::Average, 1, device), dims }
    }

    /// Class logits `[N, K]` of the batch's `clip`, checked to be `[N, 3, T, S, S]`.
    pub fn logits(&self, batch: &HostBatch, device: &B::Device) -> Result<Tensor<B, 2>> {
        let [_, t, s] = self.dims;
        check_clip(batch, t, s)?;
        Ok(self.model.forward(batch.tensor::<B, 5>("clip", device)?))
    }
}

/// Checks that the batch's `clip` is `[N, 3, t, s, s]`.
pub(crate) fn check_clip(batch: &HostBatch, t: usize, s: usize) -> Result<()> {
    let shape = shape_of(batch, "clip")?;
    if !matches!(shape.as_slice(), [_, 3, bt, bh, bw] if *bt == t && *bh == s && *bw == s) {
        return Err(batch_error(
            batch,
            format!(
                "`clip` has shape {shape:?}; the model takes [N, 3, {t}, {s}, {s}] (model num-frames and crop-size)"
            ),
        ));
    }
    Ok(())
}

impl<B: AutodiffBackend> TrainModel<B> for VideoTask<B> {
    fn task_names(&self) -> Vec<String> {
        vec!["action".into()]
    }
    fn combiner(&self) -> &LossCombiner<B> {
        &self.combiner
    }
    fn losses(&self, batch: &HostBatch, _rng: &mut ChaCha8Rng, device: &B::Device) -> Result<StepLosses<B>> {
        let logits = match &self.model {
            // R3D's frozen stages run outside autodiff.
            VideoNet::R3d(m) => {
                let [_, t, s] = self.dims;
                check_clip(batch, t, s)?;
                m.forward_train(batch.tensor::<B, 5>("clip", device)?)
            }
            _ => self.logits(batch, device)?,
        };
        single_label_losses(logits, batch, self.dims[0], device)
    }
}

/// Cross-entropy over the samples with a usable label, and how many the
/// logits get right.
pub(crate) fn single_label_losses<B: AutodiffBackend>(
    logits: Tensor<B, 2>,
    batch: &HostBatch,
    classes: usize,
    device: &B::Device,
) -> Result<StepLosses<B>> {
    let mask = label_mask(batch, classes, "action")?;
    let targets: Tensor<B, 1, Int> = batch.labels_tensor(device);
    let pred = logits.clone().argmax(1).into_data().to_vec::<i64>().unwrap_or_default();
    let correct = pred.iter().zip(&batch.labels).zip(&mask).filter(|((p, l), m)| **m && p == l).count();
    let counted = mask.iter().filter(|m| **m).count();
    let loss = masked_mean(cross_entropy_per_sample(logits, targets), &mask);
    Ok(StepLosses { tasks: vec![loss], correct: Some((correct, counted)) })
}

/// Which samples carry a usable single label (a negative label, or one the
/// source marks unavailable, means "unlabelled"). A usable label the model
/// has no class for is an error: skipping it would quietly train on a
/// subset of the classes.
pub(crate) fn label_mask(batch: &HostBatch, classes: usize, task: &str) -> Result<Vec<bool>> {
    let avail = batch.label_masks.get(task);
    let mask: Vec<bool> = batch.labels.iter().enumerate().map(|(i, &l)| l >= 0 && avail.is_none_or(|m| m[i])).collect();
    if let Some(i) = (0..mask.len()).find(|&i| mask[i] && batch.labels[i] as usize >= classes) {
        return Err(batch_error(
            batch,
            format!(
                "sample `{}` has label {}, which has no class in a model with num-classes = {classes}; raise \
                 `num-classes` above the largest label (labels are 0-based class indices; `SELECT max(label)` on \
                 the table shows it)",
                batch.sample_ids.get(i).map_or("", String::as_str),
                batch.labels[i]
            ),
        ));
    }
    Ok(mask)
}

impl<B: AutodiffBackend> TrainModel<B> for StGcnTask<B> {
    fn task_names(&self) -> Vec<String> {
        vec!["action".into()]
    }
    fn combiner(&self) -> &LossCombiner<B> {
        &self.combiner
    }
    fn losses(&self, batch: &HostBatch, _rng: &mut ChaCha8Rng, device: &B::Device) -> Result<StepLosses<B>> {
        single_label_losses(self.logits(batch, device)?, batch, self.config.num_classes, device)
    }
}

/// `pose`, `valid` as booleans, `[N, T, P]`, and `appearance` if used.
type LartInputs<B> = (Tensor<B, 4>, Vec<bool>, [usize; 3], Option<Tensor<B, 4>>);

/// LART with its loss.
#[derive(Module, Debug)]
pub struct LartTask<B: Backend> {
    /// The network.
    pub model: Lart<B>,
    /// Single-task combiner.
    pub combiner: LossCombiner<B>,
    #[module(skip)]
    config: LartConfig,
}

fn bool_tensor<B: Backend, const D: usize>(
    values: Vec<bool>,
    shape: [usize; D],
    device: &B::Device,
) -> Tensor<B, D, Bool> {
    Tensor::from_data(TensorData::new(values, shape), device)
}

impl<B: Backend> LartTask<B> {
    /// A fresh model.
    pub fn new(config: &LartConfig, device: &B::Device) -> Self {
        Self {
            model: config.init(device),
            combiner: LossCombiner::new(Weighting::Average, 1, device),
            config: config.clone(),
        }
    }

    /// The config.
    pub fn config(&self) -> &LartConfig {
        &self.config
    }

    /// `pose` `[N, T, P, D]`, `valid` as booleans, and `appearance` if used.
    fn inputs(&self, batch: &HostBatch, device: &B::Device) -> Result<LartInputs<B>> {
        let shape = shape_of(batch, "pose")?;
        let [n, t, p, d] = match shape.as_slice() {
            [n, t, p, d] if *d == self.config.pose_dim && *p == self.config.max_people => [*n, *t, *p, *d],
            _ => {
                return Err(batch_error(
                    batch,
                    format!(
                        "`pose` has shape {shape:?}; the model takes [N, T, {}, {}]",
                        self.config.max_people, self.config.pose_dim
                    ),
                ));
            }
        };
        let _ = d;
        let valid = batch.tensors.get("valid").ok_or_else(|| batch_error(batch, "no tensor `valid` [N, T, P]"))?;
        if valid.shape != [n, t, p] {
            return Err(batch_error(batch, format!("`valid` has shape {:?}; expected [{n}, {t}, {p}]", valid.shape)));
        }
        let valid_b: Vec<bool> = valid.data.iter().map(|v| *v > 0.5).collect();
        let appearance = match self.config.appearance_dim {
            Some(a) => {
                let s = shape_of(batch, "appearance")?;
                if s != [n, t, p, a] {
                    return Err(batch_error(
                        batch,
                        format!("`appearance` has shape {s:?}; expected [{n}, {t}, {p}, {a}]"),
                    ));
                }
                Some(batch.tensor::<B, 4>("appearance", device)?)
            }
            None => None,
        };
        Ok((batch.tensor::<B, 4>("pose", device)?, valid_b, [n, t, p], appearance))
    }

    /// Person-of-interest logits `[N, T, K]` without any masking (inference).
    pub fn logits(&self, batch: &HostBatch, device: &B::Device) -> Result<Tensor<B, 3>> {
        let (pose, valid, shape, appearance) = self.inputs(batch, device)?;
        Ok(self.model.forward(LartInput {
            pose,
            appearance,
            valid: bool_tensor(valid, shape, device),
            masked: None,
            attention_masking: false,
        }))
    }
}

impl<B: AutodiffBackend> TrainModel<B> for LartTask<B> {
    fn task_names(&self) -> Vec<String> {
        vec!["action".into()]
    }
    fn combiner(&self) -> &LossCombiner<B> {
        &self.combiner
    }
    fn losses(&self, batch: &HostBatch, rng: &mut ChaCha8Rng, device: &B::Device) -> Result<StepLosses<B>> {
        let (pose, valid, [n, t, p], appearance) = self.inputs(batch, device)?;
        let k = self.config.num_classes;
        let labels = batch.multi_labels.as_ref().ok_or_else(|| batch_error(batch, "no multi-labels [N, T, K]"))?;
        if labels.shape != [n, t, k] {
            return Err(batch_error(
                batch,
                format!("multi-labels have shape {:?}; expected [{n}, {t}, {k}]", labels.shape),
            ));
        }
        // Tokens to hide behind the mask token: present detections, each
        // with probability `mask_ratio`.
        let masked: Vec<bool> = valid.iter().map(|&v| v && rng.random::<f64>() < self.config.mask_ratio).collect();
        // Loss on the person of interest's frames that are detected (or
        // masked, a subset) and labelled.
        let label_valid: Option<&actionbench_loader::HostTensor> = batch.tensors.get("label_valid");
        let mut token_mask = Vec::with_capacity(n * t);
        for b in 0..n {
            for f in 0..t {
                let labelled = label_valid.is_none_or(|h| h.data.get(b * t + f).is_some_and(|v| *v > 0.5));
                token_mask.push(valid[(b * t + f) * p] && labelled);
            }
        }
        let logits = self.model.forward(LartInput {
            pose,
            appearance,
            valid: bool_tensor(valid, [n, t, p], device),
            masked: Some(bool_tensor(masked, [n, t, p], device)),
            attention_masking: true,
        });
        let targets: Tensor<B, 3> = labels.to_burn::<B, 3>("multi_labels", device)?;
        let per_token =
            bce_with_logits_per_sample(logits.reshape([n * t, k]), targets.reshape([n * t, k])).div_scalar(k as f32);
        Ok(StepLosses { tasks: vec![masked_mean(per_token, &token_mask)], correct: None })
    }
}

/// The skeleton layout each UPS task reads: Human3.6M-17 (lifting),
/// OpenPose-18 (Kinetics-skeleton), NTU-25 (the 3D tasks).
pub fn ups_layout(task: UpsTask) -> Layout {
    match task {
        UpsTask::Pose => Layout::H36m17,
        UpsTask::Action2d => Layout::Openpose18,
        UpsTask::Early | UpsTask::Action3d => Layout::NtuRgbd,
    }
}

/// UPS with its loss. Every batch holds one task (the loader rotates them);
/// its loss goes into that task's slot.
#[derive(Module, Debug)]
pub struct UpsTrainTask<B: Backend> {
    /// The network.
    pub model: Ups<B>,
    /// One loss slot per trained task.
    pub combiner: LossCombiner<B>,
    #[module(skip)]
    config: UpsConfig,
    #[module(skip)]
    tasks: Vec<UpsTask>,
    /// The action token of label 0, per task (in `tasks` order).
    #[module(skip)]
    offsets: Vec<usize>,
}

impl<B: Backend> UpsTrainTask<B> {
    /// Wraps `model` for training on `tasks` (in loss-slot order), each
    /// with the action token of its label 0.
    pub fn new(model: Ups<B>, config: &UpsConfig, tasks: Vec<(UpsTask, usize)>, device: &B::Device) -> Self {
        Self {
            model,
            combiner: LossCombiner::new(Weighting::Average, tasks.len(), device),
            config: config.clone(),
            offsets: tasks.iter().map(|t| t.1).collect(),
            tasks: tasks.into_iter().map(|t| t.0).collect(),
        }
    }

    /// The task every sample of the batch is labelled for.
    pub fn batch_task(&self, batch: &HostBatch) -> Result<UpsTask> {
        self.tasks
            .iter()
            .copied()
            .find(|t| batch.label_masks.get(t.name()).is_some_and(|m| !m.is_empty() && m.iter().all(|v| *v)))
            .ok_or_else(|| {
                batch_error(
                    batch,
                    format!(
                        "the batch belongs to none of the tasks {:?} (UPS batches come from one task's source)",
                        self.tasks.iter().map(|t| t.name()).collect::<Vec<_>>()
                    ),
                )
            })
    }

    /// `joints` `[N, C, T, V, 1]` as `[N, C, T, V]`, checked.
    pub fn joints(&self, batch: &HostBatch, device: &B::Device) -> Result<Tensor<B, 4>> {
        let shape = shape_of(batch, "joints")?;
        match shape.as_slice() {
            [n, c, t, v, 1] if *c <= 3 && *v <= self.config.max_joints && *t == self.config.frames => {
                Ok(batch.tensor::<B, 5>("joints", device)?.reshape([*n, *c, *t, *v]))
            }
            _ => Err(batch_error(
                batch,
                format!(
                    "`joints` has shape {shape:?}; UPS takes [N, C <= 3, {}, V <= {}, 1] (one body, `frames` of the model)",
                    self.config.frames, self.config.max_joints
                ),
            )),
        }
    }

    /// Target sequences of the batch and which samples have one.
    fn targets(&self, batch: &HostBatch, task: UpsTask) -> Result<(Vec<Vec<usize>>, Vec<bool>)> {
        let vocab = self.config.vocab();
        if task == UpsTask::Pose {
            let t =
                batch.tensors.get("target3d").ok_or_else(|| batch_error(batch, "no tensor `target3d` [N, J, 3]"))?;
            let j = self.config.pose_joints;
            if t.shape[1..] != [j, 3] {
                return Err(batch_error(
                    batch,
                    format!("`target3d` has shape {:?}; the model decodes {j} joints (`pose-joints`)", t.shape),
                ));
            }
            let targets = t
                .data
                .chunks(3 * j)
                .map(|p| vocab.pose_target(&p.chunks(3).map(|q| [q[0], q[1], q[2]]).collect::<Vec<_>>()))
                .collect();
            return Ok((targets, vec![true; batch.len()]));
        }
        let offset = self.offset(task);
        let mask = label_mask(batch, self.config.num_classes.saturating_sub(offset), task.name())?;
        let targets = batch
            .labels
            .iter()
            .zip(&mask)
            .map(|(&l, &m)| vocab.action_target(if m { offset + l as usize } else { 0 }, task))
            .collect();
        Ok((targets, mask))
    }

    fn offset(&self, task: UpsTask) -> usize {
        self.tasks.iter().position(|t| *t == task).map_or(0, |i| self.offsets[i])
    }
}

impl<B: AutodiffBackend> TrainModel<B> for UpsTrainTask<B> {
    fn task_names(&self) -> Vec<String> {
        self.tasks.iter().map(|t| t.name().to_string()).collect()
    }
    fn combiner(&self) -> &LossCombiner<B> {
        &self.combiner
    }
    fn losses(&self, batch: &HostBatch, rng: &mut ChaCha8Rng, device: &B::Device) -> Result<StepLosses<B>> {
        let task = self.batch_task(batch)?;
        let x = self.joints(batch, device)?;
        let draws = self.config.size.dims().layers * self.config.blocks;
        let uniforms: Vec<f64> = (0..draws).map(|_| rng.random::<f64>()).collect();
        let routing = Routing::Sample { uniforms, tau: self.config.gumbel_tau };
        let encoded = self.model.encode(x, ups_layout(task), task, &routing);
        let (targets, mask) = self.targets(batch, task)?;
        let logits = self.model.teacher_forced(&encoded, &targets);
        let [n, k, v] = logits.dims();
        let ids: Vec<i64> = targets.iter().flatten().map(|&t| t as i64).collect();
        let ids: Tensor<B, 1, Int> = Tensor::from_data(TensorData::new(ids, [n * k]), device);
        let correct = (task != UpsTask::Pose).then(|| {
            let first = logits.clone().narrow(1, 0, 1).reshape([n, v]).argmax(1);
            let pred = first.into_data().to_vec::<i64>().unwrap_or_default();
            let offset = self.offset(task) as i64;
            let hits =
                pred.iter().zip(&batch.labels).zip(&mask).filter(|((p, l), m)| **m && **p == **l + offset).count();
            (hits, mask.iter().filter(|m| **m).count())
        });
        let per_sample =
            cross_entropy_per_sample(logits.reshape([n * k, v]), ids).reshape([n, k]).mean_dim(1).reshape([n]);
        let mut slots = vec![None; self.tasks.len()];
        let slot = self.tasks.iter().position(|t| *t == task).expect("batch_task picks a trained task");
        slots[slot] = masked_mean(per_sample, &mask);
        Ok(StepLosses { tasks: slots, correct })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(labels: Vec<i64>) -> HostBatch {
        HostBatch { sample_ids: (0..labels.len()).map(|i| format!("s{i}")).collect(), labels, ..Default::default() }
    }

    #[test]
    fn unlabelled_samples_are_masked_and_unknown_classes_are_errors() {
        assert_eq!(label_mask(&batch(vec![0, -1, 3]), 4, "action").unwrap(), vec![true, false, true]);
        let err = label_mask(&batch(vec![0, 9, 3]), 4, "action").unwrap_err().to_string();
        assert!(err.contains("sample `s1` has label 9") && err.contains("num-classes = 4"), "{err}");
        // A label the source marks unavailable is not used, whatever its value.
        let mut masked = batch(vec![0, 9]);
        masked.label_masks.insert("action".into(), vec![true, false]);
        assert_eq!(label_mask(&masked, 4, "action").unwrap(), vec![true, false]);
    }
}
