//! The batch iterator: parallel decode, collation, bounded prefetch, resume.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::batch::HostBatch;
use crate::error::LoaderError;
use crate::order::sample_rng;
use crate::plan::{Plan, Sequential};
use crate::sample::{SampleSource, collate};

/// Where a loader is: enough to resume exactly (with the same dataset and config).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LoaderState {
    /// Seed of the order and of every augmentation.
    pub seed: u64,
    /// Epoch (0-based).
    pub epoch: u64,
    /// Samples of this epoch already yielded.
    pub position: u64,
}

impl LoaderState {
    /// The start of `epoch`.
    pub fn new(seed: u64, epoch: u64) -> Self {
        Self { seed, epoch, position: 0 }
    }

    /// The start of the following epoch.
    pub fn next_epoch(self) -> Self {
        Self { seed: self.seed, epoch: self.epoch + 1, position: 0 }
    }
}

/// How batches are made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LoaderConfig {
    /// Samples per batch.
    pub batch_size: usize,
    /// Drop the last, smaller batch of an epoch.
    pub drop_last: bool,
    /// Shuffle (single-source loaders; mixtures always shuffle).
    pub shuffle: bool,
    /// Decode threads (0 = one per core).
    pub threads: usize,
    /// Batches built ahead on a background thread (0 = build on demand).
    pub prefetch: usize,
}

impl Default for LoaderConfig {
    fn default() -> Self {
        Self { batch_size: 32, drop_last: false, shuffle: true, threads: 0, prefetch: 2 }
    }
}

/// What the building side shares with the prefetch thread.
struct Builder {
    sources: Vec<Arc<dyn SampleSource>>,
    plan: Arc<dyn Plan>,
    pool: rayon::ThreadPool,
    batch_size: u64,
    end: u64,
    built: AtomicU64,
}

impl Builder {
    /// The batch starting at `start`, and where the next one starts.
    fn build(&self, seed: u64, epoch: u64, start: u64) -> Result<(HostBatch, u64), LoaderError> {
        let stop = (start + self.batch_size).min(self.end);
        let picks = self.plan.picks(seed, epoch, start..stop);
        let samples = self.pool.install(|| {
            picks
                .par_iter()
                .map(|&(s, i)| {
                    let mut rng = sample_rng(seed, epoch, s as u64, i);
                    self.sources[s].sample(i as usize, &mut rng)
                })
                .collect::<Result<Vec<_>, _>>()
        })?;
        let batch = collate(samples)?;
        self.built.fetch_add(1, Ordering::SeqCst);
        Ok((batch, stop))
    }
}

struct Worker {
    rx: Receiver<Result<(HostBatch, u64), LoaderError>>,
    handle: Option<JoinHandle<()>>,
}

/// Yields the batches of one epoch (`Result<HostBatch, LoaderError>`), in an
/// order that depends only on (seed, epoch, position): the same for any
/// thread count, prefetch depth or resume point. `state()` after a batch
/// says how to resume right after it.
pub struct Loader {
    builder: Arc<Builder>,
    state: LoaderState,
    prefetch: usize,
    worker: Option<Worker>,
    failed: bool,
}

impl Loader {
    /// A loader over one source, from `state`.
    pub fn new(source: Arc<dyn SampleSource>, config: &LoaderConfig, state: LoaderState) -> Result<Self, LoaderError> {
        let plan = Sequential::new(source.len(), config.shuffle);
        Self::with_plan(vec![source], Arc::new(plan), config, state)
    }

    /// A loader over several sources picked by `plan`.
    pub fn with_plan(
        sources: Vec<Arc<dyn SampleSource>>,
        plan: Arc<dyn Plan>,
        config: &LoaderConfig,
        state: LoaderState,
    ) -> Result<Self, LoaderError> {
        if config.batch_size == 0 {
            return Err(LoaderError::config("batch size 0", "use a batch size of at least 1"));
        }
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(config.threads)
            .thread_name(|i| format!("actionbench-loader-{i}"))
            .build()
            .map_err(|e| LoaderError::config(format!("cannot start decode threads: {e}"), "use fewer threads"))?;
        let len = plan.epoch_len();
        let b = config.batch_size as u64;
        let end = if config.drop_last { len / b * b } else { len };
        let builder = Arc::new(Builder { sources, plan, pool, batch_size: b, end, built: AtomicU64::new(0) });
        let mut loader = Self { builder, state, prefetch: config.prefetch, worker: None, failed: false };
        loader.resume(state)?;
        Ok(loader)
    }

