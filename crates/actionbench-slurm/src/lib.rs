//! Stages as SLURM batch jobs (`actionbench run --executor slurm`): one job
//! per stale stage running `actionbench run PIPELINE STAGE` on a compute
//! node, per-stage `resources` from the pipeline file, `afterok`
//! dependencies, one log per stage, status from `squeue`, `sacct` when the
//! site keeps accounting, and each job's exit marker as ground truth;
//! Ctrl-C cancels what was submitted (docs/cluster.md).
//!
//! The results go to the cache the jobs see: the project's cache on a
//! shared file system, or the S3 remote when the run passes `--remote`.

mod commands;
mod driver;
mod error;

pub use commands::resource_args;
pub use driver::{ArrayReport, JobReport, SlurmOptions, SlurmRun, run_on_slurm};
pub use error::{Error, Result};
