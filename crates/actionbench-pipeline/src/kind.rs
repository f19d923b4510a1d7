//! Built-in stage kinds: the trait they implement and the registry the
//! binary fills.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use std::any::Any;

use actionbench_core::Fingerprint;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

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
    /// The canonical params, as hashed into the key (the typed params are
    /// `run`'s argument).
    pub params: &'a toml::Table,
    /// The key of the output being produced (to store in file metadata).
    pub key: Fingerprint,
    /// The cache directory this engine uses (the configured one), for
    /// scratch a stage keeps across runs, such as training checkpoints.
    pub cache_dir: &'a Path,
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

/// The error type a stage's `run` returns; the engine reports its message
/// and causes as the stage's failure.
pub type StageError = Box<dyn std::error::Error + Send + Sync>;

/// A built-in stage kind, registered by name (`uses = "NAME"`).
///
/// A kind declares its params once, as a serde type; the engine parses
/// them from the pipeline file once (so an error points at the offending
/// key's line), canonicalises them for the stage key and hands the typed
/// value to [`run`](Self::run).
///
/// Contract: `run` writes only below `ctx.out_dir` and is deterministic —
/// the same inputs and params give byte-identical files. When its output
/// would change for the same inputs, bump `implementation_version`.
pub trait StageKind: Send + Sync + 'static {
    /// `[stages.NAME.params]`: derive `Deserialize` with
    /// `#[serde(deny_unknown_fields)]` (unknown keys are errors),
    /// `Serialize` (the serialised form, defaults filled in, is the
    /// canonical table hashed into the stage key) and
    /// `schemars::JsonSchema` (the generated reference; doc comments on the
    /// fields are what users read there).
    type Params: DeserializeOwned + Serialize + schemars::JsonSchema + Send + Sync + 'static;
    /// The name used in `uses`, e.g. `ingest.ntu`.
    fn name(&self) -> &'static str;
    /// Bumped whenever the output changes for the same inputs and params.
    fn implementation_version(&self) -> u32;
    /// What the kind does and what it writes, for the reference (Markdown;
    /// the first paragraph is the summary).
    fn description(&self) -> &'static str {
        ""
    }
    /// Checks what the types cannot say (ranges, combinations of keys);
    /// the error names the key it is about, if one.
    fn check(&self, params: &Self::Params) -> Result<(), ParamError> {
        let _ = params;
        Ok(())
    }
    /// The canonical table hashed into the stage key: by default the params
    /// serialised. Override to make equivalent params hash alike (sorted,
    /// deduplicated lists); changing it changes the keys of existing stages.
    fn canonical(&self, params: &Self::Params) -> Result<toml::Table, ParamError> {
        to_table(params)
    }
    /// Versions of external tools whose change must re-run the stage.
    fn tool_versions(&self) -> BTreeMap<String, String> {
        BTreeMap::new()
    }
    /// Produces the outputs from the checked params.
    fn run(&self, ctx: &StageContext<'_>, params: &Self::Params) -> Result<(), StageError>;
    /// Whether the kind can run as parts (`partitions = N`); the error
    /// says why not, for the pipeline file's error.
    fn partitioning(&self) -> Result<(), String> {
        Err(format!("`{}` does not split its work into parts", self.name()))
    }
    /// Does part `part` of the work into `ctx.out_dir` (a part directory
    /// that only [`merge_parts`](Self::merge_parts) reads). Parts split the
    /// inputs deterministically, and run side by side (threads, processes
    /// or cluster jobs) without any lock.
    fn run_part(&self, ctx: &StageContext<'_>, params: &Self::Params, part: Part) -> Result<(), StageError> {
        let _ = (ctx, params);
        Err(format!("`{}` does not split its work into parts (asked for {part})", self.name()).into())
    }
    /// Writes the stage's output into `ctx.out_dir` from the complete part
    /// directories, in part order: the same bytes [`run`](Self::run) writes.
    fn merge_parts(&self, ctx: &StageContext<'_>, params: &Self::Params, parts: &[PathBuf]) -> Result<(), StageError> {
        let _ = (ctx, params, parts);
        Err(format!("`{}` does not split its work into parts", self.name()).into())
    }
}

