//! 3D pose errors as VideoPose3D computes them (`common/loss.py`, `run.py`).
//!
//! Poses are flat `[frames, joints, 3]` arrays (row-major, the layout of a C
//! order `.npy`), in whatever unit the caller uses (VideoPose3D stores metres
//! and prints millimetres ×1000; nothing is rescaled here).
//!
//! * **MPJPE** (protocol #1): mean over frames and joints of the Euclidean
//!   distance between predicted and true joints.
//! * **P-MPJPE** (protocol #2): the same after aligning each predicted frame
//!   to its ground truth with the similarity transform (scale, rotation,
//!   translation) that minimises the error: orthogonal Procrustes on the
//!   centred, norm-scaled poses through a 3x3 SVD; a reflection is turned
//!   into a proper rotation by negating the singular vector (and value) of
//!   the smallest singular value, exactly as `p_mpjpe` does.
//! * **Per action** (`run.py --evaluate`): frames are grouped by the part of
//!   their action name before the first space (`"Walking 1"` → `Walking`),
//!   each group's error is the mean over its frames (frame-weighted), and the
//!   headline numbers are the *unweighted* mean over groups.
//!
//! Degenerate frames, which numpy turns into NaN, get a defined answer here:
//! a prediction whose joints all coincide is aligned to the ground-truth
//! centroid (scale 0, the least-squares optimum); a ground truth whose joints
//! all coincide has P-MPJPE 0; a rank-deficient cross-covariance (det R = 0,
//! where `np.sign` gives 0) keeps the unflipped rotation.

use nalgebra::{Matrix3, RowVector3};
use serde::Serialize;

use crate::error::{Error, Result, check_finite};

fn check_shapes(pred: &[f64], gt: &[f64], joints: usize) -> Result<usize> {
    if joints == 0 {
        return Err(Error::InvalidArgument("joints must be at least 1".into()));
    }
    if pred.len() != gt.len() {
        return Err(Error::ShapeMismatch {
            what: "predicted poses",
            expected: format!("{} values (as the ground truth)", gt.len()),
            found: format!("{} values", pred.len()),
        });
    }
    let per_frame = joints * 3;
    if !gt.len().is_multiple_of(per_frame) {
        return Err(Error::ShapeMismatch {
            what: "poses",
            expected: format!("a multiple of {joints} joints x 3 values"),
            found: format!("{} values", gt.len()),
        });
    }
    if gt.is_empty() {
        return Err(Error::Empty { what: "poses" });
    }
    check_finite("predicted coordinate", pred)?;
    check_finite("ground-truth coordinate", gt)?;
    Ok(gt.len() / per_frame)
}

fn joint(frame: &[f64], j: usize) -> RowVector3<f64> {
    RowVector3::new(frame[3 * j], frame[3 * j + 1], frame[3 * j + 2])
}

/// Mean joint distance of one frame (`joints * 3` values each).
fn frame_mpjpe(pred: &[f64], gt: &[f64], joints: usize) -> f64 {
    (0..joints).map(|j| (joint(pred, j) - joint(gt, j)).norm()).sum::<f64>() / joints as f64
}

/// `pred` of one frame after the similarity alignment of `p_mpjpe` onto `gt`.
pub fn procrustes_align(pred: &[f64], gt: &[f64], joints: usize) -> Result<Vec<f64>> {
    check_shapes(pred, gt, joints)?;
    if gt.len() != joints * 3 {
        return Err(Error::ShapeMismatch {
            what: "procrustes_align input",
            expected: format!("one frame of {joints} joints"),
            found: format!("{} values", gt.len()),
        });
    }
    align_frame(pred, gt, joints, 0)
}

