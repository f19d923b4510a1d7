//! `ingest.ava`: PHALP tracks aligned with AVA keyframe labels, as LART
//! trains on them.
//!
//! ```toml
//! [stages.ava]
//! uses = "ingest.ava"
//! inputs = ["data/phalp", "data/ava_val_v2.2.csv", "data/ava_action_list_v2.2.pbtxt",
//!           "data/ava_val_excluded_timestamps_v2.2.csv"]
//! params = { phalp = "data/phalp", csv = "data/ava_val_v2.2.csv",
//!            label-map = "data/ava_action_list_v2.2.pbtxt",
//!            exclusions = "data/ava_val_excluded_timestamps_v2.2.csv", lart-export = "ava-val" }
//! ```
//!
//! `phalp` names the `inputs` entry holding the PHALP result files (a file,
//! directory, glob, or `@stage` whose output holds them); `csv`,
//! `label-map`, `exclusions` and `pseudo` name single-file entries, so
//! their contents are part of the stage key.
//!
//! Rows are those of `ingest.phalp` (same columns, same track cutting) plus:
//!
//! | column | type | meaning |
//! | --- | --- | --- |
//! | `labels` | tensor uint8 `[T, 80]` | multi-hot AVA actions (id − 1) on labelled frames |
//! | `has_gt` | tensor uint8 `[T]` | 2 ground truth, 1 pseudo label, 0 none (LART's convention) |
//! | `is_keyframe` | tensor uint8 `[T]` | 1 on keyframes (integer seconds in `first-keyframe..=last-keyframe`) |
//! | `keyframes` | int32 | number of keyframes the track spans |
//! | `box_norm` | tensor float32 `[T, 4]` | x1, y1, x2, y2 normalised by the frame size, as AVA CSVs write boxes (zeros where not detected) |
//!
//! AVA timestamp `ts` is frame `round((ts − time-offset) · fps)`. Each
//! ground-truth box (rows of one keyframe with the same box and person id)
//! goes to the track detected at that frame whose box has the highest IoU
//! with it (first on ties), if that IoU is ≥ `iou`; PHALP's `[x, y, w, h]`
//! pixel boxes are normalised with the frame's `size`. A track matched by
//! several boxes gets the union of their actions. Pseudo-label boxes
//! (`pseudo`, an AVA detections CSV with scores) match the same way and
//! label frames without ground truth with the actions scoring ≥
//! `pseudo-threshold`.
//!
//! AVA rows are filtered before matching and listed in `rejects/` with
//! their file, line and reason: boxes outside [0, 1] or with x1 > x2 /
//! y1 > y2, action ids not in the label map, and keyframes in the
//! exclusions list. With `lart-export`, `lart/` holds LART's per-tracklet
//! files with `action_label_gt`, `action_label_psudo` and `has_gt` filled.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use actionbench_core::Diagnostic;
use actionbench_formats::ava::{AvaCsvRow, AvaDialect, AvaTimestamp, parse_ava_csv, parse_ava_exclusions};
use actionbench_formats::label_map::parse_label_map;
use actionbench_formats::lart::AVA_CLASSES;
use actionbench_pipeline::{ParamError, ResolvedInput, StageContext};
use arrow::datatypes::{DataType, Float32Type, UInt8Type};
use serde::{Deserialize, Serialize};

use crate::ingest::{
    BoxError, Found, OnError, Reject, Source, default_rows_per_shard, param_file, read_source, with_hint,
};
use crate::ingest_phalp::{
    DenseTrack, HasTrack, TrackSample, check_lart_tag, check_timing, default_fps, default_offset, duplicate_track,
    is_phalp_file, provenance_columns, read_track_samples, tensor_field, track_columns, write_lart, yes,
};
use crate::sample_format::{Columns, Counts, Ids, Ingest, Preparing, SampleError, SampleFormat};

