//! `eval.ava`, `eval.pose`, `eval.classify`: the evaluators as hashed
//! stages. Their key covers the content of the predictions and the ground
//! truth (both must be `inputs`) and the evaluator's implementation
//! version. Each writes `result.json` (what `actionbench eval` prints), a
//! per-class or per-action table and the long-format `metrics` table.

use std::error::Error;
use std::sync::Arc;

use actionbench_metrics::ava::AvaProtocol;
use actionbench_metrics::classification::ViewAggregation;
use actionbench_pipeline::{ParamError, StageContext, StageKind};
use arrow::array::{Float64Array, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use serde::{Deserialize, Serialize};

use crate::evaluation::{ClassifyOptions, evaluate_ava_files, evaluate_classify_files, evaluate_pose_files};
use crate::tables::{role_file, write_metrics, write_table};

type StageResult = Result<(), Box<dyn Error + Send + Sync>>;

fn default_split() -> String {
    "val".into()
}

fn write_json(ctx: &StageContext<'_>, value: &serde_json::Value) -> StageResult {
    let mut text = serde_json::to_string_pretty(value)?;
    text.push('\n');
    std::fs::write(ctx.out_dir.join("result.json"), text)?;
    Ok(())
}

/// Params of `eval.ava`.
#[derive(Debug, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct EvalAvaParams {
    /// Ground-truth CSV (an entry of `inputs`).
    gt: String,
    /// Detections CSV, or `@stage` whose output holds one CSV.
    pred: String,
    /// Label map (pbtxt or `id: name`).
    labelmap: String,
    /// Excluded keyframes (2019 only).
    exclusions: Option<String>,
    /// `2019` or `2020`: the revision of the official evaluator.
    protocol: String,
    /// Split name recorded in the metrics table.
    #[serde(default = "default_split")]
    split: String,
    /// Evaluate `pred`'s boxes with seeded uniform random scores instead of
    /// its own: the chance level of a model that finds the same boxes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    random_scores: Option<u64>,
}

/// The `eval.ava` kind.
pub struct EvalAva;

fn ava_protocol(text: &str) -> Result<AvaProtocol, String> {
    match text {
        "2019" => Ok(AvaProtocol::V2019),
        "2020" => Ok(AvaProtocol::V2020),
        other => Err(format!("`protocol` must be \"2019\" or \"2020\", not \"{other}\"")),
    }
}

impl StageKind for EvalAva {
    fn name(&self) -> &'static str {
        "eval.ava"
    }
    fn implementation_version(&self) -> u32 {
        1
    }
    fn description(&self) -> &'static str {
        "AVA v2.2 frame-mAP@0.5 (the official ActivityNet protocol, 2019 or 2020 revision) of `pred` against `gt`; writes `result.json`, the per-class AP table and the `metrics` table."
    }
    type Params = EvalAvaParams;
    fn check(&self, p: &EvalAvaParams) -> Result<(), ParamError> {
        if ava_protocol(&p.protocol)? == AvaProtocol::V2020 && p.exclusions.is_some() {
            return Err("`exclusions` is not part of the 2020 protocol; use protocol \"2019\" or drop it".into());
        }
        Ok(())
    }
    fn run(&self, ctx: &StageContext<'_>, p: &EvalAvaParams) -> StageResult {
        let gt = role_file(ctx, "gt", &p.gt, &["csv"])?;
        let pred = role_file(ctx, "pred", &p.pred, &["csv"])?;
        let labelmap = role_file(ctx, "labelmap", &p.labelmap, &["pbtxt", "txt"])?;
        let exclusions = p.exclusions.as_deref().map(|e| role_file(ctx, "exclusions", e, &["csv"])).transpose()?;
        let report = evaluate_ava_files(
            &gt,
            &pred,
            &labelmap,
            exclusions.as_deref(),
            ava_protocol(&p.protocol)?,
            p.random_scores,
        )
        .map_err(|e| format!("{e:#}"))?;
        let per_class: serde_json::Map<String, serde_json::Value> =
            report.per_class.iter().map(|c| (c.id.to_string(), c.average_precision.into())).collect();
        write_json(ctx, &serde_json::json!({ "mAP": report.mean_ap, "per_class": per_class, "protocol": p.protocol }))?;
        let c = &report.per_class;
        let schema = Arc::new(Schema::new(vec![
            Field::new("class_id", DataType::Int64, false),
            Field::new("name", DataType::Utf8, false),
            Field::new("ap", DataType::Float64, true),
            Field::new("positives", DataType::Int64, false),
            Field::new("detections", DataType::Int64, false),
        ]));
        let batch = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int64Array::from(c.iter().map(|r| r.id).collect::<Vec<_>>())),
                Arc::new(StringArray::from(c.iter().map(|r| r.name.clone()).collect::<Vec<_>>())),
                Arc::new(Float64Array::from(c.iter().map(|r| r.average_precision).collect::<Vec<_>>())),
                Arc::new(Int64Array::from(c.iter().map(|r| r.positives as i64).collect::<Vec<_>>())),
                Arc::new(Int64Array::from(c.iter().map(|r| r.detections as i64).collect::<Vec<_>>())),
            ],
        )?;
        write_table(ctx, "per_class", batch)?;
        write_metrics(ctx, &p.split, &[("mAP", report.mean_ap)])
    }
}

