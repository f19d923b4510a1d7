//! `actionbench eval`: the evaluators, usable on files from anywhere.
//!
//! * `eval ava`: AVA frame-mAP@0.5 as the official ActivityNet evaluator
//!   computes it (`--protocol 2019` or `2020`).
//! * `eval pose`: MPJPE and P-MPJPE as VideoPose3D computes them.
//! * `eval classify`: top-k and mean class accuracy of class scores, with
//!   multi-view aggregation and cumulative accuracy over several tasks.
//!
//! Reading is `actionbench-formats`, arithmetic is `actionbench-metrics`;
//! this module only wires files to metrics and prints.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use actionbench_formats::ava::{AvaCsvRow, AvaDialect, AvaTimestamp};
use actionbench_formats::label_map::LabelMapKind;
use actionbench_formats::scores::ScoreTable;
use actionbench_metrics::ava::{AvaAnnotation, AvaBox, AvaClass, AvaProtocol, AvaReport, AvaRow, FrameKey};
use actionbench_metrics::classification::{ScoreMatrix, ViewAggregation};
use actionbench_metrics::multitask::TaskOutcome;
use actionbench_metrics::pose::PoseReport;
use anyhow::{Context, Result, anyhow, bail};
use serde_json::{Map, Value, json};

use crate::output::{OutputFormat, TextTable, print_json};

/// The evaluators.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum EvalCommand {
    /// AVA frame-mAP@0.5IOU, equal to the official ActivityNet evaluator.
    Ava(AvaArgs),
    /// MPJPE and P-MPJPE of 3D poses, equal to VideoPose3D.
    Pose(PoseArgs),
    /// Top-k and mean class accuracy of class scores.
    Classify(ClassifyArgs),
}

/// Revision of the official AVA evaluator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum ProtocolArg {
    /// 2019 revision: exclusions file; detections on frames without ground
    /// truth are false positives; integer timestamps.
    #[value(name = "2019")]
    V2019,
    /// 2020 revision (LART): no exclusions; detections on frames absent from
    /// the ground truth are ignored; `video_id,timestamp` rows mark frames
    /// without boxes; decimal timestamps.
    #[value(name = "2020")]
    V2020,
}

/// Arguments of `eval ava`.
#[derive(Debug, clap::Args)]
pub(crate) struct AvaArgs {
    /// Ground-truth CSV: `video_id,timestamp,x1,y1,x2,y2,action_id,person_id`.
    #[arg(long, value_name = "GT.csv")]
    gt: PathBuf,
    /// Detections CSV: `video_id,timestamp,x1,y1,x2,y2,action_id,score`.
    #[arg(long, value_name = "PRED.csv")]
    pred: PathBuf,
    /// Label map listing the evaluated classes (pbtxt or `id: name` lines).
    #[arg(long, value_name = "MAP")]
    labelmap: PathBuf,
    /// Excluded keyframes, `video_id,timestamp` per line (2019 only).
    #[arg(long, value_name = "EX.csv")]
    exclusions: Option<PathBuf>,
    /// Which revision of the official evaluator to reproduce.
    #[arg(long, value_enum)]
    protocol: ProtocolArg,
}

/// Arguments of `eval pose`.
#[derive(Debug, clap::Args)]
pub(crate) struct PoseArgs {
    /// Predicted poses, a `[frames, joints, 3]` float32/float64 `.npy`.
    #[arg(long, value_name = "P.npy")]
    pred: PathBuf,
    /// Ground-truth poses, same shape as `--pred`.
    #[arg(long, value_name = "G.npy")]
    gt: PathBuf,
    /// Action name of every frame, one per line; errors are averaged per
    /// action group (the name before its first space), then over groups.
    #[arg(long, value_name = "A.txt")]
    actions: Option<PathBuf>,
}

