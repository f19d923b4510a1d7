//! Learning-rate schedule: linear warm-up, then cosine decay.
//!
//! A pure function of the step (rather than Burn's stateful schedulers) so
//! that a resumed run needs nothing but the step number to continue on the
//! same curve.

use serde::{Deserialize, Serialize};

/// Linear warm-up from `base_lr / warmup_steps` to `base_lr` over
/// `warmup_steps`, then cosine decay to `min_lr` at `total_steps`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CosineSchedule {
    /// Peak learning rate.
    pub base_lr: f64,
    /// Final learning rate.
    pub min_lr: f64,
    /// Steps of linear warm-up.
    pub warmup_steps: u64,
    /// Total optimiser steps of the run.
    pub total_steps: u64,
}

impl CosineSchedule {
    /// The learning rate of step `step` (0-based).
    pub fn lr(&self, step: u64) -> f64 {
        if step < self.warmup_steps {
            return self.base_lr * (step + 1) as f64 / self.warmup_steps as f64;
        }
        let decay_steps = self.total_steps.saturating_sub(self.warmup_steps).max(1);
        let progress = ((step - self.warmup_steps) as f64 / decay_steps as f64).min(1.0);
        self.min_lr + 0.5 * (self.base_lr - self.min_lr) * (1.0 + (std::f64::consts::PI * progress).cos())
    }
}
