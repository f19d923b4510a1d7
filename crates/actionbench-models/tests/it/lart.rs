use actionbench_models::{LartConfig, LartInput, LartSize, pool_keyframe, position_encoding};
use burn::module::Module;
use burn::tensor::{Bool, Distribution, Tensor, TensorData};

use crate::Cpu;

#[test]
fn position_encoding_splits_time_and_track_id() {
    let (t, p, w) = (4, 3, 8);
    let pe = position_encoding(t, p, w);
    assert_eq!(pe.len(), t * p * w);
    let row = |i: usize, f: usize| &pe[(i * t + f) * w..][..w];
    // Person 0, frame 0: sin 0 = 0, cos 0 = 1 in both halves.
    assert_eq!(row(0, 0), &[0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0]);
    // Time lives in the first half: same frame, other person => same first half.
    assert_eq!(row(2, 3)[..4], row(0, 3)[..4]);
    assert_ne!(row(2, 3)[4..], row(0, 3)[4..]);
    // First frequency is 1: sin(t).
    assert!((row(1, 3)[0] - 3f32.sin()).abs() < 1e-6);
    assert!((row(2, 0)[4] - 2f32.sin()).abs() < 1e-6);
    // Second frequency: 1 / 10000^(4/8) = 1/100.
    assert!((row(0, 3)[2] - (3.0f32 / 100.0).sin()).abs() < 1e-6);
}

fn bools<const D: usize>(v: Vec<bool>, shape: [usize; D]) -> Tensor<Cpu, D, Bool> {
    Tensor::from_data(TensorData::new(v, shape), &Default::default())
}

fn tiny(dim: usize) -> LartConfig {
    LartConfig { pose_dim: dim, max_people: 2, ..LartConfig::new(3, LartSize::Tiny) }
}

#[test]
fn shapes_and_person_of_interest() {
    let device = Default::default();
    let model = tiny(7).init::<Cpu>(&device);
    let (n, t, p) = (2, 5, 2);
    let pose = Tensor::<Cpu, 4>::random([n, t, p, 7], Distribution::Normal(0.0, 1.0), &device);
    let input = LartInput {
        pose,
        appearance: None,
        valid: bools(vec![true; n * t * p], [n, t, p]),
        masked: None,
        attention_masking: false,
    };
    let all = model.forward_all(input.clone());
    assert_eq!(all.dims(), [n, p, t, 3]);
    let poi = model.forward(input);
    assert_eq!(poi.into_data(), all.narrow(1, 0, 1).reshape([n, t, 3]).into_data());
}

/// Outputs of every token except `skip`, as a flat vector.
fn others(out: Tensor<Cpu, 4>, skip: (usize, usize)) -> Vec<f32> {
    let [_, p, t, k] = out.dims();
    let v = out.into_data().to_vec::<f32>().unwrap();
    let mut res = Vec::new();
    for i in 0..p {
        for f in 0..t {
            if (i, f) != skip {
                res.extend_from_slice(&v[(i * t + f) * k..][..k]);
            }
        }
    }
    res
}

#[test]
fn masked_and_missing_tokens_are_hidden_from_the_others_in_training_only() {
    let device = Default::default();
    let mut config = tiny(6);
    config.dropout = 0.0;
    let model = config.init::<Cpu>(&device);
    let (t, p) = (4, 2);
    let pose = Tensor::<Cpu, 4>::random([1, t, p, 6], Distribution::Normal(0.0, 1.0), &device);
    // Token (person 1, frame 2) is either missing or masked.
    let target = 2 * p + 1; // [T, P] layout
    let mut valid = vec![true; t * p];
    let mut only = vec![false; t * p];
    only[target] = true;
    let run = |valid: Vec<bool>, masked: Option<Vec<bool>>, attention_masking: bool| {
        model.forward_all(LartInput {
            pose: pose.clone(),
            appearance: None,
            valid: bools(valid, [1, t, p]),
            masked: masked.map(|m| bools(m, [1, t, p])),
            attention_masking,
        })
    };
    let masked = run(valid.clone(), Some(only.clone()), true);
    valid[target] = false;
    let missing = run(valid.clone(), None, true);
    let a = others(masked.clone(), (1, 2));
    let b = others(missing.clone(), (1, 2));
    for (x, y) in a.iter().zip(&b) {
        assert!((x - y).abs() < 1e-5, "others see neither a masked nor a missing token: {x} vs {y}");
    }
    // At inference the mask token in-fills the gap and the others attend it.
    let inference = run(valid, None, false);
    let c = others(inference, (1, 2));
    assert!(a.iter().zip(&c).any(|(x, y)| (x - y).abs() > 1e-4), "inference attends the in-filled token");
    // The masked token itself attends the others and gets a prediction.
    assert!(masked.into_data().to_vec::<f32>().unwrap().iter().all(|v| v.is_finite()));
}

#[test]
fn appearance_widens_the_token_and_paper_size_matches_the_paper() {
    let device = Default::default();
    let mut config = tiny(5);
    config.appearance_dim = Some(4);
    let model = config.init::<Cpu>(&device);
    let (n, t, p) = (1, 3, 2);
    let out = model.forward(LartInput {
        pose: Tensor::zeros([n, t, p, 5], &device),
        appearance: Some(Tensor::ones([n, t, p, 4], &device)),
        valid: bools(vec![true; n * t * p], [n, t, p]),
        masked: None,
        attention_masking: false,
    });
    assert_eq!(out.dims(), [n, t, 3]);
    assert_eq!(LartSize::Paper.dims(), (16, 512, 16));
    let pose_only = tiny(5).init::<Cpu>(&device).num_params();
    assert!(model.num_params() > pose_only);
}

#[test]
fn keyframe_pooling_averages_twelve_frames_around_the_centre() {
    let classes = 2;
    let frames = 30;
    let scores: Vec<f32> = (0..frames).flat_map(|f| [f as f32, 1.0]).collect();
    let keep = vec![true; frames];
    // Frames 4..16 around 10: mean of 4..=15 = 9.5.
    assert_eq!(pool_keyframe(&scores, classes, &keep, 10, 12), Some(vec![9.5, 1.0]));
    // Clipped at the start: frames 0..8 around 2 -> mean 3.5.
    assert_eq!(pool_keyframe(&scores, classes, &keep, 2, 12), Some(vec![3.5, 1.0]));
    // Frames without detection are skipped.
    let mut keep2 = keep.clone();
    keep2[15] = false;
    assert_eq!(pool_keyframe(&scores, classes, &keep2, 10, 12), Some(vec![9.0, 1.0]));
    assert_eq!(pool_keyframe(&scores, classes, &[false; 30], 10, 12), None);
}