/// Params of `ingest.ava`.
#[derive(Debug, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct IngestAvaParams {
    /// The `inputs` entry holding the PHALP result files.
    phalp: String,
    /// AVA ground-truth CSV (an `inputs` entry).
    csv: String,
    /// Label map, pbtxt or plain (an `inputs` entry).
    label_map: String,
    /// Excluded-timestamps CSV (an `inputs` entry).
    #[serde(default)]
    exclusions: Option<String>,
    /// AVA-format predictions with scores, turned into pseudo labels.
    #[serde(default)]
    pseudo: Option<String>,
    /// Lowest score that makes a pseudo label.
    #[serde(default = "half")]
    pseudo_threshold: f64,
    /// Frames per second of the tracked video.
    #[serde(default = "default_fps")]
    fps: f64,
    /// Seconds of frame 0 (AVA crops start at 900 s).
    #[serde(default = "default_offset")]
    time_offset: f64,
    /// First keyframe second (AVA: 902).
    #[serde(default = "default_first_keyframe")]
    first_keyframe: i64,
    /// Last keyframe second (AVA: 1798).
    #[serde(default = "default_last_keyframe")]
    last_keyframe: i64,
    /// Lowest IoU between a track's box and an AVA box that matches them.
    #[serde(default = "half")]
    iou: f64,
    /// Keep `appe` appearance embeddings.
    #[serde(default = "yes")]
    appearance: bool,
    /// `fail` (default) or `skip` unreadable PHALP files.
    #[serde(default)]
    on_error: OnError,
    /// Also write LART tracklet files under `lart/`, with this dataset tag.
    #[serde(default)]
    lart_export: Option<String>,
    /// Rows per Parquet file.
    #[serde(default = "default_rows_per_shard")]
    rows_per_shard: usize,
    /// Succeed with an empty table when the inputs hold no file this kind
    /// reads (by default that is an error naming the files it ignored).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    allow_empty: bool,
}
crate::ingest_params!(IngestAvaParams);

fn half() -> f64 {
    0.5
}
fn default_first_keyframe() -> i64 {
    902
}
fn default_last_keyframe() -> i64 {
    1798
}

/// The `ingest.ava` kind.
pub type IngestAva = Ingest<AvaFormat>;

/// PHALP result files labelled with AVA boxes, as a [`SampleFormat`]: the
/// tracks are read as `ingest.phalp` reads them; once all are in, each AVA
/// box labels the track it matches.
pub struct AvaFormat;

/// The AVA boxes that passed the filters, and what the filters counted.
pub struct AvaBoxes {
    gt: Keyframes,
    pseudo: Keyframes,
    ava_rows: usize,
    rejected_rows: usize,
    box_outside: usize,
    box_inverted: usize,
    unknown_action: usize,
    excluded: usize,
    without_box: usize,
    /// The `iou` and `pseudo-threshold` params.
    iou: f64,
    pseudo_threshold: f64,
}

/// A track and its labels: one row.
pub struct AvaTrack {
    t: TrackSample,
    labels: TrackLabels,
    /// `box_norm`, frame by frame (zeros where not detected).
    box_norm: Vec<f32>,
}

impl HasTrack for AvaTrack {
    fn track_sample(&self) -> &TrackSample {
        &self.t
    }
}

/// How the boxes matched, for the summary.
#[derive(Default, Serialize, Deserialize)]
pub struct AvaMatches {
    gt_boxes: usize,
    gt_matched: usize,
    pseudo_boxes: usize,
    pseudo_used: usize,
    labelled_frames: usize,
}
crate::merge_tally!(AvaMatches { gt_boxes, gt_matched, pseudo_boxes, pseudo_used, labelled_frames });

/// Labels of one track, frame by frame.
struct TrackLabels {
    labels: Vec<u8>,
    has_gt: Vec<u8>,
    is_keyframe: Vec<u8>,
    /// Score vectors of matched pseudo boxes, by frame index in the track.
    pseudo_scores: BTreeMap<usize, Vec<f32>>,
}

/// A box of one keyframe with its actions (rows sharing box and 8th column).
struct AvaBox {
    xyxy: [f64; 4],
    /// (action id, score or person id) per row.
    actions: Vec<(i64, f64)>,
}

/// AVA boxes by (video id, frame).
type Keyframes = BTreeMap<(String, i64), Vec<AvaBox>>;

fn timestamp_seconds(t: AvaTimestamp) -> f64 {
    match t {
        AvaTimestamp::Seconds(s) => s as f64,
        AvaTimestamp::Decimal(d) => d,
    }
}

