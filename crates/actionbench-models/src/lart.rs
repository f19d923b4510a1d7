//! LART (Rajasegaran et al. 2023): a transformer over the 3D-pose tracklets
//! of a person of interest and `P - 1` other people of the same video.
//!
//! Each detection becomes a token: the 229-d pose vector (SMPL rotations,
//! shape, camera translation) through an MLP with two hidden layers,
//! optionally concatenated with an appearance feature through its own MLP,
//! plus sinusoidal encodings of time (first half of the width) and track id
//! (second half; the person of interest is track 0). A learnable mask token
//! replaces the person vector of missing detections and, during training, of
//! a random `mask_ratio` of the present ones. Attention masking (training
//! only, as in the paper): missing detections are masked out completely, and
//! no token attends a masked token except itself, while masked tokens attend
//! every present token. Predictions are per token; at evaluation they are
//! averaged over 12 frames around each keyframe ([`pool_keyframe`]).

use burn::module::{Module, Param};
use burn::nn::transformer::{TransformerEncoder, TransformerEncoderConfig, TransformerEncoderInput};
use burn::nn::{Linear, LinearConfig};
use burn::tensor::activation::relu;
use burn::tensor::backend::Backend;
use burn::tensor::{Bool, Tensor, TensorData};
use serde::{Deserialize, Serialize};

/// Model sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum LartSize {
    /// 2 layers, width 32, 2 heads: CPU tests.
    Tiny,
    /// 4 layers, width 128, 4 heads: the `small` synthetic preset.
    Small,
    /// The paper: 16 layers, width 512, 16 heads.
    Paper,
}

impl LartSize {
    /// `(layers, width, heads)`.
    pub fn dims(self) -> (usize, usize, usize) {
        match self {
            LartSize::Tiny => (2, 32, 2),
            LartSize::Small => (4, 128, 4),
            LartSize::Paper => (16, 512, 16),
        }
    }
}

fn default_pose_dim() -> usize {
    229
}
fn default_people() -> usize {
    5
}
fn default_mask_ratio() -> f64 {
    0.4
}
fn default_dropout() -> f64 {
    0.1
}
fn default_pool() -> usize {
    12
}

/// LART hyper-parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct LartConfig {
    /// Number of (multi-label) action classes, 80 for AVA.
    pub num_classes: usize,
    /// Size preset.
    pub size: LartSize,
    /// Width of the pose vector.
    #[serde(default = "default_pose_dim")]
    pub pose_dim: usize,
    /// Width of the appearance feature; `None` for LART-pose.
    #[serde(default)]
    pub appearance_dim: Option<usize>,
    /// Tracks per sample (`N` in the paper), the person of interest first.
    #[serde(default = "default_people")]
    pub max_people: usize,
    /// Fraction of present detections replaced by the mask token in training.
    #[serde(default = "default_mask_ratio")]
    pub mask_ratio: f64,
    /// Dropout inside the transformer.
    #[serde(default = "default_dropout")]
    pub dropout: f64,
    /// Frames averaged around a keyframe at evaluation.
    #[serde(default = "default_pool")]
    pub pool_frames: usize,
}

impl LartConfig {
    /// A config with the defaults for `num_classes` and `size`.
    pub fn new(num_classes: usize, size: LartSize) -> Self {
        Self {
            num_classes,
            size,
            pose_dim: default_pose_dim(),
            appearance_dim: None,
            max_people: default_people(),
            mask_ratio: default_mask_ratio(),
            dropout: default_dropout(),
            pool_frames: default_pool(),
        }
    }

    /// Checks the values, saying which one is wrong.
    pub fn validate(&self) -> Result<(), String> {
        if self.num_classes == 0 || self.pose_dim == 0 || self.max_people == 0 || self.pool_frames == 0 {
            return Err("`num_classes`, `pose_dim`, `max_people` and `pool_frames` must be at least 1".into());
        }
        if self.appearance_dim == Some(0) {
            return Err("`appearance_dim` must be at least 1 (leave it out for pose only)".into());
        }
        if !(0.0..1.0).contains(&self.mask_ratio) || !(0.0..1.0).contains(&self.dropout) {
            return Err(format!(
                "`mask_ratio` ({}) and `dropout` ({}) must be in [0, 1)",
                self.mask_ratio, self.dropout
            ));
        }
        Ok(())
    }

