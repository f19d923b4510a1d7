//! Training multi-task R3D (`model.kind = "mtl-r3d"`): batches that mix the
//! tasks' clips (`data.multitask`: one SQL filter per task, drawn at a fixed
//! ratio, `iterations` batches per epoch, the paper's iteration-based
//! multi-task dataset), one cross-entropy per task over its own samples,
//! combined by `train.weighting` (average, DWA, uncertainty, automatic).
//!
//! Learned sharing adds the NES step of LWS before every weight step
//! ([`TrainModel::prepare_step`]): `nes.samples` assignments drawn from the
//! current distribution are scored on the batch without gradients (frozen
//! batch-norm statistics), ranked, and the distribution moves toward the
//! better ones; the weight step then averages the losses of
//! `nes.weight-samples` fresh draws.

use std::collections::BTreeMap;

use actionbench_loader::HostBatch;
use actionbench_models::mtl::{nes_update, sample_assignment, sharing_probability};
use actionbench_models::{MtlR3d, MtlR3dConfig, Sharing};
use burn::module::{AutodiffModule, Module};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Int, Tensor, TensorData};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::Result;
use crate::losses::cross_entropy_per_sample;
use crate::multitask::{LossCombiner, Weighting};
use crate::tasks::{check_clip, label_mask};
use crate::trainer::{StepLosses, TrainModel, scalar};

fn default_ratio() -> Vec<u32> {
    Vec::new()
}

/// Where a multi-task run's clips come from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct TaskMixture {
    /// Per task of the model, the SQL filter of its clips, e.g.
    /// `{ action = "task = 'action' AND split = 'train'", gesture = "…" }`.
    pub sources: BTreeMap<String, String>,
    /// Samples per task in every run of `sum(ratio)` batch positions, in
    /// the model's task order (default: equal).
    #[serde(default = "default_ratio", skip_serializing_if = "Vec::is_empty")]
    pub ratio: Vec<u32>,
    /// Batches per epoch.
    pub iterations: u64,
}

impl TaskMixture {
    /// Checks the mixture against the model's tasks.
    pub fn validate(&self, tasks: &[String]) -> std::result::Result<(), String> {
        if self.iterations == 0 {
            return Err("`data.multitask.iterations` must be at least 1 (batches per epoch)".into());
        }
        for t in tasks {
            if !self.sources.contains_key(t) {
                return Err(format!(
                    "`data.multitask.sources` has no filter for task `{t}`; give one per task of `model.tasks` ({})",
                    tasks.join(", ")
                ));
            }
        }
        if let Some(extra) = self.sources.keys().find(|k| !tasks.contains(k)) {
            return Err(format!(
                "`data.multitask.sources.{extra}` names no task of `model.tasks` ({})",
                tasks.join(", ")
            ));
        }
        if !self.ratio.is_empty() && (self.ratio.len() != tasks.len() || self.ratio.contains(&0)) {
            return Err(format!(
                "`data.multitask.ratio` is {:?}: give one positive weight per task ({}), or leave it out",
                self.ratio,
                tasks.join(", ")
            ));
        }
        Ok(())
    }

    /// The ratio in task order.
    pub fn weights(&self, tasks: usize) -> Vec<u32> {
        if self.ratio.is_empty() { vec![1; tasks] } else { self.ratio.clone() }
    }
}

/// Multi-task R3D with its per-task losses and combiner.
#[derive(Module, Debug)]
pub struct MtlTask<B: Backend> {
    /// The network.
    pub model: MtlR3d<B>,
    /// The loss weighting (σ for uncertainty / automatic).
    pub combiner: LossCombiner<B>,
    #[module(skip)]
    config: MtlR3dConfig,
}

/// Per task, the batch rows it labels.
fn rows_by_task(batch: &HostBatch, config: &MtlR3dConfig) -> Result<Vec<Vec<usize>>> {
    config
        .tasks
        .iter()
        .map(|t| {
            let mask = label_mask(batch, t.num_classes, &t.name)?;
            Ok((0..mask.len()).filter(|&i| mask[i]).collect())
        })
        .collect()
}

fn index<B: Backend>(rows: &[usize], device: &B::Device) -> Tensor<B, 1, Int> {
    let v: Vec<i64> = rows.iter().map(|&r| r as i64).collect();
    Tensor::from_data(TensorData::new(v, [rows.len()]), device)
}

