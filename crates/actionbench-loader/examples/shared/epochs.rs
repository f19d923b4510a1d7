//! The timed part the loader benchmarks share: every batch of some epochs.

use std::sync::Arc;
use std::time::Instant;

use actionbench_loader::{Loader, LoaderConfig, LoaderState, SampleSource};

/// Iterates `epochs` epochs of `source` in batches of `batch` on `threads`
/// threads; returns `(samples, seconds, checksum of tensor)`. The checksum
/// touches the data so nothing is optimised away.
pub(crate) fn run_epochs(
    source: Arc<dyn SampleSource>,
    threads: usize,
    epochs: u64,
    batch: usize,
    tensor: &str,
) -> Result<(usize, f64, f64), Box<dyn std::error::Error>> {
    let config = LoaderConfig { batch_size: batch, drop_last: false, shuffle: true, threads, prefetch: 4 };
    let start = Instant::now();
    let (mut samples, mut checksum) = (0usize, 0f64);
    for epoch in 0..epochs {
        for b in Loader::new(source.clone(), &config, LoaderState::new(0, epoch))? {
            let b = b?;
            samples += b.len();
            checksum += b.tensors[tensor].data.iter().step_by(997).map(|&v| v as f64).sum::<f64>();
        }
    }
    Ok((samples, start.elapsed().as_secs_f64(), checksum))
}
