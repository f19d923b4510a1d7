//! Clip-level classification metrics as mmaction2 / pyskl compute them.
//!
//! Scores are a [`ScoreMatrix`] (`[samples, classes]`, row-major); labels are
//! class indices (`0..classes`). Multi-clip × multi-crop testing produces
//! `views` consecutive rows per sample, which [`aggregate_views`] merges the
//! way mmaction2's `average_clips` does (`"prob"`: mean of softmax, `"score"`:
//! mean of the raw logits).
//!
//! Ties: [`top_k_accuracy`] ranks classes with numpy's (unstable) default
//! argsort exactly like mmaction2's `top_k_accuracy`
//! (`np.argsort(scores, axis=1)[:, -k:]`); predictions for top-1 and for
//! [`mean_class_accuracy`] use `np.argmax` (first maximum).

use serde::Serialize;

use crate::error::{Error, Result, check_finite};
use crate::numpy;

/// A dense `[rows, cols]` matrix of class scores, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreMatrix {
    data: Vec<f64>,
    rows: usize,
    cols: usize,
}

impl ScoreMatrix {
    /// Wraps `data` (`rows * cols` values, row-major). Fails when the length
    /// does not match, when there is no class column, or on NaN/infinity.
    pub fn new(data: Vec<f64>, rows: usize, cols: usize) -> Result<Self> {
        if cols == 0 {
            return Err(Error::Empty { what: "score matrix (no class column)" });
        }
        if rows.checked_mul(cols) != Some(data.len()) {
            return Err(Error::ShapeMismatch {
                what: "score matrix",
                expected: format!("{rows} x {cols} values"),
                found: format!("{} values", data.len()),
            });
        }
        check_finite("score", &data)?;
        Ok(Self { data, rows, cols })
    }

    /// Builds a matrix from equally long rows.
    pub fn from_rows(rows: &[Vec<f64>]) -> Result<Self> {
        let cols = rows.first().map_or(0, Vec::len);
        let mut data = Vec::with_capacity(rows.len() * cols);
        for (i, row) in rows.iter().enumerate() {
            if row.len() != cols {
                return Err(Error::ShapeMismatch {
                    what: "score row",
                    expected: format!("{cols} scores (as row 0)"),
                    found: format!("{} scores in row {i}", row.len()),
                });
            }
            data.extend_from_slice(row);
        }
        Self::new(data, rows.len(), cols)
    }

    /// Number of rows (samples or views).
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of columns (classes).
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Row `i`.
    ///
    /// # Panics
    /// If `i >= self.rows()`, like slice indexing.
    pub fn row(&self, i: usize) -> &[f64] {
        &self.data[i * self.cols..(i + 1) * self.cols]
    }

    /// All values, row-major.
    pub fn as_slice(&self) -> &[f64] {
        &self.data
    }

    /// `np.argmax` of every row (the first maximum wins).
    pub fn argmax_rows(&self) -> Vec<usize> {
        (0..self.rows).map(|i| argmax(self.row(i))).collect()
    }
}

/// Index of the first maximum of `values` (`np.argmax`); 0 when empty.
pub fn argmax(values: &[f64]) -> usize {
    let mut best = 0;
    for (i, &v) in values.iter().enumerate() {
        if v > values[best] {
            best = i;
        }
    }
    best
}

/// Softmax of one row of logits, computed stably in f64.
pub fn softmax(logits: &[f64]) -> Vec<f64> {
    let max = logits.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let exps: Vec<f64> = logits.iter().map(|&x| (x - max).exp()).collect();
    let total: f64 = exps.iter().sum();
    exps.into_iter().map(|e| e / total).collect()
}

/// How the views (clips × crops) of one sample are merged into one score row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ViewAggregation {
    /// Mean of the per-view softmax probabilities (mmaction2 `average_clips="prob"`).
    #[default]
    MeanSoftmax,
    /// Mean of the raw per-view scores (mmaction2 `average_clips="score"`).
    MeanLogits,
}