/// `0902` for whole seconds (as AVA writes them), else the decimal.
fn show_timestamp(t: AvaTimestamp) -> String {
    let s = timestamp_seconds(t);
    if s.fract() == 0.0 { format!("{:04}", s as i64) } else { format!("{s}") }
}

fn iou(a: &[f64; 4], b: &[f64; 4]) -> f64 {
    let w = (a[2].min(b[2]) - a[0].max(b[0])).max(0.0);
    let h = (a[3].min(b[3]) - a[1].max(b[1])).max(0.0);
    let inter = w * h;
    let union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter;
    if union > 0.0 { inter / union } else { 0.0 }
}

/// The track's box at index `t`, normalised x1y1x2y2, when it was detected
/// and the frame size is known.
fn track_box(track: &DenseTrack, t: usize) -> Option<[f64; 4]> {
    if track.detected[t] != 1 {
        return None;
    }
    let (h, w) = (track.size[t * 2] as f64, track.size[t * 2 + 1] as f64);
    if h <= 0.0 || w <= 0.0 {
        return None;
    }
    let b = &track.bbox[t * 4..t * 4 + 4];
    let (x, y, bw, bh) = (b[0] as f64, b[1] as f64, b[2] as f64, b[3] as f64);
    Some([x / w, y / h, (x + bw) / w, (y + bh) / h])
}

/// Why AVA rows are dropped, counted for `_ingest.json`.
#[derive(Default)]
struct Filtered {
    rejects: Vec<Reject>,
    box_outside: usize,
    box_inverted: usize,
    unknown_action: usize,
    excluded: usize,
    without_box: usize,
}

/// What AVA rows are checked against.
struct Rules<'a> {
    /// Action ids of the label map.
    known: BTreeSet<i64>,
    label_map: &'a Source,
    /// Excluded (video, frame) → line in `exclusions`.
    excluded: HashMap<(String, i64), u64>,
    exclusions: Option<&'a Source>,
}

/// Groups rows into keyframe boxes after the evaluator's filters; dropped
/// rows go to `filtered`. Ground-truth rows of one box share the person id
/// (8th column); with `scores` the 8th column is a score and the box alone
/// groups.
fn keyframe_boxes(
    rows: &[AvaCsvRow],
    source: &Source,
    rules: &Rules<'_>,
    p: &IngestAvaParams,
    scores: bool,
    filtered: &mut Filtered,
) -> Keyframes {
    let mut out: Keyframes = BTreeMap::new();
    for row in rows {
        let Some(b) = row.bbox else {
            filtered.without_box += 1;
            continue;
        };
        let ts = timestamp_seconds(row.timestamp);
        let frame = ((ts - p.time_offset) * p.fps).round() as i64;
        let sample = format!("{},{}", row.video_id, show_timestamp(row.timestamp));
        let xyxy = [b.x1, b.y1, b.x2, b.y2];
        let reason = if xyxy.iter().any(|v| !(0.0..=1.0).contains(v)) {
            filtered.box_outside += 1;
            Some(format!("box [{}, {}, {}, {}] is outside [0, 1]", b.x1, b.y1, b.x2, b.y2))
        } else if b.x1 > b.x2 || b.y1 > b.y2 {
            filtered.box_inverted += 1;
            Some(format!("box [{}, {}, {}, {}] has x1 > x2 or y1 > y2", b.x1, b.y1, b.x2, b.y2))
        } else if !rules.known.contains(&b.action_id) {
            filtered.unknown_action += 1;
            Some(format!("action id {} is not in the label map `{}`", b.action_id, rules.label_map.display))
        } else if let Some(line) = rules.excluded.get(&(row.video_id.clone(), frame)) {
            filtered.excluded += 1;
            let file = rules.exclusions.map_or("", |s| s.display.as_str());
            Some(format!("keyframe excluded by `{file}` line {line}"))
        } else {
            None
        };
        if let Some(message) = reason {
            filtered.rejects.push(Reject {
                sample,
                file: source.display.clone(),
                line: Some(row.line),
                message: format!("`{}` line {}: {message}", source.display, row.line),
            });
            continue;
        }
        let boxes = out.entry((row.video_id.clone(), frame)).or_default();
        let eighth = b.score.unwrap_or(f64::NAN);
        let same = |x: &AvaBox| x.xyxy == xyxy && (scores || x.actions[0].1.to_bits() == eighth.to_bits());
        match boxes.iter_mut().find(|x| same(x)) {
            Some(x) => x.actions.push((b.action_id, eighth)),
            None => boxes.push(AvaBox { xyxy, actions: vec![(b.action_id, eighth)] }),
        }
    }
    out
}

