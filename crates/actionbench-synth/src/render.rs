//! A small z-buffered rasteriser for the synthetic humans, and the render
//! clips it produces (RGB video plus the PViT auxiliary labels).
//!
//! Bodies (and the layout scene's objects, and the gestures scene's palms
//! and fingers) are capsules (bones) and a sphere (head), drawn as exact
//! ray–sphere intersections of spheres swept along each bone, with flat
//! albedo and one directional light (a [`Look`] can relight and texture
//! the room for the layout scene's real domain); the room is a floor and a
//! back wall. Per pixel it yields colour, depth along the optical axis, the
//! camera-frame normal and which person or object is seen, which become
//! `rgb.mp4`, `depth/`, `normals/`, `segmentation/`, `boxes.json` and
//! `joints3d.json` (the render clip contract, `docs/formats.md §6.6`;
//! `clip.json`'s `labels` says which exist per clip).

use std::path::Path;

use actionbench_formats::ntu::NTU_JOINT_NAMES;
use rand::Rng;

use crate::body::{JOINTS, j};
use crate::camera::{Camera, cv_pixel};
use crate::math::{V3, add, dot, lerp, norm, normalize, scale, sub};
use crate::motion::CLASSES;
use crate::perform::{Track, perform, subject};
use crate::rng::rng_for;
use crate::{PresetSpec, Progress, SynthError};

/// Camera intrinsics `[fx, fy, cx, cy]` (OpenCV frame: x right, y down).
pub type Intrinsics = [f64; 4];

/// A person to draw: world joints, colours (shirt, trousers, skin), girth.
pub type Figure<'a> = (&'a [V3; JOINTS], [[u8; 3]; 3], f64);

/// One rendered frame.
#[derive(Debug, Clone)]
pub struct Frame {
    /// Width and height.
    pub size: (u32, u32),
    /// RGB, row-major.
    pub rgb: Vec<u8>,
    /// Depth along the optical axis in millimetres (0 = no surface).
    pub depth_mm: Vec<u16>,
    /// Camera-frame unit normals (zero where nothing was hit).
    pub normals: Vec<[f32; 3]>,
    /// 0 background, k = person k (1-based).
    pub person: Vec<u8>,
}

/// A bone drawn as a capsule: joints, radius (metres), colour slot
/// (0 shirt, 1 trousers, 2 skin).
pub(crate) type Bone = (usize, usize, f64, usize);

/// Bones drawn as capsules (the gestures scene leaves out the two
/// wrist-to-hand-tip ones and draws a palm and fingers instead).
pub(crate) const BONES: [Bone; 20] = [
    (j::SPINE_BASE, j::SPINE_MID, 0.13, 0),
    (j::SPINE_MID, j::SPINE_SHOULDER, 0.14, 0),
    (j::SPINE_SHOULDER, j::NECK, 0.055, 2),
    (j::SPINE_SHOULDER, j::SHOULDER_L, 0.065, 0),
    (j::SPINE_SHOULDER, j::SHOULDER_R, 0.065, 0),
    (j::SHOULDER_L, j::ELBOW_L, 0.05, 0),
    (j::SHOULDER_R, j::ELBOW_R, 0.05, 0),
    (j::ELBOW_L, j::WRIST_L, 0.04, 2),
    (j::ELBOW_R, j::WRIST_R, 0.04, 2),
    (j::WRIST_L, j::HAND_TIP_L, 0.035, 2),
    (j::WRIST_R, j::HAND_TIP_R, 0.035, 2),
    (j::SPINE_BASE, j::HIP_L, 0.1, 1),
    (j::SPINE_BASE, j::HIP_R, 0.1, 1),
    (j::HIP_L, j::KNEE_L, 0.075, 1),
    (j::HIP_R, j::KNEE_R, 0.075, 1),
    (j::KNEE_L, j::ANKLE_L, 0.055, 1),
    (j::KNEE_R, j::ANKLE_R, 0.055, 1),
    (j::ANKLE_L, j::FOOT_L, 0.045, 1),
    (j::ANKLE_R, j::FOOT_R, 0.045, 1),
    (j::NECK, j::HEAD, 0.1, 2),
];

