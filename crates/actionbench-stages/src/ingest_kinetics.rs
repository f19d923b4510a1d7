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

use std::sync::Arc;

use actionbench_core::Fingerprint;
use actionbench_formats::kinetics_skeleton::{
    KINETICS_JOINTS, KineticsLabelEntry, KineticsSkeletonVideo, parse_kinetics_labels, parse_kinetics_skeleton,
};
use actionbench_pipeline::{ParamError, StageContext, StageError, StageKind};
use actionbench_shards::tensor::{VariableShapeTensorBuilder, variable_shape_tensor_field};
use arrow::array::{ArrayRef, BooleanArray, Int32Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Float32Type, Int32Type, Schema, SchemaRef};
use serde::{Deserialize, Serialize};

use crate::ingest::{
    BoxError, OnError, Reject, Source, collect_sources, default_rows_per_shard, finish_ingest, parallel_map,
    param_file, read_source, table_writer, with_hint,
};

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
}

fn default_joints() -> usize {
    KINETICS_JOINTS
}

/// The `ingest.kinetics-skeleton` kind.
pub struct IngestKineticsSkeleton;

fn schema() -> Result<SchemaRef, BoxError> {
    Ok(Arc::new(Schema::new(vec![
        Field::new("sample_id", DataType::Utf8, false),
        Field::new("label", DataType::Int32, true),
        Field::new("label_name", DataType::Utf8, true),
        Field::new("has_skeleton", DataType::Boolean, true),
        Field::new("split", DataType::Utf8, true),
        Field::new("num_frames", DataType::Int32, false),
        Field::new("max_frame_index", DataType::Int32, false),
        variable_shape_tensor_field("frame_index", DataType::Int32, 1, Some(vec!["frame".into()]), None)?,
        variable_shape_tensor_field("num_persons", DataType::Int32, 1, Some(vec!["frame".into()]), None)?,
        variable_shape_tensor_field(
            "pose",
            DataType::Float32,
            4,
            Some(["frame", "person", "joint", "xy"].map(String::from).to_vec()),
            Some(vec![None, None, None, Some(2)]),
        )?,
        variable_shape_tensor_field(
            "score",
            DataType::Float32,
            3,
            Some(["frame", "person", "joint"].map(String::from).to_vec()),
            None,
        )?,
        Field::new("source_file", DataType::Utf8, false),
        Field::new("source_blake3", DataType::Utf8, false),
    ])))
}

impl StageKind for IngestKineticsSkeleton {
    fn name(&self) -> &'static str {
        "ingest.kinetics-skeleton"
    }

    fn implementation_version(&self) -> u32 {
        1
    }
    fn description(&self) -> &'static str {
        "ST-GCN Kinetics-skeleton JSON files → one row per video."
    }

    type Params = IngestKineticsParams;
    fn check(&self, p: &IngestKineticsParams) -> Result<(), ParamError> {
        if p.joints == 0 {
            return Err("`joints` must be at least 1".into());
        }
        Ok(())
    }

    fn run(&self, ctx: &StageContext<'_>, p: &IngestKineticsParams) -> Result<(), StageError> {
        let label_source = match &p.labels {
            Some(path) => Some(param_file(ctx, "labels", path)?),
            None => None,
        };
        let labels: Vec<(String, KineticsLabelEntry)> = match &label_source {
            Some(source) => {
                parse_kinetics_labels(&read_source(source).map_err(with_hint)?, source.shown()).map_err(with_hint)?
            }
            None => Vec::new(),
        };
        let label_path = label_source.map(|s| s.path);
        let (mut sources, ignored) = collect_sources(ctx, |path| path.extension().is_some_and(|e| e == "json"))?;
        sources.retain(|s| Some(&s.path) != label_path.as_ref());
        sources.sort_by(|a, b| (a.stem(), &a.display).cmp(&(b.stem(), &b.display)));
        if let Some(w) = sources.windows(2).find(|w| w[0].stem() == w[1].stem()) {
            return Err(
                format!("sample `{}` appears twice: `{}` and `{}`", w[0].stem(), w[0].display, w[1].display).into()
            );
        }
        let schema = schema()?;
        let mut writer = table_writer(ctx, schema.clone(), p.rows_per_shard)?;
        let mut rejects = Vec::new();
        let mut rows = 0u64;
        let total = sources.len() as u64;
        for (i, chunk) in sources.chunks(256).enumerate() {
            let parsed = parallel_map(chunk, |source| {
                let bytes = read_source(source)?;
                let video = parse_kinetics_skeleton(&bytes, source.shown())?;
                Ok::<_, actionbench_formats::Error>((video, source.content_hash(&bytes)))
            });
            let mut batch = Batch::default();
            for (source, result) in chunk.iter().zip(parsed) {
                let stem = source.stem();
                let pushed = match result {
                    Ok((video, hash)) => {
                        let entry = labels.binary_search_by(|(k, _)| k.as_str().cmp(&stem)).ok().map(|i| &labels[i].1);
                        batch.push(&stem, &video, entry, p.split.as_deref(), p.joints, source, hash)
                    }
                    Err(e) if p.on_error == OnError::Skip => {
                        rejects.push(Reject::from_error(&stem, source, &e));
                        continue;
                    }
                    Err(e) => return Err(with_hint(e)),
                };
                match pushed {
                    Ok(()) => rows += 1,
                    Err(e) if p.on_error == OnError::Skip => rejects.push(Reject::other(&stem, source, e.to_string())),
                    Err(e) => return Err(e),
                }
            }
            if !batch.sample_id.is_empty() {
                writer.write(&batch.finish(&schema)?)?;
            }
            ctx.progress(((i + 1) * 256).min(sources.len()) as u64, Some(total));
        }
        finish_ingest(
            ctx,
            writer,
            rejects,
            p.on_error,
            |rejected| serde_json::json!({ "kind": "ingest.kinetics-skeleton", "rows": rows, "rejected": rejected, "ignored_files": ignored }),
        )
    }
}

