//! Skeleton decode and augmentation.

use actionbench_loader::{SampleSource, SkeletonConfig, SkeletonSource, sample_rng};

use crate::common::{bodies_of, frames_of, joint_value, ntu_table};

const N: usize = 12;

fn source(cfg: SkeletonConfig) -> SkeletonSource {
    SkeletonSource::new(ntu_table(N), cfg).unwrap()
}

/// `[C, T, J, M]` accessor.
fn at(data: &[f32], t_len: usize, m: usize, c: usize, t: usize, j: usize, b: usize) -> f32 {
    data[((c * t_len + t) * 25 + j) * m + b]
}

#[test]
fn augmentation_depends_only_on_seed_epoch_and_index() {
    let s = source(SkeletonConfig { frames: 20, augment: true, flip: true, ..Default::default() });
    let a = s.sample(4, &mut sample_rng(1, 0, 0, 4)).unwrap();
    let b = s.sample(4, &mut sample_rng(1, 0, 0, 4)).unwrap();
    assert_eq!(a, b);
    let other_epoch = s.sample(4, &mut sample_rng(1, 1, 0, 4)).unwrap();
    assert_ne!(a.tensors["joints"], other_epoch.tensors["joints"]);
    let other_seed = s.sample(4, &mut sample_rng(2, 0, 0, 4)).unwrap();
    assert_ne!(a.tensors["joints"], other_seed.tensors["joints"]);
}

#[test]
fn without_augmentation_frames_are_centred_and_resampled_uniformly() {
    let t = 16;
    let s = source(SkeletonConfig { frames: t, ..Default::default() });
    for i in [0usize, 5] {
        let smp = s.sample(i, &mut sample_rng(0, 0, 0, i as u64)).unwrap();
        let j = &smp.tensors["joints"];
        assert_eq!(j.shape, vec![3, t, 25, 2]);
        let f = frames_of(i);
        for ti in 0..t {
            let fi = ((ti as f32 + 0.5) * f as f32 / t as f32) as usize;
            for c in 0..3 {
                for jj in [0usize, 1, 20] {
                    let want = joint_value(i, fi, 0, jj, c) - joint_value(i, 0, 0, 1, c);
                    let got = at(&j.data, t, 2, c, ti, jj, 0);
                    assert!((got - want).abs() < 1e-5, "sample {i} t {ti} joint {jj} c {c}: {got} vs {want}");
                }
            }
        }
        // The spine of body 0 in the first sampled frame is near the origin (frame 0 exactly).
        assert_eq!(smp.label, (i % 5) as i64);
        assert!(smp.label_masks["action"]);
    }
}

#[test]
fn bodies_are_padded_or_truncated_with_a_mask() {
    let t = 8;
    let s = source(SkeletonConfig { frames: t, bodies: 2, ..Default::default() });
    // Sample 0 has 1 body, sample 2 has 3.
    assert_eq!((bodies_of(0), bodies_of(2)), (1, 3));
    let one = s.sample(0, &mut sample_rng(0, 0, 0, 0)).unwrap();
    let mask = &one.tensors["body_mask"];
    assert_eq!(mask.shape, vec![t, 2]);
    assert!((0..t).all(|ti| mask.data[ti * 2] == 1.0 && mask.data[ti * 2 + 1] == 0.0));
    assert!((0..t).all(|ti| at(&one.tensors["joints"].data, t, 2, 0, ti, 3, 1) == 0.0), "padding is zeros");
    let three = s.sample(2, &mut sample_rng(0, 0, 0, 2)).unwrap();
    assert_eq!(three.tensors["joints"].shape, vec![3, t, 25, 2]);
    assert!(three.tensors["body_mask"].data.iter().all(|&v| v == 1.0));
    // Body 1 keeps its own coordinates (relative to body 0's spine).
    let want = joint_value(2, 0, 1, 0, 0) - joint_value(2, 0, 0, 1, 0);
    let fi0 = (0.5 * frames_of(2) as f32 / t as f32) as usize;
    let want = want + fi0 as f32 * 0.1;
    assert!((at(&three.tensors["joints"].data, t, 2, 0, 0, 0, 1) - want).abs() < 1e-5);
}