/// For every box, the index (into `tracks`) and frame offset of the track it
/// matches; `None` when no detected track reaches the IoU threshold.
fn match_boxes<'a>(
    frames: &'a Keyframes,
    tracks: &[AvaTrack],
    by_video: &HashMap<&str, Vec<usize>>,
    threshold: f64,
) -> Vec<(&'a AvaBox, Option<(usize, usize)>)> {
    let mut out = Vec::new();
    for ((video, frame), boxes) in frames {
        let candidates: Vec<(usize, usize, [f64; 4])> = by_video
            .get(video.as_str())
            .into_iter()
            .flatten()
            .filter_map(|&i| {
                let track = &tracks[i].t.track;
                let t = track.frame.iter().position(|f| f == frame)?;
                track_box(track, t).map(|b| (i, t, b))
            })
            .collect();
        for ava in boxes {
            let mut best: Option<(f64, usize, usize)> = None;
            for &(i, t, b) in &candidates {
                let v = iou(&ava.xyxy, &b);
                if best.is_none_or(|(bv, _, _)| v > bv) {
                    best = Some((v, i, t));
                }
            }
            let hit = best.filter(|(v, _, _)| *v >= threshold).map(|(_, i, t)| (i, t));
            out.push((ava, hit));
        }
    }
    out
}

/// The PHALP files of the `inputs` entry `entry`.
fn phalp_sources(ctx: &StageContext<'_>, entry: &str) -> Result<(Vec<Source>, Vec<String>), BoxError> {
    let mut found = Found::default();
    let mut named = false;
    for input in ctx.inputs {
        match input {
            ResolvedInput::Files { entry: e, files, .. } if e == entry => {
                named = true;
                found.add_files(files, is_phalp_file);
            }
            ResolvedInput::Stage { stage, paths, .. }
                if crate::tables::stage_ref(entry).is_some_and(|(s, _)| s == stage) =>
            {
                named = true;
                let roots = match crate::tables::stage_ref(entry) {
                    Some((_, Some(sub))) => vec![crate::tables::stage_sub_path(paths, stage, sub)?],
                    _ => paths.clone(),
                };
                found.add_paths(ctx, &roots, is_phalp_file)?;
            }
            _ => {}
        }
    }
    if !named {
        return Err(Diagnostic::hinted(
            format!("param `phalp` names `{entry}`, which is not one of the stage's `inputs`"),
            format!(
                "Add `{}` to `inputs`",
                crate::tables::stage_ref(entry).map_or(entry.to_string(), |(s, _)| format!("@{s}"))
            ),
        )
        .into());
    }
    let (sources, ignored) = found.finish();
    if sources.is_empty() {
        return Err(format!("`{entry}` holds no PHALP results file (`.pkl` or `.joblib`)").into());
    }
    Ok((sources, ignored))
}

fn read_csv(ctx: &StageContext<'_>, param: &str, entry: &str) -> Result<(Source, Vec<AvaCsvRow>), BoxError> {
    let source = param_file(ctx, param, entry)?;
    let bytes = read_source(&source).map_err(with_hint)?;
    let rows = parse_ava_csv(&bytes, source.shown(), AvaDialect::Activitynet2020).map_err(with_hint)?;
    Ok((source, rows))
}

impl SampleFormat for AvaFormat {
    type Params = IngestAvaParams;
    type Prepared = AvaBoxes;
    type Sample = AvaTrack;
    type Tally = AvaMatches;
    const IDS: Ids = Ids::Inside;
    const NAME: &'static str = "ingest.ava";
    const VERSION: u32 = 2;
    const DESCRIPTION: &'static str = "PHALP tracks aligned with AVA keyframe labels, as LART trains on them.";

