//! Combining the losses of several tasks (Kontos et al., "Multi-task
//! learning for joint action and gesture recognition", §3): fixed weights,
//! the plain average, dynamic weight average (DWA, Liu et al. 2019),
//! homoscedastic uncertainty (Kendall et al. 2018) and its positive
//! "automatic" variant (Liebel & Körner 2018).
//!
//! Task losses come in as `Option`s: a task with no labelled sample in the
//! batch (per-sample label masks) is `None` and contributes nothing.

use burn::module::{Module, Param};
use burn::tensor::Tensor;
use burn::tensor::backend::Backend;
use serde::{Deserialize, Serialize};

/// How task losses are weighted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "kebab-case", rename_all_fields = "kebab-case", deny_unknown_fields)]
pub enum Weighting {
    /// `Σ λ_i L_i` with fixed λ.
    Fixed {
        /// One weight per task.
        weights: Vec<f64>,
    },
    /// `(1/n) Σ L_i` over the tasks present in the batch.
    Average,
    /// `Σ λ_i(t) L_i`, `λ_i(t) = K exp(w_i/T) / Σ_k exp(w_k/T)` with
    /// `w_i = L̄_i(t-1) / L̄_i(t-2)`, `L̄` the mean loss of a window of steps;
    /// λ = 1 for the first two windows.
    Dwa {
        /// Softness `T` (the paper: 2).
        #[serde(default = "default_temperature")]
        temperature: f64,
        /// Steps per averaging window; absent: one epoch (the paper's).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        window: Option<u64>,
    },
    /// `Σ L_i / (2σ_i²) + log σ_i`, learned `s_i = log σ_i²` (init 0).
    Uncertainty,
    /// `Σ L_i / (2σ_i²) + log(1 + σ_i²)`, learned `σ_i` (init 1).
    Automatic,
}

fn default_temperature() -> f64 {
    2.0
}

impl Weighting {
    /// Checks the values against the number of tasks.
    pub fn validate(&self, tasks: usize) -> Result<(), String> {
        match self {
            Weighting::Fixed { weights } if weights.len() != tasks => {
                Err(format!("`weights` has {} values for {tasks} tasks; give one per task", weights.len()))
            }
            Weighting::Fixed { weights } if weights.iter().any(|w| !w.is_finite() || *w < 0.0) => {
                Err("`weights` must be finite and non-negative".into())
            }
            Weighting::Dwa { temperature, window } if *temperature <= 0.0 || *window == Some(0) => {
                Err("DWA needs `temperature` > 0 and `window` >= 1".into())
            }
            _ => Ok(()),
        }
    }
}

/// The learnable part of the combiner (σ for uncertainty/automatic); part
/// of the trained module so the optimiser updates it and checkpoints keep it.
#[derive(Module, Debug)]
pub struct LossCombiner<B: Backend> {
    sigma: Option<Param<Tensor<B, 1>>>,
    #[module(skip)]
    weighting: Weighting,
    tasks: usize,
}

impl<B: Backend> LossCombiner<B> {
    /// A combiner for `tasks` tasks.
    pub fn new(weighting: Weighting, tasks: usize, device: &B::Device) -> Self {
        let sigma = match weighting {
            Weighting::Uncertainty => Some(Param::from_tensor(Tensor::zeros([tasks], device))),
            Weighting::Automatic => Some(Param::from_tensor(Tensor::ones([tasks], device))),
            _ => None,
        };
        Self { sigma, weighting, tasks }
    }

    /// The weighting.
    pub fn weighting(&self) -> &Weighting {
        &self.weighting
    }

    /// The learned σ_i (uncertainty: from `s_i = log σ_i²`), if any.
    pub fn sigmas(&self) -> Option<Vec<f32>> {
        let p = self.sigma.as_ref()?.val().into_data().to_vec::<f32>().ok()?;
        Some(match self.weighting {
            Weighting::Uncertainty => p.iter().map(|s| (0.5 * s).exp()).collect(),
            _ => p,
        })
    }

    /// The weight each present task's loss gets this step (`None` for an
    /// absent task): λ_i for fixed weights, 1/n for the average, the DWA
    /// weight, and 1/(2σ_i²) for uncertainty and automatic (whose
    /// regularisation term is not a weight). Logged as `weight_<task>`.
    pub fn weights(&self, present: &[bool], dwa: &[f64]) -> Vec<Option<f64>> {
        let n = present.iter().filter(|&&p| p).count();
        let sigmas = self.sigmas();
        present
            .iter()
            .enumerate()
            .map(|(i, &p)| {
                p.then(|| match &self.weighting {
                    Weighting::Fixed { weights } => weights[i],
                    Weighting::Average => 1.0 / n as f64,
                    Weighting::Dwa { .. } => dwa.get(i).copied().unwrap_or(1.0),
                    Weighting::Uncertainty | Weighting::Automatic => {
                        let s = sigmas.as_ref().map_or(1.0, |s| f64::from(s[i]));
                        1.0 / (2.0 * s * s)
                    }
                })
            })
            .collect()
    }