#[test]
fn rotation_keeps_height_and_horizontal_distance() {
    // Same frames with and without augmentation: T = F and a full crop.
    let i = 3;
    let t = frames_of(i);
    let plain = source(SkeletonConfig { frames: t, ..Default::default() });
    let rot = source(SkeletonConfig {
        frames: t,
        augment: true,
        crop: [1.0, 1.0],
        rotate_degrees: 90.0,
        scale: 0.0,
        ..Default::default()
    });
    let p = plain.sample(i, &mut sample_rng(0, 0, 0, 3)).unwrap().tensors["joints"].clone();
    let r = rot.sample(i, &mut sample_rng(0, 0, 0, 3)).unwrap().tensors["joints"].clone();
    let m = 2;
    let mut rotated = false;
    for ti in [0, t / 2, t - 1] {
        for j in 0..25 {
            let g = |d: &[f32], c| at(d, t, m, c, ti, j, 0);
            assert!((g(&p.data, 1) - g(&r.data, 1)).abs() < 1e-4, "y changed");
            let hp = g(&p.data, 0).hypot(g(&p.data, 2));
            let hr = g(&r.data, 0).hypot(g(&r.data, 2));
            assert!((hp - hr).abs() < 1e-4, "horizontal distance changed: {hp} vs {hr}");
            rotated |= (g(&p.data, 0) - g(&r.data, 0)).abs() > 1e-3;
        }
    }
    assert!(rotated, "no rotation happened");
}

#[test]
fn scaling_scales_every_coordinate_by_one_factor_in_range() {
    let i = 1;
    let t = frames_of(i);
    let plain = source(SkeletonConfig { frames: t, ..Default::default() });
    let scaled = source(SkeletonConfig {
        frames: t,
        augment: true,
        crop: [1.0, 1.0],
        rotate_degrees: 0.0,
        scale: 0.2,
        ..Default::default()
    });
    for seed in 0..5 {
        let p = plain.sample(i, &mut sample_rng(seed, 0, 0, 1)).unwrap().tensors["joints"].clone();
        let s = scaled.sample(i, &mut sample_rng(seed, 0, 0, 1)).unwrap().tensors["joints"].clone();
        let ratios: Vec<f32> = p.data.iter().zip(&s.data).filter(|(a, _)| a.abs() > 0.05).map(|(a, b)| b / a).collect();
        assert!(!ratios.is_empty());
        let k = ratios[0];
        assert!((0.8..=1.2).contains(&k), "scale {k}");
        assert!(ratios.iter().all(|r| (r - k).abs() < 1e-3), "scale differs across coordinates");
    }
}

#[test]
fn flip_mirrors_x_and_swaps_left_and_right() {
    let i = 0;
    let t = frames_of(i);
    let plain = source(SkeletonConfig { frames: t, ..Default::default() });
    let flip = source(SkeletonConfig {
        frames: t,
        augment: true,
        crop: [1.0, 1.0],
        rotate_degrees: 0.0,
        scale: 0.0,
        flip: true,
        ..Default::default()
    });
    let p = plain.sample(i, &mut sample_rng(0, 0, 0, 0)).unwrap().tensors["joints"].clone();
    let mut flipped = 0;
    for seed in 0..16 {
        let f = flip.sample(i, &mut sample_rng(seed, 0, 0, 0)).unwrap().tensors["joints"].clone();
        if f == p {
            continue;
        }
        flipped += 1;
        // Joint 4 (left shoulder) now holds joint 8 (right shoulder) mirrored.
        assert!((at(&f.data, t, 2, 0, 2, 4, 0) + at(&p.data, t, 2, 0, 2, 8, 0)).abs() < 1e-5);
        assert!((at(&f.data, t, 2, 1, 2, 4, 0) - at(&p.data, t, 2, 1, 2, 8, 0)).abs() < 1e-5);
        assert!((at(&f.data, t, 2, 0, 2, 0, 0) + at(&p.data, t, 2, 0, 2, 0, 0)).abs() < 1e-5);
    }
    assert!((3..=13).contains(&flipped), "{flipped} of 16 flipped");
}

