//! Human3.6M as VideoPose3D prepares it: `data_3d_h36m.npz` (world poses,
//! 32 joints, metres, z up), `data_2d_h36m_gt.npz` (17-joint pixels for
//! the four cameras) and `data_2d_h36m_cpn_ft_h36m_dbb.npz` (the same
//! pixels made noisy like CPN's detections), all with object arrays holding
//! pickled dicts, plus `cameras.json`: each camera's orientation quaternion
//! and translation (world → camera as VideoPose3D's `world_to_camera`) and
//! resolution, which the 2D→3D lifting of UPS needs.

use std::path::Path;

use actionbench_formats::h36m::H36M_CAMERAS;
use actionbench_formats::npz_write::{object_scalar_array, write_npz};
use actionbench_formats::value::{ArrayData, Dtype, NdArray, PyValue};
use rand::Rng;

use crate::camera::{Camera, cv_pixel};
use crate::layouts::{H36M17_FROM_32, H36M32_FROM_KINECT};
use crate::motion::CLASSES;
use crate::perform::{perform, subject};
use crate::rng::rng_for;
use crate::{PresetSpec, Progress, SynthError};

/// Subjects of the release.
pub const SUBJECTS: [&str; 7] = ["S1", "S5", "S6", "S7", "S8", "S9", "S11"];

/// The 15 actions and the class whose motion stands in for each.
pub const ACTIONS: [(&str, usize); 15] = [
    ("Directions", 13),
    ("Discussion", 1),
    ("Eating", 0),
    ("Greeting", 2),
    ("Phoning", 0),
    ("Photo", 12),
    ("Posing", 12),
    ("Purchases", 13),
    ("Sitting", 5),
    ("SittingDown", 5),
    ("Smoking", 0),
    ("Waiting", 11),
    ("WalkDog", 9),
    ("Walking", 9),
    ("WalkTogether", 19),
];

/// Image sizes of the four cameras, in [`H36M_CAMERAS`] order.
const SIZES: [(f64, f64); 4] = [(1000.0, 1002.0), (1000.0, 1000.0), (1000.0, 1000.0), (1000.0, 1002.0)];

fn f32_array(shape: Vec<usize>, values: impl IntoIterator<Item = f64>) -> PyValue {
    PyValue::Array(NdArray {
        dtype: Dtype::from_code("<f4").expect("valid dtype"),
        shape,
        data: ArrayData::Raw(values.into_iter().flat_map(|v| (v as f32).to_le_bytes()).collect()),
    })
}

/// One sequence: `(T, 32, 3)` world positions and four `(T, 17, 2)` pixel arrays.
/// Pixel error of the CPN-like detections: every joint gets Gaussian noise
/// of this standard deviation (CPN's mean 2D error on Human3.6M is a few
/// pixels)…
const CPN_SIGMA_PX: f64 = 4.0;
/// …and this fraction of joints a gross error of `CPN_OUTLIER_PX`.
const CPN_OUTLIER_RATE: f64 = 0.03;
const CPN_OUTLIER_PX: f64 = 20.0;

/// Camera `c` of the four around the performer (y-up world).
fn camera(c: usize) -> Camera {
    let angle = std::f64::consts::FRAC_PI_4 + c as f64 * std::f64::consts::FRAC_PI_2;
    Camera::look_at([5.8 * angle.sin(), 1.6, 5.8 * angle.cos()], [0.0, 0.9, 0.0])
}

/// VideoPose3D's extrinsics of camera `c` in the z-up world of the 3D file:
/// `(orientation (w, x, y, z), translation)` with `X_cam = R(q)ᵀ (X − t)`,
/// `X_cam` in the OpenCV frame the pixels were projected from.
fn extrinsics(c: usize) -> ([f64; 4], [f64; 3]) {
    let cam = camera(c);
    // z-up point P is the y-up point S·P, S = [[1,0,0],[0,0,1],[0,-1,0]];
    // the OpenCV frame flips the Kinect frame's x and y.
    let s: crate::math::M3 = [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]];
    let d: crate::math::M3 = [[-1.0, 0.0, 0.0], [0.0, -1.0, 0.0], [0.0, 0.0, 1.0]];
    let world_to_cam = crate::math::mul(&crate::math::mul(&d, &cam.rot), &s);
    let cam_to_world = crate::math::transpose(&world_to_cam);
    let t = [cam.pos[0], -cam.pos[2], cam.pos[1]];
    (crate::math::quat(&cam_to_world), t)
}

