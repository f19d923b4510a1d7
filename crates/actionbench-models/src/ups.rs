//! UPS, Unified Pose Sequence modelling (Foo et al., CVPR 2023): one
//! encoder–decoder transformer that answers four pose tasks by writing a
//! token sequence from one vocabulary of action classes, quantised
//! coordinates and end-of-task tokens.
//!
//! - **Vocabulary** ([`Vocab`]): `n_cls` action tokens, then `n_bins` X-bin,
//!   `n_bins` Y-bin and `n_bins` Z-bin tokens, then `EOT_AR`, `EOT_PE`,
//!   `EOT_AP` (size `n_cls + 3·n_bins + 3`, as §3.2). Targets are
//!   `[action, EOT_AR]` (3D and 2D recognition), `[action, EOT_AP]` (early
//!   prediction) and `[x_1, y_1, z_1, …, x_J, y_J, z_J, EOT_PE]` (2D→3D
//!   lifting).
//! - **Joint tokenizer**: three TCN-GCN layers (ST-GCN blocks) over the
//!   skeleton graph, `[N, 3, T, V] → [N, d, T, V]`.
//! - **Encoder**: `L` layers of `H` parallel SEM-TEM blocks; SEM is two
//!   graph convolutions, TEM one transformer layer (self-attention + 2-layer
//!   MLP) over the `T` frame tokens of width `V·d`. One block per layer is
//!   picked by Gumbel-softmax over the dot products of learned block and
//!   task embeddings (straight-through hard sample in training, argmax at
//!   test; §3.4).
//! - **Decoder**: an autoregressive transformer decoder (causal
//!   self-attention, cross-attention to the encoded frames); its output is
//!   scored against the vocabulary's token embeddings (the "vocabulary
//!   lookup" of §3.2), trained with token-level NLL (eq. 3) and decoded
//!   greedily at test ([`greedy_decode`]).
//!
//! Choices the paper leaves open, made here (also in
//! `pipelines/ups-synth.toml`):
//! - **Bins and range**: `bins` per axis (127 for `tiny`, 999 for `paper`)
//!   uniformly over `[-coord-range, coord-range]` metres of root-relative
//!   camera-space joints (default 1.1 m, which holds every Human3.6M joint
//!   relative to the pelvis); values outside are clamped to the edge bins.
//!   A bin decodes to its centre, so the round trip errs by at most half a
//!   bin per axis. The count is odd so that a bin is centred on 0, where
//!   the root joint always is.
//! - **Pose length**: the lifting target is the 3D pose of the centre frame
//!   of the 2D window (VideoPose3D's single-frame output), `3·17 + 1 = 52`
//!   tokens, not all `N` frames (a 243-frame target would be 12 394 tokens).
//! - **Start token**: the decoder's first input is the task embedding
//!   through a linear layer (the paper feeds the task embedding to the
//!   model and gives no begin-of-sequence token).
//! - **Token embeddings**: learned (`[vocab, d_dec]`, initialised N(0, 0.02))
//!   by default; with text features (RoBERTa-base of the prompts of
//!   [`Vocab::prompts`], `[vocab, d_text]`, frozen) a learned linear layer
//!   maps them to `d_dec`. Input and output embeddings are tied.
//! - **Gumbel temperature**: constant `gumbel-tau` (default 1.0); with the
//!   straight-through hard sample the forward pass is discrete already, so
//!   no annealing schedule.
//! - **Skeletons of different sizes** (NTU 25, OpenPose 18, Human3.6M 17
//!   joints) are zero-padded to `max-joints` (25) with the padded joints
//!   isolated in the graph, so one tokenizer and one frame-token width
//!   serve every task; 2D inputs get a zero Z channel. NTU uses its first
//!   body.
//! - **Memory**: the decoder cross-attends the `T` frame tokens, projected
//!   from `V·d` to `d_dec`.

use std::ops::Range;

use burn::module::{Module, Param};
use burn::nn::attention::generate_autoregressive_mask;
use burn::nn::transformer::{
    TransformerDecoder, TransformerDecoderConfig, TransformerDecoderInput, TransformerEncoder,
    TransformerEncoderConfig, TransformerEncoderInput,
};
use burn::nn::{BatchNorm, BatchNormConfig, LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::tensor::activation::{relu, softmax};
use burn::tensor::backend::Backend;
use burn::tensor::{Distribution, Int, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use crate::graph::{Graph, Layout};
use crate::stgcn::{Block, BlockShape, TimeConv};

/// The four tasks, in the paper's rotation order (3D pose estimation → 2D
/// action recognition → 3D early action prediction → 3D action
/// recognition); the order is also the task-embedding index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum UpsTask {
    /// 2D → 3D pose estimation (Human3.6M).
    Pose,
    /// 2D skeleton action recognition (Kinetics-skeleton).
    Action2d,
    /// 3D early action prediction (NTU, first 20/40/60 % of frames).
    Early,
    /// 3D skeleton action recognition (NTU).
    Action3d,
}

impl UpsTask {
    /// Every task, in rotation order.
    pub const ALL: [UpsTask; 4] = [UpsTask::Pose, UpsTask::Action2d, UpsTask::Early, UpsTask::Action3d];

    /// Index of the task embedding.
    pub fn index(self) -> usize {
        self as usize
    }

    /// The name used in pipeline files and metrics.
    pub fn name(self) -> &'static str {
        match self {
            UpsTask::Pose => "pose",
            UpsTask::Action2d => "action2d",
            UpsTask::Early => "early",
            UpsTask::Action3d => "action3d",
        }
    }

    /// The task of a name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.name() == name)
    }

    /// The end-of-task token kind that closes its sequences.
    pub fn eot(self) -> Eot {
        match self {
            UpsTask::Pose => Eot::Pe,
            UpsTask::Early => Eot::Ap,
            UpsTask::Action2d | UpsTask::Action3d => Eot::Ar,
        }
    }
}

