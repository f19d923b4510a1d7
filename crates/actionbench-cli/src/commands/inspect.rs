//! `actionbench inspect FILE`: decode any supported file and print its
//! structure and values, without Python.
//!
//! The format is chosen from the file name, then from the first bytes
//! (`--as` overrides both). Every format is turned into one JSON value —
//! pickles and joblib files as their decoded tree, numpy arrays as
//! `{"dtype": …, "shape": […], "data": […]}` (data flattened in C order),
//! `.skeleton` files frame by frame, Parquet shards as schema and rows —
//! and printed as that JSON (`--format json`), as an indented outline
//! with long containers abbreviated (`table`), or as one `path,value` line
//! per leaf (`csv`). Pickles are read by the safe reader of
//! `actionbench-formats`: nothing in them is ever executed.
//!
//! `--summary` condenses PHALP results files (tracks, spans, detections) and
//! LART per-tracklet files (frames with ground-truth or pseudo labels).

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use actionbench_core::Diagnostic;
use actionbench_formats::ava::{AvaDialect, AvaTimestamp, read_ava_csv};
use actionbench_formats::detect::FileKind;
use actionbench_formats::joblib::read_joblib;
use actionbench_formats::kinetics_skeleton::{parse_kinetics_labels, parse_kinetics_skeleton};
use actionbench_formats::label_map::read_label_map;
use actionbench_formats::npy::read_npy_array;
use actionbench_formats::npz::read_npz;
use actionbench_formats::ntu::{NtuSampleName, parse_ntu_missing_list, read_ntu_skeleton};
use actionbench_formats::phalp::read_phalp;
use actionbench_formats::pickle::PickleOptions;
use anyhow::{Context, Result, anyhow, bail};
use arrow::array::{Array, ArrayRef, AsArray};
use arrow::datatypes::{DataType, Field};
use serde_json::{Map, Value, json};

use crate::output::{OutputFormat, print_json};

/// `--as`: the file kinds, each with its description in `--help`.
fn file_kinds() -> impl clap::builder::TypedValueParser<Value = FileKind> {
    use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser as _};
    PossibleValuesParser::new(FileKind::ALL.map(|k| PossibleValue::new(k.id()).help(k.description())))
        .map(|id| id.parse::<FileKind>().expect("clap accepts only the listed ids"))
}

/// Reads a video's description; only `actionbench-ffmpeg` has one.
pub(crate) type VideoProbe = fn(&Path) -> Result<Value>;

/// Arguments of `inspect`.
#[derive(Debug, clap::Args)]
pub(crate) struct InspectArgs {
    /// The file to decode.
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// Read the file as this format instead of detecting it.
    #[arg(long = "as", value_name = "FORMAT", value_parser = file_kinds())]
    input_format: Option<FileKind>,
    /// Keep pickle globals that are not on the allow-list as opaque nodes
    /// instead of failing (nothing is executed either way).
    #[arg(long)]
    lenient: bool,
    /// In the outline (`--format table`), show at most this many items of a
    /// container or values of an array.
    #[arg(long, value_name = "N", default_value_t = 8)]
    max_items: usize,
    /// For PHALP results files and LART tracklet files: print a compact
    /// summary (tracks, spans, labelled frames) instead of every array.
    #[arg(long)]
    summary: bool,
}

/// A reader error as an anyhow error that keeps its hint and location.
fn read_error(e: actionbench_formats::Error) -> anyhow::Error {
    anyhow::Error::new(Diagnostic::new(e))
}

impl InspectArgs {
    /// Whether the file is read as a video (named so, or by extension).
    pub(crate) fn is_video(&self) -> bool {
        match self.input_format {
            Some(f) => f == FileKind::Video,
            None => actionbench_formats::detect::is_video_path(&self.file),
        }
    }
}

