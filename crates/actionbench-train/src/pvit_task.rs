//! Training PromptonomyViT and its baselines (`model.kind = "pvit"`):
//! real clips (action label) and synthetic clips (scene labels) drawn at a
//! fixed ratio per batch (`data.mixture`), and the masked multi-task loss of
//! the paper's eq. 9 — each sample adds only the terms its labels allow,
//! weighted by λ (App. C).

use actionbench_loader::{HostBatch, HostTensor};
use actionbench_models::{AuxTask, Pvit, PvitConfig};
use burn::module::Module;
use burn::tensor::activation::log_softmax;
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Tensor, TensorData};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::Result;
use crate::losses::{bce_with_logits_per_sample, masked_mean};
use crate::multitask::{LossCombiner, Weighting};
use crate::trainer::{StepLosses, TrainModel};

fn default_ratio() -> Vec<u32> {
    vec![1, 1]
}

/// Where a PViT run's clips come from: SQL filters over the clip table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct VideoMixture {
    /// The action clips ("real"), e.g. `domain = 'real' AND composition = 'seen'`.
    pub real: String,
    /// The clips with synthetic scene labels (their action label is not
    /// used); absent for the variants without auxiliary supervision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub synthetic: Option<String>,
    /// Real : synthetic samples per batch (paper: 64 + 64).
    #[serde(default = "default_ratio")]
    pub ratio: Vec<u32>,
    /// Batches per epoch (iteration-based epochs).
    pub iterations: u64,
}

/// PViT with its masked multi-task loss.
#[derive(Module, Debug)]
pub struct PvitTask<B: Backend> {
    /// The network.
    pub model: Pvit<B>,
    /// Fixed λ per task (action first, then the heads).
    pub combiner: LossCombiner<B>,
    #[module(skip)]
    heads: Vec<AuxTask>,
    #[module(skip)]
    dims: [usize; 3],
    #[module(skip)]
    seg_classes: usize,
}

impl<B: Backend> PvitTask<B> {
    /// A fresh model and its combiner.
    pub fn new(config: &PvitConfig, device: &B::Device) -> Self {
        let heads = config.heads();
        let mut weights = vec![config.lambda.action];
        weights.extend(heads.iter().map(|&t| config.lambda.of(t)));
        Self {
            model: config.init(device),
            combiner: LossCombiner::new(Weighting::Fixed { weights }, heads.len() + 1, device),
            heads,
            dims: [config.num_classes, config.num_frames, config.crop_size],
            seg_classes: config.seg_classes,
        }
    }

    fn clip(&self, batch: &HostBatch, device: &B::Device) -> Result<Tensor<B, 5>> {
        crate::tasks::check_clip(batch, self.dims[1], self.dims[2])?;
        Ok(batch.tensor::<B, 5>("clip", device)?)
    }

    /// Action logits `[N, K]` (prediction: the heads do not run).
    pub fn logits(&self, batch: &HostBatch, device: &B::Device) -> Result<Tensor<B, 2>> {
        Ok(self.model.classify(self.clip(batch, device)?))
    }
}

fn host<'a>(batch: &'a HostBatch, name: &str) -> Result<&'a HostTensor> {
    batch.tensors.get(name).ok_or_else(|| {
        crate::tasks::batch_error(
            batch,
            format!("the batch has no `{name}`: the PViT heads need the render labels (an `ingest.renders` table)"),
        )
    })
}

fn tensor<B: Backend, const D: usize>(values: Vec<f32>, shape: [usize; D], device: &B::Device) -> Tensor<B, D> {
    Tensor::from_data(TensorData::new(values, shape), device)
}

/// Mean over everything but the batch dimension: `[N, …]` → `[N]`.
fn per_sample<B: Backend, const D: usize>(x: Tensor<B, D>) -> Tensor<B, 1> {
    let n = x.dims()[0];
    x.reshape([n as i32, -1]).mean_dim(1).reshape([n])
}

/// Which samples of the batch carry the labels of `task`.
fn available(batch: &HostBatch, task: AuxTask) -> Vec<bool> {
    let mask = batch.label_masks.get(task.mask_name());
    (0..batch.len()).map(|i| mask.is_some_and(|m| m[i])).collect()
}

