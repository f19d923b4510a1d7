//! Integration tests of the loader.

mod augment;
mod burn_tensors;
mod clip;
mod common;
mod filter;
mod loader;
mod mixture;
#[cfg(feature = "sql")]
mod sql;
mod tracklet;
