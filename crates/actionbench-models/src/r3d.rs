//! ResNet-3D (R3D-18 / R3D-34, Tran et al. 2018) in torchvision's
//! `video.r3d_18` layout: a 3×7×7 stem (stride 1×2×2), four stages of 3D
//! basic blocks (stride 2 from the second stage on, a 1×1×1 projection
//! where the shape changes), global average pooling and a linear classifier.
//!
//! Burn 0.21 has no 3D pooling layer; the global average pool is a mean over
//! the flattened `T·H·W` axis. Convolutions go through [`crate::conv3d`].
//!
//! The five *stages* are the stem and the four residual layers; with
//! `frozen-stages = k` the first k of them run outside autodiff
//! ([`R3dBackbone::forward_frozen`]): no gradient reaches them and their batch
//! norms use the running statistics, as when fine-tuning a Kinetics-400
//! checkpoint with only the last stages trained (the multi-task paper trains
//! the last two: `frozen-stages = 3`).
//!
//! torchvision checkpoints load with [`torchvision_names`] and
//! [`crate::load_torch`].

use burn::module::{AutodiffModule, Module};
use burn::nn::conv::{Conv3d, Conv3dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, Linear, LinearConfig, PaddingConfig3d};
use burn::tensor::Tensor;
use burn::tensor::activation::relu;
use burn::tensor::backend::{AutodiffBackend, Backend};
use serde::{Deserialize, Serialize};

use crate::conv3d::conv3d;

/// The stem and the four residual layers.
pub const STAGES: usize = 5;

pub(crate) fn default_depth() -> usize {
    18
}
pub(crate) fn default_widths() -> [usize; 4] {
    [64, 128, 256, 512]
}
pub(crate) fn default_frames() -> usize {
    16
}
pub(crate) fn default_crop() -> usize {
    112
}

/// R3D hyper-parameters (`model.kind = "r3d"`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct R3dConfig {
    /// Number of classes.
    pub num_classes: usize,
    /// 18 (blocks 2-2-2-2) or 34 (3-4-6-3).
    #[serde(default = "default_depth")]
    pub depth: usize,
    /// Channels of the four residual layers (torchvision: 64, 128, 256, 512;
    /// the stem has the first layer's).
    #[serde(default = "default_widths")]
    pub widths: [usize; 4],
    /// Input frames T.
    #[serde(default = "default_frames")]
    pub num_frames: usize,
    /// Input side S (centre crop).
    #[serde(default = "default_crop")]
    pub crop_size: usize,
    /// Leading stages (stem, layer1…layer4) kept fixed: 0 trains all, 3
    /// trains only the last two residual layers.
    #[serde(default)]
    pub frozen_stages: usize,
    /// A torchvision `r3d_18` / `r3d_34`-layout checkpoint (`.pth`) to start
    /// from, listed in the stage's `inputs`; the classifier is re-initialised
    /// when its class count differs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init: Option<String>,
}

impl R3dConfig {
    /// A config with torchvision's widths.
    pub fn new(num_classes: usize, depth: usize) -> Self {
        Self {
            num_classes,
            depth,
            widths: default_widths(),
            num_frames: default_frames(),
            crop_size: default_crop(),
            frozen_stages: 0,
            init: None,
        }
    }

    /// Residual blocks per layer.
    pub fn blocks(&self) -> [usize; 4] {
        match self.depth {
            34 => [3, 4, 6, 3],
            _ => [2, 2, 2, 2],
        }
    }

    /// Checks the values, saying which one is wrong.
    pub fn validate(&self) -> Result<(), String> {
        if self.depth != 18 && self.depth != 34 {
            return Err(format!("`depth` must be 18 or 34, not {}", self.depth));
        }
        if self.num_classes == 0 || self.widths.contains(&0) || self.num_frames == 0 || self.crop_size == 0 {
            return Err("`num-classes`, `widths`, `num-frames` and `crop-size` must be at least 1".into());
        }
        if self.frozen_stages >= STAGES {
            return Err(format!(
                "`frozen-stages` is {} but R3D has {STAGES} stages (stem, layer1…layer4); at most {} leaves one to train",
                self.frozen_stages,
                STAGES - 1
            ));
        }
        Ok(())
    }

