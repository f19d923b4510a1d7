//! ResNet-3D: torchvision-layout checkpoints real PyTorch saved
//! (`scripts/fixtures/r3d_reference.py`) load through the safe reader and
//! give PyTorch's logits to 1e-4; frozen stages get no gradient; and the
//! multi-task variants: a cross-stitch unit with s = 0 leaves two
//! independent networks, and the learned-sharing forward follows the
//! assignment.

use std::path::PathBuf;

use actionbench_formats::torch::read_torch_state;
use actionbench_models::r3d::torchvision_names;
use actionbench_models::{MtlR3dConfig, MtlTaskSpec, R3dConfig, Sharing, TorchParam, load_torch};
use burn::backend::Autodiff;
use burn::module::Module;
use burn::tensor::{Distribution, Tensor, TensorData};

use crate::Cpu;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/r3d").join(name)
}

fn expected() -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(fixture("expected.json")).unwrap()).unwrap()
}

fn tiny(depth: usize, classes: usize) -> R3dConfig {
    R3dConfig { widths: [4, 8, 8, 16], num_frames: 4, crop_size: 16, ..R3dConfig::new(classes, depth) }
}

fn checkpoint(depth: usize) -> Vec<TorchParam> {
    read_torch_state(&fixture(&format!("r3d{depth}_tiny.pth")))
        .unwrap()
        .into_iter()
        .map(|(n, t)| (n, t.shape, t.data))
        .collect()
}

