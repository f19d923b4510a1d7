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
//! counted in `_ingest.json`. `label-format` is any `ingest.labels` format
//! (`kinetics-csv`, `sth-items`, `diving48`, `ucf101-list`, `isogd-list`,
//! `ntu-names`). IsoGD lists (`isogd-list`) name the RGB video
//! `train/001/M_00001.avi`, joined by its stem `M_00001`; IsoGD numbers
//! files per split, so the inputs hold one split's videos. NTU RGB+D videos
//! carry their label in the name: `label-format = "ntu-names"` without
//! `labels` labels every video from its id (`S001C002P003R002A013_rgb` →
//! label 12; a video whose id is no NTU name is an error, or a reject under
//! `on-error = "skip"`), with `labels` (a list of names) only the listed
//! ones; `classes` (one name per line) names the labels in both cases.
//!
//! ```toml
//! [stages.isogd_train]
//! uses = "ingest.video"
//! inputs = ["data/isogd/train", "data/isogd/train_list.txt"]
//! params = { fps = 10.0, short-side = 128, labels = "data/isogd/train_list.txt", label-format = "isogd-list" }
//!
//! [stages.ntu120]
//! uses = "ingest.video"
//! inputs = ["data/ntu120/nturgb+d_rgb", "data/ntu120/label_map.txt"]
//! params = { fps = 10.0, short-side = 128, label-format = "ntu-names", classes = "data/ntu120/label_map.txt" }
//! ```
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
//! | `label`, `label_name`, `split` | int64 / utf8 (null) | with `labels` (or `label-format = "ntu-names"`) only |
//! | `setup`, `camera`, `subject`, `replication`, `action` | int32 (null) | `ntu-names` only: the name's fields (`subject` is the performer; `action` 1-based) |
//! | `xsub`, `xview`, `xset` | utf8 (null) | `ntu-names` only: official split, `train` or `val` (`xview` is NTU60's benchmark, `xset` NTU120's) |
//! | `source_file`, `source_blake3` | utf8 | provenance |
//! | `frames` | list<binary> (JPEG files) or tensor uint8 `[T, H, W, 3]` | the pixels |

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use actionbench_core::{Diagnostic, hash_file};
use actionbench_formats::video_labels::{VideoLabel, VideoLabelFormat, ntu_video_label};
use actionbench_pipeline::{ParamError, StageContext};
use actionbench_video::{Clip, Crop, DecodeSummary, FrameFormat, SampleOptions, VideoError};
use arrow::array::{Int64Builder, ListBuilder};
use arrow::datatypes::{DataType, Field};
use serde::{Deserialize, Serialize};

use crate::frames::{FramesParam, rgb_column};
use actionbench_stages::ingest::{BoxError, OnError, Source};
use actionbench_stages::ingest_labels::{LabelIndex, check_format, load_class_names, load_label_files, ntu_columns};
use actionbench_stages::sample_format::{Batching, Columns, Counts, Ids, Ingest, Preparing, SampleError, SampleFormat};

/// File extensions taken as videos by default.
const VIDEO_EXTENSIONS: &[&str] = &["mp4", "avi", "webm", "mkv", "mov", "m4v", "mpg", "mpeg", "flv", "3gp", "ogv"];

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
    /// The format of `labels`: `kinetics-csv`, `sth-items`, `diving48`, `ucf101-list`, `isogd-list` or
    /// `ntu-names`; `ntu-names` without `labels` labels every video from its own NTU RGB+D name.
    #[serde(default)]
    label_format: Option<String>,
    /// The class list of `labels` (also in `inputs`), for the formats that need one (with
    /// `ntu-names`, names for its labels, one per line).
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
    /// Succeed with an empty table when the inputs hold no file this kind
    /// reads (by default that is an error naming the files it ignored).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    allow_empty: bool,
}
actionbench_stages::ingest_params!(IngestVideoParams);

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
            (None, Some(f)) => {
                if check_format(f, self.classes.as_deref())? != VideoLabelFormat::NtuNames {
                    return Err(format!(
                        "`label-format` = `{f}` needs `labels` (only `ntu-names` labels videos by their own names)"
                    ));
                }
            }
            (None, None) if self.classes.is_some() => return Err("`classes` needs `labels`".into()),
            (None, None) => {}
        }
        Ok(())
    }
}

