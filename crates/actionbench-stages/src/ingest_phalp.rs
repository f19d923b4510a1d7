//! `ingest.phalp`: PHALP tracking results (both generations, zlib or plain
//! joblib) → one row per (video, track).
//!
//! ```toml
//! [stages.tracks]
//! uses = "ingest.phalp"
//! inputs = ["data/phalp"]        # every `.pkl` / `.joblib` file is one video
//! params = { fps = 30, time-offset = 900.0, appearance = true, lart-export = "ava-val" }
//! ```
//!
//! Tracks are cut as LART's `get_tracks` cuts them (see
//! `actionbench_formats::phalp`): first to last detection, gaps kept with
//! `has_detection = 0`. The video id is the directory before `img/` in the
//! frame keys (`<video_id>/img/000001.jpg`), else the file stem. Time
//! follows the AVA convention: frame k is at `time-offset + k / fps`
//! seconds (900 + k/30 for AVA's 15-minute crops).
//!
//! | column | type | meaning |
//! | --- | --- | --- |
//! | `sample_id` | utf8 | `<video_id>/<track_id, 6 digits>` (rows sorted by it) |
//! | `video_id` | utf8 | |
//! | `track_id` | int64 | PHALP's track id |
//! | `generation` | utf8 | `current` or `cvpr22` |
//! | `num_frames`, `num_detections` | int32 | T (gaps included), detected frames |
//! | `first_frame`, `last_frame` | int64 | PHALP `time` of the first/last detection |
//! | `frame` | tensor int64 `[T]` | PHALP `time` of each frame |
//! | `time` | tensor float64 `[T]` | seconds |
//! | `bbox` | tensor float32 `[T, 4]` | x, y, w, h pixels |
//! | `conf` | tensor float32 `[T]` | detector score |
//! | `pose229` | tensor float32 `[T, 229]` | LART pose vector |
//! | `joints3d` | tensor float32 `[T, J, 3]` | `3d_joints` (J = 45) |
//! | `appearance` | tensor float32 `[T, D]` | `appe` (D = 0 when absent or `appearance = false`) |
//! | `has_detection` | tensor uint8 `[T]` | 1 where detected |
//! | `source_file`, `source_blake3` | utf8 | provenance |
//!
//! With `lart-export = "<dataset tag>"`, `lart/` also holds one LART
//! tracklet file per row (`actionbench_formats::lart`), without labels
//! (`has_gt = 0`; `ingest.ava` writes them with labels).

use actionbench_formats::joblib::{JoblibCompression, write_joblib};
use actionbench_formats::lart::{LartFrame, LartTracklet};
use actionbench_formats::phalp::{POSE_DIM, PhalpFile, PhalpTrack, parse_phalp};
use actionbench_pipeline::{ParamError, StageContext};
use actionbench_shards::tensor::variable_shape_tensor_field;
use arrow::datatypes::{DataType, Field, Float32Type, Float64Type, Int64Type, UInt8Type};
use serde::{Deserialize, Serialize};

use crate::ingest::{BoxError, OnError, Source, default_rows_per_shard, read_source};
use crate::sample_format::{Columns, Counts, Ids, Ingest, Preparing, SampleError, SampleFormat};

/// Params of `ingest.phalp`.
#[derive(Debug, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct IngestPhalpParams {
    /// `fail` (default) or `skip`.
    #[serde(default)]
    on_error: OnError,
    /// Keep `appe` appearance embeddings.
    #[serde(default = "yes")]
    appearance: bool,
    /// Frames per second of the tracked video.
    #[serde(default = "default_fps")]
    fps: f64,
    /// Seconds of frame 0 (AVA crops start at 900 s).
    #[serde(default = "default_offset")]
    time_offset: f64,
    /// Drop tracks spanning fewer frames.
    #[serde(default = "one")]
    min_length: usize,
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
crate::ingest_params!(IngestPhalpParams);

/// Serde default `true` (shared with `ingest.ava`, as are the two below).
pub(crate) fn yes() -> bool {
    true
}
/// PHALP's and AVA's frame rate.
pub(crate) fn default_fps() -> f64 {
    30.0
}
/// AVA's crops start at 900 s.
pub(crate) fn default_offset() -> f64 {
    900.0
}
fn one() -> usize {
    1
}

