//! One module per subcommand.

pub(crate) mod demo;
pub(crate) mod eval;
pub(crate) mod gc;
pub(crate) mod inspect;
pub(crate) mod kinds;
pub(crate) mod leaderboard;
pub(crate) mod run;
pub(crate) mod sql;
pub(crate) mod status;
pub(crate) mod synth;

use std::path::PathBuf;

use actionbench_pipeline::{Engine, PipelineDef, Registry, StageBody};

/// Prints an error as `error: …`, its causes as `  Caused by: …`, and a
/// `hint: …` when the error knows an obvious fix.
pub(crate) fn print_error(err: &anyhow::Error) {
    eprintln!("error: {err}");
    for cause in err.chain().skip(1) {
        eprintln!("  Caused by: {cause}");
    }
    let hint = err.chain().find_map(|e| e.downcast_ref::<actionbench_pipeline::Error>()).and_then(|e| e.hint());
    if let Some(hint) = hint {
        eprintln!("\nhint: {hint}");
    }
}

/// The stage kinds of a binary, and what it does with a pipeline that uses
/// others.
pub(crate) struct Kinds {
    /// The built-in kinds (the trainer's are added to them).
    pub(crate) stages: fn() -> Registry,
    /// `actionbench`: a pipeline with another kind goes to
    /// `actionbench-ffmpeg` (unknown kinds too, so a typo is answered with
    /// every kind).
    pub(crate) hand_over_others: bool,
}

/// Loads a pipeline (name or path) and binds it to `kinds`, or hands the
/// command over (see [`Kinds::hand_over_others`]).
pub(crate) fn open_engine(pipeline: &str, kinds: &Kinds) -> anyhow::Result<Engine> {
    let cwd = std::env::current_dir()?;
    let def = PipelineDef::load(pipeline, &cwd)?;
    let registry = registry((kinds.stages)());
    if kinds.hand_over_others {
        let other = def.stages.iter().find_map(|stage| match &stage.body {
            StageBody::Builtin { uses, .. } if registry.get(uses).is_none() => Some((stage, uses)),
            _ => None,
        });
        if let Some((stage, uses)) = other {
            return Err(crate::hand_over(&format!("stage `{}` of `{}` uses `{uses}`", stage.name, def.display_path)));
        }
    }
    Ok(Engine::new(def, registry, None::<PathBuf>)?)
}

/// `stages` (the built-in kinds a binary has) plus the trainer's kinds.
pub(crate) fn registry(stages: Registry) -> Registry {
    let mut registry = stages;
    actionbench_train::register(&mut registry);
    registry
}

/// Every stage kind, FFmpeg's included (only `actionbench-ffmpeg` calls it).
pub(crate) fn registry_with_ffmpeg() -> Registry {
    registry(actionbench_stages::registry())
}
