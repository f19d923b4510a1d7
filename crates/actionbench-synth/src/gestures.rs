//! The `gestures` render scene: action and hand-gesture clips from three
//! datasets, in the shape of the multi-task action/gesture sets (an
//! action set + a gesture set, and NTU-style actions + gestures from the
//! same performers).
//!
//! | dataset | like | task | subjects | camera |
//! | --- | --- | --- | --- | --- |
//! | `actions` | UCF-101 | action | 1..=P | whole body, 3.2–4.5 m, the actions scene's |
//! | `gestures` | IsoGD / NVGesture | gesture | 101..=100 + P | the upper body, close: hands and fingers fill a good part of the frame |
//! | `ntu` | NTU_AR + NTU_GR | both | 201..=200 + P | NTU-like (three cameras, 17 setups), whole body |
//!
//! Clip i belongs to dataset i mod 3. Every clip has a `task`, and a
//! `label` that indexes that task's one vocabulary ([`ACTIONS`] or
//! [`GESTURES`]), so a class that two datasets share has one label and
//! merging sets needs no mapping. NTU's hand motions (`hand waving`,
//! `clapping`) are gestures, as the paper's NTU_GR split makes them; the
//! gesture set and NTU's gestures share `count two`, `thumbs up` and
//! `hand waving`. Splits are cross-subject: subjects whose id is a
//! multiple of 4 are `test`.
//!
//! Every person has hands with fingers ([`crate::hands`]) posed by the
//! gesture (open palm, fist, V, pinch, thumb up, pointing); action clips
//! keep relaxed hands. Gestures move the hand by inverse kinematics
//! through a path in front of the body (swipes, circles, pushes) and turn
//! the wrist so the palm faces the camera; `clapping` is the NTU motion
//! with open hands.

use std::f64::consts::{FRAC_PI_2, FRAC_PI_4, PI, TAU};
use std::path::Path;

use rand::Rng;
use serde::Serialize;

use crate::body::{JOINTS, Pose, Subject, forward, j};
use crate::camera::Camera;
use crate::hands::{Hand, HandShape, hand};
use crate::math::{
    M3, V3, add, bump, cross, dot, lerp, mul, mul_v, norm, normalize, rot_pow, rot_x, scale, smooth, sub, transpose,
};
use crate::motion::{CLASSES, MotionParams, angles, idle, to_pose};
use crate::perform::{Track, perform, subject};
use crate::render::{
    BONES, Background, Bone, Capsule, ClipWriter, Figure, Frame, Intrinsics, Labels, Look, Room, clip_id, intrinsics,
    joints_json_of, render_room,
};
use crate::rng::rng_for;
use crate::{PresetSpec, Progress, SynthError};

/// The gesture vocabulary (label = index).
pub const GESTURES: [&str; 10] = [
    "swipe left",
    "swipe right",
    "circle",
    "pinch",
    "count two",
    "thumbs up",
    "open palm",
    "fist",
    "hand waving",
    "clapping",
];

/// The action vocabulary: the generator's action classes ([`CLASSES`]
/// indices) that are whole-body actions (label = index here).
pub const ACTIONS: [usize; 18] = [0, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19];

/// The gesture set's classes ([`GESTURES`] indices).
pub const GESTURE_SET_CLASSES: [usize; 9] = [0, 1, 2, 3, 4, 5, 6, 7, 8];

/// NTU's gestures (NTU_GR): `count two` (NTU120's victory sign), `thumbs
/// up`, and its hand motions `hand waving` and `clapping`.
pub const NTU_GESTURE_CLASSES: [usize; 4] = [4, 5, 8, 9];

const HAND_WAVING: usize = 8;
const CLAPPING: usize = 9;

/// The name of the action vocabulary's `label`.
pub fn action_name(label: usize) -> &'static str {
    CLASSES[ACTIONS[label]].name
}

/// Which source dataset a clip imitates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Dataset {
    /// UCF-101-like whole-body actions.
    Actions,
    /// IsoGD / NVGesture-like hand gestures, close up.
    Gestures,
    /// NTU-like actions and gestures by the same performers.
    Ntu,
}

impl Dataset {
    /// The three, in clip order (clip i is `ALL[i % 3]`).
    pub const ALL: [Dataset; 3] = [Dataset::Actions, Dataset::Gestures, Dataset::Ntu];

    /// `actions`, `gestures` or `ntu`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Actions => "actions",
            Self::Gestures => "gestures",
            Self::Ntu => "ntu",
        }
    }

    /// Its subjects are `first_subject() + 1 ..= first_subject() + pool`.
    pub fn first_subject(self) -> u16 {
        match self {
            Self::Actions => 0,
            Self::Gestures => 100,
            Self::Ntu => 200,
        }
    }
}

