//! Times `ShardWriter` on an Arrow IPC file, for `scripts/bench skeletons`
//! (which times pyarrow's `write_table` on the same table in the same run).
//!
//! `cargo run --release --example bench_write -- TABLE.arrow OUT_DIR REPEAT ROW_GROUP_ROWS`
//! prints the median seconds of REPEAT writes (reading excluded).

use std::time::Instant;

use actionbench_shards::{ShardWriter, ShardWriterOptions};

// The allocator of the `actionbench` binary, whose writes this stands in for.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, table, out, repeat, row_group] = args.as_slice() else {
        return Err("usage: bench_write TABLE.arrow OUT_DIR REPEAT ROW_GROUP_ROWS".into());
    };
    let file = std::fs::File::open(table)?;
    let reader = arrow::ipc::reader::FileReader::try_new(file, None)?;
    let schema = reader.schema();
    let batches = reader.collect::<Result<Vec<_>, _>>()?;
    let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
    let mut times = Vec::new();
    for _ in 0..repeat.parse::<usize>()? {
        let _ = std::fs::remove_dir_all(out);
        let options = ShardWriterOptions {
            target_rows: rows.max(1),
            row_group_rows: row_group.parse()?,
            zstd_level: 3,
            ..Default::default()
        };
        let start = Instant::now();
        let mut writer = ShardWriter::new(std::path::Path::new(out), schema.clone(), options)?;
        for b in &batches {
            writer.write(b)?;
        }
        writer.finish()?;
        times.push(start.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    println!("{}", times[times.len() / 2]);
    Ok(())
}
