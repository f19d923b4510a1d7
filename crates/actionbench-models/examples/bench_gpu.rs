//! One LART training step (forward, multi-label BCE, backward, AdamW) timed
//! on the CUDA backend, for `scripts/bench gpu` (which runs the PyTorch
//! version of the same step beside it).
//!
//! ```text
//! bench_gpu [--batch 32] [--frames 128] [--people 1] [--size paper] [--steps 20] [--warmup 5]
//! ```
//!
//! Prints one JSON line: the median and mean step time in milliseconds.
//! The batch is made once and reused (the in-memory-fed step).

use std::time::Instant;

use actionbench_models::{LartConfig, LartInput, LartSize};
use burn::backend::Autodiff;
use burn::optim::{AdamWConfig, GradientsParams, Optimizer};
use burn::tensor::backend::Backend;
use burn::tensor::{Bool, Distribution, Tensor, TensorData};
use burn_cuda::Cuda;

type B = Autodiff<Cuda>;

fn arg(args: &[String], name: &str, default: usize) -> usize {
    args.windows(2).find(|w| w[0] == name).and_then(|w| w[1].parse().ok()).unwrap_or(default)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (n, t, p) = (arg(&args, "--batch", 32), arg(&args, "--frames", 128), arg(&args, "--people", 1));
    let (steps, warmup) = (arg(&args, "--steps", 20), arg(&args, "--warmup", 5));
    let size = match args.windows(2).find(|w| w[0] == "--size").map(|w| w[1].as_str()) {
        Some("tiny") => LartSize::Tiny,
        Some("small") => LartSize::Small,
        _ => LartSize::Paper,
    };
    let device = Default::default();
    B::seed(&device, 0);
    let mut config = LartConfig::new(80, size);
    config.max_people = p;
    config.dropout = 0.1;
    let mut model = config.init::<B>(&device);
    let mut optim = AdamWConfig::new().with_weight_decay(0.05).init::<B, actionbench_models::Lart<B>>();

    let pose: Tensor<B, 4> = Tensor::random([n, t, p, 229], Distribution::Normal(0.0, 1.0), &device);
    let valid: Tensor<B, 3, Bool> = Tensor::from_data(TensorData::new(vec![true; n * t * p], [n, t, p]), &device);
    // 40 % of the tokens hidden behind the mask token, in a fixed pattern.
    let masked: Vec<bool> = (0..n * t * p).map(|i| (i * 7919) % 10 < 4).collect();
    let masked: Tensor<B, 3, Bool> = Tensor::from_data(TensorData::new(masked, [n, t, p]), &device);
    let targets: Tensor<B, 3> = Tensor::random([n, t, 80], Distribution::Bernoulli(0.05), &device);

    let mut times = Vec::new();
    for step in 0..warmup + steps {
        let start = Instant::now();
        let logits = model.forward(LartInput {
            pose: pose.clone(),
            appearance: None,
            valid: valid.clone(),
            masked: Some(masked.clone()),
            attention_masking: true,
        });
        // Binary cross-entropy with logits, the numerically stable form.
        let y = targets.clone();
        let loss = (logits.clone().clamp_min(0.0) - logits.clone() * y
            + logits.abs().neg().exp().add_scalar(1.0).log())
        .mean();
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optim.step(1e-4, model, grads);
        B::sync(&device).expect("CUDA sync");
        if step >= warmup {
            times.push(start.elapsed().as_secs_f64() * 1000.0);
        }
    }
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    let mean = times.iter().sum::<f64>() / times.len() as f64;
    println!(
        "{{\"framework\": \"burn 0.21 cuda f32\", \"batch\": {n}, \"frames\": {t}, \"people\": {p}, \"median_ms\": {median:.3}, \"mean_ms\": {mean:.3}, \"steps\": {steps}}}"
    );
}
