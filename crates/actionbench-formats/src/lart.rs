//! LART's per-tracklet training files (docs/formats.md §5.2), so tracks
//! ingested here can be fed to LART's own data loader
//! (`lart/datamodules/components/phalp_action_datatset.py`).
//!
//! One joblib file per track, named
//! `<DATASET>_<VIDEO_ID>_<KEY_FRAME>_<TRACK_ID>_<TRACK_LENGTH>.pkl` (LART
//! splits the name on `_` from the right, so video ids containing `_` are
//! fine); `KEY_FRAME` is written as the track's first frame, zero-padded to
//! 6 digits. Keys and shapes (T = track length, gaps included) follow
//! PHALP's `create_fast_tracklets` plus LART's label fields; arrays are
//! float64 as numpy's `np.zeros` makes them there, except
//! `apperance_index` (int64, −1 = none). Spellings (`psudo`, `apperance`)
//! are LART's.

use crate::value::{ArrayData, Dtype, NdArray, PyValue};

/// Number of AVA action classes in LART's label vectors.
pub const AVA_CLASSES: usize = 80;

/// One frame of a tracklet.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LartFrame {
    /// Frame index in the video (PHALP `time`).
    pub fid: i64,
    /// Frame key (`<video>/img/000001.jpg`).
    pub frame_name: String,
    /// Whether the track was detected here.
    pub has_detection: bool,
    /// 229-d pose vector (zeros when not detected).
    pub pose: Vec<f32>,
    /// 45 × 3 joints (zeros when not detected).
    pub joints3d: Vec<f32>,
    /// Camera translation.
    pub camera: [f32; 3],
    /// Weak-perspective crop camera.
    pub camera_bbox: [f32; 3],
    /// `[x, y, w, h]` pixels.
    pub bbox: [f32; 4],
    /// `[height, width]`.
    pub size: [i64; 2],
    /// Detector score.
    pub conf: f32,
    /// 2 = ground truth, 1 = pseudo label, 0 = none.
    pub has_gt: u8,
    /// Multi-hot AVA labels (80) when `has_gt == 2`.
    pub labels_gt: Option<Vec<f32>>,
    /// Pseudo-label vector (80) when `has_gt == 1`.
    pub labels_pseudo: Option<Vec<f32>>,
    /// Appearance feature, when there is one.
    pub appearance: Option<Vec<f32>>,
}

/// A whole tracklet.
#[derive(Debug, Clone, PartialEq)]
pub struct LartTracklet {
    /// Dataset tag (`ava-train`, `ava-val`, `kinetics-train`…).
    pub dataset: String,
    /// Video id.
    pub video_id: String,
    /// Track id.
    pub track_id: i64,
    /// The frames, first to last detection.
    pub frames: Vec<LartFrame>,
}

impl LartTracklet {
    /// `<DATASET>_<VIDEO_ID>_<KEY_FRAME>_<TRACK_ID>_<TRACK_LENGTH>.pkl`.
    pub fn file_name(&self) -> String {
        let key_frame = self.frames.first().map_or(0, |f| f.fid);
        format!("{}_{}_{:06}_{}_{}.pkl", self.dataset, self.video_id, key_frame, self.track_id, self.frames.len())
    }

    /// The dict LART's loader reads.
    pub fn to_value(&self) -> PyValue {
        let t = self.frames.len();
        let col = |width: usize, f: &dyn Fn(&LartFrame, &mut Vec<f64>)| {
            let mut v = Vec::with_capacity(t * width);
            for fr in &self.frames {
                let before = v.len();
                f(fr, &mut v);
                v.resize(before + width, 0.0);
            }
            v
        };
        let f64s = |shape: Vec<usize>, v: Vec<f64>| {
            PyValue::Array(NdArray {
                dtype: Dtype::from_code("<f8").expect("valid code"),
                shape,
                data: ArrayData::Raw(v.into_iter().flat_map(f64::to_le_bytes).collect()),
            })
        };
        let ext = |v: &mut Vec<f64>, x: &[f32]| v.extend(x.iter().map(|&e| e as f64));
        let mut pseudo = Vec::new();
        let mut appearance = Vec::new();
        let mut appe_index = Vec::with_capacity(t);
        for (i, fr) in self.frames.iter().enumerate() {
            let has_appe = fr.appearance.is_some() || fr.labels_pseudo.is_some();
            appe_index.push(if has_appe { i as i64 } else { -1 });
            if let Some(p) = &fr.labels_pseudo {
                let v: Vec<f64> = p.iter().map(|&e| e as f64).collect();
                pseudo.push((PyValue::Int(i as i64), f64s(vec![1, v.len()], v)));
            }
            if let Some(a) = &fr.appearance {
                let v: Vec<f64> = a.iter().map(|&e| e as f64).collect();
                appearance.push((PyValue::Int(i as i64), f64s(vec![1, v.len()], v)));
            }
        }
        let s = |k: &str| PyValue::Str(k.to_string());
        PyValue::Dict(vec![
            (s("fid"), f64s(vec![t, 1, 1], col(1, &|f, v| v.push(f.fid as f64)))),
            (s("pose_shape"), f64s(vec![t, 1, 229], col(229, &|f, v| ext(v, &f.pose)))),
            (s("3d_joints"), f64s(vec![t, 1, 45, 3], col(135, &|f, v| ext(v, &f.joints3d)))),
            (s("camera"), f64s(vec![t, 1, 3], col(3, &|f, v| ext(v, &f.camera)))),
            (s("camera_bbox"), f64s(vec![t, 1, 3], col(3, &|f, v| ext(v, &f.camera_bbox)))),
            (
                s("action_label_gt"),
                f64s(vec![t, 1, AVA_CLASSES], col(AVA_CLASSES, &|f, v| ext(v, f.labels_gt.as_deref().unwrap_or(&[])))),
            ),
            (s("action_label_psudo"), PyValue::Dict(pseudo)),
            (s("has_gt"), f64s(vec![t, 1, 1], col(1, &|f, v| v.push(f.has_gt as f64)))),
            (s("has_detection"), f64s(vec![t, 1, 1], col(1, &|f, v| v.push(f.has_detection as u8 as f64)))),
            (
                s("apperance_index"),
                PyValue::Array(NdArray {
                    dtype: Dtype::from_code("<i8").expect("valid code"),
                    shape: vec![t, 1, 1],
                    data: ArrayData::Raw(appe_index.into_iter().flat_map(i64::to_le_bytes).collect()),
                }),
            ),
            (s("apperance_dict"), PyValue::Dict(appearance)),
            (s("frame_name"), PyValue::List(self.frames.iter().map(|f| s(&f.frame_name)).collect())),
            (s("frame_size"), f64s(vec![t, 1, 2], col(2, &|f, v| v.extend(f.size.iter().map(|&e| e as f64))))),
            (s("frame_bbox"), f64s(vec![t, 1, 4], col(4, &|f, v| ext(v, &f.bbox)))),
            (s("frame_conf"), f64s(vec![t, 1, 1], col(1, &|f, v| v.push(f.conf as f64)))),
        ])
    }
}
