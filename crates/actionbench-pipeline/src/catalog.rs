//! The project catalog: project → pipeline → stage → table, read from the
//! lock files and the cache, without the stage kinds. Everything that
//! looks for a stage's outputs (SQL, the trainer, the leaderboard, the CLI)
//! goes through it instead of the cache layout.

use std::path::{Path, PathBuf};

use actionbench_core::Fingerprint;

use crate::cache::Cache;
use crate::engine::default_cache_dir;
use crate::error::{Error, Result};
use crate::lock_file::{LockFile, LockedStage};

pub use actionbench_core::SHARD_INDEX_FILE;

/// A project's pipelines and where their stages' outputs are.
pub struct ProjectCatalog {
    root: PathBuf,
    cache: Cache,
}

/// One stage as its pipeline's lock file last recorded it.
#[derive(Debug, Clone)]
pub struct StageRef {
    /// The pipeline (file stem).
    pub pipeline: String,
    /// The stage.
    pub stage: String,
    /// Its kind (`cmd` for command stages).
    pub kind: String,
    /// Its key.
    pub key: Fingerprint,
    /// Its outputs: the cache directory of a built-in stage, the `outs`
    /// paths (in the project) of a command stage.
    pub outputs: Vec<PathBuf>,
}

/// How a table is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableFormat {
    /// A directory of Parquet shards with their index.
    Shards,
    /// One Parquet file.
    ParquetFile,
    /// One CSV file (or a stage directory holding exactly one).
    Csv,
}

impl TableFormat {
    /// The name shown in the SQL catalog.
    pub fn name(self) -> &'static str {
        match self {
            TableFormat::Shards => "parquet",
            TableFormat::ParquetFile => "parquet-file",
            TableFormat::Csv => "csv",
        }
    }

    /// How the table at `path` is stored, if it is one.
    pub fn of(path: &Path) -> Option<Self> {
        if path.join(SHARD_INDEX_FILE).is_file() {
            return Some(Self::Shards);
        }
        if path.is_file() {
            return match path.extension().and_then(|e| e.to_str()) {
                Some("parquet") => Some(Self::ParquetFile),
                Some("csv") => Some(Self::Csv),
                _ => None,
            };
        }
        // A built-in stage directory with exactly one CSV (e.g. `files.manifest`).
        let csvs = std::fs::read_dir(path)
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "csv"))
            .count();
        (csvs == 1).then_some(Self::Csv)
    }
}

/// A table a stage produced: the stage's own (named after the stage) or a
/// sub-table (`STAGE_SUB`, e.g. `train_metrics`).
#[derive(Debug, Clone)]
pub struct TableRef {
    /// The stage that wrote it.
    pub stage: StageRef,
    /// The SQL name.
    pub name: String,
    /// The directory or file.
    pub path: PathBuf,
    /// How it is stored.
    pub format: TableFormat,
}

impl ProjectCatalog {
    /// The project at `root`, its cache at `cache_dir`, or
    /// `ACTIONBENCH_CACHE_DIR`, or `.actionbench/` in the project (the one
    /// place this is decided, with [`default_cache_dir`]).
    pub fn open(root: &Path, cache_dir: Option<PathBuf>) -> Result<Self> {
        let cache = Cache::open(&default_cache_dir(root, cache_dir))?;
        Ok(Self { root: root.to_path_buf(), cache })
    }

    /// The project root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The cache.
    pub fn cache(&self) -> &Cache {
        &self.cache
    }

    /// The pipelines that have a lock file (that ran at least once), sorted.
    pub fn pipelines(&self) -> Result<Vec<String>> {
        let dir = self.root.join("pipelines");
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .map_err(|e| Error::io(&dir, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "lock"))
            .filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
            .collect();
        names.sort();
        Ok(names)
    }

    /// The stages of `pipeline` its lock file records, by name.
    pub fn stages(&self, pipeline: &str) -> Result<Vec<StageRef>> {
        let lock = LockFile::read(&self.root.join("pipelines").join(format!("{pipeline}.lock")))?;
        Ok(lock.stages.iter().map(|(stage, locked)| self.stage_ref(pipeline, stage, locked)).collect())
    }

    /// One stage of `pipeline`, if its lock file records it.
    pub fn stage(&self, pipeline: &str, stage: &str) -> Result<Option<StageRef>> {
        Ok(self.stages(pipeline)?.into_iter().find(|s| s.stage == stage))
    }

