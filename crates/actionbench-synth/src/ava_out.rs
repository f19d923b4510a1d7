//! Multi-person scenes written as AVA v2.2 annotation files and PHALP
//! tracking results.
//!
//! Each synthetic video covers seconds 900…900+D like AVA's 15-minute
//! crops. PHALP frame `time` k is at 900 + k/fps and its key is
//! `<video_id>/img/%06d.jpg` (1-based, as PHALP's frame extraction names
//! files); AVA keyframes are the integer seconds ≥ 902 inside the video,
//! with one row per (person box, action) and the PHALP track id as the
//! person id, so tracks and labels join as they do on real data.

use std::path::Path;

use actionbench_formats::ava_write::{AvaGtRow, AvaLabel, write_ava_exclusions, write_ava_gt_csv, write_ava_label_map};
use actionbench_formats::joblib::{JoblibCompression, write_joblib};
use actionbench_formats::value::{ArrayData, Dtype, NdArray, PyValue};
use rand::Rng;

use crate::body::JOINTS;
use crate::camera::{Camera, cv_pixel};
use crate::kinetics_out::youtube_id;
use crate::layouts::phalp45;
use crate::math::{M3, V3, sub};
use crate::motion::CLASSES;
use crate::perform::{Track, perform, subject};
use crate::rng::rng_for;
use crate::smpl::smpl_rotations;
use crate::{PresetSpec, Progress, SynthError};

/// Frame size of the synthetic AVA videos.
pub const FRAME: (f64, f64) = (640.0, 360.0);
const FOCAL: f64 = 520.0;
/// Names of the AVA v2.2 actions the scenes use.
const AVA_NAMES: [(u32, &str); 19] = [
    (1, "bend/bow (at the waist)"),
    (3, "crouch/kneel"),
    (4, "dance"),
    (6, "get up"),
    (7, "jump/leap"),
    (9, "martial art"),
    (11, "sit"),
    (12, "stand"),
    (14, "walk"),
    (27, "drink"),
    (34, "hit (an object)"),
    (43, "point to (an object)"),
    (58, "throw"),
    (67, "hand clap"),
    (68, "hand shake"),
    (69, "hand wave"),
    (70, "hug (a person)"),
    (76, "push (another person)"),
    (80, "watch (a person)"),
];

/// Frames without a detection allowed before PHALP drops a track.
const MAX_AGE: usize = 50;

/// One person of a scene.
struct Person {
    track: Track,
    actions: Vec<u32>,
    /// True pixel box per frame (`None` when out of view).
    boxes: Vec<Option<[f64; 4]>>,
    /// Whether the detector found the person in each frame.
    detected: Vec<bool>,
}

/// A scene: its id, people, and frame count.
pub(crate) struct Scene {
    /// YouTube-like id.
    pub(crate) video_id: String,
    /// Training split (else validation).
    pub(crate) train: bool,
    people: Vec<Person>,
    frames: usize,
    camera: Camera,
}

fn bbox_of(cam: &Camera, joints: &[V3; JOINTS]) -> Option<[f64; 4]> {
    let k = [FOCAL, FOCAL, FRAME.0 / 2.0, FRAME.1 / 2.0];
    let (mut x1, mut y1, mut x2, mut y2) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
    for p in joints {
        let c = Camera::to_cv(cam.to_cam(*p));
        if c[2] < 0.3 {
            return None;
        }
        let px = cv_pixel(c, k);
        x1 = x1.min(px[0]);
        y1 = y1.min(px[1]);
        x2 = x2.max(px[0]);
        y2 = y2.max(px[1]);
    }
    // Joints are inside the body: pad to the silhouette (head top, limbs).
    let (w, h) = (x2 - x1, y2 - y1);
    let b = [x1 - 0.15 * w - 4.0, y1 - 0.1 * h - 6.0, x2 + 0.15 * w + 4.0, y2 + 0.04 * h + 2.0];
    let c = [b[0].max(0.0), b[1].max(0.0), b[2].min(FRAME.0 - 1.0), b[3].min(FRAME.1 - 1.0)];
    (c[2] - c[0] > 8.0 && c[3] - c[1] > 16.0).then_some(c)
}

