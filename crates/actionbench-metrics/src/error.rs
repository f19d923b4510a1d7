//! The one error type of this crate.

/// Why a metric could not be computed.
///
/// Every variant is a problem with the caller's data (wrong shapes, labels out
/// of range, non-finite numbers, an unusable label map); metric code in this
/// crate never panics on bad input.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// Two inputs that must agree in size do not.
    #[error("{what}: expected {expected}, found {found}")]
    ShapeMismatch {
        /// What was being compared, for example `labels`.
        what: &'static str,
        /// The size that was required.
        expected: String,
        /// The size that was given.
        found: String,
    },
    /// An input that must not be empty is empty.
    #[error("{what} is empty")]
    Empty {
        /// What was empty.
        what: &'static str,
    },
    /// A class label does not index a column of the score matrix.
    #[error("sample {sample}: label {label} is not a class index in 0..{num_classes}")]
    LabelOutOfRange {
        /// Row of the offending sample (0-based).
        sample: usize,
        /// The label that was given.
        label: usize,
        /// Number of classes (columns) of the scores.
        num_classes: usize,
    },
    /// A number that must be finite is NaN or infinite.
    #[error("{what} at index {index} is not a finite number ({value})")]
    NonFinite {
        /// Which input holds the number.
        what: &'static str,
        /// Flat index of the number in that input.
        index: usize,
        /// The value found.
        value: f64,
    },
    /// A parameter is outside its domain (for example `k = 0`).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The AVA label map lists no class.
    #[error("the label map lists no class")]
    EmptyLabelMap,
    /// The AVA evaluator numbers classes from 1 (`Classes should be 1-indexed`).
    #[error("class id {id} in the label map is not positive (AVA class ids start at 1)")]
    ClassIdNotPositive {
        /// The offending id.
        id: i64,
    },
    /// The largest class id is too large to evaluate densely.
    #[error("class id {id} in the label map is larger than the supported maximum {max}")]
    ClassIdTooLarge {
        /// The offending id.
        id: i64,
        /// The largest id accepted.
        max: i64,
    },
    /// A row without a box (`video_id,timestamp` only) was given to the 2019
    /// protocol, whose reader accepts only 7- or 8-column rows.
    #[error("{role} frame {video_id},{timestamp} has a row without a box, which only the 2020 protocol accepts")]
    FrameOnlyRow {
        /// `ground truth` or `detections`.
        role: &'static str,
        /// Video of the row.
        video_id: String,
        /// Timestamp of the row.
        timestamp: String,
    },
    /// A ground-truth box has `x1 > x2` or `y1 > y2`; the official evaluator
    /// refuses it (`Invalid box data`) as soon as a detection of the same
    /// class and frame is compared with it.
    #[error("ground-truth box of action {action_id} on frame {video_id},{timestamp} has x1 > x2 or y1 > y2")]
    InvalidGroundTruthBox {
        /// Video of the box.
        video_id: String,
        /// Timestamp of the box.
        timestamp: String,
        /// Action id of the box.
        action_id: i64,
    },
    /// The 3x3 SVD of the Procrustes alignment did not converge.
    #[error("frame {frame}: the SVD of the Procrustes alignment did not converge")]
    SvdFailed {
        /// Frame index (0-based).
        frame: usize,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Fails with [`Error::NonFinite`] at the first NaN or infinity of `values`.
pub(crate) fn check_finite(what: &'static str, values: &[f64]) -> Result<()> {
    match values.iter().position(|v| !v.is_finite()) {
        Some(index) => Err(Error::NonFinite { what, index, value: values[index] }),
        None => Ok(()),
    }
}
