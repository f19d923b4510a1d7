//! AVA frame-level mAP@0.5IOU, reproducing the official ActivityNet evaluator
//! (`Evaluation/get_ava_performance.py` with its vendored TensorFlow Object
//! Detection API code) in both revisions used in the literature.
//!
//! | | [`AvaProtocol::V2019`] (commit 3fee089) | [`AvaProtocol::V2020`] (HEAD) |
//! | --- | --- | --- |
//! | frame key | `"%s,%04d"` (integer seconds) | `"%s,%.6f"` (decimal seconds) |
//! | excluded keyframes | exclusions file: frames skipped in GT and detections | none; `video_id,timestamp` rows mark frames without boxes |
//! | detections on frames absent from GT | evaluated: all false positives | ignored |
//!
//! The caller builds the frame keys (see [`FrameKey`]); this module does the
//! rest exactly as the Python code, including the parts that decide results
//! on ties:
//!
//! 1. Rows whose action id is not in the label map are dropped.
//! 2. Per frame, rows go through Python's `heapq` as tuples
//!    `(score, action_id, y1, x1, y2, x2)`: all of them for ground truth, at
//!    most the 50 highest-scoring for detections (a row replaces the heap's
//!    smallest tuple only if its score is strictly larger). The kept rows are
//!    then stably sorted by descending score, so equal scores stay in heap
//!    order. Ground-truth rows are ranked the same way with their 8th column
//!    (the person id) as the score.
//! 3. Detection boxes with `y1 >= y2` or `x1 >= x2` are dropped.
//! 4. Per frame and class, detections (in that order) take the ground-truth
//!    box of highest IoU (first one on ties, IoU without the +1 pixel
//!    convention), even if it is already matched; they are true positives
//!    if that IoU is >= 0.5 and the box was still free (VOC rule).
//! 5. Per class, scores of all frames (frames in order of first appearance
//!    in the detections) are ranked with numpy's unstable default argsort,
//!    reversed; precision/recall are cumulated and AP is the VOC all-points
//!    area (sum over recall steps, summed with numpy's pairwise summation).
//! 6. Classes without ground truth have AP NaN (`None` here) and are left
//!    out of the mean (`np.nanmean` over ids `1..=max id`).

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::numpy;

/// At most this many detections per frame are evaluated.
pub const DETECTIONS_PER_FRAME: usize = 50;

/// IoU a detection needs with its ground-truth box to count as a match.
pub const IOU_THRESHOLD: f64 = 0.5;

/// Largest class id accepted (ids index a dense per-class array, as in the
/// official code).
pub const MAX_CLASS_ID: i64 = 1_000_000;

/// Which revision of the official evaluator to reproduce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum AvaProtocol {
    /// The 2019 revision (ActivityNet challenges on AVA v2.1/v2.2, PySlowFast,
    /// mmaction2 0.x): exclusions file; detections on frames without ground
    /// truth are false positives.
    #[serde(rename = "2019")]
    V2019,
    /// The 2020 revision (ActivityNet HEAD, LART): no exclusions; detections
    /// on frames that do not occur in the ground-truth file are ignored.
    #[serde(rename = "2020")]
    V2020,
}

impl fmt::Display for AvaProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::V2019 => "2019",
            Self::V2020 => "2020",
        })
    }
}

impl FromStr for AvaProtocol {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "2019" => Ok(Self::V2019),
            "2020" => Ok(Self::V2020),
            other => Err(Error::InvalidArgument(format!("unknown AVA protocol `{other}` (expected 2019 or 2020)"))),
        }
    }
}

/// A keyframe: video id and canonical timestamp text.
///
/// Two rows belong to the same frame iff their keys are equal, so the
/// timestamp must be canonical: for [`AvaProtocol::V2019`] the integer
/// seconds printed with `%04d` ([`FrameKey::from_seconds`]), for
/// [`AvaProtocol::V2020`] the decimal seconds printed with `%.6f`
/// ([`FrameKey::from_decimal_seconds`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct FrameKey {
    /// YouTube id of the video (may start with `-` or `_`).
    pub video_id: String,
    /// Canonical timestamp text.
    pub timestamp: String,
}

