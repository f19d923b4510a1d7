//! One module per subcommand.

pub(crate) mod demo;
pub(crate) mod eval;
pub(crate) mod exp;
pub(crate) mod gc;
pub(crate) mod inspect;
pub(crate) mod kinds;
pub(crate) mod leaderboard;
pub(crate) mod manifest;
pub(crate) mod reference;
pub(crate) mod remote;
pub(crate) mod run;
pub(crate) mod sql;
pub(crate) mod status;
pub(crate) mod synth;

use std::path::PathBuf;

use actionbench_core::{Diagnose, Failure};
use actionbench_pipeline::{Engine, PipelineDef, Registry, StageBody, StageOutcome};

/// Prints an error as `error: …`, its causes as `  Caused by: …` (each
/// once), and a `hint: …` when the error knows an obvious fix. The one
/// place errors are rendered.
pub(crate) fn print_error(err: &anyhow::Error) {
    print_failure(&Failure::from_error(err.as_ref(), &probe));
}

/// Prints a failure (see [`print_error`]).
pub(crate) fn print_failure(failure: &Failure) {
    eprintln!("error: {}", failure.message);
    for cause in &failure.causes {
        eprintln!("  Caused by: {cause}");
    }
    if let Some(hint) = &failure.hint {
        eprintln!("\nhint: {hint}");
    }
}

/// Prints the failed stages of a run; true if there was one.
pub(crate) fn print_failed_stages(pipeline: &str, reports: &[actionbench_pipeline::StageReport]) -> bool {
    let mut failed = false;
    for r in reports {
        if let Some(failure) = stage_failure(pipeline, r) {
            failed = true;
            print_failure(&failure);
        }
    }
    failed
}

/// How a failed stage is said: a failure located in the pipeline file
/// itself at its line; others (a stage's own error) after the file.
pub(crate) fn stage_failure(pipeline: &str, r: &actionbench_pipeline::StageReport) -> Option<Failure> {
    let StageOutcome::Failed { error, hint, location } = &r.outcome else { return None };
    let message = match location.as_ref().filter(|l| l.file == pipeline).and_then(|l| l.line) {
        Some(line) => format!("{pipeline}:{line}: stage `{}` failed: {error}", r.stage),
        None => format!("{pipeline}: stage `{}` failed: {error}", r.stage),
    };
    Some(Failure { message, hint: hint.clone(), location: location.clone(), causes: Vec::new() })
}

/// What the command line recognises in an error chain: every crate's error
/// type that knows a hint or a location.
pub(crate) fn probe<'e>(e: &'e (dyn std::error::Error + 'static)) -> Option<&'e dyn Diagnose> {
    if let Some(d) = actionbench_core::diagnostic_probe(e) {
        return Some(d);
    }
    if let Some(d) = e.downcast_ref::<actionbench_pipeline::Error>() {
        return Some(d);
    }
    if let Some(d) = e.downcast_ref::<actionbench_formats::Error>() {
        return Some(d);
    }
    if let Some(d) = e.downcast_ref::<actionbench_sql::Error>() {
        return Some(d);
    }
    if let Some(d) = e.downcast_ref::<actionbench_shards::Error>() {
        return Some(d);
    }
    if let Some(d) = e.downcast_ref::<actionbench_manifest::Error>() {
        return Some(d);
    }
    if let Some(d) = e.downcast_ref::<actionbench_remote::Error>() {
        return Some(d);
    }
    if let Some(d) = e.downcast_ref::<actionbench_slurm::Error>() {
        return Some(d);
    }
    None
}

/// What the running binary links: `actionbench` (no FFmpeg) or
/// `actionbench-ffmpeg`.
#[derive(Clone, Copy)]
pub(crate) struct Binary {
    /// `Some` in `actionbench-ffmpeg`.
    pub(crate) ffmpeg: Option<&'static crate::Ffmpeg>,
}

impl Binary {
    /// Every stage kind this binary runs, the trainer's included.
    pub(crate) fn registry(&self) -> Registry {
        let mut registry = match self.ffmpeg {
            Some(ffmpeg) => (ffmpeg.stages)(),
            None => actionbench_stages::registry(),
        };
        actionbench_train::register(&mut registry);
        registry
    }

    /// The FFmpeg half, which `what` needs (`actionbench` hands such
    /// commands over before they get here).
    pub(crate) fn ffmpeg(&self, what: &str) -> anyhow::Result<&'static crate::Ffmpeg> {
        self.ffmpeg
            .ok_or_else(|| anyhow::anyhow!("internal error: {what} needs `actionbench-ffmpeg` but was not handed over"))
    }
}

/// Loads a pipeline (name or path) and binds it to `binary`'s kinds; in
/// `actionbench`, a pipeline using a kind it lacks (an unknown one too, so
/// a typo is answered with every kind) is handed to `actionbench-ffmpeg`.
pub(crate) fn open_engine(pipeline: &str, binary: Binary) -> anyhow::Result<Engine> {
    open_engine_with(pipeline, &[], binary)
}

/// [`open_engine`] with `-S STAGE.params.KEY=VALUE` overrides applied.
pub(crate) fn open_engine_with(pipeline: &str, overrides: &[String], binary: Binary) -> anyhow::Result<Engine> {
    let cwd = std::env::current_dir()?;
    let def = load_pipeline(&cwd, pipeline, overrides)?;
    let registry = binary.registry();
    if binary.ffmpeg.is_none()
        && let Some(reason) = missing_kind(&def, &registry)
    {
        return Err(crate::hand_over(&reason));
    }
    Ok(Engine::new(def, registry, None::<PathBuf>)?)
}

/// A pipeline (name or path, relative to `root`) with overrides applied.
pub(crate) fn load_pipeline(
    root: &std::path::Path,
    pipeline: &str,
    overrides: &[String],
) -> anyhow::Result<PipelineDef> {
    let mut def = PipelineDef::load(pipeline, root)?;
    for spec in overrides {
        def.apply_override(spec)?;
    }
    Ok(def)
}

/// Why `registry` cannot run `def`: its first stage whose kind is not
/// there (an unknown one too, so a typo is answered with every kind).
pub(crate) fn missing_kind(def: &PipelineDef, registry: &Registry) -> Option<String> {
    def.stages.iter().find_map(|stage| match &stage.body {
        StageBody::Builtin { uses, .. } if registry.get(uses).is_none() => {
            Some(format!("stage `{}` of `{}` uses `{uses}`", stage.name, def.display_path))
        }
        _ => None,
    })
}
