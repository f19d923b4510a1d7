//! The `layout` render scene set: one person walks relative to one object,
//! so that the four verbs differ only in 3D layout (looming, depth order,
//! occlusion) — data on which PViT's scene labels (depth, normals,
//! segmentation, 3D pose, boxes) can plausibly help recognition.
//!
//! Clips are "real" (textured, noisy, relit, no auxiliary labels) or
//! "synthetic" (flat shading, one of three label sources after PViT's
//! Table 7), with Something-Else-style compositional splits and few-shot
//! ranks in `clip.json` (docs/formats.md, "The generator's render clips").

use std::path::Path;

use rand::Rng;
use rand_distr::{Distribution, Normal};

use crate::body::j;
use crate::camera::Camera;
use crate::math::{V3, add, normalize, scale, sub};
use crate::perform::{Performance, perform, subject};
use crate::render::{
    Background, Capsule, ClipWriter, Figure, Frame, Intrinsics, Labels, Look, Room, Texture, clip_id, intrinsics,
    joints_json, render_room,
};
use crate::rng::rng_for;
use crate::{PresetSpec, Progress, SynthError};

/// The verbs (label = index). The body has no face, so front and back look
/// alike: approach vs retreat shows in looming and feet, in front vs
/// behind in occlusion and depth.
pub const VERBS: [&str; 4] = ["approach", "retreat", "pass in front", "pass behind"];

/// The objects (`object_label` = index).
pub const OBJECTS: [&str; 3] = ["ball", "pillar", "bench"];

const fn labels(depth: bool, normals: bool, segmentation: bool, boxes: bool, joints3d: bool) -> Labels {
    Labels { rgb: true, depth, normals, segmentation, boxes, joints3d }
}

/// The synthetic sources and their labels, after PViT's Table 7: `scene`
/// as HyperSim (normals, depth), `people` as SURREACT (depth,
/// segmentation, 3D pose), `objects` as EHOI (boxes, segmentation).
pub const SOURCES: [(&str, Labels); 3] = [
    ("scene", labels(true, true, false, false, false)),
    ("people", labels(true, false, true, false, true)),
    ("objects", labels(false, false, true, true, false)),
];

/// Real clips carry only their video, like real datasets.
const RGB_ONLY: Labels = labels(false, false, false, false, false);

/// Walking in `motion.rs`: the root moves 1.2·amp m along the yaw.
const WALKING: usize = 9;

/// What a clip is, known before it is rendered: shot ranks depend on the
/// verbs of earlier clips.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Verb (label).
    pub verb: usize,
    /// Object (`object_label`).
    pub object: usize,
    /// Real domain (else synthetic).
    pub real: bool,
    /// Synthetic source (index into [`SOURCES`]); `None` for real clips.
    pub source: Option<usize>,
    /// Rank among the real clips of the same verb; `None` for synthetic.
    pub shot: Option<usize>,
}

impl Plan {
    /// The 4 of 12 (verb, object) pairs held out of training.
    pub fn novel(&self) -> bool {
        self.object == self.verb % 3
    }
}

/// Whether clip `index` is real: of the first n clips exactly ⌊n·f⌋ are.
pub fn is_real(index: usize, fraction: f64) -> bool {
    ((index + 1) as f64 * fraction).floor() > (index as f64 * fraction).floor()
}

/// The plans of clips `0..clips`. Verb and object are uniform over the 12
/// pairs and a pure function of (seed, index); synthetic clips take the
/// sources in turn, so three synthetic clips hold every label kind.
pub fn plans(seed: u64, clips: usize, real_fraction: f64) -> Vec<Plan> {
    let mut shots = [0; VERBS.len()];
    let mut synthetic = 0;
    (0..clips)
        .map(|i| {
            let mut rng = rng_for(seed, "layout-plan", &[i as u64]);
            let verb = rng.random_range(0..VERBS.len());
            let object = rng.random_range(0..OBJECTS.len());
            let real = is_real(i, real_fraction);
            let (source, shot) = if real {
                shots[verb] += 1;
                (None, Some(shots[verb] - 1))
            } else {
                synthetic += 1;
                (Some((synthetic - 1) % SOURCES.len()), None)
            };
            Plan { verb, object, real, source, shot }
        })
        .collect()
}