    /// Where the loader is: the state to save in a checkpoint.
    pub fn state(&self) -> LoaderState {
        self.state
    }

    /// Jumps to `state` (e.g. one saved mid-epoch): the next batch is the one
    /// that followed it.
    pub fn resume(&mut self, state: LoaderState) -> Result<(), LoaderError> {
        if state.position > self.builder.end {
            return Err(LoaderError::config(
                format!(
                    "resume position {} is past the end of the epoch ({} samples)",
                    state.position, self.builder.end
                ),
                "resume with the dataset, filter and batch settings the state was saved with",
            ));
        }
        self.stop_worker();
        self.state = state;
        self.failed = false;
        Ok(())
    }

    /// Batches left in this epoch.
    pub fn remaining_batches(&self) -> u64 {
        (self.builder.end - self.state.position.min(self.builder.end)).div_ceil(self.builder.batch_size)
    }

    /// Batches in a whole epoch.
    pub fn batches_per_epoch(&self) -> u64 {
        self.builder.end.div_ceil(self.builder.batch_size)
    }

    /// Samples yielded per epoch.
    pub fn samples_per_epoch(&self) -> u64 {
        self.builder.end
    }

    /// Batches built so far (including prefetched ones not yet yielded).
    pub fn batches_built(&self) -> u64 {
        self.builder.built.load(Ordering::SeqCst)
    }

    fn stop_worker(&mut self) {
        if let Some(mut w) = self.worker.take() {
            drop(w.rx);
            if let Some(h) = w.handle.take() {
                // The thread ends at its next send; a panic there has already been reported.
                let _ = h.join();
            }
        }
    }

    fn start_worker(&mut self) {
        let (tx, rx): (SyncSender<_>, _) = sync_channel(self.prefetch);
        let builder = Arc::clone(&self.builder);
        let LoaderState { seed, epoch, position } = self.state;
        let handle = std::thread::Builder::new().name("actionbench-prefetch".into()).spawn(move || {
            let mut pos = position;
            while pos < builder.end {
                let out = builder.build(seed, epoch, pos);
                let next = out.as_ref().map(|(_, n)| *n).ok();
                if tx.send(out).is_err() {
                    return;
                }
                match next {
                    Some(n) => pos = n,
                    None => return,
                }
            }
        });
        match handle {
            Ok(h) => self.worker = Some(Worker { rx, handle: Some(h) }),
            Err(e) => {
                // No thread: fall back to building on demand.
                let (tx, rx) = sync_channel(1);
                let _ = tx.send(Err(LoaderError::Prefetch(format!("cannot start: {e}"))));
                self.worker = Some(Worker { rx, handle: None });
            }
        }
    }
}

impl Iterator for Loader {
    type Item = Result<HostBatch, LoaderError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.state.position >= self.builder.end {
            return None;
        }
        let LoaderState { seed, epoch, position } = self.state;
        let out = if self.prefetch == 0 {
            self.builder.build(seed, epoch, position)
        } else {
            if self.worker.is_none() {
                self.start_worker();
            }
            let w = self.worker.as_ref().expect("started above");
            w.rx.recv().unwrap_or_else(|_| Err(LoaderError::Prefetch("it ended before the epoch did".into())))
        };
        Some(match out {
            Ok((batch, next)) => {
                self.state.position = next;
                Ok(batch)
            }
            Err(e) => {
                self.failed = true;
                Err(e)
            }
        })
    }
}

impl Drop for Loader {
    fn drop(&mut self) {
        self.stop_worker();
    }
}