    /// A freshly initialised backbone (no classifier).
    pub fn init_backbone<B: Backend>(&self, device: &B::Device) -> R3dBackbone<B> {
        let stem = ConvBn::new(3, self.widths[0], [3, 7, 7], [1, 2, 2], device);
        let mut layers = Vec::with_capacity(4);
        let mut c_in = self.widths[0];
        for (i, (&c, &n)) in self.widths.iter().zip(&self.blocks()).enumerate() {
            let stride = if i == 0 { 1 } else { 2 };
            let blocks = (0..n)
                .map(|b| {
                    let block =
                        BasicBlock::new(if b == 0 { c_in } else { c }, c, if b == 0 { stride } else { 1 }, device);
                    c_in = c;
                    block
                })
                .collect();
            layers.push(blocks);
        }
        R3dBackbone { stem, layers, frozen: self.frozen_stages }
    }

    /// A freshly initialised classifier.
    pub fn init<B: Backend>(&self, device: &B::Device) -> R3d<B> {
        R3d {
            backbone: self.init_backbone(device),
            fc: LinearConfig::new(self.widths[3], self.num_classes).init(device),
        }
    }
}

/// A 3D convolution without bias followed by batch norm.
#[derive(Module, Debug)]
pub struct ConvBn<B: Backend> {
    /// The convolution.
    pub conv: Conv3d<B>,
    /// Its batch norm.
    pub bn: BatchNorm<B>,
}

impl<B: Backend> ConvBn<B> {
    fn new(c_in: usize, c_out: usize, kernel: [usize; 3], stride: [usize; 3], device: &B::Device) -> Self {
        let padding = PaddingConfig3d::Explicit(kernel[0] / 2, kernel[1] / 2, kernel[2] / 2);
        let conv = Conv3dConfig::new([c_in, c_out], kernel)
            .with_stride(stride)
            .with_padding(padding)
            .with_bias(false)
            .init(device);
        Self { conv, bn: BatchNormConfig::new(c_out).init(device) }
    }

    /// `bn(conv(x))`.
    pub fn forward(&self, x: Tensor<B, 5>) -> Tensor<B, 5> {
        self.bn.forward(conv3d(&self.conv, x))
    }
}

/// torchvision's `BasicBlock` with `Conv3DSimple`: two 3×3×3 conv-bn, a
/// projection shortcut where the shape changes.
#[derive(Module, Debug)]
pub struct BasicBlock<B: Backend> {
    /// First conv (carries the stride).
    pub conv1: ConvBn<B>,
    /// Second conv.
    pub conv2: ConvBn<B>,
    /// 1×1×1 projection of the shortcut.
    pub downsample: Option<ConvBn<B>>,
}

impl<B: Backend> BasicBlock<B> {
    fn new(c_in: usize, c_out: usize, stride: usize, device: &B::Device) -> Self {
        let s = [stride; 3];
        let downsample = (stride != 1 || c_in != c_out).then(|| ConvBn::new(c_in, c_out, [1, 1, 1], s, device));
        Self {
            conv1: ConvBn::new(c_in, c_out, [3, 3, 3], s, device),
            conv2: ConvBn::new(c_out, c_out, [3, 3, 3], [1; 3], device),
            downsample,
        }
    }

    /// `relu(conv2(relu(conv1(x))) + shortcut(x))`.
    pub fn forward(&self, x: Tensor<B, 5>) -> Tensor<B, 5> {
        let out = self.conv2.forward(relu(self.conv1.forward(x.clone())));
        let shortcut = match &self.downsample {
            Some(d) => d.forward(x),
            None => x,
        };
        relu(out + shortcut)
    }
}

/// Stem and residual layers: clips `[N, 3, T, S, S]` → feature maps.
#[derive(Module, Debug)]
pub struct R3dBackbone<B: Backend> {
    /// 3×7×7 conv-bn (then ReLU).
    pub stem: ConvBn<B>,
    /// layer1…layer4, their blocks.
    pub layers: Vec<Vec<BasicBlock<B>>>,
    #[module(skip)]
    frozen: usize,
}

impl<B: Backend> R3dBackbone<B> {
    /// Stage `i` (0 = stem, 1–4 = layer i).
    pub fn stage(&self, i: usize, x: Tensor<B, 5>) -> Tensor<B, 5> {
        match i {
            0 => relu(self.stem.forward(x)),
            _ => self.layers[i - 1].iter().fold(x, |x, b| b.forward(x)),
        }
    }

    /// Stages `from..to` in order.
    pub fn stages(&self, from: usize, to: usize, x: Tensor<B, 5>) -> Tensor<B, 5> {
        (from..to).fold(x, |x, i| self.stage(i, x))
    }

    /// Every stage, then the global average pool: `[N, C]`.
    pub fn features(&self, x: Tensor<B, 5>) -> Tensor<B, 2> {
        self.features_from(0, x)
    }

