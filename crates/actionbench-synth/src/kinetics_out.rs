//! Kinetics-skeleton videos: performances filmed by a random camera at
//! 340×256, reduced to OpenPose COCO-18 2D joints with detector-like
//! scores, misses and dropped frames (ST-GCN release layout).

use std::path::Path;

use actionbench_formats::kinetics_skeleton::{
    KineticsFrame, KineticsLabelEntry, KineticsPerson, KineticsSkeletonVideo,
};
use actionbench_formats::kinetics_write::{write_kinetics_labels, write_kinetics_skeleton};
use rand::Rng;

use crate::camera::{Camera, cv_pixel};
use crate::layouts::openpose18;
use crate::math::{dot, mul_v, sub};
use crate::motion::CLASSES;
use crate::perform::{perform, subject};
use crate::rng::rng_for;
use crate::{PresetSpec, Progress, SynthError};

const WIDTH: f64 = 340.0;
const HEIGHT: f64 = 256.0;
const ID_CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// An 11-character YouTube-like id.
pub(crate) fn youtube_id(rng: &mut impl Rng) -> String {
    (0..11).map(|_| ID_CHARS[rng.random_range(0..ID_CHARS.len())] as char).collect()
}

/// One video: its id, split, class and file content.
pub(crate) fn video(
    seed: u64,
    index: usize,
    classes: &[usize],
    pool: u16,
) -> (String, bool, usize, KineticsSkeletonVideo) {
    let mut rng = rng_for(seed, "kinetics", &[index as u64]);
    let id = youtube_id(&mut rng);
    let train = rng.random_bool(0.8);
    let class = classes[rng.random_range(0..classes.len())];
    let actor = subject(seed, rng.random_range(1..=pool));
    let partner = subject(seed, rng.random_range(1..=pool));
    let frames = ((CLASSES[class].base_frames * rng.random_range(0.8..1.6)) as usize).max(8);
    let yaw = std::f64::consts::PI + rng.random_range(-1.2..1.2);
    let perf = perform(class, &actor, Some(&partner), frames, [0.0; 3], yaw, &mut rng);
    let azimuth: f64 = rng.random_range(-0.6..0.6);
    let distance = rng.random_range(3.0..5.5);
    let cam = Camera::look_at(
        [distance * azimuth.sin(), rng.random_range(0.9..1.7), -distance * azimuth.cos()],
        [rng.random_range(-0.3..0.3), rng.random_range(0.7..1.1), 0.0],
    );
    let focal = rng.random_range(260.0..380.0);
    let k = [focal, focal, WIDTH / 2.0, HEIGHT / 2.0];
    let base_score = rng.random_range(0.45..0.9);
    let mut data = Vec::new();
    for f in 0..frames {
        if rng.random_bool(0.04) {
            continue; // the detector found nobody: no entry for this frame
        }
        let mut persons = Vec::new();
        for track in &perf.tracks {
            let joints = openpose18(&track.joints[f], &track.rots[f]);
            // Face points are hidden when the head faces away from the camera.
            let facing =
                dot(mul_v(&cam.rot, mul_v(&track.rots[f][crate::body::j::NECK], [0.0, 0.0, 1.0])), [0.0, 0.0, 1.0]);
            let mut pose = Vec::with_capacity(36);
            let mut score = Vec::with_capacity(18);
            for (i, p) in joints.iter().enumerate() {
                let c = Camera::to_cv(cam.to_cam(*p));
                let px = cv_pixel(c, k);
                let face_hidden = matches!(i, 0 | 14 | 15) && facing > 0.2;
                let ear_hidden = match i {
                    16 => dot(sub(joints[16], joints[17]), cam_forward_world(&cam)) > 0.08,
                    17 => dot(sub(joints[17], joints[16]), cam_forward_world(&cam)) > 0.08,
                    _ => false,
                };
                let inside = px[0] >= 0.0 && px[0] < WIDTH && px[1] >= 0.0 && px[1] < HEIGHT;
                if !inside || face_hidden || ear_hidden || rng.random_bool(0.03) {
                    pose.extend([0.0, 0.0]);
                    score.push(0.0);
                } else {
                    let jitter = 1.5;
                    let x = (px[0] + rng.random_range(-jitter..jitter)) / WIDTH;
                    let y = (px[1] + rng.random_range(-jitter..jitter)) / HEIGHT;
                    pose.extend([x.clamp(0.0, 0.999) as f32, y.clamp(0.0, 0.999) as f32]);
                    score.push((base_score + rng.random_range(-0.3..0.1f64)).clamp(0.05, 0.99) as f32);
                }
            }
            if score.iter().any(|&s| s > 0.0) {
                persons.push(KineticsPerson { pose, score });
            }
        }
        if persons.len() == 2 && rng.random_bool(0.5) {
            persons.swap(0, 1);
        }
        data.push(KineticsFrame { frame_index: f as i64 + 1, persons });
    }
    let name = CLASSES[class].name.to_string();
    (id, train, class, KineticsSkeletonVideo { data, label: Some(name), label_index: Some(class as i64) })
}

/// The camera's viewing direction in the world.
fn cam_forward_world(cam: &Camera) -> crate::math::V3 {
    cam.rot[2]
}

/// Writes `kinetics_{train,val}/<id>.json` and the two label indexes.
pub(crate) fn write_all(
    seed: u64,
    spec: &PresetSpec,
    classes: &[usize],
    dir: &Path,
    progress: &dyn Progress,
) -> Result<serde_json::Value, SynthError> {
    for split in ["kinetics_train", "kinetics_val"] {
        crate::create_dir(&dir.join(split))?;
    }
    let indices: Vec<usize> = (0..spec.kinetics_videos).collect();
    progress.start("kinetics", indices.len() as u64);
    let labels = std::sync::Mutex::new(Vec::new());
    crate::for_each_batched(&indices, progress, |&i| {
        let (id, train, class, v) = video(seed, i, classes, spec.ntu_subjects.max(8));
        let split = if train { "kinetics_train" } else { "kinetics_val" };
        write_kinetics_skeleton(&dir.join(split).join(format!("{id}.json")), &v)?;
        let entry = KineticsLabelEntry {
            has_skeleton: !v.data.is_empty(),
            label: CLASSES[class].name.into(),
            label_index: class as i64,
        };
        labels.lock().expect("labels lock").push((train, id, entry));
        Ok(())
    })?;
    progress.finish("kinetics");
    let labels = labels.into_inner().expect("labels lock");
    let mut counts = serde_json::Map::new();
    for (split, want) in [("train", true), ("val", false)] {
        let entries: Vec<(String, KineticsLabelEntry)> =
            labels.iter().filter(|(t, _, _)| *t == want).map(|(_, id, e)| (id.clone(), e.clone())).collect();
        counts.insert(split.into(), entries.len().into());
        // The writer sorts by id, so the parallel order does not show.
        write_kinetics_labels(&dir.join(format!("kinetics_{split}_label.json")), &entries)?;
    }
    Ok(serde_json::json!({"videos": spec.kinetics_videos, "splits": counts, "dir": "kinetics"}))
}
