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
//! | [`ava_proposals`] | mmaction2 AVA proposal pickles |
//! | [`label_map`] | pbtxt (`item`/`label` blocks), `id: name`, one name per line |
//! | [`npy`] | `.npy` arrays (any plain dtype, object arrays), versions 1.0–3.0, C or Fortran order |
//! | [`npz`] | `.npz` archives of `.npy` members |
//! | [`pickle`] | a safe pickle reader (protocols 0–5): data only, never code |
//! | [`joblib`] | joblib files, plain or zlib/gzip-compressed (PHALP, LART) |
//! | [`joblib_write`] | writing joblib files as `joblib.dump` does (PHALP-like files, LART export) |
//! | [`phalp`] | PHALP tracking results (both generations), cut into tracks; LART's 229-d pose vector |
//! | [`lart`] | LART's per-tracklet training files (export) |
//! | [`value`] | the value tree pickles decode into ([`value::PyValue`], [`value::NdArray`]) |
//! | [`ntu`] | NTU RGB+D `.skeleton` files, sample names, missing lists, official splits |
//! | [`kinetics_skeleton`] | ST-GCN Kinetics-skeleton JSON |
//! | [`pyskl`] | mmaction2 / pyskl skeleton annotation pickles |
//! | [`h36m`] | VideoPose3D Human3.6M `.npz` files |
//! | [`video_labels`] | Kinetics CSV, SSv2 / Something-Else JSON, Diving48 JSON, UCF101 lists, IsoGD lists, NTU RGB+D video names |
//! | [`scores`] | class-score tables (CSV; Parquet with feature `parquet`) and label lists |
//!
//! Feature `parquet` (default) enables Parquet score tables through the
//! `parquet` and `arrow` crates.

pub mod ava;
pub mod ava_proposals;
pub mod ava_write;
pub mod detect;
mod error;
pub mod h36m;
pub mod joblib;
pub mod joblib_write;
pub mod kinetics_skeleton;
pub mod kinetics_write;
pub mod label_map;
pub mod lart;
pub mod npy;
pub mod npz;
pub mod npz_write;
pub mod ntu;
mod ntu_joint_line;
pub mod ntu_write;
pub mod phalp;
pub mod pickle;
pub mod pyskl;
pub mod scores;
#[cfg(feature = "parquet")]
mod scores_parquet;
pub mod torch;
pub mod value;
pub mod video_labels;

pub use error::{Error, Result};
#[cfg(feature = "parquet")]
pub use scores_parquet::read_scores_parquet;