/// Runs `inspect`.
/// `video` reads videos (`None` in `actionbench`, which hands them over).
pub(crate) fn run(args: &InspectArgs, format: OutputFormat, video: Option<VideoProbe>) -> Result<()> {
    let path = &args.file;
    if !path.exists() {
        bail!("`{}` does not exist", path.display());
    }
    let input = match args.input_format {
        Some(f) => f,
        None => actionbench_formats::detect::detect(path).map_err(read_error)?,
    };
    let options = if args.lenient { PickleOptions::lenient() } else { PickleOptions::default() };
    // Pickles as JSON keep their dict order (Python's); the other paths go
    // through `serde_json::Value`.
    if format == OutputFormat::Json && !args.summary && input == FileKind::Pickle {
        let value = read_joblib(path, options).map_err(read_error)?;
        let mut out = std::io::stdout().lock();
        writeln!(out, "{}", value.to_json_string_pretty()?)?;
        return Ok(());
    }
    let value = if args.summary {
        if input != FileKind::Pickle {
            return Err(Diagnostic::hinted(
                format!(
                    "`--summary` reads PHALP results and LART tracklet files; `{}` is read as {}",
                    path.display(),
                    input.name()
                ),
                "Leave out `--summary` to see the whole file",
            )
            .into());
        }
        tracking_summary(path, options)?
    } else {
        decode(path, input, options, video)?
    };
    match format {
        OutputFormat::Json => print_json(&value),
        OutputFormat::Table => {
            let mut text = format!("{} ({})\n", path.display(), input.name());
            outline_line("", &value, 0, args.max_items, &mut text);
            std::io::stdout().lock().write_all(text.as_bytes())?;
            Ok(())
        }
        OutputFormat::Csv => {
            let mut csv = crate::output::csv_writer(std::io::stdout().lock());
            csv.write_record(["path", "value"])?;
            let mut rows = Vec::new();
            leaves(&value, String::new(), &mut rows);
            for (p, v) in rows {
                csv.write_record([p, v])?;
            }
            csv.flush()?;
            Ok(())
        }
    }
}

fn decode(path: &Path, input: FileKind, options: PickleOptions, video: Option<VideoProbe>) -> Result<Value> {
    Ok(match input {
        FileKind::Pickle => read_joblib(path, options).map_err(read_error)?.to_json(),
        FileKind::Npy => read_npy_array(path, options).map_err(read_error)?.to_json(),
        FileKind::Npz => {
            let members = read_npz(path, options).map_err(read_error)?;
            Value::Object(members.into_iter().map(|(k, a)| (k, npz_member(a))).collect())
        }
        FileKind::Skeleton => skeleton_json(path)?,
        FileKind::NtuList => {
            let text = std::fs::read_to_string(path).with_context(|| format!("Failed to read `{}`", path.display()))?;
            let names: Vec<String> = parse_ntu_missing_list(&text).iter().map(ToString::to_string).collect();
            json!({ "samples": names })
        }
        FileKind::KineticsJson => kinetics_json(path)?,
        FileKind::AvaCsv => {
            let rows = read_ava_csv(path, AvaDialect::Activitynet2020).map_err(read_error)?;
            Value::Array(
                rows.iter()
                    .map(|r| {
                        let mut m = Map::new();
                        m.insert("line".into(), json!(r.line));
                        m.insert("video_id".into(), json!(r.video_id));
                        m.insert(
                            "timestamp".into(),
                            match r.timestamp {
                                AvaTimestamp::Seconds(s) => json!(s),
                                AvaTimestamp::Decimal(d) => json!(d),
                            },
                        );
                        if let Some(b) = &r.bbox {
                            m.insert("box".into(), json!([b.x1, b.y1, b.x2, b.y2]));
                            m.insert("action_id".into(), json!(b.action_id));
                            if let Some(s) = b.score {
                                m.insert("score_or_person".into(), json!(s));
                            }
                        }
                        Value::Object(m)
                    })
                    .collect(),
            )
        }
        FileKind::LabelMap => {
            let map = read_label_map(path).map_err(read_error)?;
            Value::Array(map.entries.iter().map(|e| json!({ "id": e.id, "name": e.name })).collect())
        }
        FileKind::Parquet => parquet_json(path)?,
        FileKind::Video => match video {
            Some(probe) => probe(path)?,
            None => bail!("internal error: `{}` is a video, and this binary reads none", path.display()),
        },
    })
}

