//! Writes NTU RGB+D `.skeleton` text files (docs/formats.md §1.2) that
//! [`crate::ntu::parse_ntu_skeleton`], the official Matlab reader and
//! ST-GCN's `read_skeleton` read back.
//!
//! Numbers are printed like the Kinect SDK export of the real files: up to
//! 7 significant digits, no exponent, trailing zeros dropped
//! (`0.2187138`, `1035.883`, `-0.01611264`); lines end in `\r\n` as in the
//! released archive. The output depends only on the values, so the same
//! skeleton always gives the same bytes.

use std::fmt::Write as _;
use std::path::Path;

use crate::error::{Error, Result};
use crate::ntu::{NtuBody, NtuSkeleton};

/// The text of a `.skeleton` file.
pub fn format_ntu_skeleton(skeleton: &NtuSkeleton) -> String {
    let joints: usize = skeleton.frames.iter().map(|f| f.bodies.iter().map(|b| b.joints.len()).sum::<usize>()).sum();
    let mut out = String::with_capacity(16 + joints * 110);
    let _ = write!(out, "{}\r\n", skeleton.frames.len());
    for frame in &skeleton.frames {
        let _ = write!(out, "{}\r\n", frame.bodies.len());
        for body in &frame.bodies {
            write_body(&mut out, body);
        }
    }
    out
}

fn write_body(out: &mut String, b: &NtuBody) {
    let _ = write!(
        out,
        "{} {} {} {} {} {} {} {} {} {}\r\n{}\r\n",
        b.body_id,
        b.clipped_edges,
        b.hand_left_confidence,
        b.hand_left_state,
        b.hand_right_confidence,
        b.hand_right_state,
        b.is_restricted,
        g7(b.lean[0]),
        g7(b.lean[1]),
        b.tracking_state,
        b.joints.len()
    );
    for j in &b.joints {
        let v = [
            j.position[0],
            j.position[1],
            j.position[2],
            j.depth[0],
            j.depth[1],
            j.color[0],
            j.color[1],
            j.orientation[0],
            j.orientation[1],
            j.orientation[2],
            j.orientation[3],
        ];
        for x in v {
            out.push_str(&g7(x));
            out.push(' ');
        }
        let _ = write!(out, "{}\r\n", j.tracking_state);
    }
}

/// A float with at most 7 significant digits, fixed notation, no trailing
/// zeros (`0` for zero; non-finite values, which real files never hold,
/// are written as `0`).
pub fn g7(v: f32) -> String {
    if !v.is_finite() || v == 0.0 {
        return "0".into();
    }
    let magnitude = (v.abs() as f64).log10().floor() as i32;
    let decimals = (6 - magnitude).clamp(0, 12) as usize;
    let mut s = format!("{:.*}", decimals, v as f64);
    if s.contains('.') {
        while s.ends_with('0') {
            s.pop();
        }
        if s.ends_with('.') {
            s.pop();
        }
    }
    if s == "-0" { "0".into() } else { s }
}

/// Writes a `.skeleton` file.
pub fn write_ntu_skeleton(path: &Path, skeleton: &NtuSkeleton) -> Result<()> {
    std::fs::write(path, format_ntu_skeleton(skeleton)).map_err(|e| Error::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ntu::{NtuFrame, NtuJoint, parse_ntu_skeleton};

    #[test]
    fn seven_significant_digits() {
        assert_eq!(g7(0.218_713_8), "0.2187138");
        assert_eq!(g7(1_035.883_4), "1035.883");
        assert_eq!(g7(-0.016_112_64), "-0.01611264");
        assert_eq!(g7(2.0), "2");
        assert_eq!(g7(0.0), "0");
        assert_eq!(g7(-0.000_000_01), "-0.00000001");
    }

    #[test]
    fn round_trips_through_the_reader() {
        let joint = NtuJoint {
            position: [0.25, -0.5, 3.125],
            depth: [256.5, 212.25],
            color: [960.5, 540.25],
            orientation: [1.0, 0.0, 0.0, 0.0],
            tracking_state: 2,
        };
        let body = NtuBody {
            body_id: 72_057_594_037_931_101,
            clipped_edges: 0,
            hand_left_confidence: 1,
            hand_left_state: 1,
            hand_right_confidence: 0,
            hand_right_state: 0,
            is_restricted: 0,
            lean: [0.125, -0.25],
            tracking_state: 2,
            joints: vec![joint; 25],
        };
        let sk = NtuSkeleton { frames: vec![NtuFrame { bodies: vec![body] }, NtuFrame::default()] };
        let text = format_ntu_skeleton(&sk);
        let back = parse_ntu_skeleton(text.as_bytes(), Path::new("x.skeleton")).unwrap();
        assert_eq!(back, sk);
    }
}
