//! Human3.6M as prepared by VideoPose3D (docs/formats.md §3).
//!
//! * `data_3d_h36m.npz`: member `positions_3d`, a 0-d object array holding
//!   `dict[subject -> dict[action -> float32 (T, 32, 3)]]` in metres.
//! * `data_2d_h36m_<source>.npz`: member `positions_2d`, `dict[subject ->
//!   dict[action -> list of 4 float32 (T_cam, 17, 2)]]` in pixels, one per
//!   camera in [`H36M_CAMERAS`] order, and member `metadata` (`layout_name`,
//!   `num_joints`, `keypoints_symmetry`; the `_gt` file has no
//!   `layout_name`).
//!
//! Both object arrays are pickles, decoded by the safe pickle reader.
//! Sequences keep the order of the file.

use std::path::Path;

use crate::error::{Error, Result, read_bytes};
use crate::npz::parse_npz;
use crate::pickle::PickleOptions;
use crate::value::{NdArray, PyValue};

/// Camera ids in the order of the per-camera lists of the 2D file.
pub const H36M_CAMERAS: [&str; 4] = ["54138969", "55011271", "58860488", "60457274"];

/// A float array `[frames, joints, coords]`.
#[derive(Debug, Clone, PartialEq)]
pub struct PoseArray {
    /// `[frames, joints, coords]`.
    pub shape: [usize; 3],
    /// Values in C order.
    pub data: Vec<f32>,
}

/// One 3D sequence.
#[derive(Debug, Clone, PartialEq)]
pub struct H36mSequence3d {
    /// `S1`, `S5`…
    pub subject: String,
    /// `Walking`, `Walking 1`…
    pub action: String,
    /// `[T, 32, 3]` world positions in metres.
    pub positions: PoseArray,
}

/// One 2D sequence (all cameras).
#[derive(Debug, Clone, PartialEq)]
pub struct H36mSequence2d {
    /// `S1`, `S5`…
    pub subject: String,
    /// `Walking`, `Walking 1`…
    pub action: String,
    /// One `[T_cam, 17, 2]` pixel array per camera, in [`H36M_CAMERAS`] order.
    pub cameras: Vec<PoseArray>,
}

/// The `metadata` member of a 2D file.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct H36mMetadata {
    /// `h36m` (absent in the `_gt` file).
    pub layout_name: Option<String>,
    /// Joints per pose (17).
    pub num_joints: Option<usize>,
    /// Left and right joint indices.
    pub keypoints_symmetry: Option<(Vec<usize>, Vec<usize>)>,
}

/// A 2D detections file.
#[derive(Debug, Clone, PartialEq)]
pub struct H36m2d {
    /// The sequences, in file order.
    pub sequences: Vec<H36mSequence2d>,
    /// The metadata.
    pub metadata: H36mMetadata,
}

fn member<'a>(members: &'a [(String, NdArray)], name: &str, path: &Path) -> Result<&'a PyValue> {
    let array = members.iter().find(|(k, _)| k == name).map(|(_, a)| a).ok_or_else(|| {
        let names: Vec<&str> = members.iter().map(|(k, _)| k.as_str()).collect();
        Error::file(path, format!("no member `{name}.npy` (members: {})", names.join(", ")))
    })?;
    match array.objects() {
        Some([value]) if array.shape.is_empty() => Ok(value),
        _ => Err(Error::file(
            path,
            format!(
                "member `{name}` must be a 0-d object array (a pickled dict), found {} {:?}",
                array.dtype.name(),
                array.shape
            ),
        )),
    }
}

fn pose_array(value: &PyValue, coords: usize, what: &str, path: &Path) -> Result<PoseArray> {
    let bad = |found: String| {
        Error::file(path, format!("{what}: expected a float array [frames, joints, {coords}], found {found}"))
    };
    let array = value.as_array().ok_or_else(|| bad(value.type_name().to_string()))?;
    let data = array.to_f32().filter(|_| array.dtype.kind == crate::value::DtypeKind::Float);
    match (array.shape.as_slice(), data) {
        (&[t, j, c], Some(data)) if c == coords => Ok(PoseArray { shape: [t, j, c], data }),
        _ => Err(bad(format!("{} {:?}", array.dtype.name(), array.shape))),
    }
}

