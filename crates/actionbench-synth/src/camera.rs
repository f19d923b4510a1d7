//! Cameras placed like NTU RGB+D's three Kinect v2 sensors, and pinhole
//! projection.
//!
//! World frame: y up, floor at y = 0, the performers near the origin.
//! Camera space follows the Kinect SDK (x to the sensor's left, y up, z
//! forward, metres); pixels are `cx + f·x/z`, `cy − f·y/z` as in the NTU
//! files (their images are mirrored). [`Camera::to_cv`] gives the OpenCV
//! convention (x right, y down) used by the renders and PHALP files.

use crate::math::{M3, V3, cross, mul_v, normalize, sub};

/// Kinect v2 depth (IR) intrinsics, 512×424.
pub const DEPTH_INTRINSICS: [f64; 4] = [365.5, 365.5, 256.0, 212.0];
/// Kinect v2 colour intrinsics, 1920×1080.
pub const COLOR_INTRINSICS: [f64; 4] = [1063.0, 1063.0, 960.0, 540.0];
/// Offset of the colour sensor from the depth sensor along x (metres).
const COLOR_BASELINE: f64 = 0.052;

/// A camera: position and world-to-camera rotation (rows: left, up, forward).
#[derive(Debug, Clone)]
pub struct Camera {
    /// Position in the world.
    pub pos: V3,
    /// World → camera rotation.
    pub rot: M3,
}

impl Camera {
    /// A camera at `pos` looking at `target`.
    pub fn look_at(pos: V3, target: V3) -> Self {
        let f = normalize(sub(target, pos));
        let l = normalize(cross([0.0, 1.0, 0.0], f));
        let u = cross(f, l);
        Self { pos, rot: [l, u, f] }
    }

    /// NTU-like camera `camera` (1–3, at −45°, 0°, +45° around the
    /// performer) of setup `setup`: setups change height and distance.
    pub fn ntu(setup: u16, camera: u16) -> Self {
        let s = setup as f64;
        let height = 0.6 + ((setup as u32 * 37) % 9) as f64 / 10.0;
        let distance = 2.6 + ((setup as u32 * 53) % 11) as f64 / 10.0 + 0.02 * s.sin();
        let angle = (camera as f64 - 2.0) * std::f64::consts::FRAC_PI_4;
        let pos = [distance * angle.sin(), height, -distance * angle.cos()];
        Self::look_at(pos, [0.0, 0.95, 0.0])
    }

    /// World point → Kinect camera space.
    pub fn to_cam(&self, p: V3) -> V3 {
        mul_v(&self.rot, sub(p, self.pos))
    }

    /// World → camera rotation of a world rotation.
    pub fn rot_to_cam(&self, r: &M3) -> M3 {
        crate::math::mul(&self.rot, r)
    }

    /// Kinect camera space → OpenCV camera frame (x right, y down, z forward).
    pub fn to_cv(p: V3) -> V3 {
        [-p[0], -p[1], p[2]]
    }
}

/// Pixel of a Kinect camera-space point with intrinsics `[fx, fy, cx, cy]`
/// (NTU convention: `cx + fx·x/z`, `cy − fy·y/z`).
pub fn kinect_pixel(p: V3, k: [f64; 4]) -> [f64; 2] {
    let z = p[2].max(0.05);
    [k[2] + k[0] * p[0] / z, k[3] - k[1] * p[1] / z]
}

/// Depth-frame and colour-frame pixels of a Kinect camera-space point.
pub fn ntu_pixels(p: V3) -> ([f64; 2], [f64; 2]) {
    (kinect_pixel(p, DEPTH_INTRINSICS), kinect_pixel([p[0] + COLOR_BASELINE, p[1], p[2]], COLOR_INTRINSICS))
}

/// Pixel of an OpenCV camera-frame point with intrinsics `[fx, fy, cx, cy]`.
pub fn cv_pixel(p: V3, k: [f64; 4]) -> [f64; 2] {
    let z = p[2].max(0.05);
    [k[2] + k[0] * p[0] / z, k[3] + k[1] * p[1] / z]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cameras_look_at_the_performer() {
        for c in 1..=3 {
            let cam = Camera::ntu(1, c);
            let p = cam.to_cam([0.0, 0.95, 0.0]);
            assert!(p[0].abs() < 1e-9 && p[1].abs() < 1e-9 && p[2] > 2.0, "{p:?}");
            let (d, _) = ntu_pixels(p);
            assert!((d[0] - 256.0).abs() < 1e-6);
        }
        // The front camera's left is world +x; such points have a larger
        // depthX, as in NTU files.
        let cam = Camera::ntu(1, 2);
        let left = cam.to_cam([0.3, 0.95, 0.0]);
        assert!(left[0] > 0.0);
        assert!(kinect_pixel(left, DEPTH_INTRINSICS)[0] > 256.0);
    }
}
