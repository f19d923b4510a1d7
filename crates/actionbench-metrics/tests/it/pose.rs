//! MPJPE / P-MPJPE against closed-form cases and VideoPose3D's `p_mpjpe`.

use actionbench_metrics::pose::{evaluate_poses, frame_errors, mpjpe, p_mpjpe, procrustes_align};

const J: usize = 17;
const F: usize = 3;

/// A deterministic `[3, 17, 3]` ground truth (also used to compute the
/// reference numbers with VideoPose3D's code).
fn gt() -> Vec<f64> {
    let mut g = Vec::with_capacity(F * J * 3);
    for f in 0..F {
        for j in 0..J {
            let (f, j) = (f as f64, j as f64);
            g.extend([(1.3 * j + f).sin(), (0.7 * j + 2.0 * f).cos(), 0.1 * j - 0.05 * f]);
        }
    }
    g
}

fn noisy() -> Vec<f64> {
    let mut n = gt();
    for f in 0..F {
        for j in 0..J {
            let (ff, jf) = (f as f64, j as f64);
            let i = (f * J + j) * 3;
            n[i] += 0.05 * (3.1 * jf + ff).sin();
            n[i + 1] += 0.04 * (1.7 * jf - ff).cos();
            n[i + 2] += 0.03 * (0.3 * jf * ff + 1.0).sin();
        }
    }
    n
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-12 * b.abs().max(1.0)
}

#[test]
fn translation_gives_its_length_as_mpjpe_and_zero_p_mpjpe() {
    let g = gt();
    let pred: Vec<f64> = g.chunks(3).flat_map(|p| [p[0] + 3.0, p[1] + 4.0, p[2]]).collect();
    assert!(close(mpjpe(&pred, &g, J).unwrap(), 5.0));
    assert!(p_mpjpe(&pred, &g, J).unwrap() < 1e-12);
}

#[test]
fn similarity_transform_is_aligned_away() {
    // pred = 2.5 · gt · Rz(30°) + t: P-MPJPE ~ 0 (VideoPose3D: 9.99e-16),
    // MPJPE 3.2682124599015663 (numpy).
    let g = gt();
    let (s, c) = 30f64.to_radians().sin_cos();
    let pred: Vec<f64> = g
        .chunks(3)
        .flat_map(|p| {
            // Row vector times R = [[c, -s, 0], [s, c, 0], [0, 0, 1]].
            let x = p[0] * c + p[1] * s;
            let y = -p[0] * s + p[1] * c;
            [2.5 * x + 1.0, 2.5 * y - 2.0, 2.5 * p[2] + 0.5]
        })
        .collect();
    assert!(close(mpjpe(&pred, &g, J).unwrap(), 3.2682124599015663));
    assert!(p_mpjpe(&pred, &g, J).unwrap() < 1e-12);
    let aligned = procrustes_align(&pred[..J * 3], &g[..J * 3], J).unwrap();
    for (a, b) in aligned.iter().zip(&g[..J * 3]) {
        assert!((a - b).abs() < 1e-12);
    }
}

#[test]
fn a_mirrored_pose_cannot_be_aligned_by_a_rotation() {
    // x negated: a reflection. VideoPose3D forces a proper rotation, leaving
    // P-MPJPE 0.7862958208952306 (value printed by its `p_mpjpe`).
    let g = gt();
    let pred: Vec<f64> = g.chunks(3).flat_map(|p| [-p[0], p[1], p[2]]).collect();
    assert!(close(p_mpjpe(&pred, &g, J).unwrap(), 0.7862958208952306));
    assert!(close(mpjpe(&pred, &g, J).unwrap(), 1.2705305979517783));
}

#[test]
fn noisy_prediction_matches_videopose3d() {
    let (n, g) = (noisy(), gt());
    assert!(close(p_mpjpe(&n, &g, J).unwrap(), 0.0458754852428645));
    assert!(close(mpjpe(&n, &g, J).unwrap(), 0.049566310259371846));
    let per_frame = frame_errors(&n, &g, J).unwrap();
    let expected = [
        (0.041649166715981054, 0.032121186716481044),
        (0.04688146533903877, 0.04607460772208713),
        (0.06016829872309571, 0.059430661290025305),
    ];
    for (e, (m, p)) in per_frame.iter().zip(expected) {
        assert!(close(e.mpjpe, m) && close(e.p_mpjpe, p), "{e:?}");
    }
}

#[test]
fn per_action_errors_are_frame_weighted_then_averaged_over_actions() {
    let (n, g) = (noisy(), gt());
    let actions: Vec<String> = ["Walking 1", "Eating", "Walking"].map(String::from).to_vec();
    let r = evaluate_poses(&n, &g, J, Some(&actions)).unwrap();
    let f = frame_errors(&n, &g, J).unwrap();
    assert_eq!(r.per_action.len(), 2);
    assert_eq!(r.per_action[0].action, "Walking");
    assert_eq!(r.per_action[0].frames, 2);
    assert!(close(r.per_action[0].mpjpe, (f[0].mpjpe + f[2].mpjpe) / 2.0));
    assert_eq!(r.per_action[1].action, "Eating");
    assert!(close(r.per_action[1].p_mpjpe, f[1].p_mpjpe));
    // Unweighted over the two groups, not over the three frames.
    let walking = (f[0].p_mpjpe + f[2].p_mpjpe) / 2.0;
    assert!(close(r.p_mpjpe, (walking + f[1].p_mpjpe) / 2.0));
    let plain = evaluate_poses(&n, &g, J, None).unwrap();
    assert!(close(plain.p_mpjpe, 0.0458754852428645));
    assert!(plain.per_action.is_empty());
}
