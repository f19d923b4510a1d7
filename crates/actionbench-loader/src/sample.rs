//! Decoded samples, the sources that make them, and collation.

use std::collections::{BTreeMap, BTreeSet};

use crate::batch::{HostBatch, HostTensor};
use crate::error::LoaderError;
use crate::order::SampleRng;

/// One decoded, augmented sample: tensors without the batch dimension.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Sample {
    /// Sample id (from the table's id column).
    pub id: String,
    /// Named tensors, e.g. `joints` `[3, T, 25, M]`.
    pub tensors: BTreeMap<String, HostTensor>,
    /// Single-label class (-1 = none).
    pub label: i64,
    /// Multi-hot labels `[K]` or `[T, K]`.
    pub multi_label: Option<HostTensor>,
    /// Task -> whether this sample has that label.
    pub label_masks: BTreeMap<String, bool>,
}

/// Something that decodes sample `index` (in `0..len()`), drawing all its
/// randomness from `rng`. Implementations must be pure functions of
/// `(index, rng)` so batches do not depend on thread count.
pub trait SampleSource: Send + Sync {
    /// Number of samples.
    fn len(&self) -> usize;

    /// Whether there is no sample.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Decodes and augments one sample.
    fn sample(&self, index: usize, rng: &mut SampleRng) -> Result<Sample, LoaderError>;
}

/// Stacks samples into one batch. Tensors must agree in name and shape;
/// multi-labels missing from some samples are zeros there, and a task mask
/// missing from a sample is `false` (mixtures of sources with different
/// label sets).
pub fn collate(samples: Vec<Sample>) -> Result<HostBatch, LoaderError> {
    let n = samples.len();
    let Some(first) = samples.first() else { return Ok(HostBatch::default()) };
    let mut tensors = BTreeMap::new();
    for (name, t0) in &first.tensors {
        let mut data = Vec::with_capacity(t0.len() * n);
        for s in &samples {
            let t = s.tensors.get(name).ok_or_else(|| {
                LoaderError::Collate(format!("sample `{}` has no tensor `{name}` but `{}` has", s.id, first.id))
            })?;
            if t.shape != t0.shape {
                return Err(LoaderError::Collate(format!(
                    "tensor `{name}` has shape {:?} in sample `{}` but {:?} in `{}`",
                    t.shape, s.id, t0.shape, first.id
                )));
            }
            data.extend_from_slice(&t.data);
        }
        let mut shape = vec![n];
        shape.extend_from_slice(&t0.shape);
        tensors.insert(name.clone(), HostTensor { shape, data });
    }
    if let Some(s) = samples.iter().find(|s| s.tensors.len() != first.tensors.len()) {
        return Err(LoaderError::Collate(format!(
            "sample `{}` has tensors {:?} but `{}` has {:?}",
            s.id,
            s.tensors.keys().collect::<Vec<_>>(),
            first.id,
            first.tensors.keys().collect::<Vec<_>>()
        )));
    }
    let multi_labels = match samples.iter().find_map(|s| s.multi_label.as_ref()) {
        None => None,
        Some(t0) => {
            let mut data = Vec::with_capacity(t0.len() * n);
            for s in &samples {
                match &s.multi_label {
                    Some(t) if t.shape == t0.shape => data.extend_from_slice(&t.data),
                    Some(t) => {
                        return Err(LoaderError::Collate(format!(
                            "multi-labels have shape {:?} in sample `{}` but {:?} elsewhere",
                            t.shape, s.id, t0.shape
                        )));
                    }
                    None => data.extend(std::iter::repeat_n(0.0, t0.len())),
                }
            }
            let mut shape = vec![n];
            shape.extend_from_slice(&t0.shape);
            Some(HostTensor { shape, data })
        }
    };
    let tasks: BTreeSet<&String> = samples.iter().flat_map(|s| s.label_masks.keys()).collect();
    let label_masks = tasks
        .into_iter()
        .map(|t| (t.clone(), samples.iter().map(|s| s.label_masks.get(t).copied().unwrap_or(false)).collect()))
        .collect();
    Ok(HostBatch {
        sample_ids: samples.iter().map(|s| s.id.clone()).collect(),
        labels: samples.iter().map(|s| s.label).collect(),
        tensors,
        multi_labels,
        label_masks,
    })
}
