//! Built-in stage kinds: the trait they implement and the registry the
//! binary fills.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use actionbench_core::Fingerprint;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::inputs::ResolvedInput;
use crate::reporter::Reporter;
use crate::snapshot::FileStat;

/// Content hashes a stage took of files it wrote, with each file's stat
/// when it was reported (see [`StageContext::wrote_file`]).
pub(crate) type WrittenFiles = Mutex<HashMap<PathBuf, (Fingerprint, FileStat)>>;

/// Everything a built-in stage may look at while it runs.
pub struct StageContext<'a> {
    /// The pipeline's name.
    pub pipeline: &'a str,
    /// The stage's name.
    pub stage: &'a str,
    /// The project root.
    pub root: &'a Path,
    /// Where to write outputs: an empty work directory that the engine
    /// publishes (renames into the cache) only if `run` returns `Ok`.
    pub out_dir: &'a Path,
    /// The resolved inputs, in the order written.
    pub inputs: &'a [ResolvedInput],
    /// The canonical params (as returned by [`StageKind::canonical_params`]).
    pub params: &'a toml::Table,
    /// The key of the output being produced (to store in file metadata).
    pub key: Fingerprint,
    pub(crate) reporter: &'a dyn Reporter,
    pub(crate) written: &'a WrittenFiles,
}

impl StageContext<'_> {
    /// Reports progress (`total` is `None` when unknown).
    pub fn progress(&self, done: u64, total: Option<u64>) {
        self.reporter.stage_progress(self.stage, done, total);
    }

    /// Gives the engine the blake3 of a file this stage has written and
    /// closed (a shard writer hashes the bytes as it writes them), so the
    /// engine does not read the file again to record the stage's output.
    /// The hash is used only while the file keeps the size and mtime it
    /// has now; a file changed afterwards is hashed from its content.
    pub fn wrote_file(&self, path: &Path, hash: Fingerprint) {
        if let Ok(meta) = std::fs::metadata(path) {
            let mut written = self.written.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            written.insert(path.to_path_buf(), (hash, FileStat::of(&meta)));
        }
    }
}

/// A built-in stage kind, registered by name (`uses = "NAME"`).
///
/// Contract: `run` writes only below `ctx.out_dir` and is deterministic —
/// the same inputs and params give byte-identical files. When its output
/// would change for the same inputs, bump `implementation_version`.
pub trait StageKind: Send + Sync {
    /// The name used in `uses`, e.g. `ingest.ntu`.
    fn name(&self) -> &'static str;
    /// Bumped whenever the output changes for the same inputs and params.
    fn implementation_version(&self) -> u32;
    /// Checks params and returns them in canonical form (defaults filled
    /// in), or a message saying what is wrong. Unknown keys are errors.
    fn canonical_params(&self, params: &toml::Table) -> Result<toml::Table, String>;
    /// Versions of external tools whose change must re-run the stage.
    fn tool_versions(&self) -> BTreeMap<String, String> {
        BTreeMap::new()
    }
    /// Produces the outputs.
    fn run(&self, ctx: &StageContext<'_>) -> Result<(), Box<dyn std::error::Error + Send + Sync>>;
}

/// Deserialises params into a typed struct (use `#[serde(deny_unknown_fields)]`
/// on it) and returns it with its canonical table form.
pub fn typed_params<P: DeserializeOwned + Serialize>(params: &toml::Table) -> Result<(P, toml::Table), String> {
    let typed: P =
        toml::Value::Table(params.clone()).try_into().map_err(|e: toml::de::Error| e.message().to_string())?;
    let canonical = match toml::Value::try_from(&typed).map_err(|e| e.to_string())? {
        toml::Value::Table(t) => t,
        other => return Err(format!("params must be a table, found {}", other.type_str())),
    };
    Ok((typed, canonical))
}

/// The built-in stage kinds known to a binary.
#[derive(Default, Clone)]
pub struct Registry {
    kinds: BTreeMap<&'static str, Arc<dyn StageKind>>,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a kind (replacing one of the same name).
    pub fn register(&mut self, kind: impl StageKind + 'static) -> &mut Self {
        self.kinds.insert(kind.name(), Arc::new(kind));
        self
    }

    /// The kind of that name.
    pub fn get(&self, name: &str) -> Option<&Arc<dyn StageKind>> {
        self.kinds.get(name)
    }

    /// Every registered name, sorted.
    pub fn names(&self) -> Vec<&'static str> {
        self.kinds.keys().copied().collect()
    }
}
