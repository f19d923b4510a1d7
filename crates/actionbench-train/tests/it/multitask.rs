use actionbench_train::multitask::{DwaTracker, LossCombiner, Weighting};
use burn::module::Module;
use burn::tensor::{Tensor, TensorData};

use crate::{Cpu, Train};

fn scalar(v: f32) -> Option<Tensor<Cpu, 1>> {
    Some(Tensor::from_data(TensorData::new(vec![v], [1]), &Default::default()))
}

fn total(c: &LossCombiner<Cpu>, losses: &[Option<Tensor<Cpu, 1>>], dwa: &[f64]) -> f32 {
    c.combine(losses, dwa).unwrap().into_scalar()
}

#[test]
fn fixed_and_average_weightings() {
    let d = Default::default();
    let fixed = LossCombiner::<Cpu>::new(Weighting::Fixed { weights: vec![2.0, 0.5] }, 2, &d);
    assert!((total(&fixed, &[scalar(1.0), scalar(4.0)], &[]) - 4.0).abs() < 1e-6);
    let avg = LossCombiner::<Cpu>::new(Weighting::Average, 3, &d);
    assert!((total(&avg, &[scalar(1.0), scalar(2.0), scalar(6.0)], &[]) - 3.0).abs() < 1e-6);
    // A task without labelled samples drops out of the average.
    assert!((total(&avg, &[scalar(1.0), None, scalar(5.0)], &[]) - 3.0).abs() < 1e-6);
    assert!(avg.combine(&[None, None, None], &[]).is_none());
    assert!(Weighting::Fixed { weights: vec![1.0] }.validate(2).is_err());
}

#[test]
fn uncertainty_and_automatic_follow_their_formulas_and_learn_sigma() {
    let d = Default::default();
    // Uncertainty at init (s = log σ² = 0): Σ 0.5 L_i.
    let unc = LossCombiner::<Cpu>::new(Weighting::Uncertainty, 2, &d);
    assert!((total(&unc, &[scalar(2.0), scalar(4.0)], &[]) - 3.0).abs() < 1e-6);
    assert_eq!(unc.sigmas().unwrap(), vec![1.0, 1.0]);
    // Automatic at init (σ = 1): Σ L_i / 2 + ln 2.
    let auto = LossCombiner::<Cpu>::new(Weighting::Automatic, 2, &d);
    let want = 3.0 + 2.0 * 2f32.ln();
    assert!((total(&auto, &[scalar(2.0), scalar(4.0)], &[]) - want).abs() < 1e-5);
    // σ are trainable parameters: a larger loss pushes its σ up.
    let auto = LossCombiner::<Train>::new(Weighting::Automatic, 2, &d);
    assert_eq!(auto.num_params(), 2);
    let l = |v: f32| Some(Tensor::<Train, 1>::from_data(TensorData::new(vec![v], [1]), &d));
    let loss = auto.combine(&[l(0.1), l(10.0)], &[]).unwrap();
    let grads = loss.backward();
    let g = burn::optim::GradientsParams::from_grads(grads, &auto);
    let mut optim = burn::optim::SgdConfig::new().init::<Train, LossCombiner<Train>>();
    let stepped = burn::optim::Optimizer::step(&mut optim, 0.1, auto, g);
    let s = stepped.sigmas().unwrap();
    assert!(s[1] > 1.0 && s[0] < 1.0, "σ moves towards sqrt(L): {s:?}");
}

#[test]
fn dwa_weights_favour_the_task_whose_loss_falls_slowest() {
    let d = Default::default();
    let mut t = DwaTracker::new(2);
    assert_eq!(t.weights(2.0), vec![1.0, 1.0], "λ = 1 for the first windows");
    // Window 1 means (2, 2), window 2 means (1, 2): task 0 improves, task 1 does not.
    t.record(&[Some(2.0), Some(2.0)], 2);
    t.record(&[Some(2.0), Some(2.0)], 2);
    assert_eq!(t.weights(2.0), vec![1.0, 1.0]);
    t.record(&[Some(1.0), Some(2.0)], 2);
    t.record(&[Some(1.0), None], 2);
    let w = t.weights(2.0);
    // w = (0.5, 1.0): λ_i = 2 exp(w_i/2) / Σ exp(w_k/2).
    let (e0, e1) = ((0.25f64).exp(), (0.5f64).exp());
    assert!((w[0] - 2.0 * e0 / (e0 + e1)).abs() < 1e-12);
    assert!((w[1] - 2.0 * e1 / (e0 + e1)).abs() < 1e-12);
    assert!((w.iter().sum::<f64>() - 2.0).abs() < 1e-12, "weights sum to K");
    let dwa = LossCombiner::<Cpu>::new(Weighting::Dwa { temperature: 2.0, window: Some(2) }, 2, &d);
    let want = (w[0] * 1.0 + w[1] * 3.0) as f32;
    assert!((total(&dwa, &[scalar(1.0), scalar(3.0)], &w) - want).abs() < 1e-5);
}
