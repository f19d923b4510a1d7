//! Pipeline files: `pipelines/NAME.toml`, parsed with positions so every
//! error names the file and line.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use actionbench_core::ProjectPath;
use std::sync::Arc;

use serde::Deserialize;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::error::{Error, Result};
use crate::kind::ParamFailure;
use crate::matrix::{Combo, Matrices, Matrix, instance_name, substitute_text, substitute_value};

/// A parsed, checked pipeline file.
#[derive(Debug, Clone)]
pub struct PipelineDef {
    /// The pipeline's name: the file stem.
    pub name: String,
    /// The project root (the directory holding `pipelines/`).
    pub root: PathBuf,
    /// The file, absolute.
    pub path: PathBuf,
    /// The file as shown in messages (relative to the project root).
    pub display_path: String,
    /// Optional free text.
    pub description: Option<String>,
    /// Stages in file order.
    pub stages: Vec<StageDef>,
    /// The file's text, kept so that param errors can point at their key.
    source: Arc<str>,
}

/// One `[stages.NAME]` table, or one instance of a table with a `matrix`.
#[derive(Debug, Clone)]
pub struct StageDef {
    /// The stage's name (`train@seed=0` for an instance of a matrix).
    pub name: String,
    /// The `[stages.TABLE]` it comes from (the name, without a matrix).
    pub table: String,
    /// This instance's matrix values (`None`: the table has no matrix).
    pub matrix: Option<Combo>,
    /// `-S` overrides applied to it, as given on the command line.
    pub overrides: Vec<String>,
    /// Line of its `[stages.NAME]` header.
    pub line: usize,
    /// Optional free text.
    pub description: Option<String>,
    /// Built-in or command.
    pub body: StageBody,
    /// What it asks of a cluster node (`resources = {...}`; not in its key).
    pub resources: crate::resources::Resources,
}

/// An entry of `inputs`, `deps` or `outs`, with its line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// As written.
    pub text: String,
    /// 1-based line.
    pub line: usize,
}

impl Entry {
    /// The stage named by an `@stage` entry.
    pub fn stage_ref(&self) -> Option<&str> {
        self.text.strip_prefix('@')
    }
}

/// The most parts a stage may be split into (a SLURM array of this size is
/// within every site's `MaxArraySize` default of 1001).
pub const MAX_PARTITIONS: u32 = 1000;

/// What a stage does.
#[derive(Debug, Clone)]
pub enum StageBody {
    /// `uses = "kind"`: a built-in stage kind, writing into the cache.
    Builtin {
        /// The kind's registered name.
        uses: String,
        /// Line of `uses`.
        uses_line: usize,
        /// Files, directories, globs or `@stage` outputs.
        inputs: Vec<Entry>,
        /// The params as written (checked by the kind).
        params: toml::Table,
        /// Line of `params` (or of the header when absent).
        params_line: usize,
        /// `partitions = N`: the stage runs as N parts and a merge
        /// (N local workers, or a SLURM array); 1 when absent. Not part of
        /// the key: the merge writes what one process would.
        partitions: u32,
        /// Line of `partitions` (or of the header when absent).
        partitions_line: usize,
    },
    /// `cmd = "..."`: a shell command run from the project root.
    Command {
        /// The command line, run with `sh -c`.
        cmd: String,
        /// What its key depends on.
        deps: Vec<Entry>,
        /// What it must produce (project-relative).
        outs: Vec<(ProjectPath, usize)>,
        /// Tool probes: name → command whose output is the tool's version.
        tools: BTreeMap<String, String>,
    },
}

