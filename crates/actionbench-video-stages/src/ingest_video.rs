//! `ingest.video`: video files (mp4, avi, webm, mkv, … through FFmpeg) →
//! one row per clip of sampled frames.
//!
//! ```toml
//! [stages.videos]
//! uses = "ingest.video"
//! inputs = ["data/videos", "data/kinetics/train.csv"]
//! params = { fps = 10.0, clip-len = 16, short-side = 128, frames = "jpeg", jpeg-quality = 90,
//!            labels = "data/kinetics/train.csv", label-format = "kinetics-csv", on-error = "skip" }
//! ```
//!
//! Sampling is by presentation timestamp: output frame k is the first decoded
//! frame whose time is ≥ k / `fps` (every frame when `fps` is absent); clips
//! of `clip-len` sampled frames start every `clip-stride` (default
//! `clip-len`); a video shorter than one clip gives one short clip; without
//! `clip-len` each video is one clip. Frames are resized so the short side is
//! `short-side` (aspect kept), rotated as players do, optionally centre-cropped
//! to a square, and stored as JPEG (`frames = "jpeg"`) or raw RGB
//! (`frames = "raw"`, zstd-compressed in Parquet). Videos are decoded in
//! parallel, `parallel` at a time (bounded memory); each decoder uses
//! `decoder-threads` threads, which does not change any pixel. The linked
//! libav version is part of the stage key.
//!
//! The video id is the file stem (`video-id = "parent"`: the folder holding
//! the file, for layouts like `<clip>/rgb.mp4`). With `labels`, only videos listed in that label file (matched by file
//! stem) are ingested; listed videos with no file and files not listed are
//! counted in `_ingest.json`.
//!
//! | column | type | meaning |
//! | --- | --- | --- |
//! | `sample_id` | utf8 | `<video_id>/<clip_index:05>` (rows sorted by it) |
//! | `video_id` | utf8 | file stem (or folder name) |
//! | `clip_index` | int32 | 0-based clip number in the video |
//! | `start_frame`, `end_frame` | int64 | decoded-frame indices (presentation order) of the first and last frame |
//! | `start_pts`, `end_pts` | int64 | their pts in the stream time base |
//! | `start_s`, `end_s` | float64 | their time in seconds from the first frame |
//! | `frame_indices` | list<int64> | decoded-frame index of every clip frame |
//! | `num_frames` | int32 | T |
//! | `fps` | float64 | frames per second of the clip (`fps` param, else the source's) |
//! | `source_fps` | float64 | the video's average frame rate |
//! | `width`, `height` | int32 | frame size after resize/crop |
//! | `codec` | utf8 | source codec |
//! | `rotation` | int32 | clockwise display rotation applied (0/90/180/270) |
//! | `variable_frame_rate` | bool | packet durations differ |
//! | `label`, `label_name`, `split` | int64 / utf8 (null) | with `labels` only |
//! | `source_file`, `source_blake3` | utf8 | provenance |
//! | `frames` | list<binary> (JPEG files) or tensor uint8 `[T, H, W, 3]` | the pixels |

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use actionbench_core::hash_file;
use actionbench_formats::video_labels::VideoLabel;
use actionbench_pipeline::{ParamError, StageContext, StageError, StageKind};
use actionbench_shards::tensor::{VariableShapeTensorBuilder, variable_shape_tensor_field};
use actionbench_video::{Clip, ClipFrames, Crop, DecodeSummary, FrameFormat, SampleOptions, VideoError};
use arrow::array::{
    ArrayRef, BinaryBuilder, BooleanArray, Float64Array, Int32Array, Int64Array, Int64Builder, ListBuilder,
    RecordBatch, StringArray,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, UInt8Type};
use serde::{Deserialize, Serialize};

use actionbench_stages::ingest::{
    BoxError, OnError, Reject, Source, collect_sources, finish_ingest, parallel_map, table_writer,
};
use actionbench_stages::ingest_labels::{check_format, load_label_files};