/// Params of `eval.pose`.
#[derive(Debug, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct EvalPoseParams {
    /// Predicted poses `[frames, joints, 3]` (`.npy`).
    pred: String,
    /// Ground-truth poses, same shape.
    gt: String,
    /// Action name of every frame, one per line.
    actions: Option<String>,
    /// Split name recorded in the metrics table.
    #[serde(default = "default_split")]
    split: String,
}

/// The `eval.pose` kind.
pub struct EvalPose;

impl StageKind for EvalPose {
    fn name(&self) -> &'static str {
        "eval.pose"
    }
    fn implementation_version(&self) -> u32 {
        1
    }
    fn description(&self) -> &'static str {
        "MPJPE and P-MPJPE (Procrustes-aligned), overall and per action, of predicted 3D poses against the ground truth; writes `result.json`, the per-action table and the `metrics` table."
    }
    type Params = EvalPoseParams;
    fn run(&self, ctx: &StageContext<'_>, p: &EvalPoseParams) -> StageResult {
        let pred = role_file(ctx, "pred", &p.pred, &["npy"])?;
        let gt = role_file(ctx, "gt", &p.gt, &["npy"])?;
        let actions = p.actions.as_deref().map(|a| role_file(ctx, "actions", a, &["txt"])).transpose()?;
        let report = evaluate_pose_files(&pred, &gt, actions.as_deref()).map_err(|e| format!("{e:#}"))?;
        let per_action: serde_json::Map<String, serde_json::Value> = report
            .per_action
            .iter()
            .map(|a| (a.action.clone(), serde_json::json!({ "mpjpe": a.mpjpe, "p_mpjpe": a.p_mpjpe })))
            .collect();
        write_json(
            ctx,
            &serde_json::json!({ "mpjpe": report.mpjpe, "p_mpjpe": report.p_mpjpe, "per_action": per_action }),
        )?;
        let a = &report.per_action;
        let schema = Arc::new(Schema::new(vec![
            Field::new("action", DataType::Utf8, false),
            Field::new("frames", DataType::Int64, false),
            Field::new("mpjpe", DataType::Float64, false),
            Field::new("p_mpjpe", DataType::Float64, false),
        ]));
        let batch = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(StringArray::from(a.iter().map(|r| r.action.clone()).collect::<Vec<_>>())),
                Arc::new(Int64Array::from(a.iter().map(|r| r.frames as i64).collect::<Vec<_>>())),
                Arc::new(Float64Array::from(a.iter().map(|r| r.mpjpe).collect::<Vec<_>>())),
                Arc::new(Float64Array::from(a.iter().map(|r| r.p_mpjpe).collect::<Vec<_>>())),
            ],
        )?;
        write_table(ctx, "per_action", batch)?;
        write_metrics(ctx, &p.split, &[("mpjpe", Some(report.mpjpe)), ("p_mpjpe", Some(report.p_mpjpe))])
    }
}

/// Params of `eval.classify`.
#[derive(Debug, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct EvalClassifyParams {
    /// Class scores (CSV or Parquet), or `@stage`; a list of them (one per
    /// task, e.g. `["@predict-action", "@predict-gesture"]`) adds the
    /// cumulative accuracy over all their predictions.
    pred: Preds,
    /// True labels; optional when the scores have a `label` column.
    gt: Option<String>,
    /// Top-k accuracies to report.
    #[serde(default = "default_topk")]
    topk: Vec<usize>,
    /// Consecutive rows per sample (clips × crops).
    #[serde(default = "default_views")]
    views: usize,
    /// `softmax` (mean of softmax) or `logits` (mean of raw scores).
    #[serde(default = "default_aggregate")]
    aggregate: String,
    /// Split name recorded in the metrics table.
    #[serde(default = "default_split")]
    split: String,
}

/// One score file, or several pooled into a cumulative accuracy.
#[derive(Debug, Clone, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(untagged)]
pub(crate) enum Preds {
    /// One file or stage.
    One(String),
    /// Several (one per task), each with its own `label` column.
    Many(Vec<String>),
}