    /// Stages `from..` of the output of stage `from − 1`, then the pool.
    pub fn features_from(&self, from: usize, x: Tensor<B, 5>) -> Tensor<B, 2> {
        pool(self.stages(from, STAGES, x))
    }

    /// How many leading stages are frozen.
    pub fn frozen_stages(&self) -> usize {
        self.frozen
    }

    /// The channels of the pooled features.
    pub fn out_channels(&self) -> usize {
        self.layers[3].last().map_or(0, |b| b.conv2.bn.gamma.dims()[0])
    }
}

impl<B: AutodiffBackend> R3dBackbone<B> {
    /// The frozen stages, outside autodiff (running batch-norm statistics,
    /// no gradient), then the rest with it.
    pub fn forward_frozen(&self, x: Tensor<B, 5>) -> Tensor<B, 5> {
        let x = self.frozen_part(x);
        self.stages(self.frozen, STAGES, x)
    }

    /// Only the frozen stages (identity when none).
    pub fn frozen_part(&self, x: Tensor<B, 5>) -> Tensor<B, 5> {
        if self.frozen == 0 {
            return x;
        }
        let mut y = x.inner();
        for i in 0..self.frozen {
            y = match i {
                0 => relu(self.stem.valid().forward(y)),
                _ => self.layers[i - 1].iter().fold(y, |y, b| b.valid().forward(y)),
            };
        }
        Tensor::from_inner(y)
    }
}

/// Global average pool of `[N, C, T, H, W]` → `[N, C]`.
pub fn pool<B: Backend>(x: Tensor<B, 5>) -> Tensor<B, 2> {
    let [n, c, t, h, w] = x.dims();
    x.reshape([n, c, t * h * w]).mean_dim(2).reshape([n, c])
}

/// R3D with its classifier.
#[derive(Module, Debug)]
pub struct R3d<B: Backend> {
    /// Stem and residual layers.
    pub backbone: R3dBackbone<B>,
    /// The linear classifier.
    pub fc: Linear<B>,
}

impl<B: Backend> R3d<B> {
    /// Class logits `[N, K]` of clips `[N, 3, T, S, S]` (every stage in
    /// this backend's mode; see [`R3d::forward_train`]).
    pub fn forward(&self, clip: Tensor<B, 5>) -> Tensor<B, 2> {
        self.fc.forward(self.backbone.features(clip))
    }
}

impl<B: AutodiffBackend> R3d<B> {
    /// Training forward: the frozen stages outside autodiff.
    pub fn forward_train(&self, clip: Tensor<B, 5>) -> Tensor<B, 2> {
        self.fc.forward(pool(self.backbone.forward_frozen(clip)))
    }
}

/// Renames torchvision `VideoResNet` tensors (`stem.0.weight`,
/// `layer2.0.conv1.1.running_mean`, `layer2.0.downsample.0.weight`,
/// `fc.weight`) to this module's paths (`backbone.stem.conv.weight`,
/// `backbone.layers.1.0.conv1.bn.running_mean`, …) and drops
/// `num_batches_tracked`. With `prefix` (e.g. `"backbone."` or `""`) the
/// backbone's paths are rooted there; the classifier keeps `fc.`. A leading
/// `module.` (DataParallel) is stripped. Names it does not know pass
/// through unchanged, so the import report lists them as unexpected.
pub fn torchvision_names(tensors: Vec<crate::TorchParam>, prefix: &str) -> Vec<crate::TorchParam> {
    tensors
        .into_iter()
        .filter(|(name, _, _)| !name.ends_with("num_batches_tracked"))
        .map(|(name, shape, data)| (torchvision_name(&name, prefix), shape, data))
        .collect()
}

fn torchvision_name(name: &str, prefix: &str) -> String {
    let name = name.strip_prefix("module.").unwrap_or(name);
    mapped_name(name, prefix).unwrap_or_else(|| name.to_string())
}

fn mapped_name(name: &str, prefix: &str) -> Option<String> {
    let parts: Vec<&str> = name.split('.').collect();
    let conv_bn = |i: &str| match i {
        "0" => Some("conv"),
        "1" => Some("bn"),
        _ => None,
    };
    match parts.as_slice() {
        ["stem", i, leaf] => Some(format!("{prefix}stem.{}.{leaf}", conv_bn(i)?)),
        [layer, block, part @ ("conv1" | "conv2" | "downsample"), i, leaf] => {
            let l: usize = layer.strip_prefix("layer")?.parse().ok().filter(|l| (1..=4).contains(l))?;
            Some(format!("{prefix}layers.{}.{block}.{part}.{}.{leaf}", l - 1, conv_bn(i)?))
        }
        _ => None,
    }
}
