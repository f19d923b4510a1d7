//! The training loop: seeded steps, warm-up + cosine learning rate, global
//! gradient-norm clipping, atomic checkpoints every N steps, exact resume,
//! and per-step / per-epoch metrics.

use std::path::Path;
use std::time::Instant;

use actionbench_loader::{HostBatch, Loader, LoaderState};
use burn::module::AutodiffModule;
use burn::optim::GradientsParams;
use burn::tensor::Tensor;
use burn::tensor::backend::{AutodiffBackend, Backend};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::checkpoint::{self, TrainState};
use crate::error::{Result, TrainError};
use crate::multitask::{DwaTracker, LossCombiner, Weighting};
use crate::optim::{OptimizerConfig, clip_grad_norm};
use crate::schedule::CosineSchedule;

/// The losses of one batch.
pub struct StepLosses<B: Backend> {
    /// One slot per task (`None`: no labelled sample in the batch).
    pub tasks: Vec<Option<Tensor<B, 1>>>,
    /// `(correct, counted)` of the main task, when it is a classification.
    pub correct: Option<(usize, usize)>,
}

/// A model (with its loss combiner) that the trainer can fit.
pub trait TrainModel<B: AutodiffBackend>: AutodiffModule<B> {
    /// Task names, in loss-slot order.
    fn task_names(&self) -> Vec<String>;
    /// The loss combiner inside the module.
    fn combiner(&self) -> &LossCombiner<B>;
    /// Forward pass and per-task losses of a batch; all randomness beyond
    /// the backend's (dropout) comes from `rng`.
    fn losses(&self, batch: &HostBatch, rng: &mut ChaCha8Rng, device: &B::Device) -> Result<StepLosses<B>>;
    /// Runs before `losses` on the same batch: a model with state that no
    /// gradient trains (LWS's assignment distribution, moved by NES steps)
    /// updates it here, returning metrics to log for the step.
    fn prepare_step(
        self,
        _batch: &HostBatch,
        _rng: &mut ChaCha8Rng,
        _device: &B::Device,
    ) -> Result<(Self, Vec<(String, f64)>)>
    where
        Self: Sized,
    {
        Ok((self, Vec::new()))
    }
}

/// Batches across epochs with a resumable position.
pub trait BatchStream {
    /// The next batch of the current epoch, `None` at its end.
    fn next_batch(&mut self) -> Option<Result<HostBatch>>;
    /// Where the stream is.
    fn state(&self) -> LoaderState;
    /// Jumps to a saved position.
    fn resume(&mut self, state: LoaderState) -> Result<()>;
    /// Batches per epoch.
    fn batches_per_epoch(&self) -> u64;
}

impl BatchStream for Loader {
    fn next_batch(&mut self) -> Option<Result<HostBatch>> {
        self.next().map(|r| r.map_err(TrainError::from))
    }
    fn state(&self) -> LoaderState {
        Loader::state(self)
    }
    fn resume(&mut self, state: LoaderState) -> Result<()> {
        Ok(Loader::resume(self, state)?)
    }
    fn batches_per_epoch(&self) -> u64 {
        Loader::batches_per_epoch(self)
    }
}

fn default_warmup() -> u64 {
    0
}
fn default_keep() -> usize {
    2
}

/// How to train.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct TrainConfig {
    /// Optimiser.
    pub optimizer: OptimizerConfig,
    /// Peak learning rate.
    pub lr: f64,
    /// Final learning rate of the cosine decay.
    #[serde(default)]
    pub min_lr: f64,
    /// Linear warm-up steps.
    #[serde(default = "default_warmup")]
    pub warmup_steps: u64,
    /// Epochs over the data.
    pub epochs: u64,
    /// Clip gradients to this global L2 norm.
    #[serde(default)]
    pub clip_norm: Option<f64>,
    /// Seed of initialisation, order, augmentation, dropout and masking.
    #[serde(default)]
    pub seed: u64,
    /// Write a checkpoint every this many steps (0 = only at the end).
    #[serde(default)]
    pub checkpoint_every: u64,
    /// Checkpoints kept.
    #[serde(default = "default_keep")]
    pub keep_checkpoints: usize,
    /// Multi-task loss weighting.
    #[serde(default = "default_weighting")]
    pub weighting: Weighting,
}