/// Action or gesture recognition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Task {
    /// Labels index [`ACTIONS`].
    Action,
    /// Labels index [`GESTURES`].
    Gesture,
}

impl Task {
    /// `action` or `gesture`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Action => "action",
            Self::Gesture => "gesture",
        }
    }
}

/// Subjects per dataset: the preset's NTU subject count, at least 8.
pub fn subject_pool(spec: &PresetSpec) -> u16 {
    spec.ntu_subjects.max(8)
}

/// The cross-subject split: subjects whose id is a multiple of 4 are test
/// (every fourth subject of each dataset).
pub fn is_test_subject(id: u16) -> bool {
    id.is_multiple_of(4)
}

/// What a clip is, known before it is rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Its dataset.
    pub dataset: Dataset,
    /// Its task.
    pub task: Task,
    /// Index into the task's vocabulary.
    pub label: usize,
    /// The performer.
    pub subject: u16,
}

impl Plan {
    /// The class name (`action` in `clip.json`).
    pub fn name(&self) -> &'static str {
        match self.task {
            Task::Action => action_name(self.label),
            Task::Gesture => GESTURES[self.label],
        }
    }

    /// `train` or `test`, by subject.
    pub fn split(&self) -> &'static str {
        if is_test_subject(self.subject) { "test" } else { "train" }
    }
}

/// The plans of clips `0..clips`. Clip i is in dataset i mod 3 and is its
/// k-th clip, k = i / 3. The action and gesture sets take their subjects
/// in turn (subject k mod P); NTU clips alternate action, gesture, and
/// each subject does one of each (subject (k / 2) mod P). Classes are
/// uniform over the dataset's classes for the task, drawn per (seed, i).
pub fn plans(seed: u64, clips: usize, pool: u16) -> Vec<Plan> {
    (0..clips)
        .map(|i| {
            let mut rng = rng_for(seed, "gesture-plan", &[i as u64]);
            let dataset = Dataset::ALL[i % 3];
            let k = i / 3;
            let (task, slot) = match dataset {
                Dataset::Actions => (Task::Action, k),
                Dataset::Gestures => (Task::Gesture, k),
                Dataset::Ntu => (if k % 2 == 0 { Task::Action } else { Task::Gesture }, k / 2),
            };
            let label = match (dataset, task) {
                (_, Task::Action) => rng.random_range(0..ACTIONS.len()),
                (Dataset::Ntu, Task::Gesture) => NTU_GESTURE_CLASSES[rng.random_range(0..NTU_GESTURE_CLASSES.len())],
                (_, Task::Gesture) => GESTURE_SET_CLASSES[rng.random_range(0..GESTURE_SET_CLASSES.len())],
            };
            let subject = dataset.first_subject() + 1 + (slot % pool as usize) as u16;
            Plan { dataset, task, label, subject }
        })
        .collect()
}

/// `n` as a count of repetitions in `lo..=hi` chosen by `p.reps`.
fn count(p: &MotionParams, lo: f64, hi: f64) -> f64 {
    (lo + (hi - lo + 1.0) * p.reps).floor().min(hi)
}

/// The joints of the arm on `side` (0 left, 1 right): shoulder, elbow, wrist.
fn arm(side: usize) -> (usize, usize, usize) {
    if side == 0 { (j::SHOULDER_L, j::ELBOW_L, j::WRIST_L) } else { (j::SHOULDER_R, j::ELBOW_R, j::WRIST_R) }
}

/// Bends the arm on `side` so that its wrist reaches `target` (world),
/// the elbow bending towards `hint` (world direction): sets the shoulder's
/// and elbow's local rotations of `pose`, whose forward kinematics gave
/// `rot`.
fn reach(pose: &mut Pose, pos: &[V3; JOINTS], rot: &[M3; JOINTS], who: &Subject, side: usize, target: V3, hint: V3) {
    let (sh, el, wr) = arm(side);
    let a = norm(who.offsets[el]);
    let fore = who.offsets[wr];
    let b = norm(fore);
    let to = sub(target, pos[sh]);
    let dist = norm(to).clamp((a - b).abs() + 1e-3, (a + b) * 0.98);
    let dir = normalize(to);
    let cos_a = ((a * a + dist * dist - b * b) / (2.0 * a * dist)).clamp(-1.0, 1.0);
    let perp = normalize(sub(hint, scale(dir, dot(hint, dir))));
    let u = add(scale(dir, cos_a), scale(perp, (1.0 - cos_a * cos_a).sqrt()));
    let elbow = add(pos[sh], scale(u, a));
    let v = normalize(sub(add(pos[sh], scale(dir, dist)), elbow));
    let bend = dot(u, v).clamp(-1.0, 1.0).acos();
    // The elbow is a hinge about the upper arm's x axis that turns the
    // forearm towards its z axis.
    let w = normalize(sub(v, scale(u, dot(u, v))));
    let w = if bend < 1e-3 { perp } else { w };
    let (y, z) = (scale(u, -1.0), w);
    let x = cross(y, z);
    let world = [[x[0], y[0], z[0]], [x[1], y[1], z[1]], [x[2], y[2], z[2]]];
    pose.local[sh] = mul(&transpose(&rot[j::SPINE_SHOULDER]), &world);
    // The forearm's rest offset leans forward by `lean`.
    let lean = fore[2].atan2(-fore[1]);
    pose.local[el] = rot_x(-(bend - lean));
}

