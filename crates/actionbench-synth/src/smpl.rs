//! SMPL-24 pose from the same joint rotations as the Kinect skeleton:
//! rotation matrices per SMPL joint (PHALP's `global_orient` 1×3×3 and
//! `body_pose` 23×3×3) and betas from the body proportions.
//!
//! Each SMPL joint takes the world rotation of the Kinect joint that moves
//! the same bone; arm joints are composed with the 90° turn between SMPL's
//! T-pose (arms sideways) and our rest pose (arms down), so SMPL forward
//! kinematics with T-pose offsets points every bone where ours points.

use crate::body::{JOINTS, j};
use crate::math::{IDENTITY, M3, mul, rot_z, transpose};

/// Parents of the 24 SMPL joints.
pub const SMPL_PARENTS: [i32; 24] = [-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 20, 21];

/// The Kinect joint whose world rotation each SMPL joint takes.
const FROM_KINECT: [usize; 24] = [
    j::SPINE_BASE,
    j::HIP_L,
    j::HIP_R,
    j::SPINE_MID,
    j::KNEE_L,
    j::KNEE_R,
    j::SPINE_MID,
    j::ANKLE_L,
    j::ANKLE_R,
    j::SPINE_SHOULDER,
    j::FOOT_L,
    j::FOOT_R,
    j::NECK,
    j::SPINE_SHOULDER,
    j::SPINE_SHOULDER,
    j::HEAD,
    j::SHOULDER_L,
    j::SHOULDER_R,
    j::ELBOW_L,
    j::ELBOW_R,
    j::WRIST_L,
    j::WRIST_R,
    j::HAND_L,
    j::HAND_R,
];

/// SMPL local rotations (index 0 = global orientation in the frame of
/// `to_frame`, e.g. a camera) from the world rotations of a Kinect pose.
pub fn smpl_rotations(rots: &[M3; JOINTS], to_frame: &M3) -> [M3; 24] {
    let left = rot_z(-std::f64::consts::FRAC_PI_2);
    let right = rot_z(std::f64::consts::FRAC_PI_2);
    let mut global = [IDENTITY; 24];
    for (s, g) in global.iter_mut().enumerate() {
        let align = match s {
            16 | 18 | 20 | 22 => &left,
            17 | 19 | 21 | 23 => &right,
            _ => &IDENTITY,
        };
        *g = mul(&mul(to_frame, &rots[FROM_KINECT[s]]), align);
    }
    let mut local = [IDENTITY; 24];
    local[0] = global[0];
    for s in 1..24 {
        let p = SMPL_PARENTS[s] as usize;
        local[s] = mul(&transpose(&global[p]), &global[s]);
    }
    local
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::body::{Pose, Subject, forward};
    use crate::math::{V3, mul_v, rot_x};
    use rand::SeedableRng;

    #[test]
    fn smpl_forward_kinematics_points_bones_like_ours() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let s = Subject::random(1, &mut rng);
        let mut pose = Pose::rest();
        pose.local[j::SHOULDER_L] = rot_x(-1.0);
        pose.local[j::ELBOW_L] = rot_x(-0.8);
        let (p, r) = forward(&s, &pose);
        let local = smpl_rotations(&r, &IDENTITY);
        // Re-compose SMPL globals along the left arm chain: 0→3→6→9→13→16→18.
        let mut g = local[0];
        for k in [3, 6, 9, 13, 16] {
            g = mul(&g, &local[k]);
        }
        // SMPL's upper arm rests along +x.
        let dir: V3 = mul_v(&g, [1.0, 0.0, 0.0]);
        let ours = crate::math::normalize(crate::math::sub(p[j::ELBOW_L], p[j::SHOULDER_L]));
        for a in 0..3 {
            assert!((dir[a] - ours[a]).abs() < 1e-9, "{dir:?} vs {ours:?}");
        }
        let g = mul(&g, &local[18]);
        let dir = mul_v(&g, [1.0, 0.0, 0.0]);
        let ours = crate::math::normalize(crate::math::sub(p[j::WRIST_L], p[j::ELBOW_L]));
        for a in 0..3 {
            assert!((dir[a] - ours[a]).abs() < 0.05, "{dir:?} vs {ours:?}");
        }
    }
}