fn default_weighting() -> Weighting {
    Weighting::Average
}

impl TrainConfig {
    /// Checks the values.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(TrainError::config(m, "fix the value in the stage's `params`"));
        if !(self.lr > 0.0 && self.lr.is_finite()) || self.min_lr < 0.0 || self.min_lr > self.lr {
            return bad(format!(
                "`lr` must be positive and `min-lr` in [0, lr]; got lr {} and min-lr {}",
                self.lr, self.min_lr
            ));
        }
        if self.epochs == 0 {
            return bad("`epochs` must be at least 1".into());
        }
        if self.clip_norm.is_some_and(|c| c.is_nan() || c <= 0.0) {
            return bad("`clip-norm` must be positive".into());
        }
        Ok(())
    }

    /// A stable hash of the config (checkpoints of another config are refused).
    pub fn hash(&self) -> String {
        let json = serde_json::to_string(self).unwrap_or_default();
        actionbench_core::Fingerprint::of_bytes(json.as_bytes()).to_hex()
    }
}

/// One row of the long-format metrics table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct MetricRow {
    /// `train` (per step), `train-epoch` or an evaluation split.
    pub split: String,
    /// Metric name.
    pub metric: String,
    /// Value.
    #[serde(with = "crate::exact::option")]
    #[schemars(with = "Option<String>")]
    pub value: Option<f64>,
    /// Step it was measured at.
    pub step: Option<i64>,
}

impl MetricRow {
    fn new(split: &str, metric: &str, value: f64, step: u64) -> Self {
        Self { split: split.into(), metric: metric.into(), value: Some(value), step: Some(step as i64) }
    }
}

/// An epoch's running loss and accuracy sums (its `train-epoch` rows).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct EpochSums {
    /// Sum of the step losses.
    #[serde(with = "crate::exact::f64")]
    #[schemars(with = "String")]
    pub loss_sum: f64,
    /// Steps with a loss.
    pub loss_n: u64,
    /// Correct predictions.
    pub correct: usize,
    /// Predictions counted.
    pub counted: usize,
}

/// What a run did.
#[derive(Debug, Clone)]
pub struct TrainReport {
    /// Steps done in total (including those before a resume).
    pub steps: u64,
    /// The step this process resumed from, if it did.
    pub resumed_from: Option<u64>,
    /// Metrics rows.
    pub metrics: Vec<MetricRow>,
    /// Seconds spent in this process.
    pub seconds: f64,
    /// Mean loss of the last epoch.
    pub final_loss: f64,
    /// Hash of every batch's sample ids in the order they were fed, across
    /// epochs and resumes: equal hashes mean the model saw the same data in
    /// the same order (the leaderboard's data-order check).
    pub data_order: String,
}

/// Extends the data-order hash `prev` with one batch's sample ids.
pub fn chain_order(prev: &str, ids: &[String]) -> String {
    let mut bytes = Vec::with_capacity(prev.len() + ids.iter().map(|i| i.len() + 1).sum::<usize>());
    bytes.extend_from_slice(prev.as_bytes());
    for id in ids {
        bytes.extend_from_slice(id.as_bytes());
        bytes.push(b'\n');
    }
    actionbench_core::Fingerprint::of_bytes(&bytes).to_hex()
}

