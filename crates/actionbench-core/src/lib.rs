//! Shared vocabulary of actionbench.
//!
//! Everything here is small and dependency-light so that every other crate
//! can use it: [`Fingerprint`] (a blake3 digest printed as hex), canonical
//! hashing of serialisable values ([`fingerprint_of`]), checked project
//! paths ([`ProjectPath`]) and the registry of environment variables
//! ([`EnvVars`]).
#![warn(missing_docs)]

mod env_vars;
mod fingerprint;
mod project_path;

pub use env_vars::EnvVars;
pub use fingerprint::{Fingerprint, HashingWriter, fingerprint_of, hash_file};
pub use project_path::{PathError, ProjectPath};
