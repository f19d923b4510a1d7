//! 3D convolution as a gather of kernel taps and a matmul (dense) or a
//! weighted sum over taps (depthwise), on the `Conv3d` module's own
//! parameters, so checkpoints and records are unchanged.
//!
//! Why not `Conv3d::forward`: Burn 0.21's ndarray conv3d is a direct loop
//! that re-slices one output row per (channel, tap), and its weight
//! gradient runs that loop with the whole output grid as the "kernel"; on
//! MViTv2-tiny (8 frames, 64², batch 8) those loops were most of a CPU
//! training step. Here the input is laid out as rows (one per voxel, plus a
//! zero row that padding taps point at) and one `select` gathers every
//! tap's rows: its gradient is a single scatter-add, where per-tap slices
//! would each zero a padded copy of the input. Configurations this does not
//! cover (dilation, `Same` padding, grouped but not depthwise) fall back to
//! `Conv3d::forward`.

use burn::nn::PaddingConfig3d;
use burn::nn::conv::Conv3d;
use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor, TensorData};

/// `conv.forward(x)` for `x` `[N, C, T, H, W]`.
pub fn conv3d<B: Backend>(conv: &Conv3d<B>, x: Tensor<B, 5>) -> Tensor<B, 5> {
    let padding = match conv.padding {
        PaddingConfig3d::Explicit(t, h, w) => [t, h, w],
        PaddingConfig3d::Valid => [0; 3],
        PaddingConfig3d::Same => return conv.forward(x),
    };
    let weight = conv.weight.val();
    let [out_c, in_per_group, kt, kh, kw] = weight.dims();
    let [n, c, t, h, w] = x.dims();
    let depthwise = conv.groups == c && out_c == c && in_per_group == 1;
    if conv.dilation != [1; 3] || !(conv.groups == 1 || depthwise) {
        return conv.forward(x);
    }
    let Some((index, [ot, oh, ow])) = tap_rows([t, h, w], [kt, kh, kw], conv.stride, padding) else {
        return conv.forward(x);
    };
    let device = x.device();
    let (taps, l, lo) = (kt * kh * kw, t * h * w, ot * oh * ow);
    // Rows `[T·H·W + 1, N·C]`: one per voxel, the last all zeros.
    let rows = x.permute([2, 3, 4, 0, 1]).reshape([l, n * c]);
    let rows = Tensor::cat(vec![rows, Tensor::zeros([1, n * c], &device)], 0);
    let index = Tensor::<B, 1, Int>::from_data(TensorData::new(index, [taps * lo]), &device);
    // `[taps, L', N, C]`, taps in the weight's (kt, kh, kw) order.
    let gathered = rows.select(0, index).reshape([taps, lo, n, c]);
    let y = if depthwise {
        let weight = weight.reshape([c, taps]).transpose().reshape([taps, 1, 1, c]);
        (gathered * weight).sum_dim(0).reshape([lo, n, c]).permute([1, 2, 0])
    } else {
        let columns = gathered.permute([2, 1, 3, 0]).reshape([n * lo, c * taps]);
        let y = columns.matmul(weight.reshape([out_c, c * taps]).transpose());
        y.reshape([n, lo, out_c]).swap_dims(1, 2)
    };
    let y = y.reshape([n, out_c, ot, oh, ow]);
    match &conv.bias {
        Some(bias) => y + bias.val().reshape([1, out_c, 1, 1, 1]),
        None => y,
    }
}