/// GIoU of paired boxes `[…, 4]` (x1, y1, x2, y2) → `[…]` (Rezatofighi et
/// al. 2019): IoU minus the share of the enclosing box neither covers.
pub fn giou<B: Backend>(a: Tensor<B, 3>, b: Tensor<B, 3>) -> Tensor<B, 2> {
    let [n, o, _] = a.dims();
    let c = |t: &Tensor<B, 3>, i: usize| t.clone().slice([0..n, 0..o, i..i + 1]).reshape([n, o]);
    let (ax1, ay1, ax2, ay2) = (c(&a, 0), c(&a, 1), c(&a, 2), c(&a, 3));
    let (bx1, by1, bx2, by2) = (c(&b, 0), c(&b, 1), c(&b, 2), c(&b, 3));
    let area = |x1: &Tensor<B, 2>, y1: &Tensor<B, 2>, x2: &Tensor<B, 2>, y2: &Tensor<B, 2>| {
        (x2.clone() - x1.clone()).clamp_min(0.0) * (y2.clone() - y1.clone()).clamp_min(0.0)
    };
    let iw = (ax2.clone().min_pair(bx2.clone()) - ax1.clone().max_pair(bx1.clone())).clamp_min(0.0);
    let ih = (ay2.clone().min_pair(by2.clone()) - ay1.clone().max_pair(by1.clone())).clamp_min(0.0);
    let inter = iw * ih;
    let union = area(&ax1, &ay1, &ax2, &ay2) + area(&bx1, &by1, &bx2, &by2) - inter.clone();
    let hull = (ax2.max_pair(bx2) - ax1.min_pair(bx1)) * (ay2.max_pair(by2) - ay1.min_pair(by1));
    let iou = inter / union.clone().add_scalar(1e-7);
    iou - (hull.clone() - union) / hull.add_scalar(1e-7)
}

/// The box loss of each sample: over present slots, L1 + (1 − GIoU)
/// averaged; plus the objectness BCE averaged over all slots.
/// `pred`, `target` `[N, O, 4]`; `objectness` logits and `present` `[N, O]`.
pub fn box_loss<B: Backend>(
    pred: Tensor<B, 3>,
    objectness: Tensor<B, 2>,
    target: Tensor<B, 3>,
    present: Tensor<B, 2>,
) -> Tensor<B, 1> {
    let [n, o, _] = pred.dims();
    let l1 = (pred.clone() - target.clone()).abs().sum_dim(2).reshape([n, o]);
    let match_loss = (l1 + giou(pred, target).neg().add_scalar(1.0)) * present.clone();
    let count = present.clone().sum_dim(1).reshape([n]).clamp_min(1.0);
    let matched = match_loss.sum_dim(1).reshape([n]) / count;
    matched + bce_with_logits_per_sample(objectness, present).div_scalar(o as f32)
}