    fn check(&self, p: &IngestAvaParams) -> Result<(), ParamError> {
        check_timing(p.fps, p.time_offset)?;
        if !(p.iou > 0.0 && p.iou <= 1.0) {
            return Err(format!("`iou` must be in (0, 1], found {}", p.iou).into());
        }
        if !(0.0..=1.0).contains(&p.pseudo_threshold) {
            return Err(format!("`pseudo-threshold` must be in [0, 1], found {}", p.pseudo_threshold).into());
        }
        if p.first_keyframe > p.last_keyframe {
            return Err(format!(
                "`first-keyframe` ({}) is after `last-keyframe` ({})",
                p.first_keyframe, p.last_keyframe
            )
            .into());
        }
        check_lart_tag(p.lart_export.as_deref())
    }

    /// The label map, exclusions, ground truth and pseudo labels; AVA rows
    /// the evaluator would drop go to `rejects` with their line.
    fn prepare(
        &self,
        ctx: &StageContext<'_>,
        p: &IngestAvaParams,
        preparing: &mut Preparing,
    ) -> Result<AvaBoxes, BoxError> {
        // Label map: the known action ids, each a column of `labels`.
        let map_source = param_file(ctx, "label-map", &p.label_map)?;
        let map_bytes = read_source(&map_source).map_err(with_hint)?;
        let map = parse_label_map(&String::from_utf8_lossy(&map_bytes), map_source.shown()).map_err(with_hint)?;
        if let Some(e) = map.entries.iter().find(|e| !(1..=AVA_CLASSES as i64).contains(&e.id)) {
            return Err(Diagnostic::hinted(
                format!("`{}` line {}: action id {} is outside 1..={AVA_CLASSES}", map_source.display, e.line, e.id),
                "`ingest.ava` expects AVA's action ids (ava_action_list_v2.2.pbtxt)",
            )
            .into());
        }
        let known: BTreeSet<i64> = map.entries.iter().map(|e| e.id).collect();

        let mut excluded: HashMap<(String, i64), u64> = HashMap::new();
        let exclusions = match &p.exclusions {
            Some(entry) => {
                let source = param_file(ctx, "exclusions", entry)?;
                let bytes = read_source(&source).map_err(with_hint)?;
                for f in parse_ava_exclusions(&bytes, source.shown(), AvaDialect::Activitynet2020).map_err(with_hint)? {
                    let frame = ((timestamp_seconds(f.timestamp) - p.time_offset) * p.fps).round() as i64;
                    excluded.entry((f.video_id, frame)).or_insert(f.line);
                }
                Some(source)
            }
            None => None,
        };

        let rules = Rules { known, label_map: &map_source, excluded, exclusions: exclusions.as_ref() };
        let mut filtered = Filtered::default();
        let (gt_source, gt_rows) = read_csv(ctx, "csv", &p.csv)?;
        let gt = keyframe_boxes(&gt_rows, &gt_source, &rules, p, false, &mut filtered);
        let pseudo = match &p.pseudo {
            Some(entry) => {
                let (source, rows) = read_csv(ctx, "pseudo", entry)?;
                if let Some(r) = rows.iter().find(|r| r.bbox.is_some_and(|b| b.score.is_none())) {
                    return Err(Diagnostic::hinted(
                        format!("`{}` line {}: pseudo labels need a score in column 8", source.display, r.line),
                        "`pseudo` takes AVA predictions: video_id,timestamp,x1,y1,x2,y2,action_id,score",
                    )
                    .into());
                }
                keyframe_boxes(&rows, &source, &rules, p, true, &mut filtered)
            }
            None => Keyframes::new(),
        };
        let rejected_rows = filtered.rejects.len();
        preparing.rejects.append(&mut filtered.rejects);
        Ok(AvaBoxes {
            gt,
            pseudo,
            ava_rows: gt_rows.len(),
            rejected_rows,
            box_outside: filtered.box_outside,
            box_inverted: filtered.box_inverted,
            unknown_action: filtered.unknown_action,
            excluded: filtered.excluded,
            without_box: filtered.without_box,
            iou: p.iou,
            pseudo_threshold: p.pseudo_threshold,
        })
    }

    fn reads(&self, _: &IngestAvaParams) -> String {
        "PHALP tracklet files (`.pkl` or `.joblib`) of the `phalp` entry".into()
    }

