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

use std::sync::Arc;

use actionbench_core::Fingerprint;
use actionbench_formats::joblib::{JoblibCompression, write_joblib};
use actionbench_formats::lart::{LartFrame, LartTracklet};
use actionbench_formats::phalp::{POSE_DIM, PhalpFile, PhalpTrack, parse_phalp};
use actionbench_pipeline::{ParamError, StageContext, StageError, StageKind};
use actionbench_shards::tensor::{VariableShapeTensorBuilder, variable_shape_tensor_field};
use arrow::array::{ArrayRef, Int32Array, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Float32Type, Float64Type, Int64Type, Schema, SchemaRef, UInt8Type};
use serde::{Deserialize, Serialize};

use crate::ingest::{
    BoxError, OnError, Reject, Source, collect_sources, default_rows_per_shard, finish_ingest, parallel_map,
    read_source, table_writer, with_hint,
};

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
}

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
pub struct IngestPhalp;

/// Joints per PHALP detection.
const JOINTS: usize = 45;

/// The per-(video, track) columns `ingest.phalp` and `ingest.ava` share,
/// in table order (provenance columns come last, after a kind's own).
pub(crate) fn track_fields() -> Result<Vec<Field>, BoxError> {
    let t = |name: &str, ty: DataType, dims: &[&str], uniform: Vec<Option<i32>>| {
        variable_shape_tensor_field(
            name,
            ty,
            dims.len(),
            Some(dims.iter().map(|s| s.to_string()).collect()),
            Some(uniform),
        )
    };
    Ok(vec![
        Field::new("sample_id", DataType::Utf8, false),
        Field::new("video_id", DataType::Utf8, false),
        Field::new("track_id", DataType::Int64, false),
        Field::new("generation", DataType::Utf8, false),
        Field::new("num_frames", DataType::Int32, false),
        Field::new("num_detections", DataType::Int32, false),
        Field::new("first_frame", DataType::Int64, false),
        Field::new("last_frame", DataType::Int64, false),
        t("frame", DataType::Int64, &["frame"], vec![None])?,
        t("time", DataType::Float64, &["frame"], vec![None])?,
        t("bbox", DataType::Float32, &["frame", "xywh"], vec![None, Some(4)])?,
        t("conf", DataType::Float32, &["frame"], vec![None])?,
        t("pose229", DataType::Float32, &["frame", "pose"], vec![None, Some(POSE_DIM as i32)])?,
        t("joints3d", DataType::Float32, &["frame", "joint", "xyz"], vec![None, Some(JOINTS as i32), Some(3)])?,
        t("appearance", DataType::Float32, &["frame", "feature"], vec![None, None])?,
        t("has_detection", DataType::UInt8, &["frame"], vec![None])?,
    ])
}

/// `source_file`, `source_blake3`: the last columns of both tables.
pub(crate) fn provenance_fields() -> [Field; 2] {
    [Field::new("source_file", DataType::Utf8, false), Field::new("source_blake3", DataType::Utf8, false)]
}