impl StageBody {
    /// The entries this stage reads: `inputs` or `deps`.
    pub fn input_entries(&self) -> &[Entry] {
        match self {
            StageBody::Builtin { inputs, .. } => inputs,
            StageBody::Command { deps, .. } => deps,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    description: Option<String>,
    #[serde(default)]
    stages: BTreeMap<Spanned<String>, Spanned<RawStage>>,
}

#[derive(Deserialize, Clone)]
#[serde(deny_unknown_fields)]
struct RawStage {
    description: Option<String>,
    uses: Option<Spanned<String>>,
    inputs: Option<Vec<Spanned<String>>>,
    params: Option<Spanned<toml::Table>>,
    cmd: Option<Spanned<String>>,
    deps: Option<Vec<Spanned<String>>>,
    outs: Option<Vec<Spanned<String>>>,
    tools: Option<Spanned<BTreeMap<String, String>>>,
    matrix: Option<Spanned<toml::Table>>,
    resources: Option<Spanned<toml::Table>>,
    partitions: Option<Spanned<toml::Value>>,
}

/// 1-based line and column of a byte offset.
pub(crate) fn line_col(source: &str, offset: usize) -> (usize, usize) {
    let before = &source[..offset.min(source.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// The nearest directory at or above `start` that holds `pipelines/`.
pub fn find_project_root(start: &Path) -> Result<PathBuf> {
    let mut dir = Some(start);
    while let Some(d) = dir {
        if d.join("pipelines").is_dir() {
            return Ok(d.to_path_buf());
        }
        dir = d.parent();
    }
    Err(Error::NoProject { start: start.to_path_buf() })
}

fn valid_stage_name(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// A stage name in a reference: a table name, or an instance of a matrix
/// (`train@seed=0,lr=0.1`).
fn valid_stage_ref(name: &str) -> bool {
    match name.split_once('@') {
        None => valid_stage_name(name),
        Some((base, combo)) => {
            valid_stage_name(base)
                && !combo.is_empty()
                && combo.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '=' | ','))
        }
    }
}

impl PipelineDef {
    /// Finds and parses a pipeline given as a name (`ntu60-xsub`, looked up
    /// in `pipelines/` of the project around `cwd`) or a path to a `.toml`.
    pub fn load(arg: &str, cwd: &Path) -> Result<Self> {
        let looks_like_path = arg.ends_with(".toml") || arg.contains('/');
        let (root, path) = if looks_like_path {
            let path = cwd.join(arg);
            if !path.is_file() {
                return Err(Error::PipelineNotFound { name: arg.to_string(), path });
            }
            let path = path.canonicalize().map_err(|e| Error::io(&path, e))?;
            let parent = path.parent().unwrap_or(Path::new("/"));
            let root = if parent.file_name().is_some_and(|n| n == "pipelines") {
                parent.parent().unwrap_or(parent).to_path_buf()
            } else {
                find_project_root(parent)?
            };
            (root, path)
        } else {
            let root = find_project_root(cwd)?;
            let root = root.canonicalize().map_err(|e| Error::io(&root, e))?;
            let path = root.join("pipelines").join(format!("{arg}.toml"));
            if !path.is_file() {
                return Err(Error::PipelineNotFound { name: arg.to_string(), path });
            }
            (root, path)
        };
        let source = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        let name = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        let display_path =
            path.strip_prefix(&root).map(|p| p.display().to_string()).unwrap_or_else(|_| path.display().to_string());
        Self::parse(&name, &root, &path, &display_path, &source)
    }

    /// Parses pipeline source text; `display_path` is used in messages.
    pub fn parse(name: &str, root: &Path, path: &Path, display_path: &str, source: &str) -> Result<Self> {
        let file = display_path.to_string();
        let raw: RawFile = toml::from_str(source).map_err(|e| {
            let (line, column) = e.span().map_or((1, 1), |s| line_col(source, s.start));
            Error::Syntax { file: file.clone(), line, column, message: e.message().to_string() }
        })?;
        let line_of = |offset: usize| line_col(source, offset).0;

        // Tables with a `matrix` first: references to them follow the expansion.
        let mut matrices = Matrices::default();
        for (name, stage) in &raw.stages {
            if let Some(m) = &stage.get_ref().matrix {
                let matrix = Matrix::parse(m.get_ref()).map_err(|message| Error::Definition {
                    file: file.clone(),
                    line: line_of(m.span().start),
                    stage: name.get_ref().clone(),
                    message,
                    hint: Some("Write `matrix = { seed = [0, 1, 2] }`: one stage per combination".into()),
                })?;
                matrices.0.insert(name.get_ref().clone(), matrix);
            }
        }
        let mut stages = Vec::new();
        for (table_name, stage) in raw.stages {
            let line = line_of(stage.span().start);
            let table_name = table_name.into_inner();
            if !valid_stage_name(&table_name) {
                return Err(Error::Definition {
                    file: file.clone(),
                    line,
                    stage: table_name,
                    message: "stage names may use only letters, digits, `-` and `_`".into(),
                    hint: Some("Stage names become file and SQL table names; rename the stage".into()),
                });
            }
            let combos: Vec<Option<Combo>> = match matrices.0.get(&table_name) {
                Some(m) => m.combinations().into_iter().map(Some).collect(),
                None => vec![None],
            };
            for combo in combos {
                let name = combo.as_ref().map_or_else(|| table_name.clone(), |c| instance_name(&table_name, c));
                let raw = expand_raw(
                    stage.get_ref(),
                    combo.as_ref(),
                    &matrices,
                    &|line, message| Error::Definition {
                        file: file.clone(),
                        line,
                        stage: name.clone(),
                        message,
                        hint: None,
                    },
                    &line_of,
                )?;
                let def = build_stage(raw, name, table_name.clone(), combo, line, &file, &line_of)?;
                stages.push(def);
            }
        }
        stages.sort_by_key(|s| s.line);
        Ok(PipelineDef {
            name: name.to_string(),
            root: root.to_path_buf(),
            path: path.to_path_buf(),
            display_path: file,
            description: raw.description,
            stages,
            source: Arc::from(source),
        })
    }

    /// Applies a one-off override `STAGE.params.KEY.PATH=VALUE` (VALUE in
    /// TOML syntax; a bare word is a string). `STAGE` is a stage or a matrix
    /// table (every instance). The changed params give the stage a new
    /// key; the override is recorded with its runs.
    pub fn apply_override(&mut self, spec: &str) -> Result<()> {
        let fail = |message: String, hint: &str| Error::Override {
            spec: spec.to_string(),
            message,
            hint: Some(hint.to_string()),
        };
        let form = "Write -S STAGE.params.KEY=VALUE, e.g. -S train.params.train.lr=0.05";
        let Some((stage, rest)) = spec.split_once(".params.") else {
            return Err(fail("does not name `STAGE.params.KEY`".into(), form));
        };
        let Some((path, value)) = rest.split_once('=') else {
            return Err(fail("has no `=VALUE`".into(), form));
        };
        let keys: Vec<&str> = path.trim().split('.').collect();
        if keys.iter().any(|k| k.is_empty()) {
            return Err(fail(format!("`{path}` is not a dotted key"), form));
        }
        let value = parse_override_value(value.trim());
        let targets: Vec<usize> = match self.stages.iter().position(|s| s.name == stage) {
            Some(i) => vec![i],
            None => (0..self.stages.len()).filter(|&i| self.stages[i].table == stage).collect(),
        };
        if targets.is_empty() {
            let mut names: Vec<&str> = Vec::new();
            for s in &self.stages {
                if !names.contains(&s.table.as_str()) {
                    names.push(&s.table);
                }
            }
            let hint = actionbench_core::suggest::did_you_mean(stage, names.iter().copied())
                .unwrap_or_else(|| format!("The stages are: {}", names.join(", ")));
            return Err(fail(format!("pipeline `{}` has no stage `{stage}`", self.name), &hint));
        }
        for i in targets {
            let def = &mut self.stages[i];
            let StageBody::Builtin { params, .. } = &mut def.body else {
                return Err(fail(
                    format!("stage `{}` is a command; only built-in stages have params", def.name),
                    "Change a command stage in its pipeline file",
                ));
            };
            let mut table = params;
            for (n, key) in keys.iter().enumerate() {
                if n + 1 == keys.len() {
                    table.insert(key.to_string(), value.clone());
                    break;
                }
                let entry = table.entry(key.to_string()).or_insert_with(|| toml::Value::Table(toml::Table::new()));
                let toml::Value::Table(inner) = entry else {
                    return Err(fail(
                        format!("`{}` of stage `{}` is a value, not a table", keys[..=n].join("."), def.name),
                        "Override the value itself, or a key of a table",
                    ));
                };
                table = inner;
            }
            def.overrides.push(spec.to_string());
        }
        Ok(())
    }

    /// The file's text as parsed.
    pub(crate) fn source_text(&self) -> Arc<str> {
        self.source.clone()
    }

    /// The stage of that name.
    pub fn stage(&self, name: &str) -> Option<&StageDef> {
        self.stages.iter().find(|s| s.name == name)
    }

    /// A definition error at `line` of `stage`.
    pub(crate) fn error(&self, stage: &str, line: usize, message: String, hint: Option<String>) -> Error {
        Error::Definition { file: self.display_path.clone(), line, stage: stage.to_string(), message, hint }
    }

    /// The error for params of `stage` (kind `uses`) that failed to parse
    /// or check, at the offending key when `doc` (this file, parsed with
    /// positions) finds it, else at `params_line`.
    pub(crate) fn param_error(
        &self,
        doc: Option<&Spanned<DeTable<'_>>>,
        stage: &StageDef,
        uses: &str,
        params_line: usize,
        failure: ParamFailure,
    ) -> Error {
        let params = doc.and_then(|doc| params_value(doc, &stage.table));
        let (message, key, span) = match failure {
            ParamFailure::Deserialize { message, span } => {
                let key = match (params, &span) {
                    (Some(params), Some(span)) => key_at(params, span.start),
                    _ => None,
                };
                (message, key, span)
            }
            ParamFailure::Check(e) => {
                let span = match (params, &e.key) {
                    (Some(params), Some(key)) => key_span(params, key),
                    _ => None,
                };
                (e.message, e.key, span)
            }
        };
        let (line, column) = match span {
            Some(span) => line_col(&self.source, span.start),
            None => (params_line, 1),
        };
        Error::Param(Box::new(crate::error::BadParam {
            file: self.display_path.clone(),
            line,
            column,
            stage: stage.name.clone(),
            kind: uses.to_string(),
            key,
            message,
        }))
    }
}

/// `raw` for one instance: `{matrix.KEY}` substituted and references to
/// matrix stages re-pointed at their instances.
fn expand_raw(
    raw: &RawStage,
    combo: Option<&Combo>,
    matrices: &Matrices,
    err: &dyn Fn(usize, String) -> Error,
    line_of: &dyn Fn(usize) -> usize,
) -> Result<RawStage> {
    let mut raw = raw.clone();
    let text = |s: &Spanned<String>| -> Result<Spanned<String>> {
        let value = substitute_text(s.get_ref(), combo).map_err(|m| err(line_of(s.span().start), m))?;
        Ok(Spanned::new(s.span(), value))
    };
    let list = |list: &Option<Vec<Spanned<String>>>, follow: bool| -> Result<Option<Vec<Spanned<String>>>> {
        let Some(list) = list else { return Ok(None) };
        let mut out = Vec::new();
        for entry in list {
            let entry = text(entry)?;
            if !follow {
                out.push(entry);
                continue;
            }
            let followed =
                matrices.follow_entry(entry.get_ref(), combo).map_err(|m| err(line_of(entry.span().start), m))?;
            out.extend(followed.into_iter().map(|t| Spanned::new(entry.span(), t)));
        }
        Ok(Some(out))
    };
    raw.inputs = list(&raw.inputs, true)?;
    raw.deps = list(&raw.deps, true)?;
    raw.outs = list(&raw.outs, false)?;
    if let Some(cmd) = &raw.cmd {
        let substituted = text(cmd)?;
        let followed =
            matrices.follow_command(substituted.get_ref(), combo).map_err(|m| err(line_of(cmd.span().start), m))?;
        raw.cmd = Some(Spanned::new(cmd.span(), followed));
    }
    if let Some(uses) = &raw.uses {
        raw.uses = Some(text(uses)?);
    }
    if let Some(params) = &raw.params {
        let mut value = toml::Value::Table(params.get_ref().clone());
        let at = line_of(params.span().start);
        substitute_value(&mut value, combo).map_err(|m| err(at, m))?;
        matrices.follow_params(&mut value, combo).map_err(|m| err(at, m))?;
        let toml::Value::Table(table) = value else { unreachable!("a table stays a table") };
        raw.params = Some(Spanned::new(params.span(), table));
    }
    if let Some(tools) = &raw.tools {
        let mut out = BTreeMap::new();
        for (name, probe) in tools.get_ref() {
            out.insert(name.clone(), substitute_text(probe, combo).map_err(|m| err(line_of(tools.span().start), m))?);
        }
        raw.tools = Some(Spanned::new(tools.span(), out));
    }
    if let Some(d) = &raw.description {
        raw.description = Some(substitute_text(d, combo).unwrap_or_else(|_| d.clone()));
    }
    Ok(raw)
}

/// One stage from its (expanded) table.
fn build_stage(
    raw: RawStage,
    name: String,
    table: String,
    matrix: Option<Combo>,
    line: usize,
    file: &str,
    line_of: &dyn Fn(usize) -> usize,
) -> Result<StageDef> {
    let def_err = |line: usize, message: String, hint: Option<&str>| Error::Definition {
        file: file.to_string(),
        line,
        stage: name.clone(),
        message,
        hint: hint.map(str::to_string),
    };
    let entries = |list: Option<Vec<Spanned<String>>>| -> Vec<Entry> {
        list.unwrap_or_default()
            .into_iter()
            .map(|s| Entry { line: line_of(s.span().start), text: s.into_inner() })
            .collect()
    };
    let body = match (raw.uses, raw.cmd) {
        (Some(_), Some(cmd)) => {
            return Err(def_err(
                line_of(cmd.span().start),
                "has both `uses` and `cmd`".into(),
                Some("A stage is either a built-in kind (`uses`) or a command (`cmd`), not both"),
            ));
        }
        (None, None) => {
            return Err(def_err(
                line,
                "has neither `uses` nor `cmd`".into(),
                Some("Add `uses = \"KIND\"` for a built-in stage or `cmd = \"...\"` for a command"),
            ));
        }
        (Some(uses), None) => {
            for (field, present) in
                [("deps", raw.deps.is_some()), ("outs", raw.outs.is_some()), ("tools", raw.tools.is_some())]
            {
                if present {
                    return Err(def_err(
                        line,
                        format!("`{field}` belongs to command stages; this stage `uses` a built-in kind"),
                        Some("Built-in stages take `inputs` and `params` and write into the cache"),
                    ));
                }
            }
            let inputs = entries(raw.inputs);
            check_input_paths(&inputs, &def_err)?;
            let (params, params_line) = match raw.params {
                Some(p) => {
                    let params_line = line_of(p.span().start);
                    (p.into_inner(), params_line)
                }
                None => (toml::Table::new(), line),
            };
            let (partitions, partitions_line) = match raw.partitions {
                None => (1, line),
                Some(n) => {
                    let at = line_of(n.span().start);
                    let value = n.get_ref();
                    let whole = value.as_integer().and_then(|v| u32::try_from(v).ok());
                    let n = whole.filter(|n| (1..=MAX_PARTITIONS).contains(n)).ok_or_else(|| {
                        def_err(
                            at,
                            format!("`partitions` must be a whole number from 1 to {MAX_PARTITIONS}, not {value}"),
                            Some("`partitions = N` splits the stage's inputs into N parts run side by side, then merges them"),
                        )
                    })?;
                    (n, at)
                }
            };
            StageBody::Builtin {
                uses_line: line_of(uses.span().start),
                uses: uses.into_inner(),
                inputs,
                params,
                params_line,
                partitions,
                partitions_line,
            }
        }
        (None, Some(cmd)) => {
            for (field, present) in [
                ("inputs", raw.inputs.is_some()),
                ("params", raw.params.is_some()),
                ("partitions", raw.partitions.is_some()),
            ] {
                if present {
                    return Err(def_err(
                        line,
                        format!("`{field}` belongs to built-in stages; this stage is a `cmd`"),
                        Some("A command stage lists what its key depends on in `deps` and what it writes in `outs`"),
                    ));
                }
            }
            if cmd.get_ref().trim().is_empty() {
                return Err(def_err(line_of(cmd.span().start), "`cmd` is empty".into(), None));
            }
            let deps = entries(raw.deps);
            check_input_paths(&deps, &def_err)?;
            let mut outs = Vec::new();
            for out in entries(raw.outs) {
                if out.stage_ref().is_some() {
                    return Err(def_err(
                        out.line,
                        format!("`outs` entry `{}` names a stage; outs are paths", out.text),
                        None,
                    ));
                }
                let path = ProjectPath::new(&out.text).map_err(|e| {
                    def_err(
                        out.line,
                        format!("bad `outs` entry: {e}"),
                        Some("Outputs are written inside the project; use a relative path"),
                    )
                })?;
                outs.push((path, out.line));
            }
            StageBody::Command {
                cmd: cmd.into_inner(),
                deps,
                outs,
                tools: raw.tools.map(Spanned::into_inner).unwrap_or_default(),
            }
        }
    };
    let resources = match raw.resources {
        None => crate::resources::Resources::default(),
        Some(table) => {
            let at = line_of(table.span().start);
            let hint = Some(
                "`resources` takes cpus, mem (\"32G\"), gpus, time (\"HH:MM:SS\"), partition and sbatch (a list of `--option=value`)",
            );
            let parsed: crate::resources::Resources = toml::Value::Table(table.into_inner())
                .try_into()
                .map_err(|e: toml::de::Error| def_err(at, format!("bad `resources`: {}", e.message()), hint))?;
            parsed.check().map_err(|m| def_err(at, format!("bad `resources`: {m}"), hint))?;
            parsed
        }
    };
    Ok(StageDef { name, table, matrix, overrides: Vec::new(), line, description: raw.description, body, resources })
}

/// An override's value: TOML (`0.05`, `true`, `[1, 2]`, `"text"`), or the
/// text itself when it is not TOML (`-S s.params.device=cuda`).
fn parse_override_value(text: &str) -> toml::Value {
    toml::from_str::<toml::Table>(&format!("v = {text}"))
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(text.to_string()))
}

/// `stages.STAGE.params` of a pipeline file parsed with positions.
pub(crate) fn params_value<'a, 'i>(doc: &'a Spanned<DeTable<'i>>, stage: &str) -> Option<&'a Spanned<DeValue<'i>>> {
    let stages = doc.get_ref().get("stages")?.get_ref();
    let DeValue::Table(stages) = stages else { return None };
    let DeValue::Table(stage) = stages.get(stage)?.get_ref() else { return None };
    stage.get("params")
}

/// The dotted path of the innermost key at byte `offset` (in the key or
/// its value) below `value`.
fn key_at(value: &Spanned<DeValue<'_>>, offset: usize) -> Option<String> {
    let DeValue::Table(table) = value.get_ref() else { return None };
    for (key, child) in table.iter() {
        if key.span().contains(&offset) {
            return Some(key.get_ref().to_string());
        }
        if child.span().contains(&offset) {
            let name = key.get_ref().to_string();
            return Some(match key_at(child, offset) {
                Some(inner) => format!("{name}.{inner}"),
                None => name,
            });
        }
    }
    None
}

/// The span of the key at a dotted `path` below `value` (the innermost key
/// found, when the path goes deeper than the file).
fn key_span(value: &Spanned<DeValue<'_>>, path: &str) -> Option<std::ops::Range<usize>> {
    let (first, rest) = match path.split_once('.') {
        Some((first, rest)) => (first, Some(rest)),
        None => (path, None),
    };
    let DeValue::Table(table) = value.get_ref() else { return None };
    let (key, child) = table.iter().find(|(k, _)| &**k.get_ref() == first)?;
    match rest {
        Some(rest) => key_span(child, rest).or_else(|| Some(key.span())),
        None => Some(key.span()),
    }
}

fn check_input_paths(entries: &[Entry], def_err: &dyn Fn(usize, String, Option<&str>) -> Error) -> Result<()> {
    for entry in entries {
        if let Some(stage) = entry.stage_ref() {
            if !valid_stage_ref(stage) {
                return Err(def_err(entry.line, format!("`{}` is not a valid stage reference", entry.text), None));
            }
            continue;
        }
        // Absolute paths name data outside the project (read only); relative
        // paths must stay inside it.
        if !Path::new(&entry.text).is_absolute() {
            ProjectPath::new(&entry.text).map_err(|e| {
                def_err(
                    entry.line,
                    format!("bad input `{}`: {e}", entry.text),
                    Some("Use a path inside the project, or an absolute path for data stored elsewhere"),
                )
            })?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(src: &str) -> Result<PipelineDef> {
        PipelineDef::parse("p", Path::new("/proj"), Path::new("/proj/pipelines/p.toml"), "pipelines/p.toml", src)
    }

    #[test]
    fn parses_both_stage_forms_in_file_order() {
        let p = parse(
            "[stages.b]\nuses = \"files.manifest\"\ninputs = [\"data\"]\nparams = { hash = true }\n\n\
             [stages.a]\ncmd = \"echo hi > out/a.txt\"\ndeps = [\"@b\"]\nouts = [\"out/a.txt\"]\n",
        )
        .unwrap();
        assert_eq!(p.stages.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(), ["b", "a"]);
        assert_eq!(p.stages[1].line, 6);
        match &p.stages[0].body {
            StageBody::Builtin { uses, params, params_line, inputs, .. } => {
                assert_eq!(uses, "files.manifest");
                assert_eq!(params.get("hash"), Some(&toml::Value::Boolean(true)));
                assert_eq!(*params_line, 4);
                assert_eq!(inputs[0], Entry { text: "data".into(), line: 3 });
            }
            other => panic!("expected a built-in stage, got {other:?}"),
        }
    }

    #[test]
    fn unknown_key_names_line_and_column() {
        let err = parse("[stages.a]\ncmd = \"true\"\nouts = []\nimputs = [\"x\"]\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "pipelines/p.toml:4:1: unknown field `imputs`, expected one of `description`, `uses`, `inputs`, `params`, `cmd`, `deps`, `outs`, `tools`, `matrix`, `resources`, `partitions`"
        );
    }

    #[test]
    fn type_error_names_line() {
        let err = parse("[stages.a]\ncmd = 3\n").unwrap_err();
        assert!(err.to_string().starts_with("pipelines/p.toml:2:7: invalid type: integer `3`"), "{err}");
    }

    #[test]
    fn misplaced_fields_and_escaping_paths_are_errors() {
        let err = parse("[stages.a]\ncmd = \"true\"\nparams = { x = 1 }\n").unwrap_err();
        assert!(err.to_string().contains("`params` belongs to built-in stages"), "{err}");
        let err = parse("[stages.a]\ncmd = \"true\"\nouts = [\"../x\"]\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "pipelines/p.toml:3: stage `a`: bad `outs` entry: `../x` leaves the project directory (`..` is not allowed)"
        );
        let err = parse("[stages.a]\nuses = \"k\"\ninputs = [\n  \"ok\",\n  \"a/../../etc\",\n]\n").unwrap_err();
        assert!(err.to_string().starts_with("pipelines/p.toml:5: stage `a`: bad input"), "{err}");
        let err = parse("[stages.a]\ndescription = \"x\"\n").unwrap_err();
        assert!(err.to_string().contains("has neither `uses` nor `cmd`"), "{err}");
    }

    const SWEEP: &str = "[stages.data]\ncmd = \"true\"\nouts = [\"d\"]\n\n\
        [stages.train]\nuses = \"k\"\ninputs = [\"@data\"]\nmatrix = { seed = [0, 1], lr = [0.1] }\n\
        params = { seed = \"{matrix.seed}\", name = \"run-{matrix.seed}\" }\n\n\
        [stages.predict]\nuses = \"k\"\ninputs = [\"@train\", \"@data\"]\nmatrix = { seed = [0, 1], lr = [0.1] }\n\
        params = { model = \"@train\" }\n\n\
        [stages.report]\ncmd = \"cat {@train@lr=0.1,seed=1}/x > r\"\ndeps = [\"@train\"]\nouts = [\"r\"]\n";

    #[test]
    fn matrix_tables_expand_into_named_instances_whose_references_follow() {
        let p = parse(SWEEP).unwrap();
        let names: Vec<&str> = p.stages.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "data",
                "train@lr=0.1,seed=0",
                "train@lr=0.1,seed=1",
                "predict@lr=0.1,seed=0",
                "predict@lr=0.1,seed=1",
                "report"
            ]
        );
        let train1 = p.stage("train@lr=0.1,seed=1").unwrap();
        assert_eq!(train1.table, "train");
        assert_eq!(train1.matrix.as_ref().unwrap()["seed"], toml::Value::Integer(1));
        let StageBody::Builtin { params, .. } = &train1.body else { panic!("built-in") };
        assert_eq!(params["seed"], toml::Value::Integer(1), "a whole placeholder keeps the value's type");
        assert_eq!(params["name"], toml::Value::String("run-1".into()));
        let StageBody::Builtin { params, inputs, .. } = &p.stage("predict@lr=0.1,seed=1").unwrap().body else {
            panic!("built-in")
        };
        assert_eq!(params["model"], toml::Value::String("@train@lr=0.1,seed=1".into()));
        assert_eq!(inputs[0].text, "@train@lr=0.1,seed=1");
        assert_eq!(inputs[1].text, "@data");
        // From a stage without a matrix, `@train` in `deps` is every instance.
        let StageBody::Command { deps, cmd, .. } = &p.stage("report").unwrap().body else { panic!("command") };
        assert_eq!(
            deps.iter().map(|d| d.text.as_str()).collect::<Vec<_>>(),
            ["@train@lr=0.1,seed=0", "@train@lr=0.1,seed=1"]
        );
        assert_eq!(cmd, "cat {@train@lr=0.1,seed=1}/x > r");
    }

    #[test]
    fn matrix_mistakes_name_the_line_and_the_fix() {
        let err = parse("[stages.t]\nuses = \"k\"\nmatrix = { seed = 3 }\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "pipelines/p.toml:3: stage `t`: matrix key `seed` must be a list of values, like `seed = [0, 1, 2]`"
        );
        let err = parse("[stages.t]\nuses = \"k\"\nparams = { s = \"{matrix.seed}\" }\n").unwrap_err();
        assert!(err.to_string().contains("`{matrix.seed}` is used, but this stage has no `matrix`"), "{err}");
        let err =
            parse("[stages.t]\nuses = \"k\"\nmatrix = { seed = [0] }\nparams = { s = \"{matrix.lr}\" }\n").unwrap_err();
        assert!(err.to_string().contains("has no key `lr`"), "{err}");
        // A stage whose matrix lacks the referenced stage's key.
        let src = "[stages.t]\nuses = \"k\"\nmatrix = { seed = [0] }\n\n\
                   [stages.u]\nuses = \"k\"\ninputs = [\"@t\"]\nmatrix = { lr = [1] }\n";
        let err = parse(src).unwrap_err();
        assert!(
            err.to_string().starts_with("pipelines/p.toml:7: stage `u@lr=1`: `@t` is a matrix stage over `seed`"),
            "{err}"
        );
        // A param naming a matrix stage from a stage without one is ambiguous.
        let src = "[stages.t]\nuses = \"k\"\nmatrix = { seed = [0, 1] }\n\n[stages.u]\nuses = \"k\"\nparams = { model = \"@t\" }\n";
        let err = parse(src).unwrap_err();
        assert!(err.to_string().contains("has 2 instances; name one, like `@t@seed=0`"), "{err}");
    }

    #[test]
    fn overrides_change_params_of_a_stage_or_every_instance() {
        let mut p = parse(SWEEP).unwrap();
        p.apply_override("train.params.opt.lr=0.05").unwrap();
        p.apply_override("train@lr=0.1,seed=1.params.name=other").unwrap();
        for name in ["train@lr=0.1,seed=0", "train@lr=0.1,seed=1"] {
            let StageBody::Builtin { params, .. } = &p.stage(name).unwrap().body else { panic!("built-in") };
            assert_eq!(params["opt"]["lr"], toml::Value::Float(0.05));
        }
        let stage = p.stage("train@lr=0.1,seed=1").unwrap();
        assert_eq!(stage.overrides, ["train.params.opt.lr=0.05", "train@lr=0.1,seed=1.params.name=other"]);
        let StageBody::Builtin { params, .. } = &stage.body else { panic!("built-in") };
        assert_eq!(params["name"], toml::Value::String("other".into()), "a bare word is a string");
        let err = |spec: &str| parse(SWEEP).unwrap().apply_override(spec).unwrap_err().to_string();
        assert_eq!(err("trian.params.x=1"), "-S `trian.params.x=1`: pipeline `p` has no stage `trian`");
        assert!(err("train.params.x").contains("has no `=VALUE`"));
        assert!(err("train.x=1").contains("does not name `STAGE.params.KEY`"));
        assert!(err("data.params.x=1").contains("is a command"));
        assert!(err("train.params.seed.x=1").contains("`seed` of stage `train@lr=0.1,seed=0` is a value"));
    }
}