impl Preds {
    fn entries(&self) -> Vec<&str> {
        match self {
            Preds::One(p) => vec![p.as_str()],
            Preds::Many(ps) => ps.iter().map(String::as_str).collect(),
        }
    }
}

fn default_topk() -> Vec<usize> {
    vec![1, 5]
}
fn default_views() -> usize {
    1
}
fn default_aggregate() -> String {
    "softmax".into()
}

/// The `eval.classify` kind.
pub struct EvalClassify;

fn aggregation(text: &str) -> Result<ViewAggregation, String> {
    match text {
        "softmax" => Ok(ViewAggregation::MeanSoftmax),
        "logits" => Ok(ViewAggregation::MeanLogits),
        other => Err(format!("`aggregate` must be \"softmax\" or \"logits\", not \"{other}\"")),
    }
}

impl StageKind for EvalClassify {
    fn name(&self) -> &'static str {
        "eval.classify"
    }
    fn implementation_version(&self) -> u32 {
        1
    }
    fn description(&self) -> &'static str {
        "Top-k accuracy of class scores (`predict`'s predictions or a scores file), with multi-view aggregation, or the cumulative accuracy over several tasks' scores; writes `result.json` and the `metrics` table."
    }
    type Params = EvalClassifyParams;
    fn check(&self, p: &EvalClassifyParams) -> Result<(), ParamError> {
        aggregation(&p.aggregate)?;
        if p.topk.is_empty() || p.topk.contains(&0) || p.views == 0 {
            return Err("`topk` takes positive integers and `views` must be at least 1".into());
        }
        if let Preds::Many(list) = &p.pred {
            if list.len() < 2 {
                return Err("`pred` lists fewer than two score files; give one as a string, or one per task".into());
            }
            if p.gt.is_some() {
                return Err("with several `pred` files the labels come from their `label` columns: drop `gt`".into());
            }
        }
        Ok(())
    }
    fn run(&self, ctx: &StageContext<'_>, p: &EvalClassifyParams) -> StageResult {
        let preds = p
            .pred
            .entries()
            .into_iter()
            .map(|e| role_file(ctx, "pred", e, &["csv", "parquet"]))
            .collect::<Result<Vec<_>, _>>()?;
        let gts = match &p.gt {
            Some(g) => vec![role_file(ctx, "gt", g, &["csv", "txt"])?],
            None => Vec::new(),
        };
        let opts = ClassifyOptions { topk: p.topk.clone(), views: p.views, aggregate: aggregation(&p.aggregate)? };
        let result = evaluate_classify_files(&preds, &gts, &opts).map_err(|e| format!("{e:#}"))?;
        if let Preds::Many(entries) = &p.pred {
            // The paper's cumulative accuracy: correct predictions over all
            // predictions of every task.
            let tasks: Vec<serde_json::Value> = entries
                .iter()
                .zip(&result.tasks)
                .map(|(e, t)| {
                    let top_k: serde_json::Map<String, serde_json::Value> =
                        t.report.top_k.iter().map(|(k, a)| (k.to_string(), (*a).into())).collect();
                    serde_json::json!({ "pred": e, "samples": t.report.samples, "top_k": top_k })
                })
                .collect();
            let cumulative: serde_json::Map<String, serde_json::Value> =
                result.pooled.iter().map(|(k, a)| (k.to_string(), (*a).into())).collect();
            let samples: usize = result.tasks.iter().map(|t| t.report.samples).sum();
            write_json(ctx, &serde_json::json!({ "samples": samples, "tasks": tasks, "cumulative": cumulative }))?;
            let names: Vec<String> = result.pooled.iter().map(|(k, _)| format!("cumulative_top{k}")).collect();
            let rows: Vec<(&str, Option<f64>)> =
                names.iter().zip(&result.pooled).map(|(n, (_, a))| (n.as_str(), Some(*a))).collect();
            return write_metrics(ctx, &p.split, &rows);
        }
        let report = &result.tasks[0].report;
        let top_k: serde_json::Map<String, serde_json::Value> =
            report.top_k.iter().map(|(k, a)| (k.to_string(), (*a).into())).collect();
        write_json(
            ctx,
            &serde_json::json!({ "samples": report.samples, "top_k": top_k, "mean_class_accuracy": report.mean_class_accuracy }),
        )?;
        let names: Vec<String> = report.top_k.iter().map(|(k, _)| format!("top{k}")).collect();
        let mut rows: Vec<(&str, Option<f64>)> =
            names.iter().zip(&report.top_k).map(|(n, (_, a))| (n.as_str(), Some(*a))).collect();
        rows.push(("mean_class_accuracy", Some(report.mean_class_accuracy)));
        write_metrics(ctx, &p.split, &rows)
    }
}
