//! Shared vocabulary of actionbench.
//!
//! Everything here is small and dependency-light so that every other crate
//! can use it: [`Fingerprint`] (a blake3 digest printed as hex), canonical
//! hashing of serialisable values ([`fingerprint_of`]), checked project
//! paths ([`ProjectPath`]), the registry of environment variables
//! ([`EnvVars`]), "did you mean" hints ([`suggest`]) and the one error-reporting vocabulary every crate shares
//! ([`Diagnose`], [`Diagnostic`], [`Failure`]).

mod diagnostic;
mod env_vars;
mod fingerprint;
mod project_path;
pub mod suggest;

/// The file that marks a directory of Parquet shards: the shard writer
/// (`actionbench-shards`) writes it, the project catalog
/// (`actionbench-pipeline`) finds tables by it.
pub const SHARD_INDEX_FILE: &str = "_index.json";

pub use diagnostic::{BoxError, Diagnose, Diagnostic, Failure, Location, Probe, diagnostic_probe};
pub use env_vars::EnvVars;
pub use fingerprint::{Fingerprint, HashingWriter, fingerprint_of, hash_file};
pub use project_path::{PathError, ProjectPath};
