//! Kinetics-skeleton JSON, as released with ST-GCN (docs/formats.md §2.1):
//! one file per video with OpenPose COCO-18 poses per frame, and the
//! `kinetics_{train,val}_label.json` index.
//!
//! Per-video: `{"data": [{"frame_index": 1, "skeleton": [{"pose": [x0, y0,
//! …], "score": [s0, …]}, …]}, …], "label": "…", "label_index": N}`.
//! Frames without detections may be absent, so `data` is not indexed by
//! frame. `pose` must hold two values per `score` entry. Errors name the
//! file and the line of the JSON where reading stopped.

use std::path::Path;

use serde::Deserialize;
use serde::de::Error as _;

use crate::error::{Error, Result, read_bytes};

/// Joints per pose in the ST-GCN release (OpenPose COCO-18).
pub const KINETICS_JOINTS: usize = 18;

/// Names of the OpenPose COCO-18 joints, in order.
pub const KINETICS_JOINT_NAMES: [&str; KINETICS_JOINTS] = [
    "Nose",
    "Neck",
    "RShoulder",
    "RElbow",
    "RWrist",
    "LShoulder",
    "LElbow",
    "LWrist",
    "RHip",
    "RKnee",
    "RAnkle",
    "LHip",
    "LKnee",
    "LAnkle",
    "REye",
    "LEye",
    "REar",
    "LEar",
];

/// One detected person.
#[derive(Debug, Clone, PartialEq)]
pub struct KineticsPerson {
    /// x, y interleaved, normalised to [0, 1] (2 × joints values).
    pub pose: Vec<f32>,
    /// One confidence per joint.
    pub score: Vec<f32>,
}

impl<'de> Deserialize<'de> for KineticsPerson {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Raw {
            pose: Vec<f32>,
            score: Vec<f32>,
        }
        let raw = Raw::deserialize(d)?;
        if raw.pose.len() != 2 * raw.score.len() {
            return Err(D::Error::custom(format!(
                "`pose` has {} values but `score` has {}: expected two pose values (x, y) per score",
                raw.pose.len(),
                raw.score.len()
            )));
        }
        Ok(Self { pose: raw.pose, score: raw.score })
    }
}

/// One frame with detections.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct KineticsFrame {
    /// 1-based frame number.
    pub frame_index: i64,
    /// Detected persons, in file order.
    #[serde(rename = "skeleton")]
    pub persons: Vec<KineticsPerson>,
}

/// A per-video file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct KineticsSkeletonVideo {
    /// Frames that have detections.
    pub data: Vec<KineticsFrame>,
    /// Class name (absent or empty for unlabelled videos).
    #[serde(default)]
    pub label: Option<String>,
    /// 0-based class (−1 for unlabelled videos).
    #[serde(default)]
    pub label_index: Option<i64>,
}

/// An entry of `kinetics_{train,val}_label.json`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct KineticsLabelEntry {
    /// Whether OpenPose found anyone (the ST-GCN feeder drops `false`).
    pub has_skeleton: bool,
    /// Class name.
    pub label: String,
    /// 0-based class.
    pub label_index: i64,
}

fn json_error(e: serde_json::Error, path: &Path) -> Error {
    let text = e.to_string();
    let message = match text.rsplit_once(" at line ") {
        Some((m, _)) => m.to_string(),
        None => text,
    };
    Error::line(path, e.line() as u64, format!("column {}: {message}", e.column()))
}

/// Parses a per-video JSON file; `path` is used in errors.
pub fn parse_kinetics_skeleton(bytes: &[u8], path: &Path) -> Result<KineticsSkeletonVideo> {
    serde_json::from_slice(bytes).map_err(|e| json_error(e, path))
}

/// Reads a per-video JSON file.
pub fn read_kinetics_skeleton(path: &Path) -> Result<KineticsSkeletonVideo> {
    parse_kinetics_skeleton(&read_bytes(path)?, path)
}

/// Parses a label index, entries sorted by video id.
pub fn parse_kinetics_labels(bytes: &[u8], path: &Path) -> Result<Vec<(String, KineticsLabelEntry)>> {
    let map: std::collections::BTreeMap<String, KineticsLabelEntry> =
        serde_json::from_slice(bytes).map_err(|e| json_error(e, path))?;
    Ok(map.into_iter().collect())
}

/// Reads a label index.
pub fn read_kinetics_labels(path: &Path) -> Result<Vec<(String, KineticsLabelEntry)>> {
    parse_kinetics_labels(&read_bytes(path)?, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_frames_and_reports_lines() {
        let text = br#"{"data": [{"frame_index": 1, "skeleton": [{"pose": [0.5, 0.25], "score": [0.9]}]},
  {"frame_index": 3, "skeleton": []}], "label": "abseiling", "label_index": 0}"#;
        let v = parse_kinetics_skeleton(text, Path::new("v.json")).unwrap();
        assert_eq!(v.data.len(), 2);
        assert_eq!(v.data[0].persons[0].pose, vec![0.5, 0.25]);
        assert_eq!(v.label_index, Some(0));
        let bad = b"{\"data\": [\n{\"frame_index\": 1, \"skeleton\": [{\"pose\": [0.5], \"score\": [0.9]}]}]}";
        let err = parse_kinetics_skeleton(bad, Path::new("v.json")).unwrap_err().to_string();
        assert!(err.starts_with("`v.json` line 2: column"), "{err}");
        assert!(err.contains("two pose values"), "{err}");
    }
}