/// `--summary` of a PHALP results file (tracks cut as LART cuts them) or of
/// a LART per-tracklet file (labels per frame); anything else is an error.
fn tracking_summary(path: &Path, options: PickleOptions) -> Result<Value> {
    let phalp_error = match read_phalp(path) {
        Ok(file) => {
            let tracks: Vec<Value> = file
                .tracks
                .iter()
                .map(|t| {
                    json!({
                        "track_id": t.track_id,
                        "first_frame": file.frames[t.first_frame()].time,
                        "last_frame": file.frames[t.last_frame()].time,
                        "length": t.len(),
                        "detections": t.detections.len(),
                    })
                })
                .collect();
            return Ok(json!({
                "format": "phalp",
                "generation": file.generation.name(),
                "video_id": file.video_id_from_keys(),
                "frames": file.frames.len(),
                "first_frame_key": file.frames.first().map(|f| f.key.clone()),
                "shots": file.frames.iter().filter(|f| f.shot).count(),
                "tracks": tracks,
            }));
        }
        Err(e) => e,
    };
    let value = read_joblib(path, options).map_err(read_error)?;
    let lart_keys = ["fid", "has_gt", "has_detection", "action_label_gt"];
    if !lart_keys.iter().all(|k| value.get(k).is_some()) {
        return Err(Diagnostic::hinted(
            format!(
                "`{}` is neither a PHALP results file ({phalp_error}) nor a LART tracklet file (no `{}`)",
                path.display(),
                lart_keys.iter().find(|k| value.get(k).is_none()).unwrap_or(&"fid")
            ),
            "Leave out `--summary` to see the whole file",
        )
        .into());
    }
    let floats = |key: &str| -> Result<(Vec<usize>, Vec<f64>)> {
        let a = value
            .get(key)
            .and_then(|v| v.as_array())
            .ok_or_else(|| anyhow!("`{}`: `{key}` should be a numpy array", path.display()))?;
        let data = a.to_f64().ok_or_else(|| anyhow!("`{}`: `{key}` should be numeric", path.display()))?;
        Ok((a.shape.clone(), data))
    };
    let (_, fid) = floats("fid")?;
    let (_, has_gt) = floats("has_gt")?;
    let (_, detected) = floats("has_detection")?;
    let (shape, labels) = floats("action_label_gt")?;
    let t = fid.len();
    if has_gt.len() != t || detected.len() != t || labels.len() != t * shape.last().copied().unwrap_or(0) {
        bail!(
            "`{}`: `fid`, `has_gt`, `has_detection` and `action_label_gt` disagree on the number of frames",
            path.display()
        );
    }
    let classes = shape.last().copied().unwrap_or(0);
    let pseudo = value.get("action_label_psudo").and_then(|v| v.as_dict()).unwrap_or(&[]);
    let labelled: Vec<Value> = (0..t)
        .filter(|&i| has_gt[i] > 0.0)
        .map(|i| {
            let actions: Vec<usize> =
                (0..classes).filter(|&c| labels[i * classes + c] > 0.0).map(|c| c + 1).collect();
            let pseudo_actions: Option<Vec<usize>> = pseudo
                .iter()
                .find(|(k, _)| k.as_i64() == Some(i as i64))
                .and_then(|(_, v)| v.as_array()?.to_f64())
                .map(|s| s.iter().enumerate().filter(|(_, v)| **v > 0.0).map(|(c, _)| c + 1).collect());
            json!({ "index": i, "fid": fid[i] as i64, "has_gt": has_gt[i] as i64, "actions": actions, "pseudo_actions": pseudo_actions })
        })
        .collect();
    let count = |v: f64| has_gt.iter().filter(|&&g| g == v).count();
    Ok(json!({
        "format": "lart-tracklet",
        "frames": t,
        "first_fid": fid.first().map(|&f| f as i64),
        "last_fid": fid.last().map(|&f| f as i64),
        "detections": detected.iter().filter(|&&d| d > 0.0).count(),
        "has_gt": { "2": count(2.0), "1": count(1.0), "0": count(0.0) },
        "labelled_frames": labelled,
    }))
}