/// File extensions taken as videos by default.
const VIDEO_EXTENSIONS: &[&str] = &["mp4", "avi", "webm", "mkv", "mov", "m4v", "mpg", "mpeg", "flv", "3gp", "ogv"];

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
enum FramesParam {
    #[default]
    Jpeg,
    Raw,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
enum CropParam {
    #[default]
    None,
    Center,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
enum VideoIdParam {
    #[default]
    Stem,
    Parent,
}

/// Params of `ingest.video`.
#[derive(Debug, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct IngestVideoParams {
    /// Target frames per second (every frame when absent).
    #[serde(default)]
    fps: Option<f64>,
    /// Sampled frames per clip (the whole video when absent).
    #[serde(default)]
    clip_len: Option<usize>,
    /// Sampled frames between clip starts (default `clip-len`).
    #[serde(default)]
    clip_stride: Option<usize>,
    /// Resize so the shorter side is this long.
    #[serde(default)]
    short_side: Option<u32>,
    /// `none` or `center` (centred square).
    #[serde(default)]
    crop: CropParam,
    /// `jpeg` or `raw`.
    #[serde(default)]
    frames: FramesParam,
    /// JPEG quality 1–100.
    #[serde(default = "default_quality")]
    jpeg_quality: u8,
    /// A label file (also in `inputs`) whose rows label the videos by id.
    #[serde(default)]
    labels: Option<String>,
    /// The format of `labels`: `kinetics-csv`, `sth-items`, `diving48` or `ucf101-list`.
    #[serde(default)]
    label_format: Option<String>,
    /// The class list of `labels` (also in `inputs`), for the formats that need one.
    #[serde(default)]
    classes: Option<String>,
    /// Video id: `stem` (file name without extension) or `parent` (the folder
    /// holding the file, for layouts like `<clip>/rgb.mp4`).
    #[serde(default)]
    video_id: VideoIdParam,
    /// Extensions taken as videos (without the dot).
    #[serde(default = "default_extensions")]
    extensions: Vec<String>,
    /// `fail` (default) or `skip` (bad videos go to `rejects/`).
    #[serde(default)]
    on_error: OnError,
    /// Videos decoded at the same time (default: the number of cores).
    #[serde(default)]
    parallel: Option<usize>,
    /// Threads per decoder.
    #[serde(default = "one")]
    decoder_threads: usize,
    /// Rows per Parquet file.
    #[serde(default = "default_rows")]
    rows_per_shard: usize,
}

fn default_quality() -> u8 {
    90
}
fn default_extensions() -> Vec<String> {
    VIDEO_EXTENSIONS.iter().map(|s| s.to_string()).collect()
}
fn one() -> usize {
    1
}
fn default_rows() -> usize {
    256
}

impl IngestVideoParams {
    fn sample_options(&self) -> SampleOptions {
        SampleOptions {
            target_fps: self.fps,
            clip_len: self.clip_len,
            clip_stride: self.clip_stride,
            short_side: self.short_side,
            crop: match self.crop {
                CropParam::None => Crop::None,
                CropParam::Center => Crop::CenterSquare,
            },
            format: match self.frames {
                FramesParam::Jpeg => FrameFormat::Jpeg { quality: self.jpeg_quality },
                FramesParam::Raw => FrameFormat::Raw,
            },
            decoder_threads: self.decoder_threads.max(1),
        }
    }

