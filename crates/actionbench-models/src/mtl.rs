//! Multi-task ResNet-3D (`model.kind = "mtl-r3d"`): one classifier per task
//! (action, gesture, …) on R3D backbones shared three ways, after the
//! multi-task action + gesture paper (§3):
//!
//! - **hard**: one backbone, one linear head per task;
//! - **soft**: one backbone column per task, joined after every trained
//!   stage (and, with `stitch-after-pool`, after pooling) by cross-stitch
//!   units (Misra et al. 2016) that mix the columns' activations with a
//!   learned K×K matrix, initialised to 1 − s on the diagonal and s/(K−1)
//!   off it;
//! - **learned** (LWS, Prellberg & Kramer 2018): K candidate weight sets per
//!   layer (copies of one backbone), a categorical distribution per (layer,
//!   task) over which set the task uses, sampled every step; the weights
//!   train by gradient descent on sampled assignments and the distribution
//!   by natural-evolution-strategy steps on ranked losses ([`nes_update`]);
//!   at test time each task takes its most probable set per layer.
//!
//! The frozen leading stages (`frozen-stages`) are one shared trunk: with
//! a common checkpoint they are the same in every column. Here a *layer* of
//! LWS is a residual block (or the stem) of the trained stages.

use burn::module::{Module, Param};
use burn::nn::{Linear, LinearConfig};
use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::import::copy_weights;
use crate::r3d::{R3dBackbone, R3dConfig, STAGES, default_crop, default_depth, default_frames, default_widths, pool};

/// How the tasks share weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Sharing {
    /// One backbone, one head per task.
    Hard,
    /// One column per task joined by cross-stitch units.
    Soft,
    /// Learned weight sharing: sampled per-layer assignments of weight sets.
    Learned,
}

/// One task: its name (the loader's label-mask name) and classes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct MtlTaskSpec {
    /// Name, e.g. `action` or `gesture`.
    pub name: String,
    /// Number of classes of the task.
    pub num_classes: usize,
}

fn default_samples() -> usize {
    8
}
fn default_nes_lr() -> f64 {
    0.1
}
fn default_weight_samples() -> usize {
    1
}

/// LWS's search over assignments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct NesConfig {
    /// Assignments sampled per NES step (the paper: 8).
    #[serde(default = "default_samples")]
    pub samples: usize,
    /// Learning rate η_π of the distribution's logits.
    #[serde(default = "default_nes_lr")]
    pub lr: f64,
    /// Assignments whose gradients are averaged per weight step (λ_θ).
    #[serde(default = "default_weight_samples")]
    pub weight_samples: usize,
}

impl Default for NesConfig {
    fn default() -> Self {
        Self { samples: default_samples(), lr: default_nes_lr(), weight_samples: default_weight_samples() }
    }
}

fn default_s() -> f64 {
    0.2
}
fn default_true() -> bool {
    true
}

/// Multi-task R3D hyper-parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct MtlR3dConfig {
    /// The tasks, in loss-slot order.
    pub tasks: Vec<MtlTaskSpec>,
    /// `hard`, `soft` or `learned`.
    pub sharing: Sharing,
    /// Backbone depth: 18 or 34.
    #[serde(default = "default_depth")]
    pub depth: usize,
    /// Channels of the four residual layers.
    #[serde(default = "default_widths")]
    pub widths: [usize; 4],
    /// Input frames T.
    #[serde(default = "default_frames")]
    pub num_frames: usize,
    /// Input side S.
    #[serde(default = "default_crop")]
    pub crop_size: usize,
    /// Leading stages (stem, layer1…layer4) kept fixed and shared.
    #[serde(default)]
    pub frozen_stages: usize,
    /// A torchvision R3D checkpoint every column starts from (in `inputs`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init: Option<String>,
    /// Soft sharing: the cross-weight s of the cross-stitch units at
    /// initialisation (the paper: 0.2 or 0.8).
    #[serde(default = "default_s")]
    pub cross_stitch: f64,
    /// Soft sharing: a cross-stitch unit on the pooled features too (the
    /// paper found it better).
    #[serde(default = "default_true")]
    pub stitch_after_pool: bool,
    /// Learned sharing: the NES search.
    #[serde(default)]
    pub nes: NesConfig,
}