/// One part of a partitioned stage: `index` from 0 to `count − 1` (a SLURM
/// array task id).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Part {
    /// Which part, from 0.
    pub index: u32,
    /// How many parts there are.
    pub count: u32,
}

impl Part {
    /// The part's directory name in the cache (`2-of-4`).
    pub fn dir_name(&self) -> String {
        format!("{}-of-{}", self.index, self.count)
    }

    /// Which of `n` items (in their fixed order) belong to this part: a
    /// contiguous run, the parts' sizes differing by at most one.
    pub fn range(&self, n: usize) -> std::ops::Range<usize> {
        let (i, k) = (self.index as usize, self.count.max(1) as usize);
        (i * n / k)..((i + 1) * n / k)
    }
}

impl std::fmt::Display for Part {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "part {} of {}", self.index, self.count)
    }
}

/// What is wrong with a stage's params: the key (a dotted path below
/// `params`, such as `data.batch-size`), when the error is about one, and
/// the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamError {
    /// The offending key below `params`, dotted; `None` for the whole table.
    pub key: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl ParamError {
    /// An error about the params as a whole — or about the key the message
    /// starts with, in backticks (``"`max-bodies` must be at least 1"``),
    /// which is how the kinds word their checks.
    pub fn new(message: impl Into<String>) -> Self {
        let message = message.into();
        Self { key: leading_key(&message), message }
    }

    /// An error about one key (`data.batch-size` for a nested one).
    pub fn at(key: impl Into<String>, message: impl Into<String>) -> Self {
        Self { key: Some(key.into()), message: message.into() }
    }
}

/// The key a message starts with: its first backticked word, when that is
/// a key (letters, digits, `-`, `_`, `.`), as in "`device = \"cuda\"` needs".
fn leading_key(message: &str) -> Option<String> {
    let rest = message.strip_prefix('`')?;
    let quoted = &rest[..rest.find('`')?];
    let key = quoted.split([' ', '=']).next()?;
    let is_key = !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    is_key.then(|| key.to_string())
}

/// Says the key first unless the message already names it.
pub(crate) fn with_key(key: Option<&str>, message: &str) -> String {
    let named = |name: &str| message.contains(&format!("`{name}`"));
    match key {
        Some(key) if !named(key) && !named(key.rsplit('.').next().unwrap_or(key)) => format!("`{key}`: {message}"),
        _ => message.to_string(),
    }
}

impl std::fmt::Display for ParamError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&with_key(self.key.as_deref(), &self.message))
    }
}

impl std::error::Error for ParamError {}

impl From<String> for ParamError {
    fn from(message: String) -> Self {
        Self::new(message)
    }
}

impl From<&str> for ParamError {
    fn from(message: &str) -> Self {
        Self::new(message)
    }
}

/// Serialises params into the table form hashed into stage keys.
pub fn to_table<P: Serialize>(params: &P) -> Result<toml::Table, ParamError> {
    match toml::Value::try_from(params).map_err(|e| ParamError::new(e.to_string()))? {
        toml::Value::Table(t) => Ok(t),
        other => Err(ParamError::new(format!("params must be a table, found {}", other.type_str()))),
    }
}

/// Params parsed once by the engine: the typed value handed to `run` and
/// the canonical table hashed into the key.
#[derive(Clone)]
pub(crate) struct ParsedParams {
    pub(crate) typed: Arc<dyn Any + Send + Sync>,
    pub(crate) canonical: toml::Table,
}

impl ParsedParams {
    /// Params of a command stage (nothing typed, empty table).
    pub(crate) fn none() -> Self {
        Self { typed: Arc::new(()), canonical: toml::Table::new() }
    }
}

/// Why params could not be parsed: a deserialisation error (with the byte
/// span in the pipeline source when known) or a failed check.
pub(crate) enum ParamFailure {
    Deserialize { message: String, span: Option<std::ops::Range<usize>> },
    Check(ParamError),
}