    fn check(&self) -> Result<(), String> {
        if let Some(f) = self.fps
            && !(f.is_finite() && (0.001..=1000.0).contains(&f))
        {
            return Err(format!("`fps` = {f} is not in 0.001..=1000"));
        }
        if self.clip_len == Some(0) || self.clip_stride == Some(0) {
            return Err("`clip-len` and `clip-stride` must be at least 1".into());
        }
        if self.clip_stride.is_some() && self.clip_len.is_none() {
            return Err("`clip-stride` needs `clip-len`".into());
        }
        if self.short_side == Some(0) {
            return Err("`short-side` must be at least 1".into());
        }
        if !(1..=100).contains(&self.jpeg_quality) {
            return Err(format!("`jpeg-quality` = {} is not in 1..=100", self.jpeg_quality));
        }
        if self.parallel == Some(0) || self.decoder_threads == 0 {
            return Err("`parallel` and `decoder-threads` must be at least 1".into());
        }
        match (&self.labels, &self.label_format) {
            (Some(_), Some(f)) => {
                check_format(f, self.classes.as_deref())?;
            }
            (Some(_), None) => return Err("`labels` needs `label-format`".into()),
            (None, Some(_)) => return Err("`label-format` needs `labels`".into()),
            (None, None) if self.classes.is_some() => return Err("`classes` needs `labels`".into()),
            (None, None) => {}
        }
        Ok(())
    }
}

/// The `ingest.video` kind.
pub struct IngestVideo;

fn schema(frames: FramesParam, labelled: bool) -> Result<SchemaRef, BoxError> {
    let int = |n: &str| Field::new(n, DataType::Int32, false);
    let long = |n: &str| Field::new(n, DataType::Int64, false);
    let float = |n: &str| Field::new(n, DataType::Float64, false);
    let text = |n: &str| Field::new(n, DataType::Utf8, false);
    let mut fields = vec![
        text("sample_id"),
        text("video_id"),
        int("clip_index"),
        long("start_frame"),
        long("end_frame"),
        long("start_pts"),
        long("end_pts"),
        float("start_s"),
        float("end_s"),
        Field::new("frame_indices", DataType::List(Arc::new(Field::new_list_field(DataType::Int64, true))), false),
        int("num_frames"),
        float("fps"),
        float("source_fps"),
        int("width"),
        int("height"),
        text("codec"),
        int("rotation"),
        Field::new("variable_frame_rate", DataType::Boolean, false),
    ];
    if labelled {
        fields.push(Field::new("label", DataType::Int64, true));
        fields.push(Field::new("label_name", DataType::Utf8, true));
        fields.push(Field::new("split", DataType::Utf8, true));
    }
    fields.push(text("source_file"));
    fields.push(text("source_blake3"));
    fields.push(match frames {
        FramesParam::Jpeg => {
            Field::new("frames", DataType::List(Arc::new(Field::new_list_field(DataType::Binary, true))), false)
        }
        FramesParam::Raw => variable_shape_tensor_field(
            "frames",
            DataType::UInt8,
            4,
            Some(["frame", "height", "width", "channel"].iter().map(|s| s.to_string()).collect()),
            Some(vec![None, None, None, Some(3)]),
        )?,
    });
    Ok(Arc::new(Schema::new(fields)))
}

/// One decoded video waiting to become rows.
struct Decoded {
    video_id: String,
    source: Source,
    hash: String,
    summary: DecodeSummary,
    clips: Vec<Clip>,
}

#[derive(Default)]
struct Columns {
    rows: Vec<(String, String, usize)>, // sample_id, video_id, decoded index
    clip_index: Vec<i32>,
    ints64: [Vec<i64>; 4],
    secs: [Vec<f64>; 2],
    frame_indices: Vec<Vec<u64>>,
    num_frames: Vec<i32>,
    fps: Vec<f64>,
    source_fps: Vec<f64>,
    size: [Vec<i32>; 2],
    codec: Vec<String>,
    rotation: Vec<i32>,
    vfr: Vec<bool>,
    label: Vec<Option<i64>>,
    label_name: Vec<Option<String>>,
    split: Vec<Option<String>>,
    source_file: Vec<String>,
    source_blake3: Vec<String>,
    jpeg: Vec<Vec<Vec<u8>>>,
    raw: Vec<(Vec<usize>, Vec<u8>)>,
}

impl Columns {
    fn push(&mut self, v: &mut Decoded, target_fps: Option<f64>, label: Option<&VideoLabel>) {
        for clip in std::mem::take(&mut v.clips) {
            let t = clip.frame_indices.len();
            self.rows.push((format!("{}/{:05}", v.video_id, clip.index), v.video_id.clone(), 0));
            self.clip_index.push(clip.index as i32);
            for (col, val) in self.ints64.iter_mut().zip([
                clip.start_frame as i64,
                clip.end_frame as i64,
                clip.start_pts,
                clip.end_pts,
            ]) {
                col.push(val);
            }
            self.secs[0].push(clip.start_s);
            self.secs[1].push(clip.end_s);
            self.frame_indices.push(clip.frame_indices.clone());
            self.num_frames.push(t as i32);
            self.fps.push(target_fps.unwrap_or(v.summary.info.fps));
            self.source_fps.push(v.summary.info.fps);
            self.size[0].push(clip.width as i32);
            self.size[1].push(clip.height as i32);
            self.codec.push(v.summary.info.codec.clone());
            self.rotation.push(v.summary.info.rotation as i32);
            self.vfr.push(v.summary.info.variable_frame_rate);
            self.label.push(label.and_then(|l| l.label));
            self.label_name.push(label.and_then(|l| l.label_name.clone()));
            self.split.push(label.and_then(|l| l.split.clone()));
            self.source_file.push(v.source.display.clone());
            self.source_blake3.push(v.hash.clone());
            match clip.frames {
                ClipFrames::Jpeg(frames) => {
                    self.jpeg.push(frames);
                }
                ClipFrames::Raw(bytes) => {
                    let shape = vec![t, clip.height as usize, clip.width as usize, 3];
                    self.raw.push((shape, bytes));
                }
            }
        }
    }

