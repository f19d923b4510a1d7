//! Hands with fingers, for the `gestures` render scene: a [`HandShape`]
//! (how far each finger curls, how the fingers fan, where the thumb is)
//! becomes world capsules on a body's wrist — a palm of four capsules,
//! four fingers of three phalanges and a two-part thumb, 18 capsules a
//! hand — so an open palm, a fist, two fingers up or a pinch look
//! different in the video.
//!
//! Only the renderer draws these; the skeleton files keep the Kinect 25
//! joints (the scene moves `HAND_TIP` to the drawn middle fingertip and
//! `THUMB` to the drawn thumb tip, the joints' own meaning).
//!
//! Hand coordinates `(d, r, p)`: distal (wrist to fingers), radial (towards
//! the thumb) and palmar (out of the palm), metres for a 1.75 m adult,
//! origin at the wrist joint. In the body's rest pose (arms hanging) the
//! fingers point down, the thumb forward and the palm towards the thigh.

use crate::math::{M3, V3, add, lerp, mul_v, scale};
use crate::render::Capsule;

/// A hand's shape, in hand coordinates (module docs).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HandShape {
    /// Curl of the index, middle, ring and little finger: 0 straight, 1 in a fist.
    pub curl: [f64; 4],
    /// Fan angle of each finger towards the thumb side (radians).
    pub spread: [f64; 4],
    /// The thumb's knuckle (MCP) and tip.
    pub thumb: [V3; 2],
    /// 0: the thumb tip where `thumb` says; 1: on the index fingertip.
    pub pinch: f64,
}

/// Knuckles (MCP) of the index, middle, ring and little finger.
const KNUCKLES: [V3; 4] = [[0.095, 0.03, 0.0], [0.098, 0.01, 0.0], [0.095, -0.01, 0.0], [0.088, -0.028, 0.0]];
/// Finger lengths, knuckle to tip.
const LENGTHS: [f64; 4] = [0.072, 0.08, 0.075, 0.06];
/// Finger radii.
const RADII: [f64; 4] = [0.0085, 0.0088, 0.0083, 0.0075];
/// Share of a finger's length in each phalanx.
const PHALANGES: [f64; 3] = [0.45, 0.3, 0.25];
/// Flexion of each finger joint (MCP, PIP, DIP) at curl 1 (radians).
const FLEX: [f64; 3] = [1.5, 1.7, 1.1];
/// The thumb's base (CMC joint).
const THUMB_BASE: V3 = [0.025, 0.022, 0.012];
/// Palm capsules' radius (half the palm's thickness).
const PALM_RADIUS: f64 = 0.016;
/// Where the palm capsules start, near the wrist: radial, middle, ulnar.
const PALM_BASE: [V3; 3] = [[0.025, 0.015, 0.0], [0.025, 0.0, 0.0], [0.025, -0.018, 0.0]];

impl HandShape {
    /// Fingers straight and fanned, thumb out: an open palm.
    pub const OPEN: HandShape = HandShape {
        curl: [0.03; 4],
        spread: [0.2, 0.06, -0.08, -0.22],
        thumb: [[0.055, 0.055, 0.01], [0.085, 0.1, 0.0]],
        pinch: 0.0,
    };
    /// Fingers a little bent, as a hand at rest.
    pub const RELAXED: HandShape = HandShape {
        curl: [0.25, 0.3, 0.35, 0.4],
        spread: [0.06, 0.02, -0.02, -0.06],
        thumb: [[0.055, 0.048, 0.02], [0.09, 0.065, 0.035]],
        pinch: 0.0,
    };
    /// Every finger curled, the thumb across them.
    pub const FIST: HandShape =
        HandShape { curl: [1.0; 4], spread: [0.0; 4], thumb: [[0.06, 0.045, 0.03], [0.09, 0.0, 0.05]], pinch: 0.0 };
    /// A fist with the thumb out along the radial side.
    pub const THUMB_UP: HandShape =
        HandShape { curl: [1.0; 4], spread: [0.0; 4], thumb: [[0.05, 0.055, 0.015], [0.05, 0.11, 0.01]], pinch: 0.0 };
    /// Index and middle finger up and apart (a V), the thumb over the others.
    pub const TWO: HandShape = HandShape {
        curl: [0.0, 0.0, 1.0, 1.0],
        spread: [0.2, -0.12, 0.0, 0.0],
        thumb: [[0.06, 0.04, 0.03], [0.085, -0.015, 0.048]],
        pinch: 0.0,
    };
    /// The index finger straight, the others curled.
    pub const POINT: HandShape = HandShape {
        curl: [0.0, 1.0, 1.0, 1.0],
        spread: [0.05, 0.0, 0.0, 0.0],
        thumb: [[0.06, 0.045, 0.03], [0.09, 0.0, 0.05]],
        pinch: 0.0,
    };
    /// Thumb and index apart, ready to pinch (`pinch` closes them).
    pub const PINCH: HandShape = HandShape {
        curl: [0.45, 0.8, 0.85, 0.9],
        spread: [0.0; 4],
        thumb: [[0.055, 0.05, 0.03], [0.085, 0.075, 0.06]],
        pinch: 0.0,
    };

    /// The shape a fraction `t` of the way from `self` to `other`.
    pub fn lerp(&self, other: &HandShape, t: f64) -> HandShape {
        let mix = |a: f64, b: f64| a + (b - a) * t;
        HandShape {
            curl: std::array::from_fn(|i| mix(self.curl[i], other.curl[i])),
            spread: std::array::from_fn(|i| mix(self.spread[i], other.spread[i])),
            thumb: [lerp(self.thumb[0], other.thumb[0], t), lerp(self.thumb[1], other.thumb[1], t)],
            pinch: mix(self.pinch, other.pinch),
        }
    }