/// The three end-of-task tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Eot {
    /// Action recognition ends here.
    Ar,
    /// Pose estimation ends here.
    Pe,
    /// Action prediction ends here.
    Ap,
}

impl Eot {
    fn offset(self) -> usize {
        match self {
            Eot::Ar => 0,
            Eot::Pe => 1,
            Eot::Ap => 2,
        }
    }

    /// `EOT_AR`, `EOT_PE` or `EOT_AP`.
    pub fn name(self) -> &'static str {
        match self {
            Eot::Ar => "EOT_AR",
            Eot::Pe => "EOT_PE",
            Eot::Ap => "EOT_AP",
        }
    }
}

/// What a token id stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Token {
    /// Action class.
    Action(usize),
    /// Coordinate bin on axis 0 (X), 1 (Y) or 2 (Z).
    Coord {
        /// Axis.
        axis: usize,
        /// Bin.
        bin: usize,
    },
    /// End of task.
    Eot(Eot),
}

/// The unified vocabulary and the coordinate quantiser.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Vocab {
    /// Action classes (`n_cls`).
    pub classes: usize,
    /// Bins per axis (`n_bins`).
    pub bins: usize,
    /// Coordinates span `[-range, range]`.
    pub range: f32,
}

impl Vocab {
    /// Tokens in all: `n_cls + 3·n_bins + 3`.
    pub fn len(&self) -> usize {
        self.classes + 3 * self.bins + 3
    }

    /// Never empty (kept for clippy's `len` rule).
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Id of action class `c`.
    pub fn action(&self, c: usize) -> usize {
        c
    }

    /// Id of `bin` on `axis`.
    pub fn coord(&self, axis: usize, bin: usize) -> usize {
        self.classes + axis * self.bins + bin
    }

    /// Id of an end-of-task token.
    pub fn eot(&self, eot: Eot) -> usize {
        self.classes + 3 * self.bins + eot.offset()
    }

    /// What `id` stands for (`None` outside the vocabulary).
    pub fn token(&self, id: usize) -> Option<Token> {
        let coords = self.classes + 3 * self.bins;
        if id < self.classes {
            Some(Token::Action(id))
        } else if id < coords {
            let r = id - self.classes;
            Some(Token::Coord { axis: r / self.bins, bin: r % self.bins })
        } else {
            [Eot::Ar, Eot::Pe, Eot::Ap].into_iter().find(|e| self.eot(*e) == id).map(Token::Eot)
        }
    }

    /// `action 3`, `Y-bin 17`, `EOT_PE`.
    pub fn describe(&self, id: usize) -> String {
        match self.token(id) {
            Some(Token::Action(c)) => format!("action {c}"),
            Some(Token::Coord { axis, bin }) => format!("{}-bin {bin}", ["X", "Y", "Z"][axis]),
            Some(Token::Eot(e)) => e.name().to_string(),
            None => format!("token {id} (outside the vocabulary of {})", self.len()),
        }
    }

    /// Width of a bin.
    pub fn bin_width(&self) -> f32 {
        2.0 * self.range / self.bins as f32
    }

    /// The bin of `v` (clamped to the edge bins outside the range).
    pub fn quantise(&self, v: f32) -> usize {
        let b = ((v + self.range) / self.bin_width()).floor();
        if b.is_nan() || b < 0.0 { 0 } else { (b as usize).min(self.bins - 1) }
    }

    /// The centre of `bin`.
    pub fn dequantise(&self, bin: usize) -> f32 {
        -self.range + (bin as f32 + 0.5) * self.bin_width()
    }

    /// Target sequence of an action task.
    pub fn action_target(&self, class: usize, task: UpsTask) -> Vec<usize> {
        vec![self.action(class), self.eot(task.eot())]
    }

    /// Target sequence of a pose: X, Y, Z bins of every joint, then `EOT_PE`.
    pub fn pose_target(&self, joints: &[[f32; 3]]) -> Vec<usize> {
        let mut out: Vec<usize> =
            joints.iter().flat_map(|p| (0..3).map(move |a| self.coord(a, self.quantise(p[a])))).collect();
        out.push(self.eot(Eot::Pe));
        out
    }

