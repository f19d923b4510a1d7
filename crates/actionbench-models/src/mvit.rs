//! MViTv2 (Li et al. 2022), as PySlowFast's `MVITv2_S_16x4` builds it: a
//! 3D-conv patch embedding, then multiscale blocks whose attention pools
//! Q, K and V with depthwise 3D convolutions, adds decomposed relative
//! position biases (height, width, time) and the pooled query back
//! (residual pooling); channels and heads double where the query is pooled
//! (stage transitions), and the key/value stride adapts so K and V stay
//! small. A CLS token is classified by a linear head.
//!
//! Burn 0.21 has no 3D pooling layer: the skip connection's max pool runs as
//! a 2D pool over `[B·T, C, H, W]` (its temporal kernel is 1 wherever the
//! query is pooled, so nothing is lost). Q/K/V pooling and the patch
//! embedding are `Conv3d` modules computed by [`crate::conv3d`] (a gather
//! of kernel taps and a matmul: Burn's ndarray conv3d is slow on the CPU).
//! Parameter names follow PySlowFast's (`patch_embed.proj`, `blocks.N.attn.
//! pool_q`, `rel_pos_h`, …) so a checkpoint maps onto them one to one.

use burn::module::{Module, Param};
use burn::nn::conv::{Conv3d, Conv3dConfig};
use burn::nn::{
    Dropout, DropoutConfig, Initializer, LayerNorm, LayerNormConfig, Linear, LinearConfig, PaddingConfig3d,
};
use burn::tensor::activation::{gelu, softmax};
use burn::tensor::backend::Backend;
use burn::tensor::{Distribution, Int, Tensor};
use serde::{Deserialize, Serialize};

/// Model sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum MvitSize {
    /// 4 blocks, 24 → 96 channels: trains on two CPU cores in minutes.
    Tiny,
    /// MViTv2-S: 16 blocks, 96 → 768 channels, 1 → 8 heads.
    S,
}

impl MvitSize {
    /// `(blocks, embed dim, heads, blocks where Q is pooled and dims double, KV stride of block 0)`.
    fn dims(self) -> (usize, usize, usize, &'static [usize], [usize; 3]) {
        match self {
            MvitSize::Tiny => (4, 24, 1, &[1, 3], [1, 4, 4]),
            MvitSize::S => (16, 96, 1, &[1, 3, 14], [1, 8, 8]),
        }
    }

    /// Number of blocks.
    pub(crate) fn depth(self) -> usize {
        self.dims().0
    }

    /// The blocks where the query is pooled (space halves, channels double).
    pub(crate) fn transitions(self) -> &'static [usize] {
        self.dims().3
    }
}

fn default_frames() -> usize {
    16
}
fn default_crop() -> usize {
    224
}
fn default_dropout() -> f64 {
    0.5
}

/// MViTv2 hyper-parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct MvitConfig {
    /// Number of action classes.
    pub num_classes: usize,
    /// Size preset.
    pub size: MvitSize,
    /// Input frames T (the relative position tables are sized for it).
    #[serde(default = "default_frames")]
    pub num_frames: usize,
    /// Input side S.
    #[serde(default = "default_crop")]
    pub crop_size: usize,
    /// Dropout before the head (PySlowFast: 0.5).
    #[serde(default = "default_dropout")]
    pub dropout: f64,
    /// Stochastic depth of the last block, rising linearly from 0 (PySlowFast MViTv2-S: 0.2).
    #[serde(default)]
    pub drop_path: f64,
    /// A PySlowFast checkpoint to start from (`torch.save` archive, e.g.
    /// `MViTv2_S_16x4_k400_f302660347.pyth`; also list it in `inputs`). The
    /// head is re-initialised when the class count differs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init: Option<String>,
}

impl MvitConfig {
    /// A config with the defaults for `num_classes` and `size`.
    pub fn new(num_classes: usize, size: MvitSize) -> Self {
        Self {
            num_classes,
            size,
            num_frames: default_frames(),
            crop_size: default_crop(),
            dropout: default_dropout(),
            drop_path: 0.0,
            init: None,
        }
    }