/// Builds scene `index`.
pub(crate) fn scene(seed: u64, index: usize, count: usize, spec: &PresetSpec, classes: &[usize]) -> Scene {
    let mut rng = rng_for(seed, "ava", &[index as u64]);
    let video_id = youtube_id(&mut rng);
    let train = index < count.saturating_sub(spec.ava_val_videos).max(1);
    let frames = (spec.ava_seconds * spec.ava_fps) as usize;
    let camera = Camera::look_at([rng.random_range(-0.5..0.5), 1.6, -1.0], [0.0, 1.0, 5.0]);
    let singles: Vec<usize> = classes.iter().copied().filter(|&c| CLASSES[c].persons == 1).collect();
    let pairs: Vec<usize> = classes.iter().copied().filter(|&c| CLASSES[c].persons == 2).collect();
    let mut people = Vec::new();
    let pool = spec.ntu_subjects.max(8);
    let mut spots: Vec<V3> = Vec::new();
    let mut spot = |rng: &mut rand_chacha::ChaCha8Rng| -> V3 {
        for _ in 0..20 {
            let p = [rng.random_range(-2.2..2.2), 0.0, rng.random_range(3.5..7.0)];
            if spots.iter().all(|q| crate::math::norm(sub(p, *q)) > 1.6) {
                spots.push(p);
                return p;
            }
        }
        let p = [rng.random_range(-2.2..2.2), 0.0, rng.random_range(3.5..7.0)];
        spots.push(p);
        p
    };
    // Classes in turn (not drawn at random): every class gets about the
    // same number of people in each split.
    if !pairs.is_empty() {
        let class = pairs[index % pairs.len()];
        let (a, b) = (subject(seed, rng.random_range(1..=pool)), subject(seed, rng.random_range(1..=pool)));
        let yaw = rng.random_range(-2.0..2.0);
        let center = spot(&mut rng);
        let perf = perform(class, &a, Some(&b), frames, center, yaw, &mut rng);
        for (who, track) in perf.tracks.into_iter().enumerate() {
            people.push(Person { track, actions: CLASSES[class].ava[who].to_vec(), boxes: vec![], detected: vec![] });
        }
    }
    const SINGLES: usize = 2;
    for k in 0..SINGLES {
        if singles.is_empty() {
            break;
        }
        let class = singles[(SINGLES * index + k) % singles.len()];
        let s = subject(seed, rng.random_range(1..=pool));
        let yaw = std::f64::consts::PI + rng.random_range(-1.8..1.8);
        let center = spot(&mut rng);
        let perf = perform(class, &s, None, frames, center, yaw, &mut rng);
        let track = perf.tracks.into_iter().next().expect("one person");
        people.push(Person { track, actions: CLASSES[class].ava[0].to_vec(), boxes: vec![], detected: vec![] });
    }
    for person in &mut people {
        person.boxes = person.track.joints.iter().map(|j| bbox_of(&camera, j)).collect();
        // Missed detections: scattered frames and an occasional gap.
        let gap = rng.random_bool(0.4).then(|| {
            let len = rng.random_range(3..(spec.ava_fps as usize).max(4));
            let start = rng.random_range(0..frames.saturating_sub(len).max(1));
            (start, start + len)
        });
        person.detected = (0..frames)
            .map(|f| {
                person.boxes[f].is_some() && !rng.random_bool(0.03) && !gap.is_some_and(|(a, b)| (a..b).contains(&f))
            })
            .collect();
    }
    Scene { video_id, train, people, frames, camera }
}

fn f32_array(shape: Vec<usize>, values: impl IntoIterator<Item = f64>) -> PyValue {
    PyValue::Array(NdArray {
        dtype: Dtype::from_code("<f4").expect("valid dtype"),
        shape,
        data: ArrayData::Raw(values.into_iter().flat_map(|v| (v as f32).to_le_bytes()).collect()),
    })
}

fn scalar(code: &str, raw: Vec<u8>) -> PyValue {
    PyValue::Scalar(NdArray {
        dtype: Dtype::from_code(code).expect("valid dtype"),
        shape: vec![],
        data: ArrayData::Raw(raw),
    })
}

