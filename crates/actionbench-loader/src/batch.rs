//! Collated batches: contiguous host buffers, turned into Burn tensors on demand.

use std::collections::BTreeMap;

use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor, TensorData};

use crate::error::LoaderError;

/// Host-side, contiguous, row-major f32 buffer.
#[derive(Debug, Clone, PartialEq)]
pub struct HostTensor {
    /// Sizes, outermost first.
    pub shape: Vec<usize>,
    /// `shape.iter().product()` values, row-major.
    pub data: Vec<f32>,
}

impl HostTensor {
    /// A tensor of zeros.
    pub fn zeros(shape: Vec<usize>) -> Self {
        let n = shape.iter().product();
        Self { shape, data: vec![0.0; n] }
    }

    /// Wraps values; errors when they do not fill `shape`.
    pub fn new(shape: Vec<usize>, data: Vec<f32>) -> Result<Self, LoaderError> {
        let want: usize = shape.iter().product();
        if want != data.len() {
            return Err(LoaderError::Collate(format!("shape {shape:?} needs {want} values, got {}", data.len())));
        }
        Ok(Self { shape, data })
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// Whether it holds no value.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// A Burn float tensor of rank `D` on `device`.
    pub fn to_burn<B: Backend, const D: usize>(
        &self,
        name: &str,
        device: &B::Device,
    ) -> Result<Tensor<B, D>, LoaderError> {
        if self.shape.len() != D {
            return Err(LoaderError::Rank { name: name.into(), shape: self.shape.clone(), want: D });
        }
        Ok(Tensor::from_data(TensorData::new(self.data.clone(), self.shape.clone()), device))
    }
}

/// One collated batch.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HostBatch {
    /// Sample ids, in batch order.
    pub sample_ids: Vec<String>,
    /// Named tensors with the batch as first dimension, e.g. `joints` `[N, 3, T, 25, M]`,
    /// `pose` `[N, T, P, 229]`, `valid` `[N, T, P]`.
    pub tensors: BTreeMap<String, HostTensor>,
    /// Single-label class per sample (-1 = none).
    pub labels: Vec<i64>,
    /// Multi-hot labels `[N, K]` (or `[N, T, K]`).
    pub multi_labels: Option<HostTensor>,
    /// Task -> per-sample label availability.
    pub label_masks: BTreeMap<String, Vec<bool>>,
}

impl HostBatch {
    /// Number of samples.
    pub fn len(&self) -> usize {
        self.sample_ids.len()
    }

    /// Whether the batch is empty.
    pub fn is_empty(&self) -> bool {
        self.sample_ids.is_empty()
    }

    /// The named tensor as a Burn float tensor of rank `D` on `device`.
    pub fn tensor<B: Backend, const D: usize>(
        &self,
        name: &str,
        device: &B::Device,
    ) -> Result<Tensor<B, D>, LoaderError> {
        let t = self.tensors.get(name).ok_or_else(|| LoaderError::NoTensor {
            name: name.into(),
            available: self.tensors.keys().cloned().collect::<Vec<_>>().join(", "),
        })?;
        t.to_burn::<B, D>(name, device)
    }

    /// The single labels as an int tensor `[N]`.
    pub fn labels_tensor<B: Backend>(&self, device: &B::Device) -> Tensor<B, 1, Int> {
        Tensor::from_data(TensorData::new(self.labels.clone(), [self.labels.len()]), device)
    }

    /// The multi-hot labels as a float tensor of rank `D`, if the batch has them.
    pub fn multi_labels_tensor<B: Backend, const D: usize>(
        &self,
        device: &B::Device,
    ) -> Result<Option<Tensor<B, D>>, LoaderError> {
        self.multi_labels.as_ref().map(|t| t.to_burn::<B, D>("multi_labels", device)).transpose()
    }

    /// A task's availability mask as a float tensor `[N]` (1 = labelled), for
    /// masking per-sample losses; all ones when the batch has no mask for it.
    pub fn mask_tensor<B: Backend>(&self, task: &str, device: &B::Device) -> Tensor<B, 1> {
        let values: Vec<f32> = match self.label_masks.get(task) {
            Some(m) => m.iter().map(|&b| if b { 1.0 } else { 0.0 }).collect(),
            None => vec![1.0; self.len()],
        };
        let n = values.len();
        Tensor::from_data(TensorData::new(values, [n]), device)
    }
}
