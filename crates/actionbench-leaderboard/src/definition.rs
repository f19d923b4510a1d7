//! `benchmarks/<name>/benchmark.toml`: what a benchmark runs, the protocol
//! it follows, and the values it is expected to give, with a tier that says
//! how strictly they are compared.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// How a benchmark's values are checked (docs/peers.md §4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub enum Tier {
    /// Frozen predictions through the evaluator: bit-identical.
    Evaluator,
    /// A frozen checkpoint's inference: ±0.1 point, identical data order.
    Inference,
    /// Training over ≥ 3 seeds: mean within max(0.5 point, 2σ), both ways.
    Training,
    /// Throughput or wall time: median of ≥ 5 runs, fail beyond 10 % slower.
    Throughput,
}

impl TryFrom<u8> for Tier {
    type Error = String;
    fn try_from(v: u8) -> std::result::Result<Self, String> {
        match v {
            0 => Ok(Self::Evaluator),
            1 => Ok(Self::Inference),
            2 => Ok(Self::Training),
            3 => Ok(Self::Throughput),
            _ => Err(format!("tier must be 0 (evaluator), 1 (inference), 2 (training) or 3 (throughput), not {v}")),
        }
    }
}

impl From<Tier> for u8 {
    fn from(t: Tier) -> u8 {
        t as u8
    }
}

/// The unit a metric's values are written in; tolerances in "points" are
/// converted with it (0.5 point = 0.005 of a fraction).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Unit {
    /// 0–1.
    #[default]
    Fraction,
    /// Percent.
    Points,
    /// Millimetres (pose error).
    Mm,
    /// Seconds (throughput tier).
    Seconds,
}

impl Unit {
    /// How many of this unit make one metric point.
    pub fn per_point(self) -> f64 {
        match self {
            Self::Fraction => 0.01,
            Self::Points | Self::Mm | Self::Seconds => 1.0,
        }
    }

    /// Short label for tables.
    pub fn label(self) -> &'static str {
        match self {
            Self::Fraction => "",
            Self::Points => "pt",
            Self::Mm => "mm",
            Self::Seconds => "s",
        }
    }
}

/// One expected metric value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct MetricSpec {
    /// The `metric` column value in the stage's `metrics` table.
    pub name: String,
    /// The expected value (tier 3: the reference median).
    pub expected: f64,
    /// Override of the tier's default tolerance, in this metric's unit.
    #[serde(default)]
    pub tolerance: Option<f64>,
    /// Tier 2: the recorded standard deviation over seeds (sets the 2σ band).
    #[serde(default)]
    pub std: Option<f64>,
    /// Whether larger is better (accuracy, mAP) or worse (error, seconds).
    #[serde(default = "yes")]
    pub higher_is_better: bool,
    /// The unit values are written in.
    #[serde(default)]
    pub unit: Unit,
    /// This metric's own stages (tier 2: one per seed, in `seeds` order)
    /// instead of the benchmark's: one benchmark then holds rows of several
    /// models and tasks of one pipeline.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stages: Vec<String>,
    /// The `metric` value read from those tables when `name` is a row label
    /// (`name = "ups/action3d-top1"`, `metric = "top1"`); `name` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric: Option<String>,
}

impl MetricSpec {
    /// The `metric` column value the spec reads.
    pub fn source_metric(&self) -> &str {
        self.metric.as_deref().unwrap_or(&self.name)
    }
}

fn yes() -> bool {
    true
}

/// A parsed `benchmark.toml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct BenchmarkDef {
    /// Human title.
    pub title: String,
    /// Check tier (0–3).
    pub tier: Tier,
    /// The pipeline (`pipelines/<pipeline>.toml`).
    pub pipeline: String,
    /// The stages whose `metrics` tables hold the values: one per seed for
    /// tier 2, one otherwise.
    pub stages: Vec<String>,
    /// Evaluation split (`val`, `test`, `x-sub val`…).
    pub split: String,
    /// Model configuration, as shown in tables.
    pub model: String,
    /// The dataset, as shown in tables.
    pub dataset: String,
    /// Seeds of the stages above (tier 2).
    #[serde(default)]
    pub seeds: Vec<u64>,
    /// Tier 3: how many timed runs (at least 5).
    #[serde(default)]
    pub repeat: Option<usize>,
    /// Tier 3: the machine class the reference was measured on.
    #[serde(default)]
    pub machine_class: Option<String>,
    /// Tier 1: the expected data-order hash (first sample ids of an epoch).
    #[serde(default)]
    pub data_order_hash: Option<String>,
    /// Protocol fields (clips × crops, AVA revision, resolution, fps…).
    pub protocol: BTreeMap<String, String>,
    /// Expected values.
    pub metrics: Vec<MetricSpec>,
}

