//! ST-GCN (Yan, Xiong, Lin 2018): spatial graph convolutions over the
//! skeleton with spatial-configuration partitioning, temporal convolutions,
//! residual blocks and learnable edge importance.

use burn::module::{Module, Param};
use burn::nn::{BatchNorm, BatchNormConfig, Dropout, DropoutConfig, Linear, LinearConfig};
use burn::tensor::activation::relu;
use burn::tensor::backend::Backend;
use burn::tensor::{Distribution, Int, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use crate::graph::{Graph, Layout};

/// Model sizes, from a CPU-test toy to the paper's ten blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum StGcnSize {
    /// Two blocks, 8 and 16 channels: for tests on CPU.
    Tiny,
    /// Six blocks, 32 to 128 channels: the `small` synthetic preset.
    Small,
    /// The paper's ten blocks, 64 to 256 channels.
    Standard,
}

impl StGcnSize {
    /// `(out_channels, temporal stride)` of every block.
    pub fn blocks(self) -> Vec<(usize, usize)> {
        match self {
            StGcnSize::Tiny => vec![(8, 1), (16, 2)],
            StGcnSize::Small => vec![(32, 1), (32, 1), (64, 2), (64, 1), (128, 2), (128, 1)],
            StGcnSize::Standard => {
                vec![(64, 1), (64, 1), (64, 1), (64, 1), (128, 2), (128, 1), (128, 1), (256, 2), (256, 1), (256, 1)]
            }
        }
    }
}

fn default_in_channels() -> usize {
    3
}
fn default_persons() -> usize {
    2
}
fn default_temporal_kernel() -> usize {
    9
}
fn default_dropout() -> f64 {
    0.5
}
fn default_true() -> bool {
    true
}
fn default_layout() -> Layout {
    Layout::NtuRgbd
}

/// ST-GCN hyper-parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct StGcnConfig {
    /// Number of action classes.
    pub num_classes: usize,
    /// Size preset.
    pub size: StGcnSize,
    /// Coordinates per joint.
    #[serde(default = "default_in_channels")]
    pub in_channels: usize,
    /// Bodies per sample (`M`).
    #[serde(default = "default_persons")]
    pub max_persons: usize,
    /// Skeleton layout.
    #[serde(default = "default_layout")]
    pub layout: Layout,
    /// Temporal kernel size (odd).
    #[serde(default = "default_temporal_kernel")]
    pub temporal_kernel: usize,
    /// Dropout inside the temporal convolution units.
    #[serde(default = "default_dropout")]
    pub dropout: f64,
    /// Learnable per-block edge weights.
    #[serde(default = "default_true")]
    pub edge_importance: bool,
}

impl StGcnConfig {
    /// A config with the defaults for `num_classes` and `size`.
    pub fn new(num_classes: usize, size: StGcnSize) -> Self {
        Self {
            num_classes,
            size,
            in_channels: default_in_channels(),
            max_persons: default_persons(),
            layout: default_layout(),
            temporal_kernel: default_temporal_kernel(),
            dropout: default_dropout(),
            edge_importance: true,
        }
    }

    /// Checks the values, saying which one is wrong.
    pub fn validate(&self) -> Result<(), String> {
        if self.num_classes == 0 || self.in_channels == 0 || self.max_persons == 0 {
            return Err("`num_classes`, `in_channels` and `max_persons` must be at least 1".into());
        }
        if self.temporal_kernel.is_multiple_of(2) {
            return Err(format!("`temporal_kernel` must be odd, not {}", self.temporal_kernel));
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(format!("`dropout` must be in [0, 1), not {}", self.dropout));
        }
        Ok(())
    }

    /// Builds the model with freshly initialised weights.
    pub fn init<B: Backend>(&self, device: &B::Device) -> StGcn<B> {
        let graph = Graph::new(self.layout);
        let v = graph.num_nodes;
        let partitions = 3;
        let mut blocks = Vec::new();
        let mut importance = Vec::new();
        let mut c_in = self.in_channels;
        for (i, &(c_out, stride)) in self.size.blocks().iter().enumerate() {
            let shape = BlockShape {
                c_in,
                c_out,
                stride,
                residual: i > 0,
                partitions,
                temporal_kernel: self.temporal_kernel,
                dropout: self.dropout,
            };
            blocks.push(Block::new(shape, device));
            if self.edge_importance {
                importance.push(Param::from_tensor(Tensor::ones([partitions, v, v], device)));
            }
            c_in = c_out;
        }
        StGcn {
            data_bn: BatchNormConfig::new(self.max_persons * v * self.in_channels).init(device),
            blocks,
            importance,
            head: LinearConfig::new(c_in, self.num_classes).init(device),
            adjacency: graph.spatial_partitions(),
            joints: v,
            persons: self.max_persons,
            partitions,
        }
    }
}

