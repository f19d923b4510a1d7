//! `actionbench eval`: the evaluators, usable on files from anywhere.
//!
//! * `eval ava`: AVA frame-mAP@0.5 as the official ActivityNet evaluator
//!   computes it (`--protocol 2019` or `2020`).
//! * `eval pose`: MPJPE and P-MPJPE as VideoPose3D computes them.
//! * `eval classify`: top-k and mean class accuracy of class scores, with
//!   multi-view aggregation and cumulative accuracy over several tasks.
//!
//! Reading files and computing the numbers is `actionbench_stages::evaluation`
//! (shared with the `eval.*` stages); this module parses arguments and prints.

use std::path::{Path, PathBuf};

use actionbench_metrics::ava::{AvaProtocol, AvaReport};
use actionbench_metrics::classification::ViewAggregation;
use actionbench_metrics::pose::PoseReport;
use actionbench_stages::evaluation::{
    ClassifyOptions, ClassifyResult, evaluate_ava_files, evaluate_classify_files, evaluate_pose_files,
};
use anyhow::Result;
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
    /// Score `--pred`'s boxes with uniform random numbers from this seed
    /// instead of its scores: the chance level of the same detections.
    #[arg(long, value_name = "SEED")]
    random_scores: Option<u64>,
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
        EvalCommand::Ava(args) => print_ava(&ava_report(args)?, format),
        EvalCommand::Pose(args) => print_pose(&pose_report(args)?, format),
        EvalCommand::Classify(args) => print_classify(&classify_result(args)?, format),
    }
}

fn ava_report(args: &AvaArgs) -> Result<AvaReport> {
    let protocol = match args.protocol {
        ProtocolArg::V2019 => AvaProtocol::V2019,
        ProtocolArg::V2020 => AvaProtocol::V2020,
    };
    evaluate_ava_files(&args.gt, &args.pred, &args.labelmap, args.exclusions.as_deref(), protocol, args.random_scores)
}

fn pose_report(args: &PoseArgs) -> Result<PoseReport> {
    evaluate_pose_files(&args.pred, &args.gt, args.actions.as_deref())
}

fn classify_result(args: &ClassifyArgs) -> Result<ClassifyResult> {
    let aggregate = match args.aggregate {
        AggregateArg::Softmax => ViewAggregation::MeanSoftmax,
        AggregateArg::Logits => ViewAggregation::MeanLogits,
    };
    let opts = ClassifyOptions { topk: args.topk.clone(), views: args.views, aggregate };
    evaluate_classify_files(&args.pred, &args.gt, &opts)
}

fn show(path: &Path) -> String {
    path.display().to_string()
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

    /// The repository's real fixture files (`fixtures/real/`).
    fn real_fixtures() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/real")
    }

    fn fixture_args(protocol: ProtocolArg) -> AvaArgs {
        let dir = real_fixtures().join("ava/mmaction2_eval_detection");
        AvaArgs {
            gt: dir.join("gt.csv"),
            pred: dir.join("pred.csv"),
            labelmap: dir.join("action_list.txt"),
            exclusions: None,
            protocol,
            random_scores: None,
        }
    }

    #[test]
    fn ava_on_the_real_fixture_prints_the_published_numbers() {
        for protocol in [ProtocolArg::V2019, ProtocolArg::V2020] {
            let report = ava_report(&fixture_args(protocol)).unwrap();
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
        let dir = real_fixtures().join("ava/mmaction2_ava_dataset");
        let args = AvaArgs {
            gt: dir.join("ava_sample.csv"),
            pred: dir.join("ava_sample.csv"),
            labelmap: dir.join("action_list.txt"),
            exclusions: Some(dir.join("ava_excluded_timestamps_sample.csv")),
            protocol: ProtocolArg::V2019,
            random_scores: None,
        };
        let v = ava_json(&ava_report(&args).unwrap());
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
            random_scores: None,
        };
        let v = ava_json(&ava_report(&args(ProtocolArg::V2019)).unwrap());
        assert_eq!(v, json!({ "mAP": 0.5, "per_class": { "1": 0.5, "2": null } }));
        let v = ava_json(&ava_report(&args(ProtocolArg::V2020)).unwrap());
        assert_eq!(v["mAP"], json!(1.0));
    }

    #[test]
    fn ava_random_scores_give_the_chance_level_of_the_same_boxes() {
        // 1000 detections of class 1, one per frame; the first 250 frames
        // hold a true box. Ranked by their own scores they are perfect;
        // ranked at random, AP is about the share of true ones (0.25).
        let dir = tempfile::tempdir().unwrap();
        let (gt, pred, map) = (dir.path().join("gt.csv"), dir.path().join("pred.csv"), dir.path().join("map.txt"));
        let gt_rows: String = (0..250).map(|i| format!("v,{},0.1,0.1,0.5,0.5,1,0\n", 902 + i)).collect();
        let pred_rows: String = (0..1000)
            .map(|i| format!("v,{},0.1,0.1,0.5,0.5,1,{}\n", 902 + i, if i < 250 { 0.9 } else { 0.1 }))
            .collect();
        std::fs::write(&gt, gt_rows).unwrap();
        std::fs::write(&pred, pred_rows).unwrap();
        std::fs::write(&map, "1: one\n").unwrap();
        let map_of = |random_scores| {
            let args = AvaArgs {
                gt: gt.clone(),
                pred: pred.clone(),
                labelmap: map.clone(),
                exclusions: None,
                protocol: ProtocolArg::V2019,
                random_scores,
            };
            ava_report(&args).unwrap().mean_ap.unwrap()
        };
        assert_eq!(map_of(None), 1.0);
        let chance: Vec<f64> = [0, 1, 0].into_iter().map(|s| map_of(Some(s))).collect();
        for v in &chance {
            assert!((v - 0.25).abs() < 0.05, "{chance:?}");
        }
        assert_eq!(chance[0], chance[2], "a seed gives the same scores every time");
        assert_ne!(chance[0], chance[1], "another seed gives other scores");
    }

    #[test]
    fn ava_errors_name_the_file_and_line() {
        let mut args = fixture_args(ProtocolArg::V2019);
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("pred.csv");
        std::fs::write(&bad, "v,902,0.1,0.1,0.5,0.5,1,0.9\nv,902,0.1,0.1,0.5\n").unwrap();
        args.pred = bad;
        let err = format!("{:#}", ava_report(&args).unwrap_err());
        assert!(err.contains("pred.csv` line 2: expected 7 or 8 columns"), "{err}");
        let mut args = fixture_args(ProtocolArg::V2020);
        args.exclusions = Some(dir.path().join("ex.csv"));
        let err = ava_report(&args).unwrap_err();
        let failure = actionbench_core::Failure::from_error(err.as_ref(), &actionbench_core::diagnostic_probe);
        assert!(failure.message.contains("2020 protocol"), "{failure:?}");
        assert!(failure.hint.is_some_and(|h| h.contains("--protocol 2019")));
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
        let v = pose_json(&pose_report(&args).unwrap());
        assert!((v["mpjpe"].as_f64().unwrap() - 5.0).abs() < 1e-12);
        assert!(v["p_mpjpe"].as_f64().unwrap() < 1e-9);
        assert!((v["per_action"]["Walking"]["mpjpe"].as_f64().unwrap() - 5.0).abs() < 1e-12);
    }

    fn classify(pred: Vec<PathBuf>, gt: Vec<PathBuf>, views: usize) -> Result<ClassifyResult> {
        classify_result(&ClassifyArgs { pred, gt, topk: vec![1, 2], views, aggregate: AggregateArg::Logits })
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