/// A benchmark definition and where it lives.
#[derive(Debug, Clone)]
pub struct Benchmark {
    /// Folder name below `benchmarks/`.
    pub name: String,
    /// `benchmarks/<name>/`.
    pub dir: PathBuf,
    /// The definition.
    pub def: BenchmarkDef,
}

impl BenchmarkDef {
    /// Every stage the benchmark reads: its own, then its metrics' (each once).
    pub fn all_stages(&self) -> Vec<String> {
        let mut out = self.stages.clone();
        for s in self.metrics.iter().flat_map(|m| &m.stages) {
            if !out.contains(s) {
                out.push(s.clone());
            }
        }
        out
    }
}

/// Protocol fields every benchmark must state: most "cannot reproduce"
/// reports are protocol mismatches.
pub const REQUIRED_PROTOCOL: &[&str] = &["dataset-version", "evaluation"];

impl BenchmarkDef {
    /// Parses and validates `text` (`path` is used in errors).
    pub fn parse(text: &str, path: &Path) -> Result<Self> {
        let def: Self =
            toml::from_str(text).map_err(|e| Error::Definition { path: path.to_path_buf(), message: e.to_string() })?;
        let invalid = |message: String| Error::Definition { path: path.to_path_buf(), message };
        if def.stages.is_empty() && def.metrics.iter().any(|m| m.stages.is_empty()) {
            return Err(invalid("`stages` is empty: name the stage whose `metrics` table holds the values".into()));
        }
        if def.metrics.is_empty() {
            return Err(invalid("`metrics` is empty: a benchmark needs at least one expected value".into()));
        }
        for field in REQUIRED_PROTOCOL {
            if !def.protocol.contains_key(*field) {
                return Err(invalid(format!(
                    "[protocol] lacks `{field}` (required: {}); protocol fields are what make numbers comparable",
                    REQUIRED_PROTOCOL.join(", ")
                )));
            }
        }
        if def.tier == Tier::Training
            && let Some(m) = def.metrics.iter().find(|m| !m.stages.is_empty() && m.stages.len() != def.seeds.len())
        {
            return Err(invalid(format!(
                "metric `{}` names {} stages for {} seeds; give one stage per seed, in `seeds` order",
                m.name,
                m.stages.len(),
                def.seeds.len()
            )));
        }
        match def.tier {
            Tier::Training
                if def.seeds.len() < 3 || (!def.stages.is_empty() && def.seeds.len() != def.stages.len()) =>
            {
                return Err(invalid(format!(
                    "tier 2 needs at least 3 seeds: one stage per seed in `stages` and the same number of `seeds` \
                     (found {} stages, {} seeds)",
                    def.stages.len(),
                    def.seeds.len()
                )));
            }
            Tier::Throughput if def.repeat.unwrap_or(0) < 5 || def.machine_class.is_none() => {
                return Err(invalid("tier 3 needs `repeat` of at least 5 and the `machine-class` measured on".into()));
            }
            _ => {}
        }
        Ok(def)
    }
}

/// Every `benchmarks/*/benchmark.toml` below `root`, sorted by name.
pub fn load_benchmarks(root: &Path) -> Result<Vec<Benchmark>> {
    let dir = root.join("benchmarks");
    let mut out = Vec::new();
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(source) => return Err(Error::Io { path: dir, source }),
    };
    for entry in entries {
        let entry = entry.map_err(|source| Error::Io { path: dir.clone(), source })?;
        let file = entry.path().join("benchmark.toml");
        if !file.is_file() {
            continue;
        }
        let text = std::fs::read_to_string(&file).map_err(|source| Error::Io { path: file.clone(), source })?;
        let def = BenchmarkDef::parse(&text, &file)?;
        out.push(Benchmark { name: entry.file_name().to_string_lossy().into_owned(), dir: entry.path(), def });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}