/// A `k×1` convolution over time (the same for every joint), as one
/// matrix product over the stacked shifted inputs (im2col).
///
/// Hand-written instead of `burn::nn::conv::Conv2d` because Burn's ndarray
/// convolution is a naive loop that makes CPU training of even the tiny
/// model take seconds per step, while the matrix product uses a tuned GEMM;
/// the result is the same convolution (zero padding `(k-1)/2`, stride `s`).
#[derive(Module, Debug)]
pub struct TimeConv<B: Backend> {
    /// `[C_out, k * C_in]`, columns ordered (offset, input channel).
    weight: Param<Tensor<B, 2>>,
    bias: Param<Tensor<B, 1>>,
    kernel: usize,
    stride: usize,
}

impl<B: Backend> TimeConv<B> {
    /// A `kernel×1` convolution from `c_in` to `c_out` channels.
    pub fn new(c_in: usize, c_out: usize, kernel: usize, stride: usize, device: &B::Device) -> Self {
        // PyTorch's default conv initialisation bound: 1 / sqrt(fan_in).
        let bound = 1.0 / ((c_in * kernel) as f64).sqrt();
        Self {
            weight: Param::from_tensor(Tensor::random(
                [c_out, kernel * c_in],
                Distribution::Uniform(-bound, bound),
                device,
            )),
            bias: Param::from_tensor(Tensor::random([c_out], Distribution::Uniform(-bound, bound), device)),
            kernel,
            stride,
        }
    }

    /// `[N, C_in, T, V]` → `[N, C_out, T_out, V]`.
    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let [n, c, t, v] = x.dims();
        let [c_out, _] = self.weight.dims();
        let pad = (self.kernel - 1) / 2;
        let device = x.device();
        let x = if pad > 0 {
            let z = Tensor::zeros([n, c, pad, v], &device);
            Tensor::cat(vec![z.clone(), x, z], 2)
        } else {
            x
        };
        let t_out = (t + 2 * pad - self.kernel) / self.stride + 1;
        let shifts: Vec<Tensor<B, 4>> = (0..self.kernel)
            .map(|k| {
                if self.stride == 1 {
                    x.clone().narrow(2, k, t_out)
                } else {
                    let idx: Vec<i64> = (0..t_out).map(|i| (k + i * self.stride) as i64).collect();
                    x.clone().select(2, Tensor::<B, 1, Int>::from_data(TensorData::new(idx, [t_out]), &device))
                }
            })
            .collect();
        let cols = Tensor::cat(shifts, 1).reshape([n, self.kernel * c, t_out * v]);
        let w = self.weight.val().unsqueeze_dim::<3>(0).expand([n, c_out, self.kernel * c]);
        let y = w.matmul(cols) + self.bias.val().reshape([1, c_out, 1]);
        y.reshape([n, c_out, t_out, v])
    }

    /// Weight `[C_out, k * C_in]` (columns ordered offset, then channel) and bias.
    pub fn parameters(&self) -> (Tensor<B, 2>, Tensor<B, 1>) {
        (self.weight.val(), self.bias.val())
    }
}

/// Residual branch of a block whose shape changes: 1×1 conv + BN.
#[derive(Module, Debug)]
struct Downsample<B: Backend> {
    conv: TimeConv<B>,
    bn: BatchNorm<B>,
}

/// One spatial-temporal graph convolution block (a TCN-GCN layer: UPS's
/// joint tokenizer stacks three).
#[derive(Module, Debug)]
pub(crate) struct Block<B: Backend> {
    gcn: TimeConv<B>,
    bn1: BatchNorm<B>,
    tcn: TimeConv<B>,
    bn2: BatchNorm<B>,
    dropout: Dropout,
    downsample: Option<Downsample<B>>,
    identity: bool,
    out_channels: usize,
}