    fn accepts(&self, path: &std::path::Path, _: &IngestAvaParams) -> bool {
        is_phalp_file(path)
    }

    /// The PHALP files of the `phalp` entry only.
    fn list(&self, ctx: &StageContext<'_>, p: &IngestAvaParams) -> Result<(Vec<Source>, Vec<String>), BoxError> {
        phalp_sources(ctx, &p.phalp)
    }

    fn read(&self, source: &Source, p: &IngestAvaParams, _: &AvaBoxes) -> Result<Vec<AvaTrack>, SampleError> {
        let tracks = read_track_samples(source, p.fps, p.time_offset, p.appearance, 1)?;
        Ok(tracks
            .into_iter()
            .map(|t| {
                let d = &t.track;
                let is_keyframe = d
                    .frame
                    .iter()
                    .map(|&k| {
                        let s = (p.time_offset + k as f64 / p.fps).round();
                        let back = ((s - p.time_offset) * p.fps).round() as i64;
                        (back == k && (p.first_keyframe as f64..=p.last_keyframe as f64).contains(&s)) as u8
                    })
                    .collect();
                let labels = TrackLabels {
                    labels: vec![0; d.len() * AVA_CLASSES],
                    has_gt: vec![0; d.len()],
                    is_keyframe,
                    pseudo_scores: BTreeMap::new(),
                };
                let box_norm =
                    (0..d.len()).flat_map(|i| track_box(d, i).unwrap_or([0.0; 4]).map(|v| v as f32)).collect();
                AvaTrack { t, labels, box_norm }
            })
            .collect())
    }

