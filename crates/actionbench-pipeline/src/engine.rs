//! The engine: status (what is stale and why) and run (the stale stages, in
//! dependency order, `-j N` at a time, each published atomically).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::mpsc;
use std::time::Instant;

use actionbench_core::{Diagnose, EnvVars, Failure, Fingerprint, diagnostic_probe};
use serde::Serialize;

use crate::cache::{Cache, GcReport};
use crate::command::{probe_tool, run_shell};
use crate::error::{Error, Result};
use crate::explain::{Reason, diff_keys};
use crate::graph::{Graph, overlaps};
use crate::inputs::{InputError, ResolvedInput, glob_pattern, hash_new_tree, is_glob, resolve_path_entry};
use crate::kind::{ParsedParams, Part, RegisteredKind, Registry, StageContext, StageError, WrittenFiles};
use crate::lock_file::{LockFile, LockedStage};
use crate::pipeline_file::params_value;
use crate::pipeline_file::{Entry, PipelineDef, StageBody};
use crate::reporter::Reporter;
use crate::runs::RunRecord;
use crate::stage_key::StageKey;

/// Version of the command-stage semantics (environment, journal, hashing of
/// outs): part of every command stage's key.
const COMMAND_STAGE_VERSION: u32 = 1;
/// File inside a published built-in output that records its key.
const STAMP_FILE: &str = ".actionbench-stage.toml";
/// Output name under which a built-in stage's directory is recorded.
const CACHE_OUTPUT: &str = "@cache";

/// Options of `actionbench run`.
#[derive(Clone, Default)]
pub struct RunOptions {
    /// Stages to bring up to date (with what they need); all when empty.
    pub targets: Vec<String>,
    /// Re-run the targets (all stages when no target is named) even if fresh.
    pub force: bool,
    /// Report what would run without running anything.
    pub dry_run: bool,
    /// Stages run at the same time (at least 1).
    pub jobs: usize,
    /// A cache shared between machines (`run --remote`): missing built-in
    /// outputs are fetched from it instead of computed, and what is
    /// computed is stored there.
    pub shared: Option<std::sync::Arc<dyn crate::shared::SharedCache>>,
}

impl std::fmt::Debug for RunOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunOptions")
            .field("targets", &self.targets)
            .field("force", &self.force)
            .field("dry_run", &self.dry_run)
            .field("jobs", &self.jobs)
            .field("shared", &self.shared.is_some())
            .finish()
    }
}

/// Fresh or stale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StageState {
    /// Up to date: `run` would not run it.
    Fresh,
    /// `run` would run it.
    Stale,
}

/// One line of `actionbench status`.
#[derive(Debug, Clone, Serialize)]
pub struct StageStatus {
    /// The stage.
    pub stage: String,
    /// Fresh or stale.
    pub state: StageState,
    /// The key it has now (absent while an input does not exist yet).
    pub key: Option<Fingerprint>,
    /// Why it is stale (empty when fresh).
    pub reasons: Vec<Reason>,
}

/// How a stage ended in a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "status", rename_all = "lowercase")]
pub enum StageOutcome {
    /// It ran and published its outputs.
    Ran,
    /// Its key was unchanged and its outputs intact: not run.
    Cached,
    /// Its output was fetched from the shared cache (`run --remote`): not run.
    Pulled,
    /// It failed; its previous outputs are kept.
    Failed {
        /// What went wrong, with its causes (and a command's last output
        /// lines), on one line.
        error: String,
        /// The fix, when the error knows one.
        #[serde(skip_serializing_if = "Option::is_none")]
        hint: Option<String>,
        /// Where in which input file, when the error is about one.
        #[serde(skip_serializing_if = "Option::is_none")]
        location: Option<actionbench_core::Location>,
    },
    /// Not run because a stage it needs failed (or because of `--dry-run`).
    Skipped {
        /// Why.
        reason: String,
    },
}

impl StageOutcome {
    /// A failure with only a message.
    pub fn failed(error: impl Into<String>) -> Self {
        StageOutcome::Failed { error: error.into(), hint: None, location: None }
    }

    /// A failure read from an error chain (hint and location kept).
    pub fn from_failure(failure: actionbench_core::Failure) -> Self {
        StageOutcome::Failed { error: failure.one_line(), hint: failure.hint, location: failure.location }
    }

    /// `ran`, `cached`, `failed` or `skipped`.
    pub fn label(&self) -> &'static str {
        match self {
            StageOutcome::Ran => "ran",
            StageOutcome::Cached => "cached",
            StageOutcome::Pulled => "pulled",
            StageOutcome::Failed { .. } => "failed",
            StageOutcome::Skipped { .. } => "skipped",
        }
    }
}

/// One stage's result in a run.
#[derive(Debug, Clone, Serialize)]
pub struct StageReport {
    /// The stage.
    pub stage: String,
    /// What happened.
    #[serde(flatten)]
    pub outcome: StageOutcome,
    /// Its key (absent when it could not be computed).
    pub key: Option<Fingerprint>,
    /// Wall time spent on it, including hashing its inputs.
    pub seconds: f64,
}

/// The result of `run --part`: one part of a partitioned stage.
#[derive(Debug, Clone, Serialize)]
pub struct PartReport {
    /// The stage.
    pub stage: String,
    /// Which part, from 0.
    pub part: u32,
    /// How many parts the stage has.
    pub parts: u32,
    /// `ran`, `cached` (the part was there already) or `failed`.
    #[serde(flatten)]
    pub outcome: StageOutcome,
    /// The key of the stage output the part belongs to.
    pub key: Fingerprint,
    /// Wall time, including hashing the inputs.
    pub seconds: f64,
}

/// A part that failed: which one, and why.
#[derive(Debug)]
struct PartFailed {
    part: Part,
    source: StageError,
}

impl std::fmt::Display for PartFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} failed", self.part)
    }
}

impl std::error::Error for PartFailed {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(self.source.as_ref())
    }
}

/// The progress of a stage's parts run side by side, summed into one.
struct PartsProgress<'r> {
    reporter: &'r dyn Reporter,
    done: Mutex<Vec<(u64, Option<u64>)>>,
}

/// What one part reports through [`PartsProgress`].
struct PartReporter<'p, 'r> {
    parts: &'p PartsProgress<'r>,
    index: usize,
}