/// How the views of one sample are merged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum AggregateArg {
    /// Mean of the per-view softmax (mmaction2 `average_clips="prob"`).
    Softmax,
    /// Mean of the raw per-view scores (mmaction2 `average_clips="score"`).
    Logits,
}

/// Arguments of `eval classify`.
#[derive(Debug, clap::Args)]
pub(crate) struct ClassifyArgs {
    /// Class scores (CSV or Parquet), one row per sample or view. Repeat for
    /// several tasks; the cumulative accuracy pools them.
    #[arg(long, value_name = "SCORES", required = true)]
    pred: Vec<PathBuf>,
    /// True class indices, one file per `--pred` in the same order (lines
    /// `LABEL`, `ID,LABEL` or `PATH [FRAMES] LABEL`). Optional when the
    /// score files have a `label` column.
    #[arg(long, value_name = "LABELS")]
    gt: Vec<PathBuf>,
    /// Which top-k accuracies to report.
    #[arg(long, value_name = "K,...", value_delimiter = ',', default_value = "1,5")]
    topk: Vec<usize>,
    /// Consecutive rows per sample (clips × crops) to aggregate.
    #[arg(long, value_name = "N", default_value_t = 1)]
    views: usize,
    /// How views are aggregated.
    #[arg(long, value_enum, default_value_t = AggregateArg::Softmax)]
    aggregate: AggregateArg,
}

/// Runs one `eval` subcommand and prints its result.
pub(crate) fn run(cmd: &EvalCommand, format: OutputFormat) -> Result<()> {
    match cmd {
        EvalCommand::Ava(args) => print_ava(&evaluate_ava_files(args)?, format),
        EvalCommand::Pose(args) => print_pose(&evaluate_pose_files(args)?, format),
        EvalCommand::Classify(args) => print_classify(&evaluate_classify_files(args)?, format),
    }
}

/// Turns a reader error into an anyhow error with its `hint:` line.
fn read_error(e: actionbench_formats::Error) -> anyhow::Error {
    match e.hint() {
        Some(hint) => {
            let hint = hint.to_string();
            anyhow!("{e}\n\nhint: {hint}")
        }
        None => anyhow::Error::new(e),
    }
}

fn show(path: &Path) -> String {
    path.display().to_string()
}

// ---------------------------------------------------------------- AVA

fn frame_key(video_id: &str, t: AvaTimestamp) -> FrameKey {
    match t {
        AvaTimestamp::Seconds(s) => FrameKey::from_seconds(video_id, s),
        AvaTimestamp::Decimal(s) => FrameKey::from_decimal_seconds(video_id, s),
    }
}

fn ava_row(row: &AvaCsvRow) -> AvaRow {
    AvaRow {
        frame: frame_key(&row.video_id, row.timestamp),
        annotation: row.bbox.map(|b| AvaAnnotation {
            bbox: AvaBox { x1: b.x1, y1: b.y1, x2: b.x2, y2: b.y2 },
            action_id: b.action_id,
            score: b.score.unwrap_or(1.0),
        }),
    }
}