    /// The total loss. `dwa` holds the current DWA weights (ignored by the
    /// other weightings; see [`DwaTracker::weights`]).
    pub fn combine(&self, losses: &[Option<Tensor<B, 1>>], dwa: &[f64]) -> Option<Tensor<B, 1>> {
        assert_eq!(losses.len(), self.tasks, "one loss slot per task");
        let present: Vec<(usize, Tensor<B, 1>)> =
            losses.iter().enumerate().filter_map(|(i, l)| l.clone().map(|l| (i, l))).collect();
        let n = present.len();
        let mut terms = present.into_iter().map(|(i, l)| match &self.weighting {
            Weighting::Fixed { weights } => l.mul_scalar(weights[i] as f32),
            Weighting::Average => l.div_scalar(n as f32),
            Weighting::Dwa { .. } => l.mul_scalar(dwa.get(i).copied().unwrap_or(1.0) as f32),
            Weighting::Uncertainty => {
                let s = self.sigma.as_ref().expect("uncertainty has σ").val().narrow(0, i, 1);
                l * s.clone().neg().exp().mul_scalar(0.5) + s.mul_scalar(0.5)
            }
            Weighting::Automatic => {
                let sigma = self.sigma.as_ref().expect("automatic has σ").val().narrow(0, i, 1);
                let var = sigma.powi_scalar(2);
                l / var.clone().mul_scalar(2.0) + var.add_scalar(1.0).log()
            }
        });
        let first = terms.next()?;
        Some(terms.fold(first, |a, b| a + b))
    }
}

/// DWA's host-side state: per-task loss sums over the current window and
/// the means of the two windows before. Serialisable for checkpoints.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct DwaTracker {
    // Exact in `state.json`, so a resumed run weighs its losses as an
    // uninterrupted one does (crate::exact).
    #[serde(with = "crate::exact::vec")]
    #[schemars(with = "Vec<String>")]
    sums: Vec<f64>,
    counts: Vec<u64>,
    /// Mean losses of the last finished windows, most recent last (≤ 2).
    #[serde(with = "crate::exact::vec_vec")]
    #[schemars(with = "Vec<Vec<String>>")]
    history: Vec<Vec<f64>>,
    steps_in_window: u64,
}

impl DwaTracker {
    /// A tracker for `tasks` tasks.
    pub fn new(tasks: usize) -> Self {
        Self { sums: vec![0.0; tasks], counts: vec![0; tasks], history: Vec::new(), steps_in_window: 0 }
    }

    /// Records one step's task losses (`None` = task absent from the batch)
    /// and closes the window after `window` steps.
    pub fn record(&mut self, losses: &[Option<f64>], window: u64) {
        for (i, l) in losses.iter().enumerate() {
            if let Some(l) = l {
                self.sums[i] += l;
                self.counts[i] += 1;
            }
        }
        self.steps_in_window += 1;
        if self.steps_in_window >= window {
            let means: Vec<f64> = self
                .sums
                .iter()
                .zip(&self.counts)
                .enumerate()
                .map(|(i, (s, &c))| {
                    // A task unseen in the window keeps its previous mean.
                    if c > 0 { s / c as f64 } else { self.history.last().map_or(f64::NAN, |h| h[i]) }
                })
                .collect();
            self.history.push(means);
            if self.history.len() > 2 {
                self.history.remove(0);
            }
            self.sums.iter_mut().for_each(|s| *s = 0.0);
            self.counts.iter_mut().for_each(|c| *c = 0);
            self.steps_in_window = 0;
        }
    }

    /// λ_i for the next steps: all 1 until two windows are complete.
    pub fn weights(&self, temperature: f64) -> Vec<f64> {
        let k = self.sums.len();
        let [prev2, prev1] = match self.history.as_slice() {
            [a, b] => [a, b],
            _ => return vec![1.0; k],
        };
        let w: Vec<f64> = prev1
            .iter()
            .zip(prev2)
            .map(|(l1, l2)| if l1.is_finite() && l2.is_finite() && *l2 > 0.0 { l1 / l2 } else { 1.0 })
            .collect();
        let max = w.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let e: Vec<f64> = w.iter().map(|wi| ((wi - max) / temperature).exp()).collect();
        let z: f64 = e.iter().sum();
        e.iter().map(|x| k as f64 * x / z).collect()
    }
}
