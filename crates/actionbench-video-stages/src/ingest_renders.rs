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
//! | `boxes` | tensor float32 `[N, 6]` | rows `frame, person, x1, y1, x2, y2` (pixels) |
//! | `joints3d` | tensor float32 `[T, P, 25, 3]` | camera frame, metres; NaN where person p is absent |
//! | `source_dir` | utf8 | the clip folder |

use std::path::{Path, PathBuf};
use std::sync::Arc;

use actionbench_pipeline::{ParamError, StageContext, StageError, StageKind};
use actionbench_shards::tensor::{VariableShapeTensorBuilder, variable_shape_tensor_field};
use actionbench_video::{ClipFrames, FrameFormat, SampleOptions};
use arrow::array::{
    ArrayRef, BinaryBuilder, BooleanArray, Float64Array, Int32Array, ListBuilder, RecordBatch, StringArray,
};
use arrow::datatypes::{DataType, Field, Float32Type, Schema, SchemaRef, UInt8Type, UInt16Type};
use serde::{Deserialize, Serialize};

use actionbench_stages::ingest::{
    BoxError, OnError, Reject, Source, collect_sources, finish_ingest, parallel_map, table_writer,
};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
enum FramesParam {
    #[default]
    Jpeg,
    Raw,
}

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
}

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
}

