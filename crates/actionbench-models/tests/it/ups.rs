use actionbench_models::ups::{gumbel_noise, gumbel_softmax_hard};
use actionbench_models::{
    DecodeError, Decoded, Eot, Layout, Routing, Token, UpsConfig, UpsSize, UpsTask, Vocab, greedy_decode,
};
use burn::backend::Autodiff;
use burn::tensor::{Distribution, Tensor, TensorData};

use crate::Cpu;

type Ad = Autodiff<Cpu>;

fn vocab() -> Vocab {
    Vocab { classes: 5, bins: 10, range: 1.0 }
}

#[test]
fn vocabulary_layout_and_prompts() {
    let v = vocab();
    assert_eq!(v.len(), 5 + 30 + 3);
    assert_eq!(v.token(4), Some(Token::Action(4)));
    assert_eq!(v.token(5), Some(Token::Coord { axis: 0, bin: 0 }));
    assert_eq!(v.token(5 + 10 + 3), Some(Token::Coord { axis: 1, bin: 3 }));
    assert_eq!(v.token(35), Some(Token::Eot(Eot::Ar)));
    assert_eq!(v.token(36), Some(Token::Eot(Eot::Pe)));
    assert_eq!(v.token(37), Some(Token::Eot(Eot::Ap)));
    assert_eq!(v.token(38), None);
    assert_eq!(v.action_target(2, UpsTask::Early), vec![2, 37]);
    assert_eq!(v.action_target(2, UpsTask::Action2d), vec![2, 35]);
    let t = v.pose_target(&[[0.0, -1.0, 0.95]]);
    assert_eq!(t, vec![v.coord(0, 5), v.coord(1, 0), v.coord(2, 9), 36]);
    let prompts = v.prompts(&["walk".into()]);
    assert_eq!(prompts.len(), v.len());
    assert_eq!(prompts[0], "walk");
    assert_eq!(prompts[1], "action 1");
    assert_eq!(prompts[5], "The 1st horizontal coordinate");
    assert_eq!(prompts[5 + 10 + 1], "The 2nd vertical coordinate");
    assert_eq!(prompts[5 + 20 + 2], "The 3rd depth coordinate");
    assert_eq!(prompts[36], "pose estimation ends here");
}

#[test]
fn quantise_then_dequantise_is_within_half_a_bin() {
    let v = Vocab { classes: 60, bins: 128, range: 1.1 };
    let half = v.bin_width() / 2.0;
    let mut worst = 0f32;
    for i in 0..=10_000 {
        let x = -1.1 + 2.2 * i as f32 / 10_000.0;
        let back = v.dequantise(v.quantise(x));
        worst = worst.max((back - x).abs());
    }
    assert!(worst <= half * (1.0 + 1e-4), "worst {worst} > half a bin {half}");
    // Halfway: the error really reaches half a bin somewhere.
    assert!(worst > half * 0.99, "{worst}");
    // Outside the range: clamped to the edge bins.
    assert_eq!(v.quantise(-5.0), 0);
    assert_eq!(v.quantise(5.0), 127);
    assert_eq!(v.quantise(f32::NAN), 0);
}

#[test]
fn parse_reads_good_decodes_and_names_what_is_wrong_with_bad_ones() {
    let v = vocab();
    let eot = |e| v.eot(e);
    assert_eq!(v.parse(UpsTask::Action3d, 1, &[3, eot(Eot::Ar), 0]), Ok(Decoded::Action(3)));
    assert_eq!(v.parse(UpsTask::Early, 1, &[1, eot(Eot::Ap)]), Ok(Decoded::Action(1)));
    let err = v.parse(UpsTask::Early, 1, &[1, eot(Eot::Ar)]).unwrap_err();
    assert!(matches!(err, DecodeError::WrongEot { expected: Eot::Ap, found: Eot::Ar, at: 1, .. }), "{err}");
    assert!(err.to_string().contains("ends with EOT_AR at position 1; expected EOT_AP"), "{err}");
    assert!(matches!(v.parse(UpsTask::Action3d, 1, &[1, 2]), Err(DecodeError::NoEot { len: 2, .. })));
    let pose = [v.coord(0, 1), v.coord(1, 2), v.coord(2, 3), eot(Eot::Pe)];
    match v.parse(UpsTask::Pose, 1, &pose) {
        Ok(Decoded::Pose(j)) => {
            assert_eq!(j.len(), 1);
            assert!((j[0][0] - v.dequantise(1)).abs() < 1e-6 && (j[0][2] - v.dequantise(3)).abs() < 1e-6);
        }
        other => panic!("{other:?}"),
    }
    // Too few coordinates.
    let err = v.parse(UpsTask::Pose, 2, &pose).unwrap_err();
    assert_eq!(err, DecodeError::CoordinateCount { got: 3, want: 6 });
    // A Y-bin where an X-bin belongs.
    let err = v.parse(UpsTask::Pose, 1, &[v.coord(1, 0), eot(Eot::Pe)]).unwrap_err();
    assert!(err.to_string().contains("has Y-bin 0 at position 0; expected an X-bin"), "{err}");
    // An action where the pose's coordinates belong.
    let err = v.parse(UpsTask::Pose, 1, &[2, eot(Eot::Pe)]).unwrap_err();
    assert!(err.to_string().contains("action 2 at position 0"), "{err}");
}