/// The `ingest.phalp` kind.
pub type IngestPhalp = Ingest<PhalpFormat>;

/// PHALP result files as a [`SampleFormat`]: one file, one video, one row
/// per track; the video id is inside the file.
pub struct PhalpFormat;

/// Joints per PHALP detection.
const JOINTS: usize = 45;

/// A tensor column's field with its dimension names and fixed sizes
/// (shared with `ingest.ava`).
pub(crate) fn tensor_field(
    name: &str,
    ty: DataType,
    dims: &[&str],
    uniform: Vec<Option<i32>>,
) -> Result<Field, BoxError> {
    Ok(variable_shape_tensor_field(
        name,
        ty,
        dims.len(),
        Some(dims.iter().map(|s| s.to_string()).collect()),
        Some(uniform),
    )?)
}

/// One track as dense per-frame buffers (gaps zero).
pub(crate) struct DenseTrack {
    pub(crate) video_id: String,
    pub(crate) track_id: i64,
    pub(crate) generation: &'static str,
    pub(crate) frame: Vec<i64>,
    pub(crate) frame_key: Vec<String>,
    pub(crate) time: Vec<f64>,
    pub(crate) bbox: Vec<f32>,
    pub(crate) conf: Vec<f32>,
    pub(crate) pose: Vec<f32>,
    pub(crate) joints: Vec<f32>,
    pub(crate) appearance: Vec<f32>,
    pub(crate) appearance_dim: usize,
    pub(crate) camera: Vec<f32>,
    pub(crate) camera_bbox: Vec<f32>,
    pub(crate) size: Vec<i64>,
    pub(crate) detected: Vec<u8>,
}

impl DenseTrack {
    pub(crate) fn len(&self) -> usize {
        self.frame.len()
    }

    pub(crate) fn sample_id(&self) -> String {
        format!("{}/{:06}", self.video_id, self.track_id)
    }

    /// The LART tracklet (labels filled by the caller).
    pub(crate) fn lart(&self, dataset: &str) -> LartTracklet {
        let frames = (0..self.len())
            .map(|t| {
                let detected = self.detected[t] == 1;
                let slice = |v: &[f32], w: usize| v[t * w..(t + 1) * w].to_vec();
                LartFrame {
                    fid: self.frame[t],
                    frame_name: self.frame_key[t].clone(),
                    has_detection: detected,
                    pose: slice(&self.pose, POSE_DIM),
                    joints3d: slice(&self.joints, JOINTS * 3),
                    camera: slice(&self.camera, 3).try_into().unwrap_or_default(),
                    camera_bbox: slice(&self.camera_bbox, 3).try_into().unwrap_or_default(),
                    bbox: slice(&self.bbox, 4).try_into().unwrap_or_default(),
                    size: [self.size[t * 2], self.size[t * 2 + 1]],
                    conf: self.conf[t],
                    appearance: (detected && self.appearance_dim > 0)
                        .then(|| slice(&self.appearance, self.appearance_dim)),
                    ..Default::default()
                }
            })
            .collect();
        LartTracklet { dataset: dataset.to_string(), video_id: self.video_id.clone(), track_id: self.track_id, frames }
    }
}