impl MtlR3dConfig {
    /// The backbone's config (its class count is unused).
    pub fn backbone(&self) -> R3dConfig {
        R3dConfig {
            num_classes: 1,
            depth: self.depth,
            widths: self.widths,
            num_frames: self.num_frames,
            crop_size: self.crop_size,
            frozen_stages: self.frozen_stages,
            init: self.init.clone(),
        }
    }

    /// Checks the values, saying which one is wrong.
    pub fn validate(&self) -> Result<(), String> {
        self.backbone().validate()?;
        if self.tasks.len() < 2 {
            return Err(format!(
                "`tasks` lists {} task(s); multi-task sharing needs at least 2 (train one task with `kind = \"r3d\"`)",
                self.tasks.len()
            ));
        }
        for (i, t) in self.tasks.iter().enumerate() {
            if t.num_classes == 0 {
                return Err(format!("task `{}` has `num-classes = 0`", t.name));
            }
            if self.tasks[..i].iter().any(|o| o.name == t.name) {
                return Err(format!("task `{}` is listed twice in `tasks`", t.name));
            }
        }
        if !(0.0..=1.0).contains(&self.cross_stitch) {
            return Err(format!("`cross-stitch` must be in [0, 1], got {}", self.cross_stitch));
        }
        if self.nes.samples < 2 || self.nes.weight_samples == 0 || !(self.nes.lr > 0.0 && self.nes.lr.is_finite()) {
            return Err(
                "`nes.samples` must be at least 2, `nes.weight-samples` at least 1 and `nes.lr` positive".into()
            );
        }
        Ok(())
    }

    /// The LWS layers: `(stage, block)` of every trained stage, the stem as
    /// `(0, None)`.
    pub fn layers(&self) -> Vec<(usize, Option<usize>)> {
        let blocks = self.backbone().blocks();
        (self.frozen_stages..STAGES)
            .flat_map(|s| match s {
                0 => vec![(0, None)],
                _ => (0..blocks[s - 1]).map(|b| (s, Some(b))).collect(),
            })
            .collect()
    }

    /// A freshly initialised model; every column a copy of the first.
    pub fn init<B: Backend>(&self, device: &B::Device) -> MtlR3d<B> {
        let k = self.tasks.len();
        let backbone = self.backbone();
        let first = backbone.init_backbone::<B>(device);
        let columns = match self.sharing {
            Sharing::Hard => 1,
            Sharing::Soft | Sharing::Learned => k,
        };
        let mut all = vec![first];
        for _ in 1..columns {
            all.push(copy_weights(&all[0], backbone.init_backbone(device)));
        }
        let units = match self.sharing {
            Sharing::Soft => STAGES - self.frozen_stages + usize::from(self.stitch_after_pool),
            _ => 0,
        };
        let stitches = (0..units).map(|_| CrossStitch::new(k, self.cross_stitch, device)).collect();
        let heads = self.tasks.iter().map(|t| LinearConfig::new(self.widths[3], t.num_classes).init(device)).collect();
        let assignment = (self.sharing == Sharing::Learned).then(|| {
            let l = self.layers().len();
            Param::from_tensor(Tensor::zeros([l, k, k], device)).set_require_grad(false)
        });
        MtlR3d {
            columns: all,
            stitches,
            heads,
            assignment,
            sharing: self.sharing,
            layers: self.layers(),
            stitch_after_pool: self.stitch_after_pool,
        }
    }
}

/// A cross-stitch unit for K columns: `x̃_i = Σ_j h_ij x_j`.
#[derive(Module, Debug)]
pub struct CrossStitch<B: Backend> {
    /// `[K, K]`, row i mixes into column i.
    pub weights: Param<Tensor<B, 2>>,
}