    fn stage_ref(&self, pipeline: &str, stage: &str, locked: &LockedStage) -> StageRef {
        let def = &locked.definition;
        let outputs = if def.kind == "cmd" {
            def.outs.iter().map(|o| self.root.join(o)).collect()
        } else {
            vec![self.cache.stage_dir(&locked.key)]
        };
        StageRef {
            pipeline: pipeline.to_string(),
            stage: stage.to_string(),
            kind: def.kind.clone(),
            key: locked.key,
            outputs,
        }
    }

    /// The tables of a stage: a command stage's table-like `outs` (named
    /// after the stage when there is one, `STAGE_STEM` when several); a
    /// built-in stage's output directory when it is a table, and each
    /// shard directory inside it (`STAGE_SUB`).
    pub fn tables_of(&self, stage: &StageRef) -> Vec<TableRef> {
        let mut tables = Vec::new();
        let table = |name: String, path: &Path, format| TableRef {
            stage: stage.clone(),
            name,
            path: path.to_path_buf(),
            format,
        };
        if stage.kind == "cmd" {
            let candidates: Vec<(&PathBuf, TableFormat)> =
                stage.outputs.iter().filter_map(|p| TableFormat::of(p).map(|f| (p, f))).collect();
            // The `metrics` out (`log_metrics` in a Python script) is always `STAGE_metrics`.
            let is_metrics = |p: &Path| is_metrics_out(&p.to_string_lossy());
            let others = candidates.iter().filter(|(p, _)| !is_metrics(p)).count();
            for (path, format) in &candidates {
                let name = if is_metrics(path) {
                    format!("{}_metrics", stage.stage)
                } else if others == 1 {
                    stage.stage.clone()
                } else {
                    format!("{}_{}", stage.stage, path.file_stem().map(|s| s.to_string_lossy()).unwrap_or_default())
                };
                tables.push(table(name, path, *format));
            }
            return tables;
        }
        for out in &stage.outputs {
            if let Some(format) = TableFormat::of(out) {
                tables.push(table(stage.stage.clone(), out, format));
            } else if let Some(file) = single_parquet_file(out) {
                // `predict`'s `predictions.parquet`: the stage's table.
                tables.push(table(stage.stage.clone(), &file, TableFormat::ParquetFile));
            }
            if let Ok(entries) = std::fs::read_dir(out) {
                let mut subs: Vec<PathBuf> = entries
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.join(SHARD_INDEX_FILE).is_file())
                    .collect();
                subs.sort();
                for sub in subs {
                    let name =
                        format!("{}_{}", stage.stage, sub.file_name().map(|s| s.to_string_lossy()).unwrap_or_default());
                    tables.push(table(name, &sub, TableFormat::Shards));
                }
            }
        }
        tables
    }

    /// Every table of every pipeline that ran, by pipeline, then stage.
    pub fn tables(&self) -> Result<Vec<TableRef>> {
        let mut out = Vec::new();
        for pipeline in self.pipelines()? {
            for stage in self.stages(&pipeline)? {
                out.extend(self.tables_of(&stage));
            }
        }
        Ok(out)
    }
}

/// Whether a command stage's out is its `metrics` table: a path whose last
/// component is `metrics` (the engine points `ACTIONBENCH_METRICS_DIR` at it).
pub fn is_metrics_out(path: &str) -> bool {
    Path::new(path).file_name().is_some_and(|n| n == "metrics")
}

/// The one Parquet file directly inside a built-in stage's output
/// directory, when there is exactly one.
fn single_parquet_file(dir: &Path) -> Option<PathBuf> {
    let mut files = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "parquet"));
    let first = files.next()?;
    files.next().is_none().then_some(first)
}

/// The shard tables at or below `dir` (a stage's output, or a directory
/// input), at most `depth` levels down, in path order; a shard directory is
/// not searched further.
pub fn shard_dirs_under(dir: &Path, depth: usize) -> Vec<PathBuf> {
    fn walk(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) {
        if dir.join(SHARD_INDEX_FILE).is_file() {
            out.push(dir.to_path_buf());
            return;
        }
        if depth == 0 {
            return;
        }
        if let Ok(entries) = std::fs::read_dir(dir) {
            let mut subdirs: Vec<PathBuf> = entries.flatten().map(|e| e.path()).filter(|p| p.is_dir()).collect();
            subdirs.sort();
            for d in subdirs {
                walk(&d, depth - 1, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, depth, &mut out);
    out
}