/// Dense per-frame buffers of a track; errors name the frame.
pub(crate) fn densify(
    file: &PhalpFile,
    video_id: &str,
    track: &PhalpTrack,
    fps: f64,
    offset: f64,
    appearance: bool,
) -> Result<DenseTrack, String> {
    let (first, last) = (track.first_frame(), track.last_frame());
    let n = last - first + 1;
    let appearance_dim = if appearance {
        track.detections.iter().find_map(|d| d.appearance.as_ref().map(Vec::len)).unwrap_or(0)
    } else {
        0
    };
    let mut d = DenseTrack {
        video_id: video_id.to_string(),
        track_id: track.track_id,
        generation: file.generation.name(),
        frame: file.frames[first..=last].iter().map(|f| f.time).collect(),
        frame_key: file.frames[first..=last].iter().map(|f| f.key.clone()).collect(),
        time: Vec::with_capacity(n),
        bbox: vec![0.0; n * 4],
        conf: vec![0.0; n],
        pose: vec![0.0; n * POSE_DIM],
        joints: vec![0.0; n * JOINTS * 3],
        appearance: vec![0.0; n * appearance_dim],
        appearance_dim,
        camera: vec![0.0; n * 3],
        camera_bbox: vec![0.0; n * 3],
        size: vec![0; n * 2],
        detected: vec![0; n],
    };
    d.time = d.frame.iter().map(|&k| offset + k as f64 / fps).collect();
    for det in &track.detections {
        let t = det.frame - first;
        let key = &file.frames[det.frame].key;
        d.detected[t] = 1;
        d.bbox[t * 4..t * 4 + 4].copy_from_slice(&det.bbox);
        d.conf[t] = det.conf;
        if let Some(p) = &det.pose {
            d.pose[t * POSE_DIM..(t + 1) * POSE_DIM].copy_from_slice(p);
        }
        if let Some(j) = &det.joints3d {
            if j.len() != JOINTS * 3 {
                return Err(format!(
                    "frame `{key}`: track {}: `3d_joints` has {} joints, expected {JOINTS}",
                    track.track_id,
                    j.len() / 3
                ));
            }
            d.joints[t * JOINTS * 3..(t + 1) * JOINTS * 3].copy_from_slice(j);
        }
        if appearance_dim > 0 {
            match &det.appearance {
                Some(a) if a.len() == appearance_dim => {
                    d.appearance[t * appearance_dim..(t + 1) * appearance_dim].copy_from_slice(a)
                }
                Some(a) => {
                    return Err(format!(
                        "frame `{key}`: track {}: `appe` has {} values, earlier frames {appearance_dim}",
                        track.track_id,
                        a.len()
                    ));
                }
                None => {}
            }
        }
        if let Some(c) = det.camera {
            d.camera[t * 3..t * 3 + 3].copy_from_slice(&c);
        }
        if let Some(c) = det.camera_bbox {
            d.camera_bbox[t * 3..t * 3 + 3].copy_from_slice(&c);
        }
        if let Some(s) = det.size {
            d.size[t * 2..t * 2 + 2].copy_from_slice(&s);
        }
    }
    Ok(d)
}

/// The video id of a file: from its frame keys, else its stem.
pub(crate) fn video_id(file: &PhalpFile, source: &Source) -> String {
    file.video_id_from_keys().unwrap_or_else(|| source.stem())
}

/// A track with its provenance: a row of `ingest.phalp`, and the start of
/// one of `ingest.ava`.
pub struct TrackSample {
    pub(crate) track: DenseTrack,
    id: String,
    source_file: String,
    source_blake3: String,
}

impl TrackSample {
    /// Rows are ordered by video, then track number.
    pub(crate) fn compare(&self, other: &Self) -> std::cmp::Ordering {
        (&self.track.video_id, self.track.track_id).cmp(&(&other.track.video_id, other.track.track_id))
    }

    /// The sample id, `<video_id>/<track_id, 6 digits>`.
    pub(crate) fn id(&self) -> &str {
        &self.id
    }
}

/// The error for one track found in two files (`id` is a sample id).
pub(crate) fn duplicate_track(id: &str, first: &Source, second: &Source) -> String {
    let (video, track) = id.rsplit_once('/').unwrap_or((id, ""));
    let track = track.parse::<i64>().map_or(track.to_string(), |t| t.to_string());
    format!("track {track} of video `{video}` appears in two files: `{}` and `{}`", first.display, second.display)
}

/// The tracks of one PHALP file spanning at least `min_length` frames.
pub(crate) fn read_track_samples(
    source: &Source,
    fps: f64,
    offset: f64,
    appearance: bool,
    min_length: usize,
) -> Result<Vec<TrackSample>, SampleError> {
    let bytes = read_source(source)?;
    let file = parse_phalp(&bytes, source.shown())?;
    let video = video_id(&file, source);
    let hash = source.content_hash(&bytes).to_hex();
    let mut out = Vec::with_capacity(file.tracks.len());
    for track in file.tracks.iter().filter(|t| t.len() >= min_length) {
        let track = densify(&file, &video, track, fps, offset, appearance)
            .map_err(|m| SampleError::Other(format!("`{}`: {m}", source.display)))?;
        out.push(TrackSample {
            id: track.sample_id(),
            track,
            source_file: source.display.clone(),
            source_blake3: hash.clone(),
        });
    }
    Ok(out)
}

