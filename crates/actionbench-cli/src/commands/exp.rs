//! `actionbench exp show`: every recorded stage run (matrix instances, runs
//! with `-S` overrides, runs the lock file no longer points at) with the
//! params that differ between runs of the same stage and their metrics,
//! and `--diff` between two runs. It reads `actionbench.runs` and
//! `actionbench.run_metrics`, so everything it prints is also SQL.

use std::collections::{BTreeMap, BTreeSet};
use std::process::ExitCode;

use anyhow::Context;
use arrow::array::{Array, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray};
use serde_json::{Value, json};

use crate::output::{OutputFormat, TextTable, print_json};

/// `actionbench exp …`.
#[derive(clap::Subcommand)]
pub(crate) enum ExpCommand {
    /// One row per stage run: stage, key, when, the params that differ between runs of the same stage, metrics.
    Show(ShowArgs),
}

/// Arguments of `actionbench exp show`.
#[derive(clap::Args)]
pub(crate) struct ShowArgs {
    /// Only this pipeline's runs.
    pipeline: Option<String>,
    /// Only these stages (a stage, or a matrix table: all its instances). Repeatable.
    #[arg(long = "stage", value_name = "STAGE")]
    stages: Vec<String>,
    /// What changed between two runs (keys, or unique prefixes of them, as `exp show` prints):
    /// params, inputs, upstream keys, tool versions, overrides and metrics.
    #[arg(long, num_args = 2, value_names = ["KEY_A", "KEY_B"])]
    diff: Option<Vec<String>>,
}

/// A metric's split and name.
type SplitMetric = (String, String);

/// One row of `actionbench.runs` with its final metrics.
struct Run {
    pipeline: String,
    stage: String,
    table: String,
    key: String,
    finished: String,
    current: bool,
    overrides: Vec<String>,
    definition: Value,
    /// (split, metric) → value: the row without a step, else the last step's.
    metrics: BTreeMap<SplitMetric, f64>,
}

fn strings<'a>(batch: &'a RecordBatch, name: &str) -> anyhow::Result<&'a StringArray> {
    batch
        .column_by_name(name)
        .and_then(|c| c.as_any().downcast_ref::<StringArray>())
        .with_context(|| format!("column `{name}` of the runs table is not text"))
}

fn sql_text(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

fn load(session: &actionbench_sql::SqlSession, pipeline: Option<&str>) -> anyhow::Result<Vec<Run>> {
    let filter = pipeline.map(|p| format!("WHERE pipeline = {}", sql_text(p))).unwrap_or_default();
    let batches = session.query(&format!(
        "SELECT pipeline, stage, stage_table, key, finished, current, overrides, definition \
         FROM actionbench.runs {filter} ORDER BY finished_ms, pipeline, stage"
    ))?;
    let mut runs = Vec::new();
    for b in &batches {
        let current = b
            .column_by_name("current")
            .and_then(|c| c.as_any().downcast_ref::<BooleanArray>())
            .context("column `current` of the runs table is not boolean")?;
        for i in 0..b.num_rows() {
            runs.push(Run {
                pipeline: strings(b, "pipeline")?.value(i).to_string(),
                stage: strings(b, "stage")?.value(i).to_string(),
                table: strings(b, "stage_table")?.value(i).to_string(),
                key: strings(b, "key")?.value(i).to_string(),
                finished: strings(b, "finished")?.value(i).to_string(),
                current: current.value(i),
                overrides: serde_json::from_str(strings(b, "overrides")?.value(i))?,
                definition: serde_json::from_str(strings(b, "definition")?.value(i))?,
                metrics: BTreeMap::new(),
            });
        }
    }
    let batches = session.query("SELECT run_id, split, metric, value, step FROM actionbench.run_metrics")?;
    // run_id → (split, metric) → (step, value); a row without a step wins.
    let mut found: BTreeMap<String, BTreeMap<SplitMetric, (i64, f64)>> = BTreeMap::new();
    for b in &batches {
        let value = b.column_by_name("value").and_then(|c| c.as_any().downcast_ref::<Float64Array>());
        let step = b.column_by_name("step").and_then(|c| c.as_any().downcast_ref::<Int64Array>());
        let (Some(value), Some(step)) = (value, step) else { continue };
        for i in 0..b.num_rows() {
            if value.is_null(i) {
                continue;
            }
            let rank = if step.is_null(i) { i64::MAX } else { step.value(i) };
            let slot = found
                .entry(strings(b, "run_id")?.value(i).to_string())
                .or_default()
                .entry((strings(b, "split")?.value(i).to_string(), strings(b, "metric")?.value(i).to_string()))
                .or_insert((i64::MIN, 0.0));
            if rank >= slot.0 {
                *slot = (rank, value.value(i));
            }
        }
    }
    for run in &mut runs {
        if let Some(m) = found.get(&run.key) {
            run.metrics = m.iter().map(|(k, (_, v))| (k.clone(), *v)).collect();
        }
    }
    Ok(runs)
}

/// `value` as dotted keys → JSON text of each leaf.
fn flatten(prefix: &str, value: &Value, out: &mut BTreeMap<String, String>) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (k, v) in map {
                let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                flatten(&key, v, out);
            }
        }
        Value::String(s) => {
            out.insert(prefix.to_string(), s.clone());
        }
        other => {
            out.insert(prefix.to_string(), other.to_string());
        }
    }
}