impl<B: Backend> CrossStitch<B> {
    /// `1 − s` on the diagonal, `s / (K − 1)` elsewhere.
    pub fn new(k: usize, s: f64, device: &B::Device) -> Self {
        let cross = if k > 1 { s / (k - 1) as f64 } else { 0.0 };
        let values: Vec<f32> =
            (0..k * k).map(|i| if i / k == i % k { (1.0 - s) as f32 } else { cross as f32 }).collect();
        Self { weights: Param::from_tensor(Tensor::from_data(TensorData::new(values, [k, k]), device)) }
    }

    /// Mixes the columns' activations (all the same shape).
    pub fn forward<const D: usize>(&self, xs: Vec<Tensor<B, D>>) -> Vec<Tensor<B, D>> {
        let k = xs.len();
        let w = self.weights.val();
        (0..k)
            .map(|i| {
                let terms = xs.iter().enumerate().map(|(j, x)| {
                    let h = w.clone().slice([i..i + 1, j..j + 1]).reshape([1; D]);
                    x.clone() * h
                });
                terms.reduce(|a, b| a + b).expect("at least one column")
            })
            .collect()
    }
}

/// The multi-task network.
#[derive(Module, Debug)]
pub struct MtlR3d<B: Backend> {
    /// One backbone (hard), one column per task (soft) or the K candidate
    /// weight sets (learned); the first holds the shared frozen trunk.
    pub columns: Vec<R3dBackbone<B>>,
    /// Soft sharing's cross-stitch units, one per trained stage (then one
    /// after pooling).
    pub stitches: Vec<CrossStitch<B>>,
    /// One classifier per task.
    pub heads: Vec<Linear<B>>,
    /// Learned sharing: the assignment logits `[layers, tasks, sets]`,
    /// updated by NES steps, not by the optimiser.
    pub assignment: Option<Param<Tensor<B, 3>>>,
    #[module(skip)]
    sharing: Sharing,
    #[module(skip)]
    layers: Vec<(usize, Option<usize>)>,
    #[module(skip)]
    stitch_after_pool: bool,
}

impl<B: Backend> MtlR3d<B> {
    /// The sharing scheme.
    pub fn sharing(&self) -> Sharing {
        self.sharing
    }

    /// The frozen stages in this backend's mode (training code runs them
    /// outside autodiff with [`R3dBackbone::frozen_part`] instead).
    pub fn trunk(&self, clip: Tensor<B, 5>) -> Tensor<B, 5> {
        self.columns[0].stages(0, self.columns[0].frozen_stages(), clip)
    }

    /// Hard and soft sharing: every task's logits `[N, K_t]` for trunk
    /// output `x` (learned sharing: each task on its most probable sets).
    pub fn forward_all(&self, x: Tensor<B, 5>) -> Vec<Tensor<B, 2>> {
        let from = self.columns[0].frozen_stages();
        match self.sharing {
            Sharing::Hard => {
                let f = pool(self.columns[0].stages(from, STAGES, x));
                self.heads.iter().map(|h| h.forward(f.clone())).collect()
            }
            Sharing::Soft => {
                let mut xs = vec![x; self.columns.len()];
                for (u, stage) in (from..STAGES).enumerate() {
                    let out = xs.into_iter().zip(&self.columns).map(|(x, c)| c.stage(stage, x)).collect();
                    xs = self.stitches[u].forward(out);
                }
                let mut pooled: Vec<Tensor<B, 2>> = xs.into_iter().map(pool).collect();
                if self.stitch_after_pool {
                    pooled = self.stitches[STAGES - from].forward(pooled);
                }
                self.heads.iter().zip(pooled).map(|(h, f)| h.forward(f)).collect()
            }
            Sharing::Learned => {
                let best = self.most_probable();
                (0..self.heads.len()).map(|t| self.forward_task(t, x.clone(), &best[t])).collect()
            }
        }
    }

    /// Learned sharing: task `t`'s logits for trunk output `x` when layer
    /// `l` uses weight set `path[l]`.
    pub fn forward_task(&self, t: usize, x: Tensor<B, 5>, path: &[usize]) -> Tensor<B, 2> {
        let x = self.layers.iter().zip(path).fold(x, |x, (&(stage, block), &set)| match block {
            None => self.columns[set].stage(stage, x),
            Some(b) => self.columns[set].layers[stage - 1][b].forward(x),
        });
        self.heads[t].forward(pool(x))
    }