    /// Tokens in a target of `task` (`pose_joints` joints for poses).
    pub fn target_len(&self, task: UpsTask, pose_joints: usize) -> usize {
        match task {
            UpsTask::Pose => 3 * pose_joints + 1,
            _ => 2,
        }
    }

    /// The ids a well-formed sequence of `task` may hold at position `pos`.
    pub fn allowed(&self, task: UpsTask, pose_joints: usize, pos: usize) -> Range<usize> {
        match task {
            UpsTask::Pose if pos < 3 * pose_joints => {
                let start = self.coord(pos % 3, 0);
                start..start + self.bins
            }
            UpsTask::Pose => self.eot(Eot::Pe)..self.eot(Eot::Pe) + 1,
            _ if pos == 0 => 0..self.classes,
            _ => {
                let e = self.eot(task.eot());
                e..e + 1
            }
        }
    }

    /// What a well-formed sequence of `task` holds at `pos`, in words.
    pub fn expected_at(&self, task: UpsTask, pose_joints: usize, pos: usize) -> &'static str {
        match task {
            UpsTask::Pose if pos < 3 * pose_joints => ["an X-bin", "a Y-bin", "a Z-bin"][pos % 3],
            UpsTask::Pose => "EOT_PE",
            _ if pos == 0 => "an action",
            _ => task.eot().name(),
        }
    }

    /// Reads a decoded sequence: it must end with the task's end-of-task
    /// token, after one action (action tasks) or exactly `pose_joints` X, Y,
    /// Z triples (pose).
    pub fn parse(&self, task: UpsTask, pose_joints: usize, tokens: &[usize]) -> Result<Decoded, DecodeError> {
        let end = tokens
            .iter()
            .position(|&t| matches!(self.token(t), Some(Token::Eot(_))))
            .ok_or(DecodeError::NoEot { task, len: tokens.len() })?;
        let Some(Token::Eot(found)) = self.token(tokens[end]) else { unreachable!("found an EOT above") };
        if found != task.eot() {
            return Err(DecodeError::WrongEot { task, expected: task.eot(), found, at: end });
        }
        let body = &tokens[..end];
        let unexpected = |at: usize, expected: &str| DecodeError::Unexpected {
            task,
            at,
            found: self.describe(body[at]),
            expected: expected.to_string(),
        };
        match task {
            UpsTask::Pose => {
                let mut joints = Vec::with_capacity(pose_joints);
                for (i, &t) in body.iter().enumerate() {
                    match self.token(t) {
                        Some(Token::Coord { axis, bin }) if axis == i % 3 => {
                            if axis == 0 {
                                joints.push([0.0; 3]);
                            }
                            joints.last_mut().expect("pushed at X")[axis] = self.dequantise(bin);
                        }
                        _ => return Err(unexpected(i, ["an X-bin", "a Y-bin", "a Z-bin"][i % 3])),
                    }
                }
                if body.len() != 3 * pose_joints {
                    return Err(DecodeError::CoordinateCount { got: body.len(), want: 3 * pose_joints });
                }
                Ok(Decoded::Pose(joints))
            }
            _ => match body {
                [one] => match self.token(*one) {
                    Some(Token::Action(c)) => Ok(Decoded::Action(c)),
                    _ => Err(unexpected(0, "an action")),
                },
                [] => Err(DecodeError::Unexpected {
                    task,
                    at: 0,
                    found: found.name().into(),
                    expected: "an action".into(),
                }),
                _ => Err(unexpected(1, task.eot().name())),
            },
        }
    }

    /// The text prompts whose language-model features make the vocabulary
    /// (§3.2): the class names, "The {k-th} horizontal / vertical / depth
    /// coordinate" per bin, and "action recognition / pose estimation /
    /// action prediction ends here", in token-id order.
    pub fn prompts(&self, class_names: &[String]) -> Vec<String> {
        let mut out: Vec<String> =
            (0..self.classes).map(|c| class_names.get(c).cloned().unwrap_or_else(|| format!("action {c}"))).collect();
        for axis in ["horizontal", "vertical", "depth"] {
            out.extend((0..self.bins).map(|b| format!("The {} {axis} coordinate", ordinal(b + 1))));
        }
        out.extend(
            ["action recognition ends here", "pose estimation ends here", "action prediction ends here"]
                .map(String::from),
        );
        out
    }
}

/// `1st`, `2nd`, `3rd`, `11th`, `21st`…
fn ordinal(n: usize) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

/// A well-formed decode.
#[derive(Debug, Clone, PartialEq)]
pub enum Decoded {
    /// The predicted class.
    Action(usize),
    /// The predicted joints, de-quantised.
    Pose(Vec<[f32; 3]>),
}