    /// Checks the values, saying which one is wrong.
    pub fn validate(&self) -> Result<(), String> {
        if self.num_classes == 0 {
            return Err("`num-classes` must be at least 1".into());
        }
        let (_, _, _, stages, kv) = self.size.dims();
        let shrink = 4 * (1 << stages.len());
        if self.num_frames < 2
            || !self.num_frames.is_multiple_of(2)
            || self.crop_size < shrink
            || !self.crop_size.is_multiple_of(shrink)
        {
            return Err(format!(
                "`num-frames` ({}) must be even and `crop-size` ({}) a multiple of {shrink}: the patch embedding halves time and quarters space, and each stage halves space again",
                self.num_frames, self.crop_size
            ));
        }
        if self.crop_size / 4 < kv[1] {
            return Err(format!("`crop-size` ({}) must be at least {}", self.crop_size, kv[1] * 4));
        }
        if !(0.0..1.0).contains(&self.dropout) || !(0.0..1.0).contains(&self.drop_path) {
            return Err("`dropout` and `drop-path` must be in [0, 1)".into());
        }
        Ok(())
    }

    /// The token grid after the patch embedding, `[T/2, S/4, S/4]`.
    pub fn input_grid(&self) -> [usize; 3] {
        [self.num_frames / 2, self.crop_size / 4, self.crop_size / 4]
    }

    /// A freshly initialised model (PySlowFast's: truncated-normal-like
    /// weights of std 0.02 for linear layers, CLS token and position tables).
    pub fn init<B: Backend>(&self, device: &B::Device) -> Mvit<B> {
        let (depth, mut dim, mut heads, stages, kv0) = self.size.dims();
        let mut grid = self.input_grid();
        let mut kv_stride = kv0;
        let mut blocks = Vec::with_capacity(depth);
        for i in 0..depth {
            let transition = stages.contains(&i);
            let q_stride = if transition { [1, 2, 2] } else { [1, 1, 1] };
            if transition {
                kv_stride = [kv_stride[0].max(1), (kv_stride[1] / 2).max(1), (kv_stride[2] / 2).max(1)];
                heads *= 2;
            }
            let dim_out = if transition { dim * 2 } else { dim };
            let drop_path = if depth > 1 { self.drop_path * i as f64 / (depth - 1) as f64 } else { 0.0 };
            blocks.push(BlockConfig { dim, dim_out, heads, grid, q_stride, kv_stride, drop_path }.init(device));
            if transition {
                grid = [grid[0], grid[1] / 2, grid[2] / 2];
            }
            dim = dim_out;
        }
        let embed = self.size.dims().1;
        Mvit {
            patch_embed: PatchEmbed {
                proj: Conv3dConfig::new([3, embed], [3, 7, 7])
                    .with_stride([2, 4, 4])
                    .with_padding(PaddingConfig3d::Explicit(1, 3, 3))
                    .init(device),
            },
            cls_token: Param::from_tensor(Tensor::random([1, 1, embed], Distribution::Normal(0.0, 0.02), device)),
            blocks,
            norm: LayerNormConfig::new(dim).with_epsilon(1e-6).init(device),
            dropout: DropoutConfig::new(self.dropout).init(),
            head: Head { projection: linear(dim, self.num_classes, true, device) },
            grid: self.input_grid(),
        }
    }
}

fn linear<B: Backend>(d_in: usize, d_out: usize, bias: bool, device: &B::Device) -> Linear<B> {
    LinearConfig::new(d_in, d_out)
        .with_bias(bias)
        .with_initializer(Initializer::Normal { mean: 0.0, std: 0.02 })
        .init(device)
}

/// The patch embedding: a 3D convolution, kernel (3, 7, 7), stride (2, 4, 4).
#[derive(Module, Debug)]
pub struct PatchEmbed<B: Backend> {
    /// The convolution.
    pub proj: Conv3d<B>,
}

/// The classification head.
#[derive(Module, Debug)]
pub struct Head<B: Backend> {
    /// The linear layer.
    pub projection: Linear<B>,
}

/// The block's MLP (4× wide, GELU).
#[derive(Module, Debug)]
pub struct Mlp<B: Backend> {
    /// First layer.
    pub fc1: Linear<B>,
    /// Second layer.
    pub fc2: Linear<B>,
}