    /// Logits of task `t` for clips `[N, 3, T, S, S]` (inference).
    pub fn logits(&self, clip: Tensor<B, 5>, t: usize) -> Tensor<B, 2> {
        let x = self.trunk(clip);
        match self.sharing {
            Sharing::Learned => self.forward_task(t, x, &self.most_probable()[t]),
            _ => self.forward_all(x).swap_remove(t),
        }
    }

    /// Learned sharing: the assignment logits as `[layer][task][set]`.
    pub fn assignment_logits(&self) -> Vec<Vec<Vec<f64>>> {
        let Some(a) = &self.assignment else { return Vec::new() };
        let [l, k, s] = a.dims();
        let v = a.val().into_data().convert::<f32>().to_vec::<f32>().unwrap_or_default();
        (0..l).map(|i| (0..k).map(|t| (0..s).map(|j| v[(i * k + t) * s + j] as f64).collect()).collect()).collect()
    }

    /// Replaces the assignment logits (the NES step).
    pub fn set_assignment_logits(mut self, logits: &[Vec<Vec<f64>>]) -> Self {
        if let Some(a) = self.assignment.take() {
            let dims = a.dims();
            let values: Vec<f32> = logits.iter().flatten().flatten().map(|&x| x as f32).collect();
            let (id, tensor, _) = a.consume();
            let value = Tensor::from_data(TensorData::new(values, dims), &tensor.device());
            self.assignment = Some(Param::initialized(id, value).set_require_grad(false));
        }
        self
    }

    /// Per task, the most probable set of every layer.
    pub fn most_probable(&self) -> Vec<Vec<usize>> {
        let logits = self.assignment_logits();
        let tasks = self.heads.len();
        (0..tasks)
            .map(|t| {
                logits
                    .iter()
                    .map(|layer| {
                        let row = &layer[t];
                        (0..row.len()).fold(0, |best, j| if row[j] > row[best] { j } else { best })
                    })
                    .collect()
            })
            .collect()
    }

    /// The number of LWS layers.
    pub fn num_layers(&self) -> usize {
        self.layers.len()
    }
}

/// Softmax of one row.
pub fn softmax(row: &[f64]) -> Vec<f64> {
    let max = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let e: Vec<f64> = row.iter().map(|x| (x - max).exp()).collect();
    let z: f64 = e.iter().sum();
    e.into_iter().map(|x| x / z).collect()
}

/// One assignment drawn from the logits `[layer][task][set]`: per task, a
/// set per layer (`[task][layer]`).
pub fn sample_assignment(logits: &[Vec<Vec<f64>>], rng: &mut impl Rng) -> Vec<Vec<usize>> {
    let tasks = logits.first().map_or(0, Vec::len);
    let mut out = vec![Vec::with_capacity(logits.len()); tasks];
    for layer in logits {
        for (t, row) in layer.iter().enumerate() {
            let p = softmax(row);
            let u: f64 = rng.random();
            let mut acc = 0.0;
            let mut pick = p.len() - 1;
            for (j, pj) in p.iter().enumerate() {
                acc += pj;
                if u < acc {
                    pick = j;
                    break;
                }
            }
            out[t].push(pick);
        }
    }
    out
}

/// Fitness shaping: utilities by rank, +1 for the lowest loss to −1 for the
/// highest, evenly spaced (the paper's eq. 5 on ranks); ties share the
/// mean of their utilities.
pub fn rank_utilities(losses: &[f64]) -> Vec<f64> {
    let n = losses.len();
    if n < 2 {
        return vec![0.0; n];
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| losses[a].total_cmp(&losses[b]));
    let by_rank = |r: usize| 1.0 - 2.0 * r as f64 / (n - 1) as f64;
    let mut u = vec![0.0; n];
    let mut r = 0;
    while r < n {
        let mut end = r + 1;
        while end < n && losses[order[end]] == losses[order[r]] {
            end += 1;
        }
        let mean = (r..end).map(by_rank).sum::<f64>() / (end - r) as f64;
        for &i in &order[r..end] {
            u[i] = mean;
        }
        r = end;
    }
    u
}

