//! `scripts/bench loader`'s Rust side: read a shard directory with a filter,
//! then decode + augment + collate every sample for some epochs.
//!
//! Usage: bench_loader SHARD_DIR FILTER THREADS EPOCHS BATCH FRAMES
//! Prints: `rows open_seconds samples iterate_seconds checksum`.

#[path = "shared/epochs.rs"]
mod epochs;

use std::sync::Arc;
use std::time::Instant;

use actionbench_loader::{SkeletonConfig, SkeletonSource, Table, TableSpec};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [dir, filter, threads, epochs, batch, frames] = &args[..] else {
        return Err("usage: bench_loader SHARD_DIR FILTER THREADS EPOCHS BATCH FRAMES".into());
    };
    let (threads, epochs, batch, frames): (usize, u64, usize, usize) =
        (threads.parse()?, epochs.parse()?, batch.parse()?, frames.parse()?);
    let start = Instant::now();
    let spec = TableSpec {
        dirs: vec![dir.into()],
        columns: vec!["sample_id".into(), "label".into(), "joints".into()],
        filter: (!filter.is_empty()).then(|| filter.clone()),
    };
    let table = Arc::new(Table::open(&spec)?);
    let open = start.elapsed().as_secs_f64();
    let config = SkeletonConfig { frames, bodies: 2, augment: true, flip: true, ..Default::default() };
    let source = Arc::new(SkeletonSource::new(Arc::clone(&table), config)?);
    let (samples, iterate, checksum) = epochs::run_epochs(source, threads, epochs, batch, "joints")?;
    println!("{} {open:.6} {samples} {iterate:.6} {checksum:.3}", table.len());
    Ok(())
}
