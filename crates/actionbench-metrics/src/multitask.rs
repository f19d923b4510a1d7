//! Accuracy across several tasks evaluated by one model.
//!
//! The multi-task action + gesture paper (Table 2) reports a *cumulative
//! accuracy*: "the percentage of all correct predictions to the number of
//! total predictions across all tasks". That pools samples, so a task with
//! more test samples weighs more; it is not the mean of the per-task
//! accuracies (which this module reports alongside).

use serde::Serialize;

use crate::error::{Error, Result};

/// Correct and total predictions of one task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TaskOutcome {
    /// Task name, for reports (for example `actions` or `gestures`).
    pub name: String,
    /// Number of correct predictions.
    pub correct: u64,
    /// Number of predictions.
    pub total: u64,
}

impl TaskOutcome {
    /// Counts correct predictions by comparing predicted and true labels.
    pub fn from_predictions(name: impl Into<String>, predictions: &[usize], labels: &[usize]) -> Result<Self> {
        if predictions.len() != labels.len() {
            return Err(Error::ShapeMismatch {
                what: "task predictions",
                expected: format!("{} predictions (one per label)", labels.len()),
                found: format!("{}", predictions.len()),
            });
        }
        let correct = predictions.iter().zip(labels).filter(|(p, l)| p == l).count();
        Ok(Self { name: name.into(), correct: correct as u64, total: labels.len() as u64 })
    }

    /// `correct / total`, or `None` for a task without samples.
    pub fn accuracy(&self) -> Option<f64> {
        (self.total > 0).then(|| self.correct as f64 / self.total as f64)
    }
}

/// Per-task accuracies and the pooled (cumulative) accuracy.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CumulativeReport {
    /// `(task name, accuracy)` per task with at least one sample.
    pub per_task: Vec<(String, f64)>,
    /// Correct predictions over all tasks divided by predictions over all tasks.
    pub cumulative: f64,
    /// Unweighted mean of the per-task accuracies, for comparison.
    pub mean_of_tasks: f64,
}

/// Pools the outcomes of several tasks (multi-task paper, Table 2).
pub fn cumulative_accuracy(tasks: &[TaskOutcome]) -> Result<CumulativeReport> {
    for t in tasks {
        if t.correct > t.total {
            return Err(Error::InvalidArgument(format!(
                "task `{}` has {} correct of {} predictions",
                t.name, t.correct, t.total
            )));
        }
    }
    let correct: u64 = tasks.iter().map(|t| t.correct).sum();
    let total: u64 = tasks.iter().map(|t| t.total).sum();
    if total == 0 {
        return Err(Error::Empty { what: "set of task predictions" });
    }
    let per_task: Vec<(String, f64)> = tasks.iter().filter_map(|t| t.accuracy().map(|a| (t.name.clone(), a))).collect();
    let mean_of_tasks = per_task.iter().map(|(_, a)| a).sum::<f64>() / per_task.len() as f64;
    Ok(CumulativeReport { per_task, cumulative: correct as f64 / total as f64, mean_of_tasks })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cumulative_pools_samples_rather_than_averaging_tasks() {
        let actions = TaskOutcome { name: "actions".into(), correct: 80, total: 100 };
        let gestures = TaskOutcome { name: "gestures".into(), correct: 10, total: 50 };
        let r = cumulative_accuracy(&[actions, gestures]).unwrap();
        assert_eq!(r.cumulative, 90.0 / 150.0);
        assert_eq!(r.mean_of_tasks, 0.5);
        assert_eq!(r.per_task, vec![("actions".to_string(), 0.8), ("gestures".to_string(), 0.2)]);
    }

    #[test]
    fn from_predictions_counts_matches() {
        let t = TaskOutcome::from_predictions("a", &[1, 2, 3], &[1, 0, 3]).unwrap();
        assert_eq!((t.correct, t.total), (2, 3));
        assert!(TaskOutcome::from_predictions("a", &[1], &[1, 2]).is_err());
        assert!(cumulative_accuracy(&[]).is_err());
    }
}