/// How a real clip's video differs after rendering: a colour cast and
/// fresh sensor noise per frame.
#[derive(Debug, Clone)]
struct Sensor {
    gains: [f64; 3],
    sigma: f64,
}

/// One layout clip's scene, drawn from its own random stream.
pub struct LayoutClip {
    /// The plan it was made from.
    pub plan: Plan,
    /// Subject id: real 1..=P, synthetic 101..=100 + P (disjoint pools).
    pub subject: u16,
    /// Camera bin 1–3 by azimuth (left, centre, right).
    pub camera_no: u16,
    /// The camera.
    pub camera: Camera,
    /// Intrinsics.
    pub k: Intrinsics,
    /// The walk.
    pub perf: Performance,
    /// The object.
    pub object: Capsule,
    /// The floor and back wall.
    pub room: Room,
    look: Look,
    background: Background,
    sensor: Option<Sensor>,
}

/// Object half-size across the view (metres), so paths start beside it.
const HALF_WIDTH: [f64; 3] = [0.3, 0.15, 0.6];

fn color(rng: &mut impl Rng, lo: u8, hi: u8) -> [u8; 3] {
    [rng.random_range(lo..hi), rng.random_range(lo..hi), rng.random_range(lo..hi)]
}

/// The object standing at floor point `at`; the bench lies roughly across
/// the view (`right`, ±0.3 rad).
fn object_shape(object: usize, at: V3, right: V3, fwd: V3, rng: &mut impl Rng) -> Capsule {
    let color = color(rng, 40, 230);
    let up = |h: f64| add(at, [0.0, h, 0.0]);
    match object {
        0 => Capsule { a: up(0.3), b: up(0.3), radius: 0.3, color },
        1 => Capsule { a: up(0.15), b: up(1.45), radius: 0.15, color },
        _ => {
            let th: f64 = rng.random_range(-0.3..0.3);
            let axis = add(scale(right, th.cos()), scale(fwd, th.sin()));
            Capsule { a: sub(up(0.4), scale(axis, 0.4)), b: add(up(0.4), scale(axis, 0.4)), radius: 0.2, color }
        }
    }
}

/// Where the walk goes: (point, whether it is the path's midpoint (else
/// its start), walking direction before jitter).
fn path(plan: &Plan, at: V3, camera: &Camera, fwd: V3, right: V3, rng: &mut impl Rng) -> (V3, bool, V3) {
    let sign = if rng.random_bool(0.5) { 1.0 } else { -1.0 };
    if plan.verb < 2 {
        let off = rng.random_range(0.6..1.2f64).max(HALF_WIDTH[plan.object] + 0.3);
        let start = add(at, scale(right, sign * off));
        // Along the camera ray through the start: the person stays in view.
        let towards = normalize(sub([camera.pos[0], 0.0, camera.pos[2]], start));
        (start, false, if plan.verb == 0 { towards } else { scale(towards, -1.0) })
    } else {
        let depth = rng.random_range(0.7..1.2) * if plan.verb == 2 { -1.0 } else { 1.0 };
        (add(at, scale(fwd, depth)), true, scale(right, sign))
    }
}

/// Moves the walk so its root is at `to` at the start, or at the middle of
/// its first and last positions.
fn place(perf: &mut Performance, to: V3, middle: bool) {
    let track = &perf.tracks[0];
    let first = track.joints[0][j::SPINE_BASE];
    let last = track.joints[track.joints.len() - 1][j::SPINE_BASE];
    let from = if middle { scale(add(first, last), 0.5) } else { first };
    let shift = [to[0] - from[0], 0.0, to[2] - from[2]];
    for t in &mut perf.tracks {
        for frame in &mut t.joints {
            for p in frame.iter_mut() {
                *p = add(*p, shift);
            }
        }
    }
}

/// A real clip's light, textures and sensor.
fn real_look(rng: &mut impl Rng) -> (Look, Option<Sensor>) {
    let light = [rng.random_range(-0.8..0.8), rng.random_range(-1.0..-0.4), rng.random_range(-0.9..-0.2)];
    let look = Look {
        light,
        ambient: rng.random_range(0.15..0.45),
        diffuse: rng.random_range(0.4..0.9),
        texture: Some(Texture { seed: rng.random(), cell: rng.random_range(0.15..0.6) }),
    };
    let gains = [rng.random_range(0.8..1.2), rng.random_range(0.8..1.2), rng.random_range(0.8..1.2)];
    (look, Some(Sensor { gains, sigma: rng.random_range(4.0..8.0) }))
}

