//! `ingest.kinetics-skeleton`: ST-GCN Kinetics-skeleton JSON files → one
//! row per video.
//!
//! ```toml
//! [stages.k400_val]
//! uses = "ingest.kinetics-skeleton"
//! inputs = ["data/kinetics_val", "data/kinetics_val_label.json"]
//! params = { labels = "data/kinetics_val_label.json", split = "val" }
//! ```
//!
//! Every input `.json` file other than the `labels` index is a video; its
//! stem is the sample id. Columns: `sample_id`, `label` (int32, null when
//! unknown or −1), `label_name`, `has_skeleton` (from the index; null
//! without one), `split` (the `split` param; null when absent),
//! `num_frames` (frames with detections), `max_frame_index`,
//! `frame_index` (tensor int32 `[N]`, 1-based frame numbers of the stored
//! frames), `num_persons` (tensor int32 `[N]`), `pose` (tensor float32
//! `[N, M, V, 2]`, x and y normalised, zero-padded to the most persons M in
//! a frame, file order), `score` (tensor float32 `[N, M, V]`),
//! `source_file`, `source_blake3`. V is the `joints` param (18).

use std::path::Path;

use actionbench_formats::kinetics_skeleton::{
    KINETICS_JOINTS, KineticsLabelEntry, parse_kinetics_labels, parse_kinetics_skeleton,
};
use actionbench_pipeline::{ParamError, StageContext};
use actionbench_shards::tensor::variable_shape_tensor_field;
use arrow::datatypes::{DataType, Float32Type, Int32Type};
use serde::{Deserialize, Serialize};

use crate::ingest::{BoxError, OnError, Source, default_rows_per_shard, param_file, read_source, with_hint};
use crate::sample_format::{Columns, Ids, Ingest, Preparing, SampleError, SampleFormat};

/// Params of `ingest.kinetics-skeleton`.
#[derive(Debug, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct IngestKineticsParams {
    /// `kinetics_{train,val}_label.json`, also listed in `inputs`.
    #[serde(default)]
    labels: Option<String>,
    /// Written into the `split` column.
    #[serde(default)]
    split: Option<String>,
    /// Joints per pose.
    #[serde(default = "default_joints")]
    joints: usize,
    /// `fail` (default) or `skip`.
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
crate::ingest_params!(IngestKineticsParams);

fn default_joints() -> usize {
    KINETICS_JOINTS
}

/// The `ingest.kinetics-skeleton` kind.
pub type IngestKineticsSkeleton = Ingest<KineticsSkeletonFormat>;

/// Kinetics-skeleton JSON as a [`SampleFormat`]: one file, one video, one row.
pub struct KineticsSkeletonFormat;

/// One video's row.
pub struct KineticsSample {
    id: String,
    label: Option<i32>,
    label_name: Option<String>,
    has_skeleton: Option<bool>,
    split: Option<String>,
    frames: [usize; 1],
    frame_index: Vec<i32>,
    num_persons: Vec<i32>,
    pose_shape: [usize; 4],
    pose: Vec<f32>,
    score_shape: [usize; 3],
    score: Vec<f32>,
    source_file: String,
    source_blake3: String,
}

fn dims(names: &[&str]) -> Option<Vec<String>> {
    Some(names.iter().map(|n| n.to_string()).collect())
}

impl SampleFormat for KineticsSkeletonFormat {
    type Params = IngestKineticsParams;
    /// The label index, sorted by video id.
    type Prepared = Vec<(String, KineticsLabelEntry)>;
    type Sample = KineticsSample;
    type Tally = ();
    const IDS: Ids = Ids::ByKey;
    const NAME: &'static str = "ingest.kinetics-skeleton";
    const VERSION: u32 = 1;
    const DESCRIPTION: &'static str = "ST-GCN Kinetics-skeleton JSON files → one row per video.";

    fn check(&self, p: &IngestKineticsParams) -> Result<(), ParamError> {
        if p.joints == 0 {
            return Err("`joints` must be at least 1".into());
        }
        Ok(())
    }

    fn prepare(
        &self,
        ctx: &StageContext<'_>,
        p: &IngestKineticsParams,
        preparing: &mut Preparing,
    ) -> Result<Self::Prepared, BoxError> {
        let Some(path) = &p.labels else { return Ok(Vec::new()) };
        let source = param_file(ctx, "labels", path)?;
        let labels =
            parse_kinetics_labels(&read_source(&source).map_err(with_hint)?, source.shown()).map_err(with_hint)?;
        preparing.consumed.push(source.path);
        Ok(labels)
    }

