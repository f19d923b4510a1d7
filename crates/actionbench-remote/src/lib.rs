//! The remote cache: stage outputs shared between machines through
//! S3-compatible object storage (AWS, MinIO, Ceph) or a shared file
//! system, with the `object_store` crate.
//!
//! `actionbench push` uploads built-in stage outputs, `actionbench pull`
//! downloads them (each blob verified before anything is published), `run
//! --remote` fetches missing outputs instead of computing them and stores
//! what it computes, and `gc --remote` removes what no lock file refers to.
//! The layout and the guarantees are in [`Remote`]'s module docs and
//! `docs/remote.md`.
//!
//! This crate is the only one that links an HTTP client and TLS.

mod config;
mod error;
mod remote;

pub use config::{PROJECT_CONFIG_FILE, RemoteConfig};
pub use error::{Error, Result};
pub use remote::{Pulled, Pushed, Remote, RemoteFile, RemoteGcReport};
