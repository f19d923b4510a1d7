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
