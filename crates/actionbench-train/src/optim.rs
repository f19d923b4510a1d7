//! Optimisers (AdamW, SGD) behind one type, gradient clipping by global
//! norm, and optimiser state as bytes for checkpoints.

use burn::module::{AutodiffModule, ModuleVisitor, Param};
use burn::optim::adaptor::OptimizerAdaptor;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{
    AdamW, AdamWConfig, GradientsParams, Optimizer, Sgd, SgdConfig, SimpleOptimizer, decay::WeightDecayConfig,
};
use burn::record::{FullPrecisionSettings, NamedMpkBytesRecorder, Recorder};
use burn::tensor::Tensor;
use burn::tensor::backend::AutodiffBackend;
use serde::{Deserialize, Serialize};

use crate::error::{Result, TrainError};

/// Which optimiser, with its hyper-parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "kebab-case", rename_all_fields = "kebab-case", deny_unknown_fields)]
pub enum OptimizerConfig {
    /// AdamW (decoupled weight decay).
    #[serde(rename = "adamw")]
    AdamW {
        /// First-moment decay.
        beta1: f64,
        /// Second-moment decay.
        beta2: f64,
        /// Numerical-stability term.
        epsilon: f64,
        /// Decoupled weight decay.
        weight_decay: f64,
    },
    /// SGD with (Nesterov) momentum and L2 weight decay.
    Sgd {
        /// Momentum factor (0 = none).
        momentum: f64,
        /// Nesterov momentum.
        nesterov: bool,
        /// L2 penalty.
        weight_decay: f64,
    },
}

impl OptimizerConfig {
    /// AdamW with the LART paper's betas (0.9, 0.95) and weight decay 0.05.
    pub fn adamw() -> Self {
        OptimizerConfig::AdamW { beta1: 0.9, beta2: 0.95, epsilon: 1e-8, weight_decay: 0.05 }
    }

    /// SGD with Nesterov momentum 0.9 and weight decay 1e-4 (ST-GCN).
    pub fn sgd() -> Self {
        OptimizerConfig::Sgd { momentum: 0.9, nesterov: true, weight_decay: 1e-4 }
    }

    /// Builds the optimiser for module type `M`.
    pub fn init<B: AutodiffBackend, M: AutodiffModule<B>>(&self) -> AnyOptimizer<M, B> {
        match *self {
            OptimizerConfig::AdamW { beta1, beta2, epsilon, weight_decay } => AnyOptimizer::AdamW(
                AdamWConfig::new()
                    .with_beta_1(beta1 as f32)
                    .with_beta_2(beta2 as f32)
                    .with_epsilon(epsilon as f32)
                    .with_weight_decay(weight_decay as f32)
                    .init(),
            ),
            OptimizerConfig::Sgd { momentum, nesterov, weight_decay } => {
                let momentum = (momentum > 0.0)
                    .then(|| MomentumConfig::new().with_momentum(momentum).with_dampening(0.0).with_nesterov(nesterov));
                let decay = (weight_decay > 0.0).then(|| WeightDecayConfig::new(weight_decay as f32));
                AnyOptimizer::Sgd(SgdConfig::new().with_momentum(momentum).with_weight_decay(decay).init())
            }
        }
    }
}

/// One of the supported optimisers for module `M`.
#[derive(Clone)]
pub enum AnyOptimizer<M: AutodiffModule<B>, B: AutodiffBackend> {
    /// AdamW.
    AdamW(OptimizerAdaptor<AdamW, M, B>),
    /// SGD.
    Sgd(OptimizerAdaptor<Sgd<B::InnerBackend>, M, B>),
}

fn save_state<O: SimpleOptimizer<B::InnerBackend>, M: AutodiffModule<B>, B: AutodiffBackend>(
    optim: &OptimizerAdaptor<O, M, B>,
) -> Result<Vec<u8>> {
    NamedMpkBytesRecorder::<FullPrecisionSettings>::new()
        .record(optim.to_record(), ())
        .map_err(|e| TrainError::Arrow(format!("cannot serialise the optimiser state: {e}")))
}

