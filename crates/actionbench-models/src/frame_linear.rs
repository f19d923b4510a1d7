//! The frame-averaged linear baseline of the video benchmarks: every frame
//! shrunk to a `grid × grid` thumbnail (area average), the thumbnails
//! averaged over time, one linear layer. It sees colour and layout but no
//! motion, so a video model has to beat it to show it learned more.

use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::Tensor;
use burn::tensor::backend::Backend;
use burn::tensor::module::adaptive_avg_pool2d;
use serde::{Deserialize, Serialize};

fn default_grid() -> usize {
    8
}
fn default_frames() -> usize {
    16
}
fn default_crop() -> usize {
    224
}

/// Frame-linear hyper-parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct FrameLinearConfig {
    /// Number of action classes.
    pub num_classes: usize,
    /// Thumbnail side.
    #[serde(default = "default_grid")]
    pub grid: usize,
    /// Input frames T.
    #[serde(default = "default_frames")]
    pub num_frames: usize,
    /// Input side S.
    #[serde(default = "default_crop")]
    pub crop_size: usize,
}

impl FrameLinearConfig {
    /// Checks the values, saying which one is wrong.
    pub fn validate(&self) -> Result<(), String> {
        if self.num_classes == 0 || self.grid == 0 || self.num_frames == 0 || self.crop_size < self.grid {
            return Err(
                "`num-classes`, `grid` and `num-frames` must be at least 1, and `crop-size` at least `grid`".into()
            );
        }
        Ok(())
    }

    /// A freshly initialised model.
    pub fn init<B: Backend>(&self, device: &B::Device) -> FrameLinear<B> {
        FrameLinear {
            linear: LinearConfig::new(3 * self.grid * self.grid, self.num_classes).init(device),
            grid: self.grid,
        }
    }
}

/// The baseline.
#[derive(Module, Debug)]
pub struct FrameLinear<B: Backend> {
    /// The classifier over the averaged thumbnail.
    pub linear: Linear<B>,
    #[module(skip)]
    grid: usize,
}

impl<B: Backend> FrameLinear<B> {
    /// Class logits `[B, K]` of clips `[B, 3, T, S, S]`.
    pub fn forward(&self, clip: Tensor<B, 5>) -> Tensor<B, 2> {
        let [b, c, _, h, w] = clip.dims();
        // Averaging over time first is the same as after the (linear) pooling.
        let mean = clip.mean_dim(2).reshape([b, c, h, w]);
        let thumb = adaptive_avg_pool2d(mean, [self.grid, self.grid]);
        self.linear.forward(thumb.reshape([b, c * self.grid * self.grid]))
    }
}
