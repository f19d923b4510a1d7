//! Evaluation on files: the glue between the readers (`actionbench-formats`)
//! and the metrics (`actionbench-metrics`), shared by `actionbench eval` and
//! the `eval.*` stages so both give the same numbers and the same errors.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use actionbench_core::Diagnostic;
use actionbench_formats::ava::{AvaCsvRow, AvaDialect, AvaTimestamp};
use actionbench_formats::label_map::LabelMapKind;
use actionbench_formats::scores::ScoreTable;
use actionbench_metrics::ava::{AvaAnnotation, AvaBox, AvaClass, AvaProtocol, AvaReport, AvaRow, FrameKey};
use actionbench_metrics::classification::{ClassificationReport, ScoreMatrix, ViewAggregation};
use actionbench_metrics::multitask::TaskOutcome;
use actionbench_metrics::pose::PoseReport;
use anyhow::{Context, Result, anyhow, bail};

/// A reader error as an anyhow error that keeps its hint and location.
pub fn read_error(e: actionbench_formats::Error) -> anyhow::Error {
    anyhow::Error::new(Diagnostic::new(e))
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

/// Replaces every detection's score with a uniform draw in `[0, 1)` from a
/// ChaCha8 stream seeded with `seed`, in file order: the chance level of a
/// detector that finds the same boxes but cannot tell the actions apart.
/// (AVA's chance mAP is not `1 / classes`: it is each class's share of the
/// detections that match a positive box, which depends on the data.)
fn randomise_scores(rows: &mut [AvaRow], seed: u64) {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    for a in rows.iter_mut().filter_map(|r| r.annotation.as_mut()) {
        a.score = rng.random::<f64>();
    }
}

/// AVA frame-mAP of a detections CSV against a ground-truth CSV, as the
/// official evaluator of `protocol` computes it; with `random_scores`, of
/// the same boxes with seeded random scores (see [`randomise_scores`]).
pub fn evaluate_ava_files(
    gt: &Path,
    pred: &Path,
    labelmap: &Path,
    exclusions: Option<&Path>,
    protocol: AvaProtocol,
    random_scores: Option<u64>,
) -> Result<AvaReport> {
    let dialect = match protocol {
        AvaProtocol::V2019 => AvaDialect::Activitynet2019,
        AvaProtocol::V2020 => AvaDialect::Activitynet2020,
    };
    if protocol == AvaProtocol::V2020 && exclusions.is_some() {
        return Err(Diagnostic::hinted(
            "`--exclusions` is not part of the 2020 protocol",
            "Use `--protocol 2019` with an exclusions file, or mark evaluated frames without boxes with `video_id,timestamp` rows in the ground truth",
        )
        .into());
    }
    let map = actionbench_formats::label_map::read_label_map(labelmap).map_err(read_error)?;
    if map.kind == LabelMapKind::NamePerLine {
        return Err(Diagnostic::hinted(
            format!(
                "`{}`: expected class ids (pbtxt `item {{ name: \"…\" id: N }}` blocks or `id: name` lines), found one name per line",
                show(labelmap)
            ),
            "AVA class ids start at 1 and must be written in the label map",
        )
        .into());
    }
    let classes: Vec<AvaClass> = map.entries.iter().map(|e| AvaClass { id: e.id, name: e.name.clone() }).collect();
    let read = |path: &Path| -> Result<Vec<AvaRow>> {
        let rows = actionbench_formats::ava::read_ava_csv(path, dialect).map_err(read_error)?;
        Ok(rows.iter().map(ava_row).collect())
    };
    let gt_rows = read(gt)?;
    let mut pred_rows = read(pred)?;
    if let Some(seed) = random_scores {
        randomise_scores(&mut pred_rows, seed);
    }
    let excluded: Vec<FrameKey> = match exclusions {
        Some(path) => actionbench_formats::ava::read_ava_exclusions(path, dialect)
            .map_err(read_error)?
            .iter()
            .map(|e| frame_key(&e.video_id, e.timestamp))
            .collect(),
        None => Vec::new(),
    };
    actionbench_metrics::ava::evaluate_ava(protocol, &classes, &gt_rows, &pred_rows, &excluded)
        .map_err(|e| {
            let hint = match e {
                actionbench_metrics::Error::ClassIdNotPositive { .. } => {
                    Some(format!("Check `{}`; AVA label maps number classes from 1", show(labelmap)))
                }
                actionbench_metrics::Error::InvalidGroundTruthBox { .. } => {
                    Some("Boxes are `x1,y1,x2,y2` with x1 <= x2 and y1 <= y2".into())
                }
                _ => None,
            };
            anyhow::Error::new(Diagnostic::message(e.to_string(), hint))
        })
        .with_context(|| format!("Failed to evaluate `{}` against `{}`", show(pred), show(gt)))
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

/// MPJPE and P-MPJPE of `[frames, joints, 3]` `.npy` poses, per action group
/// when `actions` names each frame's action (VideoPose3D's protocol).
pub fn evaluate_pose_files(pred: &Path, gt: &Path, actions: Option<&Path>) -> Result<PoseReport> {
    let (pred_shape, pred_data) = read_poses(pred)?;
    let (gt_shape, gt_data) = read_poses(gt)?;
    if pred_shape != gt_shape {
        bail!(
            "`{}` has shape {:?} but `{}` has shape {:?}; expected the same [frames, joints, 3]",
            show(pred),
            pred_shape,
            show(gt),
            gt_shape
        );
    }
    let frames = gt_shape[0];
    let actions = match actions {
        Some(path) => {
            let names = read_actions(path)?;
            if names.len() != frames {
                bail!(
                    "`{}` has {} action names but `{}` has {frames} frames; expected one name per frame",
                    show(path),
                    names.len(),
                    show(gt)
                );
            }
            Some(names)
        }
        None => None,
    };
    actionbench_metrics::pose::evaluate_poses(&pred_data, &gt_data, gt_shape[1], actions.as_deref())
        .map_err(|e| anyhow!("{e}"))
        .with_context(|| format!("Failed to evaluate `{}`", show(pred)))
}

// ---------------------------------------------------------------- classify

/// Results of one `--pred` file.
#[derive(Debug)]
pub struct TaskResult {
    /// The score file.
    pub pred: PathBuf,
    /// Its accuracies.
    pub report: ClassificationReport,
}

/// Results of `eval classify`.
#[derive(Debug)]
pub struct ClassifyResult {
    /// One entry per score file.
    pub tasks: Vec<TaskResult>,
    /// `(k, pooled accuracy)` over all tasks.
    pub pooled: Vec<(usize, f64)>,
}

/// How `evaluate_classify_files` reads and aggregates scores.
#[derive(Debug, Clone)]
pub struct ClassifyOptions {
    /// Which top-k accuracies to report.
    pub topk: Vec<usize>,
    /// Consecutive rows per sample (clips × crops).
    pub views: usize,
    /// How the views of a sample are merged.
    pub aggregate: ViewAggregation,
}

/// Sample ids (one per aggregated sample) of a score table read with `views`.
fn block_ids(table: &ScoreTable, views: usize, path: &Path) -> Result<Option<Vec<String>>> {
    let Some(ids) = &table.ids else {
        return Ok(None);
    };
    let mut out = Vec::with_capacity(ids.len() / views);
    for (b, block) in ids.chunks(views).enumerate() {
        if let Some(other) = block.iter().find(|id| **id != block[0]) {
            return Err(Diagnostic::hinted(
                format!(
                    "`{}` row {}: sample `{other}` inside the {views} views of sample `{}`",
                    show(path),
                    b * views + block.iter().position(|id| id == other).unwrap_or(0),
                    block[0]
                ),
                format!("Put the {views} views of each sample on consecutive rows"),
            )
            .into());
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
            return Err(Diagnostic::hinted(
                format!("`{}` has no `label` column and no `--gt` file was given", show(pred)),
                "Pass the true classes with `--gt LABELS`",
            )
            .into());
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
                return Err(Diagnostic::hinted(
                    format!("`{}` labels {} samples but `{}` scores {}", show(gt), by_id.len(), show(pred), ids.len()),
                    "Evaluate predictions and labels of the same samples",
                )
                .into());
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

/// Top-k and mean class accuracy of each score file against its labels
/// (`gts[i]` for `preds[i]`, or a `label` column), pooled over files.
pub fn evaluate_classify_files(preds: &[PathBuf], gts: &[PathBuf], opts: &ClassifyOptions) -> Result<ClassifyResult> {
    if !gts.is_empty() && gts.len() != preds.len() {
        bail!("{} `--pred` files but {} `--gt` files; expected one labels file per score file", preds.len(), gts.len());
    }
    if opts.topk.is_empty() || opts.topk.contains(&0) {
        bail!("`--topk` takes positive integers, for example `--topk 1,5`");
    }
    if opts.views == 0 {
        bail!("`--views` must be at least 1");
    }
    let how = opts.aggregate;
    let mut tasks = Vec::new();
    for (i, pred) in preds.iter().enumerate() {
        let table = actionbench_formats::scores::read_scores(pred).map_err(read_error)?;
        let rows = table.rows();
        if rows % opts.views != 0 {
            bail!("`{}` has {rows} rows, not a multiple of `--views {}`", show(pred), opts.views);
        }
        let matrix = ScoreMatrix::new(table.scores.clone(), rows, table.classes)
            .map_err(|e| anyhow!("`{}`: {e}", show(pred)))?;
        let scores = actionbench_metrics::classification::aggregate_views(&matrix, opts.views, how)
            .map_err(|e| anyhow!("`{}`: {e}", show(pred)))?;
        let ids = block_ids(&table, opts.views, pred)?;
        let labels =
            labels_for_task(&table, ids.as_deref(), opts.views, pred, gts.get(i).map(PathBuf::as_path), scores.rows())?;
        let report = actionbench_metrics::classification::evaluate_classification(&scores, &labels, &opts.topk)
            .map_err(|e| anyhow!("`{}`: {e}", show(pred)))?;
        tasks.push(TaskResult { pred: pred.clone(), report });
    }
    let mut pooled = Vec::new();
    for (j, &k) in opts.topk.iter().enumerate() {
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