/// MViTv2.
#[derive(Module, Debug)]
pub struct Mvit<B: Backend> {
    /// Patch embedding.
    pub patch_embed: PatchEmbed<B>,
    /// The CLS token `[1, 1, C]`.
    pub cls_token: Param<Tensor<B, 3>>,
    /// The multiscale blocks.
    pub blocks: Vec<Block<B>>,
    /// Final norm.
    pub norm: LayerNorm<B>,
    dropout: Dropout,
    /// Classification head.
    pub head: Head<B>,
    #[module(skip)]
    grid: [usize; 3],
}

impl<B: Backend> Mvit<B> {
    /// Class logits `[B, K]` of clips `[B, 3, T, S, S]`.
    pub fn forward(&self, clip: Tensor<B, 5>) -> Tensor<B, 2> {
        let encoded = self.encode(clip, None, &[]);
        self.classify(encoded.cls())
    }

    /// Runs the backbone on clips `[B, 3, T, S, S]` with `prompts` `[n, C]`
    /// appended after the patch tokens (PromptonomyViT), and keeps the patch
    /// tokens after each block listed in `taps` (for dense heads). Prompts
    /// are carried like the CLS token: every block's attention mixes them
    /// with all tokens, but pooling leaves them alone and they get no
    /// relative position bias and no residual pooling.
    pub fn encode(&self, clip: Tensor<B, 5>, prompts: Option<Tensor<B, 2>>, taps: &[usize]) -> Encoded<B> {
        let x = crate::conv3d::conv3d(&self.patch_embed.proj, clip);
        let [b, c, t, h, w] = x.dims();
        debug_assert_eq!([t, h, w], self.grid, "the clip's frames and size differ from the model's config");
        let x = x.reshape([b, c, t * h * w]).swap_dims(1, 2);
        let cls = self.cls_token.val().expand([b, 1, c]);
        let mut parts = vec![cls, x];
        let mut prompt_count = 0;
        if let Some(p) = prompts {
            let [n, _] = p.dims();
            prompt_count = n;
            parts.push(p.unsqueeze_dim::<3>(0).expand([b, n, c]));
        }
        let mut x = Tensor::cat(parts, 1);
        let mut grid = [t, h, w];
        let mut tapped = Vec::with_capacity(taps.len());
        for (i, block) in self.blocks.iter().enumerate() {
            (x, grid) = block.forward(x, grid, prompt_count);
            if taps.contains(&i) {
                let [b, l, c] = x.dims();
                tapped.push((x.clone().slice([0..b, 1..l - prompt_count, 0..c]), grid));
            }
        }
        Encoded { tokens: self.norm.forward(x), prompts: prompt_count, taps: tapped }
    }

    /// The head on a CLS representation `[B, C]` (dropout in training).
    pub fn classify(&self, cls: Tensor<B, 2>) -> Tensor<B, 2> {
        self.head.projection.forward(self.dropout.forward(cls))
    }

    /// The token grid the model expects after the patch embedding.
    pub fn grid(&self) -> [usize; 3] {
        self.grid
    }

    /// Channels of the tokens after each block.
    pub fn block_dims(&self) -> Vec<usize> {
        self.blocks.iter().map(|b| b.norm2.gamma.dims()[0]).collect()
    }

    /// Channels of the patch embedding (the prompts' width).
    pub fn embed_dim(&self) -> usize {
        self.cls_token.dims()[2]
    }
}

/// The backbone's output: `[CLS, patches, prompts]` after the final norm,
/// and the tapped patch tokens `[B, L, C]` with their grids.
pub struct Encoded<B: Backend> {
    /// All tokens after the final norm.
    pub tokens: Tensor<B, 3>,
    /// How many prompts end the sequence.
    pub prompts: usize,
    /// Patch tokens after the tapped blocks, with their `[T, H, W]` grid.
    pub taps: Vec<(Tensor<B, 3>, [usize; 3])>,
}

impl<B: Backend> Encoded<B> {
    /// The CLS token `[B, C]`.
    pub fn cls(&self) -> Tensor<B, 2> {
        let [b, _, c] = self.tokens.dims();
        self.tokens.clone().slice([0..b, 0..1, 0..c]).reshape([b, c])
    }