/// Merges `views` consecutive rows per sample into one row.
///
/// Rows are sample-major: rows `s*views .. (s+1)*views` are the views of
/// sample `s`, as mmaction2 lays out `num_clips × num_crops` test views.
/// With `views == 1` and [`ViewAggregation::MeanLogits`] the scores are
/// returned unchanged; with `MeanSoftmax` every row is softmax-normalised.
pub fn aggregate_views(scores: &ScoreMatrix, views: usize, how: ViewAggregation) -> Result<ScoreMatrix> {
    if views == 0 {
        return Err(Error::InvalidArgument("views must be at least 1".into()));
    }
    if !scores.rows.is_multiple_of(views) {
        return Err(Error::ShapeMismatch {
            what: "score rows",
            expected: format!("a multiple of {views} views"),
            found: format!("{} rows", scores.rows),
        });
    }
    let samples = scores.rows / views;
    let cols = scores.cols;
    let mut out = vec![0.0; samples * cols];
    for s in 0..samples {
        let acc = &mut out[s * cols..(s + 1) * cols];
        for v in 0..views {
            let row = scores.row(s * views + v);
            match how {
                ViewAggregation::MeanLogits => {
                    for (a, x) in acc.iter_mut().zip(row) {
                        *a += x;
                    }
                }
                ViewAggregation::MeanSoftmax => {
                    for (a, p) in acc.iter_mut().zip(softmax(row)) {
                        *a += p;
                    }
                }
            }
        }
        for a in acc.iter_mut() {
            *a /= views as f64;
        }
    }
    ScoreMatrix::new(out, samples, cols)
}

fn check_labels(scores: &ScoreMatrix, labels: &[usize]) -> Result<()> {
    if labels.len() != scores.rows {
        return Err(Error::ShapeMismatch {
            what: "labels",
            expected: format!("one label per score row ({})", scores.rows),
            found: format!("{} labels", labels.len()),
        });
    }
    if labels.is_empty() {
        return Err(Error::Empty { what: "labels" });
    }
    if let Some(sample) = labels.iter().position(|&l| l >= scores.cols) {
        return Err(Error::LabelOutOfRange { sample, label: labels[sample], num_classes: scores.cols });
    }
    Ok(())
}

/// For every sample, whether its label is among the `k` best-scored classes,
/// chosen as mmaction2 does: the last `k` entries of numpy's argsort of the row.
pub fn top_k_hits(scores: &ScoreMatrix, labels: &[usize], k: usize) -> Result<Vec<bool>> {
    if k == 0 {
        return Err(Error::InvalidArgument("k must be at least 1".into()));
    }
    check_labels(scores, labels)?;
    Ok(labels
        .iter()
        .enumerate()
        .map(|(i, &label)| {
            // Even for k = 1 this is argsort's last entry, not argmax: on ties
            // the two differ, and mmaction2 uses argsort.
            let order = numpy::argsort(scores.row(i));
            order[order.len().saturating_sub(k)..].contains(&label)
        })
        .collect())
}

/// Fraction of samples whose label is among the `k` best-scored classes
/// (mmaction2 `top_k_accuracy`).
pub fn top_k_accuracy(scores: &ScoreMatrix, labels: &[usize], k: usize) -> Result<f64> {
    let hits = top_k_hits(scores, labels, k)?;
    Ok(hits.iter().filter(|&&h| h).count() as f64 / hits.len() as f64)
}

/// Mean over classes of per-class recall, exactly as mmaction2's
/// `mean_class_accuracy`: predictions are `np.argmax` of each row, and the
/// mean runs over every class that occurs as a label *or as a prediction*; a
/// class that is only ever predicted contributes 0.
pub fn mean_class_accuracy(scores: &ScoreMatrix, labels: &[usize]) -> Result<f64> {
    check_labels(scores, labels)?;
    let predictions = scores.argmax_rows();
    let mut count = vec![0usize; scores.cols];
    let mut hit = vec![0usize; scores.cols];
    let mut present = vec![false; scores.cols];
    for (&label, &pred) in labels.iter().zip(&predictions) {
        count[label] += 1;
        present[label] = true;
        present[pred] = true;
        if label == pred {
            hit[label] += 1;
        }
    }
    let per_class: Vec<f64> = (0..scores.cols)
        .filter(|&c| present[c])
        .map(|c| if count[c] == 0 { 0.0 } else { hit[c] as f64 / count[c] as f64 })
        .collect();
    Ok(numpy::pairwise_sum(&per_class) / per_class.len() as f64)
}

/// Top-k accuracies and mean class accuracy of one prediction set.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassificationReport {
    /// Number of samples (after view aggregation).
    pub samples: usize,
    /// `(k, accuracy)` in the order the ks were asked for.
    pub top_k: Vec<(usize, f64)>,
    /// mmaction2's mean class accuracy.
    pub mean_class_accuracy: f64,
    /// Number of samples counted correct for each k, same order as `top_k`.
    pub correct: Vec<(usize, usize)>,
}

