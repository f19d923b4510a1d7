//! The Rust side of a clip-loader benchmark: read a clip table (`ingest.video`
//! or `ingest.renders` shards), then sample, decode, augment and collate
//! every clip for some epochs.
//!
//! Usage: bench_clips SHARD_DIR THREADS EPOCHS BATCH FRAMES RATE CROP
//! Prints: `rows open_seconds samples iterate_seconds checksum`.

#[path = "shared/epochs.rs"]
mod epochs;

use std::sync::Arc;
use std::time::Instant;

use actionbench_loader::{ClipConfig, ClipSource, Table, TableSpec};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [dir, threads, epochs, batch, frames, rate, crop] = &args[..] else {
        return Err("usage: bench_clips SHARD_DIR THREADS EPOCHS BATCH FRAMES RATE CROP".into());
    };
    let (threads, epochs, batch): (usize, u64, usize) = (threads.parse()?, epochs.parse()?, batch.parse()?);
    let (frames, rate, crop): (usize, usize, usize) = (frames.parse()?, rate.parse()?, crop.parse()?);
    let config = ClipConfig {
        num_frames: frames,
        sampling_rate: rate,
        crop_size: crop,
        jitter_scales: [crop * 8 / 7, crop * 10 / 7],
        augment: true,
        ..Default::default()
    };
    // Only the columns training reads, as the `train` stage opens it.
    let start = Instant::now();
    let mut spec = TableSpec { dirs: vec![dir.into()], columns: Vec::new(), filter: None };
    spec.columns = config.columns(&spec.available_columns()?);
    let table = Arc::new(Table::open(&spec)?);
    let open = start.elapsed().as_secs_f64();
    let source = Arc::new(ClipSource::new(Arc::clone(&table), config)?);
    let (samples, iterate, checksum) = epochs::run_epochs(source, threads, epochs, batch, "clip")?;
    println!("{} {open:.6} {samples} {iterate:.6} {checksum:.3}", table.len());
    Ok(())
}
