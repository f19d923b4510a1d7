//! Result records: the values one `leaderboard run` measured, with the
//! provenance needed to tell whether two runs are comparable.
//!
//! Stored as `benchmarks/<name>/results/<machine-class>.json` (the latest
//! run per machine class; older ones are in git history).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Where a result came from.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Provenance {
    /// `git rev-parse HEAD` of the code, when run inside a git checkout.
    pub commit: Option<String>,
    /// blake3 of `Cargo.lock`: the exact dependency versions.
    pub cargo_lock_blake3: Option<String>,
    /// blake3 of the benchmark definition (the config).
    pub config_blake3: String,
    /// Stage name → stage key of every stage of the pipeline (keys cover
    /// the content of inputs, manifests and shards upstream).
    pub stage_keys: BTreeMap<String, String>,
    /// Tool versions (actionbench, libav, Burn backend…).
    pub tools: BTreeMap<String, String>,
    /// `cpu` or the GPU model.
    pub device: String,
    /// Machine class: architecture, cores, device; throughput compares only
    /// within one class.
    pub machine_class: String,
    /// Seeds, in the order of the values.
    pub seeds: Vec<u64>,
    /// Dataset manifests the run was pinned to (`data.manifest` of its
    /// train and predict stages): `NAME@vN` → blake3 of its Parquet file.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub manifests: BTreeMap<String, String>,
}

/// One run of a benchmark.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct ResultRecord {
    /// Benchmark name.
    pub benchmark: String,
    /// Metric → measured values (one per seed, per repeat, or one).
    pub values: BTreeMap<String, Vec<f64>>,
    /// Tier 1: hash of the data order the run saw.
    #[serde(default)]
    pub data_order_hash: Option<String>,
    /// Where it came from.
    pub provenance: Provenance,
}

impl ResultRecord {
    /// `benchmarks/<name>/results/<machine-class>.json`.
    pub fn path(benchmark_dir: &Path, machine_class: &str) -> PathBuf {
        let safe: String =
            machine_class.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).collect();
        benchmark_dir.join("results").join(format!("{safe}.json"))
    }

    /// Writes the record (atomically: temp file + rename).
    pub fn save(&self, benchmark_dir: &Path) -> Result<PathBuf> {
        let path = Self::path(benchmark_dir, &self.provenance.machine_class);
        let dir = path.parent().expect("results path has a parent");
        std::fs::create_dir_all(dir).map_err(|source| Error::Io { path: dir.to_path_buf(), source })?;
        let mut text = serde_json::to_string_pretty(self).expect("records serialise");
        text.push('\n');
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, text).map_err(|source| Error::Io { path: tmp.clone(), source })?;
        std::fs::rename(&tmp, &path).map_err(|source| Error::Io { path: path.clone(), source })?;
        Ok(path)
    }

    /// Every record of a benchmark, sorted by file name.
    pub fn load_all(benchmark_dir: &Path) -> Result<Vec<ResultRecord>> {
        let dir = benchmark_dir.join("results");
        let mut files: Vec<PathBuf> = match std::fs::read_dir(&dir) {
            Ok(entries) => entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "json"))
                .collect(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(source) => return Err(Error::Io { path: dir, source }),
        };
        files.sort();
        files
            .into_iter()
            .map(|path| {
                let text = std::fs::read_to_string(&path).map_err(|source| Error::Io { path: path.clone(), source })?;
                serde_json::from_str(&text).map_err(|e| Error::Record { path: path.clone(), message: e.to_string() })
            })
            .collect()
    }
}

/// The machine class of this process: architecture, core count, device.
pub fn machine_class(device: &str) -> String {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    format!("{}-{}core-{}", std::env::consts::ARCH, cores, device)
}
