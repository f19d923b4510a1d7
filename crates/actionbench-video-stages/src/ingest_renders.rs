//! `ingest.renders`: synthetic render clips (the `synth` generator's layout:
//! `<clip>/clip.json`, `rgb.mp4`, `depth/`, `normals/`, `segmentation/`,
//! `boxes.json`, `joints3d.json`) → one row per clip, every label in one
//! table with a per-sample availability mask, ready for multi-task training.
//!
//! ```toml
//! [stages.renders]
//! uses = "ingest.renders"
//! inputs = ["@synth"]          # or a directory of clip folders
//! params = { frames = "jpeg", jpeg-quality = 90, on-error = "skip" }
//! ```
//!
//! Labels a clip does not carry (`clip.json` `labels`) are empty tensors
//! (first dimension 0) with their `has_*` column false.
//!
//! | column | type | meaning |
//! | --- | --- | --- |
//! | `sample_id` | utf8 | `clip_id` (rows sorted by it) |
//! | `action` | utf8 | class name |
//! | `label`, `subject`, `camera`, `fps`, `width`, `height`, `num_frames` | int32 | from `clip.json` (`label` 0-based) |
//! | `fx`, `fy`, `cx`, `cy` | float64 | pinhole intrinsics in pixels |
//! | `has_rgb`, `has_depth`, `has_normals`, `has_segmentation`, `has_boxes`, `has_joints3d` | bool | availability mask |
//! | `rgb` | list<binary> (JPEG) or tensor uint8 `[T, H, W, 3]` | frames decoded from `rgb.mp4` |
//! | `depth` | tensor uint16 `[T, H, W]` | millimetres along the optical axis, 0 = no surface |
//! | `normals` | tensor uint8 `[T, H, W, 3]` | camera-frame normal n = v / 127.5 − 1; 0,0,0 = background |
//! | `segmentation` | tensor uint8 `[T, H, W]` | 0 = background, k = person k |
//! | `boxes` | tensor float32 `[N, 6]` | rows `frame, id, x1, y1, x2, y2` (pixels); id k = person k, or the layout scene's object (its segmentation id) |
//! | `joints3d` | tensor float32 `[T, P, 25, 3]` | camera frame, metres; NaN where person p is absent |
//! | `domain`, `object`, `composition`, `source` | utf8 (null) | layout scene: `real` / `synthetic`, object name, `seen` / `novel`, synthetic label source |
//! | `object_label`, `shot` | int32 (null) | layout scene: object index; rank among the real clips of its verb |
//! | `task`, `dataset`, `split` | utf8 (null) | gestures scene: `action` / `gesture` (which vocabulary `label` indexes), `actions` / `gestures` / `ntu`, cross-subject `train` / `test` |
//! | `source_dir` | utf8 | the clip folder |
//!
//! The split columns are null where `clip.json` lacks them (the actions
//! scene has none, the layout scene no `task`, `dataset` or `split`, the
//! gestures scene none of the layout's), so one table holds every scene
//! set.

use std::path::Path;

use actionbench_pipeline::{ParamError, StageContext};
use actionbench_shards::tensor::variable_shape_tensor_field;
use actionbench_video::{ClipFrames, FrameFormat, SampleOptions};
use arrow::datatypes::{DataType, Float32Type, UInt8Type, UInt16Type};
use serde::{Deserialize, Serialize};

use crate::frames::{FramesParam, rgb_column};
use actionbench_stages::ingest::{BoxError, OnError, Source};
use actionbench_stages::sample_format::{Batching, Columns, Counts, Ids, Ingest, Preparing, SampleError, SampleFormat};

/// Params of `ingest.renders`.
#[derive(Debug, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct IngestRendersParams {
    /// RGB frames as `jpeg` or `raw`.
    #[serde(default)]
    frames: FramesParam,
    /// JPEG quality 1–100.
    #[serde(default = "default_quality")]
    jpeg_quality: u8,
    /// `fail` (default) or `skip`.
    #[serde(default)]
    on_error: OnError,
    /// Rows per Parquet file.
    #[serde(default = "default_rows")]
    rows_per_shard: usize,
    /// Succeed with an empty table when the inputs hold no file this kind
    /// reads (by default that is an error naming the files it ignored).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    allow_empty: bool,
}
actionbench_stages::ingest_params!(IngestRendersParams);

