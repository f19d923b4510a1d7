//! Pure metric code of actionbench: the numbers a leaderboard row is made of.
//!
//! Every function here takes plain slices and small structs and returns
//! numbers; nothing reads files (that is `actionbench-formats`), nothing needs
//! a GPU or a deep-learning framework, so the crate builds in seconds and its
//! tests pin every metric against independently known values.
//!
//! The metrics reproduce the code the papers were scored with, including the
//! details that move results:
//!
//! | module | metric | reference |
//! | --- | --- | --- |
//! | [`classification`] | top-k accuracy, mean class accuracy, multi-view (clips × crops) aggregation | mmaction2 / pyskl `top_k_accuracy`, `mean_class_accuracy`, `average_clips` |
//! | [`early`] | early-prediction accuracy at observation ratios | UPS Tables 5–6 |
//! | [`multitask`] | cumulative accuracy across tasks | multi-task action + gesture paper, Table 2 |
//! | [`keyframe`] | temporal localisation error of keyframe (PNR) prediction | Ego4D hands-and-objects baseline, PViT Table 2 |
//! | [`ava`] | AVA frame-mAP@0.5IOU, 2019 and 2020 protocols | ActivityNet `get_ava_performance.py` |
//! | [`pose`] | MPJPE, P-MPJPE, per-action averaging | VideoPose3D `common/loss.py`, `run.py` |
//!
//! Where the reference code's result depends on numpy internals (the order
//! of its unstable argsort on ties, pairwise summation), the numpy routine is
//! replicated bit for bit rather than approximated.
//!
//! ```
//! use actionbench_metrics::classification::{ScoreMatrix, top_k_accuracy};
//!
//! let scores = ScoreMatrix::from_rows(&[vec![0.1, 0.9], vec![0.8, 0.2]])?;
//! assert_eq!(top_k_accuracy(&scores, &[1, 1], 1)?, 0.5);
//! # Ok::<(), actionbench_metrics::Error>(())
//! ```

pub mod ava;
pub mod classification;
pub mod early;
mod error;
pub mod keyframe;
pub mod multitask;
mod numpy;
pub mod pose;

pub use error::{Error, Result};
