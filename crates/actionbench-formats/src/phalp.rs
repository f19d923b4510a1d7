//! PHALP tracking results (docs/formats.md §5.1), both generations: the
//! current GitHub tracker (`phalp/trackers/PHALP.py`, zlib joblib) and the
//! CVPR'22 code published as PyPI phalp 0.1.3 (plain joblib, torch
//! `embedding` tensors).
//!
//! A file is `dict[frame_key -> frame_dict]` whose per-person values are
//! parallel lists indexed like `tid`. Tracks are cut the way LART's
//! `get_tracks` cuts them: the track ids are those ever in `tracked_ids`; a
//! track is *detected* in a frame when its first entry in `tid` has
//! `tracked_time == 0`, and it spans its first to its last detection
//! (frames in between are gaps, `has_detection = false`).
//!
//! The 229-d LART pose vector is `global_orient` (9) ‖ `body_pose` (207) ‖
//! `betas` (10) ‖ `camera` (3, tz divided by 200), rotation matrices
//! flattened row-major.
//!
//! torch tensors (0.1.3's `embedding`) are never decoded: the file is read
//! strictly, and only when the one global that fails is a `torch.` one is
//! it read again leniently, accepting opaque values under `embedding` only.

use std::collections::BTreeMap;
use std::path::Path;

use crate::error::{Error, Result, read_bytes};
use crate::joblib::parse_joblib;
use crate::pickle::PickleOptions;
use crate::value::PyValue;

/// Length of LART's pose vector.
pub const POSE_DIM: usize = 229;

/// Which PHALP wrote the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhalpGeneration {
    /// Current GitHub PHALP (4DHumans era): `frame_path`, `camera_bbox`, `class_name`…
    Current,
    /// CVPR'22 code / PyPI phalp 0.1.3: `mask_name`, `embedding`, no `frame_path`.
    Cvpr22,
}

impl PhalpGeneration {
    /// `current` or `cvpr22`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Current => "current",
            Self::Cvpr22 => "cvpr22",
        }
    }
}

/// One frame of the file.
#[derive(Debug, Clone, PartialEq)]
pub struct PhalpFrame {
    /// The frame key (`…/img/000001.jpg`).
    pub key: String,
    /// PHALP's 0-based frame counter (`time`).
    pub time: i64,
    /// Shot boundary detected at this frame.
    pub shot: bool,
}

/// One track in one frame where it was detected.
#[derive(Debug, Clone, PartialEq)]
pub struct PhalpDetection {
    /// Index of the frame in [`PhalpFile::frames`].
    pub frame: usize,
    /// `[x, y, w, h]` pixels.
    pub bbox: [f32; 4],
    /// Detector score (0 when absent).
    pub conf: f32,
    /// LART 229-d pose vector (when `smpl` and `camera` are present).
    pub pose: Option<Vec<f32>>,
    /// `3d_joints` flattened (J × 3), when present.
    pub joints3d: Option<Vec<f32>>,
    /// `camera` (tx, ty, tz), when present.
    pub camera: Option<[f32; 3]>,
    /// `camera_bbox` (s, tx, ty), current generation only.
    pub camera_bbox: Option<[f32; 3]>,
    /// `appe` appearance embedding, when PHALP rendered.
    pub appearance: Option<Vec<f32>>,
    /// Image `[height, width]`, when present.
    pub size: Option<[i64; 2]>,
}

/// A track: its detections, first to last.
#[derive(Debug, Clone, PartialEq)]
pub struct PhalpTrack {
    /// PHALP's track id.
    pub track_id: i64,
    /// The detections, in frame order (at least one).
    pub detections: Vec<PhalpDetection>,
}

impl PhalpTrack {
    /// Index of the first frame (in [`PhalpFile::frames`]).
    pub fn first_frame(&self) -> usize {
        self.detections.first().map_or(0, |d| d.frame)
    }

    /// Index of the last frame.
    pub fn last_frame(&self) -> usize {
        self.detections.last().map_or(0, |d| d.frame)
    }

    /// Frames spanned, gaps included.
    pub fn len(&self) -> usize {
        self.last_frame() - self.first_frame() + 1
    }

    /// Never true for a track read from a file.
    pub fn is_empty(&self) -> bool {
        self.detections.is_empty()
    }
}

/// A PHALP results file, cut into tracks.
#[derive(Debug, Clone, PartialEq)]
pub struct PhalpFile {
    /// Which PHALP wrote it.
    pub generation: PhalpGeneration,
    /// The frames, in file (time) order.
    pub frames: Vec<PhalpFrame>,
    /// The tracks, by ascending id.
    pub tracks: Vec<PhalpTrack>,
}

impl PhalpFile {
    /// The video id the frame keys name: the directory before `img/` in
    /// `<video_id>/img/000001.jpg`, else the directory holding the frame.
    pub fn video_id_from_keys(&self) -> Option<String> {
        let key = &self.frames.first()?.key;
        let parts: Vec<&str> = key.split('/').filter(|p| !p.is_empty()).collect();
        let n = parts.len();
        if n >= 3 && parts[n - 2] == "img" {
            Some(parts[n - 3].to_string())
        } else if n >= 2 {
            Some(parts[n - 2].to_string())
        } else {
            None
        }
    }
}