fn default_quality() -> u8 {
    90
}
fn default_rows() -> usize {
    256
}

#[derive(Debug, Deserialize)]
struct Intrinsics {
    fx: f64,
    fy: f64,
    cx: f64,
    cy: f64,
}

#[derive(Debug, Deserialize, Default, Clone, Copy)]
#[serde(default)]
struct Available {
    rgb: bool,
    depth: bool,
    normals: bool,
    segmentation: bool,
    boxes: bool,
    joints3d: bool,
}

#[derive(Debug, Deserialize)]
struct ClipJson {
    clip_id: String,
    action: String,
    label: i32,
    subject: i32,
    camera: i32,
    fps: i32,
    width: u32,
    height: u32,
    num_frames: usize,
    intrinsics: Intrinsics,
    labels: Available,
    // The layout scene's splits, checked by `Splits::of` so a wrong type
    // names its field.
    #[serde(default)]
    domain: serde_json::Value,
    #[serde(default)]
    object: serde_json::Value,
    #[serde(default)]
    object_label: serde_json::Value,
    #[serde(default)]
    composition: serde_json::Value,
    #[serde(default)]
    source: serde_json::Value,
    #[serde(default)]
    shot: serde_json::Value,
    // The gestures scene's.
    #[serde(default)]
    task: serde_json::Value,
    #[serde(default)]
    dataset: serde_json::Value,
    #[serde(default)]
    split: serde_json::Value,
}

/// The layout and gestures scenes' split fields of `clip.json` (null when
/// absent).
#[derive(Default)]
struct Splits {
    domain: Option<String>,
    object: Option<String>,
    object_label: Option<i32>,
    composition: Option<String>,
    source: Option<String>,
    shot: Option<i32>,
    task: Option<String>,
    dataset: Option<String>,
    split: Option<String>,
}

fn text(v: &serde_json::Value, name: &str) -> Result<Option<String>, String> {
    match v {
        serde_json::Value::Null => Ok(None),
        serde_json::Value::String(s) => Ok(Some(s.clone())),
        other => Err(format!("`{name}` must be a string or null, got {other}")),
    }
}

fn int(v: &serde_json::Value, name: &str) -> Result<Option<i32>, String> {
    match v {
        serde_json::Value::Null => Ok(None),
        other => match other.as_i64().and_then(|n| i32::try_from(n).ok()) {
            Some(n) => Ok(Some(n)),
            None => Err(format!("`{name}` must be a 32-bit integer or null, got {other}")),
        },
    }
}

impl Splits {
    fn of(m: &ClipJson) -> Result<Self, String> {
        Ok(Self {
            domain: text(&m.domain, "domain")?,
            object: text(&m.object, "object")?,
            object_label: int(&m.object_label, "object_label")?,
            composition: text(&m.composition, "composition")?,
            source: text(&m.source, "source")?,
            shot: int(&m.shot, "shot")?,
            task: text(&m.task, "task")?,
            dataset: text(&m.dataset, "dataset")?,
            split: text(&m.split, "split")?,
        })
    }
}

#[derive(Deserialize)]
struct BoxesJson {
    frames: Vec<BoxFrame>,
}
#[derive(Deserialize)]
struct BoxFrame {
    frame: usize,
    boxes: Vec<PersonBox>,
    /// The layout scene's object (id = its segmentation id).
    #[serde(default)]
    object: Option<ObjectBox>,
}
#[derive(Deserialize)]
struct ObjectBox {
    id: usize,
    xyxy: [f32; 4],
}
#[derive(Deserialize)]
struct PersonBox {
    person: usize,
    xyxy: [f32; 4],
}

#[derive(Deserialize)]
struct JointsJson {
    joint_names: Vec<String>,
    frames: Vec<JointFrame>,
}
#[derive(Deserialize)]
struct JointFrame {
    frame: usize,
    people: Vec<PersonJoints>,
}
#[derive(Deserialize)]
struct PersonJoints {
    person: usize,
    joints: Vec<[f32; 3]>,
}