impl Reporter for PartReporter<'_, '_> {
    fn stage_progress(&self, stage: &str, done: u64, total: Option<u64>) {
        let (sum, total) = {
            let mut all = self.parts.done.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            all[self.index] = (done, total);
            let total = all.iter().try_fold(0, |acc, (_, t)| t.map(|t| acc + t));
            (all.iter().map(|(d, _)| d).sum(), total)
        };
        self.parts.reporter.stage_progress(stage, sum, total);
    }
}

/// A pipeline bound to a registry of kinds and a cache.
pub struct Engine {
    pipeline: PipelineDef,
    registry: Registry,
    cache: Cache,
    graph: Graph,
    /// Params of each stage, parsed once: typed for `run`, canonical for
    /// the key (empty for command stages).
    params: Vec<ParsedParams>,
    tool_memo: Mutex<HashMap<String, std::result::Result<String, String>>>,
}

enum KeyResult {
    Ready(StageKey, Vec<ResolvedInput>),
    Pending(Vec<Reason>),
}

/// A path quoted for `sh -c` (paths cannot hold the NUL byte shlex refuses).
fn shell_quote(s: &str) -> String {
    shlex::try_quote(s).map(|q| q.into_owned()).unwrap_or_else(|_| s.replace('\0', ""))
}

/// `{@stage}` placeholders in a command.
fn placeholders(cmd: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = cmd;
    while let Some(start) = rest.find("{@") {
        let after = &rest[start + 2..];
        match after.find('}') {
            Some(end) => {
                out.push(&after[..end]);
                rest = &after[end + 1..];
            }
            None => break,
        }
    }
    out
}

impl Engine {
    /// Checks the pipeline against the registry (kinds, params, graph,
    /// placeholders) and opens the cache: `cache_dir`, or the
    /// `ACTIONBENCH_CACHE_DIR` variable, or `.actionbench/` in the project.
    pub fn new(pipeline: PipelineDef, registry: Registry, cache_dir: Option<PathBuf>) -> Result<Self> {
        let mut params = Vec::with_capacity(pipeline.stages.len());
        // The file again, with positions, so a param error points at its key.
        let text = pipeline.source_text();
        let source = toml::de::DeTable::parse(&text).ok();
        for stage in &pipeline.stages {
            match &stage.body {
                StageBody::Builtin { uses, uses_line, params: raw, params_line, .. } => {
                    let Some(kind) = registry.get(uses) else {
                        let names = registry.names();
                        let hint = actionbench_core::suggest::did_you_mean(uses, names.iter().copied())
                            .map(|close| format!("{close} (`actionbench kinds` lists every kind)"))
                            .unwrap_or_else(|| {
                                format!(
                                    "Known kinds: {}",
                                    names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
                                )
                            });
                        return Err(pipeline.error(
                            &stage.name,
                            *uses_line,
                            format!("unknown stage kind `{uses}`"),
                            Some(hint),
                        ));
                    };
                    // An instance of a matrix or an overridden stage has
                    // params the file does not spell out: parse the table.
                    let as_written = stage.matrix.is_none() && stage.overrides.is_empty();
                    let parsed = match source.as_ref().filter(|_| as_written) {
                        Some(doc) => match params_value(doc, &stage.table) {
                            Some(value) => kind.parse_params(toml::de::ValueDeserializer::from(value.clone())),
                            None => kind.parse_table(raw),
                        },
                        None => kind.parse_table(raw),
                    };
                    let parsed = parsed.map_err(|failure| {
                        let err = pipeline.param_error(source.as_ref(), stage, uses, *params_line, failure);
                        match err {
                            // The bad value may be the override's, not the file's.
                            Error::Param(p) if !stage.overrides.is_empty() => Error::Override {
                                spec: stage.overrides.join(" -S "),
                                message: format!(
                                    "stage `{}`: params of `{uses}`: {}",
                                    stage.name,
                                    crate::kind::with_key(p.key.as_deref(), &p.message)
                                ),
                                hint: Some(
                                    p.suggestion()
                                        .map(|close| format!("{close} (`actionbench kinds` lists the params of `{uses}`)"))
                                        .unwrap_or_else(|| {
                                            format!("Check the override's key and value; `actionbench kinds` lists the params of `{uses}`")
                                        }),
                                ),
                            },
                            other => other,
                        }
                    })?;
                    if let StageBody::Builtin { partitions: n @ 2.., partitions_line, .. } = &stage.body
                        && let Err(why) = kind.partitioning()
                    {
                        return Err(pipeline.error(
                            &stage.name,
                            *partitions_line,
                            format!("`partitions = {n}`: {why}"),
                            Some(
                                "remove `partitions`; the kinds that split their work are those whose inputs \
                                 are read in a fixed order by file name (`actionbench kinds` says which)"
                                    .into(),
                            ),
                        ));
                    }
                    params.push(parsed);
                }
                StageBody::Command { cmd, deps, .. } => {
                    for name in placeholders(cmd) {
                        if !deps.iter().any(|d| d.stage_ref() == Some(name)) {
                            return Err(pipeline.error(
                                &stage.name,
                                stage.line,
                                format!("`cmd` uses `{{@{name}}}` but `@{name}` is not in `deps`"),
                                Some(format!("Add \"@{name}\" to `deps`")),
                            ));
                        }
                    }
                    params.push(ParsedParams::none());
                }
            }
        }
        let graph = Graph::build(&pipeline)?;
        let cache = Cache::open(&default_cache_dir(&pipeline.root, cache_dir))?;
        Ok(Self { pipeline, registry, cache, graph, params, tool_memo: Mutex::new(HashMap::new()) })
    }

    /// The pipeline.
    pub fn pipeline(&self) -> &PipelineDef {
        &self.pipeline
    }

    /// The stages `stage` depends on directly (`@stage` references and
    /// the command stages whose `outs` it reads).
    pub fn upstream(&self, stage: &str) -> Vec<String> {
        let Some(i) = self.pipeline.stages.iter().position(|s| s.name == stage) else { return Vec::new() };
        self.graph.upstream[i].iter().map(|&j| self.pipeline.stages[j].name.clone()).collect()
    }

    /// The cache.
    pub fn cache(&self) -> &Cache {
        &self.cache
    }

    fn lock_path(&self) -> PathBuf {
        LockFile::path_for(&self.pipeline.path)
    }

    /// The lock file as it is on disk.
    pub fn lock_file(&self) -> Result<LockFile> {
        LockFile::read(&self.lock_path())
    }

