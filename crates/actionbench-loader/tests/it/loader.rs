//! Order, determinism across threads, resume, sharding and prefetch.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actionbench_loader::{
    HostBatch, Loader, LoaderConfig, LoaderError, LoaderState, Sample, SampleRng, SampleSource, Sequential,
    SkeletonConfig, SkeletonSource,
};

use crate::common::{IdSource, ntu_table};

fn config(batch: usize, threads: usize, prefetch: usize) -> LoaderConfig {
    LoaderConfig { batch_size: batch, drop_last: false, shuffle: true, threads, prefetch }
}

fn epoch(source: Arc<dyn SampleSource>, cfg: &LoaderConfig, state: LoaderState) -> Vec<HostBatch> {
    Loader::new(source, cfg, state).unwrap().collect::<Result<Vec<_>, _>>().unwrap()
}

fn augmenting_skeletons() -> Arc<dyn SampleSource> {
    let cfg = SkeletonConfig { frames: 16, augment: true, flip: true, ..Default::default() };
    Arc::new(SkeletonSource::new(ntu_table(37), cfg).unwrap())
}

#[test]
fn batches_are_identical_for_one_and_four_threads() {
    let src = augmenting_skeletons();
    let state = LoaderState::new(11, 2);
    let one = epoch(Arc::clone(&src), &config(5, 1, 0), state);
    let four = epoch(Arc::clone(&src), &config(5, 4, 3), state);
    assert_eq!(one.len(), 8, "37 samples in batches of 5");
    assert_eq!(one, four);
    // The augmentation really is random: two samples of one batch differ in scale/rotation.
    assert!(one[0].tensors["joints"].data.iter().any(|v| v.abs() > 1e-6));
}

#[test]
fn each_epoch_is_a_permutation_and_epochs_differ() {
    let src: Arc<dyn SampleSource> = Arc::new(IdSource { n: 50, prefix: "s" });
    let ids = |e: u64| -> Vec<String> {
        epoch(Arc::clone(&src), &config(8, 2, 0), LoaderState::new(3, e))
            .into_iter()
            .flat_map(|b| b.sample_ids)
            .collect()
    };
    let (e0, e1) = (ids(0), ids(1));
    assert_eq!(e0.len(), 50);
    assert_eq!(e0.iter().collect::<BTreeSet<_>>().len(), 50, "every sample once");
    assert_eq!(e0.iter().collect::<BTreeSet<_>>(), e1.iter().collect::<BTreeSet<_>>());
    assert_ne!(e0, e1, "epochs 0 and 1 have the same order");
    assert_ne!(e0, (0..50).map(|i| format!("s{i}")).collect::<Vec<_>>(), "not shuffled");
    assert_eq!(e0, ids(0), "epoch 0 twice differs");
    // Different seeds, different orders.
    let other: Vec<String> = epoch(Arc::clone(&src), &config(8, 2, 0), LoaderState::new(4, 0))
        .into_iter()
        .flat_map(|b| b.sample_ids)
        .collect();
    assert_ne!(e0, other);
}

#[test]
fn unshuffled_order_is_table_order() {
    let src: Arc<dyn SampleSource> = Arc::new(IdSource { n: 7, prefix: "s" });
    let cfg = LoaderConfig { shuffle: false, ..config(3, 1, 0) };
    let ids: Vec<String> = epoch(src, &cfg, LoaderState::new(0, 5)).into_iter().flat_map(|b| b.sample_ids).collect();
    assert_eq!(ids, (0..7).map(|i| format!("s{i}")).collect::<Vec<_>>());
}

#[test]
fn resume_mid_epoch_yields_exactly_the_remaining_batches() {
    let src = augmenting_skeletons();
    let cfg = config(4, 2, 2);
    let mut loader = Loader::new(Arc::clone(&src), &cfg, LoaderState::new(5, 1)).unwrap();
    let mut all = Vec::new();
    let mut states = vec![loader.state()];
    while let Some(b) = loader.next() {
        all.push(b.unwrap());
        states.push(loader.state());
    }
    assert_eq!(all.len(), 10);
    assert_eq!(states.last().unwrap().position, 37);
    for k in [1usize, 4, 9] {
        // Through JSON, as a checkpoint would store it.
        let saved: LoaderState = serde_json::from_str(&serde_json::to_string(&states[k]).unwrap()).unwrap();
        let resumed = epoch(Arc::clone(&src), &cfg, saved);
        assert_eq!(resumed, all[k..], "resume after {k} batches");
    }
    // resume() on a running loader, with prefetch in flight.
    let mut l = Loader::new(Arc::clone(&src), &cfg, LoaderState::new(5, 1)).unwrap();
    l.next().unwrap().unwrap();
    l.resume(states[6]).unwrap();
    assert_eq!(l.remaining_batches(), 4);
    let rest = l.collect::<Result<Vec<_>, _>>().unwrap();
    assert_eq!(rest, all[6..]);
}

#[test]
fn resume_past_the_end_is_an_error() {
    let src: Arc<dyn SampleSource> = Arc::new(IdSource { n: 10, prefix: "s" });
    let err = Loader::new(src, &config(4, 1, 0), LoaderState { seed: 0, epoch: 0, position: 11 }).err().unwrap();
    assert!(err.to_string().contains("past the end"), "{err}");
}

#[test]
fn drop_last_drops_the_partial_batch() {
    let src: Arc<dyn SampleSource> = Arc::new(IdSource { n: 10, prefix: "s" });
    let cfg = LoaderConfig { drop_last: true, ..config(4, 1, 1) };
    let l = Loader::new(src, &cfg, LoaderState::new(0, 0)).unwrap();
    assert_eq!(l.batches_per_epoch(), 2);
    let sizes: Vec<usize> = l.map(|b| b.unwrap().len()).collect();
    assert_eq!(sizes, vec![4, 4]);
}

