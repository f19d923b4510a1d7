use std::sync::Arc;

use actionbench_loader::{Loader, LoaderConfig, LoaderState};
use actionbench_models::{StGcnConfig, StGcnSize};
use actionbench_train::checkpoint::parameter_values;
use actionbench_train::optim::OptimizerConfig;
use actionbench_train::tasks::StGcnTask;
use actionbench_train::trainer::{MetricRow, TrainConfig, train};
use burn::module::AutodiffModule;
use burn::tensor::backend::Backend;

use crate::synthetic::{CLASSES, Waves};
use crate::{Cpu, Train};

fn loader(n: usize, seed: u64, batch: usize, shuffle: bool) -> Loader {
    let config = LoaderConfig { batch_size: batch, drop_last: false, shuffle, threads: 1, prefetch: 0 };
    Loader::new(Arc::new(Waves { n, seed }), &config, LoaderState::new(seed, 0)).unwrap()
}

fn model_config() -> StGcnConfig {
    let mut c = StGcnConfig::new(CLASSES, StGcnSize::Tiny);
    c.dropout = 0.1;
    c
}

fn config(epochs: u64, optimizer: OptimizerConfig, lr: f64) -> TrainConfig {
    TrainConfig {
        optimizer,
        lr,
        min_lr: 0.0,
        warmup_steps: 2,
        epochs,
        clip_norm: Some(5.0),
        seed: 7,
        checkpoint_every: 0,
        keep_checkpoints: 2,
        weighting: actionbench_train::multitask::Weighting::Average,
    }
}

fn fresh(seed: u64) -> StGcnTask<Train> {
    let device = Default::default();
    Train::seed(&device, seed);
    StGcnTask::new(&model_config(), &device)
}

fn epoch_values(metrics: &[MetricRow], metric: &str) -> Vec<f64> {
    metrics.iter().filter(|m| m.split == "train-epoch" && m.metric == metric).filter_map(|m| m.value).collect()
}

#[test]
fn tiny_stgcn_learns_a_learnable_problem() {
    let device = Default::default();
    let mut data = loader(48, 1, 8, true);
    let cfg = config(6, OptimizerConfig::adamw(), 0.03);
    let (model, report) = train(fresh(7), &mut data, &cfg, None, &device, &mut |_, _| {}, None).unwrap();
    assert_eq!(report.steps, 36);
    let losses = epoch_values(&report.metrics, "loss");
    assert_eq!(losses.len(), 6);
    assert!(losses[5] < 0.7 * losses[0], "loss falls: {losses:?}");
    // Held-out samples (another seed), inference mode.
    let eval = model.valid();
    let (mut correct, mut total) = (0, 0);
    for batch in loader(30, 99, 10, false) {
        let batch = batch.unwrap();
        let pred = eval.logits(&batch, &device).unwrap().argmax(1).into_data().to_vec::<i64>().unwrap();
        correct += pred.iter().zip(&batch.labels).filter(|(p, l)| p == l).count();
        total += pred.len();
    }
    let acc = correct as f64 / total as f64;
    assert!(acc > 0.6, "held-out accuracy {acc} should beat chance (1/3) clearly");
    // Metrics: per-step rows for every step.
    let lrs: Vec<_> = report.metrics.iter().filter(|m| m.split == "train" && m.metric == "lr").collect();
    assert_eq!(lrs.len(), 36);
    assert_eq!(lrs[0].step, Some(1));
    assert!((lrs[0].value.unwrap() - 0.015).abs() < 1e-12, "warm-up step 1 of 2");
}

