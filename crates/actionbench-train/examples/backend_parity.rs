//! Checks that the `libtorch` feature's backend computes what Burn's
//! ndarray backend computes, from the same weights (moved through a
//! record) and the same data, for MViTv2-tiny at synth-video's shape:
//!
//! 1. one forward and backward: the logits, the input gradient and every
//!    parameter gradient;
//! 2. the trainer (`trainer::train`, synth-video's optimiser, schedule and
//!    clip norm, a checkpoint every 10 steps) on STEPS (150) distinct
//!    batches: the loss at every 10th step on both.
//!
//! Prints the largest relative difference of each and exits with 1 when one
//! exceeds its bound (logits 1e-4, input gradient 1e-3, parameter gradients
//! 1e-2, training loss 1e-3; measured: 7e-7, 9e-6, 1.5e-4, 2.2e-5). It builds only with the
//! feature, so CI (which has no PyTorch 2.9.0) does not run it:
//!
//! ```text
//! cargo run --release -p actionbench-train --features libtorch --example backend_parity
//! ```

use actionbench_loader::{HostBatch, HostTensor, LoaderState};
use actionbench_models::{MvitConfig, MvitSize};
use actionbench_train::optim::OptimizerConfig;
use actionbench_train::tasks::{VideoConfig, VideoTask};
use actionbench_train::trainer::{BatchStream, TrainConfig, TrainReport, train};
use burn::backend::libtorch::LibTorchDevice;
use burn::backend::{Autodiff, LibTorch, NdArray};
use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::record::{BinBytesRecorder, FullPrecisionSettings, Recorder};
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::{Distribution, Tensor};
use rand::{Rng, SeedableRng};

type Nd = Autodiff<NdArray>;
type Tch = Autodiff<LibTorch<f32>>;
type Flat = Vec<f32>;

/// Every parameter's gradient, flattened, in visiting order.
struct Grads<'a> {
    grads: &'a GradientsParams,
    out: Vec<(Vec<usize>, Flat)>,
}

impl<B: AutodiffBackend> ModuleVisitor<B> for Grads<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        let g = self.grads.get::<B::InnerBackend, D>(param.id);
        let g = g.expect("every MViTv2 parameter gets a gradient");
        self.out.push((param.val().dims().to_vec(), flat(g.into_data())));
    }
}

fn flat(data: burn::tensor::TensorData) -> Flat {
    data.convert::<f32>().to_vec::<f32>().expect("f32 data")
}

fn max_abs(a: &[f32]) -> f32 {
    a.iter().fold(0f32, |m, x| m.max(x.abs()))
}

/// Largest |a - b| over `scale`.
fn diff(a: &[f32], b: &[f32], scale: f32) -> f32 {
    a.iter().zip(b).fold(0f32, |m, (x, y)| m.max((x - y).abs())) / scale.max(f32::MIN_POSITIVE)
}

fn config() -> MvitConfig {
    let mut config = MvitConfig::new(20, MvitSize::Tiny);
    (config.num_frames, config.crop_size, config.dropout) = (8, 48, 0.0);
    config
}

fn main() {
    let (nd, tch) = (Default::default(), LibTorchDevice::Cpu);
    let config = config();
    let recorder = BinBytesRecorder::<FullPrecisionSettings>::default();
    // Params initialise lazily: both sides load one record rather than one
    // cloning the other (a clone draws its own values).
    let bytes = recorder.record(config.init::<Nd>(&nd).into_record(), ()).expect("record");
    let a = config.init::<Nd>(&nd).load_record(recorder.load(bytes.clone(), &nd).expect("load"));
    let b = config.init::<Tch>(&tch).load_record(recorder.load(bytes, &tch).expect("load"));

    let clip = Tensor::<Nd, 5>::random([2, 3, 8, 48, 48], Distribution::Normal(0.0, 1.0), &nd);
    let xb = Tensor::<Tch, 5>::from_data(clip.to_data(), &tch).require_grad();
    let xa = clip.require_grad();
    let wa = Tensor::<Nd, 2>::random([2, 20], Distribution::Normal(0.0, 1.0), &nd);
    let wb = Tensor::<Tch, 2>::from_data(wa.to_data(), &tch);
    let (ya, yb) = (flat(a.forward(xa.clone()).to_data()), flat(b.forward(xb.clone()).to_data()));
    println!("forward: logits differ by {:.1e} of the largest", diff(&ya, &yb, max_abs(&ya)));
    let ga = (a.forward(xa.clone()) * wa).sum().backward();
    let gb = (b.forward(xb.clone()) * wb).sum().backward();
    let (ia, ib) = (flat(xa.grad(&ga).expect("grad").into_data()), flat(xb.grad(&gb).expect("grad").into_data()));
    println!("backward: the input gradient differs by {:.1e} of the largest", diff(&ia, &ib, max_abs(&ia)));
    let mut va = Grads { grads: &GradientsParams::from_grads(ga, &a), out: Vec::new() };
    a.visit(&mut va);
    let mut vb = Grads { grads: &GradientsParams::from_grads(gb, &b), out: Vec::new() };
    b.visit(&mut vb);
    // Relative to each gradient's size, floored at a thousandth of the
    // largest: some gradients are zero in exact arithmetic (the bias of the
    // keys' norm shifts every score of a query alike, which softmax ignores)
    // and hold rounding noise that differs between backends.
    let largest = va.out.iter().map(|(_, g)| max_abs(g)).fold(0f32, f32::max);
    let (worst, shape) = va
        .out
        .iter()
        .zip(&vb.out)
        .map(|((shape, ga), (_, gb))| (diff(ga, gb, max_abs(ga).max(largest * 1e-3)), shape))
        .fold((0f32, None), |(m, s), (d, shape)| if d > m { (d, Some(shape)) } else { (m, s) });
    println!("backward: {} parameter gradients, the worst ({shape:?}) differs by {worst:.1e}", va.out.len());
    let forward = diff(&ya, &yb, max_abs(&ya));
    let input = diff(&ia, &ib, max_abs(&ia));
    let training = trainer(&config);
    let over: Vec<&str> =
        [("logits", forward, 1e-4), ("input gradient", input, 1e-3), ("parameter gradients", worst, 1e-2)]
            .into_iter()
            .chain([("training loss", training as f32, 1e-3)])
            .filter(|(_, d, bound)| d.is_nan() || d > bound)
            .map(|(name, _, _)| name)
            .collect();
    if !over.is_empty() {
        eprintln!("error: the backends differ beyond the bound in: {}", over.join(", "));
        std::process::exit(1);
    }
}

