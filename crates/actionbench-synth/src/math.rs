//! Small fixed-size vector and rotation helpers (f64). Hand-written: the
//! generator needs a dozen 3×3 operations, not a linear-algebra crate.

/// A 3-vector.
pub type V3 = [f64; 3];
/// A 3×3 matrix, row-major.
pub type M3 = [[f64; 3]; 3];

pub(crate) const IDENTITY: M3 = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]];

pub(crate) fn add(a: V3, b: V3) -> V3 {
    [a[0] + b[0], a[1] + b[1], a[2] + b[2]]
}

pub(crate) fn sub(a: V3, b: V3) -> V3 {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

pub(crate) fn scale(a: V3, s: f64) -> V3 {
    [a[0] * s, a[1] * s, a[2] * s]
}

pub(crate) fn dot(a: V3, b: V3) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

pub(crate) fn cross(a: V3, b: V3) -> V3 {
    [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]
}

pub(crate) fn norm(a: V3) -> f64 {
    dot(a, a).sqrt()
}

pub(crate) fn normalize(a: V3) -> V3 {
    let n = norm(a);
    if n > 1e-12 { scale(a, 1.0 / n) } else { [0.0, 0.0, 1.0] }
}

pub(crate) fn lerp(a: V3, b: V3, t: f64) -> V3 {
    add(a, scale(sub(b, a), t))
}

pub(crate) fn mul(a: &M3, b: &M3) -> M3 {
    let mut m = [[0.0; 3]; 3];
    for (i, row) in m.iter_mut().enumerate() {
        for (j, cell) in row.iter_mut().enumerate() {
            *cell = a[i][0] * b[0][j] + a[i][1] * b[1][j] + a[i][2] * b[2][j];
        }
    }
    m
}

pub(crate) fn mul_v(a: &M3, v: V3) -> V3 {
    [dot(a[0], v), dot(a[1], v), dot(a[2], v)]
}

pub(crate) fn transpose(a: &M3) -> M3 {
    [[a[0][0], a[1][0], a[2][0]], [a[0][1], a[1][1], a[2][1]], [a[0][2], a[1][2], a[2][2]]]
}

pub(crate) fn rot_x(t: f64) -> M3 {
    let (s, c) = t.sin_cos();
    [[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]]
}

pub(crate) fn rot_y(t: f64) -> M3 {
    let (s, c) = t.sin_cos();
    [[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]]
}

pub(crate) fn rot_z(t: f64) -> M3 {
    let (s, c) = t.sin_cos();
    [[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]]
}

/// Unit quaternion (w, x, y, z) of a rotation matrix, with w ≥ 0.
pub(crate) fn quat(m: &M3) -> [f64; 4] {
    let tr = m[0][0] + m[1][1] + m[2][2];
    let q = if tr > 0.0 {
        let s = (tr + 1.0).sqrt() * 2.0;
        [0.25 * s, (m[2][1] - m[1][2]) / s, (m[0][2] - m[2][0]) / s, (m[1][0] - m[0][1]) / s]
    } else if m[0][0] > m[1][1] && m[0][0] > m[2][2] {
        let s = (1.0 + m[0][0] - m[1][1] - m[2][2]).sqrt() * 2.0;
        [(m[2][1] - m[1][2]) / s, 0.25 * s, (m[0][1] + m[1][0]) / s, (m[0][2] + m[2][0]) / s]
    } else if m[1][1] > m[2][2] {
        let s = (1.0 + m[1][1] - m[0][0] - m[2][2]).sqrt() * 2.0;
        [(m[0][2] - m[2][0]) / s, (m[0][1] + m[1][0]) / s, 0.25 * s, (m[1][2] + m[2][1]) / s]
    } else {
        let s = (1.0 + m[2][2] - m[0][0] - m[1][1]).sqrt() * 2.0;
        [(m[1][0] - m[0][1]) / s, (m[0][2] + m[2][0]) / s, (m[1][2] + m[2][1]) / s, 0.25 * s]
    };
    if q[0] < 0.0 { [-q[0], -q[1], -q[2], -q[3]] } else { q }
}

/// The rotation by `angle` radians about the unit `axis` (Rodrigues).
pub(crate) fn axis_angle(axis: V3, angle: f64) -> M3 {
    let [x, y, z] = normalize(axis);
    let (s, c) = angle.sin_cos();
    let t = 1.0 - c;
    [
        [t * x * x + c, t * x * y - s * z, t * x * z + s * y],
        [t * x * y + s * z, t * y * y + c, t * y * z - s * x],
        [t * x * z - s * y, t * y * z + s * x, t * z * z + c],
    ]
}

/// The fraction `t` of rotation `m` (about the same axis, `t` times the
/// angle): 0 gives the identity, 1 gives `m`.
pub(crate) fn rot_pow(m: &M3, t: f64) -> M3 {
    let q = quat(m);
    let v = [q[1], q[2], q[3]];
    let s = norm(v);
    if s < 1e-12 {
        return IDENTITY;
    }
    axis_angle(v, 2.0 * s.atan2(q[0]) * t)
}

/// Smooth 0→1 ramp (cubic Hermite).
pub(crate) fn smooth(t: f64) -> f64 {
    let t = t.clamp(0.0, 1.0);
    t * t * (3.0 - 2.0 * t)
}

/// 0 → 1 → 0 over [0, 1] with a plateau in the middle.
pub(crate) fn bump(t: f64) -> f64 {
    smooth(t / 0.35) * smooth((1.0 - t) / 0.35)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotations_and_quaternions() {
        let r = mul(&rot_y(0.3), &rot_x(-0.7));
        let rt = mul(&r, &transpose(&r));
        for (i, row) in rt.iter().enumerate() {
            for (j, v) in row.iter().enumerate() {
                assert!((v - IDENTITY[i][j]).abs() < 1e-12);
            }
        }
        let q = quat(&rot_z(std::f64::consts::FRAC_PI_2));
        assert!((q[0] - (0.5f64).sqrt()).abs() < 1e-12 && (q[3] - (0.5f64).sqrt()).abs() < 1e-12);
        let m = mul(&rot_y(0.9), &rot_x(-0.4));
        let half = rot_pow(&m, 0.5);
        let twice = mul(&half, &half);
        let back = axis_angle([0.0, 0.0, 1.0], 0.3);
        for i in 0..3 {
            for j in 0..3 {
                assert!((twice[i][j] - m[i][j]).abs() < 1e-9, "half of a rotation, twice, is the rotation");
                assert!((back[i][j] - rot_z(0.3)[i][j]).abs() < 1e-12, "axis-angle about z is rot_z");
                assert!((rot_pow(&m, 0.0)[i][j] - IDENTITY[i][j]).abs() < 1e-12);
            }
        }
        // Arm pointing down, flexed by R_x(-90°), points forward (+z).
        let v = mul_v(&rot_x(-std::f64::consts::FRAC_PI_2), [0.0, -1.0, 0.0]);
        assert!((v[2] - 1.0).abs() < 1e-12);
    }
}
