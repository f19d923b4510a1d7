//! The leaderboard: our checked rows next to the numbers papers claim,
//! rendered as Markdown, CSV or JSON.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::check::{MetricCheck, Verdict, check};
use crate::definition::{Benchmark, Tier, Unit};
use crate::error::{Error, Result};
use crate::record::ResultRecord;

/// A number reported in a paper (`benchmarks/claimed.toml`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Claimed {
    /// Short paper name (LART, PViT, UPS, MultiTask).
    pub paper: String,
    /// Table or section.
    pub source: String,
    /// The benchmark it sits next to ("" for none).
    pub benchmark: String,
    /// Dataset as the paper names it.
    pub dataset: String,
    /// Split.
    pub split: String,
    /// Method as printed.
    pub model: String,
    /// Metric name.
    pub metric: String,
    /// Value as printed.
    pub value: f64,
    /// `points`, `fraction` or `mm`.
    pub unit: String,
    /// Protocol fields the paper states.
    #[serde(default)]
    pub protocol: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClaimedFile {
    claimed: Vec<Claimed>,
}

/// Reads `benchmarks/claimed.toml` (none: no rows).
pub fn load_claimed(root: &Path) -> Result<Vec<Claimed>> {
    let path = root.join("benchmarks").join("claimed.toml");
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(Error::Io { path, source }),
    };
    let file: ClaimedFile = toml::from_str(&text).map_err(|e| Error::Definition { path, message: e.to_string() })?;
    Ok(file.claimed)
}

/// Row state, as `show` prints it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RowState {
    /// Tier 2/3 passed here.
    Reproduced,
    /// Tier 0/1 passed here.
    VerifiedEval,
    /// A paper's number.
    Claimed,
    /// A check failed.
    Regressed,
    /// Never run on this machine class.
    NotRun,
}

impl RowState {
    /// The spelling in tables.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Reproduced => "reproduced",
            Self::VerifiedEval => "verified-eval",
            Self::Claimed => "claimed",
            Self::Regressed => "regressed",
            Self::NotRun => "not-run",
        }
    }
}

/// One leaderboard row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    /// Benchmark name ("" for a claimed row that sits next to none).
    pub benchmark: String,
    /// Dataset.
    pub dataset: String,
    /// Split.
    pub split: String,
    /// Model / method.
    pub model: String,
    /// Metric.
    pub metric: String,
    /// The value (mean for tier 2, median for tier 3) in the shown unit
    /// (fractions as points); none when not run.
    pub value: Option<f64>,
    /// Std over seeds (tier 2), in the shown unit.
    pub std: Option<f64>,
    /// Unit label (`pt` for fractions and points).
    pub unit: String,
    /// State.
    pub state: RowState,
    /// Protocol fields, `key=value; …`.
    pub protocol: String,
    /// Where the number comes from: tier, machine class, or the paper.
    pub source: String,
}

/// A benchmark's latest record per machine class and its checks.
#[derive(Debug, Clone)]
pub struct Checked {
    /// The benchmark.
    pub benchmark: Benchmark,
    /// (record, per-metric checks), one per machine class.
    pub results: Vec<(ResultRecord, Vec<MetricCheck>)>,
}

/// Loads the records of each benchmark and checks them.
pub fn check_all(benchmarks: &[Benchmark]) -> Result<Vec<Checked>> {
    benchmarks
        .iter()
        .map(|b| {
            let results = ResultRecord::load_all(&b.dir)?
                .into_iter()
                .map(|r| {
                    let checks = check(&b.def, &r);
                    (r, checks)
                })
                .collect();
            Ok(Checked { benchmark: b.clone(), results })
        })
        .collect()
}

fn protocol_text(protocol: &BTreeMap<String, String>) -> String {
    protocol.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
}

/// The unit a row is shown in: fractions (accuracy, mAP) as points, as
/// papers print them, so that our rows and the papers' sit in one unit.
fn shown_unit(unit: Unit) -> &'static str {
    match unit {
        Unit::Fraction | Unit::Points => "pt",
        other => other.label(),
    }
}