impl FrameKey {
    /// The 2019 key: `"%04d" % seconds`.
    pub fn from_seconds(video_id: impl Into<String>, seconds: i64) -> Self {
        Self { video_id: video_id.into(), timestamp: format!("{seconds:04}") }
    }

    /// The 2020 key: `"%.6f" % seconds`.
    pub fn from_decimal_seconds(video_id: impl Into<String>, seconds: f64) -> Self {
        Self { video_id: video_id.into(), timestamp: format!("{seconds:.6}") }
    }
}

impl fmt::Display for FrameKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{},{}", self.video_id, self.timestamp)
    }
}

/// A box in the CSV's normalised corner coordinates.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct AvaBox {
    /// Left edge.
    pub x1: f64,
    /// Top edge.
    pub y1: f64,
    /// Right edge.
    pub x2: f64,
    /// Bottom edge.
    pub y2: f64,
}

/// The labelled box of one CSV row.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct AvaAnnotation {
    /// The person box.
    pub bbox: AvaBox,
    /// 1-based action id.
    pub action_id: i64,
    /// The 8th column as a number (detection score; person id in ground
    /// truth, where it only orders boxes), or 1.0 for 7-column rows.
    pub score: f64,
}

/// One CSV row: a frame and, unless it is a 2-column row, a labelled box.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AvaRow {
    /// The keyframe.
    pub frame: FrameKey,
    /// The box; `None` for a `video_id,timestamp` row (2020: a frame that is
    /// evaluated but has no box).
    pub annotation: Option<AvaAnnotation>,
}

/// One class of the label map.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AvaClass {
    /// 1-based class id.
    pub id: i64,
    /// Display name.
    pub name: String,
}

/// AP of one class of the label map.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AvaClassResult {
    /// Class id.
    pub id: i64,
    /// Class name (the last label-map entry with this id, as the official
    /// `create_category_index`).
    pub name: String,
    /// Average precision, or `None` when the class has no ground truth.
    pub average_precision: Option<f64>,
    /// Number of ground-truth boxes of the class (after exclusions).
    pub positives: usize,
    /// Number of detections of the class that were scored.
    pub detections: usize,
}

/// Result of [`evaluate_ava`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AvaReport {
    /// The protocol used.
    pub protocol: AvaProtocol,
    /// Mean AP over the classes with ground truth (`None` if there is none).
    pub mean_ap: Option<f64>,
    /// One entry per distinct label-map id, ascending.
    pub per_class: Vec<AvaClassResult>,
}

/// Entry of Python's detection heap: `(score, action_id, y1, x1, y2, x2)`.
#[derive(Debug, Clone, Copy)]
struct Entry {
    score: f64,
    action_id: i64,
    y1: f64,
    x1: f64,
    y2: f64,
    x2: f64,
}

impl Entry {
    /// Python's tuple `<`: compare at the first position that differs.
    fn lt(&self, other: &Self) -> bool {
        if self.score != other.score {
            return self.score < other.score;
        }
        if self.action_id != other.action_id {
            return self.action_id < other.action_id;
        }
        for (a, b) in [(self.y1, other.y1), (self.x1, other.x1), (self.y2, other.y2), (self.x2, other.x2)] {
            if a != b {
                return a < b;
            }
        }
        false
    }
}

/// `heapq._siftdown`.
fn sift_down(heap: &mut [Entry], start: usize, mut pos: usize) {
    let item = heap[pos];
    while pos > start {
        let parent = (pos - 1) >> 1;
        if item.lt(&heap[parent]) {
            heap[pos] = heap[parent];
            pos = parent;
            continue;
        }
        break;
    }
    heap[pos] = item;
}

/// `heapq._siftup`.
fn sift_up(heap: &mut [Entry], mut pos: usize) {
    let end = heap.len();
    let start = pos;
    let item = heap[pos];
    let mut child = 2 * pos + 1;
    while child < end {
        let right = child + 1;
        if right < end && !heap[child].lt(&heap[right]) {
            child = right;
        }
        heap[pos] = heap[child];
        pos = child;
        child = 2 * pos + 1;
    }
    heap[pos] = item;
    sift_down(heap, start, pos);
}

