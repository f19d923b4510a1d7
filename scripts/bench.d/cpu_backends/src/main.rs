//! One CPU backend's LART (paper size, batch 8 x 32 frames) or ST-GCN
//! (standard, batch 16 x 64 frames x 25 joints x 2 bodies) training step:
//! forward, loss, backward, AdamW; median of `steps` after `warmup`.
//! ST-GCN keeps its default dropout (0.5), as when the table in
//! docs/performance.md was measured.
//!
//! ```text
//! cpu-backends ndarray|flex|candle|tch lart|stgcn [steps 5] [warmup 2]
//! ```

use std::time::Instant;

use actionbench_models::{LartConfig, LartInput, LartSize, StGcnConfig, StGcnSize};
use burn::module::AutodiffModule;
use burn::optim::{AdamWConfig, GradientsParams, Optimizer};
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::{Bool, Distribution, Int, Tensor, TensorData};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn lart<B: AutodiffBackend>(dev: &B::Device, steps: usize, warm: usize) -> f64 {
    let (n, t, p, c) = (8, 32, 1, 80);
    let cfg = LartConfig::new(c, LartSize::Paper);
    let mut model = cfg.init::<B>(dev);
    let mut opt = AdamWConfig::new().with_weight_decay(0.05).init();
    let pose = Tensor::<B, 4>::random([n, t, p, 229], Distribution::Normal(0.0, 1.0), dev);
    let valid = Tensor::<B, 3, Bool>::from_data(TensorData::new(vec![true; n * t * p], [n, t, p]), dev);
    let m: Vec<bool> = (0..n * t * p).map(|i| i * 7919 % 10 < 4).collect();
    let masked = Tensor::<B, 3, Bool>::from_data(TensorData::new(m, [n, t, p]), dev);
    let target = Tensor::<B, 3>::random([n, t, c], Distribution::Bernoulli(0.05), dev);
    let mut times = vec![];
    for i in 0..steps + warm {
        let s = Instant::now();
        let input = LartInput { pose: pose.clone(), appearance: None, valid: valid.clone(), masked: Some(masked.clone()), attention_masking: true };
        let logits = model.forward(input);
        // BCE with logits: max(x,0) - x*y + log(1+exp(-|x|))
        let loss = (logits.clone().clamp_min(0.0) - logits.clone() * target.clone() + (logits.abs().neg().exp() + 1.0).log()).mean();
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = opt.step(1e-4, model, grads);
        let _ = model.valid();
        let ms = s.elapsed().as_secs_f64() * 1000.0;
        if i >= warm { times.push(ms) }
    }
    median(times)
}

fn stgcn<B: AutodiffBackend>(dev: &B::Device, steps: usize, warm: usize) -> f64 {
    let (n, t, v, m, c) = (16, 64, 25, 2, 60);
    let cfg = StGcnConfig::new(c, StGcnSize::Standard);
    let mut model = cfg.init::<B>(dev);
    let mut opt = AdamWConfig::new().with_weight_decay(0.05).init();
    let x = Tensor::<B, 5>::random([n, 3, t, v, m], Distribution::Normal(0.0, 1.0), dev);
    let labels: Vec<i64> = (0..n as i64).map(|i| i % c as i64).collect();
    let y = Tensor::<B, 1, Int>::from_data(TensorData::new(labels, [n]), dev);
    let mut times = vec![];
    for i in 0..steps + warm {
        let s = Instant::now();
        let logits = model.forward(x.clone());
        let loss = burn::nn::loss::CrossEntropyLossConfig::new().init(dev).forward(logits, y.clone());
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = opt.step(1e-4, model, grads);
        let ms = s.elapsed().as_secs_f64() * 1000.0;
        if i >= warm { times.push(ms) }
    }
    median(times)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: cpu-backends ndarray|flex|candle|tch lart|stgcn [steps] [warmup]";
    let (Some(backend), Some(model)) = (args.get(1), args.get(2)) else {
        eprintln!("{usage}");
        std::process::exit(2);
    };
    let steps: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(5);
    let warm: usize = args.get(4).and_then(|s| s.parse().ok()).unwrap_or(2);
    macro_rules! run {
        ($b:ty) => {
            match model.as_str() {
                "lart" => lart::<burn::backend::Autodiff<$b>>(&Default::default(), steps, warm),
                "stgcn" => stgcn::<burn::backend::Autodiff<$b>>(&Default::default(), steps, warm),
                _ => {
                    eprintln!("{usage}");
                    std::process::exit(2);
                }
            }
        };
    }
    let ms = match backend.as_str() {
        "ndarray" => run!(burn::backend::NdArray),
        #[cfg(feature = "flex")]
        "flex" => run!(burn::backend::Flex),
        #[cfg(feature = "candle")]
        #[allow(deprecated)]
        "candle" => run!(burn::backend::Candle),
        #[cfg(feature = "tch")]
        "tch" => run!(burn::backend::LibTorch),
        other => {
            eprintln!("backend `{other}` is not built in (features: flex, candle, tch)\n{usage}");
            std::process::exit(2);
        }
    };
    println!("{backend} {model} median {ms:.1} ms");
}
