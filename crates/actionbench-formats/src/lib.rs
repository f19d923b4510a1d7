//! Readers of the external file formats actionbench evaluates and ingests.
//!
//! Research code hands results around in a handful of ad-hoc formats: AVA
//! CSVs and label maps, numpy `.npy` arrays, tables of class scores. This
//! crate reads them into plain Rust values (no metric code here; that is
//! `actionbench-metrics`), following the reference readers where their
//! quirks change results (integer vs decimal AVA timestamps, which label-map
//! lines count) and documenting where it is stricter.
//!
//! Bad input never panics: every error is an [`Error`] that names the file
//! and the line (text) or byte offset (binary) and says what was expected,
//! with a [`hint`](Error::hint) when the fix is obvious.
//!
//! | module | formats |
//! | --- | --- |
//! | [`ava`] | AVA ground-truth/detection CSVs, excluded-timestamp lists |
//! | [`label_map`] | pbtxt (`item`/`label` blocks), `id: name`, one name per line |
//! | [`npy`] | `.npy` float32/float64, versions 1.0–3.0, C or Fortran order |
//! | [`scores`] | class-score tables (CSV; Parquet with feature `parquet`) and label lists |
//!
//! Feature `parquet` (default) enables Parquet score tables through the
//! `parquet` and `arrow` crates.
#![warn(missing_docs)]

pub mod ava;
mod error;
pub mod label_map;
pub mod npy;
pub mod scores;
#[cfg(feature = "parquet")]
mod scores_parquet;

pub use error::{Error, Result};
#[cfg(feature = "parquet")]
pub use scores_parquet::read_scores_parquet;