/// A 0-d object member (a pickled dict, as in VideoPose3D files) is shown as
/// its object; other members as arrays.
fn npz_member(a: actionbench_formats::value::NdArray) -> Value {
    match a.objects() {
        Some([one]) if a.shape.is_empty() => one.to_json(),
        _ => a.to_json(),
    }
}

fn f32_array(shape: &[usize], data: impl IntoIterator<Item = f32>) -> Value {
    let data: Vec<Value> = data.into_iter().map(json_f32).collect();
    json!({ "dtype": "float32", "shape": shape, "data": data })
}

fn json_f32(v: f32) -> Value {
    match v.to_string().parse::<f64>().ok().and_then(serde_json::Number::from_f64) {
        Some(n) => Value::Number(n),
        None => Value::String(v.to_string()),
    }
}

fn skeleton_json(path: &Path) -> Result<Value> {
    let skeleton = read_ntu_skeleton(path).map_err(read_error)?;
    let sample = NtuSampleName::from_path(path).map(|n| {
        json!({
            "sample_id": n.to_string(), "setup": n.setup, "camera": n.camera, "subject": n.subject,
            "replication": n.replication, "action": n.action, "label": n.label(),
        })
    });
    let frames: Vec<Value> = skeleton
        .frames
        .iter()
        .map(|f| {
            let bodies: Vec<Value> = f
                .bodies
                .iter()
                .map(|b| {
                    let n = b.joints.len();
                    json!({
                        "body_id": b.body_id,
                        "clipped_edges": b.clipped_edges,
                        "hand_left_confidence": b.hand_left_confidence,
                        "hand_left_state": b.hand_left_state,
                        "hand_right_confidence": b.hand_right_confidence,
                        "hand_right_state": b.hand_right_state,
                        "is_restricted": b.is_restricted,
                        "lean": b.lean.iter().map(|&v| json_f32(v)).collect::<Vec<_>>(),
                        "tracking_state": b.tracking_state,
                        "position": f32_array(&[n, 3], b.joints.iter().flat_map(|j| j.position)),
                        "depth_xy": f32_array(&[n, 2], b.joints.iter().flat_map(|j| j.depth)),
                        "color_xy": f32_array(&[n, 2], b.joints.iter().flat_map(|j| j.color)),
                        "orientation_wxyz": f32_array(&[n, 4], b.joints.iter().flat_map(|j| j.orientation)),
                        "joint_tracking_state": b.joints.iter().map(|j| j.tracking_state).collect::<Vec<_>>(),
                    })
                })
                .collect();
            json!({ "bodies": bodies })
        })
        .collect();
    Ok(json!({ "sample": sample, "num_frames": frames.len(), "frames": frames }))
}