fn s(text: &str) -> PyValue {
    PyValue::Str(text.to_string())
}

fn mats(m: &[M3]) -> impl Iterator<Item = f64> + '_ {
    m.iter().flat_map(|r| r.iter().flatten().copied())
}

/// PHALP's per-frame dicts (docs/formats.md §5.1), keyed by frame path.
pub(crate) fn phalp_value(scene: &Scene) -> PyValue {
    let (w, h) = FRAME;
    let side = w.max(h);
    // PHALP's camera: focal 5000 on the padded square frame resized to 256.
    let f_norm = FOCAL * 256.0 / side;
    let to_cv: M3 = {
        let r = scene.camera.rot;
        [[-r[0][0], -r[0][1], -r[0][2]], [-r[1][0], -r[1][1], -r[1][2]], r[2]]
    };
    let mut last_seen: Vec<Option<usize>> = vec![None; scene.people.len()];
    let mut last_box: Vec<[f64; 4]> = vec![[0.0; 4]; scene.people.len()];
    let mut entries = Vec::with_capacity(scene.frames);
    for f in 0..scene.frames {
        let path = format!("{}/img/{:06}.jpg", scene.video_id, f + 1);
        let name = format!("{:06}.jpg", f + 1);
        let mut tid = Vec::new();
        let mut lists: [Vec<PyValue>; 17] = Default::default();
        let mut tracked_ids = Vec::new();
        let mut tracked_bbox = Vec::new();
        for (i, person) in scene.people.iter().enumerate() {
            if person.detected[f] {
                let b = person.boxes[f].expect("detected people have boxes");
                last_seen[i] = Some(f);
                last_box[i] = [b[0], b[1], b[2] - b[0], b[3] - b[1]];
            }
            let Some(seen) = last_seen[i] else { continue };
            if f - seen > MAX_AGE {
                continue;
            }
            let id = i as i64 + 1;
            tid.push(PyValue::Int(id));
            let b = last_box[i];
            let bbox = f32_array(vec![4], b);
            if f == seen {
                tracked_ids.push(PyValue::Int(id));
                tracked_bbox.push(bbox.clone());
            }
            let joints = phalp45(&person.track.joints[seen], &person.track.rots[seen]);
            let root = Camera::to_cv(scene.camera.to_cam(person.track.joints[seen][0]));
            let rel: Vec<V3> = joints
                .iter()
                .enumerate()
                .map(|(k, p)| if k == 44 { [0.0; 3] } else { sub(Camera::to_cv(scene.camera.to_cam(*p)), root) })
                .collect();
            let cam_t = [root[0], root[1], root[2] * 5000.0 / f_norm];
            let j2d: Vec<f64> = rel
                .iter()
                .flat_map(|p| {
                    let q = [p[0] + cam_t[0], p[1] + cam_t[1], p[2] + cam_t[2]];
                    let px = cv_pixel(q, [5000.0, 5000.0, 128.0, 128.0]);
                    [px[0] / 256.0, px[1] / 256.0]
                })
                .collect();
            let rots = smpl_rotations(&person.track.rots[seen], &to_cv);
            let betas: Vec<f64> = person.track.subject.betas().iter().map(|&v| v as f64).collect();
            let sz = b[2].max(b[3]);
            let center = [b[0] + b[2] / 2.0, b[1] + b[3] / 2.0];
            let conf = if f == seen { 0.85 + 0.1 * ((f * 7 + i * 3) % 10) as f32 / 10.0 } else { 0.0 };
            let values: [PyValue; 17] = [
                bbox,
                PyValue::Int((f - seen) as i64),
                f32_array(vec![2], center),
                f32_array(vec![2], [sz * 1.2, sz * 1.2]),
                PyValue::List(vec![PyValue::Int(h as i64), PyValue::Int(w as i64)]),
                s(&path),
                s(&name),
                scalar("<i8", 0i64.to_le_bytes().to_vec()),
                scalar("<f4", conf.to_le_bytes().to_vec()),
                PyValue::List(vec![]),
                PyValue::Dict(vec![
                    (s("global_orient"), f32_array(vec![1, 3, 3], mats(&rots[..1]))),
                    (s("body_pose"), f32_array(vec![23, 3, 3], mats(&rots[1..]))),
                    (s("betas"), f32_array(vec![10], betas)),
                ]),
                f32_array(vec![3], cam_t),
                f32_array(vec![3], [sz / side * 0.9 + 0.1, (center[0] / w - 0.5) * 0.1, (center[1] / h - 0.5) * 0.1]),
                f32_array(vec![45, 3], rel.iter().flatten().copied()),
                f32_array(vec![90], j2d),
                PyValue::List(vec![]),
                PyValue::Int(i as i64),
            ];
            for (list, v) in lists.iter_mut().zip(values) {
                list.push(v);
            }
        }
        let [
            bbox,
            tracked_time,
            center,
            scale,
            size,
            img_path,
            img_name,
            class_name,
            conf,
            annotations,
            smpl,
            camera,
            camera_bbox,
            joints3d,
            joints2d,
            mask,
            extra_data,
        ] = lists;
        let dict = PyValue::Dict(vec![
            (s("time"), PyValue::Int(f as i64)),
            (s("shot"), PyValue::Int(0)),
            (s("frame_path"), s(&path)),
            (s("tid"), PyValue::List(tid)),
            (s("bbox"), PyValue::List(bbox)),
            (s("tracked_time"), PyValue::List(tracked_time)),
            (s("tracked_ids"), PyValue::List(tracked_ids)),
            (s("tracked_bbox"), PyValue::List(tracked_bbox)),
            (s("center"), PyValue::List(center)),
            (s("scale"), PyValue::List(scale)),
            (s("size"), PyValue::List(size)),
            (s("img_path"), PyValue::List(img_path)),
            (s("img_name"), PyValue::List(img_name)),
            (s("class_name"), PyValue::List(class_name)),
            (s("conf"), PyValue::List(conf)),
            (s("annotations"), PyValue::List(annotations)),
            (s("smpl"), PyValue::List(smpl)),
            (s("camera"), PyValue::List(camera)),
            (s("camera_bbox"), PyValue::List(camera_bbox)),
            (s("3d_joints"), PyValue::List(joints3d)),
            (s("2d_joints"), PyValue::List(joints2d)),
            (s("mask"), PyValue::List(mask)),
            (s("extra_data"), PyValue::List(extra_data)),
        ]);
        entries.push((s(&path), dict));
    }
    PyValue::Dict(entries)
}