fn evaluate_ava_files(args: &AvaArgs) -> Result<AvaReport> {
    let (protocol, dialect) = match args.protocol {
        ProtocolArg::V2019 => (AvaProtocol::V2019, AvaDialect::Activitynet2019),
        ProtocolArg::V2020 => (AvaProtocol::V2020, AvaDialect::Activitynet2020),
    };
    if protocol == AvaProtocol::V2020 && args.exclusions.is_some() {
        bail!(
            "`--exclusions` is not part of the 2020 protocol\n\nhint: Use `--protocol 2019` with an exclusions file, or mark evaluated frames without boxes with `video_id,timestamp` rows in the ground truth"
        );
    }
    let map = actionbench_formats::label_map::read_label_map(&args.labelmap).map_err(read_error)?;
    if map.kind == LabelMapKind::NamePerLine {
        bail!(
            "`{}`: expected class ids (pbtxt `item {{ name: \"…\" id: N }}` blocks or `id: name` lines), found one name per line\n\nhint: AVA class ids start at 1 and must be written in the label map",
            show(&args.labelmap)
        );
    }
    let classes: Vec<AvaClass> = map.entries.iter().map(|e| AvaClass { id: e.id, name: e.name.clone() }).collect();
    let read = |path: &Path| -> Result<Vec<AvaRow>> {
        let rows = actionbench_formats::ava::read_ava_csv(path, dialect).map_err(read_error)?;
        Ok(rows.iter().map(ava_row).collect())
    };
    let gt = read(&args.gt)?;
    let pred = read(&args.pred)?;
    let excluded: Vec<FrameKey> = match &args.exclusions {
        Some(path) => actionbench_formats::ava::read_ava_exclusions(path, dialect)
            .map_err(read_error)?
            .iter()
            .map(|e| frame_key(&e.video_id, e.timestamp))
            .collect(),
        None => Vec::new(),
    };
    actionbench_metrics::ava::evaluate_ava(protocol, &classes, &gt, &pred, &excluded)
        .map_err(|e| {
            let hint = match e {
                actionbench_metrics::Error::ClassIdNotPositive { .. } => {
                    Some(format!("\n\nhint: Check `{}`; AVA label maps number classes from 1", show(&args.labelmap)))
                }
                actionbench_metrics::Error::InvalidGroundTruthBox { .. } => {
                    Some("\n\nhint: Boxes are `x1,y1,x2,y2` with x1 <= x2 and y1 <= y2".into())
                }
                _ => None,
            };
            anyhow!("{e}{}", hint.unwrap_or_default())
        })
        .with_context(|| format!("Failed to evaluate `{}` against `{}`", show(&args.pred), show(&args.gt)))
}

fn ava_json(report: &AvaReport) -> Value {
    let per_class: Map<String, Value> =
        report.per_class.iter().map(|c| (c.id.to_string(), json!(c.average_precision))).collect();
    json!({ "mAP": report.mean_ap, "per_class": per_class })
}

fn fixed(v: Option<f64>) -> String {
    v.map_or_else(|| "-".to_string(), |x| format!("{x:.8}"))
}

fn print_ava(report: &AvaReport, format: OutputFormat) -> Result<()> {
    if format == OutputFormat::Json {
        return print_json(&ava_json(report));
    }
    let mut table = TextTable::new(["id", "name", "positives", "detections", "AP@0.5"]);
    for c in &report.per_class {
        table.push(vec![
            c.id.to_string(),
            c.name.clone(),
            c.positives.to_string(),
            c.detections.to_string(),
            fixed(c.average_precision),
        ]);
    }
    table.push(vec![
        "mAP".into(),
        format!("protocol {}", report.protocol),
        report.per_class.iter().map(|c| c.positives).sum::<usize>().to_string(),
        report.per_class.iter().map(|c| c.detections).sum::<usize>().to_string(),
        fixed(report.mean_ap),
    ]);
    table.print(format)
}

// ---------------------------------------------------------------- pose

fn read_poses(path: &Path) -> Result<(Vec<usize>, Vec<f64>)> {
    let a = actionbench_formats::npy::read_npy(path).map_err(read_error)?;
    if a.shape.len() != 3 || a.shape[2] != 3 {
        bail!("`{}`: expected an array of shape [frames, joints, 3], found shape {:?}", show(path), a.shape);
    }
    if let Some(i) = a.data.iter().position(|v| !v.is_finite()) {
        let (frame, rest) = (i / (a.shape[1] * 3), i % (a.shape[1] * 3));
        bail!(
            "`{}`: frame {frame}, joint {}, axis {}: expected a finite coordinate, found {}",
            show(path),
            rest / 3,
            rest % 3,
            a.data[i]
        );
    }
    Ok((a.shape, a.data))
}