/// Logits that put the maximum on `id`.
fn peak(v: &Vocab, id: usize) -> Vec<f32> {
    let mut l = vec![0.0; v.len()];
    l[id] = 5.0;
    l
}

#[test]
fn greedy_decoding_stops_at_the_tasks_eot_and_reports_malformed_decodes() {
    let v = vocab();
    // Sample 0 decodes [3, EOT_AR]; sample 1 would end with EOT_PE.
    let out = greedy_decode(&v, UpsTask::Action3d, 17, 2, |prefixes| {
        prefixes
            .iter()
            .enumerate()
            .map(|(i, p)| match (i, p.len()) {
                (_, 0) => peak(&v, 3),
                (0, _) => peak(&v, v.eot(Eot::Ar)),
                _ => peak(&v, v.eot(Eot::Pe)),
            })
            .collect()
    });
    assert_eq!(out[0].tokens, vec![3, v.eot(Eot::Ar)]);
    assert_eq!(out[0].free, Ok(()));
    assert_eq!(v.parse(UpsTask::Action3d, 17, &out[0].tokens), Ok(Decoded::Action(3)));
    assert_eq!(out[0].first_logits, peak(&v, 3));
    // The answer stays well-formed; the free decode's fault is reported.
    assert_eq!(out[1].tokens, vec![3, v.eot(Eot::Ar)]);
    assert!(matches!(out[1].free, Err(DecodeError::WrongEot { found: Eot::Pe, .. })), "{:?}", out[1].free);

    // A pose decode that emits EOT_PE after one joint of two.
    let calls = std::cell::Cell::new(0);
    let out = greedy_decode(&v, UpsTask::Pose, 2, 1, |prefixes| {
        calls.set(calls.get() + 1);
        let k = prefixes[0].len();
        vec![if k == 3 { peak(&v, v.eot(Eot::Pe)) } else { peak(&v, v.coord(k % 3, k)) }]
    });
    assert_eq!(calls.get(), 7, "3·2 coordinates + EOT_PE, then it stops");
    assert_eq!(out[0].free, Err(DecodeError::CoordinateCount { got: 3, want: 6 }));
    assert_eq!(out[0].tokens.len(), 7);
    assert!(matches!(v.parse(UpsTask::Pose, 2, &out[0].tokens), Ok(Decoded::Pose(j)) if j.len() == 2));

    // A bin of the wrong axis is named where it appears.
    let out = greedy_decode(&v, UpsTask::Pose, 2, 1, |prefixes| {
        let k = prefixes[0].len();
        vec![if k == 1 { peak(&v, v.coord(0, 4)) } else { peak(&v, v.coord(k % 3, 1)) }]
    });
    let err = out[0].free.clone().unwrap_err().to_string();
    assert!(err.contains("has X-bin 4 at position 1; expected a Y-bin"), "{err}");
}

fn tiny() -> UpsConfig {
    let mut c = UpsConfig::new(6, UpsSize::Tiny);
    c.frames = 8;
    c.pose_joints = 3;
    c.bins = Some(16);
    c
}

#[test]
fn the_decoder_never_sees_the_future() {
    let device = Default::default();
    let model = tiny().init::<Ad>(None, &device);
    let memory = Tensor::<Ad, 3>::random([2, 8, 64], Distribution::Normal(0.0, 1.0), &device);
    let inputs = Tensor::<Ad, 3>::random([2, 6, 64], Distribution::Normal(0.0, 1.0), &device).require_grad();
    let table = model.token_table(&device);
    for k in [0, 2, 5] {
        let logits = model.decode_embedded(memory.clone(), inputs.clone(), &table);
        let grads = logits.narrow(1, k, 1).sum().backward();
        let g = inputs.grad(&grads).expect("inputs take part").into_data().to_vec::<f32>().unwrap();
        // g is [2, 6, 64]: position p of sample b at (b*6 + p)*64.
        for b in 0..2 {
            for p in 0..6 {
                let norm: f32 = g[(b * 6 + p) * 64..(b * 6 + p + 1) * 64].iter().map(|x| x.abs()).sum();
                if p > k {
                    assert_eq!(norm, 0.0, "logits at {k} depend on input {p}");
                } else {
                    assert!(norm > 0.0, "logits at {k} ignore input {p}");
                }
            }
        }
    }
}