/// For every tap (kernel order) and output voxel (row-major), the input row
/// it reads, or `T·H·W` (the zero row) where it falls in the padding; and
/// the output grid. `None` when the kernel is larger than the padded input.
fn tap_rows(
    size: [usize; 3],
    kernel: [usize; 3],
    stride: [usize; 3],
    padding: [usize; 3],
) -> Option<(Vec<i64>, [usize; 3])> {
    let mut out = [0; 3];
    for i in 0..3 {
        let padded = size[i] + 2 * padding[i];
        if padded < kernel[i] || stride[i] == 0 {
            return None;
        }
        out[i] = (padded - kernel[i]) / stride[i] + 1;
    }
    let zero = (size[0] * size[1] * size[2]) as i64;
    // The input coordinate of output `o`, tap `k` on axis `i`, if inside.
    let at = |i: usize, o: usize, k: usize| (o * stride[i] + k).checked_sub(padding[i]).filter(|&v| v < size[i]);
    let mut index = Vec::with_capacity(kernel.iter().product::<usize>() * out.iter().product::<usize>());
    for dt in 0..kernel[0] {
        for dh in 0..kernel[1] {
            for dw in 0..kernel[2] {
                for ot in 0..out[0] {
                    for oh in 0..out[1] {
                        for ow in 0..out[2] {
                            index.push(match (at(0, ot, dt), at(1, oh, dh), at(2, ow, dw)) {
                                (Some(t), Some(h), Some(w)) => ((t * size[1] + h) * size[2] + w) as i64,
                                _ => zero,
                            });
                        }
                    }
                }
            }
        }
    }
    Some((index, out))
}

#[cfg(test)]
mod tests {
    use burn::backend::{Autodiff, NdArray};
    use burn::nn::conv::Conv3dConfig;
    use burn::tensor::{Distribution, Tolerance};

    use super::*;

    type B = Autodiff<NdArray>;

    /// Values and every gradient (input, weight, bias) agree with `Conv3d`.
    fn agrees(config: Conv3dConfig, input: [usize; 5]) {
        let device = Default::default();
        let conv: Conv3d<B> = config.init(&device);
        let x = Tensor::<B, 5>::random(input, Distribution::Normal(0.0, 1.0), &device).require_grad();
        let ours = conv3d(&conv, x.clone());
        let theirs = conv.forward(x.clone());
        ours.to_data().assert_approx_eq::<f32>(&theirs.to_data(), Tolerance::absolute(1e-4));
        // A loss that weighs every output differently.
        let probe = Tensor::<B, 5>::random(theirs.dims(), Distribution::Normal(0.0, 1.0), &device);
        let grads_ours = (ours * probe.clone()).sum().backward();
        let grads_theirs = (theirs * probe).sum().backward();
        let grad = |g: &<B as burn::tensor::backend::AutodiffBackend>::Gradients, t: &Tensor<B, 5>| {
            t.grad(g).expect("a gradient").to_data()
        };
        grad(&grads_ours, &x).assert_approx_eq::<f32>(&grad(&grads_theirs, &x), Tolerance::absolute(1e-3));
        let w = conv.weight.val();
        grad(&grads_ours, &w).assert_approx_eq::<f32>(&grad(&grads_theirs, &w), Tolerance::absolute(1e-3));
        if let Some(bias) = &conv.bias {
            let b = bias.val();
            b.grad(&grads_ours).expect("a bias gradient").to_data().assert_approx_eq::<f32>(
                &b.grad(&grads_theirs).expect("a bias gradient").to_data(),
                Tolerance::absolute(1e-3),
            );
        }
    }

    #[test]
    fn dense_strided_padded_matches_conv3d() {
        // MViT's patch embedding shape: kernel (3, 7, 7), stride (2, 4, 4), padding (1, 3, 3).
        let config = Conv3dConfig::new([3, 5], [3, 7, 7])
            .with_stride([2, 4, 4])
            .with_padding(PaddingConfig3d::Explicit(1, 3, 3));
        agrees(config, [2, 3, 4, 16, 12]);
    }

    #[test]
    fn depthwise_pooling_matches_conv3d() {
        for stride in [[1, 1, 1], [1, 2, 2], [1, 4, 4], [2, 2, 2]] {
            let config = Conv3dConfig::new([6, 6], [3, 3, 3])
                .with_stride(stride)
                .with_padding(PaddingConfig3d::Explicit(1, 1, 1))
                .with_groups(6)
                .with_bias(false);
            agrees(config, [3, 6, 4, 8, 8]);
        }
    }

    #[test]
    fn unpadded_with_bias_matches_conv3d() {
        agrees(Conv3dConfig::new([2, 3], [1, 2, 3]).with_stride([1, 2, 1]), [1, 2, 3, 5, 7]);
    }
}