/// A [`StageKind`] with its `Params` type erased, as the registry keeps it
/// (the way DataFusion keeps a `ScalarUDFImpl` behind `ScalarUDF`).
trait ErasedKind: Send + Sync {
    fn name(&self) -> &'static str;
    fn description(&self) -> &'static str;
    fn params_schema(&self) -> serde_json::Value;
    fn implementation_version(&self) -> u32;
    fn tool_versions(&self) -> BTreeMap<String, String>;
    fn parse_params(&self, de: toml::de::ValueDeserializer<'_>) -> Result<ParsedParams, ParamFailure>;
    fn parse_table(&self, table: &toml::Table) -> Result<ParsedParams, ParamFailure>;
    fn run(&self, ctx: &StageContext<'_>, params: &(dyn Any + Send + Sync)) -> Result<(), StageError>;
    fn partitioning(&self) -> Result<(), String>;
    fn run_part(&self, ctx: &StageContext<'_>, params: &(dyn Any + Send + Sync), part: Part) -> Result<(), StageError>;
    fn merge_parts(
        &self,
        ctx: &StageContext<'_>,
        params: &(dyn Any + Send + Sync),
        parts: &[PathBuf],
    ) -> Result<(), StageError>;
}

struct Erased<K>(K);

impl<K: StageKind> Erased<K> {
    fn finish(&self, typed: K::Params) -> Result<ParsedParams, ParamFailure> {
        self.0.check(&typed).map_err(ParamFailure::Check)?;
        let canonical = self.0.canonical(&typed).map_err(ParamFailure::Check)?;
        Ok(ParsedParams { typed: Arc::new(typed), canonical })
    }
}

impl<K: StageKind> ErasedKind for Erased<K> {
    fn name(&self) -> &'static str {
        self.0.name()
    }
    fn description(&self) -> &'static str {
        self.0.description()
    }
    fn params_schema(&self) -> serde_json::Value {
        schemars::schema_for!(K::Params).to_value()
    }
    fn implementation_version(&self) -> u32 {
        self.0.implementation_version()
    }
    fn tool_versions(&self) -> BTreeMap<String, String> {
        self.0.tool_versions()
    }
    fn parse_params(&self, de: toml::de::ValueDeserializer<'_>) -> Result<ParsedParams, ParamFailure> {
        let typed = K::Params::deserialize(de)
            .map_err(|e| ParamFailure::Deserialize { message: e.message().to_string(), span: e.span() })?;
        self.finish(typed)
    }
    fn parse_table(&self, table: &toml::Table) -> Result<ParsedParams, ParamFailure> {
        let typed: K::Params = toml::Value::Table(table.clone())
            .try_into()
            .map_err(|e: toml::de::Error| ParamFailure::Deserialize { message: e.message().to_string(), span: None })?;
        self.finish(typed)
    }
    fn run(&self, ctx: &StageContext<'_>, params: &(dyn Any + Send + Sync)) -> Result<(), StageError> {
        self.0.run(ctx, self.typed(params)?)
    }
    fn partitioning(&self) -> Result<(), String> {
        self.0.partitioning()
    }
    fn run_part(&self, ctx: &StageContext<'_>, params: &(dyn Any + Send + Sync), part: Part) -> Result<(), StageError> {
        self.0.run_part(ctx, self.typed(params)?, part)
    }
    fn merge_parts(
        &self,
        ctx: &StageContext<'_>,
        params: &(dyn Any + Send + Sync),
        parts: &[PathBuf],
    ) -> Result<(), StageError> {
        self.0.merge_parts(ctx, self.typed(params)?, parts)
    }
}

impl<K: StageKind> Erased<K> {
    fn typed<'p>(&self, params: &'p (dyn Any + Send + Sync)) -> Result<&'p K::Params, StageError> {
        params.downcast_ref::<K::Params>().ok_or_else(|| -> StageError {
            format!("internal error: params of `{}` were parsed by another kind", self.0.name()).into()
        })
    }
}

/// A registered stage kind, whatever its params type.
#[derive(Clone)]
pub struct RegisteredKind {
    inner: Arc<dyn ErasedKind>,
}