#[derive(Default)]
struct Batch {
    sample_id: Vec<String>,
    label: Vec<Option<i32>>,
    label_name: Vec<Option<String>>,
    has_skeleton: Vec<Option<bool>>,
    split: Vec<Option<String>>,
    num_frames: Vec<i32>,
    max_frame_index: Vec<i32>,
    frame_index: Option<VariableShapeTensorBuilder<Int32Type>>,
    num_persons: Option<VariableShapeTensorBuilder<Int32Type>>,
    pose: Option<VariableShapeTensorBuilder<Float32Type>>,
    score: Option<VariableShapeTensorBuilder<Float32Type>>,
    source_file: Vec<String>,
    source_blake3: Vec<String>,
}

impl Batch {
    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        stem: &str,
        video: &KineticsSkeletonVideo,
        entry: Option<&KineticsLabelEntry>,
        split: Option<&str>,
        joints: usize,
        source: &Source,
        hash: Fingerprint,
    ) -> Result<(), BoxError> {
        let n = video.data.len();
        let m = video.data.iter().map(|f| f.persons.len()).max().unwrap_or(0);
        let mut pose = vec![0f32; n * m * joints * 2];
        let mut score = vec![0f32; n * m * joints];
        for (fi, frame) in video.data.iter().enumerate() {
            for (pi, person) in frame.persons.iter().enumerate() {
                if person.score.len() != joints {
                    return Err(format!(
                        "`{}`: frame_index {}: a pose has {} joints, expected {joints} (param `joints`)",
                        source.display,
                        frame.frame_index,
                        person.score.len()
                    )
                    .into());
                }
                let at = fi * m + pi;
                pose[at * joints * 2..(at + 1) * joints * 2].copy_from_slice(&person.pose);
                score[at * joints..(at + 1) * joints].copy_from_slice(&person.score);
            }
        }
        let index: Vec<i32> = video.data.iter().map(|f| f.frame_index as i32).collect();
        let persons: Vec<i32> = video.data.iter().map(|f| f.persons.len() as i32).collect();
        self.frame_index.get_or_insert_with(|| VariableShapeTensorBuilder::new(1)).push(&[n], &index)?;
        self.num_persons.get_or_insert_with(|| VariableShapeTensorBuilder::new(1)).push(&[n], &persons)?;
        self.pose.get_or_insert_with(|| VariableShapeTensorBuilder::new(4)).push(&[n, m, joints, 2], &pose)?;
        self.score.get_or_insert_with(|| VariableShapeTensorBuilder::new(3)).push(&[n, m, joints], &score)?;
        let (label, name) = match entry {
            Some(e) => (Some(e.label_index), Some(e.label.clone())),
            None => (video.label_index, video.label.clone()),
        };
        self.sample_id.push(stem.to_string());
        self.label.push(label.filter(|&l| l >= 0).map(|l| l as i32));
        self.label_name.push(name.filter(|s| !s.is_empty()));
        self.has_skeleton.push(entry.map(|e| e.has_skeleton));
        self.split.push(split.map(str::to_string));
        self.num_frames.push(n as i32);
        self.max_frame_index.push(index.iter().copied().max().unwrap_or(0));
        self.source_file.push(source.display.clone());
        self.source_blake3.push(hash.to_hex());
        Ok(())
    }

    fn finish(self, schema: &SchemaRef) -> Result<RecordBatch, BoxError> {
        let tensor = |b: Option<VariableShapeTensorBuilder<_>>| b.expect("rows were pushed").finish();
        let columns: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from(self.sample_id)),
            Arc::new(Int32Array::from(self.label)),
            Arc::new(StringArray::from(self.label_name)),
            Arc::new(BooleanArray::from(self.has_skeleton)),
            Arc::new(StringArray::from(self.split)),
            Arc::new(Int32Array::from(self.num_frames)),
            Arc::new(Int32Array::from(self.max_frame_index)),
            tensor(self.frame_index)?,
            tensor(self.num_persons)?,
            self.pose.expect("rows were pushed").finish()?,
            self.score.expect("rows were pushed").finish()?,
            Arc::new(StringArray::from(self.source_file)),
            Arc::new(StringArray::from(self.source_blake3)),
        ];
        Ok(RecordBatch::try_new(schema.clone(), columns)?)
    }
}