/// LART's pose vector from SMPL parameters and the camera translation.
pub fn pose229(global_orient: &[f32], body_pose: &[f32], betas: &[f32], camera: &[f32; 3]) -> Vec<f32> {
    let mut v = Vec::with_capacity(POSE_DIM);
    v.extend_from_slice(global_orient);
    v.extend_from_slice(body_pose);
    v.extend_from_slice(betas);
    v.extend_from_slice(&[camera[0], camera[1], camera[2] / 200.0]);
    v
}

/// Reads a PHALP file (plain or compressed joblib).
pub fn read_phalp(path: &Path) -> Result<PhalpFile> {
    parse_phalp(&read_bytes(path)?, path)
}

/// Decodes PHALP bytes; `path` is used in errors.
pub fn parse_phalp(bytes: &[u8], path: &Path) -> Result<PhalpFile> {
    let value = match parse_joblib(bytes, path, PickleOptions::default()) {
        Ok(v) => v,
        Err(e) if e.to_string().contains("`torch.") => {
            let v = parse_joblib(bytes, path, PickleOptions::lenient())?;
            check_opaque(&v, path, &e)?;
            v
        }
        Err(e) => return Err(e),
    };
    phalp_from_value(&value, path)
}

/// Opaque values are accepted only as 0.1.3's `embedding`.
fn check_opaque(value: &PyValue, path: &Path, strict_error: &Error) -> Result<()> {
    fn find(v: &PyValue) -> Option<&str> {
        match v {
            PyValue::Opaque(o) => Some(&o.callable),
            PyValue::List(items) | PyValue::Tuple(items) | PyValue::Set(items) => items.iter().find_map(find),
            PyValue::Dict(entries) => entries.iter().find_map(|(k, v)| find(k).or_else(|| find(v))),
            _ => None,
        }
    }
    let Some(frames) = value.as_dict() else { return Ok(()) };
    for (key, frame) in frames {
        let Some(fields) = frame.as_dict() else { continue };
        for (name, v) in fields {
            if name.as_str() == Some("embedding") {
                continue;
            }
            if let Some(callable) = find(v) {
                return Err(Error::file(
                    path,
                    format!(
                        "frame {}: field {} refers to `{callable}`, which is not on the allow-list of data constructors ({strict_error})",
                        key.repr(),
                        name.repr()
                    ),
                ));
            }
        }
    }
    Ok(())
}

struct FrameCtx<'a> {
    path: &'a Path,
    key: &'a str,
    dict: &'a PyValue,
}

impl FrameCtx<'_> {
    fn err(&self, message: impl std::fmt::Display) -> Error {
        Error::file(self.path, format!("frame `{}`: {message}", self.key))
    }

    fn list(&self, field: &str) -> Result<Option<&[PyValue]>> {
        match self.dict.get(field) {
            None => Ok(None),
            Some(v) => v
                .as_seq()
                .map(Some)
                .ok_or_else(|| self.err(format!("`{field}` should be a list, found a {}", v.type_name()))),
        }
    }

    fn floats(&self, field: &str, i: usize, v: &PyValue) -> Result<Vec<f32>> {
        let out = match v {
            PyValue::Array(a) | PyValue::Scalar(a) => a.to_f32(),
            PyValue::List(items) | PyValue::Tuple(items) => {
                items.iter().map(|x| x.as_f64().map(|f| f as f32)).collect::<Option<Vec<f32>>>()
            }
            other => other.as_f64().map(|f| vec![f as f32]),
        };
        out.ok_or_else(|| self.err(format!("`{field}[{i}]` should be numbers, found a {}", v.type_name())))
    }

    fn fixed<const N: usize>(&self, field: &str, i: usize, v: &PyValue) -> Result<[f32; N]> {
        let f = self.floats(field, i, v)?;
        f.as_slice()
            .try_into()
            .map_err(|_| self.err(format!("`{field}[{i}]` should hold {N} numbers, found {}", f.len())))
    }
}