/// The room behind the people.
#[derive(Debug, Clone)]
pub struct Room {
    /// Floor colours (checkerboard).
    pub floor: [[u8; 3]; 2],
    /// Wall colour.
    pub wall: [u8; 3],
    /// Distance of the back wall behind the origin along the camera's
    /// horizontal viewing direction (metres).
    pub wall_distance: f64,
}

impl Room {
    /// A room of random colours and depth (the actions and gestures scenes').
    pub fn random(rng: &mut impl Rng) -> Self {
        Room {
            floor: [
                [rng.random_range(90..160), rng.random_range(90..160), rng.random_range(90..160)],
                [rng.random_range(60..120), rng.random_range(60..120), rng.random_range(60..120)],
            ],
            wall: [rng.random_range(150..230), rng.random_range(150..230), rng.random_range(150..230)],
            wall_distance: rng.random_range(1.5..3.0),
        }
    }
}

/// Light direction (towards the light) in the camera frame.
const LIGHT: V3 = [0.35, -0.75, -0.55];

/// How surfaces are lit and textured.
#[derive(Debug, Clone)]
pub struct Look {
    /// Direction towards the light, camera frame.
    pub light: V3,
    /// Light on every surface.
    pub ambient: f64,
    /// Strength of the directional light.
    pub diffuse: f64,
    /// Albedo noise on the floor and wall (none: flat colours).
    pub texture: Option<Texture>,
}

impl Look {
    /// The flat-shaded look of the synthetic clips.
    pub const CLEAN: Look = Look { light: LIGHT, ambient: 0.35, diffuse: 0.65, texture: None };
}

/// Two octaves of value noise over world space that scale a surface's
/// albedo by 0.65–1.35, so real-domain rooms are not flat colours.
#[derive(Debug, Clone, Copy)]
pub struct Texture {
    /// Seed of the lattice values.
    pub seed: u64,
    /// Size of the coarse octave's cells (metres).
    pub cell: f64,
}

impl Texture {
    /// A value in [0, 1) per lattice point (a hash: a random stream per
    /// pixel would be too slow).
    fn lattice(&self, c: [i64; 3]) -> f64 {
        let mut h = self.seed;
        for v in c {
            h = crate::rng::splitmix(h ^ v as u64);
        }
        (h >> 11) as f64 / (1u64 << 53) as f64
    }

    fn value(&self, p: V3) -> f64 {
        let c = p.map(|v| v.floor());
        let u = [0, 1, 2].map(|i| {
            let f = p[i] - c[i];
            f * f * (3.0 - 2.0 * f)
        });
        let mut sum = 0.0;
        for corner in 0..8usize {
            let bit = |i: usize| (corner >> i) & 1;
            let at = [0, 1, 2].map(|i| c[i] as i64 + bit(i) as i64);
            let weight: f64 = (0..3).map(|i| if bit(i) == 1 { u[i] } else { 1.0 - u[i] }).product();
            sum += weight * self.lattice(at);
        }
        sum
    }

    /// The albedo factor at world point `p`.
    pub fn factor(&self, p: V3) -> f64 {
        let coarse = self.value(scale(p, 1.0 / self.cell));
        let fine = self.value(add(scale(p, 2.7 / self.cell), [17.0, 5.0, 11.0]));
        0.65 + 0.7 * (0.65 * coarse + 0.35 * fine)
    }
}

/// A solid drawn like a bone: a sphere swept from `a` to `b` (world).
#[derive(Debug, Clone)]
pub struct Capsule {
    /// One end.
    pub a: V3,
    /// The other end (equal to `a` for a sphere).
    pub b: V3,
    /// Radius (metres).
    pub radius: f64,
    /// Albedo.
    pub color: [u8; 3],
}

