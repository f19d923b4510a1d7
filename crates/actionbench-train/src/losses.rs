//! Per-sample losses with label-availability masks.
//!
//! Hand-written on top of `log_softmax` / `log_sigmoid` because Burn's loss
//! modules reduce over the batch before a mask could be applied.

use burn::tensor::activation::{log_sigmoid, log_softmax};
use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor};

/// Cross-entropy of every sample: `logits` `[N, K]`, `targets` `[N]`
/// (any value outside `0..K`, e.g. -1, gives 0 and must be masked out).
pub fn cross_entropy_per_sample<B: Backend>(logits: Tensor<B, 2>, targets: Tensor<B, 1, Int>) -> Tensor<B, 1> {
    let [n, k] = logits.dims();
    let valid = targets.clone().greater_equal_elem(0).bool_and(targets.clone().lower_elem(k as i64));
    let safe = targets.mask_fill(valid.bool_not(), 0);
    let logp = log_softmax(logits, 1);
    logp.gather(1, safe.reshape([n, 1])).reshape([n]).neg()
}

/// Binary cross-entropy with logits, summed over the last dimension:
/// `logits`, `targets` `[N, K]` → `[N]`.
pub fn bce_with_logits_per_sample<B: Backend>(logits: Tensor<B, 2>, targets: Tensor<B, 2>) -> Tensor<B, 1> {
    let [n, _] = logits.dims();
    // -(y log σ(x) + (1 - y) log σ(-x))
    let pos = log_sigmoid(logits.clone()) * targets.clone();
    let neg = log_sigmoid(logits.neg()) * targets.neg().add_scalar(1.0);
    (pos + neg).sum_dim(1).reshape([n]).neg()
}

/// Mean of `per_sample` over the samples whose `mask` is 1, or `None` when
/// no sample of the batch has the label (the task then adds nothing).
pub fn masked_mean<B: Backend>(per_sample: Tensor<B, 1>, mask: &[bool]) -> Option<Tensor<B, 1>> {
    let count = mask.iter().filter(|&&m| m).count();
    if count == 0 {
        return None;
    }
    let device = per_sample.device();
    let values: Vec<f32> = mask.iter().map(|&m| if m { 1.0 } else { 0.0 }).collect();
    let m: Tensor<B, 1> = Tensor::from_data(burn::tensor::TensorData::new(values, [mask.len()]), &device);
    Some((per_sample * m).sum().div_scalar(count as f32))
}
