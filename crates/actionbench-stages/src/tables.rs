//! Small tables written by stages (per-class results, metrics) as shard
//! directories, so they are visible in `actionbench sql` like any table.

use std::error::Error;
use std::path::{Path, PathBuf};

use actionbench_core::Diagnostic;
use actionbench_pipeline::{ResolvedInput, StageContext};
use actionbench_shards::ShardWriterOptions;
use arrow::array::RecordBatch;

use crate::ingest::StageWriter;

/// Writes `batch` as the shard table `ctx.out_dir/<name>/`.
pub(crate) fn write_table(
    ctx: &StageContext<'_>,
    name: &str,
    batch: RecordBatch,
) -> Result<(), Box<dyn Error + Send + Sync>> {
    let options = ShardWriterOptions { stage_key: Some(ctx.key.to_hex()), ..Default::default() };
    let mut writer = StageWriter::new(ctx, &ctx.out_dir.join(name), batch.schema(), options)?;
    writer.write(&batch)?;
    writer.finish()?;
    Ok(())
}

/// The long-format metrics table every evaluation and training stage
/// writes (`run_id, pipeline, stage, split, metric, value, step`); SQL
/// gathers them all into `actionbench.metrics`.
pub(crate) fn write_metrics(
    ctx: &StageContext<'_>,
    split: &str,
    rows: &[(&str, Option<f64>)],
) -> Result<(), Box<dyn Error + Send + Sync>> {
    let rows: Vec<_> = rows.iter().map(|&(metric, value)| (split, metric, value, None)).collect();
    let batch = actionbench_shards::metrics_batch(&ctx.key.to_hex(), ctx.pipeline, ctx.stage, &rows)?;
    write_table(ctx, "metrics", batch)
}

/// Splits `@stage/sub/path` into the stage and the path inside its output
/// (`@stage` alone has none); `None` for a path entry.
pub(crate) fn stage_ref(entry: &str) -> Option<(&str, Option<&str>)> {
    let rest = entry.strip_prefix('@')?;
    Some(match rest.split_once('/') {
        Some((stage, sub)) if !sub.trim_matches('/').is_empty() => (stage, Some(sub.trim_matches('/'))),
        _ => (rest.trim_end_matches('/'), None),
    })
}

/// The existing path `sub` inside the outputs of a stage input.
pub(crate) fn stage_sub_path(paths: &[PathBuf], stage: &str, sub: &str) -> Result<PathBuf, Diagnostic> {
    paths.iter().map(|p| p.join(sub)).find(|p| p.exists()).ok_or_else(|| {
        Diagnostic::hinted(
            format!("`@{stage}/{sub}` does not exist: stage `{stage}` wrote no `{sub}`"),
            "check the path inside the stage's output (`actionbench status` shows where it is)",
        )
    })
}

/// The one file a role param (`gt = "data/gt.csv"`, `pred = "@predict"`)
/// names: a path input is its file; a stage input is the single file with
/// one of `extensions` in that stage's output, and `@stage/sub/file` is
/// that file inside the output of the input `@stage`.
pub(crate) fn role_file(
    ctx: &StageContext<'_>,
    role: &str,
    entry: &str,
    extensions: &[&str],
) -> Result<PathBuf, Box<dyn Error + Send + Sync>> {
    let has_ext = |p: &Path| p.extension().and_then(|e| e.to_str()).is_some_and(|e| extensions.contains(&e));
    for input in ctx.inputs {
        match input {
            ResolvedInput::Files { entry: e, files, .. } if e == entry => {
                return match files.as_slice() {
                    [one] => Ok(one.path.clone()),
                    _ => Err(format!(
                        "param `{role}` names `{entry}`, which holds {} files; it must be one file",
                        files.len()
                    )
                    .into()),
                };
            }
            ResolvedInput::Stage { stage, paths, .. } if stage_ref(entry).is_some_and(|(s, _)| s == stage) => {
                if let Some((_, Some(sub))) = stage_ref(entry) {
                    let path = stage_sub_path(paths, stage, sub)?;
                    if !path.is_file() {
                        return Err(format!(
                            "param `{role}` names `{entry}`, which is a directory; it must be one file"
                        )
                        .into());
                    }
                    return Ok(path);
                }
                let mut found = Vec::new();
                for p in paths {
                    if p.is_file() && has_ext(p) {
                        found.push(p.clone());
                    } else if p.is_dir() && !p.join(actionbench_core::SHARD_INDEX_FILE).is_file() {
                        // A shard directory (a command stage's `metrics`
                        // out) is a table, not a file to pick.
                        for e in std::fs::read_dir(p)? {
                            let e = e?.path();
                            if e.is_file() && has_ext(&e) {
                                found.push(e);
                            }
                        }
                    }
                }
                return match found.as_slice() {
                    [one] => Ok(one.clone()),
                    _ => Err(format!(
                        "param `{role}` names `{entry}`, whose output holds {} `.{}` files; it must hold exactly one",
                        found.len(),
                        extensions.join("`/`.")
                    )
                    .into()),
                };
            }
            _ => {}
        }
    }
    Err(format!("param `{role}` names `{entry}`, which is not in the stage's `inputs`; add it there so its content is part of the key").into())
}
