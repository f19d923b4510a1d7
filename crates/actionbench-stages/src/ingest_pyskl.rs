//! `ingest.pyskl`: mmaction2 / pyskl skeleton annotation pickles → one row
//! per annotation.
//!
//! ```toml
//! [stages.k400_index]
//! uses = "ingest.pyskl"
//! inputs = ["data/k400_hrnet.pkl"]
//! ```
//!
//! Both generations are read (`{split, annotations}` and mmaction2 0.x's
//! bare list), plain or joblib-compressed, through the safe pickle reader.
//! Columns: `sample_id` (`frame_dir`), `label`, `total_frames`,
//! `img_height`, `img_width`, `original_height`, `original_width` (int32,
//! null when absent), `splits` (list of the split names that list the
//! sample, e.g. `["xsub_train", "xview_val"]`), `keypoint` (tensor float32
//! `[M, T, V, C]`, shape `[0, 0, 0, 0]` when absent), `keypoint_score`
//! (tensor float32 `[M, T, V]`, `[0, 0, 0]` when absent), `other` (every
//! other field as JSON text, e.g. `frame_inds`, `box_score`, `valid`),
//! `source_file`, `source_blake3`. Rows are sorted by `sample_id`; a
//! sample listed in two files is an error.

use std::collections::BTreeMap;
use std::path::Path;

use actionbench_formats::joblib::parse_joblib;
use actionbench_formats::pickle::PickleOptions;
use actionbench_formats::pyskl::{PysklRecord, pyskl_from_value};
use actionbench_formats::value::NdArray;
use actionbench_pipeline::StageContext;
use actionbench_shards::tensor::variable_shape_tensor_field;
use arrow::datatypes::{DataType, Float32Type};
use serde::{Deserialize, Serialize};

use crate::ingest::{BoxError, OnError, Source, default_rows_per_shard, read_source};
use crate::sample_format::{Columns, Counts, Ids, Ingest, Preparing, SampleError, SampleFormat};

/// Params of `ingest.pyskl`.
#[derive(Debug, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct IngestPysklParams {
    /// File name endings of the annotation files among the inputs.
    #[serde(default = "default_extensions")]
    extensions: Vec<String>,
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
}
crate::ingest_params!(IngestPysklParams);

fn default_extensions() -> Vec<String> {
    vec![".pkl".into(), ".pickle".into(), ".joblib".into()]
}

/// The `ingest.pyskl` kind.
pub type IngestPyskl = Ingest<PysklFormat>;

/// mmaction2 / pyskl annotation pickles as a [`SampleFormat`]: one file
/// holds many annotations, their ids (`frame_dir`) inside it.
pub struct PysklFormat;

/// One annotation's row.
pub struct PysklSample {
    record: PysklRecord,
    splits: Vec<String>,
    /// `[M, T, V, C]` and its values; `[0, 0, 0, 0]` when absent.
    keypoint: (Vec<usize>, Vec<f32>),
    /// `[M, T, V]` and its values; `[0, 0, 0]` when absent.
    keypoint_score: (Vec<usize>, Vec<f32>),
    other: String,
    source_file: String,
    source_blake3: String,
}

fn floats(a: &NdArray, what: &str, sample: &str, source: &Source) -> Result<Vec<f32>, SampleError> {
    a.to_f32().ok_or_else(|| {
        SampleError::Other(format!(
            "`{}`: sample `{sample}`: `{what}` has dtype {}, expected numbers",
            source.display,
            a.dtype.name()
        ))
    })
}

impl SampleFormat for PysklFormat {
    type Params = IngestPysklParams;
    type Prepared = ();
    type Sample = PysklSample;
    type Tally = ();
    const IDS: Ids = Ids::Inside;
    const NAME: &'static str = "ingest.pyskl";
    const VERSION: u32 = 1;
    const DESCRIPTION: &'static str = "mmaction2 / pyskl skeleton annotation pickles → one row per annotation.";

    fn prepare(&self, _: &StageContext<'_>, _: &IngestPysklParams, _: &mut Preparing) -> Result<(), BoxError> {
        Ok(())
    }

    fn reads(&self, p: &IngestPysklParams) -> String {
        format!(
            "pickles whose name ends in {} (`extensions`)",
            p.extensions.iter().map(|e| format!("`{e}`")).collect::<Vec<_>>().join(" or ")
        )
    }

    fn accepts(&self, path: &Path, p: &IngestPysklParams) -> bool {
        let name = path.to_string_lossy();
        p.extensions.iter().any(|e| name.ends_with(e.as_str()))
    }