    /// Builds the model with freshly initialised weights.
    pub fn init<B: Backend>(&self, device: &B::Device) -> Lart<B> {
        let (layers, width, heads) = self.size.dims();
        let (pose_out, app_out) = match self.appearance_dim {
            Some(_) => (width / 2, width - width / 2),
            None => (width, 0),
        };
        let hidden = width;
        Lart {
            pose_mlp: Mlp::new(self.pose_dim, hidden, pose_out, device),
            appearance_mlp: self.appearance_dim.map(|a| Mlp::new(a, hidden, app_out, device)),
            mask_token: Param::from_tensor(Tensor::zeros([width], device)),
            encoder: TransformerEncoderConfig::new(width, 4 * width, heads, layers)
                .with_dropout(self.dropout)
                .init(device),
            head: LinearConfig::new(width, self.num_classes).init(device),
            width,
        }
    }
}

/// Linear–ReLU–Linear–ReLU–Linear: an MLP with two hidden layers.
#[derive(Module, Debug)]
struct Mlp<B: Backend> {
    l1: Linear<B>,
    l2: Linear<B>,
    l3: Linear<B>,
}

impl<B: Backend> Mlp<B> {
    fn new(d_in: usize, hidden: usize, d_out: usize, device: &B::Device) -> Self {
        Self {
            l1: LinearConfig::new(d_in, hidden).init(device),
            l2: LinearConfig::new(hidden, hidden).init(device),
            l3: LinearConfig::new(hidden, d_out).init(device),
        }
    }
    fn forward<const D: usize>(&self, x: Tensor<B, D>) -> Tensor<B, D> {
        self.l3.forward(relu(self.l2.forward(relu(self.l1.forward(x)))))
    }
}

/// One batch of tracklet windows.
#[derive(Debug, Clone)]
pub struct LartInput<B: Backend> {
    /// `[N, T, P, pose_dim]`; person 0 is the person of interest.
    pub pose: Tensor<B, 4>,
    /// `[N, T, P, appearance_dim]` when the model uses appearance.
    pub appearance: Option<Tensor<B, 4>>,
    /// `[N, T, P]`: true where the person was detected.
    pub valid: Tensor<B, 3, Bool>,
    /// `[N, T, P]`: true where a present detection is replaced by the mask
    /// token (training; drawn by the trainer so the model stays a pure
    /// function of its inputs).
    pub masked: Option<Tensor<B, 3, Bool>>,
    /// Apply the paper's two attention-masking rules (training) or none
    /// (inference).
    pub attention_masking: bool,
}

/// The LART transformer.
#[derive(Module, Debug)]
pub struct Lart<B: Backend> {
    pose_mlp: Mlp<B>,
    appearance_mlp: Option<Mlp<B>>,
    mask_token: Param<Tensor<B, 1>>,
    encoder: TransformerEncoder<B>,
    head: Linear<B>,
    width: usize,
}

/// Sinusoidal time / track-id encoding, `[P * T, width]` in token order
/// (token `i * T + t` is person `i` at frame `t`): the first half of the
/// width encodes `t`, the second half `i`, with frequencies
/// `1 / 10000^(4r / width)`.
pub fn position_encoding(frames: usize, people: usize, width: usize) -> Vec<f32> {
    let half = width / 2;
    let mut out = vec![0f32; people * frames * width];
    for i in 0..people {
        for t in 0..frames {
            let row = &mut out[(i * frames + t) * width..][..width];
            for (offset, pos) in [(0, t), (half, i)] {
                for r in 0..half / 2 {
                    let angle = pos as f64 / 10000f64.powf(4.0 * r as f64 / width as f64);
                    row[offset + 2 * r] = angle.sin() as f32;
                    row[offset + 2 * r + 1] = angle.cos() as f32;
                }
            }
        }
    }
    out
}