/// Interprets a decoded PHALP pickle.
pub fn phalp_from_value(value: &PyValue, path: &Path) -> Result<PhalpFile> {
    let entries = value.as_dict().ok_or_else(|| {
        Error::file(path, format!("expected a dict of frame -> frame data, found a {}", value.type_name()))
            .with_hint("Is this a PHALP results file (`<output_dir>/results/<dataset>_<video>.pkl`)?")
    })?;
    let mut generation = None;
    let mut frames = Vec::with_capacity(entries.len());
    let mut tracks: BTreeMap<i64, Vec<PhalpDetection>> = BTreeMap::new();
    let mut tracked: std::collections::BTreeSet<i64> = std::collections::BTreeSet::new();
    for (fi, (k, dict)) in entries.iter().enumerate() {
        let key = k.key_text();
        let f = FrameCtx { path, key: &key, dict };
        if dict.as_dict().is_none() {
            return Err(f.err(format!("expected a dict of fields, found a {}", dict.type_name())));
        }
        if generation.is_none() {
            generation = Some(if dict.get("frame_path").is_some() || dict.get("camera_bbox").is_some() {
                PhalpGeneration::Current
            } else if dict.get("tid").is_some() {
                PhalpGeneration::Cvpr22
            } else {
                return Err(f.err("no `tid` field: this is not a PHALP results file").with_hint(
                    "PHALP's GT-box input (`gt_bbox`/`extra_data`, e.g. assets/videos/gt_tracks.pkl) holds no tracks",
                ));
            });
        }
        let time = match dict.get("time") {
            Some(t) => t.as_i64().ok_or_else(|| f.err(format!("`time` should be an int, found {}", t.repr())))?,
            None => fi as i64,
        };
        let shot = dict.get("shot").and_then(PyValue::as_i64).unwrap_or(0) != 0;
        frames.push(PhalpFrame { key: key.clone(), time, shot });
        let tid = f.list("tid")?.ok_or_else(|| f.err("missing `tid`"))?;
        if let Some(ids) = f.list("tracked_ids")? {
            for id in ids {
                tracked
                    .insert(id.as_i64().ok_or_else(|| f.err(format!("bad track id {} in `tracked_ids`", id.repr())))?);
            }
        }
        let n = tid.len();
        let field = |name: &str| -> Result<Option<&[PyValue]>> {
            match f.list(name)? {
                Some(l) if l.len() != n => Err(f.err(format!("`{name}` has {} entries but `tid` has {n}", l.len()))),
                other => Ok(other),
            }
        };
        let tracked_time = field("tracked_time")?;
        let (bbox, conf, smpl, camera, camera_bbox, joints, appe, size) = (
            field("bbox")?.ok_or_else(|| f.err("missing `bbox`"))?,
            field("conf")?,
            field("smpl")?,
            field("camera")?,
            field("camera_bbox")?,
            field("3d_joints")?,
            field("appe")?,
            field("size")?,
        );
        let mut seen = std::collections::HashSet::new();
        for (i, id) in tid.iter().enumerate() {
            let id = id.as_i64().ok_or_else(|| f.err(format!("bad track id {} in `tid`", id.repr())))?;
            // LART's get_tracks looks at the first entry of an id only.
            if !seen.insert(id) {
                continue;
            }
            let age = match tracked_time {
                Some(t) => t[i].as_i64().ok_or_else(|| f.err(format!("bad `tracked_time[{i}]` {}", t[i].repr())))?,
                None => 0,
            };
            if age != 0 {
                continue;
            }
            let camera = camera.map(|c| f.fixed::<3>("camera", i, &c[i])).transpose()?;
            let pose = match (smpl, camera) {
                (Some(s), Some(cam)) => {
                    let s = &s[i];
                    let part = |name: &str, len: usize| -> Result<Vec<f32>> {
                        let v = s.get(name).ok_or_else(|| f.err(format!("`smpl[{i}]` has no `{name}`")))?;
                        let x = f.floats(&format!("smpl[{i}].{name}"), i, v)?;
                        if x.len() != len {
                            return Err(f.err(format!("`smpl[{i}].{name}` holds {} numbers, expected {len}", x.len())));
                        }
                        Ok(x)
                    };
                    Some(pose229(&part("global_orient", 9)?, &part("body_pose", 207)?, &part("betas", 10)?, &cam))
                }
                _ => None,
            };
            let joints3d = joints
                .map(|j| {
                    let x = f.floats("3d_joints", i, &j[i])?;
                    if x.len() % 3 != 0 {
                        return Err(f.err(format!("`3d_joints[{i}]` holds {} numbers, not J × 3", x.len())));
                    }
                    Ok(x)
                })
                .transpose()?;
            let size = match size {
                Some(s) => {
                    let v = f.floats("size", i, &s[i])?;
                    match v.as_slice() {
                        [h, w] => Some([*h as i64, *w as i64]),
                        _ => return Err(f.err(format!("`size[{i}]` should be [height, width]"))),
                    }
                }
                None => None,
            };
            tracks.entry(id).or_default().push(PhalpDetection {
                frame: fi,
                bbox: f.fixed::<4>("bbox", i, &bbox[i])?,
                conf: match conf {
                    Some(c) => f.floats("conf", i, &c[i])?.first().copied().unwrap_or(0.0),
                    None => 0.0,
                },
                pose,
                joints3d,
                camera,
                camera_bbox: camera_bbox.map(|c| f.fixed::<3>("camera_bbox", i, &c[i])).transpose()?,
                appearance: appe.map(|a| f.floats("appe", i, &a[i])).transpose()?,
                size,
            });
        }
    }
    let tracks = tracks
        .into_iter()
        .filter(|(id, _)| tracked.is_empty() || tracked.contains(id))
        .map(|(track_id, detections)| PhalpTrack { track_id, detections })
        .collect();
    Ok(PhalpFile { generation: generation.unwrap_or(PhalpGeneration::Current), frames, tracks })
}
