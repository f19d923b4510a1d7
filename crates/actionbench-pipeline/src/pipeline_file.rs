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

/// One `[stages.NAME]` table.
#[derive(Debug, Clone)]
pub struct StageDef {
    /// The stage's name.
    pub name: String,
    /// Line of its `[stages.NAME]` header.
    pub line: usize,
    /// Optional free text.
    pub description: Option<String>,
    /// Built-in or command.
    pub body: StageBody,
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

#[derive(Deserialize)]
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

        let mut stages = Vec::new();
        for (name, stage) in raw.stages {
            let line = line_of(stage.span().start);
            let name = name.into_inner();
            let def_err = |line: usize, message: String, hint: Option<&str>| Error::Definition {
                file: file.clone(),
                line,
                stage: name.clone(),
                message,
                hint: hint.map(str::to_string),
            };
            if !valid_stage_name(&name) {
                return Err(def_err(
                    line,
                    "stage names may use only letters, digits, `-` and `_`".into(),
                    Some("Stage names become file and SQL table names; rename the stage"),
                ));
            }
            let raw = stage.into_inner();
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
                    StageBody::Builtin {
                        uses_line: line_of(uses.span().start),
                        uses: uses.into_inner(),
                        inputs,
                        params,
                        params_line,
                    }
                }
                (None, Some(cmd)) => {
                    for (field, present) in [("inputs", raw.inputs.is_some()), ("params", raw.params.is_some())] {
                        if present {
                            return Err(def_err(
                                line,
                                format!("`{field}` belongs to built-in stages; this stage is a `cmd`"),
                                Some(
                                    "A command stage lists what its key depends on in `deps` and what it writes in `outs`",
                                ),
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
            stages.push(StageDef { name, line, description: raw.description, body });
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
        stage: &str,
        uses: &str,
        params_line: usize,
        failure: ParamFailure,
    ) -> Error {
        let params = doc.and_then(|doc| params_value(doc, stage));
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
            stage: stage.to_string(),
            kind: uses.to_string(),
            key,
            message,
        }))
    }
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
            if !valid_stage_name(stage) {
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
            "pipelines/p.toml:4:1: unknown field `imputs`, expected one of `description`, `uses`, `inputs`, `params`, `cmd`, `deps`, `outs`, `tools`"
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
}