fn shade(albedo: [u8; 3], n: V3, look: &Look) -> [u8; 3] {
    let l = normalize(look.light);
    let k = look.ambient + look.diffuse * dot(n, l).max(0.0);
    albedo.map(|c| (c as f64 * k).round().clamp(0.0, 255.0) as u8)
}

/// Renders the people (world joints per person, subject colours and girth)
/// seen by `camera`, flat-shaded.
pub fn render(people: &[Figure<'_>], camera: &Camera, k: Intrinsics, size: (u32, u32), room: &Room) -> Frame {
    render_scene(people, &[], camera, k, size, room, &Look::CLEAN)
}

/// Renders the people and then `objects` (ids people + 1, …) with `look`.
pub fn render_scene(
    people: &[Figure<'_>],
    objects: &[Capsule],
    camera: &Camera,
    k: Intrinsics,
    size: (u32, u32),
    room: &Room,
    look: &Look,
) -> Frame {
    let Background { mut frame, mut zbuf } = render_room(camera, k, size, room, look);
    draw_solids(&mut frame, &mut zbuf, people, &BONES, &[], objects, camera, k, look);
    frame
}

/// The room alone with its depth buffer: a static camera's clip renders
/// it once (textured rooms are the costly part of a frame).
#[derive(Debug, Clone)]
pub struct Background {
    frame: Frame,
    zbuf: Vec<f64>,
}

impl Background {
    /// The room with the people and then `objects` drawn over it.
    pub fn render_over(
        &self,
        people: &[Figure<'_>],
        objects: &[Capsule],
        camera: &Camera,
        k: Intrinsics,
        look: &Look,
    ) -> Frame {
        let (mut frame, mut zbuf) = (self.frame.clone(), self.zbuf.clone());
        draw_solids(&mut frame, &mut zbuf, people, &BONES, &[], objects, camera, k, look);
        frame
    }

    /// The room with the people drawn with `bones` and then each person's
    /// extra `parts` (world capsules, such as a palm and fingers) in that
    /// person's segmentation id.
    pub(crate) fn render_with_parts(
        &self,
        people: &[Figure<'_>],
        bones: &[Bone],
        parts: &[&[Capsule]],
        camera: &Camera,
        k: Intrinsics,
        look: &Look,
    ) -> Frame {
        let (mut frame, mut zbuf) = (self.frame.clone(), self.zbuf.clone());
        draw_solids(&mut frame, &mut zbuf, people, bones, parts, &[], camera, k, look);
        frame
    }
}

/// The floor (world y = 0) and the back wall.
pub fn render_room(camera: &Camera, k: Intrinsics, size: (u32, u32), room: &Room, look: &Look) -> Background {
    let (w, h) = (size.0 as usize, size.1 as usize);
    let n = w * h;
    let mut frame =
        Frame { size, rgb: vec![0; n * 3], depth_mm: vec![0; n], normals: vec![[0.0; 3]; n], person: vec![0; n] };
    let mut zbuf = vec![f64::INFINITY; n];
    // Room: floor (world y = 0) and a wall facing the camera.
    let world_of = |d: V3| -> V3 {
        // camera (cv) direction → world direction
        let kin = [-d[0], -d[1], d[2]];
        let r = camera.rot;
        [
            r[0][0] * kin[0] + r[1][0] * kin[1] + r[2][0] * kin[2],
            r[0][1] * kin[0] + r[1][1] * kin[1] + r[2][1] * kin[2],
            r[0][2] * kin[0] + r[1][2] * kin[1] + r[2][2] * kin[2],
        ]
    };
    let fwd = normalize([camera.rot[2][0], 0.0, camera.rot[2][2]]);
    let wall_point = scale(fwd, room.wall_distance);
    for y in 0..h {
        for x in 0..w {
            let d = [(x as f64 + 0.5 - k[2]) / k[0], (y as f64 + 0.5 - k[3]) / k[1], 1.0];
            let dw = world_of(d);
            let mut best: Option<(f64, V3, [u8; 3])> = None;
            if dw[1] < -1e-6 {
                let t = -camera.pos[1] / dw[1];
                let p = add(camera.pos, scale(dw, t));
                let check = ((p[0].floor() + p[2].floor()) as i64).rem_euclid(2) as usize;
                best = Some((t, [0.0, 1.0, 0.0], room.floor[check]));
            }
            let denom = dot(dw, fwd);
            if denom > 1e-6 {
                let t = dot(sub(wall_point, camera.pos), fwd) / denom;
                if best.is_none_or(|b| t < b.0) {
                    best = Some((t, scale(fwd, -1.0), room.wall));
                }
            }
            if let Some((t, nw, mut color)) = best {
                if let Some(tex) = &look.texture {
                    let f = tex.factor(add(camera.pos, scale(dw, t)));
                    color = color.map(|c| (c as f64 * f).round().clamp(0.0, 255.0) as u8);
                }
                let i = y * w + x;
                let z = t; // d has z = 1 in the camera frame, so t is the depth
                zbuf[i] = z;
                let nc = Camera::to_cv(camera.to_cam(add(camera.pos, nw)));
                let nc = normalize(nc);
                frame.depth_mm[i] = (z * 1000.0).round().clamp(1.0, 65535.0) as u16;
                frame.normals[i] = [nc[0] as f32, nc[1] as f32, nc[2] as f32];
                frame.rgb[i * 3..i * 3 + 3].copy_from_slice(&shade(color, nc, look));
            }
        }
    }
    Background { frame, zbuf }
}

#[allow(clippy::too_many_arguments)]
fn draw_solids(
    frame: &mut Frame,
    zbuf: &mut [f64],
    people: &[Figure<'_>],
    bones: &[Bone],
    parts: &[&[Capsule]],
    objects: &[Capsule],
    camera: &Camera,
    k: Intrinsics,
    look: &Look,
) {
    let mut target = Target { frame, zbuf, k, look };
    let cv = |p: V3| Camera::to_cv(camera.to_cam(p));
    for (pi, (joints, colors, girth)) in people.iter().enumerate() {
        let cam: Vec<V3> = joints.iter().map(|p| cv(*p)).collect();
        for &(a, b, radius, slot) in bones {
            target.capsule(cam[a], cam[b], radius * girth, colors[slot], pi as u8 + 1);
        }
        for c in parts.get(pi).copied().unwrap_or_default() {
            target.capsule(cv(c.a), cv(c.b), c.radius, c.color, pi as u8 + 1);
        }
    }
    for (oi, o) in objects.iter().enumerate() {
        target.capsule(cv(o.a), cv(o.b), o.radius, o.color, (people.len() + oi + 1) as u8);
    }
}

/// What spheres are drawn into.
struct Target<'a> {
    frame: &'a mut Frame,
    zbuf: &'a mut [f64],
    k: Intrinsics,
    look: &'a Look,
}

impl Target<'_> {
    /// A capsule from `a` to `b` (camera frame) as overlapping spheres.
    fn capsule(&mut self, a: V3, b: V3, r: f64, albedo: [u8; 3], id: u8) {
        let len = norm(sub(b, a));
        let steps = (len / (r * 0.5)).ceil().max(1.0) as usize;
        for s in 0..=steps {
            let c = lerp(a, b, s as f64 / steps as f64);
            sphere(self.frame, self.zbuf, c, r, self.k, albedo, id, self.look);
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn sphere(frame: &mut Frame, zbuf: &mut [f64], c: V3, r: f64, k: Intrinsics, albedo: [u8; 3], id: u8, look: &Look) {
    if c[2] <= r + 0.05 {
        return;
    }
    let (w, h) = (frame.size.0 as i64, frame.size.1 as i64);
    let center = cv_pixel(c, k);
    let pr = k[0] * r / (c[2] - r) + 1.0;
    let x0 = ((center[0] - pr).floor() as i64).max(0);
    let x1 = ((center[0] + pr).ceil() as i64).min(w - 1);
    let y0 = ((center[1] - pr).floor() as i64).max(0);
    let y1 = ((center[1] + pr).ceil() as i64).min(h - 1);
    let cc = dot(c, c) - r * r;
    for y in y0..=y1 {
        for x in x0..=x1 {
            let d = [(x as f64 + 0.5 - k[2]) / k[0], (y as f64 + 0.5 - k[3]) / k[1], 1.0];
            let dd = dot(d, d);
            let dc = dot(d, c);
            let disc = dc * dc - dd * cc;
            if disc < 0.0 {
                continue;
            }
            let t = (dc - disc.sqrt()) / dd;
            let i = (y * w + x) as usize;
            if t <= 0.0 || t >= zbuf[i] {
                continue;
            }
            zbuf[i] = t;
            let p = scale(d, t);
            let n = scale(sub(p, c), 1.0 / r);
            frame.depth_mm[i] = (t * 1000.0).round().clamp(1.0, 65535.0) as u16;
            frame.normals[i] = [n[0] as f32, n[1] as f32, n[2] as f32];
            frame.person[i] = id;
            frame.rgb[i * 3..i * 3 + 3].copy_from_slice(&shade(albedo, n, look));
        }
    }
}

/// Which auxiliary labels a clip carries.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct Labels {
    /// `rgb.mp4`.
    pub rgb: bool,
    /// `depth/`.
    pub depth: bool,
    /// `normals/`.
    pub normals: bool,
    /// `segmentation/`.
    pub segmentation: bool,
    /// `boxes.json`.
    pub boxes: bool,
    /// `joints3d.json`.
    pub joints3d: bool,
}

impl Labels {
    /// Some labels at random, like the real synthetic datasets (`all`:
    /// every one, so each file kind exists in a set).
    pub fn random(rng: &mut impl Rng, all: bool) -> Self {
        Labels {
            rgb: true,
            depth: all || rng.random_bool(0.7),
            normals: all || rng.random_bool(0.5),
            segmentation: all || rng.random_bool(0.6),
            boxes: all || rng.random_bool(0.8),
            joints3d: all || rng.random_bool(0.7),
        }
    }
}

fn png_err(path: &Path, e: impl std::fmt::Display) -> SynthError {
    SynthError::Video { path: path.to_path_buf(), message: format!("PNG encoding failed: {e}") }
}

fn write_png(
    path: &Path,
    size: (u32, u32),
    color: png::ColorType,
    depth: png::BitDepth,
    palette: Option<Vec<u8>>,
    data: &[u8],
) -> Result<(), SynthError> {
    let file = std::fs::File::create(path).map_err(|e| SynthError::io(path, e))?;
    let mut enc = png::Encoder::new(std::io::BufWriter::new(file), size.0, size.1);
    enc.set_color(color);
    enc.set_depth(depth);
    if let Some(p) = palette {
        enc.set_palette(p);
    }
    let mut writer = enc.write_header().map_err(|e| png_err(path, e))?;
    writer.write_image_data(data).map_err(|e| png_err(path, e))?;
    writer.finish().map_err(|e| png_err(path, e))
}

fn round(v: f64, digits: i32) -> f64 {
    let m = 10f64.powi(digits);
    (v * m).round() / m
}

/// The identifier of clip `index`.
pub fn clip_id(index: usize) -> String {
    format!("synth_{index:06}")
}

/// Renders clip `index` into `root/<clip_id>/`.
pub(crate) fn write_clip(
    seed: u64,
    index: usize,
    spec: &PresetSpec,
    classes: &[usize],
    root: &Path,
) -> Result<(), SynthError> {
    let mut rng = rng_for(seed, "render", &[index as u64]);
    let id = clip_id(index);
    let dir = root.join(&id);
    crate::create_dir(&dir)?;
    let class = classes[rng.random_range(0..classes.len())];
    let pool = spec.ntu_subjects.max(8);
    let subject_id = rng.random_range(1..=pool);
    let actor = subject(seed, subject_id);
    let partner = subject(seed, rng.random_range(1..=pool));
    let frames = spec.render_frames;
    let yaw = std::f64::consts::PI + rng.random_range(-0.9..0.9);
    let perf = perform(class, &actor, Some(&partner), frames, [0.0; 3], yaw, &mut rng);
    let camera_no: u16 = rng.random_range(1..=3);
    let azimuth = (camera_no as f64 - 2.0) * std::f64::consts::FRAC_PI_4 + rng.random_range(-0.15..0.15);
    let distance = rng.random_range(3.2..4.5);
    let camera = Camera::look_at(
        [distance * azimuth.sin(), rng.random_range(1.0..1.6), -distance * azimuth.cos()],
        [0.0, 0.9, 0.0],
    );
    let (w, h) = spec.render_size;
    let k = intrinsics(spec.render_size);
    let room = Room::random(&mut rng);
    // Clips carry only some labels, like the real synthetic datasets; the
    // first clip has them all so every file kind always exists.
    let labels = Labels::random(&mut rng, index == 0);
    let palette = perf.tracks.iter().flat_map(|t| t.subject.colors[0]).collect();
    let mut out = ClipWriter::create(&dir, labels, spec.render_size, palette)?;
    for f in 0..frames {
        let people: Vec<Figure<'_>> =
            perf.tracks.iter().map(|t: &Track| (&t.joints[f], t.subject.colors, t.subject.girth)).collect();
        let frame = render(&people, &camera, k, (w, h), &room);
        out.push(f, &frame, &frame.rgb, perf.tracks.len(), joints_json(&perf.tracks, &camera, f))?;
    }
    let clip = serde_json::json!({
        "clip_id": id,
        "action": CLASSES[class].name,
        "label": class,
        "subject": subject_id,
        "camera": camera_no,
        "fps": FPS,
        "width": w,
        "height": h,
        "num_frames": frames,
        "intrinsics": {"fx": k[0], "fy": k[1], "cx": k[2], "cy": k[3]},
        "labels": labels,
    });
    out.finish(&clip)
}

/// Frames per second of every render clip.
pub(crate) const FPS: u32 = 30;

/// The pinhole intrinsics of a render of `size`.
pub(crate) fn intrinsics(size: (u32, u32)) -> Intrinsics {
    let (w, h) = size;
    [w as f64 * 0.9, w as f64 * 0.9, w as f64 / 2.0, h as f64 / 2.0]
}

/// One frame's `joints3d.json` people: camera frame, 4 decimals.
pub(crate) fn joints_json(tracks: &[Track], camera: &Camera, f: usize) -> Vec<serde_json::Value> {
    let people: Vec<&[V3; JOINTS]> = tracks.iter().map(|t| &t.joints[f]).collect();
    joints_json_of(&people, camera)
}

/// `joints3d.json` people of world joints (person k = `people[k - 1]`).
pub(crate) fn joints_json_of(people: &[&[V3; JOINTS]], camera: &Camera) -> Vec<serde_json::Value> {
    people
        .iter()
        .enumerate()
        .map(|(pi, world)| {
            let joints: Vec<[f64; 3]> =
                world.iter().map(|p| Camera::to_cv(camera.to_cam(*p)).map(|v| round(v, 4))).collect();
            serde_json::json!({"person": pi + 1, "joints": joints})
        })
        .collect()
}

/// The pixel box `[x1, y1, x2, y2]` of segmentation id `id`, if seen.
fn id_box(ids: &[u8], width: usize, id: u8) -> Option<[u32; 4]> {
    let (mut x1, mut y1, mut x2, mut y2) = (u32::MAX, u32::MAX, 0, 0);
    for (i, &v) in ids.iter().enumerate() {
        if v == id {
            let (x, y) = ((i % width) as u32, (i / width) as u32);
            x1 = x1.min(x);
            y1 = y1.min(y);
            x2 = x2.max(x + 1);
            y2 = y2.max(y + 1);
        }
    }
    (x1 != u32::MAX).then_some([x1, y1, x2, y2])
}

/// Writes one clip's files frame by frame (the render clip contract), so
/// both scenes share the exact bytes of every label file.
pub(crate) struct ClipWriter {
    dir: std::path::PathBuf,
    labels: Labels,
    size: (u32, u32),
    palette: Vec<u8>,
    video: actionbench_video::Mp4Writer,
    boxes: Vec<serde_json::Value>,
    joints3d: Vec<serde_json::Value>,
    /// Segmentation id of the scene's object, whose box goes in `object`.
    pub object: Option<u8>,
    #[cfg(test)]
    rgb_hash: u64,
}

impl ClipWriter {
    /// Creates the label folders and the video; `palette` holds the
    /// segmentation colours after black (ids 1, 2, …).
    pub(crate) fn create(dir: &Path, labels: Labels, size: (u32, u32), palette: Vec<u8>) -> Result<Self, SynthError> {
        for (on, sub_dir) in
            [(labels.depth, "depth"), (labels.normals, "normals"), (labels.segmentation, "segmentation")]
        {
            if on {
                crate::create_dir(&dir.join(sub_dir))?;
            }
        }
        let video_path = dir.join("rgb.mp4");
        let video = actionbench_video::Mp4Writer::create(&video_path, size.0, size.1, FPS)
            .map_err(|e| SynthError::Video { path: video_path, message: e.to_string() })?;
        Ok(Self {
            dir: dir.to_path_buf(),
            labels,
            size,
            palette: [vec![0u8, 0, 0], palette].concat(),
            video,
            boxes: Vec::new(),
            joints3d: Vec::new(),
            object: None,
            #[cfg(test)]
            rgb_hash: tests::FNV_START,
        })
    }

    fn video_err(&self, e: actionbench_video::VideoError) -> SynthError {
        SynthError::Video { path: self.dir.join("rgb.mp4"), message: e.to_string() }
    }

    /// Frame `f`: `rgb` is what the video shows, `frame` the labels.
    pub(crate) fn push(
        &mut self,
        f: usize,
        frame: &Frame,
        rgb: &[u8],
        people: usize,
        joints: Vec<serde_json::Value>,
    ) -> Result<(), SynthError> {
        self.video.push_rgb(rgb).map_err(|e| self.video_err(e))?;
        #[cfg(test)]
        {
            self.rgb_hash = tests::fnv(self.rgb_hash, rgb);
        }
        self.write_maps(f, frame)?;
        let w = self.size.0 as usize;
        let frame_boxes: Vec<serde_json::Value> = (1..=people as u8)
            .filter_map(|p| id_box(&frame.person, w, p).map(|b| serde_json::json!({"person": p, "xyxy": b})))
            .collect();
        let mut entry = serde_json::json!({"frame": f, "boxes": frame_boxes});
        if let Some(b) = self.object.and_then(|id| id_box(&frame.person, w, id).map(|b| (id, b))) {
            entry["object"] = serde_json::json!({"id": b.0, "xyxy": b.1});
        }
        self.boxes.push(entry);
        self.joints3d.push(serde_json::json!({"frame": f, "people": joints}));
        Ok(())
    }

    /// The depth, normals and segmentation PNGs the clip carries.
    fn write_maps(&self, f: usize, frame: &Frame) -> Result<(), SynthError> {
        let (dir, size) = (&self.dir, self.size);
        let name = format!("{f:06}.png");
        if self.labels.depth {
            let bytes: Vec<u8> = frame.depth_mm.iter().flat_map(|d| d.to_be_bytes()).collect();
            let path = dir.join("depth").join(&name);
            write_png(&path, size, png::ColorType::Grayscale, png::BitDepth::Sixteen, None, &bytes)?;
        }
        if self.labels.normals {
            let bytes: Vec<u8> = frame
                .normals
                .iter()
                .flat_map(|n| {
                    if *n == [0.0; 3] {
                        [0, 0, 0]
                    } else {
                        n.map(|v| ((v as f64 + 1.0) * 127.5).round().clamp(1.0, 255.0) as u8)
                    }
                })
                .collect();
            let path = dir.join("normals").join(&name);
            write_png(&path, size, png::ColorType::Rgb, png::BitDepth::Eight, None, &bytes)?;
        }
        if self.labels.segmentation {
            let path = dir.join("segmentation").join(&name);
            let palette = Some(self.palette.clone());
            write_png(&path, size, png::ColorType::Indexed, png::BitDepth::Eight, palette, &frame.person)?;
        }
        Ok(())
    }

    /// Closes the video and writes the JSON files, `clip` last.
    pub(crate) fn finish(self, clip: &serde_json::Value) -> Result<(), SynthError> {
        let dir = self.dir.clone();
        self.video.finish().map_err(|e| SynthError::Video { path: dir.join("rgb.mp4"), message: e.to_string() })?;
        #[cfg(test)]
        tests::RGB_HASHES
            .lock()
            .expect("hash log")
            .push((clip["clip_id"].as_str().unwrap_or_default().to_string(), self.rgb_hash));
        let json = |v: &serde_json::Value| serde_json::to_string(v).expect("JSON of plain values") + "\n";
        if self.labels.boxes {
            crate::write_file(&dir.join("boxes.json"), json(&serde_json::json!({"frames": self.boxes})))?;
        }
        if self.labels.joints3d {
            crate::write_file(
                &dir.join("joints3d.json"),
                json(&serde_json::json!({"joint_names": NTU_JOINT_NAMES, "frames": self.joints3d})),
            )?;
        }
        crate::write_file(&dir.join("clip.json"), serde_json::to_string_pretty(clip).expect("JSON") + "\n")
    }
}

/// Writes every clip of the preset.
pub(crate) fn write_all(
    seed: u64,
    spec: &PresetSpec,
    classes: &[usize],
    root: &Path,
    progress: &dyn Progress,
) -> Result<serde_json::Value, SynthError> {
    crate::create_dir(root)?;
    let indices: Vec<usize> = (0..spec.render_clips).collect();
    progress.start("renders", indices.len() as u64);
    crate::for_each_batched(&indices, progress, |&i| write_clip(seed, i, spec, classes, root))?;
    progress.finish("renders");
    Ok(serde_json::json!({
        "clips": spec.render_clips,
        "frames_per_clip": spec.render_frames,
        "size": [spec.render_size.0, spec.render_size.1],
        "dir": "renders",
        "encoder": actionbench_video::mp4_encoder_name(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) const FNV_START: u64 = 0xcbf2_9ce4_8422_2325;

    /// FNV-1a: a hash that is the same on every platform and release.
    pub(super) fn fnv(mut h: u64, bytes: &[u8]) -> u64 {
        for &b in bytes {
            h = (h ^ b as u64).wrapping_mul(0x0100_0000_01b3);
        }
        h
    }

    /// The RGB frames each clip hands to the encoder, by clip index.
    pub(super) static RGB_HASHES: std::sync::Mutex<Vec<(String, u64)>> = std::sync::Mutex::new(Vec::new());

    /// The actions scene's pixels are pinned: existing benchmarks depend
    /// on them. The hashes were measured on the code before the layout
    /// scene was added (commit 2d823f9).
    #[test]
    fn actions_scene_pixels_are_unchanged() {
        let dir = tempfile::tempdir().unwrap();
        let spec = crate::Preset::Tiny.spec();
        let classes: Vec<usize> = (0..CLASSES.len()).collect();
        write_all(7, &spec, &classes, dir.path(), &crate::NoProgress).unwrap();
        let mut got = RGB_HASHES.lock().unwrap().clone();
        got.sort_unstable();
        let got: Vec<String> = got.iter().map(|(id, h)| format!("{id}:{h:016x}")).collect();
        let want = [
            "synth_000000:705b299a686ecfa8",
            "synth_000001:d306a1407aee299e",
            "synth_000002:d3848387abdb8bda",
            "synth_000003:23a867668d05569a",
        ];
        assert_eq!(got, want);
    }
}