/// The `ingest.video` kind.
pub type IngestVideo = Ingest<VideoFormat>;

/// Video files as a [`SampleFormat`]: one file, one video, one row per
/// clip; the video id comes from the path, so videos are decoded in id
/// order, `parallel` at a time.
pub struct VideoFormat;

/// Where the videos' labels come from.
pub enum VideoLabels {
    /// No `labels` and no `label-format`.
    None,
    /// The rows of the `labels` file by video id; only these videos are read.
    Listed {
        /// `label-format`.
        format: VideoLabelFormat,
        /// The file's rows.
        index: LabelIndex,
    },
    /// `label-format = "ntu-names"` without `labels`: each video's own name,
    /// its labels named by `classes` when given.
    NtuNames(Option<Vec<String>>),
}

impl VideoLabels {
    /// Whether the table has label columns.
    fn present(&self) -> bool {
        !matches!(self, Self::None)
    }

    /// Whether the table has the NTU name columns.
    fn ntu(&self) -> bool {
        matches!(self, Self::NtuNames(_) | Self::Listed { format: VideoLabelFormat::NtuNames, .. })
    }
}

/// What one video shares with its clips.
struct VideoOf {
    id: String,
    source_file: String,
    hash: String,
    summary: DecodeSummary,
    label: Option<VideoLabel>,
}

/// One clip's row.
pub struct VideoClip {
    sample_id: String,
    clip: Clip,
    video: Arc<VideoOf>,
}

impl VideoClip {
    fn label(&self) -> Option<&VideoLabel> {
        self.video.label.as_ref()
    }
}

/// Videos counted for the summary.
#[derive(Default, Serialize, Deserialize)]
pub struct VideoCounts {
    videos: u64,
    decoded_frames: u64,
    sampled_frames: u64,
    unlisted: usize,
    listed: usize,
}
actionbench_stages::merge_tally!(VideoCounts { videos, decoded_frames, sampled_frames, unlisted, listed });

impl VideoFormat {
    fn video_id(&self, source: &Source, p: &IngestVideoParams) -> String {
        match p.video_id {
            VideoIdParam::Stem => source.stem(),
            VideoIdParam::Parent => source
                .path
                .parent()
                .and_then(|d| d.file_name())
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        }
    }
}

impl SampleFormat for VideoFormat {
    type Params = IngestVideoParams;
    /// The videos of the `labels` file, or how names give labels.
    type Prepared = VideoLabels;
    type Sample = VideoClip;
    type Tally = VideoCounts;
    const IDS: Ids = Ids::ByKey;
    const NAME: &'static str = "ingest.video";
    const VERSION: u32 = 1;
    const DESCRIPTION: &'static str =
        "Video files (mp4, avi, webm, mkv, … through FFmpeg) → one row per clip of sampled frames.";

    fn check(&self, p: &IngestVideoParams) -> Result<(), ParamError> {
        p.check()?;
        Ok(())
    }

    fn tool_versions(&self) -> BTreeMap<String, String> {
        crate::libav_versions()
    }

    fn prepare(
        &self,
        ctx: &StageContext<'_>,
        p: &IngestVideoParams,
        _: &mut Preparing,
    ) -> Result<VideoLabels, BoxError> {
        let Some(format) = &p.label_format else { return Ok(VideoLabels::None) };
        let format = check_format(format, p.classes.as_deref())?;
        let Some(file) = &p.labels else {
            let classes = p.classes.as_deref().map(|c| load_class_names(ctx, c)).transpose()?;
            return Ok(VideoLabels::NtuNames(classes));
        };
        let label_source = actionbench_stages::ingest::param_file(ctx, "labels", file)?;
        let (index, _) = load_label_files(ctx, format, p.classes.as_deref(), |path| path == label_source.path)?;
        Ok(VideoLabels::Listed { format, index })
    }