    fn select(&self, targets: &[String]) -> Result<Vec<usize>> {
        if targets.is_empty() {
            return Ok(self.graph.order.clone());
        }
        let mut idx = Vec::new();
        for t in targets {
            let found = self.target(t);
            if found.is_empty() {
                return Err(Error::UnknownTarget {
                    pipeline: self.pipeline.name.clone(),
                    stage: t.clone(),
                    known: self.pipeline.stages.iter().map(|s| s.name.clone()).collect(),
                });
            }
            idx.extend(found);
        }
        Ok(self.graph.closure(&idx))
    }

    /// The stages a target names: the stage of that name, or every
    /// instance of a matrix table of that name.
    fn target(&self, t: &str) -> Vec<usize> {
        let stages = &self.pipeline.stages;
        match stages.iter().position(|s| s.name == t) {
            Some(i) => vec![i],
            None => (0..stages.len()).filter(|&i| stages[i].matrix.is_some() && stages[i].table == t).collect(),
        }
    }

    /// Whether some stage's `outs` produce what `entry` reads.
    fn produced_by_a_stage(&self, entry: &Entry) -> bool {
        self.pipeline.stages.iter().any(|s| match &s.body {
            StageBody::Command { outs, .. } => outs.iter().any(|(o, _)| overlaps(&entry.text, o.as_str())),
            StageBody::Builtin { .. } => false,
        })
    }

    /// Fails early, naming file, line and stage, when a path input that no
    /// stage produces does not exist (cheap: no hashing).
    fn check_inputs_exist(&self, selected: &[usize]) -> Result<()> {
        for &i in selected {
            let stage = &self.pipeline.stages[i];
            for entry in stage.body.input_entries() {
                if entry.stage_ref().is_some() || self.produced_by_a_stage(entry) {
                    continue;
                }
                let exists = if is_glob(&entry.text) {
                    match glob::glob(&glob_pattern(&self.pipeline.root, &entry.text)) {
                        Ok(mut paths) => paths.next().is_some(),
                        Err(e) => {
                            return Err(self.pipeline.error(
                                &stage.name,
                                entry.line,
                                format!("bad glob `{}`: {e}", entry.text),
                                None,
                            ));
                        }
                    }
                } else {
                    self.pipeline.root.join(&entry.text).exists()
                };
                if !exists {
                    let what = if is_glob(&entry.text) { "matches no file" } else { "does not exist" };
                    return Err(self.pipeline.error(
                        &stage.name,
                        entry.line,
                        format!("input `{}` {what}", entry.text),
                        Some("Check the path (relative to the project root), or add the stage that produces it".into()),
                    ));
                }
            }
        }
        Ok(())
    }

    fn tool_version(&self, probe: &str) -> std::result::Result<String, String> {
        let mut memo = self.tool_memo.lock().expect("tool memo poisoned");
        memo.entry(probe.to_string()).or_insert_with(|| probe_tool(probe, &self.pipeline.root)).clone()
    }

    /// Output locations of stage `j` with key `key`.
    fn output_paths(&self, j: usize, key: &Fingerprint) -> Vec<PathBuf> {
        match &self.pipeline.stages[j].body {
            StageBody::Builtin { .. } => vec![self.cache.stage_dir(key)],
            StageBody::Command { outs, .. } => outs.iter().map(|(o, _)| o.under(&self.pipeline.root)).collect(),
        }
    }

    /// The stage's key from its current inputs and its upstream keys.
    fn compute_key(&self, i: usize, up_keys: &HashMap<usize, Fingerprint>, detail: bool) -> Result<KeyResult> {
        let stage = &self.pipeline.stages[i];
        let mut pending = Vec::new();
        let mut upstream = BTreeMap::new();
        for &j in &self.graph.upstream[i] {
            match up_keys.get(&j) {
                Some(k) => {
                    upstream.insert(self.pipeline.stages[j].name.clone(), *k);
                }
                None => pending.push(Reason::UpstreamStale { stage: self.pipeline.stages[j].name.clone() }),
            }
        }
        let mut inputs = BTreeMap::new();
        let mut resolved = Vec::new();
        for entry in stage.body.input_entries() {
            if let Some(name) = entry.stage_ref() {
                let j = self.pipeline.stages.iter().position(|s| s.name == name).expect("graph checked references");
                if let Some(k) = up_keys.get(&j) {
                    resolved.push(ResolvedInput::Stage {
                        stage: name.to_string(),
                        key: *k,
                        paths: self.output_paths(j, k),
                    });
                }
                continue;
            }
            match resolve_path_entry(&self.pipeline.root, &entry.text, &self.cache, detail) {
                Ok(r) => {
                    if let ResolvedInput::Files { hash, .. } = &r {
                        inputs.insert(entry.text.clone(), *hash);
                    }
                    resolved.push(r);
                }
                Err(InputError::Missing | InputError::NoMatch) if self.produced_by_a_stage(entry) => {
                    pending.push(Reason::InputPending { entry: entry.text.clone() });
                }
                Err(InputError::Missing) => {
                    return Err(self.pipeline.error(
                        &stage.name,
                        entry.line,
                        format!("input `{}` does not exist", entry.text),
                        None,
                    ));
                }
                Err(InputError::NoMatch) => {
                    return Err(self.pipeline.error(
                        &stage.name,
                        entry.line,
                        format!("input `{}` matches no file", entry.text),
                        None,
                    ));
                }
                Err(InputError::BadGlob(e)) => {
                    return Err(self.pipeline.error(
                        &stage.name,
                        entry.line,
                        format!("bad glob `{}`: {e}", entry.text),
                        None,
                    ));
                }
                Err(InputError::Escapes { link, target }) => {
                    let shown = link.strip_prefix(&self.pipeline.root).unwrap_or(&link).display().to_string();
                    return Err(self.pipeline.error(
                        &stage.name,
                        entry.line,
                        format!(
                            "input `{}` leads outside the project: `{shown}` is a symbolic link to `{}`",
                            entry.text,
                            target.display()
                        ),
                        Some(format!(
                            "name data outside the project by its own path: write `{}` in `inputs` instead of going \
                             through the link, so the pipeline file says where its data is",
                            target.display()
                        )),
                    ));
                }
                Err(InputError::Other(e)) => return Err(e),
            }
        }
        if !pending.is_empty() {
            // A stale upstream explains its missing outputs; say it once.
            if pending.iter().any(|r| matches!(r, Reason::UpstreamStale { .. })) {
                pending.retain(|r| matches!(r, Reason::UpstreamStale { .. }));
            }
            return Ok(KeyResult::Pending(pending));
        }
        let key = match &stage.body {
            StageBody::Builtin { uses, .. } => {
                let kind = self.registry.get(uses).expect("kinds checked in Engine::new");
                StageKey {
                    kind: uses.clone(),
                    implementation_version: kind.implementation_version(),
                    params: self.params[i].canonical.clone(),
                    command: None,
                    outs: Vec::new(),
                    inputs,
                    upstream,
                    tools: kind.tool_versions(),
                }
            }
            StageBody::Command { cmd, outs, tools, .. } => {
                let mut versions = BTreeMap::new();
                for (tool, probe) in tools {
                    let v = self.tool_version(probe).map_err(|message| {
                        self.pipeline.error(
                            &stage.name,
                            stage.line,
                            format!("tool `{tool}`: {message}"),
                            Some(
                                "A tool probe is a command that prints the tool's version, e.g. `python3 --version`"
                                    .into(),
                            ),
                        )
                    })?;
                    versions.insert(tool.clone(), v);
                }
                StageKey {
                    kind: "cmd".into(),
                    implementation_version: COMMAND_STAGE_VERSION,
                    params: toml::Table::new(),
                    command: Some(cmd.clone()),
                    outs: outs.iter().map(|(o, _)| o.to_string()).collect(),
                    inputs,
                    upstream,
                    tools: versions,
                }
            }
        };
        Ok(KeyResult::Ready(key, resolved))
    }

