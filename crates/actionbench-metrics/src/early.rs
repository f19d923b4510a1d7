//! Early action prediction: top-1 accuracy when only the first part of each
//! sequence has been observed (UPS Tables 5–6: 20 %, 40 %, 60 % observation
//! ratios on NTU60/NTU120 x-sub, following ERA and Hard-Net).
//!
//! The model is run once per observation ratio on the truncated sequences;
//! this module scores those predictions against the labels of the full
//! sequences and reports accuracy per ratio and the mean over ratios (the
//! area-under-curve style summary some papers add when they use 10 ratios).

use serde::Serialize;

use crate::error::{Error, Result};

/// Number of leading frames observed at `ratio` of a `total`-frame sequence:
/// `ceil(ratio · total)`, clamped to `1..=total` (so a 20 % observation of a
/// 3-frame clip still sees one frame). `0` only when `total == 0`.
///
/// Fails when `ratio` is not in `(0, 1]`.
pub fn observed_frames(total: usize, ratio: f64) -> Result<usize> {
    if !(ratio > 0.0 && ratio <= 1.0) {
        return Err(Error::InvalidArgument(format!("observation ratio {ratio} is not in (0, 1]")));
    }
    if total == 0 {
        return Ok(0);
    }
    // A small tolerance keeps 0.6 * 10 = 6.000000000000001 at 6 frames.
    let frames = (ratio * total as f64 - 1e-9).ceil() as usize;
    Ok(frames.clamp(1, total))
}

/// Predicted labels for every sample at one observation ratio.
#[derive(Debug, Clone, Copy)]
pub struct Observation<'a> {
    /// Fraction of each sequence observed, in `(0, 1]`.
    pub ratio: f64,
    /// Predicted class of each sample, in the order of the labels.
    pub predictions: &'a [usize],
}

/// Top-1 accuracy at one observation ratio.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RatioAccuracy {
    /// The observation ratio.
    pub ratio: f64,
    /// Fraction of samples predicted correctly.
    pub accuracy: f64,
}

/// Accuracy per observation ratio and their unweighted mean.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EarlyPredictionReport {
    /// One entry per observation, in the order given.
    pub per_ratio: Vec<RatioAccuracy>,
    /// Mean of the per-ratio accuracies.
    pub mean: f64,
}

/// Scores early predictions against the labels of the full sequences.
pub fn early_prediction_accuracy(observations: &[Observation<'_>], labels: &[usize]) -> Result<EarlyPredictionReport> {
    if observations.is_empty() {
        return Err(Error::Empty { what: "list of observation ratios" });
    }
    if labels.is_empty() {
        return Err(Error::Empty { what: "labels" });
    }
    let mut per_ratio = Vec::with_capacity(observations.len());
    for obs in observations {
        if !(obs.ratio > 0.0 && obs.ratio <= 1.0) {
            return Err(Error::InvalidArgument(format!("observation ratio {} is not in (0, 1]", obs.ratio)));
        }
        if obs.predictions.len() != labels.len() {
            return Err(Error::ShapeMismatch {
                what: "early predictions",
                expected: format!("{} predictions (one per label)", labels.len()),
                found: format!("{} at ratio {}", obs.predictions.len(), obs.ratio),
            });
        }
        let correct = obs.predictions.iter().zip(labels).filter(|(p, l)| p == l).count();
        per_ratio.push(RatioAccuracy { ratio: obs.ratio, accuracy: correct as f64 / labels.len() as f64 });
    }
    let mean = per_ratio.iter().map(|r| r.accuracy).sum::<f64>() / per_ratio.len() as f64;
    Ok(EarlyPredictionReport { per_ratio, mean })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn observed_frames_rounds_up_and_clamps() {
        assert_eq!(observed_frames(10, 0.2).unwrap(), 2);
        assert_eq!(observed_frames(10, 0.6).unwrap(), 6);
        assert_eq!(observed_frames(3, 0.2).unwrap(), 1);
        assert_eq!(observed_frames(7, 0.4).unwrap(), 3); // 2.8 -> 3
        assert_eq!(observed_frames(300, 1.0).unwrap(), 300);
        assert!(observed_frames(10, 0.0).is_err());
        assert!(observed_frames(10, 1.5).is_err());
    }

    #[test]
    fn accuracy_per_ratio_and_mean() {
        let labels = [0, 1, 2, 3, 4];
        let r20 = [0, 0, 0, 0, 0]; // 1/5
        let r40 = [0, 1, 0, 0, 4]; // 3/5
        let r60 = [0, 1, 2, 3, 4]; // 5/5
        let report = early_prediction_accuracy(
            &[
                Observation { ratio: 0.2, predictions: &r20 },
                Observation { ratio: 0.4, predictions: &r40 },
                Observation { ratio: 0.6, predictions: &r60 },
            ],
            &labels,
        )
        .unwrap();
        let acc: Vec<f64> = report.per_ratio.iter().map(|r| r.accuracy).collect();
        assert_eq!(acc, vec![0.2, 0.6, 1.0]);
        assert!((report.mean - 0.6).abs() < 1e-15);
    }

    #[test]
    fn mismatched_lengths_are_errors() {
        let err = early_prediction_accuracy(&[Observation { ratio: 0.2, predictions: &[0] }], &[0, 1]);
        assert!(matches!(err, Err(Error::ShapeMismatch { .. })));
    }
}