fn read_actions(path: &Path) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("Failed to read `{}`", show(path)))?;
    let mut names: Vec<String> = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l).to_string()).collect();
    if names.last().is_some_and(String::is_empty) {
        names.pop();
    }
    if let Some(i) = names.iter().position(|n| n.trim().is_empty()) {
        bail!("`{}` line {}: expected an action name, found an empty line", show(path), i + 1);
    }
    Ok(names)
}

fn evaluate_pose_files(args: &PoseArgs) -> Result<PoseReport> {
    let (pred_shape, pred) = read_poses(&args.pred)?;
    let (gt_shape, gt) = read_poses(&args.gt)?;
    if pred_shape != gt_shape {
        bail!(
            "`{}` has shape {:?} but `{}` has shape {:?}; expected the same [frames, joints, 3]",
            show(&args.pred),
            pred_shape,
            show(&args.gt),
            gt_shape
        );
    }
    let frames = gt_shape[0];
    let actions = match &args.actions {
        Some(path) => {
            let names = read_actions(path)?;
            if names.len() != frames {
                bail!(
                    "`{}` has {} action names but `{}` has {frames} frames; expected one name per frame",
                    show(path),
                    names.len(),
                    show(&args.gt)
                );
            }
            Some(names)
        }
        None => None,
    };
    actionbench_metrics::pose::evaluate_poses(&pred, &gt, gt_shape[1], actions.as_deref())
        .map_err(|e| anyhow!("{e}"))
        .with_context(|| format!("Failed to evaluate `{}`", show(&args.pred)))
}

fn pose_json(report: &PoseReport) -> Value {
    let per_action: Map<String, Value> = report
        .per_action
        .iter()
        .map(|a| (a.action.clone(), json!({ "mpjpe": a.mpjpe, "p_mpjpe": a.p_mpjpe })))
        .collect();
    json!({ "mpjpe": report.mpjpe, "p_mpjpe": report.p_mpjpe, "per_action": per_action })
}

fn print_pose(report: &PoseReport, format: OutputFormat) -> Result<()> {
    if format == OutputFormat::Json {
        return print_json(&pose_json(report));
    }
    let mut table = TextTable::new(["action", "frames", "MPJPE", "P-MPJPE"]);
    for a in &report.per_action {
        table.push(vec![
            a.action.clone(),
            a.frames.to_string(),
            format!("{:.6}", a.mpjpe),
            format!("{:.6}", a.p_mpjpe),
        ]);
    }
    table.push(vec![
        if report.per_action.is_empty() { "all".into() } else { "mean over actions".into() },
        report.frames.to_string(),
        format!("{:.6}", report.mpjpe),
        format!("{:.6}", report.p_mpjpe),
    ]);
    table.print(format)
}

// ---------------------------------------------------------------- classify

/// Results of one `--pred` file.
#[derive(Debug)]
struct TaskResult {
    pred: PathBuf,
    report: actionbench_metrics::classification::ClassificationReport,
}

/// Results of `eval classify`.
#[derive(Debug)]
struct ClassifyResult {
    tasks: Vec<TaskResult>,
    /// `(k, pooled accuracy)` over all tasks.
    pooled: Vec<(usize, f64)>,
}

/// Sample ids (one per aggregated sample) of a score table read with `views`.
fn block_ids(table: &ScoreTable, views: usize, path: &Path) -> Result<Option<Vec<String>>> {
    let Some(ids) = &table.ids else {
        return Ok(None);
    };
    let mut out = Vec::with_capacity(ids.len() / views);
    for (b, block) in ids.chunks(views).enumerate() {
        if let Some(other) = block.iter().find(|id| **id != block[0]) {
            bail!(
                "`{}` row {}: sample `{other}` inside the {views} views of sample `{}`\n\nhint: Put the {views} views of each sample on consecutive rows",
                show(path),
                b * views + block.iter().position(|id| id == other).unwrap_or(0),
                block[0]
            );
        }
        out.push(block[0].clone());
    }
    Ok(Some(out))
}