    /// Current hashes of a command stage's outs (`None` for a missing one).
    fn hash_outs(&self, i: usize) -> Result<BTreeMap<String, Option<Fingerprint>>> {
        let mut out = BTreeMap::new();
        if let StageBody::Command { outs, .. } = &self.pipeline.stages[i].body {
            for (o, _) in outs {
                let hash = match resolve_path_entry(&self.pipeline.root, o.as_str(), &self.cache, false) {
                    Ok(ResolvedInput::Files { hash, .. }) => Some(hash),
                    Ok(ResolvedInput::Stage { .. }) => None,
                    Err(InputError::Missing | InputError::NoMatch) => None,
                    Err(InputError::BadGlob(e)) => return Err(Error::Internal(e)),
                    Err(InputError::Escapes { link, target }) => return Err(Error::LinkEscapes { link, target }),
                    Err(InputError::Other(e)) => return Err(e),
                };
                out.insert(o.to_string(), hash);
            }
        }
        Ok(out)
    }

    /// Why the outputs recorded for key `key` are not usable (empty: they are).
    fn output_problems(&self, i: usize, key: &Fingerprint, locked: Option<&LockedStage>) -> Result<Vec<Reason>> {
        match &self.pipeline.stages[i].body {
            StageBody::Builtin { .. } => {
                Ok(if self.cache.stage_dir(key).is_dir() { vec![] } else { vec![Reason::CacheMissing] })
            }
            StageBody::Command { .. } => {
                let mut reasons = Vec::new();
                for (path, hash) in self.hash_outs(i)? {
                    match hash {
                        None => reasons.push(Reason::OutputMissing { path }),
                        Some(h) if locked.and_then(|l| l.outputs.get(&path)) != Some(&h) => {
                            reasons.push(Reason::OutputModified { path })
                        }
                        Some(_) => {}
                    }
                }
                Ok(reasons)
            }
        }
    }

    /// Fresh or stale, and why, for `targets` and what they need (all
    /// stages when empty), in the order `run` would take them.
    pub fn status(&self, targets: &[String]) -> Result<Vec<StageStatus>> {
        let selected = self.select(targets)?;
        self.check_inputs_exist(&selected)?;
        // If no run is in progress, finish what a killed one left behind
        // (put previous outputs back) so the status describes real files.
        if let Some(_guard) = self.cache.try_lock()? {
            self.cache.recover_journals(&self.pipeline.root)?;
        }
        let lock = self.lock_file()?;
        let mut keys = HashMap::new();
        let mut out = Vec::new();
        for i in selected {
            let name = &self.pipeline.stages[i].name;
            let locked = lock.stages.get(name);
            let (key, reasons) = match self.compute_key(i, &keys, false)? {
                KeyResult::Pending(reasons) => (None, reasons),
                KeyResult::Ready(key, _) => {
                    let fp = key.fingerprint();
                    keys.insert(i, fp);
                    let builtin_hit = matches!(self.pipeline.stages[i].body, StageBody::Builtin { .. })
                        && self.cache.stage_dir(&fp).is_dir();
                    let reasons = match locked {
                        _ if builtin_hit => vec![],
                        None => vec![Reason::NeverRun],
                        Some(l) if l.key != fp => {
                            let diff = diff_keys(l, &key, &self.cache);
                            if diff.is_empty() { vec![Reason::KeyFormatChanged] } else { diff }
                        }
                        Some(l) => self.output_problems(i, &fp, Some(l))?,
                    };
                    (Some(fp), reasons)
                }
            };
            let state = if reasons.is_empty() { StageState::Fresh } else { StageState::Stale };
            out.push(StageStatus { stage: name.clone(), state, key, reasons });
        }
        Ok(out)
    }

