//! `ingest.ntu`: NTU RGB+D 60/120 `.skeleton` files → one row per sample.
//!
//! ```toml
//! [stages.ntu60]
//! uses = "ingest.ntu"
//! inputs = ["data/nturgb+d_skeletons"]
//! params = { dataset = "ntu60" }          # missing-list = "official" (default) | "none" | a path in `inputs`
//! ```
//!
//! Every input file ending in `.skeleton` is a sample; its stem must be an
//! NTU sample name. Samples of the other release (`S018`… or `A061`… for
//! `ntu60`) are skipped and counted; samples of the missing-skeleton list
//! are dropped before reading and counted (`_ingest.json`). Columns:
//!
//! | column | type | meaning |
//! | --- | --- | --- |
//! | `sample_id` | utf8 | file stem `SsssCcccPpppRrrrAaaa` (rows sorted by it) |
//! | `setup`, `camera`, `subject`, `replication`, `action` | int32 | name fields; `action` 1-based |
//! | `label` | int32 | `action − 1` |
//! | `num_frames` | int32 | frames in the file |
//! | `num_bodies` | int32 | bodies per frame stored (B): the most in any frame, capped by `max-bodies` |
//! | `max_bodies_in_file` | int32 | the most bodies in any frame before the cap |
//! | `frame_num_bodies` | tensor int32 `[F]` | bodies listed in each frame (before the cap) |
//! | `body_ids` | tensor uint64 `[F, B]` | Kinect body ids (0 = no body) |
//! | `body_lean` | tensor float32 `[F, B, 2]` | leanX, leanY |
//! | `body_state` | tensor int32 `[F, B, 7]` | clippedEdges, handLeftConfidence, handLeftState, handRightConfidence, handRightState, isRestricted, trackingState |
//! | `joints` | tensor float32 `[F, B, 25, 3]` | x, y, z in metres (camera space) |
//! | `depth_xy`, `color_xy` | tensor float32 `[F, B, 25, 2]` | pixel coordinates in the depth and colour frames |
//! | `orientation` | tensor float32 `[F, B, 25, 4]` | joint orientation quaternion W, X, Y, Z |
//! | `joint_tracking` | tensor int8 `[F, B, 25]` | 0 not tracked, 1 inferred, 2 tracked |
//! | `xsub`, `xview` (ntu60) / `xsub`, `xset` (ntu120) | utf8 | official split: `train` or `val` |
//! | `source_file`, `source_blake3` | utf8 | provenance |
//!
//! Bodies keep file order within a frame; frames with fewer bodies than B
//! are zero-padded (body id 0). With `max-bodies = N` the first N bodies of
//! each frame are kept, as ST-GCN does.

use std::collections::BTreeSet;
use std::sync::Arc;

use actionbench_core::Fingerprint;
use actionbench_formats::ntu::{
    NTU_JOINTS, NtuArrays, NtuDataset, NtuSampleName, parse_ntu_arrays, parse_ntu_missing_list,
};
use actionbench_pipeline::{ParamError, StageContext, StageError, StageKind};
use actionbench_shards::tensor::{VariableShapeTensorBuilder, variable_shape_tensor_field};
use arrow::array::{ArrayRef, Int32Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Float32Type, Int8Type, Int32Type, Schema, SchemaRef, UInt64Type};
use serde::{Deserialize, Serialize};

use crate::ingest::{
    BoxError, OnError, Reject, Source, collect_sources, default_rows_per_shard, finish_ingest, parallel_map,
    param_file, read_source, table_writer, with_hint, with_source_bytes,
};

/// The official missing-skeleton lists (copies from open-mmlab/mmaction2,
/// Apache-2.0; see `data/ntu/README.md`).
const OFFICIAL_MISSING_NTU60: &str = include_str!("../data/ntu/NTU_RGBD_samples_with_missing_skeletons.txt");
const OFFICIAL_MISSING_NTU120: &str = include_str!("../data/ntu/NTU_RGBD120_samples_with_missing_skeletons.txt");

#[derive(Debug, Clone, Copy, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
enum DatasetParam {
    Ntu60,
    Ntu120,
}

