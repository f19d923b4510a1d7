use actionbench_train::losses::{bce_with_logits_per_sample, cross_entropy_per_sample, masked_mean};
use burn::tensor::{Int, Tensor, TensorData};

use crate::Cpu;

fn t2(v: Vec<f32>, shape: [usize; 2]) -> Tensor<Cpu, 2> {
    Tensor::from_data(TensorData::new(v, shape), &Default::default())
}

#[test]
fn cross_entropy_matches_the_formula_and_ignores_missing_labels() {
    let logits = t2(vec![1.0, 2.0, 3.0, 0.0, 0.0, 0.0], [2, 3]);
    let targets: Tensor<Cpu, 1, Int> = Tensor::from_data(TensorData::new(vec![2i64, -1], [2]), &Default::default());
    let ce = cross_entropy_per_sample(logits, targets).into_data().to_vec::<f32>().unwrap();
    let want = -(3f32.exp() / (1f32.exp() + 2f32.exp() + 3f32.exp())).ln();
    assert!((ce[0] - want).abs() < 1e-5, "{} vs {want}", ce[0]);
    let per: Tensor<Cpu, 1> = Tensor::from_data(TensorData::new(ce, [2]), &Default::default());
    let m = masked_mean(per.clone(), &[true, false]).unwrap().into_scalar();
    assert!((m - want).abs() < 1e-5);
    assert!(masked_mean(per, &[false, false]).is_none(), "no labelled sample: no loss");
}

#[test]
fn bce_matches_the_formula() {
    let bce = bce_with_logits_per_sample(t2(vec![0.0, 2.0], [1, 2]), t2(vec![1.0, 0.0], [1, 2]));
    let sig = |x: f32| 1.0 / (1.0 + (-x).exp());
    let want = -(sig(0.0).ln()) - (1.0 - sig(2.0)).ln();
    assert!((bce.into_scalar() - want).abs() < 1e-5);
}