/// The shape of a [`Block`].
pub(crate) struct BlockShape {
    pub c_in: usize,
    pub c_out: usize,
    pub stride: usize,
    pub residual: bool,
    pub partitions: usize,
    pub temporal_kernel: usize,
    pub dropout: f64,
}

impl<B: Backend> Block<B> {
    pub(crate) fn new(shape: BlockShape, device: &B::Device) -> Self {
        let BlockShape { c_in, c_out, stride, residual, partitions, temporal_kernel, dropout } = shape;
        let tcn = TimeConv::new(c_out, c_out, temporal_kernel, stride, device);
        let identity = residual && c_in == c_out && stride == 1;
        let downsample = (residual && !identity).then(|| Downsample {
            conv: TimeConv::new(c_in, c_out, 1, stride, device),
            bn: BatchNormConfig::new(c_out).init(device),
        });
        Self {
            gcn: TimeConv::new(c_in, c_out * partitions, 1, 1, device),
            bn1: BatchNormConfig::new(c_out).init(device),
            tcn,
            bn2: BatchNormConfig::new(c_out).init(device),
            dropout: DropoutConfig::new(dropout).init(),
            downsample,
            identity,
            out_channels: c_out,
        }
    }

    /// `x`: `[N, C, T, V]`; `a`: `[K, V, V]`.
    pub(crate) fn forward(&self, x: Tensor<B, 4>, a: Tensor<B, 3>) -> Tensor<B, 4> {
        let [n, _, t, v] = x.dims();
        let [k, _, _] = a.dims();
        let c = self.out_channels;
        let res = if self.identity {
            Some(x.clone())
        } else {
            self.downsample.as_ref().map(|d| d.bn.forward(d.conv.forward(x.clone())))
        };
        // Spatial graph convolution: sum_k (W_k x) A_k.
        let y = self.gcn.forward(x).reshape([n, k, c * t, v]);
        let y = y.matmul(a.unsqueeze_dim::<4>(0).expand([n, k, v, v])).sum_dim(1).reshape([n, c, t, v]);
        // Temporal convolution unit.
        let y = self.bn2.forward(self.tcn.forward(relu(self.bn1.forward(y))));
        let y = self.dropout.forward(y);
        relu(match res {
            Some(r) => y + r,
            None => y,
        })
    }
}

/// ST-GCN over `[N, C, T, V, M]` skeletons, returning `[N, classes]` logits.
#[derive(Module, Debug)]
pub struct StGcn<B: Backend> {
    data_bn: BatchNorm<B>,
    blocks: Vec<Block<B>>,
    importance: Vec<Param<Tensor<B, 3>>>,
    head: Linear<B>,
    #[module(skip)]
    adjacency: Vec<f32>,
    joints: usize,
    persons: usize,
    partitions: usize,
}

impl<B: Backend> StGcn<B> {
    /// Class logits of a batch of skeletons `[N, C, T, V, M]`.
    pub fn forward(&self, x: Tensor<B, 5>) -> Tensor<B, 2> {
        let [n, c, t, v, m] = x.dims();
        assert_eq!((v, m), (self.joints, self.persons), "input joints/persons differ from the model's");
        let device = x.device();
        // [N, C, T, V, M] -> [N, M*V*C, T] for the input batch norm.
        let x = x.permute([0, 4, 3, 1, 2]).reshape([n, m * v * c, t]);
        let x = self.data_bn.forward(x);
        let mut x = x.reshape([n, m, v, c, t]).permute([0, 1, 3, 4, 2]).reshape([n * m, c, t, v]);
        let a: Tensor<B, 3> = Tensor::from_data(
            TensorData::new(self.adjacency.clone(), [self.partitions, self.joints, self.joints]),
            &device,
        );
        for (i, block) in self.blocks.iter().enumerate() {
            let a_i = match self.importance.get(i) {
                Some(w) => a.clone() * w.val(),
                None => a.clone(),
            };
            x = block.forward(x, a_i);
        }
        let [_, c_out, t_out, _] = x.dims();
        // Global average over time, joints and then persons.
        let x = x.reshape([n * m, c_out, t_out * v]).mean_dim(2).reshape([n, m, c_out]).mean_dim(1).reshape([n, c_out]);
        self.head.forward(x)
    }
}