/// Params of `ingest.ntu`.
#[derive(Debug, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct IngestNtuParams {
    /// `ntu60` or `ntu120`.
    dataset: DatasetParam,
    /// `official` (the list shipped with actionbench), `none`, or the path
    /// of a list (bare or with the official prose header) that is also in
    /// `inputs`.
    #[serde(default = "official")]
    missing_list: String,
    /// `fail` (default) or `skip` (bad samples go to `rejects/`).
    #[serde(default)]
    on_error: OnError,
    /// Keep at most this many bodies per frame (file order); all when absent.
    #[serde(default)]
    max_bodies: Option<usize>,
    /// Rows per Parquet file.
    #[serde(default = "default_rows_per_shard")]
    rows_per_shard: usize,
}

fn official() -> String {
    "official".into()
}

/// The `ingest.ntu` kind.
pub struct IngestNtu;

fn names(v: &[&str]) -> Option<Vec<String>> {
    Some(v.iter().map(|s| s.to_string()).collect())
}

fn schema(dataset: NtuDataset) -> Result<SchemaRef, BoxError> {
    let int = |n: &str| Field::new(n, DataType::Int32, false);
    let fb = ["frame", "body"];
    let tensor = |name: &str, ty: DataType, dims: &[&str], uniform: Vec<Option<i32>>| {
        variable_shape_tensor_field(name, ty, dims.len(), names(dims), Some(uniform))
    };
    let mut fields = vec![
        Field::new("sample_id", DataType::Utf8, false),
        int("setup"),
        int("camera"),
        int("subject"),
        int("replication"),
        int("action"),
        int("label"),
        int("num_frames"),
        int("num_bodies"),
        int("max_bodies_in_file"),
        tensor("frame_num_bodies", DataType::Int32, &["frame"], vec![None])?,
        tensor("body_ids", DataType::UInt64, &fb, vec![None, None])?,
        tensor("body_lean", DataType::Float32, &["frame", "body", "lean"], vec![None, None, Some(2)])?,
        tensor("body_state", DataType::Int32, &["frame", "body", "field"], vec![None, None, Some(7)])?,
        tensor("joints", DataType::Float32, &["frame", "body", "joint", "xyz"], vec![None, None, Some(25), Some(3)])?,
        tensor("depth_xy", DataType::Float32, &["frame", "body", "joint", "xy"], vec![None, None, Some(25), Some(2)])?,
        tensor("color_xy", DataType::Float32, &["frame", "body", "joint", "xy"], vec![None, None, Some(25), Some(2)])?,
        tensor(
            "orientation",
            DataType::Float32,
            &["frame", "body", "joint", "wxyz"],
            vec![None, None, Some(25), Some(4)],
        )?,
        tensor("joint_tracking", DataType::Int8, &["frame", "body", "joint"], vec![None, None, Some(25)])?,
    ];
    for b in dataset.benchmarks() {
        fields.push(Field::new(b.name(), DataType::Utf8, false));
    }
    fields.push(Field::new("source_file", DataType::Utf8, false));
    fields.push(Field::new("source_blake3", DataType::Utf8, false));
    Ok(Arc::new(Schema::new(fields)))
}

/// Columns of the rows gathered so far.
struct Columns {
    dataset: NtuDataset,
    sample_id: Vec<String>,
    ints: [Vec<i32>; 9],
    frame_num_bodies: VariableShapeTensorBuilder<Int32Type>,
    body_ids: VariableShapeTensorBuilder<UInt64Type>,
    body_lean: VariableShapeTensorBuilder<Float32Type>,
    body_state: VariableShapeTensorBuilder<Int32Type>,
    joints: VariableShapeTensorBuilder<Float32Type>,
    depth_xy: VariableShapeTensorBuilder<Float32Type>,
    color_xy: VariableShapeTensorBuilder<Float32Type>,
    orientation: VariableShapeTensorBuilder<Float32Type>,
    joint_tracking: VariableShapeTensorBuilder<Int8Type>,
    splits: [Vec<&'static str>; 2],
    source_file: Vec<String>,
    source_blake3: Vec<String>,
}

impl Columns {
    fn new(dataset: NtuDataset) -> Self {
        Self {
            dataset,
            sample_id: Vec::new(),
            ints: Default::default(),
            frame_num_bodies: VariableShapeTensorBuilder::new(1),
            body_ids: VariableShapeTensorBuilder::new(2),
            body_lean: VariableShapeTensorBuilder::new(3),
            body_state: VariableShapeTensorBuilder::new(3),
            joints: VariableShapeTensorBuilder::new(4),
            depth_xy: VariableShapeTensorBuilder::new(4),
            color_xy: VariableShapeTensorBuilder::new(4),
            orientation: VariableShapeTensorBuilder::new(4),
            joint_tracking: VariableShapeTensorBuilder::new(3),
            splits: Default::default(),
            source_file: Vec::new(),
            source_blake3: Vec::new(),
        }
    }

