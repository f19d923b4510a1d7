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
use std::sync::Arc;

use actionbench_formats::joblib::parse_joblib;
use actionbench_formats::pickle::PickleOptions;
use actionbench_formats::pyskl::{PysklRecord, pyskl_from_value};
use actionbench_formats::value::NdArray;
use actionbench_pipeline::{StageContext, StageError, StageKind};
use actionbench_shards::tensor::{VariableShapeTensorBuilder, variable_shape_tensor_field};
use arrow::array::{ArrayRef, Int32Array, ListBuilder, RecordBatch, StringArray, StringBuilder};
use arrow::datatypes::{DataType, Field, Float32Type, Schema, SchemaRef};
use serde::{Deserialize, Serialize};

use crate::ingest::{
    BoxError, OnError, Reject, Source, collect_sources, default_rows_per_shard, finish_ingest, read_source,
    table_writer, with_hint,
};

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
}

fn default_extensions() -> Vec<String> {
    vec![".pkl".into(), ".pickle".into(), ".joblib".into()]
}

/// The `ingest.pyskl` kind.
pub struct IngestPyskl;

fn schema() -> Result<SchemaRef, BoxError> {
    let int = |n: &str| Field::new(n, DataType::Int32, true);
    Ok(Arc::new(Schema::new(vec![
        Field::new("sample_id", DataType::Utf8, false),
        int("label"),
        int("total_frames"),
        int("img_height"),
        int("img_width"),
        int("original_height"),
        int("original_width"),
        Field::new("splits", DataType::List(Arc::new(Field::new_list_field(DataType::Utf8, true))), false),
        variable_shape_tensor_field(
            "keypoint",
            DataType::Float32,
            4,
            Some(["person", "frame", "joint", "coord"].map(String::from).to_vec()),
            None,
        )?,
        variable_shape_tensor_field(
            "keypoint_score",
            DataType::Float32,
            3,
            Some(["person", "frame", "joint"].map(String::from).to_vec()),
            None,
        )?,
        Field::new("other", DataType::Utf8, false),
        Field::new("source_file", DataType::Utf8, false),
        Field::new("source_blake3", DataType::Utf8, false),
    ])))
}

fn floats(a: &NdArray, what: &str, sample: &str) -> Result<Vec<f32>, String> {
    a.to_f32().ok_or_else(|| format!("sample `{sample}`: `{what}` has dtype {}, expected numbers", a.dtype.name()))
}