/// The world rotation of a hand whose fingers point along `d` with the
/// palm facing `p` (world, `p` made orthogonal to `d`).
fn hand_rotation(d: V3, p: V3, left: bool) -> M3 {
    let d = normalize(d);
    let p = normalize(sub(p, scale(d, dot(p, d))));
    let sx = if left { 1.0 } else { -1.0 };
    // Wrist-local axes: x = -sx·p, y = -d, z = radial = sx·(p × d).
    let (x, y, z) = (scale(p, -sx), scale(d, -1.0), scale(cross(p, d), sx));
    [[x[0], y[0], z[0]], [x[1], y[1], z[1]], [x[2], y[2], z[2]]]
}

/// How a gesture holds the active hand, in the body frame (x left, y up,
/// z forward) unless said otherwise.
enum Orient {
    /// The wrist as the arm leaves it.
    Natural,
    /// Fingers along `d`, palm towards `p`.
    Body { d: V3, p: V3 },
    /// Fingers along the forearm, palm towards `p`.
    Forearm { p: V3 },
}

/// One frame of a gesture: where the active wrist goes (offset from its
/// shoulder in arm lengths, body frame; `None`: the motion's own arm), how
/// the hand is held and shaped.
struct Step {
    reach: Option<V3>,
    orient: Orient,
    shape: HandShape,
    /// Both hands take the shape (clapping).
    both: bool,
}

/// Gesture `g` at window time `s` ∈ [0, 1] for a hand whose midline side
/// is `mx` (+1: towards +x).
fn gesture_step(g: usize, s: f64, p: &MotionParams, mx: f64, turn: f64) -> Step {
    let ready = [0.22 * mx, -0.15, 0.6];
    let at = |dx: f64, dy: f64, dz: f64| Some(add(ready, [dx, dy, dz]));
    let size = 0.85 + 0.25 * (p.amp - 0.6) / 0.7;
    let up_front = Orient::Body { d: [0.0, 1.0, 0.15], p: [0.0, -0.15, 1.0] };
    let step = |reach, orient, shape| Step { reach, orient, shape, both: false };
    match g {
        // Swipes: held on one side, a fast sweep across, held on the other;
        // left and right are the performer's (+x is the body's left).
        0 | 1 => {
            let dir = if g == 0 { 1.0 } else { -1.0 };
            let x = dir * 0.3 * size * (2.0 * smooth((s - 0.35) / 0.3) - 1.0);
            step(at(-0.06 * mx + x, 0.05, 0.0), up_front, HandShape::OPEN)
        }
        // Circle: the raised index finger draws 1–2 circles in the frontal plane.
        2 => {
            let th = FRAC_PI_2 + turn * TAU * count(p, 1.0, 2.0) * smooth((s - 0.1) / 0.8);
            let r = 0.22 * size;
            step(at(r * th.cos(), 0.1 + r * th.sin(), 0.0), up_front, HandShape::POINT)
        }
        // Pinch: thumb and index close and open 2–3 times, the palm half
        // towards the camera.
        3 => {
            let n = count(p, 2.0, 3.0);
            let pinch = 0.5 - 0.5 * (TAU * n * s).cos();
            let orient = Orient::Body { d: [0.0, 1.0, 0.15], p: [0.35 * mx, 0.0, 1.0] };
            step(at(-0.1 * mx, 0.12, 0.0), orient, HandShape { pinch, ..HandShape::PINCH })
        }
        // Two fingers up (a V), held with a slight shake.
        4 => step(at(-0.12 * mx, 0.1 + 0.02 * (TAU * 2.0 * s + p.phase).sin(), 0.05), up_front, HandShape::TWO),
        // Thumbs up: a fist, knuckles forward, thumb up, nudged forward.
        5 => {
            let orient = Orient::Body { d: [0.3 * mx, 0.0, 1.0], p: [mx, 0.0, 0.0] };
            step(at(0.0, 0.05, 0.05 + 0.1 * bump(s)), orient, HandShape::THUMB_UP)
        }
        // Open palm: pushed forward, palm first, 1–2 times.
        6 => {
            let n = count(p, 1.0, 2.0);
            let push = 0.5 - 0.5 * (TAU * n * s).cos();
            step(at(0.0, 0.1, -0.25 + 0.3 * size * push), up_front, HandShape::OPEN)
        }
        // Fist: raised, palm side to the camera, pumped 2–3 times.
        7 => {
            let n = count(p, 2.0, 3.0);
            step(at(-0.1 * mx, 0.1 + 0.08 * (TAU * n * s).sin(), 0.0), up_front, HandShape::FIST)
        }
        // Hand waving: the forearm up beside the head swinging side to side
        // 3–6 times, the open palm towards the camera.
        HAND_WAVING => {
            let n = count(p, 3.0, 6.0);
            let swing = 0.18 * size * (TAU * n * s + p.phase).sin();
            step(at(-0.27 * mx + swing, 0.37, -0.2), Orient::Forearm { p: [0.0, 0.0, 1.0] }, HandShape::OPEN)
        }
        // NTU's clapping with open hands (palms meet as the arms leave them).
        _ => Step { reach: None, orient: Orient::Natural, shape: HandShape::OPEN, both: true },
    }
}