fn clip(device: &burn::backend::ndarray::NdArrayDevice) -> Tensor<Cpu, 5> {
    let shape: Vec<usize> =
        expected()["clip_shape"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as usize).collect();
    let bytes = std::fs::read(fixture("clip.f32")).unwrap();
    let values: Vec<f32> = bytes.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
    Tensor::from_data(TensorData::new(values, shape), device)
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

#[test]
fn torchvision_checkpoints_give_pytorchs_logits() {
    let device = Default::default();
    for depth in [18, 34] {
        let model = tiny(depth, 5).init::<Cpu>(&device);
        let params = model.num_params();
        let (model, report) = load_torch(model, torchvision_names(checkpoint(depth), "backbone."), &[]);
        assert!(report.is_complete(), "r3d{depth}: {report}");
        let want = &expected()[format!("r3d{depth}")];
        // Burn counts the batch norms' running statistics as parameters.
        let running: usize = checkpoint(depth).iter().filter(|t| t.0.contains(".running_")).map(|t| t.2.len()).sum();
        let torch = want["parameters"].as_u64().unwrap() as usize;
        assert_eq!(params, torch + running, "r3d{depth}: PyTorch's parameter count plus the running statistics");
        let want: Vec<f32> = want["logits"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|r| r.as_array().unwrap().iter().map(|v| v.as_f64().unwrap() as f32))
            .collect();
        let got = model.forward(clip(&device)).into_data().to_vec::<f32>().unwrap();
        let worst = max_diff(&got, &want);
        eprintln!("r3d{depth}: max |Burn - PyTorch| = {worst:e}");
        assert!(worst <= 1e-4, "r3d{depth}: {got:?} vs {want:?}");
    }
}

#[test]
fn a_checkpoint_of_another_depth_or_head_says_what_does_not_fit() {
    let device = Default::default();
    // R3D-34's extra blocks are unexpected in R3D-18.
    let (_, report) = load_torch(tiny(18, 5).init::<Cpu>(&device), torchvision_names(checkpoint(34), "backbone."), &[]);
    assert!(report.missing.is_empty(), "{report}");
    assert!(report.unexpected.contains(&"backbone.layers.1.2.conv1.conv.weight".to_string()), "{report}");
    // A 7-class model: the head is misshaped unless fine-tuning keeps it.
    let (_, report) = load_torch(tiny(18, 7).init::<Cpu>(&device), torchvision_names(checkpoint(18), "backbone."), &[]);
    assert_eq!(report.misshaped.iter().map(|m| m.0.as_str()).collect::<Vec<_>>(), ["fc.weight", "fc.bias"]);
    let (_, report) =
        load_torch(tiny(18, 7).init::<Cpu>(&device), torchvision_names(checkpoint(18), "backbone."), &["fc."]);
    assert!(report.is_complete(), "{report}");
    // Without the name mapping nothing matches, and the report says so.
    let (_, report) = load_torch(tiny(18, 5).init::<Cpu>(&device), checkpoint(18), &[]);
    assert!(report.unexpected.iter().any(|n| n == "stem.0.weight"), "{report}");
}

#[test]
fn depth_and_frozen_stages_are_checked() {
    assert!(R3dConfig::new(5, 50).validate().unwrap_err().contains("18 or 34"));
    let c = R3dConfig { frozen_stages: 5, ..R3dConfig::new(5, 18) };
    assert!(c.validate().unwrap_err().contains("frozen-stages"));
}

type Ad = Autodiff<Cpu>;

/// With `frozen-stages = 3` the stem, layer1 and layer2 get no gradient
/// (and keep their running statistics); layer3, layer4 and the head do.
#[test]
fn frozen_stages_get_no_gradient() {
    let device = Default::default();
    let config = R3dConfig { frozen_stages: 3, ..tiny(18, 5) };
    let model = config.init::<Ad>(&device);
    let (model, _) = load_torch(model, torchvision_names(checkpoint(18), "backbone."), &[]);
    let mean_before = model.backbone.stem.bn.running_mean.value().into_data();
    let x = Tensor::<Ad, 5>::random([2, 3, 4, 16, 16], Distribution::Normal(0.0, 1.0), &device);
    let grads = model.forward_train(x).sum().backward();
    let has = |w: &Tensor<Ad, 5>| w.grad(&grads).is_some();
    assert!(!has(&model.backbone.stem.conv.weight.val()), "stem is frozen");
    assert!(!has(&model.backbone.layers[0][0].conv1.conv.weight.val()), "layer1 is frozen");
    assert!(!has(&model.backbone.layers[1][1].conv2.conv.weight.val()), "layer2 is frozen");
    assert!(has(&model.backbone.layers[2][0].conv1.conv.weight.val()), "layer3 trains");
    assert!(has(&model.backbone.layers[3][1].conv2.conv.weight.val()), "layer4 trains");
    assert!(model.fc.weight.val().grad(&grads).is_some(), "the head trains");
    assert_eq!(model.backbone.stem.bn.running_mean.value().into_data(), mean_before, "frozen statistics stay");
}

fn mtl(sharing: Sharing, s: f64, frozen: usize) -> MtlR3dConfig {
    MtlR3dConfig {
        tasks: vec![
            MtlTaskSpec { name: "action".into(), num_classes: 5 },
            MtlTaskSpec { name: "gesture".into(), num_classes: 3 },
        ],
        sharing,
        depth: 18,
        widths: [4, 8, 8, 16],
        num_frames: 4,
        crop_size: 16,
        frozen_stages: frozen,
        init: None,
        cross_stitch: s,
        stitch_after_pool: true,
        nes: Default::default(),
    }
}

/// Cross-stitch units with s = 0 are the identity mix: each task's logits
/// are those of its own column and head alone, as two independent networks.
#[test]
fn cross_stitch_with_s_zero_equals_two_independent_networks() {
    let device = Default::default();
    let config = mtl(Sharing::Soft, 0.0, 2);
    let mut model = config.init::<Cpu>(&device);
    // Make the columns different, so mixing would show.
    model.columns[1] = config.backbone().init_backbone(&device);
    let x = Tensor::<Cpu, 5>::random([2, 3, 4, 16, 16], Distribution::Normal(0.0, 1.0), &device);
    let trunk = model.trunk(x.clone());
    let all = model.forward_all(trunk.clone());
    for (t, stitched) in all.iter().enumerate() {
        let alone = model.heads[t].forward(model.columns[t].features_from(2, trunk.clone()));
        let d = max_diff(&stitched.clone().into_data().to_vec().unwrap(), &alone.into_data().to_vec().unwrap());
        assert!(d <= 1e-6, "task {t}: stitched and independent logits differ by {d}");
    }
    // With s = 0.5 the columns mix and the logits change.
    let mut mixed = mtl(Sharing::Soft, 0.5, 2).init::<Cpu>(&device);
    mixed.columns = model.columns.clone();
    mixed.heads = model.heads.clone();
    let d = max_diff(
        &mixed.forward_all(trunk)[0].clone().into_data().to_vec().unwrap(),
        &all[0].clone().into_data().to_vec().unwrap(),
    );
    assert!(d > 1e-4, "s = 0.5 mixes the columns");
}

/// Learned sharing: the forward follows the path (set per layer), and with
/// uniform logits both sets are equally likely; the most probable path
/// follows the logits.
#[test]
fn learned_sharing_follows_the_assignment() {
    let device = Default::default();
    let config = mtl(Sharing::Learned, 0.2, 3);
    assert_eq!(config.layers(), vec![(3, Some(0)), (3, Some(1)), (4, Some(0)), (4, Some(1))]);
    let mut model = config.init::<Cpu>(&device);
    model.columns[1] = config.backbone().init_backbone(&device);
    let x = Tensor::<Cpu, 5>::random([2, 3, 4, 16, 16], Distribution::Normal(0.0, 1.0), &device);
    let trunk = model.trunk(x);
    let via0 = model.forward_task(0, trunk.clone(), &[0, 0, 0, 0]);
    let via1 = model.forward_task(0, trunk.clone(), &[1, 1, 1, 1]);
    let direct0 = model.heads[0].forward(model.columns[0].features_from(3, trunk.clone()));
    let a: Vec<f32> = via0.into_data().to_vec().unwrap();
    assert!(max_diff(&a, &direct0.into_data().to_vec().unwrap()) <= 1e-6);
    assert!(max_diff(&a, &via1.into_data().to_vec().unwrap()) > 1e-4, "the other set gives other logits");
    let mut logits = model.assignment_logits();
    assert_eq!(model.most_probable(), vec![vec![0; 4], vec![0; 4]]);
    logits[2][1] = vec![0.0, 1.0];
    let model = model.set_assignment_logits(&logits);
    assert_eq!(model.most_probable(), vec![vec![0; 4], vec![0, 0, 1, 0]]);
    assert_eq!(model.assignment_logits(), logits, "the logits round-trip");
}

#[test]
fn multitask_configs_are_checked() {
    let mut c = mtl(Sharing::Hard, 0.2, 0);
    c.tasks.truncate(1);
    assert!(c.validate().unwrap_err().contains("at least 2"));
    let mut c = mtl(Sharing::Soft, 1.5, 0);
    assert!(c.validate().unwrap_err().contains("cross-stitch"));
    c.cross_stitch = 0.8;
    c.tasks[1].name = "action".into();
    assert!(c.validate().unwrap_err().contains("listed twice"));
}