    /// Prompt `i` `[B, C]`.
    pub fn prompt(&self, i: usize) -> Tensor<B, 2> {
        let [b, l, c] = self.tokens.dims();
        let at = l - self.prompts + i;
        self.tokens.clone().slice([0..b, at..at + 1, 0..c]).reshape([b, c])
    }
}

struct BlockConfig {
    dim: usize,
    dim_out: usize,
    heads: usize,
    grid: [usize; 3],
    q_stride: [usize; 3],
    kv_stride: [usize; 3],
    drop_path: f64,
}

impl BlockConfig {
    fn init<B: Backend>(&self, device: &B::Device) -> Block<B> {
        let norm = |d: usize| LayerNormConfig::new(d).with_epsilon(1e-6).init(device);
        let d = self.dim_out;
        Block {
            norm1: norm(self.dim),
            attn: AttentionConfig {
                dim: self.dim,
                dim_out: d,
                heads: self.heads,
                grid: self.grid,
                q_stride: self.q_stride,
                kv_stride: self.kv_stride,
            }
            .init(device),
            norm2: norm(d),
            mlp: Mlp { fc1: linear(d, 4 * d, true, device), fc2: linear(4 * d, d, true, device) },
            proj: (self.dim != d).then(|| linear(self.dim, d, true, device)),
            skip_stride: self.q_stride,
            drop_path: self.drop_path,
        }
    }
}

/// One multiscale block: pooling attention and an MLP, each residual.
#[derive(Module, Debug)]
pub struct Block<B: Backend> {
    /// Norm before attention.
    pub norm1: LayerNorm<B>,
    /// Pooling attention.
    pub attn: Attention<B>,
    /// Norm before the MLP.
    pub norm2: LayerNorm<B>,
    /// MLP.
    pub mlp: Mlp<B>,
    /// Projection of the residual where channels double.
    pub proj: Option<Linear<B>>,
    #[module(skip)]
    skip_stride: [usize; 3],
    #[module(skip)]
    drop_path: f64,
}

impl<B: Backend> Block<B> {
    fn forward(&self, x: Tensor<B, 3>, grid: [usize; 3], prompts: usize) -> (Tensor<B, 3>, [usize; 3]) {
        let x_norm = self.norm1.forward(x.clone());
        let (x_block, grid_out) = self.attn.forward(x_norm.clone(), grid, prompts);
        // The residual is the normed input projected where channels double (PySlowFast, DIM_MUL_IN_ATT).
        let x = match &self.proj {
            Some(p) => p.forward(x_norm),
            None => x,
        };
        let x = max_pool_skip(x, grid, self.skip_stride, prompts) + drop_path(x_block, self.drop_path);
        let mlp = self.mlp.fc2.forward(gelu(self.mlp.fc1.forward(self.norm2.forward(x.clone()))));
        (x.clone() + drop_path(mlp, self.drop_path), grid_out)
    }
}

/// Stochastic depth: in training, each sample's branch is dropped with
/// probability `rate` and the kept ones scaled by `1 / (1 − rate)`.
fn drop_path<B: Backend>(x: Tensor<B, 3>, rate: f64) -> Tensor<B, 3> {
    if rate <= 0.0 || !B::ad_enabled(&x.device()) {
        return x;
    }
    let [b, _, _] = x.dims();
    let keep = Tensor::<B, 3>::random([b, 1, 1], Distribution::Bernoulli(1.0 - rate), &x.device());
    x * keep / (1.0 - rate)
}

/// The skip connection's pool (PySlowFast: `MaxPool3d` with kernel
/// `stride + 1` where the stride is above 1, padding half the kernel), CLS
/// token and prompts kept; the identity where the stride is 1.
fn max_pool_skip<B: Backend>(x: Tensor<B, 3>, grid: [usize; 3], stride: [usize; 3], prompts: usize) -> Tensor<B, 3> {
    if stride == [1, 1, 1] {
        return x;
    }
    debug_assert_eq!(stride[0], 1, "temporal skip pooling is not used by MViTv2");
    let kernel = [stride[1] + 1, stride[2] + 1];
    let (pooled, _) = pool_grid(x.unsqueeze_dim(1), grid, prompts, |g| {
        // [B, C, T, H, W] → [B·T, C, H, W] for the 2D pool, and back.
        let [b, c, t, h, w] = g.dims();
        let frames = g.permute([0, 2, 1, 3, 4]).reshape([b * t, c, h, w]);
        let p = burn::tensor::module::max_pool2d(
            frames,
            kernel,
            [stride[1], stride[2]],
            [kernel[0] / 2, kernel[1] / 2],
            [1, 1],
            false,
        );
        let [_, _, h2, w2] = p.dims();
        p.reshape([b, t, c, h2, w2]).permute([0, 2, 1, 3, 4])
    });
    let [b, _, l, c] = pooled.dims();
    pooled.reshape([b, l, c])
}