/// Why a decoded sequence is not a valid answer.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DecodeError {
    /// No end-of-task token within the decode length.
    #[error("the {} decode has no end-of-task token in its {len} tokens", task.name())]
    NoEot {
        /// The task.
        task: UpsTask,
        /// Tokens decoded.
        len: usize,
    },
    /// Another task's end-of-task token.
    #[error("the {} decode ends with {} at position {at}; expected {}", task.name(), found.name(), expected.name())]
    WrongEot {
        /// The task.
        task: UpsTask,
        /// Its token.
        expected: Eot,
        /// The token decoded.
        found: Eot,
        /// Where.
        at: usize,
    },
    /// A token of the wrong kind.
    #[error("the {} decode has {found} at position {at}; expected {expected}", task.name())]
    Unexpected {
        /// The task.
        task: UpsTask,
        /// Where.
        at: usize,
        /// What it holds.
        found: String,
        /// What belongs there.
        expected: String,
    },
    /// Too few or too many coordinates before `EOT_PE`.
    #[error("the pose decode has {got} coordinates before EOT_PE; expected {want}")]
    CoordinateCount {
        /// Coordinates decoded.
        got: usize,
        /// Coordinates of a full pose.
        want: usize,
    },
}

/// One sample's greedy decode.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodeOutcome {
    /// The sequence decoded with every step restricted to what a
    /// well-formed answer holds there (always parses).
    pub tokens: Vec<usize>,
    /// Whether the unrestricted greedy decode (which equals `tokens` up to
    /// its first ill-formed token) is well-formed; the error says where it
    /// went wrong.
    pub free: Result<(), DecodeError>,
    /// Logits of the first step (action tasks: the class scores).
    pub first_logits: Vec<f32>,
}

fn argmax_in(logits: &[f32], range: Range<usize>) -> usize {
    let mut best = range.start;
    for i in range {
        if logits[i] > logits[best] {
            best = i;
        }
    }
    best
}

/// Greedy decoding of `n` samples of `task`: `step(prefixes)` returns the
/// next-token logits of every sample given its prefix. Decoding stops at
/// the task's end-of-task token. The answer is the decode restricted to
/// well-formed sequences; where the unrestricted argmax leaves them (a
/// wrong EOT, too few coordinates, an action where a bin belongs) the
/// sample's `free` says so instead of the decode failing.
pub fn greedy_decode(
    vocab: &Vocab,
    task: UpsTask,
    pose_joints: usize,
    n: usize,
    mut step: impl FnMut(&[Vec<usize>]) -> Vec<Vec<f32>>,
) -> Vec<DecodeOutcome> {
    let len = vocab.target_len(task, pose_joints);
    let mut out: Vec<DecodeOutcome> = (0..n)
        .map(|_| DecodeOutcome { tokens: Vec::with_capacity(len), free: Ok(()), first_logits: Vec::new() })
        .collect();
    for pos in 0..len {
        let prefixes: Vec<Vec<usize>> = out.iter().map(|o| o.tokens.clone()).collect();
        let logits = step(&prefixes);
        let allowed = vocab.allowed(task, pose_joints, pos);
        for (o, l) in out.iter_mut().zip(&logits) {
            if pos == 0 {
                o.first_logits = l.clone();
            }
            let free = argmax_in(l, 0..l.len());
            let kept = argmax_in(l, allowed.clone());
            if free != kept && o.free.is_ok() {
                o.free = Err(match vocab.token(free) {
                    // An end token too early, another task's, or none at all.
                    Some(Token::Eot(_)) => {
                        let mut seq = o.tokens.clone();
                        seq.push(free);
                        vocab
                            .parse(task, pose_joints, &seq)
                            .err()
                            .unwrap_or(DecodeError::NoEot { task, len: seq.len() })
                    }
                    _ => DecodeError::Unexpected {
                        task,
                        at: pos,
                        found: vocab.describe(free),
                        expected: vocab.expected_at(task, pose_joints, pos).to_string(),
                    },
                });
            }
            o.tokens.push(kept);
        }
    }
    out
}

/// Model sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum UpsSize {
    /// Joint tokens of 8 (frame tokens of 25·8 = 200), 2 encoder layers,
    /// decoder width 64 with 2 layers: trains on two CPU cores.
    Tiny,
    /// §4: 3 encoder and 3 decoder layers, `q = 256`; joint tokens of 64
    /// and decoder width 256 (not stated in the paper).
    Paper,
}

/// The widths of a size.
#[derive(Debug, Clone, Copy)]
pub struct UpsDims {
    /// Joint token width `d`.
    pub token: usize,
    /// Encoder layers `L`.
    pub layers: usize,
    /// Attention heads of a TEM.
    pub tem_heads: usize,
    /// Decoder width.
    pub dec_width: usize,
    /// Decoder layers.
    pub dec_layers: usize,
    /// Decoder heads.
    pub dec_heads: usize,
    /// Task and block embedding width `q`.
    pub embed: usize,
    /// Temporal kernel of the tokenizer's TCN-GCN layers.
    pub temporal_kernel: usize,
    /// Default bins per axis.
    pub bins: usize,
}

