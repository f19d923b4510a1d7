//! 2D → 3D lifting samples for UPS's pose-estimation task, Human3.6M as
//! VideoPose3D prepares it: a window of 2D keypoints of one camera (the
//! `ingest.h36m` 2D table) and the 3D pose of its centre frame (the 3D
//! table) in that camera's frame, relative to the pelvis.
//!
//! - 2D keypoints are normalised as VideoPose3D does: `x/w·2 − 1`,
//!   `y/w·2 − h/w` (w, h: the camera's resolution).
//! - 3D targets: the 32 mocap joints reduced to the 17 of the 2D files,
//!   moved into the camera frame with the camera's extrinsics
//!   (`X_cam = R(q)ᵀ (X − t)`, VideoPose3D's `world_to_camera`), then made
//!   relative to joint 0 (the evaluation sets the root to 0).
//! - 2D sequences longer than the mocap are trimmed to it (VideoPose3D's
//!   `run.py` does the same).
//! - Windows centre on every `stride`-th frame; frames before the start or
//!   after the end repeat the edge frame (VideoPose3D's edge padding).
//!
//! Camera parameters come from a JSON file (the dataset release has them in
//! code, not in the `.npz`): `{subject: {camera id: {"orientation": [w, x,
//! y, z], "translation": [x, y, z] (metres), "res_w": …, "res_h": …}}}`.
//! `synth` writes one for its cameras; for the real data, dump
//! VideoPose3D's `h36m_cameras_extrinsic_params` (translations divided by
//! 1000) and the intrinsics' resolutions in that shape
//! (docs/formats.md, "Human3.6M camera file").

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use actionbench_loader::{HostTensor, LoaderError, Sample, SampleRng, SampleSource, Table};
use arrow::datatypes::Float32Type;
use serde::Deserialize;

use crate::error::{Result, TrainError};

/// The 32 mocap joints kept in the 17-joint layout of the 2D files.
pub const H36M17_FROM_32: [usize; 17] = [0, 1, 2, 3, 6, 7, 8, 12, 13, 14, 15, 17, 18, 19, 25, 26, 27];

/// One camera of the camera file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct H36mCamera {
    /// Camera → world rotation as a quaternion (w, x, y, z).
    pub orientation: [f64; 4],
    /// Camera centre in the world, metres.
    pub translation: [f64; 3],
    /// Image width, pixels.
    pub res_w: f64,
    /// Image height, pixels.
    pub res_h: f64,
}

impl H36mCamera {
    /// A world point in this camera's frame.
    pub fn world_to_camera(&self, p: [f64; 3]) -> [f64; 3] {
        let [w, x, y, z] = self.orientation;
        let n = (w * w + x * x + y * y + z * z).sqrt();
        let (w, x, y, z) = (w / n, x / n, y / n, z / n);
        let m = [
            [1.0 - 2.0 * (y * y + z * z), 2.0 * (x * y - w * z), 2.0 * (x * z + w * y)],
            [2.0 * (x * y + w * z), 1.0 - 2.0 * (x * x + z * z), 2.0 * (y * z - w * x)],
            [2.0 * (x * z - w * y), 2.0 * (y * z + w * x), 1.0 - 2.0 * (x * x + y * y)],
        ];
        let d = [p[0] - self.translation[0], p[1] - self.translation[1], p[2] - self.translation[2]];
        // Rᵀ d.
        [0, 1, 2].map(|c| m[0][c] * d[0] + m[1][c] * d[1] + m[2][c] * d[2])
    }
}

/// Subject → camera id → camera.
pub type H36mCameras = BTreeMap<String, BTreeMap<String, H36mCamera>>;

