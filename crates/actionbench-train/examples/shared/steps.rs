//! What the step benchmarks share: the in-memory feed and the timed loop
//! through the trainer.

use std::time::Instant;

use actionbench_loader::{HostBatch, Loader, LoaderError, LoaderState};
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
    // The binaries' allocator setting (actionbench's main.rs): mimalloc
    // keeps freed pages for reuse (15 = `mi_option_purge_delay`) unless
    // MIMALLOC_PURGE_DELAY says otherwise.
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: sets an integer option.
        #[allow(unsafe_code)]
        unsafe {
            libmimalloc_sys::mi_option_set(15, -1)
        };
    }
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

/// `--name value` options, checked against the names a benchmark knows.
pub(crate) struct Options(Vec<String>);

impl Options {
    /// The process arguments; an unknown name or a name without a value is an error.
    pub(crate) fn parse(known: &[&str]) -> Result<Self, Box<dyn std::error::Error>> {
        let args: Vec<String> = std::env::args().skip(1).collect();
        if !args.len().is_multiple_of(2) {
            return Err("arguments come in `--name value` pairs".into());
        }
        for pair in args.chunks(2) {
            if !known.contains(&pair[0].as_str()) {
                return Err(format!("unknown option `{}` (options: {})", pair[0], known.join(", ")).into());
            }
        }
        Ok(Self(args))
    }

    /// The value of `name`, if given.
    pub(crate) fn get(&self, name: &str) -> Option<String> {
        self.0.chunks(2).find(|w| w[0] == name).map(|w| w[1].clone())
    }

    /// The number `name`, or `default`.
    pub(crate) fn num(&self, name: &str, default: usize) -> Result<usize, Box<dyn std::error::Error>> {
        self.get(name).map_or(Ok(default), |v| v.parse().map_err(|_| format!("{name}: `{v}` is not a number").into()))
    }
}

/// Times `task()` fed from memory (copies of the first batch of a fresh
/// `loader()`) and fed by another fresh `loader()`, then prints one JSON
/// line per feed (with the `common` fields) and the ratio.
pub(crate) fn compare_feeds<B: AutodiffBackend, M: TrainModel<B>>(
    task: impl Fn() -> M,
    loader: impl Fn() -> Result<Loader, LoaderError>,
    (warmup, steps): (usize, usize),
    device: &B::Device,
    common: &str,
) -> Result<(), Box<dyn std::error::Error>> {
    let first = loader()?.next().ok_or("the loader yields no batch: fewer samples than --batch")??;
    let mut memory = InMemory::new(first, warmup + steps);
    let (mem_median, mem_mean) = time_steps(task(), warmup, steps, &mut memory, device)?;
    let (load_median, load_mean) = time_steps(task(), warmup, steps, &mut loader()?, device)?;
    println!("{{\"feed\": \"in-memory\", {common}, \"median_ms\": {mem_median:.3}, \"mean_ms\": {mem_mean:.3}}}");
    println!("{{\"feed\": \"loader\", {common}, \"median_ms\": {load_median:.3}, \"mean_ms\": {load_mean:.3}}}");
    println!("{{\"loader_over_in_memory\": {:.4}}}", load_median / mem_median);
    Ok(())
}

/// Calls `$run::<Backend>(args, device, name)` for `--device cpu` or `cuda`.
macro_rules! on_device {
    ($device:expr, $run:ident, $args:expr) => {
        match $device {
            "cpu" => {
                use actionbench_train::backend::{CPU_BACKEND_NAME, Cpu};
                $run::<burn::backend::Autodiff<Cpu>>($args, &Default::default(), CPU_BACKEND_NAME)
            }
            #[cfg(feature = "cuda")]
            "cuda" => $run::<burn::backend::Autodiff<burn_cuda::Cuda>>($args, &Default::default(), "burn cuda f32"),
            other => Err(format!("--device `{other}`: cpu, or cuda in a build with `--features cuda`").into()),
        }
    };
}
pub(crate) use on_device;