fn labels_for_task(
    table: &ScoreTable,
    ids: Option<&[String]>,
    views: usize,
    pred: &Path,
    gt: Option<&Path>,
    samples: usize,
) -> Result<Vec<usize>> {
    let classes = table.classes;
    let check = |label: i64, place: &dyn Fn() -> String| -> Result<usize> {
        usize::try_from(label).ok().filter(|&l| l < classes).ok_or_else(|| {
            anyhow!("{}: label {label} is not a class index of `{}` (0..{classes})", place(), show(pred))
        })
    };
    let Some(gt) = gt else {
        let Some(labels) = &table.labels else {
            bail!(
                "`{}` has no `label` column and no `--gt` file was given\n\nhint: Pass the true classes with `--gt LABELS`",
                show(pred)
            );
        };
        return labels
            .chunks(views)
            .enumerate()
            .map(|(s, block)| check(block[0], &|| format!("`{}` sample {s}", show(pred))))
            .collect();
    };
    let list = actionbench_formats::scores::read_labels(gt).map_err(read_error)?;
    match (ids, &list.ids) {
        (Some(ids), Some(gt_ids)) => {
            let mut by_id: HashMap<&str, (i64, u64)> = HashMap::new();
            for ((id, &label), &line) in gt_ids.iter().zip(&list.labels).zip(&list.lines) {
                if by_id.insert(id, (label, line)).is_some() {
                    bail!("`{}` line {line}: sample `{id}` is listed twice", show(gt));
                }
            }
            if by_id.len() != ids.len() {
                bail!(
                    "`{}` labels {} samples but `{}` scores {}\n\nhint: Evaluate predictions and labels of the same samples",
                    show(gt),
                    by_id.len(),
                    show(pred),
                    ids.len()
                );
            }
            ids.iter()
                .map(|id| {
                    let (label, line) = by_id
                        .get(id.as_str())
                        .copied()
                        .ok_or_else(|| anyhow!("sample `{id}` of `{}` has no label in `{}`", show(pred), show(gt)))?;
                    check(label, &|| format!("`{}` line {line}", show(gt)))
                })
                .collect()
        }
        _ => {
            if list.labels.len() != samples {
                bail!(
                    "`{}` has {} labels but `{}` has {samples} samples ({} rows / {views} views)",
                    show(gt),
                    list.labels.len(),
                    show(pred),
                    samples * views
                );
            }
            list.labels
                .iter()
                .zip(&list.lines)
                .map(|(&label, &line)| check(label, &|| format!("`{}` line {line}", show(gt))))
                .collect()
        }
    }
}

fn evaluate_classify_files(args: &ClassifyArgs) -> Result<ClassifyResult> {
    if !args.gt.is_empty() && args.gt.len() != args.pred.len() {
        bail!(
            "{} `--pred` files but {} `--gt` files; expected one labels file per score file",
            args.pred.len(),
            args.gt.len()
        );
    }
    if args.topk.is_empty() || args.topk.contains(&0) {
        bail!("`--topk` takes positive integers, for example `--topk 1,5`");
    }
    if args.views == 0 {
        bail!("`--views` must be at least 1");
    }
    let how = match args.aggregate {
        AggregateArg::Softmax => ViewAggregation::MeanSoftmax,
        AggregateArg::Logits => ViewAggregation::MeanLogits,
    };
    let mut tasks = Vec::new();
    for (i, pred) in args.pred.iter().enumerate() {
        let table = actionbench_formats::scores::read_scores(pred).map_err(read_error)?;
        let rows = table.rows();
        if rows % args.views != 0 {
            bail!("`{}` has {rows} rows, not a multiple of `--views {}`", show(pred), args.views);
        }
        let matrix = ScoreMatrix::new(table.scores.clone(), rows, table.classes)
            .map_err(|e| anyhow!("`{}`: {e}", show(pred)))?;
        let scores = actionbench_metrics::classification::aggregate_views(&matrix, args.views, how)
            .map_err(|e| anyhow!("`{}`: {e}", show(pred)))?;
        let ids = block_ids(&table, args.views, pred)?;
        let labels = labels_for_task(
            &table,
            ids.as_deref(),
            args.views,
            pred,
            args.gt.get(i).map(PathBuf::as_path),
            scores.rows(),
        )?;
        let report = actionbench_metrics::classification::evaluate_classification(&scores, &labels, &args.topk)
            .map_err(|e| anyhow!("`{}`: {e}", show(pred)))?;
        tasks.push(TaskResult { pred: pred.clone(), report });
    }
    let mut pooled = Vec::new();
    for (j, &k) in args.topk.iter().enumerate() {
        let outcomes: Vec<TaskOutcome> = tasks
            .iter()
            .map(|t| TaskOutcome {
                name: show(&t.pred),
                correct: t.report.correct[j].1 as u64,
                total: t.report.samples as u64,
            })
            .collect();
        let r = actionbench_metrics::multitask::cumulative_accuracy(&outcomes).map_err(|e| anyhow!("{e}"))?;
        pooled.push((k, r.cumulative));
    }
    Ok(ClassifyResult { tasks, pooled })
}