fn kinetics_json(path: &Path) -> Result<Value> {
    let bytes = std::fs::read(path).with_context(|| format!("Failed to read `{}`", path.display()))?;
    let generic: Value = serde_json::from_slice(&bytes)
        .map_err(|e| anyhow!("`{}` line {}: column {}: not valid JSON ({e})", path.display(), e.line(), e.column()))?;
    if generic.get("data").is_some() {
        let video = parse_kinetics_skeleton(&bytes, path).map_err(read_error)?;
        let frames: Vec<Value> = video
            .data
            .iter()
            .map(|f| {
                let persons: Vec<Value> = f
                    .persons
                    .iter()
                    .map(|p| {
                        json!({
                            "pose": f32_array(&[p.score.len(), 2], p.pose.iter().copied()),
                            "score": p.score.iter().map(|&v| json_f32(v)).collect::<Vec<_>>(),
                        })
                    })
                    .collect();
                json!({ "frame_index": f.frame_index, "persons": persons })
            })
            .collect();
        return Ok(json!({ "label": video.label, "label_index": video.label_index, "frames": frames }));
    }
    if generic.as_object().is_some_and(|o| o.values().all(|v| v.get("has_skeleton").is_some())) {
        let labels = parse_kinetics_labels(&bytes, path).map_err(read_error)?;
        return Ok(Value::Object(
            labels
                .into_iter()
                .map(|(k, e)| {
                    (k, json!({ "has_skeleton": e.has_skeleton, "label": e.label, "label_index": e.label_index }))
                })
                .collect(),
        ));
    }
    // Any other JSON is shown as it is.
    Ok(generic)
}

fn parquet_json(path: &Path) -> Result<Value> {
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let bytes = std::fs::read(path).with_context(|| format!("Failed to read `{}`", path.display()))?;
    // A shard next to its index is checked against it first.
    let mut verified = Value::Null;
    if let (Some(dir), Some(name)) = (path.parent(), path.file_name().and_then(|n| n.to_str()))
        && dir.join(actionbench_shards::INDEX_FILE).exists()
    {
        let index = actionbench_shards::ShardIndex::read(dir)?;
        if let Some(shard) = index.shards.iter().find(|s| s.file == name) {
            actionbench_shards::read_shard(dir, shard)?;
            verified = json!(true);
        }
    }
    let builder = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(bytes))
        .map_err(|e| anyhow!("`{}`: not a readable Parquet file: {e}", path.display()))?;
    let metadata = builder.metadata().file_metadata().clone();
    let key_values: Map<String, Value> = metadata
        .key_value_metadata()
        .map(|kv| kv.iter().filter(|k| !k.key.starts_with("ARROW:")).map(|k| (k.key.clone(), json!(k.value))).collect())
        .unwrap_or_default();
    let schema = builder.schema().clone();
    let reader = builder.build().map_err(|e| anyhow!("`{}`: {e}", path.display()))?;
    let mut rows = Vec::new();
    for batch in reader {
        let batch = batch.map_err(|e| anyhow!("`{}`: {e}", path.display()))?;
        let columns: Vec<Vec<Value>> = batch
            .schema()
            .fields()
            .iter()
            .zip(batch.columns())
            .map(|(field, column)| (0..batch.num_rows()).map(|i| cell(field, column, i)).collect())
            .collect();
        for i in 0..batch.num_rows() {
            let row: Map<String, Value> =
                schema.fields().iter().zip(&columns).map(|(f, c)| (f.name().clone(), c[i].clone())).collect();
            rows.push(Value::Object(row));
        }
    }
    let fields: Vec<Value> = schema
        .fields()
        .iter()
        .map(|f| {
            let ext = f.extension_type_name().map(str::to_string);
            json!({ "name": f.name(), "type": ext.unwrap_or_else(|| f.data_type().to_string()), "nullable": f.is_nullable() })
        })
        .collect();
    Ok(json!({
        "schema": fields,
        "metadata": key_values,
        "checksum_verified": verified,
        "num_rows": metadata.num_rows(),
        "rows": rows,
    }))
}