impl<B: Backend> Lart<B> {
    /// Token width.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Per-token logits `[N, P, T, classes]`.
    pub fn forward_all(&self, input: LartInput<B>) -> Tensor<B, 4> {
        let [n, t, p, _] = input.pose.dims();
        let device = input.pose.device();
        let w = self.width;
        let mut x = self.pose_mlp.forward(input.pose);
        if let (Some(mlp), Some(app)) = (&self.appearance_mlp, input.appearance) {
            x = Tensor::cat(vec![x, mlp.forward(app)], 3);
        }
        // [N, T, P, W] -> [N, P, T, W] -> [N, S, W], S = P*T.
        let s = p * t;
        let x = x.permute([0, 2, 1, 3]).reshape([n, s, w]);
        let to_tokens = |m: Tensor<B, 3, Bool>| m.permute([0, 2, 1]).reshape([n, s]);
        let missing = to_tokens(input.valid.clone().bool_not());
        let masked = input.masked.map(to_tokens);
        let replace = match &masked {
            Some(m) => missing.clone().bool_or(m.clone()),
            None => missing.clone(),
        };
        let token = self.mask_token.val().reshape([1, 1, w]).expand([n, s, w]);
        let x = x.mask_where(replace.unsqueeze_dim::<3>(2).expand([n, s, w]), token);
        let pe: Tensor<B, 3> = Tensor::from_data(TensorData::new(position_encoding(t, p, w), [1, s, w]), &device);
        let x = x + pe;
        let mut enc = TransformerEncoderInput::new(x);
        if input.attention_masking {
            enc = enc.mask_pad(missing);
            if let Some(m) = masked {
                // key k is hidden from query q when k is masked and q != k.
                let keys = m.unsqueeze_dim::<3>(1).expand([n, s, s]);
                let eye: Tensor<B, 3, Bool> =
                    Tensor::<B, 2>::eye(s, &device).bool().unsqueeze_dim::<3>(0).expand([n, s, s]);
                enc = enc.mask_attn(keys.bool_and(eye.bool_not()));
            }
        } else {
            // People absent from the whole window are padding even at
            // inference.
            let absent = input.valid.int().sum_dim(1).equal_elem(0); // [N, 1, P]
            let absent = absent.reshape([n, p, 1]).expand([n, p, t]).reshape([n, s]);
            enc = enc.mask_pad(absent);
        }
        let y = self.encoder.forward(enc);
        self.head.forward(y).reshape([n, p, t, self.head_classes()])
    }

    fn head_classes(&self) -> usize {
        let [_, classes] = self.head.weight.dims();
        classes
    }

    /// Logits of the person of interest, `[N, T, classes]`.
    pub fn forward(&self, input: LartInput<B>) -> Tensor<B, 3> {
        let all = self.forward_all(input);
        let [n, _, t, k] = all.dims();
        all.narrow(1, 0, 1).reshape([n, t, k])
    }
}

/// Average of `scores` (`[T, K]` row-major) over the `window` frames
/// centred on `center` (frames `center - window/2 .. center + window - window/2`,
/// clipped to the track and restricted to frames where `keep` is true),
/// as the paper evaluates at a keyframe. `None` when no frame qualifies.
pub fn pool_keyframe(scores: &[f32], classes: usize, keep: &[bool], center: usize, window: usize) -> Option<Vec<f32>> {
    let frames = keep.len();
    let start = center.saturating_sub(window / 2);
    let end = (center + window - window / 2).min(frames);
    let mut sum = vec![0f64; classes];
    let mut count = 0usize;
    for f in start..end {
        if keep[f] {
            for (s, v) in sum.iter_mut().zip(&scores[f * classes..(f + 1) * classes]) {
                *s += f64::from(*v);
            }
            count += 1;
        }
    }
    (count > 0).then(|| sum.iter().map(|s| (s / count as f64) as f32).collect())
}