/// Reads a camera file.
pub fn read_cameras(path: &Path) -> Result<H36mCameras> {
    let text = std::fs::read_to_string(path).map_err(|e| TrainError::io(path, e))?;
    let cameras: H36mCameras = serde_json::from_str(&text).map_err(|e| {
        TrainError::config(
            format!("`{}` line {} column {}: {e}", path.display(), e.line(), e.column()),
            "a camera file maps subject → camera id → {\"orientation\": [w, x, y, z], \"translation\": [x, y, z], \"res_w\": …, \"res_h\": …} (docs/formats.md)",
        )
    })?;
    if let Some((s, c)) =
        cameras.iter().flat_map(|(s, m)| m.iter().map(move |(c, v)| (s, c, v))).find_map(|(s, c, v)| {
            let bad = !(v.res_w > 0.0 && v.res_h > 0.0) || v.orientation.iter().all(|q| *q == 0.0);
            bad.then_some((s, c))
        })
    {
        return Err(TrainError::config(
            format!("`{}`: camera {c} of {s} has a zero quaternion or a non-positive resolution", path.display()),
            "fix that camera's entry",
        ));
    }
    Ok(cameras)
}

/// One 2D sequence with its 3D targets, in memory.
struct Sequence {
    id: String,
    action: String,
    /// `[T, 17, 2]`, normalised.
    keypoints: Vec<f32>,
    /// `[T, 17, 3]`, camera frame, root-relative, metres.
    targets: Vec<f32>,
    frames: usize,
}

/// Lifting windows of a 2D table paired with its 3D table.
pub struct LiftSource {
    sequences: Vec<Sequence>,
    /// `(sequence, centre frame)` of every sample.
    windows: Vec<(usize, usize)>,
    frames: usize,
}

fn tensor_row(table: &Table, column: &str, row: usize) -> Result<(Vec<usize>, Vec<f32>)> {
    let (batch, r) = table.locate(row).ok_or_else(|| TrainError::Arrow(format!("row {row} out of range")))?;
    let col = batch.column_by_name(column).ok_or_else(|| {
        TrainError::config(
            format!("{} has no column `{column}`", table.origin()),
            "lifting reads `ingest.h36m`'s tables: the 2D one (`keypoints`) and the 3D one (`positions`)",
        )
    })?;
    let (shape, values) = actionbench_shards::tensor::variable_shape_tensor_row::<Float32Type>(col.as_ref(), r)
        .ok_or_else(|| TrainError::Arrow(format!("`{column}` of row {row} is not a tensor cell")))?;
    Ok((shape, values))
}