impl<B: Backend> PvitTask<B> {
    /// The per-sample loss of one head, or why the batch cannot give it.
    fn head_loss(
        &self,
        task: AuxTask,
        out: &actionbench_models::PvitOutput<B>,
        batch: &HostBatch,
        device: &B::Device,
    ) -> Result<(Tensor<B, 1>, Vec<bool>)> {
        let mut mask = available(batch, task);
        let n = batch.len();
        let loss = match task {
            AuxTask::Depth | AuxTask::Normals => {
                let pred = if task == AuxTask::Depth { out.depth.clone() } else { out.normals.clone() };
                let pred = pred.expect("the head exists for each listed task");
                let t = host(batch, task.name())?;
                let [_, c, ft, l, _] = pred.dims();
                let shape = [n, c, ft, l, l];
                let want: &[usize] = if c == 1 { &[n, ft, l, l] } else { &shape };
                check_shape(batch, task.name(), &t.shape, want)?;
                per_sample((pred - tensor::<B, 5>(t.data.clone(), shape, device)).powi_scalar(2))
            }
            AuxTask::Segmentation => {
                let logits = out.segmentation.clone().expect("the head exists");
                let t = host(batch, "segmentation")?;
                let [_, k, ft, l, _] = logits.dims();
                check_shape(batch, "segmentation", &t.shape, &[n, ft, l, l])?;
                let onehot = self.one_hot(batch, &t.data, &mask, [n, k, ft, l * l])?;
                let logp = log_softmax(logits, 1).reshape([n, k, ft, l * l]);
                per_sample((logp * tensor::<B, 4>(onehot, [n, k, ft, l * l], device)).sum_dim(1).neg())
            }
            AuxTask::Pose => {
                let pred = out.pose.clone().expect("the head exists");
                let (target, has) = centre_frame(batch, "joints3d", 25 * 3)?;
                if has.first().is_some_and(Vec::is_empty) {
                    return Err(crate::tasks::batch_error(
                        batch,
                        "`joints3d` has no person slot: the pose head needs `data.clip.max-people` of 1 or more",
                    ));
                }
                mask.iter_mut().zip(&has).for_each(|(m, h)| *m &= h[0]);
                per_sample(
                    (pred.reshape([n, 75]) - tensor::<B, 2>(first_person(&target, n), [n, 75], device)).powi_scalar(2),
                )
            }
            AuxTask::Boxes => {
                let (pred, objectness) = out.boxes.clone().expect("the head exists");
                let [_, o, _] = pred.dims();
                let (target, has) = centre_frame(batch, "boxes", 4)?;
                let slots = has.first().map_or(0, Vec::len);
                if slots != o {
                    return Err(crate::tasks::batch_error(
                        batch,
                        format!("`boxes` has {slots} slots; the model predicts max-boxes = {o}"),
                    ));
                }
                let present: Vec<f32> = has.iter().flatten().map(|&h| if h { 1.0 } else { 0.0 }).collect();
                box_loss(pred, objectness, tensor(target, [n, o, 4], device), tensor(present, [n, o], device))
            }
        };
        Ok((loss, mask))
    }

    /// One-hot `[N, K, T, L·L]` of the class maps of the available samples;
    /// a class at or above `seg-classes` is an error naming the sample.
    fn one_hot(&self, batch: &HostBatch, classes: &[f32], mask: &[bool], [n, k, t, p]: [usize; 4]) -> Result<Vec<f32>> {
        let mut out = vec![0f32; n * k * t * p];
        for i in (0..n).filter(|&i| mask[i]) {
            for (at, &c) in classes[i * t * p..(i + 1) * t * p].iter().enumerate() {
                let c = c as usize;
                if c >= k {
                    return Err(crate::tasks::batch_error(
                        batch,
                        format!(
                            "sample `{}` has segmentation class {c}; the model has seg-classes = {}: raise \
                             `model.seg-classes` above the largest class",
                            batch.sample_ids[i], self.seg_classes
                        ),
                    ));
                }
                out[((i * k + c) * t + at / p) * p + at % p] = 1.0;
            }
        }
        Ok(out)
    }
}

fn check_shape(batch: &HostBatch, name: &str, got: &[usize], want: &[usize]) -> Result<()> {
    if got != want {
        return Err(crate::tasks::batch_error(
            batch,
            format!(
                "`{name}` labels have shape {got:?}, the head predicts {want:?}: the loader's `label-size` must be the \
                 model's"
            ),
        ));
    }
    Ok(())
}

/// The centre frame's values of `name` `[N, T, S, …]` (S slots of `width`
/// values) and its `{name}_mask` `[N, T, S]`: `(values [N·S·width], present [N][S])`.
fn centre_frame(batch: &HostBatch, name: &str, width: usize) -> Result<(Vec<f32>, Vec<Vec<bool>>)> {
    let values = host(batch, name)?;
    let mask = host(batch, &format!("{name}_mask"))?;
    let (n, t, s) = match mask.shape[..] {
        [n, t, s] if values.shape.iter().skip(1).product::<usize>() == t * s * width => (n, t, s),
        _ => {
            return Err(crate::tasks::batch_error(
                batch,
                format!("`{name}` has shape {:?} and its mask {:?}", values.shape, mask.shape),
            ));
        }
    };
    let c = t / 2;
    let mut out = Vec::with_capacity(n * s * width);
    let mut present = Vec::with_capacity(n);
    for i in 0..n {
        let at = (i * t + c) * s;
        out.extend_from_slice(&values.data[at * width..(at + s) * width]);
        present.push(mask.data[at..at + s].iter().map(|&m| m > 0.0).collect());
    }
    Ok((out, present))
}