fn schema() -> Result<SchemaRef, BoxError> {
    let mut fields = track_fields()?;
    fields.extend(provenance_fields());
    Ok(Arc::new(Schema::new(fields)))
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

/// Builders of the [`track_fields`] columns.
pub(crate) struct TrackColumns {
    sample_id: Vec<String>,
    video_id: Vec<String>,
    track_id: Vec<i64>,
    generation: Vec<&'static str>,
    num_frames: Vec<i32>,
    num_detections: Vec<i32>,
    first: Vec<i64>,
    last: Vec<i64>,
    frame: VariableShapeTensorBuilder<Int64Type>,
    time: VariableShapeTensorBuilder<Float64Type>,
    bbox: VariableShapeTensorBuilder<Float32Type>,
    conf: VariableShapeTensorBuilder<Float32Type>,
    pose: VariableShapeTensorBuilder<Float32Type>,
    joints: VariableShapeTensorBuilder<Float32Type>,
    appearance: VariableShapeTensorBuilder<Float32Type>,
    detected: VariableShapeTensorBuilder<UInt8Type>,
    source_file: Vec<String>,
    source_blake3: Vec<String>,
}

impl TrackColumns {
    pub(crate) fn new() -> Self {
        Self {
            sample_id: Vec::new(),
            video_id: Vec::new(),
            track_id: Vec::new(),
            generation: Vec::new(),
            num_frames: Vec::new(),
            num_detections: Vec::new(),
            first: Vec::new(),
            last: Vec::new(),
            frame: VariableShapeTensorBuilder::new(1),
            time: VariableShapeTensorBuilder::new(1),
            bbox: VariableShapeTensorBuilder::new(2),
            conf: VariableShapeTensorBuilder::new(1),
            pose: VariableShapeTensorBuilder::new(2),
            joints: VariableShapeTensorBuilder::new(3),
            appearance: VariableShapeTensorBuilder::new(2),
            detected: VariableShapeTensorBuilder::new(1),
            source_file: Vec::new(),
            source_blake3: Vec::new(),
        }
    }

    /// Appends one track and its provenance.
    pub(crate) fn push(&mut self, d: &DenseTrack, source: &Source, hash: Fingerprint) -> Result<(), BoxError> {
        let n = d.len();
        self.sample_id.push(d.sample_id());
        self.video_id.push(d.video_id.clone());
        self.track_id.push(d.track_id);
        self.generation.push(d.generation);
        self.num_frames.push(n as i32);
        self.num_detections.push(d.detected.iter().map(|&x| x as i32).sum());
        self.first.push(d.frame.first().copied().unwrap_or(0));
        self.last.push(d.frame.last().copied().unwrap_or(0));
        self.frame.push(&[n], &d.frame)?;
        self.time.push(&[n], &d.time)?;
        self.bbox.push(&[n, 4], &d.bbox)?;
        self.conf.push(&[n], &d.conf)?;
        self.pose.push(&[n, POSE_DIM], &d.pose)?;
        self.joints.push(&[n, JOINTS, 3], &d.joints)?;
        self.appearance.push(&[n, d.appearance_dim], &d.appearance)?;
        self.detected.push(&[n], &d.detected)?;
        self.source_file.push(source.display.clone());
        self.source_blake3.push(hash.to_hex());
        Ok(())
    }

    /// The [`track_fields`] arrays and the two [`provenance_fields`] arrays.
    pub(crate) fn finish(self) -> Result<(Vec<ArrayRef>, [ArrayRef; 2]), BoxError> {
        let track: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from(self.sample_id)),
            Arc::new(StringArray::from(self.video_id)),
            Arc::new(Int64Array::from(self.track_id)),
            Arc::new(StringArray::from(self.generation)),
            Arc::new(Int32Array::from(self.num_frames)),
            Arc::new(Int32Array::from(self.num_detections)),
            Arc::new(Int64Array::from(self.first)),
            Arc::new(Int64Array::from(self.last)),
            self.frame.finish()?,
            self.time.finish()?,
            self.bbox.finish()?,
            self.conf.finish()?,
            self.pose.finish()?,
            self.joints.finish()?,
            self.appearance.finish()?,
            self.detected.finish()?,
        ];
        let provenance: [ArrayRef; 2] =
            [Arc::new(StringArray::from(self.source_file)), Arc::new(StringArray::from(self.source_blake3))];
        Ok((track, provenance))
    }
}

/// A track, the index of its source and the source's hash.
pub(crate) type SourcedTrack = (DenseTrack, usize, Fingerprint);

/// Flattens per-file results into tracks sorted by (video, track), failing
/// or quarantining unreadable files per `on_error`; a (video, track) found
/// in two files is an error naming both.
pub(crate) fn gather_tracks(
    sources: &[Source],
    results: Vec<FileTracks>,
    on_error: OnError,
) -> Result<(Vec<SourcedTrack>, Vec<Reject>), BoxError> {
    let mut rejects = Vec::new();
    let mut tracks: Vec<SourcedTrack> = Vec::new();
    for (i, (source, result)) in sources.iter().zip(results).enumerate() {
        match result {
            Ok((list, hash)) => tracks.extend(list.into_iter().map(|t| (t, i, hash))),
            Err((message, err)) => match (on_error, err) {
                (OnError::Fail, Some(e)) => return Err(with_hint(e)),
                (OnError::Fail, None) => return Err(message.into()),
                (OnError::Skip, Some(e)) => rejects.push(Reject::from_error(&source.stem(), source, &e)),
                (OnError::Skip, None) => rejects.push(Reject::other(&source.stem(), source, message)),
            },
        }
    }
    tracks.sort_by(|a, b| (&a.0.video_id, a.0.track_id).cmp(&(&b.0.video_id, b.0.track_id)));
    if let Some(w) =
        tracks.windows(2).find(|w| (&w[0].0.video_id, w[0].0.track_id) == (&w[1].0.video_id, w[1].0.track_id))
    {
        return Err(format!(
            "track {} of video `{}` appears in two files: `{}` and `{}`",
            w[0].0.track_id, w[0].0.video_id, sources[w[0].1].display, sources[w[1].1].display
        )
        .into());
    }
    Ok((tracks, rejects))
}