fn top_k_json(top_k: &[(usize, f64)]) -> Value {
    Value::Object(top_k.iter().map(|(k, a)| (k.to_string(), json!(a))).collect())
}

fn classify_json(result: &ClassifyResult) -> Value {
    let tasks: Vec<Value> = result
        .tasks
        .iter()
        .map(|t| {
            json!({
                "pred": show(&t.pred),
                "samples": t.report.samples,
                "top_k": top_k_json(&t.report.top_k),
                "mean_class_accuracy": t.report.mean_class_accuracy,
            })
        })
        .collect();
    let single = (result.tasks.len() == 1).then(|| result.tasks[0].report.mean_class_accuracy);
    json!({
        "samples": result.tasks.iter().map(|t| t.report.samples).sum::<usize>(),
        "top_k": top_k_json(&result.pooled),
        "mean_class_accuracy": single,
        "tasks": tasks,
    })
}

fn print_classify(result: &ClassifyResult, format: OutputFormat) -> Result<()> {
    if format == OutputFormat::Json {
        return print_json(&classify_json(result));
    }
    let mut header = vec!["pred".to_string(), "samples".to_string()];
    header.extend(result.pooled.iter().map(|(k, _)| format!("top{k}")));
    header.push("mean_class_acc".into());
    let mut table = TextTable::new(header);
    for t in &result.tasks {
        let mut row = vec![show(&t.pred), t.report.samples.to_string()];
        row.extend(t.report.top_k.iter().map(|(_, a)| format!("{a:.6}")));
        row.push(format!("{:.6}", t.report.mean_class_accuracy));
        table.push(row);
    }
    if result.tasks.len() > 1 {
        let mut row =
            vec!["cumulative".to_string(), result.tasks.iter().map(|t| t.report.samples).sum::<usize>().to_string()];
        row.extend(result.pooled.iter().map(|(_, a)| format!("{a:.6}")));
        row.push("-".into());
        table.push(row);
    }
    table.print(format)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shared_dir() -> PathBuf {
        match std::env::var_os("ACTIONBENCH_SHARED_DIR") {
            Some(dir) => PathBuf::from(dir),
            None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"),
        }
    }

    fn fixture_args(protocol: ProtocolArg) -> AvaArgs {
        let dir = shared_dir().join("fixtures/real/ava/mmaction2_eval_detection");
        AvaArgs {
            gt: dir.join("gt.csv"),
            pred: dir.join("pred.csv"),
            labelmap: dir.join("action_list.txt"),
            exclusions: None,
            protocol,
        }
    }

    #[test]
    fn ava_on_the_real_fixture_prints_the_published_numbers() {
        for protocol in [ProtocolArg::V2019, ProtocolArg::V2020] {
            let report = evaluate_ava_files(&fixture_args(protocol)).unwrap();
            let v = ava_json(&report);
            assert!((v["mAP"].as_f64().unwrap() - 0.09385522).abs() < 5e-9);
            assert!((v["per_class"]["1"].as_f64().unwrap() - 0.17045455).abs() < 5e-9);
            assert_eq!(v["per_class"]["2"].as_f64(), Some(0.0));
            assert!((v["per_class"]["3"].as_f64().unwrap() - 0.11111111).abs() < 5e-9);
        }
    }

    #[test]
    fn ava_exclusions_and_unknown_classes_on_the_mmaction2_sample() {
        // The sample has class 74, which its label map lacks, and excludes
        // two frames; the official 2019 evaluator gives AP 1.0 to ids 12, 17
        // and 79 and NaN to id 80, whose only box is on an excluded frame.
        let dir = shared_dir().join("fixtures/real/ava/mmaction2_ava_dataset");
        let args = AvaArgs {
            gt: dir.join("ava_sample.csv"),
            pred: dir.join("ava_sample.csv"),
            labelmap: dir.join("action_list.txt"),
            exclusions: Some(dir.join("ava_excluded_timestamps_sample.csv")),
            protocol: ProtocolArg::V2019,
        };
        let v = ava_json(&evaluate_ava_files(&args).unwrap());
        assert_eq!(v, json!({ "mAP": 1.0, "per_class": { "12": 1.0, "17": 1.0, "79": 1.0, "80": null } }));
    }

    #[test]
    fn ava_classes_without_ground_truth_are_null() {
        let dir = tempfile::tempdir().unwrap();
        let gt = dir.path().join("gt.csv");
        let pred = dir.path().join("pred.csv");
        let map = dir.path().join("map.txt");
        std::fs::write(&gt, "vid_a,0902,0.1,0.1,0.5,0.5,1,0\n").unwrap();
        std::fs::write(&pred, "vid_a,902,0.1,0.1,0.5,0.5,1,0.5\nvid_a,903,0.1,0.1,0.5,0.5,1,0.9\n").unwrap();
        std::fs::write(&map, "1: one\n2: two\n").unwrap();
        let args = |protocol| AvaArgs {
            gt: gt.clone(),
            pred: pred.clone(),
            labelmap: map.clone(),
            exclusions: None,
            protocol,
        };
        let v = ava_json(&evaluate_ava_files(&args(ProtocolArg::V2019)).unwrap());
        assert_eq!(v, json!({ "mAP": 0.5, "per_class": { "1": 0.5, "2": null } }));
        let v = ava_json(&evaluate_ava_files(&args(ProtocolArg::V2020)).unwrap());
        assert_eq!(v["mAP"], json!(1.0));
    }

    #[test]
    fn ava_errors_name_the_file_and_line() {
        let mut args = fixture_args(ProtocolArg::V2019);
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("pred.csv");
        std::fs::write(&bad, "v,902,0.1,0.1,0.5,0.5,1,0.9\nv,902,0.1,0.1,0.5\n").unwrap();
        args.pred = bad;
        let err = format!("{:#}", evaluate_ava_files(&args).unwrap_err());
        assert!(err.contains("pred.csv` line 2: expected 7 or 8 columns"), "{err}");
        let mut args = fixture_args(ProtocolArg::V2020);
        args.exclusions = Some(dir.path().join("ex.csv"));
        let err = format!("{:#}", evaluate_ava_files(&args).unwrap_err());
        assert!(err.contains("hint:"), "{err}");
    }

    #[test]
    fn pose_from_npy_files() {
        use actionbench_formats::npy::{NpyDtype, write_npy_bytes};
        let dir = tempfile::tempdir().unwrap();
        let gt: Vec<f64> = (0..2 * 4 * 3).map(|i| ((i * 7) % 5) as f64).collect();
        let pred: Vec<f64> = gt.chunks(3).flat_map(|p| [p[0] + 3.0, p[1] + 4.0, p[2]]).collect();
        let (p, g, a) = (dir.path().join("p.npy"), dir.path().join("g.npy"), dir.path().join("a.txt"));
        std::fs::write(&p, write_npy_bytes(&[2, 4, 3], &pred, NpyDtype::Float32)).unwrap();
        std::fs::write(&g, write_npy_bytes(&[2, 4, 3], &gt, NpyDtype::Float64)).unwrap();
        std::fs::write(&a, "Walking 1\nEating\n").unwrap();
        let args = PoseArgs { pred: p, gt: g, actions: Some(a) };
        let v = pose_json(&evaluate_pose_files(&args).unwrap());
        assert!((v["mpjpe"].as_f64().unwrap() - 5.0).abs() < 1e-12);
        assert!(v["p_mpjpe"].as_f64().unwrap() < 1e-9);
        assert!((v["per_action"]["Walking"]["mpjpe"].as_f64().unwrap() - 5.0).abs() < 1e-12);
    }

    fn classify(pred: Vec<PathBuf>, gt: Vec<PathBuf>, views: usize) -> Result<ClassifyResult> {
        evaluate_classify_files(&ClassifyArgs { pred, gt, topk: vec![1, 2], views, aggregate: AggregateArg::Logits })
    }

    #[test]
    fn classify_aggregates_views_and_joins_labels_by_id() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.csv");
        let la = dir.path().join("a.txt");
        // Two views per sample; the views of s1 disagree (mean [0, 2.5, 0.5]).
        std::fs::write(&a, "id,c0,c1,c2\ns0,3,0,0\ns0,2,0,0\ns1,0,5,0\ns1,0,0,1\ns2,0,0,4\ns2,0,1,0\n").unwrap();
        std::fs::write(&la, "id,label\ns2,2\ns0,0\ns1,2\n").unwrap();
        let r = classify(vec![a.clone()], vec![la], 2).unwrap();
        // s0 -> 0 (right), s1 -> 1 (label 2 ranks second), s2 -> 2 (right).
        assert_eq!(r.tasks[0].report.top_k, vec![(1, 2.0 / 3.0), (2, 1.0)]);
        let err = format!("{:#}", classify(vec![a.clone()], vec![], 2).unwrap_err());
        assert!(err.contains("no `label` column"), "{err}");
        let err = format!("{:#}", classify(vec![a], vec![], 4).unwrap_err());
        assert!(err.contains("not a multiple of `--views 4`"), "{err}");
    }

    #[test]
    fn classify_pools_several_tasks() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("actions.csv");
        let b = dir.path().join("gestures.csv");
        // actions: argmax [0, 1, 1] vs labels [0, 1, 2] -> 2 of 3.
        std::fs::write(&a, "c0,c1,c2,label\n5,1,0,0\n0,5,1,1\n0,5,1,2\n").unwrap();
        // gestures: argmax [0, 0, 0, 1] vs labels [0, 1, 1, 1] -> 2 of 4.
        std::fs::write(&b, "c0,c1,label\n0.9,0.1,0\n0.8,0.2,1\n0.6,0.4,1\n0.3,0.7,1\n").unwrap();
        let r = classify(vec![a, b], vec![], 1).unwrap();
        assert_eq!(r.tasks[0].report.top_k[0], (1, 2.0 / 3.0));
        assert_eq!(r.tasks[1].report.top_k[0], (1, 0.5));
        assert_eq!(r.pooled[0], (1, 4.0 / 7.0));
        let v = classify_json(&r);
        assert_eq!(v["top_k"]["1"], json!(4.0 / 7.0));
        assert_eq!(v["samples"], json!(7));
        assert_eq!(v["mean_class_accuracy"], Value::Null);
        assert_eq!(v["tasks"][1]["top_k"]["2"], json!(1.0));
    }
}
