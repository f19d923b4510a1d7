//! Times queries through `SqlSession`, for `scripts/bench skeletons` (which
//! times DuckDB on the same Parquet files in the same run).
//!
//! `cargo run --release --example bench_sql -- PROJECT_ROOT QUERIES.txt REPEAT`
//! (one query per line) prints one median time in seconds per query.

use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, root, queries, repeat] = args.as_slice() else {
        return Err("usage: bench_sql PROJECT_ROOT QUERIES.txt REPEAT".into());
    };
    let session = actionbench_sql::SqlSession::open(std::path::Path::new(root), None)?;
    for query in std::fs::read_to_string(queries)?.lines().filter(|l| !l.trim().is_empty()) {
        session.query(query)?; // warm-up, as DuckDB's side does
        let mut times = Vec::new();
        for _ in 0..repeat.parse::<usize>()? {
            let start = Instant::now();
            let batches = session.query(query)?;
            std::hint::black_box(batches);
            times.push(start.elapsed().as_secs_f64());
        }
        times.sort_by(f64::total_cmp);
        println!("{}", times[times.len() / 2]);
    }
    Ok(())
}