fn align_frame(pred: &[f64], gt: &[f64], joints: usize, frame: usize) -> Result<Vec<f64>> {
    let n = joints as f64;
    let mu_x = (0..joints).map(|j| joint(gt, j)).sum::<RowVector3<f64>>() / n;
    let mu_y = (0..joints).map(|j| joint(pred, j)).sum::<RowVector3<f64>>() / n;
    let x0: Vec<RowVector3<f64>> = (0..joints).map(|j| joint(gt, j) - mu_x).collect();
    let y0: Vec<RowVector3<f64>> = (0..joints).map(|j| joint(pred, j) - mu_y).collect();
    let norm_x = x0.iter().map(|r| r.norm_squared()).sum::<f64>().sqrt();
    let norm_y = y0.iter().map(|r| r.norm_squared()).sum::<f64>().sqrt();
    let centroid_only = || {
        let mut out = Vec::with_capacity(joints * 3);
        for _ in 0..joints {
            out.extend_from_slice(mu_x.as_slice());
        }
        out
    };
    if norm_x == 0.0 || norm_y == 0.0 {
        return Ok(centroid_only());
    }
    // H = X0ᵀ · Y0 on the norm-scaled poses.
    let mut h = Matrix3::<f64>::zeros();
    for (x, y) in x0.iter().zip(&y0) {
        h += (x / norm_x).transpose() * (y / norm_y);
    }
    let svd = h.try_svd(true, true, f64::EPSILON, 10_000).ok_or(Error::SvdFailed { frame })?;
    let (Some(u), Some(v_t)) = (svd.u, svd.v_t) else {
        return Err(Error::SvdFailed { frame });
    };
    let mut s = svd.singular_values;
    let mut v = v_t.transpose();
    let r = v * u.transpose();
    if r.determinant() < 0.0 {
        // numpy's SVD orders singular values descending, so `[:, -1]` is the
        // smallest one; nalgebra's order is not guaranteed, so find it.
        let k = s.imin();
        v.column_mut(k).neg_mut();
        s[k] = -s[k];
    }
    let r = v * u.transpose();
    let a = s.sum() * norm_x / norm_y;
    let t = mu_x - a * (mu_y * r);
    let mut out = Vec::with_capacity(joints * 3);
    for j in 0..joints {
        let p = a * (joint(pred, j) * r) + t;
        out.extend_from_slice(p.as_slice());
    }
    Ok(out)
}

/// MPJPE and P-MPJPE of every frame.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct FrameError {
    /// Mean joint distance before alignment.
    pub mpjpe: f64,
    /// Mean joint distance after the similarity alignment.
    pub p_mpjpe: f64,
}

/// Per-frame MPJPE and P-MPJPE of `[frames, joints, 3]` arrays.
pub fn frame_errors(pred: &[f64], gt: &[f64], joints: usize) -> Result<Vec<FrameError>> {
    let frames = check_shapes(pred, gt, joints)?;
    let per_frame = joints * 3;
    (0..frames)
        .map(|f| {
            let p = &pred[f * per_frame..(f + 1) * per_frame];
            let g = &gt[f * per_frame..(f + 1) * per_frame];
            let aligned = align_frame(p, g, joints, f)?;
            Ok(FrameError { mpjpe: frame_mpjpe(p, g, joints), p_mpjpe: frame_mpjpe(&aligned, g, joints) })
        })
        .collect()
}

/// MPJPE (protocol #1) over all frames and joints.
pub fn mpjpe(pred: &[f64], gt: &[f64], joints: usize) -> Result<f64> {
    let frames = check_shapes(pred, gt, joints)?;
    let per_frame = joints * 3;
    let total: f64 = (0..frames)
        .map(|f| {
            frame_mpjpe(&pred[f * per_frame..(f + 1) * per_frame], &gt[f * per_frame..(f + 1) * per_frame], joints)
        })
        .sum();
    Ok(total / frames as f64)
}

/// P-MPJPE (protocol #2) over all frames and joints.
pub fn p_mpjpe(pred: &[f64], gt: &[f64], joints: usize) -> Result<f64> {
    let errors = frame_errors(pred, gt, joints)?;
    Ok(errors.iter().map(|e| e.p_mpjpe).sum::<f64>() / errors.len() as f64)
}

/// Errors of one action group.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ActionError {
    /// Group name: the action name up to its first space.
    pub action: String,
    /// Number of frames in the group.
    pub frames: usize,
    /// Frame-weighted MPJPE of the group.
    pub mpjpe: f64,
    /// Frame-weighted P-MPJPE of the group.
    pub p_mpjpe: f64,
}

