//! The content-hashed stage engine: `make` for datasets and experiments,
//! with reasons.
//!
//! A pipeline file (`pipelines/NAME.toml`) declares stages. Each stage is a
//! built-in kind (`uses`, `inputs`, `params`) or a shell command (`cmd`,
//! `deps`, `outs`). The engine gives every stage a *key*: the blake3 digest
//! of a canonical [`StageKey`] made of the kind and its implementation
//! version, the canonical params, the content hashes of its inputs, the keys
//! of the stages it depends on and the versions of the external tools it
//! uses. A stage whose key is unchanged is not re-run.
//!
//! ```text
//!  pipeline file ──parse──▶ PipelineDef ──graph──▶ topological order
//!                                                   │ for each stage
//!                      inputs ──hash (stat cache)──▶ StageKey ──blake3──▶ key
//!                                                   │
//!              key in lock file and outputs intact? ─┬─ yes ─▶ cached
//!                                                    └─ no ──▶ run in temp dir
//!                                                              ──rename──▶ publish
//!                                                              ──▶ lock file entry
//! ```
//!
//! The engine knows no concrete stage kind: kinds implement [`StageKind`] and
//! are registered in a [`Registry`] by the binary. Progress is reported
//! through the [`Reporter`] trait; the binary draws it.

mod cache;
mod catalog;
mod command;
mod engine;
mod error;
mod explain;
mod graph;
mod inputs;
mod kind;
mod lock_file;
mod matrix;
mod pipeline_file;
mod reference;
mod reporter;
mod resources;
mod runs;
mod shared;
mod snapshot;
mod stage_key;

pub use cache::{Cache, CacheLock, GcReport};
pub use catalog::{
    ProjectCatalog, SHARD_INDEX_FILE, StageRef, TableFormat, TableRef, is_metrics_out, shard_dirs_under,
};
pub use engine::{
    Engine, PartReport, RunOptions, StageOutcome, StageReport, StageState, StageStatus, default_cache_dir, gc_project,
    project_lock_files,
};
pub use error::{BadParam, Error, Result};
pub use explain::Reason;
pub use inputs::{InputFile, ResolvedInput};
pub use kind::{ParamError, Part, RegisteredKind, Registry, StageContext, StageError, StageKind, to_table};
pub use lock_file::{LockFile, LockedStage};
pub use matrix::{Combo, base_name, instance_name};
pub use pipeline_file::{MAX_PARTITIONS, PipelineDef, StageBody, StageDef, find_project_root};
pub use reference::stage_kinds_markdown;
pub use reporter::{NoopReporter, Reporter};
pub use resources::Resources;
pub use runs::{RunRecord, utc_text};
pub use shared::{SharedCache, SharedCacheError};
pub use stage_key::StageKey;

/// Version of the on-disk cache layout: the cache lives under `v{N}/`, and a
/// change of format bumps the number instead of migrating (uv's `wheels-v6`).
pub const CACHE_LAYOUT_VERSION: u32 = 1;
