//! Running a benchmark: its pipeline's stages through the engine, the
//! metric values they recorded, and the provenance that makes a result
//! comparable (stage keys, tool versions, the hash of every model's data
//! order); and the report's plots, read through the project catalog. The
//! command line only parses arguments and prints.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use actionbench_core::Fingerprint;
use actionbench_pipeline::{Engine, Reporter, RunOptions, StageOutcome, StageRef};
use arrow::array::{Array, AsArray};
use arrow::datatypes::{Float64Type, Int64Type};

use crate::definition::{Benchmark, Tier};
use crate::error::{Error, Result};
use crate::record::{Provenance, ResultRecord, machine_class};
use crate::report::Plot;

/// Runs one benchmark's pipeline and gathers its values and provenance.
///
/// `engine` is the benchmark's pipeline bound to the caller's stage kinds;
/// `tools` are the versions the caller records (its own, libav's), to which
/// the Burn backend of the training runs is added.
pub fn run_benchmark(
    root: &Path,
    b: &Benchmark,
    engine: &Engine,
    mut tools: BTreeMap<String, String>,
    reporter: &dyn Reporter,
) -> Result<ResultRecord> {
    let def = &b.def;
    let fail = |message: String| Error::Run { benchmark: b.name.clone(), message };
    let jobs = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut values: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    let runs = if def.tier == Tier::Throughput { def.repeat.unwrap_or(5) } else { 1 };
    for i in 0..runs {
        // Throughput: every timed run re-runs the stages (the first one too,
        // so a cached result is never timed).
        let opts = RunOptions {
            targets: def.all_stages(),
            force: def.tier == Tier::Throughput,
            dry_run: false,
            jobs,
            shared: None,
        };
        let reports = engine.run(&opts, reporter)?;
        for r in &reports {
            if let StageOutcome::Failed { error, .. } = &r.outcome {
                return Err(fail(format!("stage `{}` failed (run {}): {error}", r.stage, i + 1)));
            }
        }
        if def.tier == Tier::Throughput {
            let seconds: f64 = reports.iter().filter(|r| def.stages.contains(&r.stage)).map(|r| r.seconds).sum();
            values.entry("seconds".into()).or_default().push(seconds);
        }
    }
    let lock = engine.lock_file()?;
    if def.tier != Tier::Throughput {
        let catalog = actionbench_pipeline::ProjectCatalog::open(root, None)?;
        // The final values (rows without a step) of a stage's `metrics` table.
        let final_values = |stage: &str| -> Result<Vec<(String, f64)>> {
            let entry = lock.stages.get(stage).ok_or_else(|| fail(format!("stage `{stage}` left no lock entry")))?;
            // Through the catalog: a built-in stage's `metrics` directory or
            // a command stage's `metrics` out, alike.
            let dir = catalog
                .stage(&engine.pipeline().name, stage)?
                .filter(|s| s.key == entry.key)
                .and_then(|s| metrics_dir(&catalog, &s))
                .ok_or_else(|| {
                    fail(format!(
                        "stage `{stage}` wrote no `metrics` table (is it an eval or train stage, or a command stage with a `metrics` out?)"
                    ))
                })?;
            let batches = actionbench_shards::read_all(&dir)
                .map_err(|e| fail(format!("stage `{stage}`'s `metrics` table is unreadable: {e}")))?;
            let mut out = Vec::new();
            for batch in &batches {
                let metric = batch
                    .column_by_name("metric")
                    .ok_or_else(|| fail("metrics table without `metric`".into()))?
                    .as_string::<i32>();
                let value =
                    batch.column_by_name("value").ok_or_else(|| fail("metrics table without `value`".into()))?;
                let value = value.as_primitive::<Float64Type>();
                let step = batch.column_by_name("step").map(|s| s.as_primitive::<Int64Type>().clone());
                for i in 0..batch.num_rows() {
                    // Final values only: per-step rows are curves.
                    if step.as_ref().is_some_and(|s| s.is_valid(i)) || value.is_null(i) {
                        continue;
                    }
                    out.push((metric.value(i).to_string(), value.value(i)));
                }
            }
            Ok(out)
        };
        for stage in &def.stages {
            for (metric, value) in final_values(stage)? {
                values.entry(metric).or_default().push(value);
            }
        }
        for spec in def.metrics.iter().filter(|m| !m.stages.is_empty()) {
            let mut own = Vec::new();
            for stage in &spec.stages {
                own.extend(final_values(stage)?.into_iter().filter(|(m, _)| m == spec.source_metric()).map(|(_, v)| v));
            }
            values.insert(spec.name.clone(), own);
        }
    }
    let definition_path = b.dir.join("benchmark.toml");
    let definition =
        std::fs::read(&definition_path).map_err(|source| Error::Io { path: definition_path.clone(), source })?;
    let runs = training_runs(engine, &lock);
    let backends: std::collections::BTreeSet<&str> =
        runs.iter().map(|r| r.backend.as_str()).filter(|b| !b.is_empty()).collect();
    if !backends.is_empty() {
        tools.insert("burn".into(), backends.into_iter().collect::<Vec<_>>().join(", "));
    }
    let device = runs.iter().find(|r| !r.device.is_empty()).map_or_else(|| "cpu".to_string(), |r| r.device.clone());
    // One hash over the data order of every training and prediction stage,
    // by stage name: equal only when each model saw (or scored) the same
    // samples in the same order.
    let data_order_hash = (!runs.is_empty()).then(|| {
        let lines: String = runs.iter().map(|r| format!("{}={}\n", r.stage, r.data_order)).collect();
        Fingerprint::of_bytes(lines.as_bytes()).to_hex()
    });
    let provenance = Provenance {
        commit: git_commit(root),
        cargo_lock_blake3: std::fs::read(root.join("Cargo.lock")).ok().map(|b| Fingerprint::of_bytes(&b).to_hex()),
        config_blake3: Fingerprint::of_bytes(&definition).to_hex(),
        stage_keys: lock.stages.iter().map(|(name, e)| (name.clone(), e.key.to_hex())).collect(),
        tools,
        machine_class: machine_class(&device),
        device,
        seeds: def.seeds.clone(),
        manifests: pinned_manifests(root, &lock)?,
    };
    Ok(ResultRecord { benchmark: b.name.clone(), values, data_order_hash, provenance })
}