    fn reads(&self, _: &IngestKineticsParams) -> String {
        "Kinetics-skeleton `.json` files (one per video)".into()
    }

    fn accepts(&self, path: &Path, _: &IngestKineticsParams) -> bool {
        path.extension().is_some_and(|e| e == "json")
    }

    fn read(
        &self,
        source: &Source,
        p: &IngestKineticsParams,
        labels: &Self::Prepared,
    ) -> Result<Vec<KineticsSample>, SampleError> {
        let bytes = &read_source(source)?;
        let video = parse_kinetics_skeleton(bytes, source.shown())?;
        let id = source.stem();
        let joints = p.joints;
        let n = video.data.len();
        let m = video.data.iter().map(|f| f.persons.len()).max().unwrap_or(0);
        let mut pose = vec![0f32; n * m * joints * 2];
        let mut score = vec![0f32; n * m * joints];
        for (fi, frame) in video.data.iter().enumerate() {
            for (pi, person) in frame.persons.iter().enumerate() {
                if person.score.len() != joints {
                    return Err(SampleError::Other(format!(
                        "`{}`: frame_index {}: a pose has {} joints, expected {joints} (param `joints`)",
                        source.display,
                        frame.frame_index,
                        person.score.len()
                    )));
                }
                let at = fi * m + pi;
                pose[at * joints * 2..(at + 1) * joints * 2].copy_from_slice(&person.pose);
                score[at * joints..(at + 1) * joints].copy_from_slice(&person.score);
            }
        }
        let frame_index: Vec<i32> = video.data.iter().map(|f| f.frame_index as i32).collect();
        let entry = labels.binary_search_by(|(k, _)| k.as_str().cmp(&id)).ok().map(|i| &labels[i].1);
        let (label, name) = match entry {
            Some(e) => (Some(e.label_index), Some(e.label.clone())),
            None => (video.label_index, video.label.clone()),
        };
        Ok(vec![KineticsSample {
            label: label.filter(|&l| l >= 0).map(|l| l as i32),
            label_name: name.filter(|s| !s.is_empty()),
            has_skeleton: entry.map(|e| e.has_skeleton),
            split: p.split.clone(),
            frames: [n],
            num_persons: video.data.iter().map(|f| f.persons.len() as i32).collect(),
            frame_index,
            pose_shape: [n, m, joints, 2],
            pose,
            score_shape: [n, m, joints],
            score,
            source_file: source.display.clone(),
            source_blake3: source.content_hash(bytes).to_hex(),
            id,
        }])
    }

    fn sample_id<'s>(&self, sample: &'s KineticsSample) -> &'s str {
        &sample.id
    }

    fn columns(&self, _: &IngestKineticsParams, _: &Self::Prepared) -> Result<Columns<KineticsSample>, BoxError> {
        let frame = dims(&["frame"]);
        Ok(Columns::<KineticsSample>::new()
            .utf8("sample_id", |s| &s.id)
            .int32_opt("label", |s| s.label)
            .utf8_opt("label_name", |s| s.label_name.as_deref())
            .bool_opt("has_skeleton", |s| s.has_skeleton)
            .utf8_opt("split", |s| s.split.as_deref())
            .int32("num_frames", |s| s.frames[0] as i32)
            .int32("max_frame_index", |s| s.frame_index.iter().copied().max().unwrap_or(0))
            .tensor::<Int32Type, _>(
                variable_shape_tensor_field("frame_index", DataType::Int32, 1, frame.clone(), None)?,
                1,
                |s| (s.frames, &s.frame_index),
            )
            .tensor::<Int32Type, _>(
                variable_shape_tensor_field("num_persons", DataType::Int32, 1, frame, None)?,
                1,
                |s| (s.frames, &s.num_persons),
            )
            .tensor::<Float32Type, _>(
                variable_shape_tensor_field(
                    "pose",
                    DataType::Float32,
                    4,
                    dims(&["frame", "person", "joint", "xy"]),
                    Some(vec![None, None, None, Some(2)]),
                )?,
                4,
                |s| (s.pose_shape, &s.pose),
            )
            .tensor::<Float32Type, _>(
                variable_shape_tensor_field("score", DataType::Float32, 3, dims(&["frame", "person", "joint"]), None)?,
                3,
                |s| (s.score_shape, &s.score),
            )
            .utf8("source_file", |s| &s.source_file)
            .utf8("source_blake3", |s| &s.source_blake3))
    }
}