/// One clip read from disk.
pub struct RenderClip {
    meta: ClipJson,
    splits: Splits,
    dir: String,
    rgb: ClipFrames,
    depth: Vec<u16>,
    normals: Vec<u8>,
    segmentation: Vec<u8>,
    boxes: Vec<f32>,
    joints: (usize, Vec<f32>),
}

fn err(path: &Path, message: impl std::fmt::Display) -> BoxError {
    format!("`{}`: {message}", path.display()).into()
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path, shown: &Path) -> Result<T, BoxError> {
    let text = std::fs::read_to_string(path).map_err(|e| err(shown, e))?;
    serde_json::from_str(&text).map_err(|e| err(shown, format_args!("line {} column {}: {e}", e.line(), e.column())))
}

/// Reads the `num_frames` PNGs `000000.png …` of one label folder, checking colour type, depth and size.
fn read_pngs(
    dir: &Path,
    shown: &Path,
    meta: &ClipJson,
    color: png::ColorType,
    depth: png::BitDepth,
) -> Result<Vec<u8>, BoxError> {
    let mut out = Vec::new();
    for f in 0..meta.num_frames {
        let name = format!("{f:06}.png");
        let path = dir.join(&name);
        let show = shown.join(&name);
        let file = std::fs::File::open(&path).map_err(|e| err(&show, e))?;
        let reader = png::Decoder::new(std::io::BufReader::new(file));
        let mut reader = reader.read_info().map_err(|e| err(&show, format_args!("not a PNG: {e}")))?;
        let info = reader.info();
        if (info.width, info.height) != (meta.width, meta.height) || info.color_type != color || info.bit_depth != depth
        {
            return Err(err(
                &show,
                format_args!(
                    "{}x{} {:?} {:?}-bit, expected {}x{} {color:?} {depth:?}-bit",
                    info.width, info.height, info.color_type, info.bit_depth, meta.width, meta.height
                ),
            ));
        }
        let size = reader.output_buffer_size().ok_or_else(|| err(&show, "image too large"))?;
        let start = out.len();
        out.resize(start + size, 0);
        reader.next_frame(&mut out[start..]).map_err(|e| err(&show, format_args!("corrupt PNG data: {e}")))?;
    }
    Ok(out)
}