/// The first person's 75 values of each sample from `[N·P·75]`.
fn first_person(values: &[f32], n: usize) -> Vec<f32> {
    let per = values.len() / n.max(1);
    (0..n).flat_map(|i| values[i * per..i * per + 75].iter().copied()).collect()
}

impl<B: AutodiffBackend> TrainModel<B> for PvitTask<B> {
    fn task_names(&self) -> Vec<String> {
        std::iter::once("action".to_string()).chain(self.heads.iter().map(|t| t.name().to_string())).collect()
    }
    fn combiner(&self) -> &LossCombiner<B> {
        &self.combiner
    }
    fn losses(&self, batch: &HostBatch, _rng: &mut ChaCha8Rng, device: &B::Device) -> Result<StepLosses<B>> {
        let clip = self.clip(batch, device)?;
        let out = self.model.forward(clip);
        let mut step = crate::tasks::single_label_losses(out.logits.clone(), batch, self.dims[0], device)?;
        for &task in &self.heads {
            let (loss, mask) = self.head_loss(task, &out, batch, device)?;
            step.tasks.push(masked_mean(loss, &mask));
        }
        Ok(step)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actionbench_models::{MvitSize, PvitVariant};
    use burn::backend::{Autodiff, NdArray};
    use rand::SeedableRng;
    use std::collections::BTreeMap;

    type Ad = Autodiff<NdArray>;

    #[test]
    fn giou_and_the_box_loss_match_a_hand_computation() {
        let device = Default::default();
        // a = [0, 0, 2, 2], b = [1, 1, 3, 3]: intersection 1, union 7, hull 9.
        let a = tensor::<NdArray, 3>(vec![0.0, 0.0, 2.0, 2.0], [1, 1, 4], &device);
        let b = tensor::<NdArray, 3>(vec![1.0, 1.0, 3.0, 3.0], [1, 1, 4], &device);
        let g = giou(a.clone(), b.clone()).into_data().to_vec::<f32>().unwrap()[0];
        let expected = 1.0 / 7.0 - (9.0 - 7.0) / 9.0;
        assert!((g - expected).abs() < 1e-6, "GIoU {g} != {expected}");
        // Disjoint boxes: IoU 0, GIoU = −(hull − union)/hull.
        let c = tensor::<NdArray, 3>(vec![3.0, 0.0, 4.0, 1.0], [1, 1, 4], &device);
        let d = tensor::<NdArray, 3>(vec![0.0, 0.0, 1.0, 1.0], [1, 1, 4], &device);
        let g = giou(c, d).into_data().to_vec::<f32>().unwrap()[0];
        assert!((g - (-(4.0 - 2.0) / 4.0)).abs() < 1e-6);
        // Two slots, the second absent: L1 (4) + 1 − GIoU over the present
        // one, plus the BCE of objectness logits 0 (ln 2 each) over 2 slots.
        let pred = Tensor::cat(vec![a.clone(), a], 1);
        let target = Tensor::cat(vec![b.clone(), b], 1);
        let obj = tensor::<NdArray, 2>(vec![0.0, 0.0], [1, 2], &device);
        let present = tensor::<NdArray, 2>(vec![1.0, 0.0], [1, 2], &device);
        let loss = box_loss(pred, obj, target, present).into_data().to_vec::<f32>().unwrap()[0];
        let expected = 4.0 + 1.0 - expected + 2.0 * std::f32::consts::LN_2 / 2.0;
        assert!((loss - expected).abs() < 1e-5, "box loss {loss} != {expected}");
    }

    fn batch(n: usize, label_size: usize, masks: &[(&str, bool)]) -> HostBatch {
        let t = 4;
        let mut tensors = BTreeMap::new();
        let mut put = |name: &str, shape: Vec<usize>, value: f32| {
            let len = shape.iter().product();
            tensors.insert(name.to_string(), HostTensor { shape, data: vec![value; len] });
        };
        put("clip", vec![n, 3, t, 32, 32], 0.1);
        put("depth", vec![n, t, label_size, label_size], 3.0);
        put("normals", vec![n, 3, t, label_size, label_size], 0.5);
        put("segmentation", vec![n, t, label_size, label_size], 1.0);
        put("joints3d", vec![n, t, 2, 25, 3], 0.2);
        put("joints3d_mask", vec![n, t, 2], 1.0);
        put("boxes", vec![n, t, 4, 4], 0.25);
        put("boxes_mask", vec![n, t, 4], 1.0);
        let label_masks = masks.iter().map(|(k, v)| (k.to_string(), vec![*v; n])).collect();
        HostBatch {
            sample_ids: (0..n).map(|i| format!("s{i}")).collect(),
            tensors,
            labels: vec![1; n],
            multi_labels: None,
            label_masks,
        }
    }

    /// A head whose label no sample of the batch has adds no loss and gets
    /// no gradient; the heads with labels do.
    #[test]
    fn an_absent_label_gives_its_head_no_gradient() {
        let device = Default::default();
        let config = PvitConfig {
            num_frames: 4,
            crop_size: 32,
            dropout: 0.0,
            ..PvitConfig::new(3, MvitSize::Tiny, PvitVariant::Pvit)
        };
        let task = PvitTask::<Ad>::new(&config, &device);
        let b = batch(
            2,
            8,
            &[
                ("action", false),
                ("depth", false),
                ("normals", true),
                ("segmentation", true),
                ("joints3d", true),
                ("boxes", false),
            ],
        );
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let step = task.losses(&b, &mut rng, &device).unwrap();
        let present: Vec<bool> = step.tasks.iter().map(Option::is_some).collect();
        // action, depth, normals, segmentation, pose, boxes
        assert_eq!(present, [false, false, true, true, true, false]);
        let total = task.combiner.combine(&step.tasks, &[]).unwrap();
        let grads = total.backward();
        let zero_or_none = |g: Option<Tensor<NdArray, 2>>| {
            g.is_none_or(|g| g.into_data().to_vec::<f32>().unwrap().iter().all(|v| *v == 0.0))
        };
        let m = &task.model;
        assert!(zero_or_none(m.depth.as_ref().unwrap().out.weight.grad(&grads)));
        assert!(zero_or_none(m.boxes.as_ref().unwrap().weight.grad(&grads)));
        assert!(zero_or_none(m.backbone.head.projection.weight.grad(&grads)));
        assert!(!zero_or_none(m.normals.as_ref().unwrap().out.weight.grad(&grads)));
        assert!(!zero_or_none(m.pose.as_ref().unwrap().weight.grad(&grads)));
    }

    /// `data.clip.max-people = 0` leaves the pose head nothing to read: an
    /// error that names the param, not a panic.
    #[test]
    fn no_person_slot_is_an_error() {
        let device = Default::default();
        let config = PvitConfig {
            num_frames: 4,
            crop_size: 32,
            tasks: vec![AuxTask::Pose],
            ..PvitConfig::new(3, MvitSize::Tiny, PvitVariant::Pvit)
        };
        let task = PvitTask::<Ad>::new(&config, &device);
        let mut b = batch(1, 8, &[("joints3d", true)]);
        b.tensors.insert("joints3d".into(), HostTensor { shape: vec![1, 4, 0, 25, 3], data: vec![] });
        b.tensors.insert("joints3d_mask".into(), HostTensor { shape: vec![1, 4, 0], data: vec![] });
        let err = task.losses(&b, &mut ChaCha8Rng::seed_from_u64(0), &device).err().unwrap().to_string();
        assert!(err.contains("max-people"), "{err}");
    }

    #[test]
    fn a_segmentation_class_beyond_the_model_is_named() {
        let device = Default::default();
        let config = PvitConfig {
            num_frames: 4,
            crop_size: 32,
            seg_classes: 2,
            tasks: vec![AuxTask::Segmentation],
            ..PvitConfig::new(3, MvitSize::Tiny, PvitVariant::Pvit)
        };
        let task = PvitTask::<Ad>::new(&config, &device);
        let mut b = batch(1, 8, &[("segmentation", true)]);
        b.tensors.get_mut("segmentation").unwrap().data[5] = 3.0;
        let err = task.losses(&b, &mut ChaCha8Rng::seed_from_u64(0), &device).err().unwrap().to_string();
        assert!(err.contains("segmentation class 3") && err.contains("seg-classes = 2"), "{err}");
    }
}