fn load_state<O: SimpleOptimizer<B::InnerBackend>, M: AutodiffModule<B>, B: AutodiffBackend>(
    optim: OptimizerAdaptor<O, M, B>,
    bytes: Vec<u8>,
    device: &B::Device,
) -> std::result::Result<OptimizerAdaptor<O, M, B>, String> {
    let record =
        NamedMpkBytesRecorder::<FullPrecisionSettings>::new().load(bytes, device).map_err(|e| e.to_string())?;
    Ok(optim.load_record(record))
}

impl<M: AutodiffModule<B>, B: AutodiffBackend> AnyOptimizer<M, B> {
    /// One update of `module` with `grads` at learning rate `lr`.
    pub fn step(&mut self, lr: f64, module: M, grads: GradientsParams) -> M {
        match self {
            AnyOptimizer::AdamW(o) => o.step(lr, module, grads),
            AnyOptimizer::Sgd(o) => o.step(lr, module, grads),
        }
    }

    /// The optimiser state (moments, momentum buffers) as bytes.
    pub fn state_bytes(&self) -> Result<Vec<u8>> {
        match self {
            AnyOptimizer::AdamW(o) => save_state(o),
            AnyOptimizer::Sgd(o) => save_state(o),
        }
    }

    /// Restores a state written by [`Self::state_bytes`].
    pub fn load_state_bytes(self, bytes: Vec<u8>, device: &B::Device) -> std::result::Result<Self, String> {
        Ok(match self {
            AnyOptimizer::AdamW(o) => AnyOptimizer::AdamW(load_state(o, bytes, device)?),
            AnyOptimizer::Sgd(o) => AnyOptimizer::Sgd(load_state(o, bytes, device)?),
        })
    }
}

/// Sums the squares of every parameter gradient of a module.
struct SquaredNorm<'a> {
    grads: &'a GradientsParams,
    total: f64,
}

impl<B: AutodiffBackend> ModuleVisitor<B> for SquaredNorm<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        if let Some(g) = self.grads.get::<B::InnerBackend, D>(param.id) {
            self.total += f64::from(g.square().sum().into_scalar().to_f32_lossy());
        }
    }
}

/// Multiplies every parameter gradient of a module by a factor.
struct Scale<'a> {
    grads: &'a mut GradientsParams,
    factor: f32,
}

impl<B: AutodiffBackend> ModuleVisitor<B> for Scale<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        if let Some(g) = self.grads.remove::<B::InnerBackend, D>(param.id) {
            self.grads.register::<B::InnerBackend, D>(param.id, g.mul_scalar(self.factor));
        }
    }
}

/// The global L2 norm of all gradients of `module`.
pub fn grad_norm<B: AutodiffBackend, M: AutodiffModule<B>>(module: &M, grads: &GradientsParams) -> f64 {
    let mut v = SquaredNorm { grads, total: 0.0 };
    module.visit(&mut v);
    v.total.sqrt()
}

/// Clips gradients by their global norm (as `torch.nn.utils.clip_grad_norm_`;
/// Burn's own clipping works per tensor). Returns the norm before clipping.
pub fn clip_grad_norm<B: AutodiffBackend, M: AutodiffModule<B>>(
    module: &M,
    grads: &mut GradientsParams,
    max_norm: f64,
) -> f64 {
    let norm = grad_norm::<B, M>(module, grads);
    if norm > max_norm && norm.is_finite() {
        let mut s = Scale { grads, factor: (max_norm / (norm + 1e-6)) as f32 };
        module.visit(&mut s);
    }
    norm
}

/// Helper to read an element as f32 whatever the backend's float type.
trait ToF32 {
    fn to_f32_lossy(self) -> f32;
}

impl<E: burn::tensor::ElementConversion> ToF32 for E {
    fn to_f32_lossy(self) -> f32 {
        self.elem::<f32>()
    }
}