fn read_clip(dir: &Path, shown: &Path, frames: FramesParam, quality: u8) -> Result<RenderClip, BoxError> {
    let meta: ClipJson = read_json(&dir.join("clip.json"), &shown.join("clip.json"))?;
    let splits = Splits::of(&meta).map_err(|e| err(&shown.join("clip.json"), e))?;
    let (w, h, t) = (meta.width as usize, meta.height as usize, meta.num_frames);
    let opts = SampleOptions {
        format: match frames {
            FramesParam::Jpeg => FrameFormat::Jpeg { quality },
            FramesParam::Raw => FrameFormat::Raw,
        },
        ..Default::default()
    };
    let video = dir.join("rgb.mp4");
    let (summary, mut clips) = actionbench_video::decode_clips(&video, &opts).map_err(|e| {
        err(&shown.join("rgb.mp4"), e.to_string().split_once(": ").map_or(e.to_string(), |x| x.1.to_string()))
    })?;
    let rgb = clips.pop().map(|c| c.frames).unwrap_or(ClipFrames::Jpeg(Vec::new()));
    if summary.decoded_frames as usize != t || (summary.info.width, summary.info.height) != (meta.width, meta.height) {
        return Err(err(
            &shown.join("rgb.mp4"),
            format_args!(
                "{} frames of {}x{}, but clip.json says {t} frames of {w}x{h}",
                summary.decoded_frames, summary.info.width, summary.info.height
            ),
        ));
    }
    let a = meta.labels;
    let depth = if a.depth {
        let be = read_pngs(
            &dir.join("depth"),
            &shown.join("depth"),
            &meta,
            png::ColorType::Grayscale,
            png::BitDepth::Sixteen,
        )?;
        be.chunks_exact(2).map(|b| u16::from_be_bytes([b[0], b[1]])).collect()
    } else {
        Vec::new()
    };
    let normals = if a.normals {
        read_pngs(&dir.join("normals"), &shown.join("normals"), &meta, png::ColorType::Rgb, png::BitDepth::Eight)?
    } else {
        Vec::new()
    };
    let segmentation = if a.segmentation {
        read_pngs(
            &dir.join("segmentation"),
            &shown.join("segmentation"),
            &meta,
            png::ColorType::Indexed,
            png::BitDepth::Eight,
        )?
    } else {
        Vec::new()
    };
    let mut boxes = Vec::new();
    if a.boxes {
        let b: BoxesJson = read_json(&dir.join("boxes.json"), &shown.join("boxes.json"))?;
        for f in &b.frames {
            if f.frame >= t {
                return Err(err(
                    &shown.join("boxes.json"),
                    format_args!("frame {} is not below num_frames {t}", f.frame),
                ));
            }
            for pb in &f.boxes {
                boxes.extend([f.frame as f32, pb.person as f32]);
                boxes.extend(pb.xyxy);
            }
            if let Some(o) = &f.object {
                boxes.extend([f.frame as f32, o.id as f32]);
                boxes.extend(o.xyxy);
            }
        }
    }
    let mut joints = (0, Vec::new());
    if a.joints3d {
        let shown_j = shown.join("joints3d.json");
        let j: JointsJson = read_json(&dir.join("joints3d.json"), &shown_j)?;
        if j.joint_names.len() != 25 {
            return Err(err(&shown_j, format_args!("{} joint names, expected the 25 NTU joints", j.joint_names.len())));
        }
        let people = j.frames.iter().flat_map(|f| f.people.iter().map(|p| p.person)).max().unwrap_or(0);
        let mut v = vec![f32::NAN; t * people * 25 * 3];
        for f in &j.frames {
            for p in &f.people {
                if f.frame >= t || p.person == 0 || p.joints.len() != 25 {
                    return Err(err(
                        &shown_j,
                        format_args!(
                            "frame {} person {}: {} joints (frames < {t}, persons ≥ 1, 25 joints)",
                            f.frame,
                            p.person,
                            p.joints.len()
                        ),
                    ));
                }
                let at = (f.frame * people + p.person - 1) * 75;
                for (k, xyz) in p.joints.iter().enumerate() {
                    v[at + k * 3..at + k * 3 + 3].copy_from_slice(xyz);
                }
            }
        }
        joints = (people, v);
    }
    Ok(RenderClip { meta, splits, dir: shown.display().to_string(), rgb, depth, normals, segmentation, boxes, joints })
}

/// The `ingest.renders` kind.
pub type IngestRenders = Ingest<RendersFormat>;

/// The `synth` generator's clip folders as a [`SampleFormat`]: one folder,
/// one clip, one row; the id is `clip_id` in `clip.json`.
pub struct RendersFormat;

/// How many written clips carry each label.
#[derive(Default, Serialize, Deserialize)]
pub struct LabelCounts {
    rows: usize,
    depth: usize,
    normals: usize,
    segmentation: usize,
    boxes: usize,
    joints3d: usize,
}
actionbench_stages::merge_tally!(LabelCounts { rows, depth, normals, segmentation, boxes, joints3d });

fn dims(d: &[&str]) -> Option<Vec<String>> {
    Some(d.iter().map(|s| s.to_string()).collect())
}

/// Frames in a label tensor of `len` values, `per` values per frame.
fn frames_of(len: usize, per: usize) -> usize {
    len.checked_div(per).unwrap_or(0)
}

