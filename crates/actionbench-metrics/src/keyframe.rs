//! Temporal localisation error of keyframe prediction (Ego4D hands-and-objects
//! PNR localisation; PViT Table 2).
//!
//! The Ego4D baseline samples `candidates` frames (16) uniformly from a clip,
//! predicts which one is the point of no return, maps the chosen index back
//! to a frame offset `(end − start) / candidates · index`, and reports the
//! mean absolute distance to the annotated PNR frame **in seconds**, over the
//! clips that have a state change (clips without one have no PNR frame and
//! are skipped).

use serde::Serialize;

use crate::error::{Error, Result};

/// Frame offset (from the clip start) of candidate `index` of `candidates`
/// uniformly sampled frames in `[clip_start_frame, clip_end_frame]`, as the
/// Ego4D baseline maps it: `(end − start) / candidates · index`.
pub fn keyframe_offset(clip_start_frame: f64, clip_end_frame: f64, index: usize, candidates: usize) -> Result<f64> {
    if candidates == 0 || index >= candidates {
        return Err(Error::InvalidArgument(format!("keyframe index {index} is not one of {candidates} candidates")));
    }
    Ok((clip_end_frame - clip_start_frame) / candidates as f64 * index as f64)
}

/// One clip's predicted keyframe and its annotation.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct KeyframePrediction {
    /// Predicted keyframe, in frames from the clip start.
    pub predicted_frame: f64,
    /// Annotated PNR frame, in frames from the clip start; `None` for a clip
    /// without a state change.
    pub ground_truth_frame: Option<f64>,
    /// Frame rate of the clip (frames per second).
    pub fps: f64,
}

/// Mean absolute keyframe error in seconds over the clips with a PNR frame,
/// or `None` when no clip has one.
pub fn temporal_localisation_error(clips: &[KeyframePrediction]) -> Result<Option<f64>> {
    let mut total = 0.0;
    let mut count = 0usize;
    for (i, clip) in clips.iter().enumerate() {
        let Some(gt) = clip.ground_truth_frame else {
            continue;
        };
        if !(clip.fps > 0.0 && clip.fps.is_finite()) {
            return Err(Error::InvalidArgument(format!("clip {i}: frame rate {} is not a positive number", clip.fps)));
        }
        if !clip.predicted_frame.is_finite() || !gt.is_finite() {
            return Err(Error::NonFinite {
                what: "keyframe",
                index: i,
                value: if gt.is_finite() { clip.predicted_frame } else { gt },
            });
        }
        total += (clip.predicted_frame - gt).abs() / clip.fps;
        count += 1;
    }
    Ok((count > 0).then(|| total / count as f64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_is_mean_seconds_over_positive_clips() {
        let clips = [
            KeyframePrediction { predicted_frame: 30.0, ground_truth_frame: Some(60.0), fps: 30.0 }, // 1 s
            KeyframePrediction { predicted_frame: 0.0, ground_truth_frame: None, fps: 30.0 },        // skipped
            KeyframePrediction { predicted_frame: 100.0, ground_truth_frame: Some(85.0), fps: 30.0 }, // 0.5 s
        ];
        assert_eq!(temporal_localisation_error(&clips).unwrap(), Some(0.75));
        assert_eq!(temporal_localisation_error(&clips[1..2]).unwrap(), None);
    }

    #[test]
    fn offset_maps_candidate_index_like_the_baseline() {
        // A 240-frame clip (8 s at 30 fps), 16 candidates: index 8 -> 120 frames.
        assert_eq!(keyframe_offset(1000.0, 1240.0, 8, 16).unwrap(), 120.0);
        assert!(keyframe_offset(0.0, 10.0, 16, 16).is_err());
    }
}