    fn read(&self, source: &Source, _: &IngestPysklParams, _: &()) -> Result<Vec<PysklSample>, SampleError> {
        let bytes = read_source(source)?;
        // The engine hashed plain input files for the key already.
        let hash = source.content_hash(&bytes).to_hex();
        let value = parse_joblib(&bytes, source.shown(), PickleOptions::default())?;
        let annotations = pyskl_from_value(value, source.shown())?;
        let mut membership: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for (split, ids) in &annotations.split {
            for id in ids {
                membership.entry(id.as_str()).or_default().push(split.clone());
            }
        }
        let mut out = Vec::with_capacity(annotations.annotations.len());
        for mut record in annotations.annotations {
            // The arrays leave the record: each value is held once.
            let (kp, ks) = (record.keypoint.take(), record.keypoint_score.take());
            let id = record.frame_dir.as_str();
            let keypoint = match &kp {
                Some(a) => (a.shape.clone(), floats(a, "keypoint", id, source)?),
                None => (vec![0; 4], Vec::new()),
            };
            let keypoint_score = match &ks {
                Some(a) if a.shape.len() == 3 => (a.shape.clone(), floats(a, "keypoint_score", id, source)?),
                Some(a) => {
                    return Err(SampleError::Other(format!(
                        "`{}`: sample `{id}`: `keypoint_score` has shape {:?}, expected [M, T, V]",
                        source.display, a.shape
                    )));
                }
                None => (vec![0; 3], Vec::new()),
            };
            let map: serde_json::Map<String, serde_json::Value> =
                record.other.iter().map(|(k, v)| (k.clone(), v.to_json())).collect();
            out.push(PysklSample {
                splits: membership.get(id).cloned().unwrap_or_default(),
                keypoint,
                keypoint_score,
                other: serde_json::Value::Object(map).to_string(),
                source_file: source.display.clone(),
                source_blake3: hash.clone(),
                record,
            });
        }
        Ok(out)
    }

    fn sample_id<'s>(&self, s: &'s PysklSample) -> &'s str {
        &s.record.frame_dir
    }

    fn duplicate(&self, id: &str, first: &Source, second: &Source) -> String {
        format!("sample `{id}` appears twice: in `{}` and in `{}`", first.display, second.display)
    }

    fn columns(&self, _: &IngestPysklParams, _: &()) -> Result<Columns<PysklSample>, BoxError> {
        let int = |v: Option<i64>| v.and_then(|v| i32::try_from(v).ok());
        Ok(Columns::<PysklSample>::new()
            .utf8("sample_id", |s| &s.record.frame_dir)
            .int32_opt("label", move |s| int(s.record.label))
            .int32_opt("total_frames", move |s| int(s.record.total_frames))
            .int32_opt("img_height", move |s| int(s.record.img_shape.map(|s| s.0)))
            .int32_opt("img_width", move |s| int(s.record.img_shape.map(|s| s.1)))
            .int32_opt("original_height", move |s| int(s.record.original_shape.map(|s| s.0)))
            .int32_opt("original_width", move |s| int(s.record.original_shape.map(|s| s.1)))
            .utf8_list("splits", |s| &s.splits)
            .tensor::<Float32Type, _>(
                variable_shape_tensor_field(
                    "keypoint",
                    DataType::Float32,
                    4,
                    Some(["person", "frame", "joint", "coord"].map(String::from).to_vec()),
                    None,
                )?,
                4,
                |s| (s.keypoint.0.clone(), s.keypoint.1.as_slice()),
            )
            .tensor::<Float32Type, _>(
                variable_shape_tensor_field(
                    "keypoint_score",
                    DataType::Float32,
                    3,
                    Some(["person", "frame", "joint"].map(String::from).to_vec()),
                    None,
                )?,
                3,
                |s| (s.keypoint_score.0.clone(), s.keypoint_score.1.as_slice()),
            )
            .utf8("other", |s| &s.other)
            .utf8("source_file", |s| &s.source_file)
            .utf8("source_blake3", |s| &s.source_blake3))
    }

    fn summary(&self, counts: Counts, _: &IngestPysklParams, _: &(), _: ()) -> serde_json::Value {
        serde_json::json!({
            "kind": "ingest.pyskl",
            "rows": counts.rows,
            "rejected": counts.rejected,
            "files": counts.files,
            "ignored_files": counts.ignored,
        })
    }
}
