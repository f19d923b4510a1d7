use actionbench_train::schedule::CosineSchedule;

#[test]
fn warm_up_is_linear_then_cosine_reaches_the_floor() {
    let s = CosineSchedule { base_lr: 0.1, min_lr: 0.001, warmup_steps: 4, total_steps: 14 };
    let close = |a: f64, b: f64| (a - b).abs() < 1e-12;
    assert!(close(s.lr(0), 0.025));
    assert!(close(s.lr(1), 0.05));
    assert!(close(s.lr(3), 0.1));
    // First decay step is the peak; half-way through the decay is the mean.
    assert!(close(s.lr(4), 0.1));
    assert!(close(s.lr(9), (0.1 + 0.001) / 2.0));
    assert!(close(s.lr(14), 0.001));
    assert!(close(s.lr(100), 0.001), "clamped after the end");
    // Monotone decreasing after warm-up.
    assert!((4..14).all(|i| s.lr(i + 1) < s.lr(i)));
    // No warm-up: starts at the peak.
    let s0 = CosineSchedule { warmup_steps: 0, ..s };
    assert!(close(s0.lr(0), 0.1));
}