#[test]
fn gumbel_softmax_is_one_hot_forward_with_soft_gradients() {
    let device = Default::default();
    let scores = Tensor::<Ad, 1>::from_data(TensorData::new(vec![0.3f32, -0.2, 0.1], [3]), &device).require_grad();
    // Fixed draws: the same noise picks the same block every time.
    let noise: Vec<f64> = [0.9, 0.2, 0.5].iter().map(|&u| gumbel_noise(u)).collect();
    let (w, chosen) = gumbel_softmax_hard(scores.clone(), &noise, 1.0);
    let perturbed: Vec<f64> = [0.3, -0.2, 0.1].iter().zip(&noise).map(|(s, g)| s + g).collect();
    let best = (0..3).fold(0, |b, i| if perturbed[i] > perturbed[b] { i } else { b });
    assert_eq!(chosen, best);
    let values = w.clone().into_data().to_vec::<f32>().unwrap();
    for (i, v) in values.iter().enumerate() {
        let want = if i == chosen { 1.0 } else { 0.0 };
        assert!((v - want).abs() < 1e-6, "weights {values:?}");
    }
    assert_eq!(gumbel_softmax_hard(scores.clone().inner(), &noise, 1.0).1, chosen, "deterministic for fixed draws");
    // Straight-through: every score gets a gradient.
    let grads = (w * Tensor::from_data(TensorData::new(vec![1.0f32, 2.0, 3.0], [3]), &device)).sum().backward();
    let g = scores.grad(&grads).unwrap().into_data().to_vec::<f32>().unwrap();
    assert!(g.iter().all(|x| x.abs() > 0.0), "{g:?}");
}

#[test]
fn routing_picks_one_block_per_layer_and_is_deterministic_at_test() {
    let device = Default::default();
    let config = tiny();
    let model = config.init::<Cpu>(None, &device);
    let x = Tensor::<Cpu, 4>::random([2, 2, 8, 18], Distribution::Normal(0.0, 1.0), &device);
    let test = model.encode(x.clone(), Layout::Openpose18, UpsTask::Action2d, &Routing::Argmax);
    assert_eq!(test.route.len(), 2, "one block per layer");
    for (l, &b) in test.route.iter().enumerate() {
        let s = model.block_scores(UpsTask::Action2d, l).into_data().to_vec::<f32>().unwrap();
        assert!(s[b] >= s[1 - b], "layer {l}: picked {b} with scores {s:?}");
    }
    let again = model.encode(x.clone(), Layout::Openpose18, UpsTask::Action2d, &Routing::Argmax);
    assert_eq!(again.route, test.route);
    assert_eq!(again.memory.into_data(), test.memory.clone().into_data());
    assert_eq!(test.memory.dims(), [2, 8, 64]);
    // Training: the chosen block follows the draws; a draw that favours each
    // block in turn picks it.
    for want in 0..2 {
        let uniforms: Vec<f64> = (0..4).map(|i| if i % 2 == want { 1.0 - 1e-9 } else { 1e-9 }).collect();
        let e = model.encode(x.clone(), Layout::Openpose18, UpsTask::Action2d, &Routing::Sample { uniforms, tau: 1.0 });
        assert_eq!(e.route, vec![want, want]);
    }
}

#[test]
fn teacher_forcing_and_greedy_decoding_have_the_tasks_shapes() {
    let device = Default::default();
    let config = tiny();
    let vocab = config.vocab();
    let model = config.init::<Cpu>(Some((vec![0.1; vocab.len() * 12], [vocab.len(), 12])), &device);
    let x = Tensor::<Cpu, 4>::random([3, 2, 8, 17], Distribution::Normal(0.0, 1.0), &device);
    let enc = model.encode(x, Layout::H36m17, UpsTask::Pose, &Routing::Argmax);
    let targets: Vec<Vec<usize>> = (0..3).map(|i| vocab.pose_target(&[[0.1 * i as f32, 0.0, -0.2]; 3])).collect();
    let logits = model.teacher_forced(&enc, &targets);
    assert_eq!(logits.dims(), [3, 10, vocab.len()]);
    let out = model.greedy(&enc, &vocab, 3);
    for o in &out {
        assert_eq!(o.tokens.len(), 10);
        assert!(matches!(vocab.parse(UpsTask::Pose, 3, &o.tokens), Ok(Decoded::Pose(j)) if j.len() == 3));
    }
    let bad = UpsConfig { coord_range: 0.0, ..config.clone() };
    assert!(bad.validate().unwrap_err().contains("coord-range"));
    let round: UpsConfig = serde_json::from_str(&serde_json::to_string(&config).unwrap()).unwrap();
    assert_eq!(round, config);
}