#[derive(Deserialize)]
struct BoxesJson {
    frames: Vec<BoxFrame>,
}
#[derive(Deserialize)]
struct BoxFrame {
    frame: usize,
    boxes: Vec<PersonBox>,
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
struct RenderClip {
    meta: ClipJson,
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
    Ok(RenderClip { meta, dir: shown.display().to_string(), rgb, depth, normals, segmentation, boxes, joints })
}

/// The `ingest.renders` kind.
pub struct IngestRenders;

fn schema(frames: FramesParam) -> Result<SchemaRef, BoxError> {
    let int = |n: &str| Field::new(n, DataType::Int32, false);
    let float = |n: &str| Field::new(n, DataType::Float64, false);
    let flag = |n: &str| Field::new(n, DataType::Boolean, false);
    let dims = |d: &[&str]| Some(d.iter().map(|s| s.to_string()).collect::<Vec<_>>());
    let mut fields = vec![Field::new("sample_id", DataType::Utf8, false), Field::new("action", DataType::Utf8, false)];
    for n in ["label", "subject", "camera", "fps", "width", "height", "num_frames"] {
        fields.push(int(n));
    }
    for n in ["fx", "fy", "cx", "cy"] {
        fields.push(float(n));
    }
    for n in ["has_rgb", "has_depth", "has_normals", "has_segmentation", "has_boxes", "has_joints3d"] {
        fields.push(flag(n));
    }
    fields.push(match frames {
        FramesParam::Jpeg => {
            Field::new("rgb", DataType::List(Arc::new(Field::new_list_field(DataType::Binary, true))), false)
        }
        FramesParam::Raw => variable_shape_tensor_field(
            "rgb",
            DataType::UInt8,
            4,
            dims(&["frame", "height", "width", "channel"]),
            Some(vec![None, None, None, Some(3)]),
        )?,
    });
    fields.push(variable_shape_tensor_field("depth", DataType::UInt16, 3, dims(&["frame", "height", "width"]), None)?);
    fields.push(variable_shape_tensor_field(
        "normals",
        DataType::UInt8,
        4,
        dims(&["frame", "height", "width", "channel"]),
        Some(vec![None, None, None, Some(3)]),
    )?);
    fields.push(variable_shape_tensor_field(
        "segmentation",
        DataType::UInt8,
        3,
        dims(&["frame", "height", "width"]),
        None,
    )?);
    fields.push(variable_shape_tensor_field(
        "boxes",
        DataType::Float32,
        2,
        dims(&["box", "field"]),
        Some(vec![None, Some(6)]),
    )?);
    fields.push(variable_shape_tensor_field(
        "joints3d",
        DataType::Float32,
        4,
        dims(&["frame", "person", "joint", "xyz"]),
        Some(vec![None, None, Some(25), Some(3)]),
    )?);
    fields.push(Field::new("source_dir", DataType::Utf8, false));
    Ok(Arc::new(Schema::new(fields)))
}

fn batch(schema: &SchemaRef, clips: &[RenderClip], frames: FramesParam) -> Result<RecordBatch, BoxError> {
    let mut cols: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from_iter_values(clips.iter().map(|c| c.meta.clip_id.as_str()))),
        Arc::new(StringArray::from_iter_values(clips.iter().map(|c| c.meta.action.as_str()))),
    ];
    let ints: [fn(&ClipJson) -> i32; 7] = [
        |m| m.label,
        |m| m.subject,
        |m| m.camera,
        |m| m.fps,
        |m| m.width as i32,
        |m| m.height as i32,
        |m| m.num_frames as i32,
    ];
    for f in ints {
        cols.push(Arc::new(Int32Array::from_iter_values(clips.iter().map(|c| f(&c.meta)))));
    }
    let floats: [fn(&Intrinsics) -> f64; 4] = [|i| i.fx, |i| i.fy, |i| i.cx, |i| i.cy];
    for f in floats {
        cols.push(Arc::new(Float64Array::from_iter_values(clips.iter().map(|c| f(&c.meta.intrinsics)))));
    }
    let flags: [fn(&RenderClip) -> bool; 6] = [
        |_| true,
        |c| c.meta.labels.depth,
        |c| c.meta.labels.normals,
        |c| c.meta.labels.segmentation,
        |c| c.meta.labels.boxes,
        |c| c.meta.labels.joints3d,
    ];
    for f in flags {
        cols.push(Arc::new(BooleanArray::from(clips.iter().map(f).collect::<Vec<_>>())));
    }
    match frames {
        FramesParam::Jpeg => {
            let mut b = ListBuilder::new(BinaryBuilder::new());
            for c in clips {
                if let ClipFrames::Jpeg(fs) = &c.rgb {
                    for f in fs {
                        b.values().append_value(f);
                    }
                }
                b.append(true);
            }
            cols.push(Arc::new(b.finish()));
        }
        FramesParam::Raw => {
            let mut b = VariableShapeTensorBuilder::<UInt8Type>::new(4);
            for c in clips {
                let data = match &c.rgb {
                    ClipFrames::Raw(d) => d.as_slice(),
                    ClipFrames::Jpeg(_) => &[],
                };
                let (w, h) = (c.meta.width as usize, c.meta.height as usize);
                b.push(&[data.len() / (w * h * 3).max(1), h, w, 3], data)?;
            }
            cols.push(b.finish()?);
        }
    }
    let hw = |c: &RenderClip| (c.meta.height as usize, c.meta.width as usize);
    let frames_of = |n: usize, per: usize| n.checked_div(per).unwrap_or(0);
    let mut depth = VariableShapeTensorBuilder::<UInt16Type>::new(3);
    let mut normals = VariableShapeTensorBuilder::<UInt8Type>::new(4);
    let mut seg = VariableShapeTensorBuilder::<UInt8Type>::new(3);
    let mut boxes = VariableShapeTensorBuilder::<Float32Type>::new(2);
    let mut joints = VariableShapeTensorBuilder::<Float32Type>::new(4);
    for c in clips {
        let (h, w) = hw(c);
        depth.push(&[frames_of(c.depth.len(), h * w), h, w], &c.depth)?;
        normals.push(&[frames_of(c.normals.len(), h * w * 3), h, w, 3], &c.normals)?;
        seg.push(&[frames_of(c.segmentation.len(), h * w), h, w], &c.segmentation)?;
        boxes.push(&[c.boxes.len() / 6, 6], &c.boxes)?;
        let (people, v) = &c.joints;
        joints.push(&[frames_of(v.len(), people * 75), *people, 25, 3], v)?;
    }
    cols.push(depth.finish()?);
    cols.push(normals.finish()?);
    cols.push(seg.finish()?);
    cols.push(boxes.finish()?);
    cols.push(joints.finish()?);
    cols.push(Arc::new(StringArray::from_iter_values(clips.iter().map(|c| c.dir.as_str()))));
    Ok(RecordBatch::try_new(schema.clone(), cols)?)
}