impl UpsSize {
    /// The widths.
    pub fn dims(self) -> UpsDims {
        match self {
            UpsSize::Tiny => UpsDims {
                token: 8,
                layers: 2,
                tem_heads: 4,
                dec_width: 64,
                dec_layers: 2,
                dec_heads: 4,
                embed: 32,
                temporal_kernel: 5,
                bins: 127,
            },
            UpsSize::Paper => UpsDims {
                token: 64,
                layers: 3,
                tem_heads: 8,
                dec_width: 256,
                dec_layers: 3,
                dec_heads: 8,
                embed: 256,
                temporal_kernel: 9,
                bins: 999,
            },
        }
    }
}

fn default_range() -> f32 {
    1.1
}
fn default_frames() -> usize {
    32
}
fn default_pose_joints() -> usize {
    17
}
fn default_max_joints() -> usize {
    25
}
fn default_blocks() -> usize {
    2
}
fn default_tau() -> f64 {
    1.0
}

/// UPS hyper-parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct UpsConfig {
    /// Action classes (`n_cls`): the action tokens of every action task.
    pub num_classes: usize,
    /// Size preset.
    pub size: UpsSize,
    /// Bins per axis (`n_bins`); the size's default when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bins: Option<usize>,
    /// Coordinates are quantised over `[-coord-range, coord-range]` (metres).
    #[serde(default = "default_range")]
    pub coord_range: f32,
    /// Input frames `T`.
    #[serde(default = "default_frames")]
    pub frames: usize,
    /// Joints of a lifted pose (the decode length is `3·pose-joints + 1`).
    #[serde(default = "default_pose_joints")]
    pub pose_joints: usize,
    /// Skeletons are zero-padded to this many joints.
    #[serde(default = "default_max_joints")]
    pub max_joints: usize,
    /// Parallel blocks per encoder layer (`H`); 1 is the no-routing ablation.
    #[serde(default = "default_blocks")]
    pub blocks: usize,
    /// Gumbel-softmax temperature (constant).
    #[serde(default = "default_tau")]
    pub gumbel_tau: f64,
    /// Dropout in the transformers.
    #[serde(default)]
    pub dropout: f64,
    /// `[vocab, d_text]` text features of the vocabulary's prompts (`.npy`,
    /// an entry of the stage's `inputs`); learned embeddings when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_features: Option<String>,
}

impl UpsConfig {
    /// A config with the defaults.
    pub fn new(num_classes: usize, size: UpsSize) -> Self {
        Self {
            num_classes,
            size,
            bins: None,
            coord_range: default_range(),
            frames: default_frames(),
            pose_joints: default_pose_joints(),
            max_joints: default_max_joints(),
            blocks: default_blocks(),
            gumbel_tau: default_tau(),
            dropout: 0.0,
            text_features: None,
        }
    }

    /// The vocabulary.
    pub fn vocab(&self) -> Vocab {
        Vocab { classes: self.num_classes, bins: self.bins.unwrap_or(self.size.dims().bins), range: self.coord_range }
    }

    /// Checks the values, saying which one is wrong.
    pub fn validate(&self) -> Result<(), String> {
        if self.num_classes == 0 || self.frames == 0 || self.pose_joints == 0 || self.blocks == 0 {
            return Err("`num-classes`, `frames`, `pose-joints` and `blocks` must be at least 1".into());
        }
        if self.bins.is_some_and(|b| b < 2) {
            return Err("`bins` must be at least 2".into());
        }
        if !(self.coord_range > 0.0 && self.coord_range.is_finite()) {
            return Err(format!("`coord-range` must be a positive number of metres, not {}", self.coord_range));
        }
        if self.max_joints < 25 {
            return Err(format!("`max-joints` must hold the largest skeleton (NTU: 25), not {}", self.max_joints));
        }
        if !(self.gumbel_tau > 0.0 && self.gumbel_tau.is_finite()) {
            return Err(format!("`gumbel-tau` must be positive, not {}", self.gumbel_tau));
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(format!("`dropout` must be in [0, 1), not {}", self.dropout));
        }
        Ok(())
    }

