//! `ingest.h36m`: Human3.6M as prepared by VideoPose3D (`.npz`) → one row
//! per sequence (3D file) or per sequence and camera (2D file).
//!
//! ```toml
//! [stages.h36m_3d]
//! uses = "ingest.h36m"
//! inputs = ["data/data_3d_h36m.npz"]
//!
//! [stages.h36m_cpn]
//! uses = "ingest.h36m"
//! inputs = ["data/data_2d_h36m_cpn_ft_h36m_dbb.npz"]
//! ```
//!
//! The kind of table follows the inputs: files with `positions_3d` give the
//! 3D table, files with `positions_2d` the 2D table; mixing both in one
//! stage is an error (use two stages). Common columns: `sample_id`
//! (`S1/Walking 1`, or `S1/Walking 1/54138969` in 2D), `subject`, `action`,
//! `action_group` (the action before its first space, as the protocol
//! groups them), `split` (`train` for S1, S5, S6, S7, S8; `test` for S9,
//! S11; null otherwise — VideoPose3D's defaults), `num_frames`,
//! `source_file`, `source_blake3`. 3D: `positions` (tensor float32
//! `[T, J, 3]`, metres, world frame, J = 32). 2D: `camera` (id),
//! `camera_index` (0–3), `keypoints` (tensor float32 `[T, J, 2]`, pixels,
//! J = 17), `layout_name` (from the metadata; null in `_gt` files).

use std::sync::Arc;

use actionbench_formats::h36m::{H36M_CAMERAS, PoseArray, parse_h36m_2d, parse_h36m_3d};
use actionbench_formats::npz::npz_member_names;
use actionbench_pipeline::{StageContext, StageError, StageKind};
use actionbench_shards::tensor::{VariableShapeTensorBuilder, variable_shape_tensor_field};
use arrow::array::{ArrayRef, Int32Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Float32Type, Schema, SchemaRef};
use serde::{Deserialize, Serialize};

use crate::ingest::{
    BoxError, OnError, Reject, Source, collect_sources, default_rows_per_shard, finish_ingest, read_source,
    table_writer, with_hint,
};

/// Params of `ingest.h36m`.
#[derive(Debug, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct IngestH36mParams {
    /// `fail` (default) or `skip` (an unreadable file goes to `rejects/`).
    #[serde(default)]
    on_error: OnError,
    /// Rows per Parquet file.
    #[serde(default = "default_rows_per_shard")]
    rows_per_shard: usize,
}

/// The `ingest.h36m` kind.
pub struct IngestH36m;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    ThreeD,
    TwoD,
}

struct Row {
    sample_id: String,
    subject: String,
    action: String,
    camera: Option<(String, i32)>,
    layout_name: Option<String>,
    pose: PoseArray,
    file: usize,
}

fn split_of(subject: &str) -> Option<&'static str> {
    match subject {
        "S1" | "S5" | "S6" | "S7" | "S8" => Some("train"),
        "S9" | "S11" => Some("test"),
        _ => None,
    }
}

fn schema(kind: Kind) -> Result<SchemaRef, BoxError> {
    let mut fields = vec![
        Field::new("sample_id", DataType::Utf8, false),
        Field::new("subject", DataType::Utf8, false),
        Field::new("action", DataType::Utf8, false),
        Field::new("action_group", DataType::Utf8, false),
    ];
    if kind == Kind::TwoD {
        fields.push(Field::new("camera", DataType::Utf8, false));
        fields.push(Field::new("camera_index", DataType::Int32, false));
    }
    fields.push(Field::new("split", DataType::Utf8, true));
    fields.push(Field::new("num_frames", DataType::Int32, false));
    let (name, coords) = match kind {
        Kind::ThreeD => ("positions", "xyz"),
        Kind::TwoD => ("keypoints", "xy"),
    };
    let dims = Some(["frame", "joint", coords].map(String::from).to_vec());
    let c = if kind == Kind::ThreeD { 3 } else { 2 };
    fields.push(variable_shape_tensor_field(name, DataType::Float32, 3, dims, Some(vec![None, None, Some(c)]))?);
    if kind == Kind::TwoD {
        fields.push(Field::new("layout_name", DataType::Utf8, true));
    }
    fields.push(Field::new("source_file", DataType::Utf8, false));
    fields.push(Field::new("source_blake3", DataType::Utf8, false));
    Ok(Arc::new(Schema::new(fields)))
}

fn read_file(source: &Source, index: usize) -> Result<(Kind, Vec<Row>, String), actionbench_formats::Error> {
    let bytes = read_source(source)?;
    // The engine hashed plain input files for the key already.
    let hash = source.content_hash(&bytes).to_hex();
    let members = npz_member_names(&bytes, source.shown())?;
    let has = |name: &str| members.iter().any(|k| k == name);
    let mut rows = Vec::new();
    let kind = if has("positions_3d") {
        for s in parse_h36m_3d(&bytes, source.shown())? {
            rows.push(Row {
                sample_id: format!("{}/{}", s.subject, s.action),
                subject: s.subject,
                action: s.action,
                camera: None,
                layout_name: None,
                pose: s.positions,
                file: index,
            });
        }
        Kind::ThreeD
    } else if has("positions_2d") {
        let d = parse_h36m_2d(&bytes, source.shown())?;
        for s in d.sequences {
            for (ci, pose) in s.cameras.into_iter().enumerate() {
                let camera = H36M_CAMERAS.get(ci).map_or_else(|| format!("camera{ci}"), |c| c.to_string());
                rows.push(Row {
                    sample_id: format!("{}/{}/{camera}", s.subject, s.action),
                    subject: s.subject.clone(),
                    action: s.action.clone(),
                    camera: Some((camera, ci as i32)),
                    layout_name: d.metadata.layout_name.clone(),
                    pose,
                    file: index,
                });
            }
        }
        Kind::TwoD
    } else {
        return Err(actionbench_formats::Error::File {
            path: source.shown().to_path_buf(),
            message: "neither `positions_3d` nor `positions_2d` is in the archive: not a VideoPose3D Human3.6M file"
                .into(),
            hint: None,
        });
    };
    Ok((kind, rows, hash))
}