impl LayoutClip {
    /// Draws clip `index`'s scene.
    pub fn new(seed: u64, index: usize, spec: &PresetSpec, plan: &Plan) -> Self {
        let mut rng = rng_for(seed, "layout", &[index as u64]);
        let pool = spec.ntu_subjects.max(8);
        let subject_id = rng.random_range(1..=pool) + if plan.real { 0 } else { 100 };
        let azimuth: f64 = rng.random_range(-0.8..0.8);
        let camera_no = 1 + ((azimuth + 0.8) / (1.6 / 3.0)).floor().clamp(0.0, 2.0) as u16;
        let distance = rng.random_range(3.2..4.5);
        let height = rng.random_range(1.0..1.6);
        let camera = Camera::look_at([distance * azimuth.sin(), height, -distance * azimuth.cos()], [0.0, 0.9, 0.0]);
        // The render's horizontal viewing direction (the wall faces it).
        let fwd = normalize([camera.rot[2][0], 0.0, camera.rot[2][2]]);
        let right = [-fwd[2], 0.0, fwd[0]];
        let at = [rng.random_range(-0.3..0.3), 0.0, rng.random_range(-0.3..0.3)];
        let object = object_shape(plan.object, at, right, fwd, &mut rng);
        let (to, middle, dir) = path(plan, at, &camera, fwd, right, &mut rng);
        let yaw = dir[0].atan2(dir[2]) + rng.random_range(-0.25..0.25);
        let actor = subject(seed, subject_id);
        let mut perf = perform(WALKING, &actor, None, spec.render_frames, [0.0; 3], yaw, &mut rng);
        place(&mut perf, to, middle);
        let floor = color(&mut rng, 80, 160);
        let room = Room {
            floor: if plan.real { [floor, floor] } else { [floor, color(&mut rng, 60, 120)] },
            wall: color(&mut rng, 150, 230),
            // Beyond "pass behind" (≤ 1.2 m + half a walk behind an object
            // ≤ 0.42 m from the origin) and the longest retreat.
            wall_distance: rng.random_range(2.8..3.6),
        };
        let (look, sensor) = if plan.real { real_look(&mut rng) } else { (Look::CLEAN, None) };
        let k = intrinsics(spec.render_size);
        let background = render_room(&camera, k, spec.render_size, &room, &look);
        Self {
            plan: plan.clone(),
            subject: subject_id,
            camera_no,
            camera,
            k,
            perf,
            object,
            room,
            look,
            background,
            sensor,
        }
    }