/// One person's frames and hand shapes.
#[derive(Debug, Clone)]
pub struct Person {
    /// Joints and rotations per frame.
    pub track: Track,
    /// Hand shapes (left, right) per frame.
    pub shapes: Vec<[HandShape; 2]>,
    /// The performer's motion parameters (`side` is the gesturing hand).
    pub params: MotionParams,
}

/// Performs gesture `g` (a [`GESTURES`] index) facing `yaw` at `center`.
pub fn perform_gesture(g: usize, who: &Subject, frames: usize, center: V3, yaw: f64, rng: &mut impl Rng) -> Person {
    let mut p = MotionParams::random(rng);
    p.distractor = None;
    let turn = if rng.random_bool(0.5) { 1.0 } else { -1.0 };
    let side = p.side;
    let mx = if side == 0 { -1.0 } else { 1.0 };
    let (sh, el, wr) = arm(side);
    let mut track = Track {
        subject: who.clone(),
        joints: Vec::with_capacity(frames),
        rots: Vec::with_capacity(frames),
        lean: Vec::with_capacity(frames),
    };
    let mut shapes = Vec::with_capacity(frames);
    for f in 0..frames {
        let u = if frames > 1 { f as f64 / (frames - 1) as f64 } else { 0.0 };
        let (w0, w1) = p.window;
        let s = ((u - w0) / (w1 - w0)).clamp(0.0, 1.0);
        let env = smooth(s / 0.15) * smooth((1.0 - s) / 0.15);
        let a = if g == CLAPPING { angles(1, 0, u, &p) } else { idle(u, &p) };
        let mut pose = to_pose(&a, who, center, yaw);
        let (mut pos, mut rot) = forward(who, &pose);
        let step = gesture_step(g, s, &p, mx, turn);
        let body = pose.root_rot;
        if let Some(off) = step.reach {
            let length = norm(who.offsets[el]) + norm(who.offsets[wr]);
            let goal = add(pos[sh], mul_v(&body, scale(off, length)));
            let target = lerp(pos[wr], goal, env);
            let hint = mul_v(&body, [-mx * 0.5, -1.0, -0.2]);
            reach(&mut pose, &pos, &rot, who, side, target, hint);
            (pos, rot) = forward(who, &pose);
        }
        let want = match step.orient {
            Orient::Natural => None,
            Orient::Body { d, p: palm } => Some((mul_v(&body, d), mul_v(&body, palm))),
            Orient::Forearm { p: palm } => Some((sub(pos[wr], pos[el]), mul_v(&body, palm))),
        };
        if let Some((d, palm)) = want {
            let target = hand_rotation(d, palm, side == 0);
            pose.local[wr] = rot_pow(&mul(&transpose(&rot[el]), &target), env);
            (pos, rot) = forward(who, &pose);
        }
        let shape = HandShape::RELAXED.lerp(&step.shape, env);
        let mut pair = [HandShape::RELAXED; 2];
        pair[side] = shape;
        if step.both {
            pair = [shape; 2];
        }
        track.joints.push(pos);
        track.rots.push(rot);
        track.lean.push([a.spine_flex, a.spine_side]);
        shapes.push(pair);
    }
    Person { track, shapes, params: p }
}

