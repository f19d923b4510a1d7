//! Early prediction, cumulative multi-task accuracy and keyframe error.

use actionbench_metrics::early::{Observation, early_prediction_accuracy, observed_frames};
use actionbench_metrics::keyframe::{KeyframePrediction, keyframe_offset, temporal_localisation_error};
use actionbench_metrics::multitask::{TaskOutcome, cumulative_accuracy};

#[test]
fn early_prediction_reports_each_observation_ratio() {
    // 300-frame NTU tensors: 20 / 40 / 60 % observe 60 / 120 / 180 frames.
    let frames: Vec<usize> = [0.2, 0.4, 0.6].iter().map(|&r| observed_frames(300, r).unwrap()).collect();
    assert_eq!(frames, vec![60, 120, 180]);
    let labels = [3, 1, 4, 1, 5, 9, 2, 6];
    let at20 = [0, 0, 4, 0, 0, 0, 0, 0];
    let at40 = [3, 1, 4, 0, 0, 0, 2, 0];
    let at60 = [3, 1, 4, 1, 5, 0, 2, 6];
    let r = early_prediction_accuracy(
        &[
            Observation { ratio: 0.2, predictions: &at20 },
            Observation { ratio: 0.4, predictions: &at40 },
            Observation { ratio: 0.6, predictions: &at60 },
        ],
        &labels,
    )
    .unwrap();
    let acc: Vec<f64> = r.per_ratio.iter().map(|x| x.accuracy).collect();
    assert_eq!(acc, vec![0.125, 0.5, 0.875]);
    assert!((r.mean - 0.5).abs() < 1e-15);
}

#[test]
fn cumulative_accuracy_pools_predictions_across_tasks() {
    // An action task with 3 of 4 correct and a gesture task with 1 of 4:
    // cumulative = 4 / 8 = 0.5; with 12 of 16 and 1 of 4 it is 13 / 20.
    let actions = TaskOutcome::from_predictions("actions", &[1, 2, 3, 0], &[1, 2, 3, 4]).unwrap();
    let gestures = TaskOutcome::from_predictions("gestures", &[0, 0, 0, 1], &[1, 2, 3, 1]).unwrap();
    assert_eq!(cumulative_accuracy(&[actions, gestures]).unwrap().cumulative, 0.5);
    let big = TaskOutcome { name: "actions".into(), correct: 12, total: 16 };
    let small = TaskOutcome { name: "gestures".into(), correct: 1, total: 4 };
    let r = cumulative_accuracy(&[big, small]).unwrap();
    assert_eq!(r.cumulative, 13.0 / 20.0);
    assert_eq!(r.mean_of_tasks, 0.5);
}

#[test]
fn keyframe_error_in_seconds_over_clips_with_a_state_change() {
    // Two 8 s clips at 30 fps (240 frames), 16 candidate frames each.
    let p1 = keyframe_offset(0.0, 240.0, 4, 16).unwrap(); // 60 frames
    let p2 = keyframe_offset(0.0, 240.0, 10, 16).unwrap(); // 150 frames
    let clips = [
        KeyframePrediction { predicted_frame: p1, ground_truth_frame: Some(90.0), fps: 30.0 },
        KeyframePrediction { predicted_frame: p2, ground_truth_frame: Some(150.0), fps: 30.0 },
        KeyframePrediction { predicted_frame: 0.0, ground_truth_frame: None, fps: 30.0 },
    ];
    // |60 - 90| / 30 = 1 s and 0 s -> 0.5 s.
    assert_eq!(temporal_localisation_error(&clips).unwrap(), Some(0.5));
}