    /// Runs the stale stages among `opts.targets` and what they need.
    /// Returns one report per stage considered, in dependency order.
    pub fn run(&self, opts: &RunOptions, reporter: &dyn Reporter) -> Result<Vec<StageReport>> {
        if opts.dry_run {
            return Ok(self
                .status(&opts.targets)?
                .into_iter()
                .map(|s| {
                    let outcome = if s.state == StageState::Fresh && !opts.force {
                        StageOutcome::Cached
                    } else {
                        StageOutcome::Skipped { reason: "dry run: would run".into() }
                    };
                    StageReport { stage: s.stage, outcome, key: s.key, seconds: 0.0 }
                })
                .collect());
        }
        let selected = self.select(&opts.targets)?;
        self.check_inputs_exist(&selected)?;
        let _guard = self.cache.lock(reporter)?;
        self.cache.clear_work_dirs()?;
        self.cache.recover_journals(&self.pipeline.root)?;
        let lock_path = self.lock_path();
        let mut lock = self.lock_file()?;
        lock.stages.retain(|name, _| self.pipeline.stage(name).is_some());

        let forced: HashSet<usize> = match (opts.force, opts.targets.is_empty()) {
            (false, _) => HashSet::new(),
            (true, true) => selected.iter().copied().collect(),
            (true, false) => opts.targets.iter().flat_map(|t| self.target(t)).collect(),
        };
        let jobs = opts.jobs.max(1);
        let mut pending: Vec<usize> = selected.clone();
        let mut done: HashMap<usize, StageReport> = HashMap::new();
        let mut keys: HashMap<usize, Fingerprint> = HashMap::new();
        let (tx, rx) = mpsc::channel::<(usize, StageReport, Option<LockedStage>)>();

        std::thread::scope(|scope| -> Result<()> {
            let mut running = 0usize;
            loop {
                let mut k = 0;
                while k < pending.len() && running < jobs {
                    let i = pending[k];
                    let ups = &self.graph.upstream[i];
                    if !ups.iter().all(|u| done.contains_key(u)) {
                        k += 1;
                        continue;
                    }
                    pending.remove(k);
                    let name = self.pipeline.stages[i].name.clone();
                    if let Some(bad) = ups
                        .iter()
                        .find(|u| matches!(done[u].outcome, StageOutcome::Failed { .. } | StageOutcome::Skipped { .. }))
                    {
                        let outcome = StageOutcome::Skipped {
                            reason: format!("upstream stage `{}` did not complete", self.pipeline.stages[*bad].name),
                        };
                        reporter.stage_finished(&name, &outcome, 0.0);
                        done.insert(i, StageReport { stage: name, outcome, key: None, seconds: 0.0 });
                        continue;
                    }
                    let up_keys: HashMap<usize, Fingerprint> = ups.iter().map(|u| (*u, keys[u])).collect();
                    let locked = lock.stages.get(&name).cloned();
                    let force = forced.contains(&i);
                    let shared = opts.shared.as_deref();
                    let tx = tx.clone();
                    running += 1;
                    scope.spawn(move || {
                        let start = Instant::now();
                        let (outcome, key, entry) =
                            match self.run_stage(i, &up_keys, locked.as_ref(), force, shared, reporter) {
                                Ok(r) => r,
                                // A definition error found while running (an
                                // input that leaves the project) is this
                                // stage's: its location says file and line.
                                Err(Error::Definition { file, line, message, hint, .. }) => {
                                    let location =
                                        actionbench_core::Location { file, line: Some(line as u64), column: None };
                                    (
                                        StageOutcome::Failed { error: message, hint, location: Some(location) },
                                        None,
                                        None,
                                    )
                                }
                                Err(e) => (StageOutcome::from_failure(Failure::from_error(&e, &probe)), None, None),
                            };
                        let seconds = start.elapsed().as_secs_f64();
                        reporter.stage_finished(&name, &outcome, seconds);
                        let _ = tx.send((i, StageReport { stage: name, outcome, key, seconds }, entry));
                    });
                }
                if running == 0 {
                    if pending.is_empty() {
                        break;
                    }
                    // Every pending stage waits on one that will never finish.
                    return Err(Error::Internal("scheduler stalled".into()));
                }
                let (i, report, entry) = rx.recv().map_err(|_| Error::Internal("worker vanished".into()))?;
                running -= 1;
                if let Some(k) = report.key
                    && !matches!(report.outcome, StageOutcome::Failed { .. })
                {
                    keys.insert(i, k);
                }
                if let Some(entry) = entry {
                    self.record_run(i, &report, &entry)?;
                    // A stage changed by `-S` (or downstream of one) is an
                    // experiment: its run is recorded, and the lock file
                    // keeps what the pipeline file defines.
                    if self.overrides_of(i).is_empty() {
                        lock.stages.insert(report.stage.clone(), entry);
                        lock.write(&lock_path)?;
                    }
                }
                done.insert(i, report);
            }
            Ok(())
        })?;
        Ok(selected.into_iter().filter_map(|i| done.remove(&i)).collect())
    }

    /// The `-S` overrides stage `i` runs under: its own and those of the
    /// stages it depends on (an eval downstream of an overridden train is
    /// part of that experiment).
    fn overrides_of(&self, i: usize) -> Vec<String> {
        let mut all: Vec<String> = Vec::new();
        for j in self.graph.closure(&[i]) {
            for o in &self.pipeline.stages[j].overrides {
                if !all.contains(o) {
                    all.push(o.clone());
                }
            }
        }
        all
    }

