use actionbench_models::{StGcnConfig, StGcnSize, TimeConv};
use burn::module::Module;
use burn::module::Param;
use burn::nn::PaddingConfig2d;
use burn::nn::conv::Conv2dConfig;
use burn::tensor::{Distribution, Tensor};

use crate::Cpu;

#[test]
fn forward_gives_one_logit_row_per_sample() {
    let device = Default::default();
    let model = StGcnConfig::new(5, StGcnSize::Tiny).init::<Cpu>(&device);
    let x = Tensor::<Cpu, 5>::random([3, 3, 8, 25, 2], Distribution::Normal(0.0, 1.0), &device);
    let y = model.forward(x.clone());
    assert_eq!(y.dims(), [3, 5]);
    let v = y.clone().into_data().to_vec::<f32>().unwrap();
    assert!(v.iter().all(|x| x.is_finite()));
    // Inference (no autodiff: dropout off, batch norm on running stats) is a pure function.
    assert_eq!(model.forward(x).into_data(), y.into_data());
}

#[test]
fn samples_do_not_leak_into_each_other_at_inference() {
    let device = Default::default();
    let model = StGcnConfig::new(4, StGcnSize::Tiny).init::<Cpu>(&device);
    let x = Tensor::<Cpu, 5>::random([2, 3, 8, 25, 2], Distribution::Normal(0.0, 1.0), &device);
    let both = model.forward(x.clone()).into_data().to_vec::<f32>().unwrap();
    let first = model.forward(x.narrow(0, 0, 1)).into_data().to_vec::<f32>().unwrap();
    for (a, b) in both[..4].iter().zip(&first) {
        assert!((a - b).abs() < 1e-5, "{a} vs {b}");
    }
}

#[test]
fn sizes_grow_and_configs_round_trip_through_serde() {
    let device = Default::default();
    let params = |s| StGcnConfig::new(60, s).init::<Cpu>(&device).num_params();
    let (tiny, small) = (params(StGcnSize::Tiny), params(StGcnSize::Small));
    assert!(tiny < small, "{tiny} < {small}");
    assert_eq!(StGcnSize::Standard.blocks().len(), 10);
    let c: StGcnConfig = serde_json::from_str(r#"{"num-classes": 60, "size": "standard"}"#).unwrap();
    assert_eq!(c, StGcnConfig::new(60, StGcnSize::Standard));
    assert!(serde_json::from_str::<StGcnConfig>(r#"{"num-classes": 60, "size": "standard", "typo": 1}"#).is_err());
    let mut bad = c.clone();
    bad.temporal_kernel = 4;
    assert!(bad.validate().unwrap_err().contains("odd"));
}

#[test]
fn time_conv_equals_burns_conv2d() {
    let device = Default::default();
    let (c_in, c_out, k) = (3, 4, 5);
    for stride in [1, 2] {
        let mine = TimeConv::<Cpu>::new(c_in, c_out, k, stride, &device);
        let (w, b) = mine.parameters();
        // [C_out, k*C_in] (offset, channel) -> [C_out, C_in, k, 1]
        let w4 = w.reshape([c_out, k, c_in]).swap_dims(1, 2).reshape([c_out, c_in, k, 1]);
        let mut conv = Conv2dConfig::new([c_in, c_out], [k, 1])
            .with_stride([stride, 1])
            .with_padding(PaddingConfig2d::Explicit((k - 1) / 2, 0, (k - 1) / 2, 0))
            .init::<Cpu>(&device);
        conv.weight = Param::from_tensor(w4);
        conv.bias = Some(Param::from_tensor(b));
        let x = Tensor::<Cpu, 4>::random([2, c_in, 9, 6], Distribution::Normal(0.0, 1.0), &device);
        let (a, r) = (mine.forward(x.clone()), conv.forward(x));
        assert_eq!(a.dims(), r.dims(), "stride {stride}");
        let diff = (a - r).abs().max().into_scalar();
        assert!(diff < 1e-5, "stride {stride}: max difference {diff}");
    }
}
