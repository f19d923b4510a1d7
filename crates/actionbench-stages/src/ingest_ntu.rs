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
use std::path::Path;

use actionbench_formats::ntu::{
    NTU_JOINTS, NtuArrays, NtuDataset, NtuSampleName, parse_ntu_arrays, parse_ntu_missing_list,
};
use actionbench_pipeline::{ParamError, StageContext};
use actionbench_shards::tensor::variable_shape_tensor_field;
use arrow::datatypes::{DataType, Field, Float32Type, Int8Type, Int32Type, UInt64Type};
use serde::{Deserialize, Serialize};

use crate::ingest::{
    BoxError, OnError, Source, collect_sources, default_rows_per_shard, param_file, read_source, with_source_bytes,
};
use crate::sample_format::{Columns, Counts, Ids, Ingest, Preparing, SampleError, SampleFormat};

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
    /// Succeed with an empty table when the inputs hold no file this kind
    /// reads (by default that is an error naming the files it ignored).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    allow_empty: bool,
}
crate::ingest_params!(IngestNtuParams);

fn official() -> String {
    "official".into()
}

/// The `ingest.ntu` kind.
pub type IngestNtu = Ingest<NtuFormat>;

/// NTU RGB+D `.skeleton` files as a [`SampleFormat`]: one file, one sample,
/// its id the file name.
pub struct NtuFormat;

/// What a run knows before reading: the release and its missing list.
pub struct NtuRelease {
    dataset: NtuDataset,
    missing: BTreeSet<NtuSampleName>,
}

/// One sample's row.
pub struct NtuSample {
    id: String,
    name: NtuSampleName,
    arrays: NtuArrays,
    source_file: String,
    source_blake3: String,
}

/// Samples left out before reading.
#[derive(Default, Serialize, Deserialize)]
pub struct NtuLeftOut {
    dropped: Vec<String>,
    other_release: u64,
}
crate::merge_tally!(NtuLeftOut { other_release } lists { dropped });

fn names(v: &[&str]) -> Option<Vec<String>> {
    Some(v.iter().map(|s| s.to_string()).collect())
}

fn tensor(name: &str, ty: DataType, dims: &[&str], uniform: Vec<Option<i32>>) -> Result<Field, BoxError> {
    Ok(variable_shape_tensor_field(name, ty, dims.len(), names(dims), Some(uniform))?)
}

/// The values of one per-joint tensor column.
type JointValues = fn(&NtuArrays) -> &[f32];

/// Samples read per parallel batch (bounds memory).
const CHUNK: usize = 128;
/// The smallest chunk (the last ones).
const SMALLEST_CHUNK: usize = 16;

/// The next chunk of `remaining` samples: `CHUNK`, halving toward the end,
/// since the last batch's encoding overlaps no parsing and should be small.
fn chunk_len(remaining: usize) -> usize {
    if remaining > 2 * CHUNK { CHUNK } else { (remaining / 2).max(SMALLEST_CHUNK).min(remaining) }
}

fn is_skeleton(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "skeleton")
}

/// The `missing-list` file, when it names one.
fn list_file(ctx: &StageContext<'_>, p: &IngestNtuParams) -> Result<Option<Source>, BoxError> {
    match p.missing_list.as_str() {
        "official" | "none" => Ok(None),
        path => param_file(ctx, "missing-list", path).map(Some),
    }
}

impl SampleFormat for NtuFormat {
    type Params = IngestNtuParams;
    type Prepared = NtuRelease;
    type Sample = NtuSample;
    type Tally = NtuLeftOut;
    const IDS: Ids = Ids::ByKey;
    const NAME: &'static str = "ingest.ntu";
    // 2: batches are cut smaller toward the end (the shard bytes changed).
    const VERSION: u32 = 2;
    const DESCRIPTION: &'static str = "NTU RGB+D 60/120 `.skeleton` files → one row per sample.";

    fn check(&self, p: &IngestNtuParams) -> Result<(), ParamError> {
        if p.max_bodies == Some(0) {
            return Err("`max-bodies` must be at least 1".into());
        }
        Ok(())
    }

