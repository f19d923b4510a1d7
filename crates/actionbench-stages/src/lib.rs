//! The built-in stage kinds (`uses = "..."` in a pipeline file).
//!
//! Each kind is one module implementing
//! [`actionbench_pipeline::StageKind`]; [`registry`] lists them all, and
//! the binary hands that registry to the engine.
#![warn(missing_docs)]

mod eval_stages;
pub mod evaluation;
mod files_manifest;
mod ingest;
mod ingest_ava;
mod ingest_h36m;
mod ingest_kinetics;
mod ingest_labels;
mod ingest_ntu;
mod ingest_phalp;
mod ingest_pyskl;
mod ingest_renders;
mod ingest_video;
mod shard_parquet;
mod synth;
mod tables;

pub use eval_stages::{EvalAva, EvalClassify, EvalPose};
pub use files_manifest::FilesManifest;
pub use ingest_ava::IngestAva;
pub use ingest_h36m::IngestH36m;
pub use ingest_kinetics::IngestKineticsSkeleton;
pub use ingest_labels::IngestLabels;
pub use ingest_ntu::IngestNtu;
pub use ingest_phalp::IngestPhalp;
pub use ingest_pyskl::IngestPyskl;
pub use ingest_renders::IngestRenders;
pub use ingest_video::IngestVideo;
pub use shard_parquet::ShardParquet;
pub use synth::Synth;

/// Every built-in kind.
pub fn registry() -> actionbench_pipeline::Registry {
    let mut registry = registry_without_ffmpeg();
    registry.register(IngestVideo);
    registry.register(IngestRenders);
    registry.register(Synth);
    registry
}

/// The built-in kinds that neither decode nor encode video: all but
/// `ingest.video`, `ingest.renders` and `synth` (which writes rendered
/// clips). A binary that registers only these never calls FFmpeg, so the
/// linker leaves FFmpeg's libraries out of it and it starts without
/// loading them (about 35 ms on Debian 12; see the CLI's crate docs).
pub fn registry_without_ffmpeg() -> actionbench_pipeline::Registry {
    let mut registry = actionbench_pipeline::Registry::new();
    registry.register(FilesManifest);
    registry.register(IngestNtu);
    registry.register(IngestPhalp);
    registry.register(IngestAva);
    registry.register(IngestKineticsSkeleton);
    registry.register(IngestPyskl);
    registry.register(IngestH36m);
    registry.register(IngestLabels);
    registry.register(ShardParquet);
    registry.register(EvalAva);
    registry.register(EvalPose);
    registry.register(EvalClassify);
    registry
}