impl RegisteredKind {
    /// The name used in `uses`.
    pub fn name(&self) -> &'static str {
        self.inner.name()
    }

    /// See [`StageKind::implementation_version`].
    pub fn implementation_version(&self) -> u32 {
        self.inner.implementation_version()
    }

    /// See [`StageKind::description`].
    pub fn description(&self) -> &'static str {
        self.inner.description()
    }

    /// The JSON Schema of the kind's params.
    pub fn params_schema(&self) -> serde_json::Value {
        self.inner.params_schema()
    }

    /// See [`StageKind::tool_versions`].
    pub fn tool_versions(&self) -> BTreeMap<String, String> {
        self.inner.tool_versions()
    }

    /// Checks a params table (as the engine does, without file positions)
    /// and returns its canonical form, or what is wrong.
    pub fn canonical_params(&self, params: &toml::Table) -> Result<toml::Table, String> {
        match self.inner.parse_table(params) {
            Ok(parsed) => Ok(parsed.canonical),
            Err(ParamFailure::Deserialize { message, .. }) => Err(message),
            Err(ParamFailure::Check(e)) => Err(e.to_string()),
        }
    }

    pub(crate) fn parse_params(&self, de: toml::de::ValueDeserializer<'_>) -> Result<ParsedParams, ParamFailure> {
        self.inner.parse_params(de)
    }

    pub(crate) fn parse_table(&self, table: &toml::Table) -> Result<ParsedParams, ParamFailure> {
        self.inner.parse_table(table)
    }

    pub(crate) fn run(&self, ctx: &StageContext<'_>, params: &(dyn Any + Send + Sync)) -> Result<(), StageError> {
        self.inner.run(ctx, params)
    }

    /// See [`StageKind::partitioning`].
    pub fn partitioning(&self) -> Result<(), String> {
        self.inner.partitioning()
    }

    pub(crate) fn run_part(
        &self,
        ctx: &StageContext<'_>,
        params: &(dyn Any + Send + Sync),
        part: Part,
    ) -> Result<(), StageError> {
        self.inner.run_part(ctx, params, part)
    }

    pub(crate) fn merge_parts(
        &self,
        ctx: &StageContext<'_>,
        params: &(dyn Any + Send + Sync),
        parts: &[PathBuf],
    ) -> Result<(), StageError> {
        self.inner.merge_parts(ctx, params, parts)
    }
}

/// The built-in stage kinds known to a binary.
#[derive(Default, Clone)]
pub struct Registry {
    kinds: BTreeMap<&'static str, RegisteredKind>,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a kind (replacing one of the same name).
    pub fn register(&mut self, kind: impl StageKind) -> &mut Self {
        self.kinds.insert(kind.name(), RegisteredKind { inner: Arc::new(Erased(kind)) });
        self
    }

    /// The kind of that name.
    pub fn get(&self, name: &str) -> Option<&RegisteredKind> {
        self.kinds.get(name)
    }

    /// Every registered name, sorted.
    pub fn names(&self) -> Vec<&'static str> {
        self.kinds.keys().copied().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::Part;

    #[test]
    fn parts_cover_every_item_once_in_order_and_evenly() {
        for n in [0usize, 1, 5, 7, 100, 101] {
            for count in 1..=9u32 {
                let ranges: Vec<_> = (0..count).map(|index| Part { index, count }.range(n)).collect();
                assert_eq!(ranges[0].start, 0);
                assert_eq!(ranges.last().unwrap().end, n);
                for w in ranges.windows(2) {
                    assert_eq!(w[0].end, w[1].start, "{n} items in {count} parts: {ranges:?}");
                }
                let sizes: Vec<usize> = ranges.iter().map(|r| r.len()).collect();
                let (min, max) = (sizes.iter().min().unwrap(), sizes.iter().max().unwrap());
                assert!(max - min <= 1, "{n} items in {count} parts: {sizes:?}");
            }
        }
        assert_eq!(Part { index: 2, count: 4 }.dir_name(), "2-of-4");
        assert_eq!(Part { index: 2, count: 4 }.to_string(), "part 2 of 4");
    }
}
