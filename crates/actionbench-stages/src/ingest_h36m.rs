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
//! stage is an error (use two stages, and `file = "data_3d_h36m.npz"` to
//! pick one file of an `@stage` output that holds several). Common columns: `sample_id`
//! (`S1/Walking 1`, or `S1/Walking 1/54138969` in 2D), `subject`, `action`,
//! `action_group` (the action before its first space, as the protocol
//! groups them), `split` (`train` for S1, S5, S6, S7, S8; `test` for S9,
//! S11; null otherwise — VideoPose3D's defaults), `num_frames`,
//! `source_file`, `source_blake3`. 3D: `positions` (tensor float32
//! `[T, J, 3]`, metres, world frame, J = 32). 2D: `camera` (id),
//! `camera_index` (0–3), `keypoints` (tensor float32 `[T, J, 2]`, pixels,
//! J = 17), `layout_name` (from the metadata; null in `_gt` files).

use actionbench_formats::h36m::{H36M_CAMERAS, PoseArray, parse_h36m_2d, parse_h36m_3d};
use actionbench_formats::npz::npz_member_names;
use actionbench_pipeline::StageContext;
use actionbench_shards::tensor::variable_shape_tensor_field;
use arrow::datatypes::{DataType, Float32Type};
use serde::{Deserialize, Serialize};

use crate::ingest::{BoxError, OnError, Source, default_rows_per_shard, read_source};
use crate::sample_format::{Columns, Counts, Ids, Ingest, Preparing, SampleError, SampleFormat};

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
    /// Succeed with an empty table when the inputs hold no file this kind
    /// reads (by default that is an error naming the files it ignored).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    allow_empty: bool,
    /// Read only the input file with this name (e.g. `data_3d_h36m.npz`
    /// when an `@stage` output holds the 3D and the 2D files together).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    file: Option<String>,
}
crate::ingest_params!(IngestH36mParams);

/// The `ingest.h36m` kind.
pub type IngestH36m = Ingest<H36mFormat>;

/// VideoPose3D `.npz` files as a [`SampleFormat`]: one file holds many
/// sequences; the table is 3D or 2D after what the files hold.
pub struct H36mFormat;

/// Which table the files make.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Kind {
    /// `positions_3d` files.
    #[default]
    ThreeD,
    /// `positions_2d` files.
    TwoD,
}

/// One sequence's (or sequence and camera's) row.
pub struct Row {
    kind: Kind,
    sample_id: String,
    subject: String,
    action: String,
    camera: Option<(String, i32)>,
    layout_name: Option<String>,
    pose: PoseArray,
    source_file: String,
    source_blake3: String,
}

fn split_of(subject: &str) -> Option<&'static str> {
    match subject {
        "S1" | "S5" | "S6" | "S7" | "S8" => Some("train"),
        "S9" | "S11" => Some("test"),
        _ => None,
    }
}

fn read_file(source: &Source) -> Result<Vec<Row>, actionbench_formats::Error> {
    let bytes = read_source(source)?;
    // The engine hashed plain input files for the key already.
    let hash = source.content_hash(&bytes).to_hex();
    let members = npz_member_names(&bytes, source.shown())?;
    let has = |name: &str| members.iter().any(|k| k == name);
    let mut rows = Vec::new();
    if has("positions_3d") {
        for s in parse_h36m_3d(&bytes, source.shown())? {
            rows.push(Row {
                sample_id: format!("{}/{}", s.subject, s.action),
                subject: s.subject,
                action: s.action,
                camera: None,
                layout_name: None,
                pose: s.positions,
                kind: Kind::ThreeD,
                source_file: source.display.clone(),
                source_blake3: hash.clone(),
            });
        }
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
                    kind: Kind::TwoD,
                    source_file: source.display.clone(),
                    source_blake3: hash.clone(),
                });
            }
        }
    } else {
        return Err(actionbench_formats::Error::File {
            path: source.shown().to_path_buf(),
            message: "neither `positions_3d` nor `positions_2d` is in the archive: not a VideoPose3D Human3.6M file"
                .into(),
            hint: None,
        });
    }
    Ok(rows)
}