impl StageKind for IngestRenders {
    fn name(&self) -> &'static str {
        "ingest.renders"
    }

    fn implementation_version(&self) -> u32 {
        1
    }
    fn description(&self) -> &'static str {
        "Synthetic render clips (the `synth` generator's layout: `<clip>/clip.json`, `rgb.mp4`, `depth/`, `normals/`, `segmentation/`, `boxes.json`, `joints3d.json`) → one row per clip, every label in one table with a per-sample availability mask, ready for multi-task training."
    }

    type Params = IngestRendersParams;
    fn check(&self, p: &IngestRendersParams) -> Result<(), ParamError> {
        if !(1..=100).contains(&p.jpeg_quality) {
            return Err(format!("`jpeg-quality` = {} is not in 1..=100", p.jpeg_quality).into());
        }
        Ok(())
    }

    fn tool_versions(&self) -> std::collections::BTreeMap<String, String> {
        crate::libav_versions()
    }

    fn run(&self, ctx: &StageContext<'_>, p: &IngestRendersParams) -> Result<(), StageError> {
        let (sources, _) = collect_sources(ctx, |path| path.file_name().is_some_and(|n| n == "clip.json"))?;
        let mut dirs: Vec<(PathBuf, Source)> = sources
            .into_iter()
            .filter_map(|s| {
                let dir = s.path.parent()?.to_path_buf();
                let shown = Path::new(&s.display).parent()?.display().to_string();
                Some((dir.clone(), Source { display: shown, path: dir, known_hash: None }))
            })
            .collect();
        if dirs.is_empty() {
            return Err("no render clip: the inputs hold no `clip.json`".into());
        }
        dirs.sort_by(|a, b| a.1.display.cmp(&b.1.display));
        let mut rejects = Vec::new();
        // Rows are ordered by clip id, which is in each `clip.json`: read
        // those first (small), then decode the clips in that order and write
        // them as they come, so memory holds one shard's rows, not the
        // whole dataset (the `large` preset is gigabytes of frames).
        let metas = parallel_map(&dirs, |(dir, src)| {
            read_json::<ClipJson>(&dir.join("clip.json"), &src.shown().join("clip.json")).map_err(|e| e.to_string())
        });
        let mut order: Vec<(String, &PathBuf, &Source)> = Vec::new();
        for ((dir, src), meta) in dirs.iter().zip(metas) {
            match meta {
                Ok(meta) => order.push((meta.clip_id, dir, src)),
                Err(e) => match p.on_error {
                    OnError::Fail => return Err(e.into()),
                    OnError::Skip => rejects.push(Reject::other(&src.display, src, e)),
                },
            }
        }
        order.sort_by(|a, b| a.0.cmp(&b.0));
        if let Some(w) = order.windows(2).find(|w| w[0].0 == w[1].0) {
            return Err(format!("clip id `{}` appears in `{}` and `{}`", w[0].0, w[0].2.display, w[1].2.display).into());
        }
        let schema = schema(p.frames)?;
        let mut writer = table_writer(ctx, schema.clone(), p.rows_per_shard)?;
        let rows_per_batch = p.rows_per_shard.max(1);
        let mut pending: Vec<RenderClip> = Vec::with_capacity(rows_per_batch);
        // What each written clip carries, for the summary.
        let mut done: Vec<Available> = Vec::new();
        let chunk = rayon::current_num_threads().max(1) * 2;
        let total = order.len() as u64;
        for (i, part) in order.chunks(chunk).enumerate() {
            let results = parallel_map(part, |(_, dir, src)| {
                read_clip(dir, src.shown(), p.frames, p.jpeg_quality).map_err(|e| e.to_string())
            });
            for ((_, _, src), r) in part.iter().zip(results) {
                match r {
                    Ok(c) => {
                        done.push(c.meta.labels);
                        pending.push(c);
                        if pending.len() == rows_per_batch {
                            writer.write(&batch(&schema, &pending, p.frames)?)?;
                            pending.clear();
                        }
                    }
                    Err(e) => match p.on_error {
                        OnError::Fail => return Err(e.into()),
                        OnError::Skip => rejects.push(Reject::other(&src.display, src, e)),
                    },
                }
            }
            ctx.progress(((i + 1) * chunk).min(order.len()) as u64, Some(total));
        }
        if !pending.is_empty() {
            writer.write(&batch(&schema, &pending, p.frames)?)?;
        }
        let count = |f: fn(&Available) -> bool| done.iter().filter(|a| f(a)).count();
        finish_ingest(ctx, writer, rejects, p.on_error, |rejected| {
            serde_json::json!({
                "kind": "ingest.renders",
                "rows": done.len(),
                "rejected": rejected,
                "with_depth": count(|a| a.depth),
                "with_normals": count(|a| a.normals),
                "with_segmentation": count(|a| a.segmentation),
                "with_boxes": count(|a| a.boxes),
                "with_joints3d": count(|a| a.joints3d),
            })
        })?;
        Ok(())
    }
}