/// `read_csv` of the official code: rows grouped per frame (frames in order
/// of their first kept row), capped at `capacity` per frame (0 = no cap),
/// stably sorted by descending score.
struct Frames<'a> {
    order: Vec<&'a FrameKey>,
    entries: HashMap<&'a FrameKey, Vec<Entry>>,
    /// Every frame of the file, also those without a kept row.
    all_keys: HashSet<&'a FrameKey>,
}

/// Which file a row comes from, for error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    GroundTruth,
    Detections,
}

impl Side {
    fn role(self) -> &'static str {
        match self {
            Self::GroundTruth => "ground truth",
            Self::Detections => "detections",
        }
    }

    fn coordinate(self) -> &'static str {
        match self {
            Self::GroundTruth => "ground-truth box coordinate",
            Self::Detections => "detection box coordinate",
        }
    }

    fn score(self) -> &'static str {
        match self {
            Self::GroundTruth => "ground-truth 8th column",
            Self::Detections => "detection score",
        }
    }
}

fn collect_frames<'a>(
    rows: &'a [AvaRow],
    whitelist: &HashSet<i64>,
    capacity: usize,
    side: Side,
    protocol: AvaProtocol,
) -> Result<Frames<'a>> {
    let mut frames = Frames { order: Vec::new(), entries: HashMap::new(), all_keys: HashSet::new() };
    for (index, row) in rows.iter().enumerate() {
        frames.all_keys.insert(&row.frame);
        let Some(a) = &row.annotation else {
            if protocol == AvaProtocol::V2019 {
                return Err(Error::FrameOnlyRow {
                    role: side.role(),
                    video_id: row.frame.video_id.clone(),
                    timestamp: row.frame.timestamp.clone(),
                });
            }
            continue;
        };
        let b = &a.bbox;
        if let Some(value) = [b.x1, b.y1, b.x2, b.y2].into_iter().find(|v| !v.is_finite()) {
            return Err(Error::NonFinite { what: side.coordinate(), index, value });
        }
        if a.score.is_nan() {
            return Err(Error::NonFinite { what: side.score(), index, value: a.score });
        }
        if !whitelist.contains(&a.action_id) {
            continue;
        }
        let entry = Entry { score: a.score, action_id: a.action_id, y1: b.y1, x1: b.x1, y2: b.y2, x2: b.x2 };
        let heap = frames.entries.entry(&row.frame).or_insert_with(|| {
            frames.order.push(&row.frame);
            Vec::new()
        });
        if capacity == 0 || heap.len() < capacity {
            heap.push(entry);
            let last = heap.len() - 1;
            sift_down(heap, 0, last);
        } else if entry.score > heap[0].score {
            heap[0] = entry;
            sift_up(heap, 0);
        }
    }
    for heap in frames.entries.values_mut() {
        // `sorted(entries, key=lambda t: -t[0])`: stable, descending score.
        // `partial_cmp` (not `total_cmp`) so that -0.0 and 0.0 tie as in Python;
        // scores are never NaN here.
        heap.sort_by(|a, b| b.score.partial_cmp(&a.score).unwrap_or(std::cmp::Ordering::Equal));
    }
    Ok(frames)
}

/// IoU as `np_box_ops.iou` (no +1, intersection clipped at 0).
fn iou(d: &Entry, g: &Entry) -> f64 {
    let h = (d.y2.min(g.y2) - d.y1.max(g.y1)).max(0.0);
    let w = (d.x2.min(g.x2) - d.x1.max(g.x1)).max(0.0);
    let inter = h * w;
    let area_d = (d.y2 - d.y1) * (d.x2 - d.x1);
    let area_g = (g.y2 - g.y1) * (g.x2 - g.x1);
    inter / (area_d + area_g - inter)
}

/// Scores and TP flags of one class, accumulated over frames.
#[derive(Default)]
struct ClassScores {
    scores: Vec<f64>,
    tp: Vec<bool>,
}