/// A person's hands at frame `f`: (left, right).
pub fn hands_of(person: &Person, f: usize) -> [Hand; 2] {
    let t = &person.track;
    let who = &t.subject;
    let size = who.height / 1.75 * who.arm;
    [(j::WRIST_L, true), (j::WRIST_R, false)].map(|(w, left)| {
        let side = usize::from(!left);
        hand(t.joints[f][w], &t.rots[f][w], left, size, &person.shapes[f][side], who.colors[2])
    })
}

/// The body's bones without the wrist-to-hand-tip ones (hands are drawn
/// as palm and fingers).
fn body_bones() -> Vec<Bone> {
    BONES.iter().filter(|b| b.1 != j::HAND_TIP_L && b.1 != j::HAND_TIP_R).copied().collect()
}

/// One clip of the gestures scene, drawn from its own random stream.
pub struct GestureClip {
    /// The plan it was made from.
    pub plan: Plan,
    /// Camera number (1–3).
    pub camera_no: u16,
    /// The camera.
    pub camera: Camera,
    /// Intrinsics.
    pub k: Intrinsics,
    /// The people (performer first; a partner in two-person actions).
    pub people: Vec<Person>,
    /// The labels the clip carries.
    pub labels: Labels,
    background: Background,
    bones: Vec<Bone>,
}

/// The gesture camera's intrinsics: a longer lens than the other
/// cameras' (`fx` = 1.6 × width, about 35° across), so that it stands
/// 1.3–1.7 m away (at 112×112) and hands held forward are not much nearer
/// than the body.
pub fn close_intrinsics(size: (u32, u32)) -> Intrinsics {
    let (w, h) = (size.0 as f64, size.1 as f64);
    [w * 1.6, w * 1.6, w / 2.0, h / 2.0]
}

/// The gesture camera: looks from the front (±0.35 rad) at a point
/// between the chest and the gesturing shoulder, so that 0.42–0.52 m
/// above and below it fill the frame's height (the raised hands and the
/// head in view, the legs out of it).
fn close_camera(chest: V3, shoulder: V3, size: (u32, u32), rng: &mut impl Rng) -> (Camera, u16) {
    let k = close_intrinsics(size);
    let azimuth: f64 = rng.random_range(-0.35..0.35);
    let camera_no = 1 + ((azimuth + 0.35) / (0.7 / 3.0)).floor().clamp(0.0, 2.0) as u16;
    let half: f64 = rng.random_range(0.42..0.52);
    let distance = half * k[1] / (size.1 as f64 / 2.0);
    let target = add(lerp(chest, shoulder, 0.5), [0.0, -0.02, 0.0]);
    let pos = add(target, [distance * azimuth.sin(), rng.random_range(-0.05..0.2), -distance * azimuth.cos()]);
    (Camera::look_at(pos, target), camera_no)
}

impl GestureClip {
    /// Draws clip `index`'s scene.
    pub fn new(seed: u64, index: usize, spec: &PresetSpec, plan: &Plan) -> Self {
        let mut rng = rng_for(seed, "gestures", &[index as u64]);
        let frames = spec.render_frames;
        let pool = subject_pool(spec);
        let actor = subject(seed, plan.subject);
        // Where the performer stands and faces, and the camera kind.
        let ntu_face = if rng.random_bool(0.5) { -FRAC_PI_4 } else { FRAC_PI_4 };
        let (center, yaw) = match plan.dataset {
            Dataset::Actions => ([0.0; 3], PI + rng.random_range(-0.9..0.9)),
            Dataset::Gestures => ([0.0; 3], PI + rng.random_range(-0.3..0.3)),
            Dataset::Ntu => {
                let c = [rng.random_range(-0.3..0.3), 0.0, rng.random_range(-0.3..0.3)];
                (c, PI - ntu_face + rng.random_range(-0.3..0.3))
            }
        };
        let people = match plan.task {
            Task::Action => {
                // A partner of the same dataset and split, never the performer when others exist.
                let first = plan.dataset.first_subject();
                let same: Vec<u16> = (first + 1..=first + pool)
                    .filter(|&id| id != plan.subject && is_test_subject(id) == is_test_subject(plan.subject))
                    .collect();
                let partner =
                    subject(seed, same.get(rng.random_range(0..same.len().max(1))).copied().unwrap_or(plan.subject));
                let perf = perform(ACTIONS[plan.label], &actor, Some(&partner), frames, center, yaw, &mut rng);
                perf.tracks
                    .into_iter()
                    .map(|track| Person {
                        shapes: vec![[HandShape::RELAXED; 2]; track.joints.len()],
                        track,
                        params: perf.params.clone(),
                    })
                    .collect()
            }
            Task::Gesture => vec![perform_gesture(plan.label, &actor, frames, center, yaw, &mut rng)],
        };
        let (camera, camera_no) = match plan.dataset {
            Dataset::Actions => {
                let camera_no: u16 = rng.random_range(1..=3);
                let azimuth = (camera_no as f64 - 2.0) * FRAC_PI_4 + rng.random_range(-0.15..0.15);
                let distance = rng.random_range(3.2..4.5);
                let pos = [distance * azimuth.sin(), rng.random_range(1.0..1.6), -distance * azimuth.cos()];
                (Camera::look_at(pos, [0.0, 0.9, 0.0]), camera_no)
            }
            Dataset::Gestures => {
                let first = &people[0].track.joints[0];
                let shoulder = first[arm(people[0].params.side).0];
                close_camera(first[j::SPINE_SHOULDER], shoulder, spec.render_size, &mut rng)
            }
            Dataset::Ntu => {
                let setup: u16 = rng.random_range(1..=17);
                let camera_no: u16 = rng.random_range(1..=3);
                (Camera::ntu(setup, camera_no), camera_no)
            }
        };
        let room = Room::random(&mut rng);
        // As in the actions scene: labels at random, all on clip 0.
        let labels = Labels::random(&mut rng, index == 0);
        let k = match plan.dataset {
            Dataset::Gestures => close_intrinsics(spec.render_size),
            _ => intrinsics(spec.render_size),
        };
        let background = render_room(&camera, k, spec.render_size, &room, &Look::CLEAN);
        Self { plan: plan.clone(), camera_no, camera, k, people, labels, background, bones: body_bones() }
    }