impl SampleFormat for H36mFormat {
    type Params = IngestH36mParams;
    /// The table's kind, known once every file is read.
    type Prepared = Kind;
    type Sample = Row;
    type Tally = ();
    const IDS: Ids = Ids::Inside;
    const NAME: &'static str = "ingest.h36m";
    const VERSION: u32 = 1;
    const DESCRIPTION: &'static str = "Human3.6M as prepared by VideoPose3D (`.npz`) → one row per sequence (3D file) or per sequence and camera (2D file).";

    fn prepare(&self, _: &StageContext<'_>, _: &IngestH36mParams, _: &mut Preparing) -> Result<Kind, BoxError> {
        Ok(Kind::ThreeD)
    }

    fn reads(&self, _: &IngestH36mParams) -> String {
        "VideoPose3D `.npz` files (`data_3d_h36m.npz`, `data_2d_h36m_*.npz`)".into()
    }

    fn accepts(&self, path: &std::path::Path, p: &IngestH36mParams) -> bool {
        path.extension().is_some_and(|e| e == "npz")
            && p.file.as_deref().is_none_or(|f| path.file_name().is_some_and(|n| n == f))
    }

    fn read(&self, source: &Source, _: &IngestH36mParams, _: &Kind) -> Result<Vec<Row>, SampleError> {
        Ok(read_file(source)?)
    }

    fn sample_id<'s>(&self, row: &'s Row) -> &'s str {
        &row.sample_id
    }

    fn duplicate(&self, id: &str, first: &Source, second: &Source) -> String {
        format!("sequence `{id}` appears twice: in `{}` and in `{}`", first.display, second.display)
    }

    /// One stage, one kind of table: the first file (in path order) decides.
    fn gathered(&self, rows: &mut [Row], kind: &mut Kind, _: &mut ()) -> Result<(), BoxError> {
        let Some(first) = rows.iter().min_by(|a, b| a.source_file.cmp(&b.source_file)) else { return Ok(()) };
        let name = |k: Kind| if k == Kind::ThreeD { "3D" } else { "2D" };
        if let Some(other) =
            rows.iter().filter(|r| r.kind != first.kind).min_by(|a, b| a.source_file.cmp(&b.source_file))
        {
            return Err(format!(
                "`{}` holds {} poses but `{}` holds {} poses; ingest 3D and 2D files in separate stages",
                first.source_file,
                name(first.kind),
                other.source_file,
                name(other.kind),
            )
            .into());
        }
        *kind = first.kind;
        Ok(())
    }

    fn columns(&self, _: &IngestH36mParams, kind: &Kind) -> Result<Columns<Row>, BoxError> {
        let two_d = *kind == Kind::TwoD;
        let (name, coords, c) = if two_d { ("keypoints", "xy", 2) } else { ("positions", "xyz", 3) };
        let dims = Some(["frame", "joint", coords].map(String::from).to_vec());
        Ok(Columns::<Row>::new()
            .utf8("sample_id", |r| &r.sample_id)
            .utf8("subject", |r| &r.subject)
            .utf8("action", |r| &r.action)
            .utf8("action_group", |r| r.action.split(' ').next().unwrap_or_default())
            .when(two_d, |columns| {
                columns
                    .utf8("camera", |r| r.camera.as_ref().map_or("", |c| c.0.as_str()))
                    .int32("camera_index", |r| r.camera.as_ref().map_or(0, |c| c.1))
            })
            .utf8_opt("split", |r| split_of(&r.subject))
            .int32("num_frames", |r| r.pose.shape[0] as i32)
            .tensor::<Float32Type, _>(
                variable_shape_tensor_field(name, DataType::Float32, 3, dims, Some(vec![None, None, Some(c)]))?,
                3,
                |r| (r.pose.shape, r.pose.data.as_slice()),
            )
            .when(two_d, |columns| columns.utf8_opt("layout_name", |r| r.layout_name.as_deref()))
            .utf8("source_file", |r| &r.source_file)
            .utf8("source_blake3", |r| &r.source_blake3))
    }

    fn summary(&self, counts: Counts, _: &IngestH36mParams, kind: &Kind, _: ()) -> serde_json::Value {
        serde_json::json!({
            "kind": "ingest.h36m",
            "table": if *kind == Kind::ThreeD { "3d" } else { "2d" },
            "rows": counts.rows,
            "rejected": counts.rejected,
            "files": counts.files,
            "ignored_files": counts.ignored,
        })
    }
}
