//! Action classes as parametric joint-angle trajectories.
//!
//! Every class is a function of normalised time and per-sample parameters
//! (amplitude, repetitions, phase, handedness, lead-in/out, posture noise),
//! producing joint angles that [`to_pose`] turns into a [`Pose`]. Classes
//! deliberately share sub-motions (hand to face in *drink* and *phone*-like
//! gestures, forward arm in *punch*/*point*/*push*, knee bends in
//! *squat*/*sit down*/*stand up*/*jump*, gait in *walk*/*follow*) so that
//! telling them apart takes timing and coordination, not one coordinate.

use std::f64::consts::{PI, TAU};

use rand::Rng;

use crate::body::{JOINTS, Pose, Subject, j};
use crate::math::{IDENTITY, M3, V3, add, bump, mul, mul_v, rot_x, rot_y, rot_z, smooth};

/// What a class is and how it maps onto the other label spaces.
#[derive(Debug, Clone, Copy)]
pub struct ActionClass {
    /// Class name (NTU style).
    pub name: &'static str,
    /// 1 or 2 people.
    pub persons: usize,
    /// Base duration in frames at 30 fps for speed 1 (before preset scaling).
    pub base_frames: f64,
    /// AVA action ids of the actor (and, for interactions, of the partner).
    pub ava: [&'static [u32]; 2],
}

/// The classes, in label order (label = index, NTU `A` = index + 1).
pub const CLASSES: [ActionClass; 20] = [
    ActionClass { name: "drink water", persons: 1, base_frames: 60.0, ava: [&[12, 27], &[]] },
    ActionClass { name: "clapping", persons: 1, base_frames: 54.0, ava: [&[12, 67], &[]] },
    ActionClass { name: "hand waving", persons: 1, base_frames: 54.0, ava: [&[12, 69], &[]] },
    ActionClass { name: "jump up", persons: 1, base_frames: 48.0, ava: [&[7], &[]] },
    ActionClass { name: "squat down", persons: 1, base_frames: 60.0, ava: [&[3], &[]] },
    ActionClass { name: "sitting down", persons: 1, base_frames: 60.0, ava: [&[11], &[]] },
    ActionClass { name: "standing up", persons: 1, base_frames: 60.0, ava: [&[6], &[]] },
    ActionClass { name: "kicking something", persons: 1, base_frames: 48.0, ava: [&[12, 34], &[]] },
    ActionClass { name: "punching", persons: 1, base_frames: 48.0, ava: [&[12, 9], &[]] },
    ActionClass { name: "walking", persons: 1, base_frames: 60.0, ava: [&[14], &[]] },
    ActionClass { name: "throw", persons: 1, base_frames: 48.0, ava: [&[12, 58], &[]] },
    ActionClass { name: "bow", persons: 1, base_frames: 54.0, ava: [&[1], &[]] },
    ActionClass { name: "cheer up", persons: 1, base_frames: 54.0, ava: [&[12, 4], &[]] },
    ActionClass { name: "pointing to something", persons: 1, base_frames: 54.0, ava: [&[12, 43], &[]] },
    ActionClass { name: "hopping", persons: 1, base_frames: 54.0, ava: [&[7], &[]] },
    ActionClass { name: "arm circles", persons: 1, base_frames: 60.0, ava: [&[12], &[]] },
    ActionClass { name: "handshaking", persons: 2, base_frames: 60.0, ava: [&[12, 68], &[12, 68]] },
    ActionClass { name: "hugging other person", persons: 2, base_frames: 60.0, ava: [&[12, 70], &[12, 70]] },
    ActionClass { name: "pushing other person", persons: 2, base_frames: 54.0, ava: [&[12, 76], &[12, 80]] },
    ActionClass { name: "following other person", persons: 2, base_frames: 66.0, ava: [&[14], &[14, 80]] },
];

/// Per-sample variation of one performance.
#[derive(Debug, Clone)]
pub struct MotionParams {
    /// Amplitude factor (≈ 0.7–1.2).
    pub amp: f64,
    /// Phase offset of repeated parts (radians).
    pub phase: f64,
    /// Repetitions of cyclic parts.
    pub reps: f64,
    /// Dominant side: 0 left, 1 right.
    pub side: usize,
    /// Start and end of the active window in normalised time.
    pub window: (f64, f64),
    /// Constant posture offsets (radians) added to a few angles.
    pub posture: [f64; 6],
    /// Horizontal aim of pointing/throwing (radians).
    pub aim: f64,
    /// Idle sway frequency (cycles per clip) and amplitude.
    pub sway: (f64, f64),
    /// An unrelated arm gesture (start, side, size) mixed into the action,
    /// as performers scratch, adjust clothes or gesture while acting.
    pub distractor: Option<(f64, usize, f64)>,
}

impl MotionParams {
    /// Draws the parameters.
    pub fn random(rng: &mut impl Rng) -> Self {
        let start = rng.random_range(0.0..0.25);
        let end = rng.random_range(0.75..1.0);
        let mut posture = [0.0; 6];
        for p in &mut posture {
            *p = rng.random_range(-0.12..0.12);
        }
        Self {
            amp: rng.random_range(0.6..1.3),
            phase: rng.random_range(0.0..TAU),
            reps: rng.random_range(0.0..1.0),
            side: if rng.random_bool(0.75) { 1 } else { 0 },
            window: (start, end),
            posture,
            aim: rng.random_range(-0.5..0.5),
            sway: (rng.random_range(0.5..2.0), rng.random_range(0.0..0.06)),
            distractor: rng
                .random_bool(0.35)
                .then(|| (rng.random_range(0.0..0.7), rng.random_range(0..2usize), rng.random_range(0.4..1.0))),
        }
    }