    /// Frames in the clip.
    pub fn frames(&self) -> usize {
        self.people[0].track.joints.len()
    }

    /// Every person's hands and joints at frame `f`, `HAND_TIP` and
    /// `THUMB` moved to the drawn middle fingertip and thumb tip.
    pub fn posed(&self, f: usize) -> Vec<([Hand; 2], [V3; JOINTS])> {
        self.people
            .iter()
            .map(|p| {
                let hands = hands_of(p, f);
                let mut joints = p.track.joints[f];
                joints[j::HAND_TIP_L] = hands[0].tip;
                joints[j::THUMB_L] = hands[0].thumb_tip;
                joints[j::HAND_TIP_R] = hands[1].tip;
                joints[j::THUMB_R] = hands[1].thumb_tip;
                (hands, joints)
            })
            .collect()
    }

    /// Frame `f` rendered.
    pub fn frame(&self, f: usize) -> Frame {
        self.render(&self.posed(f))
    }

    fn render(&self, posed: &[([Hand; 2], [V3; JOINTS])]) -> Frame {
        let figures: Vec<Figure<'_>> = posed
            .iter()
            .zip(&self.people)
            .map(|((_, joints), p)| (joints, p.track.subject.colors, p.track.subject.girth))
            .collect();
        let parts: Vec<Vec<Capsule>> =
            posed.iter().map(|(hands, _)| hands.iter().flat_map(|h| h.capsules.iter().cloned()).collect()).collect();
        let parts: Vec<&[Capsule]> = parts.iter().map(Vec::as_slice).collect();
        self.background.render_with_parts(&figures, &self.bones, &parts, &self.camera, self.k, &Look::CLEAN)
    }

    fn json(&self, index: usize, spec: &PresetSpec) -> serde_json::Value {
        let (p, k) = (&self.plan, self.k);
        serde_json::json!({
            "clip_id": clip_id(index),
            "action": p.name(),
            "label": p.label,
            "subject": p.subject,
            "camera": self.camera_no,
            "fps": crate::render::FPS,
            "width": spec.render_size.0,
            "height": spec.render_size.1,
            "num_frames": spec.render_frames,
            "intrinsics": {"fx": k[0], "fy": k[1], "cx": k[2], "cy": k[3]},
            "labels": self.labels,
            "task": p.task.name(),
            "dataset": p.dataset.name(),
            "split": p.split(),
        })
    }
}

/// Renders clip `index` into `root/<clip_id>/`.
fn write_clip(seed: u64, index: usize, spec: &PresetSpec, plan: &Plan, root: &Path) -> Result<(), SynthError> {
    let clip = GestureClip::new(seed, index, spec, plan);
    let dir = root.join(clip_id(index));
    crate::create_dir(&dir)?;
    let palette = clip.people.iter().flat_map(|p| p.track.subject.colors[0]).collect();
    let mut out = ClipWriter::create(&dir, clip.labels, spec.render_size, palette)?;
    for f in 0..clip.frames() {
        let posed = clip.posed(f);
        let frame = clip.render(&posed);
        let joints: Vec<&[V3; JOINTS]> = posed.iter().map(|(_, j)| j).collect();
        out.push(f, &frame, &frame.rgb, posed.len(), joints_json_of(&joints, &clip.camera))?;
    }
    out.finish(&clip.json(index, spec))
}

