//! Writes AVA v2.2 files (docs/formats.md §4.1) the way the release does:
//! ground-truth CSVs `video_id,timestamp,x1,y1,x2,y2,action_id,person_id`
//! (no header, timestamp zero-padded to 4 digits, boxes with 3 decimals),
//! excluded-timestamp CSVs `video_id,timestamp`, and `label { … }` pbtxt
//! label maps. Read back by [`crate::ava`], [`crate::label_map`] and the
//! official evaluator.

use std::fmt::Write as _;
use std::path::Path;

use crate::error::{Error, Result};

/// One ground-truth row: a person box at a keyframe with one action.
#[derive(Debug, Clone, PartialEq)]
pub struct AvaGtRow {
    /// YouTube-style video id.
    pub video_id: String,
    /// Keyframe second (902…1798 on real AVA).
    pub timestamp: u32,
    /// `[x1, y1, x2, y2]` normalised to [0, 1].
    pub xyxy: [f64; 4],
    /// 1-based AVA action id.
    pub action_id: u32,
    /// Person (entity) id within the video.
    pub person_id: u32,
}

/// A class of a pbtxt label map.
#[derive(Debug, Clone, PartialEq)]
pub struct AvaLabel {
    /// Class name.
    pub name: String,
    /// 1-based id.
    pub id: u32,
    /// `PERSON_MOVEMENT`, `OBJECT_MANIPULATION` or `PERSON_INTERACTION`.
    pub label_type: String,
}

fn d3(v: f64) -> String {
    format!("{:.3}", v.clamp(0.0, 1.0))
}

/// The text of a ground-truth CSV (`\n` line ends).
pub fn format_ava_gt_csv(rows: &[AvaGtRow]) -> String {
    let mut out = String::with_capacity(rows.len() * 48);
    for r in rows {
        let [x1, y1, x2, y2] = r.xyxy;
        let _ = writeln!(
            out,
            "{},{:04},{},{},{},{},{},{}",
            r.video_id,
            r.timestamp,
            d3(x1),
            d3(y1),
            d3(x2),
            d3(y2),
            r.action_id,
            r.person_id
        );
    }
    out
}

/// Writes a ground-truth CSV.
pub fn write_ava_gt_csv(path: &Path, rows: &[AvaGtRow]) -> Result<()> {
    std::fs::write(path, format_ava_gt_csv(rows)).map_err(|e| Error::io(path, e))
}

/// The text of an excluded-timestamps CSV.
pub fn format_ava_exclusions(frames: &[(String, u32)]) -> String {
    frames.iter().map(|(v, t)| format!("{v},{t:04}\n")).collect()
}

/// Writes an excluded-timestamps CSV.
pub fn write_ava_exclusions(path: &Path, frames: &[(String, u32)]) -> Result<()> {
    std::fs::write(path, format_ava_exclusions(frames)).map_err(|e| Error::io(path, e))
}

/// The text of a pbtxt label map in the 2019 `label { name label_id
/// label_type }` syntax (two-space indentation, which the official reader
/// requires).
pub fn format_ava_label_map(labels: &[AvaLabel]) -> String {
    let mut out = String::new();
    for l in labels {
        let name = l.name.replace('"', "'");
        let _ = write!(out, "label {{\n  name: \"{name}\"\n  label_id: {}\n  label_type: {}\n}}\n", l.id, l.label_type);
    }
    out
}

/// Writes a pbtxt label map.
pub fn write_ava_label_map(path: &Path, labels: &[AvaLabel]) -> Result<()> {
    std::fs::write(path, format_ava_label_map(labels)).map_err(|e| Error::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ava::{AvaDialect, AvaTimestamp, parse_ava_csv, parse_ava_exclusions};
    use crate::label_map::{LabelMapKind, parse_label_map};

    #[test]
    fn round_trips_through_the_readers() {
        let rows = vec![AvaGtRow {
            video_id: "-5KQ66BBWC4".into(),
            timestamp: 902,
            xyxy: [0.1, 0.2, 0.55555, 0.9],
            action_id: 12,
            person_id: 3,
        }];
        let text = format_ava_gt_csv(&rows);
        assert_eq!(text, "-5KQ66BBWC4,0902,0.100,0.200,0.556,0.900,12,3\n");
        let back = parse_ava_csv(text.as_bytes(), Path::new("gt.csv"), AvaDialect::Activitynet2019).unwrap();
        assert_eq!(back[0].timestamp, AvaTimestamp::Seconds(902));
        assert_eq!(back[0].bbox.unwrap().score, Some(3.0));
        let ex = format_ava_exclusions(&[("_-Z6wFjXtGQ".into(), 1000)]);
        let back = parse_ava_exclusions(ex.as_bytes(), Path::new("ex.csv"), AvaDialect::Activitynet2019).unwrap();
        assert_eq!(back[0].video_id, "_-Z6wFjXtGQ");
        let map = format_ava_label_map(&[
            AvaLabel { name: "stand".into(), id: 12, label_type: "PERSON_MOVEMENT".into() },
            AvaLabel { name: "hug (a person)".into(), id: 70, label_type: "PERSON_INTERACTION".into() },
        ]);
        let parsed = parse_label_map(&map, Path::new("m.pbtxt")).unwrap();
        assert_eq!(parsed.kind, LabelMapKind::Pbtxt);
        assert_eq!(parsed.name_of(70), Some("hug (a person)"));
        assert_eq!(parsed.entries.len(), 2);
    }
}
