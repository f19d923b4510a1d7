//! The articulated body: the Kinect v2 25-joint tree (NTU joint order),
//! per-subject bone lengths, and forward kinematics.
//!
//! Body frame: x to the body's left, y up, z forward (SMPL's convention).
//! Rest pose: standing, arms hanging (A-pose); bone offsets are those of a
//! 1.75 m adult scaled per subject and per limb.

use rand::Rng;
use rand_distr::{Distribution, Normal};

use crate::math::{IDENTITY, M3, V3, add, mul, mul_v};

/// Joints (NTU / Kinect v2 order).
pub const JOINTS: usize = 25;

/// Joint indices by name (0-based, NTU file order).
#[allow(missing_docs)]
pub mod j {
    pub const SPINE_BASE: usize = 0;
    pub const SPINE_MID: usize = 1;
    pub const NECK: usize = 2;
    pub const HEAD: usize = 3;
    pub const SHOULDER_L: usize = 4;
    pub const ELBOW_L: usize = 5;
    pub const WRIST_L: usize = 6;
    pub const HAND_L: usize = 7;
    pub const SHOULDER_R: usize = 8;
    pub const ELBOW_R: usize = 9;
    pub const WRIST_R: usize = 10;
    pub const HAND_R: usize = 11;
    pub const HIP_L: usize = 12;
    pub const KNEE_L: usize = 13;
    pub const ANKLE_L: usize = 14;
    pub const FOOT_L: usize = 15;
    pub const HIP_R: usize = 16;
    pub const KNEE_R: usize = 17;
    pub const ANKLE_R: usize = 18;
    pub const FOOT_R: usize = 19;
    pub const SPINE_SHOULDER: usize = 20;
    pub const HAND_TIP_L: usize = 21;
    pub const THUMB_L: usize = 22;
    pub const HAND_TIP_R: usize = 23;
    pub const THUMB_R: usize = 24;
}

/// Parent of each joint (`None` for the root, SpineBase).
pub const PARENT: [Option<usize>; JOINTS] = [
    None,
    Some(0),
    Some(20),
    Some(2),
    Some(20),
    Some(4),
    Some(5),
    Some(6),
    Some(20),
    Some(8),
    Some(9),
    Some(10),
    Some(0),
    Some(12),
    Some(13),
    Some(14),
    Some(0),
    Some(16),
    Some(17),
    Some(18),
    Some(1),
    Some(7),
    Some(7),
    Some(11),
    Some(11),
];

/// Joints in an order where every parent comes before its children.
pub const TOPO: [usize; JOINTS] =
    [0, 1, 20, 2, 3, 4, 5, 6, 7, 21, 22, 8, 9, 10, 11, 23, 24, 12, 13, 14, 15, 16, 17, 18, 19];

/// Rest offsets from the parent for a 1.75 m adult (metres, body frame).
const REST: [V3; JOINTS] = [
    [0.0, 0.0, 0.0],
    [0.0, 0.27, -0.01],
    [0.0, 0.08, 0.01],
    [0.0, 0.14, 0.02],
    [0.17, -0.03, -0.01],
    [0.0, -0.28, 0.0],
    [0.0, -0.25, 0.01],
    [0.0, -0.07, 0.01],
    [-0.17, -0.03, -0.01],
    [0.0, -0.28, 0.0],
    [0.0, -0.25, 0.01],
    [0.0, -0.07, 0.01],
    [0.085, -0.06, 0.0],
    [0.0, -0.42, 0.0],
    [0.0, -0.40, -0.01],
    [0.0, -0.06, 0.12],
    [-0.085, -0.06, 0.0],
    [0.0, -0.42, 0.0],
    [0.0, -0.40, -0.01],
    [0.0, -0.06, 0.12],
    [0.0, 0.22, -0.01],
    [0.0, -0.08, 0.01],
    [0.03, -0.04, 0.04],
    [0.0, -0.08, 0.01],
    [-0.03, -0.04, 0.04],
];

/// Height of SpineBase above the floor for the rest pose of a 1.75 m adult.
const REST_PELVIS_HEIGHT: f64 = 0.94;

/// A performer: body proportions, appearance, and the derived bone offsets.
#[derive(Debug, Clone)]
pub struct Subject {
    /// 1-based subject (performer) id.
    pub id: u16,
    /// Standing height in metres.
    pub height: f64,
    /// Relative lengths: torso, arms, legs; widths: shoulders, hips; head size; girth.
    pub torso: f64,
    /// Arm length factor.
    pub arm: f64,
    /// Leg length factor.
    pub leg: f64,
    /// Shoulder width factor.
    pub shoulder: f64,
    /// Hip width factor.
    pub hip: f64,
    /// Girth factor (limb and torso radii in renders; SMPL betas).
    pub girth: f64,
    /// Shirt, trousers and skin colours (sRGB).
    pub colors: [[u8; 3]; 3],
    /// Offsets from each joint's parent (body frame, metres).
    pub offsets: [V3; JOINTS],
    /// Height of SpineBase above the floor when standing.
    pub pelvis_height: f64,
}

fn factor(rng: &mut impl Rng, sd: f64) -> f64 {
    let n = Normal::new(1.0, sd).expect("valid sd");
    n.sample(rng).clamp(1.0 - 2.5 * sd, 1.0 + 2.5 * sd)
}

