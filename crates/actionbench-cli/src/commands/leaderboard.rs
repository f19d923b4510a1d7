//! `actionbench leaderboard run|check|show|report`: benchmarks as data
//! (`benchmarks/<name>/benchmark.toml`), checked against their tier's rule.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use actionbench_core::Fingerprint;
use actionbench_leaderboard::report::Plot;
use actionbench_leaderboard::{
    Benchmark, Provenance, ResultRecord, Tier, Verdict, board, check, check_all, load_benchmarks, load_claimed,
    machine_class,
};
use actionbench_pipeline::{Engine, RunOptions, StageOutcome};
use anyhow::{Context, bail};
use arrow::array::{Array, AsArray};
use arrow::datatypes::{Float64Type, Int64Type};

use crate::output::{OutputFormat, TextTable, print_json};
use crate::progress::Progress;

/// `actionbench leaderboard …`.
#[derive(clap::Subcommand)]
pub(crate) enum LeaderboardCommand {
    /// Run benchmarks (all, or the named ones) and record their results.
    Run(Select),
    /// Compare the recorded results with the expected values; exit 1 on a regression.
    Check(Select),
    /// Print the leaderboard: our rows next to the papers' claimed numbers.
    Show(Select),
    /// Write the HTML leaderboard page and its PNG plots.
    Report(ReportArgs),
}

/// Which benchmarks.
#[derive(clap::Args, Default)]
pub(crate) struct Select {
    /// Benchmark names (folders of `benchmarks/`); all when none.
    pub(crate) benchmarks: Vec<String>,
}

/// `leaderboard report`.
#[derive(clap::Args)]
pub(crate) struct ReportArgs {
    #[command(flatten)]
    pub(crate) select: Select,
    /// Where to write `index.html` and `plots/` (default: `.actionbench/report`).
    #[arg(long, value_name = "DIR")]
    pub(crate) out: Option<PathBuf>,
}

pub(crate) fn run(
    cmd: &LeaderboardCommand,
    binary: super::Binary,
    format: OutputFormat,
    progress: &Progress,
) -> anyhow::Result<ExitCode> {
    run_in(&std::env::current_dir()?, cmd, binary, format, progress)
}

