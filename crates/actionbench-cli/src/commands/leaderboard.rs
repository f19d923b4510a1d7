//! `actionbench leaderboard run|check|show|report`: benchmarks as data
//! (`benchmarks/<name>/benchmark.toml`), checked against their tier's rule.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use actionbench_leaderboard::{
    Benchmark, ResultRecord, Verdict, board, check, check_all, load_benchmarks, load_claimed,
};
use actionbench_pipeline::Engine;
use anyhow::{Context, bail};

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
                let ffmpeg = binary.ffmpeg("`leaderboard run`")?;
                let engine = open_engine(&root, &b.def.pipeline, ffmpeg)
                    .with_context(|| format!("benchmark `{}` names pipeline `{}`", b.name, b.def.pipeline))?;
                let tools = BTreeMap::from([
                    ("actionbench".to_string(), env!("CARGO_PKG_VERSION").to_string()),
                    ("libav".to_string(), (ffmpeg.libav_version)()),
                ]);
                let record = actionbench_leaderboard::runner::run_benchmark(&root, b, &engine, tools, progress)?;
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
            let plots = actionbench_leaderboard::runner::plots(&root, &checked)?;
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