/// `compute_precision_recall` + `compute_average_precision`.
fn average_precision(scores: &[f64], tp: &[bool], positives: usize) -> f64 {
    if positives == 0 {
        return f64::NAN;
    }
    if scores.is_empty() {
        return 0.0;
    }
    let mut order = numpy::argsort(scores);
    order.reverse();
    let mut recall = Vec::with_capacity(order.len() + 2);
    let mut precision = Vec::with_capacity(order.len() + 2);
    recall.push(0.0);
    precision.push(0.0);
    let (mut ctp, mut cfp) = (0usize, 0usize);
    for &i in &order {
        if tp[i] {
            ctp += 1;
        } else {
            cfp += 1;
        }
        precision.push(ctp as f64 / (ctp + cfp) as f64);
        recall.push(ctp as f64 / positives as f64);
    }
    recall.push(1.0);
    precision.push(0.0);
    for i in (0..precision.len() - 1).rev() {
        precision[i] = precision[i].max(precision[i + 1]);
    }
    let terms: Vec<f64> = (1..recall.len())
        .filter(|&i| recall[i] != recall[i - 1])
        .map(|i| (recall[i] - recall[i - 1]) * precision[i])
        .collect();
    numpy::pairwise_sum(&terms)
}

/// Computes frame-mAP@0.5 as the official evaluator of `protocol` does.
///
/// `excluded` is the exclusions file of the 2019 protocol; it must be empty
/// for 2020. Rows without a box (`annotation: None`) are only accepted by
/// the 2020 protocol.
pub fn evaluate_ava(
    protocol: AvaProtocol,
    classes: &[AvaClass],
    groundtruth: &[AvaRow],
    detections: &[AvaRow],
    excluded: &[FrameKey],
) -> Result<AvaReport> {
    if classes.is_empty() {
        return Err(Error::EmptyLabelMap);
    }
    if let Some(c) = classes.iter().find(|c| c.id < 1) {
        return Err(Error::ClassIdNotPositive { id: c.id });
    }
    let max_id = classes.iter().map(|c| c.id).max().unwrap_or(1);
    if max_id > MAX_CLASS_ID {
        return Err(Error::ClassIdTooLarge { id: max_id, max: MAX_CLASS_ID });
    }
    if protocol == AvaProtocol::V2020 && !excluded.is_empty() {
        return Err(Error::InvalidArgument(
            "the 2020 protocol has no exclusions; mark frames without boxes with `video_id,timestamp` rows instead"
                .into(),
        ));
    }
    let num_class = max_id as usize;
    let whitelist: HashSet<i64> = classes.iter().map(|c| c.id).collect();
    let excluded: HashSet<&FrameKey> = excluded.iter().collect();

    let gt = collect_frames(groundtruth, &whitelist, 0, Side::GroundTruth, protocol)?;
    let mut positives = vec![0usize; num_class];
    let mut gt_db: HashMap<&FrameKey, &[Entry]> = HashMap::new();
    for key in &gt.order {
        if protocol == AvaProtocol::V2019 && excluded.contains(key) {
            continue;
        }
        let boxes = &gt.entries[key];
        for b in boxes {
            positives[(b.action_id - 1) as usize] += 1;
        }
        gt_db.insert(key, boxes);
    }

    let det = collect_frames(detections, &whitelist, DETECTIONS_PER_FRAME, Side::Detections, protocol)?;
    let mut per_class: Vec<ClassScores> = (0..num_class).map(|_| ClassScores::default()).collect();
    for key in &det.order {
        let skip = match protocol {
            AvaProtocol::V2019 => excluded.contains(key),
            AvaProtocol::V2020 => !gt.all_keys.contains(key),
        };
        if skip {
            continue;
        }
        let boxes: &[Entry] = gt_db.get(key).copied().unwrap_or(&[]);
        let valid: Vec<&Entry> = det.entries[key].iter().filter(|d| d.y1 < d.y2 && d.x1 < d.x2).collect();
        let mut classes_here: Vec<i64> = valid.iter().map(|d| d.action_id).collect();
        classes_here.sort_unstable();
        classes_here.dedup();
        for class_id in classes_here {
            let dets: Vec<&Entry> = valid.iter().copied().filter(|d| d.action_id == class_id).collect();
            let gts: Vec<&Entry> = boxes.iter().filter(|g| g.action_id == class_id).collect();
            if gts.iter().any(|g| g.y1 > g.y2 || g.x1 > g.x2) {
                return Err(Error::InvalidGroundTruthBox {
                    video_id: key.video_id.clone(),
                    timestamp: key.timestamp.clone(),
                    action_id: class_id,
                });
            }
            let out = &mut per_class[(class_id - 1) as usize];
            let mut matched = vec![false; gts.len()];
            for d in dets {
                let mut tp = false;
                if !gts.is_empty() {
                    // np.argmax: first maximum.
                    let mut best = 0;
                    let mut best_iou = iou(d, gts[0]);
                    for (j, g) in gts.iter().enumerate().skip(1) {
                        let v = iou(d, g);
                        if v > best_iou {
                            best = j;
                            best_iou = v;
                        }
                    }
                    if best_iou >= IOU_THRESHOLD && !matched[best] {
                        matched[best] = true;
                        tp = true;
                    }
                }
                out.scores.push(d.score);
                out.tp.push(tp);
            }
        }
    }

    let mut ap = vec![f64::NAN; num_class];
    for c in 0..num_class {
        if positives[c] > 0 {
            ap[c] = average_precision(&per_class[c].scores, &per_class[c].tp, positives[c]);
        }
    }
    let mean = numpy::nanmean(&ap);

    let mut names: HashMap<i64, &str> = HashMap::new();
    for c in classes {
        names.insert(c.id, &c.name);
    }
    let mut ids: Vec<i64> = names.keys().copied().collect();
    ids.sort_unstable();
    let per_class = ids
        .into_iter()
        .map(|id| {
            let c = (id - 1) as usize;
            AvaClassResult {
                id,
                name: names[&id].to_string(),
                average_precision: (!ap[c].is_nan()).then_some(ap[c]),
                positives: positives[c],
                detections: per_class[c].scores.len(),
            }
        })
        .collect();
    Ok(AvaReport { protocol, mean_ap: (!mean.is_nan()).then_some(mean), per_class })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(score: f64, action_id: i64) -> Entry {
        Entry { score, action_id, y1: 0.0, x1: 0.0, y2: 1.0, x2: 1.0 }
    }

    #[test]
    fn heap_keeps_python_order() {
        // heapq.heappush of (3,1),(1,1),(2,1),(1,0) gives the list
        // [(1,0),(1,1),(2,1),(3,1)].
        let mut h = Vec::new();
        for x in [e(3.0, 1), e(1.0, 1), e(2.0, 1), e(1.0, 0)] {
            h.push(x);
            let last = h.len() - 1;
            sift_down(&mut h, 0, last);
        }
        let got: Vec<(f64, i64)> = h.iter().map(|x| (x.score, x.action_id)).collect();
        assert_eq!(got, vec![(1.0, 0), (1.0, 1), (2.0, 1), (3.0, 1)]);
        // heapq.heapreplace(h, (5, 2)) -> [(1,1),(3,1),(2,1),(5,2)]
        h[0] = e(5.0, 2);
        sift_up(&mut h, 0);
        let got: Vec<(f64, i64)> = h.iter().map(|x| (x.score, x.action_id)).collect();
        assert_eq!(got, vec![(1.0, 1), (3.0, 1), (2.0, 1), (5.0, 2)]);
    }

    #[test]
    fn iou_has_no_plus_one() {
        let a = e(0.0, 1);
        let mut b = e(0.0, 1);
        b.x1 = 0.5;
        assert_eq!(iou(&a, &b), 0.5);
        b.x1 = 2.0;
        b.x2 = 3.0;
        assert_eq!(iou(&a, &b), 0.0);
    }

    #[test]
    fn voc_all_points_ap() {
        // Ranked TP, FP, TP with 3 positives: recall 1/3, 1/3, 2/3;
        // precision 1, 1/2, 2/3 -> AP = 1/3 * 1 + 1/3 * 2/3.
        let ap = average_precision(&[0.9, 0.8, 0.7], &[true, false, true], 3);
        assert!((ap - (1.0 / 3.0 + 2.0 / 9.0)).abs() < 1e-15);
        assert!(average_precision(&[], &[], 0).is_nan());
        assert_eq!(average_precision(&[], &[], 2), 0.0);
    }

    #[test]
    fn frame_keys_are_canonical() {
        assert_eq!(FrameKey::from_seconds("v", 902).timestamp, "0902");
        assert_eq!(FrameKey::from_seconds("v", 12).timestamp, "0012");
        assert_eq!(FrameKey::from_decimal_seconds("v", 902.0).timestamp, "902.000000");
        assert_eq!(FrameKey::from_decimal_seconds("v", 902.25).to_string(), "v,902.250000");
    }
}