    /// Writes the run record of stage `i` (what `exp show` lists).
    fn record_run(&self, i: usize, report: &StageReport, entry: &LockedStage) -> Result<()> {
        if !matches!(report.outcome, StageOutcome::Ran | StageOutcome::Cached | StageOutcome::Pulled) {
            return Ok(());
        }
        let stage = &self.pipeline.stages[i];
        RunRecord {
            pipeline: self.pipeline.name.clone(),
            stage: stage.name.clone(),
            table: stage.table.clone(),
            key: entry.key,
            outcome: report.outcome.label().to_string(),
            finished_ms: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64),
            seconds: report.seconds,
            overrides: self.overrides_of(i),
            matrix: stage.matrix.clone(),
            definition: entry.definition.clone(),
        }
        .save(&self.cache)
    }

    /// Runs (or finds cached) one stage. Returns the outcome, the key and
    /// the lock entry to record.
    fn run_stage(
        &self,
        i: usize,
        up_keys: &HashMap<usize, Fingerprint>,
        locked: Option<&LockedStage>,
        force: bool,
        shared: Option<&dyn crate::shared::SharedCache>,
        reporter: &dyn Reporter,
    ) -> Result<(StageOutcome, Option<Fingerprint>, Option<LockedStage>)> {
        let (outcome, key, entry) = self.run_stage_here(i, up_keys, locked, force, shared, reporter)?;
        // What this machine has, the shared cache gets (a no-op when it
        // has it already); a stage whose result could not be shared has
        // failed the `--remote` contract, but its local output stays.
        if let (Some(shared), Some(fp), StageOutcome::Ran | StageOutcome::Cached) = (shared, key, &outcome)
            && matches!(self.pipeline.stages[i].body, StageBody::Builtin { .. })
            && let Err(e) = shared.store(&self.cache, &fp)
        {
            let failure = Failure::from_error(e.as_ref(), &diagnostic_probe);
            let outcome = StageOutcome::Failed {
                error: format!(
                    "its output is in the local cache, but storing it on the remote failed: {}",
                    failure.one_line()
                ),
                hint: Some(failure.hint.unwrap_or_else(|| "`actionbench push` retries the upload".into())),
                location: None,
            };
            return Ok((outcome, key, entry));
        }
        Ok((outcome, key, entry))
    }

    fn run_stage_here(
        &self,
        i: usize,
        up_keys: &HashMap<usize, Fingerprint>,
        locked: Option<&LockedStage>,
        force: bool,
        shared: Option<&dyn crate::shared::SharedCache>,
        reporter: &dyn Reporter,
    ) -> Result<(StageOutcome, Option<Fingerprint>, Option<LockedStage>)> {
        let stage = &self.pipeline.stages[i];
        let detail = matches!(stage.body, StageBody::Builtin { .. });
        let (key, resolved) = match self.compute_key(i, up_keys, detail)? {
            KeyResult::Ready(k, r) => (k, r),
            KeyResult::Pending(reasons) => {
                let why: Vec<String> = reasons.iter().map(ToString::to_string).collect();
                return Ok((StageOutcome::failed(format!("cannot compute the key: {}", why.join("; "))), None, None));
            }
        };
        let fp = key.fingerprint();
        match &stage.body {
            StageBody::Builtin { uses, .. } => {
                let dir = self.cache.stage_dir(&fp);
                if !force && dir.is_dir() {
                    let entry = read_stamp(&dir).unwrap_or_else(|| LockedStage {
                        key: fp,
                        definition: key.clone(),
                        outputs: BTreeMap::new(),
                    });
                    return Ok((StageOutcome::Cached, Some(fp), Some(entry)));
                }
                if !force && let Some(shared) = shared {
                    match shared.fetch(&self.cache, &fp) {
                        Ok(true) => {
                            let entry = read_stamp(&dir).unwrap_or_else(|| LockedStage {
                                key: fp,
                                definition: key.clone(),
                                outputs: BTreeMap::new(),
                            });
                            return Ok((StageOutcome::Pulled, Some(fp), Some(entry)));
                        }
                        Ok(false) => {}
                        Err(e) => {
                            let failure = Failure::from_error(e.as_ref(), &diagnostic_probe);
                            let error = format!("fetching its output from the remote failed: {}", failure.one_line());
                            return Ok((
                                StageOutcome::Failed { error, hint: failure.hint, location: None },
                                Some(fp),
                                None,
                            ));
                        }
                    }
                }
                reporter.stage_started(&stage.name);
                let kind = self.registry.get(uses).expect("kinds checked in Engine::new");
                let work = self.cache.work_dir()?;
                let written = WrittenFiles::default();
                let ctx = StageContext {
                    pipeline: &self.pipeline.name,
                    stage: &stage.name,
                    root: &self.pipeline.root,
                    out_dir: work.path(),
                    inputs: &resolved,
                    params: &self.params[i].canonical,
                    key: fp,
                    cache_dir: self.cache.dir(),
                    reporter,
                    written: &written,
                };
                let typed = self.params[i].typed.as_ref();
                let ran = match self.partitions(i) {
                    1 => kind.run(&ctx, typed),
                    n => self.run_parts(i, kind, &ctx, n).and_then(|parts| kind.merge_parts(&ctx, typed, &parts)),
                };
                if let Err(e) = ran {
                    let failure = Failure::from_error(e.as_ref(), &diagnostic_probe);
                    return Ok((StageOutcome::from_failure(failure), Some(fp), None));
                }
                let known = written.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner);
                let (out_hash, _) = hash_new_tree(work.path(), STAMP_FILE, &known)?;
                let entry = LockedStage {
                    key: fp,
                    definition: key,
                    outputs: BTreeMap::from([(CACHE_OUTPUT.to_string(), out_hash)]),
                };
                let stamp = toml::to_string(&entry).map_err(|e| Error::Internal(e.to_string()))?;
                let stamp_path = work.path().join(STAMP_FILE);
                std::fs::write(&stamp_path, stamp).map_err(|e| Error::io(&stamp_path, e))?;
                let work = work.keep();
                if dir.exists() {
                    // --force over an existing entry: move it aside in one
                    // step, then delete it.
                    let old = self.cache.work_dir()?.keep();
                    std::fs::rename(&dir, old.join("old")).map_err(|e| Error::io(&dir, e))?;
                    std::fs::remove_dir_all(&old).map_err(|e| Error::io(&old, e))?;
                }
                std::fs::rename(&work, &dir).map_err(|e| Error::io(&dir, e))?;
                // The parts are merged into the published output: not needed again.
                let _ = std::fs::remove_dir_all(self.parts_dir(&fp));
                Ok((StageOutcome::Ran, Some(fp), Some(entry)))
            }
            StageBody::Command { cmd, outs, .. } => {
                // Its outputs are project files the lock file describes; an
                // experiment must not replace them with its own.
                let overrides = self.overrides_of(i);
                if !overrides.is_empty() {
                    return Ok((
                        StageOutcome::Failed {
                            error: format!(
                                "command stage `{}` depends on a stage changed by -S `{}`; it would overwrite the project files in its `outs`",
                                stage.name,
                                overrides.join("` -S `")
                            ),
                            hint: Some(
                                "Name the built-in stages the experiment needs as targets (e.g. `run PIPELINE eval@seed=0 -S ...`), or change the pipeline file"
                                    .into(),
                            ),
                            location: None,
                        },
                        Some(fp),
                        None,
                    ));
                }
                if !force && locked.is_some_and(|l| l.key == fp) && self.output_problems(i, &fp, locked)?.is_empty() {
                    return Ok((StageOutcome::Cached, Some(fp), locked.cloned()));
                }
                let out_names: Vec<String> = outs.iter().map(|(o, _)| o.to_string()).collect();
                if let Some(problem) = self.escaping_out(&out_names)? {
                    return Ok((problem, Some(fp), None));
                }
                reporter.stage_started(&stage.name);
                let journal =
                    self.cache.begin_journal(&self.pipeline.root, &self.pipeline.name, &stage.name, &out_names)?;
                for (o, _) in outs {
                    if let Some(parent) = o.under(&self.pipeline.root).parent() {
                        std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
                    }
                }
                let command = self.expand_placeholders(cmd, &resolved);
                let root = std::path::absolute(&self.pipeline.root).unwrap_or_else(|_| self.pipeline.root.clone());
                let mut env = vec![
                    (EnvVars::ACTIONBENCH_PIPELINE, self.pipeline.name.clone()),
                    (EnvVars::ACTIONBENCH_STAGE, stage.name.clone()),
                    (EnvVars::ACTIONBENCH_STAGE_KEY, fp.to_hex()),
                    (EnvVars::ACTIONBENCH_PROJECT, root.display().to_string()),
                ];
                // The out a script's `log_metrics` writes to: SQL names it `STAGE_metrics`.
                if let Some((metrics, _)) = outs.iter().find(|(o, _)| crate::catalog::is_metrics_out(o.as_str())) {
                    env.push((EnvVars::ACTIONBENCH_METRICS_DIR, metrics.under(&root).display().to_string()));
                }
                let log = self.cache.log_path(&self.pipeline.name, &stage.name);
                let result = run_shell(&command, &self.pipeline.root, &env, &log)?;
                let missing: Vec<&String> = out_names
                    .iter()
                    .filter(|o| std::fs::symlink_metadata(self.pipeline.root.join(o)).is_err())
                    .collect();
                if !result.success || !missing.is_empty() {
                    journal.rollback()?;
                    let mut error = if result.success {
                        format!(
                            "the command succeeded but did not produce {}",
                            missing.iter().map(|m| format!("`{m}`")).collect::<Vec<_>>().join(", ")
                        )
                    } else {
                        format!("the command failed ({})", result.status)
                    };
                    if !result.tail.is_empty() {
                        error.push_str(&format!(
                            "; its last output lines (full log: {}):\n{}",
                            log.display(),
                            result.tail
                        ));
                    }
                    error.push_str("\nthe previous outputs were kept");
                    return Ok((StageOutcome::failed(error), Some(fp), None));
                }
                let outputs: BTreeMap<String, Fingerprint> =
                    self.hash_outs(i)?.into_iter().filter_map(|(k, v)| v.map(|v| (k, v))).collect();
                journal.commit()?;
                Ok((StageOutcome::Ran, Some(fp), Some(LockedStage { key: fp, definition: key, outputs })))
            }
        }
    }

    /// `partitions = N` of stage `i` (1 for a stage that is not split).
    fn partitions(&self, i: usize) -> u32 {
        match &self.pipeline.stages[i].body {
            StageBody::Builtin { partitions, .. } => *partitions,
            StageBody::Command { .. } => 1,
        }
    }

    /// Where the parts of the partitioned output `key` wait for their
    /// merge: each in `INDEX-of-COUNT/`, renamed there complete.
    fn parts_dir(&self, key: &Fingerprint) -> PathBuf {
        self.cache.state_file("parts").join(key.to_hex())
    }

    /// Makes every part of stage `i` complete — the ones a SLURM array (or
    /// an earlier run) left are reused, the others run here side by side,
    /// one thread each — and returns their directories in part order.
    fn run_parts(
        &self,
        i: usize,
        kind: &RegisteredKind,
        ctx: &StageContext<'_>,
        n: u32,
    ) -> Result<Vec<PathBuf>, StageError> {
        let progress = PartsProgress { reporter: ctx.reporter, done: Mutex::new(vec![(0, None); n as usize]) };
        let results: Vec<Result<PathBuf, StageError>> = std::thread::scope(|scope| {
            let workers: Vec<_> = (0..n)
                .map(|index| {
                    let part = Part { index, count: n };
                    let progress = &progress;
                    scope.spawn(move || {
                        let reporter = PartReporter { parts: progress, index: index as usize };
                        self.run_part_into(i, kind, ctx.key, ctx.inputs, part, &reporter).map(|(dir, _)| dir)
                    })
                })
                .collect();
            workers
                .into_iter()
                .map(|w| w.join().unwrap_or_else(|_| Err("a part's worker thread panicked".into())))
                .collect()
        });
        results.into_iter().collect()
    }

    /// Runs one part of stage `i` into its directory under
    /// [`Self::parts_dir`], unless it is there already. No lock is held:
    /// parts of one stage run at once, in threads or on other machines.
    /// Returns the directory and whether the part ran.
    fn run_part_into(
        &self,
        i: usize,
        kind: &RegisteredKind,
        key: Fingerprint,
        inputs: &[ResolvedInput],
        part: Part,
        reporter: &dyn Reporter,
    ) -> Result<(PathBuf, bool), StageError> {
        let parts = self.parts_dir(&key);
        let done = parts.join(part.dir_name());
        if done.is_dir() {
            return Ok((done, false));
        }
        std::fs::create_dir_all(&parts).map_err(|e| Error::io(&parts, e))?;
        // A work directory of its own beside the parts (a run clears the
        // cache's `tmp/` under its lock, which parts do not take).
        let work = tempfile::Builder::new()
            .prefix(&format!(".work-{}-", part.dir_name()))
            .tempdir_in(&parts)
            .map_err(|e| Error::io(&parts, e))?;
        let written = WrittenFiles::default();
        let stage = &self.pipeline.stages[i];
        let ctx = StageContext {
            pipeline: &self.pipeline.name,
            stage: &stage.name,
            root: &self.pipeline.root,
            out_dir: work.path(),
            inputs,
            params: &self.params[i].canonical,
            key,
            cache_dir: self.cache.dir(),
            reporter,
            written: &written,
        };
        kind.run_part(&ctx, self.params[i].typed.as_ref(), part)
            .map_err(|source| -> StageError { Box::new(PartFailed { part, source }) })?;
        let path = work.keep();
        if let Err(e) = std::fs::rename(&path, &done) {
            let _ = std::fs::remove_dir_all(&path);
            // Another worker of the same part finished first: its copy is equal.
            if !done.is_dir() {
                return Err(Box::new(Error::io(&done, e)));
            }
        }
        Ok((done, true))
    }

    /// Runs part `index` of the partitioned stage `stage` into the cache,
    /// where the stage's next `run` merges it (a SLURM array task runs
    /// this). Takes no lock; the stages it depends on must be in the cache.
    pub fn run_part(&self, stage: &str, index: u32, reporter: &dyn Reporter) -> Result<PartReport> {
        let start = Instant::now();
        let part_error =
            |message: String, hint: Option<String>| Error::Part { stage: stage.to_string(), message, hint };
        let Some(i) = self.pipeline.stages.iter().position(|s| s.name == stage) else {
            return Err(Error::UnknownTarget {
                pipeline: self.pipeline.name.clone(),
                stage: stage.to_string(),
                known: self.pipeline.stages.iter().map(|s| s.name.clone()).collect(),
            });
        };
        let n = self.partitions(i);
        if n < 2 {
            return Err(part_error(
                "has no `partitions`, so it has no parts to run".into(),
                Some(format!("`actionbench run {} {stage}` runs it whole", self.pipeline.name)),
            ));
        }
        if index >= n {
            return Err(part_error(format!("has {n} parts, numbered 0 to {}; there is no part {index}", n - 1), None));
        }
        let StageBody::Builtin { uses, .. } = &self.pipeline.stages[i].body else {
            return Err(Error::Internal("a command stage with partitions".into()));
        };
        let kind = self.registry.get(uses).expect("kinds checked in Engine::new");
        let lock = self.lock_file()?;
        let mut keys = HashMap::new();
        let mut ready = None;
        for j in self.graph.closure(&[i]) {
            let name = &self.pipeline.stages[j].name;
            match self.compute_key(j, &keys, j == i)? {
                KeyResult::Ready(key, resolved) => {
                    let fp = key.fingerprint();
                    // What it reads must be there: a built-in stage's
                    // output of this key, a command stage's `outs` as run.
                    let locked = lock.stages.get(name).filter(|l| l.key == fp);
                    if j != i && (locked.is_none() || !self.output_problems(j, &fp, locked)?.is_empty()) {
                        let builtin_there = matches!(self.pipeline.stages[j].body, StageBody::Builtin { .. })
                            && self.cache.stage_dir(&fp).is_dir();
                        if !builtin_there {
                            return Err(part_error(
                                format!("the stage it needs, `{name}`, is not up to date (key {})", fp.short()),
                                Some(format!("run `actionbench run {} {name}` first", self.pipeline.name)),
                            ));
                        }
                    }
                    keys.insert(j, fp);
                    if j == i {
                        ready = Some((fp, resolved));
                    }
                }
                KeyResult::Pending(reasons) => {
                    let why: Vec<String> = reasons.iter().map(ToString::to_string).collect();
                    return Err(part_error(
                        format!("cannot compute the key of `{name}`: {}", why.join("; ")),
                        Some(format!("run `actionbench run {} {name}` first", self.pipeline.name)),
                    ));
                }
            }
        }
        let (key, resolved) = ready.ok_or_else(|| Error::Internal("the stage is in its own closure".into()))?;
        let part = Part { index, count: n };
        let outcome = match self.run_part_into(i, kind, key, &resolved, part, reporter) {
            Ok((_, true)) => StageOutcome::Ran,
            Ok((_, false)) => StageOutcome::Cached,
            Err(e) => StageOutcome::from_failure(Failure::from_error(e.as_ref(), &probe)),
        };
        Ok(PartReport {
            stage: stage.to_string(),
            part: index,
            parts: n,
            outcome,
            key,
            seconds: start.elapsed().as_secs_f64(),
        })
    }

    /// The failure of a command stage one of whose `outs` goes through a
    /// symbolic link out of the project: the command would write (and a
    /// failed run would roll back) files elsewhere.
    fn escaping_out(&self, outs: &[String]) -> Result<Option<StageOutcome>> {
        let root = &self.pipeline.root;
        let confine = std::fs::canonicalize(root).map_err(|e| Error::io(root, e))?;
        for o in outs {
            match crate::inputs::escaping_link(root, &root.join(o), &confine) {
                Ok(()) => {}
                Err(Error::LinkEscapes { link, target }) => {
                    let shown = link.strip_prefix(root).unwrap_or(&link).display().to_string();
                    return Ok(Some(StageOutcome::Failed {
                        error: format!(
                            "refusing to write `{o}`: `{shown}` is a symbolic link to `{}`, outside the project",
                            target.display()
                        ),
                        hint: Some(format!(
                            "write outputs inside the project (replace the link `{shown}` with a directory); \
                             copy them elsewhere in a later stage if needed"
                        )),
                        location: None,
                    }));
                }
                Err(e) => return Err(e),
            }
        }
        Ok(None)
    }

    /// Replaces `{@stage}` with the (shell-quoted, project-relative where
    /// possible) output paths of that stage.
    fn expand_placeholders(&self, cmd: &str, resolved: &[ResolvedInput]) -> String {
        let mut out = cmd.to_string();
        for input in resolved {
            if let ResolvedInput::Stage { stage, paths, .. } = input {
                let shown: Vec<String> = paths
                    .iter()
                    .map(|p| shell_quote(&p.strip_prefix(&self.pipeline.root).unwrap_or(p).display().to_string()))
                    .collect();
                out = out.replace(&format!("{{@{stage}}}"), &shown.join(" "));
            }
        }
        out
    }
}