    fn reads(&self, p: &IngestVideoParams) -> String {
        format!(
            "video files with the extensions {} (`extensions`)",
            p.extensions.iter().map(|e| format!("`{e}`")).collect::<Vec<_>>().join(", ")
        )
    }

    fn accepts(&self, path: &Path, p: &IngestVideoParams) -> bool {
        path.extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| p.extensions.iter().any(|x| x.trim_start_matches('.').eq_ignore_ascii_case(e)))
    }

    /// `<video_id>/`: the prefix of the video's clip ids. Under `ntu-names`
    /// without `labels`, a video whose id is no NTU name fails here, before
    /// it is decoded.
    fn key(&self, source: &Source, p: &IngestVideoParams) -> Result<String, SampleError> {
        let id = self.video_id(source, p);
        if p.labels.is_none() && p.label_format.as_deref() == Some("ntu-names") {
            ntu_video_label(&id, source.shown(), None)?;
        }
        Ok(format!("{id}/"))
    }

    /// With `labels`, only the videos it lists.
    fn admit(
        &self,
        key: &str,
        _: &Source,
        _: &IngestVideoParams,
        labels: &VideoLabels,
        counts: &mut VideoCounts,
    ) -> bool {
        let VideoLabels::Listed { index: map, .. } = labels else { return true };
        let listed = map.contains_key(key.strip_suffix('/').unwrap_or(key));
        if listed {
            counts.listed += 1;
        } else {
            counts.unlisted += 1;
        }
        listed
    }

    fn read(
        &self,
        source: &Source,
        p: &IngestVideoParams,
        labels: &VideoLabels,
    ) -> Result<Vec<VideoClip>, SampleError> {
        let id = self.video_id(source, p);
        let label = match labels {
            VideoLabels::None => None,
            VideoLabels::Listed { index, .. } => index.get(&id).map(|l| l.0.clone()),
            VideoLabels::NtuNames(classes) => Some(ntu_video_label(&id, source.shown(), classes.as_deref())?),
        };
        let hash = match source.known_hash {
            Some(h) => h,
            None => hash_file(&source.path).map_err(|e| {
                SampleError::Diagnosed(Diagnostic::new(VideoError::Io {
                    path: source.shown().to_path_buf(),
                    source: e,
                }))
            })?,
        };
        let (summary, clips) = actionbench_video::decode_clips(&source.path, &p.sample_options())
            .map_err(|e| SampleError::Diagnosed(Diagnostic::new(rename(e, source))))?;
        let video = Arc::new(VideoOf { id, source_file: source.display.clone(), hash: hash.to_hex(), summary, label });
        Ok(clips
            .into_iter()
            .map(|clip| VideoClip { sample_id: format!("{}/{:05}", video.id, clip.index), clip, video: video.clone() })
            .collect())
    }

    fn sample_id<'s>(&self, clip: &'s VideoClip) -> &'s str {
        &clip.sample_id
    }

    fn columns(&self, p: &IngestVideoParams, labels: &VideoLabels) -> Result<Columns<VideoClip>, BoxError> {
        let target_fps = p.fps;
        let columns = Columns::<VideoClip>::new()
            .utf8("sample_id", |c| &c.sample_id)
            .utf8("video_id", |c| &c.video.id)
            .int32("clip_index", |c| c.clip.index as i32)
            .int64("start_frame", |c| c.clip.start_frame as i64)
            .int64("end_frame", |c| c.clip.end_frame as i64)
            .int64("start_pts", |c| c.clip.start_pts)
            .int64("end_pts", |c| c.clip.end_pts)
            .float64("start_s", |c| c.clip.start_s)
            .float64("end_s", |c| c.clip.end_s)
            .column(
                Field::new(
                    "frame_indices",
                    DataType::List(Arc::new(Field::new_list_field(DataType::Int64, true))),
                    false,
                ),
                |clips| {
                    let mut idx = ListBuilder::new(Int64Builder::new());
                    for c in clips {
                        idx.values().append_slice(&c.clip.frame_indices.iter().map(|&v| v as i64).collect::<Vec<_>>());
                        idx.append(true);
                    }
                    Ok(Arc::new(idx.finish()))
                },
            )
            .int32("num_frames", |c| c.clip.frame_indices.len() as i32)
            .float64("fps", move |c| target_fps.unwrap_or(c.video.summary.info.fps))
            .float64("source_fps", |c| c.video.summary.info.fps)
            .int32("width", |c| c.clip.width as i32)
            .int32("height", |c| c.clip.height as i32)
            .utf8("codec", |c| &c.video.summary.info.codec)
            .int32("rotation", |c| c.video.summary.info.rotation as i32)
            .bool("variable_frame_rate", |c| c.video.summary.info.variable_frame_rate)
            .when(labels.present(), |columns| {
                columns
                    .int64_opt("label", |c| c.label().and_then(|l| l.label))
                    .utf8_opt("label_name", |c| c.label().and_then(|l| l.label_name.as_deref()))
                    .utf8_opt("split", |c| c.label().and_then(|l| l.split.as_deref()))
            })
            .when(labels.ntu(), |columns| ntu_columns(columns, |c| c.label().and_then(|l| l.ntu)))
            .utf8("source_file", |c| &c.video.source_file)
            .utf8("source_blake3", |c| &c.video.hash);
        rgb_column(columns, "frames", p.frames, |c: &VideoClip| {
            (&c.clip.frames, c.clip.height as usize, c.clip.width as usize)
        })
    }

    /// One batch per video, so the Parquet bytes do not depend on `parallel`.
    fn batching(&self, _: &IngestVideoParams) -> Batching {
        Batching::PerSource
    }

    /// `parallel` videos at a time (default: the number of cores).
    fn read_chunk(&self, p: &IngestVideoParams, remaining: usize) -> usize {
        remaining.min(p.parallel.unwrap_or_else(rayon::current_num_threads).max(1))
    }

    fn reject_name(&self, key: Option<&str>, source: &Source) -> String {
        key.map_or_else(|| source.stem(), |k| k.strip_suffix('/').unwrap_or(k).to_string())
    }

    fn duplicate(&self, key: &str, first: &Source, second: &Source) -> String {
        format!(
            "video id `{}` appears twice: `{}` and `{}`; ids are file stems (`video-id = \"parent\"` uses folder names)",
            key.strip_suffix('/').unwrap_or(key),
            first.display,
            second.display
        )
    }

    fn tally(&self, counts: &mut VideoCounts, clips: &[VideoClip]) {
        if let Some(first) = clips.first() {
            counts.videos += 1;
            counts.decoded_frames += first.video.summary.decoded_frames;
            counts.sampled_frames += first.video.summary.sampled_frames;
        }
    }

    fn summary(
        &self,
        counts: Counts,
        _: &IngestVideoParams,
        labels: &VideoLabels,
        n: VideoCounts,
    ) -> serde_json::Value {
        serde_json::json!({
            "kind": "ingest.video",
            "rows": counts.rows,
            "videos": n.videos,
            "rejected": counts.rejected,
            "decoded_frames": n.decoded_frames,
            "sampled_frames": n.sampled_frames,
            "unlisted_videos": n.unlisted,
            "labels_without_video": match labels {
                VideoLabels::Listed { index, .. } => index.len() - n.listed,
                _ => 0,
            },
            "ignored_files": counts.ignored,
            "libav": actionbench_video::libav_version(),
        })
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