fn params_of(run: &Run) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    flatten("", run.definition.get("params").unwrap_or(&Value::Null), &mut out);
    out.remove("");
    // A command stage has no params: its command line is what differs.
    if let Some(Value::String(cmd)) = run.definition.get("command") {
        out.insert("cmd".into(), cmd.clone());
    }
    out
}

/// Per run, the params whose value is not the same in every run of its
/// stage table.
fn differing_params(runs: &[&Run]) -> Vec<BTreeMap<String, String>> {
    let params: Vec<BTreeMap<String, String>> = runs.iter().map(|r| params_of(r)).collect();
    let mut groups: BTreeMap<(&str, &str), Vec<usize>> = BTreeMap::new();
    for (i, r) in runs.iter().enumerate() {
        groups.entry((&r.pipeline, &r.table)).or_default().push(i);
    }
    let mut out = vec![BTreeMap::new(); runs.len()];
    for members in groups.values() {
        let keys: BTreeSet<&String> = members.iter().flat_map(|&i| params[i].keys()).collect();
        for key in keys {
            let first = params[members[0]].get(key);
            if members.iter().all(|&i| params[i].get(key) == first) {
                continue;
            }
            for &i in members {
                let v = params[i].get(key).cloned().unwrap_or_else(|| "(unset)".into());
                out[i].insert(key.clone(), v);
            }
        }
    }
    out
}

/// Column name of each (split, metric): the metric alone when no other
/// split has it, else `split/metric`.
fn metric_names(runs: &[&Run]) -> BTreeMap<SplitMetric, String> {
    let all: BTreeSet<&SplitMetric> = runs.iter().flat_map(|r| r.metrics.keys()).collect();
    all.iter()
        .map(|(split, metric)| {
            let shared = all.iter().filter(|(_, m)| m == metric).count() > 1;
            let name = if shared || metric.is_empty() { format!("{split}/{metric}") } else { metric.clone() };
            ((split.clone(), metric.clone()), name)
        })
        .collect()
}

pub(crate) fn run(cmd: &ExpCommand, format: OutputFormat) -> anyhow::Result<ExitCode> {
    let ExpCommand::Show(args) = cmd;
    let cwd = std::env::current_dir()?;
    let root = actionbench_pipeline::find_project_root(&cwd)?;
    let session = actionbench_sql::SqlSession::open(&root, None).context("Cannot open the project's tables")?;
    let all = load(&session, args.pipeline.as_deref())?;
    if let Some(pipeline) = &args.pipeline
        && all.is_empty()
        && !root.join("pipelines").join(format!("{pipeline}.toml")).is_file()
    {
        anyhow::bail!("No pipeline `{pipeline}` in `{}`", root.join("pipelines").display());
    }
    for s in &args.stages {
        if !all.iter().any(|r| &r.stage == s || &r.table == s) {
            anyhow::bail!(
                "No run of a stage `{s}` is recorded{}; `actionbench exp show` lists the runs there are",
                args.pipeline.as_deref().map(|p| format!(" in pipeline `{p}`")).unwrap_or_default()
            );
        }
    }
    let runs: Vec<&Run> = all
        .iter()
        .filter(|r| args.stages.is_empty() || args.stages.iter().any(|s| s == &r.stage || s == &r.table))
        .collect();
    match &args.diff {
        Some(keys) => diff(&runs, &keys[0], &keys[1], format),
        None => show(&runs, args.pipeline.is_none(), format),
    }
}

fn short(key: &str) -> String {
    key.chars().take(12).collect()
}