/// Pools the grid tokens of `x` `[B, N, 1 + L + P, C]` with `pool` (over
/// `[B·N, C, T, H, W]`), the CLS token kept in front and the `prompts` P
/// kept at the end, unpooled.
fn pool_grid<B: Backend>(
    x: Tensor<B, 4>,
    [t, h, w]: [usize; 3],
    prompts: usize,
    pool: impl FnOnce(Tensor<B, 5>) -> Tensor<B, 5>,
) -> (Tensor<B, 4>, [usize; 3]) {
    let [b, n, l, d] = x.dims();
    let cls = x.clone().slice([0..b, 0..n, 0..1, 0..d]);
    let end = l - prompts;
    let grid = x.clone().slice([0..b, 0..n, 1..end, 0..d]).reshape([b * n, t, h, w, d]).permute([0, 4, 1, 2, 3]);
    let pooled = pool(grid);
    let [_, _, t2, h2, w2] = pooled.dims();
    let tokens = pooled.reshape([b, n, d, t2 * h2 * w2]).swap_dims(2, 3);
    let mut parts = vec![cls, tokens];
    if prompts > 0 {
        parts.push(x.slice([0..b, 0..n, end..l, 0..d]));
    }
    (Tensor::cat(parts, 2), [t2, h2, w2])
}

struct AttentionConfig {
    dim: usize,
    dim_out: usize,
    heads: usize,
    grid: [usize; 3],
    q_stride: [usize; 3],
    kv_stride: [usize; 3],
}

impl AttentionConfig {
    fn init<B: Backend>(&self, device: &B::Device) -> Attention<B> {
        let head_dim = self.dim_out / self.heads;
        let pool = |stride: [usize; 3]| {
            Conv3dConfig::new([head_dim, head_dim], [3, 3, 3])
                .with_stride(stride)
                .with_padding(PaddingConfig3d::Explicit(1, 1, 1))
                .with_groups(head_dim)
                .with_bias(false)
                .init(device)
        };
        let norm = || LayerNormConfig::new(head_dim).with_epsilon(1e-6).init(device);
        let q_size = self.grid[1] / self.q_stride[1];
        let kv_size = self.grid[1] / self.kv_stride[1];
        let spatial = 2 * q_size.max(kv_size) - 1;
        let table =
            |n: usize| Param::from_tensor(Tensor::random([n, head_dim], Distribution::Normal(0.0, 0.02), device));
        Attention {
            qkv: linear(self.dim, 3 * self.dim_out, true, device),
            proj: linear(self.dim_out, self.dim_out, true, device),
            pool_q: pool(self.q_stride),
            pool_k: pool(self.kv_stride),
            pool_v: pool(self.kv_stride),
            norm_q: norm(),
            norm_k: norm(),
            norm_v: norm(),
            rel_pos_h: table(spatial),
            rel_pos_w: table(spatial),
            rel_pos_t: table(2 * self.grid[0] - 1),
            heads: self.heads,
            dim_out: self.dim_out,
        }
    }
}

/// Multiscale pooling attention.
#[derive(Module, Debug)]
pub struct Attention<B: Backend> {
    /// Q, K and V in one projection.
    pub qkv: Linear<B>,
    /// Output projection.
    pub proj: Linear<B>,
    /// Depthwise pooling of the queries (stride 1 or (1, 2, 2)).
    pub pool_q: Conv3d<B>,
    /// Depthwise pooling of the keys (the adaptive KV stride).
    pub pool_k: Conv3d<B>,
    /// Depthwise pooling of the values.
    pub pool_v: Conv3d<B>,
    /// Norm after pooling Q.
    pub norm_q: LayerNorm<B>,
    /// Norm after pooling K.
    pub norm_k: LayerNorm<B>,
    /// Norm after pooling V.
    pub norm_v: LayerNorm<B>,
    /// Relative position table along height `[2·max(q, kv) − 1, head_dim]`.
    pub rel_pos_h: Param<Tensor<B, 2>>,
    /// Along width.
    pub rel_pos_w: Param<Tensor<B, 2>>,
    /// Along time `[2·T − 1, head_dim]`.
    pub rel_pos_t: Param<Tensor<B, 2>>,
    #[module(skip)]
    heads: usize,
    #[module(skip)]
    dim_out: usize,
}