impl Subject {
    /// A subject with proportions drawn from `rng`.
    pub fn random(id: u16, rng: &mut impl Rng) -> Self {
        let height = Normal::<f64>::new(1.70, 0.09).expect("valid sd").sample(rng).clamp(1.48, 1.96);
        let (torso, arm, leg) = (factor(rng, 0.05), factor(rng, 0.05), factor(rng, 0.05));
        let (shoulder, hip, girth) = (factor(rng, 0.08), factor(rng, 0.08), factor(rng, 0.12));
        let palette = [
            [200, 40, 40],
            [40, 90, 200],
            [40, 160, 70],
            [230, 180, 40],
            [150, 60, 170],
            [240, 120, 30],
            [30, 170, 170],
            [220, 220, 220],
        ];
        let pants = [[40, 40, 60], [90, 70, 50], [60, 60, 60], [30, 50, 90], [120, 110, 90]];
        let skins = [[241, 194, 160], [224, 172, 130], [190, 140, 100], [141, 94, 60], [96, 62, 40]];
        let colors = [
            palette[rng.random_range(0..palette.len())],
            pants[rng.random_range(0..pants.len())],
            skins[rng.random_range(0..skins.len())],
        ];
        let s = height / 1.75;
        let mut offsets = REST;
        for (k, o) in offsets.iter_mut().enumerate() {
            let f = match k {
                j::SPINE_MID | j::SPINE_SHOULDER | j::NECK => torso,
                5..=7 | 9..=11 | 21..=24 => arm,
                13..=15 | 17..=19 => leg,
                _ => 1.0,
            };
            let w = match k {
                j::SHOULDER_L | j::SHOULDER_R => shoulder,
                j::HIP_L | j::HIP_R => hip,
                _ => 1.0,
            };
            *o = [o[0] * s * w, o[1] * s * f, o[2] * s * f];
        }
        // Hip offset scales with stature only; thigh, shin and foot also with the leg factor.
        let pelvis_height = 0.06 * s + (REST_PELVIS_HEIGHT - 0.06) * s * leg;
        Self { id, height, torso, arm, leg, shoulder, hip, girth, colors, offsets, pelvis_height }
    }

    /// Ten SMPL shape coefficients from the proportions (β₀ stature, β₁
    /// girth, then limb ratios), so shape follows the same subject everywhere.
    pub fn betas(&self) -> [f32; 10] {
        [
            ((self.height - 1.70) / 0.09) as f32,
            ((self.girth - 1.0) / 0.12) as f32,
            ((self.leg - 1.0) / 0.05) as f32 * 0.5,
            ((self.arm - 1.0) / 0.05) as f32 * 0.5,
            ((self.torso - 1.0) / 0.05) as f32 * 0.5,
            ((self.shoulder - 1.0) / 0.08) as f32 * 0.5,
            ((self.hip - 1.0) / 0.08) as f32 * 0.5,
            ((self.shoulder - self.hip) / 0.1) as f32 * 0.3,
            ((self.leg - self.torso) / 0.07) as f32 * 0.3,
            ((self.arm - self.leg) / 0.07) as f32 * 0.3,
        ]
    }
}

/// A body configuration: root position and orientation (world) and the
/// local rotation of every joint (rotating the bones that leave it).
#[derive(Debug, Clone)]
pub struct Pose {
    /// SpineBase position (world, metres).
    pub root: V3,
    /// Body-to-world rotation of the root.
    pub root_rot: M3,
    /// Local rotation of each joint.
    pub local: [M3; JOINTS],
}

impl Pose {
    /// The rest pose at the origin.
    pub fn rest() -> Self {
        Self { root: [0.0; 3], root_rot: IDENTITY, local: [IDENTITY; JOINTS] }
    }
}

/// Forward kinematics: world positions and world rotations of every joint.
pub fn forward(subject: &Subject, pose: &Pose) -> ([V3; JOINTS], [M3; JOINTS]) {
    let mut pos = [[0.0; 3]; JOINTS];
    let mut rot = [IDENTITY; JOINTS];
    for &k in &TOPO {
        match PARENT[k] {
            None => {
                pos[k] = pose.root;
                rot[k] = mul(&pose.root_rot, &pose.local[k]);
            }
            Some(p) => {
                pos[k] = add(pos[p], mul_v(&rot[p], subject.offsets[k]));
                rot[k] = mul(&rot[p], &pose.local[k]);
            }
        }
    }
    (pos, rot)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn parents_come_first_and_rest_pose_stands_on_the_floor() {
        let mut seen = [false; JOINTS];
        for &k in &TOPO {
            if let Some(p) = PARENT[k] {
                assert!(seen[p], "joint {k} before its parent {p}");
            }
            seen[k] = true;
        }
        assert!(seen.iter().all(|&s| s));
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let s = Subject::random(1, &mut rng);
        let pose = Pose { root: [0.0, s.pelvis_height, 0.0], ..Pose::rest() };
        let (p, _) = forward(&s, &pose);
        assert!(p[j::FOOT_L][1].abs() < 0.03, "foot at {:?}", p[j::FOOT_L]);
        assert!(p[j::HEAD][1] > 1.3);
        assert!(p[j::SHOULDER_L][0] > 0.0 && p[j::SHOULDER_R][0] < 0.0);
    }
}
