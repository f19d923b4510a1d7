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
mod ingest_h36m;
mod ingest_kinetics;
mod ingest_ntu;
mod ingest_pyskl;
mod shard_parquet;
mod tables;

pub use eval_stages::{EvalAva, EvalClassify, EvalPose};
pub use files_manifest::FilesManifest;
pub use ingest_h36m::IngestH36m;
pub use ingest_kinetics::IngestKineticsSkeleton;
pub use ingest_ntu::IngestNtu;
pub use ingest_pyskl::IngestPyskl;
pub use shard_parquet::ShardParquet;

/// Every built-in kind.
pub fn registry() -> actionbench_pipeline::Registry {
    let mut registry = actionbench_pipeline::Registry::new();
    registry.register(FilesManifest);
    registry.register(IngestNtu);
    registry.register(IngestKineticsSkeleton);
    registry.register(IngestPyskl);
    registry.register(IngestH36m);
    registry.register(ShardParquet);
    registry.register(EvalAva);
    registry.register(EvalPose);
    registry.register(EvalClassify);
    registry
}