/// Writes every gestures-scene clip; returns the summary's `renders` entry.
pub(crate) fn write_all(
    seed: u64,
    spec: &PresetSpec,
    root: &Path,
    progress: &dyn Progress,
) -> Result<serde_json::Value, SynthError> {
    crate::create_dir(root)?;
    let pool = subject_pool(spec);
    let plans = plans(seed, spec.render_clips, pool);
    let indices: Vec<usize> = (0..plans.len()).collect();
    progress.start("renders", indices.len() as u64);
    crate::for_each_batched(&indices, progress, |&i| write_clip(seed, i, spec, &plans[i], root))?;
    progress.finish("renders");
    let datasets: serde_json::Map<String, serde_json::Value> = Dataset::ALL
        .iter()
        .map(|&d| {
            let of = |task: Task| plans.iter().filter(|p| p.dataset == d && p.task == task).count();
            let subjects: Vec<u16> = (d.first_subject() + 1..=d.first_subject() + pool).collect();
            let test: Vec<u16> = subjects.iter().copied().filter(|&s| is_test_subject(s)).collect();
            let classes = match d {
                Dataset::Actions => serde_json::json!({"action": (0..ACTIONS.len()).collect::<Vec<_>>()}),
                Dataset::Gestures => serde_json::json!({"gesture": GESTURE_SET_CLASSES}),
                Dataset::Ntu => serde_json::json!({
                    "action": (0..ACTIONS.len()).collect::<Vec<_>>(),
                    "gesture": NTU_GESTURE_CLASSES,
                }),
            };
            let value = serde_json::json!({
                "action_clips": of(Task::Action),
                "gesture_clips": of(Task::Gesture),
                "subjects": [subjects[0], subjects[subjects.len() - 1]],
                "test_subjects": test,
                "classes": classes,
            });
            (d.name().to_string(), value)
        })
        .collect();
    let shared: Vec<&str> =
        NTU_GESTURE_CLASSES.iter().filter(|c| GESTURE_SET_CLASSES.contains(c)).map(|&c| GESTURES[c]).collect();
    Ok(serde_json::json!({
        "clips": spec.render_clips,
        "frames_per_clip": spec.render_frames,
        "size": [spec.render_size.0, spec.render_size.1],
        "dir": "renders",
        "encoder": actionbench_video::mp4_encoder_name(),
        "scene": "gestures",
        "vocabularies": {
            "action": ACTIONS.iter().map(|&c| CLASSES[c].name).collect::<Vec<_>>(),
            "gesture": GESTURES,
        },
        "datasets": datasets,
        "shared_gestures": shared,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::camera::cv_pixel;

    fn spec(size: (u32, u32), frames: usize) -> PresetSpec {
        let mut spec = crate::Preset::Tiny.spec();
        spec.render_size = size;
        spec.render_frames = frames;
        spec
    }

    /// The pixel of world point `p` in the clip's camera.
    fn pixel(clip: &GestureClip, p: V3) -> [f64; 2] {
        cv_pixel(Camera::to_cv(clip.camera.to_cam(p)), clip.k)
    }

    /// In the gesture set's close view the gesturing hand stays in the
    /// frame while the gesture is held, and mid-gesture it spans many
    /// pixels at 112×112.
    #[test]
    fn gesture_hands_stay_in_the_close_view() {
        let spec = spec((112, 112), 16);
        let plans = plans(3, 300, 8);
        let mut seen = [0; GESTURES.len()];
        for (i, plan) in plans.iter().enumerate().filter(|(_, p)| p.dataset == Dataset::Gestures) {
            let clip = GestureClip::new(3, i, &spec, plan);
            let params = &clip.people[0].params;
            let (w0, w1) = params.window;
            let (wrist, side) = (arm(params.side).2, params.side);
            for f in 0..clip.frames() {
                let s = (f as f64 / (clip.frames() - 1) as f64 - w0) / (w1 - w0);
                if !(0.15..=0.85).contains(&s) {
                    continue;
                }
                let (hands, joints) = &clip.posed(f)[0];
                for q in [pixel(&clip, joints[wrist]), pixel(&clip, hands[side].tip)] {
                    assert!(
                        (0.0..112.0).contains(&q[0]) && (0.0..112.0).contains(&q[1]),
                        "clip {i} {} frame {f}: hand at {q:?}",
                        plan.name()
                    );
                }
            }
            let (hands, _) = &clip.posed(clip.frames() / 2)[0];
            let ends: Vec<[f64; 2]> =
                hands[side].capsules.iter().flat_map(|c| [pixel(&clip, c.a), pixel(&clip, c.b)]).collect();
            let extent = |k: usize| {
                ends.iter().map(|q| q[k]).fold(f64::MIN, f64::max) - ends.iter().map(|q| q[k]).fold(f64::MAX, f64::min)
            };
            let span = extent(0).max(extent(1));
            // Capsule centres: a fist is its palm's size, an open hand or
            // raised fingers half as long again.
            let least = if plan.label == 7 { 8.0 } else { 12.0 };
            assert!(span > least, "clip {i} {}: the hand spans {span:.1} px", plan.name());
            seen[plan.label] += 1;
        }
        assert!(GESTURE_SET_CLASSES.iter().all(|&c| seen[c] > 2), "{seen:?}");
    }

    /// Gestures go where they say: swipes cross the body in their
    /// direction, pushes move the hand forward, and the palm faces the
    /// camera with the fingers up while the gesture is held.
    #[test]
    fn gesture_paths_and_palms() {
        let frames = 41;
        for g in [0usize, 1, 6] {
            for seed in 0..10u64 {
                let mut rng = rng_for(seed, "test", &[g as u64]);
                let who = subject(seed, 1);
                let person = perform_gesture(g, &who, frames, [0.0; 3], PI, &mut rng);
                let side = person.params.side;
                let w = arm(side).2;
                // The frame at window time s (where the envelope is 1 for s in 0.15..0.85).
                let (w0, w1) = person.params.window;
                let at_s = |s: f64| ((w0 + s * (w1 - w0)) * (frames - 1) as f64).round() as usize;
                let wrist = |f: usize| person.track.joints[f][w];
                // Facing -z (yaw π): the body's left (+x) is world -x.
                let (first, last) = (wrist(at_s(0.2)), wrist(at_s(0.8)));
                match g {
                    0 => assert!(last[0] < first[0] - 0.15, "swipe left {first:?} → {last:?}"),
                    1 => assert!(last[0] > first[0] + 0.15, "swipe right {first:?} → {last:?}"),
                    _ => {
                        let held: Vec<f64> = (at_s(0.15)..=at_s(0.85)).map(|f| -wrist(f)[2]).collect();
                        let most = held.iter().fold(f64::MIN, |a, &b| a.max(b));
                        let least = held.iter().fold(f64::MAX, |a, &b| a.min(b));
                        assert!(most - least > 0.1, "the push goes {least:.2} → {most:.2} m forward");
                    }
                }
                let f = at_s(0.5);
                let hand = &hands_of(&person, f)[side];
                assert!(hand.tip[1] > wrist(f)[1] + 0.1, "gesture {g} seed {seed}: fingers up");
                let sx = if side == 0 { 1.0 } else { -1.0 };
                let palm = mul_v(&person.track.rots[f][w], [-sx, 0.0, 0.0]);
                assert!(palm[2] < -0.8, "gesture {g} seed {seed}: palm faces {palm:?}");
            }
        }
    }

    /// Plans: datasets in turn, disjoint subject pools, NTU pairs of an
    /// action and a gesture by one subject, labels in their vocabulary.
    #[test]
    fn plans_assign_datasets_tasks_and_subjects() {
        let plans = plans(9, 120, 8);
        for (i, p) in plans.iter().enumerate() {
            assert_eq!(p.dataset, Dataset::ALL[i % 3]);
            let first = p.dataset.first_subject();
            assert!((first + 1..=first + 8).contains(&p.subject));
            match (p.dataset, p.task) {
                (Dataset::Actions, Task::Action) => assert!(p.label < ACTIONS.len()),
                (Dataset::Gestures, Task::Gesture) => assert!(GESTURE_SET_CLASSES.contains(&p.label)),
                (Dataset::Ntu, Task::Action) => {
                    assert!(p.label < ACTIONS.len());
                    let next = &plans[i + 3];
                    assert_eq!((next.task, next.subject), (Task::Gesture, p.subject));
                }
                (Dataset::Ntu, Task::Gesture) => assert!(NTU_GESTURE_CLASSES.contains(&p.label)),
                other => panic!("{other:?}"),
            }
        }
        assert!(ACTIONS.iter().all(|&c| !["clapping", "hand waving"].contains(&CLASSES[c].name)));
        assert_eq!([GESTURES[HAND_WAVING], GESTURES[CLAPPING]], [CLASSES[2].name, CLASSES[1].name]);
    }
}