impl LiftSource {
    /// Pairs every row of `keypoints` (the 2D table) with its sequence in
    /// `positions` (the 3D table) and its camera; windows of `frames`
    /// frames centre on every `stride`-th frame.
    pub fn new(
        keypoints: &Table,
        positions: &Table,
        cameras: &H36mCameras,
        frames: usize,
        stride: usize,
    ) -> Result<Self> {
        if frames == 0 || stride == 0 {
            return Err(TrainError::config("lifting windows need frames and stride of at least 1", "set `stride = 1`"));
        }
        for c in ["sample_id", "subject", "action", "camera", "keypoints"] {
            keypoints.require(c)?;
        }
        positions.require("sample_id")?;
        positions.require("positions")?;
        let by_id: HashMap<String, usize> =
            (0..positions.len()).map(|r| Ok((positions.string("sample_id", r)?, r))).collect::<Result<_>>()?;
        let mut sequences = Vec::with_capacity(keypoints.len());
        for row in 0..keypoints.len() {
            let id = keypoints.string("sample_id", row)?;
            let subject = keypoints.string("subject", row)?;
            let action = keypoints.string("action", row)?;
            let camera_id = keypoints.string("camera", row)?;
            let key = format!("{subject}/{action}");
            let r3 = *by_id.get(&key).ok_or_else(|| {
                TrainError::config(
                    format!("2D sequence `{id}` has no 3D sequence `{key}` in {}", positions.origin()),
                    "list the `ingest.h36m` stage of the matching `data_3d_h36m.npz` as `targets`",
                )
            })?;
            let camera = cameras.get(&subject).and_then(|m| m.get(&camera_id)).ok_or_else(|| {
                TrainError::config(
                    format!("the camera file has no camera {camera_id} of {subject} (2D sequence `{id}`)"),
                    "add it to the camera file (docs/formats.md, \"Human3.6M camera file\")",
                )
            })?;
            let (s2, k2) = tensor_row(keypoints, "keypoints", row)?;
            let (s3, p3) = tensor_row(positions, "positions", r3)?;
            match (s2.as_slice(), s3.as_slice()) {
                ([_, 17, 2], [_, 32, 3]) => {}
                _ => {
                    return Err(TrainError::config(
                        format!("`{id}` has keypoints {s2:?} and positions {s3:?}; expected [T, 17, 2] and [T, 32, 3]"),
                        "lifting reads VideoPose3D's 17-joint 2D and 32-joint 3D files",
                    ));
                }
            }
            let t = s2[0].min(s3[0]);
            if t == 0 {
                continue;
            }
            let (w, h) = (camera.res_w, camera.res_h);
            let keypoints: Vec<f32> = k2[..t * 34]
                .chunks(2)
                .flat_map(|p| [(f64::from(p[0]) / w * 2.0 - 1.0) as f32, (f64::from(p[1]) / w * 2.0 - h / w) as f32])
                .collect();
            let mut targets = Vec::with_capacity(t * 51);
            for f in 0..t {
                let joint = |j: usize| {
                    let o = (f * 32 + H36M17_FROM_32[j]) * 3;
                    camera.world_to_camera([f64::from(p3[o]), f64::from(p3[o + 1]), f64::from(p3[o + 2])])
                };
                let root = joint(0);
                for j in 0..17 {
                    let p = joint(j);
                    targets.extend((0..3).map(|a| (p[a] - root[a]) as f32));
                }
            }
            sequences.push(Sequence { id, action, keypoints, targets, frames: t });
        }
        let windows = sequences
            .iter()
            .enumerate()
            .flat_map(|(s, seq)| (0..seq.frames).step_by(stride).map(move |c| (s, c)))
            .collect();
        Ok(Self { sequences, windows, frames })
    }

    /// The action name (`Walking 1`) of sample `index`.
    pub fn action(&self, index: usize) -> &str {
        &self.sequences[self.windows[index].0].action
    }

    /// The target `[17, 3]` (metres) of sample `index`.
    pub fn target(&self, index: usize) -> &[f32] {
        let (s, c) = self.windows[index];
        &self.sequences[s].targets[c * 51..(c + 1) * 51]
    }
}

impl SampleSource for LiftSource {
    fn len(&self) -> usize {
        self.windows.len()
    }

    fn sample(&self, index: usize, _rng: &mut SampleRng) -> Result<Sample, LoaderError> {
        let (s, c) = *self.windows.get(index).ok_or_else(|| LoaderError::BadSample {
            sample: String::new(),
            row: index,
            message: "lifting window out of range".into(),
        })?;
        let seq = &self.sequences[s];
        let t = self.frames;
        // [2, T, 17, 1]: channel-major, as the skeleton samples.
        let mut joints = vec![0f32; 2 * t * 17];
        for k in 0..t {
            let f = (c + k).saturating_sub(t / 2).min(seq.frames - 1);
            for j in 0..17 {
                for a in 0..2 {
                    joints[(a * t + k) * 17 + j] = seq.keypoints[(f * 17 + j) * 2 + a];
                }
            }
        }
        let mut tensors = BTreeMap::new();
        tensors.insert("joints".to_string(), HostTensor { shape: vec![2, t, 17, 1], data: joints });
        tensors.insert("target3d".to_string(), HostTensor { shape: vec![17, 3], data: self.target(index).to_vec() });
        Ok(Sample {
            id: format!("{}#{c:05}", seq.id),
            tensors,
            label: -1,
            multi_label: None,
            label_masks: BTreeMap::from([("pose".to_string(), true)]),
        })
    }
}
