//! Other joint layouts derived from the Kinect-25 skeleton: OpenPose
//! COCO-18 (Kinetics-skeleton), OpenPose-25 + 19 extra joints (PHALP's 45),
//! and Human3.6M's 32 mocap joints.

use crate::body::{JOINTS, j};
use crate::math::{M3, V3, add, lerp, mul_v};

/// A point fixed to the head, `offset` in the head's frame.
fn on_head(p: &[V3; JOINTS], r: &[M3; JOINTS], offset: V3) -> V3 {
    add(p[j::HEAD], mul_v(&r[j::NECK], offset))
}

/// Face points: nose, right eye, left eye, right ear, left ear.
pub(crate) fn face(p: &[V3; JOINTS], r: &[M3; JOINTS]) -> [V3; 5] {
    [
        on_head(p, r, [0.0, -0.03, 0.10]),
        on_head(p, r, [-0.032, 0.0, 0.085]),
        on_head(p, r, [0.032, 0.0, 0.085]),
        on_head(p, r, [-0.075, -0.01, 0.0]),
        on_head(p, r, [0.075, -0.01, 0.0]),
    ]
}

/// OpenPose COCO-18 joints.
pub(crate) fn openpose18(p: &[V3; JOINTS], r: &[M3; JOINTS]) -> [V3; 18] {
    let f = face(p, r);
    [
        f[0],
        p[j::SPINE_SHOULDER],
        p[j::SHOULDER_R],
        p[j::ELBOW_R],
        p[j::WRIST_R],
        p[j::SHOULDER_L],
        p[j::ELBOW_L],
        p[j::WRIST_L],
        p[j::HIP_R],
        p[j::KNEE_R],
        p[j::ANKLE_R],
        p[j::HIP_L],
        p[j::KNEE_L],
        p[j::ANKLE_L],
        f[1],
        f[2],
        f[3],
        f[4],
    ]
}

/// PHALP's 45 joints: OpenPose-25, the 19 extra (H36M/LSP-style) joints,
/// and an all-zero row.
pub(crate) fn phalp45(p: &[V3; JOINTS], r: &[M3; JOINTS]) -> [V3; 45] {
    let f = face(p, r);
    let heel = |ankle: usize, foot: usize| lerp(p[ankle], p[foot], -0.4);
    let small_toe = |foot: usize, side: f64| add(p[foot], mul_v(&r[foot - 1], [side * 0.035, 0.0, -0.01]));
    let mid_hip = lerp(p[j::HIP_L], p[j::HIP_R], 0.5);
    let head_top = on_head(p, r, [0.0, 0.11, 0.0]);
    let jaw = on_head(p, r, [0.0, -0.08, 0.06]);
    let op25 = [
        f[0],
        p[j::SPINE_SHOULDER],
        p[j::SHOULDER_R],
        p[j::ELBOW_R],
        p[j::WRIST_R],
        p[j::SHOULDER_L],
        p[j::ELBOW_L],
        p[j::WRIST_L],
        mid_hip,
        p[j::HIP_R],
        p[j::KNEE_R],
        p[j::ANKLE_R],
        p[j::HIP_L],
        p[j::KNEE_L],
        p[j::ANKLE_L],
        f[1],
        f[2],
        f[3],
        f[4],
        p[j::FOOT_L],
        small_toe(j::FOOT_L, 1.0),
        heel(j::ANKLE_L, j::FOOT_L),
        p[j::FOOT_R],
        small_toe(j::FOOT_R, -1.0),
        heel(j::ANKLE_R, j::FOOT_R),
    ];
    let j19 = [
        p[j::ANKLE_R],
        p[j::KNEE_R],
        p[j::HIP_R],
        p[j::HIP_L],
        p[j::KNEE_L],
        p[j::ANKLE_L],
        p[j::WRIST_R],
        p[j::ELBOW_R],
        p[j::SHOULDER_R],
        p[j::SHOULDER_L],
        p[j::ELBOW_L],
        p[j::WRIST_L],
        p[j::NECK],
        head_top,
        p[j::SPINE_BASE],
        p[j::SPINE_SHOULDER],
        p[j::SPINE_MID],
        jaw,
        p[j::HEAD],
    ];
    let mut out = [[0.0; 3]; 45];
    out[..25].copy_from_slice(&op25);
    out[25..44].copy_from_slice(&j19);
    out
}

/// Kinect joint standing in for each of Human3.6M's 32 mocap joints.
pub(crate) const H36M32_FROM_KINECT: [usize; 32] = [
    0, 16, 17, 18, 19, 19, 12, 13, 14, 15, 15, 0, 1, 20, 2, 3, 20, 4, 5, 6, 22, 22, 7, 21, 20, 8, 9, 10, 24, 24, 11, 23,
];

/// The 32 mocap joints kept in VideoPose3D's 17-joint layout.
pub(crate) const H36M17_FROM_32: [usize; 17] = [0, 1, 2, 3, 6, 7, 8, 12, 13, 14, 15, 17, 18, 19, 25, 26, 27];