    /// Builds the model; `text` is the `[vocab, d_text]` feature matrix
    /// when the config names one.
    pub fn init<B: Backend>(&self, text: Option<(Vec<f32>, [usize; 2])>, device: &B::Device) -> Ups<B> {
        let d = self.size.dims();
        let vocab = self.vocab();
        let width = self.max_joints * d.token;
        let shape = |c_in: usize, residual: bool| BlockShape {
            c_in,
            c_out: d.token,
            stride: 1,
            residual,
            partitions: 3,
            temporal_kernel: d.temporal_kernel,
            dropout: 0.0,
        };
        let tokenizer = vec![
            Block::new(shape(3, false), device),
            Block::new(shape(d.token, true), device),
            Block::new(shape(d.token, true), device),
        ];
        let layers = (0..d.layers)
            .map(|_| {
                (0..self.blocks)
                    .map(|_| SemTem {
                        sem: vec![GraphConv::new(d.token, device), GraphConv::new(d.token, device)],
                        tem: TransformerEncoderConfig::new(width, width, d.tem_heads, 1)
                            .with_dropout(self.dropout)
                            .with_norm_first(true)
                            .init(device),
                        joints: self.max_joints,
                    })
                    .collect()
            })
            .collect();
        let normal = |shape: [usize; 2], std: f64| {
            Param::from_tensor(Tensor::random(shape, Distribution::Normal(0.0, std), device))
        };
        let (tokens, text_proj, text) = match text {
            Some((values, [rows, cols])) => {
                (None, Some(LinearConfig::new(cols, d.dec_width).init(device)), Some((values, [rows, cols])))
            }
            None => (Some(normal([vocab.len(), d.dec_width], 0.02)), None, None),
        };
        let max_len = vocab.target_len(UpsTask::Pose, self.pose_joints).max(2);
        Ups {
            tokenizer,
            frame_pos: normal([self.frames, width], 0.02),
            layers,
            task_embed: normal([UpsTask::ALL.len(), d.embed], 1.0),
            block_embed: Param::from_tensor(Tensor::random(
                [d.layers, self.blocks, d.embed],
                Distribution::Normal(0.0, 1.0 / (d.embed as f64).sqrt()),
                device,
            )),
            memory: LinearConfig::new(width, d.dec_width).init(device),
            start: LinearConfig::new(d.embed, d.dec_width).init(device),
            tokens,
            text_proj,
            dec_pos: normal([max_len, d.dec_width], 0.02),
            decoder: TransformerDecoderConfig::new(d.dec_width, 2 * d.dec_width, d.dec_heads, d.dec_layers)
                .with_dropout(self.dropout)
                .with_norm_first(true)
                .init(device),
            norm: LayerNormConfig::new(d.dec_width).init(device),
            text,
            vocab_len: vocab.len(),
            max_joints: self.max_joints,
            frames: self.frames,
        }
    }
}

/// A spatial graph convolution with a residual: `relu(BN(Σ_k W_k x A_k) + x)`.
#[derive(Module, Debug)]
struct GraphConv<B: Backend> {
    conv: TimeConv<B>,
    bn: BatchNorm<B>,
    channels: usize,
}

impl<B: Backend> GraphConv<B> {
    fn new(channels: usize, device: &B::Device) -> Self {
        Self {
            conv: TimeConv::new(channels, 3 * channels, 1, 1, device),
            bn: BatchNormConfig::new(channels).init(device),
            channels,
        }
    }

    fn forward(&self, x: Tensor<B, 4>, a: Tensor<B, 3>) -> Tensor<B, 4> {
        let [n, c, t, v] = x.dims();
        let [k, _, _] = a.dims();
        let y = self.conv.forward(x.clone()).reshape([n, k, c * t, v]);
        let y = y.matmul(a.unsqueeze_dim::<4>(0).expand([n, k, v, v])).sum_dim(1).reshape([n, self.channels, t, v]);
        relu(self.bn.forward(y) + x)
    }
}

/// One SEM-TEM block: two graph convolutions, then a transformer layer over
/// frame tokens of width `V·d`.
#[derive(Module, Debug)]
struct SemTem<B: Backend> {
    sem: Vec<GraphConv<B>>,
    tem: TransformerEncoder<B>,
    joints: usize,
}

impl<B: Backend> SemTem<B> {
    /// `[N, d, T, V]` → `[N, d, T, V]`.
    fn forward(&self, x: Tensor<B, 4>, a: &Tensor<B, 3>) -> Tensor<B, 4> {
        let mut x = x;
        for g in &self.sem {
            x = g.forward(x, a.clone());
        }
        let [n, d, t, v] = x.dims();
        let frames = x.permute([0, 2, 3, 1]).reshape([n, t, v * d]);
        let y = self.tem.forward(TransformerEncoderInput::new(frames));
        y.reshape([n, t, v, d]).permute([0, 3, 1, 2])
    }
}

/// How the encoder picks its blocks.
#[derive(Debug, Clone, PartialEq)]
pub enum Routing {
    /// Training: Gumbel-softmax with a straight-through hard sample;
    /// `uniforms` holds `L·H` draws from `(0, 1)` (layer-major) and `tau`
    /// is the temperature.
    Sample {
        /// Uniform draws, one per layer and block.
        uniforms: Vec<f64>,
        /// Temperature.
        tau: f64,
    },
    /// Test: the block with the highest score, deterministically.
    Argmax,
}

/// `-ln(-ln u)` with `u` kept inside `(1e-10, 1 - 1e-10)`.
pub fn gumbel_noise(u: f64) -> f64 {
    let u = u.clamp(1e-10, 1.0 - 1e-10);
    -(-u.ln()).ln()
}