/// A sample that holds a track: an `ingest.phalp` row, or an `ingest.ava`
/// row (which adds labels).
pub(crate) trait HasTrack: Send + Sync + 'static {
    /// The track and its provenance.
    fn track_sample(&self) -> &TrackSample;
}

impl HasTrack for TrackSample {
    fn track_sample(&self) -> &TrackSample {
        self
    }
}

fn dense<S: HasTrack>(s: &S) -> &DenseTrack {
    &s.track_sample().track
}

fn frames<S: HasTrack>(s: &S) -> usize {
    dense(s).len()
}

/// The columns every track row starts with (`ingest.ava`'s own columns go
/// between these and [`provenance_columns`]).
pub(crate) fn track_columns<S: HasTrack>() -> Result<Columns<S>, BoxError> {
    let t = tensor_field;
    let (f32s, joints) = (DataType::Float32, JOINTS as i32);
    Ok(Columns::new()
        .utf8("sample_id", |s: &S| &s.track_sample().id)
        .utf8("video_id", |s: &S| &dense(s).video_id)
        .int64("track_id", |s: &S| dense(s).track_id)
        .utf8("generation", |s: &S| dense(s).generation)
        .int32("num_frames", |s: &S| frames(s) as i32)
        .int32("num_detections", |s: &S| dense(s).detected.iter().map(|&x| x as i32).sum())
        .int64("first_frame", |s: &S| dense(s).frame.first().copied().unwrap_or(0))
        .int64("last_frame", |s: &S| dense(s).frame.last().copied().unwrap_or(0))
        .tensor::<Int64Type, _>(t("frame", DataType::Int64, &["frame"], vec![None])?, 1, |s: &S| {
            ([frames(s)], dense(s).frame.as_slice())
        })
        .tensor::<Float64Type, _>(t("time", DataType::Float64, &["frame"], vec![None])?, 1, |s: &S| {
            ([frames(s)], dense(s).time.as_slice())
        })
        .tensor::<Float32Type, _>(t("bbox", f32s.clone(), &["frame", "xywh"], vec![None, Some(4)])?, 2, |s: &S| {
            ([frames(s), 4], dense(s).bbox.as_slice())
        })
        .tensor::<Float32Type, _>(t("conf", f32s.clone(), &["frame"], vec![None])?, 1, |s: &S| {
            ([frames(s)], dense(s).conf.as_slice())
        })
        .tensor::<Float32Type, _>(
            t("pose229", f32s.clone(), &["frame", "pose"], vec![None, Some(POSE_DIM as i32)])?,
            2,
            |s: &S| ([frames(s), POSE_DIM], dense(s).pose.as_slice()),
        )
        .tensor::<Float32Type, _>(
            t("joints3d", f32s.clone(), &["frame", "joint", "xyz"], vec![None, Some(joints), Some(3)])?,
            3,
            |s: &S| ([frames(s), JOINTS, 3], dense(s).joints.as_slice()),
        )
        .tensor::<Float32Type, _>(t("appearance", f32s, &["frame", "feature"], vec![None, None])?, 2, |s: &S| {
            ([frames(s), dense(s).appearance_dim], dense(s).appearance.as_slice())
        })
        .tensor::<UInt8Type, _>(t("has_detection", DataType::UInt8, &["frame"], vec![None])?, 1, |s: &S| {
            ([frames(s)], dense(s).detected.as_slice())
        }))
}

/// `source_file`, `source_blake3`: the last columns of both tables.
pub(crate) fn provenance_columns<S: HasTrack>(columns: Columns<S>) -> Columns<S> {
    columns
        .utf8("source_file", |s: &S| &s.track_sample().source_file)
        .utf8("source_blake3", |s: &S| &s.track_sample().source_blake3)
}

