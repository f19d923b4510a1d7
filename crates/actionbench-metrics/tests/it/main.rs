//! Integration tests of actionbench-metrics: every metric against numbers
//! known independently of this crate (the official evaluators' outputs,
//! closed-form cases, the published fixture values).

mod ava;
mod classification;
mod pose;
mod support;
mod tasks;