fn resume_matches(optimizer: OptimizerConfig) {
    let device = Default::default();
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(2, optimizer, 0.05);
    cfg.checkpoint_every = 4;
    // 20 samples / batch 6 => 4 batches per epoch, 8 steps.
    let (full, report) =
        train(fresh(7), &mut loader(20, 3, 6, true), &cfg, None, &device, &mut |_, _| {}, None).unwrap();
    assert_eq!(report.steps, 8);
    // Crash after step 6 (last checkpoint: step 4, mid-epoch 2)...
    let ck = dir.path().join("ck");
    let (_, partial) =
        train(fresh(7), &mut loader(20, 3, 6, true), &cfg, Some(&ck), &device, &mut |_, _| {}, Some(6)).unwrap();
    assert_eq!(partial.steps, 6);
    // ...and resume in a fresh model (other initial weights) from step 4.
    let (resumed, report2) =
        train(fresh(12345), &mut loader(20, 3, 6, true), &cfg, Some(&ck), &device, &mut |_, _| {}, None).unwrap();
    assert_eq!(report2.resumed_from, Some(4));
    assert_eq!(report2.steps, 8);
    assert_eq!(report2.data_order, report.data_order, "same samples in the same order across the resume");
    // The metrics of the steps before the resume come back from the
    // checkpoint: the table is the uninterrupted run's, row for row.
    assert_eq!(report2.metrics, report.metrics);
    assert!(report.metrics.iter().any(|r| r.split == "train-epoch" && r.step == Some(4)), "{:?}", report.metrics);
    assert_eq!(report.data_order.len(), 64);
    let mut other_seed = cfg.clone();
    other_seed.epochs = 1;
    let (_, one_epoch) =
        train(fresh(7), &mut loader(20, 3, 6, true), &other_seed, None, &device, &mut |_, _| {}, None).unwrap();
    assert_ne!(one_epoch.data_order, report.data_order);
    let (a, b) = (parameter_values::<Cpu, _>(&resumed.valid()), parameter_values::<Cpu, _>(&full.valid()));
    assert_eq!(a.len(), b.len());
    let differ = a.iter().zip(&b).filter(|(x, y)| x.to_bits() != y.to_bits()).count();
    assert_eq!(
        differ,
        0,
        "resumed parameters are bit-identical to the uninterrupted run's ({differ} of {} differ)",
        a.len()
    );
    // A different config refuses the checkpoint.
    let mut other = cfg.clone();
    other.lr = 0.01;
    let err = train(fresh(7), &mut loader(20, 3, 6, true), &other, Some(&ck), &device, &mut |_, _| {}, None)
        .expect_err("config mismatch");
    assert!(err.to_string().contains("another training config"), "{err}");
}

#[test]
fn resume_gives_identical_parameters_adamw() {
    resume_matches(OptimizerConfig::adamw());
}

#[test]
fn resume_gives_identical_parameters_sgd_momentum() {
    resume_matches(OptimizerConfig::sgd());
}

#[test]
fn checkpoints_are_complete_and_bounded() {
    let device = Default::default();
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(1, OptimizerConfig::sgd(), 0.05);
    cfg.checkpoint_every = 1;
    cfg.keep_checkpoints = 2;
    let ck = dir.path().join("ck");
    // A leftover of a crashed write must be ignored.
    std::fs::create_dir_all(ck.join("step-00000099")).unwrap();
    train(fresh(1), &mut loader(12, 3, 4, true), &cfg, Some(&ck), &device, &mut |_, _| {}, None).unwrap();
    let mut names: Vec<String> =
        std::fs::read_dir(&ck).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    names.sort();
    assert_eq!(names, ["step-00000002", "step-00000003", "step-00000099"]);
    for n in &names[..2] {
        for f in ["model.mpk", "optim.mpk", "state.json"] {
            assert!(ck.join(n).join(f).is_file(), "{n}/{f}");
        }
    }
    let latest = actionbench_train::checkpoint::latest(&ck).unwrap().unwrap();
    assert_eq!(latest.state.step, 3);
}

/// A run killed after its last checkpoint (written at the last step) and
/// run again resumes with nothing left to train: its metrics are still the
/// whole run's, the last epoch's `train-epoch` rows included.
#[test]
fn a_resume_from_the_last_step_keeps_every_metric() {
    let device = Default::default();
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(2, OptimizerConfig::sgd(), 0.05);
    cfg.checkpoint_every = 4;
    let (_, full) = train(fresh(7), &mut loader(20, 3, 6, true), &cfg, None, &device, &mut |_, _| {}, None).unwrap();
    let ck = dir.path().join("ck");
    train(fresh(7), &mut loader(20, 3, 6, true), &cfg, Some(&ck), &device, &mut |_, _| {}, Some(8)).unwrap();
    let (_, resumed) =
        train(fresh(7), &mut loader(20, 3, 6, true), &cfg, Some(&ck), &device, &mut |_, _| {}, None).unwrap();
    assert_eq!(resumed.resumed_from, Some(8));
    assert_eq!(resumed.metrics, full.metrics);
    assert_eq!(resumed.final_loss.to_bits(), full.final_loss.to_bits());
}