impl StageKind for IngestPyskl {
    fn name(&self) -> &'static str {
        "ingest.pyskl"
    }

    fn implementation_version(&self) -> u32 {
        1
    }
    fn description(&self) -> &'static str {
        "mmaction2 / pyskl skeleton annotation pickles → one row per annotation."
    }

    type Params = IngestPysklParams;

    fn run(&self, ctx: &StageContext<'_>, p: &IngestPysklParams) -> Result<(), StageError> {
        let (sources, ignored) = collect_sources(ctx, |path| {
            let name = path.to_string_lossy();
            p.extensions.iter().any(|e| name.ends_with(e.as_str()))
        })?;
        let mut rejects = Vec::new();
        // sample id -> (record, splits, file index)
        let mut records: BTreeMap<String, (PysklRecord, Vec<String>, usize)> = BTreeMap::new();
        let mut hashes = Vec::new();
        for (fi, source) in sources.iter().enumerate() {
            let read = read_source(source).and_then(|bytes| {
                // The engine hashed plain input files for the key already.
                let hash = source.content_hash(&bytes).to_hex();
                let value = parse_joblib(&bytes, source.shown(), PickleOptions::default())?;
                Ok((pyskl_from_value(value, source.shown())?, hash))
            });
            let annotations = match read {
                Ok((a, hash)) => {
                    hashes.push(hash);
                    a
                }
                Err(e) if p.on_error == OnError::Skip => {
                    hashes.push(String::new());
                    rejects.push(Reject::from_error(&source.stem(), source, &e));
                    continue;
                }
                Err(e) => return Err(with_hint(e)),
            };
            let mut membership: BTreeMap<&str, Vec<String>> = BTreeMap::new();
            for (split, ids) in &annotations.split {
                for id in ids {
                    membership.entry(id.as_str()).or_default().push(split.clone());
                }
            }
            for record in annotations.annotations {
                let splits = membership.get(record.frame_dir.as_str()).cloned().unwrap_or_default();
                if let Some((_, _, other)) = records.get(&record.frame_dir) {
                    return Err(format!(
                        "sample `{}` appears twice: in `{}` and in `{}`",
                        record.frame_dir, sources[*other].display, source.display
                    )
                    .into());
                }
                records.insert(record.frame_dir.clone(), (record, splits, fi));
            }
            ctx.progress(fi as u64 + 1, Some(sources.len() as u64));
        }

        let schema = schema()?;
        let mut writer = table_writer(ctx, schema.clone(), p.rows_per_shard)?;
        let entries: Vec<_> = records.into_iter().collect();
        let mut rows = 0u64;
        for chunk in entries.chunks(p.rows_per_shard.max(1)) {
            let mut ids = Vec::new();
            let mut ints: [Vec<Option<i32>>; 6] = Default::default();
            let mut splits = ListBuilder::new(StringBuilder::new());
            let mut keypoint = VariableShapeTensorBuilder::<Float32Type>::new(4);
            let mut score = VariableShapeTensorBuilder::<Float32Type>::new(3);
            let (mut other, mut files, mut blake) = (Vec::new(), Vec::new(), Vec::new());
            for (id, (r, member_of, fi)) in chunk {
                let source: &Source = &sources[*fi];
                let kp = match &r.keypoint {
                    Some(a) => Some((a.shape.clone(), floats(a, "keypoint", id)?)),
                    None => None,
                };
                let ks = match &r.keypoint_score {
                    Some(a) if a.shape.len() == 3 => Some((a.shape.clone(), floats(a, "keypoint_score", id)?)),
                    Some(a) => {
                        return Err(format!(
                            "`{}`: sample `{id}`: `keypoint_score` has shape {:?}, expected [M, T, V]",
                            source.display, a.shape
                        )
                        .into());
                    }
                    None => None,
                };
                match kp {
                    Some((shape, data)) => keypoint.push(&shape, &data)?,
                    None => keypoint.push(&[0, 0, 0, 0], &[])?,
                }
                match ks {
                    Some((shape, data)) => score.push(&shape, &data)?,
                    None => score.push(&[0, 0, 0], &[])?,
                }
                ids.push(id.clone());
                let row = [
                    r.label,
                    r.total_frames,
                    r.img_shape.map(|s| s.0),
                    r.img_shape.map(|s| s.1),
                    r.original_shape.map(|s| s.0),
                    r.original_shape.map(|s| s.1),
                ];
                for (col, v) in ints.iter_mut().zip(row) {
                    col.push(v.and_then(|v| i32::try_from(v).ok()));
                }
                splits.append_value(member_of.iter().map(|s| Some(s.as_str())));
                let map: serde_json::Map<String, serde_json::Value> =
                    r.other.iter().map(|(k, v)| (k.clone(), v.to_json())).collect();
                other.push(serde_json::Value::Object(map).to_string());
                files.push(source.display.clone());
                blake.push(hashes[*fi].clone());
                rows += 1;
            }
            let mut columns: Vec<ArrayRef> = vec![Arc::new(StringArray::from(ids))];
            columns.extend(ints.into_iter().map(|c| Arc::new(Int32Array::from(c)) as ArrayRef));
            columns.push(Arc::new(splits.finish()));
            columns.push(keypoint.finish()?);
            columns.push(score.finish()?);
            columns.push(Arc::new(StringArray::from(other)));
            columns.push(Arc::new(StringArray::from(files)));
            columns.push(Arc::new(StringArray::from(blake)));
            writer.write(&RecordBatch::try_new(schema.clone(), columns)?)?;
        }
        finish_ingest(
            ctx,
            writer,
            rejects,
            p.on_error,
            |rejected| serde_json::json!({ "kind": "ingest.pyskl", "rows": rows, "rejected": rejected, "files": sources.len(), "ignored_files": ignored }),
        )
    }
}