/// Pools `[B, heads, 1 + L, d]` over its grid with `pool` (CLS token kept),
/// then normalises: PySlowFast's `attention_pool`.
fn attention_pool<B: Backend>(
    x: Tensor<B, 4>,
    pool: &Conv3d<B>,
    norm: &LayerNorm<B>,
    grid: [usize; 3],
    prompts: usize,
) -> (Tensor<B, 4>, [usize; 3]) {
    let (pooled, grid) = pool_grid(x, grid, prompts, |g| crate::conv3d::conv3d(pool, g));
    (norm.forward(pooled), grid)
}

/// `table[q · q_ratio − k · k_ratio + (k_n − 1) · k_ratio]` for every (q, k):
/// the relative position embedding of each query/key pair, `[q_n, k_n, d]`.
fn relative<B: Backend>(table: Tensor<B, 2>, q_n: usize, k_n: usize) -> Tensor<B, 3> {
    let q_ratio = (k_n as f64 / q_n as f64).max(1.0);
    let k_ratio = (q_n as f64 / k_n as f64).max(1.0);
    let index: Vec<i64> = (0..q_n)
        .flat_map(|q| {
            (0..k_n).map(move |k| (q as f64 * q_ratio - k as f64 * k_ratio + (k_n - 1) as f64 * k_ratio) as i64)
        })
        .collect();
    let device = table.device();
    let [_, d] = table.dims();
    let index = Tensor::<B, 1, Int>::from_data(burn::tensor::TensorData::new(index, [q_n * k_n]), &device);
    table.select(0, index).reshape([q_n, k_n, d])
}

impl<B: Backend> Attention<B> {
    fn forward(&self, x: Tensor<B, 3>, grid: [usize; 3], prompts: usize) -> (Tensor<B, 3>, [usize; 3]) {
        let [b, n, _] = x.dims();
        let heads = self.heads;
        let d = self.dim_out / heads;
        let qkv = self.qkv.forward(x).reshape([b, n, 3, heads, d]).permute([2, 0, 3, 1, 4]);
        let part = |i: usize| qkv.clone().slice([i..i + 1, 0..b, 0..heads, 0..n, 0..d]).reshape([b, heads, n, d]);
        let (q, q_grid) = attention_pool(part(0), &self.pool_q, &self.norm_q, grid, prompts);
        let (k, k_grid) = attention_pool(part(1), &self.pool_k, &self.norm_k, grid, prompts);
        let (v, _) = attention_pool(part(2), &self.pool_v, &self.norm_v, grid, prompts);
        let scale = (d as f64).powf(-0.5);
        let attn = (q.clone() * scale).matmul(k.swap_dims(2, 3));
        let attn = attn + self.rel_pos_bias(&q, q_grid, k_grid, prompts);
        let attn = softmax(attn, 3);
        let out = attn.matmul(v);
        // Residual pooling: the pooled query is added back (not to the CLS
        // token or the prompts).
        let [_, _, nq, _] = q.dims();
        let q_tokens = q.slice([0..b, 0..heads, 1..nq - prompts, 0..d]);
        let mut parts = vec![Tensor::zeros([b, heads, 1, d], &out.device()), q_tokens];
        if prompts > 0 {
            parts.push(Tensor::zeros([b, heads, prompts, d], &out.device()));
        }
        let residual = Tensor::cat(parts, 2);
        let out = (out + residual).swap_dims(1, 2).reshape([b, nq, self.dim_out]);
        (self.proj.forward(out), q_grid)
    }