impl StageKind for IngestH36m {
    fn name(&self) -> &'static str {
        "ingest.h36m"
    }

    fn implementation_version(&self) -> u32 {
        1
    }
    fn description(&self) -> &'static str {
        "Human3.6M as prepared by VideoPose3D (`.npz`) → one row per sequence (3D file) or per sequence and camera (2D file)."
    }

    type Params = IngestH36mParams;

    fn run(&self, ctx: &StageContext<'_>, p: &IngestH36mParams) -> Result<(), StageError> {
        let (sources, ignored) = collect_sources(ctx, |path| path.extension().is_some_and(|e| e == "npz"))?;
        let mut rejects = Vec::new();
        let mut kind: Option<(Kind, usize)> = None;
        let mut rows = Vec::new();
        let mut hashes = vec![String::new(); sources.len()];
        for (i, source) in sources.iter().enumerate() {
            match read_file(source, i) {
                Ok((k, mut file_rows, hash)) => {
                    if let Some((first, at)) = kind
                        && first != k
                    {
                        return Err(format!(
                            "`{}` holds {} poses but `{}` holds {} poses; ingest 3D and 2D files in separate stages",
                            sources[at].display,
                            if first == Kind::ThreeD { "3D" } else { "2D" },
                            source.display,
                            if k == Kind::ThreeD { "3D" } else { "2D" },
                        )
                        .into());
                    }
                    kind.get_or_insert((k, i));
                    hashes[i] = hash;
                    rows.append(&mut file_rows);
                }
                Err(e) if p.on_error == OnError::Skip => rejects.push(Reject::from_error(&source.stem(), source, &e)),
                Err(e) => return Err(with_hint(e)),
            }
            ctx.progress(i as u64 + 1, Some(sources.len() as u64));
        }
        rows.sort_by(|a, b| (&a.sample_id, a.file).cmp(&(&b.sample_id, b.file)));
        if let Some(w) = rows.windows(2).find(|w| w[0].sample_id == w[1].sample_id) {
            return Err(format!(
                "sequence `{}` appears twice: in `{}` and in `{}`",
                w[0].sample_id, sources[w[0].file].display, sources[w[1].file].display
            )
            .into());
        }
        let kind = kind.map_or(Kind::ThreeD, |k| k.0);
        let schema = schema(kind)?;
        let mut writer = table_writer(ctx, schema.clone(), p.rows_per_shard)?;
        for chunk in rows.chunks(p.rows_per_shard.max(1)) {
            let text = |f: &dyn Fn(&Row) -> String| -> ArrayRef {
                Arc::new(StringArray::from_iter_values(chunk.iter().map(f)))
            };
            let mut columns: Vec<ArrayRef> = vec![
                text(&|r| r.sample_id.clone()),
                text(&|r| r.subject.clone()),
                text(&|r| r.action.clone()),
                text(&|r| r.action.split(' ').next().unwrap_or_default().to_string()),
            ];
            if kind == Kind::TwoD {
                columns.push(text(&|r| r.camera.as_ref().map(|c| c.0.clone()).unwrap_or_default()));
                columns.push(Arc::new(Int32Array::from_iter_values(
                    chunk.iter().map(|r| r.camera.as_ref().map_or(0, |c| c.1)),
                )));
            }
            columns.push(Arc::new(StringArray::from(chunk.iter().map(|r| split_of(&r.subject)).collect::<Vec<_>>())));
            columns.push(Arc::new(Int32Array::from_iter_values(chunk.iter().map(|r| r.pose.shape[0] as i32))));
            let mut tensor = VariableShapeTensorBuilder::<Float32Type>::new(3);
            for r in chunk {
                tensor.push(&r.pose.shape, &r.pose.data)?;
            }
            columns.push(tensor.finish()?);
            if kind == Kind::TwoD {
                columns
                    .push(Arc::new(StringArray::from(chunk.iter().map(|r| r.layout_name.clone()).collect::<Vec<_>>())));
            }
            columns.push(text(&|r| sources[r.file].display.clone()));
            columns.push(text(&|r| hashes[r.file].clone()));
            writer.write(&RecordBatch::try_new(schema.clone(), columns)?)?;
        }
        finish_ingest(ctx, writer, rejects, p.on_error, |rejected| {
            serde_json::json!({
                "kind": "ingest.h36m",
                "table": if kind == Kind::ThreeD { "3d" } else { "2d" },
                "rows": rows.len(),
                "rejected": rejected,
                "files": sources.len(),
                "ignored_files": ignored,
            })
        })
    }
}
