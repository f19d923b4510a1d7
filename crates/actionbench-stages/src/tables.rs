//! Small tables written by stages (per-class results, metrics) as shard
//! directories, so they are visible in `actionbench sql` like any table.

use std::error::Error;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use actionbench_pipeline::{ResolvedInput, StageContext};
use actionbench_shards::{ShardWriter, ShardWriterOptions};
use arrow::array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};

/// Writes `batch` as the shard table `ctx.out_dir/<name>/`.
pub(crate) fn write_table(
    ctx: &StageContext<'_>,
    name: &str,
    batch: RecordBatch,
) -> Result<(), Box<dyn Error + Send + Sync>> {
    let options = ShardWriterOptions { stage_key: Some(ctx.key.to_hex()), ..Default::default() };
    let mut writer = ShardWriter::new(&ctx.out_dir.join(name), batch.schema(), options)?;
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
    let n = rows.len();
    let text = |v: &str| -> ArrayRef { Arc::new(StringArray::from(vec![v; n])) };
    let batch = RecordBatch::try_new(
        actionbench_shards::metrics_schema(),
        vec![
            text(&ctx.key.to_hex()),
            text(ctx.pipeline),
            text(ctx.stage),
            text(split),
            Arc::new(StringArray::from(rows.iter().map(|r| r.0).collect::<Vec<_>>())),
            Arc::new(Float64Array::from(rows.iter().map(|r| r.1).collect::<Vec<_>>())),
            Arc::new(Int64Array::from(vec![None::<i64>; n])),
        ],
    )?;
    write_table(ctx, "metrics", batch)
}

/// The one file a role param (`gt = "data/gt.csv"`, `pred = "@predict"`)
/// names: a path input is its file; a stage input is the single file with
/// one of `extensions` in that stage's output.
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
            ResolvedInput::Stage { stage, paths, .. } if entry.strip_prefix('@') == Some(stage.as_str()) => {
                let mut found = Vec::new();
                for p in paths {
                    if p.is_file() && has_ext(p) {
                        found.push(p.clone());
                    } else if p.is_dir() {
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