/// Removes cache entries that no lock file of the project (`pipelines/*.lock`)
/// refers to, and work directories left by crashed runs. Takes the run lock.
pub fn gc_project(root: &Path, cache_dir: Option<PathBuf>, dry_run: bool, reporter: &dyn Reporter) -> Result<GcReport> {
    let cache = Cache::open(&default_cache_dir(root, cache_dir))?;
    let _guard = cache.lock(reporter)?;
    let mut keys = HashSet::new();
    let mut listings = HashSet::new();
    for (_, lock) in project_lock_files(root)? {
        for stage in lock.stages.into_values() {
            keys.insert(stage.key);
            listings.extend(stage.definition.inputs.into_values());
        }
    }
    cache.gc(&keys, &listings, dry_run)
}

/// Every lock file of the project (`pipelines/*.lock`), by pipeline name,
/// sorted.
pub fn project_lock_files(root: &Path) -> Result<Vec<(String, LockFile)>> {
    let dir = root.join("pipelines");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).map_err(|e| Error::io(&dir, e))? {
        let path = entry.map_err(|e| Error::io(&dir, e))?.path();
        if path.extension().is_some_and(|e| e == "lock") {
            let name = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
            out.push((name, LockFile::read(&path)?));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

/// The cache directory: the one given, else `ACTIONBENCH_CACHE_DIR`, else
/// `.actionbench/` in the project root.
pub fn default_cache_dir(root: &Path, given: Option<PathBuf>) -> PathBuf {
    given
        .or_else(|| std::env::var_os(EnvVars::ACTIONBENCH_CACHE_DIR).map(PathBuf::from))
        .unwrap_or_else(|| root.join(".actionbench"))
}

fn read_stamp(dir: &Path) -> Option<LockedStage> {
    toml::from_str(&std::fs::read_to_string(dir.join(STAMP_FILE)).ok()?).ok()
}

/// What the engine recognises in an error chain: [`actionbench_core::Diagnostic`]
/// and its own errors.
fn probe<'e>(e: &'e (dyn std::error::Error + 'static)) -> Option<&'e dyn Diagnose> {
    diagnostic_probe(e).or_else(|| e.downcast_ref::<Error>().map(|e| e as &dyn Diagnose))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_and_quoting() {
        assert_eq!(placeholders("cat {@a} {@b-c} > x {@"), ["a", "b-c"]);
        assert_eq!(shell_quote("out/a.txt"), "out/a.txt");
        let quoted = shell_quote("it's here");
        assert_eq!(shlex::split(&quoted), Some(vec!["it's here".to_string()]), "{quoted}");
    }
}