/// The rows: each benchmark's metrics (one row per machine class that ran
/// it, or one `not-run` row), then the claimed rows next to it, then the
/// claimed rows that sit next to no benchmark.
pub fn rows(checked: &[Checked], claimed: &[Claimed]) -> Vec<Row> {
    let mut out = Vec::new();
    let claimed_row = |c: &Claimed| Row {
        benchmark: c.benchmark.clone(),
        dataset: c.dataset.clone(),
        split: c.split.clone(),
        model: format!("{} ({})", c.model, c.paper),
        metric: c.metric.clone(),
        value: Some(if c.unit == "fraction" { c.value * 100.0 } else { c.value }),
        std: None,
        unit: match c.unit.as_str() {
            "points" | "fraction" => "pt".into(),
            other => other.into(),
        },
        state: RowState::Claimed,
        protocol: protocol_text(&c.protocol),
        source: format!("{}, {}", c.paper, c.source),
    };
    for c in checked {
        let def = &c.benchmark.def;
        for spec in &def.metrics {
            let base = Row {
                benchmark: c.benchmark.name.clone(),
                dataset: def.dataset.clone(),
                split: def.split.clone(),
                model: def.model.clone(),
                metric: spec.name.clone(),
                value: None,
                std: None,
                unit: shown_unit(spec.unit).into(),
                state: RowState::NotRun,
                protocol: protocol_text(&def.protocol),
                source: format!("tier {}", u8::from(def.tier)),
            };
            if c.results.is_empty() {
                out.push(base.clone());
            }
            for (record, checks) in &c.results {
                let Some(mc) = checks.iter().find(|m| m.metric == spec.name) else { continue };
                let passed = matches!(mc.verdict, Verdict::Pass | Verdict::Warn);
                let state = match (passed, def.tier) {
                    (false, _) => RowState::Regressed,
                    (true, Tier::Evaluator | Tier::Inference) => RowState::VerifiedEval,
                    (true, Tier::Training | Tier::Throughput) => RowState::Reproduced,
                };
                out.push(Row {
                    value: mc.observed.map(|v| v / spec.unit.per_point()),
                    std: mc.std.map(|s| s / spec.unit.per_point()),
                    state,
                    source: format!("tier {}, {}", u8::from(def.tier), record.provenance.machine_class),
                    ..base.clone()
                });
            }
        }
        out.extend(claimed.iter().filter(|cl| cl.benchmark == c.benchmark.name).map(claimed_row));
    }
    let known: Vec<&str> = checked.iter().map(|c| c.benchmark.name.as_str()).collect();
    out.extend(claimed.iter().filter(|cl| !known.contains(&cl.benchmark.as_str())).map(claimed_row));
    out
}

/// Value text: 4 decimals (the rounding snapshots use), `± std` for seeds.
pub fn value_text(row: &Row) -> String {
    match (row.value, row.std) {
        (Some(v), Some(s)) => format!("{v:.2} ± {s:.2}"),
        (Some(v), None) => format!("{v:.2}"),
        (None, _) => "—".into(),
    }
}

const HEADERS: [&str; 9] = ["benchmark", "dataset", "split", "model", "metric", "value", "state", "protocol", "source"];

fn cells(row: &Row) -> [String; 9] {
    let value = if row.unit.is_empty() { value_text(row) } else { format!("{} {}", value_text(row), row.unit) };
    [
        row.benchmark.clone(),
        row.dataset.clone(),
        row.split.clone(),
        row.model.clone(),
        row.metric.clone(),
        value,
        row.state.as_str().into(),
        row.protocol.clone(),
        row.source.clone(),
    ]
}

/// A GitHub-flavoured Markdown table.
pub fn to_markdown(rows: &[Row]) -> String {
    let esc = |s: &str| s.replace('|', "\\|");
    let mut out = format!("| {} |\n|{}\n", HEADERS.join(" | "), " --- |".repeat(HEADERS.len()));
    for row in rows {
        let c = cells(row);
        out.push_str(&format!("| {} |\n", c.iter().map(|s| esc(s)).collect::<Vec<_>>().join(" | ")));
    }
    out
}

/// CSV with a header line (RFC 4180 quoting).
pub fn to_csv(rows: &[Row]) -> String {
    let quote = |s: &str| {
        if s.contains([',', '"', '\n']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_string() }
    };
    let mut out = HEADERS.join(",");
    out.push('\n');
    for row in rows {
        out.push_str(&cells(row).iter().map(|s| quote(s)).collect::<Vec<_>>().join(","));
        out.push('\n');
    }
    out
}

/// JSON array of rows.
pub fn to_json(rows: &[Row]) -> String {
    serde_json::to_string_pretty(rows).expect("rows serialise")
}
