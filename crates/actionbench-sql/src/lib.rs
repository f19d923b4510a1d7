//! SQL over an actionbench project, with DataFusion.
//!
//! [`SqlSession::open`] registers every table the project has:
//!
//! - `PIPELINE.STAGE`: the output table of each stage recorded in
//!   `pipelines/PIPELINE.lock` (Parquet shards with a `_index.json`, or a
//!   single CSV such as `files.manifest` writes, or the single Parquet file
//!   of a `predict` stage); a stage that writes more
//!   than one table adds `PIPELINE.STAGE_SUB` for each sub-directory;
//! - `actionbench.stages`: one row per stage (pipeline, stage, kind, key,
//!   rows, location);
//! - `actionbench.shards`: one row per shard file (rows, bytes, blake3, key
//!   range), from the shard indexes;
//! - `actionbench.metrics`: every `metrics` table written by evaluation or
//!   training stages, in one long-format table;
//! - `actionbench.runs`: one row per recorded stage run (also runs with
//!   `-S` overrides and runs a lock file no longer points at): stage, key,
//!   when, overrides, matrix values, params and the full key definition as
//!   JSON; `actionbench.run_metrics`: the `metrics` rows of those runs.
//!
//! DataFusion is async; the tokio runtime lives here, so callers stay
//! synchronous. DataFusion compiles only in this crate.

mod error;
mod output;
mod runs;
mod session;

pub use error::{Error, Result};
pub use output::{MAX_CELL, NestedCells, render_csv, render_csv_with, render_json, render_table};
pub use runs::RUN_COLUMNS;
pub use session::{SqlSession, TableInfo};