/// Headline and per-action pose errors.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PoseReport {
    /// Number of frames evaluated.
    pub frames: usize,
    /// MPJPE: the unweighted mean over action groups when actions are
    /// given, else the mean over all frames.
    pub mpjpe: f64,
    /// P-MPJPE, averaged like `mpjpe`.
    pub p_mpjpe: f64,
    /// One entry per action group, in order of first appearance (empty when
    /// no actions were given).
    pub per_action: Vec<ActionError>,
}

/// The action group of a VideoPose3D action name: `name.split(' ')[0]`.
pub fn action_group(name: &str) -> &str {
    name.split(' ').next().unwrap_or(name)
}

/// Evaluates `[frames, joints, 3]` predictions, optionally grouped by the
/// per-frame action names (`actions.len() == frames`).
pub fn evaluate_poses(pred: &[f64], gt: &[f64], joints: usize, actions: Option<&[String]>) -> Result<PoseReport> {
    let errors = frame_errors(pred, gt, joints)?;
    let frames = errors.len();
    let Some(actions) = actions else {
        return Ok(PoseReport {
            frames,
            mpjpe: errors.iter().map(|e| e.mpjpe).sum::<f64>() / frames as f64,
            p_mpjpe: errors.iter().map(|e| e.p_mpjpe).sum::<f64>() / frames as f64,
            per_action: Vec::new(),
        });
    };
    if actions.len() != frames {
        return Err(Error::ShapeMismatch {
            what: "action names",
            expected: format!("one per frame ({frames})"),
            found: format!("{}", actions.len()),
        });
    }
    let mut groups: Vec<(String, usize, f64, f64)> = Vec::new();
    for (name, e) in actions.iter().zip(&errors) {
        let group = action_group(name);
        let i = match groups.iter().position(|g| g.0 == group) {
            Some(i) => i,
            None => {
                groups.push((group.to_string(), 0, 0.0, 0.0));
                groups.len() - 1
            }
        };
        groups[i].1 += 1;
        groups[i].2 += e.mpjpe;
        groups[i].3 += e.p_mpjpe;
    }
    let per_action: Vec<ActionError> = groups
        .into_iter()
        .map(|(action, n, m, p)| ActionError { action, frames: n, mpjpe: m / n as f64, p_mpjpe: p / n as f64 })
        .collect();
    let g = per_action.len() as f64;
    Ok(PoseReport {
        frames,
        mpjpe: per_action.iter().map(|a| a.mpjpe).sum::<f64>() / g,
        p_mpjpe: per_action.iter().map(|a| a.p_mpjpe).sum::<f64>() / g,
        per_action,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn action_groups_split_at_the_first_space() {
        assert_eq!(action_group("Walking 1"), "Walking");
        assert_eq!(action_group("WalkDog"), "WalkDog");
        assert_eq!(action_group("Sitting Down 2"), "Sitting");
    }

    #[test]
    fn coincident_joints_have_defined_errors() {
        let gt = [0.0, 0.0, 0.0, 1.0, 0.0, 0.0];
        let pred = [5.0, 5.0, 5.0, 5.0, 5.0, 5.0];
        // Prediction collapses to the ground-truth centroid (0.5, 0, 0).
        assert_eq!(p_mpjpe(&pred, &gt, 2).unwrap(), 0.5);
        assert_eq!(p_mpjpe(&gt[..3].repeat(2), &pred, 2).unwrap(), 0.0);
    }

    #[test]
    fn shapes_are_checked() {
        assert!(mpjpe(&[0.0; 6], &[0.0; 9], 2).is_err());
        assert!(mpjpe(&[0.0; 6], &[0.0; 6], 4).is_err());
        assert!(mpjpe(&[f64::NAN; 3], &[0.0; 3], 1).is_err());
        assert!(evaluate_poses(&[0.0; 6], &[0.0; 6], 1, Some(&["a".into()])).is_err());
    }
}