    fn sample_id<'s>(&self, s: &'s AvaTrack) -> &'s str {
        s.t.id()
    }

    fn compare(&self, a: &AvaTrack, b: &AvaTrack) -> std::cmp::Ordering {
        a.t.compare(&b.t)
    }

    fn duplicate(&self, id: &str, first: &Source, second: &Source) -> String {
        duplicate_track(id, first, second)
    }

    /// Each AVA box labels the track it matches best (all tracks of its
    /// video are in by now).
    fn gathered(&self, tracks: &mut [AvaTrack], boxes: &mut AvaBoxes, n: &mut AvaMatches) -> Result<(), BoxError> {
        let mut by_video: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, t) in tracks.iter().enumerate() {
            by_video.entry(t.t.track.video_id.as_str()).or_default().push(i);
        }
        let gt_matches = match_boxes(&boxes.gt, tracks, &by_video, boxes.iou);
        let pseudo_matches = match_boxes(&boxes.pseudo, tracks, &by_video, boxes.iou);
        n.gt_boxes = gt_matches.len();
        n.gt_matched = gt_matches.iter().filter(|(_, m)| m.is_some()).count();
        n.pseudo_boxes = pseudo_matches.len();
        // The matches hold box references and track indices, not tracks.
        drop(by_video);
        for (ava, hit) in &gt_matches {
            let Some((i, t)) = *hit else { continue };
            let l = &mut tracks[i].labels;
            l.has_gt[t] = 2;
            for &(id, _) in &ava.actions {
                l.labels[t * AVA_CLASSES + (id - 1) as usize] = 1;
            }
        }
        for (ava, hit) in &pseudo_matches {
            let Some((i, t)) = *hit else { continue };
            let l = &mut tracks[i].labels;
            if l.has_gt[t] == 2 {
                continue;
            }
            let scores = l.pseudo_scores.entry(t).or_insert_with(|| vec![0.0; AVA_CLASSES]);
            for &(id, score) in &ava.actions {
                let s = &mut scores[(id - 1) as usize];
                *s = s.max(score as f32);
            }
            let mut any = false;
            for (c, &s) in scores.iter().enumerate() {
                if s as f64 >= boxes.pseudo_threshold {
                    l.labels[t * AVA_CLASSES + c] = 1;
                    any = true;
                }
            }
            if any {
                l.has_gt[t] = 1;
                n.pseudo_used += 1;
            }
        }
        n.labelled_frames = tracks.iter().flat_map(|t| t.labels.has_gt.iter()).filter(|&&g| g > 0).count();
        Ok(())
    }

    fn columns(&self, _: &IngestAvaParams, _: &AvaBoxes) -> Result<Columns<AvaTrack>, BoxError> {
        let u8s =
            |name: &str, dims: &[&str], uniform: Vec<Option<i32>>| tensor_field(name, DataType::UInt8, dims, uniform);
        let columns = track_columns::<AvaTrack>()?
            .tensor::<UInt8Type, _>(
                u8s("labels", &["frame", "action"], vec![None, Some(AVA_CLASSES as i32)])?,
                2,
                |s| ([s.t.track.len(), AVA_CLASSES], &s.labels.labels),
            )
            .tensor::<UInt8Type, _>(u8s("has_gt", &["frame"], vec![None])?, 1, |s| {
                ([s.t.track.len()], &s.labels.has_gt)
            })
            .tensor::<UInt8Type, _>(u8s("is_keyframe", &["frame"], vec![None])?, 1, |s| {
                ([s.t.track.len()], &s.labels.is_keyframe)
            })
            .int32("keyframes", |s| s.labels.is_keyframe.iter().map(|&x| x as i32).sum())
            .tensor::<Float32Type, _>(
                tensor_field("box_norm", DataType::Float32, &["frame", "xyxy"], vec![None, Some(4)])?,
                2,
                |s| ([s.t.track.len(), 4], &s.box_norm),
            );
        Ok(provenance_columns(columns))
    }

    fn written(&self, ctx: &StageContext<'_>, p: &IngestAvaParams, tracks: &[AvaTrack]) -> Result<(), BoxError> {
        let Some(tag) = &p.lart_export else { return Ok(()) };
        for AvaTrack { t, labels: l, .. } in tracks {
            let mut tracklet = t.track.lart(tag);
            for (i, frame) in tracklet.frames.iter_mut().enumerate() {
                frame.has_gt = l.has_gt[i];
                let row = &l.labels[i * AVA_CLASSES..(i + 1) * AVA_CLASSES];
                if l.has_gt[i] == 2 {
                    frame.labels_gt = Some(row.iter().map(|&x| x as f32).collect());
                } else if l.has_gt[i] == 1 {
                    frame.labels_pseudo = l.pseudo_scores.get(&i).cloned();
                }
            }
            write_lart(ctx, &tracklet)?;
        }
        Ok(())
    }

    /// `rejects/` always: AVA rows the filters dropped are listed there.
    fn writes_rejects(&self, _: &IngestAvaParams) -> bool {
        true
    }

    fn summary(&self, counts: Counts, p: &IngestAvaParams, b: &AvaBoxes, n: AvaMatches) -> serde_json::Value {
        serde_json::json!({
            "kind": "ingest.ava",
            "rows": counts.rows,
            "files": counts.files,
            "ava_rows": b.ava_rows,
            "rejected": b.rejected_rows,
            "rejected_box_outside": b.box_outside,
            "rejected_box_inverted": b.box_inverted,
            "rejected_unknown_action": b.unknown_action,
            "rejected_excluded": b.excluded,
            "rows_without_box": b.without_box,
            "gt_boxes": n.gt_boxes,
            "gt_boxes_matched": n.gt_matched,
            "gt_boxes_unmatched": n.gt_boxes - n.gt_matched,
            "pseudo_boxes": n.pseudo_boxes,
            "pseudo_boxes_used": n.pseudo_used,
            "labelled_frames": n.labelled_frames,
            "rejected_files": counts.rejected - b.rejected_rows,
            "ignored_files": counts.ignored,
            "lart_files": if p.lart_export.is_some() { counts.rows } else { 0 },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iou_is_plain_area_ratio() {
        let a = [0.0, 0.0, 1.0, 1.0];
        assert_eq!(iou(&a, &[0.5, 0.0, 1.5, 1.0]), 1.0 / 3.0);
        assert_eq!(iou(&a, &[2.0, 2.0, 3.0, 3.0]), 0.0);
        assert_eq!(iou(&[0.0; 4], &[0.0; 4]), 0.0);
    }

    #[test]
    fn timestamps_shown_as_ava_writes_them() {
        assert_eq!(show_timestamp(AvaTimestamp::Decimal(902.0)), "0902");
        assert_eq!(show_timestamp(AvaTimestamp::Decimal(902.5)), "902.5");
    }
}