/// Mean cross-entropy of `logits` over `rows`, and how many it gets right.
fn task_loss<B: Backend>(
    logits: Tensor<B, 2>,
    batch: &HostBatch,
    rows: &[usize],
    device: &B::Device,
) -> (Tensor<B, 1>, usize) {
    let targets: Vec<i64> = rows.iter().map(|&r| batch.labels[r]).collect();
    let pred = logits.clone().argmax(1).into_data().to_vec::<i64>().unwrap_or_default();
    let correct = pred.iter().zip(&targets).filter(|(p, l)| p == l).count();
    let targets = Tensor::<B, 1, Int>::from_data(TensorData::new(targets, [rows.len()]), device);
    (cross_entropy_per_sample(logits, targets).mean(), correct)
}

impl<B: Backend> MtlTask<B> {
    /// A fresh model and its combiner.
    pub fn new(config: &MtlR3dConfig, weighting: &Weighting, device: &B::Device) -> Self {
        Self {
            model: config.init(device),
            combiner: LossCombiner::new(weighting.clone(), config.tasks.len(), device),
            config: config.clone(),
        }
    }

    /// The task's index in the model, or an error listing the tasks.
    pub fn task_index(&self, name: &str) -> std::result::Result<usize, String> {
        self.config.tasks.iter().position(|t| t.name == name).ok_or_else(|| {
            let all: Vec<&str> = self.config.tasks.iter().map(|t| t.name.as_str()).collect();
            format!("the model has no task `{name}`; its tasks are {}", all.join(", "))
        })
    }

    /// Task `t`'s logits for the batch's clips (inference).
    pub fn logits(&self, batch: &HostBatch, t: usize, device: &B::Device) -> Result<Tensor<B, 2>> {
        check_clip(batch, self.config.num_frames, self.config.crop_size)?;
        Ok(self.model.logits(batch.tensor::<B, 5>("clip", device)?, t))
    }
}

impl<B: AutodiffBackend> TrainModel<B> for MtlTask<B> {
    fn task_names(&self) -> Vec<String> {
        self.config.tasks.iter().map(|t| t.name.clone()).collect()
    }
    fn combiner(&self) -> &LossCombiner<B> {
        &self.combiner
    }

    fn prepare_step(
        mut self,
        batch: &HostBatch,
        rng: &mut ChaCha8Rng,
        device: &B::Device,
    ) -> Result<(Self, Vec<(String, f64)>)> {
        if self.model.sharing() != Sharing::Learned {
            return Ok((self, Vec::new()));
        }
        check_clip(batch, self.config.num_frames, self.config.crop_size)?;
        let rows = rows_by_task(batch, &self.config)?;
        let inner = self.model.valid();
        let trunk = inner.trunk(batch.tensor::<B::InnerBackend, 5>("clip", device)?);
        let inputs: Vec<Option<Tensor<B::InnerBackend, 5>>> = rows
            .iter()
            .map(|r| (!r.is_empty()).then(|| trunk.clone().select(0, index::<B::InnerBackend>(r, device))))
            .collect();
        let mut logits = inner.assignment_logits();
        let mut samples = Vec::with_capacity(self.config.nes.samples);
        let mut losses = Vec::with_capacity(self.config.nes.samples);
        for _ in 0..self.config.nes.samples {
            let a = sample_assignment(&logits, rng);
            let mut f = 0.0;
            for (t, x) in inputs.iter().enumerate() {
                if let Some(x) = x {
                    let (loss, _) = task_loss(inner.forward_task(t, x.clone(), &a[t]), batch, &rows[t], device);
                    f += scalar(loss);
                }
            }
            samples.push(a);
            losses.push(f);
        }
        nes_update(&mut logits, &samples, &losses, self.config.nes.lr);
        self.model = self.model.set_assignment_logits(&logits);
        let metrics =
            sharing_probability(&logits).into_iter().enumerate().map(|(l, p)| (format!("lws_share_{l}"), p)).collect();
        Ok((self, metrics))
    }

