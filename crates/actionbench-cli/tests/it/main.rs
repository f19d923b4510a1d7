//! CLI integration tests: the `actionbench` binary run in temporary projects.
//! One test binary for the crate (link time matters on two cores).

mod allocator;
mod concurrency;
mod crash;
mod depcheck;
mod errors;
mod experiments;
mod faults;
mod ffmpeg;
mod harness;
mod inspect;
mod lart;
mod leaderboard;
mod manifests;
mod mtl;
mod pvit;
mod remote;
mod run_order;
mod slurm;
mod sql;
mod status;
mod ups;
mod video;