    fn take_batch(&mut self, schema: &SchemaRef, labelled: bool, frames: FramesParam) -> Result<RecordBatch, BoxError> {
        let c = std::mem::take(self);
        let mut idx = ListBuilder::new(Int64Builder::new());
        for f in &c.frame_indices {
            idx.values().append_slice(&f.iter().map(|&v| v as i64).collect::<Vec<_>>());
            idx.append(true);
        }
        let [start_frame, end_frame, start_pts, end_pts] = c.ints64;
        let [start_s, end_s] = c.secs;
        let [width, height] = c.size;
        let mut columns: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from_iter_values(c.rows.iter().map(|r| r.0.as_str()))),
            Arc::new(StringArray::from_iter_values(c.rows.iter().map(|r| r.1.as_str()))),
            Arc::new(Int32Array::from(c.clip_index)),
            Arc::new(Int64Array::from(start_frame)),
            Arc::new(Int64Array::from(end_frame)),
            Arc::new(Int64Array::from(start_pts)),
            Arc::new(Int64Array::from(end_pts)),
            Arc::new(Float64Array::from(start_s)),
            Arc::new(Float64Array::from(end_s)),
            Arc::new(idx.finish()),
            Arc::new(Int32Array::from(c.num_frames)),
            Arc::new(Float64Array::from(c.fps)),
            Arc::new(Float64Array::from(c.source_fps)),
            Arc::new(Int32Array::from(width)),
            Arc::new(Int32Array::from(height)),
            Arc::new(StringArray::from(c.codec)),
            Arc::new(Int32Array::from(c.rotation)),
            Arc::new(BooleanArray::from(c.vfr)),
        ];
        if labelled {
            columns.push(Arc::new(Int64Array::from(c.label)));
            columns.push(Arc::new(StringArray::from(c.label_name)));
            columns.push(Arc::new(StringArray::from(c.split)));
        }
        columns.push(Arc::new(StringArray::from(c.source_file)));
        columns.push(Arc::new(StringArray::from(c.source_blake3)));
        match frames {
            FramesParam::Jpeg => {
                let mut b = ListBuilder::new(BinaryBuilder::new());
                for clip in &c.jpeg {
                    for f in clip {
                        b.values().append_value(f);
                    }
                    b.append(true);
                }
                columns.push(Arc::new(b.finish()));
            }
            FramesParam::Raw => {
                let mut b = VariableShapeTensorBuilder::<UInt8Type>::new(4);
                for (shape, data) in &c.raw {
                    b.push(shape, data)?;
                }
                columns.push(b.finish()?);
            }
        }
        Ok(RecordBatch::try_new(schema.clone(), columns)?)
    }
}

