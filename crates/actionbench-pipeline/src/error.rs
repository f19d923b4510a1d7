use std::path::PathBuf;

/// Result alias of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can go wrong before or around running stages. A stage that fails
/// while running is not an error of the engine but an outcome
/// ([`crate::StageOutcome::Failed`]); the other stages go on.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be read or written.
    #[error("Cannot access `{}`: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A symbolic link inside the project leads outside it (an input that
    /// would read, or an output that would write, elsewhere).
    #[error("`{}` is a symbolic link to `{}`, outside the project", link.display(), target.display())]
    LinkEscapes {
        /// The link.
        link: PathBuf,
        /// Where it leads (canonical).
        target: PathBuf,
    },
    /// The pipeline file is not valid TOML or does not match the schema.
    #[error("{file}:{line}:{column}: {message}")]
    Syntax {
        /// The pipeline file, relative to the working directory where possible.
        file: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What the parser said.
        message: String,
    },
    /// A stage definition is wrong: unknown kind, bad params, missing input,
    /// a path that leaves the project, an unknown `@stage` reference.
    #[error("{file}:{line}: stage `{stage}`: {message}")]
    Definition {
        /// The pipeline file.
        file: String,
        /// 1-based line of the offending entry (or of the stage header).
        line: usize,
        /// The stage.
        stage: String,
        /// What is wrong.
        message: String,
        /// How to fix it, when there is an obvious fix.
        hint: Option<String>,
    },
    /// A stage's params do not parse or fail the kind's checks (boxed:
    /// the other variants stay small).
    #[error("{0}")]
    Param(Box<BadParam>),
    /// Stages depend on each other in a circle.
    #[error("{file}:{line}: stage `{stage}`: dependency cycle: {}", cycle.join(" -> "))]
    Cycle {
        /// The pipeline file.
        file: String,
        /// Line of the first stage of the cycle.
        line: usize,
        /// The first stage of the cycle.
        stage: String,
        /// The cycle, first stage repeated at the end.
        cycle: Vec<String>,
    },
    /// A target named on the command line is not a stage of the pipeline.
    #[error("Pipeline `{pipeline}` has no stage `{stage}`")]
    UnknownTarget {
        /// The pipeline.
        pipeline: String,
        /// The name given.
        stage: String,
        /// The stages that exist.
        known: Vec<String>,
    },
    /// A `-S STAGE.params.KEY=VALUE` override cannot be applied.
    #[error("-S `{spec}`: {message}")]
    Override {
        /// The override as given.
        spec: String,
        /// What is wrong.
        message: String,
        /// How to fix it.
        hint: Option<String>,
    },
    /// No pipeline file of that name.
    #[error("No pipeline `{name}`: `{}` does not exist", path.display())]
    PipelineNotFound {
        /// The name or path given.
        name: String,
        /// Where it was looked for.
        path: PathBuf,
    },
    /// No project root (a directory holding `pipelines/`) above the working directory.
    #[error("No actionbench project here: no `pipelines/` directory in `{}` or its parents", start.display())]
    NoProject {
        /// Where the search started.
        start: PathBuf,
    },
    /// The lock file exists but cannot be understood.
    #[error("{}: {message}", path.display())]
    LockFile {
        /// The lock file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A run record (`exp show`'s history) cannot be understood.
    #[error("{}: not a run record: {message}", path.display())]
    RunRecord {
        /// The record.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// `run --part` cannot run that part (not a partitioned stage, a part
    /// number out of range, an upstream output not in the cache).
    #[error("stage `{stage}`: {message}")]
    Part {
        /// The stage.
        stage: String,
        /// What is wrong.
        message: String,
        /// How to fix it.
        hint: Option<String>,
    },
    /// A broken invariant: a bug in actionbench.
    #[error("Internal error (a bug in actionbench, please report it): {0}")]
    Internal(String),
}

/// Where and why a stage's params are wrong.
#[derive(Debug, thiserror::Error)]
#[error("{file}:{line}:{column}: stage `{stage}`: params of `{kind}`: {}", crate::kind::with_key(key.as_deref(), message))]
pub struct BadParam {
    /// The pipeline file.
    pub file: String,
    /// 1-based line of the offending key (or of `params`).
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// The stage.
    pub stage: String,
    /// The stage kind.
    pub kind: String,
    /// The offending key below `params`, dotted, when known.
    pub key: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl BadParam {
    /// For an unknown key, "Did you mean …?" with the expected ones close to
    /// it (serde lists them: "unknown field `x`, expected one of `a`, `b`").
    pub fn suggestion(&self) -> Option<String> {
        let rest = self.message.strip_prefix("unknown field `")?;
        let (given, expected) = rest.split_once('`')?;
        actionbench_core::suggest::did_you_mean(given, expected.split('`').skip(1).step_by(2))
    }
}

impl Error {
    /// Shorthand for an [`Error::Io`].
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io { path: path.into(), source }
    }
}

impl actionbench_core::Diagnose for Error {
    fn location(&self) -> Option<actionbench_core::Location> {
        let (file, line, column) = match self {
            Error::Syntax { file, line, column, .. } => (file, *line, Some(*column)),
            Error::Param(p) => (&p.file, p.line, Some(p.column)),
            Error::Definition { file, line, .. } | Error::Cycle { file, line, .. } => (file, *line, None),
            _ => return None,
        };
        Some(actionbench_core::Location {
            file: file.clone(),
            line: Some(line as u64),
            column: column.map(|c| c as u64),
        })
    }

    fn hint(&self) -> Option<String> {
        match self {
            Error::Definition { hint, .. } | Error::Override { hint, .. } | Error::Part { hint, .. } => hint.clone(),
            Error::Param(p) => Some(match p.suggestion() {
                Some(close) => format!("{close} (`actionbench kinds` lists the params of `{}`)", p.kind),
                None => format!("See `actionbench kinds` for the params of `{}`", p.kind),
            }),
            Error::Cycle { .. } => Some(
                "Remove one of the `@stage` references (or the dep on another stage's output) that close the circle".into(),
            ),
            Error::UnknownTarget { known, stage, .. } => {
                let all = format!("The stages are: {}", known.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(", "));
                Some(match actionbench_core::suggest::did_you_mean(stage, known.iter().map(String::as_str)) {
                    Some(close) => format!("{close} {all}"),
                    None => all,
                })
            }
            Error::PipelineNotFound { .. } => {
                Some("Pass a name from `pipelines/` (without `.toml`) or a path to a pipeline file".into())
            }
            Error::NoProject { .. } => Some(
                "Run actionbench from a project directory (one that contains `pipelines/`), or pass a path to a pipeline file".into(),
            ),
            Error::LockFile { .. } => {
                Some("The lock file is generated; delete it to start over (every stage will re-run)".into())
            }
            Error::RunRecord { .. } => Some(
                "Run records are written by `actionbench run` (one per stage run); delete this one to forget that run".into(),
            ),
            _ => None,
        }
    }
}
