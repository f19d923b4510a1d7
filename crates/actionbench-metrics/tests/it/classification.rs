//! Classification metrics on hand-made scores with known answers.

use actionbench_metrics::classification::{
    ScoreMatrix, ViewAggregation, aggregate_views, evaluate_classification, mean_class_accuracy, top_k_accuracy,
};

#[test]
fn top1_top5_and_mean_class_accuracy() {
    // 6 classes, 4 samples. Ranks of the true class: 1, 2, 6, 5.
    let scores = ScoreMatrix::from_rows(&[
        vec![0.50, 0.10, 0.10, 0.10, 0.10, 0.10], // label 0, rank 1
        vec![0.30, 0.40, 0.10, 0.10, 0.05, 0.05], // label 0, rank 2
        vec![0.30, 0.20, 0.20, 0.15, 0.14, 0.01], // label 5, rank 6
        vec![0.25, 0.24, 0.23, 0.22, 0.04, 0.02], // label 4, rank 5
    ])
    .unwrap();
    let labels = [0, 0, 5, 4];
    assert_eq!(top_k_accuracy(&scores, &labels, 1).unwrap(), 0.25);
    assert_eq!(top_k_accuracy(&scores, &labels, 2).unwrap(), 0.5);
    assert_eq!(top_k_accuracy(&scores, &labels, 5).unwrap(), 0.75);
    // Predictions 0, 1, 0, 0: class 0 recall 1/2, class 4 0, class 5 0,
    // class 1 (predicted only) 0 -> mean over 4 classes = 0.125.
    assert_eq!(mean_class_accuracy(&scores, &labels).unwrap(), 0.125);
    let report = evaluate_classification(&scores, &labels, &[1, 5]).unwrap();
    assert_eq!(report.top_k, vec![(1, 0.25), (5, 0.75)]);
    assert_eq!(report.correct, vec![(1, 1), (5, 3)]);
}

#[test]
fn multi_view_mean_of_softmax_differs_from_mean_of_logits() {
    // Three views of one sample: [3, 0], [0, 1], [0, 1].
    // Mean of logits: [1, 2/3] -> class 0.
    // Mean of softmax: [(σ(3) + 2σ(-1)) / 3, ...] = [0.4968, 0.5032] -> class 1.
    let views = ScoreMatrix::from_rows(&[vec![3.0, 0.0], vec![0.0, 1.0], vec![0.0, 1.0]]).unwrap();
    let sigmoid = |x: f64| 1.0 / (1.0 + (-x).exp());
    let soft = aggregate_views(&views, 3, ViewAggregation::MeanSoftmax).unwrap();
    let p0 = (sigmoid(3.0) + 2.0 * sigmoid(-1.0)) / 3.0;
    assert!((soft.row(0)[0] - p0).abs() < 1e-15);
    assert_eq!(soft.argmax_rows(), vec![1]);
    let logits = aggregate_views(&views, 3, ViewAggregation::MeanLogits).unwrap();
    assert!((logits.row(0)[0] - 1.0).abs() < 1e-15);
    assert!((logits.row(0)[1] - 2.0 / 3.0).abs() < 1e-15);
    assert_eq!(logits.argmax_rows(), vec![0]);
}