/// Gumbel-softmax of one layer's block scores `[H]`: the soft sample
/// `softmax((s + g) / tau)` and, straight-through, the one-hot of its
/// argmax in the forward pass with the soft sample's gradient. Returns the
/// weights `[H]` and the chosen block.
pub fn gumbel_softmax_hard<B: Backend>(scores: Tensor<B, 1>, noise: &[f64], tau: f64) -> (Tensor<B, 1>, usize) {
    let device = scores.device();
    let h = noise.len();
    let g: Tensor<B, 1> =
        Tensor::from_data(TensorData::new(noise.iter().map(|&x| x as f32).collect::<Vec<_>>(), [h]), &device);
    let soft = softmax((scores + g).div_scalar(tau as f32), 0);
    let values = soft.clone().into_data().to_vec::<f32>().unwrap_or_default();
    let chosen = argmax_in(&values, 0..h);
    let one_hot: Tensor<B, 1> = Tensor::from_data(
        TensorData::new((0..h).map(|i| if i == chosen { 1.0f32 } else { 0.0 }).collect::<Vec<_>>(), [h]),
        &device,
    );
    (one_hot - soft.clone().detach() + soft, chosen)
}

/// The UPS network.
#[derive(Module, Debug)]
pub struct Ups<B: Backend> {
    tokenizer: Vec<Block<B>>,
    frame_pos: Param<Tensor<B, 2>>,
    layers: Vec<Vec<SemTem<B>>>,
    task_embed: Param<Tensor<B, 2>>,
    block_embed: Param<Tensor<B, 3>>,
    memory: Linear<B>,
    start: Linear<B>,
    tokens: Option<Param<Tensor<B, 2>>>,
    text_proj: Option<Linear<B>>,
    dec_pos: Param<Tensor<B, 2>>,
    decoder: TransformerDecoder<B>,
    norm: LayerNorm<B>,
    /// Frozen text features `[vocab, d_text]` (not part of the record: the
    /// train stage keeps the `.npy` next to the weights).
    #[module(skip)]
    text: Option<(Vec<f32>, [usize; 2])>,
    vocab_len: usize,
    max_joints: usize,
    frames: usize,
}

/// The encoded input of a batch.
#[derive(Debug, Clone)]
pub struct Encoded<B: Backend> {
    /// `[N, T, d_dec]`, what the decoder attends.
    pub memory: Tensor<B, 3>,
    /// The block chosen in each encoder layer.
    pub route: Vec<usize>,
    /// The task.
    pub task: UpsTask,
}

impl<B: Backend> Ups<B> {
    /// The block scores `B_{l,h} · τ` of `task` in layer `l`, `[H]`.
    pub fn block_scores(&self, task: UpsTask, l: usize) -> Tensor<B, 1> {
        let [_, h, q] = self.block_embed.dims();
        let tau = self.task_embed.val().narrow(0, task.index(), 1).reshape([q, 1]);
        self.block_embed.val().narrow(0, l, 1).reshape([h, q]).matmul(tau).reshape([h])
    }

    /// Encodes skeletons `[N, C ≤ 3, T, V ≤ max-joints]` of a `layout`
    /// (zero-padded to 3 channels and `max-joints` joints) for `task`.
    pub fn encode(&self, joints: Tensor<B, 4>, layout: Layout, task: UpsTask, routing: &Routing) -> Encoded<B> {
        let device = joints.device();
        let [n, c, t, v] = joints.dims();
        assert!(c <= 3 && v <= self.max_joints, "skeletons of {c} channels and {v} joints do not fit the model");
        assert_eq!(t, self.frames, "the model takes {} frames", self.frames);
        let mut x = joints;
        if c < 3 {
            x = Tensor::cat(vec![x, Tensor::zeros([n, 3 - c, t, v], &device)], 1);
        }
        let vm = self.max_joints;
        if v < vm {
            x = Tensor::cat(vec![x, Tensor::zeros([n, 3, t, vm - v], &device)], 3);
        }
        let a: Tensor<B, 3> =
            Tensor::from_data(TensorData::new(Graph::new(layout).padded_partitions(vm), [3, vm, vm]), &device);
        for block in &self.tokenizer {
            x = block.forward(x, a.clone());
        }
        let [_, d, _, _] = x.dims();
        let pos = self.frame_pos.val().reshape([1, t, vm, d]).permute([0, 3, 1, 2]);
        x = x + pos;
        let mut route = Vec::with_capacity(self.layers.len());
        for (l, blocks) in self.layers.iter().enumerate() {
            let h = blocks.len();
            if h == 1 {
                x = blocks[0].forward(x, &a);
                route.push(0);
                continue;
            }
            let scores = self.block_scores(task, l);
            match routing {
                Routing::Sample { uniforms, tau } => {
                    let noise: Vec<f64> =
                        (0..h).map(|i| gumbel_noise(uniforms.get(l * h + i).copied().unwrap_or(0.5))).collect();
                    let (weights, chosen) = gumbel_softmax_hard(scores, &noise, *tau);
                    // Every block runs so each weight gets its gradient; the
                    // forward value is the chosen block's output alone.
                    let mut out: Option<Tensor<B, 4>> = None;
                    for (i, block) in blocks.iter().enumerate() {
                        let y = block.forward(x.clone(), &a) * weights.clone().narrow(0, i, 1).reshape([1, 1, 1, 1]);
                        out = Some(match out {
                            Some(o) => o + y,
                            None => y,
                        });
                    }
                    x = out.expect("H >= 2");
                    route.push(chosen);
                }
                Routing::Argmax => {
                    let values = scores.into_data().to_vec::<f32>().unwrap_or_default();
                    let chosen = argmax_in(&values, 0..h);
                    x = blocks[chosen].forward(x, &a);
                    route.push(chosen);
                }
            }
        }
        let [_, d, t, v] = x.dims();
        let frames = x.permute([0, 2, 3, 1]).reshape([n, t, v * d]);
        Encoded { memory: self.memory.forward(frames), route, task }
    }

