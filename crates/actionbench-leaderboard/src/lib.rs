//! Benchmarks as data and the regression-checked leaderboard.
//!
//! A benchmark is `benchmarks/<name>/benchmark.toml` ([`definition`]): the
//! pipeline and stages that produce its metrics, its protocol fields, and
//! expected values with a tier. [`runner`] runs the pipeline and builds a
//! [`record::ResultRecord`] with provenance;
//! [`check`] applies the tier's rule; [`board`] puts our rows next to the
//! numbers the papers claim; [`report`] draws the HTML page and plots.

pub mod board;
pub mod check;
pub mod definition;
mod error;
pub mod record;
pub mod report;
pub mod runner;

pub use board::{Claimed, Row, RowState, check_all, load_claimed, rows};
pub use check::{MetricCheck, Verdict, check};
pub use definition::{Benchmark, BenchmarkDef, MetricSpec, Tier, Unit, load_benchmarks};
pub use error::{Error, Result};
pub use record::{Provenance, ResultRecord, machine_class};