fn show(runs: &[&Run], with_pipeline: bool, format: OutputFormat) -> anyhow::Result<ExitCode> {
    let params = differing_params(runs);
    let names = metric_names(runs);
    let columns: BTreeSet<&String> = names.values().collect();
    if format == OutputFormat::Json {
        let rows: Vec<Value> = runs
            .iter()
            .zip(&params)
            .map(|(r, p)| {
                let metrics: BTreeMap<&String, f64> = r.metrics.iter().map(|(k, v)| (&names[k], *v)).collect();
                json!({
                    "pipeline": r.pipeline, "stage": r.stage, "key": r.key, "finished": r.finished,
                    "current": r.current, "overrides": r.overrides, "params": p, "metrics": metrics,
                })
            })
            .collect();
        print_json(&Value::Array(rows))?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut header: Vec<String> = Vec::new();
    if with_pipeline {
        header.push("pipeline".into());
    }
    header.extend(["stage", "key", "finished", "params"].map(String::from));
    header.extend(columns.iter().map(|c| c.to_string()));
    let mut table = TextTable::new(header);
    for (r, p) in runs.iter().zip(&params) {
        let mut row = Vec::new();
        if with_pipeline {
            row.push(r.pipeline.clone());
        }
        let key = if format == OutputFormat::Csv { r.key.clone() } else { short(&r.key) };
        // `*`: the run the lock file records (what `sql` and the leaderboard see).
        let key = if r.current && format == OutputFormat::Table { format!("{key}*") } else { key };
        let mut changed: Vec<String> = p.iter().map(|(k, v)| format!("{k}={v}")).collect();
        changed.extend(r.overrides.iter().filter(|_| p.is_empty()).map(|o| format!("-S {o}")));
        row.extend([r.stage.clone(), key, r.finished.clone(), changed.join(" ")]);
        for c in &columns {
            let v = r.metrics.iter().find(|(k, _)| &names[*k] == *c).map(|(_, v)| *v);
            row.push(v.map(|v| format!("{v:.4}")).unwrap_or_default());
        }
        table.push(row);
    }
    table.print(format)?;
    if format == OutputFormat::Table {
        if runs.is_empty() {
            eprintln!("No runs recorded yet: `actionbench run PIPELINE` records each stage it runs.");
        } else {
            eprintln!(
                "\n`*`: the run the lock file records. The same rows: actionbench sql \"SELECT * FROM actionbench.runs\""
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn find<'a>(runs: &[&'a Run], prefix: &str) -> anyhow::Result<&'a Run> {
    let prefix = prefix.trim_end_matches('*');
    let mut keys: Vec<&Run> = runs.iter().copied().filter(|r| r.key.starts_with(prefix)).collect();
    keys.dedup_by(|a, b| a.key == b.key);
    match keys.as_slice() {
        [one] => Ok(one),
        [] => anyhow::bail!("No recorded run has a key starting with `{prefix}`; `actionbench exp show` lists them"),
        _ => anyhow::bail!("`{prefix}` starts {} keys; give more of the key", keys.len()),
    }
}

fn diff(runs: &[&Run], a: &str, b: &str, format: OutputFormat) -> anyhow::Result<ExitCode> {
    let (a, b) = (find(runs, a)?, find(runs, b)?);
    let facts = |r: &Run| -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        flatten("", &r.definition, &mut out);
        out.insert("stage".into(), r.stage.clone());
        for (i, o) in r.overrides.iter().enumerate() {
            out.insert(format!("overrides.{i}"), o.clone());
        }
        for ((split, metric), v) in &r.metrics {
            out.insert(format!("metrics.{split}/{metric}"), v.to_string());
        }
        out
    };
    let (fa, fb) = (facts(a), facts(b));
    let keys: BTreeSet<&String> = fa.keys().chain(fb.keys()).collect();
    let mut rows = Vec::new();
    for k in keys {
        let (va, vb) = (fa.get(k), fb.get(k));
        if va != vb {
            let (part, name) = k.split_once('.').unwrap_or((k.as_str(), ""));
            let cell = |v: Option<&String>| v.cloned().unwrap_or_else(|| "(absent)".into());
            rows.push((part.to_string(), name.to_string(), cell(va), cell(vb)));
        }
    }
    if format == OutputFormat::Json {
        let changes: Vec<Value> =
            rows.iter().map(|(p, n, va, vb)| json!({"part": p, "name": n, "a": va, "b": vb})).collect();
        print_json(&json!({"a": a.key, "b": b.key, "changes": changes}))?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut table = TextTable::new(["part", "name", &format!("A {}", short(&a.key)), &format!("B {}", short(&b.key))]);
    for (p, n, va, vb) in rows {
        table.push(vec![p, n, va, vb]);
    }
    table.print(format)?;
    Ok(ExitCode::SUCCESS)
}