/// [`run`] in the project at `root`.
pub(crate) fn run_in(
    root: &Path,
    cmd: &LeaderboardCommand,
    binary: super::Binary,
    format: OutputFormat,
    progress: &Progress,
) -> anyhow::Result<ExitCode> {
    let root = root.to_path_buf();
    match cmd {
        LeaderboardCommand::Run(sel) => {
            let benches = select(&root, sel)?;
            let mut failed = false;
            for b in &benches {
                let record = run_benchmark(&root, b, binary.ffmpeg("`leaderboard run`")?, progress)?;
                let path = record.save(&b.dir)?;
                progress.clear();
                eprintln!("recorded {}", path.strip_prefix(&root).unwrap_or(&path).display());
                failed |= check(&b.def, &record).iter().any(|c| c.verdict.fails());
            }
            print_checks(&root, &benches, format)?;
            Ok(if failed { ExitCode::from(1) } else { ExitCode::SUCCESS })
        }
        LeaderboardCommand::Check(sel) => {
            let benches = select(&root, sel)?;
            let failed = print_checks(&root, &benches, format)?;
            Ok(if failed { ExitCode::from(1) } else { ExitCode::SUCCESS })
        }
        LeaderboardCommand::Show(sel) => {
            let benches = select(&root, sel)?;
            let rows = board::rows(&check_all(&benches)?, &claimed_for(&root, sel)?);
            match format {
                OutputFormat::Table => print!("{}", board::to_markdown(&rows)),
                OutputFormat::Csv => print!("{}", board::to_csv(&rows)),
                OutputFormat::Json => println!("{}", board::to_json(&rows)),
            }
            Ok(ExitCode::SUCCESS)
        }
        LeaderboardCommand::Report(args) => {
            let benches = select(&root, &args.select)?;
            let checked = check_all(&benches)?;
            let rows = board::rows(&checked, &claimed_for(&root, &args.select)?);
            let plots = plots(&root, &checked)?;
            let out = args.out.clone().unwrap_or_else(|| root.join(".actionbench").join("report"));
            let page = actionbench_leaderboard::report::write_report(&out, "actionbench leaderboard", &rows, &plots)?;
            println!("{}", page.display());
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The named benchmarks (all when none), with a hint on a typo.
fn select(root: &Path, sel: &Select) -> anyhow::Result<Vec<Benchmark>> {
    let all = load_benchmarks(root)?;
    if sel.benchmarks.is_empty() {
        if all.is_empty() {
            bail!("no benchmarks in `{}`: add `benchmarks/<name>/benchmark.toml`", root.join("benchmarks").display());
        }
        return Ok(all);
    }
    sel.benchmarks
        .iter()
        .map(|name| {
            all.iter().find(|b| &b.name == name).cloned().with_context(|| {
                let known: Vec<&str> = all.iter().map(|b| b.name.as_str()).collect();
                format!("no benchmark `{name}` (known: {})", known.join(", "))
            })
        })
        .collect()
}

/// Claimed rows: all when every benchmark is shown, else those next to the selection.
fn claimed_for(root: &Path, sel: &Select) -> anyhow::Result<Vec<actionbench_leaderboard::Claimed>> {
    let claimed = load_claimed(root)?;
    Ok(if sel.benchmarks.is_empty() {
        claimed
    } else {
        claimed.into_iter().filter(|c| sel.benchmarks.contains(&c.benchmark)).collect()
    })
}

fn open_engine(root: &Path, pipeline: &str, ffmpeg: &'static crate::Ffmpeg) -> anyhow::Result<Engine> {
    let def = actionbench_pipeline::PipelineDef::load(pipeline, root)?;
    let binary = super::Binary { ffmpeg: Some(ffmpeg) };
    Ok(Engine::new(def, binary.registry(), None::<PathBuf>)?)
}

/// Runs one benchmark's pipeline and gathers its values and provenance.
fn run_benchmark(
    root: &Path,
    b: &Benchmark,
    ffmpeg: &'static crate::Ffmpeg,
    progress: &Progress,
) -> anyhow::Result<ResultRecord> {
    let def = &b.def;
    let engine = open_engine(root, &def.pipeline, ffmpeg)
        .with_context(|| format!("benchmark `{}` names pipeline `{}`", b.name, def.pipeline))?;
    let jobs = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut values: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    let runs = if def.tier == Tier::Throughput { def.repeat.unwrap_or(5) } else { 1 };
    for i in 0..runs {
        // Throughput: every timed run re-runs the stages (the first one too,
        // so a cached result is never timed).
        let opts =
            RunOptions { targets: def.stages.clone(), force: def.tier == Tier::Throughput, dry_run: false, jobs };
        let reports = engine.run(&opts, progress)?;
        for r in &reports {
            if let StageOutcome::Failed { error, .. } = &r.outcome {
                bail!("benchmark `{}`: stage `{}` failed (run {}): {error}", b.name, r.stage, i + 1);
            }
        }
        if def.tier == Tier::Throughput {
            let seconds: f64 = reports.iter().filter(|r| def.stages.contains(&r.stage)).map(|r| r.seconds).sum();
            values.entry("seconds".into()).or_default().push(seconds);
        }
    }
    let lock = engine.lock_file()?;
    if def.tier != Tier::Throughput {
        for stage in &def.stages {
            let entry = lock.stages.get(stage).with_context(|| format!("stage `{stage}` left no lock entry"))?;
            let dir = engine.cache().stage_dir(&entry.key).join("metrics");
            let batches = actionbench_shards::read_all(&dir).with_context(|| {
                format!(
                    "stage `{stage}` of benchmark `{}` wrote no `metrics` table (is it an eval or train stage?)",
                    b.name
                )
            })?;
            for batch in &batches {
                let metric =
                    batch.column_by_name("metric").context("metrics table without `metric`")?.as_string::<i32>();
                let value = batch.column_by_name("value").context("metrics table without `value`")?;
                let value = value.as_primitive::<Float64Type>();
                let step = batch.column_by_name("step").map(|s| s.as_primitive::<Int64Type>().clone());
                for i in 0..batch.num_rows() {
                    // Final values only: per-step rows are curves.
                    if step.as_ref().is_some_and(|s| s.is_valid(i)) || value.is_null(i) {
                        continue;
                    }
                    values.entry(metric.value(i).to_string()).or_default().push(value.value(i));
                }
            }
        }
    }
    let definition = std::fs::read(b.dir.join("benchmark.toml"))?;
    let runs = training_runs(&engine, &lock);
    let mut tools = BTreeMap::from([
        ("actionbench".to_string(), env!("CARGO_PKG_VERSION").to_string()),
        ("libav".to_string(), (ffmpeg.libav_version)()),
    ]);
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
    };
    Ok(ResultRecord { benchmark: b.name.clone(), values, data_order_hash, provenance })
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

/// Prints one line per (benchmark, machine class, metric); returns whether any failed.
fn print_checks(root: &Path, benches: &[Benchmark], format: OutputFormat) -> anyhow::Result<bool> {
    let mut failed = false;
    let mut table = TextTable::new([
        "benchmark",
        "tier",
        "machine",
        "metric",
        "expected",
        "observed",
        "tolerance",
        "verdict",
        "detail",
    ]);
    let mut json = Vec::new();
    for b in benches {
        let records = ResultRecord::load_all(&b.dir)?;
        if records.is_empty() {
            failed = true;
            let rel = b.dir.strip_prefix(root).unwrap_or(&b.dir).display().to_string();
            table.push(vec![
                b.name.clone(),
                u8::from(b.def.tier).to_string(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                "not-run".into(),
                format!("no result in {rel}/results: run `actionbench leaderboard run {}`", b.name),
            ]);
            continue;
        }
        for record in &records {
            for c in check(&b.def, record) {
                failed |= c.verdict.fails();
                if c.verdict.fails() {
                    eprintln!(
                        "regression: {} [{}] {}: {}",
                        b.name, record.provenance.machine_class, c.metric, c.detail
                    );
                }
                table.push(vec![
                    b.name.clone(),
                    u8::from(b.def.tier).to_string(),
                    record.provenance.machine_class.clone(),
                    c.metric.clone(),
                    format!("{}", c.expected),
                    c.observed.map(|v| format!("{v}")).unwrap_or_default(),
                    format!("{}", c.tolerance),
                    verdict_text(c.verdict).into(),
                    c.detail.clone(),
                ]);
                json.push(serde_json::json!({
                    "benchmark": b.name, "machine_class": record.provenance.machine_class, "check": c,
                }));
            }
        }
    }
    match format {
        OutputFormat::Json => print_json(&serde_json::Value::Array(json))?,
        _ => table.print(format)?,
    }
    Ok(failed)
}

fn verdict_text(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass => "pass",
        Verdict::Regressed => "REGRESSED",
        Verdict::SuspiciouslyBetter => "TOO-GOOD",
        Verdict::Warn => "warn",
        Verdict::Missing => "MISSING",
        Verdict::NotComparable => "NOT-COMPARABLE",
    }
}

/// The report's plots: metric vs seed (tier 2), per-class AP bars of every
/// benchmark stage that wrote a `per_class` table, and training curves
/// (per-step rows of every `metrics` table the benchmarks' pipelines wrote).
fn plots(root: &Path, checked: &[actionbench_leaderboard::board::Checked]) -> anyhow::Result<Vec<Plot>> {
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
                let Some(Ok(batches)) = e.outputs.first().map(|dir| actionbench_shards::read_all(&dir.join("metrics")))
                else {
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