/// One PHALP file's dense tracks and content hash, or why it failed (the
/// message, and the reader error when there is one).
pub(crate) type FileTracks = Result<(Vec<DenseTrack>, Fingerprint), (String, Option<actionbench_formats::Error>)>;

/// Reads every PHALP source into dense tracks (in parallel); failures are
/// returned per file.
pub(crate) fn read_tracks(
    sources: &[Source],
    fps: f64,
    offset: f64,
    appearance: bool,
    min_length: usize,
) -> Vec<FileTracks> {
    parallel_map(sources, |source| {
        let bytes = read_source(source).map_err(|e| (e.to_string(), Some(e)))?;
        let file = parse_phalp(&bytes, source.shown()).map_err(|e| (e.to_string(), Some(e)))?;
        let video = video_id(&file, source);
        let mut out = Vec::with_capacity(file.tracks.len());
        for track in file.tracks.iter().filter(|t| t.len() >= min_length) {
            out.push(
                densify(&file, &video, track, fps, offset, appearance)
                    .map_err(|m| (format!("`{}`: {m}", source.display), None))?,
            );
        }
        Ok((out, source.content_hash(&bytes)))
    })
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

impl StageKind for IngestPhalp {
    fn name(&self) -> &'static str {
        "ingest.phalp"
    }

    fn implementation_version(&self) -> u32 {
        1
    }
    fn description(&self) -> &'static str {
        "PHALP tracking results (both generations, zlib or plain joblib) → one row per (video, track)."
    }

    type Params = IngestPhalpParams;
    fn check(&self, p: &IngestPhalpParams) -> Result<(), ParamError> {
        if !(p.fps.is_finite() && p.fps > 0.0) {
            return Err(format!("`fps` must be a positive number, found {}", p.fps).into());
        }
        if !p.time_offset.is_finite() {
            return Err("`time-offset` must be finite".into());
        }
        if p.lart_export.as_deref().is_some_and(|d| d.is_empty() || d.contains(['/', '\\'])) {
            return Err("`lart-export` must be a dataset tag such as \"ava-val\" (no `/`)".into());
        }
        Ok(())
    }

    fn run(&self, ctx: &StageContext<'_>, p: &IngestPhalpParams) -> Result<(), StageError> {
        let (sources, ignored) = collect_sources(ctx, is_phalp_file)?;
        let results = read_tracks(&sources, p.fps, p.time_offset, p.appearance, p.min_length.max(1));
        let (tracks, rejects) = gather_tracks(&sources, results, p.on_error)?;
        let schema = schema()?;
        let mut writer = table_writer(ctx, schema.clone(), p.rows_per_shard)?;
        for chunk in tracks.chunks(p.rows_per_shard.max(1)) {
            let mut columns = TrackColumns::new();
            for (track, i, hash) in chunk {
                columns.push(track, &sources[*i], *hash)?;
                if let Some(tag) = &p.lart_export {
                    write_lart(ctx, &track.lart(tag))?;
                }
            }
            let (mut arrays, provenance) = columns.finish()?;
            arrays.extend(provenance);
            writer.write(&RecordBatch::try_new(schema.clone(), arrays)?)?;
        }
        finish_ingest(ctx, writer, rejects, p.on_error, |rejected| {
            serde_json::json!({
                "kind": "ingest.phalp",
                "rows": tracks.len(),
                "files": sources.len(),
                "rejected": rejected,
                "ignored_files": ignored,
                "lart_files": if p.lart_export.is_some() { tracks.len() } else { 0 },
            })
        })?;
        Ok(())
    }
}