    /// A number of repetitions in `lo..=hi` chosen by `reps`.
    fn count(&self, lo: f64, hi: f64) -> f64 {
        (lo + (hi - lo + 1.0) * self.reps).floor().min(hi)
    }
}

/// Joint angles of one frame (radians; side index 0 = left, 1 = right).
#[derive(Debug, Clone, Default)]
pub struct Angles {
    /// Root displacement in the body frame at the start (x left, y up, z forward).
    pub root: V3,
    /// Extra yaw of the whole body.
    pub yaw: f64,
    /// Forward bend of the spine.
    pub spine_flex: f64,
    /// Sideways bend of the spine.
    pub spine_side: f64,
    /// Twist of the upper body.
    pub spine_twist: f64,
    /// Nod of the head.
    pub neck_flex: f64,
    /// Turn of the head.
    pub neck_turn: f64,
    /// Shoulder flexion (arm forward/up).
    pub sh_flex: [f64; 2],
    /// Shoulder abduction (arm sideways).
    pub sh_abd: [f64; 2],
    /// Horizontal adduction (arm toward the midline).
    pub sh_horiz: [f64; 2],
    /// Rotation about the upper arm.
    pub sh_twist: [f64; 2],
    /// Elbow flexion.
    pub elbow: [f64; 2],
    /// Hip flexion (thigh forward).
    pub hip_flex: [f64; 2],
    /// Hip abduction.
    pub hip_abd: [f64; 2],
    /// Knee flexion.
    pub knee: [f64; 2],
    /// Ankle flexion.
    pub ankle: [f64; 2],
}

fn gait(a: &mut Angles, phase: f64, amp: f64) {
    for side in 0..2 {
        let ph = phase + side as f64 * PI;
        a.hip_flex[side] += 0.45 * amp * ph.sin();
        a.knee[side] += 0.65 * amp * (ph + PI / 2.0).sin().max(0.0);
        a.sh_flex[side] += 0.35 * amp * (ph + PI).sin();
        a.elbow[side] += 0.3 + 0.15 * amp * (ph + PI).sin().max(0.0);
    }
    a.root[1] += 0.02 * (2.0 * phase).cos();
}

/// The performer's posture, constant through the clip, and idle sway at
/// normalised time `u`: what every class adds its motion to.
pub fn idle(u: f64, p: &MotionParams) -> Angles {
    Angles {
        spine_flex: p.posture[0] * 0.5,
        neck_flex: p.posture[1],
        sh_abd: [0.08 + p.posture[2] * 0.5, 0.08 - p.posture[2] * 0.5],
        elbow: [0.15 + p.posture[3].abs(), 0.15 + p.posture[4].abs()],
        spine_side: p.posture[5] * 0.3 + p.sway.1 * (TAU * p.sway.0 * u + p.phase).sin(),
        ..Angles::default()
    }
}

/// The angles of class `class`, person `who` (0 actor, 1 partner) at
/// normalised time `u` ∈ [0, 1].
pub fn angles(class: usize, who: usize, u: f64, p: &MotionParams) -> Angles {
    let (w0, w1) = p.window;
    let s = ((u - w0) / (w1 - w0)).clamp(0.0, 1.0);
    let env = smooth(s / 0.15) * smooth((1.0 - s) / 0.15);
    let d = p.side;
    let o = 1 - d;
    let amp = p.amp;
    let mut a = idle(u, p);
    match class {
        // drink water: hand to mouth, tilt head back, hold, lower.
        0 => {
            let b = bump(s);
            a.sh_flex[d] += 0.55 * amp * b;
            a.sh_horiz[d] += 0.35 * b;
            a.elbow[d] += 2.1 * b;
            a.neck_flex -= 0.25 * b * smooth((s - 0.35) / 0.2);
        }
        // clapping: both hands in front, meeting repeatedly.
        1 => {
            let n = p.count(4.0, 7.0);
            let c = 0.5 + 0.5 * (TAU * n * s + p.phase).sin();
            for side in 0..2 {
                a.sh_flex[side] += 0.9 * env * amp.min(1.0);
                a.elbow[side] += 0.9 * env;
                a.sh_horiz[side] += env * (0.15 + 0.35 * c);
            }
        }
        // hand waving: forearm up, swinging about the upper arm.
        2 => {
            let n = p.count(3.0, 6.0);
            a.sh_flex[d] += 1.2 * env;
            a.sh_horiz[d] -= 0.4 * env;
            a.elbow[d] += 1.5 * env;
            a.sh_twist[d] += env * 0.5 * amp * (TAU * n * s + p.phase).sin();
        }
        // jump up: crouch, take off, land, 1–3 times.
        3 => {
            let n = p.count(1.0, 3.0);
            let c = (n * s).fract();
            let crouch = bump(c / 0.45) * (c < 0.45) as u8 as f64 + bump((c - 0.8) / 0.2) * (c > 0.8) as u8 as f64;
            let air = if (0.4..0.8).contains(&c) { ((c - 0.4) / 0.4 * PI).sin() } else { 0.0 };
            let e = env.min(1.0);
            for side in 0..2 {
                a.hip_flex[side] += 0.9 * crouch * e;
                a.knee[side] += 1.2 * crouch * e;
                a.ankle[side] += 0.4 * crouch * e;
                a.sh_flex[side] += e * (0.6 * crouch + 2.2 * air * amp.min(1.0));
            }
            a.spine_flex += 0.35 * crouch * e;
            a.root[1] += e * (0.30 * amp * air - 0.25 * crouch);
        }
        // squat down: down, hold, up.
        4 => {
            let b = bump(s) * amp.min(1.05);
            for side in 0..2 {
                a.hip_flex[side] += 1.6 * b;
                a.knee[side] += 2.0 * b;
                a.ankle[side] += 0.6 * b;
                a.sh_flex[side] += 1.2 * b;
            }
            a.spine_flex += 0.45 * b;
            a.root[1] -= 0.42 * b;
            a.root[2] -= 0.08 * b;
        }
        // sitting down / standing up: the same transition, opposite directions.
        5 | 6 => {
            let t = smooth((s - 0.15) / 0.7);
            let b = if class == 5 { t } else { 1.0 - t };
            let lean = bump(s);
            for side in 0..2 {
                a.hip_flex[side] += 1.5 * b;
                a.knee[side] += 1.55 * b;
                a.sh_flex[side] += 0.35 * b + 0.4 * lean;
                a.elbow[side] += 0.6 * b;
            }
            a.spine_flex += 0.5 * lean * amp - 0.1 * b;
            a.root[1] -= 0.43 * b;
            a.root[2] -= 0.22 * b;
        }
        // kicking something: wind up, fast kick, return.
        7 => {
            let n = p.count(1.0, 2.0);
            let c = (n * s).fract();
            let wind = bump(c / 0.4) * (c < 0.4) as u8 as f64;
            let kick = if (0.35..0.75).contains(&c) { ((c - 0.35) / 0.4 * PI).sin() } else { 0.0 };
            a.hip_flex[d] += env * (1.3 * amp * kick - 0.35 * wind);
            a.knee[d] += env * (1.3 * wind + 0.2 * kick);
            a.sh_flex[o] += env * 0.5 * kick;
            a.sh_flex[d] -= env * 0.3 * kick;
            a.spine_flex -= 0.15 * kick * env;
        }
        // punching: alternating fast arm extensions.
        8 => {
            let n = p.count(2.0, 5.0);
            let k = (n * s).floor() as usize;
            let c = (n * s).fract();
            let arm = if k.is_multiple_of(2) { d } else { o };
            let hit = (c * PI).sin().powi(2);
            for side in 0..2 {
                a.sh_flex[side] += 0.7 * env;
                a.elbow[side] += 1.9 * env;
            }
            a.sh_flex[arm] += 0.75 * amp * hit * env;
            a.elbow[arm] -= 1.8 * hit * env;
            a.spine_twist += (if arm == 1 { 0.25 } else { -0.25 }) * hit * env;
        }
        // walking: gait cycles moving forward.
        9 => {
            let n = p.count(2.0, 3.0);
            gait(&mut a, TAU * n * s + p.phase, amp.min(1.0) * env.max(0.3));
            a.root[2] += 1.2 * amp * s;
        }
        // throw: arm back overhead, fast forward swing, step.
        10 => {
            let wind = smooth(s / 0.45) * (1.0 - smooth((s - 0.45) / 0.15));
            let rel = smooth((s - 0.45) / 0.15) * (1.0 - smooth((s - 0.7) / 0.3));
            a.sh_flex[d] += 2.6 * wind + 1.2 * rel * amp;
            a.sh_abd[d] += 0.4 * wind;
            a.elbow[d] += 1.6 * wind + 0.1 * rel;
            a.spine_twist += (if d == 1 { -0.4 } else { 0.4 }) * wind + (if d == 1 { 0.3 } else { -0.3 }) * rel;
            a.spine_flex += 0.3 * rel - 0.15 * wind;
            a.hip_flex[o] += 0.4 * rel;
            a.sh_flex[o] += 0.6 * wind;
        }
        // bow: bend forward at the waist, hold, rise.
        11 => {
            let b = bump(s);
            a.spine_flex += 0.9 * amp * b;
            a.neck_flex += 0.3 * b;
            for side in 0..2 {
                a.hip_flex[side] -= 0.05 * b;
                a.sh_flex[side] += 0.2 * b;
            }
        }
        // cheer up: both arms up, shaking.
        12 => {
            let n = p.count(2.0, 5.0);
            let shake = 0.25 * (TAU * n * s + p.phase).sin();
            for side in 0..2 {
                a.sh_flex[side] += env * (2.3 * amp.min(1.0) + shake);
                a.sh_abd[side] += 0.5 * env;
                a.elbow[side] += env * (0.3 + shake.abs());
            }
            a.neck_flex -= 0.2 * env;
        }
        // pointing to something: arm extended toward a direction, held.
        13 => {
            let b = bump(s);
            a.sh_flex[d] += (1.35 + 0.2 * p.posture[0].signum()) * b;
            a.sh_horiz[d] += p.aim * b;
            a.elbow[d] -= 0.1 * b;
            a.neck_turn += p.aim * 0.5 * b * (if d == 1 { -1.0 } else { 1.0 });
        }
        // hopping on one foot.
        14 => {
            let n = p.count(3.0, 6.0);
            let hop = (TAU * n * s + p.phase).sin().max(0.0);
            a.hip_flex[o] += 0.5 * env;
            a.knee[o] += 1.5 * env;
            a.knee[d] += 0.35 * env * (1.0 - hop);
            a.hip_flex[d] += 0.25 * env * (1.0 - hop);
            a.root[1] += env * (0.13 * amp * hop - 0.05);
            for side in 0..2 {
                a.sh_abd[side] += 0.5 * env;
            }
        }
        // arm circles: both arms sweep circles.
        15 => {
            let n = p.count(2.0, 4.0);
            let th = TAU * n * s + p.phase;
            for side in 0..2 {
                a.sh_abd[side] += env * (1.3 + 0.35 * amp * th.sin());
                a.sh_flex[side] += env * 0.4 * amp * th.cos();
                a.elbow[side] -= 0.1 * env;
            }
        }
        // handshaking: step in, right hands meet, shake.
        16 => {
            let b = bump(s);
            let n = p.count(3.0, 5.0);
            a.root[2] += 0.15 * b;
            a.sh_flex[1] += b * (0.75 + 0.12 * amp * (TAU * n * s + p.phase).sin());
            a.elbow[1] += 0.55 * b;
            a.sh_horiz[1] += 0.25 * b;
            a.spine_flex += 0.1 * b;
        }
        // hugging: approach, arms around, hold, release.
        17 => {
            let b = bump(s);
            a.root[2] += 0.32 * smooth(s / 0.4) * (1.0 - smooth((s - 0.75) / 0.25));
            for side in 0..2 {
                a.sh_flex[side] += 1.25 * b;
                a.sh_abd[side] += 0.35 * b;
                a.sh_horiz[side] += 0.6 * b;
                a.elbow[side] += 1.0 * b;
            }
            a.neck_turn += (if who == 0 { 0.4 } else { -0.4 }) * b;
        }
        // pushing other person: the actor pushes, the partner is shoved back.
        18 => {
            let hit = smooth((s - 0.3) / 0.2);
            if who == 0 {
                let arms = bump(s);
                a.root[2] += 0.25 * hit;
                for side in 0..2 {
                    a.sh_flex[side] += 1.35 * arms;
                    a.elbow[side] += 1.4 * arms * (1.0 - hit) + 0.15;
                }
                a.hip_flex[d] += 0.35 * bump((s - 0.2) / 0.5);
                a.spine_flex += 0.25 * hit * arms;
            } else {
                let shove = hit * amp;
                a.root[2] -= 0.45 * shove;
                a.spine_flex -= 0.3 * bump((s - 0.35) / 0.4);
                for side in 0..2 {
                    a.sh_abd[side] += 0.5 * bump((s - 0.35) / 0.4);
                }
                a.hip_flex[o] -= 0.3 * bump((s - 0.4) / 0.4);
            }
        }
        // following other person: both walk the same way, one behind.
        19 => {
            let n = p.count(2.0, 3.0);
            gait(&mut a, TAU * n * s + p.phase + who as f64 * 1.3, amp.min(1.0));
            a.root[2] += 1.3 * amp * s;
        }
        _ => {}
    }
    if let Some((start, side, size)) = p.distractor {
        let b = bump((u - start) / 0.3) * size;
        a.sh_flex[side] += 0.9 * b;
        a.sh_abd[side] += 0.3 * b;
        a.elbow[side] += 1.3 * b;
    }
    a
}

/// Turns angles into a pose for a body placed at `base` (floor position of
/// the pelvis projection) facing `yaw` (radians about world y).
pub fn to_pose(a: &Angles, subject: &Subject, base: V3, yaw: f64) -> Pose {
    let root_rot = rot_y(yaw + a.yaw);
    let disp = mul_v(&root_rot, a.root);
    let root = add([base[0], subject.pelvis_height, base[2]], disp);
    let mut local = [IDENTITY; JOINTS];
    let half = |f: f64, side: f64, tw: f64| mul(&mul(&rot_x(f / 2.0), &rot_z(side / 2.0)), &rot_y(tw / 2.0));
    local[j::SPINE_MID] = half(a.spine_flex, a.spine_side, a.spine_twist);
    local[j::SPINE_SHOULDER] = half(a.spine_flex, a.spine_side, a.spine_twist);
    local[j::NECK] = mul(&rot_x(a.neck_flex), &rot_y(a.neck_turn));
    for (side, sign) in [(0usize, 1.0f64), (1, -1.0)] {
        let (sh, el, hip, knee, ankle) = if side == 0 {
            (j::SHOULDER_L, j::ELBOW_L, j::HIP_L, j::KNEE_L, j::ANKLE_L)
        } else {
            (j::SHOULDER_R, j::ELBOW_R, j::HIP_R, j::KNEE_R, j::ANKLE_R)
        };
        let shoulder: M3 = mul(
            &mul(&rot_y(-sign * a.sh_horiz[side]), &rot_z(sign * a.sh_abd[side])),
            &mul(&rot_x(-a.sh_flex[side]), &rot_y(sign * a.sh_twist[side])),
        );
        local[sh] = shoulder;
        local[el] = rot_x(-a.elbow[side].max(0.0));
        local[hip] = mul(&rot_z(sign * a.hip_abd[side]), &rot_x(-a.hip_flex[side]));
        local[knee] = rot_x(a.knee[side].max(0.0));
        local[ankle] = rot_x(-a.ankle[side]);
    }
    Pose { root, root_rot, local }
}