/// Mixes a run seed and a step into a seed (SplitMix64 finaliser), so each
/// step's randomness is a pure function of (seed, step) and a resumed run
/// draws exactly what an uninterrupted one would.
pub fn step_seed(seed: u64, step: u64) -> u64 {
    let mut z = seed ^ step.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Stops the run after a step (tests simulate a crash with it).
pub type StopAfter = Option<u64>;

/// Trains `model` on `data` for `config.epochs`, resuming from the newest
/// checkpoint in `checkpoints` when there is one. `progress(step, total)`
/// is called after every step. With `stop_after = Some(n)` the run returns
/// right after step `n` without a checkpoint of its own, as a crash would.
pub fn train<B, M, S>(
    mut model: M,
    data: &mut S,
    config: &TrainConfig,
    checkpoints: Option<&Path>,
    device: &B::Device,
    progress: &mut dyn FnMut(u64, u64),
    stop_after: StopAfter,
) -> Result<(M, TrainReport)>
where
    B: AutodiffBackend,
    M: TrainModel<B>,
    S: BatchStream + ?Sized,
{
    config.validate()?;
    let started = Instant::now();
    let tasks = model.task_names();
    if let Weighting::Fixed { .. } | Weighting::Dwa { .. } = config.weighting {
        config.weighting.validate(tasks.len()).map_err(|m| TrainError::config(m, "fix `weighting`"))?;
    }
    let per_epoch = data.batches_per_epoch();
    if per_epoch == 0 {
        return Err(TrainError::config(
            "the training data yields no batch",
            "check the input shards and the filter, or lower `batch-size` / turn off `drop-last`",
        ));
    }
    let total = per_epoch * config.epochs;
    let schedule = CosineSchedule {
        base_lr: config.lr,
        min_lr: config.min_lr,
        warmup_steps: config.warmup_steps,
        total_steps: total,
    };
    let mut optim = config.optimizer.init::<B, M>();
    let mut step = 0u64;
    let mut dwa = DwaTracker::new(tasks.len());
    let mut resumed_from = None;
    let mut data_order = String::new();
    let mut metrics = Vec::new();
    let mut sums = EpochSums::default();
    let mut stopped = false;
    let config_hash = config.hash();
    if let Some(dir) = checkpoints
        && let Some(ck) = checkpoint::latest(dir)?
    {
        if ck.state.config_hash != config_hash {
            return Err(TrainError::Checkpoint {
                path: ck.path,
                message: "it was written by a run with another training config".into(),
            });
        }
        model = checkpoint::load_module_bytes(model, ck.model, device, &ck.path)?;
        optim = optim
            .load_state_bytes(ck.optim, device)
            .map_err(|m| TrainError::Checkpoint { path: ck.path.clone(), message: m })?;
        data.resume(ck.state.loader)?;
        step = ck.state.step;
        dwa = ck.state.dwa;
        data_order = ck.state.data_order;
        metrics = ck.state.metrics;
        sums = ck.state.epoch;
        resumed_from = Some(step);
    }
    let mut final_loss = f64::NAN;
    let save = |model: &M, optim: &crate::optim::AnyOptimizer<M, B>, state: TrainState| -> Result<()> {
        if let Some(dir) = checkpoints {
            checkpoint::save(
                dir,
                &checkpoint::module_bytes(model)?,
                &optim.state_bytes()?,
                &state,
                config.keep_checkpoints,
            )?;
        }
        Ok(())
    };
    'run: while step < total {
        while let Some(batch) = data.next_batch() {
            let batch = batch?;
            data_order = chain_order(&data_order, &batch.sample_ids);
            // The backend's RNG is process-wide: the seed and the forward
            // pass (dropout) draw in this thread's turn (crate::rng_turn).
            let turn = crate::rng_turn::step();
            B::seed(device, step_seed(config.seed, step));
            let mut rng = ChaCha8Rng::seed_from_u64(step_seed(config.seed ^ 0x5eed, step));
            let (prepared, extra) = model.prepare_step(&batch, &mut rng, device)?;
            model = prepared;
            let out = model.losses(&batch, &mut rng, device)?;
            let values: Vec<Option<f64>> = out.tasks.iter().map(|t| t.as_ref().map(|t| scalar(t.clone()))).collect();
            drop(turn);
            let dwa_weights = match config.weighting {
                Weighting::Dwa { temperature, .. } => dwa.weights(temperature),
                _ => Vec::new(),
            };
            let lr = schedule.lr(step);
            // The weights this step's losses get (before the step moves σ).
            let present: Vec<bool> = values.iter().map(Option::is_some).collect();
            let task_weights = model.combiner().weights(&present, &dwa_weights);
            if let Some(loss) = model.combiner().combine(&out.tasks, &dwa_weights) {
                let value = scalar(loss.clone());
                if !value.is_finite() {
                    return Err(TrainError::NonFinite { step, value });
                }
                let mut grads = GradientsParams::from_grads(loss.backward(), &model);
                let norm = match config.clip_norm {
                    Some(max) => clip_grad_norm::<B, M>(&model, &mut grads, max),
                    None => crate::optim::grad_norm::<B, M>(&model, &grads),
                };
                model = optim.step(lr, model, grads);
                metrics.push(MetricRow::new("train", "loss", value, step + 1));
                metrics.push(MetricRow::new("train", "grad_norm", norm, step + 1));
                sums.loss_sum += value;
                sums.loss_n += 1;
            }
            metrics.push(MetricRow::new("train", "lr", lr, step + 1));
            if tasks.len() > 1 {
                for ((name, v), w) in tasks.iter().zip(&values).zip(task_weights) {
                    if let Some(v) = v {
                        metrics.push(MetricRow::new("train", &format!("loss_{name}"), *v, step + 1));
                    }
                    if let Some(w) = w {
                        metrics.push(MetricRow::new("train", &format!("weight_{name}"), w, step + 1));
                    }
                }
            }
            for (name, v) in extra {
                metrics.push(MetricRow::new("train", &name, v, step + 1));
            }
            if let Weighting::Dwa { window, .. } = config.weighting {
                dwa.record(&values, window.unwrap_or(per_epoch));
            }
            if let Some((c, n)) = out.correct {
                sums.correct += c;
                sums.counted += n;
            }
            step += 1;
            progress(step, total);
            if (config.checkpoint_every > 0 && step.is_multiple_of(config.checkpoint_every)) || step == total {
                let state = TrainState {
                    step,
                    loader: data.state(),
                    dwa: dwa.clone(),
                    config_hash: config_hash.clone(),
                    data_order: data_order.clone(),
                    metrics: metrics.clone(),
                    epoch: sums.clone(),
                };
                save(&model, &optim, state)?;
            }
            if stop_after == Some(step) {
                stopped = true;
                break 'run;
            }
            if step >= total {
                break;
            }
        }
        close_epoch(&mut sums, &mut metrics, &mut final_loss, step);
        if step < total {
            let next = data.state().next_epoch();
            data.resume(next)?;
        }
    }
    if !stopped && sums != EpochSums::default() {
        // Resumed from the last step's checkpoint: the last epoch's rows
        // were not written yet.
        close_epoch(&mut sums, &mut metrics, &mut final_loss, step);
    }
    let report = TrainReport {
        steps: step,
        resumed_from,
        metrics,
        seconds: started.elapsed().as_secs_f64(),
        final_loss,
        data_order,
    };
    Ok((model, report))
}

/// Writes an epoch's `train-epoch` rows (mean loss, accuracy) and starts
/// the next epoch's sums.
fn close_epoch(sums: &mut EpochSums, metrics: &mut Vec<MetricRow>, final_loss: &mut f64, step: u64) {
    let epoch = std::mem::take(sums);
    if epoch.loss_n > 0 {
        *final_loss = epoch.loss_sum / epoch.loss_n as f64;
        metrics.push(MetricRow::new("train-epoch", "loss", *final_loss, step));
    }
    if epoch.counted > 0 {
        metrics.push(MetricRow::new("train-epoch", "accuracy", epoch.correct as f64 / epoch.counted as f64, step));
    }
}

/// A one-element tensor as f64.
pub fn scalar<B: Backend>(t: Tensor<B, 1>) -> f64 {
    use burn::tensor::ElementConversion;
    t.into_scalar().elem::<f64>()
}
