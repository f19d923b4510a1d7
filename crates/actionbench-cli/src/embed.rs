//! `run` and `status` as functions, for the Python package (`python/`):
//! the same pipeline loading, stage kinds, JSON and error messages and
//! hints as the command line, without printing results or handing the
//! process over to `actionbench-ffmpeg` (which would replace the Python
//! interpreter): a pipeline with a video kind is answered with
//! [`EmbedError::needs_ffmpeg`] so the caller can run the command line.

use std::path::Path;

use actionbench_core::Failure;
use actionbench_pipeline::{Engine, RunOptions};

use crate::commands::{Binary, load_pipeline, missing_kind, probe, stage_failure};
use crate::progress::Progress;

/// Why a call failed: the message, causes and hint the command line prints.
#[derive(Debug, Clone)]
pub struct EmbedError {
    /// What `actionbench` would print after `error:` (and `hint:`).
    pub failure: Box<Failure>,
    /// The pipeline uses a kind only `actionbench-ffmpeg` has: run the
    /// command line instead.
    pub needs_ffmpeg: bool,
}

impl From<anyhow::Error> for EmbedError {
    fn from(e: anyhow::Error) -> Self {
        Self { failure: Box::new(failure(&e)), needs_ffmpeg: false }
    }
}

/// The failure the command line would print for `err` (message, causes,
/// hint, location), recognising every crate's error type.
pub fn failure(err: &anyhow::Error) -> Failure {
    Failure::from_error(err.as_ref(), &probe)
}

/// The engine of `pipeline` (a name in `ROOT/pipelines/` or a path
/// relative to `root`) with the kinds of `actionbench`.
fn open(root: &Path, pipeline: &str, overrides: &[String]) -> Result<Engine, EmbedError> {
    let def = load_pipeline(root, pipeline, overrides)?;
    let registry = Binary { ffmpeg: None }.registry();
    if let Some(reason) = missing_kind(&def, &registry) {
        return Err(EmbedError {
            failure: Box::new(Failure {
                message: format!("{reason}, which only `actionbench-ffmpeg` runs"),
                hint: Some(format!("run `actionbench run {pipeline}` from the command line")),
                location: None,
                causes: Vec::new(),
            }),
            needs_ffmpeg: true,
        });
    }
    Ok(Engine::new(def, registry, None::<std::path::PathBuf>).map_err(anyhow::Error::from)?)
}

/// `actionbench run PIPELINE STAGES… [--force] [-S …] --format json` in
/// `root`: the stage reports as JSON; a failed stage is an error, said as
/// the command line says it.
pub fn run(
    root: &Path,
    pipeline: &str,
    stages: &[String],
    force: bool,
    overrides: &[String],
) -> Result<serde_json::Value, EmbedError> {
    let engine = open(root, pipeline, overrides)?;
    let jobs = std::thread::available_parallelism().map_or(1, |n| n.get());
    let opts = RunOptions { targets: stages.to_vec(), force, dry_run: false, jobs, shared: None };
    let progress = Progress::new(false);
    let reports = engine.run(&opts, &progress).map_err(anyhow::Error::from)?;
    progress.clear();
    if let Some(failure) = reports.iter().find_map(|r| stage_failure(&engine.pipeline().display_path, r)) {
        return Err(EmbedError { failure: Box::new(failure), needs_ffmpeg: false });
    }
    Ok(serde_json::to_value(&reports).map_err(anyhow::Error::from)?)
}

/// `actionbench status PIPELINE STAGES… --format json` in `root`.
pub fn status(root: &Path, pipeline: &str, stages: &[String]) -> Result<serde_json::Value, EmbedError> {
    let engine = open(root, pipeline, &[])?;
    let statuses = engine.status(stages).map_err(anyhow::Error::from)?;
    Ok(crate::commands::status::status_json(&statuses))
}
