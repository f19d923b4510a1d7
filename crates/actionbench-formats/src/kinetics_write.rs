//! Writes ST-GCN Kinetics-skeleton JSON (docs/formats.md §2.1): per-video
//! files and the `kinetics_{train,val}_label.json` index, read back by
//! [`crate::kinetics_skeleton`] and by the ST-GCN feeder.
//!
//! Coordinates and scores are written with 3 decimals as in the release;
//! keys come out in the release's order and the index is sorted by video
//! id, so equal inputs give equal bytes.

use std::fmt::Write as _;
use std::path::Path;

use crate::error::{Error, Result};
use crate::kinetics_skeleton::{KineticsLabelEntry, KineticsSkeletonVideo};

fn d3(out: &mut String, v: f32) {
    let v = if v.is_finite() { v } else { 0.0 };
    let text = format!("{v:.3}");
    out.push_str(if text == "-0.000" { "0.000" } else { &text });
}

fn json_string(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

/// The text of a per-video file.
pub fn format_kinetics_skeleton(video: &KineticsSkeletonVideo) -> String {
    let mut out = String::from("{\"data\": [");
    for (i, frame) in video.data.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        let _ = write!(out, "{{\"frame_index\": {}, \"skeleton\": [", frame.frame_index);
        for (p, person) in frame.persons.iter().enumerate() {
            if p > 0 {
                out.push_str(", ");
            }
            out.push_str("{\"pose\": [");
            for (k, &v) in person.pose.iter().enumerate() {
                if k > 0 {
                    out.push_str(", ");
                }
                d3(&mut out, v);
            }
            out.push_str("], \"score\": [");
            for (k, &v) in person.score.iter().enumerate() {
                if k > 0 {
                    out.push_str(", ");
                }
                d3(&mut out, v);
            }
            out.push_str("]}");
        }
        out.push_str("]}");
    }
    out.push(']');
    if let Some(label) = &video.label {
        let _ = write!(out, ", \"label\": {}", json_string(label));
    }
    if let Some(index) = video.label_index {
        let _ = write!(out, ", \"label_index\": {index}");
    }
    out.push('}');
    out
}

/// Writes a per-video file.
pub fn write_kinetics_skeleton(path: &Path, video: &KineticsSkeletonVideo) -> Result<()> {
    std::fs::write(path, format_kinetics_skeleton(video)).map_err(|e| Error::io(path, e))
}

/// The text of a label index; entries are sorted by video id.
pub fn format_kinetics_labels(entries: &[(String, KineticsLabelEntry)]) -> String {
    let mut sorted: Vec<&(String, KineticsLabelEntry)> = entries.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let mut out = String::from("{");
    for (i, (id, e)) in sorted.into_iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        let _ = write!(
            out,
            "{}: {{\"has_skeleton\": {}, \"label\": {}, \"label_index\": {}}}",
            json_string(id),
            e.has_skeleton,
            json_string(&e.label),
            e.label_index
        );
    }
    out.push('}');
    out
}

/// Writes a label index.
pub fn write_kinetics_labels(path: &Path, entries: &[(String, KineticsLabelEntry)]) -> Result<()> {
    std::fs::write(path, format_kinetics_labels(entries)).map_err(|e| Error::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinetics_skeleton::{KineticsFrame, KineticsPerson, parse_kinetics_labels, parse_kinetics_skeleton};

    #[test]
    fn round_trips_through_the_reader() {
        let video = KineticsSkeletonVideo {
            data: vec![
                KineticsFrame {
                    frame_index: 1,
                    persons: vec![KineticsPerson { pose: vec![0.5, 0.25, 0.0, 0.0], score: vec![0.875, 0.0] }],
                },
                KineticsFrame { frame_index: 3, persons: vec![] },
            ],
            label: Some("say \"hi\"".into()),
            label_index: Some(7),
        };
        let text = format_kinetics_skeleton(&video);
        assert!(text.contains("\"pose\": [0.500, 0.250, 0.000, 0.000]"), "{text}");
        assert_eq!(parse_kinetics_skeleton(text.as_bytes(), Path::new("v.json")).unwrap(), video);
        let labels = vec![
            ("b".to_string(), KineticsLabelEntry { has_skeleton: true, label: "x".into(), label_index: 1 }),
            ("a".to_string(), KineticsLabelEntry { has_skeleton: false, label: "y".into(), label_index: 0 }),
        ];
        let text = format_kinetics_labels(&labels);
        let back = parse_kinetics_labels(text.as_bytes(), Path::new("l.json")).unwrap();
        assert_eq!(back[0].0, "a");
        assert_eq!(back[1].1, labels[0].1);
    }
}