/// One NES step on the assignment logits: with the sampled assignments
/// (`[task][layer]` each) and their losses, `logits += lr · (1/λ) Σ_i u_i
/// ∇ log p(α_i)`, where for a categorical with logits z the gradient of
/// `log p(k)` is `onehot(k) − softmax(z)`. Lower-loss assignments gain
/// probability.
pub fn nes_update(logits: &mut [Vec<Vec<f64>>], samples: &[Vec<Vec<usize>>], losses: &[f64], lr: f64) {
    let utilities = rank_utilities(losses);
    let lambda = samples.len() as f64;
    for (l, layer) in logits.iter_mut().enumerate() {
        for (t, row) in layer.iter_mut().enumerate() {
            let p = softmax(row);
            let mut grad = vec![0.0; row.len()];
            for (sample, u) in samples.iter().zip(&utilities) {
                let pick = sample[t][l];
                for (j, g) in grad.iter_mut().enumerate() {
                    *g += u * (f64::from(u8::from(j == pick)) - p[j]) / lambda;
                }
            }
            for (z, g) in row.iter_mut().zip(grad) {
                *z += lr * g;
            }
        }
    }
}

/// Per LWS layer, the probability that two tasks use the same weight set
/// (`Σ_k p_0(k) p_1(k)` for the first two tasks): 1 is full sharing.
pub fn sharing_probability(logits: &[Vec<Vec<f64>>]) -> Vec<f64> {
    logits
        .iter()
        .map(|layer| match layer.as_slice() {
            [a, b, ..] => softmax(a).iter().zip(softmax(b)).map(|(x, y)| x * y).sum(),
            _ => 1.0,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn utilities_run_from_one_to_minus_one_by_rank() {
        assert_eq!(rank_utilities(&[3.0, 1.0, 2.0]), vec![-1.0, 1.0, 0.0]);
        // Ties share their utilities.
        assert_eq!(rank_utilities(&[1.0, 1.0, 5.0]), vec![0.5, 0.5, -1.0]);
    }

    /// A toy problem: one layer, one task, two sets; set 1 has the lower
    /// loss. NES steps move the probability of set 1 up, step after step.
    #[test]
    fn nes_moves_probability_to_the_assignment_with_lower_loss() {
        let mut logits = vec![vec![vec![0.0, 0.0]]];
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let loss = |a: &Vec<Vec<usize>>| if a[0][0] == 1 { 0.2 } else { 1.0 };
        let mut probs = vec![softmax(&logits[0][0])[1]];
        for _ in 0..30 {
            let samples: Vec<Vec<Vec<usize>>> = (0..8).map(|_| sample_assignment(&logits, &mut rng)).collect();
            let losses: Vec<f64> = samples.iter().map(loss).collect();
            nes_update(&mut logits, &samples, &losses, 0.5);
            probs.push(softmax(&logits[0][0])[1]);
        }
        assert!((probs[0] - 0.5).abs() < 1e-12);
        assert!(probs.windows(2).all(|w| w[1] >= w[0] - 1e-12), "never moves away: {probs:?}");
        assert!(*probs.last().unwrap() > 0.9, "set 1 becomes the likely choice: {probs:?}");
    }

    /// The hand-computed gradient of one step: samples pick sets 0 and 1
    /// with losses 2 and 1 (utilities −1, +1) under uniform logits.
    #[test]
    fn one_nes_step_matches_a_hand_computation() {
        let mut logits = vec![vec![vec![0.0, 0.0]]];
        let samples = vec![vec![vec![0]], vec![vec![1]]];
        nes_update(&mut logits, &samples, &[2.0, 1.0], 1.0);
        // grad_0 = ½[−1·(1 − ½) + 1·(0 − ½)] = −½, grad_1 = +½.
        assert_eq!(logits[0][0], vec![-0.5, 0.5]);
    }
}
