//! The built-in stage kinds (`uses = "..."` in a pipeline file).
//!
//! Each kind is one module implementing
//! [`actionbench_pipeline::StageKind`]; [`registry`] lists them all, and
//! the binary hands that registry to the engine.

mod eval_stages;
pub mod evaluation;
mod files_manifest;
pub mod ingest;
mod ingest_ava;
mod ingest_h36m;
mod ingest_kinetics;
pub mod ingest_labels;
mod ingest_ntu;
mod ingest_phalp;
mod ingest_pyskl;
pub mod sample_format;
use sample_format::Ingest;
mod shard_parquet;
mod tables;

pub use eval_stages::{EvalAva, EvalAvaParams, EvalClassify, EvalClassifyParams, EvalPose, EvalPoseParams};
pub use files_manifest::{FilesManifest, FilesManifestParams};
pub use ingest_ava::{AvaFormat, IngestAva, IngestAvaParams};
pub use ingest_h36m::{H36mFormat, IngestH36m, IngestH36mParams};
pub use ingest_kinetics::{IngestKineticsParams, IngestKineticsSkeleton, KineticsSample, KineticsSkeletonFormat};
pub use ingest_labels::{IngestLabels, IngestLabelsParams, LabelsFormat};
pub use ingest_ntu::{IngestNtu, IngestNtuParams, NtuFormat};
pub use ingest_phalp::{IngestPhalp, IngestPhalpParams, PhalpFormat};
pub use ingest_pyskl::{IngestPyskl, IngestPysklParams, PysklFormat};
pub use shard_parquet::{ShardParquet, ShardParquetParams};

/// The built-in kinds that neither decode nor encode video: all but
/// `ingest.video`, `ingest.renders` and `synth`, which live in
/// `actionbench-video-stages` (FFmpeg's corner) so that a binary built on
/// this crate has no path to libav.
pub fn registry() -> actionbench_pipeline::Registry {
    let mut registry = actionbench_pipeline::Registry::new();
    registry.register(FilesManifest);
    registry.register(Ingest(NtuFormat));
    registry.register(Ingest(PhalpFormat));
    registry.register(Ingest(AvaFormat));
    registry.register(Ingest(KineticsSkeletonFormat));
    registry.register(Ingest(PysklFormat));
    registry.register(Ingest(H36mFormat));
    registry.register(Ingest(LabelsFormat));
    registry.register(ShardParquet);
    registry.register(EvalAva);
    registry.register(EvalPose);
    registry.register(EvalClassify);
    registry
}
