//! The Burn trainer: optimisers, schedules, checkpoints, multi-task losses,
//! and the `train` / `predict` stage kinds.
//!
//! - [`trainer::train`] runs the loop: per-step seeds (so a resumed run
//!   is bit-identical to an uninterrupted one), warm-up + cosine learning
//!   rate ([`schedule`]), global-norm clipping and AdamW/SGD ([`optim`]),
//!   atomic checkpoints ([`checkpoint`]) and long-format metrics.
//! - [`multitask`] combines task losses (fixed, average, DWA, uncertainty,
//!   automatic) with per-sample label masks ([`losses`]).
//! - [`tasks`] wraps ST-GCN, LART, the video models and UPS with their losses;
//!   [`lifting`] makes UPS's 2D → 3D samples from Human3.6M tables.
//! - [`backend`] names the CPU backend every `device = "cpu"` stage uses.
//! - [`register`] adds the `train` and `predict` stage kinds to a registry.

pub mod backend;
pub mod checkpoint;
pub mod error;
mod exact;
pub mod lifting;
pub mod losses;
pub mod mtl_task;
pub mod multitask;
pub mod optim;
mod pinned;
pub mod pvit_task;
mod rng_turn;
pub mod schedule;
mod stages;
pub mod tables;
pub mod tasks;
pub mod trainer;
mod ups_stage;

pub use error::{Result, TrainError};
pub use pvit_task::VideoMixture;
pub use stages::{
    BURN_VERSION, DataParams, ModelParams, PredictParams, PredictStage, TrainParams, TrainStage, backend_name,
};
pub use ups_stage::{Finetune, UpsData, UpsRegime, UpsTaskData};

/// Adds the `train` and `predict` stage kinds to `registry`.
pub fn register(registry: &mut actionbench_pipeline::Registry) {
    registry.register(TrainStage);
    registry.register(PredictStage);
}
