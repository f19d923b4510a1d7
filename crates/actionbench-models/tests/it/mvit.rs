//! MViTv2: a checkpoint real PyTorch saved (`scripts/fixtures/mvit_reference.py`,
//! PySlowFast's parameter names) loads through the safe reader, every tensor
//! maps, and Burn's logits equal PyTorch's to 1e-4; a checkpoint that does
//! not fit says what does not.

use std::path::PathBuf;

use actionbench_formats::torch::read_torch_state;
use actionbench_models::{MvitConfig, MvitSize, PvitConfig, PvitVariant, TorchParam, load_torch};
use burn::module::Module;
use burn::tensor::{Tensor, TensorData};

use crate::Cpu;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/mvit").join(name)
}

fn tiny(classes: usize) -> MvitConfig {
    MvitConfig { num_frames: 4, crop_size: 32, dropout: 0.0, ..MvitConfig::new(classes, MvitSize::Tiny) }
}

fn checkpoint() -> Vec<TorchParam> {
    read_torch_state(&fixture("mvit_tiny.pyth")).unwrap().into_iter().map(|(n, t)| (n, t.shape, t.data)).collect()
}

/// The fixture clip and PyTorch's logits on it.
fn reference(device: &burn::backend::ndarray::NdArrayDevice) -> (Tensor<Cpu, 5>, Vec<f32>, u64) {
    let expected: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("expected.json")).unwrap()).unwrap();
    let shape: Vec<usize> =
        expected["clip_shape"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as usize).collect();
    let bytes = std::fs::read(fixture("clip.f32")).unwrap();
    let values: Vec<f32> = bytes.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
    let clip = Tensor::<Cpu, 5>::from_data(TensorData::new(values, shape), device);
    let want: Vec<f32> = expected["logits"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|row| row.as_array().unwrap().iter().map(|v| v.as_f64().unwrap() as f32))
        .collect();
    (clip, want, expected["parameters"].as_u64().unwrap())
}

fn assert_close(logits: &[f32], want: &[f32]) {
    assert_eq!(logits.len(), want.len());
    let worst = logits.iter().zip(want).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
    eprintln!("max |Burn - PyTorch| over {} logits: {worst:e}", logits.len());
    assert!(worst <= 1e-4, "Burn and PyTorch logits differ by {worst}: {logits:?} vs {want:?}");
}

#[test]
fn a_pytorch_checkpoint_gives_pytorchs_logits() {
    let device = Default::default();
    let model = tiny(5).init::<Cpu>(&device);
    let params = model.num_params();
    let (model, report) = load_torch(model, checkpoint(), &[]);
    assert!(report.is_complete(), "{report}");
    let (clip, want, parameters) = reference(&device);
    assert_eq!(params as u64, parameters, "the same parameter count as PyTorch's");
    assert_close(&model.forward(clip).into_data().to_vec::<f32>().unwrap(), &want);
}

/// PViT's paper-size path starts from a K400 MViTv2 checkpoint: it loads
/// into the backbone (names relative to it, as the `train` stage's `init`
/// does), and the `mvit` variant then gives PyTorch's logits.
#[test]
fn a_pytorch_checkpoint_initialises_the_pvit_backbone() {
    let device = Default::default();
    let config = PvitConfig {
        num_frames: 4,
        crop_size: 32,
        dropout: 0.0,
        ..PvitConfig::new(5, MvitSize::Tiny, PvitVariant::Mvit)
    };
    let mut model = config.init::<Cpu>(&device);
    let (backbone, report) = load_torch(model.backbone, checkpoint(), &[]);
    assert!(report.is_complete(), "{report}");
    model.backbone = backbone;
    let (clip, want, _) = reference(&device);
    assert_close(&model.classify(clip).into_data().to_vec::<f32>().unwrap(), &want);
}

#[test]
fn a_checkpoint_that_does_not_fit_lists_missing_unexpected_and_misshaped() {
    let device = Default::default();
    let mut tensors = checkpoint();
    // A renamed tensor: missing under its name, unexpected under the other.
    let at = tensors.iter().position(|t| t.0 == "blocks.0.attn.rel_pos_t").unwrap();
    tensors[at].0 = "blocks.0.attn.rel_pos_time".into();
    let (_, report) = load_torch(tiny(7).init::<Cpu>(&device), tensors.clone(), &[]);
    assert_eq!(report.missing, ["blocks.0.attn.rel_pos_t"]);
    assert_eq!(report.unexpected, ["blocks.0.attn.rel_pos_time"]);
    // A head for 7 classes does not take a 5-class head's weights.
    assert_eq!(
        report.misshaped.iter().map(|m| m.0.as_str()).collect::<Vec<_>>(),
        ["head.projection.weight", "head.projection.bias"]
    );
    let text = report.to_string();
    assert!(text.contains("`head.projection.weight` has shape [96, 5] in the checkpoint but [96, 7]"), "{text}");
    // Fine-tuning keeps a fresh head instead.
    let (_, report) = load_torch(tiny(7).init::<Cpu>(&device), checkpoint(), &["head."]);
    assert!(report.is_complete(), "{report}");
}