    fn push(&mut self, name: &NtuSampleName, a: NtuArrays, source: &Source, hash: Fingerprint) -> Result<(), BoxError> {
        let (f, b, in_file) = (a.frames, a.bodies, a.max_bodies_in_file);
        let j = NTU_JOINTS;
        self.sample_id.push(name.to_string());
        let row = [
            name.setup as i32,
            name.camera as i32,
            name.subject as i32,
            name.replication as i32,
            name.action as i32,
            name.label() as i32,
            f as i32,
            b as i32,
            in_file as i32,
        ];
        for (col, v) in self.ints.iter_mut().zip(row) {
            col.push(v);
        }
        self.frame_num_bodies.push(&[f], &a.frame_num_bodies)?;
        self.body_ids.push(&[f, b], &a.body_ids)?;
        self.body_lean.push(&[f, b, 2], &a.body_lean)?;
        self.body_state.push(&[f, b, 7], &a.body_state)?;
        self.joints.push(&[f, b, j, 3], &a.joints)?;
        self.depth_xy.push(&[f, b, j, 2], &a.depth)?;
        self.color_xy.push(&[f, b, j, 2], &a.color)?;
        self.orientation.push(&[f, b, j, 4], &a.orientation)?;
        self.joint_tracking.push(&[f, b, j], &a.joint_tracking)?;
        for (col, bench) in self.splits.iter_mut().zip(self.dataset.benchmarks()) {
            col.push(bench.split(name));
        }
        self.source_file.push(source.display.clone());
        self.source_blake3.push(hash.to_hex());
        Ok(())
    }

    /// Room for `samples` in every tensor column: each value is copied once.
    fn reserve<'a>(&mut self, samples: impl Iterator<Item = &'a NtuArrays> + Clone) {
        let rows = samples.clone().count();
        let sum = |per: fn(&NtuArrays) -> usize| samples.clone().map(per).sum::<usize>();
        self.frame_num_bodies.reserve(rows, sum(|x| x.frame_num_bodies.len()));
        self.body_ids.reserve(rows, sum(|x| x.body_ids.len()));
        self.body_lean.reserve(rows, sum(|x| x.body_lean.len()));
        self.body_state.reserve(rows, sum(|x| x.body_state.len()));
        self.joints.reserve(rows, sum(|x| x.joints.len()));
        self.depth_xy.reserve(rows, sum(|x| x.depth.len()));
        self.color_xy.reserve(rows, sum(|x| x.color.len()));
        self.orientation.reserve(rows, sum(|x| x.orientation.len()));
        self.joint_tracking.reserve(rows, sum(|x| x.joint_tracking.len()));
    }

    fn take_batch(&mut self, schema: &SchemaRef) -> Result<RecordBatch, BoxError> {
        let done = std::mem::replace(self, Self::new(self.dataset));
        let mut columns: Vec<ArrayRef> = vec![Arc::new(StringArray::from(done.sample_id))];
        for col in done.ints {
            columns.push(Arc::new(Int32Array::from(col)));
        }
        columns.push(done.frame_num_bodies.finish()?);
        columns.push(done.body_ids.finish()?);
        columns.push(done.body_lean.finish()?);
        columns.push(done.body_state.finish()?);
        columns.push(done.joints.finish()?);
        columns.push(done.depth_xy.finish()?);
        columns.push(done.color_xy.finish()?);
        columns.push(done.orientation.finish()?);
        columns.push(done.joint_tracking.finish()?);
        for col in done.splits {
            columns.push(Arc::new(StringArray::from(col)));
        }
        columns.push(Arc::new(StringArray::from(done.source_file)));
        columns.push(Arc::new(StringArray::from(done.source_blake3)));
        Ok(RecordBatch::try_new(schema.clone(), columns)?)
    }
}

