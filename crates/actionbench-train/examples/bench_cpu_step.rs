//! One model's training step through the trainer on the CPU backend, fed
//! from memory, for `scripts/bench cpu-step` (which times the same step in
//! PyTorch eager beside it):
//!
//! - `--model lart`: LART (`--size paper` is 16 layers, width 512, 16
//!   heads), multi-label BCE over every frame, pose only;
//! - `--model stgcn`: ST-GCN (`--size standard` is the paper's ten blocks)
//!   over `[N, 3, T, 25, 2]` NTU joints, no dropout, cross-entropy;
//! - `--model mvit`: MViTv2 `tiny` over `[N, 3, T, S, S]` clips (`--crop`,
//!   default 64), no dropout, cross-entropy over 20 classes.
//!
//! Both go through `trainer::train` (host batch → tensors, forward, loss,
//! backward, global grad norm, AdamW at lr 1e-4), as a `train` stage does.
//!
//! ```text
//! bench_cpu_step --model lart|stgcn|mvit [--size ...] [--batch 8] [--frames 32]
//!                [--crop 64] [--steps 5] [--warmup 2]
//! ```
//!
//! Prints one JSON line: backend, threads, shape and the median and mean step.

// Shared with bench_step; this one uses the in-memory feed and the timed
// loop only.
#[allow(dead_code, unused_macros, unused_imports)]
#[path = "shared/steps.rs"]
mod steps;

use actionbench_loader::{HostBatch, HostTensor};
use actionbench_models::{LartConfig, LartSize, MvitConfig, MvitSize, StGcnConfig, StGcnSize};
use actionbench_train::backend::{CPU_BACKEND_NAME, Cpu, init_cpu};
use actionbench_train::tasks::{LartTask, StGcnTask, VideoConfig, VideoTask};
use burn::backend::Autodiff;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use steps::{InMemory, Options, time_steps};

// The allocator of the `actionbench` binary, whose `train` stage this stands in for.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

type Error = Box<dyn std::error::Error>;
type B = Autodiff<Cpu>;

/// Uniform values in [-1, 1).
fn uniform(rng: &mut ChaCha8Rng, n: usize) -> Vec<f32> {
    (0..n).map(|_| rng.random::<f32>() * 2.0 - 1.0).collect()
}

fn lart_batch(n: usize, t: usize, classes: usize, rng: &mut ChaCha8Rng) -> Result<HostBatch, Error> {
    let mut batch = HostBatch { sample_ids: (0..n).map(|i| format!("s{i}")).collect(), ..Default::default() };
    batch.tensors.insert("pose".into(), HostTensor::new(vec![n, t, 1, 229], uniform(rng, n * t * 229))?);
    batch.tensors.insert("valid".into(), HostTensor::new(vec![n, t, 1], vec![1.0; n * t])?);
    let hot = (0..n * t * classes).map(|_| f32::from(u8::from(rng.random::<f32>() < 0.05))).collect();
    batch.multi_labels = Some(HostTensor::new(vec![n, t, classes], hot)?);
    batch.labels = vec![-1; n];
    Ok(batch)
}

fn stgcn_batch(n: usize, t: usize, classes: usize, rng: &mut ChaCha8Rng) -> Result<HostBatch, Error> {
    let mut batch = HostBatch { sample_ids: (0..n).map(|i| format!("s{i}")).collect(), ..Default::default() };
    batch.tensors.insert("joints".into(), HostTensor::new(vec![n, 3, t, 25, 2], uniform(rng, n * 3 * t * 50))?);
    batch.labels = (0..n).map(|i| (i % classes) as i64).collect();
    Ok(batch)
}

fn clip_batch(n: usize, t: usize, s: usize, classes: usize, rng: &mut ChaCha8Rng) -> Result<HostBatch, Error> {
    let mut batch = HostBatch { sample_ids: (0..n).map(|i| format!("s{i}")).collect(), ..Default::default() };
    batch.tensors.insert("clip".into(), HostTensor::new(vec![n, 3, t, s, s], uniform(rng, n * 3 * t * s * s))?);
    batch.labels = (0..n).map(|i| (i % classes) as i64).collect();
    Ok(batch)
}

fn main() -> Result<(), Error> {
    let o = Options::parse(&["--model", "--size", "--batch", "--frames", "--crop", "--steps", "--warmup"])?;
    let model = o.get("--model").ok_or("--model lart|stgcn|mvit is required")?;
    let (batch, frames) = (o.num("--batch", 8)?, o.num("--frames", 32)?);
    let (steps, warmup) = (o.num("--steps", 5)?, o.num("--warmup", 2)?);
    let size = o.get("--size");
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let device = Default::default();
    let threads = init_cpu();
    let (median, mean) = match model.as_str() {
        "lart" => {
            let size = match size.as_deref().unwrap_or("paper") {
                "tiny" => LartSize::Tiny,
                "small" => LartSize::Small,
                "paper" => LartSize::Paper,
                other => return Err(format!("--size: `{other}` is not tiny, small or paper").into()),
            };
            let mut config = LartConfig::new(80, size);
            config.max_people = 1;
            config.dropout = 0.1;
            let mut feed = InMemory::new(lart_batch(batch, frames, 80, &mut rng)?, warmup + steps);
            time_steps(LartTask::<B>::new(&config, &device), warmup, steps, &mut feed, &device)?
        }
        "stgcn" => {
            let size = match size.as_deref().unwrap_or("standard") {
                "tiny" => StGcnSize::Tiny,
                "small" => StGcnSize::Small,
                "standard" => StGcnSize::Standard,
                other => return Err(format!("--size: `{other}` is not tiny, small or standard").into()),
            };
            // The PyTorch peer's blocks have no dropout (as ntu60-xsub's).
            let mut config = StGcnConfig::new(60, size);
            config.dropout = 0.0;
            let mut feed = InMemory::new(stgcn_batch(batch, frames, 60, &mut rng)?, warmup + steps);
            time_steps(StGcnTask::<B>::new(&config, &device), warmup, steps, &mut feed, &device)?
        }
        "mvit" => {
            if let Some(other) = size.as_deref().filter(|s| *s != "tiny") {
                return Err(format!("--size: `{other}` is not tiny (the only MViTv2 size with a PyTorch peer)").into());
            }
            let mut config = MvitConfig::new(20, MvitSize::Tiny);
            (config.num_frames, config.crop_size, config.dropout) = (frames, o.num("--crop", 64)?, 0.0);
            let mut feed = InMemory::new(clip_batch(batch, frames, config.crop_size, 20, &mut rng)?, warmup + steps);
            time_steps(VideoTask::<B>::new(VideoConfig::Mvit(&config), &device), warmup, steps, &mut feed, &device)?
        }
        other => return Err(format!("--model: `{other}` is not lart, stgcn or mvit").into()),
    };
    println!(
        "{{\"model\": \"{model}\", \"backend\": \"{CPU_BACKEND_NAME}\", \"threads\": {}, \"batch\": {batch}, \
         \"frames\": {frames}, \"steps\": {steps}, \"median_ms\": {median:.3}, \"mean_ms\": {mean:.3}}}",
        threads
    );
    Ok(())
}