/// The manifest versions the pipeline's stages are pinned to (`manifest`
/// or `data.manifest` in their params), with the blake3 of each one's
/// Parquet file, checked as it is opened.
fn pinned_manifests(root: &Path, lock: &actionbench_pipeline::LockFile) -> Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for entry in lock.stages.values() {
        let params = &entry.definition.params;
        let pin = params
            .get("manifest")
            .or_else(|| params.get("data").and_then(|d| d.get("manifest")))
            .and_then(|v| v.as_str());
        let Some(pin) = pin else { continue };
        let (name, version) = actionbench_manifest::parse_pin(pin)?;
        let m = actionbench_manifest::Manifest::open(root, &name, version)?;
        out.insert(m.pin(), m.meta.parquet_blake3.clone());
    }
    Ok(out)
}

/// What a `train` stage's `runs` table (or a `predict` stage's
/// `order.json`) says about its run.
struct TrainingRun {
    stage: String,
    data_order: String,
    backend: String,
    device: String,
}

/// The `runs` tables and `order.json` files of the pipeline's stages, in
/// stage-name order.
fn training_runs(engine: &Engine, lock: &actionbench_pipeline::LockFile) -> Vec<TrainingRun> {
    let mut out = Vec::new();
    for (stage, entry) in &lock.stages {
        let dir = engine.cache().stage_dir(&entry.key);
        // `predict` stages: the order of the samples they scored.
        if let Ok(text) = std::fs::read_to_string(dir.join("order.json"))
            && let Ok(v) = serde_json::from_str::<serde_json::Value>(&text)
            && let Some(order) = v["data_order"].as_str()
        {
            out.push(TrainingRun {
                stage: stage.clone(),
                data_order: order.to_string(),
                backend: String::new(),
                device: String::new(),
            });
        }
        let Ok(batches) = actionbench_shards::read_all(&dir.join("runs")) else {
            continue;
        };
        for batch in &batches {
            let text = |name: &str, i: usize| {
                batch.column_by_name(name).map(|c| c.as_string::<i32>().value(i).to_string()).unwrap_or_default()
            };
            for i in 0..batch.num_rows() {
                out.push(TrainingRun {
                    stage: stage.clone(),
                    data_order: text("data_order", i),
                    backend: text("backend", i),
                    device: text("device", i),
                });
            }
        }
    }
    out
}