    /// Frame `f`'s geometry and clean-or-relit colours (no sensor).
    pub fn frame(&self, f: usize) -> Frame {
        let t = &self.perf.tracks[0];
        let people: [Figure<'_>; 1] = [(&t.joints[f], t.subject.colors, t.subject.girth)];
        self.background.render_over(&people, std::slice::from_ref(&self.object), &self.camera, self.k, &self.look)
    }

    /// What the video shows of `frame`: real clips get the colour cast and
    /// fresh noise (stream per (clip, frame)).
    pub fn video_rgb(&self, seed: u64, index: usize, f: usize, frame: &Frame) -> Vec<u8> {
        let Some(s) = &self.sensor else { return frame.rgb.clone() };
        let mut rng = rng_for(seed, "layout-noise", &[index as u64, f as u64]);
        let noise = Normal::new(0.0, s.sigma).expect("positive sigma");
        frame
            .rgb
            .iter()
            .enumerate()
            .map(|(i, &c)| (c as f64 * s.gains[i % 3] + noise.sample(&mut rng)).round().clamp(0.0, 255.0) as u8)
            .collect()
    }

    /// The camera-frame depth (metres) of the object's centre.
    pub fn object_depth(&self) -> f64 {
        Camera::to_cv(self.camera.to_cam(scale(add(self.object.a, self.object.b), 0.5)))[2]
    }

    /// The camera-frame mean depth of the person's joints at frame `f`.
    pub fn person_depth(&self, f: usize) -> f64 {
        let joints = &self.perf.tracks[0].joints[f];
        joints.iter().map(|p| Camera::to_cv(self.camera.to_cam(*p))[2]).sum::<f64>() / joints.len() as f64
    }

    fn json(&self, index: usize, spec: &PresetSpec, labels: Labels) -> serde_json::Value {
        let (p, k) = (&self.plan, self.k);
        serde_json::json!({
            "clip_id": clip_id(index),
            "action": VERBS[p.verb],
            "label": p.verb,
            "subject": self.subject,
            "camera": self.camera_no,
            "fps": crate::render::FPS,
            "width": spec.render_size.0,
            "height": spec.render_size.1,
            "num_frames": spec.render_frames,
            "intrinsics": {"fx": k[0], "fy": k[1], "cx": k[2], "cy": k[3]},
            "labels": labels,
            "domain": if p.real { "real" } else { "synthetic" },
            "object": OBJECTS[p.object],
            "object_label": p.object,
            "composition": if p.novel() { "novel" } else { "seen" },
            "source": p.source.map(|s| SOURCES[s].0),
            "shot": p.shot,
        })
    }
}

/// Renders layout clip `index` into `root/<clip_id>/`.
fn write_clip(seed: u64, index: usize, spec: &PresetSpec, plan: &Plan, root: &Path) -> Result<(), SynthError> {
    let clip = LayoutClip::new(seed, index, spec, plan);
    let dir = root.join(clip_id(index));
    crate::create_dir(&dir)?;
    let labels = plan.source.map_or(RGB_ONLY, |s| SOURCES[s].1);
    let palette = [clip.perf.tracks[0].subject.colors[0], clip.object.color].concat();
    let mut out = ClipWriter::create(&dir, labels, spec.render_size, palette)?;
    out.object = Some(2);
    for f in 0..spec.render_frames {
        let frame = clip.frame(f);
        let rgb = clip.video_rgb(seed, index, f, &frame);
        out.push(f, &frame, &rgb, 1, joints_json(&clip.perf.tracks, &clip.camera, f))?;
    }
    out.finish(&clip.json(index, spec, labels))
}

/// Writes every layout clip; returns the summary's `renders` entry.
pub(crate) fn write_all(
    seed: u64,
    spec: &PresetSpec,
    real_fraction: f64,
    root: &Path,
    progress: &dyn Progress,
) -> Result<serde_json::Value, SynthError> {
    crate::create_dir(root)?;
    let plans = plans(seed, spec.render_clips, real_fraction);
    let indices: Vec<usize> = (0..plans.len()).collect();
    progress.start("renders", indices.len() as u64);
    crate::for_each_batched(&indices, progress, |&i| write_clip(seed, i, spec, &plans[i], root))?;
    progress.finish("renders");
    let sources: serde_json::Map<String, serde_json::Value> =
        SOURCES.iter().map(|(name, l)| (name.to_string(), serde_json::json!(l))).collect();
    Ok(serde_json::json!({
        "clips": spec.render_clips,
        "frames_per_clip": spec.render_frames,
        "size": [spec.render_size.0, spec.render_size.1],
        "dir": "renders",
        "encoder": actionbench_video::mp4_encoder_name(),
        "scene": "layout",
        "real_fraction": real_fraction,
        "real_clips": plans.iter().filter(|p| p.real).count(),
        "verbs": VERBS,
        "objects": OBJECTS,
        "sources": sources,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> PresetSpec {
        let mut spec = crate::Preset::Tiny.spec();
        spec.render_frames = 16;
        spec
    }

    /// The frame where the person's root is nearest the object's position
    /// across the view: where the pass crosses it.
    fn crossing(clip: &LayoutClip) -> usize {
        let centre = scale(add(clip.object.a, clip.object.b), 0.5);
        let across = |f: usize| {
            let p = clip.camera.to_cam(clip.perf.tracks[0].joints[f][j::SPINE_BASE]);
            let o = clip.camera.to_cam(centre);
            (p[0] / p[2] - o[0] / o[2]).abs()
        };
        (0..clip.perf.frames()).min_by(|&a, &b| across(a).total_cmp(&across(b))).expect("frames")
    }

    /// Every verb's geometry holds on 400 clips of both domains.
    #[test]
    fn verbs_follow_their_layout() {
        let spec = spec();
        let last = spec.render_frames - 1;
        let plans = plans(11, 400, 0.5);
        let mut seen = [0; 4];
        for (i, plan) in plans.iter().enumerate() {
            let clip = LayoutClip::new(11, i, &spec, plan);
            let (first, end) = (clip.person_depth(0), clip.person_depth(last));
            let at = clip.person_depth(crossing(&clip));
            let object = clip.object_depth();
            let ok = match plan.verb {
                0 => end < first - 0.4,
                1 => end > first + 0.4,
                2 => at < object - 0.4,
                _ => at > object + 0.4,
            };
            assert!(
                ok,
                "clip {i} {}: depth {first:.2} → {end:.2}, {at:.2} at the crossing, object {object:.2}",
                VERBS[plan.verb]
            );
            seen[plan.verb] += 1;
        }
        assert!(seen.iter().all(|&n| n > 60), "{seen:?}");
    }

    /// The real fraction holds exactly; shots rank real clips per verb;
    /// synthetic clips take the sources in turn; novel = object == verb % 3.
    #[test]
    fn plans_split_domains_compositions_and_shots() {
        for (n, f, real) in [(10, 0.5, 5), (7, 0.3, 2), (9, 1.0, 9), (9, 0.0, 0)] {
            assert_eq!(plans(1, n, f).iter().filter(|p| p.real).count(), real, "{n} clips at {f}");
        }
        let plans = plans(5, 300, 0.6);
        let mut next = [0; 4];
        let mut sources = Vec::new();
        for p in &plans {
            assert_eq!(p.novel(), [(0, 0), (1, 1), (2, 2), (3, 0)].contains(&(p.verb, p.object)));
            match (p.real, p.shot, p.source) {
                (true, Some(s), None) => {
                    assert_eq!(s, next[p.verb]);
                    next[p.verb] += 1;
                }
                (false, None, Some(s)) => sources.push(s),
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(sources[..4], [0, 1, 2, 0]);
        let novel = plans.iter().filter(|p| p.novel()).count() as f64 / plans.len() as f64;
        assert!((novel - 1.0 / 3.0).abs() < 0.08, "{novel}");
    }

    /// Real frames are relit, textured, cast and noisy, with fresh noise
    /// per frame; synthetic ones are the flat render itself.
    #[test]
    fn real_frames_differ_from_a_clean_render() {
        let spec = spec();
        let plans = plans(2, 4, 0.5);
        let (real, synthetic) = (1, 0);
        assert!(plans[real].real && !plans[synthetic].real);
        let clip = LayoutClip::new(2, real, &spec, &plans[real]);
        let mut clean = LayoutClip::new(2, real, &spec, &plans[real]);
        (clean.look, clean.sensor) = (Look::CLEAN, None);
        clean.background = render_room(&clean.camera, clean.k, spec.render_size, &clean.room, &Look::CLEAN);
        let noise = |f: usize| -> Vec<f64> {
            let frame = clip.frame(f);
            let rgb = clip.video_rgb(2, real, f, &frame);
            let s = clip.sensor.as_ref().expect("real clips have a sensor");
            rgb.iter().zip(&frame.rgb).enumerate().map(|(i, (&a, &b))| a as f64 - b as f64 * s.gains[i % 3]).collect()
        };
        let (n0, n1) = (noise(0), noise(1));
        let sd = (n0.iter().map(|v| v * v).sum::<f64>() / n0.len() as f64).sqrt();
        assert!((3.0..9.0).contains(&sd), "sensor noise σ {sd}");
        assert!(n0.iter().zip(&n1).filter(|(a, b)| a != b).count() > n0.len() / 2, "fresh noise per frame");
        let (a, b) = (clip.frame(0), clean.frame(0));
        assert_eq!(a.depth_mm, b.depth_mm, "same geometry");
        let diff = a.rgb.iter().zip(&b.rgb).filter(|(x, y)| x.abs_diff(**y) > 6).count();
        assert!(diff > a.rgb.len() / 4, "relit and textured: {diff} of {} values differ", a.rgb.len());
        let syn = LayoutClip::new(2, synthetic, &spec, &plans[synthetic]);
        let frame = syn.frame(0);
        assert_eq!(syn.video_rgb(2, synthetic, 0, &frame), frame.rgb);
    }
}