/// A chunk's parse results, in sample order.
type Parsed = Vec<Result<(NtuArrays, Fingerprint), actionbench_formats::Error>>;

/// Samples read per parallel batch (bounds memory).
const CHUNK: usize = 128;
/// The smallest chunk (the last ones).
const SMALLEST_CHUNK: usize = 16;

/// `samples` in chunks of `CHUNK`, halving toward the end: the last
/// batch's encoding overlaps no parsing, so it should be small.
fn chunks<T>(samples: &[T]) -> impl Iterator<Item = &[T]> {
    let mut rest = samples;
    std::iter::from_fn(move || {
        let n = if rest.len() > 2 * CHUNK { CHUNK } else { (rest.len() / 2).max(SMALLEST_CHUNK).min(rest.len()) };
        let (chunk, tail) = rest.split_at(n);
        rest = tail;
        (!chunk.is_empty()).then_some(chunk)
    })
}

impl StageKind for IngestNtu {
    fn name(&self) -> &'static str {
        "ingest.ntu"
    }

    fn implementation_version(&self) -> u32 {
        // 2: batches are cut smaller toward the end (the shard bytes changed).
        2
    }
    fn description(&self) -> &'static str {
        "NTU RGB+D 60/120 `.skeleton` files → one row per sample."
    }

    type Params = IngestNtuParams;
    fn check(&self, p: &IngestNtuParams) -> Result<(), ParamError> {
        if p.max_bodies == Some(0) {
            return Err("`max-bodies` must be at least 1".into());
        }
        Ok(())
    }

    fn run(&self, ctx: &StageContext<'_>, p: &IngestNtuParams) -> Result<(), StageError> {
        let dataset = match p.dataset {
            DatasetParam::Ntu60 => NtuDataset::Ntu60,
            DatasetParam::Ntu120 => NtuDataset::Ntu120,
        };
        let (missing, list_file): (BTreeSet<NtuSampleName>, Option<std::path::PathBuf>) = match p.missing_list.as_str()
        {
            "official" => {
                let text = match dataset {
                    NtuDataset::Ntu60 => OFFICIAL_MISSING_NTU60,
                    NtuDataset::Ntu120 => OFFICIAL_MISSING_NTU120,
                };
                (parse_ntu_missing_list(text).into_iter().collect(), None)
            }
            "none" => (BTreeSet::new(), None),
            path => {
                let source = param_file(ctx, "missing-list", path)?;
                let bytes = read_source(&source)?;
                let list = parse_ntu_missing_list(&String::from_utf8_lossy(&bytes));
                (list.into_iter().collect(), Some(source.path))
            }
        };
        let (sources, ignored) = collect_sources(ctx, |path| {
            path.extension().is_some_and(|e| e == "skeleton") || list_file.as_deref() == Some(path)
        })?;
        let mut rejects = Vec::new();
        let mut samples: Vec<(NtuSampleName, Source)> = Vec::new();
        let (mut dropped, mut other_release) = (Vec::new(), 0u64);
        for source in sources {
            if list_file.as_deref() == Some(source.path.as_path()) {
                continue;
            }
            let stem = source.stem();
            let Some(name) = NtuSampleName::parse(&stem) else {
                let message = format!(
                    "`{}`: the file name `{stem}` is not an NTU sample name `SsssCcccPpppRrrrAaaa`",
                    source.display
                );
                match p.on_error {
                    OnError::Fail => return Err(message.into()),
                    OnError::Skip => {
                        rejects.push(Reject::other(&stem, &source, message));
                        continue;
                    }
                }
            };
            if !dataset.contains(&name) {
                other_release += 1;
            } else if missing.contains(&name) {
                dropped.push(name.to_string());
            } else {
                samples.push((name, source));
            }
        }
        samples.sort_by(|a, b| (a.0, &a.1.display).cmp(&(b.0, &b.1.display)));
        if let Some(w) = samples.windows(2).find(|w| w[0].0 == w[1].0) {
            return Err(
                format!("sample `{}` appears twice: `{}` and `{}`", w[0].0, w[0].1.display, w[1].1.display).into()
            );
        }

        let schema = schema(dataset)?;
        let mut writer = table_writer(ctx, schema.clone(), p.rows_per_shard)?;
        let mut columns = Columns::new(dataset);
        let total = samples.len() as u64;
        let mut rows = 0u64;
        let mut done = 0;
        // While chunk i is parsed on the pool, chunk i − 1 is gathered into
        // a batch and encoded: the two halves of ingest overlap, and rows
        // stay in order.
        let mut gather = |chunk: &[(NtuSampleName, Source)], parsed: Parsed| -> Result<(), BoxError> {
            columns.reserve(parsed.iter().filter_map(|r| r.as_ref().ok()).map(|(arrays, _)| arrays));
            for ((name, source), result) in chunk.iter().zip(parsed) {
                match result {
                    Ok((arrays, hash)) => {
                        columns.push(name, arrays, source, hash)?;
                        rows += 1;
                    }
                    Err(e) => match p.on_error {
                        OnError::Fail => return Err(with_hint(e)),
                        OnError::Skip => rejects.push(Reject::from_error(&name.to_string(), source, &e)),
                    },
                }
            }
            if !columns.sample_id.is_empty() {
                writer.write(&columns.take_batch(&schema)?)?;
            }
            Ok(())
        };
        let mut pending: Option<(&[(NtuSampleName, Source)], Parsed)> = None;
        for chunk in chunks(&samples) {
            let (gathered, parsed) = rayon::join(
                || pending.take().map(|(chunk, parsed)| gather(chunk, parsed)).transpose(),
                || {
                    parallel_map(chunk, |(_, source)| {
                        with_source_bytes(source, |bytes| {
                            let arrays = parse_ntu_arrays(bytes, source.shown(), p.max_bodies)?;
                            Ok((arrays, source.content_hash(bytes)))
                        })?
                    })
                },
            );
            gathered?;
            pending = Some((chunk, parsed));
            done += chunk.len();
            ctx.progress(done as u64, Some(total));
        }
        if let Some((chunk, parsed)) = pending {
            gather(chunk, parsed)?;
        }
        finish_ingest(ctx, writer, rejects, p.on_error, |rejected| {
            serde_json::json!({
                "kind": "ingest.ntu",
                "dataset": dataset.name(),
                "rows": rows,
                "rejected": rejected,
                "dropped_missing": dropped.len(),
                "dropped_missing_samples": dropped,
                "skipped_other_release": other_release,
                "ignored_files": ignored,
            })
        })?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_cover_the_samples_in_order_and_shrink_at_the_end() {
        let samples: Vec<usize> = (0..1000).collect();
        let sizes: Vec<usize> = chunks(&samples).map(<[usize]>::len).collect();
        assert_eq!(sizes, [128, 128, 128, 128, 128, 128, 116, 58, 29, 16, 13]);
        assert_eq!(chunks(&samples).flatten().copied().collect::<Vec<_>>(), samples);
        for n in [0, 1, 15, 16, 17, 40, 256, 257] {
            let samples: Vec<usize> = (0..n).collect();
            assert_eq!(chunks(&samples).map(<[usize]>::len).sum::<usize>(), n, "{n}");
            assert!(chunks(&samples).all(|c| !c.is_empty() && c.len() <= CHUNK), "{n}");
        }
    }

    #[test]
    fn official_lists_are_complete() {
        assert_eq!(parse_ntu_missing_list(OFFICIAL_MISSING_NTU60).len(), 302);
        assert_eq!(parse_ntu_missing_list(OFFICIAL_MISSING_NTU120).len(), 535);
    }
}