    /// The decomposed relative position bias `[B, heads, 1 + Lq + P, 1 + Lk + P]`
    /// (zero on the CLS and prompt rows and columns): for query (t, y, x)
    /// and key (t', y', x'), `q·R_h[y, y'] + q·R_w[x, x'] + q·R_t[t, t']`.
    fn rel_pos_bias(
        &self,
        q: &Tensor<B, 4>,
        [qt, qh, qw]: [usize; 3],
        [kt, kh, kw]: [usize; 3],
        prompts: usize,
    ) -> Tensor<B, 4> {
        let [b, heads, nq, d] = q.dims();
        let r_q = q.clone().slice([0..b, 0..heads, 1..nq - prompts, 0..d]).reshape([b * heads, qt, qh, qw, d]);
        let rows = b * heads * qt * qh * qw;
        // Along height: [qh, rows/qh, d] × [qh, d, kh].
        let rh = relative(self.rel_pos_h.val(), qh, kh);
        let by_h = r_q.clone().permute([2, 0, 1, 3, 4]).reshape([qh, rows / qh, d]);
        let rel_h = by_h.matmul(rh.swap_dims(1, 2)).reshape([qh, b * heads, qt, qw, kh]).permute([1, 2, 0, 3, 4]);
        // Along width.
        let rw = relative(self.rel_pos_w.val(), qw, kw);
        let by_w = r_q.clone().permute([3, 0, 1, 2, 4]).reshape([qw, rows / qw, d]);
        let rel_w = by_w.matmul(rw.swap_dims(1, 2)).reshape([qw, b * heads, qt, qh, kw]).permute([1, 2, 3, 0, 4]);
        // Along time.
        let rt = relative(self.rel_pos_t.val(), qt, kt);
        let by_t = r_q.permute([1, 0, 2, 3, 4]).reshape([qt, rows / qt, d]);
        let rel_t = by_t.matmul(rt.swap_dims(1, 2)).reshape([qt, b * heads, qh, qw, kt]).permute([1, 0, 2, 3, 4]);
        // [bh, Lq, kt, kh, kw] as the sum of the three broadcast terms (rank
        // 5: the ndarray backend stops at 6).
        let bh = b * heads;
        let (lq, lk) = (qt * qh * qw, kt * kh * kw);
        let bias =
            rel_t.reshape([bh, lq, kt, 1, 1]) + rel_h.reshape([bh, lq, 1, kh, 1]) + rel_w.reshape([bh, lq, 1, 1, kw]);
        let bias = bias.reshape([b, heads, lq, lk]);
        let device = q.device();
        let p = prompts;
        let mut cols = vec![Tensor::zeros([b, heads, lq, 1], &device), bias];
        if p > 0 {
            cols.push(Tensor::zeros([b, heads, lq, p], &device));
        }
        let bias = Tensor::cat(cols, 3);
        let mut rows = vec![Tensor::zeros([b, heads, 1, lk + 1 + p], &device), bias];
        if p > 0 {
            rows.push(Tensor::zeros([b, heads, p, lk + 1 + p], &device));
        }
        Tensor::cat(rows, 2)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::NdArray;

    #[test]
    fn relative_indices_follow_pyslowfast() {
        // q 4 positions, k 2 (stride 2): ratios 1 and 2.
        let device = Default::default();
        let table = Tensor::<NdArray, 2>::from_data(
            burn::tensor::TensorData::new((0..7).map(|v| v as f32).collect::<Vec<_>>(), [7, 1]),
            &device,
        );
        let r = relative(table, 4, 2).into_data().to_vec::<f32>().unwrap();
        // dist = q·1 − k·2 + (2 − 1)·2
        assert_eq!(r, [2.0, 0.0, 3.0, 1.0, 4.0, 2.0, 5.0, 3.0]);
    }

    #[test]
    fn tiny_runs_on_a_small_clip() {
        let device = Default::default();
        let config = MvitConfig { num_frames: 4, crop_size: 32, ..MvitConfig::new(5, MvitSize::Tiny) };
        config.validate().unwrap();
        let model = config.init::<NdArray>(&device);
        let clip = Tensor::<NdArray, 5>::random([2, 3, 4, 32, 32], Distribution::Normal(0.0, 1.0), &device);
        let logits = model.forward(clip);
        assert_eq!(logits.dims(), [2, 5]);
        assert!(logits.into_data().to_vec::<f32>().unwrap().iter().all(|v| v.is_finite()));
    }
}
