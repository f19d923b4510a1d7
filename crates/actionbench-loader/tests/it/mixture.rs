//! Mixtures: ratios, task rotation, iteration-based epochs, label masks.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use actionbench_loader::{
    HostBatch, LoaderConfig, LoaderError, LoaderState, Mixture, MixtureMode, MixtureSource, Sample, SampleRng,
    SampleSource,
};

use crate::common::IdSource;

fn src(name: &str, n: usize, prefix: &'static str, tasks: &[&str]) -> MixtureSource {
    MixtureSource {
        name: name.into(),
        source: Arc::new(IdSource { n, prefix }),
        tasks: tasks.iter().map(|t| t.to_string()).collect(),
    }
}

fn run(
    mode: MixtureMode,
    sources: Vec<MixtureSource>,
    iters: u64,
    batch: usize,
    state: LoaderState,
    threads: usize,
) -> Vec<HostBatch> {
    let cfg = LoaderConfig { batch_size: batch, threads, prefetch: 1, ..Default::default() };
    Mixture::new(sources, mode, iters, batch)
        .unwrap()
        .into_loader(&cfg, state)
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap()
}

#[test]
fn ratio_mode_holds_the_ratio_and_masks_follow_the_source() {
    for (weights, batch) in [(vec![1u32, 1], 8usize), (vec![3, 1], 8), (vec![2, 6], 10)] {
        let sources = vec![src("real", 50, "r", &["action"]), src("synth", 500, "y", &["action", "pose"])];
        let batches = run(MixtureMode::Ratio(weights.clone()), sources, 25, batch, LoaderState::new(1, 0), 2);
        assert_eq!(batches.len(), 25, "iterations per epoch");
        let total = (25 * batch) as f64;
        let real = batches.iter().flat_map(|b| &b.sample_ids).filter(|id| id.starts_with('r')).count() as f64;
        let want = weights[0] as f64 / (weights[0] + weights[1]) as f64;
        assert!((real / total - want).abs() < 0.02, "{weights:?}: real fraction {} vs {want}", real / total);
        // Exact per run of sum(weights) positions (after dividing by their gcd).
        let g = weights.iter().fold(0, |a, &b| gcd(a, b));
        let period = (weights[0] + weights[1]) / g;
        let mut layouts = BTreeSet::new();
        for b in &batches {
            let r: Vec<usize> = (0..batch).filter(|&k| b.sample_ids[k].starts_with('r')).collect();
            assert!((r.len() as f64 - want * batch as f64).abs() <= period as f64, "batch far from the ratio: {r:?}");
            layouts.insert(r);
            for (k, id) in b.sample_ids.iter().enumerate() {
                let is_synth = id.starts_with('y');
                assert!(b.label_masks["action"][k], "{id}: action label");
                assert_eq!(b.label_masks["pose"][k], is_synth, "{id}: pose mask");
            }
        }
        assert!(layouts.len() > 5, "{weights:?}: sources sit at the same places in every batch: not shuffled");
    }
}

fn gcd(a: u32, b: u32) -> u32 {
    if b == 0 { a } else { gcd(b, a % b) }
}

#[test]
fn a_small_source_is_walked_through_before_repeating() {
    let sources = vec![src("real", 30, "r", &["a"]), src("synth", 1000, "y", &["a"])];
    let batches = run(MixtureMode::Ratio(vec![1, 1]), sources, 20, 6, LoaderState::new(4, 2), 1);
    let real: Vec<&String> = batches.iter().flat_map(|b| &b.sample_ids).filter(|id| id.starts_with('r')).collect();
    assert_eq!(real.len(), 60);
    assert_eq!(real[..30].iter().collect::<BTreeSet<_>>().len(), 30, "first pass repeats a sample");
    assert_eq!(real[30..].iter().collect::<BTreeSet<_>>().len(), 30, "second pass repeats a sample");
    assert_ne!(real[..30], real[30..], "second pass in the same order");
}