fn numpy_name(t: &DataType) -> String {
    match t {
        DataType::Float16 => "float16".into(),
        DataType::Float32 => "float32".into(),
        DataType::Float64 => "float64".into(),
        DataType::Int8 => "int8".into(),
        DataType::Int16 => "int16".into(),
        DataType::Int32 => "int32".into(),
        DataType::Int64 => "int64".into(),
        DataType::UInt8 => "uint8".into(),
        DataType::UInt16 => "uint16".into(),
        DataType::UInt32 => "uint32".into(),
        DataType::UInt64 => "uint64".into(),
        DataType::Boolean => "bool".into(),
        other => other.to_string(),
    }
}

/// One cell as JSON; tensor extension columns as `{dtype, shape, data}`.
fn cell(field: &Field, column: &ArrayRef, i: usize) -> Value {
    if column.is_null(i) {
        return Value::Null;
    }
    match field.extension_type_name() {
        Some("arrow.variable_shape_tensor") => {
            let s = column.as_struct();
            let data = s.column(0).as_list::<i32>().value(i);
            let shape: Vec<Value> = (0..s.column(1).as_fixed_size_list().value_length() as usize)
                .map(|d| {
                    let shape = s.column(1).as_fixed_size_list().value(i);
                    scalar(&shape, d)
                })
                .collect();
            let dtype = numpy_name(data.data_type());
            let values: Vec<Value> = (0..data.len()).map(|k| scalar(&data, k)).collect();
            return json!({ "dtype": dtype, "shape": shape, "data": values });
        }
        Some("arrow.fixed_shape_tensor") => {
            let values = column.as_fixed_size_list().value(i);
            let shape: Value = field
                .metadata()
                .get("ARROW:extension:metadata")
                .and_then(|m| serde_json::from_str::<Value>(m).ok())
                .and_then(|m| m.get("shape").cloned())
                .unwrap_or_else(|| json!([values.len()]));
            let data: Vec<Value> = (0..values.len()).map(|k| scalar(&values, k)).collect();
            return json!({ "dtype": numpy_name(values.data_type()), "shape": shape, "data": data });
        }
        _ => {}
    }
    match column.data_type() {
        DataType::List(inner) => {
            let v = column.as_list::<i32>().value(i);
            let f = inner.as_ref();
            Value::Array((0..v.len()).map(|k| cell(f, &v, k)).collect())
        }
        DataType::LargeList(inner) => {
            let v = column.as_list::<i64>().value(i);
            Value::Array((0..v.len()).map(|k| cell(inner.as_ref(), &v, k)).collect())
        }
        DataType::FixedSizeList(inner, _) => {
            let v = column.as_fixed_size_list().value(i);
            Value::Array((0..v.len()).map(|k| cell(inner.as_ref(), &v, k)).collect())
        }
        DataType::Struct(fields) => {
            let s = column.as_struct();
            Value::Object(fields.iter().zip(s.columns()).map(|(f, c)| (f.name().clone(), cell(f, c, i))).collect())
        }
        _ => scalar(column, i),
    }
}

/// A primitive or text value as JSON (others as their display text).
fn scalar(column: &ArrayRef, i: usize) -> Value {
    use arrow::datatypes::*;
    if column.is_null(i) {
        return Value::Null;
    }
    macro_rules! prim {
        ($t:ty) => {
            json!(column.as_primitive::<$t>().value(i))
        };
    }
    match column.data_type() {
        DataType::Boolean => json!(column.as_boolean().value(i)),
        DataType::Int8 => prim!(Int8Type),
        DataType::Int16 => prim!(Int16Type),
        DataType::Int32 => prim!(Int32Type),
        DataType::Int64 => prim!(Int64Type),
        DataType::UInt8 => prim!(UInt8Type),
        DataType::UInt16 => prim!(UInt16Type),
        DataType::UInt32 => prim!(UInt32Type),
        DataType::UInt64 => prim!(UInt64Type),
        DataType::Float32 => json_f32(column.as_primitive::<Float32Type>().value(i)),
        DataType::Float64 => {
            let v = column.as_primitive::<Float64Type>().value(i);
            serde_json::Number::from_f64(v).map_or_else(|| json!(v.to_string()), Value::Number)
        }
        DataType::Utf8 => json!(column.as_string::<i32>().value(i)),
        DataType::LargeUtf8 => json!(column.as_string::<i64>().value(i)),
        _ => match arrow::util::display::ArrayFormatter::try_new(column.as_ref(), &Default::default()) {
            Ok(f) => json!(f.value(i).to_string()),
            Err(_) => json!(format!("<{}>", column.data_type())),
        },
    }
}