    fn losses(&self, batch: &HostBatch, rng: &mut ChaCha8Rng, device: &B::Device) -> Result<StepLosses<B>> {
        check_clip(batch, self.config.num_frames, self.config.crop_size)?;
        let rows = rows_by_task(batch, &self.config)?;
        let x = self.model.columns[0].frozen_part(batch.tensor::<B, 5>("clip", device)?);
        let (mut correct, mut counted) = (0, 0);
        let mut tasks: Vec<Option<Tensor<B, 1>>> = vec![None; rows.len()];
        match self.model.sharing() {
            Sharing::Hard | Sharing::Soft => {
                for (t, logits) in self.model.forward_all(x).into_iter().enumerate() {
                    if rows[t].is_empty() {
                        continue;
                    }
                    let (loss, c) = task_loss(logits.select(0, index::<B>(&rows[t], device)), batch, &rows[t], device);
                    tasks[t] = Some(loss);
                    correct += c;
                    counted += rows[t].len();
                }
            }
            Sharing::Learned => {
                let logits = self.model.assignment_logits();
                let draws = self.config.nes.weight_samples;
                for _ in 0..draws {
                    let a = sample_assignment(&logits, rng);
                    for (t, r) in rows.iter().enumerate() {
                        if r.is_empty() {
                            continue;
                        }
                        let xt = x.clone().select(0, index::<B>(r, device));
                        let (loss, c) = task_loss(self.model.forward_task(t, xt, &a[t]), batch, r, device);
                        let loss = loss.div_scalar(draws as f32);
                        tasks[t] = Some(match tasks[t].take() {
                            Some(acc) => acc + loss,
                            None => loss,
                        });
                        correct += c;
                        counted += r.len();
                    }
                }
            }
        }
        Ok(StepLosses { tasks, correct: Some((correct, counted)) })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use actionbench_loader::{HostTensor, LoaderState};
    use actionbench_models::MtlTaskSpec;
    use burn::backend::Autodiff;
    use rand::{Rng, SeedableRng};

    use super::*;
    use crate::optim::OptimizerConfig;
    use crate::trainer::{BatchStream, MetricRow, TrainConfig, train};

    type Train = Autodiff<crate::backend::Cpu>;

    fn config(sharing: Sharing) -> MtlR3dConfig {
        MtlR3dConfig {
            tasks: vec![
                MtlTaskSpec { name: "action".into(), num_classes: 3 },
                MtlTaskSpec { name: "gesture".into(), num_classes: 2 },
            ],
            sharing,
            depth: 18,
            widths: [4, 4, 8, 8],
            num_frames: 2,
            crop_size: 8,
            frozen_stages: 2,
            init: None,
            cross_stitch: 0.2,
            stitch_after_pool: true,
            nes: Default::default(),
        }
    }

    /// Batches of 4 clips, two per task, labels tied to the clip's mean so
    /// the problem is learnable.
    struct Batches {
        batches: Vec<HostBatch>,
        at: usize,
    }

    impl Batches {
        fn new(n: usize) -> Self {
            let mut rng = ChaCha8Rng::seed_from_u64(3);
            let batches = (0..n)
                .map(|b| {
                    let labels: Vec<i64> = vec![
                        rng.random_range(0..3),
                        rng.random_range(0..3),
                        rng.random_range(0..2),
                        rng.random_range(0..2),
                    ];
                    let per = 3 * 2 * 8 * 8;
                    let data: Vec<f32> = labels
                        .iter()
                        .flat_map(|&l| (0..per).map(move |i| l as f32 * 0.5 + (i % 7) as f32 * 0.01))
                        .collect();
                    let mut tensors = BTreeMap::new();
                    tensors.insert("clip".to_string(), HostTensor { shape: vec![4, 3, 2, 8, 8], data });
                    let mut label_masks = BTreeMap::new();
                    label_masks.insert("action".to_string(), vec![true, true, false, false]);
                    label_masks.insert("gesture".to_string(), vec![false, false, true, true]);
                    HostBatch {
                        sample_ids: (0..4).map(|i| format!("b{b}s{i}")).collect(),
                        tensors,
                        labels,
                        multi_labels: None,
                        label_masks,
                    }
                })
                .collect();
            Self { batches, at: 0 }
        }
    }

    impl BatchStream for Batches {
        fn next_batch(&mut self) -> Option<Result<HostBatch>> {
            let b = self.batches.get(self.at).cloned();
            self.at += 1;
            b.map(Ok)
        }
        fn state(&self) -> LoaderState {
            LoaderState::new(0, 0)
        }
        fn resume(&mut self, _state: LoaderState) -> Result<()> {
            self.at = 0;
            Ok(())
        }
        fn batches_per_epoch(&self) -> u64 {
            self.batches.len() as u64
        }
    }

    fn run(sharing: Sharing, weighting: Weighting, steps: usize) -> (MtlTask<Train>, Vec<MetricRow>) {
        let device = Default::default();
        let train_config = TrainConfig {
            optimizer: OptimizerConfig::adamw(),
            lr: 1e-2,
            min_lr: 1e-2,
            warmup_steps: 0,
            epochs: 1,
            clip_norm: None,
            seed: 0,
            checkpoint_every: 0,
            keep_checkpoints: 1,
            weighting: weighting.clone(),
        };
        let task = MtlTask::<Train>::new(&config(sharing), &weighting, &device);
        let (task, report) =
            train(task, &mut Batches::new(steps), &train_config, None, &device, &mut |_, _| {}, None).unwrap();
        (task, report.metrics)
    }

    fn series(metrics: &[MetricRow], name: &str) -> Vec<f64> {
        metrics.iter().filter(|m| m.split == "train" && m.metric == name).filter_map(|m| m.value).collect()
    }

    /// The logged DWA weights equal a hand computation from the logged task
    /// losses: λ = 1 for the first two windows, then
    /// λ_i = K exp(w_i/T) / Σ_k exp(w_k/T), w_i = L̄_i(t−1) / L̄_i(t−2).
    #[test]
    fn dwa_weights_in_the_metrics_equal_a_hand_computation() {
        let (_, metrics) = run(Sharing::Hard, Weighting::Dwa { temperature: 2.0, window: Some(2) }, 8);
        let losses = [series(&metrics, "loss_action"), series(&metrics, "loss_gesture")];
        let weights = [series(&metrics, "weight_action"), series(&metrics, "weight_gesture")];
        assert_eq!(losses[0].len(), 8);
        assert_eq!(weights[1].len(), 8);
        let mean = |task: usize, window: usize| (losses[task][2 * window] + losses[task][2 * window + 1]) / 2.0;
        for step in 0..8 {
            let window = step / 2;
            let want: Vec<f64> = if window < 2 {
                vec![1.0, 1.0]
            } else {
                let w: Vec<f64> = (0..2).map(|t| mean(t, window - 1) / mean(t, window - 2)).collect();
                let e: Vec<f64> = w.iter().map(|x| (x / 2.0).exp()).collect();
                e.iter().map(|x| 2.0 * x / (e[0] + e[1])).collect()
            };
            for (t, (logged, want)) in weights.iter().map(|w| w[step]).zip(want).enumerate() {
                assert!((logged - want).abs() < 1e-9, "step {step} task {t}: {logged} vs {want}");
            }
        }
        assert!(weights[0][6] != 1.0, "DWA moved off 1 after two windows");
    }

    /// Automatic weighting logs 1/(2σ²) per task, σ learned from 1.
    #[test]
    fn automatic_weights_start_at_one_half_and_move() {
        let (task, metrics) = run(Sharing::Hard, Weighting::Automatic, 4);
        let w = series(&metrics, "weight_action");
        assert!((w[0] - 0.5).abs() < 1e-9, "σ = 1 at the start: {w:?}");
        let sigma = task.combiner.sigmas().unwrap();
        assert!(sigma.iter().all(|s| (*s - 1.0).abs() > 1e-6), "σ trained: {sigma:?}");
    }

    /// LWS: every step runs an NES step (the sharing probability of each
    /// layer is logged, the assignment logits move off uniform); soft
    /// sharing trains its cross-stitch units.
    #[test]
    fn learned_and_soft_sharing_train_their_own_parameters() {
        let (task, metrics) = run(Sharing::Learned, Weighting::Average, 3);
        let layers = task.model.num_layers();
        assert_eq!(layers, 6, "the blocks of layer2, layer3 and layer4");
        for l in 0..layers {
            let p = series(&metrics, &format!("lws_share_{l}"));
            assert_eq!(p.len(), 3);
            assert!(p.iter().all(|p| (0.0..=1.0).contains(p)));
        }
        let logits = task.model.assignment_logits();
        assert!(logits.iter().flatten().flatten().any(|z| z.abs() > 1e-6), "NES moved the logits");
        let (task, metrics) = run(Sharing::Soft, Weighting::Average, 3);
        assert!(series(&metrics, "loss").iter().all(|l| l.is_finite()));
        let w = task.model.stitches[0].weights.val().into_data().to_vec::<f32>().unwrap();
        assert!((w[0] - 0.8).abs() > 1e-6 || (w[1] - 0.2).abs() > 1e-6, "cross-stitch weights train: {w:?}");
    }
}