/// AVA rows of a scene: every keyframe second ≥ 902 inside the video.
pub(crate) fn ava_rows(scene: &Scene, fps: u32) -> Vec<AvaGtRow> {
    let mut rows = Vec::new();
    let seconds = scene.frames as u32 / fps.max(1);
    for t in 902..900 + seconds {
        let f = ((t - 900) * fps) as usize;
        if f >= scene.frames {
            break;
        }
        for (i, person) in scene.people.iter().enumerate() {
            let Some(b) = person.boxes[f] else { continue };
            let xyxy = [b[0] / FRAME.0, b[1] / FRAME.1, b[2] / FRAME.0, b[3] / FRAME.1];
            for &action_id in &person.actions {
                rows.push(AvaGtRow {
                    video_id: scene.video_id.clone(),
                    timestamp: t,
                    xyxy,
                    action_id,
                    person_id: i as u32 + 1,
                });
            }
        }
    }
    rows
}

/// Writes `ava/*` and `phalp/results/demo_<video_id>.pkl`.
pub(crate) fn write_all(
    seed: u64,
    spec: &PresetSpec,
    classes: &[usize],
    out: &Path,
    progress: &dyn Progress,
) -> Result<serde_json::Value, SynthError> {
    let ava_dir = out.join("ava");
    let phalp_dir = out.join("phalp").join("results");
    crate::create_dir(&ava_dir)?;
    crate::create_dir(&phalp_dir)?;
    let indices: Vec<usize> = (0..spec.ava_videos).collect();
    progress.start("ava+phalp", indices.len() as u64);
    let done = std::sync::Mutex::new(Vec::new());
    crate::for_each_batched(&indices, progress, |&i| {
        let scene = scene(seed, i, spec.ava_videos, spec, classes);
        let value = phalp_value(&scene);
        write_joblib(&phalp_dir.join(format!("demo_{}.pkl", scene.video_id)), &value, JoblibCompression::Zlib)?;
        let rows = ava_rows(&scene, spec.ava_fps);
        let mut rng = rng_for(seed, "ava-exclusions", &[i as u64]);
        let excluded: Vec<(String, u32)> = rows
            .first()
            .filter(|_| rng.random_bool(0.3))
            .map(|r| (r.video_id.clone(), r.timestamp))
            .into_iter()
            .collect();
        done.lock().expect("lock").push((i, scene.train, rows, excluded, scene.people.len()));
        Ok(())
    })?;
    let mut done = done.into_inner().expect("lock");
    done.sort_by_key(|d| d.0);
    let mut used: Vec<u32> = done.iter().flat_map(|d| d.2.iter().map(|r| r.action_id)).collect();
    used.sort_unstable();
    used.dedup();
    let labels: Vec<AvaLabel> = AVA_NAMES
        .iter()
        .filter(|(id, _)| used.contains(id))
        .map(|&(id, name)| AvaLabel {
            name: name.to_string(),
            id,
            label_type: match id {
                0..=14 => "PERSON_MOVEMENT",
                15..=63 => "OBJECT_MANIPULATION",
                _ => "PERSON_INTERACTION",
            }
            .to_string(),
        })
        .collect();
    write_ava_label_map(&ava_dir.join("ava_action_list_v2.2.pbtxt"), &labels)?;
    let mut counts = serde_json::Map::new();
    for (split, train) in [("train", true), ("val", false)] {
        let rows: Vec<AvaGtRow> = done.iter().filter(|d| d.1 == train).flat_map(|d| d.2.clone()).collect();
        let excluded: Vec<(String, u32)> = done.iter().filter(|d| d.1 == train).flat_map(|d| d.3.clone()).collect();
        write_ava_gt_csv(&ava_dir.join(format!("ava_{split}_v2.2.csv")), &rows)?;
        write_ava_exclusions(&ava_dir.join(format!("ava_{split}_excluded_timestamps_v2.2.csv")), &excluded)?;
        counts.insert(split.into(), serde_json::json!({"rows": rows.len(), "excluded": excluded.len()}));
    }
    progress.finish("ava+phalp");
    Ok(serde_json::json!({
        "videos": spec.ava_videos,
        "val_videos": spec.ava_val_videos,
        "fps": spec.ava_fps,
        "seconds": spec.ava_seconds,
        "frame_size": [FRAME.0 as u32, FRAME.1 as u32],
        "people": done.iter().map(|d| d.4).sum::<usize>(),
        "ava": counts,
        "phalp_dir": "phalp/results",
        "ava_dir": "ava",
    }))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::Preset;

    /// The `small` preset gives every AVA action enough people in each
    /// split for its AP to mean something (each person carries about six
    /// labelled keyframes), because scenes take their classes in turn.
    #[test]
    fn small_preset_spreads_every_action_over_both_splits() {
        let spec = Preset::Small.spec();
        let classes: Vec<usize> = (0..CLASSES.len()).collect();
        let mut people: BTreeMap<(u32, bool), usize> = BTreeMap::new();
        let mut val_videos = 0;
        for i in 0..spec.ava_videos {
            let scene = scene(0, i, spec.ava_videos, &spec, &classes);
            val_videos += usize::from(!scene.train);
            for p in &scene.people {
                for &a in &p.actions {
                    *people.entry((a, scene.train)).or_default() += 1;
                }
            }
        }
        assert_eq!(val_videos, spec.ava_val_videos);
        for (id, name) in AVA_NAMES {
            let (train, val) = (people.get(&(id, true)), people.get(&(id, false)));
            assert!(val.is_some_and(|&n| n >= 8), "`{name}`: {val:?} people in val");
            assert!(train.is_some_and(|&n| n >= 5), "`{name}`: {train:?} people in train");
        }
    }
}