/// Distinct batches made before training, as a loader would feed them.
struct Batches(Vec<HostBatch>, LoaderState, u64);

impl BatchStream for Batches {
    fn next_batch(&mut self) -> Option<actionbench_train::Result<HostBatch>> {
        let b = self.0.pop()?;
        self.1.position += b.len() as u64;
        Some(Ok(b))
    }
    fn state(&self) -> LoaderState {
        self.1
    }
    fn resume(&mut self, state: LoaderState) -> actionbench_train::Result<()> {
        self.1 = state;
        Ok(())
    }
    fn batches_per_epoch(&self) -> u64 {
        self.2
    }
}

/// The trainer on both backends from one initial model with synth-video's
/// optimiser, clip norm and warm-up, a checkpoint every 10 steps.
/// Returns the largest relative difference of the losses.
fn trainer(model: &MvitConfig) -> f64 {
    let steps: usize = std::env::var("STEPS").ok().and_then(|s| s.parse().ok()).unwrap_or(150).max(20);
    let (nd, tch) = (Default::default(), LibTorchDevice::Cpu);
    let recorder = BinBytesRecorder::<FullPrecisionSettings>::default();
    let bytes = recorder.record(VideoTask::<Nd>::new(VideoConfig::Mvit(model), &nd).into_record(), ()).expect("record");
    let a = VideoTask::<Nd>::new(VideoConfig::Mvit(model), &nd)
        .load_record(recorder.load(bytes.clone(), &nd).expect("load"));
    let b =
        VideoTask::<Tch>::new(VideoConfig::Mvit(model), &tch).load_record(recorder.load(bytes, &tch).expect("load"));
    // 20 classes, each a fixed random clip plus noise, so the loss can fall.
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
    let len = 3 * 8 * 48 * 48;
    let protos: Vec<Flat> = (0..20).map(|_| (0..len).map(|_| rng.random::<f32>() * 2.0 - 1.0).collect()).collect();
    let batches: Vec<HostBatch> = (0..steps)
        .map(|_| {
            let labels: Vec<i64> = (0..8).map(|_| rng.random_range(0..20)).collect();
            let clip = labels
                .iter()
                .flat_map(|&l| {
                    protos[l as usize].iter().map(|v| v + 2.0 * (rng.random::<f32>() - 0.5)).collect::<Flat>()
                })
                .collect();
            let mut batch = HostBatch { sample_ids: (0..8).map(|i| format!("s{i}")).collect(), ..Default::default() };
            batch.tensors.insert("clip".into(), HostTensor::new(vec![8, 3, 8, 48, 48], clip).expect("shape"));
            batch.labels = labels;
            batch
        })
        .collect();
    let config = TrainConfig {
        optimizer: OptimizerConfig::AdamW { beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weight_decay: 0.05 },
        lr: 3e-4,
        min_lr: 0.0,
        warmup_steps: 20,
        epochs: 1,
        clip_norm: Some(1.0),
        seed: 0,
        checkpoint_every: 10,
        keep_checkpoints: 1,
        weighting: actionbench_train::multitask::Weighting::Average,
    };
    let loss = |r: &TrainReport| -> Vec<f64> {
        r.metrics.iter().filter(|m| m.split == "train" && m.metric == "loss").filter_map(|m| m.value).collect()
    };
    let (da, db) = (tempfile::tempdir().expect("tempdir"), tempfile::tempdir().expect("tempdir"));
    let n = steps as u64;
    let mut feed = Batches(batches.clone(), LoaderState::new(0, 0), n);
    let (_, ra) = train(a, &mut feed, &config, Some(da.path()), &nd, &mut |_, _| {}, None).expect("train");
    let mut feed = Batches(batches, LoaderState::new(0, 0), n);
    let (_, rb) = train(b, &mut feed, &config, Some(db.path()), &tch, &mut |_, _| {}, None).expect("train");
    let (la, lb) = (loss(&ra), loss(&rb));
    for i in (0..la.len().min(lb.len())).step_by(10) {
        println!("trainer step {:>4}: loss ndarray {:.5}, libtorch {:.5}", i + 1, la[i], lb[i]);
    }
    let worst = la.iter().zip(&lb).map(|(x, y)| (x - y).abs() / x.abs()).fold(0f64, f64::max);
    println!("trainer: {} steps, the losses differ by at most {worst:.1e} of the loss", la.len());
    assert_eq!(la.len(), lb.len(), "both trainings log a loss per step");
    worst
}