#[test]
fn task_rotation_takes_whole_batches_in_turn() {
    let sources = vec![
        src("actions", 40, "a", &["action"]),
        src("gestures", 7, "g", &["gesture"]),
        src("poses", 100, "p", &["pose"]),
    ];
    let batches = run(MixtureMode::TaskRotation, sources, 9, 4, LoaderState::new(0, 0), 2);
    assert_eq!(batches.len(), 9);
    for (i, b) in batches.iter().enumerate() {
        let prefix = ['a', 'g', 'p'][i % 3];
        assert!(b.sample_ids.iter().all(|id| id.starts_with(prefix)), "batch {i}: {:?}", b.sample_ids);
        for (task, p) in [("action", 'a'), ("gesture", 'g'), ("pose", 'p')] {
            assert_eq!(b.label_masks[task], vec![p == prefix; 4], "batch {i} task {task}");
        }
    }
    // The 7 gestures: 3 batches of 4 = 12 draws, the first 7 all distinct.
    let g: Vec<&String> = batches.iter().flat_map(|b| &b.sample_ids).filter(|id| id.starts_with('g')).collect();
    assert_eq!(g[..7].iter().collect::<BTreeSet<_>>().len(), 7);
}

#[test]
fn mixtures_are_deterministic_resumable_and_thread_independent() {
    let make = || vec![src("real", 13, "r", &["a"]), src("synth", 29, "y", &["b"])];
    let one = run(MixtureMode::Ratio(vec![2, 3]), make(), 12, 5, LoaderState::new(7, 3), 1);
    let four = run(MixtureMode::Ratio(vec![2, 3]), make(), 12, 5, LoaderState::new(7, 3), 4);
    assert_eq!(one, four);
    let resumed =
        run(MixtureMode::Ratio(vec![2, 3]), make(), 12, 5, LoaderState { seed: 7, epoch: 3, position: 25 }, 2);
    assert_eq!(resumed, one[5..]);
    let next_epoch = run(MixtureMode::Ratio(vec![2, 3]), make(), 12, 5, LoaderState::new(7, 4), 2);
    assert_ne!(next_epoch, one);
}

/// A source whose odd samples lack the label (partial labels, as in PViT).
struct Partial;
impl SampleSource for Partial {
    fn len(&self) -> usize {
        10
    }
    fn sample(&self, index: usize, rng: &mut SampleRng) -> Result<Sample, LoaderError> {
        let mut s = IdSource { n: 10, prefix: "q" }.sample(index, rng)?;
        s.label_masks = BTreeMap::from([("action".into(), index.is_multiple_of(2))]);
        Ok(s)
    }
}

#[test]
fn a_sample_without_a_label_keeps_its_false_mask() {
    let sources =
        vec![MixtureSource { name: "partial".into(), source: Arc::new(Partial), tasks: vec!["action".into()] }];
    let batches = run(MixtureMode::Ratio(vec![1]), sources, 5, 4, LoaderState::new(0, 0), 1);
    for b in batches {
        for (k, id) in b.sample_ids.iter().enumerate() {
            let i: usize = id[1..].parse().unwrap();
            assert_eq!(b.label_masks["action"][k], i.is_multiple_of(2), "{id}");
        }
    }
}

#[test]
fn bad_mixtures_are_rejected() {
    let e = Mixture::new(vec![src("a", 5, "a", &[])], MixtureMode::Ratio(vec![1, 1]), 3, 2).err().unwrap();
    assert!(e.to_string().contains("weights"), "{e}");
    let e = Mixture::new(vec![src("empty", 0, "a", &[])], MixtureMode::TaskRotation, 3, 2).err().unwrap();
    assert!(e.to_string().contains("empty"), "{e}");
    let m = Mixture::new(vec![src("a", 5, "a", &[])], MixtureMode::TaskRotation, 3, 2).unwrap();
    let cfg = LoaderConfig { batch_size: 3, ..Default::default() };
    assert!(m.into_loader(&cfg, LoaderState::new(0, 0)).is_err());
}