fn sequence(seed: u64, s: usize, a: usize, trial: usize, frame_scale: f64) -> (PyValue, PyValue, PyValue) {
    let mut rng = rng_for(seed, "h36m", &[s as u64, a as u64, trial as u64]);
    let actor = subject(seed, 200 + s as u16);
    let partner = subject(seed, 210 + s as u16);
    let class = ACTIONS[a].1;
    // 50 Hz: motions are slower per frame than at 30 fps.
    let frames =
        ((CLASSES[class].base_frames * 50.0 / 30.0 * frame_scale * rng.random_range(0.8..1.2)) as usize).max(8);
    let yaw = rng.random_range(-std::f64::consts::PI..std::f64::consts::PI);
    let perf = perform(class, &actor, Some(&partner), frames, [0.0; 3], yaw, &mut rng);
    let track = &perf.tracks[0];
    // World y-up → Human3.6M z-up (a rotation about x by +90°).
    let world: Vec<[f64; 3]> = track
        .joints
        .iter()
        .flat_map(|pose| H36M32_FROM_KINECT.iter().map(move |&k| [pose[k][0], -pose[k][2], pose[k][1]]))
        .collect();
    let positions = f32_array(vec![frames, 32, 3], world.iter().flatten().copied());
    let mut cams = Vec::new();
    let mut detected = Vec::new();
    let mut noise = rng_for(seed, "h36m-cpn", &[s as u64, a as u64, trial as u64]);
    for (c, (w, h)) in SIZES.iter().enumerate() {
        let cam = camera(c);
        let k = [1145.0, 1144.0, w / 2.0, h / 2.0];
        let mut px = Vec::with_capacity(frames * 34);
        for pose in &track.joints {
            for &m in &H36M17_FROM_32 {
                let p = cv_pixel(Camera::to_cv(cam.to_cam(pose[H36M32_FROM_KINECT[m]])), k);
                px.extend([p[0], p[1]]);
            }
        }
        let noisy: Vec<f64> = px
            .chunks(2)
            .flat_map(|p| {
                let sigma = if noise.random_bool(CPN_OUTLIER_RATE) { CPN_OUTLIER_PX } else { CPN_SIGMA_PX };
                let mut g = || gaussian(&mut noise) * sigma;
                [p[0] + g(), p[1] + g()]
            })
            .collect();
        cams.push(f32_array(vec![frames, 17, 2], px));
        detected.push(f32_array(vec![frames, 17, 2], noisy));
    }
    (positions, PyValue::List(cams), PyValue::List(detected))
}