fn git_commit(root: &Path) -> Option<String> {
    let out = std::process::Command::new("git").args(["rev-parse", "HEAD"]).current_dir(root).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// The report's plots: metric vs seed (tier 2), per-class AP bars of every
/// benchmark stage that wrote a `per_class` table, and training curves
/// (per-step rows of every `metrics` table the benchmarks' pipelines wrote).
pub fn plots(root: &Path, checked: &[crate::board::Checked]) -> Result<Vec<Plot>> {
    let catalog = actionbench_pipeline::ProjectCatalog::open(root, None)?;
    let mut out = Vec::new();
    for c in checked {
        let def = &c.benchmark.def;
        for (record, checks) in &c.results {
            if def.tier != Tier::Training {
                continue;
            }
            for mc in checks {
                let Some(values) = record.values.get(&mc.metric) else { continue };
                out.push(Plot::Seeds {
                    title: format!(
                        "{}: {} per seed ({})",
                        c.benchmark.name, mc.metric, record.provenance.machine_class
                    ),
                    values: record.provenance.seeds.iter().copied().zip(values.iter().copied()).collect(),
                    expected: mc.expected,
                    band: mc.tolerance,
                });
            }
        }
        let Ok(stages) = catalog.stages(&def.pipeline) else { continue };
        for stage in &def.stages {
            let Some(entry) = stages.iter().find(|s| &s.stage == stage) else { continue };
            let Some(dir) = entry.outputs.first() else { continue };
            if let Ok(batches) = actionbench_shards::read_all(&dir.join("per_class")) {
                let mut bars = Vec::new();
                for batch in &batches {
                    let (Some(name), Some(ap)) = (batch.column_by_name("name"), batch.column_by_name("ap")) else {
                        continue;
                    };
                    let (name, ap) = (name.as_string::<i32>(), ap.as_primitive::<Float64Type>());
                    for i in 0..batch.num_rows() {
                        if ap.is_valid(i) {
                            bars.push((name.value(i).to_string(), ap.value(i)));
                        }
                    }
                }
                if !bars.is_empty() {
                    out.push(Plot::Bars {
                        title: format!("{} / {stage}: per-class AP", c.benchmark.name),
                        y_label: "AP".into(),
                        bars,
                    });
                }
            }
            let mut curves: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
            for e in &stages {
                let name = &e.stage;
                let Some(Ok(batches)) = metrics_dir(&catalog, e).map(|dir| actionbench_shards::read_all(&dir)) else {
                    continue;
                };
                for batch in &batches {
                    let (Some(metric), Some(value), Some(step)) =
                        (batch.column_by_name("metric"), batch.column_by_name("value"), batch.column_by_name("step"))
                    else {
                        continue;
                    };
                    let (metric, value, step) = (
                        metric.as_string::<i32>(),
                        value.as_primitive::<Float64Type>(),
                        step.as_primitive::<Int64Type>(),
                    );
                    for i in 0..batch.num_rows() {
                        if step.is_valid(i) && value.is_valid(i) && metric.value(i).contains("loss") {
                            curves
                                .entry(format!("{name} {}", metric.value(i)))
                                .or_default()
                                .push((step.value(i) as f64, value.value(i)));
                        }
                    }
                }
            }
            if !curves.is_empty() && stage == def.stages.first().expect("validated non-empty") {
                out.push(Plot::Curves {
                    title: format!("{}: training loss", c.benchmark.name),
                    y_label: "loss".into(),
                    series: curves.into_iter().collect(),
                });
            }
        }
    }
    Ok(out)
}

/// The `metrics` table of a stage: a built-in stage's `metrics` directory,
/// or a command stage's `metrics` out (`log_metrics` in a Python script).
fn metrics_dir(catalog: &actionbench_pipeline::ProjectCatalog, stage: &StageRef) -> Option<PathBuf> {
    let name = format!("{}_metrics", stage.stage);
    catalog.tables_of(stage).into_iter().find(|t| t.name == name).map(|t| t.path)
}