fn dict_entries<'a>(value: &'a PyValue, what: &str, path: &Path) -> Result<Vec<(&'a str, &'a PyValue)>> {
    let entries = value
        .as_dict()
        .ok_or_else(|| Error::file(path, format!("{what}: expected a dict, found a {}", value.type_name())))?;
    entries
        .iter()
        .map(|(k, v)| match k.as_str() {
            Some(k) => Ok((k, v)),
            None => Err(Error::file(path, format!("{what}: keys must be strings, found a {}", k.type_name()))),
        })
        .collect()
}

/// Decodes a `data_3d_h36m.npz`.
pub fn parse_h36m_3d(bytes: &[u8], path: &Path) -> Result<Vec<H36mSequence3d>> {
    let members = parse_npz(bytes, path, PickleOptions::default())?;
    let root = member(&members, "positions_3d", path)?;
    let mut out = Vec::new();
    for (subject, actions) in dict_entries(root, "positions_3d", path)? {
        for (action, value) in dict_entries(actions, &format!("positions_3d[{subject:?}]"), path)? {
            let positions = pose_array(value, 3, &format!("positions_3d[{subject:?}][{action:?}]"), path)?;
            out.push(H36mSequence3d { subject: subject.to_string(), action: action.to_string(), positions });
        }
    }
    Ok(out)
}

/// Reads a `data_3d_h36m.npz`.
pub fn read_h36m_3d(path: &Path) -> Result<Vec<H36mSequence3d>> {
    parse_h36m_3d(&read_bytes(path)?, path)
}

/// Decodes a `data_2d_h36m_<source>.npz`.
pub fn parse_h36m_2d(bytes: &[u8], path: &Path) -> Result<H36m2d> {
    let members = parse_npz(bytes, path, PickleOptions::default())?;
    let root = member(&members, "positions_2d", path)?;
    let mut sequences = Vec::new();
    for (subject, actions) in dict_entries(root, "positions_2d", path)? {
        for (action, value) in dict_entries(actions, &format!("positions_2d[{subject:?}]"), path)? {
            let what = format!("positions_2d[{subject:?}][{action:?}]");
            let list = value.as_seq().ok_or_else(|| {
                Error::file(
                    path,
                    format!("{what}: expected a list of per-camera arrays, found a {}", value.type_name()),
                )
            })?;
            let cameras = list
                .iter()
                .enumerate()
                .map(|(i, v)| pose_array(v, 2, &format!("{what}[{i}]"), path))
                .collect::<Result<Vec<_>>>()?;
            sequences.push(H36mSequence2d { subject: subject.to_string(), action: action.to_string(), cameras });
        }
    }
    let mut metadata = H36mMetadata::default();
    if members.iter().any(|(k, _)| k == "metadata") {
        let meta = member(&members, "metadata", path)?;
        metadata.layout_name = meta.get("layout_name").and_then(PyValue::as_str).map(str::to_string);
        metadata.num_joints = meta.get("num_joints").and_then(PyValue::as_i64).and_then(|n| usize::try_from(n).ok());
        metadata.keypoints_symmetry = meta.get("keypoints_symmetry").and_then(|v| {
            let sides = v.as_seq()?;
            let side = |s: &PyValue| -> Option<Vec<usize>> {
                match s {
                    PyValue::Array(a) => a.to_i64()?.into_iter().map(|i| usize::try_from(i).ok()).collect(),
                    other => other.as_seq()?.iter().map(|i| i.as_i64().and_then(|i| usize::try_from(i).ok())).collect(),
                }
            };
            match sides {
                [l, r] => Some((side(l)?, side(r)?)),
                _ => None,
            }
        });
    }
    Ok(H36m2d { sequences, metadata })
}

/// Reads a `data_2d_h36m_<source>.npz`.
pub fn read_h36m_2d(path: &Path) -> Result<H36m2d> {
    parse_h36m_2d(&read_bytes(path)?, path)
}