/// A standard normal draw (Box–Muller).
fn gaussian(rng: &mut impl Rng) -> f64 {
    let u: f64 = rng.random_range(1e-12..1.0);
    let v: f64 = rng.random();
    (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
}

fn key(s: &str) -> PyValue {
    PyValue::Str(s.to_string())
}

/// Writes both files.
pub(crate) fn write_all(
    seed: u64,
    spec: &PresetSpec,
    dir: &Path,
    progress: &dyn Progress,
) -> Result<serde_json::Value, SynthError> {
    crate::create_dir(dir)?;
    let mut jobs = Vec::new();
    for (s, subject) in SUBJECTS.iter().enumerate() {
        for (a, (action, _)) in ACTIONS.iter().enumerate() {
            for trial in 0..2 {
                // As in the release, S11 has no "Directions" (its video is
                // corrupt) but keeps "Directions 1".
                if *subject == "S11" && *action == "Directions" && trial == 0 {
                    continue;
                }
                jobs.push((s, a, trial));
            }
        }
    }
    progress.start("h36m", jobs.len() as u64);
    let results = std::sync::Mutex::new(Vec::new());
    crate::for_each_batched(&jobs, progress, |&(s, a, trial)| {
        let seq = sequence(seed, s, a, trial, spec.h36m_frame_scale);
        results.lock().expect("lock").push(((s, a, trial), seq));
        Ok(())
    })?;
    let mut results = results.into_inner().expect("lock");
    results.sort_by_key(|(k, _)| *k);
    let mut d3: Vec<(PyValue, PyValue)> = Vec::new();
    let mut d2: Vec<(PyValue, PyValue)> = Vec::new();
    let mut dc: Vec<(PyValue, PyValue)> = Vec::new();
    for (s, subject) in SUBJECTS.iter().enumerate() {
        let mut a3 = Vec::new();
        let mut a2 = Vec::new();
        let mut ac = Vec::new();
        for ((_, a, trial), (pos, px, cpn)) in results.iter().filter(|((rs, _, _), _)| *rs == s) {
            let name = if *trial == 0 { ACTIONS[*a].0.to_string() } else { format!("{} 1", ACTIONS[*a].0) };
            a3.push((key(&name), pos.clone()));
            a2.push((key(&name), px.clone()));
            ac.push((key(&name), cpn.clone()));
        }
        d3.push((key(subject), PyValue::Dict(a3)));
        d2.push((key(subject), PyValue::Dict(a2)));
        dc.push((key(subject), PyValue::Dict(ac)));
    }
    let side = |v: [i64; 6]| PyValue::List(v.into_iter().map(PyValue::Int).collect());
    let metadata = PyValue::Dict(vec![
        (key("num_joints"), PyValue::Int(17)),
        (key("keypoints_symmetry"), PyValue::List(vec![side([4, 5, 6, 11, 12, 13]), side([1, 2, 3, 14, 15, 16])])),
    ]);
    let p3 = object_scalar_array(PyValue::Dict(d3));
    write_npz(&dir.join("data_3d_h36m.npz"), &[("positions_3d", &p3)], true)?;
    let p2 = object_scalar_array(PyValue::Dict(d2));
    let meta = object_scalar_array(metadata.clone());
    write_npz(&dir.join("data_2d_h36m_gt.npz"), &[("positions_2d", &p2), ("metadata", &meta)], true)?;
    let pc = object_scalar_array(PyValue::Dict(dc));
    let cpn_meta = object_scalar_array(match metadata {
        PyValue::Dict(mut items) => {
            items.insert(0, (key("layout_name"), key("h36m")));
            PyValue::Dict(items)
        }
        other => other,
    });
    write_npz(&dir.join("data_2d_h36m_cpn_ft_h36m_dbb.npz"), &[("positions_2d", &pc), ("metadata", &cpn_meta)], true)?;
    let cameras: serde_json::Map<String, serde_json::Value> = SUBJECTS
        .iter()
        .map(|subject| {
            let per: serde_json::Map<String, serde_json::Value> = H36M_CAMERAS
                .iter()
                .enumerate()
                .map(|(c, id)| {
                    let (orientation, translation) = extrinsics(c);
                    let (w, h) = SIZES[c];
                    let v = serde_json::json!({ "orientation": orientation, "translation": translation, "res_w": w as u32, "res_h": h as u32 });
                    (id.to_string(), v)
                })
                .collect();
            (subject.to_string(), serde_json::Value::Object(per))
        })
        .collect();
    let text = serde_json::to_string_pretty(&serde_json::Value::Object(cameras))
        .map_err(|e| SynthError::invalid(e.to_string(), "report this as a bug"))?;
    crate::write_file(&dir.join("cameras.json"), format!("{text}\n"))?;
    progress.finish("h36m");
    Ok(serde_json::json!({
        "sequences": jobs.len(),
        "files": ["h36m/data_3d_h36m.npz", "h36m/data_2d_h36m_gt.npz", "h36m/data_2d_h36m_cpn_ft_h36m_dbb.npz", "h36m/cameras.json"],
        "cameras": H36M_CAMERAS,
    }))
}
