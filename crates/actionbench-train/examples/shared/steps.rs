//! What the step benchmarks share: the in-memory feed and the timed loop
//! through the trainer.

use std::time::Instant;

use actionbench_loader::{HostBatch, LoaderState};
use actionbench_train::optim::OptimizerConfig;
use actionbench_train::trainer::{BatchStream, TrainConfig, TrainModel, train};
use burn::tensor::backend::AutodiffBackend;

/// Copies of one collated batch, made before timing starts, handed out in
/// turn: a step fed this way does no host work at all.
pub(crate) struct InMemory {
    batches: Vec<HostBatch>,
    per_epoch: u64,
    state: LoaderState,
}

impl InMemory {
    /// `count` copies of `batch`.
    pub(crate) fn new(batch: HostBatch, count: usize) -> Self {
        Self { batches: vec![batch; count], per_epoch: count as u64, state: LoaderState::new(0, 0) }
    }
}

impl BatchStream for InMemory {
    fn next_batch(&mut self) -> Option<actionbench_train::Result<HostBatch>> {
        let batch = self.batches.pop()?;
        self.state.position += batch.len() as u64;
        Some(Ok(batch))
    }
    fn state(&self) -> LoaderState {
        self.state
    }
    fn resume(&mut self, state: LoaderState) -> actionbench_train::Result<()> {
        self.state = state;
        Ok(())
    }
    fn batches_per_epoch(&self) -> u64 {
        self.per_epoch
    }
}

/// Median and mean milliseconds of `steps` training steps (forward, loss,
/// backward, AdamW at lr 1e-4) of `task` after `warmup` untimed ones.
pub(crate) fn time_steps<B: AutodiffBackend, M: TrainModel<B>>(
    task: M,
    warmup: usize,
    steps: usize,
    data: &mut dyn BatchStream,
    device: &B::Device,
) -> Result<(f64, f64), Box<dyn std::error::Error>> {
    let train_config = TrainConfig {
        optimizer: OptimizerConfig::adamw(),
        lr: 1e-4,
        min_lr: 0.0,
        warmup_steps: 0,
        epochs: 1,
        clip_norm: None,
        seed: 0,
        checkpoint_every: 0,
        keep_checkpoints: 1,
        weighting: actionbench_train::multitask::Weighting::Average,
    };
    let mut marks = vec![Instant::now()];
    let mut progress = |_: u64, _: u64| {
        B::sync(device).ok();
        marks.push(Instant::now());
    };
    train(task, data, &train_config, None, device, &mut progress, Some((warmup + steps) as u64))?;
    let mut times: Vec<f64> = marks.windows(2).skip(warmup).map(|w| (w[1] - w[0]).as_secs_f64() * 1000.0).collect();
    if times.is_empty() {
        return Err("no step was timed: raise --steps".into());
    }
    let mean = times.iter().sum::<f64>() / times.len() as f64;
    times.sort_by(f64::total_cmp);
    Ok((times[times.len() / 2], mean))
}