#[test]
fn temporal_crop_takes_a_contiguous_part() {
    let i = 6;
    let f = frames_of(i);
    let s = source(SkeletonConfig {
        frames: 10,
        augment: true,
        crop: [0.5, 0.5],
        rotate_degrees: 0.0,
        scale: 0.0,
        center_joint: None,
        ..Default::default()
    });
    for seed in 0..4 {
        let j = s.sample(i, &mut sample_rng(seed, 0, 0, 6)).unwrap().tensors["joints"].clone();
        // Recover frame numbers from joint 0, body 0, x: 1 + i*0.01 + f*0.1.
        let frames: Vec<usize> = (0..10)
            .map(|t| ((at(&j.data, 10, 2, 0, t, 0, 0) - 1.0 - i as f32 * 0.01) / 0.1).round() as usize)
            .collect();
        assert!(frames.windows(2).all(|w| w[0] <= w[1]), "{frames:?}");
        let span = frames[9] - frames[0];
        assert!(span < (f as f32 * 0.5).round() as usize, "span {span} of {f} frames: {frames:?}");
    }
}

#[test]
fn bad_config_and_bad_rows_are_errors() {
    let err =
        SkeletonSource::new(ntu_table(2), SkeletonConfig { crop: [0.0, 1.0], ..Default::default() }).err().unwrap();
    assert!(err.to_string().contains("crop"), "{err}");
    let err = SkeletonSource::new(ntu_table(2), SkeletonConfig { joints_column: "pose".into(), ..Default::default() })
        .err()
        .unwrap();
    let hint = actionbench_core::Diagnose::hint(&err).unwrap_or_default();
    assert!(err.to_string().contains("pose") && hint.contains("joints"), "{err} / {hint}");
    let s = source(SkeletonConfig { center_joint: Some(30), ..Default::default() });
    let err = s.sample(1, &mut sample_rng(0, 0, 0, 1)).unwrap_err();
    assert!(err.to_string().contains("S0001") && err.to_string().contains("centre joint 30"), "{err}");
}

#[test]
fn early_prediction_sees_only_the_observed_frames() {
    let t = 8;
    let i = 3;
    let f = frames_of(i);
    for ratio in [0.2f32, 0.5, 1.0] {
        let s = source(SkeletonConfig { frames: t, observe: vec![ratio], ..Default::default() });
        let smp = s.sample(i, &mut sample_rng(0, 0, 0, i as u64)).unwrap();
        let seen = ((f64::from(ratio) * f as f64 - 1e-9).ceil() as usize).clamp(1, f);
        for ti in 0..t {
            // The uniform resampling of the first `seen` frames only.
            let fi = ((ti as f32 + 0.5) * seen as f32 / t as f32) as usize;
            let want = joint_value(i, fi, 0, 0, 0) - joint_value(i, 0, 0, 1, 0);
            let got = at(&smp.tensors["joints"].data, t, 2, 0, ti, 0, 0);
            assert!((got - want).abs() < 1e-5, "ratio {ratio} t {ti}: {got} vs {want} (frame {fi} of {seen})");
        }
    }
    // Several ratios: each sample draws one; a ratio outside (0, 1] is refused.
    let s = source(SkeletonConfig { frames: t, observe: vec![0.2, 0.6], augment: true, ..Default::default() });
    assert!(s.sample(i, &mut sample_rng(0, 0, 0, 1)).is_ok());
    let err = SkeletonSource::new(ntu_table(N), SkeletonConfig { observe: vec![0.0], ..Default::default() })
        .err()
        .expect("ratio 0 is refused")
        .to_string();
    assert!(err.contains("observation ratio 0"), "{err}");
}