#[test]
fn ranks_partition_the_global_order() {
    let n = 23;
    let src: Arc<dyn SampleSource> = Arc::new(IdSource { n, prefix: "s" });
    let cfg = config(3, 1, 0);
    let mut seen = Vec::new();
    for rank in 0..3 {
        let plan = Sequential::new(n, true).sharded(rank, 3).unwrap();
        let l = Loader::with_plan(vec![Arc::clone(&src)], Arc::new(plan), &cfg, LoaderState::new(9, 0)).unwrap();
        let ids: Vec<String> = l.flat_map(|b| b.unwrap().sample_ids).collect();
        assert_eq!(ids.len(), 7, "23 / 3 per rank");
        seen.extend(ids);
    }
    assert_eq!(seen.iter().collect::<BTreeSet<_>>().len(), 21, "ranks overlap");
    // Interleaving the ranks gives the single-process order's first 21 samples.
    let single: Vec<String> = epoch(src, &cfg, LoaderState::new(9, 0)).into_iter().flat_map(|b| b.sample_ids).collect();
    let interleaved: Vec<&String> =
        (0..7).flat_map(|i| (0..3).map(move |r| (r, i))).map(|(r, i)| &seen[r * 7 + i]).collect();
    assert_eq!(interleaved, single.iter().take(21).collect::<Vec<_>>());
    assert!(Sequential::new(n, true).sharded(3, 3).is_err());
}

/// A source that records, for every sample the loader asks for, how many
/// batches the consumer had started taking by then.
struct Watched {
    n: usize,
    taking: Arc<AtomicU64>,
    asks: Mutex<Vec<(usize, u64)>>,
}
impl SampleSource for Watched {
    fn len(&self) -> usize {
        self.n
    }
    fn sample(&self, index: usize, rng: &mut SampleRng) -> Result<Sample, LoaderError> {
        self.asks.lock().unwrap().push((index, self.taking.load(Ordering::SeqCst)));
        IdSource { n: self.n, prefix: "s" }.sample(index, rng)
    }
}

/// Waits until the loader has built `n` batches (the prefetch thread gets
/// there by itself), polling; panics after a deadline instead of hanging.
fn wait_until_built(l: &Loader, n: u64) {
    let start = Instant::now();
    while l.batches_built() < n {
        assert!(start.elapsed() < Duration::from_secs(60), "the loader built {} of {n} batches", l.batches_built());
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// With prefetch k, the worker holds at most k batches in the channel and
/// one more blocked on send: after the consumer has started taking c
/// batches, it never asks for a sample of batch c + k or later. Before each
/// batch the consumer lets the worker get as far ahead as it may, so a
/// looser bound would show up as an ask too far ahead.
#[test]
fn prefetch_stays_within_its_bound() {
    for k in [1usize, 3] {
        let (n, batch) = (40usize, 2usize);
        let taking = Arc::new(AtomicU64::new(0));
        let src = Arc::new(Watched { n, taking: Arc::clone(&taking), asks: Mutex::new(Vec::new()) });
        let cfg = LoaderConfig { shuffle: false, ..config(batch, 2, k) };
        let mut l = Loader::new(Arc::clone(&src) as Arc<dyn SampleSource>, &cfg, LoaderState::new(0, 0)).unwrap();
        let batches = (n / batch) as u64;
        for c in 0..batches {
            if c > 0 {
                wait_until_built(&l, (c + k as u64 + 1).min(batches));
            }
            taking.store(c + 1, Ordering::SeqCst);
            l.next().unwrap().unwrap();
        }
        assert!(l.next().is_none());
        let asks = src.asks.lock().unwrap();
        assert_eq!(asks.len(), n, "every sample once");
        let ahead = asks.iter().map(|&(i, c)| (i / batch) as i64 - c as i64).max().unwrap();
        // Batch b is built while the consumer has taken b - k - 1 batches
        // (k waiting in the channel, one being sent): b - (started) <= k.
        assert_eq!(ahead, k as i64, "prefetch {k}: the worker ran {ahead} batches ahead of the consumer");
    }
}

/// A source whose sample 3 is broken.
struct Broken;
impl SampleSource for Broken {
    fn len(&self) -> usize {
        8
    }
    fn sample(&self, index: usize, rng: &mut SampleRng) -> Result<Sample, LoaderError> {
        if index == 3 {
            return Err(LoaderError::BadSample { sample: "s3".into(), row: 3, message: "frame 7: truncated".into() });
        }
        IdSource { n: 8, prefix: "s" }.sample(index, rng)
    }
}

#[test]
fn a_bad_sample_is_an_error_naming_it_and_ends_the_epoch() {
    let cfg = LoaderConfig { shuffle: false, ..config(2, 2, 2) };
    let mut l = Loader::new(Arc::new(Broken), &cfg, LoaderState::new(0, 0)).unwrap();
    assert!(l.next().unwrap().is_ok());
    let err = l.next().unwrap().unwrap_err();
    assert!(err.to_string().contains("s3") && err.to_string().contains("frame 7"), "{err}");
    assert!(l.next().is_none());
    assert_eq!(l.state().position, 2, "the failed batch is not counted as consumed");
}

#[test]
fn zero_batch_size_is_rejected() {
    let err = Loader::new(Arc::new(Broken), &config(0, 1, 0), LoaderState::new(0, 0)).err().unwrap();
    assert!(err.to_string().contains("batch size"), "{err}");
}