    /// The finger's joints (knuckle, two middle joints, tip) in hand coordinates.
    pub fn finger(&self, i: usize) -> [V3; 4] {
        let (a, c) = (self.spread[i], self.curl[i]);
        // Straight direction in the d-r plane; the joints bend it towards p.
        let (sa, ca) = a.sin_cos();
        let mut points = [KNUCKLES[i]; 4];
        let mut phi = 0.0;
        for k in 0..3 {
            phi += FLEX[k] * c;
            let (sp, cp) = phi.sin_cos();
            let dir = [ca * cp, sa * cp, sp];
            points[k + 1] = add(points[k], scale(dir, LENGTHS[i] * PHALANGES[k]));
        }
        points
    }

    /// The thumb's base, knuckle and tip in hand coordinates.
    pub fn thumb(&self) -> [V3; 3] {
        let index_tip = self.finger(0)[3];
        // Tips side by side, not through each other.
        let touch = add(index_tip, [0.0, 0.012, 0.006]);
        let tip = lerp(self.thumb[1], touch, self.pinch);
        let knuckle = lerp(self.thumb[0], lerp(THUMB_BASE, tip, 0.5), self.pinch * 0.3);
        [THUMB_BASE, knuckle, tip]
    }
}

/// A drawn hand.
#[derive(Debug, Clone)]
pub struct Hand {
    /// Palm, fingers and thumb (world).
    pub capsules: Vec<Capsule>,
    /// The middle fingertip (world).
    pub tip: V3,
    /// The thumb tip (world).
    pub thumb_tip: V3,
}

/// The hand of `shape` on a wrist at `wrist` with world rotation `rot`
/// (the wrist joint's: the body frame's axes at rest), `left` or right,
/// scaled by `size` (1 for a 1.75 m adult), in colour `skin`.
pub fn hand(wrist: V3, rot: &M3, left: bool, size: f64, shape: &HandShape, skin: [u8; 3]) -> Hand {
    let sx = if left { 1.0 } else { -1.0 };
    // (d, r, p) → the wrist's local frame (x body-left, y up, z forward at rest) → world.
    let world = |h: V3| -> V3 {
        let local = [-sx * h[2], -h[0], h[1]];
        add(wrist, mul_v(rot, scale(local, size)))
    };
    let mut capsules = Vec::with_capacity(18);
    let mut push = |a: V3, b: V3, radius: f64| {
        capsules.push(Capsule { a: world(a), b: world(b), radius: radius * size, color: skin })
    };
    for (base, knuckle) in PALM_BASE.iter().zip([KNUCKLES[0], KNUCKLES[1], KNUCKLES[3]]) {
        push(*base, knuckle, PALM_RADIUS);
    }
    push(KNUCKLES[0], KNUCKLES[3], PALM_RADIUS);
    let mut tip = [0.0; 3];
    for (i, radius) in RADII.iter().enumerate() {
        let p = shape.finger(i);
        for k in 0..3 {
            push(p[k], p[k + 1], *radius);
        }
        if i == 1 {
            tip = p[3];
        }
    }
    let t = shape.thumb();
    push(t[0], t[1], 0.0105);
    push(t[1], t[2], 0.0095);
    Hand { capsules, tip: world(tip), thumb_tip: world(t[2]) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::math::{IDENTITY, norm, sub};

    /// At rest the fingers hang down, the thumb is forward and the palm
    /// faces the body's midline, for both hands.
    #[test]
    fn hand_frame_follows_the_body_at_rest() {
        for left in [true, false] {
            let h = hand([0.0; 3], &IDENTITY, left, 1.0, &HandShape::OPEN, [200; 3]);
            assert!(h.tip[1] < -0.15, "fingers down: {:?}", h.tip);
            assert!(h.thumb_tip[2] > 0.08, "thumb forward: {:?}", h.thumb_tip);
            let fist = hand([0.0; 3], &IDENTITY, left, 1.0, &HandShape::FIST, [200; 3]);
            // Curled fingers go palmar: towards -x for the left hand, +x for the right.
            let palmar = if left { -fist.tip[0] } else { fist.tip[0] };
            assert!(palmar > 0.005, "left {left}: {:?}", fist.tip);
        }
    }

    /// Shapes differ where they should: a fist is short, an open hand long,
    /// a pinch brings the thumb tip to the index tip.
    #[test]
    fn shapes_curl_spread_and_pinch() {
        let len = |s: &HandShape| norm(s.finger(1)[3]);
        assert!(len(&HandShape::OPEN) > 0.17 && len(&HandShape::FIST) < 0.11);
        let two = HandShape::TWO;
        let gap = norm(sub(two.finger(0)[3], two.finger(1)[3]));
        assert!(gap > 0.035, "a V: {gap}");
        let open = HandShape::PINCH;
        let closed = HandShape { pinch: 1.0, ..open };
        let apart = |s: &HandShape| norm(sub(s.thumb()[2], s.finger(0)[3]));
        assert!(apart(&open) > 0.04 && apart(&closed) < 0.015, "{} {}", apart(&open), apart(&closed));
        let half = HandShape::OPEN.lerp(&HandShape::FIST, 0.5);
        assert!((half.curl[2] - 0.515).abs() < 1e-9);
    }
}