    fn prepare(
        &self,
        ctx: &StageContext<'_>,
        p: &IngestNtuParams,
        preparing: &mut Preparing,
    ) -> Result<NtuRelease, BoxError> {
        let dataset = match p.dataset {
            DatasetParam::Ntu60 => NtuDataset::Ntu60,
            DatasetParam::Ntu120 => NtuDataset::Ntu120,
        };
        let missing = match list_file(ctx, p)? {
            None if p.missing_list == "none" => BTreeSet::new(),
            None => parse_ntu_missing_list(match dataset {
                NtuDataset::Ntu60 => OFFICIAL_MISSING_NTU60,
                NtuDataset::Ntu120 => OFFICIAL_MISSING_NTU120,
            })
            .into_iter()
            .collect(),
            Some(source) => {
                let bytes = read_source(&source)?;
                preparing.consumed.push(source.path);
                parse_ntu_missing_list(&String::from_utf8_lossy(&bytes)).into_iter().collect()
            }
        };
        Ok(NtuRelease { dataset, missing })
    }

    fn reads(&self, _: &IngestNtuParams) -> String {
        "NTU RGB+D `.skeleton` files".into()
    }

    fn accepts(&self, path: &Path, _: &IngestNtuParams) -> bool {
        is_skeleton(path)
    }

    /// The `.skeleton` files, and the missing list (read, not a source).
    fn list(&self, ctx: &StageContext<'_>, p: &IngestNtuParams) -> Result<(Vec<Source>, Vec<String>), BoxError> {
        let list = list_file(ctx, p)?.map(|s| s.path);
        collect_sources(ctx, |path| is_skeleton(path) || list.as_deref() == Some(path))
    }

    fn key(&self, source: &Source, _: &IngestNtuParams) -> Result<String, SampleError> {
        let stem = source.stem();
        NtuSampleName::parse(&stem).map(|name| name.to_string()).ok_or_else(|| {
            SampleError::Other(format!(
                "`{}`: the file name `{stem}` is not an NTU sample name `SsssCcccPpppRrrrAaaa`",
                source.display
            ))
        })
    }

    /// Samples of the other release are skipped, and those of the missing
    /// list dropped, before reading; both are counted.
    fn admit(&self, key: &str, _: &Source, _: &IngestNtuParams, r: &NtuRelease, left: &mut NtuLeftOut) -> bool {
        let Some(name) = NtuSampleName::parse(key) else { return false };
        if !r.dataset.contains(&name) {
            left.other_release += 1;
            false
        } else if r.missing.contains(&name) {
            left.dropped.push(key.to_string());
            false
        } else {
            true
        }
    }

    fn read(&self, source: &Source, p: &IngestNtuParams, _: &NtuRelease) -> Result<Vec<NtuSample>, SampleError> {
        let name = NtuSampleName::parse(&source.stem()).ok_or_else(|| {
            SampleError::Other(format!("`{}`: the file name is not an NTU sample name", source.display))
        })?;
        let (arrays, hash) = with_source_bytes(source, |bytes| {
            let arrays = parse_ntu_arrays(bytes, source.shown(), p.max_bodies)?;
            Ok::<_, actionbench_formats::Error>((arrays, source.content_hash(bytes)))
        })??;
        Ok(vec![NtuSample {
            id: name.to_string(),
            name,
            arrays,
            source_file: source.display.clone(),
            source_blake3: hash.to_hex(),
        }])
    }