impl StageKind for IngestVideo {
    fn name(&self) -> &'static str {
        "ingest.video"
    }

    fn implementation_version(&self) -> u32 {
        1
    }
    fn description(&self) -> &'static str {
        "Video files (mp4, avi, webm, mkv, … through FFmpeg) → one row per clip of sampled frames."
    }

    type Params = IngestVideoParams;
    fn check(&self, p: &IngestVideoParams) -> Result<(), ParamError> {
        p.check()?;
        Ok(())
    }

    fn tool_versions(&self) -> BTreeMap<String, String> {
        crate::libav_versions()
    }

    fn run(&self, ctx: &StageContext<'_>, p: &IngestVideoParams) -> Result<(), StageError> {
        p.check()?;
        let extensions: BTreeSet<String> =
            p.extensions.iter().map(|e| e.trim_start_matches('.').to_ascii_lowercase()).collect();
        let is_video = |path: &std::path::Path| {
            path.extension().and_then(|e| e.to_str()).is_some_and(|e| extensions.contains(&e.to_ascii_lowercase()))
        };
        let labels = match (&p.labels, &p.label_format) {
            (Some(file), Some(format)) => {
                let format = check_format(format, p.classes.as_deref())?;
                let label_source = actionbench_stages::ingest::param_file(ctx, "labels", file)?;
                let (map, _) = load_label_files(ctx, format, p.classes.as_deref(), |path| path == label_source.path)?;
                Some(map)
            }
            _ => None,
        };
        let (sources, ignored) = collect_sources(ctx, is_video)?;
        let id_of = |s: &Source| match p.video_id {
            VideoIdParam::Stem => s.stem(),
            VideoIdParam::Parent => s
                .path
                .parent()
                .and_then(|d| d.file_name())
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        };
        let mut videos: Vec<(String, Source)> = sources.into_iter().map(|s| (id_of(&s), s)).collect();
        videos.sort_by(|a, b| (format!("{}/", a.0), &a.1.display).cmp(&(format!("{}/", b.0), &b.1.display)));
        if let Some(w) = videos.windows(2).find(|w| w[0].0 == w[1].0) {
            return Err(format!(
                "video id `{}` appears twice: `{}` and `{}`; ids are file stems (`video-id = \"parent\"` uses folder names)",
                w[0].0, w[0].1.display, w[1].1.display
            )
            .into());
        }
        let (mut unlisted, mut missing) = (0usize, 0usize);
        if let Some(map) = &labels {
            let before = videos.len();
            videos.retain(|(id, _)| map.contains_key(id));
            unlisted = before - videos.len();
            missing = map.len() - videos.len();
        }

        let labelled = labels.is_some();
        let schema = schema(p.frames, labelled)?;
        let mut writer = table_writer(ctx, schema.clone(), p.rows_per_shard)?;
        let opts = p.sample_options();
        let parallel = p.parallel.unwrap_or_else(rayon::current_num_threads).max(1);
        let mut columns = Columns::default();
        let mut rejects = Vec::new();
        let (mut rows, mut decoded_frames, mut sampled_frames, mut ok_videos) = (0u64, 0u64, 0u64, 0u64);
        let total = videos.len() as u64;
        for (i, chunk) in videos.chunks(parallel).enumerate() {
            let results = parallel_map(chunk, |(id, source)| -> Result<Decoded, VideoError> {
                let hash = match source.known_hash {
                    Some(h) => h,
                    None => hash_file(&source.path)
                        .map_err(|e| VideoError::Io { path: source.shown().to_path_buf(), source: e })?,
                };
                let (summary, clips) =
                    actionbench_video::decode_clips(&source.path, &opts).map_err(|e| rename(e, source))?;
                Ok(Decoded { video_id: id.clone(), source: source.clone(), hash: hash.to_hex(), summary, clips })
            });
            for ((id, source), result) in chunk.iter().zip(results) {
                match result {
                    Ok(mut v) => {
                        rows += v.clips.len() as u64;
                        decoded_frames += v.summary.decoded_frames;
                        sampled_frames += v.summary.sampled_frames;
                        ok_videos += 1;
                        let label = labels.as_ref().and_then(|m| m.get(id)).map(|l| &l.0);
                        columns.push(&mut v, p.fps, label);
                        // One batch per video, so the Parquet bytes do not depend on `parallel`.
                        if !columns.rows.is_empty() {
                            writer.write(&columns.take_batch(&schema, labelled, p.frames)?)?;
                        }
                    }
                    Err(e) => match p.on_error {
                        OnError::Fail => {
                            return Err(Box::new(actionbench_core::Diagnostic::new(e)));
                        }
                        OnError::Skip => rejects.push(Reject::other(id, source, e.to_string())),
                    },
                }
            }
            ctx.progress(((i + 1) * parallel).min(videos.len()) as u64, Some(total));
        }
        finish_ingest(ctx, writer, rejects, p.on_error, |rejected| {
            serde_json::json!({
                "kind": "ingest.video",
                "rows": rows,
                "videos": ok_videos,
                "rejected": rejected,
                "decoded_frames": decoded_frames,
                "sampled_frames": sampled_frames,
                "unlisted_videos": unlisted,
                "labels_without_video": missing,
                "ignored_files": ignored,
                "libav": actionbench_video::libav_version(),
            })
        })?;
        Ok(())
    }
}

/// Errors name the file as the project shows it, not the absolute path.
fn rename(e: VideoError, source: &Source) -> VideoError {
    let shown = source.shown().to_path_buf();
    match e {
        VideoError::Io { source: s, .. } => VideoError::Io { path: shown, source: s },
        VideoError::File { message, hint, .. } => VideoError::File { path: shown, message, hint },
        VideoError::Packet { packet, message, .. } => VideoError::Packet { path: shown, packet, message },
        VideoError::Frame { frame, message, .. } => VideoError::Frame { path: shown, frame, message },
        VideoError::Invalid { message, .. } => VideoError::Invalid { path: shown, message },
    }
}