/// Writes `lart/<name>.pkl` for a tracklet.
pub(crate) fn write_lart(ctx: &StageContext<'_>, tracklet: &LartTracklet) -> Result<(), BoxError> {
    let dir = ctx.out_dir.join("lart");
    std::fs::create_dir_all(&dir).map_err(|e| format!("Failed to create `{}`: {e}", dir.display()))?;
    write_joblib(&dir.join(tracklet.file_name()), &tracklet.to_value(), JoblibCompression::None)?;
    Ok(())
}

pub(crate) fn is_phalp_file(path: &std::path::Path) -> bool {
    path.extension().is_some_and(|e| e == "pkl" || e == "joblib")
}

impl SampleFormat for PhalpFormat {
    type Params = IngestPhalpParams;
    /// Nothing: each PHALP file stands alone.
    type Prepared = ();
    type Sample = TrackSample;
    type Tally = ();
    const IDS: Ids = Ids::Inside;
    const NAME: &'static str = "ingest.phalp";
    const VERSION: u32 = 1;
    const DESCRIPTION: &'static str =
        "PHALP tracking results (both generations, zlib or plain joblib) → one row per (video, track).";

    fn check(&self, p: &IngestPhalpParams) -> Result<(), ParamError> {
        check_timing(p.fps, p.time_offset)?;
        check_lart_tag(p.lart_export.as_deref())
    }

    fn prepare(&self, _: &StageContext<'_>, _: &IngestPhalpParams, _: &mut Preparing) -> Result<(), BoxError> {
        Ok(())
    }

    fn reads(&self, _: &IngestPhalpParams) -> String {
        "PHALP tracklet files (`.pkl` or `.joblib`)".into()
    }

    fn accepts(&self, path: &std::path::Path, _: &IngestPhalpParams) -> bool {
        is_phalp_file(path)
    }

    fn read(&self, source: &Source, p: &IngestPhalpParams, _: &()) -> Result<Vec<TrackSample>, SampleError> {
        read_track_samples(source, p.fps, p.time_offset, p.appearance, p.min_length.max(1))
    }

    fn sample_id<'s>(&self, s: &'s TrackSample) -> &'s str {
        s.id()
    }

    fn compare(&self, a: &TrackSample, b: &TrackSample) -> std::cmp::Ordering {
        a.compare(b)
    }

    fn duplicate(&self, id: &str, first: &Source, second: &Source) -> String {
        duplicate_track(id, first, second)
    }

    fn columns(&self, _: &IngestPhalpParams, _: &()) -> Result<Columns<TrackSample>, BoxError> {
        Ok(provenance_columns(track_columns()?))
    }

    fn written(&self, ctx: &StageContext<'_>, p: &IngestPhalpParams, samples: &[TrackSample]) -> Result<(), BoxError> {
        if let Some(tag) = &p.lart_export {
            for s in samples {
                write_lart(ctx, &s.track.lart(tag))?;
            }
        }
        Ok(())
    }

    fn summary(&self, counts: Counts, p: &IngestPhalpParams, _: &(), _: ()) -> serde_json::Value {
        serde_json::json!({
            "kind": "ingest.phalp",
            "rows": counts.rows,
            "files": counts.files,
            "rejected": counts.rejected,
            "ignored_files": counts.ignored,
            "lart_files": if p.lart_export.is_some() { counts.rows } else { 0 },
        })
    }
}

/// `fps` and `time-offset` (shared with `ingest.ava`).
pub(crate) fn check_timing(fps: f64, offset: f64) -> Result<(), ParamError> {
    if !(fps.is_finite() && fps > 0.0) {
        return Err(format!("`fps` must be a positive number, found {fps}").into());
    }
    if !offset.is_finite() {
        return Err("`time-offset` must be finite".into());
    }
    Ok(())
}

/// `lart-export` (shared with `ingest.ava`).
pub(crate) fn check_lart_tag(tag: Option<&str>) -> Result<(), ParamError> {
    if tag.is_some_and(|d| d.is_empty() || d.contains(['/', '\\'])) {
        return Err("`lart-export` must be a dataset tag such as \"ava-val\" (no `/`)".into());
    }
    Ok(())
}
