//! The built-in stage kinds (`uses = "..."` in a pipeline file).
//!
//! Each kind is one module implementing
//! [`actionbench_pipeline::StageKind`]; [`registry`] lists them all, and
//! the binary hands that registry to the engine.
#![warn(missing_docs)]

mod files_manifest;

pub use files_manifest::FilesManifest;

/// Every built-in kind.
pub fn registry() -> actionbench_pipeline::Registry {
    let mut registry = actionbench_pipeline::Registry::new();
    registry.register(FilesManifest);
    registry
}