fn is_ndarray(m: &Map<String, Value>) -> bool {
    m.len() == 3 && m.contains_key("dtype") && m.contains_key("shape") && m.get("data").is_some_and(Value::is_array)
}

fn short(v: &Value) -> String {
    match v {
        Value::String(s) => format!("{s:?}"),
        other => other.to_string(),
    }
}

fn inline_list(items: &[Value], max: usize) -> String {
    let mut s: Vec<String> = items.iter().take(max).map(short).collect();
    if items.len() > max {
        s.push(format!("… {} more", items.len() - max));
    }
    format!("[{}]", s.join(", "))
}

/// The children of a container, one `outline_line` each, at `depth`.
fn outline(v: &Value, depth: usize, max: usize, out: &mut String) {
    let (entries, len): (Vec<(String, &Value)>, usize) = match v {
        Value::Object(m) => (m.iter().take(max).map(|(k, c)| (format!("{k:?}: "), c)).collect(), m.len()),
        Value::Array(a) => (a.iter().take(max).enumerate().map(|(i, c)| (format!("[{i}]: "), c)).collect(), a.len()),
        _ => return,
    };
    for (key, child) in entries {
        outline_line(&key, child, depth, max, out);
    }
    if len > max {
        let _ = writeln!(out, "{}… {} more", "  ".repeat(depth), len - max);
    }
}

/// One line of the outline printed by `--format table`, then the children
/// of a container one level deeper.
fn outline_line(key: &str, child: &Value, depth: usize, max: usize, out: &mut String) {
    let pad = "  ".repeat(depth);
    match child {
        Value::Object(m) if is_ndarray(m) => {
            let data = m["data"].as_array().map(Vec::as_slice).unwrap_or_default();
            let _ = writeln!(
                out,
                "{pad}{key}ndarray {} {} {}",
                m["dtype"].as_str().unwrap_or("?"),
                m["shape"],
                inline_list(data, max)
            );
        }
        Value::Object(m) => {
            let _ = writeln!(out, "{pad}{key}dict ({} entries)", m.len());
            outline(child, depth + 1, max, out);
        }
        Value::Array(a) if a.iter().all(|x| !x.is_object() && !x.is_array()) => {
            let _ = writeln!(out, "{pad}{key}list ({} items) {}", a.len(), inline_list(a, max));
        }
        Value::Array(a) => {
            let _ = writeln!(out, "{pad}{key}list ({} items)", a.len());
            outline(child, depth + 1, max, out);
        }
        scalar => {
            let _ = writeln!(out, "{pad}{key}{}", short(scalar));
        }
    }
}

/// `(path, value)` for every leaf; arrays of numbers in one cell.
fn leaves(v: &Value, path: String, out: &mut Vec<(String, String)>) {
    match v {
        Value::Object(m) if is_ndarray(m) => out.push((path, v.to_string())),
        Value::Object(m) => {
            for (k, child) in m {
                leaves(child, format!("{path}/{k}"), out);
            }
        }
        Value::Array(a) if a.iter().all(|x| !x.is_object() && !x.is_array()) => out.push((path, v.to_string())),
        Value::Array(a) => {
            for (i, child) in a.iter().enumerate() {
                leaves(child, format!("{path}/{i}"), out);
            }
        }
        Value::String(s) => out.push((path, s.clone())),
        other => out.push((path, other.to_string())),
    }
}