/// Computes [`top_k_accuracy`] for every `k` of `ks` and [`mean_class_accuracy`].
pub fn evaluate_classification(scores: &ScoreMatrix, labels: &[usize], ks: &[usize]) -> Result<ClassificationReport> {
    if ks.is_empty() {
        return Err(Error::Empty { what: "list of k" });
    }
    let mut top_k = Vec::with_capacity(ks.len());
    let mut correct = Vec::with_capacity(ks.len());
    for &k in ks {
        let hits = top_k_hits(scores, labels, k)?;
        let n = hits.iter().filter(|&&h| h).count();
        correct.push((k, n));
        top_k.push((k, n as f64 / hits.len() as f64));
    }
    Ok(ClassificationReport {
        samples: labels.len(),
        top_k,
        mean_class_accuracy: mean_class_accuracy(scores, labels)?,
        correct,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(rows: &[&[f64]]) -> ScoreMatrix {
        ScoreMatrix::from_rows(&rows.iter().map(|r| r.to_vec()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn top_k_on_hand_made_scores() {
        let s = m(&[
            &[0.1, 0.7, 0.2],   // label 1: top-1 hit
            &[0.5, 0.3, 0.2],   // label 2: rank 3, miss at k = 2
            &[0.2, 0.5, 0.3],   // label 2: rank 2
            &[0.9, 0.05, 0.05], // label 0: hit
        ]);
        let labels = [1, 2, 2, 0];
        assert_eq!(top_k_accuracy(&s, &labels, 1).unwrap(), 0.5);
        assert_eq!(top_k_accuracy(&s, &labels, 2).unwrap(), 0.75);
        assert_eq!(top_k_accuracy(&s, &labels, 3).unwrap(), 1.0);
        assert_eq!(top_k_accuracy(&s, &labels, 5).unwrap(), 1.0);
    }

    #[test]
    fn top_k_ties_follow_numpy_argsort() {
        // Three equal scores: np.argsort([1,1,1]) = [0,1,2], so the "top-1"
        // class is the last one (index 2), as in mmaction2.
        let s = m(&[&[1.0, 1.0, 1.0]]);
        assert_eq!(top_k_accuracy(&s, &[2], 1).unwrap(), 1.0);
        assert_eq!(top_k_accuracy(&s, &[0], 1).unwrap(), 0.0);
    }

    #[test]
    fn mean_class_accuracy_counts_predicted_only_classes_as_zero() {
        // labels 0,0,1 ; predictions 0,2,1 -> classes {0,1,2}:
        // class 0: 1/2, class 1: 1/1, class 2 (never a label): 0 -> 0.5
        let s = m(&[&[1.0, 0.0, 0.0], &[0.0, 0.0, 1.0], &[0.0, 1.0, 0.0]]);
        assert_eq!(mean_class_accuracy(&s, &[0, 0, 1]).unwrap(), 0.5);
    }

    #[test]
    fn aggregation_means_softmax_or_logits() {
        let s = m(&[&[0.0, 2.0], &[2.0, 0.0], &[1.0, 0.0], &[3.0, 0.0]]);
        let logits = aggregate_views(&s, 2, ViewAggregation::MeanLogits).unwrap();
        assert_eq!(logits.as_slice(), &[1.0, 1.0, 2.0, 0.0]);
        let probs = aggregate_views(&s, 2, ViewAggregation::MeanSoftmax).unwrap();
        assert!((probs.row(0)[0] - 0.5).abs() < 1e-15);
        let p1 = (softmax(&[1.0, 0.0])[0] + softmax(&[3.0, 0.0])[0]) / 2.0;
        assert!((probs.row(1)[0] - p1).abs() < 1e-15);
        assert!(aggregate_views(&s, 3, ViewAggregation::MeanLogits).is_err());
    }

    #[test]
    fn bad_input_is_an_error() {
        let s = m(&[&[0.1, 0.9]]);
        assert!(matches!(top_k_accuracy(&s, &[2], 1), Err(Error::LabelOutOfRange { .. })));
        assert!(top_k_accuracy(&s, &[0, 1], 1).is_err());
        assert!(top_k_accuracy(&s, &[0], 0).is_err());
        assert!(ScoreMatrix::new(vec![f64::NAN], 1, 1).is_err());
        assert!(ScoreMatrix::new(vec![1.0, 2.0], 1, 3).is_err());
    }
}