impl SampleFormat for RendersFormat {
    type Params = IngestRendersParams;
    type Prepared = ();
    type Sample = RenderClip;
    type Tally = LabelCounts;
    const IDS: Ids = Ids::ByKey;
    const NAME: &'static str = "ingest.renders";
    /// 2: the layout scene's split columns and object boxes; 3: the
    /// gestures scene's `task`, `dataset` and `split` columns.
    const VERSION: u32 = 3;
    const DESCRIPTION: &'static str = "Synthetic render clips (the `synth` generator's layout: `<clip>/clip.json`, `rgb.mp4`, `depth/`, `normals/`, `segmentation/`, `boxes.json`, `joints3d.json`) → one row per clip, every label in one table with a per-sample availability mask, ready for multi-task training.";

    fn check(&self, p: &IngestRendersParams) -> Result<(), ParamError> {
        if !(1..=100).contains(&p.jpeg_quality) {
            return Err(format!("`jpeg-quality` = {} is not in 1..=100", p.jpeg_quality).into());
        }
        Ok(())
    }

    fn tool_versions(&self) -> std::collections::BTreeMap<String, String> {
        crate::libav_versions()
    }

    fn prepare(&self, _: &StageContext<'_>, _: &IngestRendersParams, _: &mut Preparing) -> Result<(), BoxError> {
        Ok(())
    }

    fn accepts(&self, path: &Path, _: &IngestRendersParams) -> bool {
        path.file_name().is_some_and(|n| n == "clip.json")
    }

    /// A clip is the folder holding its `clip.json`.
    fn source(&self, file: Source) -> Source {
        let dir = file.path.parent().map(Path::to_path_buf).unwrap_or_default();
        let shown = Path::new(&file.display).parent().map(|p| p.display().to_string()).unwrap_or_default();
        Source { display: shown, path: dir, known_hash: None }
    }

    /// The clip id, from `clip.json` (small): rows are sorted by it, and
    /// the frames are decoded in that order, a chunk at a time.
    fn key(&self, source: &Source, _: &IngestRendersParams) -> Result<String, SampleError> {
        read_json::<ClipJson>(&source.path.join("clip.json"), &source.shown().join("clip.json"))
            .map(|meta| meta.clip_id)
            .map_err(|e| SampleError::Other(e.to_string()))
    }

    fn read(&self, source: &Source, p: &IngestRendersParams, _: &()) -> Result<Vec<RenderClip>, SampleError> {
        read_clip(&source.path, source.shown(), p.frames, p.jpeg_quality)
            .map(|clip| vec![clip])
            .map_err(|e| SampleError::Other(e.to_string()))
    }

    fn sample_id<'s>(&self, clip: &'s RenderClip) -> &'s str {
        &clip.meta.clip_id
    }

    fn columns(&self, p: &IngestRendersParams, _: &()) -> Result<Columns<RenderClip>, BoxError> {
        let mut columns = Columns::<RenderClip>::new()
            .utf8("sample_id", |c| &c.meta.clip_id)
            .utf8("action", |c| &c.meta.action)
            .int32("label", |c| c.meta.label)
            .int32("subject", |c| c.meta.subject)
            .int32("camera", |c| c.meta.camera)
            .int32("fps", |c| c.meta.fps)
            .int32("width", |c| c.meta.width as i32)
            .int32("height", |c| c.meta.height as i32)
            .int32("num_frames", |c| c.meta.num_frames as i32)
            .float64("fx", |c| c.meta.intrinsics.fx)
            .float64("fy", |c| c.meta.intrinsics.fy)
            .float64("cx", |c| c.meta.intrinsics.cx)
            .float64("cy", |c| c.meta.intrinsics.cy)
            .bool("has_rgb", |_| true)
            .bool("has_depth", |c| c.meta.labels.depth)
            .bool("has_normals", |c| c.meta.labels.normals)
            .bool("has_segmentation", |c| c.meta.labels.segmentation)
            .bool("has_boxes", |c| c.meta.labels.boxes)
            .bool("has_joints3d", |c| c.meta.labels.joints3d);
        columns = rgb_column(columns, "rgb", p.frames, |c: &RenderClip| {
            (&c.rgb, c.meta.height as usize, c.meta.width as usize)
        })?;
        let hw = |c: &RenderClip| (c.meta.height as usize, c.meta.width as usize);
        Ok(columns
            .tensor::<UInt16Type, _>(
                variable_shape_tensor_field("depth", DataType::UInt16, 3, dims(&["frame", "height", "width"]), None)?,
                3,
                move |c| {
                    let (h, w) = hw(c);
                    ([frames_of(c.depth.len(), h * w), h, w], &c.depth)
                },
            )
            .tensor::<UInt8Type, _>(
                variable_shape_tensor_field(
                    "normals",
                    DataType::UInt8,
                    4,
                    dims(&["frame", "height", "width", "channel"]),
                    Some(vec![None, None, None, Some(3)]),
                )?,
                4,
                move |c| {
                    let (h, w) = hw(c);
                    ([frames_of(c.normals.len(), h * w * 3), h, w, 3], &c.normals)
                },
            )
            .tensor::<UInt8Type, _>(
                variable_shape_tensor_field(
                    "segmentation",
                    DataType::UInt8,
                    3,
                    dims(&["frame", "height", "width"]),
                    None,
                )?,
                3,
                move |c| {
                    let (h, w) = hw(c);
                    ([frames_of(c.segmentation.len(), h * w), h, w], &c.segmentation)
                },
            )
            .tensor::<Float32Type, _>(
                variable_shape_tensor_field(
                    "boxes",
                    DataType::Float32,
                    2,
                    dims(&["box", "field"]),
                    Some(vec![None, Some(6)]),
                )?,
                2,
                |c| ([c.boxes.len() / 6, 6], &c.boxes),
            )
            .tensor::<Float32Type, _>(
                variable_shape_tensor_field(
                    "joints3d",
                    DataType::Float32,
                    4,
                    dims(&["frame", "person", "joint", "xyz"]),
                    Some(vec![None, None, Some(25), Some(3)]),
                )?,
                4,
                |c| {
                    let (people, v) = &c.joints;
                    ([frames_of(v.len(), people * 75), *people, 25, 3], v)
                },
            )
            .utf8_opt("domain", |c| c.splits.domain.as_deref())
            .utf8_opt("object", |c| c.splits.object.as_deref())
            .int32_opt("object_label", |c| c.splits.object_label)
            .utf8_opt("composition", |c| c.splits.composition.as_deref())
            .utf8_opt("source", |c| c.splits.source.as_deref())
            .int32_opt("shot", |c| c.splits.shot)
            .utf8_opt("task", |c| c.splits.task.as_deref())
            .utf8_opt("dataset", |c| c.splits.dataset.as_deref())
            .utf8_opt("split", |c| c.splits.split.as_deref())
            .utf8("source_dir", |c| &c.dir))
    }

    /// Batches of `rows-per-shard` clips.
    fn batching(&self, p: &IngestRendersParams) -> Batching {
        Batching::Rows(p.rows_per_shard.max(1))
    }

    /// Two clips per core: a clip is many frames.
    fn read_chunk(&self, _: &IngestRendersParams, remaining: usize) -> usize {
        remaining.min(rayon::current_num_threads().max(1) * 2)
    }

    /// A clip's rejects row names its folder.
    fn reject_name(&self, _: Option<&str>, source: &Source) -> String {
        source.display.clone()
    }

    fn duplicate(&self, id: &str, first: &Source, second: &Source) -> String {
        format!("clip id `{id}` appears in `{}` and `{}`", first.display, second.display)
    }

    fn reads(&self, _: &IngestRendersParams) -> String {
        "rendered clips (folders holding a `clip.json`)".into()
    }

    fn tally(&self, counts: &mut LabelCounts, clips: &[RenderClip]) {
        for c in clips {
            let a = c.meta.labels;
            counts.rows += 1;
            counts.depth += a.depth as usize;
            counts.normals += a.normals as usize;
            counts.segmentation += a.segmentation as usize;
            counts.boxes += a.boxes as usize;
            counts.joints3d += a.joints3d as usize;
        }
    }

    fn summary(&self, counts: Counts, _: &IngestRendersParams, _: &(), n: LabelCounts) -> serde_json::Value {
        serde_json::json!({
            "kind": "ingest.renders",
            "rows": n.rows,
            "rejected": counts.rejected,
            "with_depth": n.depth,
            "with_normals": n.normals,
            "with_segmentation": n.segmentation,
            "with_boxes": n.boxes,
            "with_joints3d": n.joints3d,
        })
    }
}