    /// The vocabulary's token embeddings `[vocab, d_dec]`.
    pub fn token_table(&self, device: &B::Device) -> Tensor<B, 2> {
        match (&self.tokens, &self.text_proj, &self.text) {
            (Some(t), _, _) => t.val(),
            (None, Some(proj), Some((values, shape))) => {
                proj.forward(Tensor::from_data(TensorData::new(values.clone(), *shape), device))
            }
            _ => unreachable!("a model has learned embeddings or text features"),
        }
    }

    /// The decoder's first input for `task`, `[1, d_dec]`.
    fn start_token(&self, task: UpsTask) -> Tensor<B, 2> {
        let [_, q] = self.task_embed.dims();
        self.start.forward(self.task_embed.val().narrow(0, task.index(), 1).reshape([1, q]))
    }

    /// Next-token logits `[N, K, vocab]` for decoder inputs already embedded
    /// (`[N, K, d_dec]`, position 0 the start token); position `k` sees
    /// inputs `0..=k` only.
    pub fn decode_embedded(&self, memory: Tensor<B, 3>, inputs: Tensor<B, 3>, table: &Tensor<B, 2>) -> Tensor<B, 3> {
        let [n, k, w] = inputs.dims();
        let device = inputs.device();
        let x = inputs + self.dec_pos.val().narrow(0, 0, k).unsqueeze_dim::<3>(0);
        let mask = generate_autoregressive_mask::<B>(n, k, &device);
        let h = self.decoder.forward(TransformerDecoderInput::new(x, memory).target_mask_attn(mask));
        let h = self.norm.forward(h).reshape([n * k, w]);
        h.matmul(table.clone().transpose()).reshape([n, k, self.vocab_len])
    }

    /// Decoder inputs `[start, tokens…]`, `[N, 1 + K, d_dec]`.
    pub fn embed_inputs(&self, task: UpsTask, tokens: &[Vec<usize>], table: &Tensor<B, 2>) -> Tensor<B, 3> {
        let device = table.device();
        let n = tokens.len();
        let k = tokens.first().map_or(0, Vec::len);
        let [_, w] = table.dims();
        let start = self.start_token(task).unsqueeze_dim::<3>(0).expand([n, 1, w]);
        if k == 0 {
            return start;
        }
        let ids: Vec<i64> = tokens.iter().flat_map(|t| t.iter().map(|&i| i as i64)).collect();
        let ids: Tensor<B, 1, Int> = Tensor::from_data(TensorData::new(ids, [n * k]), &device);
        Tensor::cat(vec![start, table.clone().select(0, ids).reshape([n, k, w])], 1)
    }

    /// Teacher-forced logits `[N, K, vocab]` of target sequences (all of
    /// length `K`): position `k` predicts `targets[k]` from the start token
    /// and `targets[..k]`.
    pub fn teacher_forced(&self, encoded: &Encoded<B>, targets: &[Vec<usize>]) -> Tensor<B, 3> {
        let table = self.token_table(&encoded.memory.device());
        let shifted: Vec<Vec<usize>> = targets.iter().map(|t| t[..t.len().saturating_sub(1)].to_vec()).collect();
        let inputs = self.embed_inputs(encoded.task, &shifted, &table);
        self.decode_embedded(encoded.memory.clone(), inputs, &table)
    }

    /// Greedy decoding of an encoded batch (see [`greedy_decode`]).
    pub fn greedy(&self, encoded: &Encoded<B>, vocab: &Vocab, pose_joints: usize) -> Vec<DecodeOutcome> {
        let table = self.token_table(&encoded.memory.device());
        let [n, _, _] = encoded.memory.dims();
        greedy_decode(vocab, encoded.task, pose_joints, n, |prefixes| {
            let inputs = self.embed_inputs(encoded.task, prefixes, &table);
            let logits = self.decode_embedded(encoded.memory.clone(), inputs, &table);
            let [n, k, v] = logits.dims();
            let last = logits.narrow(1, k - 1, 1).reshape([n, v]);
            let values = last.into_data().to_vec::<f32>().unwrap_or_default();
            values.chunks(v).map(<[f32]>::to_vec).collect()
        })
    }
}