    fn sample_id<'s>(&self, sample: &'s NtuSample) -> &'s str {
        &sample.id
    }

    fn columns(&self, _: &IngestNtuParams, r: &NtuRelease) -> Result<Columns<NtuSample>, BoxError> {
        const J: usize = NTU_JOINTS;
        let fb = |s: &NtuSample| (s.arrays.frames, s.arrays.bodies);
        let mut columns = Columns::<NtuSample>::new()
            .utf8("sample_id", |s| &s.id)
            .int32("setup", |s| s.name.setup as i32)
            .int32("camera", |s| s.name.camera as i32)
            .int32("subject", |s| s.name.subject as i32)
            .int32("replication", |s| s.name.replication as i32)
            .int32("action", |s| s.name.action as i32)
            .int32("label", |s| s.name.label() as i32)
            .int32("num_frames", |s| s.arrays.frames as i32)
            .int32("num_bodies", |s| s.arrays.bodies as i32)
            .int32("max_bodies_in_file", |s| s.arrays.max_bodies_in_file as i32)
            .tensor::<Int32Type, _>(tensor("frame_num_bodies", DataType::Int32, &["frame"], vec![None])?, 1, |s| {
                ([s.arrays.frames], &s.arrays.frame_num_bodies)
            })
            .tensor::<UInt64Type, _>(
                tensor("body_ids", DataType::UInt64, &["frame", "body"], vec![None, None])?,
                2,
                move |s| {
                    let (f, b) = fb(s);
                    ([f, b], &s.arrays.body_ids)
                },
            )
            .tensor::<Float32Type, _>(
                tensor("body_lean", DataType::Float32, &["frame", "body", "lean"], vec![None, None, Some(2)])?,
                3,
                move |s| {
                    let (f, b) = fb(s);
                    ([f, b, 2], &s.arrays.body_lean)
                },
            )
            .tensor::<Int32Type, _>(
                tensor("body_state", DataType::Int32, &["frame", "body", "field"], vec![None, None, Some(7)])?,
                3,
                move |s| {
                    let (f, b) = fb(s);
                    ([f, b, 7], &s.arrays.body_state)
                },
            );
        let joint_columns: [(&str, &str, usize, JointValues); 4] = [
            ("joints", "xyz", 3, |a| &a.joints),
            ("depth_xy", "xy", 2, |a| &a.depth),
            ("color_xy", "xy", 2, |a| &a.color),
            ("orientation", "wxyz", 4, |a| &a.orientation),
        ];
        for (name, last, width, values) in joint_columns {
            let field = tensor(
                name,
                DataType::Float32,
                &["frame", "body", "joint", last],
                vec![None, None, Some(J as i32), Some(width as i32)],
            )?;
            columns = columns.tensor::<Float32Type, _>(field, 4, move |s| {
                let (f, b) = fb(s);
                ([f, b, J, width], values(&s.arrays))
            });
        }
        columns = columns.tensor::<Int8Type, _>(
            tensor("joint_tracking", DataType::Int8, &["frame", "body", "joint"], vec![None, None, Some(J as i32)])?,
            3,
            move |s| {
                let (f, b) = fb(s);
                ([f, b, J], &s.arrays.joint_tracking)
            },
        );
        for bench in r.dataset.benchmarks() {
            columns = columns.utf8(bench.name(), move |s| bench.split(&s.name));
        }
        Ok(columns.utf8("source_file", |s| &s.source_file).utf8("source_blake3", |s| &s.source_blake3))
    }

    fn read_chunk(&self, _: &IngestNtuParams, remaining: usize) -> usize {
        chunk_len(remaining)
    }

    fn summary(&self, counts: Counts, _: &IngestNtuParams, r: &NtuRelease, left: NtuLeftOut) -> serde_json::Value {
        serde_json::json!({
            "kind": "ingest.ntu",
            "dataset": r.dataset.name(),
            "rows": counts.rows,
            "rejected": counts.rejected,
            "dropped_missing": left.dropped.len(),
            "dropped_missing_samples": left.dropped,
            "skipped_other_release": left.other_release,
            "ignored_files": counts.ignored,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_cover_the_samples_in_order_and_shrink_at_the_end() {
        let sizes = |mut n: usize| {
            let mut out = Vec::new();
            while n > 0 {
                let c = chunk_len(n);
                out.push(c);
                n -= c;
            }
            out
        };
        assert_eq!(sizes(1000), [128, 128, 128, 128, 128, 128, 116, 58, 29, 16, 13]);
        for n in [1, 15, 16, 17, 40, 256, 257] {
            assert_eq!(sizes(n).iter().sum::<usize>(), n, "{n}");
            assert!(sizes(n).iter().all(|&c| c > 0 && c <= CHUNK), "{n}");
        }
    }

    #[test]
    fn official_lists_are_complete() {
        assert_eq!(parse_ntu_missing_list(OFFICIAL_MISSING_NTU60).len(), 302);
        assert_eq!(parse_ntu_missing_list(OFFICIAL_MISSING_NTU120).len(), 535);
    }
}
